// The CRM commands as operators run them: real `kizuna` processes on a test database.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/crm/operators.js';
import { findTenantByApiToken } from '../../src/crm/tenants.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort, spawnKizuna } from '../helpers/proc.js';
import { lineUserId } from './fixtures.js';

describe('kizuna CLI (CRM)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-cli-'));

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, DATA_DIR: dir, KIZUNA_SECRET_KEY: crypto.randomBytes(32).toString('base64'), LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ code: number | null; out: string }> {
    const p = spawnKizuna(args, env);
    const code = await p.exited;
    return { code, out: p.output() };
  }

  let tenantId: string;

  it('tenant create --json prints {id, apiToken}; the token works and secrets are stored encrypted', async () => {
    const { code, out } = await run([
      'tenant', 'create', '--name', 'ブランドA', '--plan', 'enterprise', '--shopify-option',
      '--notify', 'ops@example.jp', '--notify', 'cto@example.jp',
      '--line-channel-id', '2000000001', '--line-channel-secret', 'channel-secret-value', '--line-access-token', 'access-token-value',
      '--line-login-channel-id', '1650000001', '--liff-id', '1650000001-AbCdEfGh', '--json',
    ]);
    expect(code, out).toBe(0);
    const parsed = JSON.parse(out.trim());
    expect(Object.keys(parsed).sort()).toEqual(['apiToken', 'id']);
    expect(parsed.apiToken).toMatch(/^kz_[A-Za-z0-9_-]{43}$/);
    tenantId = parsed.id;
    const tenant = await findTenantByApiToken(db.pool, parsed.apiToken);
    expect(tenant).toMatchObject({
      id: tenantId,
      name: 'ブランドA',
      plan: 'enterprise',
      options: ['shopify'],
      notifyEmails: ['ops@example.jp', 'cto@example.jp'],
      line: { channelId: '2000000001', loginChannelId: '1650000001', liffId: '1650000001-AbCdEfGh', hasChannelSecret: true, hasAccessToken: true },
    });
    const { rows } = await db.pool.query(`SELECT row_to_json(t)::text AS j FROM tenants t WHERE id = $1`, [tenantId]);
    expect(rows[0].j).not.toContain('channel-secret-value');
    expect(rows[0].j).not.toContain('access-token-value');
    expect(rows[0].j).not.toContain(parsed.apiToken);
  });

  it('refuses bad input with a one-line reason and a non-zero exit', async () => {
    const bad = await run(['tenant', 'create', '--name', 'x', '--notify', 'not-an-email']);
    expect(bad.code).toBe(1);
    expect(bad.out.trim().split('\n')).toHaveLength(1);
    expect(bad.out).toMatch(/^kizuna: VALIDATION_FAILED: notifyEmails\.0: /);
    const plan = await run(['tenant', 'create', '--name', 'x', '--plan', 'gold']);
    expect(plan.code).not.toBe(0);
    expect(plan.out).toMatch(/Allowed choices are standard, enterprise/);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM tenants WHERE name = 'x'`);
    expect(rows[0].n).toBe(0);
    const missing = await run(['tenant', 'update', '00000000-0000-4000-8000-000000000000', '--plan', 'standard']);
    expect(missing.code).toBe(1);
    expect(missing.out.trim()).toMatch(/^kizuna: NOT_FOUND: No tenant/);
  });

  it('tenant update changes the plan and option and LINE settings', async () => {
    const { code, out } = await run(['tenant', 'update', tenantId, '--plan', 'standard', '--no-shopify-option', '--liff-id', '1650000001-Zzzzzzzz', '--json']);
    expect(code, out).toBe(0);
    expect(JSON.parse(out.trim())).toMatchObject({ plan: 'standard', options: [], line: { liffId: '1650000001-Zzzzzzzz', hasChannelSecret: true } });
    const again = await run(['tenant', 'update', tenantId, '--plan', 'enterprise', '--shopify-option', '--notify', 'new@example.jp']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/plan enterprise, options \[shopify\], notify \[new@example.jp\]/);
    expect(again.out).not.toContain('channel-secret-value');
  });

  it('operator add prints a generated password once; it logs in', async () => {
    const { code, out } = await run(['operator', 'add', tenantId, 'Ops@Example.jp', '--json']);
    expect(code, out).toBe(0);
    const op = JSON.parse(out.trim());
    expect(op).toMatchObject({ tenantId, email: 'Ops@Example.jp' });
    const { rows } = await db.pool.query(`SELECT password_hash FROM operators WHERE email_normalized = 'ops@example.jp'`);
    expect(await verifyPassword(op.password, rows[0].password_hash)).toBe(true);
    const dup = await run(['operator', 'add', 'ブランドA', 'ops@example.jp']);
    expect(dup.code).toBe(1);
    expect(dup.out).toMatch(/already exists/);
  });

  it('friends import prints counts and each bad line (Shift_JIS file)', async () => {
    const file = path.join(dir, 'friends.csv');
    const csv = `line_user_id,display_name,email\r\n${lineUserId(1)},"山田, 太郎",taro@example.jp\r\nbad,鈴木,\r\n${lineUserId(2)},佐藤,not-an-email\r\n${lineUserId(3)},高橋,\r\n`;
    fs.writeFileSync(file, iconv.encode(csv, 'cp932'));
    const { code, out } = await run(['friends', 'import', tenantId, file]);
    expect(code, out).toBe(0);
    expect(out).toContain('(shift_jis): created 2, updated 0, unchanged 0, errors 2');
    expect(out).toMatch(/line 3: line_user_id「bad」/);
    expect(out).toMatch(/line 4: メールアドレス「not-an-email」/);
    const json = await run(['friends', 'import', tenantId, file, '--json']);
    expect(JSON.parse(json.out.trim())).toMatchObject({ created: 0, unchanged: 2, errors: [{ line: 3 }, { line: 4 }] });
  });

  it('the first serve on an empty database prints the first operator once; later starts print nothing', async () => {
    const fresh = await createTestDatabase();
    try {
      const port = String(await freePort());
      const e = { ...env, DATABASE_URL: fresh.url, PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` };
      const first = spawnKizuna(['serve'], e);
      await first.waitForOutput(/Kizuna is running/);
      expect(await first.stop('SIGTERM')).toBe(0);
      const out = first.output();
      expect(out).toContain(`http://127.0.0.1:${port}/login`);
      expect(out).toContain('admin@localhost');
      const password = /password: (\S+)/.exec(out)![1]!;
      const { rows } = await fresh.pool.query(`SELECT password_hash FROM operators WHERE email_normalized = 'admin@localhost'`);
      expect(await verifyPassword(password, rows[0].password_hash)).toBe(true);

      const second = spawnKizuna(['serve'], e);
      await second.waitForOutput(/Kizuna is running/);
      expect(await second.stop('SIGTERM')).toBe(0);
      expect(second.output()).not.toContain('admin@localhost');
      expect(second.output()).not.toContain(password);
    } finally {
      await fresh.drop();
    }
  });
});
