-- Domain ownership verification: a domain is hosted only once verified. Pending claims of several owners may share a
-- name; only one verified domain per name. Existing domains were hosted already: they are migrated as verified.
ALTER TABLE "domains"
    ADD COLUMN "verified_at" TIMESTAMPTZ(3),
    ADD COLUMN "verification_token" TEXT,
    ADD COLUMN "claim_expires_at" TIMESTAMPTZ(3),
    ADD COLUMN "last_dns_check_at" TIMESTAMPTZ(3),
    ADD COLUMN "mx_status" TEXT;

UPDATE "domains" SET "verified_at" = "created_at";

ALTER TABLE "domains"
    ADD CONSTRAINT "domains_pending_claim" CHECK ("verified_at" IS NOT NULL OR ("verification_token" IS NOT NULL AND "claim_expires_at" IS NOT NULL)),
    ADD CONSTRAINT "domains_mx_status" CHECK ("mx_status" IS NULL OR "mx_status" IN ('ok', 'missing', 'different'));

DROP INDEX "domains_name_key";
DROP INDEX "domains_owner_id_name_idx";
CREATE UNIQUE INDEX "domains_owner_id_name_key" ON "domains"("owner_id", "name");
CREATE UNIQUE INDEX "domains_name_verified_key" ON "domains"("name") WHERE ("verified_at" IS NOT NULL);
CREATE INDEX "domains_name_idx" ON "domains"("name");
CREATE INDEX "domains_claim_expires_at_idx" ON "domains"("claim_expires_at");
CREATE INDEX "domains_last_dns_check_at_idx" ON "domains"("last_dns_check_at");
