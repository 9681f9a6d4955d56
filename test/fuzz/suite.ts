// One fuzz file = one part of the route catalogue (see partOf): every route of that part is fuzzed with its share of FUZZ_RUNS,
// plus the part's own properties (signed webhooks, login redirects…), while /healthz is polled over HTTP; then the answers'
// rules are checked: no 5xx, nothing over FUZZ_MAX_BYTES, /healthz always fast, and the bystander tenant B unchanged.
import type fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destructive, requestArb, warmUpPlan, type CatalogueRoute } from './routes.js';
import { createWorld, formatFindings, FUZZ, fuzz, partOf, SHARE, type Part, type Plan, type World } from './world.js';

export interface ExtraProperty {
  /** Names the property in findings and seeds. */
  name: string;
  /** Its weight next to a route's (a route weighs 1 to 3). */
  weight: number;
  /** For inputs that cost much (a password hash): at most this many, and at most `shrink` more requests to shrink one failure. */
  cap?: { runs: number; shrink: number };
  /** Built once the world exists (it needs A's ids and secrets). */
  arb(w: World): fc.Arbitrary<Plan>;
}

export interface ExtraCheck {
  name: string;
  run(w: World): Promise<void>;
}

/**
 * Routes whose every input costs much: POST /login hashes the password it is given (scrypt, about 60 ms of a core on an idle
 * machine, several times that on a busy one), so it gets a fixed number of inputs; the others share the rest of the budget.
 */
const CAPPED: Record<string, { runs: number; shrink: number }> = {
  'POST /login': { runs: 20, shrink: 10 },
};

/** How much of the part's budget a route gets: more for routes with parameters and bodies, where the bugs live. */
function weight(r: CatalogueRoute): number {
  let x = 1;
  if (r.url.includes(':')) x += 1;
  if (r.method !== 'GET') x += 1;
  return x;
}

export function defineFuzzSuite(part: Part, opts: { extras?: ExtraProperty[]; checks?: ExtraCheck[] } = {}): void {
  const budget = Math.ceil(FUZZ.runs * SHARE[part]);

  describe(`fuzz: ${part} routes (${budget} inputs, seed ${FUZZ.seed})`, () => {
    let w: World;
    let bBefore: Record<string, unknown[]>;
    let started = 0;

    beforeAll(async () => {
      w = await createWorld();
      bBefore = await w.snapshot(w.b.id);
      // First requests pay one-time costs (the LIFF SDK is bundled by esbuild on its first request, pages compile their
      // templates): paid here, before /healthz is measured, so the poller measures what hostile inputs do.
      for (const r of w.app.routeCatalogue as CatalogueRoute[]) if (r.method === 'GET' && partOf(r.url) === part) await w.run(warmUpPlan(w, r));
      for (const list of [w.stats.slowest, w.stats.blocking, w.stats.gaps]) list.length = 0; // the diagnostics describe the fuzz only
      w.healthz.start();
      started = Date.now();
    }, 120_000);
    afterAll(async () => {
      await w?.close();
    });

    it(`answers every hostile input on every ${part} route without a 5xx or a body over ${FUZZ.maxBytes} bytes`, { timeout: Math.max(600_000, budget * 100) }, async () => {
      const routes = (w.app.routeCatalogue as CatalogueRoute[])
        .filter((r) => partOf(r.url) === part)
        .sort((x, y) => Number(destructive(x)) - Number(destructive(y)));
      expect(routes.length, `routes of part ${part}`).toBeGreaterThan(0);
      const extras = opts.extras ?? [];
      const jobs = [
        // extras first: they need A's integration linked and its sessions alive, which the destructive routes may end
        ...extras.map((e) => ({ name: e.name, weight: e.weight, cap: e.cap, arb: () => e.arb(w) })),
        ...routes.map((r) => ({ name: `${r.method} ${r.url}`, weight: weight(r), cap: CAPPED[`${r.method} ${r.url}`], arb: () => requestArb(w, r) })),
      ];
      const cappedRuns = jobs.reduce((s, j) => s + (j.cap?.runs ?? 0), 0);
      const shared = jobs.filter((j) => !j.cap).reduce((s, j) => s + j.weight, 0);
      for (const j of jobs) {
        const runs = j.cap ? j.cap.runs : Math.max(20, Math.ceil((Math.max(0, budget - cappedRuns) * j.weight) / shared));
        await fuzz(w, j.name, j.arb(), runs, (p) => w.run(p), { shrinkBudget: j.cap?.shrink });
      }

      for (const r of routes) expect(w.stats.perRoute.get(`${r.method} ${r.url}`) ?? 0, `${r.method} ${r.url} was fuzzed`).toBeGreaterThanOrEqual(20);
      expect(w.stats.inputs, 'fresh inputs').toBeGreaterThanOrEqual(budget);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `fuzz ${part}: ${w.stats.inputs} inputs (${w.stats.requests} requests with shrinking) over ${routes.length} routes + ${extras.length} properties ` +
          `in ${seconds} s; ${w.findings.length} failure class(es); /healthz max ${w.healthz.maxMs.toFixed(0)} ms over ${w.healthz.samples} polls (event loop delay max ${w.healthz.loopMaxMs.toFixed(0)} ms)`,
      );
      const slowest = [...w.stats.msPerRoute].sort((x, y) => y[1] - x[1]).slice(0, 5);
      console.log(`longest gaps before a request (the suite's own work):\n${w.stats.gaps.map((x) => `  ${x.ms.toFixed(0)} ms before ${x.request.slice(0, 200)}`).join('\n')}`);
      console.log(`slowest requests:\n${w.stats.slowest.map((x) => `  ${x.ms.toFixed(0)} ms ${x.request}`).join('\n')}`);
      console.log(`slowest properties (wall s, this process's CPU s / inputs): ${slowest.map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s, ${((w.stats.cpuPerRoute.get(k) ?? 0) / 1000).toFixed(1)} s / ${w.stats.perRoute.get(k)}`).join('; ')}`);
      const cpuTotal = [...w.stats.cpuPerRoute.values()].reduce((a, b) => a + b, 0);
      const hungry = [...w.stats.cpuPerRoute].sort((x, y) => y[1] - x[1]).slice(0, 5);
      console.log(`CPU of this process while fuzzing: ${(cpuTotal / 1000).toFixed(1)} s; most: ${hungry.map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join('; ')}`);
      if (w.findings.length) {
        throw new Error(
          `${w.findings.length} failure class(es) on the ${part} routes (FUZZ_SEED=${FUZZ.seed}, FUZZ_RUNS=${FUZZ.runs}):\n\n${formatFindings(w.findings)}\n${w.notes.map((n) => `\n${n}`).join('')}`,
        );
      }
    });

    for (const c of opts.checks ?? []) {
      it(c.name, { timeout: 60_000 }, () => c.run(w));
    }

    it(`kept /healthz under ${FUZZ.healthzMs} ms over real HTTP the whole time`, async () => {
      await w.healthz.stop();
      const h = w.healthz;
      expect(h.samples, 'healthz polls').toBeGreaterThan(10);
      expect(h.failures, 'healthz answers other than 200').toEqual([]);
      expect(
        h.maxMs,
        `slowest /healthz ${h.maxMs.toFixed(0)} ms, during ${h.maxDuring}; event loop delay max ${h.loopMaxMs.toFixed(0)} ms ` +
          `(low: the machine was busy rather than the server blocked); all over ${FUZZ.healthzMs} ms:\n${h.slow.join('\n')}\n` +
          `requests that blocked the event loop longest:\n${w.stats.blocking.map((x) => `  ${x.ms.toFixed(0)} ms ${x.request}`).join('\n')}`,
      ).toBeLessThanOrEqual(FUZZ.healthzMs);
    });

    it("left every row of the bystander tenant B unchanged", async () => {
      expect(await w.snapshot(w.b.id)).toEqual(bBefore);
    });
  });
}
