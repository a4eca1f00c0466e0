-- MTA-STS (RFC 8461) for a domain: the mode of the policy Mailroom serves at https://mta-sts.<domain>/.well-known/mta-sts.txt
-- (NULL: no policy published; 'none': a published policy being withdrawn, RFC 8461 §8.3), and when the mode last changed
-- (senders may keep a cached policy until then + max_age).
ALTER TABLE "domains"
  ADD COLUMN "mta_sts_mode" TEXT,
  ADD COLUMN "mta_sts_changed_at" TIMESTAMPTZ(3),
  ADD CONSTRAINT "domains_mta_sts_mode_check" CHECK ("mta_sts_mode" IN ('testing', 'enforce', 'none'));
