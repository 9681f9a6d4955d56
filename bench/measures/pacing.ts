// Measure 3: pacing against Shopify's cost limit. Kizuna pages through customers with its own client for ~25 s of real time
// against a fresh development Shopify at its default bucket (2000 points, 100 points/s restored).
//   use of the restore rate = (points spent − the bucket's initial 2000) ÷ (elapsed seconds × 100): 1.0 means every point
//   Shopify restored was spent, i.e. reads ran exactly as fast as the plan allows;
//   THROTTLED after the first second: answers Shopify refused for lack of points, from the fake's own request log (pacing
//   should make this 0: the client waits for the points instead of being refused).
import type { PacingArgs, PacingResult } from '../children/pacing.js';
import { startFake } from '../lib/fake.js';
import type { Figure } from '../lib/format.js';
import { runChild } from '../lib/proc.js';

export async function pacingMeasure(o: { seconds: number; log: (s: string) => void }): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  o.log(`pacing: paging customers for ${o.seconds} s against the bucket (2000 points, 100/s)`);
  const fake = await startFake(100_000, ['read_customers', 'read_orders']);
  try {
    const bucket = (await fake.shop.bucketStatus()) as { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
    await fake.shop.clearRequests();
    const r = await runChild<PacingResult>('bench/children/pacing.ts', {
      origin: fake.info.origin,
      shop: fake.info.shop,
      token: fake.info.accessToken,
      seconds: o.seconds,
      withLastOrder: true,
    } satisfies PacingArgs);
    const log = (await fake.shop.requests()) as { at: string; route: string; throttled: boolean; actualQueryCost: number | null }[];
    const gql = log.filter((e) => e.route === 'graphql');
    const t0 = Date.parse(gql[0]!.at);
    const throttledAfter = gql.filter((e) => e.throttled && Date.parse(e.at) - t0 > 1000).length;
    const spentByShop = gql.reduce((s, e) => s + (e.actualQueryCost ?? 0), 0);
    const use = (r.stats.pointsUsed - bucket.currentlyAvailable) / ((r.elapsedMs / 1000) * bucket.restoreRate);
    const figures: Figure[] = [
      { id: 'pacing.use', measure: '3', figure: `paged reads: points spent per second ÷ restore rate (${(r.elapsedMs / 1000).toFixed(1)} s, ${r.pages} pages)`, value: use, unit: '×', goal: '≥ 0.95', met: use >= 0.95 },
      { id: 'pacing.throttled', measure: '3', figure: 'THROTTLED answers after the first second', value: throttledAfter, unit: '', goal: '0', met: throttledAfter === 0 },
    ];
    return { figures, details: { bucket, ...r, answers: r.answers, spentByShop, throttledAfterFirstSecond: throttledAfter, throttledTotal: gql.filter((e) => e.throttled).length } };
  } finally {
    await fake.stop();
  }
}
