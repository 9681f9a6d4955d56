// Links between the docs resolve (file and heading), and nothing points at the contract text that lives outside the
// repository: users only see the repository, so comments and docs point at docs/ instead.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

const pages = [...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md', 'ARCHITECTURE.md'].sort();

/** GitHub's heading anchors: lower-cased, punctuation dropped (letters of any script kept), spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const slug = text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return filesUnder(rel);
    return /\.(ts|js|md|sql|json)$/.test(e.name) && !e.name.endsWith('.json.gz') ? [rel] : [];
  });
}

describe('docs links', () => {
  for (const page of pages) {
    it(`${page}: every relative link reaches an existing file and heading`, () => {
      const text = fs.readFileSync(path.join(root, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file ? path.normalize(path.join(path.dirname(page), file)) : page;
        const full = path.join(root, resolved);
        if (!fs.existsSync(full)) {
          broken.push(`${target}: no file ${resolved}`);
          continue;
        }
        if (anchor !== undefined && !anchors(fs.readFileSync(full, 'utf8')).has(decodeURIComponent(anchor))) {
          broken.push(`${target}: no heading #${anchor} in ${resolved}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it('nothing in the repository cites the contract file that lives outside it', () => {
    // Spelled indirectly so that this file is not itself a hit of the search (here or in a grep over the repository).
    const outside = [`${'contract'.toUpperCase()}.md`, `../${'shared'}`];
    const files = [...['src', 'test', 'bench', 'bin', 'scripts', 'docs'].flatMap(filesUnder), 'README.md', 'ARCHITECTURE.md', 'package.json'];
    const hits = files.flatMap((f) => {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      return outside.filter((s) => text.includes(s)).map((s) => `${f}: ${s}`);
    });
    expect(hits).toEqual([]);
  });
});
