-- Large messages are stored in parts: `messages.raw` holds the first octets (the ingress's trace fields) and
-- `message_parts` the rest, in rows of at most about 8 KB, each at its octet offset in the message. A 1 MB body as one
-- `bytea` became about 530 TOAST chunks, each inserted with its own index entry into a table extended one page at a
-- time (zeroed, then written again); as parts, the ingress sends it with one binary COPY, which fills whole pages and
-- extends the table many pages at once (issue 17: PostgreSQL's CPU per stored 1 MB message fell to about a third).
-- A message is `raw` followed by its parts in `off` order; one without parts (every message stored before this
-- migration, and every small one) is `raw` alone, so existing data keeps working unchanged.
CREATE TABLE "message_parts" (
    "message_id" UUID NOT NULL,
    "off" BIGINT NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "message_parts_pkey" PRIMARY KEY ("message_id","off")
);
-- size_octets stays the whole message's size: at least raw's, the rest in parts.
ALTER TABLE "messages" DROP CONSTRAINT "messages_size_matches_raw";
ALTER TABLE "messages" ADD CONSTRAINT "messages_size_covers_raw" CHECK ("size_octets" >= octet_length("raw"));

-- A part is one row in its page: never compressed or moved out of line (a row over a page fails instead).
ALTER TABLE "message_parts" ALTER COLUMN "data" SET STORAGE PLAIN;

-- No foreign key: its check per inserted part cost a third as much again as the insert (about 1.7 ms of PostgreSQL
-- CPU per 1 MB message). A message's parts go with it through these statement triggers instead, whatever deletes it
-- (POP3 QUIT, retention, a mailbox or domain deleted by cascade, TRUNCATE).
CREATE FUNCTION "message_parts_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM message_parts p USING gone g WHERE p.message_id = g.id;
  RETURN NULL;
END $$;
CREATE TRIGGER "messages_delete_parts" AFTER DELETE ON "messages"
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION "message_parts_delete"();

CREATE FUNCTION "message_parts_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE message_parts;
  RETURN NULL;
END $$;
CREATE TRIGGER "messages_truncate_parts" AFTER TRUNCATE ON "messages"
  FOR EACH STATEMENT EXECUTE FUNCTION "message_parts_truncate"();

-- The whole stored message (raw, then its parts), for operators and tools: SELECT message_octets(id) FROM messages …
CREATE FUNCTION "message_octets"("message" UUID) RETURNS BYTEA LANGUAGE sql STABLE AS $$
  SELECT m.raw || coalesce((SELECT string_agg(p.data, ''::bytea ORDER BY p.off) FROM message_parts p WHERE p.message_id = m.id), '')
    FROM messages m WHERE m.id = "message"
$$;
