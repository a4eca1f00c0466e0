-- Refused second steps (someone knew the password) across all accounts, newest first: the dashboards' "password
-- known" list (GET /api/v1/password-warnings) reads them by last attempt without scanning the sign-in logs. Small:
-- only those entries are indexed.
CREATE INDEX "mailbox_sign_ins_second_factor_refused_idx" ON "mailbox_sign_ins"("last_at") WHERE "result" = 'wrong_second_factor';
CREATE INDEX "user_sign_ins_second_factor_refused_idx" ON "user_sign_ins"("last_at") WHERE "result" = 'wrong_second_factor';
