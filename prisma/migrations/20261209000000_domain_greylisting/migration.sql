-- A domain's own greylisting switch: NULL follows the operator (INGRESS_GREYLIST), true or false overrides it for the
-- domain's recipients. Like the other settings of mailboxes it does not apply to an alias domain, whose mail is taken
-- by its target's mailboxes under the target's setting: the CHECK gains it.
ALTER TABLE "domains" ADD COLUMN "greylisting" BOOLEAN;

ALTER TABLE "domains" DROP CONSTRAINT "domains_alias_no_mailbox_settings";
ALTER TABLE "domains"
    ADD CONSTRAINT "domains_alias_no_mailbox_settings" CHECK (
        "alias_of_id" IS NULL
        OR ("max_mailboxes" IS NULL AND "max_storage_bytes" IS NULL AND "default_quota_bytes" IS NULL
            AND "login_delay_seconds" IS NULL AND "retention_days" IS NULL AND "quota_warning_thresholds" IS NULL
            AND "greylisting" IS NULL)
    );
