// writeInOrder, the "two batches in flight, commits in order" unit of a run, on its own: writes with random durations record
// when they run and when they commit, the way a batch's transaction waits for the batch before it.
import { describe, expect, it } from 'vitest';
import { writeInOrder } from '../../src/sync/pipeline.js';

interface Item {
  n: number;
  keys: string[] | null;
}

async function* from(items: Item[]): AsyncGenerator<Item> {
  for (const item of items) yield item;
}

const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A recorder of writes: which run at the same time, the order of commits, and whether any is still running. */
function recorder(opts: { failAt?: number; duration?: (n: number) => number } = {}) {
  const running = new Set<number>();
  const overlaps: [number, number][] = [];
  const commits: number[] = [];
  const rolledBack: number[] = [];
  let maxRunning = 0;
  const write = async (item: Item, after: Promise<void> | null) => {
    for (const other of running) overlaps.push([other, item.n]);
    running.add(item.n);
    maxRunning = Math.max(maxRunning, running.size);
    try {
      await tick(opts.duration?.(item.n) ?? 1);
      if (item.n === opts.failAt) throw new Error(`write ${item.n} failed`);
      try {
        if (after) await after;
      } catch (e) {
        rolledBack.push(item.n);
        throw e;
      }
      commits.push(item.n);
    } finally {
      running.delete(item.n);
    }
  };
  return { write, running, overlaps, commits, rolledBack, maxRunning: () => maxRunning };
}

const keysOf = (item: Item) => (item.keys ? new Set(item.keys) : null);

describe('writeInOrder', () => {
  it('overlaps two writes whose keys are disjoint, never two that share a key, and never more than two', async () => {
    const items: Item[] = [
      { n: 1, keys: ['a'] },
      { n: 2, keys: ['b'] },
      { n: 3, keys: ['b', 'c'] },
      { n: 4, keys: ['d'] },
      { n: 5, keys: ['d'] },
      { n: 6, keys: ['e'] },
    ];
    const r = recorder({ duration: (n) => (n % 2 ? 15 : 5) });
    await writeInOrder(from(items), keysOf, r.write);
    const shared = (a: number, b: number) => items[a - 1]!.keys!.some((k) => items[b - 1]!.keys!.includes(k));
    expect(r.overlaps.length).toBeGreaterThan(0);
    for (const [a, b] of r.overlaps) expect(shared(a, b), `${a} and ${b} ran together`).toBe(false);
    expect(r.maxRunning()).toBeLessThanOrEqual(2);
  });

  it('commits in order whatever each write takes', async () => {
    const items: Item[] = Array.from({ length: 12 }, (_, i) => ({ n: i + 1, keys: [`k${i}`] }));
    const r = recorder({ duration: (n) => [9, 1, 6, 2, 8, 1, 1, 7, 3, 5, 1, 4][n - 1]! });
    await writeInOrder(from(items), keysOf, r.write);
    expect(r.commits).toEqual(items.map((i) => i.n));
  });

  it('writes an item without keys alone: after the one before it, before the one after it', async () => {
    const items: Item[] = [
      { n: 1, keys: ['a'] },
      { n: 2, keys: null },
      { n: 3, keys: ['b'] },
    ];
    const r = recorder({ duration: (n) => (n === 1 ? 10 : 1) });
    await writeInOrder(from(items), keysOf, r.write);
    expect(r.overlaps).toEqual([]);
    expect(r.commits).toEqual([1, 2, 3]);
  });

  it('propagates a failure, rolls back the write waiting on it, and leaves no write running', async () => {
    const items: Item[] = Array.from({ length: 6 }, (_, i) => ({ n: i + 1, keys: [`k${i}`] }));
    const r = recorder({ failAt: 3, duration: (n) => (n === 3 ? 2 : 10) });
    await expect(writeInOrder(from(items), keysOf, r.write)).rejects.toThrow('write 3 failed');
    expect(r.running.size).toBe(0);
    expect(r.commits).toEqual([1, 2]);
    expect(r.rolledBack).toEqual([4]);
  });

  it('a failing source: the write in flight settles before the failure goes on', async () => {
    async function* failing(): AsyncGenerator<Item> {
      yield { n: 1, keys: ['a'] };
      throw new Error('the export failed');
    }
    const r = recorder({ duration: () => 20 });
    await expect(writeInOrder(failing(), keysOf, r.write)).rejects.toThrow('the export failed');
    expect(r.running.size).toBe(0);
    expect(r.commits).toEqual([1]);
  });
});
