#!/usr/bin/env -S node --max-semi-space-size=4
// The CLI entry. Production processes run the compiled JavaScript in dist/ (scripts/build.mjs; rebuilt here first when a
// source is newer than the build), with source maps so stack traces name the TypeScript lines.
import { ensureBuilt } from '../scripts/build.mjs';

// Who started this process, read before anything else: if it goes away, Kizuna stops (src/lifecycle.ts).
globalThis.kizunaParentPid = process.ppid;
process.setSourceMapsEnabled(true);
await ensureBuilt();
await import('../dist/cli/index.js');
