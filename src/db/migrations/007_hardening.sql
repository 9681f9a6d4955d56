-- Shopify webhook deliveries are deduplicated per tenant: X-Shopify-Webhook-Id is unique within one shop's deliveries, and
-- a delivery id seen for one tenant must never hide another tenant's delivery with the same id.
ALTER TABLE shopify_webhook_inbox DROP CONSTRAINT shopify_webhook_inbox_pkey;
ALTER TABLE shopify_webhook_inbox ADD PRIMARY KEY (tenant_id, webhook_id);
-- A signed delivery Kizuna cannot use (not JSON, U+0000, an id beyond bigint) is kept as rejected, with its reason in `error`
-- and no payload, so Shopify gets its 200 and an operator can see what came.
ALTER TABLE shopify_webhook_inbox ALTER COLUMN payload DROP NOT NULL;

-- Login throttling also caps failures per client address over all emails.
CREATE INDEX login_failures_ip ON login_failures (ip, failed_at);
