// Scenario 3, token rotation. The installer runs with the stock DaemonSet
// arguments (no --cleanup-config-on-exit). The pod's token is revoked (its
// bound Secret deleted) and the kubelet writes a new one with the `..data`
// swap: the next ADD must succeed, because Multus reads the token from the
// kubeconfig the installer keeps up to date. Negative control: with
// --skip-config-watch nothing refreshes the kubeconfig, and the same ADD
// fails with Unauthorized, which shows the first part tests the rotation.
import fs from 'node:fs';
import { check, expectAddOk, expectInterface, expectNetworkStatus, startPod } from '../harness/checks.js';
import { INSTALLERS } from '../harness/installers.js';
import { createNad, statusWithToken, type BoundToken } from '../harness/kube.js';
import { bridgeMaster, macvlanNad, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { describeOutcome } from '../harness/runtime.js';
import { e2eDescribe, runScenario, type ScenarioContext } from '../harness/suite.js';
import { sleep, waitUntil } from '../harness/wait.js';

/** How long an installer gets to pick up the rotation (thin polls every second). */
const PICKUP_MS = 5000;


function kubeconfigHolds(ctx: ScenarioContext, token: BoundToken): boolean {
  try {
    return fs.readFileSync(ctx.node.paths.kubeconfigFile, 'utf8').includes(token.token);
  } catch {
    return false;
  }
}

/** Installs, proves the first token works, then revokes it and rotates in a new one. */
async function installAndRotate(ctx: ScenarioContext, extraArgs: string[]): Promise<BoundToken> {
  const { node } = ctx;
  writeJson(node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
  const first = await node.issueToken();
  node.writeServiceAccount(first);
  await ctx.install({ args: extraArgs }).waitForConfig();
  await createNad(ctx.kc, ctx.namespace, 'macvlan-conf', macvlanNad(SUBNETS.macvlan));
  const before = await startPod(ctx, 'before-rotation', 'macvlan-conf');
  expectAddOk(before, 'a pod before the rotation');

  await first.revoke();
  const revoked = await waitUntil(10000, async () => (await statusWithToken(ctx.kc, first.token, ctx.namespace, 'before-rotation')) === 401);
  check(revoked, 'the API server still accepts the revoked token 10 s after its Secret was deleted');
  const second = await node.issueToken();
  node.writeServiceAccount(second);
  return second;
}

e2eDescribe('scenario 3: token rotation', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '3', 'after a revoked token is rotated the next ADD succeeds', () =>
      runScenario(kind, 's3a', async (ctx) => {
        const second = await installAndRotate(ctx, []);
        const picked = await waitUntil(PICKUP_MS, () => kubeconfigHolds(ctx, second));
        const after = await startPod(ctx, 'after-rotation', 'macvlan-conf');
        check(after.add.ok, `${describeOutcome('ADD after the token rotation', after.add)}\n(the kubeconfig ${picked ? 'holds' : `still does not hold, ${PICKUP_MS} ms after the rotation,`} the new token)`);
        await expectInterface(after.sandbox, 'net1', SUBNETS.macvlan, 'macvlan');
        await expectNetworkStatus(ctx, after.sandbox, [
          { name: 'e2e-default', interface: 'eth0', subnet: SUBNETS.master, default: true },
          { name: `${ctx.namespace}/macvlan-conf`, interface: 'net1', subnet: SUBNETS.macvlan },
        ]);
      }),
    );

    scenarioTest(kind, '3', 'negative control: with --skip-config-watch the ADD fails with Unauthorized', () =>
      runScenario(kind, 's3b', async (ctx) => {
        const second = await installAndRotate(ctx, ['--skip-config-watch']);
        // Longer than any installer needs to react, so a refresh would show.
        await sleep(3000);
        check(!kubeconfigHolds(ctx, second), 'with --skip-config-watch the kubeconfig was refreshed anyway');
        const after = await startPod(ctx, 'after-rotation', 'macvlan-conf');
        check(!after.add.ok, describeOutcome('ADD with the revoked token (expected to fail)', after.add));
        check(/Unauthorized/.test(after.add.stdout + after.add.stderr), describeOutcome('ADD failed, but not with Unauthorized', after.add));
      }),
    );
  }
});
