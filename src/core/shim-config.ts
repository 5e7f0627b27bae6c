// Rendering 00-multus.conf[list] for thick mode: multus-shim, which hands
// every CNI call to multus-daemon over its socket. Pure: master config and
// options in, file name and JSON out. Checked against multus-cni v4.3.0:
// the shim reads only cniVersion, daemonSocketDir and the log keys
// (pkg/server/api/shim.go) and sends the whole config to the daemon, which
// sets every key of its daemon-config.json over it (pkg/server/server.go)
// and runs Multus on the result: `delegates: [master]` is accepted
// (pkg/types/conf.go), so the master goes in as it does for thin. The daemon
// uses its own in-cluster client: no kubeconfig.
import type { JsonObject } from '../base/json.js';
import type { Options } from './options.js';
import { effectiveCniVersion, masterDelegate, mergeCapabilities, networkName, wrapPlugin, type RenderedConfig, type RenderOptions } from './multus-config.js';

/** Where the shim looks for the daemon when the config does not say (api.go's defaultMultusRunDir). */
const SHIM_DEFAULT_SOCKET_DIR = '/run/multus';

type ShimRenderOptions = Omit<RenderOptions, 'multusKubeconfigFileHost'> & Pick<Options, 'daemonSocketDirHost'>;

/** The keys beside the delegates, in a fixed order, each only when set. */
function shimKeys(capabilities: JsonObject, o: ShimRenderOptions): JsonObject {
  const keys: JsonObject = {};
  if (Object.keys(capabilities).length > 0) keys.capabilities = capabilities;
  if (o.namespaceIsolation) keys.namespaceIsolation = true;
  if (o.globalNamespaces !== '') keys.globalNamespaces = o.globalNamespaces;
  // The shim's own logging: it takes a missing logToStderr as false.
  if (o.multusLogToStderr) keys.logToStderr = true;
  if (o.multusLogLevel !== '') keys.logLevel = o.multusLogLevel;
  if (o.multusLogFile !== '') keys.logFile = o.multusLogFile;
  if (o.additionalBinDir !== '') keys.binDir = o.additionalBinDir;
  if (o.readinessIndicatorFile !== '') keys.readinessindicatorfile = o.readinessIndicatorFile;
  const socketDir = o.daemonSocketDirHost.replace(/\/+$/, '');
  if (socketDir !== SHIM_DEFAULT_SOCKET_DIR) keys.daemonSocketDir = o.daemonSocketDirHost;
  return keys;
}

/** Renders the multus-shim config for a master (already validated by master.ts). */
export function renderShimConfig(masterName: string, master: JsonObject, o: ShimRenderOptions): RenderedConfig {
  const cniVersion = effectiveCniVersion(master, masterName, o);
  const name = networkName(masterName, master, o);
  const plugin: JsonObject = { ...shimKeys(mergeCapabilities(master, masterName.endsWith('.conflist')), o), delegates: [masterDelegate(master, cniVersion)] };
  return wrapPlugin(cniVersion, name, 'multus-shim', plugin);
}
