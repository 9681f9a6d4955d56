// Operators: the people who log in to the admin UI for one tenant. Passwords: see passwords.ts. Sessions are random 32-byte
// ids whose SHA-256 is stored; each session has its own CSRF token.
// Failed logins are kept in the database (so limits hold across processes) and throttle per (email, client address) with
// growing delays, plus a cap per address over all emails. Nothing throttles an email as a whole: a stranger who knows an
// operator's email can slow down only their own attempts, never lock the operator out.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';
import { withTransaction, type Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { CrmCodes } from './codes.js';
import { hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { createTenant, getTenant, hashToken, type Tenant } from './tenants.js';

export { hashPassword, verifyPassword } from './passwords.js';

/** Failures per (email, address) that cost nothing; from the next one on, each failure doubles the wait before another try. */
export const LOGIN_FREE_FAILURES = 5;
/** The first wait, and the longest. */
const LOGIN_FIRST_DELAY_MS = 60 * 1000;
const LOGIN_MAX_DELAY_MS = 60 * 60 * 1000;
/** How long a failure counts towards the delay; older ones are deleted. */
export const LOGIN_MEMORY_MS = 24 * 60 * 60 * 1000;
/** Failures from one address over all emails within LOGIN_IP_WINDOW_MS before that address must wait (password spraying). */
export const LOGIN_MAX_FAILURES_PER_IP = 50;
const LOGIN_IP_WINDOW_MS = 15 * 60 * 1000;
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface Operator {
  id: string;
  tenantId: string;
  email: string;
}

/** The operators columns an Operator is made of (bigint id as a number: src/db/index.ts). */
interface OperatorRow {
  id: number;
  tenant_id: string;
  email: string;
}

function toOperator(r: OperatorRow): Operator {
  return { id: String(r.id), tenantId: r.tenant_id, email: r.email };
}

/** A hash of nothing, verified against when the email is unknown so both cases take the same time. */
let dummyHash: Promise<string> | undefined;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const emailRe = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export function isEmail(s: string): boolean {
  return s.length <= 254 && emailRe.test(s.trim());
}

export function generatePassword(): string {
  return crypto.randomBytes(15).toString('base64url'); // 20 characters
}

export async function addOperator(
  db: Queryable,
  tenantId: string,
  email: string,
  password: string,
): Promise<Operator> {
  if (!isEmail(email)) throw new AppError(Codes.VALIDATION_FAILED, `${email} is not an email address.`);
  if (password.length < 10) throw new AppError(Codes.VALIDATION_FAILED, 'The password must have at least 10 characters.');
  const tenant = await getTenant(db, tenantId);
  if (!tenant) throw new AppError(Codes.NOT_FOUND, `No tenant ${tenantId}.`);
  const hash = await hashPassword(password);
  const { rows } = await db.query<OperatorRow>(
    `INSERT INTO operators (tenant_id, email, email_normalized, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email_normalized) DO NOTHING RETURNING id, tenant_id, email`,
    [tenantId, email.trim(), normalizeEmail(email), hash],
  );
  if (!rows[0]) throw new AppError(Codes.CONFLICT, `An operator ${email.trim()} already exists.`);
  return toOperator(rows[0]);
}

export interface Session {
  /** The cookie value (only known right after login). */
  id: string;
  csrfToken: string;
  expiresAt: Date;
}

/** How long a client with `failures` recent failures for an email must wait after the last one before trying again. */
export function loginDelayMs(failures: number): number {
  if (failures < LOGIN_FREE_FAILURES) return 0;
  return Math.min(LOGIN_FIRST_DELAY_MS * 2 ** (failures - LOGIN_FREE_FAILURES), LOGIN_MAX_DELAY_MS);
}

/** Throws 429 RATE_LIMITED (details.retryAfterSeconds) while this (email, ip) or this ip must wait. */
async function checkLoginThrottle(db: Queryable, email: string, ip: string, now: Date): Promise<void> {
  const { rows } = await db.query<{ pair: number; last: Date | null; ip_recent: number; ip_oldest: Date | null }>(
    `SELECT (SELECT count(*)::int FROM login_failures WHERE email_normalized = $1 AND ip = $2 AND failed_at > $3) AS pair,
            (SELECT max(failed_at) FROM login_failures WHERE email_normalized = $1 AND ip = $2 AND failed_at > $3) AS last,
            (SELECT count(*)::int FROM login_failures WHERE ip = $2 AND failed_at > $4) AS ip_recent,
            (SELECT min(failed_at) FROM (SELECT failed_at FROM login_failures WHERE ip = $2 AND failed_at > $4
                                         ORDER BY failed_at DESC LIMIT $5) f) AS ip_oldest`,
    [email, ip, new Date(now.getTime() - LOGIN_MEMORY_MS), new Date(now.getTime() - LOGIN_IP_WINDOW_MS), LOGIN_MAX_FAILURES_PER_IP],
  );
  const r = rows[0];
  let until = 0;
  if (r.last) until = r.last.getTime() + loginDelayMs(r.pair);
  if (r.ip_recent >= LOGIN_MAX_FAILURES_PER_IP && r.ip_oldest) until = Math.max(until, r.ip_oldest.getTime() + LOGIN_IP_WINDOW_MS);
  const waitMs = until - now.getTime();
  if (waitMs > 0) {
    const retryAfterSeconds = Math.ceil(waitMs / 1000);
    throw new AppError(Codes.RATE_LIMITED, `Too many failed logins from this address; wait ${Math.ceil(retryAfterSeconds / 60)} minute(s) and try again.`, {
      retryAfterSeconds,
    });
  }
}

/**
 * Checks email + password. While this client (email + ip) or this ip is throttled, refuses with 429 RATE_LIMITED before
 * looking at the password (details.retryAfterSeconds says how long); 401 INVALID_CREDENTIALS for a wrong email or password.
 * A hash made with older scrypt parameters is replaced after it verified.
 */
export async function login(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  input: { email: string; password: string; ip: string },
): Promise<{ operator: Operator; session: Session }> {
  const db = ctx.db.pool;
  const now = ctx.clock.now();
  const email = normalizeEmail(input.email ?? '').slice(0, 254);
  await checkLoginThrottle(db, email, input.ip, now);
  const { rows } = await db.query<OperatorRow & { password_hash: string }>(
    `SELECT id, tenant_id, email, password_hash FROM operators WHERE email_normalized = $1`,
    [email],
  );
  const op = rows[0] as (typeof rows)[number] | undefined;
  const ok = op
    ? await verifyPassword(input.password ?? '', op.password_hash)
    : (await verifyPassword(input.password ?? '', await (dummyHash ??= hashPassword('dummy-password'))), false);
  if (!ok || !op) {
    await db.query(`INSERT INTO login_failures (email_normalized, ip, failed_at) VALUES ($1, $2, $3)`, [email, input.ip, now]);
    // keep the table small: failures older than the delay's memory no longer count
    await db.query(`DELETE FROM login_failures WHERE failed_at < $1`, [new Date(now.getTime() - LOGIN_MEMORY_MS)]);
    throw new AppError(CrmCodes.INVALID_CREDENTIALS, 'The email or the password is wrong.');
  }
  if (needsRehash(op.password_hash)) {
    await db.query(`UPDATE operators SET password_hash = $2 WHERE id = $1`, [op.id, await hashPassword(input.password)]);
  }
  await db.query(`DELETE FROM login_failures WHERE email_normalized = $1 AND ip = $2`, [email, input.ip]);
  await db.query(`UPDATE operators SET last_login_at = $2 WHERE id = $1`, [op.id, now]);
  await db.query(`DELETE FROM operator_sessions WHERE operator_id = $1 AND expires_at <= $2`, [op.id, now]);
  const session = await createSession(db, now, { id: String(op.id), tenantId: op.tenant_id });
  return { operator: toOperator(op), session };
}

async function createSession(db: Queryable, now: Date, op: { id: string; tenantId: string }): Promise<Session> {
  const id = crypto.randomBytes(32).toString('base64url');
  const csrfToken = crypto.randomBytes(24).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.query(
    `INSERT INTO operator_sessions (id_hash, operator_id, tenant_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [hashToken(id), op.id, op.tenantId, csrfToken, now, expiresAt],
  );
  return { id, csrfToken, expiresAt };
}

/** The operator, tenant and CSRF token of a live session cookie, or null. */
export async function findSession(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  sessionId: string,
): Promise<{ operator: Operator; tenant: Tenant; csrfToken: string } | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
  const { rows } = await ctx.db.pool.query<OperatorRow & { csrf_token: string }>(
    `SELECT s.csrf_token, o.id, o.tenant_id, o.email FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
     WHERE s.id_hash = $1 AND s.expires_at > $2`,
    [hashToken(sessionId), ctx.clock.now()],
  );
  if (!rows[0]) return null;
  const tenant = await getTenant(ctx.db.pool, rows[0].tenant_id);
  if (!tenant) return null;
  return { operator: toOperator(rows[0]), tenant, csrfToken: rows[0].csrf_token };
}

export async function deleteSession(db: Queryable, sessionId: string): Promise<void> {
  await db.query(`DELETE FROM operator_sessions WHERE id_hash = $1`, [hashToken(sessionId)]);
}

export const FIRST_TENANT_NAME = 'マイブランド';
export const FIRST_OPERATOR_EMAIL = 'admin@localhost';

/**
 * On the very first start (no operator at all): a tenant 「マイブランド」 (enterprise plan, no options) and an operator
 * admin@localhost with a random password, returned once so `serve` can print it. Null on every later start. An advisory lock
 * makes two processes starting at once create only one.
 */
export async function ensureFirstOperator(
  ctx: Pick<AppContext, 'db' | 'secrets'>,
): Promise<{ tenant: Tenant; email: string; password: string } | null> {
  return withTransaction(ctx.db.pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(7424242003)`);
    const { rows } = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM operators) AS any`);
    if (rows[0].any) return null;
    const { tenant } = await createTenant(ctx, { name: FIRST_TENANT_NAME, plan: 'enterprise' }, client);
    const password = generatePassword();
    const hash = await hashPassword(password);
    await client.query(`INSERT INTO operators (tenant_id, email, email_normalized, password_hash) VALUES ($1, $2, $2, $3)`, [
      tenant.id,
      FIRST_OPERATOR_EMAIL,
      hash,
    ]);
    return { tenant, email: FIRST_OPERATOR_EMAIL, password };
  });
}
