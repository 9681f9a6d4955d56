// Numbered, forward-only migrations: src/db/migrations/NNN_what_it_does.sql, applied in order, each in its own transaction,
// recorded in kizuna_migrations. An advisory lock makes concurrent starts (serve + workers) apply each file exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_KEY = 7_424_242_001; // any constant; shared by every Kizuna process on this database

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new Error(`migration file ${file} must be named NNN_snake_case.sql`);
    const id = Number(m[1]);
    if (out.length && out[out.length - 1]!.id !== id - 1) throw new Error(`migration ${file}: numbers must be consecutive`);
    out.push({ id, name: m[2]!, sql: fs.readFileSync(path.join(dir, file), 'utf8') });
  }
  return out;
}

/** True when every migration this Kizuna knows has been applied (and none it does not know). */
let newestKnown: number | undefined;
export async function migrationsCurrent(pool: pg.Pool): Promise<boolean> {
  const newest = (newestKnown ??= listMigrations().at(-1)?.id ?? 0);
  const { rows } = await pool.query<{ max: number | null }>('SELECT max(id) AS max FROM kizuna_migrations');
  return rows[0]?.max === newest;
}

/** Applies what is missing; returns the names applied now (empty when the database was already current). */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const migrations = listMigrations();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS kizuna_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number; name: string }>('SELECT id, name FROM kizuna_migrations ORDER BY id');
    const done = new Map(rows.map((r) => [r.id, r.name]));
    const newest = migrations.at(-1)?.id ?? 0;
    const beyond = rows.filter((r) => r.id > newest);
    if (beyond.length) {
      throw new Error(
        `the database has migrations this Kizuna does not know (${beyond.map((r) => `${r.id}_${r.name}`).join(', ')}): ` +
          'it was used by a newer version; upgrade Kizuna instead of downgrading',
      );
    }
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO kizuna_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${String(m.id).padStart(3, '0')}_${m.name} failed: ${(e as Error).message}`);
      }
      applied.push(`${String(m.id).padStart(3, '0')}_${m.name}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
  return applied;
}
