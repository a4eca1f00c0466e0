-- Messages copied into a mailbox from another POP3 server (`mailroom mailboxes fetch`): the source's UIDL per mailbox
-- and source, so a second run skips what the first copied.
CREATE TABLE "pop3_fetched_messages" (
    "mailbox_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "uidl" TEXT NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pop3_fetched_messages_pkey" PRIMARY KEY ("mailbox_id", "source", "uidl")
);

ALTER TABLE "pop3_fetched_messages" ADD CONSTRAINT "pop3_fetched_messages_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
