-- The LINE CRM: tenants (one brand's contract), the operators who log in for them, LINE friends, typed custom data, and the
-- email-change events the Shopify sync reacts to. Every tenant-owned table carries tenant_id, and rows that point at each other
-- do so through (tenant_id, id) pairs, so the database itself refuses a value that joins one tenant's friend to another's field.

CREATE TABLE tenants (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                    text NOT NULL CHECK (btrim(name) <> ''),
  plan                    text NOT NULL DEFAULT 'standard' CHECK (plan IN ('standard', 'enterprise')),
  -- paid options; 'shopify' is the only one so far
  options                 text[] NOT NULL DEFAULT '{}' CHECK (options <@ ARRAY['shopify']::text[]),
  notify_emails           text[] NOT NULL DEFAULT '{}',
  -- LINE Messaging API channel (webhook signature, profile, push); secret and token encrypted by SecretBox
  line_channel_id         text,
  line_channel_secret_enc text,
  line_access_token_enc   text,
  -- LINE Login channel (the LIFF app's channel: the ID token's audience) and the LIFF app id
  line_login_channel_id   text,
  liff_id                 text,
  -- SHA-256 of the API token; the token itself is shown once at creation and never stored
  api_token_hash          bytea NOT NULL UNIQUE,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operators (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email            text NOT NULL,
  -- the login form has no tenant field, so an email identifies one operator across the installation
  email_normalized text NOT NULL UNIQUE,
  -- "scrypt$N$r$p$salt$hash" (base64url): the parameters travel with the hash so they can be raised later
  password_hash    text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_login_at    timestamptz
);
CREATE INDEX operators_tenant ON operators (tenant_id);

CREATE TABLE operator_sessions (
  -- SHA-256 of the cookie value: a leaked table does not hand out live sessions
  id_hash      bytea PRIMARY KEY,
  operator_id  bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- Failed logins, counted per (email, ip) in a sliding window. In the database so every process sees the same count.
CREATE TABLE login_failures (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email_normalized text NOT NULL,
  ip               text NOT NULL,
  failed_at        timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (email_normalized, ip, failed_at);

CREATE TABLE friends (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  line_user_id      text NOT NULL,
  display_name      text,
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
  -- when the follow/unfollow that set `status` happened (LINE's event timestamp): an older redelivered event cannot undo a newer one
  status_changed_at timestamptz,
  email             text,
  -- trim + lower-case: what the Shopify matching compares
  email_normalized  text,
  email_acquired_at timestamptz,
  email_source      text CHECK (email_source IN ('liff', 'import', 'api')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, line_user_id),
  -- target of the composite foreign keys below
  UNIQUE (tenant_id, id),
  CHECK ((email IS NULL) = (email_normalized IS NULL))
);
CREATE INDEX friends_email ON friends (tenant_id, email_normalized) WHERE email_normalized IS NOT NULL;

-- Events other parts react to (the Shopify sync matches the friend at once). Written in the transaction that changed the email.
CREATE TABLE friend_email_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL,
  friend_id   bigint NOT NULL,
  old_email   text,
  new_email   text,
  source      text NOT NULL CHECK (source IN ('liff', 'import', 'api')),
  occurred_at timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, friend_id) REFERENCES friends (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX friend_email_events_friend ON friend_email_events (tenant_id, friend_id, id);

-- LINE redelivers a webhook event with the same webhookEventId; the first one inserted wins, the rest change nothing.
CREATE TABLE line_webhook_events (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  webhook_event_id text NOT NULL,
  type             text NOT NULL,
  received_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, webhook_event_id)
);

CREATE TABLE custom_categories (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- stable identifier for categories Kizuna manages (e.g. 'shopify'); null for the brand's own
  key        text,
  name       text NOT NULL CHECK (btrim(name) <> ''),
  read_only  boolean NOT NULL DEFAULT false,
  sort_order integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, key),
  UNIQUE (tenant_id, id)
);

CREATE TABLE custom_fields (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL,
  category_id bigint NOT NULL,
  -- stable identifier inside the category (e.g. 'shopify.customer_id'), so an integration finds its field even after a rename
  key         text,
  name        text NOT NULL CHECK (btrim(name) <> ''),
  type        text NOT NULL CHECK (type IN ('text', 'number', 'date')),
  read_only   boolean NOT NULL DEFAULT false,
  sort_order  integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, category_id) REFERENCES custom_categories (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (category_id, name),
  UNIQUE (category_id, key),
  -- target of custom_values' foreign key: a value's tenant and type always match its field's
  UNIQUE (tenant_id, id, type)
);
CREATE INDEX custom_fields_tenant ON custom_fields (tenant_id, category_id, sort_order);

-- One row per (field, friend) that has a value; no row means "no value". Typed columns so a segment compares numbers as numbers
-- and dates as dates through an index. See ARCHITECTURE.md "Custom data storage".
CREATE TABLE custom_values (
  tenant_id    uuid NOT NULL,
  field_id     bigint NOT NULL,
  friend_id    bigint NOT NULL,
  -- copy of the field's type, pinned by the foreign key, so the CHECK below can hold the row to it
  field_type   text NOT NULL,
  value_text   text,
  value_number numeric,
  value_date   date,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (field_id, friend_id),
  FOREIGN KEY (tenant_id, field_id, field_type) REFERENCES custom_fields (tenant_id, id, type) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, friend_id) REFERENCES friends (tenant_id, id) ON DELETE CASCADE,
  CHECK (
    (field_type = 'text'   AND value_text IS NOT NULL AND value_number IS NULL AND value_date IS NULL) OR
    (field_type = 'number' AND value_number IS NOT NULL AND value_text IS NULL AND value_date IS NULL) OR
    (field_type = 'date'   AND value_date IS NOT NULL AND value_text IS NULL AND value_number IS NULL)
  )
);
-- Segment conditions: range scans within one field, friend_id carried along for index-only scans and joins.
CREATE INDEX custom_values_number ON custom_values (field_id, value_number) INCLUDE (friend_id) WHERE value_number IS NOT NULL;
CREATE INDEX custom_values_date ON custom_values (field_id, value_date) INCLUDE (friend_id) WHERE value_date IS NOT NULL;
-- Texts can be long (notes); a btree entry cannot, so the index holds a prefix. Equality and prefix conditions use
-- left(value_text, 200) for the index and recheck the full value.
CREATE INDEX custom_values_text ON custom_values (field_id, left(value_text, 200) text_pattern_ops) INCLUDE (friend_id)
  WHERE value_text IS NOT NULL;
-- The friend detail page: every value of one friend.
CREATE INDEX custom_values_friend ON custom_values (friend_id);
