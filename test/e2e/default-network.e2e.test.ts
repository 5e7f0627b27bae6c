// Scenario 4, default network change, while the installer runs:
// - the master config is rewritten in place with another network: the next
//   ADD must use the new delegate;
// - the default network is upgraded to a CNI 1.0.0 conflist (new file
//   written, old one deleted, as a CNI installer does): the next ADD must go
//   through a 00-multus.conflist wrapping it, with no stale 00-multus.conf
//   left to sort first.
// Both programs get --cleanup-config-on-exit because it is thin_entrypoint's
// only mode that watches at all (multus-entrypoint watches either way).
import fs from 'node:fs';
import path from 'node:path';
import { check, expectAddOk, expectInterface, expectNetworkStatus, startPod } from '../harness/checks.js';
import { generatedConfigs, INSTALLERS } from '../harness/installers.js';
import { bridgeMaster, bridgeMasterConflist, SUBNETS, writeJson } from '../harness/networks.js';
import { scenarioTest } from '../harness/results.js';
import { e2eDescribe, runScenario, type ScenarioContext } from '../harness/suite.js';
import { waitUntil } from '../harness/wait.js';

const WATCH_ARGS = ['--cleanup-config-on-exit'];
/** How long an installer gets to react (thin polls every second). */
const REACT_MS = 5000;


function generatedMentions(ctx: ScenarioContext, text: string): boolean {
  return generatedConfigs(ctx.node).some((f) => fs.readFileSync(f, 'utf8').includes(text));
}

async function installWithFirstMaster(ctx: ScenarioContext): Promise<void> {
  writeJson(ctx.node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-default', 'mte-br0', SUBNETS.master));
  ctx.node.writeServiceAccount(await ctx.node.issueToken());
  await ctx.install({ args: WATCH_ARGS }).waitForConfig();
  const first = await startPod(ctx, 'before-change');
  expectAddOk(first, 'a pod before the default network changed');
  await expectInterface(first.sandbox, 'eth0', SUBNETS.master, 'veth');
}

e2eDescribe('scenario 4: default network change', () => {
  for (const kind of INSTALLERS) {
    scenarioTest(kind, '4', 'master rewritten with another network: the next ADD uses it', () =>
      runScenario(kind, 's4a', async (ctx) => {
        await installWithFirstMaster(ctx);
        writeJson(ctx.node.paths.cniConfDir, '10-bridge.conf', bridgeMaster('e2e-replaced', 'mte-br2', SUBNETS.masterReplaced));
        const seen = await waitUntil(REACT_MS, () => generatedMentions(ctx, 'e2e-replaced'));
        const pod = await startPod(ctx, 'after-change');
        expectAddOk(pod, 'a pod after the master was rewritten');
        await expectInterface(pod.sandbox, 'eth0', SUBNETS.masterReplaced, 'veth');
        await expectNetworkStatus(ctx, pod.sandbox, [{ name: 'e2e-replaced', interface: 'eth0', subnet: SUBNETS.masterReplaced, default: true }]);
        check(seen, `the generated config did not name the new network within ${REACT_MS} ms`);
      }),
    );

    scenarioTest(kind, '4', 'a 1.0.0 conflist master replaces it: the next ADD goes through 00-multus.conflist', () =>
      runScenario(kind, 's4b', async (ctx) => {
        await installWithFirstMaster(ctx);
        const dir = ctx.node.paths.cniConfDir;
        writeJson(dir, '10-bridge.conflist', bridgeMasterConflist('e2e-v1', 'mte-br3', SUBNETS.masterConflist));
        fs.rmSync(path.join(dir, '10-bridge.conf'));
        const switched = await waitUntil(REACT_MS, () => {
          const files = generatedConfigs(ctx.node).map((f) => path.basename(f));
          return files.length === 1 && files[0] === '00-multus.conflist' && generatedMentions(ctx, 'e2e-v1');
        });
        const pod = await startPod(ctx, 'after-upgrade');
        check(path.basename(pod.add.config.file) === '00-multus.conflist', `the runtime picked ${pod.add.config.file}, expected 00-multus.conflist (generated: ${generatedConfigs(ctx.node).map((f) => path.basename(f)).join(', ') || 'none'})`);
        expectAddOk(pod, 'a pod after the upgrade to a conflist');
        await expectInterface(pod.sandbox, 'eth0', SUBNETS.masterConflist, 'veth');
        await expectNetworkStatus(ctx, pod.sandbox, [{ name: 'e2e-v1', interface: 'eth0', subnet: SUBNETS.masterConflist, default: true }]);
        check(switched, `the generated configs did not settle on 00-multus.conflist alone within ${REACT_MS} ms`);
      }),
    );
  }
});
