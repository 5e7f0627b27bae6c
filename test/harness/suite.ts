// What a scenario body gets: a fresh node, a Kubernetes namespace of its own,
// the runtime, and installers it can start. runScenario() tears all of it
// down whatever happens, and appends the installers' logs (tokens redacted)
// to a failure so that the reason is visible in the report.
import { afterAll, describe } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { loadEnv, skipReason, type E2eEnv } from './env.js';
import { startInstaller, type Installer, type InstallerKind, type InstallerOptions } from './installers.js';
import { ensureNamespace } from './kube.js';
import { TestNode } from './node.js';
import { tail } from './proc.js';
import { RUNS_ROOT } from './run-state.js';
import { Runtime } from './runtime.js';
import { redact } from './secrets.js';

export interface ScenarioContext {
  kind: InstallerKind;
  env: E2eEnv;
  kc: KubeConfig;
  node: TestNode;
  runtime: Runtime;
  /** The Kubernetes namespace of this scenario run's pods and NADs. */
  namespace: string;
  /** Starts `kind` on this node with the common flags plus `opts`. */
  install(opts?: InstallerOptions): Installer;
}

const active = new Set<() => Promise<void>>();
let cachedEnv: E2eEnv | undefined;

/** A describe block that is skipped, with the reason in its title, where the suite cannot run. */
export function e2eDescribe(name: string, fn: () => void): void {
  const skip = skipReason();
  if (skip) {
    describe.skip(`${name} (skipped: ${skip})`, fn);
    return;
  }
  describe(name, () => {
    // Backstop for a body still running when jest gave up on it.
    afterAll(async () => {
      for (const cleanup of [...active]) await cleanup();
    });
    fn();
  });
}

export const SHORT: Record<InstallerKind, string> = { 'multus-entrypoint': 'me', thin_entrypoint: 'thin' };

export async function runScenario(kind: InstallerKind, label: string, body: (ctx: ScenarioContext) => Promise<void>): Promise<void> {
  cachedEnv ??= loadEnv();
  const env = cachedEnv;
  const fullLabel = `${label}-${SHORT[kind]}`;
  const namespace = `e2e-${fullLabel}`;
  await ensureNamespace(env.kubeConfig, namespace);
  const node = await TestNode.create(env, fullLabel);
  const installers: Installer[] = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    active.delete(cleanup);
    for (const i of installers) await i.stop('SIGKILL');
    await node.destroy();
  };
  active.add(cleanup);
  const ctx: ScenarioContext = {
    kind,
    env,
    kc: env.kubeConfig,
    node,
    runtime: new Runtime(node),
    namespace,
    install: (opts) => {
      const installer = startInstaller(kind, node, opts);
      installers.push(installer);
      return installer;
    },
  };
  try {
    await body(ctx);
    if (process.env.MULTUS_E2E_KEEP_LOGS) keepLogs(node, fullLabel, 'kept-logs');
  } catch (err) {
    const logs = installers.map((i, n) => `--- ${i.kind} #${n + 1} log (tail):\n${tail(i.logs(), 25)}`).join('\n');
    const msg = err instanceof Error ? err.message : String(err);
    const kept = keepLogs(node, fullLabel);
    throw new Error(redact(`${msg}\n${logs}\n(all logs of this run: ${kept})`));
  } finally {
    await cleanup();
  }
}

/**
 * Copies a scenario's logs (installers, relays) out of the node's dir, which
 * is about to be removed, with tokens redacted: always for a failure, for a
 * success with MULTUS_E2E_KEEP_LOGS=1. A later run's setup prunes copies
 * older than a day.
 */
function keepLogs(node: TestNode, label: string, under = 'failed-logs'): string {
  const dest = path.join(RUNS_ROOT, under, `${new Date().toISOString().replace(/[:.]/g, '-')}-${label}`);
  try {
    fs.mkdirSync(dest, { recursive: true });
    for (const name of fs.readdirSync(node.paths.logs)) {
      fs.writeFileSync(path.join(dest, name), redact(fs.readFileSync(path.join(node.paths.logs, name), 'utf8')));
    }
    return dest;
  } catch (err) {
    return `not kept: ${err instanceof Error ? err.message : String(err)}`;
  }
}
