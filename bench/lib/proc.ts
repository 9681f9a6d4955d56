// Child processes of the benchmark. Every measured piece runs in its own Node process (so its peak RSS is its own, and the
// development Shopify or the load generator never steal the measured process's event loop); they are TypeScript files started
// through bin/run-ts.js (tsx), like the CLI, and talk to the orchestrator over Node's IPC channel:
//   child → parent  {type: 'ready', info}   services (fake Shopify, webhook server) once they listen
//   child → parent  {type: 'result', result} | {type: 'error', message}   one-shot jobs when done
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN_TS = path.join(ROOT, 'bin', 'run-ts.js');

type Message = { type: 'ready'; info: unknown } | { type: 'result'; result: unknown } | { type: 'error'; message: string } | { type: 'log'; text: string };

function start(script: string, args: unknown, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildProcess {
  return fork(RUN_TS, [path.resolve(ROOT, script), JSON.stringify(args ?? {})], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    execArgv: nodeArgs,
  });
}

/** Runs a one-shot child to its end and returns what it sent as its result. */
export function runChild<T>(script: string, args: unknown, opts: { env?: Record<string, string>; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = start(script, args, opts.env, opts.nodeArgs);
    let result: { ok: true; value: T } | { ok: false; message: string } | undefined;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          result = { ok: false, message: `${script} did not finish within ${Math.round(opts.timeoutMs! / 1000)} s` };
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('message', (m: Message) => {
      if (m.type === 'result') result ??= { ok: true, value: m.result as T };
      else if (m.type === 'error') result ??= { ok: false, message: m.message };
      else if (m.type === 'log') process.stderr.write(`  ${m.text}\n`);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (result?.ok) resolve(result.value);
      else reject(new Error(result && !result.ok ? result.message : `${script} exited with ${signal ?? code} before sending a result`));
    });
  });
}

export interface Service<I> {
  info: I;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a long-running child and waits until it says it is ready. */
export function startService<I>(script: string, args: unknown, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Service<I>> {
  return new Promise<Service<I>>((resolve, reject) => {
    const child = start(script, args, opts.env);
    let ready = false;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      if (!ready) {
        child.kill('SIGKILL');
        reject(new Error(`${script} was not ready within ${(opts.timeoutMs ?? 60_000) / 1000} s`));
      }
    }, opts.timeoutMs ?? 60_000);
    child.on('message', (m: Message) => {
      if (m.type === 'ready' && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({
          info: m.info as I,
          pid: child.pid!,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      } else if (m.type === 'error' && !ready) {
        clearTimeout(timer);
        reject(new Error(m.message));
      } else if (m.type === 'log') process.stderr.write(`  ${m.text}\n`);
    });
    child.on('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${signal ?? code} before it was ready`));
      }
    });
  });
}

// ------------------------------------------------------------------------------------------------------------- child side

function send(m: Message): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));
}

/** The args the orchestrator passed to this child. */
export function childArgs<A>(): A {
  return JSON.parse(process.argv[2] ?? '{}') as A;
}

export function childLog(text: string): void {
  void send({ type: 'log', text });
}

/** Body of a one-shot child: runs fn, reports its result or error, exits. */
export async function childMain<A, R>(fn: (args: A) => Promise<R>): Promise<void> {
  try {
    const result = await fn(childArgs<A>());
    await send({ type: 'result', result });
    process.exit(0);
  } catch (e) {
    await send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
}

/** Body of a service child: starts it, reports ready, and stops it on SIGTERM. */
export async function serviceMain<A, I>(fn: (args: A) => Promise<{ info: I; stop(): Promise<void> }>): Promise<void> {
  try {
    const svc = await fn(childArgs<A>());
    const stop = async () => {
      await svc.stop().catch(() => undefined);
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.once('disconnect', stop);
    await send({ type: 'ready', info: svc.info });
  } catch (e) {
    await send({ type: 'error', message: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
}

/** Peak and current resident set of this process, from /proc (VmHWM is the high-water mark), in MB. */
export function memory(): { peakMb: number; rssMb: number } {
  let peakKb = process.resourceUsage().maxRSS;
  let rssKb = Math.round(process.memoryUsage().rss / 1024);
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? peakKb);
    rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? rssKb);
  } catch {
    /* not Linux: resourceUsage is good enough */
  }
  return { peakMb: peakKb / 1024, rssMb: rssKb / 1024 };
}
