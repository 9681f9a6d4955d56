// Shared set-up for the CRM tests: tenants with tokens, friends, fields — through the same functions the product uses.
import crypto from 'node:crypto';
import { createTenant, type TenantCreateInput } from '../../src/crm/tenants.js';
import type { TestApp } from '../helpers/app.js';

export interface TestTenant {
  id: string;
  token: string;
  auth: { authorization: string };
}

export async function makeTenant(t: TestApp, input: Partial<TenantCreateInput> = {}): Promise<TestTenant> {
  const { tenant, apiToken } = await createTenant(t.ctx, { name: `ブランド ${crypto.randomBytes(3).toString('hex')}`, ...input });
  return { id: tenant.id, token: apiToken, auth: { authorization: `Bearer ${apiToken}` } };
}

/** A LINE user id as LINE makes them: U + 32 hex. */
export function lineUserId(seed: string | number): string {
  return 'U' + crypto.createHash('md5').update(String(seed)).digest('hex');
}

export async function makeFriend(
  t: TestApp,
  tenantId: string,
  f: { lineUserId?: string; displayName?: string; email?: string | null; status?: 'active' | 'blocked' } = {},
): Promise<number> {
  const email = f.email ?? null;
  const { rows } = await t.ctx.db.pool.query(
    `INSERT INTO friends (tenant_id, line_user_id, display_name, status, email, email_normalized, email_acquired_at, email_source)
     VALUES ($1, $2, $3, $4, $5, lower(btrim($5)), CASE WHEN $5::text IS NULL THEN NULL ELSE now() END, CASE WHEN $5::text IS NULL THEN NULL ELSE 'api' END)
     RETURNING id`,
    [tenantId, f.lineUserId ?? lineUserId(crypto.randomUUID()), f.displayName ?? null, f.status ?? 'active', email],
  );
  return rows[0].id;
}
