// Measure 3: Kizuna's paginated customer reads (fetch.ts `pages`, the incremental path) through its ShopifyClient against the
// development Shopify's cost model at its default bucket (2000 points, 100 points/s), on the real clock, for a fixed time.
// Reports every answer's time and cost so the orchestrator can compute the sustained use of the restore rate.
import { systemClock } from '../../src/clock.js';
import { ShopifyClient } from '../../src/shopify/client.js';
import { staticToken } from '../../src/shopify/credentials.js';
import { fetchCustomers } from '../../src/sync/fetch.js';
import { childMain } from '../lib/proc.js';

export interface PacingArgs {
  origin: string;
  shop: string;
  token: string;
  seconds: number;
  withLastOrder: boolean;
}

export interface PacingResult {
  pages: number;
  customers: number;
  /** From the first request sent to the last answer received. */
  elapsedMs: number;
  stats: { requests: number; throttled: number; retries: number; pointsUsed: number; waitedMs: number };
  /** Per answer: ms since start, actual cost, points Shopify said were left. */
  answers: { t: number; cost: number; available: number }[];
}

await childMain<PacingArgs, PacingResult>(async (a) => {
  const answers: PacingResult['answers'] = [];
  let t0 = 0;
  const client = new ShopifyClient({
    shop: a.shop,
    apiVersion: '2026-04',
    apiOrigin: a.origin,
    token: staticToken(a.token),
    onCost: (c) => answers.push({ t: performance.now() - t0, cost: c.actualQueryCost ?? 0, available: c.throttleStatus.currentlyAvailable }),
  });
  let pages = 0;
  let customers = 0;
  t0 = performance.now();
  const batches = fetchCustomers({ client, withLastOrder: a.withLastOrder, since: null, bulk: false, clock: systemClock });
  for await (const b of batches) {
    pages++;
    customers += b.customers.length;
    if (performance.now() - t0 >= a.seconds * 1000) break;
  }
  return { pages, customers, elapsedMs: answers.at(-1)?.t ?? 0, stats: { ...client.stats }, answers };
});
