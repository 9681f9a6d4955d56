// The friend import under a hostile 16 MB upload, over real HTTP: a bounded answer, and /healthz answering within 200 ms
// the whole time. Timing-sensitive: it runs in the isolated group of the suite (vitest.config.ts), with nothing else competing
// for the machine's cores.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS } from '../../src/crm/import.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeTenant } from './fixtures.js';

describe('friend import under load', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('a 16 MB hostile file over HTTP gets a small answer while /healthz keeps answering within 200 ms', async () => {
    const c = await makeTenant(t);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const pollAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = (method: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, path, agent: pollAgent }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });

    /**
     * Uploads a file made of `parts` (each text repeated) the way curl or a browser sends one: streamed, from another event
     * loop (a worker thread), so that what the polls measure is the server's loop only.
     */
    const upload = (parts: { text: string; times: number }[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const worker = new Worker(UPLOADER, { eval: true, workerData: { port, headers: { ...c.auth, 'content-type': 'text/csv' }, parts } });
        worker.once('message', (m: { status: number; body: string } | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
        worker.once('error', reject);
      });

    /** Runs `work` while polling /healthz back to back: how many polls answered during it, and the slowest answer (ms). */
    async function healthWhile<T>(work: () => Promise<T>): Promise<{ result: T; polls: number; slowestMs: number }> {
      // What is measured is the import's hold on the event loop, not set-ups: the poll connection, the route, and enough idle
      // database connections for the polls and the upload (opening one on a busy machine can take a while) are ready first.
      expect((await request('GET', '/healthz')).status).toBe(200);
      await Promise.all(Array.from({ length: 4 }, () => t.ctx.db.pool.query('SELECT pg_sleep(0.05)')));
      let done = false;
      let polls = 0;
      let slowestMs = 0;
      const running = work();
      const polling = (async () => {
        while (!done) {
          const start = performance.now();
          const res = await request('GET', '/healthz');
          slowestMs = Math.max(slowestMs, performance.now() - start);
          expect(res.status).toBe(200);
          polls++;
        }
      })();
      try {
        return { result: await running, polls, slowestMs };
      } finally {
        done = true;
        await polling;
      }
    }

    // quotes that never close (each line opens one), long lines without a line break, and at the end 4 MB without any
    const hostile = [
      { text: 'line_user_id,display_name,email\n', times: 1 },
      { text: 'a","\n', times: 1_600_000 },
      { text: `${'x'.repeat(1024 * 1024)}\n`, times: 4 },
      { text: 'y'.repeat(1024 * 1024), times: 4 },
    ];
    expect(hostile.reduce((n, p) => n + p.text.length * p.times, 0)).toBeGreaterThan(16_000_000);
    const { result: res, polls, slowestMs } = await healthWhile(() => upload(hostile));
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThan(64 * 1024);
    const report = JSON.parse(res.body);
    expect(report).toMatchObject({ created: 0, errorCount: 1_600_000 + 5 });
    expect(report.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(polls).toBeGreaterThan(5);
    expect(slowestMs).toBeLessThan(200);

    // the same without a header line: refused early, and the client still sending the rest gets the answer
    const headless = await healthWhile(() => upload([{ text: 'z'.repeat(1024 * 1024), times: 16 }]));
    expect(headless.result.status).toBe(400);
    expect(headless.result.body.length).toBeLessThan(400);
    expect(headless.slowestMs).toBeLessThan(200);
    pollAgent.destroy();
  }, 120_000);
});

/** The worker thread's uploader: POSTs the parts (each text repeated `times`) in pieces of about 64 KiB, with backpressure. */
const UPLOADER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { Readable } = require('node:stream');
const { port, headers, parts } = workerData;
const length = parts.reduce((n, p) => n + Buffer.byteLength(p.text) * p.times, 0);
function* pieces() {
  for (const p of parts) {
    const perPiece = Math.max(1, Math.floor(65536 / Buffer.byteLength(p.text)));
    for (let left = p.times; left > 0; left -= perPiece) yield Buffer.from(p.text.repeat(Math.min(perPiece, left)));
  }
}
// a kept-alive connection, as browsers use: an answer before the end of the body must not cut the upload short
const agent = new http.Agent({ keepAlive: true });
let answered = false;
const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/friends/import', headers: { ...headers, 'content-length': length }, agent }, (res) => {
  const got = [];
  res.on('data', (d) => got.push(d));
  res.on('end', () => {
    answered = true;
    parentPort.postMessage({ status: res.statusCode, body: Buffer.concat(got).toString('utf8') });
    agent.destroy();
  });
});
req.on('error', (e) => { if (!answered) parentPort.postMessage({ error: e.message }); });
Readable.from(pieces()).pipe(req);
`;
