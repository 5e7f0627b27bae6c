// The built-in YAML writer: for any document of maps, lists of maps, strings
// and booleans, it writes exactly what yaml's stringify(doc, { lineWidth: 0 })
// writes, or leaves it to the library.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { isSafePlain, stringifyPlain, type PlainMap } from '../../../src/core/yaml-plain.js';

describe('isSafePlain', () => {
  it.each(['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_x', 'LS0tLS1CRUdJTg==', 'https://10.96.0.1:443', 'https://[fd00::1]:6443', 'v1', 'a:b'])('takes %s', (s) => {
    expect(isSafePlain(s)).toBe(true);
  });
  it.each(['', 'true', 'False', 'NULL', 'yes', 'off', 'y', '-', '-a', '1a', '.inf', 'a:', 'a b', "it's", 'a"', 'a#b', 'é', 'a\n'])('leaves %j to yaml', (s) => {
    expect(isSafePlain(s)).toBe(false);
  });
});

describe('stringifyPlain, for any document', () => {
  const alphabet = fc.string({ unit: fc.constantFrom(...'Aaenotyz0189._/+=:~[]-'), maxLength: 8 });
  const text = fc.oneof(
    { arbitrary: fc.tuple(fc.constantFrom('a', 'N', 'o', 't', 'y'), alphabet).map(([a, b]) => a + b), weight: 30 },
    alphabet,
    fc.constantFrom('true', 'No', 'null', '-', '-1', 'a: b', ' a', '#a', "'a'"),
  );
  const { doc } = fc.letrec<{ doc: PlainMap; value: PlainMap[string] }>((tie) => ({
    doc: fc.oneof({ arbitrary: fc.dictionary(text, tie('value'), { minKeys: 1, maxKeys: 4 }), weight: 10 }, fc.constant({})),
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, fc.boolean(), tie('doc'), fc.array(tie('doc'), { maxLength: 3 })),
  }));

  it('writes what yaml writes, or leaves the document to it', () => {
    let written = 0;
    const runs = 1000;
    fc.assert(fc.property(doc, (d) => {
      const plain = stringifyPlain(d);
      if (plain === undefined) return;
      written++;
      expect(plain).toBe(stringify(d, { lineWidth: 0 }));
    }), { numRuns: runs });
    expect(written).toBeGreaterThan(runs / 20);
  });
});
