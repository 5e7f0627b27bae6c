// docs/configuration.md lists every flag with the default and help text of
// FLAGS, the table the parser and --help are built from. A flag added,
// renamed or re-described without the docs fails here; UPDATE_DOCS=1
// rewrites the block between the marker comments instead of failing.
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { FLAGS } from '../../src/core/options.js';
import { CONFIGURATION_DOC, escapeCell, flagsTable, FLAGS_BEGIN, FLAGS_END, withFlagsTable } from '../tools/flags-doc.js';

describe('the flag reference in docs/configuration.md', () => {
  it('is what FLAGS renders (UPDATE_DOCS=1 rewrites it)', () => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    const rendered = withFlagsTable(doc, flagsTable());
    if (process.env.UPDATE_DOCS === '1' && rendered !== doc) writeFileSync(CONFIGURATION_DOC, rendered);
    else expect(doc).toBe(rendered);
  });

  it('has one row per flag, with its default', () => {
    const rows = flagsTable().split('\n').slice(2);
    expect(rows).toHaveLength(FLAGS.length);
    for (const [i, spec] of FLAGS.entries()) {
      expect(rows[i]).toContain(`\`--${spec.flag}\``);
      expect(rows[i]).toContain(typeof spec.default === 'string' ? `\`${JSON.stringify(spec.default)}\`` : `\`${String(spec.default)}\``);
    }
  });
});

describe('the renderer', () => {
  it('keeps table syntax and HTML out of a cell', () => {
    expect(escapeCell('a | b <name>.old *x* `y` \\')).toBe('a \\| b &lt;name&gt;.old \\*x\\* \\`y\\` \\\\');
  });

  it('replaces only the text between the markers', () => {
    const doc = `intro\n${FLAGS_BEGIN}\nold\n${FLAGS_END}\nafter\n`;
    expect(withFlagsTable(doc, 'new')).toBe(`intro\n${FLAGS_BEGIN}\nnew\n${FLAGS_END}\nafter\n`);
  });

  it('refuses a document without the markers', () => {
    expect(() => withFlagsTable('no markers', 'x')).toThrow(FLAGS_BEGIN);
  });
});
