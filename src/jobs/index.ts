// The job runtime on pg-boss: every process that talks to the database can send jobs; processes started with `work` also run
// them. Queues live in the same PostgreSQL as the data, so scaling out is only "start more `kizuna worker` processes".
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { AppContext } from '../context.js';
import type { Logger } from '../log.js';
import type { JobDefinition } from './define.js';
import { sendMailJob } from '../notify/mail.js';
import { friendEmailChangedJob } from '../crm/events.js';
import { fetchProfileJob } from '../crm/line-friends.js';
import { syncRunJob } from '../sync/runs.js';
import { syncTickJob } from '../sync/schedule.js';
import { webhookDrainJob } from '../sync/realtime.js';
import { deliveryJob } from '../delivery/deliveries.js';
import { retentionJob } from '../ops/retention.js';

/**
 * A job as the runtime holds it, whatever its payload: the queue to create, and a worker that checks each payload with the
 * job's own schema before its handler sees it. (A list of JobDefinition<T> for different T has no common type: T is both what
 * the schema gives and what the handler takes.)
 */
interface KnownJob {
  name: string;
  queue?: Omit<PgBoss.Queue, 'name'>;
  /** Loads the handler; the function returned runs one fetched job. */
  worker(ctx: AppContext): Promise<(job: PgBoss.JobWithMetadata<unknown>) => Promise<void>>;
}

function known<T>(def: JobDefinition<T>): KnownJob {
  return {
    name: def.name,
    queue: def.queue,
    async worker(ctx) {
      const handler = await def.handler();
      return async (job) => {
        const log = ctx.log.child({ job: def.name, jobId: job.id });
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) {
          log.error({ issues: parsed.error.issues }, 'job payload does not match its schema; failing it without retry');
          await ctx.boss.fail(def.name, job.id, { message: 'invalid payload' });
          return;
        }
        try {
          await handler(parsed.data, { ...ctx, log, jobId: job.id, retryCount: job.retryCount });
        } catch (e) {
          log.warn({ err: { message: (e as Error).message, code: (e as { code?: string }).code } }, 'job failed');
          throw e;
        }
      };
    },
  };
}

/** Every job Kizuna knows. Domains append theirs here. */
const jobs: KnownJob[] = [
  known(sendMailJob),
  known(friendEmailChangedJob),
  known(fetchProfileJob),
  known(syncRunJob),
  known(syncTickJob),
  known(webhookDrainJob),
  known(deliveryJob),
  known(retentionJob),
];

const QUEUE_LOCK_KEY = 7_424_242_002; // any constant shared by every Kizuna process

/** Job systems of this process that have started and not stopped (what /readyz asks). */
const running = new WeakSet<PgBoss>();

export function jobSystemRunning(boss: PgBoss): boolean {
  return running.has(boss);
}

export interface BossOptions {
  url: string;
  log: Logger;
  /** Run cron schedules (only `serve`; workers leave scheduling to it). */
  schedule: boolean;
  /** Run pg-boss maintenance (expiry, archive). Harmless in several processes, done by `serve` and workers alike. */
  supervise: boolean;
}

export async function startBoss(opts: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: opts.url,
    schema: 'pgboss',
    application_name: 'kizuna-jobs',
    max: 5,
    schedule: opts.schedule,
    supervise: opts.supervise,
    migrate: true,
  });
  boss.on('error', (err) => opts.log.warn({ err: { message: err.message } }, 'job queue error'));
  await boss.start();
  running.add(boss);
  boss.once('stopped', () => running.delete(boss));
  // pg-boss creates each queue as a partition of pgboss.job; processes starting together (serve + workers on a fresh database)
  // creating different queues at once deadlock on those partitions. One process at a time, under an advisory lock, instead.
  const lock = new pg.Client({ connectionString: opts.url, application_name: 'kizuna-jobs' });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [QUEUE_LOCK_KEY]);
    for (const def of jobs) {
      // A job sent by an already running process can still meet our partition DDL in a deadlock; PostgreSQL then aborts one
      // side, and trying again a moment later succeeds.
      for (let attempt = 1; ; attempt++) {
        try {
          await boss.createQueue(def.name, { name: def.name, ...def.queue });
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== '40P01' || attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [QUEUE_LOCK_KEY]).catch(() => {});
    await lock.end().catch(() => {});
  }
  return boss;
}

/** Starts handlers for every job; returns when they are polling. */
export async function startWorkers(ctx: AppContext, pollingIntervalSeconds: number, concurrency: number): Promise<void> {
  for (const def of jobs) {
    const run = await def.worker(ctx);
    for (let i = 0; i < concurrency; i++) {
      await ctx.boss.work(def.name, { pollingIntervalSeconds, batchSize: 1, includeMetadata: true }, async ([job]) => {
        if (job) await run(job);
      });
    }
  }
}
