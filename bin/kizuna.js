#!/usr/bin/env -S node --max-semi-space-size=4
// The CLI entry. Kizuna runs its TypeScript sources directly through tsx, so `npm ci && npm start` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
