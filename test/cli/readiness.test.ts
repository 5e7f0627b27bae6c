// --readiness-indicator-file: the Multus config is written only while the
// default network's readiness file exists. Waited for at start like a
// master (its directory may not exist yet, as /run/flannel before flannel
// starts); its removal while running counts like "no master". The slow
// re-check is out of reach (startDaemon), so only watch events can pass.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, readOrUndefined, runCommand, useHostRoot } from '../helpers/host-root.js';

const INVALIDATED = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
let indicator: string;
beforeEach(async () => {
  indicator = join(h.root, 'run/flannel/subnet.env');
});

const config = (): Promise<string | undefined> => readOrUndefined(join(h.confDir, '00-multus.conf'));
const flag = (): string => `--readiness-indicator-file=${indicator}`;
const ready = async (): Promise<void> => {
  await fsp.mkdir(dirname(indicator), { recursive: true });
  await fsp.writeFile(indicator, 'FLANNEL_NETWORK=10.244.0.0/16\n');
};
const isMultus = (c: string | undefined): boolean => c !== undefined && c.includes('"type": "multus"');

describe('readiness indicator file', () => {
  it('writes no Multus config until the file appears, its directory created after the start', async () => {
    const run = await startDaemon(h, [flag()], h.env, /waiting for the readiness indicator file/);
    expect(run.stderr()).toContain(indicator);
    expect(await config()).toBeUndefined();
    await fsp.mkdir(join(h.root, 'run'));
    await fsp.mkdir(join(h.root, 'run/flannel'));
    expect(await config()).toBeUndefined();
    await fsp.writeFile(indicator, 'FLANNEL_NETWORK=10.244.0.0/16\n');
    const written = await eventually(config, isMultus, 10_000, 'the Multus config once the default network is ready');
    expect(JSON.parse(written!).readinessindicatorfile).toBe(indicator);
    await stopDaemon(run);
  });

  it('writes at once when the file is there at start', async () => {
    await ready();
    const r = await runCommand([...h.args, '--once', flag()], h.env);
    expect(r.code).toBe(0);
    expect(isMultus(await config())).toBe(true);
  });

  it('gives up after --master-cni-wait-timeout, naming the file, with no config written', async () => {
    const r = await runCommand([...h.args, '--once', flag(), '--master-cni-wait-timeout=1'], h.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the default network not ready after 1 s \(--master-cni-wait-timeout\): waited for the readiness indicator file .*subnet\.env/);
    expect(await config()).toBeUndefined();
  });

  it('keeps the last config when the file goes (logged), and is configured again once it is back', async () => {
    await ready();
    const run = await startDaemon(h, [flag()]);
    const good = await config();
    await fsp.rm(indicator);
    await run.waitForLog(/the default network is not ready: keeping the last Multus config; waiting for the readiness indicator file/);
    expect(await config()).toBe(good);
    await ready();
    await run.waitForLog(/the node is configured again/);
    expect(await config()).toBe(good);
    await stopDaemon(run);
  });

  it('with --cleanup-config-on-exit invalidates the config while the file is gone, its directory too, and restores it', async () => {
    await ready();
    const run = await startDaemon(h, [flag(), '--cleanup-config-on-exit']);
    const good = await config();
    await fsp.rm(join(h.root, 'run'), { recursive: true });
    await eventually(config, (c) => c === INVALIDATED, 10_000, 'the invalidated config');
    await run.waitForLog(/the default network is not ready: invalidated the Multus config/);
    await ready();
    await eventually(config, (c) => c === good, 10_000, 'the config restored');
    await stopDaemon(run);
  });

  it('holds back a non-auto config the same way', async () => {
    const source = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(source, '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","delegates":[{"type":"bridge"}]}\n');
    const run = await startDaemon(h, [flag(), `--multus-conf-file=${source}`], h.env, /waiting for the readiness indicator file/);
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toBeUndefined();
    await ready();
    await eventually(() => readOrUndefined(join(h.confDir, '70-multus.conf')), (c) => c !== undefined, 10_000, 'the copied config');
    await stopDaemon(run);
  });
});
