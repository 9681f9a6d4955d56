// Shopify's search syntax for `customers(query:)` and `customersCount(query:)` (https://shopify.dev/docs/api/usage/search-syntax),
// the part Kizuna relies on: `field:value`, comparators `>` `>=` `<` `<=` after the colon, quoted values, implicit AND, `AND`,
// `OR`, and `-`/`NOT` negation. Unknown fields are ignored with a warning in `extensions.search`, as Shopify does.
import type { CustomerRecord } from './generator.js';
import { tzOffsetMs } from '../../time.js';

export interface Range {
  min: number;
  minIncl: boolean;
  max: number;
  maxIncl: boolean;
}

export type RangeField = 'id' | 'createdAt' | 'updatedAt';

export interface CustomerFilter {
  /** True when any record passes (no query). */
  all: boolean;
  /** Ranges every matching record lies in (from un-negated terms of a query without OR); lets the store binary-search. */
  ranges: Partial<Record<RangeField, Range>>;
  /** True when `ranges` alone decide the match (counts can then be computed without generating records). */
  rangesOnly: boolean;
  test(record: CustomerRecord): boolean;
}

export interface SearchWarning {
  field: string;
  message: string;
}

type Op = ':' | '>' | '>=' | '<' | '<=';
interface Term {
  field: string | null;
  op: Op;
  value: string;
  negate: boolean;
}

const KNOWN = new Set(['id', 'email', 'state', 'updated_at', 'created_at', 'tag', 'phone', 'first_name', 'last_name', 'country', 'customer_date', 'orders_count', 'total_spent']);

export function parseCustomerQuery(query: string | null | undefined, timeZone: string): { filter: CustomerFilter; warnings: SearchWarning[] } {
  const warnings: SearchWarning[] = [];
  const text = (query ?? '').trim();
  if (!text) return { filter: { all: true, ranges: {}, rangesOnly: true, test: () => true }, warnings };

  const groups: Term[][] = [[]];
  let negateNext = false;
  for (const token of tokenize(text)) {
    if (token === 'AND') continue;
    if (token === 'OR') {
      groups.push([]);
      continue;
    }
    if (token === 'NOT') {
      negateNext = true;
      continue;
    }
    const term = parseTerm(token);
    if (negateNext) term.negate = !term.negate;
    negateNext = false;
    if (term.field !== null && !KNOWN.has(term.field)) {
      warnings.push({ field: term.field, message: 'Invalid search field for this query.' });
      continue;
    }
    groups[groups.length - 1].push(term);
  }

  const tests = groups.filter((g) => g.length > 0).map((g) => g.map((t) => termTest(t, timeZone, warnings)));
  const ranges: CustomerFilter['ranges'] = {};
  let rangesOnly = false;
  if (groups.length === 1) {
    rangesOnly = true;
    for (const t of groups[0]) {
      const r = !t.negate && termRange(t, timeZone);
      if (r) ranges[r.field] = intersect(ranges[r.field], r.range);
      else rangesOnly = false;
    }
  }
  const filter: CustomerFilter = {
    all: tests.length === 0,
    ranges,
    rangesOnly,
    test: tests.length === 0 ? () => true : (c) => tests.some((group) => group.every((fn) => fn(c))),
  };
  return { filter, warnings };
}

function tokenize(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (/\s/.test(ch) || ch === '(' || ch === ')') {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function parseTerm(token: string): Term {
  let negate = false;
  if (token.startsWith('-') && token.length > 1) {
    negate = true;
    token = token.slice(1);
  }
  const colon = token.indexOf(':');
  if (colon <= 0) return { field: null, op: ':', value: unquote(token), negate };
  const field = token.slice(0, colon).toLowerCase();
  let rest = token.slice(colon + 1);
  let op: Op = ':';
  for (const candidate of ['>=', '<=', '>', '<'] as const) {
    if (rest.startsWith(candidate)) {
      op = candidate;
      rest = rest.slice(candidate.length);
      break;
    }
  }
  return { field, op, value: unquote(rest), negate };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Instant of a search date. Values without an offset are read in the shop's time zone, as Shopify's admin search does. */
export function parseSearchDate(value: string, timeZone: string): { at: number; dayLong: boolean } | null {
  if (DATE_ONLY.test(value)) return { at: zonedToUtc(`${value}T00:00:00`, timeZone), dayLong: true };
  if (!DATE_TIME.test(value)) return null;
  const v = value.replace(' ', 'T');
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : { at: t, dayLong: false };
  }
  return { at: zonedToUtc(v, timeZone), dayLong: false };
}

function zonedToUtc(local: string, timeZone: string): number {
  const naive = Date.parse(`${local}Z`);
  return naive - tzOffsetMs(timeZone, naive - tzOffsetMs(timeZone, naive));
}

function parseId(v: string): number | null {
  const m = /^(?:gid:\/\/shopify\/Customer\/)?(\d+)$/.exec(v);
  return m ? Number(m[1]) : null;
}

function termRange(t: Term, timeZone: string): { field: RangeField; range: Range } | null {
  if (t.field === 'id') {
    const n = parseId(t.value);
    return n === null ? null : { field: 'id', range: opRange(t.op, n, 1) };
  }
  if (t.field === 'updated_at' || t.field === 'created_at' || t.field === 'customer_date') {
    const d = parseSearchDate(t.value, timeZone);
    if (!d) return null;
    return { field: t.field === 'updated_at' ? 'updatedAt' : 'createdAt', range: opRange(t.op, d.at, d.dayLong && t.op === ':' ? 86_400_000 : 1000) };
  }
  return null;
}

/** `:` on a date means the whole day (or second) it names; comparators compare with the instant itself. */
function opRange(op: Op, v: number, width: number): Range {
  const r: Range = { min: -Infinity, minIncl: true, max: Infinity, maxIncl: true };
  if (op === ':') Object.assign(r, { min: v, minIncl: true, max: v + width, maxIncl: false });
  else if (op === '>') Object.assign(r, { min: v, minIncl: false });
  else if (op === '>=') Object.assign(r, { min: v, minIncl: true });
  else if (op === '<') Object.assign(r, { max: v, maxIncl: false });
  else Object.assign(r, { max: v, maxIncl: true });
  return r;
}

function intersect(a: Range | undefined, b: Range): Range {
  if (!a) return b;
  const r = { ...a };
  if (b.min > r.min || (b.min === r.min && !b.minIncl)) Object.assign(r, { min: b.min, minIncl: b.minIncl });
  if (b.max < r.max || (b.max === r.max && !b.maxIncl)) Object.assign(r, { max: b.max, maxIncl: b.maxIncl });
  return r;
}

export function inRange(r: Range, v: number): boolean {
  return (r.minIncl ? v >= r.min : v > r.min) && (r.maxIncl ? v <= r.max : v < r.max);
}

function compare(op: Op, a: number, b: number): boolean {
  return op === ':' ? a === b : op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
}

function wildcard(pattern: string, value: string | null | undefined): boolean {
  if (value == null) return false;
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (p === '*') return true;
  if (p.endsWith('*') && p.startsWith('*')) return v.includes(p.slice(1, -1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  return v === p;
}

function termTest(t: Term, timeZone: string, warnings: SearchWarning[]): (c: CustomerRecord) => boolean {
  const positive = positiveTest(t, timeZone, warnings);
  return t.negate ? (c) => !positive(c) : positive;
}

function positiveTest(t: Term, timeZone: string, warnings: SearchWarning[]): (c: CustomerRecord) => boolean {
  const v = t.value;
  switch (t.field) {
    case null: {
      const needle = v.toLowerCase();
      return (c) => [c.firstName, c.lastName, c.email, c.phone].some((s) => s != null && s.toLowerCase().includes(needle));
    }
    case 'email':
      return (c) => wildcard(v, c.email);
    case 'phone':
      return (c) => wildcard(v, c.phone);
    case 'first_name':
      return (c) => wildcard(v, c.firstName);
    case 'last_name':
      return (c) => wildcard(v, c.lastName);
    case 'state':
      return (c) => c.state === v.toUpperCase();
    case 'tag':
      return (c) => c.tags.some((tag) => tag.toLowerCase() === v.toLowerCase());
    case 'country':
      return (c) => c.addresses.length > 0 && (c.addresses[0].countryCodeV2.toLowerCase() === v.toLowerCase() || c.addresses[0].country.toLowerCase() === v.toLowerCase());
    case 'orders_count': {
      const n = Number(v);
      return (c) => compare(t.op, c.numberOfOrders, n);
    }
    case 'total_spent': {
      const n = Number(v);
      return (c) => compare(t.op, Number(c.amountSpent), n);
    }
    default: {
      const r = termRange(t, timeZone);
      if (!r) {
        warnings.push({ field: t.field, message: `Invalid value '${v}' for this field.` });
        return () => false;
      }
      return (c) => inRange(r.range, r.field === 'id' ? c.id : c[r.field]);
    }
  }
}
