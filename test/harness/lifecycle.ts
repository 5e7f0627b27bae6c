// The run's global setup and teardown (loaded by ../global-setup.js and
// ../global-teardown.js). Once per run: reap what a killed earlier run
// left, decide whether this machine can run the suite at all, build or find
// the components, start the one API server every test file shares, and
// create the cluster-wide objects (the NAD CRD, the multus ServiceAccount
// and its ClusterRole). The teardown stops the API server and removes
// everything the run recorded, whatever the tests did.
import path from 'node:path';
import { clusterInfo, startCluster, type Cluster } from './cluster.js';
import { cleanupRunDir, pruneKeptLogs, reapStaleRuns } from './cleanup.js';
import { locateComponents } from './components.js';
import { writeState } from './env.js';
import { ensureMultusServiceAccount, ensureNadCrd } from './kube.js';
import { probeNetworking } from './netns.js';
import { RESULTS_ENV } from './results-file.js';
import { createRunDir, runDir } from './run-state.js';
import { ensureHostMountpoints } from './runtime.js';

export const MULTUS_NAMESPACE = 'kube-system';

// Setup and teardown import this same module, and Node caches it by URL.
let running: Cluster | undefined;

export async function setupRun(): Promise<void> {
  const dir = createRunDir();
  process.env[RESULTS_ENV] = path.join(dir, 'results.jsonl');
  for (const line of await reapStaleRuns(dir)) process.stderr.write(`e2e setup: ${line} (left by an earlier run)\n`);
  pruneKeptLogs();
  const skip = await probeNetworking();
  if (skip) {
    process.stdout.write(`e2e: skipping the suite: ${skip}\n`);
    writeState({ skip });
    return;
  }
  const components = await locateComponents();
  ensureHostMountpoints();
  running = await startCluster({ components, dir: path.join(dir, 'cluster') });
  await ensureNadCrd(running.kubeConfig);
  await ensureMultusServiceAccount(running.kubeConfig, MULTUS_NAMESPACE);
  writeState({ components, cluster: clusterInfo(running), multusNamespace: MULTUS_NAMESPACE });
}

export async function teardownRun(): Promise<void> {
  await running?.stop();
  running = undefined;
  for (const line of await cleanupRunDir(runDir())) process.stderr.write(`e2e teardown: ${line}\n`);
}
