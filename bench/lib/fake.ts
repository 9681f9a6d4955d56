// The development Shopify in a child process, and its /__control client.
import { connectFakeShopify, type RemoteShop } from '../../src/dev/shopify/index.js';
import type { FakeInfo } from '../children/fake-shopify.js';
import { startService, type Service } from './proc.js';

export interface BenchFake extends Service<FakeInfo> {
  shop: RemoteShop;
}

export async function startFake(customers: number, scopes = ['read_customers', 'read_orders'], seed = 1): Promise<BenchFake> {
  const svc = await startService<FakeInfo>('bench/children/fake-shopify.ts', { customers, seed, scopes });
  return { ...svc, shop: connectFakeShopify(svc.info.origin).shop(svc.info.shop) };
}
