// Process lifecycles. `serve`: config → database → migrations → jobs (scheduler + worker) → web.
// `worker`: config → database → jobs (worker only). Admin commands: config → database → migrations → their work → exit.
// Shutdown runs in the reverse order on SIGINT/SIGTERM, so PostgreSQL is stopped last and nothing is left running.
import os from 'node:os';
import type PgBoss from 'pg-boss';
import { systemClock, type Clock } from './clock.js';
import { loadConfig, type Config } from './config.js';
import type { AppContext } from './context.js';
import { openDatabase, type Database } from './db/index.js';
import { migrate } from './db/migrate.js';
import { startBoss, startWorkers } from './jobs/index.js';
import { sendJob } from './jobs/define.js';
import { syncTickJob } from './sync/schedule.js';
import { createLogger, type Logger } from './log.js';
import { buildServer } from './web/server.js';
import { loadSecretBox, verifySecretKey } from './security/secrets.js';
import { announceFirstOperator } from './crm/first-operator.js';

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
  const log = createLogger(config.LOG_LEVEL).child({ role });
  const cleanup: Step[] = [];
  try {
    const db: Database = await openDatabase(config, log, { role, mode: opts.exclusive ? 'exclusive' : 'shared' });
    cleanup.push(() => db.close());
    const applied = opts.migrate ? await migrate(db.pool) : [];
    if (applied.length) log.info({ applied }, 'database migrated');
    const secrets = loadSecretBox(config);
    await verifySecretKey(db.pool, secrets);
    const boss: PgBoss = await startBoss({ url: db.url, log, schedule: opts.schedule, supervise: opts.work });
    cleanup.push(() => boss.stop({ graceful: true, wait: true, timeout: 20_000 }));
    const ctx: AppContext = { config, db, boss, log, clock: opts.clock ?? systemClock, workerId, secrets };
    if (opts.work) await startWorkers(ctx, config.WORKER_POLL_SECONDS, config.WORKER_CONCURRENCY);
    if (opts.schedule) await startScheduler(ctx);
    let url: string | undefined;
    if (opts.web) {
      const app = await buildServer(ctx);
      cleanup.push(() => app.close());
      url = await app.listen({ port: config.PORT, host: config.HOST });
    }
    let stopping: Promise<void> | undefined;
    return { ctx, url, applied, stop: () => (stopping ??= unwind(cleanup, log)) };
  } catch (e) {
    await unwind(cleanup, log);
    throw e;
  }
}

/**
 * The scheduler: a tick every minute (pg-boss cron, one per deployment however many processes run it) starts due nightly runs
 * and resumes runs whose worker died; one tick right away catches up a night missed while the service was down.
 */
async function startScheduler(ctx: AppContext): Promise<void> {
  await ctx.boss.schedule(syncTickJob.name, '* * * * *', {}, { tz: 'UTC', singletonKey: 'tick' });
  // The tick at start is a shortcut (the cron tick follows within a minute): a failure to send it must not stop the start.
  await sendJob(ctx.boss, syncTickJob, {}, { singletonKey: 'startup-tick', singletonSeconds: 60 }).catch((e: Error) =>
    ctx.log.warn({ err: { message: e.message } }, 'could not queue the start-up scheduler tick; the next one comes within a minute'),
  );
}

export async function serve(options: { config?: Config; clock?: Clock } = {}): Promise<Running> {
  const running = await boot('serve', { ...options, exclusive: true, migrate: true, schedule: true, work: true, web: true });
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

/** Stops `running` on SIGINT/SIGTERM; a second signal forces the exit (PostgreSQL is still asked to stop). */
export function stopOnSignals(running: Running, log: Logger): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info({ signal }, 'shutting down');
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    } else {
      log.warn('second signal: stopping PostgreSQL and exiting now');
      const pg = running.ctx.db.embedded;
      (pg ? pg.stop() : Promise.resolve()).finally(() => process.exit(130));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
