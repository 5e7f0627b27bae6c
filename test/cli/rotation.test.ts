// Service-account token and CA rotation, done the way the kubelet updates a
// projected volume (timestamped dir, "..data" symlink renamed over the old
// one): the running command rewrites the kubeconfig.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { registerSecret, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, readOrUndefined, TOKEN, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });

interface Kubeconfig { token: string; ca: string }
const kubeconfig = async (): Promise<Kubeconfig | undefined> => {
  const text = await readOrUndefined(h.kubeconfig);
  if (text === undefined) return undefined;
  const k = parse(text) as { users: { user: { token: string } }[]; clusters: { cluster: Record<string, string> }[] };
  return { token: k.users[0]!.user.token, ca: Buffer.from(k.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString() };
};
const rotated = (n: number): string => `eyJhbGciOiJSUzI1NiJ9.rotated-${n}-never-log-me.sig`;
for (let n = 1; n <= 3; n++) registerSecret(rotated(n));

describe('service-account rotation', () => {
  it('rewrites the kubeconfig when the kubelet rotates the token', async () => {
    const run = await startDaemon(h);
    expect(await kubeconfig()).toEqual({ token: TOKEN, ca: 'CA-1' });
    const config = await readOrUndefined(join(h.confDir, '00-multus.conf'));

    await writeServiceAccount(h.saDir, rotated(1), 'CA-1');
    await eventually(kubeconfig, (k) => k?.token === rotated(1), 10_000, 'the rotated token');
    expect((await fsp.stat(h.kubeconfig)).mode & 0o777).toBe(0o600);
    // The Multus config does not depend on the token: untouched.
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBe(config);
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/updated the kubeconfig/);
  });

  it('rewrites the kubeconfig when the CA rotates, and keeps up with rotation after rotation', async () => {
    const run = await startDaemon(h);
    await writeServiceAccount(h.saDir, TOKEN, 'CA-2');
    await eventually(kubeconfig, (k) => k?.ca === 'CA-2', 10_000, 'the new CA');
    // The watch survives the swap of "..data" and the removal of the old dir.
    for (const n of [1, 2, 3]) {
      await writeServiceAccount(h.saDir, rotated(n), `CA-${n + 2}`);
      await eventually(kubeconfig, (k) => k?.token === rotated(n) && k.ca === `CA-${n + 2}`, 10_000, `rotation ${n}`);
    }
    await stopDaemon(run);
  });

  it('follows a CA in another projected volume (KUBE_CA_FILE)', async () => {
    const caDir = join(h.root, 'ca-configmap');
    await writeServiceAccount(caDir, 'unused-token-in-the-ca-volume', 'CM-CA-1');
    registerSecret('unused-token-in-the-ca-volume');
    const run = await startDaemon(h, [], { ...h.env, KUBE_CA_FILE: join(caDir, 'ca.crt') });
    expect((await kubeconfig())?.ca).toBe('CM-CA-1');
    await writeServiceAccount(caDir, 'unused-token-in-the-ca-volume', 'CM-CA-2');
    await eventually(kubeconfig, (k) => k?.ca === 'CM-CA-2', 10_000, 'the CA from KUBE_CA_FILE');
    await stopDaemon(run);
  });

  it('keeps the last kubeconfig while the token is missing, and writes the new one when it is back', async () => {
    const run = await startDaemon(h);
    await fsp.rm(join(h.saDir, 'token'));
    await run.waitForLog(/cannot reconcile; keeping the last good files .*token/);
    expect((await kubeconfig())?.token).toBe(TOKEN);
    await writeServiceAccount(h.saDir, rotated(1), 'CA-1');
    await eventually(kubeconfig, (k) => k?.token === rotated(1), 10_000, 'the token once back');
    await stopDaemon(run);
  });
});
