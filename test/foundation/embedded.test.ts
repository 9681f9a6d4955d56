// The embedded PostgreSQL under DATA_DIR: first start, restart keeping data, the lock against a second owner, joining a
// running server, and recovery after the owner was killed with its postgres still running.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';

const log = createLogger('silent');
const dirs: string[] = [];
function tmpDataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-emb-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL', () => {
  it('initialises on first start, keeps data across restarts and leaves no process behind', async () => {
    const dataDir = tmpDataDir();
    const first = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    await query(first.url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('こんにちは')`);
    const pgPid = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8')).pgPid as number;
    await first.stop();
    expect(alive(pgPid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'kizuna.lock'))).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    expect((await query(second.url, 'SELECT v FROM kept')).rows).toEqual([{ v: 'こんにちは' }]);
    await second.stop();
  });

  it('refuses a second exclusive owner while the first keeps running; shared users join it', async () => {
    const dataDir = tmpDataDir();
    const owner = await startEmbeddedPostgres({ dataDir, log, role: 'serve', mode: 'exclusive' });
    try {
      // Another process (the lock is per process, so this must be a real one) trying to own the same DATA_DIR.
      const script = `
        import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
        import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
        try { await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'serve', mode: 'exclusive' }); console.log('STARTED'); }
        catch (e) { console.log(e.name + ': ' + e.message); }`;
      const out = await runTs(script);
      expect(out).toContain('DataDirInUseError');
      expect(out).toContain(`pid ${process.pid}`);
      expect((await query(owner.url, 'SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      expect(DataDirInUseError).toBeDefined();

      const joinScript = `
        import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
        import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
        const s = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'tenant', mode: 'shared' });
        console.log(JSON.stringify({ owned: s.owned, port: s.port }));`;
      const joined = JSON.parse((await runTs(joinScript)).trim().split('\n').pop()!);
      expect(joined).toEqual({ owned: false, port: owner.port });
    } finally {
      await owner.stop();
    }
  });

  it('recovers after its owner was killed (-9) with postgres still running, keeping the data', async () => {
    const dataDir = tmpDataDir();
    const script = `
      import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
      import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
      import pg from 'pg';
      const s = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'serve', mode: 'exclusive' });
      const c = new pg.Client(s.url); await c.connect(); await c.query("CREATE TABLE survived (n int); INSERT INTO survived VALUES (42)"); await c.end();
      console.log('READY'); setInterval(() => {}, 1000);`;
    const child = spawnTs(script);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('READY')) resolve();
      });
      child.on('exit', () => reject(new Error('child exited: ' + out)));
    });
    const lock = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8'));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(alive(lock.pgPid)).toBe(true); // the orphan the next start must deal with

    const next = await startEmbeddedPostgres({ dataDir, log, role: 'serve', mode: 'exclusive' });
    try {
      expect(alive(lock.pgPid)).toBe(false);
      expect((await query(next.url, 'SELECT n FROM survived')).rows).toEqual([{ n: 42 }]);
    } finally {
      await next.stop();
    }
  });
});

function spawnTs(source: string) {
  // Inside the project so the script resolves our dependencies; .mts so Node treats it as ESM.
  const dir = fs.mkdtempSync(path.join(process.cwd(), 'node_modules', '.kizuna-test-'));
  dirs.push(dir);
  const file = path.join(dir, 'script.mts');
  fs.writeFileSync(file, source);
  return spawn(process.execPath, [path.resolve('bin/run-ts.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function runTs(source: string): Promise<string> {
  const child = spawnTs(source);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', () => resolve(out)));
}
