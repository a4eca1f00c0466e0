-- Delivery log: one row per recipient outcome at the ingress (delivered, refused, deferred), kept
-- DELIVERY_LOG_RETENTION_DAYS and pruned by the worker. Rows of a deleted domain go with it; a deleted mailbox's rows
-- stay with its domain.
CREATE TABLE "delivery_log" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "domain_id" UUID,
    "mailbox_id" UUID,
    "result" TEXT NOT NULL,
    "reply_code" INTEGER NOT NULL,
    "enhanced_code" TEXT,
    "reason" TEXT,
    "envelope_from" TEXT NOT NULL,
    "recipient" TEXT NOT NULL,
    "size_octets" INTEGER,
    "message_id" TEXT,
    "uid" INTEGER,
    "client_address" TEXT NOT NULL,
    "protocol" TEXT NOT NULL,
    "queue_id" TEXT NOT NULL,

    CONSTRAINT "delivery_log_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "delivery_log_result" CHECK ("result" IN ('delivered', 'refused', 'deferred'))
);

CREATE INDEX "delivery_log_domain_id_id_idx" ON "delivery_log"("domain_id", "id");
CREATE INDEX "delivery_log_mailbox_id_id_idx" ON "delivery_log"("mailbox_id", "id");
-- no index on created_at: ids are UUID v7 (time-ordered), so time ranges and the retention prune are id ranges

ALTER TABLE "delivery_log" ADD CONSTRAINT "delivery_log_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "delivery_log" ADD CONSTRAINT "delivery_log_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Quota warnings: per-domain thresholds (percent of a mailbox quota; null = the operator default), the highest
-- threshold a mailbox was warned about (recomputed on each delivery, so it re-arms once usage fell below), and the
-- warning messages themselves, which are stored without counting toward usage.
ALTER TABLE "domains" ADD COLUMN "quota_warning_thresholds" INTEGER[];
ALTER TABLE "mailboxes" ADD COLUMN "quota_warned_percent" INTEGER, ADD COLUMN "quota_warned_at" TIMESTAMPTZ(3);
ALTER TABLE "messages" ADD COLUMN "counts_toward_quota" BOOLEAN NOT NULL DEFAULT true;

-- The highest threshold (percent) that `used` octets reach of `quota`; null when none (or no quota). The one home of
-- the rule: the ingress decides warnings with it inside the delivery transaction, the API lists mailboxes with it.
CREATE FUNCTION "mailroom_quota_warning_level"("used" BIGINT, "quota" BIGINT, "thresholds" INTEGER[]) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT max(t) FROM unnest("thresholds") AS t WHERE "quota" > 0 AND "used" * 100 >= t::bigint * "quota"
$$;
