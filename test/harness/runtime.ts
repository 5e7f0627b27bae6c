// The container runtime's half of CNI, played by the test: pick the config
// the runtime would (the byte-order first .conf/.conflist/.json file of the
// conf dir, as libcni's ConfFiles sorts them), find each plugin in CNI_PATH,
// and execute it with the CNI environment and the config on stdin, exactly
// as containerd and CRI-O do through libcni.
//
// Plugins run inside the node's network namespace and in a private mount
// namespace (what `ip netns exec` gives) where two host paths Multus and the
// IPAM plugin hard-code are bind-mounted from the node's directories:
// /var/lib/cni (Multus' delegate cache, host-local leases) and
// /etc/cni/multus/net.d (where Multus looks up a NetworkAttachmentDefinition
// with an empty spec; on a real node it is the host dir the DaemonSet mounts
// as --multus-cni-conf-dir). So the machine's own /var/lib/cni and /etc/cni
// stay empty, and the directories the installer wrote are what Multus reads.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import type { PodSandbox, TestNode } from './node.js';
import { registerMountpoint } from './run-state.js';
import { redact } from './secrets.js';

export const HOST_VAR_LIB_CNI = '/var/lib/cni';
export const HOST_MULTUS_CONF_DIR = '/etc/cni/multus/net.d';
const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

export interface PickedConfig {
  file: string;
  /** The plugin configs to run in order, each as the runtime builds it. */
  plugins: Record<string, unknown>[];
  cniVersion: string;
}

export interface CniOutcome {
  ok: boolean;
  /** The result JSON of the last plugin on success, the error object on failure. */
  result: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
  config: PickedConfig;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first config file in byte order, as a runtime picks its default network. */
export function pickConfig(confDir: string): PickedConfig {
  const names = fs
    .readdirSync(confDir)
    .filter((n) => CONF_EXTENSIONS.includes(path.extname(n)))
    .filter((n) => fs.statSync(path.join(confDir, n)).isFile())
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0));
  const first = names[0];
  if (first === undefined) throw new Error(`no CNI config in ${confDir}`);
  const file = path.join(confDir, first);
  const text = fs.readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the runtime's config ${file} is not JSON: ${text.slice(0, 200)}`);
  }
  if (!isObject(parsed)) throw new Error(`the runtime's config ${file} is not an object`);
  const cniVersion = typeof parsed.cniVersion === 'string' ? parsed.cniVersion : '';
  if (first.endsWith('.conflist')) {
    const list = parsed.plugins;
    if (!Array.isArray(list) || list.length === 0) throw new Error(`${file} has no plugins`);
    // libcni's buildOneConfig: each plugin gets the list's name and version.
    const plugins = list.map((p: unknown) => {
      if (!isObject(p)) throw new Error(`${file} has a plugin that is not an object`);
      return { ...p, name: parsed.name, cniVersion };
    });
    return { file, plugins, cniVersion };
  }
  return { file, plugins: [parsed], cniVersion };
}

function findPlugin(type: string, cniPath: string[]): string {
  for (const dir of cniPath) {
    const candidate = path.join(dir, type);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`plugin "${type}" not found in CNI_PATH ${cniPath.join(':')}`);
}

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export class Runtime {
  /** ADD results per container, passed back as prevResult on DEL (libcni caches them). */
  private readonly cache = new Map<string, Record<string, unknown>>();

  private readonly node: TestNode;

  constructor(node: TestNode) {
    this.node = node;
  }

  private cniPath(): string[] {
    return [this.node.paths.cniBinDir, this.node.env.components.cniPluginDir];
  }

  private async exec(command: 'ADD' | 'DEL', sandbox: PodSandbox, plugin: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string }> {
    const type = plugin.type;
    if (typeof type !== 'string') throw new Error(`plugin config has no type: ${JSON.stringify(plugin).slice(0, 200)}`);
    const cniPath = this.cniPath();
    const binary = findPlugin(type, cniPath);
    const { paths } = this.node;
    // Inside `ip netns exec`'s private mount namespace: bind the node's dirs
    // over the paths Multus and host-local use, then exec the plugin.
    const script = 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && shift 4 && exec "$@"';
    const result = await execa(
      'ip',
      ['netns', 'exec', this.node.netnsName, 'sh', '-c', script, 'sh', paths.varLibCni, HOST_VAR_LIB_CNI, paths.multusCniConfDir, HOST_MULTUS_CONF_DIR, binary],
      {
        input: JSON.stringify(plugin),
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          CNI_COMMAND: command,
          CNI_CONTAINERID: sandbox.containerId,
          CNI_NETNS: sandbox.netnsPath,
          CNI_IFNAME: 'eth0',
          CNI_PATH: cniPath.join(':'),
          CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${sandbox.namespace};K8S_POD_NAME=${sandbox.name};K8S_POD_INFRA_CONTAINER_ID=${sandbox.containerId};K8S_POD_UID=${sandbox.uid}`,
        },
        extendEnv: false,
        reject: false,
        timeout: 60000,
      },
    );
    return { code: result.exitCode ?? -1, stdout: redact(String(result.stdout)), stderr: redact(String(result.stderr)) };
  }

  /** CNI ADD of the runtime's default network for `sandbox`. */
  async add(sandbox: PodSandbox): Promise<CniOutcome> {
    const config = pickConfig(this.node.paths.cniConfDir);
    let prev: Record<string, unknown> | undefined;
    let stdout = '';
    let stderr = '';
    for (const plugin of config.plugins) {
      const conf = prev ? { ...plugin, prevResult: prev } : plugin;
      const run = await this.exec('ADD', sandbox, conf);
      stdout = run.stdout;
      stderr += run.stderr;
      const parsed = parseJson(run.stdout);
      if (run.code !== 0) return { ok: false, result: parsed, stdout, stderr, config };
      prev = parsed;
    }
    if (prev) this.cache.set(sandbox.containerId, prev);
    return { ok: true, result: prev, stdout, stderr, config };
  }

  /** CNI DEL, plugins in reverse order, with the cached ADD result where the spec wants it. */
  async del(sandbox: PodSandbox): Promise<CniOutcome> {
    const config = pickConfig(this.node.paths.cniConfDir);
    const prev = versionAtLeast(config.cniVersion, '0.4.0') ? this.cache.get(sandbox.containerId) : undefined;
    let stderr = '';
    let stdout = '';
    for (const plugin of [...config.plugins].reverse()) {
      const run = await this.exec('DEL', sandbox, prev ? { ...plugin, prevResult: prev } : plugin);
      stdout = run.stdout;
      stderr += run.stderr;
      if (run.code !== 0) return { ok: false, result: parseJson(run.stdout), stdout, stderr, config };
    }
    this.cache.delete(sandbox.containerId);
    return { ok: true, result: undefined, stdout, stderr, config };
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A one-paragraph account of a CNI call for assertion messages. */
export function describeOutcome(what: string, o: CniOutcome): string {
  return `${what} ${o.ok ? 'succeeded' : 'failed'} with config ${o.config.file}\nstdout: ${o.stdout.slice(0, 2000)}\nstderr: ${o.stderr.slice(-3000)}`;
}

/**
 * The bind mounts above need their targets to exist on the machine. Creates
 * the missing directories (empty; nothing is ever written into them from
 * the host side) and records them so the teardown removes them again.
 */
export function ensureHostMountpoints(): void {
  for (const target of [HOST_VAR_LIB_CNI, HOST_MULTUS_CONF_DIR]) {
    const missing: string[] = [];
    for (let dir = target; !fs.existsSync(dir); dir = path.dirname(dir)) missing.push(dir);
    for (const dir of missing.reverse()) {
      registerMountpoint(dir);
      fs.mkdirSync(dir);
    }
  }
}
