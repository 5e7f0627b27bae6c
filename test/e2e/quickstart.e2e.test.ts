// Scenario 1, Multus' quickstart: a bridge default network and one macvlan
// attachment. The pod gets eth0 and net1 with addresses from the right
// ranges, Multus reports both in network-status, and DEL removes them.
import { check, expectAddOk, expectInterface, expectNetworkStatus, podInterfaces, startPod } from '../harness/checks.js';
import { INSTALLERS } from '../harness/installers.js';
import { createNad } from '../harness/kube.js';
import { bridgeMaster, macvlanNad, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { describeOutcome } from '../harness/runtime.js';
import { e2eDescribe, runScenario } from '../harness/suite.js';

e2eDescribe('scenario 1: quickstart', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '1', 'bridge master + macvlan-conf gives eth0 and net1; DEL removes them', () =>
      runScenario(kind, 's1', async (ctx) => {
        const { node } = ctx;
        writeJson(node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
        node.writeServiceAccount(await node.issueToken());
        await ctx.install().waitForConfig();
        await createNad(ctx.kc, ctx.namespace, 'macvlan-conf', macvlanNad(SUBNETS.macvlan));

        const pod = await startPod(ctx, 'quickstart', 'macvlan-conf');
        expectAddOk(pod, 'the quickstart pod');
        await expectInterface(pod.sandbox, 'eth0', SUBNETS.master, 'veth');
        await expectInterface(pod.sandbox, 'net1', SUBNETS.macvlan, 'macvlan');
        await expectNetworkStatus(ctx, pod.sandbox, [
          { name: 'e2e-default', interface: 'eth0', subnet: SUBNETS.master, default: true },
          { name: `${ctx.namespace}/macvlan-conf`, interface: 'net1', subnet: SUBNETS.macvlan, default: false },
        ]);

        const del = await ctx.runtime.del(pod.sandbox);
        check(del.ok, describeOutcome('DEL of the quickstart pod', del));
        const left = await podInterfaces(pod.sandbox);
        check(left.length === 0, `after DEL the pod still has ${left.join(', ')}`);
      }),
    );
  }
});
