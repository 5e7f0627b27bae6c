// Scenario 2, several attachments, in three parts:
// - a repeated and a second network: `bridge-conf, bridge-conf, macvlan-conf`
//   gives net1..net3. (The issue's `vlan-conf, vlan-conf` cannot work on any
//   kernel: one master holds a VLAN id once, the second link is EEXIST; and
//   this machine's kernel has no 802.1q at all. A bridge network repeated
//   exercises the same Multus path: one NAD delegated twice.)
// - a NAD with an empty spec, resolved by Multus from a per-node config in
//   the Multus conf dir the installer created (--multus-cni-conf-dir);
// - the JSON annotation form with "interface", "ips" and "mac", delegated to
//   a conflist that declares the ips and mac capabilities.
import fs from 'node:fs';
import { check, expectAddOk, expectInterface, expectNetworkStatus, startPod } from '../harness/checks.js';
import { INSTALLERS } from '../harness/installers.js';
import { createNad } from '../harness/kube.js';
import { bridgeMaster, bridgeNad, macvlanNad, staticMacvlanNad, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { e2eDescribe, runScenario, type ScenarioContext } from '../harness/suite.js';

async function prepare(ctx: ScenarioContext): Promise<void> {
  writeJson(ctx.node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
  ctx.node.writeServiceAccount(await ctx.node.issueToken());
  await ctx.install().waitForConfig();
}

e2eDescribe('scenario 2: several attachments', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '2', 'bridge-conf, bridge-conf, macvlan-conf gives net1..net3', () =>
      runScenario(kind, 's2a', async (ctx) => {
        await prepare(ctx);
        await createNad(ctx.kc, ctx.namespace, 'bridge-conf', bridgeNad('mte-br1', SUBNETS.bridgeAttachment));
        await createNad(ctx.kc, ctx.namespace, 'macvlan-conf', macvlanNad(SUBNETS.macvlan));
        const pod = await startPod(ctx, 'several', 'bridge-conf, bridge-conf, macvlan-conf');
        expectAddOk(pod, 'the pod with three attachments');
        await expectInterface(pod.sandbox, 'eth0', SUBNETS.master, 'veth');
        const net1 = await expectInterface(pod.sandbox, 'net1', SUBNETS.bridgeAttachment, 'veth');
        const net2 = await expectInterface(pod.sandbox, 'net2', SUBNETS.bridgeAttachment, 'veth');
        await expectInterface(pod.sandbox, 'net3', SUBNETS.macvlan, 'macvlan');
        check(net1.addr_info[0]?.local !== net2.addr_info[0]?.local, 'net1 and net2 got the same address');
        await expectNetworkStatus(ctx, pod.sandbox, [
          { name: 'e2e-default', interface: 'eth0', subnet: SUBNETS.master, default: true },
          { name: `${ctx.namespace}/bridge-conf`, interface: 'net1', subnet: SUBNETS.bridgeAttachment },
          { name: `${ctx.namespace}/bridge-conf`, interface: 'net2', subnet: SUBNETS.bridgeAttachment },
          { name: `${ctx.namespace}/macvlan-conf`, interface: 'net3', subnet: SUBNETS.macvlan },
        ]);
      }),
    );

    scenarioTest(kind, '2', 'a NAD with an empty spec is resolved from the per-node config', () =>
      runScenario(kind, 's2b', async (ctx) => {
        await prepare(ctx);
        const dir = ctx.node.paths.multusCniConfDir;
        check(fs.existsSync(dir), `the installer did not create --multus-cni-conf-dir ${dir}`);
        writeJson(dir, 'pernode-conf.conf', { ...macvlanNad(SUBNETS.perNode), name: 'pernode-conf' });
        await createNad(ctx.kc, ctx.namespace, 'pernode-conf', undefined);
        const pod = await startPod(ctx, 'pernode', 'pernode-conf');
        expectAddOk(pod, 'the pod using the per-node network');
        await expectInterface(pod.sandbox, 'net1', SUBNETS.perNode, 'macvlan');
        await expectNetworkStatus(ctx, pod.sandbox, [
          { name: 'e2e-default', interface: 'eth0', subnet: SUBNETS.master, default: true },
          { name: `${ctx.namespace}/pernode-conf`, interface: 'net1', subnet: SUBNETS.perNode },
        ]);
      }),
    );

    scenarioTest(kind, '2', 'JSON annotation with interface, ips and mac (ips/mac capabilities)', () =>
      runScenario(kind, 's2c', async (ctx) => {
        await prepare(ctx);
        await createNad(ctx.kc, ctx.namespace, 'static-conf', staticMacvlanNad('static-conf'));
        const ip = '198.18.5.10/24';
        const mac = 'c2:b0:57:49:47:f1';
        const pod = await startPod(ctx, 'static', JSON.stringify([{ name: 'static-conf', interface: 'ext0', ips: [ip], mac }]));
        expectAddOk(pod, 'the pod with a static IP and MAC');
        const ext0 = await expectInterface(pod.sandbox, 'ext0', SUBNETS.static, 'macvlan');
        check(ext0.addr_info.some((a) => `${a.local}/${a.prefixlen}` === ip), `ext0 has ${JSON.stringify(ext0.addr_info)}, expected ${ip}`);
        check(ext0.address === mac, `ext0 has MAC ${ext0.address ?? '?'}, expected ${mac}`);
        const status = await expectNetworkStatus(ctx, pod.sandbox, [
          { name: 'e2e-default', interface: 'eth0', subnet: SUBNETS.master, default: true },
          { name: `${ctx.namespace}/static-conf`, interface: 'ext0', subnet: SUBNETS.static },
        ]);
        const entry = status.find((s) => s.interface === 'ext0');
        check(entry?.mac === mac, `network-status reports MAC ${entry?.mac ?? '?'} for ext0, expected ${mac}`);
      }),
    );
  }
});
