// readAhead: the next batch is read while the caller works on the current one; errors reach the caller in order, and a
// caller that stops early closes the source.
import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/sync/pipeline.js';

describe('readAhead', () => {
  it('asks for the next item before the caller is done with the current one, and keeps the order', async () => {
    const log: string[] = [];
    async function* source() {
      for (let i = 1; i <= 3; i++) {
        log.push(`read ${i}`);
        yield i;
      }
    }
    const got: number[] = [];
    for await (const x of readAhead(source())) {
      log.push(`use ${x}`);
      await new Promise((r) => setImmediate(r));
      got.push(x);
    }
    expect(got).toEqual([1, 2, 3]);
    expect(log.indexOf('read 2')).toBeLessThan(log.indexOf('use 1') + 2);
    expect(log.indexOf('read 2')).toBeLessThan(log.indexOf('use 2'));
  });

  it('a source that fails after two items: the caller gets both, then the error', async () => {
    async function* source() {
      yield 1;
      yield 2;
      throw new Error('download cut off');
    }
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const x of readAhead(source())) got.push(x);
      })(),
    ).rejects.toThrow('download cut off');
    expect(got).toEqual([1, 2]);
  });

  it('a caller that stops early closes the source (its finally runs) once the step in flight ends', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    await expect(
      (async () => {
        for await (const x of readAhead(source())) if (x === 2) throw new Error('unlinked');
      })(),
    ).rejects.toThrow('unlinked');
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(true);
  });
});
