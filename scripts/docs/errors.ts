// The error-code catalogue of docs/http-api.md: every `defineErrorCodes({...})` in src/, read twice — from the source for the
// one-line meaning written above each code, and from the running catalogue (src/errors.ts errorCatalogue) for the status and
// retryability the code actually raises with. The two must list the same codes, or generating fails.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { errorCatalogue } from '../../src/errors.js';
import { code, table } from './markdown.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface ErrorCodeDoc {
  code: string;
  status: number;
  retryable: boolean;
  meaning: string;
  /** Where it is defined, relative to the repository (src/crm/codes.ts). */
  file: string;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

function jsDoc(text: string, node: ts.Node): string {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const doc = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**')).at(-1);
  if (!doc) return '';
  return doc
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The codes of every defineErrorCodes call in src/, with their doc comments, in declaration order per file. */
function codesInSource(): { code: string; meaning: string; file: string }[] {
  const out: { code: string; meaning: string; file: string }[] = [];
  for (const file of sourceFiles(path.join(root, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes('defineErrorCodes(')) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const rel = path.relative(root, file).split(path.sep).join('/');
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'defineErrorCodes') {
        const arg = node.arguments[0];
        if (!arg || !ts.isObjectLiteralExpression(arg)) throw new Error(`${rel}: defineErrorCodes needs an object literal for the docs`);
        for (const p of arg.properties) {
          if (!p.name || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) throw new Error(`${rel}: a code that is not a plain name`);
          out.push({ code: p.name.text, meaning: jsDoc(text, p), file: rel });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** Every error code, its status, retryability and meaning: src/errors.ts's own first, then each domain's file. */
export async function errorCodes(): Promise<ErrorCodeDoc[]> {
  const found = codesInSource();
  // Importing a module runs its defineErrorCodes: the catalogue then holds what the code really registers.
  for (const file of [...new Set(found.map((f) => f.file))]) await import(pathToFileURL(path.join(root, file)).href);
  const catalogue = errorCatalogue();
  const problems: string[] = [];
  for (const f of found) {
    if (!catalogue.has(f.code)) problems.push(`${f.code} (${f.file}) is not in the running catalogue`);
    if (!f.meaning) problems.push(`${f.code} (${f.file}) has no /** one-line meaning */ above it`);
  }
  for (const c of catalogue.keys()) if (!found.some((f) => f.code === c)) problems.push(`${c} is registered but no defineErrorCodes literal in src/ declares it`);
  const dupes = found.filter((f, i) => found.findIndex((g) => g.code === f.code) !== i);
  for (const d of dupes) problems.push(`${d.code} is declared twice (${d.file})`);
  if (problems.length) throw new Error(`error catalogue: ${problems.join('; ')}`);
  const order = (file: string) => (file === 'src/errors.ts' ? '' : file);
  return found
    .map((f) => ({ ...f, ...catalogue.get(f.code)! }))
    .sort((a, b) => order(a.file).localeCompare(order(b.file))); // stable: declaration order within a file
}

export function renderErrorTable(codes: ErrorCodeDoc[]): string {
  return table(
    ['code', 'HTTP status', 'retry can succeed', 'meaning', 'defined in'],
    codes.map((c) => [code(c.code), String(c.status), c.retryable ? 'yes' : 'no', c.meaning, code(c.file)]),
  );
}
