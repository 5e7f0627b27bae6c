// The CNI configurations the scenarios use, and checks on what they give a
// pod. Every subnet is carved from 198.18.0.0/15 (RFC 2544's benchmarking
// range, never routed) and exists only inside namespaces the test made.
import fs from 'node:fs';
import path from 'node:path';
import { MASTER_IF } from './node.js';

export const SUBNETS = {
  master: '198.18.1.0/24',
  masterReplaced: '198.18.10.0/24',
  masterConflist: '198.18.11.0/24',
  macvlan: '198.18.2.0/24',
  bridgeAttachment: '198.18.3.0/24',
  perNode: '198.18.4.0/24',
  static: '198.18.5.0/24',
} as const;

function hostLocal(subnet: string): Record<string, unknown> {
  return { type: 'host-local', ranges: [[{ subnet }]] };
}

/** A default network: a bridge in the node namespace, no gateway address. */
export function bridgeMaster(name: string, bridge: string, subnet: string, cniVersion = '0.3.1'): Record<string, unknown> {
  return { cniVersion, name, type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: hostLocal(subnet) };
}

/** A 1.0.0 conflist default network (bridge + tuning), as newer installers write. */
export function bridgeMasterConflist(name: string, bridge: string, subnet: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name,
    plugins: [
      { type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: hostLocal(subnet) },
      { type: 'tuning', capabilities: { mac: true } },
    ],
  };
}

export function macvlanNad(subnet: string): Record<string, unknown> {
  return { cniVersion: '0.3.1', type: 'macvlan', master: MASTER_IF, mode: 'bridge', ipam: hostLocal(subnet) };
}

export function bridgeNad(bridge: string, subnet: string): Record<string, unknown> {
  return { cniVersion: '0.3.1', type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: hostLocal(subnet) };
}

/**
 * The upstream "ips and mac capabilities" example: macvlan with static IPAM
 * takes the requested IP, the chained tuning plugin sets the requested MAC.
 */
export function staticMacvlanNad(name: string): Record<string, unknown> {
  return {
    cniVersion: '0.3.1',
    name,
    plugins: [
      { type: 'macvlan', master: MASTER_IF, mode: 'bridge', capabilities: { ips: true }, ipam: { type: 'static' } },
      { type: 'tuning', capabilities: { mac: true } },
    ],
  };
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  // Through a dot-named temporary file: no reader ever sees half a config.
  const tmp = path.join(dir, `.${name}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
  fs.renameSync(tmp, file);
  return file;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** Whether `address` (with or without /len) lies in `cidr`. */
export function inSubnet(address: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const ip = address.split('/')[0] ?? '';
  if (!net || !len || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(net) & mask) >>> 0);
}
