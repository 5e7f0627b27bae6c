// --rename-conf-file: the master is renamed to <name>.old after the config
// is written (so the runtime loads only Multus), and stays the master: edits
// are followed, a later start finds it, an uninstall gives its name back.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { useFakeApi } from '../helpers/api-server.js';
import { editJson, replaceFile, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, listNames, readOrUndefined, FIXTURES, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
const fake = useFakeApi();

const RENAME = '--rename-conf-file';
const confPath = (): string => join(h.confDir, '00-multus.conf');
const oldPath = (): string => join(h.confDir, '10-flannel.conflist.old');
const delegate = async (): Promise<Record<string, unknown> | undefined> => {
  const text = await readOrUndefined(confPath());
  return text === undefined ? undefined : (JSON.parse(text) as { delegates: Record<string, unknown>[] }).delegates[0];
};
const original = (): Promise<string> => fsp.readFile(join(FIXTURES, 'masters/10-flannel.conflist'), 'utf8');

describe('--rename-conf-file', () => {
  it('renames the master to .old and keeps following edits to it', async () => {
    const run = await startDaemon(h, [RENAME]);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
    expect(await delegate()).toEqual(JSON.parse(await original()));
    await run.waitForLog(/renamed the master config \(--rename-conf-file\); it stays the master/);

    await editJson(oldPath(), (c) => { c.name = 'cbr-edited'; });
    await eventually(delegate, (d) => d?.name === 'cbr-edited', 10_000, 'the edit to the .old master');
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
    await stopDaemon(run);
  });

  it('takes a master rewritten under its original name, and renames that one', async () => {
    const run = await startDaemon(h, [RENAME]);
    const rewritten = { ...JSON.parse(await original()), name: 'cbr-reinstalled' };
    await replaceFile(join(h.confDir, '10-flannel.conflist'), JSON.stringify(rewritten));
    await eventually(delegate, (d) => d?.name === 'cbr-reinstalled', 10_000, 'the reinstalled master');
    await eventually(() => listNames(h.confDir), (n) => n.join() === '00-multus.conf,10-flannel.conflist.old,multus.d', 10_000, 'the new master renamed');
    expect(JSON.parse((await readOrUndefined(oldPath()))!).name).toBe('cbr-reinstalled');
    await stopDaemon(run);
  });

  it('finds <name>.old on a later start', async () => {
    await stopDaemon(await startDaemon(h, [RENAME]));
    const config = await readOrUndefined(confPath());
    await fsp.rm(confPath());
    const run = await startDaemon(h, [RENAME]);
    expect(await readOrUndefined(confPath())).toBe(config);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/the node is configured master=10-flannel.conflist/);
  });

  it('restores the name on uninstall', async () => {
    await fake.serve({ daemonSet: 'absent' });
    const run = await startDaemon(h, [RENAME, '--cleanup-config-on-exit'], fake.env(h.env));
    await editJson(oldPath(), (c) => { c.name = 'cbr-edited'; });
    await eventually(delegate, (d) => d?.name === 'cbr-edited', 10_000, 'the edit');
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restored the renamed master config file=.*10-flannel.conflist/);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    // Restored as it is now, edits included.
    expect(JSON.parse((await readOrUndefined(join(h.confDir, '10-flannel.conflist')))!).name).toBe('cbr-edited');
  });

  it('restores the name on uninstall by a later process that found <name>.old', async () => {
    await stopDaemon(await startDaemon(h, [RENAME]));
    await fake.serve({ daemonSet: 'absent' });
    const run = await startDaemon(h, [RENAME, '--cleanup-config-on-exit'], fake.env(h.env));
    await stopDaemon(run);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    expect(await readOrUndefined(join(h.confDir, '10-flannel.conflist'))).toBe(await original());
  });

  it('keeps the master renamed on a restart', async () => {
    await fake.serve();
    const run = await startDaemon(h, [RENAME, '--cleanup-config-on-exit'], fake.env(h.env));
    await stopDaemon(run);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
  });
});
