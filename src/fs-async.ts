// The promise-based file calls the start path makes, over node:fs's
// callback API. Loading node:fs/promises also loads Node's readline
// interface and REPL history (for FileHandle.readLines): ~4 M instructions,
// about 15% of what a start does above Node's own boot under the
// DaemonSet's 100m CPU. What loads after the first config (chokidar,
// cleanup, metrics) may still use node:fs/promises.
import * as fs from 'node:fs';
import { promisify } from 'node:util';

export const copyFile = promisify(fs.copyFile);
export const lstat = promisify(fs.lstat);
export const mkdir = promisify(fs.mkdir);
export const readdir = promisify(fs.readdir);
export const rename = promisify(fs.rename);
export const rm = promisify(fs.rm);
export const stat = promisify(fs.stat);
export const unlink = promisify(fs.unlink);

export function readFile(path: string): Promise<Buffer>;
export function readFile(path: string, encoding: BufferEncoding): Promise<string>;
export function readFile(path: string, encoding?: BufferEncoding): Promise<string | Buffer> {
  return new Promise((resolve, reject) => {
    fs.readFile(path, encoding === undefined ? null : encoding, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

export function writeFile(path: string, data: string | Uint8Array, options: fs.WriteFileOptions): Promise<void> {
  return new Promise((resolve, reject) => fs.writeFile(path, data, options, (err) => (err ? reject(err) : resolve())));
}

/** An open file descriptor: what the atomic writes need of a FileHandle. */
export interface OpenFile {
  chmod(mode: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

const fchmod = promisify(fs.fchmod);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const openFd = promisify(fs.open);

export async function open(path: string, flags: number): Promise<OpenFile> {
  const fd = await openFd(path, flags);
  return { chmod: (mode) => fchmod(fd, mode), sync: () => fsync(fd), close: () => close(fd) };
}
