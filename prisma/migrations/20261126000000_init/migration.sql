-- Mailroom initial schema. Hand-written to match prisma/schema.prisma (Prisma naming for constraints and indexes);
-- the drift test in packages/db compares the migrated database with the schema.

-- CreateEnum
CREATE TYPE "user_role" AS ENUM ('ADMIN', 'OWNER');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "user_role" NOT NULL,
    "display_name" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "max_domains" INTEGER,
    "max_mailboxes" INTEGER,
    "max_storage_bytes" BIGINT,
    "last_login_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email")),
    CONSTRAINT "users_limits_nonnegative" CHECK (coalesce("max_domains", 0) >= 0 AND coalesce("max_mailboxes", 0) >= 0 AND coalesce("max_storage_bytes", 0) >= 0)
);

-- CreateTable
CREATE TABLE "domains" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "owner_id" UUID NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "description" TEXT,
    "max_mailboxes" INTEGER,
    "max_storage_bytes" BIGINT,
    "default_quota_bytes" BIGINT,
    "used_bytes" BIGINT NOT NULL DEFAULT 0,
    "login_delay_seconds" INTEGER,
    "retention_days" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "domains_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "domains_name_lowercase" CHECK ("name" = lower("name")),
    CONSTRAINT "domains_used_bytes_nonnegative" CHECK ("used_bytes" >= 0)
);

-- CreateTable
CREATE TABLE "mailboxes" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "local_part" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "display_name" TEXT,
    "quota_bytes" BIGINT,
    "used_bytes" BIGINT NOT NULL DEFAULT 0,
    "message_count" INTEGER NOT NULL DEFAULT 0,
    "next_uid" INTEGER NOT NULL DEFAULT 1,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "login_delay_seconds" INTEGER,
    "last_login_at" TIMESTAMPTZ(3),
    "last_login_ip" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "mailboxes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "mailboxes_local_part_lowercase" CHECK ("local_part" = lower("local_part")),
    CONSTRAINT "mailboxes_usage_nonnegative" CHECK ("used_bytes" >= 0 AND "message_count" >= 0 AND "next_uid" >= 1)
);

-- CreateTable
CREATE TABLE "aliases" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "local_part" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "aliases_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "aliases_local_part_lowercase" CHECK ("local_part" = lower("local_part"))
);

-- CreateTable
CREATE TABLE "alias_destinations" (
    "alias_id" UUID NOT NULL,
    "mailbox_id" UUID NOT NULL,
    CONSTRAINT "alias_destinations_pkey" PRIMARY KEY ("alias_id", "mailbox_id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "mailbox_id" UUID NOT NULL,
    "uid" INTEGER NOT NULL,
    "uidl" TEXT NOT NULL,
    "size_octets" INTEGER NOT NULL,
    "raw" BYTEA NOT NULL,
    "envelope_from" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "messages_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "messages_size_matches_raw" CHECK ("size_octets" = octet_length("raw"))
);
-- Stored uncompressed out of line, so POP3 can stream a large message with substring() without decompressing it whole.
ALTER TABLE "messages" ALTER COLUMN "raw" SET STORAGE EXTERNAL;

-- CreateTable
CREATE TABLE "maildrop_leases" (
    "mailbox_id" UUID NOT NULL,
    "holder" TEXT NOT NULL,
    "acquired_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "maildrop_leases_pkey" PRIMARY KEY ("mailbox_id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "domain_ids" UUID[],
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "csrf_hash" TEXT NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "ip" TEXT,
    "user_agent" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sessions_one_principal" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL))
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" UUID NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" UUID,
    "actor_label" TEXT NOT NULL,
    "api_key_id" UUID,
    "owner_id" UUID,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "ip" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "auth_throttles" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "recent_fingerprints" TEXT[],
    "last_failure_at" TIMESTAMPTZ(3) NOT NULL,
    "blocked_until" TIMESTAMPTZ(3),
    CONSTRAINT "auth_throttles_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");
CREATE UNIQUE INDEX "domains_name_key" ON "domains"("name");
CREATE INDEX "domains_owner_id_name_idx" ON "domains"("owner_id", "name");
CREATE UNIQUE INDEX "mailboxes_domain_id_local_part_key" ON "mailboxes"("domain_id", "local_part");
-- One catch-all (local_part NULL) per domain: NULLS NOT DISTINCT.
CREATE UNIQUE INDEX "aliases_domain_id_local_part_key" ON "aliases"("domain_id", "local_part") NULLS NOT DISTINCT;
CREATE INDEX "alias_destinations_mailbox_id_idx" ON "alias_destinations"("mailbox_id");
CREATE UNIQUE INDEX "messages_mailbox_id_uid_key" ON "messages"("mailbox_id", "uid");
CREATE UNIQUE INDEX "messages_mailbox_id_uidl_key" ON "messages"("mailbox_id", "uidl");
CREATE INDEX "messages_mailbox_id_received_at_idx" ON "messages"("mailbox_id", "received_at");
CREATE INDEX "maildrop_leases_holder_idx" ON "maildrop_leases"("holder");
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");
CREATE INDEX "api_keys_user_id_created_at_idx" ON "api_keys"("user_id", "created_at");
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions"("token_hash");
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");
CREATE INDEX "sessions_mailbox_id_idx" ON "sessions"("mailbox_id");
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");
CREATE INDEX "audit_events_created_at_id_idx" ON "audit_events"("created_at", "id");
CREATE INDEX "audit_events_owner_id_created_at_idx" ON "audit_events"("owner_id", "created_at");
CREATE INDEX "audit_events_actor_id_created_at_idx" ON "audit_events"("actor_id", "created_at");
CREATE INDEX "audit_events_target_id_idx" ON "audit_events"("target_id");
CREATE INDEX "auth_throttles_last_failure_at_idx" ON "auth_throttles"("last_failure_at");

-- AddForeignKey
ALTER TABLE "domains" ADD CONSTRAINT "domains_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "aliases" ADD CONSTRAINT "aliases_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "alias_destinations" ADD CONSTRAINT "alias_destinations_alias_id_fkey" FOREIGN KEY ("alias_id") REFERENCES "aliases"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "alias_destinations" ADD CONSTRAINT "alias_destinations_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "messages" ADD CONSTRAINT "messages_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "maildrop_leases" ADD CONSTRAINT "maildrop_leases_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
