// --cleanup-config-on-exit, in this process against the fake API server on
// 127.0.0.1 (test/cli/cleanup.test.ts and rename.test.ts stop the built
// program): a restart leaves everything; an uninstall removes exactly what
// this program wrote and gives a renamed master its name back.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { createLogger } from '../../../src/observe/log.js';
import { cleanUpOnExit } from '../../../src/run/cleanup.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import { type FakeApiOptions, useFakeApi } from '../../helpers/api-server.js';
import { copyMaster, type HostRoot, listNames, makeHostRoot, readOrUndefined } from '../../helpers/host-root.js';

let h: HostRoot;
let lines: string[];
beforeEach(async () => {
  h = await makeHostRoot();
  lines = [];
  await copyMaster(h, 'masters/10-flannel.conflist');
});
afterEach(async () => { await h.remove(); });
const fake = useFakeApi();

type CleanupOutcome = Awaited<ReturnType<typeof cleanUpOnExit>>;

const log = createLogger('text', (l) => { lines.push(l); });
const confPath = (): string => join(h.confDir, '00-multus.conf');
const said = (re: RegExp): string[] => lines.filter((l) => re.test(l));

/** A program that wrote its files (one reconcile), then stops with the API server answering as `o` says. */
async function stop(o: Partial<FakeApiOptions>, flags: string[] = [], before?: (r: Reconciler) => Promise<void>): Promise<CleanupOutcome> {
  await fake.serve(o);
  const parsed = parseCommandLine([...h.args, '--cleanup-config-on-exit', ...flags], fake.env(h.env));
  if (parsed.kind !== 'run') throw new Error('expected options');
  const reconciler = new Reconciler(parsed.options, parsed.env, log);
  await reconciler.reconcile();
  await before?.(reconciler);
  return cleanUpOnExit(parsed.options, parsed.env, reconciler, log);
}

describe('cleanUpOnExit', () => {
  it('a restart (the DaemonSet remains): every file stays, and it says why', async () => {
    const outcome = await stop({});
    expect(outcome).toMatchObject({ uninstall: false, removed: [] });
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist', 'multus.d']);
    expect(await readOrUndefined(h.kubeconfig)).toBeDefined();
    expect(said(/restart, not uninstall: leaving the Multus config and kubeconfig in place reason="DaemonSet kube-system\/kube-multus-ds still exists/)).toHaveLength(1);
  });

  it('an uninstall: removes the config and the kubeconfig it wrote, names each, and leaves the master', async () => {
    const outcome = await stop({ daemonSet: 'absent' });
    expect(outcome).toEqual({ uninstall: true, reason: 'DaemonSet kube-system/kube-multus-ds is gone', removed: expect.arrayContaining([confPath(), h.kubeconfig]) });
    expect(outcome.removed).toHaveLength(2);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    expect(said(/uninstall: removing what this program wrote reason="DaemonSet kube-system\/kube-multus-ds is gone"/)).toHaveLength(1);
    expect(said(new RegExp(`removed file=${confPath()}\\n`))).toHaveLength(1);
  });

  it('an uninstall gives the master renamed by --rename-conf-file its name back', async () => {
    await stop({ daemonSet: 'absent' }, ['--rename-conf-file'], async () => {
      expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
    });
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
    expect(said(/restored the renamed master config file=.*10-flannel\.conflist\n/)).toHaveLength(1);
  });

  it('an uninstall by a later process that found <name>.old at start restores it too', async () => {
    await fsp.rename(join(h.confDir, '10-flannel.conflist'), join(h.confDir, '10-flannel.conflist.old'));
    await stop({ daemonSet: 'absent' }, ['--rename-conf-file']);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', 'multus.d']);
  });

  it('does not restore a renamed master over a file of that name, and says so', async () => {
    await stop({ daemonSet: 'absent' }, ['--rename-conf-file'], () => fsp.writeFile(join(h.confDir, '10-flannel.conflist'), '{}'));
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', '10-flannel.conflist.old', 'multus.d']);
    expect(said(/not restoring the renamed master: a file of that name exists/)).toHaveLength(1);
  });

  it('a renamed master it cannot restore (gone meanwhile) is logged, naming the renamed file', async () => {
    const renamed = join(h.confDir, '10-flannel.conflist.old');
    const outcome = await stop({ daemonSet: 'absent' }, ['--rename-conf-file'], () => fsp.rm(renamed));
    // The rest of the uninstall went on.
    expect(outcome.removed).toHaveLength(2);
    expect(said(new RegExp(`ERROR cannot restore the renamed master config file=${renamed} error="no such file or directory"\n`))).toHaveLength(1);
  });

  it('a file it cannot remove is logged, naming it, and the rest still goes', async () => {
    const outcome = await stop({ daemonSet: 'absent' }, [], async () => {
      await fsp.rm(confPath());
      await fsp.mkdir(confPath());
      await fsp.writeFile(join(confPath(), 'x'), '');
    });
    expect(outcome.removed).toEqual([h.kubeconfig]);
    expect(said(new RegExp(`ERROR cannot remove file=${confPath()} error=`))).toHaveLength(1);
  });

  it('a service account it cannot read: an uninstall, asking nothing', async () => {
    const outcome = await stop({}, [], () => fsp.rm(join(h.saDir, 'token')));
    expect(outcome).toMatchObject({ uninstall: true, reason: expect.stringMatching(/^cannot ask the API server: .*\/token: cannot read the service-account token/) });
    expect(fake.api.requests).toEqual([]);
  });
});
