-- What each run cost at Shopify, added up over its attempts: query cost points spent, THROTTLED answers, and the time spent
-- waiting for bulk exports to complete. Read by the metrics (GET /metrics), per shop.
ALTER TABLE sync_runs ADD COLUMN shopify_points bigint NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN shopify_throttled integer NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN export_wait_ms bigint NOT NULL DEFAULT 0;
