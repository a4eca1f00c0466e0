-- Whether a stored message has a line that starts with "." (POP3 must dot-stuff it on RETR/TOP). Written by the
-- ingress from the octets it stores; NULL (every message stored before this column) means unknown: POP3 scans it.
ALTER TABLE "messages" ADD COLUMN "dot_lines" BOOLEAN;
