// Domain events other parts of Kizuna react to. Today one: a friend's email was acquired or changed. The change and its event
// row (friend_email_events) are written in one transaction, and the job `crm.friend-email-changed` is enqueued in that same
// transaction (pg-boss `db` option), so an event is never lost and never announced for a change that rolled back.
// The job's handler calls every listener registered with onFriendEmailChanged in the worker process; a listener that throws
// fails the job, which pg-boss retries, so listeners must be idempotent (they may see the same event again).
import { z } from 'zod';
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import { defineJob, type JobHandler, type JobRunContext } from '../jobs/define.js';

export type EmailSource = 'liff' | 'import' | 'api';

export interface FriendEmailChangedEvent {
  eventId: number;
  tenantId: string;
  friendId: number;
  oldEmail: string | null;
  newEmail: string | null;
  /** trim + lower-case of newEmail: what matching compares. */
  newEmailNormalized: string | null;
  source: EmailSource;
  occurredAt: string;
}

export type FriendEmailChangedListener = (event: FriendEmailChangedEvent, ctx: JobRunContext) => Promise<void>;

const listeners = new Set<FriendEmailChangedListener>();

/** Registers a listener (in every process that runs jobs); returns a function that removes it. */
export function onFriendEmailChanged(listener: FriendEmailChangedListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const payload = z.object({ tenantId: z.string().uuid(), friendId: z.number().int().positive(), eventId: z.number().int().positive() });

export const friendEmailChangedJob = defineJob({
  name: 'crm.friend-email-changed',
  schema: payload,
  queue: { retryLimit: 10, retryDelay: 10, retryBackoff: true, expireInSeconds: 300 },
  handler: async () => handleFriendEmailChanged,
});

/** A friend_email_events row (bigint ids as numbers: src/db/index.ts; source is CHECKed to the three EmailSources). */
interface EmailEventRow {
  id: number;
  tenant_id: string;
  friend_id: number;
  old_email: string | null;
  new_email: string | null;
  source: EmailSource;
  occurred_at: Date;
}

const handleFriendEmailChanged: JobHandler<z.output<typeof payload>> = async (p, ctx) => {
  const { rows } = await ctx.db.pool.query<EmailEventRow>(
    `SELECT id, tenant_id, friend_id, old_email, new_email, source, occurred_at FROM friend_email_events WHERE id = $1 AND tenant_id = $2`,
    [p.eventId, p.tenantId],
  );
  const r = rows[0] as EmailEventRow | undefined;
  if (!r) {
    ctx.log.info({ eventId: p.eventId }, 'email event is gone (friend deleted); nothing to announce');
    return;
  }
  const event: FriendEmailChangedEvent = {
    eventId: r.id,
    tenantId: r.tenant_id,
    friendId: r.friend_id,
    oldEmail: r.old_email,
    newEmail: r.new_email,
    newEmailNormalized: r.new_email === null ? null : r.new_email.trim().toLowerCase(),
    source: r.source,
    occurredAt: r.occurred_at.toISOString(),
  };
  for (const listener of [...listeners]) await listener(event, ctx);
};

export interface FriendEmailChange {
  tenantId: string;
  friendId: number;
  oldEmail: string | null;
  newEmail: string | null;
  source: EmailSource;
  at: Date;
}

/**
 * Records that friends' emails changed, inside the caller's transaction `client`, and enqueues one job per event in the same
 * transaction (one statement each, whatever the number: imports record a thousand at a time). Returns the event ids.
 */
export async function recordFriendEmailChanges(client: pg.PoolClient, boss: PgBoss, changes: FriendEmailChange[]): Promise<number[]> {
  if (!changes.length) return [];
  const { rows } = await client.query<Pick<EmailEventRow, 'id' | 'tenant_id' | 'friend_id'>>(
    `INSERT INTO friend_email_events (tenant_id, friend_id, old_email, new_email, source, occurred_at)
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
     RETURNING id, tenant_id, friend_id`,
    [
      changes.map((c) => c.tenantId),
      changes.map((c) => c.friendId),
      changes.map((c) => c.oldEmail),
      changes.map((c) => c.newEmail),
      changes.map((c) => c.source),
      changes.map((c) => c.at),
    ],
  );
  const jobs = rows.map((r) => ({ name: friendEmailChangedJob.name, data: payload.parse({ tenantId: r.tenant_id, friendId: r.friend_id, eventId: r.id }) }));
  await boss.insert(jobs, { db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) } });
  return rows.map((r) => r.id);
}
