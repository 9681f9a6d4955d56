// Stops under a supervisor: each way of starting Kizuna runs in its own process group, and only the process a supervisor
// would have started — npm for `npm start`, npx for `npx kizuna …`, node for `node bin/kizuna.js …` — gets SIGTERM (or is
// killed outright, leaving Kizuna without its parent). Kizuna must stop gracefully within 30 s leaving no process behind,
// PostgreSQL included, and the data directory must start again cleanly.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isRunning } from '../helpers/proc.js';

const root = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Started {
  top: number;
  output(): string;
  dataDir: string;
  port: number;
}

async function start(cmd: string[], dataDir: string, ready: RegExp): Promise<Started> {
  const port = await freePort();
  let out = '';
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: root,
    detached: true, // its own process group, as under a supervisor
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: dataDir, PORT: String(port), LOG_FORMAT: 'json' },
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const until = Date.now() + 90_000;
  while (!ready.test(out)) {
    if (child.exitCode !== null) throw new Error(`${cmd.join(' ')} exited early: ${out.slice(-2000)}`);
    if (Date.now() > until) throw new Error(`${cmd.join(' ')} not ready: ${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { top: child.pid!, output: () => out, dataDir, port };
}

/** Every process still running whose command line or process group belongs to this start. */
function leftovers(s: Started): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => {
      const [pid, pgid, stat] = l.split(/\s+/);
      if (!pid || stat?.startsWith('Z')) return false;
      return Number(pgid) === s.top || l.includes(s.dataDir);
    });
}

async function stopsCleanly(s: Started, signal: NodeJS.Signals): Promise<number> {
  const lock = JSON.parse(fs.readFileSync(path.join(s.dataDir, 'kizuna.lock'), 'utf8')) as { pgPid: number };
  expect(isRunning(lock.pgPid)).toBe(true);
  const t0 = Date.now();
  process.kill(s.top, signal); // only the top process, never the group
  while ((leftovers(s).length || isRunning(lock.pgPid)) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 200));
  expect(leftovers(s), s.output().slice(-1500)).toEqual([]);
  expect(isRunning(lock.pgPid)).toBe(false);
  expect(fs.existsSync(path.join(s.dataDir, 'kizuna.lock'))).toBe(false);
  return Date.now() - t0;
}

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-signals-'));
  dirs.push(d);
  return d;
}

describe('stopping under a supervisor', () => {
  it('npm start: SIGTERM to npm alone stops Kizuna and its PostgreSQL; the data directory starts again cleanly', async () => {
    const dir = dataDir();
    const s = await start(['npm', 'start'], dir, /Kizuna is ready/);
    expect(await stopsCleanly(s, 'SIGTERM')).toBeLessThan(30_000);
    expect(s.output()).toMatch(/"reason":"SIGTERM"|"reason":"parent process exited"/);
    // Started again on the same data: no stale lock to take over, no orphan to stop.
    const again = await start(['node', 'bin/kizuna.js', 'serve'], dir, /Kizuna is ready/);
    expect(again.output()).not.toMatch(/stale|orphan|without a Kizuna owner/);
    expect((await fetch(`http://127.0.0.1:${again.port}/healthz`)).status).toBe(200);
    await stopsCleanly(again, 'SIGTERM');
  });

  it('npx kizuna serve: SIGTERM to npx alone', async () => {
    const s = await start(['npx', '--no-install', 'kizuna', 'serve'], dataDir(), /Kizuna is ready/);
    await stopsCleanly(s, 'SIGTERM');
  });

  it('npx kizuna worker: SIGTERM to npx alone', async () => {
    const s = await start(['npx', '--no-install', 'kizuna', 'worker'], dataDir(), /worker is ready/);
    await stopsCleanly(s, 'SIGTERM');
  });

  it('node bin/kizuna.js serve: SIGINT or SIGTERM to node', async () => {
    await stopsCleanly(await start(['node', 'bin/kizuna.js', 'serve'], dataDir(), /Kizuna is ready/), 'SIGINT');
    await stopsCleanly(await start(['node', 'bin/kizuna.js', 'serve'], dataDir(), /Kizuna is ready/), 'SIGTERM');
  });

  it('a parent killed outright (-9) leaves no orphan: Kizuna notices and stops itself', async () => {
    const s = await start(['npm', 'start'], dataDir(), /Kizuna is ready/);
    await stopsCleanly(s, 'SIGKILL');
    expect(s.output()).toMatch(/"reason":"parent process exited"/);
  });

  it('a signal during the start undoes what has started', async () => {
    const dir = dataDir();
    const s = await start(['node', 'bin/kizuna.js', 'serve'], dir, /embedded PostgreSQL ready/);
    const lock = JSON.parse(fs.readFileSync(path.join(dir, 'kizuna.lock'), 'utf8')) as { pgPid: number };
    process.kill(s.top, 'SIGTERM');
    const t0 = Date.now();
    while ((leftovers(s).length || isRunning(lock.pgPid)) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 200));
    expect(leftovers(s)).toEqual([]);
    expect(isRunning(lock.pgPid)).toBe(false);
    expect(s.output()).not.toMatch(/kizuna: /); // not reported as a failure
  });
});
