// LINE friends of a tenant: created by `follow` webhooks or CSV import, blocked by `unfollow`, given an email through LIFF,
// import or the API. Every function takes the tenant id and filters by it; ids from another tenant simply are not found.
import type pg from 'pg';
import type { AppContext } from '../context.js';
import { withTransaction, type Queryable } from '../db/index.js';
import { recordFriendEmailChanges, type EmailSource } from './events.js';
import { normalizeEmail } from './operators.js';

export type FriendStatus = 'active' | 'blocked';

export interface Friend {
  id: number;
  lineUserId: string;
  displayName: string | null;
  email: string | null;
  status: FriendStatus;
  emailAcquiredAt: string | null;
  emailSource: EmailSource | null;
  createdAt: string;
}

/** The contract's Friend JSON: ids as strings. */
export function friendJson(f: Friend) {
  return {
    id: String(f.id),
    lineUserId: f.lineUserId,
    displayName: f.displayName,
    email: f.email,
    status: f.status,
    emailAcquiredAt: f.emailAcquiredAt,
    emailSource: f.emailSource,
    createdAt: f.createdAt,
  };
}

export const LINE_USER_ID_RE = /^U[0-9a-f]{32}$/;

const COLUMNS = `id, line_user_id, display_name, email, status, email_acquired_at, email_source, created_at`;

/** What COLUMNS select; status and email_source are CHECKed to these values by the table. */
interface FriendRow {
  id: number;
  line_user_id: string;
  display_name: string | null;
  email: string | null;
  status: FriendStatus;
  email_acquired_at: Date | null;
  email_source: EmailSource | null;
  created_at: Date;
}

function toFriend(r: FriendRow): Friend {
  return {
    id: r.id,
    lineUserId: r.line_user_id,
    displayName: r.display_name,
    email: r.email,
    status: r.status,
    emailAcquiredAt: r.email_acquired_at ? r.email_acquired_at.toISOString() : null,
    emailSource: r.email_source,
    createdAt: r.created_at.toISOString(),
  };
}

/** Parses an id from a URL; anything that is not a positive integer is "not found", never a database error. */
export function parseId(s: string | number | undefined): number | null {
  const str = String(s ?? '');
  if (!/^[1-9]\d{0,15}$/.test(str)) return null;
  return Number(str);
}

export async function getFriend(db: Queryable, tenantId: string, id: number | string): Promise<Friend | null> {
  const n = parseId(id);
  if (n === null) return null;
  const { rows } = await db.query<FriendRow>(`SELECT ${COLUMNS} FROM friends WHERE tenant_id = $1 AND id = $2`, [tenantId, n]);
  return rows[0] ? toFriend(rows[0]) : null;
}

export async function getFriendByLineUserId(db: Queryable, tenantId: string, lineUserId: string): Promise<Friend | null> {
  const { rows } = await db.query<FriendRow>(`SELECT ${COLUMNS} FROM friends WHERE tenant_id = $1 AND line_user_id = $2`, [tenantId, lineUserId]);
  return rows[0] ? toFriend(rows[0]) : null;
}

/** Friends whose email equals `email` after trim + lower-case (what the Shopify matching uses); uses friends_email. */
export async function findFriendsByEmail(db: Queryable, tenantId: string, email: string): Promise<Friend[]> {
  const { rows } = await db.query<FriendRow>(`SELECT ${COLUMNS} FROM friends WHERE tenant_id = $1 AND email_normalized = $2 ORDER BY id`, [
    tenantId,
    normalizeEmail(email),
  ]);
  return rows.map(toFriend);
}

export const PAGE_SIZE = 50;

export interface FriendQuery {
  /** Part of the display name or the email (case-insensitive). */
  q?: string;
  /** Exact email (trim + lower-case). */
  email?: string;
  /** 1-based. */
  page?: number;
  perPage?: number;
}

export async function listFriends(db: Queryable, tenantId: string, query: FriendQuery): Promise<{ items: Friend[]; total: number }> {
  const where = ['tenant_id = $1'];
  const values: unknown[] = [tenantId];
  if (query.email?.trim()) {
    values.push(normalizeEmail(query.email));
    where.push(`email_normalized = $${values.length}`);
  }
  if (query.q?.trim()) {
    values.push('%' + query.q.trim().replace(/[\\%_]/g, (c) => '\\' + c) + '%');
    where.push(`(display_name ILIKE $${values.length} OR email ILIKE $${values.length})`);
  }
  const perPage = Math.min(Math.max(query.perPage ?? PAGE_SIZE, 1), 200);
  const page = Math.max(query.page ?? 1, 1);
  const sqlWhere = where.join(' AND ');
  const [items, total] = await Promise.all([
    db.query<FriendRow>(`SELECT ${COLUMNS} FROM friends WHERE ${sqlWhere} ORDER BY id DESC LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`, values),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM friends WHERE ${sqlWhere}`, values),
  ]);
  return { items: items.rows.map(toFriend), total: total.rows[0].n };
}

/**
 * A follow: creates the friend or makes it active again. `at` is the event's time: a redelivered older unfollow cannot undo a
 * newer follow, and the other way round.
 */
export async function recordFollow(db: Queryable, tenantId: string, lineUserId: string, at: Date): Promise<{ friendId: number; created: boolean }> {
  const { rows } = await db.query<{ id: number; created: boolean }>(
    `INSERT INTO friends (tenant_id, line_user_id, status, status_changed_at, created_at, updated_at)
     VALUES ($1, $2, 'active', $3, $3, $3)
     ON CONFLICT (tenant_id, line_user_id) DO UPDATE SET status = 'active', status_changed_at = $3, updated_at = $3
       WHERE friends.status_changed_at IS NULL OR friends.status_changed_at <= $3
     RETURNING id, (xmax = 0) AS created`,
    [tenantId, lineUserId, at],
  );
  if (rows[0]) return { friendId: rows[0].id, created: rows[0].created };
  const f = await getFriendByLineUserId(db, tenantId, lineUserId);
  return { friendId: f!.id, created: false };
}

/** An unfollow (the user blocked the account): the friend is kept, marked blocked. */
export async function recordUnfollow(db: Queryable, tenantId: string, lineUserId: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO friends (tenant_id, line_user_id, status, status_changed_at, created_at, updated_at)
     VALUES ($1, $2, 'blocked', $3, $3, $3)
     ON CONFLICT (tenant_id, line_user_id) DO UPDATE SET status = 'blocked', status_changed_at = $3, updated_at = $3
       WHERE friends.status_changed_at IS NULL OR friends.status_changed_at <= $3`,
    [tenantId, lineUserId, at],
  );
}

export async function setDisplayName(db: Queryable, tenantId: string, friendId: number, name: string | null, at: Date): Promise<void> {
  await db.query(`UPDATE friends SET display_name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, [tenantId, friendId, name, at]);
}

/**
 * Sets a friend's email (null removes it). When it differs from the stored one, records the acquisition time and source, and
 * emits the friend-email-changed event in the same transaction. Returns whether it changed.
 */
export async function setFriendEmail(
  ctx: Pick<AppContext, 'db' | 'boss' | 'clock'>,
  tenantId: string,
  friendId: number,
  email: string | null,
  source: EmailSource,
): Promise<boolean> {
  const at = ctx.clock.now();
  const value = email === null ? null : email.trim();
  return withTransaction(ctx.db.pool, async (client: pg.PoolClient) => {
    const { rows } = await client.query<{ email: string | null }>(`SELECT email FROM friends WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [
      tenantId,
      friendId,
    ]);
    if (!rows[0]) return false;
    const old = rows[0].email;
    if (old === value) return false;
    await client.query(
      `UPDATE friends SET email = $3, email_normalized = $4, email_acquired_at = $5, email_source = $6, updated_at = $5
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, friendId, value, value === null ? null : normalizeEmail(value), at, value === null ? null : source],
    );
    await recordFriendEmailChanges(client, ctx.boss, [{ tenantId, friendId, oldEmail: old, newEmail: value, source, at }]);
    return true;
  });
}
