// GET /metrics: the Prometheus text format, by prom-client (the ecosystem's
// library), loaded with the health server, after the first config is
// written. Values are read at scrape time: the counters from Stats (kept
// from the first write on), readiness from the same check as /readyz, the
// token's expiry from the kubeconfig on disk.
import * as fsp from '../base/file-calls.js';
import Counter from 'prom-client/lib/counter.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Gauge from 'prom-client/lib/gauge.js';
import Registry from 'prom-client/lib/registry.js';
import { parse } from 'yaml';
import { tokenExpiresAt } from '../core/token-claims.js';
import type { Stats } from './stats.js';

interface MetricsSource {
  stats: Stats;
  checkInSync(): Promise<{ ok: boolean }>;
  /** The kubeconfig this program writes, read for its token's expiry. */
  kubeconfigPath: string;
}

export interface Metrics {
  contentType: string;
  render(): Promise<string>;
}

/**
 * The `exp` claim (seconds since the epoch) of the current user's token in
 * a kubeconfig, or undefined (unreadable, not a JWT, no exp). The token
 * goes only to token-claims.ts, which decodes its claims.
 */
export function tokenExpiry(kubeconfigText: string): number | undefined {
  let doc: unknown;
  try {
    doc = parse(kubeconfigText);
  } catch {
    return undefined;
  }
  const kc = doc as { 'current-context'?: unknown; contexts?: unknown; users?: unknown } | null;
  if (!kc || !Array.isArray(kc.users)) return undefined;
  const contexts = Array.isArray(kc.contexts) ? (kc.contexts as { name?: unknown; context?: { user?: unknown } }[]) : [];
  const userName = contexts.find((c) => c.name === kc['current-context'])?.context?.user;
  const users = kc.users as { name?: unknown; user?: { token?: unknown } }[];
  const token = (users.find((u) => u.name === userName) ?? users[0])?.user?.token;
  return typeof token === 'string' ? tokenExpiresAt(token) : undefined;
}

// prom-client samples event-loop delay with a timer of this period; its
// default (10 ms) costs ~11 ms of CPU a second while idle, 1000x what this
// program idles at (docs/operations.md, "Metrics").
const EVENT_LOOP_SAMPLE_MS = 10_000;

export function createMetrics(src: MetricsSource): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const { stats } = src;
  new Gauge({
    name: 'multus_entrypoint_ready',
    help: '1 when the files on disk are what the program would write now (as /readyz)',
    registers,
    async collect() {
      const inSync = await src.checkInSync().then((r) => r.ok, () => false);
      this.set(inSync ? 1 : 0);
    },
  });
  new Counter({
    name: 'multus_entrypoint_reconciles_total',
    help: 'Reconciles of the node\'s files, by result',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      for (const result of ['ok', 'error'] as const) this.inc({ result }, stats.reconciles[result]);
    },
  });
  new Counter({
    name: 'multus_entrypoint_writes_total',
    help: 'Files written (created, updated, restored or invalidated), by file',
    labelNames: ['file'],
    registers,
    collect() {
      this.reset();
      for (const file of ['config', 'kubeconfig'] as const) this.inc({ file }, stats.writes[file]);
    },
  });
  new Counter({
    name: 'multus_entrypoint_restores_total',
    help: 'Generated files written back after another writer deleted or changed them',
    registers,
    collect() {
      this.reset();
      this.inc(stats.restores);
    },
  });
  new Counter({
    name: 'multus_entrypoint_invalidations_total',
    help: 'Times the Multus config was invalidated because no master config was left (--cleanup-config-on-exit)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.invalidations);
    },
  });
  new Counter({
    name: 'multus_entrypoint_pod_repairs_total',
    help: 'Pods that started before the Multus config was in place (--repair-pods), by result: evicted, left_alone (no controller), blocked (by a PodDisruptionBudget, retried), failed',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      for (const result of ['evicted', 'left_alone', 'blocked', 'failed'] as const) this.inc({ result }, stats.repairs[result]);
    },
  });
  new Counter({
    name: 'multus_entrypoint_token_renewals_total',
    help: 'Kubeconfig rewrites that only changed its token (a rotated mounted token, a renewed node-bound one); routine, so not an Event',
    registers,
    collect() {
      this.reset();
      this.inc(stats.tokenRenewals);
    },
  });
  new Gauge({
    name: 'multus_entrypoint_master_info',
    help: 'The master CNI config in use (value 1, its file name as label)',
    labelNames: ['file'],
    registers,
    collect() {
      this.reset();
      if (stats.master !== undefined) this.set({ file: stats.master }, 1);
    },
  });
  new Gauge({
    name: 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds',
    help: 'Expiry (exp claim, Unix time) of the token in the kubeconfig written for Multus; NaN when it has none or cannot be read',
    registers,
    async collect() {
      const text = await fsp.readFile(src.kubeconfigPath, 'utf8').catch(() => '');
      this.set(tokenExpiry(text) ?? Number.NaN);
    },
  });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return { contentType: registry.contentType, render: () => registry.metrics() };
}
