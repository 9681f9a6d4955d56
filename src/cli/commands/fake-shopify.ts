// `kizuna fake-shopify`: the development Shopify as a standalone server, for trying Kizuna by hand and for benchmarks that
// drive the store from another process through /__control.
import type { Command } from 'commander';
import { startFakeShopify, type FakeShopify } from '../../dev/shopify/index.js';

export interface FakeShopifyCommandOptions {
  port: string;
  host: string;
  customers: string;
  seed: string;
  shop: string;
  token?: string;
  scopes: string;
  json?: boolean;
}

/** Test seams: stop without a signal, capture output, and see the running fake. */
export interface FakeShopifyCommandDeps {
  signal?: AbortSignal;
  write?: (text: string) => void;
  onStarted?: (fake: FakeShopify) => void;
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}

export async function runFakeShopify(opts: FakeShopifyCommandOptions, deps: FakeShopifyCommandDeps = {}): Promise<void> {
  const write = deps.write ?? ((t: string) => void process.stdout.write(t));
  const port = integer('port', opts.port, 0, 65535);
  const customers = integer('customers', opts.customers, 0, 50_000_000);
  const seed = integer('seed', opts.seed, -2147483648, 2147483647);
  const scopes = opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
  const fake = await startFakeShopify({ port, host: opts.host, shop: opts.shop, customers, seed, scopes, accessToken: opts.token });
  const shop = fake.shop(opts.shop);
  const c = shop.credentials();
  const info = {
    origin: fake.origin,
    shop: c.domain,
    accessToken: c.accessToken,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    scopes: c.scopes,
    customers,
    seed,
    env: { SHOPIFY_API_ORIGIN: fake.origin },
    control: `${fake.origin}/__control/shops/${c.domain}`,
  };
  if (opts.json) write(`${JSON.stringify(info)}\n`);
  else {
    write(
      [
        `Development Shopify is running at ${fake.origin}  (Ctrl-C to stop)`,
        `  store domain   ${c.domain}  (${customers} customers, seed ${seed})`,
        `  access token   ${c.accessToken}`,
        `  client id      ${c.clientId}`,
        `  client secret  ${c.clientSecret}`,
        `  scopes         ${c.scopes.join(',')}`,
        '',
        'Point Kizuna at it:',
        `  SHOPIFY_API_ORIGIN=${fake.origin}`,
        '',
        `Scenario API: POST ${info.control}/<method>  e.g. changeCustomer, failNext, throttle, sendWebhook`,
        '',
      ].join('\n'),
    );
  }
  deps.onStarted?.(fake);
  let stop = () => {};
  await new Promise<void>((resolve) => {
    stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (deps.signal?.aborted) stop();
    deps.signal?.addEventListener('abort', stop, { once: true });
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await fake.close();
}

export function register(program: Command, deps: FakeShopifyCommandDeps = {}): void {
  program
    .command('fake-shopify')
    .description('run the development Shopify (a fake Admin API on Shopify\'s schema) until Ctrl-C')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '4010')
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--customers <n>', 'generated customers in the store', '1000')
    .option('--seed <s>', 'seed of the generated store', '1')
    .option('--shop <domain>', 'store domain', 'kizuna-dev.myshopify.com')
    .option('--token <token>', 'fixed Admin API access token (default: derived from the domain and seed)')
    .option('--scopes <list>', 'granted access scopes, comma-separated', 'read_customers')
    .option('--json', 'machine-readable output')
    .action((opts: FakeShopifyCommandOptions) => runFakeShopify(opts, deps));
}
