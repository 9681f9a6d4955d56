// Retention: log-like tables filled with rows of every age, the clock moved on, the nightly job run — what is older than
// RETENTION_DAYS goes, in batches; what the service still needs stays whatever its age.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneOldRows } from '../../src/ops/retention.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from '../crm/fixtures.js';

const DAY = 24 * 60 * 60 * 1000;

describe('retention', () => {
  let t: TestApp;
  let a: TestTenant;
  let friendId: number;
  const ago = (days: number) => new Date(t.ctx.clock.now().getTime() - days * DAY);
  const count = async (sql: string, params: unknown[] = []) => (await t.ctx.db.pool.query(sql, params)).rows[0].n as number;

  beforeAll(async () => {
    t = await createTestApp({ env: { RETENTION_DAYS: '30' } });
    a = await makeTenant(t);
    friendId = await makeFriend(t, a.id, { email: 'keep@example.jp' });
    const q = (sql: string, params: unknown[]) => t.ctx.db.pool.query(sql, params);
    // 2,500 LINE events a year old (more than two batches of 1,000) and 10 from yesterday
    await q(
      `INSERT INTO line_webhook_events (tenant_id, webhook_event_id, type, received_at)
       SELECT $1, 'old-' || i, 'follow', $2 FROM generate_series(1, 2500) i`,
      [a.id, ago(365)],
    );
    await q(`INSERT INTO line_webhook_events (tenant_id, webhook_event_id, type, received_at) SELECT $1, 'new-' || i, 'follow', $2 FROM generate_series(1, 10) i`, [
      a.id,
      ago(1),
    ]);
    await q(`INSERT INTO login_failures (email_normalized, ip, failed_at) VALUES ('x@example.jp', '192.0.2.1', $1), ('x@example.jp', '192.0.2.1', $2)`, [
      ago(40),
      ago(0.1),
    ]);
    for (const [id, received, processed] of [
      ['old-done', ago(60), ago(60)],
      ['old-pending', ago(60), null], // never applied yet: a job still needs it
      ['new-done', ago(2), ago(2)],
    ] as const) {
      await q(
        `INSERT INTO shopify_webhook_inbox (webhook_id, tenant_id, topic, payload, received_at, processed_at) VALUES ($1, $2, 'customers/update', '{}', $3, $4)`,
        [id, a.id, received, processed],
      );
    }
    await q(
      `INSERT INTO mail_outbox (tenant_id, recipients, subject, body, transport, handled_by, created_at)
       VALUES ($1, '{ops@example.jp}', 'old', 'b', 'outbox', 'test', $2), ($1, '{ops@example.jp}', 'new', 'b', 'outbox', 'test', $3)`,
      [a.id, ago(31), ago(29)],
    );
    await q(
      `INSERT INTO sync_incidents (tenant_id, code, message, opened_at, closed_at)
       VALUES ($1, 'SHOPIFY_UNAVAILABLE', 'closed long ago', $2, $2)`,
      [a.id, ago(100)],
    );
    await q(`INSERT INTO sync_incidents (tenant_id, code, message, opened_at) VALUES ($1, 'INVALID_TOKEN', 'still open', $2)`, [a.id, ago(100)]);
    // runs: one 200 days old, one 60 days old, and the latest (also old: the tenant stopped syncing) — the latest always stays
    for (const [days, status] of [
      [200, 'succeeded'],
      [60, 'failed'],
      [150, 'succeeded'],
    ] as const) {
      await q(
        `INSERT INTO sync_runs (tenant_id, mode, trigger, status, queued_at, started_at, finished_at) VALUES ($1, 'full', 'nightly', $2, $3, $3, $3)`,
        [a.id, status, ago(days === 150 ? 50 : days)],
      );
    }
    // a delivery finished 45 days ago: its recipient lists go, the delivery and its counts stay
    const seg = await q(`INSERT INTO segments (tenant_id, name, match, conditions, created_at) VALUES ($1, 's', 'all', '[]', $2) RETURNING id`, [a.id, ago(50)]);
    const d = crypto.randomUUID();
    await q(
      `INSERT INTO deliveries (id, tenant_id, segment_id, messages, status, targets, sent, created_at, updated_at, finished_at)
       VALUES ($1, $2, $3, '[{"type":"text","text":"x"}]', 'sent', 1, 1, $4, $4, $4)`,
      [d, a.id, seg.rows[0].id, ago(45)],
    );
    await q(
      `INSERT INTO delivery_batches (delivery_id, batch_no, friend_ids, line_user_ids, recipients, status) VALUES ($1, 0, $2, '{U0}', 1, 'sent')`,
      [d, [friendId]],
    );
  });
  afterAll(() => t.close());

  it('removes what is older than RETENTION_DAYS, in batches, and keeps what the service still needs', async () => {
    const removed = await pruneOldRows(t.ctx, { days: t.ctx.config.RETENTION_DAYS });
    expect(removed).toMatchObject({
      line_webhook_events: 2500,
      login_failures: 1,
      shopify_webhook_inbox: 1,
      mail_outbox: 1,
      sync_incidents: 1,
      sync_runs: 1,
      delivery_batches: 1,
    });
    expect(await count(`SELECT count(*)::int AS n FROM line_webhook_events`)).toBe(10);
    expect(await count(`SELECT count(*)::int AS n FROM login_failures`)).toBe(1);
    const inbox = (await t.ctx.db.pool.query(`SELECT webhook_id FROM shopify_webhook_inbox ORDER BY 1`)).rows.map((r) => r.webhook_id);
    expect(inbox).toEqual(['new-done', 'old-pending']);
    expect((await t.ctx.db.pool.query(`SELECT subject FROM mail_outbox`)).rows).toEqual([{ subject: 'new' }]);
    expect((await t.ctx.db.pool.query(`SELECT message FROM sync_incidents`)).rows).toEqual([{ message: 'still open' }]);
    // runs: the 200-day-old one goes; the 60-day-old one is within 90 days; the latest stays
    expect(await count(`SELECT count(*)::int AS n FROM sync_runs`)).toBe(2);
    expect(await count(`SELECT count(*)::int AS n FROM deliveries`)).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM friends WHERE email = 'keep@example.jp'`)).toBe(1);
    // a second night finds nothing more
    expect(Object.values(await pruneOldRows(t.ctx, { days: 30 })).every((n) => n === 0)).toBe(true);
  });

  it('as time passes, rows age out: 40 days later the rows from yesterday are gone too, the pending delivery still stays', async () => {
    t.ctx.clock.advance(40 * DAY);
    await pruneOldRows(t.ctx, { days: 30, batchSize: 3 });
    expect(await count(`SELECT count(*)::int AS n FROM line_webhook_events`)).toBe(0);
    const inbox = (await t.ctx.db.pool.query(`SELECT webhook_id FROM shopify_webhook_inbox ORDER BY 1`)).rows.map((r) => r.webhook_id);
    expect(inbox).toEqual(['old-pending']);
  });
});
