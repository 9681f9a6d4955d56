// Tenants: one brand's contract with Kizuna — plan, paid options, notification addresses, its LINE channel, and the API token
// its scripts use. The token is shown once at creation and stored only as a SHA-256 hash (it is 32 random bytes, so a fast
// hash is enough; lookups compare hashes, never tokens). LINE secrets are stored encrypted with ctx.secrets.
import crypto from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { CrmCodes } from './codes.js';

export type Plan = 'standard' | 'enterprise';
export type TenantOption = 'shopify';

export interface Tenant {
  id: string;
  name: string;
  plan: Plan;
  options: TenantOption[];
  notifyEmails: string[];
  line: {
    channelId: string | null;
    loginChannelId: string | null;
    liffId: string | null;
    /** Whether a channel secret / access token is stored (they are never returned). */
    hasChannelSecret: boolean;
    hasAccessToken: boolean;
  };
  createdAt: string;
}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => uuidRe.test(s);

const lineSettings = {
  lineChannelId: z.string().regex(/^\d{1,20}$/, 'must be the numeric channel id').optional(),
  lineChannelSecret: z.string().min(1).max(200).optional(),
  lineAccessToken: z.string().min(1).max(2000).optional(),
  lineLoginChannelId: z.string().regex(/^\d{1,20}$/, 'must be the numeric channel id').optional(),
  liffId: z.string().regex(/^\d{1,20}-[A-Za-z0-9]{1,40}$/, 'must look like 1234567890-AbcdEfgh').optional(),
};

export const tenantCreateSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  plan: z.enum(['standard', 'enterprise']).default('standard'),
  options: z.array(z.enum(['shopify'])).default([]),
  notifyEmails: z.array(z.string().trim().email()).default([]),
  ...lineSettings,
});
export type TenantCreateInput = z.input<typeof tenantCreateSchema>;

export const tenantUpdateSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  plan: z.enum(['standard', 'enterprise']).optional(),
  /** true adds the option, false removes it, undefined leaves it. */
  shopifyOption: z.boolean().optional(),
  /** Replaces the notification addresses when given. */
  notifyEmails: z.array(z.string().trim().email()).optional(),
  ...lineSettings,
});
export type TenantUpdateInput = z.input<typeof tenantUpdateSchema>;

/** Parses with a schema; bad input becomes one readable VALIDATION_FAILED (for the CLI's one-line reason as much as the API). */
function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new AppError(Codes.VALIDATION_FAILED, r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
}

const COLUMNS = `id, name, plan, options, notify_emails, line_channel_id, line_login_channel_id, liff_id,
  line_channel_secret_enc IS NOT NULL AS has_secret, line_access_token_enc IS NOT NULL AS has_token, created_at`;

/** What COLUMNS select; plan and options are CHECKed to these values by the table. */
interface TenantRow {
  id: string;
  name: string;
  plan: Plan;
  options: TenantOption[];
  notify_emails: string[];
  line_channel_id: string | null;
  line_login_channel_id: string | null;
  liff_id: string | null;
  has_secret: boolean;
  has_token: boolean;
  created_at: Date;
}

function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    plan: r.plan,
    options: r.options,
    notifyEmails: r.notify_emails,
    line: {
      channelId: r.line_channel_id,
      loginChannelId: r.line_login_channel_id,
      liffId: r.liff_id,
      hasChannelSecret: r.has_secret,
      hasAccessToken: r.has_token,
    },
    createdAt: r.created_at.toISOString(),
  };
}

/** `kz_` + 32 random bytes, base64url. */
export function generateApiToken(): string {
  return 'kz_' + crypto.randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return crypto.createHash('sha256').update(token, 'utf8').digest();
}

export async function createTenant(
  ctx: Pick<AppContext, 'db' | 'secrets'>,
  input: TenantCreateInput,
  db: Queryable = ctx.db.pool,
): Promise<{ tenant: Tenant; apiToken: string }> {
  const t = parseInput(tenantCreateSchema, input);
  const apiToken = generateApiToken();
  const { rows } = await db.query<TenantRow>(
    `INSERT INTO tenants (name, plan, options, notify_emails, line_channel_id, line_channel_secret_enc, line_access_token_enc,
                          line_login_channel_id, liff_id, api_token_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [
      t.name,
      t.plan,
      [...new Set(t.options)],
      t.notifyEmails,
      t.lineChannelId ?? null,
      t.lineChannelSecret ? ctx.secrets.encrypt(t.lineChannelSecret) : null,
      t.lineAccessToken ? ctx.secrets.encrypt(t.lineAccessToken) : null,
      t.lineLoginChannelId ?? null,
      t.liffId ?? null,
      hashToken(apiToken),
    ],
  );
  return { tenant: toTenant(rows[0]), apiToken };
}

export async function updateTenant(ctx: Pick<AppContext, 'db' | 'secrets' | 'clock'>, id: string, input: TenantUpdateInput): Promise<Tenant> {
  const t = parseInput(tenantUpdateSchema, input);
  const sets: string[] = [];
  const values: unknown[] = [];
  const set = (col: string, v: unknown) => {
    values.push(v);
    sets.push(`${col} = $${values.length}`);
  };
  if (t.name !== undefined) set('name', t.name);
  if (t.plan !== undefined) set('plan', t.plan);
  if (t.shopifyOption === true) sets.push(`options = (SELECT array_agg(DISTINCT o) FROM unnest(options || ARRAY['shopify']) o)`);
  if (t.shopifyOption === false) sets.push(`options = array_remove(options, 'shopify')`);
  if (t.notifyEmails !== undefined) set('notify_emails', t.notifyEmails);
  if (t.lineChannelId !== undefined) set('line_channel_id', t.lineChannelId);
  if (t.lineChannelSecret !== undefined) set('line_channel_secret_enc', ctx.secrets.encrypt(t.lineChannelSecret));
  if (t.lineAccessToken !== undefined) set('line_access_token_enc', ctx.secrets.encrypt(t.lineAccessToken));
  if (t.lineLoginChannelId !== undefined) set('line_login_channel_id', t.lineLoginChannelId);
  if (t.liffId !== undefined) set('liff_id', t.liffId);
  set('updated_at', ctx.clock.now());
  if (!isUuid(id)) throw new AppError(Codes.NOT_FOUND, `No tenant ${id}.`);
  values.push(id);
  const { rows } = await ctx.db.pool.query<TenantRow>(`UPDATE tenants SET ${sets.join(', ')} WHERE id = $${values.length} RETURNING ${COLUMNS}`, values);
  if (!rows[0]) throw new AppError(Codes.NOT_FOUND, `No tenant ${id}.`);
  return toTenant(rows[0]);
}

export async function getTenant(db: Queryable, id: string): Promise<Tenant | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return rows[0] ? toTenant(rows[0]) : null;
}

/** A tenant by id, or by exact name when that name is unique (for the CLI's TENANT argument). */
export async function resolveTenant(db: Queryable, idOrName: string): Promise<Tenant> {
  if (isUuid(idOrName)) {
    const t = await getTenant(db, idOrName);
    if (t) return t;
  }
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE name = $1 LIMIT 2`, [idOrName]);
  if (rows.length === 1) return toTenant(rows[0]);
  if (rows.length > 1) throw new AppError(Codes.CONFLICT, `Several tenants are named "${idOrName}"; give the tenant id instead.`);
  throw new AppError(Codes.NOT_FOUND, `No tenant ${idOrName}.`);
}

export async function findTenantByApiToken(db: Queryable, token: string): Promise<Tenant | null> {
  if (!/^kz_[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE api_token_hash = $1`, [hashToken(token)]);
  return rows[0] ? toTenant(rows[0]) : null;
}

/** The tenant's decrypted LINE credentials (null when not configured). */
export async function tenantLineSecrets(
  ctx: Pick<AppContext, 'db' | 'secrets'>,
  tenantId: string,
): Promise<{ channelSecret: string | null; accessToken: string | null }> {
  const { rows } = await ctx.db.pool.query<{ line_channel_secret_enc: string | null; line_access_token_enc: string | null }>(
    `SELECT line_channel_secret_enc, line_access_token_enc FROM tenants WHERE id = $1`,
    [tenantId],
  );
  const r = rows[0] as (typeof rows)[number] | undefined;
  return {
    channelSecret: r?.line_channel_secret_enc ? ctx.secrets.decrypt(r.line_channel_secret_enc) : null,
    accessToken: r?.line_access_token_enc ? ctx.secrets.decrypt(r.line_access_token_enc) : null,
  };
}

export function hasShopifyPlan(tenant: Pick<Tenant, 'plan' | 'options'>): boolean {
  return tenant.plan === 'enterprise' && tenant.options.includes('shopify');
}

/** The Shopify integration needs the enterprise plan and the paid `shopify` option: 403 PLAN_REQUIRED otherwise. */
export function requireShopifyPlan(tenant: Pick<Tenant, 'plan' | 'options'>): void {
  if (!hasShopifyPlan(tenant)) {
    throw new AppError(
      CrmCodes.PLAN_REQUIRED,
      'The Shopify integration needs the enterprise plan and the Shopify option; contact your Kizuna administrator.',
    );
  }
}
