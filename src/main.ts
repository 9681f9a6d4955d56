// Process lifecycles. `serve`: config → database → migrations → jobs (scheduler + worker) → web.
// `worker`: config → database → jobs (worker only). Admin commands: config → database → migrations → their work → exit.
// Shutdown runs in the reverse order — on SIGINT/SIGTERM or when the parent process goes away (lifecycle.ts), also in the
// middle of the start — so PostgreSQL is stopped last and nothing is left running.
import os from 'node:os';
import type PgBoss from 'pg-boss';
import { systemClock, type Clock } from './clock.js';
import { loadConfig, type Config } from './config.js';
import type { AppContext } from './context.js';
import { openDatabase, type Database } from './db/index.js';
import { migrate } from './db/migrate.js';
import { startBoss, startWorkers } from './jobs/index.js';
import { sendJob } from './jobs/define.js';
import { startRunSweeper, syncTickJob } from './sync/schedule.js';
import { retentionJob } from './ops/retention.js';
import { createLogger, type Logger } from './log.js';
import { buildServer } from './web/server.js';
import { loadSecretBox, verifySecretKey } from './security/secrets.js';
import { announceFirstOperator } from './crm/first-operator.js';
import { processShutdown } from './lifecycle.js';

export const workerId = `${os.hostname()}:${process.pid}`;

export interface Running {
  ctx: AppContext;
  /** Migrations this start applied (empty when the database was current). */
  applied: string[];
  /** Resolves when the process has shut down completely. */
  stop(): Promise<void>;
  url?: string;
}

type Step = () => Promise<void>;

/** Runs cleanup steps in reverse order, continuing past failures. */
async function unwind(steps: Step[], log: Logger): Promise<void> {
  for (const step of steps.reverse()) {
    try {
      await step();
    } catch (e) {
      log.warn({ err: { message: (e as Error).message } }, 'shutdown step failed');
    }
  }
}

async function boot(
  role: string,
  opts: { config?: Config; clock?: Clock; exclusive: boolean; migrate: boolean; schedule: boolean; work: boolean; web: boolean },
): Promise<Running> {
  const config = opts.config ?? loadConfig();
  const log = createLogger(config.LOG_LEVEL, config.LOG_FORMAT).child({ role });
  processShutdown.useLogger(log);
  const cleanup: Step[] = [];
  // A stop asked for during the start (a signal, the parent gone) is honoured between steps: what started is undone, and the
  // stop request waits for that. Once started, a stop request stops the whole process in reverse order.
  let db: Database | undefined;
  let starting = true;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= unwind(cleanup, log).finally(() => forget()));
  let startUndone!: () => void;
  const undone = new Promise<void>((resolve) => (startUndone = resolve));
  const forget = processShutdown.track({
    stop: () => (starting ? undone : stop()),
    forceStop: () => db?.embedded?.stop() ?? Promise.resolve(),
  });
  const step = async <T>(fn: () => Promise<T>): Promise<T> => {
    processShutdown.check();
    const out = await fn();
    processShutdown.check();
    return out;
  };
  try {
    db = await step(async () => {
      const opened = await openDatabase(config, log, { role, mode: opts.exclusive ? 'exclusive' : 'shared' });
      cleanup.push(() => opened.close());
      return opened;
    });
    const pool = db.pool;
    const applied = opts.migrate ? await step(() => migrate(pool)) : [];
    if (applied.length) log.info({ applied }, 'database migrated');
    const secrets = loadSecretBox(config);
    await step(() => verifySecretKey(pool, secrets));
    const dbUrl = db.url;
    const boss: PgBoss = await step(async () => {
      const started = await startBoss({ url: dbUrl, log, schedule: opts.schedule, supervise: opts.work });
      cleanup.push(() => started.stop({ graceful: true, wait: true, timeout: 20_000 }));
      return started;
    });
    // Aborted first when the process stops (cleanup runs in reverse): running syncs hand themselves back before the job
    // system waits for its handlers.
    const stopping = new AbortController();
    cleanup.push(async () => stopping.abort());
    const ctx: AppContext = { config, db, boss, log, clock: opts.clock ?? systemClock, workerId, secrets, stopping: stopping.signal };
    if (opts.work) {
      await step(() => startWorkers(ctx, config.WORKER_POLL_SECONDS, config.WORKER_CONCURRENCY));
      // Any live worker puts a dead worker's sync run back on the queue (sync/schedule.ts), not only serve's scheduler.
      const stopSweeper = startRunSweeper(ctx);
      cleanup.push(stopSweeper);
    }
    if (opts.schedule) await step(() => startScheduler(ctx));
    let url: string | undefined;
    if (opts.web) {
      url = await step(async () => {
        const app = await buildServer(ctx);
        cleanup.push(() => app.close());
        return app.listen({ port: config.PORT, host: config.HOST });
      });
    }
    starting = false;
    return { ctx, url, applied, stop };
  } catch (e) {
    await unwind(cleanup, log);
    forget();
    startUndone();
    throw e;
  }
}

/**
 * The scheduler: a tick every minute (pg-boss cron, one per deployment however many processes run it) starts due nightly runs
 * and resumes runs whose worker died; one tick right away catches up a night missed while the service was down.
 */
async function startScheduler(ctx: AppContext): Promise<void> {
  await ctx.boss.schedule(syncTickJob.name, '* * * * *', {}, { tz: 'UTC', singletonKey: 'tick' });
  // Old log rows go every night after the sync window (ops/retention.ts).
  await ctx.boss.schedule(retentionJob.name, '0 4 * * *', {}, { tz: ctx.config.SYNC_TIMEZONE });
  // The tick at start is a shortcut (the cron tick follows within a minute): a failure to send it must not stop the start.
  await sendJob(ctx.boss, syncTickJob, {}, { singletonKey: 'startup-tick', singletonSeconds: 60 }).catch((e: Error) =>
    ctx.log.warn({ err: { message: e.message } }, 'could not queue the start-up scheduler tick; the next one comes within a minute'),
  );
}

/**
 * `worker: false` (`kizuna serve --no-worker`): the web server and the scheduler only, when `kizuna worker` processes run the
 * jobs — a heavy sync then never shares a process with the API, and killing a worker never takes the API down.
 */
export async function serve(options: { config?: Config; clock?: Clock; worker?: boolean } = {}): Promise<Running> {
  const running = await boot('serve', { ...options, exclusive: true, migrate: true, schedule: true, work: options.worker ?? true, web: true });
  try {
    await announceFirstOperator(running.ctx);
  } catch (e) {
    await running.stop();
    throw e;
  }
  return running;
}

export function worker(options: { config?: Config; clock?: Clock } = {}): Promise<Running> {
  return boot('worker', { ...options, exclusive: false, migrate: true, schedule: false, work: true, web: false });
}

/** For admin commands: the database (joined or started for the command's duration), migrated, and a job client. */
export function admin(role: string, options: { config?: Config; clock?: Clock } = {}): Promise<Running> {
  return boot(role, { ...options, exclusive: false, migrate: true, schedule: false, work: false, web: false });
}
