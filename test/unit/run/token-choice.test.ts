// Which token the kubeconfig carries, in this process against the fake API
// server on 127.0.0.1 (test/unit/cluster/bound-token.test.ts tests the
// node-bound token itself): a node-bound one when NODE_NAME is set and the
// lifetime is not 0, else the mounted one with why, said once; --dry-run
// asks the API server for nothing and only says which a run would use.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { BoundTokenSource } from '../../../src/cluster/bound-token.js';
import { Trigger } from '../../../src/host/watch.js';
import { createLogger } from '../../../src/observe/log.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import { startTokens } from '../../../src/run/token-choice.js';
import { NODE, POD, serviceAccountJwt, useFakeApi } from '../../helpers/api-server.js';
import { eventually, type HostRoot, makeHostRoot, writeServiceAccount } from '../../helpers/host-root.js';

const MOUNTED = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted' });

let h: HostRoot;
let lines: string[];
let source: BoundTokenSource | undefined;
beforeEach(async () => {
  h = await makeHostRoot();
  await writeServiceAccount(h.saDir, MOUNTED, 'CA-1');
  lines = [];
});
afterEach(async () => {
  source?.stop();
  source = undefined;
  await h.remove();
  expect(lines.join('')).not.toContain('never-log-me');
});
const fake = useFakeApi();

/** startTokens as run() calls it, for these flags and NODE_NAME (unset when ''). */
async function choose(flags: string[], nodeName: string): Promise<{ source?: BoundTokenSource; note: string }> {
  await fake.serve({ token: MOUNTED });
  const parsed = parseCommandLine([...h.args, ...flags], fake.env(h.env, nodeName));
  if (parsed.kind !== 'run') throw new Error('expected options');
  const log = createLogger('text', (l) => { lines.push(l); });
  const chosen = await startTokens(parsed.options, parsed.env, new Reconciler(parsed.options, parsed.env, log), new Trigger(), log);
  source = chosen.source;
  return chosen;
}

const tokenRequests = (): number => fake.api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/token')).length;

describe('startTokens', () => {
  it('--dry-run with NODE_NAME: says a run would ask for a node-bound token (the node, the lifetime), asks nothing, logs nothing', async () => {
    const chosen = await choose(['--dry-run', '--kubeconfig-token-expiration=3600'], NODE);
    expect(chosen).toEqual({ note: 'the kubeconfig would carry a node-bound token, requested when run (TokenRequest bound to node node-1, 3600 s, renewed at 80%); shown below: the mounted token, masked' });
    expect(fake.api.requests).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('--dry-run with --kubeconfig-token-expiration=0: says a run would carry the mounted token and why, logs nothing', async () => {
    const chosen = await choose(['--dry-run', '--kubeconfig-token-expiration=0'], NODE);
    expect(chosen).toEqual({ note: 'the kubeconfig would carry the mounted service-account token (it stops working once this pod is gone): --kubeconfig-token-expiration=0' });
    expect(lines).toEqual([]);
  });

  it('without NODE_NAME: the mounted token, said once with how to set it; nothing asked', async () => {
    const chosen = await choose([], '');
    expect(chosen.source).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining('INFO  the kubeconfig carries the mounted service-account token (it stops working once this pod is gone): NODE_NAME is not set (set it from the downward API, spec.nodeName)')]);
    expect(tokenRequests()).toBe(0);
  });

  it('with NODE_NAME: a node-bound token is asked for at once', async () => {
    const chosen = await choose(['--kubeconfig-token-expiration=3600'], NODE);
    expect(chosen.note).toBe('');
    expect(chosen.source).toBeDefined();
    await eventually(async () => fake.api.issued.length, (n) => n === 1, 10_000, 'the token issued');
    expect(tokenRequests()).toBe(1);
  });
});
