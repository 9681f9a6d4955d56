// `npm run docs`: rewrites the generated blocks of docs/ from the program itself — docs/cli.md from the commander
// definitions. The prose around the blocks is hand-written and left as it is. test/docs/ fails when a committed file differs
// from what this would write, so run it after changing a command.
import fs from 'node:fs';
import path from 'node:path';
import { renderCliDoc } from './docs/cli.js';

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
