// The benchmark's figures: each with its goal and whether it is met, printed as a table and written to bench/results.json.
export interface Figure {
  id: string;
  measure: string;
  figure: string;
  value: number;
  unit: string;
  /** Human-readable goal, e.g. "≥ 0.5"; null for figures reported for context. */
  goal: string | null;
  met: boolean | null;
}

export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  const n = v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit === '×' ? `${n} ×` : unit ? `${n} ${unit}` : n;
}

export function table(figures: Figure[]): string {
  const rows = figures.map((f) => [f.measure, f.figure, fmt(f.value, f.unit), f.goal ?? '', f.met === null ? '' : f.met ? 'met' : 'MISSED']);
  const head = ['#', 'figure', 'value', 'goal', ''];
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]!))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? pad(c, widths[i]!, true) : pad(c, widths[i]!, false))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Display width: CJK characters take two columns in a terminal. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

/** The same table as Markdown, for the README. */
export function markdown(figures: Figure[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| # | figure | value | goal | |',
    '|---|---|--:|---|---|',
    ...figures.map((f) => `| ${f.measure} | ${esc(f.figure)} | ${fmt(f.value, f.unit)} | ${esc(f.goal ?? '')} | ${f.met === null ? '' : f.met ? 'met' : '**missed**'} |`),
  ].join('\n');
}
