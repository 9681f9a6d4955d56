// `kizuna demo`: the whole system to click through — a built-in development Shopify with a generated Japanese store, a demo
// tenant on the enterprise plan with the Shopify option, sample friends (some of them customers of the store, by email),
// the integration issued and linked, and `serve` on PORT. Its data lives in DATA_DIR/demo, apart from real data.
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { startFakeShopify } from '../../dev/shopify/index.js';
import { addOperator } from '../../crm/operators.js';
import { createTenant } from '../../crm/tenants.js';
import { admin, serve } from '../../main.js';
import { issueCredentials, linkIntegration } from '../../shopify/integration.js';
import { requestRun } from '../../sync/run-store.js';

const DEMO_TENANT = 'デモストア';
const DEMO_EMAIL = 'demo@kizuna.local';
const DEMO_PASSWORD = 'kizuna-demo-2026';

export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole system with a built-in fake Shopify store, a demo tenant and sample friends (data in DATA_DIR/demo)')
    .option('--customers <n>', 'customers in the demo store', '500')
    .option('--seed <n>', 'seed of the generated store', '2026')
    .action(async (o: { customers: string; seed: string }) => {
      const base = loadConfig();
      const fake = await startFakeShopify({ customers: Number(o.customers), seed: Number(o.seed) });
      const env = { ...process.env, DATA_DIR: path.join(base.DATA_DIR, 'demo'), SHOPIFY_API_ORIGIN: fake.origin };
      const config = loadConfig(env);
      const shop = fake.shop();

      // Set up once (a later `kizuna demo` finds the tenant and reuses it).
      const setup = await admin('demo', { config });
      try {
        const { rows } = await setup.ctx.db.pool.query<{ id: string }>(`SELECT id FROM tenants WHERE name = $1`, [DEMO_TENANT]);
        if (!rows[0]) {
          const { tenant } = await createTenant(setup.ctx, { name: DEMO_TENANT, plan: 'enterprise', options: ['shopify'], notifyEmails: ['ops@demo.kizuna.local'] });
          await addOperator(setup.ctx.db.pool, tenant.id, DEMO_EMAIL, DEMO_PASSWORD);
          // Sample friends: every third verified customer of the store gave the same email through LIFF; a few gave an
          // email the store does not know, a few gave none.
          let n = 0;
          for (let i = 0; n < 120 && i < Number(o.customers); i++) {
            const c = shop.customer(shop.store.generator.idOf(i));
            if (!c) continue;
            const email = n % 10 === 9 ? null : n % 10 === 8 ? `friend${n}@example.net` : c.email;
            await setup.ctx.db.pool.query(
              `INSERT INTO friends (tenant_id, line_user_id, display_name, email, email_normalized, email_acquired_at, email_source)
               VALUES ($1, $2, $3, $4, lower(btrim($4)), CASE WHEN $4::text IS NULL THEN NULL ELSE now() END, CASE WHEN $4::text IS NULL THEN NULL ELSE 'liff' END)`,
              [tenant.id, 'U' + (n + 1).toString(16).padStart(32, '0'), `${c.lastName ?? ''}${c.firstName ?? ''}` || `友だち${n + 1}`, email],
            );
            n++;
          }
          // The store's token changes with each demo start; 発行 and 連携 below store the current one.
        }
      } finally {
        await setup.stop();
      }

      const running = await serve({ config });
      process.on('exit', () => void fake.close());
      const { rows } = await running.ctx.db.pool.query<{ id: string }>(`SELECT id FROM tenants WHERE name = $1`, [DEMO_TENANT]);
      const tenant = (await import('../../crm/tenants.js').then((m) => m.getTenant(running.ctx.db.pool, rows[0].id)))!;
      await issueCredentials(running.ctx, tenant, { storeDomain: shop.domain, accessToken: shop.credentials().accessToken });
      await linkIntegration(running.ctx, tenant);
      await requestRun(running.ctx, tenant.id, { mode: 'full', trigger: 'manual' });
      process.stdout.write(
        [
          '',
          `  Kizuna demo: ${config.PUBLIC_URL}/login`,
          `    email:    ${DEMO_EMAIL}`,
          `    password: ${DEMO_PASSWORD}`,
          `  Demo Shopify store ${shop.domain} (${o.customers} customers) at ${fake.origin}`,
          `  Try: 外部データ連携 → shopify連携, then a friend's page for its データ連携(shopify) values.`,
          `  Change a customer: curl -X POST ${fake.origin}/__control/shops/${shop.domain}/changeCustomer -d '{"args":[${shop.store.generator.idOf(0)},{"tags":["VIP"]}]}'`,
          '  (Ctrl-C to stop)',
          '',
        ].join('\n'),
      );
    });
}
