// A shop's customers: the generated ones (regenerated on demand, never held) plus an overlay of customers that were
// changed, added or deleted after generation. Paging merges the two in sort order. Generated customers rise strictly in
// id, createdAt and updatedAt with their index, so a cursor position or a date range becomes a binary search; only the
// overlay is ever sorted, and it stays small (the customers a test or benchmark touched).
import { CustomerGenerator, ID_STEP, type CustomerRecord } from './generator.js';
import { inRange, type CustomerFilter, type Range, type RangeField } from './search.js';

export type SortKey = 'ID' | 'CREATED_AT' | 'UPDATED_AT';

/** A position in one sort order: the sort value, then the id to break ties (Shopify's cursors hold the same pair). */
export interface Position {
  k: number;
  id: number;
}

export interface PageArgs {
  sortKey: SortKey;
  reverse: boolean;
  filter: CustomerFilter;
  first?: number | null;
  last?: number | null;
  after?: Position | null;
  before?: Position | null;
}

export interface Page {
  items: CustomerRecord[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export function sortValue(c: CustomerRecord, key: SortKey): number {
  return key === 'ID' ? c.id : key === 'CREATED_AT' ? c.createdAt : c.updatedAt;
}

function cmp(a: Position, b: Position): number {
  return a.k - b.k || a.id - b.id;
}

export class CustomerStore {
  private gen: CustomerGenerator;
  /** id → the customer as it is now, or null when deleted. Holds both changed generated customers and added ones. */
  private overlay = new Map<number, CustomerRecord | null>();
  private sorted = new Map<SortKey, CustomerRecord[]>();
  private overlaidGenerated = 0;
  private nextId: number;

  constructor(gen: CustomerGenerator) {
    this.gen = gen;
    this.nextId = gen.maxId() + ID_STEP;
  }

  get generator(): CustomerGenerator {
    return this.gen;
  }

  /** Replaces every customer: a fresh generated store plus the given explicit customers. */
  reset(gen: CustomerGenerator, extra: CustomerRecord[] = []): void {
    this.gen = gen;
    this.overlay.clear();
    this.overlaidGenerated = 0;
    this.nextId = gen.maxId() + ID_STEP;
    this.sorted.clear();
    for (const c of extra) this.put(c);
  }

  allocateId(): number {
    const id = this.nextId;
    this.nextId += ID_STEP;
    return id;
  }

  get(id: number): CustomerRecord | undefined {
    if (this.overlay.has(id)) return this.overlay.get(id) ?? undefined;
    const i = this.gen.indexOf(id);
    return i >= 0 ? this.gen.customerAt(i) : undefined;
  }

  /** Whether the customer existed at some point (a deleted customer's id is not reused). */
  known(id: number): boolean {
    return this.overlay.has(id) || this.gen.indexOf(id) >= 0;
  }

  put(record: CustomerRecord): void {
    this.mark(record.id);
    this.overlay.set(record.id, structuredClone(record));
    if (record.id >= this.nextId) this.nextId = record.id + ID_STEP;
    this.sorted.clear();
  }

  delete(id: number): boolean {
    if (!this.get(id)) return false;
    this.mark(id);
    this.overlay.set(id, null);
    this.sorted.clear();
    return true;
  }

  private mark(id: number): void {
    if (!this.overlay.has(id) && this.gen.indexOf(id) >= 0) this.overlaidGenerated++;
  }

  size(): number {
    let live = 0;
    for (const v of this.overlay.values()) if (v) live++;
    return this.gen.count - this.overlaidGenerated + live;
  }

  private overlaySorted(key: SortKey): CustomerRecord[] {
    let list = this.sorted.get(key);
    if (!list) {
      list = [...this.overlay.values()].filter((c): c is CustomerRecord => c !== null);
      list.sort((a, b) => sortValue(a, key) - sortValue(b, key) || a.id - b.id);
      this.sorted.set(key, list);
    }
    return list;
  }

  private genValue(i: number, field: RangeField | SortKey): number {
    if (field === 'id' || field === 'ID') return this.gen.idOf(i);
    if (field === 'createdAt' || field === 'CREATED_AT') return this.gen.createdAtOf(i);
    return this.gen.updatedAtOf(i);
  }

  /** First index in [lo, hi) for which `pred` holds, given that it holds for a suffix of the interval. */
  private static lowerBound(lo: number, hi: number, pred: (i: number) => boolean): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Generated indexes that can satisfy the filter's ranges. */
  private genBounds(filter: CustomerFilter): [number, number] {
    let lo = 0;
    let hi = this.gen.count;
    for (const [field, range] of Object.entries(filter.ranges) as [RangeField, Range][]) {
      const f = (i: number) => this.genValue(i, field);
      const from = CustomerStore.lowerBound(0, this.gen.count, (i) => (range.minIncl ? f(i) >= range.min : f(i) > range.min));
      const to = CustomerStore.lowerBound(0, this.gen.count, (i) => (range.maxIncl ? f(i) > range.max : f(i) >= range.max));
      lo = Math.max(lo, from);
      hi = Math.min(hi, to);
    }
    return [lo, Math.max(lo, hi)];
  }

  /**
   * Customers matching `filter` in `key` order (descending when `desc`), starting after (or at, when `inclusive`) `from`.
   */
  *scan(key: SortKey, desc: boolean, filter: CustomerFilter, from: Position | null = null, inclusive = false): Generator<CustomerRecord> {
    const [lo, hi] = this.genBounds(filter);
    const pos = (i: number): Position => ({ k: this.genValue(i, key), id: this.gen.idOf(i) });
    // Generated side: the first index past `from` in the scan direction.
    let i: number;
    if (!desc) i = from ? CustomerStore.lowerBound(lo, hi, (j) => (inclusive ? cmp(pos(j), from) >= 0 : cmp(pos(j), from) > 0)) : lo;
    else i = (from ? CustomerStore.lowerBound(lo, hi, (j) => (inclusive ? cmp(pos(j), from) > 0 : cmp(pos(j), from) >= 0)) : hi) - 1;

    const list = this.overlaySorted(key);
    const opos = (c: CustomerRecord): Position => ({ k: sortValue(c, key), id: c.id });
    let o: number;
    if (!desc) o = from ? CustomerStore.lowerBound(0, list.length, (j) => (inclusive ? cmp(opos(list[j]), from) >= 0 : cmp(opos(list[j]), from) > 0)) : 0;
    else o = (from ? CustomerStore.lowerBound(0, list.length, (j) => (inclusive ? cmp(opos(list[j]), from) > 0 : cmp(opos(list[j]), from) >= 0)) : list.length) - 1;

    const step = desc ? -1 : 1;
    const genNext = (): number => {
      // Skips generated customers that the overlay replaced or deleted.
      while (i >= lo && i < hi && this.overlay.has(this.gen.idOf(i))) i += step;
      return i >= lo && i < hi ? i : -1;
    };
    const overlayNext = (): CustomerRecord | null => {
      while (o >= 0 && o < list.length) {
        if (filter.test(list[o])) return list[o];
        o += step;
      }
      return null;
    };
    for (;;) {
      const gi = genNext();
      const oc = overlayNext();
      if (gi < 0 && !oc) return;
      const takeGen = gi >= 0 && (!oc || (desc ? cmp(pos(gi), opos(oc)) > 0 : cmp(pos(gi), opos(oc)) < 0));
      if (takeGen) {
        i += step;
        const c = this.gen.customerAt(gi);
        if (filter.rangesOnly || filter.test(c)) yield c;
      } else {
        o += step;
        yield oc!;
      }
    }
  }

  page(args: PageArgs): Page {
    const desc = args.reverse;
    const fwd = (a: Position, b: Position) => (desc ? -cmp(a, b) : cmp(a, b));
    const posOf = (c: CustomerRecord): Position => ({ k: sortValue(c, args.sortKey), id: c.id });
    const exists = (it: Generator<CustomerRecord>) => !it.next().done;
    if (args.last != null && args.first == null) {
      const n = args.last;
      const items: CustomerRecord[] = [];
      let extra = false;
      for (const c of this.scan(args.sortKey, !desc, args.filter, args.before ?? null)) {
        if (args.after && fwd(posOf(c), args.after) <= 0) break;
        if (items.length === n) {
          extra = true;
          break;
        }
        items.push(c);
      }
      items.reverse();
      return {
        items,
        hasPreviousPage: extra,
        hasNextPage: args.before ? exists(this.scan(args.sortKey, desc, args.filter, args.before, true)) : false,
      };
    }
    const n = args.first ?? Infinity;
    const items: CustomerRecord[] = [];
    let extra = false;
    for (const c of this.scan(args.sortKey, desc, args.filter, args.after ?? null)) {
      if (args.before && fwd(posOf(c), args.before) >= 0) break;
      if (items.length === n) {
        extra = true;
        break;
      }
      items.push(c);
    }
    return {
      items,
      hasNextPage: extra,
      hasPreviousPage: args.after ? exists(this.scan(args.sortKey, !desc, args.filter, args.after, true)) : false,
    };
  }

  /** Shopify's counts stop at `limit` (default 10 000) and then say AT_LEAST. */
  count(filter: CustomerFilter, limit: number | null): { count: number; precision: 'EXACT' | 'AT_LEAST' } {
    const cap = limit ?? Infinity;
    let total: number;
    if (filter.rangesOnly) {
      const [lo, hi] = this.genBounds(filter);
      total = hi - lo;
      for (const [id, c] of this.overlay) {
        const i = this.gen.indexOf(id);
        if (i >= lo && i < hi) total--;
        if (c && Object.entries(filter.ranges).every(([f, r]) => inRange(r, f === 'id' ? c.id : c[f as 'createdAt' | 'updatedAt']))) total++;
      }
    } else {
      total = 0;
      for (const _ of this.scan('ID', false, filter)) {
        total++;
        if (total > cap) break;
      }
    }
    return total > cap ? { count: cap, precision: 'AT_LEAST' } : { count: total, precision: 'EXACT' };
  }
}
