// The passthru CNI plugin, installed beside multus as upstream's
// install_multus does since v4.2.3 (NetworkAttachmentDefinitions may name it): same
// atomic, streamed, skip-when-identical copy; the default source is
// optional, a source given on the command line is not.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { listNames, runCommand, useHostRoot } from '../helpers/host-root.js';
import { countMatches } from '../helpers/daemon.js';

const DEFAULT_PASSTHRU = '/usr/src/multus-cni/bin/passthru';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
let src: string;
beforeEach(async () => {
  src = join(h.root, 'image/passthru');
  await fsp.writeFile(src, '#!/bin/sh\necho fake passthru\n', { mode: 0o755 });
});

const installed = (): string => join(h.binDir, 'passthru');
const temps = async (): Promise<string[]> => (await listNames(h.binDir)).filter((n) => n.startsWith('.multus-entrypoint-tmp.'));

describe('passthru install (--passthru-bin-file)', () => {
  it('installs it as <cni-bin-dir>/passthru, mode 0755, beside multus', async () => {
    const r = await runCommand([...h.args, '--once', `--passthru-bin-file=${src}`], h.env);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(installed())).toEqual(await fsp.readFile(src));
    expect((await fsp.stat(installed())).mode & 0o777).toBe(0o755);
    expect(await fsp.readFile(join(h.binDir, 'multus'))).toEqual(await fsp.readFile(h.srcBinary));
    expect(r.stderr).toMatch(/installed the passthru binary/);
    expect(await temps()).toEqual([]);
  });

  it('does not copy an identical passthru again, and replaces a changed one', async () => {
    expect((await runCommand([...h.args, '--once', `--passthru-bin-file=${src}`], h.env)).code).toBe(0);
    const before = await fsp.stat(installed());
    const again = await runCommand([...h.args, '--once', `--passthru-bin-file=${src}`], h.env);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/the passthru binary is already installed/);
    const after = await fsp.stat(installed());
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

    await fsp.writeFile(src, '#!/bin/sh\necho fake passthru v2, longer\n', { mode: 0o755 });
    expect((await runCommand([...h.args, '--once', `--passthru-bin-file=${src}`], h.env)).code).toBe(0);
    expect(await fsp.readFile(installed(), 'utf8')).toContain('v2');
    expect(await temps()).toEqual([]);
  });

  it('skips the default path when the image does not have it, with one info line', async () => {
    expect(existsSync(DEFAULT_PASSTHRU)).toBe(false); // precondition of this machine
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(countMatches(r.stderr, /not installing the passthru plugin/)).toBe(1);
    expect(r.stderr).toContain(DEFAULT_PASSTHRU);
    expect(existsSync(installed())).toBe(false);
    expect(existsSync(join(h.binDir, 'multus'))).toBe(true);
  });

  it('fails (exit 1) when a path given on the command line does not exist, naming it and the flag; writes no config', async () => {
    const missing = join(h.root, 'image/no-passthru');
    const r = await runCommand([...h.args, '--once', `--passthru-bin-file=${missing}`], h.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${missing} (--passthru-bin-file): no such file or directory`);
    expect(existsSync(join(h.confDir, '00-multus.conf'))).toBe(false);
  });

  it('--skip-multus-binary-copy skips both binaries', async () => {
    const r = await runCommand([...h.args, '--once', `--passthru-bin-file=${src}`, '--skip-multus-binary-copy'], h.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/not installing the multus and passthru binaries \(--skip-multus-binary-copy\)/);
    expect(await listNames(h.binDir)).toEqual([]);
  });

  it('--dry-run says it would install both and copies nothing', async () => {
    const r = await runCommand([...h.args, '--dry-run', `--passthru-bin-file=${src}`], h.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# would install ${src} as ${installed()}`);
    expect(r.stdout).toContain(`# would install ${h.srcBinary} as ${join(h.binDir, 'multus')}`);
    expect(await listNames(h.binDir)).toEqual([]);
  });

  it('an empty --passthru-bin-file turns it off', async () => {
    const r = await runCommand([...h.args, '--once', '--passthru-bin-file='], h.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/not installing the passthru plugin \(--passthru-bin-file is empty\)/);
    expect(existsSync(installed())).toBe(false);
  });
});
