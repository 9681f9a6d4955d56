-- Segment deliveries (セグメント配信): segments select friends by their custom data; a delivery sends LINE messages to the
-- active friends of a segment, now or at a scheduled time. The audience is fixed when sending starts, cut into batches of 500
-- (LINE's multicast limit), and each batch is recorded with its outcome, so a delivery interrupted at any point resumes where
-- it stopped and never sends a batch twice. See ARCHITECTURE.md "Segments".

CREATE TABLE segments (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 100),
  match      text NOT NULL CHECK (match IN ('all', 'any')),
  -- [{"fieldId": 12, "op": "gte", "value": 3000}, …], checked against the tenant's fields when written (src/delivery/segments.ts).
  -- A segment is never edited: deliveries that used it keep meaning what they meant.
  conditions jsonb NOT NULL CHECK (jsonb_typeof(conditions) = 'array'),
  created_at timestamptz NOT NULL,
  -- a deleted segment leaves the lists and the API (404) but stays for the deliveries that name it
  deleted_at timestamptz,
  -- target of deliveries' foreign key: a delivery's segment is always of the delivery's tenant
  UNIQUE (tenant_id, id)
);
CREATE INDEX segments_tenant ON segments (tenant_id, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE deliveries (
  -- a UUID because it is also the X-Line-Retry-Key of batch 0 (later batches use keys derived from it)
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  segment_id    bigint NOT NULL,
  -- 1 to 5 LINE message objects, sent as they are to every batch
  messages      jsonb NOT NULL CHECK (jsonb_typeof(messages) = 'array'),
  -- null: as soon as possible
  scheduled_at  timestamptz,
  status        text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'canceled')),
  -- recipients fixed when sending started (active friends of the segment then); 0 before
  targets       integer NOT NULL DEFAULT 0,
  -- recipients of the batches LINE accepted / of the batches that will not be sent
  sent          integer NOT NULL DEFAULT 0,
  failed        integer NOT NULL DEFAULT 0,
  -- why it failed; while sending, the last retryable problem (the job retries)
  error_code    text,
  error_message text,
  attempts      integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  canceled_at   timestamptz,
  FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id),
  CHECK (sent >= 0 AND failed >= 0 AND sent + failed <= targets)
);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, created_at DESC);
CREATE INDEX deliveries_segment ON deliveries (segment_id, created_at DESC);

-- The audience of a delivery, one row per multicast of up to 500 recipients, written once when sending starts. Batch n is always
-- sent to exactly these users with the retry key derived from (delivery id, n): a retried job re-sending a batch LINE already
-- accepted gets 409 from LINE instead of a second delivery, and the recipients of a batch can never shift into another batch.
CREATE TABLE delivery_batches (
  delivery_id   uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  batch_no      integer NOT NULL CHECK (batch_no >= 0),
  friend_ids    bigint[] NOT NULL,
  line_user_ids text[] NOT NULL,
  recipients    integer NOT NULL CHECK (recipients BETWEEN 1 AND 500),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  -- the X-Line-Retry-Key used, and when it was first handed to LINE (LINE remembers a key for 24 hours only)
  retry_key     uuid,
  attempted_at  timestamptz,
  -- LINE's x-line-request-id of the accepted request (what LINE support asks for); duplicate: accepted by an earlier attempt (409)
  request_id    text,
  duplicate     boolean,
  error_code    text,
  done_at       timestamptz,
  PRIMARY KEY (delivery_id, batch_no)
);

-- Segment counts report how many matching friends a delivery can reach: blocked friends are few and found through this index.
CREATE INDEX friends_blocked ON friends (tenant_id, id) WHERE status = 'blocked';
-- A segment count says how fresh its data is (the newest value of the fields it reads): one index probe per field.
CREATE INDEX custom_values_written ON custom_values (field_id, updated_at);
