-- The periodic DNS re-check also reads a domain's `_mta-sts` TXT record while an MTA-STS mode is set: ok (it names the
-- served policy's id), missing, or different (an id out of date, so senders keep an older policy). NULL: no mode, or
-- not checked since the mode last changed.
ALTER TABLE "domains" ADD COLUMN "mta_sts_record_status" TEXT;
