// Naming the other writer: what happened to a generated file that someone
// else renamed, removed or overwrote, who is known to do that and how to
// make it stop; and a config that sorts before ours, which the runtime
// loads instead of Multus. Pure: names and contents in, words out.
import { checkCandidate } from './master.js';
import { INVALIDATED_CONTENT } from './multus-config.js';

/** What someone else did to a generated file, as the restore found it. */
export interface Tampering {
  what: 'renamed' | 'removed' | 'overwritten' | 'mode changed';
  /** renamed: the name it has now, in the same directory. */
  to?: string;
  /** Who is known to do this, and the fix. */
  agent?: string;
  fix?: string;
}

/** A known agent behind a rename, from the new name. */
export function renamedBy(name: string): Pick<Tampering, 'agent' | 'fix'> {
  // cilium-agent's cni.exclusive (the default) renames every other config in the conf dir.
  if (name.endsWith('.cilium_bak')) {
    return { agent: 'Cilium with cni.exclusive=true, which renames every other CNI config to *.cilium_bak', fix: 'set cni.exclusive=false in Cilium\'s Helm values (cni-exclusive: "false" in the cilium-config ConfigMap)' };
  }
  return {};
}

const TYPES = new Set(['multus', 'multus-shim']);

function pluginTypes(text: string): string[] | undefined {
  try {
    const c = JSON.parse(text) as { type?: unknown; plugins?: unknown } | null;
    if (typeof c !== 'object' || c === null) return undefined;
    const plugins = Array.isArray(c.plugins) ? (c.plugins as { type?: unknown }[]) : [c];
    return plugins.map((p) => (typeof p?.type === 'string' ? p.type : ''));
  } catch {
    return undefined;
  }
}

/** A known kind of writer behind an overwrite, from what it wrote. */
export function overwrittenBy(found: string): Pick<Tampering, 'agent' | 'fix'> {
  if (found === INVALIDATED_CONTENT) {
    return { agent: 'another Multus installer, which invalidated it (upstream entrypoint.sh with --cleanup-config-on-exit, or this program in a second DaemonSet)', fix: 'run one Multus DaemonSet per node: remove the other one' };
  }
  const types = pluginTypes(found);
  if (!types || !types.some((t) => TYPES.has(t))) return {};
  const added = types.filter((t) => !TYPES.has(t));
  if (added.length > 0) {
    return {
      agent: `an installer of chained plugins, which added ${added.join(', ')} to the Multus config (istio-cni and linkerd-cni insert themselves into the first config they find)`,
      fix: 'have it chain into the master config, which this program copies into the Multus config as its first delegate',
    };
  }
  return { agent: 'another Multus installer (upstream thin_entrypoint, or a second DaemonSet)', fix: 'run one Multus DaemonSet per node: remove the other one' };
}

/** "renamed to 00-multus.conf.cilium_bak by someone else: Cilium ... (set ...)" */
export function describeTampering(t: Tampering): string {
  const what = t.what === 'renamed' ? `renamed to ${t.to ?? '?'}` : t.what === 'mode changed' ? 'given another file mode' : t.what;
  const who = t.agent ? `: ${t.agent}; ${t.fix ?? 'stop it'}` : '';
  return `${what} by someone else${who}`;
}

/** "another writer keeps changing the <what> (3 times in 60 s, last renamed to X): <agent>; <fix>" */
export function describeFight(what: string, times: number, windowSeconds: number, last?: Tampering): string {
  const how = last ? `, last ${last.what === 'renamed' ? `renamed to ${last.to ?? '?'}` : last.what}` : '';
  const who = last?.agent ? `: ${last.agent}; ${last.fix ?? 'stop it'}` : ': find and stop it';
  return `another writer keeps changing the ${what} (${times} times in ${windowSeconds} s${how})${who}`;
}

/** Among the files that sort before ours: the same name rules as the runtime's (byte order; .conf, .conflist, .json). */
export function sortsBefore(name: string, ours: string): boolean {
  return /\.(conf|conflist|json)$/.test(name) && Buffer.compare(Buffer.from(name), Buffer.from(ours)) < 0;
}

/**
 * The first of `files` (names sorting before `ours`, with their text) that
 * the runtime would load instead of ours: valid as a master would be. An
 * invalid one is skipped, as CRI-O does (containerd stops at it instead,
 * and then loads none).
 */
export function outranking(files: readonly { name: string; text: string }[], ours: string): string | undefined {
  const sorted = files.filter((f) => sortsBefore(f.name, ours)).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  // Checked as a master, but under a name the own-output rule would skip (a twin like 00-multus.conf).
  return sorted.find((f) => 'master' in checkCandidate({ name: `outranking-${f.name}`, diskName: f.name, text: f.text }) || isMultus(f.text))?.name;
}

/** A Multus config of someone else's is loaded like any config: it outranks ours just the same. */
function isMultus(text: string): boolean {
  return pluginTypes(text)?.some((t) => TYPES.has(t)) ?? false;
}
