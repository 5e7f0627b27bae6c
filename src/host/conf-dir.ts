// Looking around a generated file's directory for the other writer: where a
// removed file went (another name with exactly its content), and which
// configs sort before it (what the runtime would load first).
import * as fsp from '../base/file-calls.js';
import { basename, dirname, join } from 'node:path';
import { outranking, overwrittenBy, renamedBy, sortsBefore, type Tampering } from '../core/other-writer.js';
import { TEMP_PREFIX } from './files.js';
import { listDir, readConfigText } from './read.js';

/**
 * The name in the file's directory that holds exactly `content` now (the
 * file was renamed), or undefined. Names that start with the file's own
 * name come first (00-multus.conf.cilium_bak); then byte order.
 */
async function findRenamed(path: string, content: string): Promise<string | undefined> {
  const dir = dirname(path);
  const own = basename(path);
  const size = Buffer.byteLength(content);
  const names = (await listDir(dir)).filter((n) => n !== own && !n.startsWith(TEMP_PREFIX)).sort((a, b) => {
    const rank = Number(!a.startsWith(own)) - Number(!b.startsWith(own));
    return rank !== 0 ? rank : Buffer.compare(Buffer.from(a), Buffer.from(b));
  });
  for (const name of names) {
    const stat = await fsp.stat(join(dir, name)).catch(() => undefined);
    if (!stat?.isFile() || stat.size !== size) continue;
    const text = await fsp.readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text === content) return name;
  }
  return undefined;
}

/** The configs of `dir` whose names sort before `ours` (the runtime's order), with their text; unreadable ones left out. */
async function readSortingBefore(dir: string, ours: string): Promise<{ name: string; text: string }[]> {
  const names = (await listDir(dir)).filter((n) => sortsBefore(n, ours));
  const read = await Promise.all(names.map(async (name) => ({ name, ...(await readConfigText(join(dir, name))) })));
  return read.filter((f): f is { name: string; text: string } => 'text' in f);
}

/** What someone else did to a generated file that held `ours`, now that it holds `found` (undefined: gone). */
export async function tamperingOf(path: string, ours: string, found: string | undefined): Promise<Tampering> {
  if (found === ours) return { what: 'mode changed' };
  if (found !== undefined) return { what: 'overwritten', ...overwrittenBy(found) };
  const to = await findRenamed(path, ours).catch(() => undefined);
  return to === undefined ? { what: 'removed' } : { what: 'renamed', to, ...renamedBy(to) };
}

/** The config the runtime would load instead of the Multus config at `path`, as a path; `twins` are this program's own stale files. */
export async function outrankingOf(path: string, twins: readonly string[]): Promise<string | undefined> {
  const dir = dirname(path);
  const skip = new Set(twins.map((t) => basename(t)));
  const name = outranking((await readSortingBefore(dir, basename(path))).filter((f) => !skip.has(f.name)), basename(path));
  return name === undefined ? undefined : join(dir, name);
}
