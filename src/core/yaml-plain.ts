// A block-style YAML writer for documents whose every string the yaml
// package would write plain (unquoted): maps, lists of maps, strings and
// booleans. Its output is byte-identical to yaml's stringify(doc,
// { lineWidth: 0 }); for anything else it answers undefined and the caller
// uses the library. It exists only to keep yaml off the start path (its
// load and first run cost ~15 M instructions, ~10% of a start).

type PlainValue = string | boolean | PlainMap | PlainMap[];
export interface PlainMap {
  [key: string]: PlainValue;
}

// Conservative on purpose, a subset of what yaml writes plain: a letter
// first (no number, indicator, '.inf' or document marker), no spaces or
// quotes, no trailing ':' (it would read as a key), and none of the words
// YAML 1.1 or 1.2 reads as a boolean or null, in any case. The brackets are
// for IPv6 hosts in URLs.
const PLAIN = /^[A-Za-z][A-Za-z0-9._/+=:~[\]-]*$/;
const KEYWORD = /^(?:true|false|null|yes|no|on|off|y|n)$/i;

export function isSafePlain(s: string): boolean {
  return PLAIN.test(s) && !s.endsWith(':') && !KEYWORD.test(s);
}

function scalar(value: string | boolean): string | undefined {
  if (typeof value === 'boolean') return String(value);
  return isSafePlain(value) ? value : undefined;
}

/** The map's lines at this indent, or undefined when a part needs the yaml library. */
function mapLines(map: PlainMap, indent: string): string[] | undefined {
  const entries = Object.entries(map);
  if (entries.length === 0) return undefined; // yaml writes {}
  const lines: string[] = [];
  for (const [key, value] of entries) {
    if (!isSafePlain(key)) return undefined;
    if (typeof value === 'string' || typeof value === 'boolean') {
      const text = scalar(value);
      if (text === undefined) return undefined;
      lines.push(`${indent}${key}: ${text}`);
      continue;
    }
    const nested = Array.isArray(value) ? listLines(value, `${indent}  `) : mapLines(value, `${indent}  `);
    if (nested === undefined) return undefined;
    lines.push(`${indent}${key}:`, ...nested);
  }
  return lines;
}

/** yaml indents a list under its key, and starts each item's map on the "- " line. */
function listLines(list: PlainMap[], indent: string): string[] | undefined {
  if (list.length === 0) return undefined; // yaml writes []
  const lines: string[] = [];
  for (const item of list) {
    const itemLines = mapLines(item, `${indent}  `);
    if (itemLines === undefined) return undefined;
    const [first = '', ...rest] = itemLines;
    lines.push(`${indent}- ${first.slice(indent.length + 2)}`, ...rest);
  }
  return lines;
}

/** The document as yaml's stringify(doc, { lineWidth: 0 }) writes it, or undefined when only yaml can. */
export function stringifyPlain(doc: PlainMap): string | undefined {
  const lines = mapLines(doc, '');
  return lines === undefined ? undefined : `${lines.join('\n')}\n`;
}
