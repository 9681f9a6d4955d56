// `kizuna shopify issue|link|status|unlink` and `kizuna sync` as an operator runs them: real processes on the test database,
// talking to the development Shopify.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeShopify, type FakeShopify } from '../../src/dev/shopify/index.js';
import { parseCustomerQuery } from '../../src/dev/shopify/search.js';
import { createTenant } from '../../src/crm/tenants.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { spawnKizuna } from '../helpers/proc.js';

describe('kizuna shopify and kizuna sync', () => {
  let fake: FakeShopify;
  let t: TestApp;
  let tenantId: string;
  let env: Record<string, string>;
  const run = async (...args: string[]) => {
    const p = spawnKizuna(args, env);
    const code = await p.exited;
    return { code, out: p.output() };
  };

  beforeAll(async () => {
    fake = await startFakeShopify({ customers: 300, seed: 5 });
    fake.shop().throttle({ maximumAvailable: 1e9, restoreRate: 1e9, currentlyAvailable: 1e9 });
    t = await createTestApp();
    const { tenant } = await createTenant(t.ctx, { name: 'CLI商店', plan: 'enterprise', options: ['shopify'] });
    tenantId = tenant.id;
    // Two friends whose emails are verified customers of the generated store.
    const customers = fake.shop().store.page({ first: 50, sortKey: 'ID', reverse: false, filter: parseCustomerQuery(null, 'Asia/Tokyo').filter }).items;
    const verified = (customers as any[]).filter((c) => c.verifiedEmail && c.email).slice(0, 2);
    for (const [i, c] of verified.entries()) {
      await t.ctx.db.pool.query(
        `INSERT INTO friends (tenant_id, line_user_id, email, email_normalized, email_acquired_at, email_source)
         VALUES ($1, $2, $3, lower($3), now(), 'api')`,
        [tenantId, 'U' + String(i + 1).padStart(32, '0'), c.email],
      );
    }
    env = { DATABASE_URL: t.testDb.url, SHOPIFY_API_ORIGIN: fake.origin, LOG_LEVEL: 'silent', KIZUNA_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it('issue → status → link → sync → unlink, each exiting 0, never printing the token', async () => {
    const token = fake.shop().credentials().accessToken!;
    const issue = await run('shopify', 'issue', tenantId, '--store', fake.shop().domain.replace('.myshopify.com', ''), '--token', token);
    expect(issue.code, issue.out).toBe(0);
    expect(issue.out).toContain('issued: kizuna-dev.myshopify.com');
    expect(issue.out).not.toContain(token);

    const status = await run('shopify', 'status', tenantId, '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ status: 'issued', storeDomain: 'kizuna-dev.myshopify.com', credentialKind: 'access_token' });
    expect(status.out).not.toContain(token);

    const link = await run('shopify', 'link', tenantId, '--json');
    expect(link.code, link.out).toBe(0);
    expect(JSON.parse(link.out).category.fields).toHaveLength(22);

    const sync = await run('sync', tenantId, '--full', '--json');
    expect(sync.code, sync.out).toBe(0);
    const result = JSON.parse(sync.out.trim().split('\n').pop()!);
    expect(result).toMatchObject({ status: 'succeeded', counts: { fetched: 300, matched: 2 } });

    const text = await run('shopify', 'status', tenantId);
    expect(text.out).toMatch(/status:\s+linked/);
    expect(text.out).toMatch(/last run:\s+succeeded/);

    const unlink = await run('shopify', 'unlink', tenantId);
    expect(unlink.code).toBe(0);
    const again = await run('sync', tenantId);
    expect(again.code).toBe(1);
    expect(again.out.trim().split('\n').pop()).toMatch(/^kizuna: /);
  });

  it('a tenant without the plan gets a one-line PLAN_REQUIRED', async () => {
    const { tenant } = await createTenant(t.ctx, { name: '標準プラン商店' });
    const r = await run('shopify', 'status', tenant.id);
    expect(r.code).toBe(1);
    expect(r.out.trim()).toMatch(/^kizuna: PLAN_REQUIRED: /);
  });
});
