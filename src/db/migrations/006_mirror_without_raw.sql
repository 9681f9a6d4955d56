-- The mirror keeps what Kizuna uses — the 22 typed values, the matching inputs and the change hash — and no longer the whole
-- Shopify customer record. Nothing read `raw`: it held personal data (addresses, phone numbers, notes) a second time, against
-- Shopify's protected customer data rule to keep only what the app needs, and it was two thirds of every mirror row, so
-- writing it was most of a full sync's disk work (1.2 GB of 1.5 GB for a million customers). DROP COLUMN only changes the
-- catalogue; the space is reused as rows are rewritten.
ALTER TABLE shopify_customers DROP COLUMN raw;
