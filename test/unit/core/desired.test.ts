// desiredState: what the node should hold, from an observation (pure).
import { describe, expect, it } from '@jest/globals';
import type { Observation } from '../../../src/core/desired.js';
import { parse, stringify } from 'yaml';
import { desiredState } from '../../../src/core/desired.js';
import type { Selection } from '../../../src/core/master.js';
import { INVALIDATED_CONTENT } from '../../../src/core/multus-config.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { Environment, Options } from '../../../src/core/options.js';

function setup(flags: string[], env: NodeJS.ProcessEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }): { o: Options; env: Environment } {
  const parsed = parseCommandLine(['--cni-conf-dir=/c', '--multus-autoconfig-dir=/c', ...flags], env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return { o: parsed.options, env: parsed.env };
}

const sa = { token: 'tok', ca: Buffer.from('ca') };
const bridge = { cniVersion: '0.4.0', name: 'b', type: 'bridge' };
const found = (name: string, diskName = name): Selection => ({ kind: 'found', master: { name, diskName, config: bridge, text: JSON.stringify(bridge) }, skipped: [] });
const none: Selection = { kind: 'none', skipped: [{ name: 'x.conf', reason: 'empty file' }] };

describe('desiredState', () => {
  it('wants the kubeconfig first, then the config, and the twin removed', () => {
    const { o, env } = setup([]);
    const { desired, last } = desiredState({ serviceAccount: sa, selection: found('10-b.conf') }, o, env, undefined);
    expect(desired.files.map((f) => [f.path, f.mode, f.what])).toEqual([
      ['/c/multus.d/multus.kubeconfig', 0o600, 'kubeconfig'],
      // 0600: CIS Kubernetes Benchmark 1.1.9/1.1.10 (multus-cni #1301).
      ['/c/00-multus.conf', 0o600, 'Multus config'],
    ]);
    expect(desired.remove).toEqual(['/c/00-multus.conflist']);
    expect(desired.master).toBe('10-b.conf');
    expect(last?.fileName).toBe('00-multus.conf');
  });

  it('waits and writes no config when no master was ever found', () => {
    const { o, env } = setup([]);
    const { desired } = desiredState({ serviceAccount: sa, selection: none }, o, env, undefined);
    expect(desired.waiting).toBe('a valid .conf, .conflist or .json master config in /c');
    expect(desired.files.map((f) => f.what)).toEqual(['kubeconfig']);
    expect(desired.skipped).toEqual(none.skipped);
  });

  it('names the pinned master and its flag while it waits for that file', () => {
    const { o, env } = setup(['--multus-master-cni-file-name=10-calico.conflist']);
    const { desired } = desiredState({ serviceAccount: sa, selection: none }, o, env, undefined);
    expect(desired.waiting).toBe('/c/10-calico.conflist (--multus-master-cni-file-name)');
  });

  it('keeps the last config when the master is gone, or invalidates it with cleanup', () => {
    const last = { fileName: '00-multus.conf', content: 'LAST' };
    const keep = desiredState({ serviceAccount: sa, selection: none }, setup([]).o, setup([]).env, last).desired;
    expect(keep.files[1]).toMatchObject({ path: '/c/00-multus.conf', content: 'LAST', mode: 0o600 });
    const { o, env } = setup(['--cleanup-config-on-exit']);
    const invalid = desiredState({ serviceAccount: sa, selection: none }, o, env, last).desired;
    expect(invalid.files[1]).toMatchObject({ path: '/c/00-multus.conf', content: INVALIDATED_CONTENT, mode: 0o600 });
  });

  it('plans the rename of a master not yet renamed, and not of one found as .old', () => {
    const { o, env } = setup(['--rename-conf-file']);
    expect(desiredState({ serviceAccount: sa, selection: found('10-b.conf') }, o, env, undefined).desired.renameMaster)
      .toEqual({ from: '/c/10-b.conf', to: '/c/10-b.conf.old' });
    expect(desiredState({ serviceAccount: sa, selection: found('10-b.conf', '10-b.conf.old') }, o, env, undefined).desired.renameMaster).toBeUndefined();
  });

  it('makes an invalid pinned master fatal, naming the file and flag', () => {
    const { o, env } = setup(['--multus-master-cni-file-name=p.conf']);
    const obs: Observation = { serviceAccount: sa, selection: { kind: 'pinned-invalid', name: 'p.conf', reason: 'empty file', skipped: [] } };
    expect(desiredState(obs, o, env, undefined).desired.fatal).toBe('/c/p.conf (--multus-master-cni-file-name): empty file');
  });

  it('keeps the kubeconfig apart from a config fault (a cni-version mismatch)', () => {
    const { o, env } = setup(['--cni-version=1.0.0']);
    const { desired } = desiredState({ serviceAccount: sa, selection: found('10-b.conf') }, o, env, undefined);
    expect(desired.files.map((f) => f.what)).toEqual(['kubeconfig']);
    expect(desired.errors).toEqual(['/c/10-b.conf: cniVersion "0.4.0" differs from --cni-version "1.0.0" (set --force-cni-version to overwrite it)']);
  });

  it('never wants half a configuration: no Multus config (nor twin removal, nor rename) without its kubeconfig', () => {
    const { o, env } = setup(['--rename-conf-file']);
    const last = { fileName: '00-multus.conf', content: 'LAST' };
    const { desired, last: next } = desiredState({ serviceAccount: { error: 'token: missing' }, selection: found('10-b.conf') }, o, env, last);
    expect(desired.files).toEqual([]);
    expect(desired.remove).toEqual([]);
    expect(desired.renameMaster).toBeUndefined();
    expect(desired.master).toBe('10-b.conf');
    expect(next).toBe(last);
    // The invalidated config names no kubeconfig: it may still be written.
    const c = setup(['--cleanup-config-on-exit']);
    const gone = desiredState({ serviceAccount: { error: 'token: missing' }, selection: none }, c.o, c.env, last).desired;
    expect(gone.files.map((f) => f.content)).toEqual([INVALIDATED_CONTENT]);
  });

  it('holds the Multus config back while the readiness indicator file is missing: kept, or invalidated with cleanup', () => {
    const { o, env } = setup(['--readiness-indicator-file=/run/flannel/subnet.env']);
    const missing = { path: '/run/flannel/subnet.env', ready: false };
    const first = desiredState({ serviceAccount: sa, selection: found('10-b.conf'), readiness: missing }, o, env, undefined);
    expect(first.desired.files.map((f) => f.what)).toEqual(['kubeconfig']);
    expect(first.desired.remove).toEqual([]);
    expect(first.desired).toMatchObject({ waitingFor: 'readiness', waiting: expect.stringContaining('/run/flannel/subnet.env (--readiness-indicator-file)') });
    expect(first.last).toBeUndefined();
    const last = { fileName: '00-multus.conf', content: 'LAST' };
    expect(desiredState({ serviceAccount: sa, selection: found('10-b.conf'), readiness: missing }, o, env, last).desired.files[1]).toMatchObject({ content: 'LAST' });
    const c = setup(['--readiness-indicator-file=/r', '--cleanup-config-on-exit']);
    expect(desiredState({ serviceAccount: sa, selection: found('10-b.conf'), readiness: missing }, c.o, c.env, last).desired.files[1]).toMatchObject({ content: INVALIDATED_CONTENT });
    const ready = desiredState({ serviceAccount: sa, selection: found('10-b.conf'), readiness: { ...missing, ready: true } }, o, env, undefined).desired;
    expect(ready.waiting).toBeUndefined();
    expect(ready.files.map((f) => f.what)).toEqual(['kubeconfig', 'Multus config']);
    // No master either: the wait is for the master.
    expect(desiredState({ serviceAccount: sa, selection: none, readiness: missing }, o, env, undefined).desired.waitingFor).toBe('master');
  });

  it('names the missing environment variable and the kubeconfig', () => {
    const { o, env } = setup([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    const { desired } = desiredState({ serviceAccount: sa, selection: found('10-b.conf') }, o, env, undefined);
    expect(desired.errors).toEqual(['/c/multus.d/multus.kubeconfig: environment variable KUBERNETES_SERVICE_PORT is not set (it is needed to write the kubeconfig)']);
  });

  it('renders a token only yaml can write with the library the observation carries, and demands it otherwise', () => {
    const { o, env } = setup([]);
    const odd = { ...sa, token: 'tok en' };
    const { desired } = desiredState({ serviceAccount: odd, selection: found('10-b.conf'), yamlStringify: stringify }, o, env, undefined);
    expect(parse(desired.files[0]!.content).users[0].user.token).toBe('tok en');
    expect(() => desiredState({ serviceAccount: odd, selection: found('10-b.conf') }, o, env, undefined)).toThrow('needs the yaml library');
  });

  it('copies a non-auto file under its own name, and refuses one that is not JSON', () => {
    const { o, env } = setup(['--multus-conf-file=/src/70-multus.conf']);
    const ok = desiredState({ serviceAccount: sa, nonAuto: { path: '/src/70-multus.conf', text: '{"a":1}' } }, o, env, undefined).desired;
    expect(ok.files[1]).toMatchObject({ path: '/c/70-multus.conf', content: '{"a":1}', mode: 0o600 });
    const bad = desiredState({ serviceAccount: sa, nonAuto: { path: '/src/70-multus.conf', text: 'nope' } }, o, env, undefined).desired;
    expect(bad.errors).toEqual(['/src/70-multus.conf (--multus-conf-file): not a JSON object']);
  });

  describe('thick mode (--mode=thick)', () => {
    const up = { socket: '/s/multus.sock', ready: true };
    const down = { socket: '/s/multus.sock', ready: false, why: 'connection refused' };

    it('wants only the multus-shim config, no kubeconfig, once the daemon answers', () => {
      const { o, env } = setup(['--mode=thick']);
      const { desired, last } = desiredState({ serviceAccount: { error: 'no token' }, selection: found('10-b.conf'), daemon: up }, o, env, undefined);
      expect(desired.errors).toEqual([]);
      expect(desired.files.map((f) => [f.path, f.what])).toEqual([['/c/00-multus.conf', 'Multus config']]);
      expect(JSON.parse(desired.files[0]!.content)).toMatchObject({ type: 'multus-shim', delegates: [bridge] });
      expect(last?.fileName).toBe('00-multus.conf');
    });

    it('writes nothing while the daemon does not answer, and says what it waits for', () => {
      const { o, env } = setup(['--mode=thick']);
      const { desired, last } = desiredState({ serviceAccount: sa, selection: found('10-b.conf'), daemon: down }, o, env, undefined);
      expect(desired.files).toEqual([]);
      expect(desired.remove).toEqual([]);
      expect(desired.waitingFor).toBe('daemon');
      expect(desired.waiting).toBe('multus-daemon to answer on /s/multus.sock (--daemon-socket-dir): connection refused');
      expect(last).toBeUndefined();
    });

    it('keeps the last config while the daemon is down, even with --cleanup-config-on-exit (the shim waits for it)', () => {
      const { o, env } = setup(['--mode=thick', '--cleanup-config-on-exit']);
      const last = { fileName: '00-multus.conf', content: 'LAST' };
      const { desired } = desiredState({ serviceAccount: sa, selection: found('10-b.conf'), daemon: down }, o, env, last);
      expect(desired.files).toEqual([{ path: '/c/00-multus.conf', content: 'LAST', mode: 0o600, what: 'Multus config' }]);
    });

    it('waits for the master first, as thin does', () => {
      const { o, env } = setup(['--mode=thick']);
      const { desired } = desiredState({ serviceAccount: sa, selection: none, daemon: down }, o, env, undefined);
      expect(desired.waitingFor).toBe('master');
    });
  });
});
