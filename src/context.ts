// What every part of a running Kizuna process shares: configuration, database, job queue, logger and clock.
import type PgBoss from 'pg-boss';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Database } from './db/index.js';
import type { Logger } from './log.js';
import type { SecretBox } from './security/secrets.js';

export interface AppContext {
  config: Config;
  db: Database;
  boss: PgBoss;
  log: Logger;
  clock: Clock;
  /** Encrypts and decrypts stored credentials. */
  secrets: SecretBox;
  /** hostname:pid, recorded on work a process does so operators can tell workers apart. */
  workerId: string;
  /** Aborted when the process starts to stop: long work (a sync run) hands itself back at its next step. */
  stopping?: AbortSignal;
}
