// Installing the binaries into the host's CNI bin dir, as upstream's
// install_multus does (multus and the passthru plugin, since v4.2.3): streamed by the
// kernel (a 50 MB binary read into memory would be OOM-killed at 50Mi),
// atomically, and not at all when the installed file is already identical.
import * as fsp from '../base/file-calls.js';
import { join } from 'node:path';
import { describeFsError, JobError } from '../base/errors.js';
import { copyFileAtomic, sameFileContent } from './files.js';
import type { Logger } from '../observe/log.js';
import type { Options } from '../core/options.js';

function installedBinaryPath(cniBinDir: string, name = 'multus'): string {
  return join(cniBinDir, name);
}

/** What to install: the source, its name in the bin dir, and the flag that names the source. */
interface Binary {
  src: string;
  name: 'multus' | 'multus-shim' | 'passthru';
  flag: string;
}

/** Installs src as <cniBinDir>/<name>; false when it was already identical. */
async function installBinary(src: string, cniBinDir: string, log: Logger, name: Binary['name'] = 'multus', flag = '--multus-bin-file'): Promise<boolean> {
  const dest = installedBinaryPath(cniBinDir, name);
  try {
    const stat = await fsp.stat(src);
    if (!stat.isFile()) throw new JobError(`${src} (${flag}): not a regular file`);
  } catch (err) {
    if (err instanceof JobError) throw err;
    throw new JobError(`${src} (${flag}): ${describeFsError(err)}`);
  }
  try {
    await fsp.mkdirRecursive(cniBinDir);
    if (await sameFileContent(src, dest)) {
      log.info(`the ${name} binary is already installed`, { file: dest });
      return false;
    }
    await copyFileAtomic(src, dest, 0o755);
  } catch (err) {
    throw new JobError(`${dest}: cannot install the ${name} binary from ${src}: ${describeFsError(err)}`);
  }
  log.info(`installed the ${name} binary`, { file: dest, from: src });
  return true;
}

/** Whether a source exists (anything there counts: installBinary names what is wrong with it). */
async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(() => true, () => false);
}

/**
 * The binaries to install for these options. passthru's default path is
 * optional (an image without it is skipped, logged once); a path given on
 * the command line must exist; an empty one turns it off.
 */
async function binariesToInstall(o: Pick<Options, 'mode' | 'multusBinFile' | 'multusShimBinFile' | 'passthruBinFile' | 'passthruBinFileGiven'>, log: Logger): Promise<Binary[]> {
  // Thick: the runtime calls multus-shim, which hands the call to multus-daemon.
  const out: Binary[] = [o.mode === 'thick'
    ? { src: o.multusShimBinFile, name: 'multus-shim', flag: '--multus-shim-bin-file' }
    : { src: o.multusBinFile, name: 'multus', flag: '--multus-bin-file' }];
  if (o.passthruBinFile === '') {
    log.info('not installing the passthru plugin (--passthru-bin-file is empty)');
  } else if (!o.passthruBinFileGiven && !(await exists(o.passthruBinFile))) {
    log.info('not installing the passthru plugin: the default --passthru-bin-file is not in this image', { file: o.passthruBinFile });
  } else {
    out.push({ src: o.passthruBinFile, name: 'passthru', flag: '--passthru-bin-file' });
  }
  return out;
}

type BinarySettings = Pick<Options, 'skipMultusBinaryCopy' | 'dryRun' | 'cniBinDir' | 'mode' | 'multusBinFile' | 'multusShimBinFile' | 'passthruBinFile' | 'passthruBinFileGiven'>;

/** Installs multus (multus-shim in thick mode) and passthru (unless --skip-multus-binary-copy), or says what it would install (--dry-run). */
export async function installBinaries(o: BinarySettings, log: Logger): Promise<void> {
  if (o.skipMultusBinaryCopy) {
    log.info('not installing the multus and passthru binaries (--skip-multus-binary-copy)');
    return;
  }
  for (const b of await binariesToInstall(o, log)) {
    if (o.dryRun) process.stdout.write(`# would install ${b.src} as ${installedBinaryPath(o.cniBinDir, b.name)}\n`);
    else await installBinary(b.src, o.cniBinDir, log, b.name, b.flag);
  }
}
