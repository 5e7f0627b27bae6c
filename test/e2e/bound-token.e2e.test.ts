// Scenario 6, the kubeconfig's token outlives the pod. The installer's
// mounted token is bound to its pod, as the kubelet projects it. The pod
// goes away (its container stopped, the pod object deleted: an upgrade whose
// new pod never starts) and the node keeps the files. The next ADD must
// still succeed: with NODE_NAME set, the kubeconfig carries a token the
// installer requested bound to the Node, which outlives the pod. Negative
// control: with --kubeconfig-token-expiration=0 the kubeconfig carries the
// pod's token and the same ADD fails with Unauthorized. thin_entrypoint has
// the defect (it copies the pod's token) and is recorded for comparison.
import fs from 'node:fs';
import { check, expectAddOk, expectInterface, startPod } from '../harness/checks.js';
import { INSTALLERS } from '../harness/installers.js';
import { createNad, ensureNode, ensureTokenRole, installerPodWithToken, NODE_NAME, statusWithToken } from '../harness/kube.js';
import { bridgeMaster, macvlanNad, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { describeOutcome } from '../harness/runtime.js';
import { e2eDescribe, runScenario, type ScenarioContext } from '../harness/suite.js';
import { waitUntil } from '../harness/wait.js';

/** Installs with a pod-bound token, proves an ADD works, then the installer's pod goes away for good. */
async function installThenLosePod(ctx: ScenarioContext, label: string, extraArgs: string[]): Promise<string> {
  const { node, env } = ctx;
  await ensureNode(ctx.kc);
  await ensureTokenRole(ctx.kc, env.multusNamespace);
  writeJson(node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
  const podName = `kube-multus-ds-${label}`;
  const mounted = await installerPodWithToken(ctx.kc, env.multusNamespace, podName);
  node.writeServiceAccount(mounted);
  const installer = ctx.install({ args: extraArgs, env: { NODE_NAME, POD_NAME: podName, POD_NAMESPACE: env.multusNamespace } });
  await installer.waitForConfig();
  await createNad(ctx.kc, ctx.namespace, 'macvlan-conf', macvlanNad(SUBNETS.macvlan));
  expectAddOk(await startPod(ctx, 'before-pod-gone', 'macvlan-conf'), 'a pod while the installer runs');
  const carriesMounted = fs.readFileSync(node.paths.kubeconfigFile, 'utf8').includes(mounted.token);
  // Its container stops (no cleanup flag: the files stay), then the pod object goes.
  await installer.stop('SIGTERM');
  await mounted.revoke();
  const rejected = await waitUntil(30000, async () => (await statusWithToken(ctx.kc, mounted.token, env.multusNamespace, podName)) === 401, 500);
  check(rejected, 'the API server still accepts the pod-bound token 30 s after its pod was deleted');
  return `${installer.logs()}\n(the kubeconfig ${carriesMounted ? 'carried' : 'did not carry'} the pod's own token)`;
}

e2eDescribe('scenario 6: the kubeconfig token outlives the pod', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '6', "the installer's pod deleted, the next ADD still succeeds", () =>
      runScenario(kind, 's6a', async (ctx) => {
        const logs = await installThenLosePod(ctx, `s6a-${kind === 'thin_entrypoint' ? 'thin' : 'me'}`, []);
        if (kind === 'multus-entrypoint') check(/the kubeconfig carries a node-bound token/.test(logs), `the installer did not say it uses a node-bound token:\n${logs}`);
        const after = await startPod(ctx, 'after-pod-gone', 'macvlan-conf');
        check(after.add.ok, describeOutcome("ADD after the installer's pod was deleted", after.add));
        await expectInterface(after.sandbox, 'net1', SUBNETS.macvlan, 'macvlan');
      }),
    );
  }

  scenarioTest('multus-entrypoint', '6', 'negative control: with --kubeconfig-token-expiration=0 the ADD fails with Unauthorized', () =>
    runScenario('multus-entrypoint', 's6b', async (ctx) => {
      const logs = await installThenLosePod(ctx, 's6b-me', ['--kubeconfig-token-expiration=0']);
      check(/the kubeconfig carries the mounted service-account token .*--kubeconfig-token-expiration=0/.test(logs), `the installer did not say it uses the mounted token:\n${logs}`);
      const after = await startPod(ctx, 'after-pod-gone', 'macvlan-conf');
      check(!after.add.ok, describeOutcome("ADD with the deleted pod's token (expected to fail)", after.add));
      check(/Unauthorized/.test(after.add.stdout + after.add.stderr), describeOutcome('ADD failed, but not with Unauthorized', after.add));
    }),
  );
});
