// The file calls of src/base/file-calls.ts run inline on the main thread until
// the program serves health, and through the thread pool after: a start
// then costs no thread-pool hops, and a file that hangs later (a FIFO, a
// stuck volume) stalls only the reconcile loop, not the event loop.
// (test/cli/health.test.ts checks the stall from outside: /healthz turns 503.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as calls from '../../../src/base/file-calls.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'multus-file-calls-'));
});
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

describe('before health is served (inline)', () => {
  it('has done the call by the time it returns, and gives the result as a promise', async () => {
    const file = join(dir, 'inline');
    const written = calls.writeFile(file, 'x', { flag: 'wx', mode: 0o600 });
    expect(existsSync(file)).toBe(true);
    await written;
    await expect(calls.readFile(file, 'utf8')).resolves.toBe('x');
    await expect(calls.readdir(dir)).resolves.toContain('inline');
    expect((await calls.stat(file)).size).toBe(1);
  });

  it('rejects (never throws) with the error node:fs gives, naming the path', async () => {
    const missing = join(dir, 'missing');
    let p: Promise<unknown> | undefined;
    expect(() => { p = calls.stat(missing); }).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: 'ENOENT', path: missing });
    await expect(calls.writeFile(join(dir, 'inline-2'), 'x', { flag: 'wx' }).then(() => calls.writeFile(join(dir, 'inline-2'), 'y', { flag: 'wx' })))
      .rejects.toMatchObject({ code: 'EEXIST' });
    await expect(calls.rmForce(missing)).resolves.toBeUndefined();
  });

  it('writes, syncs, renames and copies as the atomic writes need', async () => {
    const tmp = join(dir, 'tmp');
    await calls.writeFile(tmp, 'content', { flag: 'wx', mode: 0o600 });
    const f = await calls.open(tmp, constants.O_RDWR);
    await f.chmod(0o644);
    await f.sync();
    await f.close();
    await calls.rename(tmp, join(dir, 'final'));
    await calls.copyFile(join(dir, 'final'), join(dir, 'copy'), constants.COPYFILE_EXCL);
    expect((await fsp.stat(join(dir, 'final'))).mode & 0o777).toBe(0o644);
    expect(await fsp.readFile(join(dir, 'copy'), 'utf8')).toBe('content');
    await calls.mkdirRecursive(join(dir, 'a', 'b'));
    expect((await calls.lstat(join(dir, 'a', 'b'))).isDirectory()).toBe(true);
    await calls.unlink(join(dir, 'copy'));
    expect(existsSync(join(dir, 'copy'))).toBe(false);
  });

  it('tells whether a path exists, and reads an open file in chunks', async () => {
    await expect(calls.access(join(dir, 'final'))).resolves.toBeUndefined();
    await expect(calls.access(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    const f = await calls.open(join(dir, 'final'), constants.O_RDONLY);
    const buf = Buffer.alloc(4);
    expect(await f.read(buf, 4)).toBe(4);
    expect(buf.toString()).toBe('cont');
    expect(await f.read(buf, 4)).toBe(3);
    expect(await f.read(buf, 4)).toBe(0);
    await f.close();
  });
});

describe('once health is served (thread pool)', () => {
  it('leaves the event loop running while a read hangs on a FIFO', async () => {
    calls.moveFileCallsOffTheMainThread();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer comes half a second later. Inline, the read would block the
    // main thread until then, and resolve before any timer could fire.
    const writer = spawn('sh', ['-c', 'sleep 0.5; printf late > "$0"', fifo], { stdio: 'ignore' });
    const writerExited = new Promise((resolve) => writer.once('exit', resolve));
    let turned = false;
    setTimeout(() => { turned = true; }, 0);
    const text = await calls.readFile(fifo, 'utf8');
    expect(turned).toBe(true);
    expect(text).toBe('late');
    await writerExited;
  });

  it('writes, reads in chunks and removes as it did inline', async () => {
    const file = join(dir, 'pooled');
    await calls.writeFile(file, 'pooled!', { flag: 'wx', mode: 0o600 });
    const f = await calls.open(file, constants.O_RDWR);
    await f.chmod(0o644);
    await f.sync();
    const buf = Buffer.alloc(4);
    expect(await f.read(buf, 4)).toBe(4);
    expect(buf.toString()).toBe('pool');
    expect(await f.read(buf, 4)).toBe(3);
    expect(await f.read(buf, 4)).toBe(0);
    await f.close();
    expect((await fsp.stat(file)).mode & 0o777).toBe(0o644);
    await calls.rmForce(file);
    expect(existsSync(file)).toBe(false);
    // Already gone: still no error, as the cleanup of a temporary file needs.
    await expect(calls.rmForce(file)).resolves.toBeUndefined();
  });

  it('still rejects with the error node:fs gives', async () => {
    await expect(calls.stat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(calls.access(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(calls.readFile(join(dir, 'final'), 'utf8')).resolves.toBe('content');
  });
});
