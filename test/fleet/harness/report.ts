// The fleet's figures, extrapolated linearly to 5,000 nodes, held against
// the targets (docs/at-scale.md, "The scenarios"), and the one line the run
// ends with. Pure.

export const FLEET_SIZE = 5000;
const DAY_S = 86400;

/**
 * The kubelet renews a projected service-account token at 80% of its
 * lifetime; the lifetime the ServiceAccount admission asks for is 3607 s,
 * so a pod's mounted token rotates every 2885.6 s: 29.94 times a day.
 */
export const MOUNTED_TOKEN_SECONDS = 3607;
export const ROTATIONS_PER_DAY = DAY_S / (0.8 * MOUNTED_TOKEN_SECONDS);
/**
 * The program's own node-bound token (--kubeconfig-token-expiration, 24 h by
 * default) is renewed at 80% of its lifetime: 1.25 TokenRequests a day that
 * no compressed run sees. Added as an upper bound (a rotation of the mounted
 * token that renews it too restarts that clock).
 */
export const NODE_TOKEN_SECONDS = 86400;
export const NODE_TOKEN_RENEWALS_PER_DAY = DAY_S / (0.8 * NODE_TOKEN_SECONDS);

export interface SteadyMeasure {
  /** Requests of the whole fleet while nothing happened, and for how long. */
  quietRequests: number;
  quietSeconds: number;
  /** Requests of the whole fleet for `rotations` rotations of every node's mounted token. */
  rotationRequests: number;
  rotations: number;
}

/** Requests per node per day: the quiet rate over a day, each rotation of the day, the node-bound renewals. */
export function requestsPerDay(m: SteadyMeasure, nodes: number): number {
  const quietPerNodePerS = m.quietSeconds > 0 ? m.quietRequests / nodes / m.quietSeconds : 0;
  const perRotation = m.rotations > 0 ? m.rotationRequests / nodes / m.rotations : 0;
  return quietPerNodePerS * DAY_S + perRotation * ROTATIONS_PER_DAY + NODE_TOKEN_RENEWALS_PER_DAY;
}

/** What the scenarios measured; undefined when a scenario did not get as far. */
export interface Figures {
  nodes: number;
  /** R1: requests per node to start (DaemonSet created to every node configured and untainted). */
  start?: number;
  /** R2: requests per node per restart in a rolling update (the old program's stop and the new one's start). */
  restart?: number;
  /** Uninstall verdicts in the plain rolling update (must be 0). */
  rollingUninstalls?: number;
  /** U: uninstall verdicts in the rolling update under 429s. */
  squeezeUninstalls?: number;
  /** 429 answers the multus service account got in that rollout (0: the squeeze did not bite, U means nothing). */
  squeeze429s?: number;
  /** R3: requests per node per day in steady state. */
  day?: number;
  /** E: Event writes per node for a 40 s writer fight (it fits in 5 minutes: not scaled). */
  fight?: number;
  /** P: node PATCHes per node per minute of a flapping default network. */
  flap?: number;
}

/** S: the steady load of 5,000 nodes, requests per second. */
export function steadyAtFleet(day: number): number {
  return (day * FLEET_SIZE) / DAY_S;
}

export interface Target {
  name: string;
  figure: string;
  /** The figure per node (or the fleet figure for S), undefined when not measured. */
  value: number | undefined;
  limit: number;
  /** How the target reads: "≤ 7", "= 0". */
  text: string;
}

export function targets(f: Figures): Target[] {
  return [
    { name: 'R2', figure: 'restart requests per node', value: f.restart, limit: 7, text: '≤ 7' },
    { name: 'E', figure: 'fight Events per node per 5 min', value: f.fight, limit: 4, text: '≤ 4' },
    { name: 'P', figure: 'flap node PATCHes per node per min', value: f.flap, limit: 2, text: '≤ 2' },
    { name: 'U', figure: 'uninstall verdicts under 429', value: f.squeeze429s === 0 ? undefined : f.squeezeUninstalls, limit: 0, text: '= 0' },
    { name: 'S', figure: '5000-node steady requests per second', value: f.day === undefined ? undefined : steadyAtFleet(f.day), limit: 2, text: '≤ 2' },
    { name: 'U0', figure: 'uninstall verdicts in the plain rolling update', value: f.rollingUninstalls, limit: 0, text: '= 0' },
  ];
}

export function met(t: Target): boolean {
  return t.value !== undefined && t.value <= t.limit;
}

/** Figures as the last line shows them: one decimal per node, two for S, '-' when not measured. */
function fmt(n: number | undefined, decimals = 1): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toFixed(decimals);
}

function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The line the run ends with, in the format docs/at-scale.md gives. */
export function lastLine(f: Figures): string {
  const s = f.day === undefined ? undefined : steadyAtFleet(f.day);
  const u = f.squeezeUninstalls === undefined ? '-' : String(f.squeezeUninstalls);
  return `fleet: ${f.nodes} nodes; per node: start ${fmt(f.start)}, restart ${fmt(f.restart)}, day ${fmt(f.day)} requests; fight ${fmt(f.fight)} events/5 min; flap ${fmt(f.flap)} node patches/min; uninstalls under 429: ${u}; 5000-node steady ${fmt(s, 2)} req/s`;
}

/** The summary table: each figure per node, its target, and 5,000 nodes' worth. */
export function summaryTable(f: Figures): string[] {
  const verdict = (name: string): string => {
    const t = targets(f).find((x) => x.name === name);
    if (!t) return '';
    if (t.value === undefined) return 'NOT MEASURED';
    return met(t) ? 'met' : 'MISSED';
  };
  const at = (n: number | undefined, unit: string): string => (n === undefined ? '-' : `${thousands(n * FLEET_SIZE)} ${unit}`);
  const perS = (n: number | undefined, seconds: number): string => (n === undefined ? '-' : `${fmt((n * FLEET_SIZE) / seconds)}/s`);
  const s = f.day === undefined ? undefined : steadyAtFleet(f.day);
  const squeezeNote = f.squeeze429s === 0 ? ' (no 429 seen: the squeeze did not bite)' : f.squeeze429s === undefined ? '' : ` (${thousands(f.squeeze429s)} answers 429)`;
  return [
    `| figure | per node (N = ${f.nodes}) | target | ${thousands(FLEET_SIZE)} nodes | |`,
    '|---|---|---|---|---|',
    `| R1 start | ${fmt(f.start)} requests | - | ${at(f.start, 'requests')} | |`,
    `| R2 restart (rolling update) | ${fmt(f.restart)} requests | ≤ 7 | ${at(f.restart, 'requests')} per rollout | ${verdict('R2')} |`,
    `| uninstall verdicts, rolling update | ${f.rollingUninstalls ?? '-'} of ${f.nodes} | = 0 | - | ${verdict('U0')} |`,
    `| U uninstall verdicts under 429 | ${f.squeezeUninstalls ?? '-'} of ${f.nodes}${squeezeNote} | = 0 | - | ${verdict('U')} |`,
    `| R3 steady day | ${fmt(f.day)} requests | - | ${at(f.day, 'requests')} a day | |`,
    `| S steady load | - | ≤ 2 req/s | ${fmt(s, 2)} req/s | ${verdict('S')} |`,
    `| E writer fight | ${fmt(f.fight)} Event writes per 5 min | ≤ 4 | ${at(f.fight, 'Event writes')} per 5 min (${perS(f.fight, 300)}) | ${verdict('E')} |`,
    `| P flapping default network | ${fmt(f.flap)} node PATCHes per min | ≤ 2 | ${at(f.flap, 'node PATCHes')} per min (${perS(f.flap, 60)}) | ${verdict('P')} |`,
  ];
}
