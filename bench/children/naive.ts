// Measure 1 (b): the naive pipeline a hand-made integration typically is — written only for this benchmark. It reads the same
// bulk export and maps customers with Kizuna's own mapping (so the values are identical), then writes one statement at a time
// in autocommit: an upsert of the mirror row per customer, a lookup of the friend by email, and per matched friend an upsert
// of the link and one INSERT … ON CONFLICT per custom data value (a DELETE for a value Shopify does not have). It runs on a
// sample of the store (the first `sample` customers of the export) and its rate is extrapolated.
import crypto from 'node:crypto';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import pg from 'pg';
import '../../src/db/index.js';
import { SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import { ShopifyCustomerSchema } from '../../src/shopify/queries.js';
import { mapCustomer, matchableEmail } from '../../src/sync/map.js';
import { childMain } from '../lib/proc.js';

export interface NaiveArgs {
  url: string;
  jsonlUrl: string;
  tenantId: string;
  fieldIds: number[];
  sample: number;
}

export interface NaiveResult {
  customers: number;
  matchedFriends: number;
  statements: number;
  ms: number;
}

const V = SHOPIFY_FIELDS.map((f) => `v_${f.key}`);

await childMain<NaiveArgs, NaiveResult>(async (a) => {
  const db = new pg.Client(a.url);
  await db.connect();
  const t0 = performance.now();
  const res = await fetch(a.jsonlUrl);
  if (!res.ok || !res.body) throw new Error(`download answered ${res.status}`);
  const lines = readline.createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
  let customers = 0;
  let matchedFriends = 0;
  let statements = 0;
  const q = async <R extends pg.QueryResultRow = Record<string, never>>(text: string, values: unknown[]) => {
    statements++;
    return db.query<R>(text, values);
  };
  const mirrorSql = `INSERT INTO shopify_customers (tenant_id, customer_id, email_matchable, verified_email, shopify_updated_at, data_hash,
      last_order_source, ${V.join(', ')}, synced_at, changed_at)
    VALUES (${Array.from({ length: 7 + V.length + 2 }, (_, i) => `$${i + 1}`).join(', ')})
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET ${['email_matchable', 'verified_email', 'shopify_updated_at', 'data_hash', ...V, 'synced_at']
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ')}`;
  for await (const line of lines) {
    if (!line) continue;
    // a bulk export line: a customer, or (with __parentId) one of its nested objects
    const obj = JSON.parse(line) as { __parentId?: string };
    if (obj.__parentId) continue;
    const c = ShopifyCustomerSchema.parse(obj);
    const values = mapCustomer(c);
    const email = matchableEmail(c);
    const now = new Date();
    const hash = crypto.createHash('sha256').update(JSON.stringify(values)).digest('base64');
    await q(mirrorSql, [a.tenantId, c.legacyResourceId, email, c.verifiedEmail, c.updatedAt, hash, 'graphql', ...SHOPIFY_FIELDS.map((f) => values[f.key]), now, now]);
    if (email) {
      const { rows: friends } = await q<{ id: number }>(`SELECT id FROM friends WHERE tenant_id = $1 AND email_normalized = $2`, [a.tenantId, email]);
      for (const f of friends) {
        matchedFriends++;
        await q(
          `INSERT INTO shopify_links (tenant_id, friend_id, customer_id, matched_email, linked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [a.tenantId, f.id, c.legacyResourceId, email, now],
        );
        for (let i = 0; i < SHOPIFY_FIELDS.length; i++) {
          const field = SHOPIFY_FIELDS[i]!;
          const v = values[field.key];
          if (v === null) {
            await q(`DELETE FROM custom_values WHERE field_id = $1 AND friend_id = $2`, [a.fieldIds[i], f.id]);
            continue;
          }
          await q(
            `INSERT INTO custom_values (tenant_id, field_id, friend_id, field_type, value_text, value_number, value_date, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (field_id, friend_id) DO UPDATE SET value_text = EXCLUDED.value_text, value_number = EXCLUDED.value_number,
               value_date = EXCLUDED.value_date, updated_at = EXCLUDED.updated_at`,
            [a.tenantId, a.fieldIds[i], f.id, field.type, field.type === 'text' ? v : null, field.type === 'number' ? v : null, field.type === 'date' ? v : null, now],
          );
        }
      }
    }
    if (++customers >= a.sample) break;
  }
  const ms = performance.now() - t0;
  lines.close();
  await db.end();
  return { customers, matchedFriends, statements, ms };
});
