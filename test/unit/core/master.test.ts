// Master selection: which config the runtime would load, and why others are skipped.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CandidateContent } from '../../../src/core/master.js';
import { candidateNames, checkCandidate, selectMaster } from '../../../src/core/master.js';
import { FIXTURES } from '../../helpers/host-root.js';

const content = (name: string, text: string): CandidateContent => ({ name, diskName: name, text });
const reasonOf = (name: string, text: string): string => {
  const verdict = checkCandidate(content(name, text));
  return 'reason' in verdict ? verdict.reason : 'ACCEPTED';
};

describe('candidateNames', () => {
  it('keeps .conf, .conflist and .json in byte order of their names', () => {
    const names = candidateNames(['b.conf', 'A.conflist', 'a.json', 'x.yaml', '10.conf.bak', 'multus.d'], { pinned: '', renamedMasters: false });
    expect(names.map((c) => c.name)).toEqual(['A.conflist', 'a.json', 'b.conf']);
  });

  it('ranks by the bytes of the names, not by locale or UTF-16 order', () => {
    // localeCompare gives _, a, Z; UTF-16 code units put the emoji (a
    // surrogate pair, 0xD83D) before U+FF01. Runtimes compare bytes.
    const listing = ['a.conf', '_.conf', 'Z.conf', '\u{1F600}.conf', '\uFF01.conf', '10.conf', '9.conf'];
    const names = candidateNames(listing, { pinned: '', renamedMasters: false }).map((c) => c.name);
    expect(names).toEqual(['10.conf', '9.conf', 'Z.conf', '_.conf', 'a.conf', '\uFF01.conf', '\u{1F600}.conf']);
  });

  it('picks the master by that byte order', () => {
    const bridge = (name: string): CandidateContent => content(name, `{"cniVersion":"0.4.0","name":"${name}","type":"bridge"}`);
    const listing = ['a-lower.conf', 'Z-upper.conf', '_under.conf'];
    const ranked = candidateNames(listing, { pinned: '', renamedMasters: false });
    const selection = selectMaster(ranked.map((c) => bridge(c.name)), '');
    expect(selection.kind === 'found' && selection.master.name).toBe('Z-upper.conf');
  });

  it('with a pinned name, only that file is a candidate, whatever its extension', () => {
    expect(candidateNames(['a.conf', 'pinned.cfg'], { pinned: 'pinned.cfg', renamedMasters: false }).map((c) => c.name)).toEqual(['pinned.cfg']);
  });

  it('counts <name>.old as <name> only with renamed masters and only when <name> is absent', () => {
    expect(candidateNames(['10-a.conf.old'], { pinned: '', renamedMasters: false })).toEqual([]);
    expect(candidateNames(['10-a.conf.old'], { pinned: '', renamedMasters: true })).toEqual([{ name: '10-a.conf', diskName: '10-a.conf.old' }]);
    expect(candidateNames(['10-a.conf', '10-a.conf.old'], { pinned: '', renamedMasters: true })).toEqual([{ name: '10-a.conf', diskName: '10-a.conf' }]);
    // Pinned: only the pinned name's .old stands for it.
    expect(candidateNames(['p.cfg.old', 'q.conf.old'], { pinned: 'p.cfg', renamedMasters: true })).toEqual([{ name: 'p.cfg', diskName: 'p.cfg.old' }]);
  });
});

describe('checkCandidate', () => {
  it.each(readdirSync(join(FIXTURES, 'masters')))('accepts the real-plugin sample %s', (file) => {
    expect(reasonOf(file, readFileSync(join(FIXTURES, 'masters', file), 'utf8'))).toBe('ACCEPTED');
  });

  it.each([
    ['01-truncated.conflist', /not valid JSON/],
    ['02-multus-custom.conf', /type "multus".*delegate to itself/],
    ['03-numeric-version.conf', /"cniVersion" is not a string/],
    ['04-empty-plugins.conflist', /"plugins" is not a non-empty list/],
    ['05-bad-capabilities.conf', /capability "ips" is not true or false/],
    ['06-empty.conf', /empty file/],
  ])('skips the invalid sample %s', (file, reason) => {
    expect(reasonOf(file, readFileSync(join(FIXTURES, 'invalid', file), 'utf8'))).toMatch(reason);
  });

  it.each([
    ['00-multus.conf', '{"cniVersion":"0.3.1","type":"bridge"}', /Multus config this program writes/],
    ['00-multus.conflist', '{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}', /Multus config this program writes/],
    ['.10-tmp.conf', '{"cniVersion":"0.3.1","type":"bridge"}', /hidden file/],
    ['10-a.conf', '[1,2]', /not a JSON object/],
    ['10-a.conf', '"text"', /not a JSON object/],
    ['10-a.conf', '{"cniVersion":"0.3.1"}', /no string "type"/],
    ['10-a.json', '{"cniVersion":"0.3.1","plugins":[{"type":"bridge"}]}', /plugin list must be named .conflist/],
    ['10-a.conf', '{"type":"bridge"}', /no "cniVersion"/],
    ['10-a.conf', '{"cniVersion":"latest","type":"bridge"}', /is not a version/],
    ['10-a.conflist', '{"cniVersion":"0.3.1","plugins":{"type":"bridge"}}', /non-empty list/],
    ['10-a.conflist', '{"cniVersion":"0.3.1","plugins":[{"type":"bridge"},"x"]}', /plugin 1 has no string "type"/],
    ['10-a.conflist', '{"cniVersion":"0.3.1","plugins":[{"type":7}]}', /plugin 0 has no string "type"/],
    ['10-a.conflist', '{"cniVersion":"0.3.1","plugins":[{"type":"bridge"},{"type":"multus-shim"}]}', /plugin 1 is of type "multus-shim"/],
    ['10-a.conflist', '{"cniVersion":"0.3.1","plugins":[{"type":"portmap","capabilities":[true]}]}', /plugin 0: "capabilities" is not an object/],
    ['10-a.conf', '{"cniVersion":"0.3.1","type":"bridge","capabilities":{"mac":1}}', /capability "mac"/],
    ['10-custom-name.conf', '{"cniVersion":"0.3.1","name":"x","type":"multus","delegates":[]}', /delegate to itself/],
  ])('skips %s with %s', (name, text, reason) => {
    expect(reasonOf(name, text)).toMatch(reason);
  });

  it('skips a config nested deeper than any real one (rendering it would overflow the stack)', () => {
    const deep = `{"cniVersion":"0.3.1","type":"bridge","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(reasonOf('05-deep.conf', deep)).toMatch(/nested deeper than 100 levels/);
    const fine = `{"cniVersion":"0.3.1","type":"bridge","x":${'['.repeat(20)}${']'.repeat(20)}}`;
    expect(reasonOf('05-fine.conf', fine)).toBe('ACCEPTED');
  });

  it('gives the master as parsed, so it can be delegates[0]', () => {
    const text = readFileSync(join(FIXTURES, 'masters', '10-flannel.conflist'), 'utf8');
    const verdict = checkCandidate(content('10-flannel.conflist', text));
    expect(verdict).toEqual({ master: { name: '10-flannel.conflist', diskName: '10-flannel.conflist', config: JSON.parse(text), text } });
  });

  it('passes on the reason a file could not be read', () => {
    expect(checkCandidate({ name: 'a.conf', diskName: 'a.conf', unreadable: 'dangling symbolic link' })).toEqual({ reason: 'dangling symbolic link' });
  });
});

describe('selectMaster', () => {
  const bridge = '{"cniVersion":"0.4.0","name":"b","type":"bridge"}';

  it('takes the first valid candidate and reports the skipped ones before it', () => {
    const selection = selectMaster([content('01-bad.conf', '{'), content('02-self.conf', '{"cniVersion":"0.3.1","type":"multus"}'), content('03-ok.conf', bridge), content('04-ok.conf', bridge)], '');
    expect(selection.kind).toBe('found');
    if (selection.kind !== 'found') return;
    expect(selection.master.name).toBe('03-ok.conf');
    expect(selection.skipped.map((s) => s.name)).toEqual(['01-bad.conf', '02-self.conf']);
  });

  it('reports none (with every reason) when nothing is valid', () => {
    expect(selectMaster([content('01-bad.conf', '{')], '')).toEqual({ kind: 'none', skipped: [{ name: '01-bad.conf', reason: expect.stringMatching(/JSON/) }] });
    expect(selectMaster([], '')).toEqual({ kind: 'none', skipped: [] });
  });

  it('makes an invalid pinned master an error naming it, not a skip', () => {
    expect(selectMaster([content('pinned.conf', '{"cniVersion":1}')], 'pinned.conf')).toEqual({
      kind: 'pinned-invalid', name: 'pinned.conf', reason: '"cniVersion" is not a string', skipped: [],
    });
  });
});
