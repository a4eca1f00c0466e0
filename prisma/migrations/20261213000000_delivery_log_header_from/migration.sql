-- The message's author (the first address of its From field, what the recipient's mail client shows as the sender)
-- beside MAIL FROM in the delivery log, for entries written once DATA was read: a mailing list's or a bulk sender's
-- bounce address says little about who wrote the message, and "Block sender" in the panel can name the author. NULL
-- for entries before DATA, for messages without a From address, and for entries written before this column.
ALTER TABLE "delivery_log" ADD COLUMN "header_from" TEXT;
