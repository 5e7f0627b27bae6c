// How this pod reaches the API server: the in-cluster service env and the
// mounted service account, read afresh for each use, so a rotated token is
// the one sent; the token is masked in every log line from then on.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { apiAccessReader } from '../../../src/cluster/api-access.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { createLogger } from '../../../src/observe/log.js';
import { type HostRoot, makeHostRoot, TOKEN, writeServiceAccount } from '../../helpers/host-root.js';

let h: HostRoot;
beforeEach(async () => { h = await makeHostRoot(); });
afterEach(async () => { await h.remove(); });

function reader(flags: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseCommandLine([...h.args, ...flags], { ...h.env, KUBERNETES_SERVICE_PROTOCOL: 'http', ...env });
  if (parsed.kind !== 'run') throw new Error('expected options');
  const lines: string[] = [];
  const log = createLogger('text', (l) => { lines.push(l); });
  return { read: apiAccessReader(parsed.options, parsed.env, log), log, lines };
}

describe('apiAccessReader', () => {
  it('gives the service env\'s server with the mounted token and CA', async () => {
    const { read } = reader();
    expect(await read()).toEqual({ protocol: 'http', host: '127.0.0.1', port: '6443', token: TOKEN, ca: Buffer.from('CA-1'), skipTlsVerify: false });
  });

  it('reads the service account afresh each time, and masks each token it read', async () => {
    const { read, log, lines } = reader();
    await read();
    const rotated = 'eyJhbGciOiJSUzI1NiJ9.rotated-access-never-log-me.sig';
    await writeServiceAccount(h.saDir, rotated, 'CA-2');
    const second = await read();
    expect(second.token === rotated).toBe(true);
    expect(second.ca).toEqual(Buffer.from('CA-2'));
    log.info(`sent ${TOKEN} and ${rotated}`);
    expect(lines).toEqual([expect.stringMatching(/sent \[redacted\] and \[redacted\]\n$/)]);
  });

  it('with --skip-tls-verify reads no CA, and KUBE_CA_FILE names another', async () => {
    expect(await reader(['--skip-tls-verify']).read()).toMatchObject({ ca: undefined, skipTlsVerify: true });
    const caFile = join(h.root, 'cluster-ca.crt');
    await fsp.writeFile(caFile, 'CLUSTER-CA');
    expect((await reader([], { KUBE_CA_FILE: caFile }).read()).ca).toEqual(Buffer.from('CLUSTER-CA'));
  });

  it('a token that cannot be read is an error naming the file, not the token', async () => {
    await writeServiceAccount(h.saDir, ' ', 'CA-1');
    await expect(reader().read()).rejects.toThrow(`${h.saDir}/token: the service-account token is empty`);
  });
});
