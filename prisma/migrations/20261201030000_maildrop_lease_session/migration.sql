-- The maildrop lease belongs to one POP3 session: `holder` stays the process (renewal, shutdown), `session` is the
-- random token of the session that took it; release and deletions are conditioned on it.
ALTER TABLE "maildrop_leases" ADD COLUMN "session" TEXT NOT NULL DEFAULT '';
