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
    expect(text).toMatch(/Environment: .*NODE_NAME this node \(downward API spec\.nodeName\): the node-bound kubeconfig token .*--node-ready-taint/);
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
