// Filesystem events that mean "check again". chokidar watches the config
// dirs (it also copes with a dir that does not exist yet); plain fs.watch
// watches the service-account dir, where the kubelet swaps the "..data"
// symlink, an event on the dir entry itself. Events only wake the loop: the
// reconciler compares and writes nothing when nothing differs, so events
// from its own writes end there instead of looping.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { stat } from '../base/file-calls.js';
import type { Options } from '../core/options.js';
import type { Logger } from '../observe/log.js';
import { daemonSocketPath } from './daemon-socket.js';

/** Wakes a waiting loop; kicks in a burst coalesce into one wake-up. */
export class Trigger {
  private pending = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  kick(): void {
    this.pending = true;
    if (this.wake && !this.timer) {
      // A short delay lets a burst of events (write + rename) settle into one check.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake?.();
      }, 15);
    }
  }

  /** Resolves on the next kick (or at once if one came since the last wait), or after ms. */
  wait(ms: number): Promise<'event' | 'timeout'> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('event');
    }
    return new Promise((resolve) => {
      const timeout = setTimeout(() => finish('timeout'), ms);
      const finish = (why: 'event' | 'timeout'): void => {
        clearTimeout(timeout);
        this.wake = undefined;
        this.pending = false;
        resolve(why);
      };
      this.wake = () => finish('event');
    });
  }
}

interface WatchTargets {
  /** Directories watched with chokidar (entries added, changed, removed). */
  configDirs: string[];
  /** Single files watched with chokidar (the non-auto source). */
  files: string[];
  /** Directories watched with fs.watch (the service-account dir). */
  secretDirs: string[];
  /** Files that may not exist yet, nor their directories (the readiness indicator file). */
  maybePaths?: string[];
}

export interface Watcher {
  close(): Promise<void>;
}

export async function startWatcher(targets: WatchTargets, onEvent: () => void, log: Logger): Promise<Watcher> {
  const { watch } = await import('chokidar');
  const chokidar = watch([...targets.configDirs, ...targets.files], {
    ignoreInitial: true,
    depth: 0,
    // Editors' "atomic save" handling delays unlink events by 100 ms; a
    // deleted config must be noticed at once.
    atomic: false,
  });
  chokidar.on('all', onEvent);
  // chokidar reports a watched dir that is (re)created, e.g. multus.d after
  // an `rm -rf`, but does not watch inside it again: re-add it so it does.
  const dirs = new Set(targets.configDirs.map((d) => resolvePath(d)));
  chokidar.on('addDir', (path) => {
    if (!dirs.has(resolvePath(path))) return;
    chokidar.unwatch(path);
    chokidar.add(path);
  });
  chokidar.on('error', (err) => log.warn('file watch error; the periodic re-check still runs', { error: String(err) }));
  // chokidar sets its watches up asynchronously: a change made before
  // 'ready' can go unseen, and the check that follows the start must come
  // after the watches exist, or the change is lost until the slow re-check.
  await new Promise<void>((resolve) => chokidar.once('ready', () => resolve()));
  const plain: FSWatcher[] = [];
  for (const dir of new Set(targets.secretDirs)) {
    try {
      const w = fsWatch(dir, { persistent: false }, onEvent);
      w.on('error', () => log.warn('watch of the service-account dir failed; the periodic re-check still runs', { dir }));
      plain.push(w);
    } catch (err) {
      log.warn('cannot watch the service-account dir; the periodic re-check still runs', { dir, error: String(err) });
    }
  }
  const paths = await Promise.all((targets.maybePaths ?? []).map((p) => watchPath(p, onEvent)));
  return {
    async close() {
      for (const w of plain) w.close();
      for (const p of paths) p.close();
      await chokidar.close();
    },
  };
}

/**
 * Watches a path that may not exist yet, nor its directories (e.g.
 * /run/flannel/subnet.env before flannel starts; chokidar misses a file
 * created under a directory that did not exist when watching began):
 * fs.watch on the deepest directory that exists, moved down as directories
 * appear and up as they go. Every move is followed by an event, so the
 * check after it sees what happened meanwhile. The looks at the disk go
 * through file-calls: once health is served a hung path stalls only them,
 * not the event loop (and so not /healthz).
 */
async function watchPath(path: string, onEvent: () => void): Promise<{ close(): void }> {
  const target = resolvePath(path);
  let watched = '';
  let watchedIno = -1;
  let current: FSWatcher | undefined;
  let closed = false;
  /** Watches the deepest directory that exists now (the same one, not one made anew under its name); true when that moved. */
  const armOnce = async (): Promise<boolean> => {
    if (closed) return false;
    let dir = dirname(target);
    let ino = await inodeOf(dir);
    while (ino === -1 && dirname(dir) !== dir) {
      dir = dirname(dir);
      ino = await inodeOf(dir);
    }
    if (closed) return false;
    if (dir === watched && ino === watchedIno && current) return false;
    current?.close();
    current = undefined;
    watched = dir;
    watchedIno = ino;
    try {
      current = fsWatch(dir, { persistent: false }, () => void arm().then(() => onEvent()));
      // The directory itself went away: watch higher up.
      current.on('error', () => { current?.close(); current = undefined; watched = ''; void arm().then(() => onEvent()); });
    } catch {
      watched = '';
    }
    return true;
  };
  // One look at a time: a look asked for while one runs is made after it
  // (it may have started before the change), and both callers hear the end.
  let looking: Promise<boolean> | undefined;
  let again = false;
  const arm = (): Promise<boolean> => {
    if (looking) {
      again = true;
      return looking;
    }
    looking = (async () => {
      let moved = false;
      do {
        again = false;
        moved = (await armOnce()) || moved;
      } while (again);
      return moved;
    })().finally(() => { looking = undefined; });
    return looking;
  };
  await arm();
  // A watched directory removed with its parents (rm -r) can end its watch
  // without a last event; a cheap look every second moves the watch and
  // wakes the loop instead of leaving it to the slow resync. A look still
  // running (a hung path) is not stacked up on.
  const look = setInterval(() => { if (!looking) void arm().then((moved) => { if (moved) onEvent(); }); }, 1000);
  look.unref();
  return { close: () => { closed = true; clearInterval(look); current?.close(); } };
}

/** The inode of path, or -1 when nothing (or nothing that can be looked at) is there. */
async function inodeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).ino;
  } catch {
    return -1;
  }
}

type WatchSettings = Pick<Options, 'multusConfFile' | 'multusAutoconfigDir' | 'cniConfDir' | 'serviceAccountDir' | 'readinessIndicatorFile' | 'mode' | 'daemonSocketDir'>;

/** What to watch for these options. */
export function watchTargets(o: WatchSettings, kubeconfigDir: string, caFile: string): WatchTargets {
  const auto = o.multusConfFile === 'auto';
  const thick = o.mode === 'thick';
  return {
    // Thick: no kubeconfig; the daemon's socket instead, so its coming and going wakes the loop.
    configDirs: [...new Set([...(auto ? [o.multusAutoconfigDir] : []), o.cniConfDir, ...(thick ? [] : [kubeconfigDir])])],
    files: auto ? [] : [o.multusConfFile],
    secretDirs: [o.serviceAccountDir, ...(caFile ? [dirname(caFile)] : [])],
    maybePaths: [...(o.readinessIndicatorFile ? [o.readinessIndicatorFile] : []), ...(thick ? [daemonSocketPath(o.daemonSocketDir)] : [])],
  };
}
