// Measure 6, the server: Kizuna's HTTP server as `kizuna serve` builds it (all routes, the Shopify webhook route among them),
// on loopback, in its own process. Only the ingest is measured: verify the HMAC, deduplicate into the inbox, ask for a drain
// job. No worker runs here, so the drain jobs wait in the queue and do not compete for the CPU.
import { buildServer } from '../../src/web/server.js';
import { openContext } from '../lib/app.js';
import { memory, serviceMain } from '../lib/proc.js';

export interface WebhookServerArgs {
  url: string;
}

export interface WebhookServerInfo {
  origin: string;
  pid: number;
}

await serviceMain<WebhookServerArgs, WebhookServerInfo>(async (a) => {
  const ctx = await openContext(a.url, {}, { poolSize: 20 });
  const app = await buildServer(ctx, { logLevel: 'warn' });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'memory') process.send?.({ type: 'log', text: `webhook server RSS ${JSON.stringify(memory())}` });
  });
  return {
    info: { origin: address, pid: process.pid },
    async stop() {
      await app.close();
      await ctx.close();
    },
  };
});
