// Reading the host, in this process on a temporary host root: a config
// file's text or why it cannot be one (each reason names what is wrong),
// the autoconfig dir's candidates in ranking order, the service account
// (errors name the file, never the token), the readiness indicator file.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { JobError } from '../../../src/base/errors.js';
import { observeReadiness, readCandidates, readConfigText, readServiceAccount } from '../../../src/host/read.js';
import { type HostRoot, makeHostRoot, TOKEN, writeServiceAccount } from '../../helpers/host-root.js';

/** A master config is a few KiB; a file over 1 MiB is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

let h: HostRoot;
beforeEach(async () => { h = await makeHostRoot(); });
afterEach(async () => { await h.remove(); });

const at = (name: string): string => join(h.confDir, name);

describe('readConfigText', () => {
  it('gives the text of a config-sized UTF-8 file, through a symbolic link too', async () => {
    await fsp.writeFile(at('10-a.conf'), '{"type":"bridge","name":"é"}');
    await fsp.symlink(at('10-a.conf'), at('20-link.conf'));
    expect(await readConfigText(at('10-a.conf'))).toEqual({ text: '{"type":"bridge","name":"é"}' });
    expect(await readConfigText(at('20-link.conf'))).toEqual({ text: '{"type":"bridge","name":"é"}' });
  });

  it.each<[string, (p: string) => Promise<unknown>, string]>([
    ['missing', async () => undefined, 'no such file or directory'],
    ['a dangling link', (p) => fsp.symlink(join(h.root, 'gone.conf'), p), 'dangling symbolic link'],
    ['a directory', (p) => fsp.mkdir(p), 'is a directory'],
    ['a device (a link to /dev/null)', (p) => fsp.symlink('/dev/null', p), 'not a regular file'],
    ['a link to itself', (p) => fsp.symlink(p, p), 'too many levels of symbolic links'],
    ['larger than 1 MiB', (p) => fsp.writeFile(p, Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20)), `larger than ${MAX_CONFIG_BYTES} bytes (${MAX_CONFIG_BYTES + 1})`],
    ['not UTF-8', (p) => fsp.writeFile(p, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'not UTF-8 text'],
  ])('%s: unreadable, saying why', async (_what, make, reason) => {
    await make(at('10-x.conf'));
    expect(await readConfigText(at('10-x.conf'))).toEqual({ unreadable: reason });
  });

  it('a file of exactly 1 MiB is still read', async () => {
    await fsp.writeFile(at('10-x.conf'), Buffer.alloc(MAX_CONFIG_BYTES, 0x20));
    expect(await readConfigText(at('10-x.conf'))).toEqual({ text: ' '.repeat(MAX_CONFIG_BYTES) });
  });
});

describe('readCandidates', () => {
  it('finds none in a dir that does not exist yet, or a file where the dir should be', async () => {
    const opts = { pinned: '', renamedMasters: false };
    expect(await readCandidates(join(h.root, 'none'), opts)).toEqual([]);
    await fsp.writeFile(join(h.root, 'file'), '');
    expect(await readCandidates(join(h.root, 'file'), opts)).toEqual([]);
  });

  it('a dir that cannot be listed (a link to itself) is a JobError naming it and why', async () => {
    const loop = join(h.root, 'loop');
    await fsp.symlink(loop, loop);
    const err = await readCandidates(loop, { pinned: '', renamedMasters: false }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toBe(`${loop}: cannot list the directory: too many levels of symbolic links`);
  });

  it('gives the candidates in byte order of name, each with its text or why not', async () => {
    await fsp.writeFile(at('10-b.conflist'), 'B');
    await fsp.writeFile(at('05-a.conf'), 'A');
    await fsp.writeFile(at('Z-upper.json'), 'Z');
    await fsp.writeFile(at('README'), 'not a config');
    await fsp.mkdir(at('20-dir.conf'));
    const candidates = await readCandidates(h.confDir, { pinned: '', renamedMasters: false });
    expect(candidates).toEqual([
      { name: '05-a.conf', diskName: '05-a.conf', text: 'A' },
      { name: '10-b.conflist', diskName: '10-b.conflist', text: 'B' },
      { name: '20-dir.conf', diskName: '20-dir.conf', unreadable: 'is a directory' },
      { name: 'Z-upper.json', diskName: 'Z-upper.json', text: 'Z' },
    ]);
  });

  it('with renamed masters, takes <name>.old for <name> when <name> is absent', async () => {
    await fsp.writeFile(at('10-flannel.conflist.old'), 'F');
    await fsp.writeFile(at('20-other.conf'), 'O');
    await fsp.writeFile(at('20-other.conf.old'), 'stale');
    expect(await readCandidates(h.confDir, { pinned: '', renamedMasters: true })).toEqual([
      { name: '10-flannel.conflist', diskName: '10-flannel.conflist.old', text: 'F' },
      { name: '20-other.conf', diskName: '20-other.conf', text: 'O' },
    ]);
  });
});

describe('readServiceAccount', () => {
  it('reads the token (trimmed) and the CA through the kubelet\'s ..data links', async () => {
    await writeServiceAccount(h.saDir, `${TOKEN}\n`, 'CA-2');
    const sa = await readServiceAccount(h.saDir, '', false);
    expect(sa.token === TOKEN).toBe(true);
    expect(sa.ca).toEqual(Buffer.from('CA-2'));
  });

  it('reads no CA when TLS verification is skipped, and another CA file when named', async () => {
    expect((await readServiceAccount(h.saDir, '', true)).ca).toBeUndefined();
    const caFile = join(h.root, 'ca.pem');
    await fsp.writeFile(caFile, 'OTHER-CA');
    expect((await readServiceAccount(h.saDir, caFile, false)).ca).toEqual(Buffer.from('OTHER-CA'));
  });

  it.each<[string, () => Promise<unknown>, (h: HostRoot) => string]>([
    ['no token', () => fsp.rm(join(h.saDir, 'token')), (r) => `${r.saDir}/token: cannot read the service-account token: no such file or directory`],
    ['an empty token', () => writeServiceAccount(h.saDir, '\n', 'CA-1'), (r) => `${r.saDir}/token: the service-account token is empty`],
    ['a token with whitespace inside', () => writeServiceAccount(h.saDir, 'eyJ never-log-me', 'CA-1'), (r) => `${r.saDir}/token: the service-account token contains whitespace`],
    ['no CA', () => fsp.rm(join(h.saDir, 'ca.crt')), (r) => `${r.saDir}/ca.crt: cannot read the CA certificate: no such file or directory (or set --skip-tls-verify)`],
    ['an empty CA', () => writeServiceAccount(h.saDir, TOKEN, ''), (r) => `${r.saDir}/ca.crt: the CA certificate is empty`],
  ])('%s: a JobError naming the file, never the token', async (_what, make, message) => {
    await make();
    const err = await readServiceAccount(h.saDir, '', false).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toBe(message(h));
    expect((err as Error).message).not.toMatch(/never-log-me/);
  });
});

describe('observeReadiness', () => {
  it('ready while anything is at the path; not ready, saying why, otherwise', async () => {
    const path = join(h.root, 'run/flannel/subnet.env');
    expect(await observeReadiness(path)).toEqual({ path, ready: false, why: 'no such file or directory' });
    await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
    await fsp.writeFile(path, '');
    expect(await observeReadiness(path)).toEqual({ path, ready: true });
    await fsp.rm(path);
    await fsp.mkdir(path);
    expect(await observeReadiness(path)).toEqual({ path, ready: true });
  });
});
