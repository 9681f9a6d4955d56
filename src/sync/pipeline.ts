// The flow of a run's batches: read one ahead (readAhead), and two in flight with commits in order (writeInOrder).
//
// Two batches in flight, commits in order. A run writes each batch in its own transaction; while PostgreSQL finishes one, it
// can already work on the next on a second connection (a server with two cores or more does both at once) — but only when the
// two touch no common row, and the later one must never commit before the earlier one, or a checkpoint could pass a batch that
// then rolls back.

/**
 * Writes `items` in order. An item whose keys are disjoint from those of the item before it is written while that one is
 * still being written; an item that shares a key with it waits for it, and an item without keys (null) is written alone.
 * `write(item, after)` writes one item and must not commit before `after` — the item before it, still being written — has
 * settled: awaiting it rethrows that item's failure, which must roll this one back. At most two writes run at a time, and the
 * next item is read only once the earlier of them has settled. Resolves when every item is written; rejects with the first
 * failure (of a write or of `items`), and only once no write it started is still running.
 */
export async function writeInOrder<T>(
  items: AsyncIterable<T>,
  keysOf: (item: T) => ReadonlySet<string> | null,
  write: (item: T, after: Promise<void> | null) => Promise<void>,
): Promise<void> {
  let last: { done: Promise<void>; keys: ReadonlySet<string> } | null = null;
  try {
    for await (const item of items) {
      const keys = keysOf(item);
      const overlap = last && keys && disjoint(last.keys, keys) ? last : null;
      if (last && !overlap) await last.done;
      const done = write(item, overlap?.done ?? null);
      done.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      if (!keys) {
        await done;
        last = null;
        continue;
      }
      last = { done, keys };
      if (overlap) await overlap.done;
    }
    if (last) await last.done;
  } finally {
    // Never leave a write behind: the one after a failed write settles too (it fails on `after`), then the failure goes on.
    await last?.done.catch(() => undefined);
  }
}

function disjoint(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const k of b) if (a.has(k)) return false;
  return true;
}

/**
 * Reads one item ahead: the next batch is downloaded, parsed and prepared while the caller writes the current ones, so the
 * database never waits for Node between batches. When the caller stops early, the source is closed once its step in flight
 * ends — in the background, so a failure is not held up by a download or an export still being polled.
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  next.catch(() => undefined); // surfaced when awaited below
  let finished = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        finished = true;
        return;
      }
      next = source.next();
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    if (!finished) void next.then(() => source.return(undefined), () => undefined).catch(() => undefined);
  }
}
