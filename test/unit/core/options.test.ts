// The command line: upstream's syntaxes, defaults, and usage errors naming the
// flag; and the start-up fast path, which must read every command line it
// takes exactly as commander, the parser of record, does.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { UsageError } from '../../../src/base/errors.js';
import { FLAGS, parseWellFormed, type Options, type ParseResult } from '../../../src/core/options.js';

function options(...argv: string[]): Options {
  const parsed = parseCommandLine(argv, {});
  if (parsed.kind !== 'run') throw new Error('expected a run');
  return parsed.options;
}

function usageError(...argv: string[]): string {
  try {
    parseCommandLine(argv, {});
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('--mode: thin by default, thick when asked; anything else names the flag', () => {
    expect(options()).toMatchObject({ mode: 'thin', multusShimBinFile: '/usr/src/multus-cni/bin/multus-shim', daemonSocketDir: '/host/run/multus', daemonSocketDirHost: '/run/multus' });
    expect(options('--mode=thick').mode).toBe('thick');
    expect(usageError('--mode=thik')).toBe('--mode: "thik" is not thin or thick');
    expect(usageError('--mode=')).toBe('--mode: "" is not thin or thick');
    expect(usageError('--mode')).toBe('--mode: a value is required');
    expect(usageError('--mode=thick', '--daemon-socket-dir=')).toBe('--daemon-socket-dir: must not be empty');
    expect(usageError('--mode=thick', '--rename-conf-file')).toBe('--mode: thick does not go with --rename-conf-file (multus-daemon would find no master config)');
  });

  it('has thin_entrypoint defaults', () => {
    expect(options()).toMatchObject({
      cniBinDir: '/host/opt/cni/bin',
      cniConfDir: '/host/etc/cni/net.d',
      multusAutoconfigDir: '/host/etc/cni/net.d',
      multusConfFile: 'auto',
      multusBinFile: '/usr/src/multus-cni/bin/multus',
      multusCniConfDir: '/host/etc/cni/multus/net.d',
      multusKubeconfigFileHost: '/etc/cni/net.d/multus.d/multus.kubeconfig',
      multusLogToStderr: true,
      skipMultusBinaryCopy: false,
      cleanupConfigOnExit: false,
      serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
      masterCniWaitTimeoutSeconds: 600,
      logFormat: 'text',
      healthPort: 0,
    });
  });

  it.each([
    [['--cni-conf-dir=/a'], '/a'],
    [['--cni-conf-dir', '/a'], '/a'],
  ])('accepts %j for a string flag', (argv, value) => {
    expect(options(...argv).cniConfDir).toBe(value);
  });

  it.each([
    [['--cleanup-config-on-exit'], true],
    [['--cleanup-config-on-exit=true'], true],
    [['--cleanup-config-on-exit=false'], false],
    [['--cleanup-config-on-exit=1'], true],
    [['--cleanup-config-on-exit=False'], false],
    [['--cleanup-config-on-exit', 'false'], false],
    [[], false],
  ])('accepts %j for a boolean flag', (argv, value) => {
    expect(options(...argv).cleanupConfigOnExit).toBe(value);
  });

  it('turns a default-true boolean off with =false', () => {
    expect(options('--multus-log-to-stderr=false').multusLogToStderr).toBe(false);
  });

  it('lowercases a valid Multus log level', () => {
    expect(options('--multus-log-level=DEBUG').multusLogLevel).toBe('debug');
    expect(options('--multus-log-level', 'Verbose').multusLogLevel).toBe('verbose');
  });

  it('parses numbers', () => {
    expect(options('--master-cni-wait-timeout=0', '--health-port', '8080')).toMatchObject({ masterCniWaitTimeoutSeconds: 0, healthPort: 8080 });
  });

  it.each([
    [['--no-such-flag'], /--no-such-flag/],
    [['--multus-log-level=loud'], /--multus-log-level: "loud"/],
    [['--cleanup-config-on-exit=maybe'], /--cleanup-config-on-exit: "maybe" is not a boolean/],
    [['--master-cni-wait-timeout=-1'], /--master-cni-wait-timeout/],
    [['--master-cni-wait-timeout=soon'], /--master-cni-wait-timeout: "soon"/],
    [['--health-port=70000'], /--health-port/],
    [['--log-format=xml'], /--log-format: "xml"/],
    [['--cni-version=one'], /--cni-version: "one"/],
    [['--multus-master-cni-file-name=../etc/passwd'], /--multus-master-cni-file-name/],
    [['--multus-master-cni-file-name=a/b.conf'], /--multus-master-cni-file-name/],
    [['--cni-conf-dir'], /--cni-conf-dir: a value is required/],
    [['--cni-conf-dir='], /--cni-conf-dir: must not be empty/],
    [['stray'], /stray|argument/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(usageError(...argv)).toMatch(message);
  });

  it('prints help instead of running', () => {
    const parsed = parseCommandLine(['--help'], {});
    expect(parsed.kind).toBe('help');
    if (parsed.kind !== 'help') return;
    for (const flag of ['--cni-bin-dir', '--restart-crio', '--dry-run', '--once', '--health-port', '--service-account-dir', '--master-cni-wait-timeout']) {
      expect(parsed.text).toContain(flag);
    }
  });

  it('shows every default in --help as pflag does, booleans and empty strings too', () => {
    const parsed = parseCommandLine(['--help'], {});
    if (parsed.kind !== 'help') throw new Error('expected help');
    // Help wraps long lines: compare with the whitespace folded.
    const text = parsed.text.replace(/\s+/g, ' ');
    expect(text).toContain('--cni-bin-dir string directory the multus binary is installed into (default "/host/opt/cni/bin")');
    expect(text).toMatch(/--cleanup-config-on-exit on uninstall .*? \(default false\)/);
    expect(text).toMatch(/--multus-log-to-stderr false writes .*? \(default true\)/);
    expect(text).toMatch(/--master-cni-wait-timeout int seconds .*? \(default 600\)/);
    expect(text).toMatch(/--multus-master-cni-file-name string pin .*? \(default ""\)/);
    // Every flag of the parser has its default in the help, none is left out.
    const flags = [...parsed.text.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(30);
    for (const flag of flags) expect(text).toMatch(new RegExp(`${flag}( string| int)? [^]*?\\(default [^)]*\\)`));
  });

  it('names the environment the new flags use in --help', () => {
    const parsed = parseCommandLine(['--help'], {});
    if (parsed.kind !== 'help') throw new Error('expected help');
    const text = parsed.text.replace(/\s+/g, ' ');
    expect(text).toMatch(/--node-ready-taint string .*?\(uses \$NODE_NAME\) \(default ""\)/);
    expect(text).toMatch(/--events .*?\(uses \$POD_NAME, \$POD_NAMESPACE\) \(default true\)/);
    expect(text).toMatch(/--kubeconfig-token-expiration int .*?\(uses \$NODE_NAME\) \(default 86400\)/);
    expect(text).toMatch(/Environment: .*NODE_NAME this node \(downward API spec\.nodeName\): the node-bound kubeconfig token .*whether the DaemonSet still selects this node .*--node-ready-taint/);
    expect(text).toMatch(/Environment: .*POD_NAME, POD_NAMESPACE, POD_UID this pod/);
  });

  it('reads the environment once into a typed object', () => {
    const parsed = parseCommandLine([], { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG_MODE: '0640', POD_NAME: 'p', POD_NAMESPACE: 'kube-system' });
    expect(parsed.kind === 'run' && parsed.env).toEqual({
      kubernetesServiceHost: 'fd00::1', kubernetesServicePort: '443', kubernetesServiceProtocol: 'https',
      kubeCaFile: '', kubeconfigMode: 0o640, podName: 'p', podNamespace: 'kube-system', podUid: '', nodeName: '',
    });
    expect(() => parseCommandLine([], { KUBECONFIG_MODE: 'rw' })).toThrow(/KUBECONFIG_MODE/);
  });
});

describe('every flag of the contract', () => {
  // docs/configuration.md's tables: each flag sets its own option, and the ones not in
  // the defaults test above start off or empty.
  const strings: [string, keyof Options][] = [
    ['cni-bin-dir', 'cniBinDir'], ['cni-conf-dir', 'cniConfDir'], ['multus-autoconfig-dir', 'multusAutoconfigDir'],
    ['multus-conf-file', 'multusConfFile'], ['multus-bin-file', 'multusBinFile'], ['multus-cni-conf-dir', 'multusCniConfDir'],
    ['multus-kubeconfig-file-host', 'multusKubeconfigFileHost'], ['multus-master-cni-file-name', 'multusMasterCniFileName'],
    ['global-namespaces', 'globalNamespaces'], ['multus-log-file', 'multusLogFile'], ['additional-bin-dir', 'additionalBinDir'],
    ['readiness-indicator-file', 'readinessIndicatorFile'], ['service-account-dir', 'serviceAccountDir'],
  ];
  it.each(strings)('--%s sets %s', (flag, key) => {
    expect(options(`--${flag}=x.conf`)[key]).toBe('x.conf');
  });

  const booleans: [string, keyof Options][] = [
    ['skip-multus-binary-copy', 'skipMultusBinaryCopy'], ['force-cni-version', 'forceCniVersion'], ['namespace-isolation', 'namespaceIsolation'],
    ['override-network-name', 'overrideNetworkName'], ['cleanup-config-on-exit', 'cleanupConfigOnExit'], ['skip-config-watch', 'skipConfigWatch'],
    ['rename-conf-file', 'renameConfFile'], ['skip-tls-verify', 'skipTlsVerify'], ['restart-crio', 'restartCrio'], ['once', 'once'], ['dry-run', 'dryRun'],
  ];
  it.each(booleans)('--%s sets %s, off by default', (flag, key) => {
    expect(options()[key]).toBe(false);
    expect(options(`--${flag}`)[key]).toBe(true);
    expect(options(`--${flag}=false`)[key]).toBe(false);
  });

  it('starts the rest empty, and re-checks every 60 s', () => {
    expect(options()).toMatchObject({ multusMasterCniFileName: '', cniVersion: '', globalNamespaces: '', multusLogLevel: '', multusLogFile: '', additionalBinDir: '', readinessIndicatorFile: '', resyncIntervalSeconds: 60 });
  });

  it.each([
    ['--cni-version=1.0.0', { cniVersion: '1.0.0' }],
    ['--multus-log-level=panic', { multusLogLevel: 'panic' }],
    ['--multus-log-level=error', { multusLogLevel: 'error' }],
    ['--log-format=json', { logFormat: 'json' }],
    ['--resync-interval=5', { resyncIntervalSeconds: 5 }],
    ['--master-cni-wait-timeout=31536000', { masterCniWaitTimeoutSeconds: 31_536_000 }],
    ['--health-port=65535', { healthPort: 65_535 }],
    ['--multus-log-to-stderr=0', { multusLogToStderr: false }],
    ['--multus-log-to-stderr=T', { multusLogToStderr: true }],
  ] as const)('takes %s', (arg, expected) => {
    expect(options(arg)).toMatchObject(expected);
  });

  it.each([
    [['--resync-interval=0'], '--resync-interval: must be at least 1 second'],
    [['--master-cni-wait-timeout=31536001'], '--master-cni-wait-timeout: "31536001" is not a whole number between 0 and 31536000'],
    [['--health-port=65536'], '--health-port: "65536" is not a whole number between 0 and 65535'],
    [['--health-port=8080x'], '--health-port: "8080x" is not a whole number between 0 and 65535'],
    [['--multus-conf-file='], '--multus-conf-file: must be "auto" or a file path'],
    [['--multus-bin-file'], '--multus-bin-file: a value is required'],
    [['--cni-bin-dir='], '--cni-bin-dir: must not be empty'],
    [['--multus-autoconfig-dir='], '--multus-autoconfig-dir: must not be empty'],
    [['--service-account-dir='], '--service-account-dir: must not be empty'],
    [['--multus-master-cni-file-name=..'], '--multus-master-cni-file-name: ".." must be a file name in --multus-autoconfig-dir, without "/" or ".."'],
    [['--multus-master-cni-file-name=.'], '--multus-master-cni-file-name: "." must be a file name in --multus-autoconfig-dir, without "/" or ".."'],
    [['--skip-tls-verify=yes'], '--skip-tls-verify: "yes" is not a boolean (use true or false)'],
    [['--multus-log-level=trace'], '--multus-log-level: "trace" is not one of debug, verbose, error, panic'],
    [['--log-format=xml'], '--log-format: "xml" is not text or json'],
    [['--cni-version=1.0.0-rc1'], '--cni-version: "1.0.0-rc1" is not a CNI version like 0.4.0 or 1.0.0'],
  ])('rejects %j with exactly: %s', (argv, message) => {
    expect(usageError(...argv)).toBe(message);
  });

  it('takes a node-bound token lifetime from 600 s (the API server\'s shortest) or 0 (the mounted token), and refuses one below', () => {
    expect(usageError('--kubeconfig-token-expiration=599')).toBe('--kubeconfig-token-expiration: 599 is less than 600 seconds, the shortest token the API server issues (0 uses the mounted token)');
    expect(usageError('--kubeconfig-token-expiration=1')).toMatch(/^--kubeconfig-token-expiration: 1 is less than 600 seconds/);
    expect(options('--kubeconfig-token-expiration=600').kubeconfigTokenExpirationSeconds).toBe(600);
    expect(options('--kubeconfig-token-expiration=0').kubeconfigTokenExpirationSeconds).toBe(0);
  });

  it('knows whether --passthru-bin-file was given (a given file must exist; the default may be missing)', () => {
    expect(options().passthruBinFileGiven).toBe(false);
    expect(options('--passthru-bin-file=/usr/src/multus-cni/bin/passthru').passthruBinFileGiven).toBe(true);
    expect(options('--passthru-bin-file=').passthruBinFileGiven).toBe(true);
  });

  it('accepts empty optional strings where an empty value means "off"', () => {
    expect(options('--additional-bin-dir=', '--global-namespaces=', '--multus-master-cni-file-name=')).toMatchObject({ additionalBinDir: '', globalNamespaces: '', multusMasterCniFileName: '' });
  });

  it('describes every flag in --help', () => {
    const parsed = parseCommandLine(['--help'], {});
    if (parsed.kind !== 'help') throw new Error('expected help');
    // Flag lines start with two spaces; wrapped description lines with more.
    const flagLines = parsed.text.split('\n').filter((l) => /^ {2}--[a-z]/.test(l));
    expect(flagLines.length).toBeGreaterThanOrEqual(strings.length + booleans.length);
    for (const line of flagLines) {
      // pflag's look: "  --flag string   what it does", "  --flag int ...", a bare boolean
      const m = /^ {2}--([a-z-]+)(?: string| int)?\s+(\S.*)$/.exec(line);
      expect({ line, parsed: m !== null }).toEqual({ line, parsed: true });
      expect({ line, described: m![2]!.length > 10 }).toEqual({ line, described: true });
    }
    expect(parsed.text).toMatch(/--cni-bin-dir string\s+directory the multus binary is installed\s+into \(default "\/host\/opt\/cni\/bin"\)$/m);
    expect(parsed.text).toMatch(/^Usage: multus-entrypoint \[options\]/);
    expect(parsed.text).toContain('Installs Multus on this node and keeps its CNI config and kubeconfig true.');
    expect(parsed.text).toMatch(/-h, --help\s+print this help and exit/);
  });

  it('reads KUBERNETES_SERVICE_PROTOCOL, KUBE_CA_FILE and a three-digit KUBECONFIG_MODE', () => {
    const parsed = parseCommandLine([], { KUBERNETES_SERVICE_PROTOCOL: 'http', KUBE_CA_FILE: '/ca/ca.crt', KUBECONFIG_MODE: '640' });
    expect(parsed.kind === 'run' && parsed.env).toMatchObject({ kubernetesServiceProtocol: 'http', kubeCaFile: '/ca/ca.crt', kubeconfigMode: 0o640 });
    const defaults = parseCommandLine([], { KUBECONFIG_MODE: '' });
    expect(defaults.kind === 'run' && defaults.env).toMatchObject({ kubernetesServiceHost: '', kubernetesServicePort: '', podName: '', podNamespace: '', kubeconfigMode: 0o600 });
    for (const bad of ['0800', '06000', '60', 'rw-------']) {
      expect(() => parseCommandLine([], { KUBECONFIG_MODE: bad })).toThrow(`KUBECONFIG_MODE: "${bad}" is not an octal file mode like 0600`);
    }
  });

  it('freezes what it parsed', () => {
    const parsed = parseCommandLine([], {});
    if (parsed.kind !== 'run') throw new Error('expected a run');
    expect(Object.isFrozen(parsed.options)).toBe(true);
    expect(Object.isFrozen(parsed.env)).toBe(true);
  });
});

/** What a parser made of argv: its result, or the message of its usage error; undefined if it left argv to commander. */
type Outcome = { result: ParseResult } | { usageError: string };
function outcomeOf(parse: () => ParseResult | undefined): Outcome | undefined {
  try {
    const result = parse();
    return result && { result };
  } catch (err) {
    if (err instanceof UsageError) return { usageError: err.message };
    throw err;
  }
}

describe('parseWellFormed, the start-up fast path', () => {
  // Upstream's thin_entrypoint DaemonSet (deployments/multus-daemonset.yml)
  // and the flags users add to it: a start on these must not load commander.
  const UPSTREAM = ['--multus-conf-file=auto', '--multus-autoconfig-dir=/host/etc/cni/net.d', '--cni-conf-dir=/host/etc/cni/net.d'];
  it.each([
    ['upstream thin_entrypoint', UPSTREAM],
    ['upstream with cleanup and the usual additions', [...UPSTREAM, '--cleanup-config-on-exit=true', '--readiness-indicator-file=/run/flannel/subnet.env', '--multus-log-level=verbose', '--multus-kubeconfig-file-host=/var/lib/rancher/k3s/agent/etc/cni/net.d/multus.d/multus.kubeconfig', '--skip-config-watch=false']],
    ['values after a space and bare booleans', ['--multus-conf-file', 'auto', '--cleanup-config-on-exit', '--health-port', '9845', '--restart-crio']],
  ])('takes %s args, as commander reads them', (_name, argv) => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', POD_NAME: 'p', POD_NAMESPACE: 'kube-system', NODE_NAME: 'n' };
    const fast = parseWellFormed(argv, env);
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseCommandLine(argv, env));
  });

  it.each([
    [['--help']], [['-h']], [['--cleanup-config-on-exit', '--help']], [['--no-such-flag']], [['stray']], [['--once', '--']],
    [['--health-port', '-1']], [['--cni-bin-dir', '-']], [['-once']], [['--help=1']], [['--=x']],
  ])('leaves %j to commander', (argv) => {
    expect(parseWellFormed(argv, {})).toBeUndefined();
  });

  it('lets the last of a repeated flag win, and takes the word after a boolean as its value, as commander does', () => {
    const fast = parseWellFormed(['--health-port=1', '--health-port', '2', '--once', 'false', '--dry-run'], {});
    expect(fast?.kind === 'run' && fast.options).toMatchObject({ healthPort: 2, once: false, dryRun: true });
    expect(() => parseWellFormed(['--once', 'junk'], {})).toThrow('--once: "junk" is not a boolean (use true or false)');
  });

  it('freezes what it parsed', () => {
    const fast = parseWellFormed(['--once'], {});
    if (fast?.kind !== 'run') throw new Error('expected a run');
    expect(Object.isFrozen(fast.options)).toBe(true);
    expect(Object.isFrozen(fast.env)).toBe(true);
  });

  // The property that keeps the fast path honest: on generated command lines
  // (every kind of flag, both value forms, bare flags, odd values, repeats,
  // unknown flags, operands, '--', help), whatever it answers, commander
  // answers the same.
  const flagOf = (kind: string) => fc.constantFrom(...FLAGS.filter((f) => f.kind === kind).map((f) => `--${f.flag}`));
  const flag = fc.oneof(flagOf('string'), flagOf('bool'), flagOf('seconds'), flagOf('port'));
  const value = fc.oneof(
    fc.constantFrom('', '-', '-1', '-x', '--', '--once', '=', 'a=b', 'true', 'false', '1', '0', 't', 'F', 'junk', 'auto', 'json', 'DEBUG', '8080', '70000', '86400', '599', '1.0.0', '..', '/a/b'),
    fc.string({ maxLength: 4 }),
  );
  const group = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(flag, value).map(([f, v]) => [`${f}=${v}`]) },
    { weight: 4, arbitrary: fc.tuple(flag, value).map(([f, v]) => [f, v]) },
    { weight: 4, arbitrary: flag.map((f) => [f]) },
    { weight: 1, arbitrary: fc.constantFrom(['--no-such-flag'], ['--no-such-flag=1'], ['stray'], ['--'], ['-h'], ['--help'], ['--help=1'], ['-'], ['-once'], ['--=x']) },
  );
  const argvArb = fc.array(group, { maxLength: 6 }).map((groups) => groups.flat());
  const envArb = fc.constantFrom({}, { KUBECONFIG_MODE: 'rw' }, { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443', NODE_NAME: 'n', KUBECONFIG_MODE: '640' });

  it('answers every command line it takes exactly as commander does', () => {
    const taken = { runs: 0, usageErrors: 0, left: 0 };
    fc.assert(
      fc.property(argvArb, envArb, (argv, env) => {
        const fast = outcomeOf(() => parseWellFormed(argv, env));
        if (fast === undefined) {
          taken.left++;
          return;
        }
        if ('result' in fast) taken.runs++;
        else taken.usageErrors++;
        expect({ argv, outcome: fast }).toEqual({ argv, outcome: outcomeOf(() => parseCommandLine(argv, env)) });
      }),
      {
        numRuns: 3000,
        examples: [
          [['--once', 'junk'], {}], [['--once', 'false', '--once'], {}], [['--cni-bin-dir', ''], {}], [['--health-port=1', '--health-port', '2'], {}],
          [['--cni-bin-dir=a=b', '--multus-conf-file', '='], {}], [['--cni-bin-dir', '--once'], {}], [['--once', '--health-port=-1'], {}],
        ],
      },
    );
    // Not vacuous: the fast path took runs and usage errors, and left some to commander.
    expect(taken.runs).toBeGreaterThan(200);
    expect(taken.usageErrors).toBeGreaterThan(300);
    expect(taken.left).toBeGreaterThan(300);
  });
});
