// Measure 5: the segment "平均購入金額(shopify) ≥ 3000" counted over an account of N friends that all carry the 22 Shopify values
// (10 % of them have blocked the account): the count statement Kizuna's segment engine compiles for one number condition (an
// index-only range scan of custom_values_number within the field), and countSegment as the count API calls it. The friends and values are generated in SQL (the sync path is measured by measure 1); the average order amounts follow
// the development Shopify's distribution (30 % without orders, so without a value; otherwise 1,000–29,900 JPY in steps of 100).
import pg from 'pg';
import { ensureCategory } from '../../src/crm/custom-data.js';
import { createTenant } from '../../src/crm/tenants.js';
import { countSegment, createSegment } from '../../src/delivery/segments.js';
import { shopifyCategorySpec } from '../../src/shopify/fields.js';
import { SecretBox } from '../../src/security/secrets.js';

export interface SegmentResult {
  friends: number;
  values: number;
  generateMs: number;
  count: number;
  runs: number;
  ms: { p50: number; p90: number; p99: number; min: number; max: number };
  plan: string;
  /** countSegment, what the count API runs: count, activeCount (blocked friends excluded) and dataAsOf together. */
  api: { count: number; activeCount: number; ms: { p50: number; p90: number; p99: number; min: number; max: number } };
}

const stats = (times: number[]) => ({ p50: pct(times, 50), p90: pct(times, 90), p99: pct(times, 99), min: Math.min(...times), max: Math.max(...times) });

/** Runs fn `runs` times after 5 warm-up runs, one after the other; returns each run's milliseconds and the last count. */
async function timeRuns(runs: number, fn: (client: pg.PoolClient) => Promise<number>, pool: pg.Pool): Promise<{ times: number[]; count: number }> {
  const client = await pool.connect();
  try {
    const times: number[] = [];
    let count = 0;
    for (let i = 0; i < runs + 5; i++) {
      const t = performance.now();
      count = await fn(client);
      if (i >= 5) times.push(performance.now() - t);
    }
    return { times, count };
  } finally {
    client.release();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function segmentBench(url: string, friends: number, runs: number): Promise<SegmentResult> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const ctx = { db: { pool, url, close: async () => {} }, secrets: new SecretBox(Buffer.alloc(32, 7), 'bench key') } as never;
    const { tenant } = await createTenant(ctx, { name: 'セグメント商店', plan: 'enterprise', options: ['shopify'] });
    const cat = await ensureCategory(pool, tenant.id, shopifyCategorySpec());
    const field = (key: string) => cat.fields.find((f) => f.key === key)!.id;
    const t0 = performance.now();
    const c = await pool.connect();
    try {
      // Generation only: every row is consistent by construction, so the foreign-key triggers are skipped to save minutes.
      await c.query(`SET session_replication_role = replica`);
      await c.query(`SELECT setseed(0.42)`);
      await c.query(
        `INSERT INTO friends (tenant_id, line_user_id, display_name, status, email, email_normalized, email_acquired_at, email_source)
         SELECT $1, 'U' || lpad(to_hex(g), 32, '0'), 'friend ' || g, CASE WHEN g % 10 = 0 THEN 'blocked' ELSE 'active' END,
                'f' || g || '@example.jp', 'f' || g || '@example.jp', '2026-01-01', 'liff'
         FROM generate_series(1, $2) g`,
        [tenant.id, friends],
      );
      await c.query(`CREATE TEMP TABLE gen AS
        SELECT id AS friend_id, orders, CASE WHEN orders > 0 THEN (1000 + floor(random() * 290) * 100)::numeric END AS avg,
               date '2020-03-01' + (random() * 2000)::int AS created
        FROM (SELECT id, CASE WHEN random() < 0.3 THEN 0 ELSE 1 + floor(-ln(1 - random()) * 3)::int END AS orders
              FROM friends WHERE tenant_id = '${tenant.id}') f`);
      const text = (key: string, expr: string) => `(${field(key)}, 'text', ${expr}, NULL::numeric, NULL::date)`;
      const num = (key: string, expr: string) => `(${field(key)}, 'number', NULL::text, ${expr}, NULL::date)`;
      const date = (key: string, expr: string) => `(${field(key)}, 'date', NULL::text, NULL::numeric, ${expr})`;
      const vals = [
        text('customer_id', `(7000000000000 + g.friend_id * 64)::text`),
        text('email', `'f' || g.friend_id || '@example.jp'`),
        text('first_name', `'花子'`),
        text('last_name', `'山田'`),
        text('state', `(ARRAY['無効','有効','招待済','拒否'])[1 + g.friend_id % 4]`),
        num('orders_count', `g.orders`),
        num('average_order_amount', `g.avg`),
        num('total_spent', `g.avg * g.orders`),
        text('last_order_id', `CASE WHEN g.orders > 0 THEN (5500000000000 + g.friend_id * 128)::text END`),
        text('tags', `CASE WHEN g.friend_id % 3 = 0 THEN 'VIP,リピーター' END`),
        text('phone', `CASE WHEN g.friend_id % 5 < 3 THEN '+8190' || lpad((g.friend_id % 100000000)::text, 8, '0') END`),
        text('company', `CASE WHEN g.friend_id % 7 = 0 THEN '株式会社サンプル商事' END`),
        text('zip', `'150-0041'`),
        text('province', `'東京都'`),
        text('city', `'渋谷区'`),
        text('address1', `'神宮前' || (g.friend_id % 9 + 1) || '-2-3'`),
        text('address2', `CASE WHEN g.friend_id % 4 = 0 THEN 'キズナビル5F' END`),
        text('email_marketing_consent', `(ARRAY['未同意','同意済み','配信停止','確認待ち'])[1 + g.friend_id % 4]`),
        text('sms_marketing_consent', `CASE WHEN g.friend_id % 5 < 3 THEN '未同意' END`),
        text('note', `CASE WHEN g.friend_id % 11 = 0 THEN 'ギフト包装を希望 🎁' END`),
        date('created_at', `g.created`),
        date('updated_at', `g.created + 30`),
      ];
      await c.query(
        `INSERT INTO custom_values (tenant_id, field_id, friend_id, field_type, value_text, value_number, value_date, updated_at)
         SELECT $1, v.field_id, g.friend_id, v.field_type, v.vt, v.vn, v.vd, now()
         FROM gen g CROSS JOIN LATERAL (VALUES ${vals.join(', ')}) AS v(field_id, field_type, vt, vn, vd)
         WHERE v.vt IS NOT NULL OR v.vn IS NOT NULL OR v.vd IS NOT NULL`,
        [tenant.id],
      );
      await c.query(`RESET session_replication_role`);
    } finally {
      c.release();
    }
    // What autovacuum does after a bulk write; index-only scans need the visibility map it sets.
    await pool.query('VACUUM ANALYZE friends, custom_values');
    const generateMs = performance.now() - t0;
    const valuesCount = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM custom_values WHERE tenant_id = $1`, [tenant.id])).rows[0].n;

    const avgField = field('average_order_amount');
    const pool2 = new pg.Pool({ connectionString: url, max: 4 }); // countSegment runs its three statements side by side
    try {
      // The count statement alone, as compileSegment writes it for one number condition (an index-only range scan).
      const bare = await timeRuns(runs, async (client) => {
        const r = await client.query<{ n: number }>({ name: 'seg_count', text: `SELECT count(*)::int AS n FROM (SELECT v0.friend_id FROM custom_values v0 WHERE v0.field_id = $1 AND v0.value_number IS NOT NULL AND v0.value_number >= $2) s`, values: [avgField, 3000] });
        return r.rows[0].n;
      }, pool2);
      const planRows = (await pool2.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM custom_values v0 WHERE v0.field_id = $1 AND v0.value_number IS NOT NULL AND v0.value_number >= $2`, [avgField, 3000])).rows;
      const plan = planRows.map((r) => r['QUERY PLAN'].trim().replace(/\s+\(cost=.*$/, '')).filter((l) => !/^(Workers|Index Cond|Filter|Heap Fetches)/.test(l.replace(/^->\s*/, ''))).join(' / ');
      // What GET /api/v1/segments/:id/count runs: Kizuna's segment engine (count, activeCount, dataAsOf).
      const sctx = { db: { pool: pool2, url, close: async () => {} }, clock: { now: () => new Date() } } as never;
      const segment = await createSegment(sctx, tenant.id, { name: '平均購入金額3000円以上', match: 'all', conditions: [{ fieldId: avgField, op: 'gte', value: 3000 }] });
      let last: { count: number; activeCount: number } = { count: 0, activeCount: 0 };
      const api = await timeRuns(runs, async () => {
        last = await countSegment(sctx, segment);
        return last.count;
      }, pool2);
      if (api.count !== bare.count) throw new Error(`countSegment counted ${api.count}, the statement ${bare.count}`);
      return {
        friends,
        values: valuesCount,
        generateMs,
        count: bare.count,
        runs,
        ms: stats(bare.times),
        plan,
        api: { count: last.count, activeCount: last.activeCount, ms: stats(api.times) },
      };
    } finally {
      await pool2.end();
    }
  } finally {
    await pool.end();
  }
}

export async function segmentMeasure(
  pgs: import('../lib/db.js').BenchPostgres,
  o: { friends: number; runs: number; log: (s: string) => void },
): Promise<{ figures: import('../lib/format.js').Figure[]; details: Record<string, unknown> }> {
  const { dropDatabase } = await import('../lib/db.js');
  o.log(`segment: ${o.friends.toLocaleString('en-US')} friends with the 22 Shopify values, then ${o.runs} counts`);
  const url = await pgs.freshDatabase('bench_segment');
  try {
    const r = await segmentBench(url, o.friends, o.runs);
    const k = o.friends >= 1_000_000 ? `${o.friends / 1_000_000} M` : `${o.friends / 1000} k`;
    return {
      figures: [
        { id: 'segment.p50', measure: '5', figure: `count 平均購入金額(shopify) ≥ 3000 among ${k} friends, p50 (${r.count.toLocaleString('en-US')} match)`, value: r.ms.p50, unit: 'ms', goal: '≤ 50 ms', met: r.ms.p50 <= 50 },
        { id: 'segment.p99', measure: '5', figure: '  p99', value: r.ms.p99, unit: 'ms', goal: null, met: null },
        { id: 'segment.api.p50', measure: '5', figure: `  the count API (count, activeCount, dataAsOf), p50 (p99 ${r.api.ms.p99.toFixed(0)} ms)`, value: r.api.ms.p50, unit: 'ms', goal: null, met: null },
      ],
      details: { ...r },
    };
  } finally {
    await dropDatabase(pgs.server.adminUrl, 'bench_segment');
  }
}
