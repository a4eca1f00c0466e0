-- Whether a domain's mailbox users keep their own sender lists (their home page, the API with their session): NULL
-- (the default) and true let them, false leaves the mailboxes' lists to the owner (mailcow's per-mailbox ACL of the
-- same kind). Like the other settings of mailboxes it does not apply to an alias domain: the CHECK gains it.
ALTER TABLE "domains" ADD COLUMN "mailbox_users_sender_rules" BOOLEAN;

ALTER TABLE "domains" DROP CONSTRAINT "domains_alias_no_mailbox_settings";
ALTER TABLE "domains"
    ADD CONSTRAINT "domains_alias_no_mailbox_settings" CHECK (
        "alias_of_id" IS NULL
        OR ("max_mailboxes" IS NULL AND "max_storage_bytes" IS NULL AND "default_quota_bytes" IS NULL
            AND "login_delay_seconds" IS NULL AND "retention_days" IS NULL AND "quota_warning_thresholds" IS NULL
            AND "greylisting" IS NULL AND "mailbox_users_sender_rules" IS NULL)
    );
