// The command line: upstream's syntaxes, defaults, and usage errors naming the flag.
import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../../src/errors.js';
import type { Options } from '../../src/options.js';
import { parseCommandLine } from '../../src/options.js';

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
  // SPEC.md's tables: each flag sets its own option, and the ones not in
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
