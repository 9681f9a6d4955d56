-- The Shopify integration: credentials and link state per tenant, the mirror of the shop's customers, the links between
-- customers and friends, sync runs with their checkpoints, webhook deliveries and failure incidents.

CREATE TABLE shopify_integrations (
  tenant_id          uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  status             text NOT NULL CHECK (status IN ('issued', 'linked', 'unlinked')),
  store_domain       text NOT NULL,
  credential_kind    text NOT NULL CHECK (credential_kind IN ('access_token', 'client_credentials')),
  -- encrypted with SecretBox; never returned, logged or shown after entry
  access_token_enc   text,
  client_id          text,
  client_secret_enc  text,
  -- the app's API secret key, which signs webhooks (for Dev Dashboard apps it is the client secret)
  webhook_secret_enc text,
  scopes             text[] NOT NULL DEFAULT '{}',
  -- shop name, currency, time zone, plan, as Shopify answered at 発行
  shop               jsonb NOT NULL DEFAULT '{}',
  category_id        bigint,
  -- where 最終注文ID comes from: 'graphql' (read_orders granted) or 'rest' (read_customers only)
  last_order_source  text NOT NULL DEFAULT 'rest' CHECK (last_order_source IN ('graphql', 'rest')),
  -- near-real-time updates: 'subscribed' | 'needs_public_url' | 'needs_webhook_secret' | 'failed' | 'off', with a message
  webhook_state      text NOT NULL DEFAULT 'off',
  webhook_message    text,
  webhook_ids        text[] NOT NULL DEFAULT '{}',
  -- incremental runs start from here (the highest customer updatedAt seen, never "now")
  sync_cursor        timestamptz,
  -- why runs are stopped while linked (e.g. PLAN_REQUIRED after a downgrade); null when they run
  paused_code        text,
  paused_message     text,
  issued_at          timestamptz NOT NULL,
  linked_at          timestamptz,
  unlinked_at        timestamptz,
  updated_at         timestamptz NOT NULL
);

CREATE TABLE shopify_customers (
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  customer_id        bigint NOT NULL,
  -- verified email, trimmed and lower-cased; null when it cannot take part in matching
  email_matchable    text,
  verified_email     boolean NOT NULL,
  shopify_updated_at timestamptz NOT NULL,
  data_hash          text NOT NULL,
  last_order_source  text,
  -- when the purchasing-summary webhook that set v_last_order_id happened: an older delivery cannot overwrite it
  last_order_at      timestamptz,
  raw                jsonb NOT NULL,
  v_customer_id      text,
  v_email            text,
  v_first_name       text,
  v_last_name        text,
  v_state            text,
  v_orders_count     numeric,
  v_average_order_amount numeric,
  v_total_spent      numeric,
  v_last_order_id    text,
  v_tags             text,
  v_phone            text,
  v_company          text,
  v_zip              text,
  v_province         text,
  v_city             text,
  v_address1         text,
  v_address2         text,
  v_email_marketing_consent text,
  v_sms_marketing_consent text,
  v_note             text,
  v_created_at       date,
  v_updated_at       date,
  synced_at          timestamptz NOT NULL,
  changed_at         timestamptz NOT NULL,
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX shopify_customers_email ON shopify_customers (tenant_id, email_matchable) WHERE email_matchable IS NOT NULL;

-- A friend belongs to at most one customer, for good: the key is the friend. A customer may have several friends.
CREATE TABLE shopify_links (
  tenant_id           uuid NOT NULL,
  friend_id           bigint NOT NULL,
  customer_id         bigint NOT NULL,
  matched_email       text NOT NULL,
  linked_at           timestamptz NOT NULL,
  -- the customer was deleted in Shopify; the link and the imported values are kept
  customer_deleted_at timestamptz,
  PRIMARY KEY (tenant_id, friend_id),
  FOREIGN KEY (tenant_id, friend_id) REFERENCES friends (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX shopify_links_customer ON shopify_links (tenant_id, customer_id);

CREATE TABLE sync_runs (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  mode           text NOT NULL CHECK (mode IN ('full', 'incremental')),
  trigger        text NOT NULL CHECK (trigger IN ('nightly', 'manual', 'link', 'catch_up', 'cli', 'issue')),
  status         text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- for nightly runs: the night (window start date in SYNC_TIMEZONE) they belong to; one run per tenant and night
  night          date,
  fetched        integer NOT NULL DEFAULT 0,
  matched        integer NOT NULL DEFAULT 0,
  linked         integer NOT NULL DEFAULT 0,
  updated        integer NOT NULL DEFAULT 0,
  unchanged      integer NOT NULL DEFAULT 0,
  unverified     integer NOT NULL DEFAULT 0,
  unmatched      integer NOT NULL DEFAULT 0,
  deleted        integer NOT NULL DEFAULT 0,
  -- progress: customers expected (customersCount at start)
  total          integer,
  -- where a resumed run continues, written with each batch's data
  checkpoint     jsonb,
  since          timestamptz,
  max_updated_at timestamptz,
  attempts       integer NOT NULL DEFAULT 0,
  worker_id      text,
  heartbeat_at   timestamptz,
  error_code     text,
  error_message  text,
  queued_at      timestamptz NOT NULL,
  started_at     timestamptz,
  finished_at    timestamptz
);
-- At most one queued or running run per tenant: a second request joins the first.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (tenant_id) WHERE status IN ('queued', 'running');
CREATE UNIQUE INDEX sync_runs_one_per_night ON sync_runs (tenant_id, night) WHERE night IS NOT NULL;
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, queued_at DESC);

-- Customers a full run has seen; those in the mirror but not here were deleted in Shopify.
CREATE UNLOGGED TABLE sync_run_seen (
  run_id      uuid NOT NULL,
  customer_id bigint NOT NULL,
  PRIMARY KEY (run_id, customer_id)
);

-- Shopify webhook deliveries, deduplicated by X-Shopify-Webhook-Id (Shopify delivers at least once).
CREATE TABLE shopify_webhook_inbox (
  webhook_id   text PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  topic        text NOT NULL,
  customer_id  bigint,
  triggered_at timestamptz,
  payload      jsonb NOT NULL,
  received_at  timestamptz NOT NULL,
  processed_at timestamptz,
  error        text
);
CREATE INDEX shopify_webhook_inbox_pending ON shopify_webhook_inbox (tenant_id, received_at) WHERE processed_at IS NULL;

-- One open incident per tenant: the failure mail is sent when it opens, the recovery mail when it closes.
CREATE TABLE sync_incidents (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  code       text NOT NULL,
  message    text NOT NULL,
  run_id     uuid,
  opened_at  timestamptz NOT NULL,
  closed_at  timestamptz
);
CREATE UNIQUE INDEX sync_incidents_open ON sync_incidents (tenant_id) WHERE closed_at IS NULL;
