-- Sign-in activity of panel users (admins and domain owners), as mailbox_sign_ins is for mailboxes: every attempt that
-- reached an existing account's credentials, with its result and the way it was made (password, passkey, TOTP code,
-- recovery code). Unknown emails and attempts the throttle refused before verifying are not stored. Identical attempts
-- (result, client address, mechanism, user agent) within a day of a row's first share it (attempts, last_at). The user,
-- and admins for owners, read it; pruned after SIGN_IN_LOG_RETENTION_DAYS by id range (ids are UUID v7).
CREATE TABLE "user_sign_ins" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "user_id" UUID NOT NULL,
    "result" TEXT NOT NULL,
    "client_address" TEXT NOT NULL,
    "mechanism" TEXT NOT NULL,
    "user_agent" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "last_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_sign_ins_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "user_sign_ins_result" CHECK ("result" IN ('ok', 'second_factor', 'wrong_password', 'wrong_second_factor', 'passkey_refused', 'disabled')),
    CONSTRAINT "user_sign_ins_mechanism" CHECK ("mechanism" IN ('password', 'passkey', 'totp', 'recovery'))
);

CREATE INDEX "user_sign_ins_user_id_id_idx" ON "user_sign_ins"("user_id", "id");

ALTER TABLE "user_sign_ins" ADD CONSTRAINT "user_sign_ins_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A mailbox user's panel sign-in now also logs its second step: a TOTP or recovery code accepted (`ok` with that
-- mechanism) or refused (`wrong_second_factor`), and the browser that made it.
ALTER TABLE "mailbox_sign_ins" DROP CONSTRAINT "mailbox_sign_ins_result";
ALTER TABLE "mailbox_sign_ins" ADD CONSTRAINT "mailbox_sign_ins_result" CHECK ("result" IN ('ok', 'second_factor', 'wrong_password', 'wrong_second_factor', 'disabled', 'app_password_required', 'login_delay', 'in_use'));
ALTER TABLE "mailbox_sign_ins" ADD COLUMN "user_agent" TEXT;
