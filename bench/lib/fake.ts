// The development Shopify in a child process, and its /__control client. It stands in for Shopify's servers, whose work is
// not on Kizuna's machine: it runs at a lower CPU priority, so on a small machine it takes the CPU that Kizuna and
// PostgreSQL leave idle instead of competing with the pipeline being measured (the export Kizuna overlaps with its writing
// would otherwise slow the writing down). An export with the machine otherwise idle is as fast as before.
import os from 'node:os';
import { connectFakeShopify, type RemoteShop } from '../../src/dev/shopify/index.js';
import type { FakeInfo } from '../children/fake-shopify.js';
import { startService, type Service } from './proc.js';

export interface BenchFake extends Service<FakeInfo> {
  shop: RemoteShop;
}

export async function startFake(customers: number, scopes = ['read_customers', 'read_orders'], seed = 1): Promise<BenchFake> {
  const svc = await startService<FakeInfo>('bench/children/fake-shopify.ts', { customers, seed, scopes });
  os.setPriority(svc.pid, 15);
  return { ...svc, shop: connectFakeShopify(svc.info.origin).shop(svc.info.shop) };
}
