// Fetch: Shopify customers as a stream of batches, each with the checkpoint that resumes right after it.
// Two ways, same output:
//   pages — `customers(first, after, sortKey: UPDATED_AT, query)` for incremental runs and small stores;
//   bulk  — `bulkOperationRunQuery` for full runs of large stores (split into id ranges, see planBulkParts) and incremental
//           runs with many changes: Shopify writes a JSONL file per export that we stream line by line (never the whole file
//           in memory).
// Incremental runs read `updated_at:>=` the cursor minus an overlap window: Shopify's filter precision is uncertain, so a few
// customers are read twice and dropped later by id + updatedAt.
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { ShopifyClient } from '../shopify/client.js';
import { ShopifyCodes, ShopifyError } from '../shopify/errors.js';
import {
  BULK_RUN,
  BULK_RUNNING,
  BULK_STATUS,
  bulkCustomersQuery,
  CUSTOMER_ID_ENDS,
  CUSTOMERS_COUNT,
  customersCountsUpTo,
  customersPage,
  customersPageSize,
  lastOrderDenied,
  numericId,
  parseShopifyCustomer,
  withoutLastOrder,
  type ShopifyCustomer,
} from '../shopify/queries.js';

/** Where a read resumes: after a page (its cursor), or `linesDone` lines into a bulk export. Stored with each batch's data. */
export const FetchCheckpointSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pages'), filter: z.string().nullable(), after: z.string().nullable() }),
  z.object({
    kind: z.literal('bulk'),
    operationId: z.string(),
    linesDone: z.number().int().nonnegative(),
    /** A split full export (see planBulkParts): the filter of every part and the one being read; absent for a single export. */
    parts: z.array(z.string().nullable()).optional(),
    part: z.number().int().nonnegative().optional(),
    /** When Shopify started the run's first export (its createdAt): the run's cursor never passes it. */
    startedAt: z.string().nullable().optional(),
  }),
]);
export type FetchCheckpoint = z.output<typeof FetchCheckpointSchema>;

export interface FetchBatch {
  customers: ShopifyCustomer[];
  /** Where to resume after this batch has been written. */
  checkpoint: FetchCheckpoint;
}

export interface FetchOptions {
  client: ShopifyClient;
  withLastOrder: boolean;
  /**
   * Shopify denied `lastOrder` (read_orders was taken away after 発行): the batches from here on come without it, and the
   * caller must take 最終注文ID from REST instead.
   */
  onLastOrderDenied?: () => Promise<void> | void;
  /** Only customers updated at or after this instant (incremental runs); null for all. */
  since: Date | null;
  bulk: boolean;
  /** Customers in the store (for splitting a full export) and into how many parts to split it (1: one export). */
  total?: number | null;
  bulkParts?: number;
  resume?: FetchCheckpoint | null;
  /** What waiting for a bulk export sleeps on. */
  clock: Pick<Clock, 'sleep' | 'now'>;
  /** Filled in as the run reads: how long it has waited for Shopify's bulk exports to complete (metrics). */
  stats?: { exportWaitMs: number };
  /**
   * Customers per batch handed to the writer in bulk mode (default 1000). The run keeps up to three batches in memory (two
   * being written, one being read), and V8 lets the heap grow to a multiple of what is live: 1000 keeps the worker's peak
   * ~20 MB lower than 2000 at the same speed.
   */
  batchSize?: number;
  fetch?: typeof fetch;
  log?: { info: (o: object, msg: string) => void; warn: (o: object, msg: string) => void };
}

/** The `query` filter for customers updated since an instant, in Shopify's search syntax. */
export function updatedSinceFilter(since: Date | null): string | null {
  return since ? `updated_at:>='${since.toISOString()}'` : null;
}

export async function countCustomers(client: ShopifyClient, filter: string | null): Promise<number> {
  const { data } = await client.graphql<{ customersCount: { count: number } | null }>(CUSTOMERS_COUNT, { query: filter }, 1);
  return Number(data.customersCount?.count ?? 0);
}

/** Whether fetchCustomers reads bulk exports (a run resumes the way it started; a new one as asked). */
export function readsBulk(opts: Pick<FetchOptions, 'bulk' | 'resume'>): boolean {
  return opts.resume ? opts.resume.kind === 'bulk' : opts.bulk;
}

export function fetchCustomers(opts: FetchOptions): AsyncGenerator<FetchBatch> {
  return readsBulk(opts) ? fetchBulk(opts) : fetchPages(opts);
}

async function* fetchPages(opts: FetchOptions): AsyncGenerator<FetchBatch> {
  let withLastOrder = opts.withLastOrder;
  const filter = opts.resume?.kind === 'pages' ? opts.resume.filter : updatedSinceFilter(opts.since);
  let after = opts.resume?.kind === 'pages' ? opts.resume.after : null;
  for (;;) {
    const first = customersPageSize(withLastOrder);
    const { data, errors } = await opts.client.graphql<{
      customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: unknown[] };
    }>(customersPage(withLastOrder), { first, after, query: filter }, 2 + first * (withLastOrder ? 6 : 5) + 1);
    let nodes = data.customers.nodes;
    if (withLastOrder && lastOrderDenied(errors)) {
      // Shopify nulls a denied field: taken as "no last order" it would erase every 最終注文ID. Drop it and stop asking.
      opts.log?.warn({}, 'Shopify denied lastOrder (read_orders was removed); last order ids come from REST from now on');
      nodes = nodes.map(withoutLastOrder);
      withLastOrder = false;
      await opts.onLastOrderDenied?.();
    }
    const customers = nodes.map(parseShopifyCustomer);
    after = data.customers.pageInfo.endCursor ?? after;
    yield { customers, checkpoint: { kind: 'pages', filter, after } };
    if (!data.customers.pageInfo.hasNextPage) return;
  }
}

interface BulkOperation {
  id: string;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED' | 'CANCELING' | 'EXPIRED';
  errorCode: string | null;
  objectCount: string;
  url: string | null;
  partialDataUrl: string | null;
  createdAt: string;
}

async function startBulk(opts: FetchOptions, filter: string | null, withLastOrder: boolean): Promise<string> {
  const inner = bulkCustomersQuery(withLastOrder, filter ?? undefined);
  for (let attempt = 0; ; attempt++) {
    const { data } = await opts.client.graphql<{
      bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: { message: string; code: string | null }[] };
    }>(BULK_RUN, { query: inner }, 10);
    const r = data.bulkOperationRunQuery;
    if (r.bulkOperation) return r.bulkOperation.id;
    const inProgress = r.userErrors.some((e) => e.code === 'OPERATION_IN_PROGRESS' || e.code === 'LIMIT_REACHED');
    if (!inProgress || attempt >= 30) {
      throw new ShopifyError(
        ShopifyCodes.SHOPIFY_BULK_FAILED,
        `Shopify would not start the bulk export: ${r.userErrors.map((e) => e.message).join('; ') || 'no reason given'}`,
      );
    }
    // Another bulk query of this app is still running on the shop (ours from a run that died, usually). If it is the same
    // export, adopt it; otherwise wait for a slot.
    const running = await opts.client.graphql<{ bulkOperations: { nodes: { id: string; query: string }[] } }>(BULK_RUNNING, {}, 10);
    const same = running.data.bulkOperations.nodes.find((op) => op.query.replace(/\s+/g, '') === inner.replace(/\s+/g, ''));
    if (same) return same.id;
    opts.log?.info({ running: running.data.bulkOperations.nodes.length }, 'another bulk operation is running on the shop; waiting');
    await opts.clock.sleep(10_000);
  }
}

async function pollBulk(opts: FetchOptions, id: string): Promise<BulkOperation> {
  const since = opts.clock.now().getTime();
  for (let i = 0; ; i++) {
    const { data } = await opts.client.graphql<{ bulkOperation: BulkOperation | null }>(BULK_STATUS, { id }, 1);
    const op = data.bulkOperation;
    if (!op) throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Shopify no longer knows the bulk operation ${id}.`);
    if (op.status !== 'CREATED' && op.status !== 'RUNNING' && op.status !== 'CANCELING') {
      if (opts.stats) opts.stats.exportWaitMs += opts.clock.now().getTime() - since;
      return op;
    }
    // Every 0.1 s for the first 2 s, every 0.25 s up to 5 s, then every second: the time between the export's completion and
    // our next poll is time the whole run waits (the first part of a split export, or an incremental export of a few thousand
    // customers, takes well under a second), and a poll costs 1 point (1 % of a standard plan's restore rate, while the run
    // needs the bucket for nothing else): at most 32 points in the first 5 s.
    await opts.clock.sleep(i < 20 ? 100 : i < 32 ? 250 : 1_000);
  }
}

/**
 * The share of the store in each part of a split export: each part `growth` times the one before, so the first is small
 * (the run waits for its export before writing anything) and each later part is exported while the parts before it are written.
 * Growth 1.5 rather than 2: doubling only keeps the writer busy when Shopify exports twice as fast as Kizuna writes; when it
 * exports slower, the run waits for each part's export and then writes the (large) last part alone — a gentler growth with
 * more parts bounds both waits. 8 parts: 2 % of the store first, 35 % last.
 */
export function bulkPartShares(parts: number, growth = 1.5): number[] {
  const weights = Array.from({ length: parts }, (_, k) => growth ** k);
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
}

/**
 * How a full export of a large store is split: the id range cut into `parts` consecutive ranges (sized by bulkPartShares), each
 * exported by its own bulk operation, one after another — at most two of ours exist at a time (Shopify allows five per shop).
 * Rows are only written once their export is complete, so a single export makes the whole run wait for all of Shopify's work
 * first; split, the first (small) part is written while the next one exports. The first part is open below and the last open
 * above, so every customer — even one created during the run — is in exactly one part, however the boundaries fall. Returns
 * the `query` filter of each part.
 */
export async function planBulkParts(client: ShopifyClient, total: number, parts: number): Promise<(string | null)[]> {
  if (parts < 2 || total < parts * 2) return [null];
  const ends = await client.graphql<{ lowest: { nodes: { legacyResourceId: string }[] }; highest: { nodes: { legacyResourceId: string }[] } }>(
    CUSTOMER_ID_ENDS,
    {},
    6,
  );
  const lo = ends.data.lowest.nodes[0]?.legacyResourceId;
  const hi = ends.data.highest.nodes[0]?.legacyResourceId;
  if (!lo || !hi || BigInt(hi) - BigInt(lo) < BigInt(parts * 2)) return [null];
  const shares = bulkPartShares(parts);
  let cumulative = 0;
  const targets = shares.slice(0, -1).map((s) => (cumulative += s) * total);
  const bounds = await idQuantiles(client, BigInt(lo) - 1n, BigInt(hi), total, targets, Math.max(1, Math.floor((total * shares[0]!) / 10)));
  const cuts = bounds.filter((b, k) => k === 0 || b > bounds[k - 1]!);
  return cuts.map((b, k) => (k === 0 ? `id:<=${b}` : `id:>=${cuts[k - 1]! + 1n} id:<=${b}`)).concat(`id:>=${cuts.at(-1)! + 1n}`);
}

/**
 * For each target count, an id with about that many customers at or below it, from `customersCount(query: "id:<=…")` only
 * (Shopify has no "skip n"). Every target starts in the bracket (below, highest] (0 and `total` customers); each round counts
 * at up to 15 evenly spaced ids inside the brackets still too wide — one call — and keeps the sub-bracket holding the target,
 * until a bracket holds at most `tolerance` customers (about a tenth of the smallest part). Ids are bunched in real stores
 * (an import, a busy season), so the rounds follow the customers, not the id space; the answer is interpolated at the end.
 */
async function idQuantiles(client: ShopifyClient, below: bigint, highest: bigint, total: number, targets: number[], tolerance: number): Promise<bigint[]> {
  type Bracket = { lo: bigint; cLo: number; hi: bigint; cHi: number };
  const brackets: Bracket[] = targets.map(() => ({ lo: below, cLo: 0, hi: highest, cHi: total }));
  const PER_CALL = 15;
  for (let round = 0; round < 12; round++) {
    const open = [...new Map(brackets.filter((b) => b.cHi - b.cLo > tolerance && b.hi - b.lo > 1n).map((b) => [`${b.lo}:${b.hi}`, b])).values()];
    if (!open.length) break;
    const per = Math.max(1, Math.floor(PER_CALL / open.length));
    const ids = open.flatMap((b) => Array.from({ length: per }, (_, i) => b.lo + ((b.hi - b.lo) * BigInt(i + 1)) / BigInt(per + 1)));
    const at = [...new Set(ids)].filter((id) => open.some((b) => id > b.lo && id < b.hi)).slice(0, PER_CALL);
    if (!at.length) break;
    const { data } = await client.graphql<Record<string, { count: number } | null>>(
      customersCountsUpTo(at.length),
      Object.fromEntries(at.map((id, i) => [`q${i}`, `id:<=${id}`])),
      at.length,
    );
    const counted = at.map((id, i) => ({ id, count: Number(data[`c${i}`]?.count ?? 0) }));
    brackets.forEach((b, k) => {
      for (const p of counted) {
        if (p.id <= b.lo || p.id >= b.hi) continue;
        if (p.count < targets[k]!) Object.assign(b, { lo: p.id, cLo: p.count });
        else Object.assign(b, { hi: p.id, cHi: p.count });
      }
    });
  }
  return brackets.map((b, k) => {
    const frac = Math.min(1, Math.max(0, (targets[k]! - b.cLo) / Math.max(1, b.cHi - b.cLo)));
    return b.lo + BigInt(Math.floor(frac * Number(b.hi - b.lo)));
  });
}

/** Where a bulk read is: part `part` of `parts`, `linesDone` lines into the export `operationId` of that part. */
type BulkCheckpoint = Extract<FetchCheckpoint, { kind: 'bulk' }>;

async function* fetchBulk(opts: FetchOptions): AsyncGenerator<FetchBatch> {
  let withLastOrder = opts.withLastOrder;
  const resume = opts.resume?.kind === 'bulk' ? opts.resume : null;
  const parts = resume ? (resume.parts ?? [updatedSinceFilter(opts.since)]) : opts.since ? [updatedSinceFilter(opts.since)] : await planBulkParts(opts.client, opts.total ?? 0, opts.bulkParts ?? 1);
  let startedAt = resume?.startedAt ?? null;
  // The export of an earlier attempt of this run (from its checkpoint), or null to start one.
  let id: string | null = resume?.operationId ?? null;
  let skip = resume?.linesDone ?? 0;
  // The next part's export, started as soon as this part's is complete, so Shopify exports it while this one is written.
  let next: { id: Promise<string>; withLastOrder: boolean } | null = null;
  for (let part = resume?.part ?? 0; part < parts.length; part++) {
    const filter = parts[part]!;
    const at = (operationId: string, linesDone: number): BulkCheckpoint => ({ kind: 'bulk', operationId, linesDone, part, parts, startedAt });
    let resumed = id !== null;
    if (next && id === null && next.withLastOrder === withLastOrder) {
      id = await next.id.catch(() => null);
      skip = 0;
      if (id !== null) yield { customers: [], checkpoint: at(id, 0) };
    }
    next = null;
    for (let exports = 0; ; ) {
      if (id === null) {
        if (++exports > 3) throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, 'Shopify ended three bulk exports in a row without a result.');
        id = await startBulk(opts, filter, withLastOrder);
        skip = 0;
        resumed = false;
        // Saved at once: a worker that dies while Shopify is still exporting leaves a run that resumes with this export
        // instead of starting another one.
        yield { customers: [], checkpoint: at(id, 0) };
      }
      const op = await pollBulk(opts, id);
      if (op.status === 'FAILED' && op.errorCode === 'ACCESS_DENIED' && withLastOrder) {
        // read_orders was taken away after 発行: export again without lastOrder; 最終注文ID then comes from REST.
        opts.log?.warn({ id }, 'Shopify denied lastOrder in the bulk export; exporting again without it');
        withLastOrder = false;
        await opts.onLastOrderDenied?.();
        id = null;
        continue;
      }
      if (op.status === 'EXPIRED' || op.status === 'CANCELED' || (op.status === 'FAILED' && resumed)) {
        // Expired or cancelled, or a failure an earlier attempt of this run has already met (and written the partial data of):
        // export again.
        opts.log?.warn({ id, status: op.status }, 'bulk operation cannot be used; starting a new one');
        id = null;
        continue;
      }
      // The run has read everything Shopify had when the first export started; what changed after that is read again by the
      // next incremental run (its cursor never passes this moment).
      startedAt ??= op.createdAt;
      if (op.status === 'FAILED') {
        const partial = op.partialDataUrl;
        if (partial) {
          // What Shopify managed to export is still worth writing; the run then fails so deletions are not inferred from it.
          yield* streamJsonl(opts, partial, skip, null, (n) => at(id!, n));
        }
        throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Shopify's bulk export failed (${op.errorCode ?? 'no error code'}).`, {
          partial: Boolean(partial),
        });
      }
      if (op.status !== 'COMPLETED') {
        throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Shopify's bulk export ended as ${op.status}.`);
      }
      if (part + 1 < parts.length) {
        const started = startBulk(opts, parts[part + 1]!, withLastOrder);
        started.catch(() => undefined); // awaited when that part's turn comes (and started again then if it failed)
        next = { id: started, withLastOrder };
      }
      if (op.url) yield* streamJsonl(opts, op.url, skip, Number(op.objectCount), (n) => at(id!, n)); // no URL: no customers
      break;
    }
    id = null;
    skip = 0;
  }
}

/** Streams a bulk result file; lines with `__parentId` (nested connections) are not customers and are skipped. */
async function* streamJsonl(
  opts: FetchOptions,
  url: string,
  skip: number,
  expectedObjects: number | null,
  checkpointAt: (linesDone: number) => FetchCheckpoint,
): AsyncGenerator<FetchBatch> {
  const res = await (opts.fetch ?? fetch)(url, { redirect: 'follow', signal: AbortSignal.timeout(30 * 60_000) }).catch((e: Error) => {
    throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Could not download the bulk export: ${e.message}`);
  });
  if (!res.ok || !res.body) {
    throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Downloading the bulk export answered HTTP ${res.status}.`);
  }
  const lines = readline.createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
  const size = opts.batchSize ?? 1000;
  let batch: ShopifyCustomer[] = [];
  let lineNo = 0;
  try {
    for await (const line of lines) {
      if (!line) continue;
      lineNo++;
      if (lineNo <= skip) continue;
      let obj: { __parentId?: string };
      try {
        obj = JSON.parse(line) as typeof obj;
      } catch {
        throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `The bulk export is cut off or corrupt at line ${lineNo}.`);
      }
      if (obj.__parentId) continue;
      batch.push(parseShopifyCustomer(obj));
      if (batch.length >= size) {
        yield { customers: batch, checkpoint: checkpointAt(lineNo) };
        batch = [];
      }
    }
  } catch (e) {
    if (e instanceof ShopifyError) throw e;
    throw new ShopifyError(ShopifyCodes.SHOPIFY_BULK_FAILED, `Reading the bulk export failed at line ${lineNo}: ${(e as Error).message}`);
  }
  if (expectedObjects !== null && lineNo < expectedObjects) {
    throw new ShopifyError(
      ShopifyCodes.SHOPIFY_BULK_FAILED,
      `The bulk export is incomplete: ${lineNo} of ${expectedObjects} lines arrived.`,
    );
  }
  if (batch.length) yield { customers: batch, checkpoint: checkpointAt(lineNo) };
}

/**
 * Last order ids from REST (`last_order_id` needs only read_customers) for customers whose orders changed, when read_orders is
 * not granted and GraphQL's `lastOrder` is denied. 250 ids per call.
 */
export async function fetchLastOrderIds(client: ShopifyClient, customerIds: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < customerIds.length; i += 250) {
    const ids = customerIds.slice(i, i + 250);
    const res = await client.rest<{ customers: { id: number | string; last_order_id: number | string | null }[] }>(
      `/customers.json?ids=${ids.join(',')}&fields=id,last_order_id&limit=250`,
    );
    for (const c of res.customers) out.set(String(c.id), numericId(c.last_order_id));
  }
  return out;
}
