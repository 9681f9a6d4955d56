// 7. What a process costs before it does any work: `kizuna worker` started as production starts it (the compiled dist/ through
// bin/kizuna.js) and as every process was started before (the TypeScript sources through tsx's loader), each against the
// same migrated database, idle. Resident memory once it is ready (and a few seconds later, settled), and the time from
// spawn to ready — the two side by side in one run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BenchPostgres } from '../lib/db.js';
import { dropDatabase } from '../lib/db.js';
import type { Figure } from '../lib/format.js';
import { ROOT } from '../lib/proc.js';

interface Sample {
  readyMs: number;
  rssMb: number;
  settledRssMb: number;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function startWorker(args: string[], env: Record<string, string>): Promise<Sample> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--max-semi-space-size=4', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    while (!/worker is ready/.test(out)) {
      if (child.exitCode !== null) throw new Error(`worker exited: ${out.slice(-1000)}`);
      if (Date.now() - t0 > 120_000) throw new Error(`worker not ready: ${out.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = Date.now() - t0;
    const rss = rssMb(child.pid!);
    await new Promise((r) => setTimeout(r, 5000));
    return { readyMs, rssMb: rss, settledRssMb: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

export async function baselineMeasure(pgs: BenchPostgres, opts: { rounds: number; log: (s: string) => void }): Promise<{ figures: Figure[]; details: unknown }> {
  const url = await pgs.freshDatabase('bench_baseline');
  const env = { DATABASE_URL: url, WORKER_POLL_SECONDS: '2' };
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run npm run build');
  const compiled: Sample[] = [];
  const tsx: Sample[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    compiled.push(await startWorker(['bin/kizuna.js', 'worker'], env));
    tsx.push(await startWorker(['bin/run-ts.js', 'src/cli/index.ts', 'worker'], env));
  }
  await dropDatabase(pgs.server.adminUrl, 'bench_baseline');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const c = { readyMs: median(compiled.map((s) => s.readyMs)), rssMb: median(compiled.map((s) => s.settledRssMb)) };
  const t = { readyMs: median(tsx.map((s) => s.readyMs)), rssMb: median(tsx.map((s) => s.settledRssMb)) };
  opts.log(`baseline: compiled ${c.rssMb.toFixed(0)} MB ready in ${c.readyMs} ms; tsx ${t.rssMb.toFixed(0)} MB ready in ${t.readyMs} ms`);
  const figures: Figure[] = [
    { id: 'baseline.compiled.rss', measure: '7', figure: 'idle worker, compiled (dist/): resident memory', value: c.rssMb, unit: 'MB', goal: null, met: null },
    { id: 'baseline.tsx.rss', measure: '7', figure: '  the same through tsx (as before)', value: t.rssMb, unit: 'MB', goal: null, met: null },
    { id: 'baseline.saved', measure: '7', figure: '  saved per process', value: t.rssMb - c.rssMb, unit: 'MB', goal: null, met: null },
    { id: 'baseline.compiled.ready', measure: '7', figure: '  start to ready, compiled (tsx: see details)', value: c.readyMs, unit: 'ms', goal: null, met: null },
  ];
  return { figures, details: { rounds: opts.rounds, compiled, tsx } };
}
