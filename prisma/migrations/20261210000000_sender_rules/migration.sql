-- A domain owner's allow and block rules for envelope senders on the SMTP listener (core sender-rules.ts). The ingress
-- reads them in its RCPT lookup with `pattern = ANY(candidates)`, so the unique index on (domain_id, pattern) serves it.
CREATE TABLE "sender_rules" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sender_rules_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sender_rules_action" CHECK ("action" IN ('allow', 'block')),
    -- the stored form: lowercase, no spaces, an address or a domain (the API normalizes; this keeps out what it never writes)
    CONSTRAINT "sender_rules_pattern" CHECK ("pattern" = lower("pattern") AND "pattern" !~ '[[:space:]*]' AND length("pattern") <= 320)
);

CREATE UNIQUE INDEX "sender_rules_domain_id_pattern_key" ON "sender_rules"("domain_id", "pattern");

ALTER TABLE "sender_rules" ADD CONSTRAINT "sender_rules_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;
