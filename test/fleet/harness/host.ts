// The one machine-wide setting the fleet may need changed: each program's
// file watcher takes an inotify instance, and all of root's processes share
// fs.inotify.max_user_instances (128 by default). When N programs would not
// fit beside what already runs, the limit is raised for the run and put back
// at teardown (the old value is kept in the run dir, so a later run puts it
// back for a run that was killed), unless someone changed it meanwhile.
import fs from 'node:fs';
import path from 'node:path';

const SYSCTL = '/proc/sys/fs/inotify/max_user_instances';
const SNAPSHOT = 'inotify-instances.json';

interface Snapshot {
  before: number;
  set: number;
}

/** inotify instances open now by processes of this user. */
function instancesInUse(): number {
  const uid = process.getuid?.() ?? 0;
  let n = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.statSync(`/proc/${pid}`).uid !== uid) continue;
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') n++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // exited, or not ours to read
    }
  }
  return n;
}

/** Makes room for `programs` more inotify instances; says what it did, or throws why it cannot. */
export function ensureInotifyRoom(runDir: string, programs: number): string | undefined {
  const limit = Number(fs.readFileSync(SYSCTL, 'utf8').trim());
  const inUse = instancesInUse();
  const want = inUse + programs + 32;
  if (limit >= want) return undefined;
  const set = inUse + programs + 128;
  try {
    fs.writeFileSync(path.join(runDir, SNAPSHOT), JSON.stringify({ before: limit, set } satisfies Snapshot));
    fs.writeFileSync(SYSCTL, String(set));
  } catch (err) {
    throw new Error(`${programs} programs need ${want} inotify instances (${inUse} in use, fs.inotify.max_user_instances ${limit}) and the limit cannot be raised: ${(err as Error).message}`);
  }
  return `raised fs.inotify.max_user_instances ${limit} -> ${set} for the run (${inUse} in use)`;
}

/** Puts the limit back if the run raised it and nobody changed it since. */
export function restoreInotify(runDir: string): string | undefined {
  let snap: Snapshot;
  try {
    snap = JSON.parse(fs.readFileSync(path.join(runDir, SNAPSHOT), 'utf8')) as Snapshot;
  } catch {
    return undefined;
  }
  fs.rmSync(path.join(runDir, SNAPSHOT), { force: true });
  const now = Number(fs.readFileSync(SYSCTL, 'utf8').trim());
  if (now !== snap.set) return `left fs.inotify.max_user_instances at ${now}: changed by someone else since the run set ${snap.set}`;
  fs.writeFileSync(SYSCTL, String(snap.before));
  return `restored fs.inotify.max_user_instances ${snap.set} -> ${snap.before}`;
}
