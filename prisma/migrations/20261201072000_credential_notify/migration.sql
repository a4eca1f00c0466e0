-- Cross-process invalidation of cached credentials (issue 16): every change that can end an API key's validity
-- NOTIFYs channel `mailroom_credentials` from inside the changing transaction, so listeners hear of it exactly when
-- it commits (never for a rolled-back change), whichever process or tool made it (API, CLI, worker, psql).
-- Payload: `api_key:<id>` or `user:<id>`. Routine writes (last_used_at, last_login_at) notify nothing.
CREATE FUNCTION "mailroom_notify_credentials"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_id uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN row_id := OLD.id; ELSE row_id := NEW.id; END IF;
  PERFORM pg_notify('mailroom_credentials', TG_ARGV[0] || ':' || row_id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER "api_keys_notify_credentials_update" AFTER UPDATE ON "api_keys" FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
    OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.domain_ids IS DISTINCT FROM NEW.domain_ids
    OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash OR OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION "mailroom_notify_credentials"('api_key');
CREATE TRIGGER "api_keys_notify_credentials_delete" AFTER DELETE ON "api_keys" FOR EACH ROW
  EXECUTE FUNCTION "mailroom_notify_credentials"('api_key');

CREATE TRIGGER "users_notify_credentials_update" AFTER UPDATE ON "users" FOR EACH ROW
  WHEN (OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.role IS DISTINCT FROM NEW.role
    OR OLD.email IS DISTINCT FROM NEW.email OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION "mailroom_notify_credentials"('user');
CREATE TRIGGER "users_notify_credentials_delete" AFTER DELETE ON "users" FOR EACH ROW
  EXECUTE FUNCTION "mailroom_notify_credentials"('user');
