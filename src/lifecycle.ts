// How a Kizuna process ends, whoever asks. A supervisor (systemd, Docker, Kubernetes) sends SIGTERM to the one process it
// started — `npm start`'s npm, `npx kizuna`'s npx, or node itself — and expects everything below it to stop; Ctrl-C sends
// SIGINT to the whole group. Either way Kizuna stops in order (requests drained, jobs handed back, PostgreSQL stopped last).
// A process whose parent went away (npm or npx killed, which do not always pass the signal on) stops the same way, so nothing
// is ever left behind as an orphan.
// A stop asked for while the process is still starting is honoured at the next step of the start (main.ts checks
// `requested` between steps): what has started is undone in reverse order, and nothing half-started keeps running.
import type { Logger } from './log.js';

export interface Stoppable {
  /** Graceful stop; may be called more than once. */
  stop(): Promise<void>;
  /** What to do when a second signal says "now": at least stop PostgreSQL. */
  forceStop?(): Promise<void>;
}

/** Thrown by a start that a stop request interrupted; the CLI exits quietly. */
export class StartInterrupted extends Error {
  constructor(readonly reason: string) {
    super(`start interrupted (${reason})`);
    this.name = 'StartInterrupted';
  }
}

const PARENT_CHECK_MS = 1000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class ProcessShutdown {
  private reason: string | null = null;
  private forced = false;
  private readonly tracked: Stoppable[] = [];
  private log: Logger | undefined;

  /**
   * Called once by the CLI before anything starts. Tests that run Kizuna in their own process never call it: their process
   * is not Kizuna's to end.
   */
  install(opts: { exit?: (code: number) => void } = {}): void {
    const exit = opts.exit ?? ((code: number) => process.exit(code));
    const onSignal = (reason: string) => void this.request(reason).then(() => exit(this.forced ? 130 : 0));
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    // bin/kizuna.js notes the parent before loading anything: npm or npx may already be gone by the time this runs.
    const parent = (globalThis as { kizunaParentPid?: number }).kizunaParentPid ?? process.ppid;
    // process.ppid is read once at start, so the parent is watched by its pid: gone means this process was orphaned.
    const watch = setInterval(() => {
      if (parent > 1 && !isAlive(parent)) {
        clearInterval(watch);
        onSignal('parent process exited');
      }
    }, PARENT_CHECK_MS).unref();
  }

  /** Where to say that a stop was asked for; the process's logger once it has one. */
  useLogger(log: Logger): void {
    this.log = log;
  }

  /** Why a stop was asked for, or null. */
  get requested(): string | null {
    return this.reason;
  }

  /** Throws StartInterrupted when a stop was asked for: start-up calls it between steps. */
  check(): void {
    if (this.reason) throw new StartInterrupted(this.reason);
  }

  /** Stops `s` when a stop is asked for (at once if one already was). Returns a function that forgets it. */
  track(s: Stoppable): () => void {
    this.tracked.push(s);
    if (this.reason) void s.stop();
    return () => {
      const i = this.tracked.indexOf(s);
      if (i >= 0) this.tracked.splice(i, 1);
    };
  }

  /** The first request stops everything tracked, last started first; a second one forces what is still running. */
  async request(reason: string): Promise<void> {
    if (this.reason) {
      if (this.forced) return;
      this.forced = true;
      this.log?.warn({ reason }, 'second stop request: stopping PostgreSQL and exiting now');
      await Promise.allSettled(this.tracked.map((s) => s.forceStop?.() ?? Promise.resolve()));
      return;
    }
    this.reason = reason;
    this.log?.info({ reason }, 'shutting down');
    for (const s of [...this.tracked].reverse()) {
      await s.stop().catch((e: Error) => this.log?.warn({ err: { message: e.message } }, 'a shutdown step failed'));
    }
  }
}

export const processShutdown = new ProcessShutdown();
