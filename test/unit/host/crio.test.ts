// --restart-crio's `systemctl restart crio`, in this process with a fake
// systemctl first on PATH (test/cli/crio.test.ts checks when the built
// program calls it): success is logged, and a failure is one error line
// saying why (what systemctl printed, or that there is no systemctl), never
// a throw.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restartCrio } from '../../../src/host/crio.js';
import { createLogger } from '../../../src/observe/log.js';

let dir: string;
let lines: string[];
const PATH = process.env.PATH;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'multus-crio-'));
  lines = [];
  process.env.PATH = `${dir}:${PATH ?? ''}`;
});
afterEach(async () => {
  process.env.PATH = PATH;
  await fsp.rm(dir, { recursive: true, force: true });
});
const log = createLogger('text', (l) => { lines.push(l); });

/** A systemctl that records its arguments, prints `stderr` and exits with `code`. */
async function systemctl(code: number, stderr = ''): Promise<void> {
  await fsp.writeFile(join(dir, 'systemctl'), `#!/bin/sh\necho "$*" >> '${join(dir, 'calls')}'\n${stderr ? `echo '${stderr}' >&2\n` : ''}exit ${code}\n`, { mode: 0o755 });
}
const calls = async (): Promise<string> => fsp.readFile(join(dir, 'calls'), 'utf8').catch(() => '');

describe('restartCrio', () => {
  it('runs `systemctl restart crio` and says it did', async () => {
    await systemctl(0);
    await restartCrio(log);
    expect(await calls()).toBe('restart crio\n');
    expect(lines).toEqual([expect.stringMatching(/INFO {2}restarted crio \(--restart-crio\)\n$/)]);
  });

  it('a failing systemctl: one error line with its exit and what it printed, and no throw', async () => {
    await systemctl(5, 'Failed to restart crio.service: Unit crio.service not found.');
    await restartCrio(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR systemctl restart crio failed \(--restart-crio\); continuing error=".*exit code 5.*: Failed to restart crio\.service: Unit crio\.service not found\."\n$/);
  });

  it('a systemctl that cannot be run (not executable): one line naming the cause, nothing made up', async () => {
    await fsp.writeFile(join(dir, 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    process.env.PATH = dir;
    await restartCrio(log);
    expect(lines).toEqual([expect.stringMatching(/ERROR systemctl restart crio failed \(--restart-crio\); continuing error="Command failed with EACCES: systemctl restart crio"\n$/)]);
  });

  it('no systemctl on PATH: says so in a line, and no throw', async () => {
    process.env.PATH = dir;
    await restartCrio(log);
    expect(lines).toEqual([expect.stringMatching(/ERROR systemctl restart crio failed \(--restart-crio\); continuing error="systemctl is not on PATH"\n$/)]);
  });
});
