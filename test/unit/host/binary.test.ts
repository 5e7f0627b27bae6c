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
import { installBinaries } from '../../../src/host/binary.js';
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
const installed = async (): Promise<string[]> => (await fsp.readdir(h.binDir)).sort();

/** The options of these flags; passthru's source is the image's default path unless a flag names one. */
function options(flags: string[] = [], defaultPassthru = join(h.root, 'no-passthru-in-this-image')): Options {
  const parsed = parseCommandLine([...h.args, ...flags], h.env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed.options.passthruBinFileGiven ? parsed.options : { ...parsed.options, passthruBinFile: defaultPassthru };
}

async function failure(o: Options): Promise<string> {
  const err = await installBinaries(o, log).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(JobError);
  return (err as Error).message;
}

describe('installBinaries: multus', () => {
  it('installs --multus-bin-file as <bin dir>/multus, mode 0755, making the dir, and says from where', async () => {
    await fsp.rm(h.binDir, { recursive: true });
    await installBinaries(options(), log);
    expect(await fsp.readFile(multus(), 'utf8')).toBe('#!/bin/sh\necho fake multus\n');
    expect((await fsp.stat(multus())).mode & 0o777).toBe(0o755);
    expect(said(`installed the multus binary file=${multus()} from=${h.srcBinary}\n`)).toBe(1);
  });

  it('does not copy an identical binary again (the same inode stays)', async () => {
    await installBinaries(options(), log);
    const ino = (await fsp.stat(multus())).ino;
    await installBinaries(options(), log);
    expect((await fsp.stat(multus())).ino).toBe(ino);
    expect(said('the multus binary is already installed')).toBe(1);
  });

  it('replaces one that differs in content only', async () => {
    await installBinaries(options(), log);
    await fsp.writeFile(h.srcBinary, '#!/bin/sh\necho fake MULTUS\n');
    await installBinaries(options(), log);
    expect(await fsp.readFile(multus(), 'utf8')).toBe('#!/bin/sh\necho fake MULTUS\n');
    expect(said('installed the multus binary')).toBe(2);
  });

  it.each<[string, () => Promise<unknown>, () => string]>([
    ['a missing source', () => fsp.rm(h.srcBinary), () => `${h.srcBinary} (--multus-bin-file): no such file or directory`],
    ['a source that is a directory', async () => { await fsp.rm(h.srcBinary); await fsp.mkdir(h.srcBinary); }, () => `${h.srcBinary} (--multus-bin-file): not a regular file`],
    ['a bin dir that cannot be made', async () => { await fsp.rm(h.binDir, { recursive: true }); await fsp.writeFile(h.binDir, ''); }, () => `${multus()}: cannot install the multus binary from ${h.srcBinary}: `],
  ])('%s: a JobError naming the file', async (_what, make, message) => {
    await make();
    expect((await failure(options())).startsWith(message())).toBe(true);
  });
});

describe('installBinaries: thick mode', () => {
  it('installs --multus-shim-bin-file as <bin dir>/multus-shim, not multus, and says so', async () => {
    const shim = join(h.root, 'image/multus-shim');
    await fsp.writeFile(shim, '#!/bin/sh\necho fake shim\n');
    await installBinaries(options(['--mode=thick', `--multus-shim-bin-file=${shim}`]), log);
    expect(await installed()).toEqual(['multus-shim']);
    expect(await fsp.readFile(join(h.binDir, 'multus-shim'), 'utf8')).toBe('#!/bin/sh\necho fake shim\n');
    expect(said(`installed the multus-shim binary file=${join(h.binDir, 'multus-shim')} from=${shim}\n`)).toBe(1);
  });

  it('a missing shim: a JobError naming it and --multus-shim-bin-file', async () => {
    const missing = join(h.root, 'no-shim');
    expect(await failure(options(['--mode=thick', `--multus-shim-bin-file=${missing}`]))).toBe(`${missing} (--multus-shim-bin-file): no such file or directory`);
  });
});

describe('installBinaries: passthru', () => {
  it('installs it beside multus when its default path is in the image', async () => {
    await installBinaries(options([], passthru), log);
    expect(await installed()).toEqual(['multus', 'passthru']);
    expect(await fsp.readFile(join(h.binDir, 'passthru'), 'utf8')).toBe('#!/bin/sh\necho fake passthru\n');
    expect((await fsp.stat(join(h.binDir, 'passthru'))).mode & 0o777).toBe(0o755);
  });

  it('skips the default path when the image lacks it, saying so once', async () => {
    await installBinaries(options(), log);
    expect(await installed()).toEqual(['multus']);
    expect(said('not installing the passthru plugin: the default --passthru-bin-file is not in this image')).toBe(1);
  });

  it('a path given on the command line must exist: a JobError naming it and the flag', async () => {
    const missing = join(h.root, 'none');
    expect(await failure(options([`--passthru-bin-file=${missing}`]))).toBe(`${missing} (--passthru-bin-file): no such file or directory`);
  });

  it('an empty --passthru-bin-file turns it off', async () => {
    await installBinaries(options(['--passthru-bin-file=']), log);
    expect(await installed()).toEqual(['multus']);
    expect(said('not installing the passthru plugin (--passthru-bin-file is empty)')).toBe(1);
  });
});

describe('installBinaries: not installing', () => {
  it('--skip-multus-binary-copy installs neither, and says so', async () => {
    await installBinaries(options(['--skip-multus-binary-copy', `--passthru-bin-file=${passthru}`]), log);
    expect(await installed()).toEqual([]);
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
    expect(await installed()).toEqual([]);
  });
});
