// `npm run docs`: rewrites the generated blocks of docs/ from the program itself — docs/cli.md from the commander
// definitions, docs/http-api.md from the OpenAPI document the server serves at GET /api/docs, the route catalogue and the
// error-code catalogue. The prose around the blocks is hand-written and left as it is. test/docs/ fails when a committed
// file differs from what this would write, so run it after changing a command, a route's schema or an error code.
import fs from 'node:fs';
import path from 'node:path';
import { renderCliDoc } from './docs/cli.js';
import { errorCodes } from './docs/errors.js';
import { buildOfflineServer, describeServer, renderHttpApiDoc } from './docs/http-api.js';

const root = path.resolve(import.meta.dirname, '..');

async function update(file: string, render: (text: string) => string | Promise<string>): Promise<void> {
  const full = path.join(root, file);
  const before = fs.readFileSync(full, 'utf8');
  const after = await render(before);
  if (after === before) {
    process.stdout.write(`${file}: up to date\n`);
    return;
  }
  fs.writeFileSync(full, after);
  process.stdout.write(`${file}: updated\n`);
}

await update('docs/cli.md', (text) => renderCliDoc(text));
const app = await buildOfflineServer();
try {
  const server = await describeServer(app);
  const codes = await errorCodes();
  await update('docs/http-api.md', (text) => renderHttpApiDoc(text, server, codes));
} finally {
  await app.close();
}
