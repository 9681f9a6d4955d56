import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const schema = async () =>
    (
      await db.pool.query(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      )
    ).rows;

  it('are numbered consecutively and all applied to a new database', async () => {
    const files = listMigrations();
    expect(files.map((m) => m.id)).toEqual(files.map((_, i) => i + 1));
    const { rows } = await db.pool.query('SELECT id FROM kizuna_migrations ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(files.map((m) => m.id));
  });

  it('running them again changes nothing', async () => {
    const before = await schema();
    expect(await migrate(db.pool)).toEqual([]);
    expect(await migrate(db.pool)).toEqual([]);
    expect(await schema()).toEqual(before);
  });

  it('concurrent runs apply each migration once', async () => {
    const fresh = await createTestDatabase();
    try {
      await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      const results = await Promise.all([migrate(fresh.pool), migrate(fresh.pool), migrate(fresh.pool)]);
      expect(results.flat()).toHaveLength(listMigrations().length);
    } finally {
      await fresh.drop();
    }
  });

  it('refuse a database written by a newer Kizuna', async () => {
    await db.pool.query(`INSERT INTO kizuna_migrations (id, name) VALUES (999, 'from_the_future')`);
    await expect(migrate(db.pool)).rejects.toThrow(/newer version/);
    await db.pool.query('DELETE FROM kizuna_migrations WHERE id = 999');
  });
});
