import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One embedded PostgreSQL for the whole run; each test file gets its own database (test/helpers/db.ts).
    globalSetup: ['test/setup/build.ts', 'test/setup/global-postgres.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Tests never depend on the wall clock's time of day; they run in UTC so that any Asia/Tokyo logic is exercised explicitly.
    env: { TZ: 'UTC' },
  },
});
