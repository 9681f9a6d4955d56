// `npm run bench` — Kizuna against its limits, side by side in one run, as ratios (absolute times drift on a shared machine):
//   1  full sync from the development Shopify (bulk JSONL) vs PostgreSQL's COPY of the same rows and vs a naive pipeline
//   2  peak resident memory of the sync process at two store sizes
//   3  paged reads against Shopify's cost bucket: use of the restore rate, THROTTLED answers
//   4  incremental run after 1 % changed, vs the full run
//   5  a segment count over custom data
//   6  Shopify webhook ingest under load
//   7  an idle worker's memory and start time, compiled vs through tsx
// Everything it needs is started here: one embedded PostgreSQL in a temporary DATA_DIR (a fresh database per measure), the
// development Shopify, the sync, the webhook server and the load generator, each in its own process.
//
//   npm run bench                      1 M customers (takes tens of minutes)
//   npm run bench -- --quick           100 k customers (a few minutes)
//   npm run bench -- --customers 250000 --only sync,segment --out /tmp/r.json
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBenchPostgres } from './lib/db.js';
import { markdown, table, type Figure } from './lib/format.js';
import { ROOT } from './lib/proc.js';
import { pacingMeasure } from './measures/pacing.js';
import { segmentMeasure } from './measures/segment.js';
import { syncMeasures } from './measures/sync.js';
import { webhookMeasure } from './measures/webhooks.js';
import { baselineMeasure } from './measures/baseline.js';

const MEASURES = ['sync', 'pacing', 'segment', 'webhooks', 'baseline'] as const;

function parseArgs(argv: string[]) {
  const opt = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const customers = Number(opt('customers') ?? (quick ? 100_000 : 1_000_000));
  if (!Number.isInteger(customers) || customers < 10_000) throw new Error('--customers must be an integer ≥ 10000');
  const only = (opt('only') ?? MEASURES.join(',')).split(',').map((s) => s.trim());
  for (const m of only) if (!(MEASURES as readonly string[]).includes(m)) throw new Error(`--only takes ${MEASURES.join(',')}, not "${m}"`);
  return {
    quick,
    customers,
    only: new Set(only),
    out: path.resolve(opt('out') ?? path.join(ROOT, 'bench', 'results.json')),
  };
}

const args = parseArgs(process.argv.slice(2));
const started = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const n = args.customers;

const machine = {
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  postgres: '',
  postgresSettings: {} as Record<string, string>,
  loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  loadAverageAtEnd: [] as number[],
};

log(`Kizuna benchmark: ${n.toLocaleString('en-US')} customers${args.quick ? ' (--quick)' : ''}; ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`);
const pgs = await startBenchPostgres();
// Ctrl-C: the children stop with their IPC channel; PostgreSQL runs in its own process group, so stop it here.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void pgs.stop().finally(() => process.exit(130));
  });
}
machine.postgres = pgs.version;
machine.postgresSettings = pgs.settings;
log(`embedded PostgreSQL ${pgs.version} in ${pgs.dataDir}`);

const figures: Figure[] = [];
const details: Record<string, unknown> = {};
let failed: unknown = null;
try {
  if (args.only.has('sync')) {
    const r = await syncMeasures(pgs, {
      customers: n,
      // 1 M against 100 k; --quick compares 100 k with 50 k (a 10–25 k run is over before the heap settles into its steady
      // state, which would read as growth).
      smallCustomers: args.quick ? Math.round(n / 2) : Math.round(n / 10),
      naiveSample: args.quick ? 2000 : 5000,
      share: 0.2,
      seed: 1,
      log,
    });
    figures.push(...r.figures);
    details.sync = r.details;
  }
  if (args.only.has('pacing')) {
    const r = await pacingMeasure({ seconds: 25, log });
    figures.push(...r.figures);
    details.pacing = r.details;
  }
  if (args.only.has('segment')) {
    const r = await segmentMeasure(pgs, { friends: n, runs: args.quick ? 100 : 200, log });
    figures.push(...r.figures);
    details.segment = r.details;
  }
  if (args.only.has('webhooks')) {
    const r = await webhookMeasure(pgs, { requests: args.quick ? 20_000 : 50_000, connections: 16, log });
    figures.push(...r.figures);
    details.webhooks = r.details;
  }
  if (args.only.has('baseline')) {
    const r = await baselineMeasure(pgs, { rounds: 3, log });
    figures.push(...r.figures);
    details.baseline = r.details;
  }
} catch (e) {
  failed = e;
} finally {
  await pgs.stop();
}

machine.loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
figures.sort((a, b) => a.measure.localeCompare(b.measure)); // stable: measure 4 comes out of the sync measures
const durationSec = Math.round((Date.now() - started) / 1000);
if (failed) {
  log(`benchmark failed: ${(failed as Error).stack ?? String(failed)}`);
  process.exit(1);
}

const results = {
  generatedAt: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  customers: n,
  quick: args.quick,
  durationSec,
  machine,
  figures,
  goals: { met: figures.filter((f) => f.met === true).length, missed: figures.filter((f) => f.met === false).map((f) => f.id) },
  details,
};
fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\n${table(figures)}\n\n`);
process.stdout.write(
  `${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}, PostgreSQL ${machine.postgres}; ` +
    `load average ${machine.loadAverageAtStart.join(' ')} at start; ${durationSec} s in all. Written to ${path.relative(process.cwd(), args.out)}.\n`,
);
if (process.env.BENCH_MARKDOWN) fs.writeFileSync(process.env.BENCH_MARKDOWN, `${markdown(figures)}\n`);
