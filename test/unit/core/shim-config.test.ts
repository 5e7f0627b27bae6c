// Rendering the thick mode's 00-multus.conf[list] (type multus-shim),
// checked against golden files: a master and flags in golden/shim/cases.json,
// the expected file beside it (first line: the file name).
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../../../src/base/json.js';
import { renderShimConfig } from '../../../src/core/shim-config.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { Options } from '../../../src/core/options.js';
import { FIXTURES } from '../../helpers/host-root.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden', 'shim');
interface GoldenCase { case: string; master: string; flags: string[] }
const cases = JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as GoldenCase[];

function optionsOf(flags: string[]): Options {
  const parsed = parseCommandLine(flags, {});
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed.options;
}

function masterOf(path: string): JsonObject {
  return JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as JsonObject;
}

describe('renderShimConfig (golden files)', () => {
  it.each(cases.map((c) => [c.case, c] as const))('%s', (_name, c) => {
    const rendered = renderShimConfig(c.master, masterOf(c.master), optionsOf(c.flags));
    const file = join(GOLDEN, `${c.case}.expected`);
    // UPDATE_GOLDEN=1 rewrites the expected files; review the diff before committing.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, `# ${rendered.fileName}\n${rendered.content}`);
    const [header, ...body] = readFileSync(file, 'utf8').split('\n');
    expect(rendered.fileName).toBe(header!.replace(/^# /, ''));
    expect(rendered.content).toBe(body.join('\n'));
  });
});

describe('renderShimConfig rules', () => {
  const podman = masterOf('masters/87-podman-bridge.conf');
  const parse = (flags: string[]): JsonObject => JSON.parse(renderShimConfig('m', podman, optionsOf(['--mode=thick', ...flags])).content) as JsonObject;

  it('names no kubeconfig, whatever --multus-kubeconfig-file-host says (the daemon uses its own client)', () => {
    expect(parse(['--multus-kubeconfig-file-host=/etc/k.kubeconfig'])).not.toHaveProperty('kubeconfig');
  });

  it('writes daemonSocketDir only when the host path is not the shim\'s default /run/multus', () => {
    expect(parse([])).not.toHaveProperty('daemonSocketDir');
    expect(parse(['--daemon-socket-dir-host=/run/multus//'])).not.toHaveProperty('daemonSocketDir');
    expect(parse(['--daemon-socket-dir-host=/var/run/multus'])).toMatchObject({ daemonSocketDir: '/var/run/multus' });
  });

  it('is type multus-shim with the master as its one delegate', () => {
    expect(parse([])).toMatchObject({ type: 'multus-shim', delegates: [podman] });
  });

  it('fails like thin on a cniVersion the flags do not allow, naming the file and the flag', () => {
    expect(() => renderShimConfig('87-podman-bridge.conf', podman, optionsOf(['--mode=thick', '--cni-version=1.0.0'])))
      .toThrow(/87-podman-bridge\.conf: cniVersion "0\.4\.0" differs from --cni-version "1\.0\.0"/);
  });
});
