// Command line and environment, parsed once into a typed, frozen Options.
// Flag names and defaults are thin_entrypoint's (v4) plus v3's --restart-crio,
// so upstream DaemonSet args work unchanged. commander (command-line.ts) is
// the parser of record; parseWellFormed below is the start-up path for the
// argv it reads the same way.
import { UsageError } from '../base/errors.js';
import { isCniVersion } from './cni-version.js';

export type LogFormat = 'text' | 'json';
type MultusLogLevel = 'debug' | 'verbose' | 'error' | 'panic';

export interface Options {
  cniBinDir: string;
  cniConfDir: string;
  multusAutoconfigDir: string;
  /** 'auto' generates the config; anything else is a file to copy. */
  multusConfFile: string;
  multusBinFile: string;
  skipMultusBinaryCopy: boolean;
  multusCniConfDir: string;
  multusKubeconfigFileHost: string;
  multusMasterCniFileName: string;
  cniVersion: string;
  forceCniVersion: boolean;
  namespaceIsolation: boolean;
  globalNamespaces: string;
  multusLogToStderr: boolean;
  multusLogLevel: MultusLogLevel | '';
  multusLogFile: string;
  additionalBinDir: string;
  readinessIndicatorFile: string;
  overrideNetworkName: boolean;
  cleanupConfigOnExit: boolean;
  skipConfigWatch: boolean;
  renameConfFile: boolean;
  skipTlsVerify: boolean;
  restartCrio: boolean;
  serviceAccountDir: string;
  masterCniWaitTimeoutSeconds: number;
  once: boolean;
  dryRun: boolean;
  logFormat: LogFormat;
  healthPort: number;
  resyncIntervalSeconds: number;
  passthruBinFile: string;
  /** Lifetime asked for the kubeconfig's node-bound token; 0 = the mounted token. */
  kubeconfigTokenExpirationSeconds: number;
  /** --passthru-bin-file was given on the command line: a missing file is then an error, not a skip. */
  passthruBinFileGiven: boolean;
  /** Taint key removed from node NODE_NAME once configured; '' = off. */
  nodeReadyTaint: string;
  /** Record Kubernetes Events on this pod. */
  events: boolean;
  /** Evict the pods of this node that started before the Multus config was in place. */
  repairPods: boolean;
  /** thin: the multus plugin does the work; thick: multus-shim hands it to multus-daemon. */
  mode: 'thin' | 'thick';
  multusShimBinFile: string;
  /** Thick: where this program reaches the daemon's multus.sock. */
  daemonSocketDir: string;
  /** Thick: the same dir as the host (the shim) sees it. */
  daemonSocketDirHost: string;
}

/** What the environment (downward API, in-cluster service env) supplies. */
export interface Environment {
  kubernetesServiceHost: string;
  kubernetesServicePort: string;
  kubernetesServiceProtocol: string;
  kubeCaFile: string;
  kubeconfigMode: number;
  podName: string;
  podNamespace: string;
  /** The pod's uid (downward API metadata.uid), so that its Events show in `kubectl describe pod`. */
  podUid: string;
  /** NODE_NAME (downward API spec.nodeName): the node the kubeconfig's token is bound to, the taint's node. */
  nodeName: string;
}

export type ParseResult =
  | { kind: 'run'; options: Options; env: Environment }
  | { kind: 'help'; text: string };

const BOOL_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);
/** The API server refuses a TokenRequest for less (pkg/apis/authentication/validation). */
const MIN_TOKEN_SECONDS = 600;
const LOG_LEVELS: readonly MultusLogLevel[] = ['debug', 'verbose', 'error', 'panic'];

type Kind = 'string' | 'bool' | 'seconds' | 'port';
export interface FlagSpec {
  flag: string;
  key: keyof Options;
  kind: Kind;
  default: string | boolean | number;
  help: string;
  /** Environment variables the flag relies on, shown in --help. */
  env?: readonly string[];
}

// One table: flag, Options key, type, default and help text side by side.
export const FLAGS: readonly FlagSpec[] = [
  { flag: 'cni-bin-dir', key: 'cniBinDir', kind: 'string', default: '/host/opt/cni/bin', help: 'directory the multus binary is installed into' },
  { flag: 'cni-conf-dir', key: 'cniConfDir', kind: 'string', default: '/host/etc/cni/net.d', help: 'directory 00-multus.conf[list] and multus.d/multus.kubeconfig are written into' },
  { flag: 'multus-autoconfig-dir', key: 'multusAutoconfigDir', kind: 'string', default: '/host/etc/cni/net.d', help: 'directory searched for the master CNI config' },
  { flag: 'multus-conf-file', key: 'multusConfFile', kind: 'string', default: 'auto', help: '"auto" generates the Multus config; a path copies that file into --cni-conf-dir instead' },
  { flag: 'multus-bin-file', key: 'multusBinFile', kind: 'string', default: '/usr/src/multus-cni/bin/multus', help: 'the multus binary to install' },
  { flag: 'skip-multus-binary-copy', key: 'skipMultusBinaryCopy', kind: 'bool', default: false, help: 'do not install the binaries (neither multus nor passthru)' },
  { flag: 'multus-cni-conf-dir', key: 'multusCniConfDir', kind: 'string', default: '/host/etc/cni/multus/net.d', help: "Multus' per-node network config directory, created if missing" },
  { flag: 'multus-kubeconfig-file-host', key: 'multusKubeconfigFileHost', kind: 'string', default: '/etc/cni/net.d/multus.d/multus.kubeconfig', help: 'the kubeconfig path as the host sees it (written into the Multus config)' },
  { flag: 'multus-master-cni-file-name', key: 'multusMasterCniFileName', kind: 'string', default: '', help: 'pin the master config by file name instead of auto-selecting it' },
  { flag: 'cni-version', key: 'cniVersion', kind: 'string', default: '', help: "required CNI version; a master with another cniVersion is an error (see --force-cni-version)" },
  { flag: 'force-cni-version', key: 'forceCniVersion', kind: 'bool', default: false, help: "overwrite the master's cniVersion with --cni-version instead of failing" },
  { flag: 'namespace-isolation', key: 'namespaceIsolation', kind: 'bool', default: false, help: 'write "namespaceIsolation": true' },
  { flag: 'global-namespaces', key: 'globalNamespaces', kind: 'string', default: '', help: 'write "globalNamespaces": <value> (comma-separated namespaces)' },
  { flag: 'multus-log-to-stderr', key: 'multusLogToStderr', kind: 'bool', default: true, help: 'false writes "logToStderr": false' },
  { flag: 'multus-log-level', key: 'multusLogLevel', kind: 'string', default: '', help: 'Multus log level: debug, verbose, error or panic' },
  { flag: 'multus-log-file', key: 'multusLogFile', kind: 'string', default: '', help: 'write "logFile": <path>' },
  { flag: 'additional-bin-dir', key: 'additionalBinDir', kind: 'string', default: '', help: 'write "binDir": <path>' },
  { flag: 'readiness-indicator-file', key: 'readinessIndicatorFile', kind: 'string', default: '', help: 'write "readinessindicatorfile": <path>, and write the Multus config only while that file exists (the default network is ready)' },
  { flag: 'override-network-name', key: 'overrideNetworkName', kind: 'bool', default: false, help: "use the master's name instead of multus-cni-network" },
  { flag: 'cleanup-config-on-exit', key: 'cleanupConfigOnExit', kind: 'bool', default: false, help: 'on uninstall (not on restart) remove what was written; invalidate the config while no master exists' },
  { flag: 'skip-config-watch', key: 'skipConfigWatch', kind: 'bool', default: false, help: 'install once, then only wait for a signal' },
  { flag: 'rename-conf-file', key: 'renameConfFile', kind: 'bool', default: false, help: 'rename the master to <name>.old after generating (restored on uninstall)' },
  { flag: 'skip-tls-verify', key: 'skipTlsVerify', kind: 'bool', default: false, help: 'write insecure-skip-tls-verify: true instead of the CA' },
  { flag: 'restart-crio', key: 'restartCrio', kind: 'bool', default: false, help: 'run "systemctl restart crio" once after the first config is written (needs a privileged pod)' },
  { flag: 'service-account-dir', key: 'serviceAccountDir', kind: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount', help: 'where the service-account token and ca.crt are read' },
  { flag: 'master-cni-wait-timeout', key: 'masterCniWaitTimeoutSeconds', kind: 'seconds', default: 600, help: 'seconds to wait for a master config at start; 0 fails at once' },
  { flag: 'once', key: 'once', kind: 'bool', default: false, help: 'install, write, exit 0 (for init containers and scripts)' },
  { flag: 'dry-run', key: 'dryRun', kind: 'bool', default: false, help: 'print what would be written (token redacted) to stdout; write nothing' },
  { flag: 'log-format', key: 'logFormat', kind: 'string', default: 'text', help: 'log format on stderr: text or json' },
  { flag: 'health-port', key: 'healthPort', kind: 'port', default: 0, help: 'serve /healthz, /readyz and /metrics (Prometheus) on this port (0 = off)' },
  { flag: 'passthru-bin-file', key: 'passthruBinFile', kind: 'string', default: '/usr/src/multus-cni/bin/passthru', help: 'the passthru CNI plugin, installed as <cni-bin-dir>/passthru like multus; the default path is skipped when missing, a given one must exist; "" skips it' },
  { flag: 'kubeconfig-token-expiration', key: 'kubeconfigTokenExpirationSeconds', kind: 'seconds', default: 86400, help: 'seconds; lifetime of the node-bound token the kubeconfig carries (renewed at 80%); 0 = the mounted service-account token', env: ['NODE_NAME'] },
  { flag: 'resync-interval', key: 'resyncIntervalSeconds', kind: 'seconds', default: 60, help: 'seconds between full re-checks, a safety net for lost filesystem events' },
  { flag: 'node-ready-taint', key: 'nodeReadyTaint', kind: 'string', default: '', help: 'remove the NoSchedule taint with this key from this node once it is configured; put it back at once on invalidation and uninstall, remove it again once the config has held for 10 s (e.g. k8s.cni.cncf.io/multus-not-ready; "" = off)', env: ['NODE_NAME'] },
  { flag: 'events', key: 'events', kind: 'bool', default: true, help: 'record Kubernetes Events on this pod (config written, master switched, restored, invalidated, uninstall)', env: ['POD_NAME', 'POD_NAMESPACE'] },
  { flag: 'mode', key: 'mode', kind: 'string', default: 'thin', help: 'thin: install multus and write a config of type multus; thick: install multus-shim and write a config of type multus-shim (no kubeconfig) once multus-daemon answers on its socket' },
  { flag: 'multus-shim-bin-file', key: 'multusShimBinFile', kind: 'string', default: '/usr/src/multus-cni/bin/multus-shim', help: 'thick mode: the multus-shim binary to install' },
  { flag: 'daemon-socket-dir', key: 'daemonSocketDir', kind: 'string', default: '/host/run/multus', help: "thick mode: the directory of multus-daemon's multus.sock as this container sees it; the config is written once the daemon answers there" },
  { flag: 'daemon-socket-dir-host', key: 'daemonSocketDirHost', kind: 'string', default: '/run/multus', help: 'thick mode: the same directory as the host sees it, written as "daemonSocketDir" when it is not /run/multus' },
  { flag: 'repair-pods', key: 'repairPods', kind: 'bool', default: false, help: 'each time the Multus config comes into place, evict (rate-limited, through the Eviction API) the pods on this node that started before it without the secondary networks they asked for; one without a controller gets a Warning Event instead', env: ['NODE_NAME'] },
];

function parseBool(flag: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  if (BOOL_TRUE.has(value)) return true;
  if (BOOL_FALSE.has(value)) return false;
  throw new UsageError(`--${flag}: "${value}" is not a boolean (use true or false)`);
}

function parseInteger(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`--${flag}: "${value}" is not a whole number between 0 and ${max}`);
  }
  return Number(value);
}

function convert(spec: FlagSpec, raw: string | true | undefined): string | boolean | number {
  if (raw === undefined) return spec.default;
  if (spec.kind === 'bool') return parseBool(spec.flag, raw === true ? undefined : raw);
  if (raw === true) throw new UsageError(`--${spec.flag}: a value is required`);
  if (spec.kind === 'seconds') return parseInteger(spec.flag, raw, 31_536_000);
  if (spec.kind === 'port') return parseInteger(spec.flag, raw, 65_535);
  return raw;
}

/**
 * The flags as given, keyed by the flag's name without the dashes
 * ("cni-bin-dir"): the value, or true for a flag given without one.
 */
export type GivenFlags = Record<string, string | true | undefined>;

function optionsFrom(raw: GivenFlags): Options {
  const values: Record<string, string | boolean | number> = {};
  for (const spec of FLAGS) {
    values[spec.key] = convert(spec, raw[spec.flag]);
  }
  values.passthruBinFileGiven = raw['passthru-bin-file'] !== undefined;
  const options = values as unknown as Options;
  validate(options);
  return options;
}

function validate(o: Options): void {
  const level = o.multusLogLevel.toLowerCase();
  if (level !== '' && !LOG_LEVELS.includes(level as MultusLogLevel)) {
    throw new UsageError(`--multus-log-level: "${o.multusLogLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  o.multusLogLevel = level as MultusLogLevel | '';
  if (o.logFormat !== 'text' && o.logFormat !== 'json') {
    throw new UsageError(`--log-format: "${String(o.logFormat)}" is not text or json`);
  }
  if (o.cniVersion !== '' && !isCniVersion(o.cniVersion)) {
    throw new UsageError(`--cni-version: "${o.cniVersion}" is not a CNI version like 0.4.0 or 1.0.0`);
  }
  const pinned = o.multusMasterCniFileName;
  if (pinned !== '' && (pinned.includes('/') || pinned === '.' || pinned === '..')) {
    throw new UsageError(`--multus-master-cni-file-name: "${pinned}" must be a file name in --multus-autoconfig-dir, without "/" or ".."`);
  }
  if (o.multusConfFile === '') {
    throw new UsageError('--multus-conf-file: must be "auto" or a file path');
  }
  const lifetime = o.kubeconfigTokenExpirationSeconds;
  if (lifetime !== 0 && lifetime < MIN_TOKEN_SECONDS) {
    throw new UsageError(`--kubeconfig-token-expiration: ${lifetime} is less than ${MIN_TOKEN_SECONDS} seconds, the shortest token the API server issues (0 uses the mounted token)`);
  }
  if (o.repairPods && o.once) {
    throw new UsageError('--repair-pods: evictions are paced over time, so the program must keep running (not with --once)');
  }
  if (o.mode !== 'thin' && o.mode !== 'thick') {
    throw new UsageError(`--mode: "${String(o.mode)}" is not thin or thick`);
  }
  if (o.mode === 'thick' && o.renameConfFile) {
    // multus-daemon looks for the master by its .conf/.conflist name at each start.
    throw new UsageError('--mode: thick does not go with --rename-conf-file (multus-daemon would find no master config)');
  }
  if (o.resyncIntervalSeconds === 0) {
    throw new UsageError('--resync-interval: must be at least 1 second');
  }
  for (const spec of FLAGS) {
    if (spec.kind === 'string' && spec.flag.endsWith('-dir') && o[spec.key] === '' && spec.default !== '') {
      throw new UsageError(`--${spec.flag}: must not be empty`);
    }
  }
}

function parseMode(value: string | undefined): number {
  if (value === undefined || value === '') return 0o600;
  if (!/^0?[0-7]{3}$/.test(value)) {
    throw new UsageError(`KUBECONFIG_MODE: "${value}" is not an octal file mode like 0600`);
  }
  return parseInt(value, 8);
}

function environmentFrom(env: NodeJS.ProcessEnv): Environment {
  return {
    kubernetesServiceHost: env.KUBERNETES_SERVICE_HOST ?? '',
    kubernetesServicePort: env.KUBERNETES_SERVICE_PORT ?? '',
    kubernetesServiceProtocol: env.KUBERNETES_SERVICE_PROTOCOL || 'https',
    kubeCaFile: env.KUBE_CA_FILE ?? '',
    kubeconfigMode: parseMode(env.KUBECONFIG_MODE),
    podName: env.POD_NAME ?? '',
    podNamespace: env.POD_NAMESPACE ?? '',
    podUid: env.POD_UID ?? '',
    nodeName: env.NODE_NAME ?? '',
  };
}

/** The run both parsers return: the flags converted and validated, the environment read, both frozen. */
export function runFrom(given: GivenFlags, env: NodeJS.ProcessEnv): ParseResult {
  const options = optionsFrom(given);
  return { kind: 'run', options: Object.freeze(options), env: Object.freeze(environmentFrom(env)) };
}

const FLAG_BY_ARG = new Map(FLAGS.map((spec) => [`--${spec.flag}`, spec]));

/**
 * The start-up path (issue 13: loading and running commander costs ~11 M
 * instructions, ~8% of a start). Reads argv only when every arg is one that
 * commander reads the same way: `--flag=value`, `--flag value` with a value
 * not starting with '-', or a bare `--flag` at the end or before another
 * `--flag`. Anything else (help, unknown flags, '--', single-dash args,
 * operands, a value starting with '-') returns undefined, for command-line.ts'
 * parseCommandLine to answer. test/unit/options.test.ts checks on generated
 * command lines that the two agree.
 */
export function parseWellFormed(argv: readonly string[], env: NodeJS.ProcessEnv): ParseResult | undefined {
  const given: GivenFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const equals = arg.indexOf('=');
    const spec = FLAG_BY_ARG.get(equals === -1 ? arg : arg.slice(0, equals));
    if (spec === undefined) return undefined;
    let value: string | true = true;
    if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      // commander takes the next arg as the optional value, for booleans too
      // ("--once junk" is a bad boolean, not an operand); '' included.
      value = argv[++i]!;
    }
    // Repeated: the last one wins, as in commander.
    given[spec.flag] = value;
  }
  return runFrom(given, env);
}
