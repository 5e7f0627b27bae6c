// The modes of what the command writes on the host (docs/security.md, "File
// modes"): the generated config and a copied non-auto config 0600, as the
// CIS Kubernetes Benchmark (1.1.9/1.1.10) asks of CNI files (multus-cni
// #1301), the kubeconfig KUBECONFIG_MODE (0600), multus and passthru 0755,
// the directories it creates 0755, whatever the umask lets through. A file
// whose content is already right but whose mode is not gets its mode set in
// place, not rewritten: a rename would make the runtime reload an unchanged
// config.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startDaemon, stopDaemon } from '../helpers/daemon.js';
import type { Finished } from '../helpers/host-root.js';
import { COMMAND, copyMaster, eventually, runCommand, TOKEN, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

/** The mode as `ls -l` people write it: "0600". */
const modeOf = async (path: string): Promise<string> => `0${((await fsp.stat(path)).mode & 0o7777).toString(8)}`;
const confPath = (): string => join(h.confDir, '00-multus.conf');

/** Runs the command to completion under `umask 000`, where mkdir's and open's defaults would give 0777 and 0666. */
function runUnderUmask000(args: string[]): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, COMMAND, ...args], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('file modes', () => {
  it('a --once run leaves 00-multus.conf at 0600, the kubeconfig 0600, multus and passthru 0755, the dirs it creates 0755: under umask 000 too', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const passthru = join(h.root, 'image/passthru');
    await fsp.writeFile(passthru, '#!/bin/sh\necho fake passthru\n', { mode: 0o700 });
    // Dirs the command must create: the bin dir, multus.d/ and the multus conf dir (and its parent).
    await fsp.rm(h.binDir, { recursive: true });
    const r = await runUnderUmask000([...h.args, '--once', `--passthru-bin-file=${passthru}`]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('the node is configured') });
    expect(r.stderr).not.toContain(TOKEN);
    expect({
      config: await modeOf(confPath()),
      kubeconfig: await modeOf(h.kubeconfig),
      multus: await modeOf(join(h.binDir, 'multus')),
      passthru: await modeOf(join(h.binDir, 'passthru')),
      binDir: await modeOf(h.binDir),
      kubeconfigDir: await modeOf(dirname(h.kubeconfig)),
      multusCniConfDir: await modeOf(h.multusCniConfDir),
      multusCniConfDirParent: await modeOf(dirname(h.multusCniConfDir)),
    }).toEqual({
      config: '0600',
      kubeconfig: '0600',
      multus: '0755',
      passthru: '0755',
      binDir: '0755',
      kubeconfigDir: '0755',
      multusCniConfDir: '0755',
      multusCniConfDirParent: '0755',
    });
  });

  it('00-multus.conflist (cniVersion 1.0.0 and later) is 0600 too', async () => {
    await copyMaster(h, 'masters/05-cilium.conflist');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    expect(await modeOf(join(h.confDir, '00-multus.conflist'))).toBe('0600');
  });

  it('a copied non-auto --multus-conf-file is 0600, whatever the mode of its source', async () => {
    const src = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(src, '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus"}\n');
    await fsp.chmod(src, 0o644);
    const r = await runCommand([...h.args, '--once', `--multus-conf-file=${src}`], h.env);
    expect(r.code).toBe(0);
    expect(await modeOf(join(h.confDir, '70-multus.conf'))).toBe('0600');
    expect(await modeOf(src)).toBe('0644');
  });

  it('an existing 0644 config with the right content (an earlier release wrote it) gets 0600 in place: not rewritten, and said so', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    expect((await runCommand([...h.args, '--once'], h.env)).code).toBe(0);
    await fsp.chmod(confPath(), 0o644);
    const before = await fsp.stat(confPath());
    await new Promise((r) => setTimeout(r, 20));
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    const after = await fsp.stat(confPath());
    expect({ mode: await modeOf(confPath()), ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ mode: '0600', ino: before.ino, mtimeMs: before.mtimeMs });
    expect(r.stderr).toContain(`set the mode of the Multus config (its content was already right, so it was not rewritten) file=${confPath()} mode=0600 was=0644`);
    expect(r.stderr).not.toMatch(/wrote the Multus config|updated the Multus config/);
  });

  it('while running: a config someone opens up to 0644 is set back to 0600 in place, as a restore', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h);
    const { ino } = await fsp.stat(confPath());
    await fsp.chmod(confPath(), 0o644);
    await eventually(() => modeOf(confPath()), (m) => m === '0600', 10_000, 'mode 0600 again');
    await run.waitForLog(/restored the Multus config: it was given another file mode by someone else file=\S+ mode=0600 was=0644/);
    expect((await fsp.stat(confPath())).ino).toBe(ino);
    await stopDaemon(run);
  });
});
