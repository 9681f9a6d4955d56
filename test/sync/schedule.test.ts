// The nightly schedule on a hand-driven clock: each tenant has its own stable moment inside SYNC_WINDOW (in SYNC_TIMEZONE),
// so tenants spread over the window; a tick starts the runs whose moment has come, once per night; a night missed while the
// service was down is caught up at the next tick (the one at start); nightly runs are incremental, full once a week; a
// downgraded or unlinked tenant gets none. One night also goes all the way through the real job queue to a finished run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, updateTenant, type Tenant } from '../../src/crm/tenants.js';
import { issueCredentials, linkIntegration, unlinkIntegration } from '../../src/shopify/integration.js';
import { currentNight, nextNightlyRun, nightlySlot, parseWindow, tick, zonedDate } from '../../src/sync/schedule.js';
import { requestRun } from '../../src/sync/run-store.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

/** Local wall time HH:MM:SS of an instant in a time zone. */
const wall = (at: Date, tz: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(at);
const minutesOf = (hhmmss: string) => {
  const [h, m, s] = hhmmss.split(':').map(Number);
  return h! * 60 + m! + s! / 60;
};
/** Minutes from the window's start to a local wall time, across midnight. */
const intoWindow = (at: Date, window: string, tz: string) => (minutesOf(wall(at, tz)) - parseWindow(window).startMin + 1440) % 1440;

// Fixed tenant ids, so what is checked about the spread does not depend on chance.
const ids = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i * 7919 + 1).padStart(12, '0')}`);

describe('nightly slots', () => {
  it.each([
    ['00:00-02:00', 'Asia/Tokyo', '2026-11-28T12:00:00Z'],
    ['23:30-01:30', 'America/New_York', '2026-07-04T12:00:00Z'], // crosses midnight, summer time
    ['23:30-01:30', 'America/New_York', '2026-11-28T12:00:00Z'], // crosses midnight, winter time
    ['22:00-04:00', 'Europe/Berlin', '2026-03-29T12:00:00Z'], // the night summer time begins (02:00 → 03:00)
    ['22:00-04:00', 'Europe/Berlin', '2026-10-25T12:00:00Z'], // the night it ends (03:00 → 02:00)
  ])('window %s in %s: every tenant has a stable slot inside the window, and tenants spread over it', (window, tz, at) => {
    const now = new Date(at);
    const length = parseWindow(window).lengthMin;
    const offsets = ids.map((id) => {
      const slot = nightlySlot(id, now, window, tz);
      expect(nightlySlot(id, now, window, tz).at).toEqual(slot.at); // stable
      expect(slot.at.getTime()).toBeGreaterThanOrEqual(slot.start.getTime());
      expect(slot.at.getTime()).toBeLessThan(slot.end.getTime() - 10 * 60_000);
      // The window's start is the configured local time, and the slot lies inside it on the wall clock too.
      expect(wall(slot.start, tz).slice(0, 5)).toBe(window.slice(0, 5));
      const into = intoWindow(slot.at, window, tz);
      expect(into).toBeGreaterThanOrEqual(0);
      expect(into).toBeLessThan(length - 10);
      expect(wall(slot.end, tz).slice(0, 5)).toBe(window.slice(6));
      return slot.at.getTime() - slot.start.getTime();
    });
    expect(new Set(offsets).size).toBe(ids.length);
    // Spread: no quarter of the window is empty and none holds more than half of the tenants.
    const quarters = [0, 0, 0, 0];
    for (const o of offsets) quarters[Math.min(3, Math.floor((o / ((length - 10) * 60_000)) * 4))]!++;
    for (const q of quarters) {
      expect(q).toBeGreaterThan(0);
      expect(q).toBeLessThan(ids.length / 2);
    }
  });

  it('the night a window belongs to is the date it starts on, also after midnight', () => {
    const tz = 'America/New_York';
    // 00:45 on 11-29 in New York is inside the window that began at 23:30 on 11-28.
    const n = currentNight(new Date('2026-11-29T05:45:00Z'), '23:30-01:30', tz);
    expect(n.night).toBe('2026-11-28');
    expect(n.start.toISOString()).toBe('2026-11-29T04:30:00.000Z');
    expect(n.end.toISOString()).toBe('2026-11-29T06:30:00.000Z');
    // Tokyo, default window: 15:00 UTC is 00:00 the next day.
    const t = currentNight(new Date('2026-11-28T15:00:00Z'), '00:00-02:00', 'Asia/Tokyo');
    expect(t.night).toBe('2026-11-29');
    expect(zonedDate(t.start, 'Asia/Tokyo')).toBe('2026-11-29');
  });

  it('nextRunAt is the slot still to come tonight, else tomorrow night’s', () => {
    const id = ids[3]!;
    const slot = nightlySlot(id, new Date('2026-11-28T15:30:00Z'), '00:00-02:00', 'Asia/Tokyo');
    expect(nextNightlyRun(id, new Date(slot.at.getTime() - 1000), '00:00-02:00', 'Asia/Tokyo')).toEqual(slot.at);
    expect(nextNightlyRun(id, slot.at, '00:00-02:00', 'Asia/Tokyo')).toEqual(new Date(slot.at.getTime() + 86_400_000));
  });
});

/** A second (third, …) tenant on the same development Shopify, issued and linked. */
async function linkedTenant(w: SyncWorld, name: string): Promise<Tenant> {
  const { tenant } = await createTenant(w.t.ctx, { name, plan: 'enterprise', options: ['shopify'], notifyEmails: ['ops@example.jp'] });
  const c = w.h.shop.credentials();
  await issueCredentials(w.t.ctx, tenant, { storeDomain: c.domain, accessToken: c.accessToken }, { client: { random: () => 0.5 }, startRuns: false });
  await linkIntegration(w.t.ctx, tenant, { startRuns: false });
  return tenant;
}

async function nightRuns(w: SyncWorld) {
  const { rows } = await w.t.ctx.db.pool.query(
    `SELECT tenant_id, trigger, mode, night::text AS night, status FROM sync_runs WHERE night IS NOT NULL ORDER BY queued_at, tenant_id`,
  );
  return rows;
}

describe.each([
  ['00:00-02:00', 'Asia/Tokyo', '2026-11-28T14:00:00Z'], // 23:00 in Tokyo
  ['23:30-01:30', 'America/New_York', '2026-11-28T03:00:00Z'], // 22:00 in New York
])('tick with SYNC_WINDOW=%s SYNC_TIMEZONE=%s', (window, tz, evening) => {
  let w: SyncWorld;
  const tenants: Tenant[] = [];
  beforeAll(async () => {
    w = await syncWorld({ shopify: { customers: 30 }, env: { SYNC_WINDOW: window, SYNC_TIMEZONE: tz } });
    await w.issue();
    await w.link();
    tenants.push(w.tenant);
    for (const n of ['二号店', '三号店', '四号店']) tenants.push(await linkedTenant(w, n));
    w.h.clock.set(evening);
  });
  afterAll(() => w.close());

  it('before the window nothing starts (the night before 連携 is not caught up); each tenant starts at its own moment, once', async () => {
    expect(await tick(w.t.ctx)).toEqual({ started: [], resumed: [] });
    const slotStart = nightlySlot(tenants[0]!.id, new Date(new Date(evening).getTime() + 6 * 3600_000), window, tz);
    const slots = tenants
      .map((t) => ({ id: t.id, at: nightlySlot(t.id, slotStart.at, window, tz).at }))
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    const night = slotStart.night;
    const started: string[] = [];
    for (const [i, s] of slots.entries()) {
      // Tenant ids are random, so two moments can be close: never step past the next tenant's moment below.
      const gap = i + 1 < slots.length ? slots[i + 1]!.at.getTime() - s.at.getTime() : Infinity;
      w.h.clock.set(new Date(s.at.getTime() - Math.min(1000, gap / 4)));
      const before = await tick(w.t.ctx);
      expect(before.started.map((x) => x.tenantId)).toEqual([]);
      w.h.clock.set(s.at);
      const r = await tick(w.t.ctx);
      expect(r.started).toEqual([{ tenantId: s.id, runId: expect.any(String), trigger: 'nightly' }]);
      started.push(s.id);
      const run = (await nightRuns(w)).at(-1);
      expect(run).toMatchObject({ tenant_id: s.id, trigger: 'nightly', night, status: 'queued', mode: 'full' });
      // A second tick the same night starts nothing more, neither while the run is queued nor once it has finished.
      expect((await tick(w.t.ctx)).started).toEqual([]);
      expect((await w.execute(r.started[0]!.runId)).status).toBe('succeeded');
      w.h.clock.advance(Math.min(60_000, gap / 2));
      expect((await tick(w.t.ctx)).started).toEqual([]);
    }
    expect((await nightRuns(w)).map((r) => r.tenant_id)).toEqual(started);
    // Each run was sent to the job queue once.
    const jobs = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'shopify.sync-run'`);
    expect(jobs.rows[0].n).toBe(tenants.length);
  });

  it('a night missed while the service was down is caught up at the next tick, incremental unless the last full run is a week old', async () => {
    // The service was down for the whole of the next night and comes back in the morning.
    const next = nightlySlot(tenants[0]!.id, new Date(new Date(evening).getTime() + 30 * 3600_000), window, tz);
    w.h.clock.set(new Date(next.end.getTime() + 5 * 3600_000));
    // One tenant has had no successful full run for eight days.
    await w.t.ctx.db.pool.query(
      `UPDATE sync_runs SET finished_at = finished_at - interval '8 days' WHERE tenant_id = $1 AND mode = 'full'`,
      [tenants[1]!.id],
    );
    const r = await tick(w.t.ctx);
    expect(r.started.map((s) => s.tenantId).sort()).toEqual(tenants.map((t) => t.id).sort());
    for (const s of r.started) expect(s.trigger).toBe('catch_up');
    const runs = (await nightRuns(w)).filter((x) => x.night === next.night);
    expect(runs).toHaveLength(tenants.length);
    for (const x of runs) expect(x.mode).toBe(x.tenant_id === tenants[1]!.id ? 'full' : 'incremental');
    expect((await tick(w.t.ctx)).started).toEqual([]);
    for (const x of (await w.t.ctx.db.pool.query(`SELECT id FROM sync_runs WHERE status = 'queued'`)).rows) await w.execute(x.id);
  });

  it('a downgraded tenant gets no run and shows why; an unlinked one gets none; a tenant busy with a run gets its night after it', async () => {
    const [, downgraded, unlinked, busy] = tenants;
    await updateTenant(w.t.ctx, downgraded!.id, { plan: 'standard' });
    await unlinkIntegration(w.t.ctx, unlinked!);
    const manual = await requestRun(w.t.ctx, busy!.id, { mode: 'full', trigger: 'manual', enqueue: false });
    const night = nightlySlot(tenants[0]!.id, new Date(new Date(evening).getTime() + 54 * 3600_000), window, tz);
    w.h.clock.set(night.end);
    const r = await tick(w.t.ctx);
    expect(r.started.map((s) => s.tenantId)).toEqual([tenants[0]!.id]);
    const { rows } = await w.t.ctx.db.pool.query(`SELECT paused_code FROM shopify_integrations WHERE tenant_id = $1`, [downgraded!.id]);
    expect(rows[0].paused_code).toBe('PLAN_REQUIRED');
    // The busy tenant's manual run ends; the next tick gives it its night.
    expect((await w.execute(manual.runId)).status).toBe('succeeded');
    w.h.clock.advance(60_000);
    const after = await tick(w.t.ctx);
    expect(after.started).toEqual([{ tenantId: busy!.id, runId: expect.any(String), trigger: 'catch_up' }]);
  });
});

describe('a missed night', () => {
  it('is not caught up when a run requested after the tenant’s moment already brought the data up to date', async () => {
    const w = await syncWorld({ shopify: { customers: 10 } });
    try {
      await w.issue();
      await w.link();
      // Down all night; in the morning an operator presses 今すぐ同期 before the service's first tick.
      const night = nightlySlot(w.tenant.id, new Date('2026-11-29T12:00:00Z'), '00:00-02:00', 'Asia/Tokyo');
      w.h.clock.set(new Date(night.end.getTime() + 3 * 3600_000));
      expect((await w.sync('incremental')).status).toBe('succeeded');
      expect((await tick(w.t.ctx)).started).toEqual([]);
      // A failed manual run does not count: the night still gets its run.
      await w.t.ctx.db.pool.query(`UPDATE sync_runs SET status = 'failed'`);
      expect((await tick(w.t.ctx)).started).toEqual([{ tenantId: w.tenant.id, runId: expect.any(String), trigger: 'catch_up' }]);
    } finally {
      await w.close();
    }
  });
});

describe('one night through the real job queue', () => {
  it('tick → shopify.sync-run job → a worker runs it to the end', async () => {
    const w = await syncWorld({ shopify: { customers: 40, seed: 2 }, work: true });
    try {
      const friends = await w.addGeneratedFriends(40);
      await w.issue();
      await w.link();
      const slot = nightlySlot(w.tenant.id, new Date('2026-11-29T12:00:00Z'), '00:00-02:00', 'Asia/Tokyo');
      w.h.clock.set(slot.at);
      const r = await tick(w.t.ctx);
      expect(r.started).toHaveLength(1);
      const runId = r.started[0]!.runId;
      let status = 'queued';
      for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
        await new Promise((res) => setTimeout(res, 100));
        status = (await w.t.ctx.db.pool.query(`SELECT status FROM sync_runs WHERE id = $1`, [runId])).rows[0].status;
      }
      expect(status).toBe('succeeded');
      // Every friend whose email is a verified customer's now has that customer's values.
      const verified = [...Array(40).keys()].map((i) => w.h.shop.store.generator.customerAt(i)).filter((c) => c.verifiedEmail && c.email);
      const snap = await w.snapshot();
      expect(Object.keys(snap.values).sort()).toEqual(verified.map((c) => c.email!.toLowerCase()).filter((e) => friends.has(e)).sort());
    } finally {
      await w.close();
    }
  });
});
