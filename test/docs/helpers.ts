// Reading the Markdown of docs/ in tests: files, tables and the `kizuna …` command lines they show.
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export function readDoc(file: string): string {
  return fs.readFileSync(path.join(root, file), 'utf8');
}

/** The cells of a Markdown table row (`| a | b \| c |` → ['a', 'b | c']); null for lines that are not rows. */
export function rowCells(line: string): string[] | null {
  if (!/^\s*\|.*\|\s*$/.test(line)) return null;
  const cells = line
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
  return cells.every((c) => /^:?-+:?$/.test(c)) ? null : cells;
}

/** The rows (header excluded) of the first table after `heading` (a line starting with it). */
export function tableAfter(text: string, heading: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) throw new Error(`no heading ${heading}`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    const isRow = /^\s*\|/.test(line);
    if (!isRow && inTable) break;
    if (!isRow) continue;
    inTable = true;
    const cells = rowCells(line);
    if (cells) rows.push(cells);
  }
  return rows.slice(1); // the header
}

/** The text of every inline code span and every line of fenced code blocks. */
export function codeTexts(markdown: string): string[] {
  const out: string[] = [];
  const fenced = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const m of markdown.matchAll(fenced)) out.push(...m[1]!.split('\n'));
  const prose = markdown.replace(fenced, '');
  for (const m of prose.matchAll(/(`+)([^`]+?)\1/g)) out.push(m[2]!);
  return out;
}

/** The first backticked value of a cell (`` `3000` `` → 3000), or null. */
export function firstCode(cell: string): string | null {
  const m = /`([^`]+)`/.exec(cell);
  return m ? m[1]! : null;
}
