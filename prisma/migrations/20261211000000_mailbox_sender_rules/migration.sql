-- Sender rules of one mailbox, beside its domain's: the same table, with `mailbox_id` set (the mailbox's domain stays in
-- `domain_id`, so tenant visibility and the domain's cascade are unchanged). A domain's own rules are the rows without
-- a mailbox; each list has its patterns once, so the unique index is split in two partial ones. The ingress reads a
-- domain's rules with `mailbox_id IS NULL` and a mailbox's with `mailbox_id = m.id`, each through its own index.
ALTER TABLE "sender_rules" ADD COLUMN "mailbox_id" UUID;

ALTER TABLE "sender_rules" ADD CONSTRAINT "sender_rules_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

DROP INDEX "sender_rules_domain_id_pattern_key";
CREATE UNIQUE INDEX "sender_rules_domain_id_pattern_key" ON "sender_rules"("domain_id", "pattern") WHERE ("mailbox_id" IS NULL);
CREATE UNIQUE INDEX "sender_rules_mailbox_id_pattern_key" ON "sender_rules"("mailbox_id", "pattern") WHERE ("mailbox_id" IS NOT NULL);
