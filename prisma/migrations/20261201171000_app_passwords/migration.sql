-- POP3 app passwords (issue 14), the app-password policy per domain/mailbox, and where API keys were last used.
ALTER TABLE "domains" ADD COLUMN "pop3_app_passwords_required" BOOLEAN;
ALTER TABLE "mailboxes" ADD COLUMN "pop3_app_passwords_required" BOOLEAN;
ALTER TABLE "api_keys" ADD COLUMN "last_used_ip" TEXT;

CREATE TABLE "mailbox_app_passwords" (
    "id" UUID NOT NULL,
    "mailbox_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "selector" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "last_used_at" TIMESTAMPTZ(3),
    "last_used_ip" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mailbox_app_passwords_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "mailbox_app_passwords_mailbox_id_selector_key" ON "mailbox_app_passwords"("mailbox_id", "selector");
CREATE UNIQUE INDEX "mailbox_app_passwords_mailbox_id_name_key" ON "mailbox_app_passwords"("mailbox_id", "name");

ALTER TABLE "mailbox_app_passwords" ADD CONSTRAINT "mailbox_app_passwords_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
