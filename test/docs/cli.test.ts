// docs/cli.md is the CLI as commander defines it: the generated reference must be current, and the commands the docs show
// (there and in README/ARCHITECTURE) must exist with the options they use.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandPath, leafCommands, renderCliDoc } from '../../scripts/docs/cli.js';
import { codeTexts, readDoc, root, tableAfter } from './helpers.js';

const program = buildProgram();

function longFlags(cmd: Command): string[] {
  return [...cmd.options.map((o) => o.long!).filter(Boolean), '--help'];
}

/** The command a `kizuna …` line names, and the long options it uses; null when the words name no command. */
function resolve(words: string[]): { cmd: Command; flags: string[]; unknown?: string } {
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const next = cmd.commands.find((c) => c.name() === words[i]);
    if (!next) break;
    cmd = next;
  }
  const first = words[i];
  const unknown = cmd.commands.length && first && /^[a-z][a-z-]*$/.test(first) && first !== 'help' ? first : undefined;
  const flags = words.slice(i).filter((w) => /^--[a-z]/.test(w)).map((w) => w.replace(/=.*$/, ''));
  return { cmd, flags, unknown };
}

describe('docs/cli.md', () => {
  it('is what `npm run docs` generates from the commander definitions', () => {
    const committed = readDoc('docs/cli.md');
    expect(committed, 'docs/cli.md is out of date: run `npm run docs` and commit the result').toBe(renderCliDoc(committed));
  });

  it('documents the program src/cli/index.ts runs: same commands in the same order, same global options', () => {
    const help = execFileSync(process.execPath, [path.join(root, 'bin/kizuna.js'), '--help'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      encoding: 'utf8',
    });
    const section = (name: string) => {
      const lines = help.split('\n');
      const start = lines.indexOf(`${name}:`);
      const end = lines.findIndex((l, i) => i > start && l.trim() === '');
      return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/[\s,]+/)[0]);
    };
    expect(section('Commands')).toEqual([...program.commands.map((c) => c.name()), 'help']);
    expect(section('Options')).toEqual([...program.options.map((o) => o.short ?? o.long), '-h']);
  });

  it('gives the --json shape of every command that has --json, and of no other', () => {
    const documented = tableAfter(readDoc('docs/cli.md'), '## `--json` output').map((r) => r[0]!.replace(/`/g, ''));
    const withJson = leafCommands(program).filter((c) => c.options.some((o) => o.long === '--json')).map(commandPath);
    expect(documented).toEqual(withJson);
  });

  it('explains every argument a command takes', () => {
    const explained = tableAfter(readDoc('docs/cli.md'), '## Arguments').map((r) => r[0]!.replace(/`/g, ''));
    const used = [...new Set(leafCommands(program).flatMap((c) => c.registeredArguments.map((a) => `<${a.name()}>`)))];
    expect(explained.sort()).toEqual(used.sort());
  });

  const pages = [...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`), 'README.md', 'ARCHITECTURE.md'];
  for (const file of pages) {
    it(`${file} shows only commands and options that exist`, () => {
      const problems: string[] = [];
      for (const text of codeTexts(readDoc(file))) {
        for (const m of text.matchAll(/(?:^|[\s(`])kizuna((?:\s+[^\s`#|·;&]+)*)/g)) {
          const words = m[1]!.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^[[(]+|[\]),…]+$/g, ''));
          const { cmd, flags, unknown } = resolve(words);
          if (unknown) problems.push(`"kizuna${m[1]}": no command ${unknown}`);
          for (const f of flags) if (!longFlags(cmd).includes(f)) problems.push(`"kizuna${m[1]}": ${commandPath(cmd)} has no ${f}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
