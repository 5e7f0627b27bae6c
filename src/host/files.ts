// Writing files so that no reader ever sees a partial one: a temporary file
// in the same directory (named so that no runtime loads it), fsync, rename.
// Unchanged content is not rewritten: runtimes react to every write. A file
// whose content is right but whose mode is not gets its mode set in place.
import { constants } from 'node:fs';
import * as fsp from '../base/file-calls.js';
import { basename, dirname, join } from 'node:path';

/** Prefix of every temporary file; leftovers of a killed run are removed at start. */
export const TEMP_PREFIX = '.multus-entrypoint-tmp.';

interface WriteResult {
  written: boolean;
  /** The content found before (undefined: no file), from the same look that decided. */
  before: string | undefined;
  /** Set when only the mode was wrong: the mode found, now set in place (the file was not rewritten). */
  modeWas?: number;
}

function tempPathFor(target: string): string {
  // Starts with "." and ends in a random suffix, never .conf/.conflist/.json.
  // Math.random, not node:crypto: a clash only fails the exclusive create.
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}.${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}`);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a file's text, or undefined if it does not exist (or is not a file). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The permission bits of path (0o600 for -rw-------), or undefined when it does not exist. */
export async function modeOf(path: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/**
 * Sets the mode of the file at path itself (not of a link's target); false
 * when that cannot be done (a symbolic link, gone, not ours), so the caller
 * rewrites the file instead.
 */
async function chmodInPlace(path: string, mode: number): Promise<boolean> {
  const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return false;
  try {
    await handle.chmod(mode);
    return true;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/** Runs fill() on a fresh temporary file, then fsyncs and renames it over target. */
async function replaceAtomically(target: string, mode: number, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await fill(tmp);
    const handle = await fsp.open(tmp, constants.O_RDWR);
    try {
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rmForce(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(target));
}

/**
 * Writes content to path atomically unless it already holds exactly that.
 * Right content at another mode: the mode is set in place, not rewritten
 * (a rename would make the runtime reload an unchanged config).
 */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<WriteResult> {
  const found = await readTextIfExists(path);
  // The mode is read after the content: a file deleted in between is reported gone, not changed.
  const foundMode = found === undefined ? undefined : await modeOf(path);
  const before = foundMode === undefined ? undefined : found;
  if (before === content && foundMode !== undefined) {
    if (foundMode === mode) return { written: false, before };
    if (await chmodInPlace(path, mode)) return { written: false, before, modeWas: foundMode };
  }
  await replaceAtomically(path, mode, (tmp) => fsp.writeFile(tmp, content, { flag: 'wx', mode }));
  return { written: true, before };
}

/** Copies src over dest atomically; the kernel copies, so memory stays flat for a large binary. */
export async function copyFileAtomic(src: string, dest: string, mode: number): Promise<void> {
  await replaceAtomically(dest, mode, (tmp) => fsp.copyFile(src, tmp, constants.COPYFILE_EXCL));
}

async function contentsEqual(a: string, b: string): Promise<boolean> {
  // 256 KiB reads compared by memcmp, so that with the binary already
  // installed a start costs no more CPU than a first install: at start the
  // file calls run inline (no thread-pool hop per read), and both buffers
  // stay in the CPU's cache at this size (50 MB on a busy machine, CPU
  // medians: 1 MiB reads ~31 ms, 256 KiB reads ~20 ms, the kernel's copy
  // plus fsync ~25 ms).
  const chunkSize = 256 * 1024;
  const fa = await fsp.open(a, constants.O_RDONLY);
  try {
    const fb = await fsp.open(b, constants.O_RDONLY);
    try {
      const ba = Buffer.allocUnsafe(chunkSize);
      const bb = Buffer.allocUnsafe(chunkSize);
      for (;;) {
        const ra = await fa.read(ba, chunkSize);
        const rb = await fb.read(bb, chunkSize);
        if (ra !== rb) return false;
        if (ra === 0) return true;
        if (ba.compare(bb, 0, rb, 0, ra) !== 0) return false;
      }
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}

/** True when both files exist with the same size and bytes (size first, then content). */
export async function sameFileContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fsp.stat(a), fsp.stat(b).catch(() => undefined)]);
  if (!sb || !sb.isFile() || sa.size !== sb.size) return false;
  return contentsEqual(a, b);
}

/** Removes temporary files a killed earlier run left in dir; gives their names. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(TEMP_PREFIX));
  await Promise.all(stale.map((n) => fsp.rmForce(join(dir, n))));
  return stale;
}

/** Removes path if it exists; true if something was removed. */
export async function removeIfExists(path: string): Promise<boolean> {
  try {
    await fsp.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
