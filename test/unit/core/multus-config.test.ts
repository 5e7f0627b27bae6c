// Rendering 00-multus.conf[list], checked against golden files: a master
// and flags in golden/cases.json, the expected file beside it.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../../../src/base/json.js';
import { INVALIDATED_CONTENT, mergeCapabilities, renderMultusConfig } from '../../../src/core/multus-config.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { Options } from '../../../src/core/options.js';
import { FIXTURES } from '../../helpers/host-root.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
interface GoldenCase { case: string; master: string; flags: string[] }
const cases = JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as GoldenCase[];

function optionsOf(flags: string[]): Options {
  const parsed = parseCommandLine(flags, {});
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed.options;
}

function masterOf(path: string): JsonObject {
  const file = path.startsWith('own/') ? join(GOLDEN, path) : join(FIXTURES, path);
  return JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
}

describe('renderMultusConfig (golden files)', () => {
  it.each(cases.map((c) => [c.case, c] as const))('%s', (_name, c) => {
    const rendered = renderMultusConfig(c.master, masterOf(c.master), optionsOf(c.flags));
    const expectedFile = readFileSync(join(GOLDEN, `${c.case}.expected`), 'utf8');
    const [header, ...body] = expectedFile.split('\n');
    expect(rendered.fileName).toBe(header!.replace(/^# /, ''));
    expect(rendered.content).toBe(body.join('\n'));
  });
});

describe('renderMultusConfig rules', () => {
  const podman = masterOf('masters/87-podman-bridge.conf');

  it('puts the master unchanged as the only delegate and never writes cniConf', () => {
    const out = JSON.parse(renderMultusConfig('m', podman, optionsOf([])).content) as JsonObject;
    expect(out.delegates).toEqual([podman]);
    expect(out).not.toHaveProperty('cniConf');
  });

  it('keeps the key order cniVersion, name, type, capabilities, ..., kubeconfig, delegates', () => {
    const out = JSON.parse(renderMultusConfig('m', podman, optionsOf(['--namespace-isolation'])).content) as JsonObject;
    expect(Object.keys(out)).toEqual(['cniVersion', 'name', 'type', 'capabilities', 'namespaceIsolation', 'kubeconfig', 'delegates']);
  });

  it('writes a .conf below 1.0.0 and a .conflist from 1.0.0, naming the twin to remove', () => {
    expect(renderMultusConfig('m', podman, optionsOf([]))).toMatchObject({ fileName: '00-multus.conf', twinName: '00-multus.conflist' });
    expect(renderMultusConfig('m', { ...podman, cniVersion: '1.0.0' }, optionsOf([]))).toMatchObject({ fileName: '00-multus.conflist', twinName: '00-multus.conf' });
    // Compared as versions, not strings: "0.10.0" < "1.0.0" < "10.0.0".
    expect(renderMultusConfig('m', { ...podman, cniVersion: '0.10.0' }, optionsOf([])).fileName).toBe('00-multus.conf');
    expect(renderMultusConfig('m', { ...podman, cniVersion: '10.0.0' }, optionsOf([])).fileName).toBe('00-multus.conflist');
  });

  it('fails on a --cni-version mismatch, naming both versions and the master', () => {
    expect(() => renderMultusConfig('87-podman-bridge.conf', podman, optionsOf(['--cni-version=1.0.0'])))
      .toThrow(/87-podman-bridge.conf: cniVersion "0.4.0" differs from --cni-version "1.0.0"/);
  });

  it('evaluates --cni-version against each master it is given (nothing remembered)', () => {
    const o = optionsOf(['--cni-version=0.4.0']);
    expect(renderMultusConfig('a', podman, o).fileName).toBe('00-multus.conf');
    expect(() => renderMultusConfig('b', { ...podman, cniVersion: '1.0.0' }, o)).toThrow(/differs/);
    expect(renderMultusConfig('a', podman, o).fileName).toBe('00-multus.conf');
  });

  it('needs a name in the master for --override-network-name', () => {
    const { name: _drop, ...nameless } = podman;
    expect(() => renderMultusConfig('x.conf', nameless, optionsOf(['--override-network-name']))).toThrow(/x.conf: --override-network-name needs a string "name"/);
  });

  it('omits capabilities when the master has none', () => {
    const out = JSON.parse(renderMultusConfig('m', { cniVersion: '0.3.1', name: 'n', type: 'bridge' }, optionsOf([])).content) as JsonObject;
    expect(out).not.toHaveProperty('capabilities');
  });

  it('renders valid JSON with a final newline', () => {
    const content = renderMultusConfig('m', podman, optionsOf([])).content;
    expect(content.endsWith('}\n')).toBe(true);
    expect(() => JSON.parse(content)).not.toThrow();
  });

  it('has the exact v3 invalidation text', () => {
    expect(INVALIDATED_CONTENT.trim()).toBe('{Multus configuration intentionally invalidated to prevent pods from being scheduled.}');
  });
});

describe('mergeCapabilities', () => {
  it('unions plugin capabilities, later plugins winning, false kept', () => {
    expect(mergeCapabilities(masterOf('own/merge-caps.conflist'), true)).toEqual({ ips: true, mac: false, portMappings: false, bandwidth: true });
  });
  it("takes a single config's own capabilities, even beside a stray plugins key", () => {
    expect(mergeCapabilities({ cniVersion: '0.4.0', type: 'bridge', capabilities: { ips: true } }, false)).toEqual({ ips: true });
    expect(mergeCapabilities({ cniVersion: '0.4.0', type: 'bridge', capabilities: { ips: true }, plugins: [] }, false)).toEqual({ ips: true });
  });
  it('keeps a capability named __proto__ as data', () => {
    const master = JSON.parse('{"cniVersion":"0.4.0","type":"bridge","capabilities":{"__proto__":true,"ips":true}}') as JsonObject;
    const out = JSON.parse(renderMultusConfig('x.conf', master, optionsOf([])).content, (k, v: unknown) => v);
    expect(JSON.stringify(out)).toContain('"capabilities":{"__proto__":true,"ips":true}');
  });
});
