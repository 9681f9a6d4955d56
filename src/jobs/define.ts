// A job is a definition (name, payload schema, queue options) plus a handler that is imported only by the processes that run it.
// Payloads are validated when sent and again when run, so a job written by an older version fails loudly instead of half-working.
import type PgBoss from 'pg-boss';
import type { z } from 'zod';
import type { AppContext } from '../context.js';

export interface JobRunContext extends AppContext {
  jobId: string;
  /** How many times this job has been tried before (0 on the first try). */
  retryCount: number;
}

export type JobHandler<T> = (payload: T, ctx: JobRunContext) => Promise<void>;

export interface JobDefinition<T = unknown> {
  name: string;
  schema: z.ZodType<T>;
  queue?: Omit<PgBoss.Queue, 'name'>;
  handler: () => Promise<JobHandler<T>>;
}

export function defineJob<T>(def: JobDefinition<T>): JobDefinition<T> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(def.name)) throw new Error(`job name ${def.name} must be dotted lower-case`);
  return def;
}

export async function sendJob<T>(
  boss: PgBoss,
  def: Pick<JobDefinition<T>, 'name' | 'schema'>,
  payload: T,
  options: PgBoss.SendOptions = {},
): Promise<string | null> {
  const data = def.schema.parse(payload) as object;
  return boss.send(def.name, data, options);
}
