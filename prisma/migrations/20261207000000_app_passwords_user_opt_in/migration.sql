-- The mailbox user's own "app passwords only for POP3" opt-in, kept apart from the owner's setting
-- (pop3_app_passwords_required): a mailbox user could otherwise write false there and lift what their owner, their
-- domain or the operator (POP3_REQUIRE_APP_PASSWORDS) required. POP3 requires app passwords when this is true or when
-- the owner/domain/operator rule does. Existing rows: false, so they keep their behaviour.
ALTER TABLE "mailboxes" ADD COLUMN "pop3_app_passwords_user_required" BOOLEAN NOT NULL DEFAULT false;

-- Settings a mailbox user already wrote into the owner's column move to their own: where the last change of a mailbox's
-- policy was the mailbox user's (the audit trail says who), their true becomes their opt-in, and the owner's column
-- gets back what the owner, an admin or a key last set there (null, the domain's setting, if they never did). So a
-- mailbox user's earlier false no longer lifts the domain's or the operator's requirement.
WITH last_change AS (
  SELECT DISTINCT ON (target_id) target_id, actor_type
  FROM "audit_events"
  WHERE action = 'mailbox.app-password.policy' AND target_type = 'mailbox'
  ORDER BY target_id, created_at DESC, id DESC
), owners_last_change AS (
  SELECT DISTINCT ON (target_id) target_id, details
  FROM "audit_events"
  WHERE action = 'mailbox.app-password.policy' AND target_type = 'mailbox' AND actor_type <> 'mailbox'
  ORDER BY target_id, created_at DESC, id DESC
), moved AS (
  SELECT l.target_id,
         CASE WHEN jsonb_typeof(o.details -> 'requiredForPop3') = 'boolean' THEN (o.details ->> 'requiredForPop3')::boolean END AS owners_setting
  FROM last_change l LEFT JOIN owners_last_change o ON o.target_id = l.target_id
  WHERE l.actor_type = 'mailbox'
)
UPDATE "mailboxes" m
SET "pop3_app_passwords_user_required" = (m."pop3_app_passwords_required" IS TRUE),
    "pop3_app_passwords_required" = moved.owners_setting
FROM moved
WHERE moved.target_id = m.id::text;
