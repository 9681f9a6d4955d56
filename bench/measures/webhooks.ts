// Measure 6: Shopify webhook ingest on loopback — HMAC check, dedupe into the inbox, drain job requested — by Kizuna's HTTP
// server in its own process, under a closed-loop load from another process.
import pg from 'pg';
import type { LoadArgs, LoadResult } from '../children/webhook-load.js';
import type { WebhookServerArgs, WebhookServerInfo } from '../children/webhook-server.js';
import { dropDatabase, type BenchPostgres } from '../lib/db.js';
import { startFake } from '../lib/fake.js';
import type { Figure } from '../lib/format.js';
import { runChild, startService } from '../lib/proc.js';
import { setupWorld } from '../lib/world.js';

export async function webhookMeasure(
  pgs: BenchPostgres,
  o: { requests: number; connections: number; log: (s: string) => void },
): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  o.log(`webhooks: ${o.requests.toLocaleString('en-US')} deliveries over ${o.connections} keep-alive connections`);
  const fake = await startFake(1000);
  const url = await pgs.freshDatabase('bench_webhooks');
  try {
    // A linked tenant whose app secret signs the deliveries (発行 with the webhook secret, then 連携).
    const world = await setupWorld(url, fake.info, { customers: 1000, seed: 1, share: 0.2 });
    await fake.stop();
    const server = await startService<WebhookServerInfo>('bench/children/webhook-server.ts', { url } satisfies WebhookServerArgs);
    let load: LoadResult;
    try {
      load = await runChild<LoadResult>('bench/children/webhook-load.ts', {
        origin: server.info.origin,
        tenantId: world.tenantId,
        secret: fake.info.clientSecret,
        shop: fake.info.shop,
        connections: o.connections,
        requests: o.requests,
        warmup: 2000,
        redeliveries: 0.05,
        maxSeconds: 120,
      } satisfies LoadArgs);
    } finally {
      await server.stop();
    }
    const c = new pg.Client(url);
    await c.connect();
    const inbox = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM shopify_webhook_inbox`)).rows[0].n;
    const drains = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'shopify.webhook-drain'`)).rows[0].n;
    await c.end();
    if (load.failed) throw new Error(`${load.failed} webhook deliveries failed: ${JSON.stringify(load.statuses)}`);
    const figures: Figure[] = [
      { id: 'webhooks.rps', measure: '6', figure: `webhook ingest, ${o.connections} connections (HMAC, dedupe, enqueue)`, value: load.rps, unit: 'req/s', goal: '≥ 2,000 req/s', met: load.rps >= 2000 },
      { id: 'webhooks.p99', measure: '6', figure: `  p99 latency (p50 ${load.latencyMs.p50.toFixed(1)} ms)`, value: load.latencyMs.p99, unit: 'ms', goal: '≤ 50 ms', met: load.latencyMs.p99 <= 50 },
    ];
    return { figures, details: { ...load, inboxRows: inbox, drainJobs: drains } };
  } finally {
    await fake.stop();
    await dropDatabase(pgs.server.adminUrl, 'bench_webhooks');
  }
}
