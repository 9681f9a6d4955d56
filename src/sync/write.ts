// Mirror, match, write — one batch of fetched customers, in one transaction, set-based:
//   1. COPY the batch into a temporary staging table (the fastest way into PostgreSQL);
//   2. merge it into the mirror `shopify_customers` (the 22 typed values and what matching needs): only customers whose data changed are
//      rewritten, and an older record never overwrites a newer one (webhooks arrive out of order);
//   3. match: link every friend whose acquired email equals a verified customer email; a friend already linked keeps its customer
//      (a link survives later email changes and is never moved);
//   4. write the 22 custom data values of friends linked to changed (or newly linked) customers, derived from the mirror inside
//      PostgreSQL — only values that differ are touched; a value Shopify no longer has is removed;
// The run records the batch's counts and the checkpoint that resumes after it in the same transaction, so a crash between
// batches loses nothing and repeats nothing.
// Shopify ids exceed 2^53 (706405506930370084): they travel as strings and are cast to text whenever SQL returns them.
import crypto from 'node:crypto';
import type pg from 'pg';
import type { AppContext } from '../context.js';
import type { ShopifyClient } from '../shopify/client.js';
import { ShopifyCodes, ShopifyError } from '../shopify/errors.js';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { writeValuesFrom } from '../crm/custom-data.js';
import { SHOPIFY_FIELDS } from '../shopify/fields.js';
import type { ShopifyCustomer } from '../shopify/queries.js';
import { fetchLastOrderIds } from './fetch.js';
import { mapCustomer, matchableEmail, type MappedCustomer } from './map.js';

/** A customer ready to stage: mapped values plus what matching and ordering need. */
export interface PreparedCustomer {
  customerId: string;
  emailMatchable: string | null;
  verified: boolean;
  updatedAt: string;
  values: MappedCustomer;
  lastOrderSource: 'graphql' | 'rest' | 'webhook' | null;
  hash: string;
}

export function prepareCustomer(
  c: ShopifyCustomer,
  lastOrder: { id: string | null; source: PreparedCustomer['lastOrderSource'] } = {
    id: c.lastOrder?.legacyResourceId ?? null,
    source: c.lastOrder !== undefined ? 'graphql' : null,
  },
): PreparedCustomer {
  const values = mapCustomer(c, lastOrder.id);
  const emailMatchable = matchableEmail(c);
  // What decides "changed": every value we store and every input of matching. Not updatedAt alone: the last order id can come
  // from REST or a webhook without Shopify moving updatedAt.
  const hash = crypto
    .createHash('sha256')
    .update(JSON.stringify([emailMatchable, c.verifiedEmail, ...SHOPIFY_FIELDS.map((f) => values[f.key])]))
    .digest('base64');
  return {
    customerId: c.legacyResourceId,
    emailMatchable,
    verified: c.verifiedEmail,
    updatedAt: c.updatedAt,
    values,
    lastOrderSource: lastOrder.source,
    hash,
  };
}

/**
 * Maps a batch, filling 最終注文ID from REST for customers whose orders changed when GraphQL's lastOrder is not allowed (runs
 * and webhook follow-ups alike).
 */
export async function prepareBatch(
  ctx: Pick<AppContext, 'db' | 'log'>,
  client: ShopifyClient,
  tenantId: string,
  customers: ShopifyCustomer[],
  withLastOrder: boolean,
): Promise<PreparedCustomer[]> {
  if (withLastOrder) return customers.map((c) => prepareCustomer(c));
  const { rows } = await ctx.db.pool.query<{ id: string; orders: string | null; v_last_order_id: string | null; last_order_source: PreparedCustomer['lastOrderSource'] }>(
    `SELECT customer_id::text AS id, v_orders_count::text AS orders, v_last_order_id, last_order_source
     FROM shopify_customers WHERE tenant_id = $1 AND customer_id = ANY($2::bigint[])`,
    [tenantId, customers.map((c) => c.legacyResourceId)],
  );
  const known = new Map(rows.map((r) => [r.id, r]));
  const ask = customers
    .filter((c) => Number(c.numberOfOrders) > 0 && known.get(c.legacyResourceId)?.orders !== String(BigInt(c.numberOfOrders)))
    .map((c) => c.legacyResourceId);
  let fromRest = new Map<string, string | null>();
  if (ask.length) {
    try {
      fromRest = await fetchLastOrderIds(client, ask);
    } catch (e) {
      // One optional field never fails a sync: keep what we knew and try again on the next change.
      if (!(e instanceof ShopifyError) || e.code === ShopifyCodes.INVALID_TOKEN) throw e;
      ctx.log.warn({ tenantId, code: e.code }, 'last order ids unavailable from REST; keeping the known ones');
    }
  }
  return customers.map((c) => {
    const id = c.legacyResourceId;
    if (Number(c.numberOfOrders) === 0) return prepareCustomer(c, { id: null, source: null });
    if (fromRest.has(id)) return prepareCustomer(c, { id: fromRest.get(id) ?? null, source: 'rest' });
    const k = known.get(id);
    return prepareCustomer(c, { id: k?.v_last_order_id ?? null, source: k?.last_order_source ?? null });
  });
}

/** What two batches written at the same time must not share: customers and matchable emails (and so mirror rows, links, values). */
export function batchKeys(prepared: PreparedCustomer[]): Set<string> {
  const keys = new Set<string>();
  for (const c of prepared) {
    keys.add(`c${c.customerId}`);
    if (c.emailMatchable) keys.add(`e${c.emailMatchable}`);
  }
  return keys;
}

export interface BatchCounts {
  fetched: number;
  matched: number;
  linked: number;
  updated: number;
  unchanged: number;
  unverified: number;
  unmatched: number;
}

export const VALUE_COLUMNS = SHOPIFY_FIELDS.map((f) => `v_${f.key}`);
const SQL_TYPE = { text: 'text', number: 'numeric', date: 'date' } as const;

const STAGE_COLUMNS = ['customer_id', 'email_matchable', 'verified_email', 'shopify_updated_at', 'data_hash', 'last_order_source', ...VALUE_COLUMNS];

/** COPY text format: backslash escapes for the characters that delimit rows and columns; \N for NULL. */
function copyField(v: string | null): string {
  if (v === null) return '\\N';
  // Most values have none of these characters: one scan instead of four replaces.
  if (!SPECIAL.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
const SPECIAL = /[\\\t\n\r]/;

function copyRows(rows: PreparedCustomer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      // Chunks of 500 rows keep the stream fast without building one giant string.
      let chunk = '';
      for (let n = 0; n < 500 && i < rows.length; n++, i++) {
        const r = rows[i]!;
        const cols = [
          r.customerId,
          r.emailMatchable,
          r.verified ? 't' : 'f',
          r.updatedAt,
          r.hash,
          r.lastOrderSource,
          ...SHOPIFY_FIELDS.map((f) => r.values[f.key]),
        ];
        chunk += cols.map(copyField).join('\t') + '\n';
      }
      this.push(chunk || null);
      if (i >= rows.length && chunk) this.push(null);
    },
  });
}

async function ensureStage(client: pg.PoolClient): Promise<void> {
  const valueCols = SHOPIFY_FIELDS.map((f) => `v_${f.key} ${SQL_TYPE[f.type]}`).join(', ');
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS sync_stage (
      customer_id bigint, email_matchable text, verified_email boolean, shopify_updated_at timestamptz, data_hash text,
      last_order_source text, ${valueCols}) ON COMMIT DELETE ROWS`);
}

export interface WriteBatchInput {
  tenantId: string;
  /** The 22 field ids in SHOPIFY_FIELDS order. */
  fieldIds: number[];
  customers: PreparedCustomer[];
  now: Date;
  /** false: fill the mirror only (the run after 発行, which feeds the match preview before 連携); no links, no values. */
  link?: boolean;
}

/** Runs steps 1–4 inside the caller's transaction; returns the batch's counts. */
export async function writeBatch(client: pg.PoolClient, input: WriteBatchInput): Promise<BatchCounts> {
  const { tenantId, fieldIds, now } = input;
  // Within one batch the newest record of a customer wins (pages can overlap at the incremental window's edge).
  const byId = new Map<string, PreparedCustomer>();
  for (const c of input.customers) {
    const prev = byId.get(c.customerId);
    if (!prev || Date.parse(prev.updatedAt) <= Date.parse(c.updatedAt)) byId.set(c.customerId, c);
  }
  const rows = [...byId.values()];
  if (!rows.length) return { fetched: 0, matched: 0, linked: 0, updated: 0, unchanged: 0, unverified: 0, unmatched: 0 };

  await ensureStage(client);
  // Empty already (ON COMMIT DELETE ROWS) unless a transaction writes two batches; DELETE costs ~0.1 ms where TRUNCATE, which
  // gives the table a new file, costs ~2 ms per batch.
  await client.query('DELETE FROM sync_stage');
  await pipeline(copyRows(rows), client.query(copyFrom(`COPY sync_stage (${STAGE_COLUMNS.join(', ')}) FROM STDIN`)));

  const setCols = ['email_matchable', 'verified_email', 'shopify_updated_at', 'data_hash', 'last_order_source', ...VALUE_COLUMNS]
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ');
  const { rows: changed } = await client.query<{ customer_id: string }>(
    `INSERT INTO shopify_customers AS c (tenant_id, customer_id, email_matchable, verified_email, shopify_updated_at, data_hash,
        last_order_source, ${VALUE_COLUMNS.join(', ')}, synced_at, changed_at)
     SELECT $1, customer_id, email_matchable, verified_email, shopify_updated_at, data_hash, last_order_source,
        ${VALUE_COLUMNS.join(', ')}, $2, $2
     FROM sync_stage
     ON CONFLICT (tenant_id, customer_id) DO UPDATE SET ${setCols}, synced_at = $2, changed_at = $2, deleted_at = NULL
     WHERE c.data_hash IS DISTINCT FROM EXCLUDED.data_hash AND c.shopify_updated_at <= EXCLUDED.shopify_updated_at
     RETURNING customer_id::text AS customer_id`,
    [tenantId, now],
  );

  const link = input.link !== false;
  const { rows: linkedRows } = !link ? { rows: [] as { friend_id: string }[] } : await client.query<{ friend_id: string }>(
    `INSERT INTO shopify_links (tenant_id, friend_id, customer_id, matched_email, linked_at)
     SELECT $1, f.id, s.customer_id, s.email_matchable, $2
     FROM sync_stage s CROSS JOIN LATERAL (
       -- one probe of friends_email per staged email, never a scan of all friends per batch (see writeLinkedValues)
       SELECT id FROM friends WHERE tenant_id = $1 AND email_normalized = s.email_matchable OFFSET 0) f
     WHERE s.email_matchable IS NOT NULL
     ON CONFLICT (tenant_id, friend_id) DO NOTHING
     RETURNING friend_id::text AS friend_id`,
    [tenantId, now],
  );

  const updated = !link ? 0 : await writeLinkedValues(client, {
    tenantId,
    fieldIds,
    customerIds: changed.map((r) => r.customer_id),
    friendIds: linkedRows.map((r) => r.friend_id),
    now,
  });

  const { rows: tally } = await client.query<{ matched: number; unverified: number; unmatched: number }>(
    `SELECT count(*) FILTER (WHERE l.linked)::int AS matched,
            count(*) FILTER (WHERE NOT l.linked AND s.email_matchable IS NULL)::int AS unverified,
            count(*) FILTER (WHERE NOT l.linked AND s.email_matchable IS NOT NULL)::int AS unmatched
     FROM sync_stage s
     CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM shopify_links k WHERE k.tenant_id = $1 AND k.customer_id = s.customer_id) AS linked) l`,
    [tenantId],
  );
  return {
    fetched: rows.length,
    matched: tally[0]!.matched,
    linked: linkedRows.length,
    updated,
    unchanged: rows.length - changed.length,
    unverified: tally[0]!.unverified,
    unmatched: tally[0]!.unmatched,
  };
}

/**
 * Writes the 22 values from the mirror to the friends linked to `customerIds`, plus the friends in `friendIds` (just linked),
 * through crm/custom-data.ts's writeValuesFrom. Returns how many friends had at least one value changed.
 */
export async function writeLinkedValues(
  client: pg.PoolClient | pg.Pool,
  input: { tenantId: string; fieldIds: number[]; customerIds: string[]; friendIds: string[]; now: Date },
): Promise<number> {
  if (!input.customerIds.length && !input.friendIds.length) return 0;
  // One VALUES row per field: (field id, type, text, number, date) taken from the mirror's typed column.
  const values = SHOPIFY_FIELDS.map((f, i) => {
    const col = `t.v_${f.key}`;
    const t = f.type === 'text' ? col : 'NULL::text';
    const n = f.type === 'number' ? col : 'NULL::numeric';
    const d = f.type === 'date' ? col : 'NULL::date';
    return `($3::bigint[])[${i + 1}], '${f.type}', ${t}, ${n}, ${d}`;
  }).map((v) => `(${v})`);
  // The links and their customers are looked up one id at a time through their indexes — not by filtering (or hashing) every
  // link of the tenant, which costs links × batch and grows with the account. The LATERAL … OFFSET 0 subqueries keep that
  // plan whatever the statistics say (they lag behind while a first sync fills the tables).
  const { friends } = await writeValuesFrom(client, input.tenantId, input.now, {
    sql: `WITH targets AS (
            SELECT l.friend_id, c.* FROM (
              SELECT l.friend_id, l.customer_id FROM unnest($4::bigint[]) AS u(customer_id) CROSS JOIN LATERAL (
                SELECT friend_id, customer_id FROM shopify_links WHERE tenant_id = $1 AND customer_id = u.customer_id OFFSET 0) l
              UNION
              SELECT l.friend_id, l.customer_id FROM unnest($5::bigint[]) AS u(friend_id) CROSS JOIN LATERAL (
                SELECT friend_id, customer_id FROM shopify_links WHERE tenant_id = $1 AND friend_id = u.friend_id OFFSET 0) l
            ) l CROSS JOIN LATERAL (
              SELECT * FROM shopify_customers c WHERE c.tenant_id = $1 AND c.customer_id = l.customer_id OFFSET 0) c
          )
          SELECT t.friend_id, v.* FROM targets t
          CROSS JOIN LATERAL (VALUES ${values.join(', ')}) AS v(field_id, field_type, vt, vn, vd)`,
    params: [input.fieldIds, input.customerIds, input.friendIds],
  });
  return friends;
}

/**
 * Customers deleted in Shopify: marked in the mirror and on their links; the values already written stay (as after 連携を解除).
 * Returns how many were marked.
 */
export async function markDeleted(tx: pg.PoolClient, tenantId: string, customerIds: string[], now: Date): Promise<number> {
  if (!customerIds.length) return 0;
  const { rows } = await tx.query<{ n: number }>(
    `WITH gone AS (
       UPDATE shopify_customers SET deleted_at = $3 WHERE tenant_id = $1 AND customer_id = ANY($2::bigint[]) AND deleted_at IS NULL
       RETURNING customer_id
     ), marked AS (
       UPDATE shopify_links l SET customer_deleted_at = $3 FROM gone WHERE l.tenant_id = $1 AND l.customer_id = gone.customer_id
     )
     SELECT count(*)::int AS n FROM gone`,
    [tenantId, customerIds, now],
  );
  return rows[0]!.n;
}

/**
 * Links every friend to the mirror customer with its verified email (friends already linked keep their customer). Runs at the end
 * of every run, so it starts from the friends not linked yet and probes the mirror by email for each: its cost follows the
 * friends, not the store (joining the whole mirror took seconds per run at a million customers, for nothing new to link).
 */
export async function linkAllFromMirror(
  tx: pg.PoolClient,
  tenantId: string,
  fieldIds: number[],
  now: Date,
  /** Only this friend (its email just arrived); all unlinked friends when omitted. */
  friendId: number | null = null,
): Promise<number> {
  const { rows } = await tx.query<{ friend_id: string }>(
    `INSERT INTO shopify_links (tenant_id, friend_id, customer_id, matched_email, linked_at)
     SELECT f.tenant_id, f.id, c.customer_id, c.email_matchable, $2
     FROM friends f CROSS JOIN LATERAL (
       SELECT customer_id, email_matchable FROM shopify_customers c
       WHERE c.tenant_id = f.tenant_id AND c.email_matchable = f.email_normalized AND c.deleted_at IS NULL
       ORDER BY c.shopify_updated_at DESC LIMIT 1) c
     WHERE f.tenant_id = $1 AND f.email_normalized IS NOT NULL AND ($3::bigint IS NULL OR f.id = $3)
       AND NOT EXISTS (SELECT 1 FROM shopify_links l WHERE l.tenant_id = f.tenant_id AND l.friend_id = f.id)
     ON CONFLICT (tenant_id, friend_id) DO NOTHING
     RETURNING friend_id::text AS friend_id`,
    [tenantId, now, friendId],
  );
  if (rows.length) await writeLinkedValues(tx, { tenantId, fieldIds, customerIds: [], friendIds: rows.map((r) => r.friend_id), now });
  return rows.length;
}
