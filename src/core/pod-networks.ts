// What a pod asked Multus for and what Multus reported attaching, read from
// its annotations the way Multus reads and writes them (multus-cni
// pkg/k8sclient: parsePodNetworkAnnotation; network-attachment-definition-
// client: the network-status it writes during CNI ADD). Pure.

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
/** Multus v3's name for the status; a pod it attached may still carry only this one. */
const LEGACY_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks-status';

/** DNS-1123 label, as Multus checks each part of the comma form. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** IFNAMSIZ - 1. */
const MAX_IFNAME = 15;

/**
 * The networks a `k8s.v1.cni.cncf.io/networks` value asks for, each as
 * "<namespace>/<name>" (the pod's namespace when none is given), or why
 * Multus would refuse it. Both forms: `a, other-ns/b@net2` and the JSON
 * list `[{"name":"a","namespace":"x","interface":"net1"}]`.
 */
export function parseNetworks(value: string, podNamespace: string): { networks: string[] } | { error: string } {
  const text = value.trim();
  if (text === '') return { networks: [] };
  // Multus' own test for the JSON form.
  if (/[[{"]/.test(text)) return parseJsonForm(text, podNamespace);
  const networks: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const slash = item.split('/');
    if (slash.length > 2) return { error: `"${item}": more than one "/"` };
    const namespace = slash.length === 2 ? slash[0]!.trim() : '';
    const at = slash[slash.length - 1]!.split('@');
    if (at.length > 2) return { error: `"${item}": more than one "@"` };
    const name = at[0]!.trim();
    const ifname = at.length === 2 ? at[1]!.trim() : '';
    if (name === '') return { error: `"${item}": no network name` };
    for (const part of [namespace, name]) {
      if (part !== '' && !LABEL.test(part)) return { error: `"${item}": "${part}" is not a lower-case DNS label` };
    }
    if (ifname.length > MAX_IFNAME || /[\s/]/.test(ifname)) return { error: `"${item}": "${ifname}" is not an interface name` };
    networks.push(`${namespace || podNamespace}/${name}`);
  }
  return { networks };
}

function parseJsonForm(text: string, podNamespace: string): { networks: string[] } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (!Array.isArray(parsed)) return { error: 'JSON that is not a list' };
  const networks: string[] = [];
  for (const [i, element] of parsed.entries()) {
    const e = element as { name?: unknown; namespace?: unknown } | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || e.name === '') return { error: `element ${i} has no "name"` };
    if (e.namespace !== undefined && typeof e.namespace !== 'string') return { error: `element ${i}: "namespace" is not a string` };
    networks.push(`${e.namespace || podNamespace}/${e.name}`);
  }
  return { networks };
}

/**
 * The network names a pod's network-status lists (both annotation names),
 * undefined when it has none, or 'unreadable' when one does not parse.
 */
export function statusNetworks(annotations: Readonly<Record<string, unknown>>): Set<string> | 'unreadable' | undefined {
  let names: Set<string> | undefined;
  for (const key of [NETWORK_STATUS_ANNOTATION, LEGACY_STATUS_ANNOTATION]) {
    const value = annotations[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') return 'unreadable';
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return 'unreadable';
    }
    if (!Array.isArray(parsed)) return 'unreadable';
    names ??= new Set();
    for (const entry of parsed) {
      const name = (entry as { name?: unknown } | null)?.name;
      if (typeof name === 'string') names.add(name);
    }
  }
  return names;
}

/** Whether a status entry name stands for "<namespace>/<name>" (old Multus wrote the bare name). */
export function statusHas(names: ReadonlySet<string>, network: string, podNamespace: string): boolean {
  if (names.has(network)) return true;
  const [namespace, name] = network.split('/') as [string, string];
  return namespace === podNamespace && names.has(name);
}
