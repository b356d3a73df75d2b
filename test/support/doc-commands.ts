// The commands README.md and docs/*.md tell a reader to type: every line of a sh/bash block and
// every inline `npm ...`/`npx ...` span (and `kubectl`/`cat` of a file in dist/ or secrets/), so that a test can run each one or find the test that does.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface DocCommand {
  /** `README.md:113`, where a reader finds it. */
  readonly where: string;
  /** The command as typed: continuation lines joined, its trailing `# comment` dropped. */
  readonly text: string;
  /**
   * A line of a shell block, an inline span of prose, or one option of a command's synopsis in a
   * table (`ping <cluster> [--event e] [--url url]`: one entry per option, in `text` with the option).
   */
  readonly kind: 'block' | 'inline' | 'synopsis';
  /** The numbered quick-start step it belongs to, for README's quick start. */
  readonly step?: number;
}

export const DOC_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => join('docs', name))];

const FENCE = /^( *)(```|~~~)([a-z]*)[^\n]*\n([\s\S]*?)^ *\2[^\n]*$/gm;
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
/** Inline spans that are commands to type: ours (npm, npx), kubectl or cat on a file of the checkout, flux and git. */
const INLINE_COMMAND = /^(npm|npx|flux|git) \S|^(kubectl|cat) .*\b(dist|secrets)\//;

/** The webhook commands, as tools/webhook.ts declares them (`command('url')`, `hookCommand('hook', ...)`). */
export const WEBHOOK_COMMANDS: ReadonlySet<string> = new Set(
  [...readFileSync(join(ROOT, 'tools', 'webhook.ts'), 'utf8').matchAll(/\b(?:command|hookCommand)\('([a-z-]+)'/g)].map((match) => match[1]),
);

/**
 * Prose's short form `webhook verify --heads git` as the command it stands for,
 * `npm run webhook -- verify <cluster> --heads git`; anything else unchanged.
 */
function longForm(span: string): string {
  const [program, command, ...rest] = span.split(' ');
  if (program !== 'webhook' || !WEBHOOK_COMMANDS.has(command)) return span;
  const cluster = rest.length > 0 && !rest[0].startsWith('-') ? [] : ['<cluster>'];
  return ['npm run webhook --', command, ...cluster, ...rest].join(' ');
}

/** The options of a synopsis `ping <cluster> [--event ping|push] [--url url]`: `--event ping`, `--url url`, ... */
function synopsisOptions(synopsis: string): string[] {
  return [...synopsis.matchAll(/\[([^\]]+)\]/g)].flatMap((group) => group[1].split(/\s*\\?\|\s*(?=--)/)).map((option) => option.trim().split(' ').slice(0, 1).join(' ')).filter((option) => option.startsWith('--'));
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** A shell block's commands: `\` continuations joined, comments and blank lines dropped. */
function blockCommands(body: string): { offset: number; text: string }[] {
  const commands: { offset: number; text: string }[] = [];
  let pending: { offset: number; text: string } | undefined;
  body.split('\n').forEach((raw, offset) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (pending) {
      pending.text += ` ${line.replace(/\\$/, '').trim()}`;
      if (!line.endsWith('\\')) {
        commands.push({ ...pending, text: pending.text.trim() });
        pending = undefined;
      }
      return;
    }
    if (line === '') return;
    if (line.endsWith('\\')) pending = { offset, text: line.slice(0, -1).trim() };
    else commands.push({ offset, text: line });
  });
  return commands;
}

/** README's quick-start step (1., 2., ...) a line of README is in, if any. */
function quickStartSteps(text: string): (line: number) => number | undefined {
  const start = text.indexOf('\n## Quick start');
  if (start < 0) return () => undefined;
  const end = text.indexOf('\n## ', start + 1);
  const first = lineOf(text, start + 1);
  const last = end < 0 ? Infinity : lineOf(text, end + 1);
  const stepStarts = [...text.slice(start, end < 0 ? undefined : end).matchAll(/^(\d+)\. /gm)].map((match) => ({ step: Number(match[1]), line: lineOf(text, start + match.index!) }));
  return (line) => {
    if (line < first || line > last) return undefined;
    return stepStarts.filter((step) => step.line <= line).at(-1)?.step;
  };
}

/** Every command in `file` (relative to the project root). */
export function commandsIn(file: string): DocCommand[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const stepOf = file === 'README.md' ? quickStartSteps(text) : () => undefined;
  const commands: DocCommand[] = [];
  for (const block of text.matchAll(FENCE)) {
    if (!SHELL.has(block[3])) continue;
    const bodyLine = lineOf(text, block.index!) + 1;
    for (const command of blockCommands(block[4])) {
      const line = bodyLine + command.offset;
      commands.push({ where: `${file}:${line}`, text: command.text, kind: 'block', step: stepOf(line) });
    }
  }
  // Inline spans may wrap across lines; fenced blocks are blanked first, keeping line numbers.
  const prose = text.replace(FENCE, (block) => block.replace(/[^\n]/g, ' '));
  for (const span of prose.matchAll(/`([^`]+)`/g)) {
    const command = longForm(span[1].replace(/\s+/g, ' ').trim());
    if (!INLINE_COMMAND.test(command)) continue;
    const line = lineOf(text, span.index!);
    commands.push({ where: `${file}:${line}`, text: command, kind: 'inline', step: stepOf(line) });
  }
  // A table row whose first cell is a webhook command's synopsis: every option of it is a command too.
  for (const row of prose.matchAll(/^\| `([a-z-]+) <cluster>([^`]*)` \|/gm)) {
    if (!WEBHOOK_COMMANDS.has(row[1])) continue;
    const line = lineOf(text, row.index!);
    commands.push({ where: `${file}:${line}`, text: `npm run webhook -- ${row[1]} <cluster>`, kind: 'synopsis', step: undefined });
    for (const option of synopsisOptions(row[2])) {
      commands.push({ where: `${file}:${line}`, text: `npm run webhook -- ${row[1]} <cluster> ${option}`, kind: 'synopsis', step: undefined });
    }
  }
  return commands;
}

export function allDocCommands(): DocCommand[] {
  return DOC_FILES.flatMap(commandsIn);
}

/** `npm run <script> -- <args>` (or `npm run -s ...`, with leading VAR=value words) as its script and arguments. */
export function npmScriptOf(command: string): { script: string; args: string[]; env: Record<string, string> } | undefined {
  const words = command.split(' ');
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  if (words[0] !== 'npm' || words[1] !== 'run') return undefined;
  const rest = words.slice(2).filter((word) => word !== '-s' && word !== '--silent');
  if (rest.length === 0) return undefined;
  const [script, separator, ...args] = rest;
  if (separator !== undefined && separator !== '--') return undefined;
  return { script, args, env };
}

/** Where `file` is, for messages: relative to the project root. */
export function projectPath(file: string): string {
  return relative(ROOT, file);
}
