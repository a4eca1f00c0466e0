-- Repeated identical sign-ins share one row: a phone polling every minute, or a guesser retrying from one address,
-- would otherwise write 1,440 rows a day and bury every other event. A row counts the attempts with the same service,
-- result, client address, TLS, mechanism and app password within a day of its first one (`created_at`, its id's time);
-- `last_at` is the latest of them.
ALTER TABLE "mailbox_sign_ins" ADD COLUMN "last_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "mailbox_sign_ins" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 1;
UPDATE "mailbox_sign_ins" SET "last_at" = "created_at";
