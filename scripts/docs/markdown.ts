// Shared by the doc generators: generated blocks inside hand-written Markdown, and table cells.
// A generated block sits between two HTML comments, so the prose around it stays hand-written and `npm run docs` rewrites
// only the block. Output must be deterministic (no dates, stable order): tests compare the committed files with it.

const begin = (name: string) => `<!-- BEGIN GENERATED: ${name} (npm run docs; do not edit by hand) -->`;
const end = (name: string) => `<!-- END GENERATED: ${name} -->`;

/** `text` with the block `name` replaced by `content`; throws when the block's markers are missing or repeated. */
export function replaceGenerated(text: string, name: string, content: string, file = 'the file'): string {
  const b = begin(name);
  const e = end(name);
  const i = text.indexOf(b);
  const j = text.indexOf(e);
  if (i < 0 || j < i || text.indexOf(b, i + 1) >= 0) {
    throw new Error(`${file} needs exactly one generated block "${name}":\n${b}\n${e}`);
  }
  return `${text.slice(0, i + b.length)}\n\n${content.trim()}\n\n${text.slice(j)}`;
}

/** A table cell: one line, pipes escaped. */
export function cell(s: string | number | boolean | null | undefined): string {
  if (s === null || s === undefined) return '';
  return String(s).replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

/** Inline code that survives backticks inside it. */
export function code(s: string): string {
  const fence = s.includes('`') ? '``' : '`';
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
