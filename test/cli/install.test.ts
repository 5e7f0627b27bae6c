// One-shot install on a temporary host root: the built command as a child
// process, real files, real signals.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { copyMaster, eventually, listNames, readOrUndefined, runCommand, start, FIXTURES, TOKEN, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

const noTemps = async (dir: string): Promise<string[]> => (await listNames(dir)).filter((n) => n.startsWith('.multus-entrypoint-tmp.'));

describe('one-shot install (--once)', () => {
  it('installs the binary, the Multus config and the kubeconfig on a fresh node', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.stderr).not.toContain(TOKEN);
    expect(r.code).toBe(0);

    const installed = join(h.binDir, 'multus');
    expect(await fsp.readFile(installed)).toEqual(await fsp.readFile(h.srcBinary));
    expect((await fsp.stat(installed)).mode & 0o777).toBe(0o755);

    const config = JSON.parse((await readOrUndefined(join(h.confDir, '00-multus.conf')))!);
    expect(config).toMatchObject({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus', kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig' });
    expect(config.delegates).toEqual([JSON.parse(await fsp.readFile(join(FIXTURES, 'masters/10-flannel.conflist'), 'utf8'))]);

    const kubeconfig = parse((await readOrUndefined(h.kubeconfig))!);
    expect(kubeconfig.users[0].user.token).toBe(TOKEN);
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe('CA-1');
    expect((await fsp.stat(h.kubeconfig)).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(h.multusCniConfDir)).isDirectory()).toBe(true);
    expect([...await noTemps(h.confDir), ...await noTemps(h.binDir)]).toEqual([]);
  });

  it('rewrites nothing on a second run, and does not re-copy an identical binary', async () => {
    await copyMaster(h, 'masters/10-calico.conflist');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    const paths = [join(h.confDir, '00-multus.conf'), h.kubeconfig, join(h.binDir, 'multus')];
    const before = await Promise.all(paths.map((p) => fsp.stat(p)));
    await new Promise((r) => setTimeout(r, 30));
    const second = await runCommand([...h.args, '--once'], h.env);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/already installed/);
    expect(second.stderr).not.toMatch(/wrote|updated|installed the multus binary/);
    const after = await Promise.all(paths.map((p) => fsp.stat(p)));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  it('replaces a changed binary', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await fsp.writeFile(join(h.binDir, 'multus'), 'old multus, same length?');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    expect(await fsp.readFile(join(h.binDir, 'multus'))).toEqual(await fsp.readFile(h.srcBinary));
  });

  it('removes a stale 00-multus.conf when a 1.0.0 master yields 00-multus.conflist', async () => {
    await fsp.writeFile(join(h.confDir, '00-multus.conf'), '{"cniVersion":"0.3.1","name":"old","type":"multus"}');
    await copyMaster(h, 'masters/05-cilium.conflist');
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conflist', '05-cilium.conflist', 'multus.d']);
    expect(r.stderr).toMatch(/removed the stale twin/);
  });

  it('takes over from thin_entrypoint v4.2 at cniVersion 1.1.0: its single-plugin 00-multus.conf gives way to the 00-multus.conflist thin v4.3.0 writes too', async () => {
    // thin v4.2 wrote a conflist only for exactly "1.0.0" (v4.3.0: for every version from 1.0.0).
    const master = { cniVersion: '1.1.0', name: 'br', type: 'bridge' };
    await fsp.writeFile(join(h.confDir, '10-bridge.conf'), JSON.stringify(master));
    await fsp.writeFile(join(h.confDir, '00-multus.conf'), JSON.stringify({ cniVersion: '1.1.0', name: 'multus-cni-network', type: 'multus', kubeconfig: h.kubeconfig, delegates: [master] }));
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conflist', '10-bridge.conf', 'multus.d']);
    const written = JSON.parse(await fsp.readFile(join(h.confDir, '00-multus.conflist'), 'utf8')) as { cniVersion: string; plugins: { type: string; delegates: unknown[] }[] };
    expect(written).toMatchObject({ cniVersion: '1.1.0', plugins: [{ type: 'multus', delegates: [master] }] });
    expect(r.stderr).toMatch(/removed the stale twin of the Multus config file=\S*00-multus\.conf\n/);
  });

  it('skips invalid candidates and logs why, naming each file', async () => {
    for (const f of await fsp.readdir(join(FIXTURES, 'invalid'))) await copyMaster(h, `invalid/${f}`);
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(JSON.parse((await readOrUndefined(join(h.confDir, '00-multus.conf')))!).delegates[0].name).toBe('podman');
    for (const f of await fsp.readdir(join(FIXTURES, 'invalid'))) expect(r.stderr).toContain(join(h.confDir, f));
  });

  it('waits for a master and reacts when one appears', async () => {
    const run = start([...h.args, '--once', '--master-cni-wait-timeout=60'], h.env);
    await run.waitForLog(/waiting for a valid .conf, .conflist or .json master config/);
    await fsp.writeFile(join(h.confDir, '.10-bridge.conf.partial'), 'not yet');
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = await run.exited;
    expect(r.code).toBe(0);
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toContain('"podman"');
  });

  it('fails with exit 1 naming the dir when no master comes in time', async () => {
    await copyMaster(h, 'invalid/04-empty-plugins.conflist');
    const r = await runCommand([...h.args, '--master-cni-wait-timeout=1'], h.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no master config after 1 s \(--master-cni-wait-timeout\)/);
    expect(r.stderr).toContain(h.confDir);
  });

  it('copies a non-auto --multus-conf-file into the conf dir', async () => {
    const src = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(src, '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus"}\n');
    const r = await runCommand([...h.args, '--once', `--multus-conf-file=${src}`], h.env);
    expect(r.code).toBe(0);
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toBe(await fsp.readFile(src, 'utf8'));
  });

  it('prints the plan with --dry-run, token masked, and writes nothing', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = await runCommand([...h.args, '--dry-run'], h.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# would write ${join(h.confDir, '00-multus.conf')}`);
    expect(r.stdout).toContain(`# would install ${h.srcBinary}`);
    expect(r.stdout).toMatch(/token: \[redacted\]\n/);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist']);
    expect(await listNames(h.binDir)).toEqual([]);
  });

  it('logs JSON lines with --log-format=json', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = await runCommand([...h.args, '--once', '--log-format=json'], h.env);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) });
  });

  it('brackets an IPv6 API server host and honours KUBECONFIG_MODE and --skip-tls-verify', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = await runCommand([...h.args, '--once', '--skip-tls-verify'], { ...h.env, KUBERNETES_SERVICE_HOST: 'fd00::10', KUBECONFIG_MODE: '0640' });
    expect(r.code).toBe(0);
    const cluster = parse((await readOrUndefined(h.kubeconfig))!).clusters[0].cluster;
    expect(cluster).toEqual({ server: 'https://[fd00::10]:6443', 'insecure-skip-tls-verify': true });
    expect((await fsp.stat(h.kubeconfig)).mode & 0o777).toBe(0o640);
  });
});

describe('signals', () => {
  it.each([['SIGTERM', []], ['SIGINT', []], ['SIGTERM', ['--skip-config-watch']]] as const)('exits 0 on %s %j', async (signal, flags) => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = start([...h.args, ...flags], h.env);
    await run.waitForLog(/the node is configured/);
    run.child.kill(signal);
    const r = await run.exited;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`received ${signal}`));
    // Without --cleanup-config-on-exit nothing is removed.
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBeDefined();
  });

  it('exits 0 on SIGTERM while still waiting for a master', async () => {
    const run = start([...h.args], h.env);
    await run.waitForLog(/waiting for/);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });
});

describe('killed mid-copy of a large binary', () => {
  it('leaves the old binary or none, and the next start removes the temporary file and converges', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    // 256 MiB: large enough that the copy is still running when we look.
    execFileSync('dd', ['if=/dev/urandom', `of=${h.srcBinary}`, 'bs=1M', 'count=256', 'status=none']);
    let sawTemp = false;
    for (let attempt = 0; attempt < 5 && !sawTemp; attempt++) {
      await fsp.rm(join(h.binDir, 'multus'), { force: true });
      const run = start([...h.args, '--once'], h.env);
      const found = await eventually(async () => (await noTemps(h.binDir)).length > 0 || run.child.exitCode !== null, (v) => v, 20_000, 'a temp file or exit');
      if (found && (await noTemps(h.binDir)).length > 0) {
        run.child.kill('SIGKILL');
        await run.exited;
        sawTemp = (await noTemps(h.binDir)).length > 0;
      } else {
        await run.exited;
      }
    }
    expect(sawTemp).toBe(true);
    // The target name never held a partial binary.
    expect(await readOrUndefined(join(h.binDir, 'multus'))).toBeUndefined();
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/removed a temporary file left by an earlier run/);
    expect(await noTemps(h.binDir)).toEqual([]);
    const [a, b] = await Promise.all([fsp.stat(h.srcBinary), fsp.stat(join(h.binDir, 'multus'))]);
    expect(b.size).toBe(a.size);
    expect(execFileSync('cmp', [h.srcBinary, join(h.binDir, 'multus')]).length).toBe(0);
  }, 120_000);
});
