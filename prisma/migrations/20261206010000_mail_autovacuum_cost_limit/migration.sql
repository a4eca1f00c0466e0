-- Autovacuum keeps up with deleted mail: ten times the default cost limit for the tables it churns.
--
-- The earlier trigger (20261206000000_mail_autovacuum) makes autovacuum start sooner, but at the default cost limit
-- (200 per 2 ms, shared by all workers) a vacuum of these tables is paced to about 20 MB of deleted parts a second at
-- best, less with several workers; with mail deleted at a few MB a second its runs fell behind and the table grew
-- regardless. Measured with 500 MiB of live parts and about 5 MB/s deleted and stored again (`npx tsx
-- bench/vacuum-churn.ts` in packages/db; packages/ingress README, item 28): with the earlier trigger alone the file
-- reached 1,234 MiB against 1,195 at the defaults; with this cost limit 531 MiB in two runs (95 and 100 autovacuum
-- runs) against 654 and 663 (15 runs each). A table with its own cost limit is left out of the workers' shared budget,
-- so other tables keep theirs.
ALTER TABLE "message_parts" SET (autovacuum_vacuum_cost_limit = 2000);
ALTER TABLE "messages" SET (autovacuum_vacuum_cost_limit = 2000, toast.autovacuum_vacuum_cost_limit = 2000);
