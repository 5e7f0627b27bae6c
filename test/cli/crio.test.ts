// --restart-crio: `systemctl restart crio` once, after the first config is
// written. A fake systemctl first on PATH records each call and whether the
// config was already there; a failing one must not stop the program.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { editJson, startDaemon, stopDaemon, witnessSeen } from '../helpers/daemon.js';
import { copyMaster, eventually, readOrUndefined, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();
let fakeBin: string;
let record: string;
beforeEach(async () => {
  fakeBin = join(h.root, 'fake-bin');
  record = join(h.root, 'systemctl-calls');
  await fsp.mkdir(fakeBin);
});

const confPath = (): string => join(h.confDir, '00-multus.conf');

/** A systemctl that appends "<args> config=<yes|no>" to the record, then exits with `code`. */
async function fakeSystemctl(code: number, stderr = ''): Promise<NodeJS.ProcessEnv> {
  await fsp.writeFile(join(fakeBin, 'systemctl'), [
    '#!/bin/sh',
    `if [ -f '${confPath()}' ]; then config=yes; else config=no; fi`,
    `echo "$* config=$config" >> '${record}'`,
    ...(stderr ? [`echo '${stderr}' >&2`] : []),
    `exit ${code}`,
    '',
  ].join('\n'), { mode: 0o755 });
  return { ...h.env, PATH: `${fakeBin}:${h.env.PATH ?? ''}` };
}
const calls = async (): Promise<string[]> => ((await readOrUndefined(record)) ?? '').split('\n').filter((l) => l !== '');

describe('--restart-crio', () => {
  it('runs `systemctl restart crio` once, after the first config is written', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--restart-crio'], await fakeSystemctl(0));
    expect(await calls()).toEqual(['restart crio config=yes']);
    await run.waitForLog(/restarted crio \(--restart-crio\)/);

    // Later writes do not restart it again.
    await editJson(master, (c) => { c.name = 'cbr1'; });
    await eventually(() => readOrUndefined(confPath()), (t) => t?.includes('"cbr1"') === true, 10_000, 'the edit');
    await witnessSeen(run, h);
    expect(await calls()).toEqual(['restart crio config=yes']);
    await stopDaemon(run);
  });

  it('waits for the config before restarting when the master comes late', async () => {
    const env = await fakeSystemctl(0);
    const run = await startDaemon(h, ['--restart-crio'], env, /waiting for a valid/);
    await witnessSeen(run, h);
    expect(await calls()).toEqual([]);
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    await eventually(calls, (c) => c.length > 0, 10_000, 'the systemctl call');
    await run.waitForLog(/watching for changes/);
    expect(await calls()).toEqual(['restart crio config=yes']);
    await stopDaemon(run);
  });

  it('logs a failing systemctl with its reason and keeps reconciling', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--restart-crio'], await fakeSystemctl(5, 'Failed to restart crio.service: Unit crio.service not found.'));
    expect(run.stderr()).toMatch(/ERROR systemctl restart crio failed \(--restart-crio\); continuing error="Command failed with exit code 5: systemctl restart crio: Failed to restart crio.service: Unit crio.service not found."/);
    expect(await calls()).toEqual(['restart crio config=yes']);
    await editJson(master, (c) => { c.name = 'cbr1'; });
    await eventually(() => readOrUndefined(confPath()), (t) => t?.includes('"cbr1"') === true, 10_000, 'the edit');
    await stopDaemon(run);
  });

  it('logs a missing systemctl and keeps running', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--restart-crio'], { ...h.env, PATH: fakeBin });
    expect(run.stderr()).toMatch(/systemctl restart crio failed \(--restart-crio\); continuing error="systemctl is not on PATH"/);
    await fsp.rm(confPath());
    await eventually(() => readOrUndefined(confPath()), (t) => t !== undefined, 10_000, 'the config restored');
    await stopDaemon(run);
  });

  it('does not call systemctl without --restart-crio', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [], await fakeSystemctl(0));
    await witnessSeen(run, h);
    await stopDaemon(run);
    expect(await calls()).toEqual([]);
  });
});
