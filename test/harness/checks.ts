// What a user would check after a pod starts, as assertions whose failure
// messages say what was seen: the interfaces and addresses inside the pod's
// namespace, and the network-status annotation Multus wrote to the API.
import { createPod, podNetworkStatus, type NetworkStatus } from './kube.js';
import { inSubnet } from './networks.js';
import { ipv4Of, links, type Link } from './netns.js';
import type { PodSandbox } from './node.js';
import { describeOutcome, type CniOutcome } from './runtime.js';
import type { ScenarioContext } from './suite.js';

export class CheckError extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckError(message);
}

export interface StartedPod {
  sandbox: PodSandbox;
  add: CniOutcome;
}

/** Creates the pod object, its sandbox netns, and runs the runtime's ADD. */
export async function startPod(ctx: ScenarioContext, name: string, networks?: string): Promise<StartedPod> {
  const pod = await createPod(ctx.kc, ctx.namespace, name, networks === undefined ? {} : { networks });
  const sandbox = await ctx.node.newSandbox(pod);
  const add = await ctx.runtime.add(sandbox);
  return { sandbox, add };
}

export function expectAddOk(p: StartedPod, what: string): void {
  check(p.add.ok, describeOutcome(`ADD for ${what}`, p.add));
}

function summary(all: Link[]): string {
  return all.map((l) => `${l.ifname}(${l.linkinfo?.info_kind ?? l.link_type ?? '?'}: ${ipv4Of(l).join(',') || 'no ipv4'})`).join(' ');
}

/** Asserts that `ifname` exists in the pod with an IPv4 address in `subnet`; returns the link. */
export async function expectInterface(sandbox: PodSandbox, ifname: string, subnet: string, kind?: string): Promise<Link> {
  const all = await links(sandbox.netnsName);
  const link = all.find((l) => l.ifname === ifname);
  check(link !== undefined, `pod ${sandbox.name} has no ${ifname}; it has: ${summary(all)}`);
  check(ipv4Of(link).some((a) => inSubnet(a, subnet)), `${ifname} of pod ${sandbox.name} has ${ipv4Of(link).join(',') || 'no IPv4'}, expected an address in ${subnet}`);
  if (kind) check(link.linkinfo?.info_kind === kind, `${ifname} of pod ${sandbox.name} is a ${link.linkinfo?.info_kind ?? '?'} link, expected ${kind}`);
  return link;
}

/** The interface names in the pod's namespace other than lo. */
export async function podInterfaces(sandbox: PodSandbox): Promise<string[]> {
  return (await links(sandbox.netnsName)).map((l) => l.ifname).filter((n) => n !== 'lo');
}

/** Reads network-status back from the API server and checks one entry per expectation. */
export async function expectNetworkStatus(
  ctx: ScenarioContext,
  sandbox: PodSandbox,
  expected: { name: string; interface: string; subnet: string; default?: boolean }[],
): Promise<NetworkStatus[]> {
  const status = await podNetworkStatus(ctx.kc, sandbox.namespace, sandbox.name);
  const shown = JSON.stringify(status);
  check(status.length === expected.length, `network-status of ${sandbox.name} has ${status.length} entries, expected ${expected.length}: ${shown}`);
  for (const e of expected) {
    const entry = status.find((s) => s.interface === e.interface);
    check(entry !== undefined, `network-status of ${sandbox.name} has no entry for ${e.interface}: ${shown}`);
    check(entry.name === e.name, `network-status entry for ${e.interface} is named ${entry.name}, expected ${e.name}: ${shown}`);
    check((entry.ips ?? []).some((ip) => inSubnet(ip, e.subnet)), `network-status entry for ${e.interface} has ips ${JSON.stringify(entry.ips)}, expected one in ${e.subnet}`);
    if (e.default !== undefined) check(Boolean(entry.default) === e.default, `network-status entry for ${e.interface} has default=${String(entry.default)}, expected ${String(e.default)}`);
  }
  return status;
}
