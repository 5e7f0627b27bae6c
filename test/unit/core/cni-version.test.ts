// CNI versions compare as versions: a string compare would rank "0.10.0"
// before "0.9.0" and put "1.0" (= 1.0.0) below the conflist threshold.
import { describe, expect, it } from '@jest/globals';
import { compareCniVersions, isCniVersion, usesConflist } from '../../../src/core/cni-version.js';
import { renderMultusConfig } from '../../../src/core/multus-config.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';

const sign = (n: number): number => Math.sign(n);

describe('compareCniVersions', () => {
  it.each([
    ['0.10.0', '0.9.0', 1],
    ['0.9.0', '0.10.0', -1],
    ['10.0.0', '9.0.0', 1],
    ['1.0', '1.0.0', 0],
    ['1', '1.0.0', 0],
    ['01.0.0', '1.0.0', 0],
    ['1.0.0', '1.0.1', -1],
    ['1.1.0', '1.0.9', 1],
    ['0.4.0', '0.4.0', 0],
  ])('%s vs %s: %i', (a, b, expected) => {
    expect(sign(compareCniVersions(a, b))).toBe(expected);
  });
});

describe('usesConflist (from 1.0.0 on, compared as versions)', () => {
  it.each([
    ['0.3.1', false], ['0.4.0', false], ['0.10.0', false], ['0.99.99', false],
    ['1.0.0', true], ['1.0', true], ['1', true], ['01.0.0', true], ['1.1.0', true], ['10.0.0', true], ['9.0.0', true],
  ])('%s: %s', (version, expected) => {
    expect(usesConflist(version)).toBe(expected);
  });

  it('decides the file name of the rendered config', () => {
    const parsed = parseCommandLine([], {});
    if (parsed.kind !== 'run') throw new Error('expected options');
    const master = { cniVersion: '1.0', name: 'b', type: 'bridge' };
    expect(renderMultusConfig('10-b.conf', master, parsed.options).fileName).toBe('00-multus.conflist');
    expect(renderMultusConfig('10-b.conf', { ...master, cniVersion: '0.10.0' }, parsed.options).fileName).toBe('00-multus.conf');
  });
});

describe('isCniVersion', () => {
  it.each(['0.3.1', '1.0.0', '1.0', '1', '10.20.30'])('accepts %s', (v) => expect(isCniVersion(v)).toBe(true));
  it.each(['', 'latest', 'v1.0.0', '1.0.0.0', '1.0.0-rc1', ' 1.0.0', '1..0', '1.0.'])('rejects %j', (v) => expect(isCniVersion(v)).toBe(false));
});
