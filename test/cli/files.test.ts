// What lands on disk, seen from outside the process: temporary files of a
// killed run are cleared everywhere the program writes, every write goes
// through a temporary file, fsync and rename (seen with strace), --dry-run
// changes nothing at all, the binary is compared by content, and a master
// that is a symbolic link to a valid file is taken.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join, relative } from 'node:path';
import { COMMAND, copyMaster, listNames, readOrUndefined, runCommand, FIXTURES, TOKEN, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot();

const TEMP = '.multus-entrypoint-tmp.';
const confPath = (): string => join(h.confDir, '00-multus.conf');

/** Every file and dir under root: type, mode, size, mtime and content. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const path = join(dir, name);
      const s = await fsp.lstat(path);
      const key = relative(root, path);
      if (s.isDirectory()) {
        out[key] = `dir ${(s.mode & 0o7777).toString(8)} ${s.mtimeMs}`;
        await walk(path);
      } else if (s.isSymbolicLink()) {
        out[key] = `link ${await fsp.readlink(path)}`;
      } else {
        out[key] = `file ${(s.mode & 0o7777).toString(8)} ${s.mtimeMs} ${s.ino} ${(await fsp.readFile(path)).toString('base64')}`;
      }
    }
  };
  await walk(root);
  return out;
}

describe('temporary files left by a killed run', () => {
  it('are removed at start from the bin dir, the conf dir, multus.d and the autoconfig dir, each logged', async () => {
    const autoconfigDir = join(h.root, 'etc/cni/autoconfig');
    const multusD = join(h.confDir, 'multus.d');
    await fsp.mkdir(autoconfigDir, { recursive: true });
    await fsp.mkdir(multusD, { recursive: true });
    await fsp.copyFile(join(FIXTURES, 'masters/10-flannel.conflist'), join(autoconfigDir, '10-flannel.conflist'));
    const leftovers = [
      join(h.binDir, `${TEMP}multus.0a1b2c3d4e5f`),
      join(h.confDir, `${TEMP}00-multus.conf.1a2b3c4d5e6f`),
      join(multusD, `${TEMP}multus.kubeconfig.2a3b4c5d6e7f`),
      join(autoconfigDir, `${TEMP}10-flannel.conflist.3a4b5c6d7e8f`),
    ];
    for (const path of leftovers) await fsp.writeFile(path, 'half a file');
    // Someone else's hidden file is not ours to remove.
    await fsp.writeFile(join(h.confDir, '.other-installer.conf.tmp'), 'theirs');

    const r = await runCommand([...h.args, `--multus-autoconfig-dir=${autoconfigDir}`, '--once'], h.env);
    expect(r.code).toBe(0);
    for (const path of leftovers) {
      expect(await readOrUndefined(path)).toBeUndefined();
      expect(r.stderr).toContain(`removed a temporary file left by an earlier run file=${path}`);
    }
    expect(await readOrUndefined(join(h.confDir, '.other-installer.conf.tmp'))).toBe('theirs');
    expect(await listNames(h.confDir)).toEqual(['.other-installer.conf.tmp', '00-multus.conf', 'multus.d']);
  });
});

interface Syscall { index: number; line: string }

/**
 * Runs the command under strace -f -y (threads too: libuv does fs work on
 * its pool). No read or write calls are traced: their data holds the token.
 */
function straced(args: string[], env: NodeJS.ProcessEnv, out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('strace', [
      '-f', '-y', '-qq', '-s', '512', '-o', out,
      '-e', 'trace=openat,open,fsync,fdatasync,rename,renameat,renameat2,truncate,ftruncate',
      process.execPath, COMMAND, ...args,
    ], { env }, (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
  });
}

/** The write of one file, as the system calls show it. */
function writesOf(calls: Syscall[], dir: string, name: string): { temp?: string; fileSync?: number; rename?: number; dirSync?: number; inPlace: Syscall[] } {
  const target = join(dir, name);
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const renameRe = new RegExp(`rename(?:at2?)?\\((?:[^"]*, )?"(${esc(join(dir, TEMP + name))}\\.[0-9a-z]+)", (?:[^"]*, )?"${esc(target)}"`);
  const rename = calls.find((c) => renameRe.test(c.line));
  const temp = rename ? renameRe.exec(rename.line)![1] : undefined;
  const fileSync = temp === undefined ? undefined : calls.find((c) => c.line.includes(`fsync(`) && c.line.includes(`<${temp}>`))?.index;
  const dirSync = rename === undefined ? undefined : calls.find((c) => c.index > rename.index && /\bfsync\(\d+</.test(c.line) && c.line.includes(`<${dir}>`))?.index;
  // Opened for writing under its own name: a runtime could read half of it.
  const inPlace = calls.filter((c) => /\bopen(at)?\(/.test(c.line) && c.line.includes(`"${target}"`) && /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(c.line));
  return { temp, fileSync, rename: rename?.index, dirSync, inPlace };
}

describe('every write goes through a temporary file, fsync and rename', () => {
  it('for the binary, the Multus config and the kubeconfig (strace)', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const trace = join(h.root, 'strace.out');
    const r = await straced([...h.args, '--once'], h.env, trace);
    expect(r.code).toBe(0);
    const text = await fsp.readFile(trace, 'utf8');
    expect(text).not.toContain(TOKEN);
    const calls = text.split('\n').map((line, index) => ({ index, line }));
    for (const [dir, name] of [[h.binDir, 'multus'], [h.confDir, '00-multus.conf'], [join(h.confDir, 'multus.d'), 'multus.kubeconfig']] as const) {
      const w = writesOf(calls, dir, name);
      const where = `${join(dir, name)}:\n${text}`;
      expect({ where, temp: w.temp !== undefined }).toEqual({ where, temp: true });
      // The data reaches the disk before the name points at it...
      expect({ where, fileSyncBeforeRename: w.fileSync !== undefined && w.fileSync < w.rename! }).toEqual({ where, fileSyncBeforeRename: true });
      // ...and the rename itself is made durable by syncing the directory.
      expect({ where, dirSyncAfterRename: w.dirSync !== undefined }).toEqual({ where, dirSyncAfterRename: true });
      expect(w.inPlace.map((c) => c.line)).toEqual([]);
    }
  });
});

describe('--dry-run', () => {
  it('changes nothing on disk: no file, no directory, no mode, not even a leftover temporary file', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    // A node configured by an older version, with a killed run's leftovers.
    await fsp.writeFile(confPath(), '{"cniVersion":"0.3.1","name":"old","type":"multus","delegates":[]}\n', { mode: 0o600 });
    await fsp.writeFile(join(h.confDir, `${TEMP}00-multus.conf.0123456789ab`), 'half');
    await fsp.writeFile(join(h.binDir, `${TEMP}multus.0123456789ab`), 'half');
    await fsp.writeFile(join(h.binDir, 'multus'), 'an older multus');
    const before = await tree(h.root);
    await new Promise((r) => setTimeout(r, 20));

    const r = await runCommand([...h.args, '--dry-run'], h.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# would write ${confPath()}`);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(await tree(h.root)).toEqual(before);
  });
});

describe('the installed binary', () => {
  it('is replaced when it differs in content only (same length)', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const source = await fsp.readFile(h.srcBinary);
    const installed = join(h.binDir, 'multus');
    const sameLength = Buffer.from(source);
    const at = sameLength.length - 2;
    sameLength.writeUInt8(sameLength.readUInt8(at) ^ 0x20, at);
    await fsp.writeFile(installed, sameLength, { mode: 0o755 });
    expect((await fsp.stat(installed)).size).toBe(source.length);

    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(installed)).toEqual(source);
    expect(r.stderr).toMatch(/installed the multus binary/);
    expect(r.stderr).not.toMatch(/already installed/);
  });

  it('is not copied again when identical, byte for byte', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const installed = join(h.binDir, 'multus');
    await fsp.copyFile(h.srcBinary, installed);
    const before = await fsp.stat(installed);
    const r = await runCommand([...h.args, '--once'], h.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/the multus binary is already installed/);
    expect((await fsp.stat(installed)).ino).toBe(before.ino);
  });
});

describe('a master that is a symbolic link', () => {
  it.each([['absolute', true], ['relative', false]])('to a valid file elsewhere (%s link) is the master', async (_kind, absolute) => {
    const elsewhere = join(h.root, 'opt/cni-configs');
    await fsp.mkdir(elsewhere, { recursive: true });
    const real = join(elsewhere, 'podman.json.real');
    await fsp.copyFile(join(FIXTURES, 'masters/87-podman-bridge.conf'), real);
    await fsp.symlink(absolute ? real : relative(h.confDir, real), join(h.confDir, '20-link.conf'));

    const r = await runCommand([...h.args, '--once', '--master-cni-wait-timeout=0'], h.env);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/skipped a candidate/);
    const config = JSON.parse((await readOrUndefined(confPath()))!) as { delegates: unknown[] };
    expect(config.delegates).toEqual([JSON.parse(await fsp.readFile(real, 'utf8'))]);
    expect(r.stderr).toMatch(/the node is configured master=20-link.conf/);
  });
});
