// What the global setup hands to every test file: the components' paths,
// how to reach the cluster, and why the suite is skipped (if it is). It is a
// JSON file in the run dir because jest gives each test file a fresh module
// registry: nothing in memory survives from the setup to the tests.
import type { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { adminKubeConfig, type ClusterInfo } from './cluster.js';
import type { Components } from './components.js';
import { runDir } from './run-state.js';

export interface SuiteState {
  skip?: string;
  components?: Components;
  cluster?: ClusterInfo;
  /** Namespace of the multus ServiceAccount. */
  multusNamespace?: string;
}

export interface E2eEnv {
  components: Components;
  cluster: ClusterInfo;
  kubeConfig: KubeConfig;
  multusNamespace: string;
}

function stateFile(): string {
  return path.join(runDir(), 'state.json');
}

export function writeState(state: SuiteState): void {
  fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2));
}

export function readState(): SuiteState {
  return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as SuiteState;
}

/** Why this run skips the suite, or undefined. */
export function skipReason(): string | undefined {
  try {
    return readState().skip;
  } catch (err) {
    return `e2e global setup left no state: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function loadEnv(): E2eEnv {
  const state = readState();
  if (!state.components || !state.cluster || !state.multusNamespace) throw new Error(`e2e state is incomplete: ${stateFile()}`);
  return { components: state.components, cluster: state.cluster, kubeConfig: adminKubeConfig(state.cluster), multusNamespace: state.multusNamespace };
}
