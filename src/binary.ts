// Installing the multus binary into the host's CNI bin dir: streamed by the
// kernel (a 50 MB binary read into memory would be OOM-killed at 50Mi),
// atomically, and not at all when the installed file is already identical.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { describeFsError, JobError } from './errors.js';
import { copyFileAtomic, sameFileContent } from './files.js';
import type { Logger } from './log.js';

export function installedBinaryPath(cniBinDir: string): string {
  return join(cniBinDir, 'multus');
}

/** Installs src as <cniBinDir>/multus; false when it was already identical. */
export async function installBinary(src: string, cniBinDir: string, log: Logger): Promise<boolean> {
  const dest = installedBinaryPath(cniBinDir);
  try {
    const stat = await fsp.stat(src);
    if (!stat.isFile()) throw new JobError(`${src} (--multus-bin-file): not a regular file`);
  } catch (err) {
    if (err instanceof JobError) throw err;
    throw new JobError(`${src} (--multus-bin-file): ${describeFsError(err)}`);
  }
  try {
    await fsp.mkdir(cniBinDir, { recursive: true });
    if (await sameFileContent(src, dest)) {
      log.info('the multus binary is already installed', { file: dest });
      return false;
    }
    await copyFileAtomic(src, dest, 0o755);
  } catch (err) {
    throw new JobError(`${dest}: cannot install the multus binary from ${src}: ${describeFsError(err)}`);
  }
  log.info('installed the multus binary', { file: dest, from: src });
  return true;
}
