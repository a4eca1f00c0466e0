-- Greylisting on the SMTP listener (INGRESS_GREYLIST, RFC 6647; as postgrey and rspamd): the first delivery attempt of
-- an unknown (client network, sender, recipient) triplet gets a temporary failure; a retry after the delay passes, and
-- the triplet then passes at once until it has not been seen for INGRESS_GREYLIST_MAX_AGE_D days. The triplet is kept
-- as a SHA-256 hash only (no addresses are stored); client is the network (IPv4 /24, IPv6 /64) for the auto-whitelist
-- of clients that have passed several triplets. Shared by every ingress replica; each prunes stale rows.
CREATE TABLE "greylist" (
    "key" BYTEA NOT NULL,
    "client" TEXT NOT NULL,
    "first_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "passed_at" TIMESTAMPTZ(3),
    "last_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "greylist_pkey" PRIMARY KEY ("key")
);

CREATE INDEX "greylist_client_passed_at_idx" ON "greylist"("client", "passed_at");
CREATE INDEX "greylist_last_seen_idx" ON "greylist"("last_seen");
