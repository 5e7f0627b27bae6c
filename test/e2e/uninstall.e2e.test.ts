// Scenario 5, uninstall vs restart, with --cleanup-config-on-exit and the
// installer's own pod (POD_NAME/POD_NAMESPACE) owned by a real DaemonSet
// object, so the real API server answers the "is this an uninstall?" check:
// - SIGTERM while the DaemonSet exists (a rolling update, a pod restart)
//   leaves the config and kubeconfig in place: pods keep getting Multus;
// - after the DaemonSet is deleted, SIGTERM removes both, and the runtime's
//   default network is the master again.
import fs from 'node:fs';
import path from 'node:path';
import { check, expectAddOk, startPod } from '../harness/checks.js';
import { generatedConfigs, INSTALLERS, type Installer } from '../harness/installers.js';
import { createDaemonSet, createPod, deleteDaemonSet } from '../harness/kube.js';
import { bridgeMaster, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { pickConfig } from '../harness/runtime.js';
import { e2eDescribe, runScenario, type ScenarioContext } from '../harness/suite.js';

function installedFiles(ctx: ScenarioContext): string[] {
  const files = generatedConfigs(ctx.node).map((f) => path.basename(f));
  if (fs.existsSync(ctx.node.paths.kubeconfigFile)) files.push('multus.d/multus.kubeconfig');
  return files;
}

async function sigterm(installer: Installer): Promise<void> {
  const exit = await installer.stop('SIGTERM');
  check(exit.code === 0, `${installer.kind} exited with ${exit.code ?? exit.signal ?? '?'} after SIGTERM, expected 0`);
}

e2eDescribe('scenario 5: uninstall vs restart', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '5', 'SIGTERM keeps the config while the DaemonSet exists and removes it once it is deleted', () =>
      runScenario(kind, 's5', async (ctx) => {
        const { node, kc } = ctx;
        const ns = ctx.env.multusNamespace;
        writeJson(node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
        node.writeServiceAccount(await node.issueToken());
        const dsName = `multus-${ctx.namespace}`;
        const ds = await createDaemonSet(kc, ns, dsName);
        const self = await createPod(kc, ns, `${dsName}-abcde`, { owner: ds });
        const install = (): Installer =>
          ctx.install({ args: ['--cleanup-config-on-exit'], env: { POD_NAME: self.metadata?.name ?? '', POD_NAMESPACE: ns } });

        const first = install();
        await first.waitForConfig();
        await sigterm(first);
        const afterRestart = installedFiles(ctx);
        check(afterRestart.length === 2, `after SIGTERM with the DaemonSet present, expected the config and kubeconfig to stay; found: ${afterRestart.join(', ') || 'nothing'}`);
        const pod = await startPod(ctx, 'during-restart', undefined);
        expectAddOk(pod, 'a pod started while the installer restarts');
        check(path.basename(pod.add.config.file).startsWith('00-multus.'), `the runtime used ${pod.add.config.file}, not Multus`);

        const second = install();
        await second.waitForConfig();
        await deleteDaemonSet(kc, ns, dsName);
        await sigterm(second);
        const afterUninstall = installedFiles(ctx);
        check(afterUninstall.length === 0, `after SIGTERM with the DaemonSet deleted, expected the config and kubeconfig removed; found: ${afterUninstall.join(', ')}`);
        const picked = pickConfig(node.paths.cniConfDir);
        check(path.basename(picked.file) === '10-bridge.conf', `after uninstall the runtime picks ${picked.file}, expected the master 10-bridge.conf`);
      }),
    );
  }
});
