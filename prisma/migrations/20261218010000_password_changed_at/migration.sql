-- When an account's password was last set: at creation, changed by its user, or reset by an owner or an admin (not
-- when a sign-in re-hashes it with new parameters). Shown as "Password last changed", and the end of a sign-in log's
-- "someone knows the password" warning: a refused second step before the last change is no longer a live threat.
-- Existing accounts get NULL (not known); new rows the time of their creation.
ALTER TABLE "users" ADD COLUMN "password_changed_at" TIMESTAMPTZ(3);
ALTER TABLE "users" ALTER COLUMN "password_changed_at" SET DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "mailboxes" ADD COLUMN "password_changed_at" TIMESTAMPTZ(3);
ALTER TABLE "mailboxes" ALTER COLUMN "password_changed_at" SET DEFAULT CURRENT_TIMESTAMP;
