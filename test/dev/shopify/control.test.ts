// The scenario API over /__control (typed client and plain JSON), and the `fake-shopify` command, in-process and as its
// own process driven from outside.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/fake-shopify.js';
import { connectFakeShopify, type FakeShopify } from '../../../src/dev/shopify/index.js';
import { harness, VERSION, type Harness } from './helpers.js';

async function gqlAt(origin: string, shop: string, token: string, query: string) {
  const res = await fetch(`${origin}/admin/api/${VERSION}/graphql.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Shopify-Shop-Domain': shop, 'X-Shopify-Access-Token': token },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

describe('/__control', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ customers: 10, seed: 2 });
  });
  afterAll(() => h.fake.close());

  it('drives a shop through the typed client: data, faults, limits, tokens, clock', async () => {
    const client = connectFakeShopify(h.fake.origin);
    expect(await client.health()).toMatchObject({ ok: true, shops: ['kizuna-dev.myshopify.com'] });
    const shop = client.shop('kizuna-dev.myshopify.com');
    const creds = await shop.credentials();
    expect(creds).toEqual(h.shop.credentials());

    const id = h.shop.store.generator.idOf(4);
    const changed = await shop.changeCustomer(id, { firstName: '遠隔' });
    expect(changed.firstName).toBe('遠隔');
    const q = await h.gql(`{ customer(id: "gid://shopify/Customer/${id}") { firstName } }`);
    expect(q.body.data.customer.firstName).toBe('遠隔');

    await shop.failNext({ kind: '5xx', status: 503 });
    expect((await h.gql('{ shop { name } }')).status).toBe(503);
    await shop.throttle({ currentlyAvailable: 0 });
    expect((await h.gql('{ shop { name } }')).body.errors[0].extensions.code).toBe('THROTTLED');
    await shop.throttle({ currentlyAvailable: 2000 });

    const { access_token, expires_in } = await shop.issueToken({ expiresInSeconds: 30 });
    expect(expires_in).toBe(30);
    expect((await h.gql('{ shop { name } }', {}, { token: access_token })).status).toBe(200);
    expect(await client.advanceClock(31_000)).toBe(h.clock.now() + 31_000);
    expect((await h.gql('{ shop { name } }', {}, { token: access_token })).status).toBe(401);

    await shop.serveCustomers({ count: 3, seed: 9 });
    expect(await shop.customerCount()).toBe(3);
    const log = await shop.requests();
    expect(log.at(-1)).toMatchObject({ route: 'graphql', status: 401 });

    const added = await client.addShop({ domain: 'second', customers: 2 });
    expect(added.domain).toBe('second.myshopify.com');
    expect(await client.shop('second').customerCount()).toBe(2);
  });

  it('takes plain JSON too: a single object as the argument, GET for read-only methods, clear errors', async () => {
    const url = `${h.fake.origin}/__control/shops/kizuna-dev.myshopify.com`;
    const post = (method: string, body?: unknown) =>
      fetch(`${url}/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await post('failNext', { kind: '429', retryAfter: 4 })).status).toBe(200);
    const limited = await h.gql('{ shop { name } }');
    expect(limited.status).toBe(429);
    expect((await (await fetch(`${url}/bucketStatus`)).json()).result).toMatchObject({ maximumAvailable: 2000 });
    expect((await (await fetch(url)).json())).toMatchObject({ domain: 'kizuna-dev.myshopify.com', customers: 3 });
    const unknown = await post('dropDatabase');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('NOT_FOUND');
    const bad = await post('changeCustomer', { args: [1, {}] });
    expect(bad.status).toBe(422);
    expect((await bad.json()).error.message).toMatch(/no customer 1/);
    expect((await fetch(`${h.fake.origin}/__control/shops/nope.myshopify.com`)).status).toBe(404);
    expect((await fetch(`${url}/changeCustomer`)).status).toBe(405);
  });
});

describe('kizuna fake-shopify', () => {
  it('prints the store, the credentials and SHOPIFY_API_ORIGIN, serves the store, and stops cleanly', async () => {
    const out: string[] = [];
    const stop = new AbortController();
    let fake: FakeShopify | undefined;
    let running: Promise<unknown> = Promise.resolve();
    const started = new Promise<void>((resolve) => {
      const program = new Command().exitOverride();
      register(program, { signal: stop.signal, write: (t) => out.push(t), onStarted: (f) => ((fake = f), resolve()) });
      running = program.parseAsync(['node', 'kizuna', 'fake-shopify', '--port', '0', '--customers', '1000', '--seed', '3', '--token', 'shpat_fixed']);
    });
    await started;
    const text = out.join('');
    expect(text).toContain('kizuna-dev.myshopify.com');
    expect(text).toContain('shpat_fixed');
    const creds = fake!.shop().credentials();
    expect(text).toContain(creds.clientId);
    expect(text).toContain(creds.clientSecret);
    expect(text).toContain(`SHOPIFY_API_ORIGIN=http://127.0.0.1:${fake!.port}`);
    const res = await gqlAt(fake!.origin, 'kizuna-dev.myshopify.com', 'shpat_fixed', '{ customersCount(limit: null) { count } }');
    expect(res.body.data.customersCount.count).toBe(1000);
    stop.abort();
    await running;
    await expect(fetch(fake!.origin + '/__control/health')).rejects.toThrow();
  });

  it('rejects bad options with a one-line reason', async () => {
    const program = new Command().exitOverride();
    register(program);
    await expect(program.parseAsync(['node', 'kizuna', 'fake-shopify', '--port', 'abc'])).rejects.toThrow('--port must be an integer from 0 to 65535, not "abc"');
  });

  it('runs as its own process (--json), is driven over /__control, and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('./fixtures/cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'fake-shopify', '--port', '0', '--customers', '200', '--seed', '5', '--scopes', 'read_customers,read_orders', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error(`fake-shopify exited early: ${stderr}`)));
      });
      const info = JSON.parse(first);
      expect(info).toMatchObject({ shop: 'kizuna-dev.myshopify.com', customers: 200, seed: 5, scopes: ['read_customers', 'read_orders'], env: { SHOPIFY_API_ORIGIN: info.origin } });
      const remote = connectFakeShopify(info.origin).shop(info.shop);
      expect(await remote.requests()).toEqual([]);
      const res = await gqlAt(info.origin, info.shop, info.accessToken, '{ customers(first: 1) { nodes { id lastOrder { id } } } }');
      expect(res.body.errors).toBeUndefined();
      const gidText: string = res.body.data.customers.nodes[0].id;
      await remote.changeCustomer(gidText, { lastName: '外部' });
      const after = await gqlAt(info.origin, info.shop, info.accessToken, `{ customer(id: "${gidText}") { lastName } }`);
      expect(after.body.data.customer.lastName).toBe('外部');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
