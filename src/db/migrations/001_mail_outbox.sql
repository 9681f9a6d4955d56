-- Every mail Kizuna sends (failure notices to operators, recovery notices, first-operator passwords are NOT mailed) is recorded
-- here, whether it went out by SMTP or, with SMTP_URL unset, only to the log and this outbox that the UI shows.
CREATE TABLE mail_outbox (
  id           bigserial PRIMARY KEY,
  -- the pg-boss job that delivered it: a redelivered job updates its row instead of sending twice unnoticed
  job_id       uuid UNIQUE,
  tenant_id    text,
  recipients   text[] NOT NULL,
  subject      text NOT NULL,
  body         text NOT NULL,
  transport    text NOT NULL CHECK (transport IN ('smtp', 'outbox')),
  -- hostname:pid of the worker that handled the job
  handled_by   text NOT NULL,
  attempts     integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_tenant ON mail_outbox (tenant_id, created_at DESC);
