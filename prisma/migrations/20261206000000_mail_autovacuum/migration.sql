-- Autovacuum frees deleted mail's space soon, so new mail fills it instead of the tables growing.
--
-- POP3 mail is mostly collected and deleted: a message's row goes (with its TOAST chunks, for a small body stored in
-- `raw`) and its parts with it (the statement trigger), and only VACUUM makes that space free for new mail. By default
-- autovacuum waits for 50 dead rows plus 20% of a table: on a host with 50 GB of mail in parts, 10 GB deleted before
-- any of it can be used again, while new mail grows the file. Here it runs after 1,000 dead rows (for message_parts
-- about 8 MB of mail) plus 1% of the table, which is sooner than the default once a table has more than about 5,000
-- rows. Each run reads the pages that hold dead rows and every index of the table.
--
-- Filling freed pages costs PostgreSQL a little more than appending new ones (each page is read before it is written
-- again): packages/ingress README, item 28, `bench/run.ts --only=churn`.
--
-- Per-table settings travel with the schema (docker-compose's PostgreSQL, an operator's own, the embedded cluster);
-- ALTER TABLE … SET takes a SHARE UPDATE EXCLUSIVE lock, so deliveries and downloads go on while it runs.
ALTER TABLE "message_parts" SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.01);
ALTER TABLE "messages" SET (
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_scale_factor = 0.01,
  toast.autovacuum_vacuum_threshold = 1000,
  toast.autovacuum_vacuum_scale_factor = 0.01
);
