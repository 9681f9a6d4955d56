// Operators: the people who log in to the admin UI for one tenant. Passwords are hashed with scrypt (per-password salt,
// N=2^15, r=8, p=1 — about 60 ms and 32 MiB per attempt), parameters stored with the hash so they can be raised later.
// Sessions are random 32-byte ids whose SHA-256 is stored; each session has its own CSRF token. Failed logins are counted in
// the database per (email, ip) so the limit holds across processes.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { AppContext } from '../context.js';
import { withTransaction, type Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { CrmCodes } from './codes.js';
import { createTenant, getTenant, hashToken, type Tenant } from './tenants.js';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
const KEYLEN = 32;

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/**
 * Failures per email from all addresses together: the client address comes from X-Forwarded-For (the server trusts proxies),
 * which a guesser can vary, so the per-address limit alone would not stop a distributed guess.
 */
export const LOGIN_MAX_FAILURES_PER_EMAIL = 50;
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface Operator {
  id: string;
  tenantId: string;
  email: string;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password.normalize('NFKC'), salt, KEYLEN, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const N = Number(n);
  const R = Number(r);
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N,
    r: R,
    p: Number(p),
    maxmem: 256 * N * R + 1024 * 1024,
  });
  return crypto.timingSafeEqual(actual, expected);
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
  const { rows } = await db.query(
    `INSERT INTO operators (tenant_id, email, email_normalized, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email_normalized) DO NOTHING RETURNING id, tenant_id, email`,
    [tenantId, email.trim(), normalizeEmail(email), hash],
  );
  if (!rows[0]) throw new AppError(Codes.CONFLICT, `An operator ${email.trim()} already exists.`);
  return { id: String(rows[0].id), tenantId: rows[0].tenant_id, email: rows[0].email };
}

export interface Session {
  /** The cookie value (only known right after login). */
  id: string;
  csrfToken: string;
  expiresAt: Date;
}

/**
 * Checks email + password. Refuses with 429 RATE_LIMITED after LOGIN_MAX_FAILURES failures for this email from this ip within
 * LOGIN_WINDOW_MS (even with the right password, so guessing cannot continue), 401 INVALID_CREDENTIALS otherwise.
 */
export async function login(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  input: { email: string; password: string; ip: string },
): Promise<{ operator: Operator; session: Session }> {
  const db = ctx.db.pool;
  const now = ctx.clock.now();
  const email = normalizeEmail(input.email ?? '');
  const since = new Date(now.getTime() - LOGIN_WINDOW_MS);
  const { rows: fails } = await db.query(
    `SELECT count(*) FILTER (WHERE ip = $2)::int AS here, count(*)::int AS everywhere
     FROM login_failures WHERE email_normalized = $1 AND failed_at > $3`,
    [email, input.ip, since],
  );
  if (fails[0].here >= LOGIN_MAX_FAILURES || fails[0].everywhere >= LOGIN_MAX_FAILURES_PER_EMAIL) {
    throw new AppError(Codes.RATE_LIMITED, 'Too many failed logins for this email; wait 15 minutes and try again.');
  }
  const { rows } = await db.query(`SELECT id, tenant_id, email, password_hash FROM operators WHERE email_normalized = $1`, [email]);
  const op = rows[0];
  const ok = op
    ? await verifyPassword(input.password ?? '', op.password_hash)
    : (await verifyPassword(input.password ?? '', await (dummyHash ??= hashPassword('dummy-password'))), false);
  if (!ok) {
    await db.query(`INSERT INTO login_failures (email_normalized, ip, failed_at) VALUES ($1, $2, $3)`, [email, input.ip, now]);
    // keep the table small: failures older than the window no longer count
    await db.query(`DELETE FROM login_failures WHERE failed_at < $1`, [since]);
    throw new AppError(CrmCodes.INVALID_CREDENTIALS, 'The email or the password is wrong.');
  }
  await db.query(`DELETE FROM login_failures WHERE email_normalized = $1 AND ip = $2`, [email, input.ip]);
  await db.query(`UPDATE operators SET last_login_at = $2 WHERE id = $1`, [op.id, now]);
  await db.query(`DELETE FROM operator_sessions WHERE operator_id = $1 AND expires_at <= $2`, [op.id, now]);
  const session = await createSession(db, now, { id: String(op.id), tenantId: op.tenant_id });
  return { operator: { id: String(op.id), tenantId: op.tenant_id, email: op.email }, session };
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
  const { rows } = await ctx.db.pool.query(
    `SELECT s.csrf_token, o.id, o.tenant_id, o.email FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
     WHERE s.id_hash = $1 AND s.expires_at > $2`,
    [hashToken(sessionId), ctx.clock.now()],
  );
  if (!rows[0]) return null;
  const tenant = await getTenant(ctx.db.pool, rows[0].tenant_id);
  if (!tenant) return null;
  return { operator: { id: String(rows[0].id), tenantId: rows[0].tenant_id, email: rows[0].email }, tenant, csrfToken: rows[0].csrf_token };
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
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM operators) AS any`);
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
