// npm run test:fleet: what N nodes of the program cost the API server (see
// docs/at-scale.md, "The fleet simulation"). A real control plane on
// loopback, KWOK faking N nodes, N real program processes; the scenarios'
// requests counted by the API server, extrapolated to 5,000 nodes, held
// against the targets (docs/at-scale.md). Ends with one line:
//   fleet: N nodes; per node: start R1, restart R2, day R3 requests; fight E events/5 min; flap P node patches/min; uninstalls under 429: U; 5000-node steady S req/s
// Exit 1 when a target is missed, a scenario fails or the counts disagree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminKubeConfig } from '../harness/cluster.js';
import { cleanupRunDir, reapStaleRuns } from '../harness/cleanup.js';
import { which } from '../harness/components.js';
import { tail } from '../harness/proc.js';
import { createRunDir } from '../harness/run-state.js';
import { redact } from '../harness/secrets.js';
import { skipFailsUnderCi } from '../ci.js';
import { total, type Counts } from './harness/counts.js';
import { locateBinaries, startFleetCluster, type FleetCluster } from './harness/cluster.js';
import { FLOW_SCHEMA, flowSchemaActive, kubectlFor, makeNodes, nodeView, registerNodes, writeOverlay } from './harness/fleet.js';
import { ensureInotifyRoom, restoreInotify } from './harness/host.js';
import { Kubelet } from './harness/kubelet.js';
import { Meter, type WindowResult } from './harness/meter.js';
import { lastLine, met, summaryTable, targets, type Figures } from './harness/report.js';
import * as S from './harness/scenarios.js';

const FLEET_RUNS_ROOT = path.join(os.tmpdir(), 'multus-fleet');

const say = (line: string): void => {
  process.stdout.write(`${redact(line)}\n`);
};

function envInt(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}=${raw}: a whole number from ${min} to ${max}`);
  return v;
}

/** Why this machine cannot run the fleet, or undefined. */
function missingFacility(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  const missing = ['etcd', 'openssl', 'go', 'flock'].filter((c) => !which(c));
  if (missing.length > 0) return `missing commands: ${missing.join(', ')} (Debian: etcd-server openssl util-linux; Go for the Kubernetes and KWOK builds)`;
  if (!fs.existsSync('/proc/sys/fs/inotify/max_user_instances')) return 'no /proc/sys/fs/inotify';
  return undefined;
}

/** Undoes a run from its records: processes by pid (start time checked), the inotify limit, the run dir (etcd data included). */
async function cleanupFleetRun(dir: string): Promise<string[]> {
  const done: string[] = [];
  const restored = restoreInotify(dir);
  if (restored) done.push(restored);
  done.push(...(await cleanupRunDir(dir)));
  return done;
}

function countsTable(windows: WindowResult[], n: number): string[] {
  const lines = ['| window | s | request | multus SA (audit log) | per node | all callers (/metrics) |', '|---|---|---|---|---|---|'];
  for (const w of windows) {
    const keys = [...w.multus.keys()].sort();
    if (keys.length === 0) lines.push(`| ${w.label} | ${w.seconds.toFixed(0)} | (none) | 0 | 0 | - |`);
    for (const k of keys) {
      const v = w.multus.get(k) ?? 0;
      lines.push(`| ${w.label} | ${w.seconds.toFixed(0)} | ${k} | ${v} | ${(v / n).toFixed(2)} | ${w.all.get(k) ?? 0} |`);
    }
  }
  return lines;
}

/** The audit log must have seen every request /metrics counted for the multus FlowSchemas, and no key more often than /metrics did. */
function consistency(windows: WindowResult[]): string[] {
  const problems: string[] = [];
  for (const w of windows) {
    if (w.flowTotal !== w.records.length) problems.push(`${w.label}: the audit log has ${w.records.length} requests of the multus service account, /metrics counted ${w.flowTotal} in its FlowSchemas`);
    for (const [k, v] of w.multus as Counts) {
      const all = w.all.get(k) ?? 0;
      if (v > all) problems.push(`${w.label}: ${k}: the audit log has ${v}, /metrics counted ${all} from every caller`);
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const missing = missingFacility();
  if (missing) {
    const underCi = skipFailsUnderCi('fleet', `skipped: ${missing}`);
    say(underCi ?? `fleet: skipped: ${missing}`);
    return underCi ? 1 : 0;
  }
  const n = envInt('FLEET_NODES', 100, 1, 1000);
  const deadlineS = envInt('FLEET_DEADLINE_SECONDS', 900 + 15 * n, 60, 86400);
  const figures: Figures = { nodes: n };
  const windows: WindowResult[] = [];
  const failures: string[] = [];

  const run = createRunDir(FLEET_RUNS_ROOT);
  for (const line of await reapStaleRuns(run, FLEET_RUNS_ROOT, cleanupFleetRun)) say(`fleet setup: ${line} (left by an earlier run)`);
  let cluster: FleetCluster | undefined;
  let kubelet: Kubelet | undefined;
  let meterTimer: NodeJS.Timeout | undefined;
  let torn: Promise<void> | undefined;
  const teardown = (): Promise<void> => {
    torn ??= (async () => {
      clearInterval(meterTimer);
      await kubelet?.stop().catch(() => undefined);
      if (process.env.FLEET_KEEP_LOGS === '1') keepLogs(run);
      await cluster?.stop().catch(() => undefined);
      for (const line of await cleanupFleetRun(run)) say(`fleet teardown: ${line}`);
    })();
    return torn;
  };
  const abort = (why: string, code: number): void => {
    say(`fleet: ${why}: tearing down`);
    void teardown().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('SIGINT', 130));
  process.once('SIGTERM', () => abort('SIGTERM', 143));
  const deadline = setTimeout(() => abort(`the run took longer than ${deadlineS} s (FLEET_DEADLINE_SECONDS)`, 1), deadlineS * 1000);
  deadline.unref();

  try {
    const raised = ensureInotifyRoom(run, n);
    if (raised) say(`fleet setup: ${raised}`);
    say(`fleet: ${n} nodes; building or finding kube-apiserver, kube-controller-manager, kube-scheduler and kwok`);
    const bins = await locateBinaries();
    say('fleet: starting etcd, kube-apiserver (priority and fairness on, audit log), kube-controller-manager, kube-scheduler and kwok');
    cluster = await startFleetCluster(bins, path.join(run, 'cluster'));
    const info = cluster.cp.cluster;
    const kc = adminKubeConfig(info);
    const kubectl = kubectlFor(bins.k8s.kubectl, cluster.cp.adminKubeconfig);
    await kubectl(['apply', '-f', '-'], FLOW_SCHEMA);
    const nodes = await makeNodes(run, n);
    const standIn = path.join(run, 'image', 'multus');
    fs.mkdirSync(path.dirname(standIn), { recursive: true });
    fs.writeFileSync(standIn, '#!/bin/sh\n# the fleet simulation\'s stand-in for the multus binary: never run\nexit 1\n', { mode: 0o755 });
    await registerNodes(kc, nodes);
    const meter = new Meter(info, cluster.auditLog);
    kubelet = new Kubelet(
      {
        kubeConfig: kc,
        apiHost: info.host,
        apiPort: info.port,
        caPem: fs.readFileSync(info.caFile, 'utf8'),
        nodeBinary: bins.node,
        entrypointScript: bins.entrypointScript,
        multusBinary: standIn,
      },
      nodes,
    );
    const ctx: S.Ctx = {
      n,
      info,
      pkiDir: cluster.cp.pkiDir,
      runDir: run,
      kc,
      kubectl,
      kubelet,
      meter,
      nodes,
      overlayDir: writeOverlay(run),
      maxUnavailable: process.env.FLEET_MAX_UNAVAILABLE ?? '1',
      fightSeconds: envInt('FLEET_FIGHT_SECONDS', 40, 5, 600),
      flapSeconds: envInt('FLEET_FLAP_SECONDS', 30, 4, 600),
      squeezeSeconds: envInt('FLEET_SQUEEZE_SECONDS', 20, 1, 600),
      quietSeconds: envInt('FLEET_QUIET_SECONDS', 30, 5, 3600),
      rotations: envInt('FLEET_ROTATIONS', 1, 1, 20),
      windows,
      figures,
      log: say,
    };
    // A runaway fleet is stopped at once; the scenario's wait then fails and the report says why.
    meter.onCapExceeded = (what) => {
      say(`fleet: request cap: ${what}: stopping every program`);
      void kubelet?.stop();
    };
    meterTimer = setInterval(() => meter.poll(), 250);
    await S.settle(ctx, `KWOK to make ${n} nodes Ready and the FlowSchema to be in force`, 60_000 + 1000 * n, async () => {
      const nv = await nodeView(kc);
      if (nv.ready !== n) return `${nv.ready} of ${n} nodes Ready`;
      return (await flowSchemaActive(kubectl, 'fleet-multus')) ? true : 'FlowSchema fleet-multus not in force';
    }, 0);
    await kubelet.start();
    say(`fleet: ${n} nodes Ready after ${Math.round((Date.now() - t0) / 1000)} s; run dir ${run}`);

    // The steady state comes right after the start: see scenarioSteady.
    const scenarios: [string, (c: S.Ctx) => Promise<void>][] = [
      ['start', S.scenarioStart],
      ['steady state with token rotations', S.scenarioSteady],
      ['rolling update', S.scenarioRollingUpdate],
      ['rolling update under 429', S.scenarioSqueeze],
      ['writer fight', S.scenarioFight],
      ['flapping default network', S.scenarioFlap],
    ];
    for (const [i, [name, fn]] of scenarios.entries()) {
      const started = Date.now();
      say(`fleet: ${name} ...`);
      try {
        await fn(ctx);
        const w = windows[windows.length - 1];
        say(`fleet: ${name}: done in ${Math.round((Date.now() - started) / 1000)} s${w ? ` (${total(w.multus)} requests of the multus service account in the last window)` : ''}`);
      } catch (err) {
        meter.abandon();
        const reason = redact(err instanceof Error ? err.message : String(err));
        failures.push(`${name}: ${reason}`);
        say(`fleet: ${name}: FAILED after ${Math.round((Date.now() - started) / 1000)} s: ${reason.split('\n')[0] ?? ''}`);
        // A fleet that did not come back leaves nothing to measure.
        if (meter.exceeded || name === 'start' || i === scenarios.length - 1) break;
        try {
          await S.settle(ctx, 'the fleet to come back', 60_000, () => S.fleetSettled(ctx));
        } catch (e) {
          failures.push(`after ${name}: ${redact(e instanceof Error ? e.message : String(e))}; the remaining scenarios did not run`);
          break;
        }
      }
    }
    for (const p of kubelet.problems) failures.push(`kubelet: ${p}`);
    const down = nodes.length - kubelet.running().length;
    if (down > 0 && failures.length === 0) failures.push(`${down} programs are not running at the end`);
  } catch (err) {
    failures.push(`the fleet failed: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    if (cluster) for (const d of [cluster.kwok, ...cluster.cp.daemons]) if (!d.running()) failures.push(`${d.name} exited:\n${tail(d.logs(), 15)}`);
  } finally {
    clearTimeout(deadline);
    await teardown();
  }

  failures.push(...consistency(windows));
  const durationS = Math.round((Date.now() - t0) / 1000);
  say('');
  say('Requests per window (multus SA from the audit log; all callers from apiserver_request_total):');
  for (const line of countsTable(windows, n)) say(line);
  say('');
  for (const line of summaryTable(figures)) say(line);
  if (failures.length > 0) {
    say('');
    say('Failures:');
    for (const f of failures) say(`- ${f.split('\n').slice(0, 12).join('\n    ')}`);
  }
  const missed = targets(figures).filter((t) => !met(t));
  say('');
  say(`fleet: ${n} nodes took ${durationS} s; targets missed: ${missed.length === 0 ? 'none' : missed.map((t) => `${t.name} (${t.figure} ${t.value === undefined ? 'not measured' : t.value.toFixed(2)}, target ${t.text})`).join(', ')}`);
  say(lastLine(figures));
  return failures.length > 0 || missed.length > 0 ? 1 : 0;
}

/** FLEET_KEEP_LOGS=1: the control plane's logs, the audit log and each program's log, copied out of the run dir before it is removed. */
function keepLogs(run: string): void {
  const dest = path.join(FLEET_RUNS_ROOT, `kept-${path.basename(run)}`);
  fs.mkdirSync(dest, { recursive: true });
  const cluster = path.join(run, 'cluster');
  const entries = fs.existsSync(cluster) ? fs.readdirSync(cluster, { recursive: true, encoding: 'utf8' }) : [];
  for (const f of entries) {
    if (f.endsWith('.log')) fs.copyFileSync(path.join(cluster, f), path.join(dest, path.basename(f)));
  }
  const nodes = path.join(run, 'nodes');
  for (const node of fs.existsSync(nodes) ? fs.readdirSync(nodes) : []) {
    const logs = path.join(nodes, node, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dest, node), { recursive: true });
  }
  say(`fleet: logs kept in ${dest}`);
}

process.exitCode = await main();
