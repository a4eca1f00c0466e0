-- Two-factor sign-in: TOTP factors, recovery codes and pending-login challenges, for panel users and mailbox users alike
-- (exactly one of user_id / mailbox_id is set).
CREATE TABLE "totp_factors" (
    "id" UUID NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "secret_enc" TEXT NOT NULL,
    "confirmed_at" TIMESTAMPTZ(3),
    "last_used_step" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "totp_factors_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "totp_factors_one_account" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL))
);
CREATE UNIQUE INDEX "totp_factors_user_id_key" ON "totp_factors"("user_id");
CREATE UNIQUE INDEX "totp_factors_mailbox_id_key" ON "totp_factors"("mailbox_id");
ALTER TABLE "totp_factors" ADD CONSTRAINT "totp_factors_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "totp_factors" ADD CONSTRAINT "totp_factors_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "recovery_codes" (
    "id" UUID NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "code_hash" TEXT NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "recovery_codes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "recovery_codes_one_account" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL))
);
CREATE INDEX "recovery_codes_user_id_idx" ON "recovery_codes"("user_id");
CREATE INDEX "recovery_codes_mailbox_id_idx" ON "recovery_codes"("mailbox_id");
ALTER TABLE "recovery_codes" ADD CONSTRAINT "recovery_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "recovery_codes" ADD CONSTRAINT "recovery_codes_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "login_challenges" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "purpose" TEXT NOT NULL,
    "client_hash" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "consumed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "login_challenges_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "login_challenges_one_account" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL)),
    CONSTRAINT "login_challenges_purpose" CHECK ("purpose" IN ('second_factor', 'enrolment'))
);
CREATE UNIQUE INDEX "login_challenges_token_hash_key" ON "login_challenges"("token_hash");
CREATE INDEX "login_challenges_user_id_idx" ON "login_challenges"("user_id");
CREATE INDEX "login_challenges_mailbox_id_idx" ON "login_challenges"("mailbox_id");
CREATE INDEX "login_challenges_expires_at_idx" ON "login_challenges"("expires_at");
ALTER TABLE "login_challenges" ADD CONSTRAINT "login_challenges_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "login_challenges" ADD CONSTRAINT "login_challenges_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
