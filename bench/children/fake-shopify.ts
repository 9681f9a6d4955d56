// The development Shopify in its own process (so the sync's RSS and CPU are Kizuna's alone), driven through /__control.
import { startFakeShopify } from '../../src/dev/shopify/index.js';
import { serviceMain } from '../lib/proc.js';

export interface FakeArgs {
  customers: number;
  seed: number;
  scopes: string[];
}

export interface FakeInfo {
  origin: string;
  shop: string;
  accessToken: string;
  clientSecret: string;
}

await serviceMain<FakeArgs, FakeInfo>(async (args) => {
  const fake = await startFakeShopify({ port: 0, customers: args.customers, seed: args.seed, scopes: args.scopes, requestLogLimit: 100_000 });
  const c = fake.shop().credentials();
  return { info: { origin: fake.origin, shop: c.domain, accessToken: c.accessToken!, clientSecret: c.clientSecret }, stop: () => fake.close() };
});
