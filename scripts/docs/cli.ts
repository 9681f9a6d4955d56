// docs/cli.md's reference block, from the commander definitions themselves: every command, argument and option with its
// default and choices, as `kizuna` parses them. src/cli/index.ts builds the program and parses argv in the same module, so
// this builds an equal program from the same register functions, in the same order; test/docs/cli.test.ts checks the
// command list against the real `kizuna --help`.
import { Command, type Option } from 'commander';
import { register as registerDemo } from '../../src/cli/commands/demo.js';
import { register as registerFakeShopify } from '../../src/cli/commands/fake-shopify.js';
import { register as registerFriends } from '../../src/cli/commands/friends.js';
import { register as registerOperator } from '../../src/cli/commands/operator.js';
import { register as registerServe } from '../../src/cli/commands/serve.js';
import { register as registerShopify } from '../../src/cli/commands/shopify.js';
import { register as registerTenant } from '../../src/cli/commands/tenant.js';
import { code, replaceGenerated, table } from './markdown.js';

/** The program of src/cli/index.ts, without parsing anything (the order is index.ts's). */
export function buildProgram(): Command {
  const program = new Command().name('kizuna');
  for (const register of [registerServe, registerTenant, registerOperator, registerFriends, registerShopify, registerFakeShopify, registerDemo]) {
    register(program);
  }
  return program;
}

/** Every command below `program` that runs something (groups such as `tenant` only hold subcommands), depth first. */
export function leafCommands(program: Command): Command[] {
  return program.commands.flatMap((c) => (c.commands.length ? leafCommands(c) : [c]));
}

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function optionDefault(o: Option): string {
  if (o.negate) return '';
  const v: unknown = o.defaultValue; // commander types it any
  if (v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.length ? v.map((x) => code(String(x))).join(', ') : 'none';
  return code(String(v));
}

function optionDescription(o: Option): string {
  const choices = o.argChoices ? ` (one of ${o.argChoices.map((c) => code(c)).join(', ')})` : '';
  return `${o.mandatory ? '**required** — ' : ''}${o.description}${choices}`;
}

/** A command's synopsis, arguments and options (its heading and description are the caller's). */
function renderCommand(cmd: Command): string {
  const path = commandPath(cmd);
  const out = ['```', `${path} ${cmd.usage()}`.trim(), '```'];
  const args = cmd.registeredArguments;
  // The commands declare no argument descriptions; docs/cli.md's "Arguments" section explains <tenant>, <id>, <email>, <file>.
  if (args.some((a) => a.description)) {
    out.push('', table(['argument', 'required', 'description'], args.map((a) => [code(`<${a.name()}>`), a.required ? 'yes' : 'no', a.description])));
  }
  const opts = cmd.options.filter((o) => !o.hidden);
  if (opts.length) {
    out.push(
      '',
      table(
        ['option', 'default', 'description'],
        opts.map((o) => [code(o.flags), optionDefault(o), optionDescription(o)]),
      ),
    );
  }
  return out.join('\n');
}

function renderGroup(group: Command): string {
  const lines = [`## ${code(commandPath(group))}`, '', group.description(), ''];
  if (!group.commands.length) return [...lines, renderCommand(group)].join('\n');
  for (const c of group.commands) lines.push(`### ${code(commandPath(c))}`, '', c.description(), '', renderCommand(c), '');
  return lines.join('\n').trim();
}

/** The generated block of docs/cli.md: a summary table, then a section per top-level command. */
export function renderCliReference(program: Command = buildProgram()): string {
  const summary = table(
    ['command', 'what it does'],
    leafCommands(program).map((c) => [`[${code(commandPath(c))}](#${anchor(commandPath(c))})`, c.description()]),
  );
  return [summary, ...program.commands.map(renderGroup)].join('\n\n');
}

/** GitHub's anchor of a command's heading (`kizuna tenant create` → kizuna-tenant-create). */
function anchor(path: string): string {
  return path.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

/** docs/cli.md with its generated block rewritten from the program. */
export function renderCliDoc(text: string, program: Command = buildProgram()): string {
  return replaceGenerated(text, 'commands', renderCliReference(program), 'docs/cli.md');
}
