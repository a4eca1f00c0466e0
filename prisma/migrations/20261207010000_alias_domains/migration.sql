-- Alias domains (PostfixAdmin's and mailcow's "alias domain"): mail to name@alias.example is delivered as if it had been
-- sent to name@target.example (its mailbox, alias, subaddress or catch-all). An alias domain is verified like any other
-- and has no mailboxes or aliases of its own (the services refuse them). The foreign key names the owner too, so an
-- alias domain and its target always share an owner: a transfer of the target carries its alias domains along (ON
-- UPDATE CASCADE), and deleting the target deletes them.
ALTER TABLE "domains" ADD COLUMN "alias_of_id" UUID;

CREATE UNIQUE INDEX "domains_id_owner_id_key" ON "domains"("id", "owner_id");
CREATE INDEX "domains_alias_of_id_idx" ON "domains"("alias_of_id");

ALTER TABLE "domains"
    ADD CONSTRAINT "domains_alias_of_id_owner_id_fkey" FOREIGN KEY ("alias_of_id", "owner_id")
        REFERENCES "domains"("id", "owner_id") ON DELETE CASCADE ON UPDATE CASCADE,
    ADD CONSTRAINT "domains_alias_not_self" CHECK ("alias_of_id" <> "id");
