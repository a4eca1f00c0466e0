-- Sign-in activity of a mailbox (Dovecot's last_login and WildDuck's authlog, with failures): one row per attempt that
-- reached a mailbox's credentials, over POP3 or the panel. Attempts for unknown addresses and attempts the throttle
-- refused before verifying are not stored (they name no mailbox). The mailbox's owner, admins and the mailbox user
-- read it; pruned after SIGN_IN_LOG_RETENTION_DAYS by id range (ids are UUID v7).
CREATE TABLE "mailbox_sign_ins" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "mailbox_id" UUID NOT NULL,
    "service" TEXT NOT NULL,
    "result" TEXT NOT NULL,
    "client_address" TEXT NOT NULL,
    "tls" BOOLEAN,
    "mechanism" TEXT,
    "app_password_id" UUID,

    CONSTRAINT "mailbox_sign_ins_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "mailbox_sign_ins_service" CHECK ("service" IN ('pop3', 'panel')),
    CONSTRAINT "mailbox_sign_ins_result" CHECK ("result" IN ('ok', 'second_factor', 'wrong_password', 'disabled', 'app_password_required', 'login_delay', 'in_use'))
);

CREATE INDEX "mailbox_sign_ins_mailbox_id_id_idx" ON "mailbox_sign_ins"("mailbox_id", "id");
-- Deleting an app password sets its rows' app_password_id to NULL: found by this index, not a scan of the table.
CREATE INDEX "mailbox_sign_ins_app_password_id_idx" ON "mailbox_sign_ins"("app_password_id");

ALTER TABLE "mailbox_sign_ins" ADD CONSTRAINT "mailbox_sign_ins_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "mailbox_sign_ins" ADD CONSTRAINT "mailbox_sign_ins_app_password_id_fkey" FOREIGN KEY ("app_password_id") REFERENCES "mailbox_app_passwords"("id") ON DELETE SET NULL ON UPDATE CASCADE;
