// Measure 6, the load: Shopify's side of webhook delivery, from its own process. Closed loop over keep-alive connections:
// each connection sends its next delivery as soon as the previous one is answered. Bodies are real customers/update payloads
// of the development Shopify, signed with the app secret (signatures are computed before the clock starts, as Shopify does
// on its own machines). Every delivery has its own X-Shopify-Webhook-Id except a share of redeliveries of earlier ids.
import http from 'node:http';
import { CustomerGenerator } from '../../src/dev/shopify/index.js';
import { webhookCustomer } from '../../src/dev/shopify/shapes.js';
import { signShopifyBody } from '../../src/shopify/webhooks.js';
import { childMain } from '../lib/proc.js';

export interface LoadArgs {
  origin: string;
  tenantId: string;
  secret: string;
  shop: string;
  connections: number;
  /** Deliveries measured (after the warm-up). */
  requests: number;
  warmup: number;
  /** Share of deliveries that repeat an earlier webhook id (Shopify delivers at least once). */
  redeliveries: number;
  /** Stop early after this long even if not all requests were sent. */
  maxSeconds: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  duplicates: number;
  failed: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  uniqueIds: number;
  bodyBytes: number;
}

await childMain<LoadArgs, LoadResult>(async (a) => {
  const gen = new CustomerGenerator({ seed: 1, count: 1000 });
  const shop = { domain: a.shop, timeZone: 'Asia/Tokyo', currencyCode: 'JPY' };
  const bodies = Array.from({ length: 1000 }, (_, i) => {
    const body = Buffer.from(JSON.stringify(webhookCustomer(gen.customerAt(i), shop)));
    return { body, hmac: signShopifyBody(body, a.secret) };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: a.connections });
  const url = new URL(`/webhooks/shopify/${a.tenantId}`, a.origin);
  const send = (i: number, id: string): Promise<{ status: number; duplicate: boolean }> =>
    new Promise((resolve, reject) => {
      const b = bodies[i % bodies.length]!;
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': b.body.length,
            'X-Shopify-Topic': 'customers/update',
            'X-Shopify-Hmac-Sha256': b.hmac,
            'X-Shopify-Shop-Domain': a.shop,
            'X-Shopify-Webhook-Id': id,
            'X-Shopify-Triggered-At': new Date().toISOString(),
            'X-Shopify-API-Version': '2026-04',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, duplicate: text.includes('"duplicate":true') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(b.body);
    });

  const total = a.warmup + a.requests;
  let next = 0;
  const ids = new Set<string>();
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let duplicates = 0;
  let failed = 0;
  let tStart = 0;
  let deadline = Infinity;
  const idFor = (i: number) => {
    // Every 1/redeliveries-th delivery repeats the id of the delivery sent 99 earlier (itself never a repeat).
    const every = a.redeliveries > 0 ? Math.round(1 / a.redeliveries) : 0;
    const n = every > 1 && i >= 100 && i % every === 0 ? i - 99 : i;
    return `bench-${process.pid}-${n}`;
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total || performance.now() > deadline) return;
      if (i === a.warmup) {
        tStart = performance.now();
        deadline = tStart + a.maxSeconds * 1000;
      }
      const id = idFor(i);
      const t = performance.now();
      try {
        const r = await send(i, id);
        if (i < a.warmup) continue;
        latencies.push(performance.now() - t);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        ids.add(id);
        if (r.status === 200) {
          ok++;
          if (r.duplicate) duplicates++;
        } else failed++;
      } catch {
        if (i >= a.warmup) failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: a.connections }, worker));
  const elapsedMs = performance.now() - tStart;
  agent.destroy();
  latencies.sort((x, y) => x - y);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    sent: latencies.length + failed,
    ok,
    duplicates,
    failed,
    statuses,
    elapsedMs,
    rps: (latencies.length / elapsedMs) * 1000,
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) ?? 0, mean: latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length) },
    uniqueIds: ids.size,
    bodyBytes: bodies[0]!.body.length,
  };
});
