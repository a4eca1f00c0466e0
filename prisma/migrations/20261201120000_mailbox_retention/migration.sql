-- Per-mailbox POP3 retention (RFC 2449 EXPIRE): null = the domain's value, which null leaves to the operator default
-- (POP3_EXPIRE_DAYS). 0 = retrieved messages are deleted at QUIT; n > 0 = messages older than n days are deleted;
-- -1 = NEVER (the API's "never", overriding an inherited retention; domains.retention_days uses the same values).
ALTER TABLE "mailboxes" ADD COLUMN "retention_days" INTEGER;
