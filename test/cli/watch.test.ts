// Keeping the Multus config true while the master config changes under it:
// the running command on a temporary host root, real files, real watch
// events (the periodic re-check is put out of reach).
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { countMatches, editJson, replaceFile, sleep, startDaemon, stopDaemon, witnessSeen } from '../helpers/daemon.js';
import { copyMaster, eventually, listNames, readOrUndefined, FIXTURES, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

const INVALIDATED = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';

const confPath = (): string => join(h.confDir, '00-multus.conf');
const conflistPath = (): string => join(h.confDir, '00-multus.conflist');
const readJson = async (path: string): Promise<Record<string, unknown> | undefined> => {
  const text = await readOrUndefined(path);
  try {
    return text === undefined ? undefined : JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
/** The generated config's delegates (in a .conflist they sit in the multus plugin). */
const delegates = async (path: string): Promise<Record<string, unknown>[] | undefined> => {
  const config = await readJson(path);
  const holder = Array.isArray(config?.plugins) ? (config.plugins as Record<string, unknown>[])[0] : config;
  return holder?.delegates as Record<string, unknown>[] | undefined;
};
/** The name of the master the generated config delegates to. */
const delegateName = async (path: string): Promise<unknown> => (await delegates(path))?.[0]?.name;
const generatedNames = async (): Promise<string[]> => (await listNames(h.confDir)).filter((n) => n.startsWith('00-multus.'));
const fixture = (name: string): Promise<string> => fsp.readFile(join(FIXTURES, name), 'utf8');

describe('the master config changes', () => {
  it('regenerates when the master content changes in place', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    await editJson(master, (c) => { (c.plugins as Record<string, unknown>[])[0]!.delegate = { hairpinMode: false, mtu: 1400 }; });
    const found = await eventually(() => delegates(confPath()), (d) => JSON.stringify(d).includes('"mtu":1400'), 10_000, 'the edit in the config');
    expect(found).toEqual([JSON.parse(await fsp.readFile(master, 'utf8'))]);
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/updated the Multus config .*master=10-flannel.conflist/);
  });

  it('regenerates when the master is replaced by rename, as installers write it', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const run = await startDaemon(h);
    const changed = { ...JSON.parse(await fixture('masters/87-podman-bridge.conf')), bridge: 'cni-podman9' };
    await replaceFile(master, JSON.stringify(changed));
    await eventually(() => delegates(confPath()), (d) => d?.[0]?.bridge === 'cni-podman9', 10_000, 'the new bridge name');
    await stopDaemon(run);
  });

  it('switches to a new valid file that sorts first, and not to an invalid one', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    await copyMaster(h, 'invalid/03-numeric-version.conf');
    await run.waitForLog(/skipped a candidate master config .*03-numeric-version.conf/);
    expect(await delegateName(confPath())).toBe('cbr0');

    await copyMaster(h, 'masters/05-cilium.conflist');
    await eventually(() => delegateName(conflistPath()), (n) => n === 'cilium', 10_000, 'cilium as the master');
    // cilium is CNI 1.0.0: the .conf twin must go, or it would sort first.
    await eventually(generatedNames, (n) => n.join() === '00-multus.conflist', 10_000, 'the .conf twin removed');
    await stopDaemon(run);
  });

  it('switches to the next candidate when the master is deleted', async () => {
    await copyMaster(h, 'masters/05-cilium.conflist');
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    expect(await delegateName(conflistPath())).toBe('cilium');
    await fsp.rm(join(h.confDir, '05-cilium.conflist'));
    await eventually(() => delegateName(confPath()), (n) => n === 'cbr0', 10_000, 'flannel as the master');
    await eventually(generatedNames, (n) => n.join() === '00-multus.conf', 10_000, 'the .conflist twin removed');
    await stopDaemon(run);
  });

  it('switches to the next candidate when the master turns invalid', async () => {
    await copyMaster(h, 'masters/05-cilium.conflist');
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    await fsp.writeFile(join(h.confDir, '05-cilium.conflist'), '{"cniVersion": "1.0.0", "name": "cilium", "plugins": [');
    await eventually(() => delegateName(confPath()), (n) => n === 'cbr0', 10_000, 'flannel as the master');
    await eventually(generatedNames, (n) => n.join() === '00-multus.conf', 10_000, 'the .conflist twin removed');
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/skipped a candidate master config .*05-cilium.conflist.*not valid JSON/);
  });

  it('with --cleanup-config-on-exit, invalidates the config when no master is left, and regenerates when one is back', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--cleanup-config-on-exit']);
    const good = await readOrUndefined(confPath());
    await fsp.rm(master);
    await eventually(() => readOrUndefined(confPath()), (t) => t === INVALIDATED, 10_000, 'the invalidation marker');
    await run.waitForLog(/no master config: invalidated the Multus config/);

    await copyMaster(h, 'masters/10-flannel.conflist');
    await eventually(() => readOrUndefined(confPath()), (t) => t === good, 10_000, 'the regenerated config');
    await run.waitForLog(/the node is configured again/);
    await stopDaemon(run);
  });

  it('without --cleanup-config-on-exit, keeps the last config when no master is left, and regenerates when one is back', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    const good = await readOrUndefined(confPath());
    await fsp.rm(master);
    await run.waitForLog(/no master config: keeping the last Multus config; waiting for/);
    await witnessSeen(run, h);
    expect(await readOrUndefined(confPath())).toBe(good);

    // A different master comes back: the config follows it.
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    await eventually(() => delegateName(confPath()), (n) => n === 'podman', 10_000, 'podman as the master');
    await stopDaemon(run);
  });

  it('switches between .conf and .conflist as the master cniVersion crosses 1.0.0, leaving no stale twin', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    const original = await fsp.readFile(master, 'utf8');

    await editJson(master, (c) => { c.cniVersion = '1.0.0'; });
    await eventually(generatedNames, (n) => n.join() === '00-multus.conflist', 10_000, 'only 00-multus.conflist');
    expect((await readJson(conflistPath()))!.cniVersion).toBe('1.0.0');

    await fsp.writeFile(master, original);
    await eventually(generatedNames, (n) => n.join() === '00-multus.conf', 10_000, 'only 00-multus.conf again');
    expect((await readJson(confPath()))!.cniVersion).toBe('0.3.1');
    const r = await stopDaemon(run);
    // The twin this program removed coming back is its own doing, not another writer's.
    expect(r.stderr).not.toMatch(/by someone else|another writer/);
  });

  it('does not invalidate the config while the master is being rewritten in place', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--cleanup-config-on-exit']);
    const content = await fsp.readFile(master, 'utf8');
    for (const name of ['cbr1', 'cbr2', 'cbr3']) {
      // As cp or a shell redirect does it: truncate, then write a moment later.
      const file = await fsp.open(master, 'w');
      await sleep(20);
      await file.writeFile(content.replace('"cbr0"', `"${name}"`));
      await file.close();
      await eventually(() => delegateName(confPath()), (n) => n === name, 10_000, name);
    }
    const r = await stopDaemon(run);
    expect(r.stderr).not.toMatch(/no master config|empty file/);
  });

  it('does not react to its own writes in a loop', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    await editJson(master, (c) => { c.name = 'cbr1'; });
    await eventually(() => delegateName(confPath()), (n) => n === 'cbr1', 10_000, 'the edit');
    await run.waitForLog(/updated the Multus config/);
    const writes = (): number => countMatches(run.stderr(), /wrote|updated|restored/);
    const before = writes();
    const stat = await fsp.stat(confPath());
    await witnessSeen(run, h);
    expect(writes()).toBe(before);
    const after = await fsp.stat(confPath());
    expect([after.ino, after.mtimeMs]).toEqual([stat.ino, stat.mtimeMs]);
    await stopDaemon(run);
  });
});

describe('a non-auto --multus-conf-file', () => {
  const source = (): string => join(h.root, 'image/70-multus.conf');
  const version = (n: number): string => `${JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus', kubeconfig: '/k', delegates: [{ type: 'bridge', n }] })}\n`;

  it('re-copies the source when it changes in place or is replaced', async () => {
    await fsp.writeFile(source(), version(1));
    const run = await startDaemon(h, [`--multus-conf-file=${source()}`]);
    const copy = join(h.confDir, '70-multus.conf');
    expect(await readOrUndefined(copy)).toBe(version(1));

    await fsp.writeFile(source(), version(2));
    await eventually(() => readOrUndefined(copy), (t) => t === version(2), 10_000, 'the in-place edit copied');

    await replaceFile(source(), version(3));
    await eventually(() => readOrUndefined(copy), (t) => t === version(3), 10_000, 'the replaced source copied');

    // A replaced file is watched anew: a later in-place edit is still seen.
    await fsp.writeFile(source(), version(4));
    await eventually(() => readOrUndefined(copy), (t) => t === version(4), 10_000, 'a later edit copied');
    await stopDaemon(run);
  });
});

describe('a pinned master (--multus-master-cni-file-name)', () => {
  it('follows its edits, is not outranked, and while invalid keeps the last config', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const run = await startDaemon(h, ['--multus-master-cni-file-name=87-podman-bridge.conf']);
    await copyMaster(h, 'masters/05-cilium.conflist');
    await editJson(master, (c) => { c.bridge = 'cni-pinned'; });
    await eventually(() => delegates(confPath()), (d) => d?.[0]?.bridge === 'cni-pinned', 10_000, 'the edit');
    expect(await generatedNames()).toEqual(['00-multus.conf']);
    const good = await readOrUndefined(confPath());
    await fsp.writeFile(master, '{"cniVersion": 1}');
    await run.waitForLog(/cannot reconcile; keeping the last good files .*87-podman-bridge.conf \(--multus-master-cni-file-name\): .*cniVersion.* is not a string/);
    expect(await readOrUndefined(confPath())).toBe(good);
    const r = await stopDaemon(run);
    expect(r.stderr).not.toMatch(/master=05-cilium/);
  });
});

describe('a non-auto --multus-conf-file that goes away', () => {
  it('keeps the copy while the source is missing, and copies it again when it is back', async () => {
    const source = join(h.root, 'image/70-multus.conf');
    const text = (n: number): string => `${JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus', delegates: [{ type: 'bridge', n }] })}\n`;
    await fsp.writeFile(source, text(1));
    const run = await startDaemon(h, [`--multus-conf-file=${source}`]);
    const copy = join(h.confDir, '70-multus.conf');
    await fsp.rm(source);
    await run.waitForLog(/cannot reconcile; keeping the last good files .*70-multus.conf \(--multus-conf-file\): no such file/);
    expect(await readOrUndefined(copy)).toBe(text(1));
    await fsp.writeFile(source, text(2));
    await eventually(() => readOrUndefined(copy), (t) => t === text(2), 10_000, 'the source copied again');
    await stopDaemon(run);
  });
});

describe('an autoconfig dir apart from the conf dir', () => {
  it('follows the master there and keeps the generated files here', async () => {
    const autoconfig = join(h.root, 'etc/cni/master.d');
    await fsp.mkdir(autoconfig);
    const master = join(autoconfig, '10-flannel.conflist');
    await fsp.copyFile(join(FIXTURES, 'masters/10-flannel.conflist'), master);
    const run = await startDaemon(h, [`--multus-autoconfig-dir=${autoconfig}`]);
    await editJson(master, (c) => { c.name = 'cbr-apart'; });
    await eventually(() => delegateName(confPath()), (n) => n === 'cbr-apart', 10_000, 'the edit');
    const good = await readOrUndefined(confPath());
    await fsp.rm(confPath());
    await eventually(() => readOrUndefined(confPath()), (t) => t === good, 10_000, 'the config restored');
    await stopDaemon(run);
  });
});

describe('--skip-config-watch', () => {
  it('installs once and then does not react to changes', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--skip-config-watch'], h.env, /not watching \(--skip-config-watch\)/);
    const good = await readOrUndefined(confPath());
    await editJson(master, (c) => { c.name = 'cbr1'; });
    await fsp.rm(h.kubeconfig);
    // Not watching, the program logs nothing to wait for: a fixed wait it is.
    // A loaded machine can only make this pass wrongly, never fail wrongly.
    await sleep(1000);
    expect(await readOrUndefined(confPath())).toBe(good);
    expect(await readOrUndefined(h.kubeconfig)).toBeUndefined();
    await stopDaemon(run);
  });
});

describe('directories that come and go', () => {
  it('sees a master in an autoconfig dir created after the start', async () => {
    const autoconfig = join(h.root, 'etc/cni/later.d');
    const run = await startDaemon(h, [`--multus-autoconfig-dir=${autoconfig}`], h.env, /waiting for a valid/);
    await fsp.mkdir(autoconfig);
    await fsp.copyFile(join(FIXTURES, 'masters/87-podman-bridge.conf'), join(autoconfig, '87-podman-bridge.conf'));
    await eventually(() => delegateName(confPath()), (n) => n === 'podman', 10_000, 'podman as the master');
    // And the new dir stays watched.
    await fsp.copyFile(join(FIXTURES, 'masters/05-cilium.conflist'), join(autoconfig, '05-cilium.conflist'));
    await eventually(() => delegateName(conflistPath()), (n) => n === 'cilium', 10_000, 'cilium as the master');
    await stopDaemon(run);
  });
});
