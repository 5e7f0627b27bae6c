// Network namespaces and links, through iproute2. Everything the suite does
// to networking happens inside namespaces it created: a "node" namespace
// plays the host's network (bridges, the macvlan master), pod namespaces
// play sandboxes. The machine's own network namespace is never touched.
import { execa } from 'execa';
import fs from 'node:fs';
import { registerNetns, unregisterNetns } from './run-state.js';

export const NETNS_DIR = '/run/netns';

export async function ip(args: string[]): Promise<string> {
  const { stdout } = await execa('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return stdout;
}

/** Why the suite cannot run here, or undefined when it can. */
export async function probeNetworking(): Promise<string | undefined> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: network namespaces and mounts need root';
  const probe = `mte2e-probe-${process.pid}`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (err) {
    return `no network namespaces: \`ip netns add\` failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  try {
    await ip(['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
  } catch (err) {
    return `no veth pairs in a network namespace: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  } finally {
    await ip(['netns', 'del', probe]).catch(() => undefined);
  }
  return undefined;
}

export async function addNetns(name: string): Promise<string> {
  registerNetns(name);
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return `${NETNS_DIR}/${name}`;
}

export async function delNetns(name: string): Promise<void> {
  if (fs.existsSync(`${NETNS_DIR}/${name}`)) await ip(['netns', 'del', name]);
  unregisterNetns(name);
}

/** A veth pair inside `netns`, both ends up: `name` serves as a macvlan/vlan master. */
export async function addVethPair(netns: string, name: string, peer: string): Promise<void> {
  await ip(['-n', netns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
  await ip(['-n', netns, 'link', 'set', name, 'up']);
  await ip(['-n', netns, 'link', 'set', peer, 'up']);
}

export interface LinkAddress {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
}

export interface Link {
  ifname: string;
  address?: string;
  link_type?: string;
  operstate?: string;
  linkinfo?: { info_kind?: string };
  addr_info: LinkAddress[];
}

/** Links and addresses in `netns` (`ip -details -json addr`). */
export async function links(netns: string): Promise<Link[]> {
  const out = await ip(['-n', netns, '-details', '-json', 'addr', 'show']);
  return JSON.parse(out) as Link[];
}

export function ipv4Of(link: Link | undefined): string[] {
  return (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}
