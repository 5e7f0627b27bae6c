// --cleanup-config-on-exit: on SIGTERM/SIGINT the command asks the API
// server (a stand-in on 127.0.0.1) whether its DaemonSet remains. Restart:
// everything stays. Uninstall: what it wrote goes. Exit 0 either way.
import { beforeAll, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { DAEMONSET, type DaemonSetState, type FakeApi, NAMESPACE, POD, type PodState, selfSignedCert, useFakeApi } from '../helpers/api-server.js';
import { registerSecret, runDaemonToEnd, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, listNames, readOrUndefined, TOKEN, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
const fake = useFakeApi();

const confPath = (): string => join(h.confDir, '00-multus.conf');
const CLEANUP = '--cleanup-config-on-exit';
const podPath = `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`;
const daemonSetPath = `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/${DAEMONSET}`;

async function snapshot(): Promise<{ config?: string; kubeconfig?: string }> {
  return { config: await readOrUndefined(confPath()), kubeconfig: await readOrUndefined(h.kubeconfig) };
}

/** What the uninstall check asked (the GETs; Events are POSTed to the same server). */
const asked = (): FakeApi['requests'] => fake.api.requests.filter((r) => r.method === 'GET');

function expectAskedWith(token: string): void {
  expect(asked()).toEqual([
    { method: 'GET', path: podPath, authorization: `Bearer ${token}` },
    { method: 'GET', path: daemonSetPath, authorization: `Bearer ${token}` },
  ]);
}

describe('cleanup on stop, over HTTP', () => {
  it.each<[DaemonSetState, RegExp]>([
    ['absent', /uninstall: removing what this program wrote .*DaemonSet kube-system\/kube-multus-ds is gone/],
    ['deleting', /uninstall: removing what this program wrote .*DaemonSet kube-system\/kube-multus-ds is being deleted/],
    ['forbidden', /uninstall: removing what this program wrote .*cannot tell whether the DaemonSet remains .*HTTP 403: daemonsets.apps \\"kube-multus-ds\\" is forbidden.*grant the service account get on daemonsets.apps/],
  ])('DaemonSet %s: uninstall, the config and kubeconfig are removed', async (state, logged) => {
    await fake.serve({ daemonSet: state });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(logged);
    expectAskedWith(TOKEN);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
    expect(r.stderr).toContain(`removed file=${confPath()}`);
    expect(r.stderr).toContain(`removed file=${h.kubeconfig}`);
    // The config first: never a config naming a kubeconfig that is gone.
    expect(r.stderr.indexOf(`removed file=${confPath()}`)).toBeLessThan(r.stderr.indexOf(`removed file=${h.kubeconfig}`));
    // Only what it wrote: the master and the installed binary stay.
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    expect(await listNames(h.binDir)).toEqual(['multus']);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('DaemonSet present: a restart on %s, nothing is touched', async (signal) => {
    await fake.serve();
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const before = await snapshot();
    const r = await stopDaemon(run, signal);
    expect(r.stderr).toMatch(/restart, not uninstall: leaving the Multus config and kubeconfig in place .*DaemonSet kube-system\/kube-multus-ds still exists/);
    expectAskedWith(TOKEN);
    expect(await snapshot()).toEqual(before);
    expect(r.stderr).not.toMatch(/removed/);
  });

  it('removes its files when the API server does not answer in time (cannot tell, so an uninstall), a second signal notwithstanding', async () => {
    // terminationGracePeriodSeconds 13: asked for 8 s (its grace period less 5 s).
    await fake.serve({ daemonSet: 'hang', podGraceSeconds: 13 });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const before = await snapshot();
    run.child.kill('SIGTERM');
    await eventually(async () => asked().length, (n) => n >= 2, 10_000, 'the DaemonSet asked for');
    // The kubelet may signal again while the check waits: it still finishes.
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/received SIGTERM again; still finishing/);
    // Asked again with backoff for 8 s (see node-selection.test.ts), then given up: no answer in time is an uninstall.
    expect(r.stderr).toMatch(/uninstall: removing what this program wrote .*no answer in \d+ attempts over [\d.]+ s of the 8 s grace budget/);
    expect(asked().slice(0, 2)).toEqual([
      { method: 'GET', path: podPath, authorization: `Bearer ${TOKEN}` },
      { method: 'GET', path: daemonSetPath, authorization: `Bearer ${TOKEN}` },
    ]);
    expect(before.config).toBeDefined();
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it.each<[PodState, string, RegExp]>([
    ['absent', 'a pod that is gone (404)', /uninstall: removing what this program wrote .*pod kube-system\/kube-multus-ds-x7k2p no longer exists/],
    ['orphan', 'a pod without an owner', /uninstall: removing what this program wrote .*pod kube-system\/kube-multus-ds-x7k2p is not owned by a DaemonSet/],
    ['replicaset', 'a pod owned by a ReplicaSet', /uninstall: removing what this program wrote .*pod kube-system\/kube-multus-ds-x7k2p is not owned by a DaemonSet/],
  ])('pod %s (%s): uninstall, without asking for a DaemonSet', async (pod, _what, logged) => {
    await fake.serve({ pod });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(logged);
    expect(fake.api.requests).toEqual([{ method: 'GET', path: podPath, authorization: `Bearer ${TOKEN}` }]);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it.each(['POD_NAME', 'POD_NAMESPACE'])('%s unset: uninstall, as the owner cannot be asked for', async (unset) => {
    await fake.serve();
    const run = await startDaemon(h, [CLEANUP], { ...fake.env(h.env), [unset]: undefined });
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/uninstall: removing what this program wrote .*POD_NAME or POD_NAMESPACE is not set, so the owning DaemonSet cannot be checked/);
    expect(fake.api.requests).toEqual([]);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it('with --once, leaves the node configured and asks nothing', async () => {
    await fake.serve({ daemonSet: 'absent' });
    const r = await runDaemonToEnd(h, [CLEANUP, '--once'], fake.env(h.env));
    expect(r.code).toBe(0);
    expect(fake.api.requests).toEqual([]);
    const after = await snapshot();
    expect(after.config).toContain('"type": "multus"');
    expect(after.kubeconfig?.includes(TOKEN)).toBe(true);
    expect(r.stderr).not.toMatch(/uninstall|removed/);
  });

  it('asks with the token as rotated, not as it was at start', async () => {
    const rotated = 'eyJhbGciOiJSUzI1NiJ9.rotated-for-cleanup-never-log-me.sig';
    registerSecret(rotated);
    await fake.serve({ token: rotated });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    await writeServiceAccount(h.saDir, rotated, 'CA-1');
    await eventually(() => readOrUndefined(h.kubeconfig), (t) => t?.includes(rotated) === true, 10_000, 'the rotated token written');
    const r = await stopDaemon(run);
    expectAskedWith(rotated);
    expect(r.stderr).toMatch(/restart, not uninstall/);
    expect((await snapshot()).config).toBeDefined();
  });

  it('removes the invalidated config on uninstall when the master had gone', async () => {
    await fake.serve({ daemonSet: 'absent' });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    await fsp.rm(join(h.confDir, '10-flannel.conflist'));
    await eventually(() => readOrUndefined(confPath()), (t) => t?.startsWith('{Multus configuration intentionally invalidated') === true, 10_000, 'the invalidated config');
    await stopDaemon(run);
    expect(await listNames(h.confDir)).toEqual(['multus.d']);
  });

  it('removes the copied non-auto config on uninstall, not its source', async () => {
    const source = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(source, '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","delegates":[{"type":"bridge"}]}\n');
    await fake.serve({ daemonSet: 'absent' });
    const run = await startDaemon(h, [CLEANUP, `--multus-conf-file=${source}`], fake.env(h.env));
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toBeDefined();
    await stopDaemon(run);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    expect(await readOrUndefined(source)).toBeDefined();
  });

  it('does not ask, and leaves everything, without --cleanup-config-on-exit', async () => {
    await fake.serve({ daemonSet: 'absent' });
    const run = await startDaemon(h, [], fake.env(h.env));
    const before = await snapshot();
    const r = await stopDaemon(run);
    expect(asked()).toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(r.stderr).not.toMatch(/uninstall|removed/);
  });
});

describe('cleanup on stop, over HTTPS', () => {
  let tls: { key: string; cert: string };
  beforeAll(async () => { tls = await selfSignedCert(); });

  it('verifies the API server with the service-account CA and keeps everything on a restart', async () => {
    await writeServiceAccount(h.saDir, TOKEN, tls.cert);
    await fake.serve({ tls });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const before = await snapshot();
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall/);
    expectAskedWith(TOKEN);
    expect(await snapshot()).toEqual(before);
  });

  it('verifies with KUBE_CA_FILE when set, not the service-account CA', async () => {
    const other = await selfSignedCert();
    await writeServiceAccount(h.saDir, TOKEN, other.cert);
    const caFile = join(h.root, 'cluster-ca/ca.crt');
    await fsp.mkdir(join(h.root, 'cluster-ca'));
    await fsp.writeFile(caFile, tls.cert);
    await fake.serve({ tls });
    const run = await startDaemon(h, [CLEANUP], { ...fake.env(h.env), KUBE_CA_FILE: caFile });
    const before = await snapshot();
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall/);
    expectAskedWith(TOKEN);
    expect(await snapshot()).toEqual(before);
  });

  it('with --skip-tls-verify, asks a server no CA of ours signed', async () => {
    const other = await selfSignedCert();
    await writeServiceAccount(h.saDir, TOKEN, other.cert);
    await fake.serve({ tls });
    const run = await startDaemon(h, [CLEANUP, '--skip-tls-verify'], fake.env(h.env));
    const before = await snapshot();
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall/);
    expectAskedWith(TOKEN);
    expect(await snapshot()).toEqual(before);
  });

  it('does not trust a server its CA did not sign: no answer, so its files go (an uninstall)', async () => {
    const other = await selfSignedCert();
    await writeServiceAccount(h.saDir, TOKEN, other.cert);
    await fake.serve({ tls });
    const run = await startDaemon(h, [CLEANUP], fake.env(h.env));
    const before = await snapshot();
    const r = await stopDaemon(run);
    // No connection is asked again; the pod (and its grace period) cannot be
    // read, so 30 s is assumed: 25 s of asking (it was a fixed 10 s).
    expect(r.stderr).toMatch(/uninstall: removing what this program wrote .*no answer in \d+ attempts over [\d.]+ s of the 25 s grace budget/);
    // The TLS handshake failed: no request (and no token) reached the server.
    expect(fake.api.requests).toEqual([]);
    expect(before.config).toBeDefined();
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  }, 60_000);
});
