// Rendering 00-multus.conf[list]: Multus wrapping the master as its first
// delegate. Pure: master config and options in, file name and JSON out.
import { usesConflist } from './cni-version.js';
import type { JsonObject, JsonValue } from '../base/json.js';
import { formatJson, isJsonObject } from '../base/json.js';
import type { Options } from './options.js';

const CONF_NAME = '00-multus.conf';
const CONFLIST_NAME = '00-multus.conflist';
const DEFAULT_NETWORK_NAME = 'multus-cni-network';

/** What upstream v3 wrote so that no pod starts while the default network is gone. */
export const INVALIDATED_CONTENT = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';

export type RenderOptions = Pick<
  Options,
  | 'cniVersion' | 'forceCniVersion' | 'overrideNetworkName' | 'namespaceIsolation' | 'globalNamespaces'
  | 'multusLogToStderr' | 'multusLogLevel' | 'multusLogFile' | 'additionalBinDir' | 'readinessIndicatorFile'
  | 'multusKubeconfigFileHost'
>;

export interface RenderedConfig {
  /** 00-multus.conf or 00-multus.conflist. */
  fileName: string;
  /** The twin that must not exist beside it (it would sort first). */
  twinName: string;
  content: string;
}

/** A master the flags do not allow (cniVersion mismatch, missing name). */
export class RenderError extends Error {
  override name = 'RenderError';
}

/**
 * The union of the master's capabilities: of its plugins for a plugin list
 * (later plugins win), else its own. Values are kept as given (false too).
 */
export function mergeCapabilities(master: JsonObject, isList: boolean): JsonObject {
  const sources: JsonValue[] = isList && Array.isArray(master.plugins)
    ? master.plugins.map((p) => (isJsonObject(p) ? p.capabilities ?? null : null))
    : [master.capabilities ?? null];
  const merged: JsonObject = {};
  for (const caps of sources) {
    if (!isJsonObject(caps)) continue;
    // defineProperty, not assignment: a capability named "__proto__" is data.
    for (const [key, value] of Object.entries(caps)) {
      Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return merged;
}

export function effectiveCniVersion(master: JsonObject, masterName: string, o: Pick<Options, 'cniVersion' | 'forceCniVersion'>): string {
  const own = String(master.cniVersion);
  if (o.cniVersion === '' || o.cniVersion === own) return own;
  if (o.forceCniVersion) return o.cniVersion;
  throw new RenderError(
    `${masterName}: cniVersion "${own}" differs from --cni-version "${o.cniVersion}" (set --force-cni-version to overwrite it)`,
  );
}

/** The keys Multus reads beside its delegates, in a fixed order, each only when set. */
function multusKeys(capabilities: JsonObject, o: RenderOptions): JsonObject {
  const keys: JsonObject = {};
  if (Object.keys(capabilities).length > 0) keys.capabilities = capabilities;
  if (o.namespaceIsolation) keys.namespaceIsolation = true;
  if (o.globalNamespaces !== '') keys.globalNamespaces = o.globalNamespaces;
  if (!o.multusLogToStderr) keys.logToStderr = false;
  if (o.multusLogLevel !== '') keys.logLevel = o.multusLogLevel;
  if (o.multusLogFile !== '') keys.logFile = o.multusLogFile;
  if (o.additionalBinDir !== '') keys.binDir = o.additionalBinDir;
  if (o.readinessIndicatorFile !== '') keys.readinessindicatorfile = o.readinessIndicatorFile;
  keys.kubeconfig = o.multusKubeconfigFileHost;
  return keys;
}

/** The network's name: multus-cni-network, or the master's with --override-network-name. */
export function networkName(masterName: string, master: JsonObject, o: Pick<Options, 'overrideNetworkName'>): string {
  if (!o.overrideNetworkName) return DEFAULT_NETWORK_NAME;
  if (typeof master.name !== 'string' || master.name === '') {
    throw new RenderError(`${masterName}: --override-network-name needs a string "name" in the master config`);
  }
  return master.name;
}

/** The master as the first delegate, at the config's cniVersion. */
export function masterDelegate(master: JsonObject, cniVersion: string): JsonObject {
  return cniVersion === master.cniVersion ? master : { ...master, cniVersion };
}

/** A .conflist of one plugin from cniVersion 1.0.0 on, else a .conf. */
export function wrapPlugin(cniVersion: string, name: string, type: string, plugin: JsonObject): RenderedConfig {
  if (usesConflist(cniVersion)) {
    return { fileName: CONFLIST_NAME, twinName: CONF_NAME, content: formatJson({ cniVersion, name, plugins: [{ type, ...plugin }] }) };
  }
  return { fileName: CONF_NAME, twinName: CONFLIST_NAME, content: formatJson({ cniVersion, name, type, ...plugin }) };
}

/** Renders the Multus config for a master (already validated by master.ts). */
export function renderMultusConfig(masterName: string, master: JsonObject, o: RenderOptions): RenderedConfig {
  const cniVersion = effectiveCniVersion(master, masterName, o);
  const name = networkName(masterName, master, o);
  const plugin: JsonObject = { ...multusKeys(mergeCapabilities(master, masterName.endsWith('.conflist')), o), delegates: [masterDelegate(master, cniVersion)] };
  return wrapPlugin(cniVersion, name, 'multus', plugin);
}
