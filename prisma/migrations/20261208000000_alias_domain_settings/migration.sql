-- An alias domain holds no mailboxes, so the settings of a domain's mailboxes (limits, default quota, POP3 policy,
-- quota warnings) never apply to it: its mail is stored under its target's. The API accepted such values for alias
-- domains before and stored them unread; they are cleared here, and from now on they stay NULL (the API refuses a
-- value with VALIDATION_FAILED, code alias_domain).
UPDATE "domains"
SET "max_mailboxes" = NULL,
    "max_storage_bytes" = NULL,
    "default_quota_bytes" = NULL,
    "login_delay_seconds" = NULL,
    "retention_days" = NULL,
    "quota_warning_thresholds" = NULL
WHERE "alias_of_id" IS NOT NULL;

ALTER TABLE "domains"
    ADD CONSTRAINT "domains_alias_no_mailbox_settings" CHECK (
        "alias_of_id" IS NULL
        OR ("max_mailboxes" IS NULL AND "max_storage_bytes" IS NULL AND "default_quota_bytes" IS NULL
            AND "login_delay_seconds" IS NULL AND "retention_days" IS NULL AND "quota_warning_thresholds" IS NULL)
    );
