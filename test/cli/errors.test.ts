// Bad input: a message naming the file or flag, exit 1 or 2, no stack
// trace, and the previous good config left in place. Between the good run
// and the failing one the master changes, so a config written before the
// failure would differ from the good one and be seen.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { HostRoot } from '../helpers/host-root.js';
import { copyMaster, readOrUndefined, runCommand, TOKEN, useHostRoot } from '../helpers/host-root.js';
import { editJson } from '../helpers/daemon.js';

const h = useHostRoot();
let goodConfig: string;
let goodKubeconfig: string;
beforeEach(async () => {
  const master = await copyMaster(h, 'masters/10-flannel.conflist');
  expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
  goodConfig = (await readOrUndefined(join(h.confDir, '00-multus.conf')))!;
  goodKubeconfig = (await readOrUndefined(h.kubeconfig))!;
  // Same cniVersion and name: every case below keeps its meaning.
  await editJson(master, (c) => { ((c.plugins as Record<string, unknown>[])[0]!.delegate as Record<string, unknown>).mtu = 1400; });
});

interface Case {
  name: string;
  prepare?: (h: HostRoot) => Promise<unknown>;
  flags?: (h: HostRoot) => string[];
  env?: NodeJS.ProcessEnv;
  code: 1 | 2;
  message: (h: HostRoot) => RegExp | string;
}

const cases: Case[] = [
  { name: 'unknown flag', flags: () => ['--frobnicate'], code: 2, message: () => /unknown option '--frobnicate'/ },
  { name: 'bad boolean', flags: () => ['--namespace-isolation=yes'], code: 2, message: () => /--namespace-isolation: "yes"/ },
  { name: 'bad log level', flags: () => ['--multus-log-level=trace'], code: 2, message: () => /--multus-log-level: "trace"/ },
  { name: 'traversal in the pinned master name', flags: () => ['--multus-master-cni-file-name=../../etc/x.conf'], code: 2, message: () => /--multus-master-cni-file-name/ },
  { name: 'missing binary', flags: (x) => [`--multus-bin-file=${x.root}/nope`], code: 1, message: (x) => `${x.root}/nope (--multus-bin-file): no such file or directory` },
  { name: 'missing token', prepare: (x) => fsp.rm(join(x.saDir, 'token')), code: 1, message: (x) => `${join(x.saDir, 'token')}: cannot read the service-account token: no such file or directory` },
  { name: 'empty token', prepare: async (x) => { await fsp.rm(join(x.saDir, 'token')); await fsp.writeFile(join(x.saDir, 'token'), ' \n'); }, code: 1, message: (x) => `${join(x.saDir, 'token')}: the service-account token is empty` },
  { name: 'missing CA', prepare: (x) => fsp.rm(join(x.saDir, 'ca.crt')), code: 1, message: (x) => new RegExp(`${join(x.saDir, 'ca.crt')}: cannot read the CA certificate`) },
  { name: 'missing KUBERNETES_SERVICE_HOST', env: { KUBERNETES_SERVICE_HOST: '' }, code: 1, message: () => /multus.kubeconfig: environment variable KUBERNETES_SERVICE_HOST is not set/ },
  { name: 'missing KUBERNETES_SERVICE_PORT', env: { KUBERNETES_SERVICE_PORT: '' }, code: 1, message: () => /environment variable KUBERNETES_SERVICE_PORT is not set/ },
  { name: 'pinned master is truncated JSON', prepare: (x) => copyMaster(x, 'invalid/01-truncated.conflist'), flags: () => ['--multus-master-cni-file-name=01-truncated.conflist'], code: 1, message: (x) => new RegExp(`${join(x.confDir, '01-truncated.conflist')} \\(--multus-master-cni-file-name\\): not valid JSON`) },
  { name: 'pinned master is Multus itself', prepare: (x) => copyMaster(x, 'invalid/02-multus-custom.conf'), flags: () => ['--multus-master-cni-file-name=02-multus-custom.conf'], code: 1, message: () => /02-multus-custom.conf \(--multus-master-cni-file-name\): it is of type "multus"/ },
  { name: 'pinned master has a numeric cniVersion', prepare: (x) => copyMaster(x, 'invalid/03-numeric-version.conf'), flags: () => ['--multus-master-cni-file-name=03-numeric-version.conf'], code: 1, message: () => /03-numeric-version.conf .*"cniVersion" is not a string/ },
  { name: 'pinned master has a non-boolean capability', prepare: (x) => copyMaster(x, 'invalid/05-bad-capabilities.conf'), flags: () => ['--multus-master-cni-file-name=05-bad-capabilities.conf'], code: 1, message: () => /05-bad-capabilities.conf .*capability "ips" is not true or false/ },
  { name: 'pinned master is empty', prepare: (x) => copyMaster(x, 'invalid/06-empty.conf'), flags: () => ['--multus-master-cni-file-name=06-empty.conf'], code: 1, message: () => /06-empty.conf .*empty file/ },
  { name: 'pinned master is a directory', prepare: (x) => fsp.mkdir(join(x.confDir, '20-dir.conf')), flags: () => ['--multus-master-cni-file-name=20-dir.conf'], code: 1, message: () => /20-dir.conf .*is a directory/ },
  { name: 'pinned master is a dangling link', prepare: (x) => fsp.symlink('/nonexistent/x.conf', join(x.confDir, '20-link.conf')), flags: () => ['--multus-master-cni-file-name=20-link.conf'], code: 1, message: () => /20-link.conf .*dangling symbolic link/ },
  { name: 'pinned master is huge', prepare: (x) => fsp.writeFile(join(x.confDir, '20-huge.conf'), `{"cniVersion":"0.3.1","type":"bridge","pad":"${'x'.repeat(2 * 1024 * 1024)}"}`), flags: () => ['--multus-master-cni-file-name=20-huge.conf'], code: 1, message: () => /20-huge.conf .*larger than/ },
  { name: 'pinned master is not UTF-8', prepare: (x) => fsp.writeFile(join(x.confDir, '20-latin1.conf'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), flags: () => ['--multus-master-cni-file-name=20-latin1.conf'], code: 1, message: () => /20-latin1.conf .*not UTF-8/ },
  { name: '--cni-version mismatch', flags: () => ['--cni-version=1.0.0'], code: 1, message: (x) => `${join(x.confDir, '10-flannel.conflist')}: cniVersion "0.3.1" differs from --cni-version "1.0.0"` },
  { name: 'unreadable non-auto source', flags: (x) => [`--multus-conf-file=${x.root}/missing.conf`], code: 1, message: (x) => `${x.root}/missing.conf (--multus-conf-file): no such file or directory` },
];

async function failsAndKeepsTheNode(c: Case): Promise<void> {
  await c.prepare?.(h);
  const r = await runCommand([...h.args, '--once', '--master-cni-wait-timeout=0', ...(c.flags?.(h) ?? [])], { ...h.env, ...c.env });
  expect(r.code).toBe(c.code);
  const message = c.message(h);
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
  expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBe(goodConfig);
  expect((await readOrUndefined(h.kubeconfig)) === goodKubeconfig).toBe(true);
}

const table = (list: Case[]): (readonly [string, Case])[] => list.map((c) => [c.name, c] as const);

describe('bad input', () => {
  it.each(table(cases))('%s', async (_name, c) => failsAndKeepsTheNode(c));

  it('prints help on stdout and exits 0', async () => {
    const r = await runCommand(['--help'], h.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: multus-entrypoint/);
    expect(r.stdout).toContain('--cleanup-config-on-exit');
  });
});
