// Never half a configuration: 00-multus.conf names the kubeconfig, so it is
// written only once that kubeconfig is in place. At start a fault in either
// file leaves the node's files as they were (exit 1); while running the last
// good pair stays. Each case changes the master between the good run and the
// failing one, so a config written anyway would show.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { expectNoSecrets, registerSecret, startDaemon, stopDaemon } from '../helpers/daemon.js';
import type { HostRoot } from '../helpers/host-root.js';
import { copyMaster, eventually, listNames, readOrUndefined, runCommand, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

const config = (): Promise<string | undefined> => readOrUndefined(join(h.confDir, '00-multus.conf'));
/** The config 05-cilium.conflist (cniVersion 1.0.0) would give. */
const conflist = (): Promise<string | undefined> => readOrUndefined(join(h.confDir, '00-multus.conflist'));
const ROTATED = 'eyJhbGciOiJSUzI1NiJ9.never-half-rotated-never-log-me.sig';
registerSecret(ROTATED);

interface Fault {
  name: string;
  /** Makes the next run fail; gives the env to run it with. */
  apply(h: HostRoot): Promise<NodeJS.ProcessEnv>;
  message: RegExp;
}

const kubeconfigFaults: Fault[] = [
  { name: 'KUBERNETES_SERVICE_HOST unset', apply: async (x) => ({ ...x.env, KUBERNETES_SERVICE_HOST: '' }), message: /KUBERNETES_SERVICE_HOST is not set/ },
  { name: 'KUBERNETES_SERVICE_PORT unset', apply: async (x) => ({ ...x.env, KUBERNETES_SERVICE_PORT: '' }), message: /KUBERNETES_SERVICE_PORT is not set/ },
  { name: 'the token missing', apply: async (x) => { await fsp.rm(join(x.saDir, 'token')); return x.env; }, message: /token: cannot read the service-account token/ },
  { name: 'the CA missing', apply: async (x) => { await fsp.rm(join(x.saDir, 'ca.crt')); return x.env; }, message: /ca.crt: cannot read the CA certificate/ },
  {
    name: 'the kubeconfig dir not writable (multus.d is a file)',
    apply: async (x) => { await fsp.rm(join(x.confDir, 'multus.d'), { recursive: true, force: true }); await fsp.writeFile(join(x.confDir, 'multus.d'), 'in the way'); return x.env; },
    message: /multus\.d.*(cannot create the directory|cannot write the kubeconfig)/,
  },
];

describe('never half a configuration, at start', () => {
  it.each(kubeconfigFaults.map((f) => [f.name, f] as const))('a fresh node with %s gets no Multus config at all (exit 1)', async (_name, f) => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const env = await f.apply(h);
    const r = await runCommand([...h.args, '--once', '--master-cni-wait-timeout=0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(f.message);
    expectNoSecrets(r.stdout + r.stderr);
    expect(await config()).toBeUndefined();
    expect((await listNames(h.confDir)).filter((n) => n.startsWith('00-multus'))).toEqual([]);
  });

  it.each(kubeconfigFaults.map((f) => [f.name, f] as const))('a configured node with %s keeps its config, though the master changed', async (_name, f) => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    const good = await config();
    const goodKubeconfig = await readOrUndefined(h.kubeconfig);
    expect(good).toContain('flannel');
    // A new master that outranks the old one: a config written anyway would name it.
    await copyMaster(h, 'masters/05-cilium.conflist');
    const env = await f.apply(h);
    const r = await runCommand([...h.args, '--once', '--master-cni-wait-timeout=0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(f.message);
    expect(await config()).toBe(good);
    expect(await conflist()).toBeUndefined();
    if (!f.name.includes('multus.d')) expect(await readOrUndefined(h.kubeconfig)).toBe(goodKubeconfig);
  });

  it('a fault in the Multus config leaves the kubeconfig as it was (the token rotated meanwhile)', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    const good = await config();
    const goodKubeconfig = await readOrUndefined(h.kubeconfig);
    await writeServiceAccount(h.saDir, ROTATED, 'CA-2');
    const r = await runCommand([...h.args, '--once', '--master-cni-wait-timeout=0', '--cni-version=1.0.0'], h.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/differs from --cni-version/);
    expectNoSecrets(r.stdout + r.stderr);
    expect(await readOrUndefined(h.kubeconfig)).toBe(goodKubeconfig);
    expect(await config()).toBe(good);
  });
});

describe('never half a configuration, while running', () => {
  it('keeps the last good pair while the token is missing, though the master changed; writes the new pair once it is back', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    const good = await config();
    const goodKubeconfig = await readOrUndefined(h.kubeconfig);
    await fsp.rm(join(h.saDir, 'token'));
    await run.waitForLog(/cannot reconcile; keeping the last good files .*token/);
    await copyMaster(h, 'masters/05-cilium.conflist');
    // A check that saw this invalid file (logged) also saw the new master.
    await fsp.writeFile(join(h.confDir, '01-witness.conf'), '{');
    await run.waitForLog(/skipped a candidate master config .*01-witness\.conf/);
    expect(await config()).toBe(good);
    expect(await conflist()).toBeUndefined();
    expect(await readOrUndefined(h.kubeconfig)).toBe(goodKubeconfig);
    await writeServiceAccount(h.saDir, ROTATED, 'CA-1');
    // The new pair lands in more than one write: wait for all of it (booleans
    // only, so a timeout's message cannot carry the token).
    const newPair = async (): Promise<Record<string, boolean>> => ({
      conflistOfNewMaster: (await conflist())?.includes('cilium') === true,
      oldConfigGone: (await config()) === undefined,
      kubeconfigHasNewToken: (await readOrUndefined(h.kubeconfig))?.includes(ROTATED) === true,
    });
    const seen = await eventually(newPair, (s) => Object.values(s).every(Boolean), 30_000, 'the new pair once the token is back');
    expect(seen).toEqual({ conflistOfNewMaster: true, oldConfigGone: true, kubeconfigHasNewToken: true });
    await stopDaemon(run);
  });
});
