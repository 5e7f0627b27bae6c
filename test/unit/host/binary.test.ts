// Installing multus and passthru into the CNI bin dir, in this process on a
// temporary host root (test/cli/install.test.ts and passthru.test.ts run the
// built program): mode 0755, not copied again when identical, replaced when
// it differs, each failure a JobError naming the file and the flag; which
// binaries a set of flags installs.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { JobError } from '../../../src/base/errors.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { Options } from '../../../src/core/options.js';
import { binariesToInstall, installBinaries, installBinary, installedBinaryPath } from '../../../src/host/binary.js';
import { createLogger } from '../../../src/observe/log.js';
import { type HostRoot, makeHostRoot } from '../../helpers/host-root.js';

let h: HostRoot;
let lines: string[];
let passthru: string;
beforeEach(async () => {
  h = await makeHostRoot();
  lines = [];
  passthru = join(h.root, 'image/passthru');
  await fsp.writeFile(passthru, '#!/bin/sh\necho fake passthru\n', { mode: 0o755 });
});
afterEach(async () => { await h.remove(); });

const log = createLogger('text', (l) => { lines.push(l); });
const multus = (): string => join(h.binDir, 'multus');
const said = (text: string): number => lines.filter((l) => l.includes(text)).length;

function options(flags: string[] = []): Options {
  const parsed = parseCommandLine([...h.args, ...flags], h.env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed.options;
}

describe('installBinary', () => {
  it('installs the source as <bin dir>/<name>, mode 0755, and says from where', async () => {
    await fsp.rm(h.binDir, { recursive: true });
    expect(await installBinary(h.srcBinary, h.binDir, log)).toBe(true);
    expect(await fsp.readFile(multus(), 'utf8')).toBe('#!/bin/sh\necho fake multus\n');
    expect((await fsp.stat(multus())).mode & 0o777).toBe(0o755);
    expect(lines).toEqual([expect.stringContaining(`installed the multus binary file=${multus()} from=${h.srcBinary}\n`)]);
  });

  it('does not copy an identical binary again (the file stays the same inode)', async () => {
    await installBinary(h.srcBinary, h.binDir, log);
    const ino = (await fsp.stat(multus())).ino;
    expect(await installBinary(h.srcBinary, h.binDir, log)).toBe(false);
    expect((await fsp.stat(multus())).ino).toBe(ino);
    expect(said('the multus binary is already installed')).toBe(1);
  });

  it('replaces one that differs in content only', async () => {
    await installBinary(h.srcBinary, h.binDir, log);
    await fsp.writeFile(h.srcBinary, '#!/bin/sh\necho fake MULTUS\n');
    expect(await installBinary(h.srcBinary, h.binDir, log)).toBe(true);
    expect(await fsp.readFile(multus(), 'utf8')).toBe('#!/bin/sh\necho fake MULTUS\n');
  });

  it.each<[string, () => Promise<unknown>, () => string]>([
    ['a missing source', () => fsp.rm(h.srcBinary), () => `${h.srcBinary} (--multus-bin-file): no such file or directory`],
    ['a source that is a directory', async () => { await fsp.rm(h.srcBinary); await fsp.mkdir(h.srcBinary); }, () => `${h.srcBinary} (--multus-bin-file): not a regular file`],
    ['a bin dir that cannot be made', async () => { await fsp.rm(h.binDir, { recursive: true }); await fsp.writeFile(h.binDir, ''); }, () => `${multus()}: cannot install the multus binary from ${h.srcBinary}: `],
  ])('%s: a JobError naming the file', async (_what, make, message) => {
    await make();
    const err = await installBinary(h.srcBinary, h.binDir, log).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message.startsWith(message())).toBe(true);
  });

  it('names the flag of the binary it installs', async () => {
    const err = await installBinary(join(h.root, 'none'), h.binDir, log, 'passthru', '--passthru-bin-file').then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toBe(`${join(h.root, 'none')} (--passthru-bin-file): no such file or directory`);
    expect(installedBinaryPath(h.binDir, 'passthru')).toBe(join(h.binDir, 'passthru'));
  });
});

describe('which binaries', () => {
  it('multus, and passthru when its default path exists in the image', async () => {
    const o = { ...options(), passthruBinFile: passthru, passthruBinFileGiven: false };
    expect(await binariesToInstall(o, log)).toEqual([
      { src: h.srcBinary, name: 'multus', flag: '--multus-bin-file' },
      { src: passthru, name: 'passthru', flag: '--passthru-bin-file' },
    ]);
  });

  it('skips passthru\'s default path when the image lacks it, saying so', async () => {
    const o = { ...options(), passthruBinFile: join(h.root, 'none'), passthruBinFileGiven: false };
    expect((await binariesToInstall(o, log)).map((b) => b.name)).toEqual(['multus']);
    expect(said('not installing the passthru plugin: the default --passthru-bin-file is not in this image')).toBe(1);
  });

  it('keeps a passthru path given on the command line even when it is missing (installing it then fails)', async () => {
    const o = options([`--passthru-bin-file=${join(h.root, 'none')}`]);
    expect((await binariesToInstall(o, log)).map((b) => b.name)).toEqual(['multus', 'passthru']);
  });

  it('an empty --passthru-bin-file turns it off', async () => {
    expect((await binariesToInstall(options(['--passthru-bin-file=']), log)).map((b) => b.name)).toEqual(['multus']);
    expect(said('not installing the passthru plugin (--passthru-bin-file is empty)')).toBe(1);
  });
});

describe('installBinaries', () => {
  it('installs both', async () => {
    await installBinaries(options([`--passthru-bin-file=${passthru}`]), log);
    expect((await fsp.readdir(h.binDir)).sort()).toEqual(['multus', 'passthru']);
  });

  it('--skip-multus-binary-copy installs neither, and says so', async () => {
    await installBinaries(options(['--skip-multus-binary-copy', `--passthru-bin-file=${passthru}`]), log);
    expect(await fsp.readdir(h.binDir)).toEqual([]);
    expect(said('not installing the multus and passthru binaries (--skip-multus-binary-copy)')).toBe(1);
  });

  it('--dry-run says what it would install, on stdout, and copies nothing', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; });
    try {
      await installBinaries(options(['--dry-run', `--passthru-bin-file=${passthru}`]), log);
    } finally {
      write.mockRestore();
    }
    expect(out.join('')).toBe(`# would install ${h.srcBinary} as ${multus()}\n# would install ${passthru} as ${join(h.binDir, 'passthru')}\n`);
    expect(await fsp.readdir(h.binDir)).toEqual([]);
  });
});
