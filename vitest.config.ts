import { defineConfig } from 'vitest/config';

// Two groups, one after the other. "main": every test file, two at a time. "isolated": what measures the server's own
// latency (the route fuzz suite's /healthz ≤ 200 ms, the import under a hostile upload) runs afterwards, one file at a time,
// so that no other test file competes for the cores and what is measured is the server, not the neighbours.
const isolated = ['test/fuzz/**/*.test.ts', 'test/**/*.timing.test.ts'];

export default defineConfig({
  test: {
    // One embedded PostgreSQL for the whole run; each test file gets its own database (test/helpers/db.ts).
    globalSetup: ['test/setup/build.ts', 'test/setup/global-postgres.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Tests never depend on the wall clock's time of day; they run in UTC so that any Asia/Tokyo logic is exercised explicitly.
    env: { TZ: 'UTC' },
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: isolated, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'isolated', include: isolated, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
