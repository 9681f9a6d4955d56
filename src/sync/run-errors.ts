// How an execution of a run ends other than by succeeding: abandoned (its worker died, or another took the run over), handed
// back (its worker is stopping), or failed with a code that says whether a retry can succeed and whether operators are told.
import { AppError, Codes } from '../errors.js';

/**
 * Ends an execution without touching the run, the way a process that dies leaves it: its worker is gone (tests kill it
 * between batches through `afterBatch`), or its heartbeat went stale and another worker has taken the run over.
 */
export class Abandoned extends Error {
  constructor(readonly killedBy?: unknown) {
    super('this execution no longer owns the run');
  }
}

/** This worker is stopping (SIGTERM): the run goes back to the queue after its last committed batch, for another worker. */
export class HandedBack extends Error {
  constructor() {
    super('this worker is stopping; the run continues on another worker from its last committed batch');
  }
}

export interface RunError {
  code: string;
  message: string;
  retryable: boolean;
  /** Whether operators are told (a run stopped by 連携を解除 or a plan change is not a failure to mail). */
  mail: boolean;
}

export function asRunError(e: unknown): RunError {
  if (e instanceof AppError) {
    const quiet = e.code === 'UNLINKED' || e.code === 'PLAN_REQUIRED';
    return { code: e.code, message: e.message, retryable: e.retryable, mail: !quiet };
  }
  const msg = (e as Error)?.message ?? String(e);
  // Database outages are transient; anything else unexpected is a bug: recorded, mailed, not retried forever.
  const transient = /ECONNREFUSED|ECONNRESET|Connection terminated|deadlock detected|could not serialize/i.test(msg);
  return { code: transient ? Codes.DATABASE_UNAVAILABLE : Codes.INTERNAL_ERROR, message: msg, retryable: transient, mail: true };
}
