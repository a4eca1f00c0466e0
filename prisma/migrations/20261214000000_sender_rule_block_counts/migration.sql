-- How many block rules a domain's own sender list and each mailbox's hold, kept by statement triggers on
-- sender_rules so that every writer (the API, an import, a cascade, SQL by hand) keeps it right. The RCPT lookup of an
-- SMTP sender reads it with the recipient's domain and mailbox rows, and the From author's query at the end of DATA
-- is made only for recipients whose lists could block anyone: most domains and mailboxes block nobody. (An EXISTS
-- over sender_rules in the lookup was measured first: the planner took it to a sequential scan.)
ALTER TABLE "domains" ADD COLUMN "sender_blocks" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "mailboxes" ADD COLUMN "sender_blocks" INTEGER NOT NULL DEFAULT 0;

UPDATE "domains" d SET "sender_blocks" = c.n
  FROM (SELECT domain_id, count(*)::int AS n FROM sender_rules WHERE mailbox_id IS NULL AND action = 'block' GROUP BY domain_id) c
 WHERE d.id = c.domain_id;
UPDATE "mailboxes" m SET "sender_blocks" = c.n
  FROM (SELECT mailbox_id, count(*)::int AS n FROM sender_rules WHERE mailbox_id IS NOT NULL AND action = 'block' GROUP BY mailbox_id) c
 WHERE m.id = c.mailbox_id;

-- One function for the three triggers: +1 for each block rule a statement adds, -1 for each it takes away (an UPDATE
-- is both), applied once per list whatever the number of rows. A domain or mailbox deleted with its rules is simply
-- not found. The list's own row (the domain's or the mailbox's) is updated after the rules, under the locks the
-- writer already holds (the owner's, or the mailbox's row), in the order the ingress's batches take them.
CREATE FUNCTION "sender_rules_count_blocks"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE domains t SET sender_blocks = t.sender_blocks + c.n
      FROM (SELECT domain_id, count(*)::int AS n FROM new_rules WHERE action = 'block' AND mailbox_id IS NULL GROUP BY domain_id) c
     WHERE t.id = c.domain_id;
    UPDATE mailboxes t SET sender_blocks = t.sender_blocks + c.n
      FROM (SELECT mailbox_id, count(*)::int AS n FROM new_rules WHERE action = 'block' AND mailbox_id IS NOT NULL GROUP BY mailbox_id) c
     WHERE t.id = c.mailbox_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE domains t SET sender_blocks = t.sender_blocks - c.n
      FROM (SELECT domain_id, count(*)::int AS n FROM old_rules WHERE action = 'block' AND mailbox_id IS NULL GROUP BY domain_id) c
     WHERE t.id = c.domain_id;
    UPDATE mailboxes t SET sender_blocks = t.sender_blocks - c.n
      FROM (SELECT mailbox_id, count(*)::int AS n FROM old_rules WHERE action = 'block' AND mailbox_id IS NOT NULL GROUP BY mailbox_id) c
     WHERE t.id = c.mailbox_id;
  ELSE
    UPDATE domains t SET sender_blocks = t.sender_blocks + c.n
      FROM (SELECT domain_id, sum(d)::int AS n
              FROM (SELECT domain_id, 1 AS d FROM new_rules WHERE action = 'block' AND mailbox_id IS NULL
                    UNION ALL SELECT domain_id, -1 FROM old_rules WHERE action = 'block' AND mailbox_id IS NULL) x
             GROUP BY domain_id) c
     WHERE t.id = c.domain_id AND c.n <> 0;
    UPDATE mailboxes t SET sender_blocks = t.sender_blocks + c.n
      FROM (SELECT mailbox_id, sum(d)::int AS n
              FROM (SELECT mailbox_id, 1 AS d FROM new_rules WHERE action = 'block' AND mailbox_id IS NOT NULL
                    UNION ALL SELECT mailbox_id, -1 FROM old_rules WHERE action = 'block' AND mailbox_id IS NOT NULL) x
             GROUP BY mailbox_id) c
     WHERE t.id = c.mailbox_id AND c.n <> 0;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "sender_rules_blocks_insert" AFTER INSERT ON "sender_rules"
  REFERENCING NEW TABLE AS new_rules FOR EACH STATEMENT EXECUTE FUNCTION "sender_rules_count_blocks"();
CREATE TRIGGER "sender_rules_blocks_update" AFTER UPDATE ON "sender_rules"
  REFERENCING OLD TABLE AS old_rules NEW TABLE AS new_rules FOR EACH STATEMENT EXECUTE FUNCTION "sender_rules_count_blocks"();
CREATE TRIGGER "sender_rules_blocks_delete" AFTER DELETE ON "sender_rules"
  REFERENCING OLD TABLE AS old_rules FOR EACH STATEMENT EXECUTE FUNCTION "sender_rules_count_blocks"();
