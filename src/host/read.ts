// Reading the host: the autoconfig dir's candidates, the service account,
// the non-auto source file, the readiness indicator file. Every failure becomes a reason naming the file.
import * as fsp from '../base/file-calls.js';
import { join } from 'node:path';
import { describeFsError, JobError } from '../base/errors.js';
import type { CandidateContent, CandidateName } from '../core/master.js';
import { candidateNames } from '../core/master.js';
import type { Readiness } from '../core/readiness.js';

/** A master config is a few KiB; a file far larger is not one (and would cost memory). */
const MAX_CONFIG_BYTES = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names in dir, or none when the dir does not exist (yet). */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new JobError(`${dir}: cannot list the directory: ${describeFsError(err)}`);
  }
}

async function whyNotAFile(path: string, err: unknown): Promise<string> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const link = await fsp.lstat(path).then((s) => s.isSymbolicLink(), () => false);
    return link ? 'dangling symbolic link' : 'no such file or directory';
  }
  return describeFsError(err);
}

/** Reads a config-sized text file, or gives why it cannot be one. */
export async function readConfigText(path: string): Promise<{ text: string } | { unreadable: string }> {
  try {
    const stat = await fsp.stat(path);
    if (!stat.isFile()) return { unreadable: stat.isDirectory() ? 'is a directory' : 'not a regular file' };
    if (stat.size > MAX_CONFIG_BYTES) return { unreadable: `larger than ${MAX_CONFIG_BYTES} bytes (${stat.size})` };
    const bytes = await fsp.readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) return { unreadable: `larger than ${MAX_CONFIG_BYTES} bytes` };
    try {
      return { text: utf8.decode(bytes) };
    } catch {
      return { unreadable: 'not UTF-8 text' };
    }
  } catch (err) {
    return { unreadable: await whyNotAFile(path, err) };
  }
}

/** The autoconfig dir's candidates with their contents, in ranking order. */
export async function readCandidates(dir: string, opts: { pinned: string; renamedMasters: boolean }): Promise<CandidateContent[]> {
  const names: CandidateName[] = candidateNames(await listDir(dir), opts);
  return Promise.all(names.map(async (c) => ({ ...c, ...(await readConfigText(join(dir, c.diskName))) })));
}

export interface ServiceAccount {
  token: string;
  /** Undefined when TLS verification is skipped. */
  ca: Buffer | undefined;
}

/** Reads the token (trimmed) and, unless skipped, the CA; errors name the file, never the token. */
export async function readServiceAccount(dir: string, caFile: string, skipTlsVerify: boolean): Promise<ServiceAccount> {
  const tokenPath = join(dir, 'token');
  let token: string;
  try {
    token = (await fsp.readFile(tokenPath, 'utf8')).trim();
  } catch (err) {
    throw new JobError(`${tokenPath}: cannot read the service-account token: ${describeFsError(err)}`);
  }
  if (token === '') throw new JobError(`${tokenPath}: the service-account token is empty`);
  if (/\s/.test(token)) throw new JobError(`${tokenPath}: the service-account token contains whitespace`);
  if (skipTlsVerify) return { token, ca: undefined };
  const caPath = caFile || join(dir, 'ca.crt');
  let ca: Buffer;
  try {
    ca = await fsp.readFile(caPath);
  } catch (err) {
    throw new JobError(`${caPath}: cannot read the CA certificate: ${describeFsError(err)} (or set --skip-tls-verify)`);
  }
  if (ca.length === 0) throw new JobError(`${caPath}: the CA certificate is empty`);
  return { token, ca };
}

/** Whether the readiness indicator file exists now (anything at the path counts, as in Multus). */
export async function observeReadiness(path: string): Promise<Readiness> {
  try {
    await fsp.stat(path);
    return { path, ready: true };
  } catch (err) {
    return { path, ready: false, why: describeFsError(err) };
  }
}
