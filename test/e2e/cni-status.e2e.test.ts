// CNI 1.1.0's STATUS verb through the config this program writes, with the
// Multus release the image carries (the Dockerfile's ARG MULTUS_VERSION).
// A runtime that speaks CNI 1.1.0 (containerd 2.x, CRI-O) calls STATUS on the
// node's default network to decide whether the node's network is ready;
// libcni calls it only when the config list's cniVersion is 1.1.0 or later.
// Multus v4.3.0 added STATUS for a single-plugin master (v4.2.3 read every
// delegate as a plugin list, so a node whose master is a 1.1.0 `.conf` failed
// STATUS) and passes the master's own STATUS error through. What the
// entrypoint owes it: a `00-multus.conflist` carrying the master's 1.1.0,
// the master unchanged as the delegate, and a kubeconfig Multus can build a
// client from (STATUS builds one before anything else).
//
// No cluster, no network namespace: STATUS talks to neither. The runtime's
// half is played as libcni plays it (the first config in byte order, each
// plugin with the list's name and cniVersion); the master's plugin is a
// probe script that records its calls.
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MULTUS_VERSION, type Components } from '../harness/components.js';
import { loadEnv } from '../harness/env.js';
import { pickConfig } from '../harness/runtime.js';
import { e2eDescribe } from '../harness/suite.js';

/** Appends "<command> <stdin>" to calls.log beside it; STATUS fails with CNI code 50 while `unavailable` exists there. */
const PROBE = `#!/bin/sh
here=$(dirname "$0")
stdin=$(cat)
echo "$CNI_COMMAND $stdin" >> "$here/calls.log"
if [ "$CNI_COMMAND" = STATUS ] && [ -f "$here/unavailable" ]; then
  echo '{"cniVersion":"1.1.0","code":50,"msg":"cni-probe: the default network is not available"}'
  exit 1
fi
exit 0
`;

let components: Components;
let work: string;
let caCert: string;

async function setUp(): Promise<void> {
  components = loadEnv().components;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'multus-status-e2e-'));
  // STATUS builds a Kubernetes client from the kubeconfig: its CA must be a real certificate.
  const key = path.join(work, 'ca.key');
  caCert = path.join(work, 'ca.crt');
  await execa('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await execa('openssl', ['req', '-x509', '-new', '-key', key, '-subj', '/CN=multus-status-e2e-ca', '-days', '1', '-sha256', '-out', caCert]);
}

interface Host {
  confDir: string;
  probeDir: string;
  calls(): string[];
}

let host: Host;
let n = 0;

function makeHost(): void {
  const root = path.join(work, `host-${++n}`);
  const confDir = path.join(root, 'etc/cni/net.d');
  const probeDir = path.join(root, 'plugins');
  const saDir = path.join(root, 'sa');
  for (const d of [confDir, probeDir, saDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(probeDir, 'cni-probe'), PROBE, { mode: 0o755 });
  fs.writeFileSync(path.join(saDir, 'token'), 'status-e2e-token');
  fs.copyFileSync(caCert, path.join(saDir, 'ca.crt'));
  host = {
    confDir,
    probeDir,
    calls: () => {
      const log = path.join(probeDir, 'calls.log');
      return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
    },
  };
}

/** Runs the program once on the host root, as the DaemonSet's install does. */
async function install(master: string, config: unknown): Promise<void> {
  fs.writeFileSync(path.join(host.confDir, master), JSON.stringify(config));
  const root = path.dirname(path.dirname(path.dirname(host.confDir)));
  const r = await execa(
    components.node,
    [
      components.entrypointScript, '--once', '--skip-multus-binary-copy',
      `--cni-conf-dir=${host.confDir}`, `--multus-autoconfig-dir=${host.confDir}`,
      `--multus-cni-conf-dir=${path.join(root, 'etc/cni/multus/net.d')}`,
      `--service-account-dir=${path.join(root, 'sa')}`,
      // The kubeconfig as the plugin sees it: here the host path is the path.
      `--multus-kubeconfig-file-host=${path.join(host.confDir, 'multus.d/multus.kubeconfig')}`,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }, extendEnv: false, reject: false },
  );
  expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({ exit: 0, stderr: expect.stringContaining('the node is configured') });
}

interface StatusOutcome {
  /** libcni calls no plugin below cniVersion 1.1.0. */
  called: boolean;
  ok: boolean;
  result: unknown;
}

/** STATUS of the node's default network, as libcni's GetStatusNetworkList runs it. */
async function status(): Promise<StatusOutcome> {
  const config = pickConfig(host.confDir);
  const [major = 0, minor = 0] = config.cniVersion.split('.').map(Number);
  if (major < 1 || (major === 1 && minor < 1)) return { called: false, ok: true, result: undefined };
  for (const plugin of config.plugins) {
    expect(plugin.type).toBe('multus');
    const r = await execa(components.multus, [], {
      input: JSON.stringify(plugin),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'STATUS', CNI_PATH: host.probeDir },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    if (r.exitCode !== 0) return { called: true, ok: false, result: r.stdout ? JSON.parse(r.stdout) : r.stderr };
  }
  return { called: true, ok: true, result: undefined };
}

e2eDescribe(`CNI STATUS through the generated config, with Multus ${MULTUS_VERSION}`, () => {
  beforeAll(setUp);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });
  beforeEach(makeHost);
  const single = { cniVersion: '1.1.0', name: 'probe-net', type: 'cni-probe' };

  it('a single-plugin 1.1.0 master: the config is a 1.1.0 conflist, and STATUS reaches the master through Multus', async () => {
    await install('10-probe.conf', single);
    expect(path.basename(pickConfig(host.confDir).file)).toBe('00-multus.conflist');
    expect(await status()).toEqual({ called: true, ok: true, result: undefined });
    expect(host.calls()).toEqual([`STATUS ${JSON.stringify(single)}`]);
  });

  it('a 1.1.0 conflist master: STATUS reaches each of its plugins, in order', async () => {
    await install('10-probe.conflist', { cniVersion: '1.1.0', name: 'probe-list', plugins: [{ type: 'cni-probe', step: 1 }, { type: 'cni-probe', step: 2 }] });
    expect(await status()).toEqual({ called: true, ok: true, result: undefined });
    expect(host.calls().map((c) => (JSON.parse(c.replace(/^STATUS /, '')) as { step: number }).step)).toEqual([1, 2]);
    expect(host.calls().every((c) => c.startsWith('STATUS '))).toBe(true);
  });

  it("the master's own STATUS error is what the runtime gets: the node's network reports why it is not ready", async () => {
    await install('10-probe.conf', single);
    fs.writeFileSync(path.join(host.probeDir, 'unavailable'), '');
    expect(await status()).toEqual({ called: true, ok: false, result: { code: 50, msg: 'cni-probe: the default network is not available' } });
  });

  it('a master below 1.1.0 gets a config below 1.1.0: the runtime calls no STATUS (as before STATUS existed)', async () => {
    await install('10-probe.conf', { ...single, cniVersion: '1.0.0' });
    expect(pickConfig(host.confDir).cniVersion).toBe('1.0.0');
    expect(await status()).toEqual({ called: false, ok: true, result: undefined });
    expect(host.calls()).toEqual([]);
  });
});
