// Compiles src/ (TypeScript) into dist/ (JavaScript with source maps) for production processes: they start without a
// TypeScript loader (no transpiling at start, no loader thread: ~33 MB less per process). Tests and benchmarks still run the
// sources through tsx. esbuild only strips types (one file in, one file out, imports unchanged); `npm run typecheck` is what
// checks them. Files the code reads next to itself (migrations, the vendored Shopify schema) are copied.
//
// `node scripts/build.mjs` builds; bin/kizuna.js calls ensureBuilt(), which builds only when dist/ is missing or older than a
// source, so `git pull && npm start` never runs stale code. npm ci builds too (package.json "prepare").
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const STAMP = '.built-from';
/** Besides .ts: what the code reads from its own folder at run time. */
const ASSETS = /\.(sql|json\.gz)$/;

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The newest modification time among the sources (and this script), in ms. */
function newestSource() {
  let newest = fs.statSync(fileURLToPath(import.meta.url)).mtimeMs;
  for (const f of walk(src)) newest = Math.max(newest, fs.statSync(f).mtimeMs);
  return newest;
}

function isFresh() {
  try {
    const built = Number(fs.readFileSync(path.join(dist, STAMP), 'utf8'));
    return built >= newestSource();
  } catch {
    return false;
  }
}

export async function build() {
  const started = newestSource();
  const { build: esbuild } = await import('esbuild');
  const files = walk(src);
  // Build next to dist/ and swap it in whole: a process starting meanwhile sees the old build or the new one, never half.
  const tmp = `${dist}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await esbuild({
    entryPoints: files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    outdir: tmp,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  for (const f of files.filter((f) => ASSETS.test(f))) {
    const to = path.join(tmp, path.relative(src, f));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(f, to);
  }
  fs.writeFileSync(path.join(tmp, STAMP), String(started));
  const old = `${dist}.${process.pid}.old`;
  if (fs.existsSync(dist)) fs.renameSync(dist, old);
  fs.renameSync(tmp, dist);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Builds dist/ unless it is already built from the current sources. */
export async function ensureBuilt() {
  if (!isFresh()) await build();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t = Date.now();
  await build();
  console.log(`dist/ built from src/ in ${Date.now() - t} ms`);
}
