// The LIFF SDK served from Kizuna itself rather than LINE's CDN: the page then loads nothing from third parties, works the same
// behind strict proxies, and runs exactly the @line/liff version pinned in package.json. esbuild turns the npm package into
// one classic script that sets window.liff; the bundle is built once per process.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function readLiffVersion(): string {
  // @line/liff's exports map does not expose package.json; its entry point sits next to it.
  const entry = createRequire(import.meta.url).resolve('@line/liff');
  return (JSON.parse(fs.readFileSync(path.join(path.dirname(entry), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The bundled @line/liff version; part of the SDK URL so a new version is a new URL and browsers may cache each forever. */
export const liffSdkVersion = readLiffVersion();

/** Where liff-assets serves the bundle; pass it as `sdkUrl` to renderLiffEmailPage. */
export const liffSdkPath = `/liff/sdk.js?v=${liffSdkVersion}`;

let bundle: Promise<string> | undefined;

export function liffSdkBundle(): Promise<string> {
  bundle ??= build().catch((e: unknown) => {
    bundle = undefined; // a failed build (e.g. a broken install being repaired) is tried again on the next request
    throw e;
  });
  return bundle;
}

async function build(): Promise<string> {
  // Imported lazily: esbuild starts a helper process, which only processes that serve the page should pay for.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    stdin: { contents: "import liff from '@line/liff';\nwindow.liff = liff;\n", resolveDir: here, loader: 'js', sourcefile: 'liff-entry.js' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // LINE's in-app browser is current WebView/WKWebView; es2017 still covers the older phones LINE supports.
    target: 'es2017',
    minify: true,
    legalComments: 'eof',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
