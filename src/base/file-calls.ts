// The program's one way to touch files: promise-shaped calls used by every
// layer (the log's writes to fd 2 and fs.watch, which blocks nothing, aside).
//
// Until the program first serves health (the first install done, or a wait
// for a master begun), each call runs inline on the main thread, as
// node:fs's synchronous API: a start then never wakes libuv's thread pool
// nor goes through the event loop per call, which was a third of what a
// start cost above Node's own boot under the DaemonSet's 100m CPU (the
// files are a few KiB; the one large copy, the binary, happens before
// anything else waits on the loop). From then on the calls go through the
// thread pool, so that a file that hangs (a FIFO, a stuck volume) stalls
// only the reconcile loop, which /healthz reports, not the health server
// and the signal handlers.
//
// node:fs's callback API rather than node:fs/promises: loading the latter
// also loads Node's readline interface and REPL history (FileHandle.readLines).
import {
  access as accessCb, accessSync, close as closeCb, closeSync, copyFile as copyFileCb, copyFileSync, fchmod as fchmodCb, fchmodSync, fsync as fsyncCb, fsyncSync,
  lstat as lstatCb, lstatSync, mkdir as mkdirCb, mkdirSync, open as openCb, openSync, read as readCb, readSync, readdir as readdirCb, readdirSync,
  readFile as readFileCb, readFileSync, rename as renameCb, renameSync, rm as rmCb, rmSync, stat as statCb, statSync,
  unlink as unlinkCb, unlinkSync, writeFile as writeFileCb, writeFileSync,
  type Stats, type WriteFileOptions,
} from 'node:fs';

let inline = true;

/** From here on, file calls go through the thread pool (see above); there is no way back. */
export function moveFileCallsOffTheMainThread(): void {
  inline = false;
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

/** Runs the call inline (a throw becomes a rejection) or through its callback form. */
function call<T>(sync: () => T, viaPool: (done: Callback<T>) => void): Promise<T> {
  if (inline) return new Promise((resolve) => resolve(sync()));
  return new Promise((resolve, reject) => viaPool((err, value) => (err ? reject(err) : resolve(value))));
}

type Done = (err: NodeJS.ErrnoException | null) => void;
/** For the callbacks that give no value. */
const noValue = (done: Callback<void>): Done => (err) => done(err, undefined);

/** Resolves when something is at path (symbolic links followed), rejects as node:fs does otherwise. */
export const access = (path: string): Promise<void> => call(() => accessSync(path), (done) => accessCb(path, noValue(done)));
export const copyFile = (src: string, dest: string, mode: number): Promise<void> =>
  call(() => copyFileSync(src, dest, mode), (done) => copyFileCb(src, dest, mode, noValue(done)));
export const lstat = (path: string): Promise<Stats> => call(() => lstatSync(path), (done) => lstatCb(path, done));
export const stat = (path: string): Promise<Stats> => call(() => statSync(path), (done) => statCb(path, done));
/** Directories the program creates: 0755 at most (the umask may take more away), never the 0777 of mkdir's default under a umask of 0. */
const DIR_MODE = 0o755;
export const mkdirRecursive = (path: string): Promise<void> =>
  call<void>(() => void mkdirSync(path, { recursive: true, mode: DIR_MODE }), (done) => mkdirCb(path, { recursive: true, mode: DIR_MODE }, noValue(done)));
export const readdir = (path: string): Promise<string[]> => call(() => readdirSync(path), (done) => readdirCb(path, done));
export const rename = (from: string, to: string): Promise<void> => call(() => renameSync(from, to), (done) => renameCb(from, to, noValue(done)));
/** Removes a file; no error when it is already gone. */
export const rmForce = (path: string): Promise<void> => call(() => rmSync(path, { force: true }), (done) => rmCb(path, { force: true }, noValue(done)));
export const unlink = (path: string): Promise<void> => call(() => unlinkSync(path), (done) => unlinkCb(path, noValue(done)));

export function readFile(path: string): Promise<Buffer>;
export function readFile(path: string, encoding: BufferEncoding): Promise<string>;
export function readFile(path: string, encoding?: BufferEncoding): Promise<string | Buffer> {
  const options = { encoding: encoding ?? null };
  return call<string | Buffer>(() => readFileSync(path, options), (done) => readFileCb(path, options, done));
}

export const writeFile = (path: string, data: string | Uint8Array, options: WriteFileOptions): Promise<void> =>
  call(() => writeFileSync(path, data, options), (done) => writeFileCb(path, data, options, noValue(done)));

/** An open file descriptor: what the atomic writes and the binary's compare need of a FileHandle. */
interface OpenFile {
  /** Reads up to `length` bytes into the start of `buffer` from the current position; 0 at the end. */
  read(buffer: Buffer, length: number): Promise<number>;
  chmod(mode: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export async function open(path: string, flags: number): Promise<OpenFile> {
  const fd = await call(() => openSync(path, flags), (done) => openCb(path, flags, done));
  return {
    read: (buffer, length) => call(() => readSync(fd, buffer, 0, length, null), (done) => readCb(fd, buffer, 0, length, null, (err, n) => done(err, n))),
    chmod: (mode) => call(() => fchmodSync(fd, mode), (done) => fchmodCb(fd, mode, noValue(done))),
    sync: () => call(() => fsyncSync(fd), (done) => fsyncCb(fd, noValue(done))),
    close: () => call(() => closeSync(fd), (done) => closeCb(fd, noValue(done))),
  };
}
