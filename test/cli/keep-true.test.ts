// While running: the slow re-check catches what no event reports, and the
// flags are applied again to every regeneration (nothing remembered from
// the first one).
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { editJson, registerSecret, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { copyMaster, eventually, listNames, readOrUndefined, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

const confPath = (): string => join(h.confDir, '00-multus.conf');
const conflistPath = (): string => join(h.confDir, '00-multus.conflist');
type Json = Record<string, unknown>;
const readJson = async (path: string): Promise<Json | undefined> => {
  const text = await readOrUndefined(path);
  try {
    return text === undefined ? undefined : JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
};
const flannelDelegate = (c: Json): Json => (c.plugins as Json[])[0]!.delegate as Json;

describe('the slow re-check (--resync-interval)', () => {
  it('picks up a change that no watch reports', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--resync-interval=1']);
    // Written in place inside the projected volume's timestamped dir: the
    // watch is on the service-account dir's own entries, so no event comes.
    const rotated = 'eyJhbGciOiJSUzI1NiJ9.resync-in-place-never-log-me.sig';
    registerSecret(rotated);
    await fsp.writeFile(join(h.saDir, '..data', 'token'), rotated);
    const token = async (): Promise<unknown> => parse((await readOrUndefined(h.kubeconfig)) ?? '{}')?.users?.[0]?.user?.token;
    await eventually(token, (t) => t === rotated, 30_000, 'the token changed in place, in the kubeconfig');
    await stopDaemon(run);
  });
});

describe('--cni-version while running', () => {
  it('is checked again on every regeneration: a master that changes to another version keeps the last good config', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--cni-version=0.3.1']);
    const good = await readOrUndefined(confPath());
    await editJson(master, (c) => { c.cniVersion = '0.4.0'; flannelDelegate(c).mtu = 1400; });
    await run.waitForLog(/cannot reconcile; keeping the last good files .*cniVersion \\"0.4.0\\" differs from --cni-version \\"0.3.1\\"/, 30_000);
    expect(await readOrUndefined(confPath())).toBe(good);
    // Back to the required version: the edit goes through.
    await editJson(master, (c) => { c.cniVersion = '0.3.1'; });
    await eventually(() => readJson(confPath()), (c) => JSON.stringify(c).includes('"mtu":1400'), 30_000, 'the edit in the config');
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/the node is configured again/);
  });

  it('with --force-cni-version, is forced on every regeneration', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, ['--cni-version=1.0.0', '--force-cni-version']);
    expect((await readJson(conflistPath()))?.cniVersion).toBe('1.0.0');
    await editJson(master, (c) => { c.cniVersion = '0.4.0'; flannelDelegate(c).mtu = 1400; });
    const config = await eventually(() => readJson(conflistPath()), (c) => JSON.stringify(c).includes('"mtu":1400'), 30_000, 'the edit in the config');
    expect(config?.cniVersion).toBe('1.0.0');
    const multus = (config?.plugins as Json[])[0]!;
    expect((multus.delegates as Json[])[0]!.cniVersion).toBe('1.0.0');
    expect((await listNames(h.confDir)).filter((n) => n.startsWith('00-multus.'))).toEqual(['00-multus.conflist']);
    await stopDaemon(run);
  });
});
