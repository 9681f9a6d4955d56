// The tenant a benchmark syncs: enterprise plan with the Shopify option, credentials issued (発行) and linked (連携) against
// the development Shopify through Kizuna's own functions, and LINE friends whose emails match a given share of the store's
// customers. Friends are COPYed in directly (the LIFF/email-event path is not what is measured here).
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createTenant } from '../../src/crm/tenants.js';
import { CustomerGenerator } from '../../src/dev/shopify/index.js';
import { shopifyFieldIds } from '../../src/shopify/fields.js';
import { issueCredentials, linkIntegration } from '../../src/shopify/integration.js';
import type { FakeInfo } from '../children/fake-shopify.js';
import { openContext } from './app.js';

export interface World {
  tenantId: string;
  friends: number;
  fieldIds: number[];
}

/** Indexes of the customers that will have a friend: `share` of all customers, spread evenly over the verified-email ones. */
export function matchedCustomers(count: number, seed: number, share: number): { index: number; email: string }[] {
  const gen = new CustomerGenerator({ seed, count });
  const matchable: number[] = [];
  for (let i = 0; i < count; i++) {
    const c = gen.customerAt(i);
    if (c.verifiedEmail && c.email && c.email.trim()) matchable.push(i);
  }
  const want = Math.min(matchable.length, Math.round(count * share));
  const out: { index: number; email: string }[] = [];
  for (let k = 0; k < want; k++) {
    const i = matchable[Math.floor((k * matchable.length) / want)]!;
    out.push({ index: i, email: gen.customerAt(i).email! });
  }
  return out;
}

export async function copyFriends(pool: pg.Pool, tenantId: string, emails: (string | null)[], prefix = 'U'): Promise<void> {
  const client = await pool.connect();
  try {
    let i = 0;
    const rows = new Readable({
      read() {
        let chunk = '';
        for (let n = 0; n < 2000 && i < emails.length; n++, i++) {
          const e = emails[i];
          const id = prefix + i.toString(16).padStart(33 - prefix.length, '0');
          chunk += e === null
            ? `${tenantId}\t${id}\tfriend ${i}\t\\N\t\\N\t\\N\t\\N\n`
            : `${tenantId}\t${id}\tfriend ${i}\t${e}\t${e.trim().toLowerCase()}\t2026-01-01T00:00:00Z\tliff\n`;
        }
        this.push(chunk || null);
        if (i >= emails.length && chunk) this.push(null);
      },
    });
    await pipeline(
      rows,
      client.query(copyFrom(`COPY friends (tenant_id, line_user_id, display_name, email, email_normalized, email_acquired_at, email_source) FROM STDIN`)),
    );
  } finally {
    client.release();
  }
}

export async function setupWorld(url: string, fake: FakeInfo, opts: { customers: number; seed: number; share: number }): Promise<World> {
  const ctx = await openContext(url, { SHOPIFY_API_ORIGIN: fake.origin });
  try {
    const { tenant } = await createTenant(ctx, { name: 'ベンチ商店', plan: 'enterprise', options: ['shopify'], notifyEmails: ['ops@example.jp'] });
    const matched = matchedCustomers(opts.customers, opts.seed, opts.share);
    // A few friends without an email, as in any real account (followers who never opened the LIFF page).
    const unmatchedFriends = Math.round(matched.length * 0.1);
    await copyFriends(ctx.db.pool, tenant.id, [...matched.map((m) => m.email), ...Array.from({ length: unmatchedFriends }, () => null)]);
    await issueCredentials(ctx, tenant, { storeDomain: fake.shop, accessToken: fake.accessToken, webhookSecret: fake.clientSecret }, { startRuns: false });
    await linkIntegration(ctx, tenant, { startRuns: false });
    await ctx.db.pool.query('VACUUM ANALYZE friends');
    return { tenantId: tenant.id, friends: matched.length + unmatchedFriends, fieldIds: await shopifyFieldIds(ctx.db.pool, tenant.id) };
  } finally {
    await ctx.close();
  }
}
