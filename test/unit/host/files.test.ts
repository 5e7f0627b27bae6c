// Writing the node's files so that no reader sees half of one, in this
// process on a temporary dir (test/cli/files.test.ts watches the built
// program's system calls): a temporary file, then rename; nothing rewritten
// when content and mode are already right; the binary compared by content;
// leftovers of a killed run found by their prefix.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileAtomic, modeOf as modeOfFile, readTextIfExists, removeIfExists, removeStaleTemps, sameFileContent, writeFileAtomic } from '../../../src/host/files.js';

/** What every temporary file's name starts with (a later start removes them by it). */
const TEMP_PREFIX = '.multus-entrypoint-tmp.';

let dir: string;
beforeEach(async () => { dir = await fsp.mkdtemp(join(tmpdir(), 'multus-files-')); });
afterEach(async () => { await fsp.chmod(dir, 0o755).catch(() => undefined); await fsp.rm(dir, { recursive: true, force: true }); });

const modeOf = async (p: string): Promise<number> => (await fsp.stat(p)).mode & 0o7777;
const inode = async (p: string): Promise<number> => (await fsp.stat(p)).ino;
const names = async (): Promise<string[]> => (await fsp.readdir(dir)).sort();

describe('writeFileAtomic', () => {
  it('creates the file with the content and mode, leaving no temporary file', async () => {
    const path = join(dir, '00-multus.conf');
    expect(await writeFileAtomic(path, '{"a":1}\n', 0o644)).toEqual({ written: true, before: undefined });
    expect(await fsp.readFile(path, 'utf8')).toBe('{"a":1}\n');
    expect(await modeOf(path)).toBe(0o644);
    expect(await names()).toEqual(['00-multus.conf']);
  });

  it('does not touch a file that already holds the content with the mode', async () => {
    const path = join(dir, 'k');
    await writeFileAtomic(path, 'x', 0o600);
    const before = await inode(path);
    expect(await writeFileAtomic(path, 'x', 0o600)).toEqual({ written: false, before: 'x' });
    expect(await inode(path)).toBe(before);
  });

  it('replaces (a new inode, never written in place) a file whose content differs, and gives what was there', async () => {
    const path = join(dir, 'k');
    await fsp.writeFile(path, 'old', { mode: 0o600 });
    const ino = await inode(path);
    expect(await writeFileAtomic(path, 'new', 0o600)).toEqual({ written: true, before: 'old' });
    expect(await fsp.readFile(path, 'utf8')).toBe('new');
    expect(await inode(path)).not.toBe(ino);
  });

  it('sets only the mode, in place, when the content is right (a rename would make the runtime reload it)', async () => {
    const path = join(dir, 'k');
    await writeFileAtomic(path, 'same', 0o600);
    const ino = await inode(path);
    await fsp.chmod(path, 0o644);
    expect(await writeFileAtomic(path, 'same', 0o600)).toEqual({ written: false, before: 'same', modeWas: 0o644 });
    expect(await modeOf(path)).toBe(0o600);
    expect(await inode(path)).toBe(ino);
  });

  it('a link to a file with the content at another mode is replaced by a file of that mode; the link\'s target keeps its own', async () => {
    const target = join(dir, 'elsewhere');
    const path = join(dir, 'k');
    await fsp.writeFile(target, 'same', { mode: 0o644 });
    await fsp.symlink(target, path);
    expect(await writeFileAtomic(path, 'same', 0o600)).toEqual({ written: true, before: 'same' });
    expect((await fsp.lstat(path)).isFile()).toBe(true);
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(target)).toBe(0o644);
  });

  it('a file whose mode cannot be set in place is not reported fixed: it is rewritten, and that failing throws', async () => {
    // As root, fchmod fails only where the file system refuses it: procfs
    // does (EPERM), and no file can be made beside this one either.
    const path = '/proc/self/comm';
    const content = await fsp.readFile(path, 'utf8');
    expect(await modeOf(path)).toBe(0o644);
    await expect(writeFileAtomic(path, content, 0o600)).rejects.toThrow();
    expect(await modeOf(path)).toBe(0o644);
  });

  it('a path that cannot be read for another reason (a link loop) is an error, not taken for no file and replaced', async () => {
    const loop = join(dir, '00-multus.conf');
    await fsp.symlink(loop, loop);
    await expect(readTextIfExists(loop)).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(writeFileAtomic(loop, 'x', 0o644)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(await fsp.readlink(loop)).toBe(loop);
    expect(await names()).toEqual(['00-multus.conf']);
  });

  it('gives the mode it was asked for, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'wide'), 'x', 0o644);
    } finally {
      process.umask(old);
    }
    expect(await modeOf(join(dir, 'wide'))).toBe(0o644);
  });

  it('a write that fails once its temporary file exists leaves no temporary file (the target is a directory here)', async () => {
    await fsp.mkdir(join(dir, 'target.conf'));
    await fsp.writeFile(join(dir, 'target.conf', 'x'), '');
    await expect(writeFileAtomic(join(dir, 'target.conf'), 'x', 0o644)).rejects.toThrow();
    expect(await names()).toEqual(['target.conf']);
  });
});

describe('copyFileAtomic and sameFileContent', () => {
  it('copies with the mode, replacing the target in one step', async () => {
    const src = join(dir, 'src');
    const dest = join(dir, 'multus');
    await fsp.writeFile(src, Buffer.alloc(300_000, 7));
    await fsp.writeFile(dest, 'old');
    const ino = await inode(dest);
    await copyFileAtomic(src, dest, 0o755);
    expect(await fsp.readFile(dest)).toEqual(Buffer.alloc(300_000, 7));
    expect(await modeOf(dest)).toBe(0o755);
    expect(await inode(dest)).not.toBe(ino);
    expect(await names()).toEqual(['multus', 'src']);
  });

  it('compares by content: equal bytes, a different byte at the same length, another length, no target', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    // Larger than one 256 KiB chunk, so the comparison spans chunks.
    const big = Buffer.alloc(600_000, 1);
    await fsp.writeFile(a, big);
    await fsp.writeFile(b, big);
    expect(await sameFileContent(a, b)).toBe(true);
    const changed = Buffer.from(big);
    changed[599_999] = 2;
    await fsp.writeFile(b, changed);
    expect(await sameFileContent(a, b)).toBe(false);
    await fsp.writeFile(b, big.subarray(1));
    expect(await sameFileContent(a, b)).toBe(false);
    expect(await sameFileContent(a, join(dir, 'none'))).toBe(false);
    await fsp.mkdir(join(dir, 'd'));
    expect(await sameFileContent(a, join(dir, 'd'))).toBe(false);
  });

  it('compares the bytes read, not only the sizes stat gave: a /proc file (size 0) is not the same as an empty file', async () => {
    const empty = join(dir, 'empty');
    await fsp.writeFile(empty, '');
    expect((await fsp.stat('/proc/self/comm')).size).toBe(0);
    expect(await sameFileContent('/proc/self/comm', empty)).toBe(false);
  });
});

describe('reading and removing', () => {
  it('readTextIfExists: the text, or undefined for no file, a directory or a path through a file', async () => {
    await fsp.writeFile(join(dir, 'f'), 'text');
    await fsp.mkdir(join(dir, 'd'));
    expect(await readTextIfExists(join(dir, 'f'))).toBe('text');
    expect(await readTextIfExists(join(dir, 'none'))).toBeUndefined();
    expect(await readTextIfExists(join(dir, 'd'))).toBeUndefined();
    expect(await readTextIfExists(join(dir, 'f', 'x'))).toBeUndefined();
  });

  it('modeOf: the permission bits, or undefined when nothing is there', async () => {
    await fsp.writeFile(join(dir, 'f'), '', { mode: 0o600 });
    await fsp.chmod(join(dir, 'f'), 0o4750);
    expect(await modeOfFile(join(dir, 'f'))).toBe(0o4750);
    expect(await modeOfFile(join(dir, 'none'))).toBeUndefined();
  });

  it('removeIfExists says whether it removed anything', async () => {
    await fsp.writeFile(join(dir, 'f'), '');
    expect(await removeIfExists(join(dir, 'f'))).toBe(true);
    expect(await removeIfExists(join(dir, 'f'))).toBe(false);
    await fsp.mkdir(join(dir, 'd'));
    await expect(removeIfExists(join(dir, 'd'))).rejects.toThrow();
  });

  it('removeStaleTemps removes exactly the temporary files of a killed run, and names them', async () => {
    const temps = [`${TEMP_PREFIX}00-multus.conf.a1b2c3d4`, `${TEMP_PREFIX}multus.x9y8z7w6`];
    for (const n of [...temps, '10-flannel.conflist', 'multus-entrypoint-tmp.not-ours']) await fsp.writeFile(join(dir, n), '');
    expect((await removeStaleTemps(dir)).sort()).toEqual(temps.sort());
    expect(await names()).toEqual(['10-flannel.conflist', 'multus-entrypoint-tmp.not-ours']);
    expect(await removeStaleTemps(join(dir, 'missing'))).toEqual([]);
  });
});
