// The flag reference of docs/configuration.md, rendered from FLAGS, the
// table the parser and --help are built from, so the docs cannot drift
// from the program. test/deploy/docs-flags.test.ts compares the page with
// this rendering and rewrites it when run with UPDATE_DOCS=1.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS, type FlagSpec } from '../../src/core/options.js';

export const CONFIGURATION_DOC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'docs', 'configuration.md');
export const FLAGS_BEGIN = '<!-- flags:begin -->';
export const FLAGS_END = '<!-- flags:end -->';

/** The type word --help shows (pflag's), or bool for a boolean. */
function typeOf(spec: FlagSpec): string {
  return { string: 'string', bool: 'bool', seconds: 'int', port: 'int' }[spec.kind];
}

/** Text that markdown shows as written, inside a table cell. */
export function escapeCell(text: string): string {
  return text.replace(/[\\`*_|<>]/g, (c) => ({ '<': '&lt;', '>': '&gt;' })[c] ?? `\\${c}`);
}

/** A default as --help shows it: strings quoted, so that "" is visible. */
function defaultOf(spec: FlagSpec): string {
  return `\`${typeof spec.default === 'string' ? JSON.stringify(spec.default) : String(spec.default)}\``;
}

function descriptionOf(spec: FlagSpec): string {
  const env = spec.env ? ` Uses ${spec.env.map((e) => `\`${e}\``).join(', ')}.` : '';
  const help = escapeCell(spec.help);
  return `${help.charAt(0).toUpperCase()}${help.slice(1)}.${env}`;
}

/** The markdown table of the flags, in the order --help lists them. */
export function flagsTable(flags: readonly FlagSpec[] = FLAGS): string {
  const rows = flags.map((spec) => `| \`--${spec.flag}\` | ${typeOf(spec)} | ${defaultOf(spec)} | ${descriptionOf(spec)} |`);
  return ['| Flag | Type | Default | What it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The document with the text between the two marker comments replaced by `table`. */
export function withFlagsTable(doc: string, table: string): string {
  const begin = doc.indexOf(FLAGS_BEGIN);
  const end = doc.indexOf(FLAGS_END);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`the document has no ${FLAGS_BEGIN} ... ${FLAGS_END} block`);
  }
  return `${doc.slice(0, begin + FLAGS_BEGIN.length)}\n${table}\n${doc.slice(end)}`;
}
