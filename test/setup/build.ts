// Processes that tests start with bin/kizuna.js run the compiled dist/: build it once, before any test file, so that several
// of them starting at the same moment never each find it stale and build it at once.
import { ensureBuilt } from '../../scripts/build.mjs';

export async function setup(): Promise<void> {
  await ensureBuilt();
}
