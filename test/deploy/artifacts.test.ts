// The shipped image and manifests against the program: the DaemonSet's args
// are flags the program accepts, its mounts are where those flags point, the
// probes are on --health-port, and the Dockerfile puts the multus binary and
// the program where the defaults and the ENTRYPOINT expect them. No Docker
// engine or cluster here: the files are parsed (the e2e suite applies the
// manifests to a real API server).
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { parseCommandLine } from '../../src/cli/command-line.js';
import { parseWellFormed, type Options } from '../../src/core/options.js';
import { dockerfileArg } from '../harness/components.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MANIFESTS = path.join(ROOT, 'manifests');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The options of a command line the manifests ship, as commander (the parser
 * of record) reads it; the start-up fast path must take it too, and agree,
 * or every pod would load commander at start (issue 13).
 */
function options(argv: readonly string[]): Options {
  const parsed = parseCommandLine(argv, {});
  if (parsed.kind !== 'run') throw new Error(`expected a run for ${argv.join(' ')}`);
  expect({ argv, fastPath: parseWellFormed(argv, {}) }).toEqual({ argv, fastPath: parsed });
  return parsed.options;
}

const DEFAULTS = options([]);

// ---------------------------------------------------------------------------
// manifests

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function parseFile(file: string): Obj[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  return docs
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj | null;
    })
    .filter((d): d is Obj => d !== null);
}

/** Every object the base kustomization lists, by kind. */
function objects(): Obj[] {
  return fs
    .readdirSync(MANIFESTS)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .flatMap((f) => parseFile(path.join(MANIFESTS, f)));
}

function one(kind: string): Obj {
  const found = objects().filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in manifests/, found ${found.length}`);
  return found[0]!;
}

const kustomization = (): Obj => parseFile(path.join(MANIFESTS, 'kustomization.yaml'))[0]!;
const daemonSet = (): Obj => one('DaemonSet');
const container = (): Obj => {
  const cs = daemonSet().spec.template.spec.containers as Obj[];
  expect(cs).toHaveLength(1);
  return cs[0]!;
};
const dsArgs = (): string[] => container().args as string[];

/** The host path a container path is on, through the DaemonSet's hostPath mounts. */
function hostPathOf(containerPath: string): string | undefined {
  const spec = daemonSet().spec.template.spec;
  const volumes = new Map<string, Obj>((spec.volumes as Obj[]).map((v) => [v.name as string, v]));
  let best: { mount: string; host: string } | undefined;
  for (const m of container().volumeMounts as Obj[]) {
    const host = volumes.get(m.name)?.hostPath?.path as string | undefined;
    if (!host) continue;
    const mount = (m.mountPath as string).replace(/\/+$/, '');
    if ((containerPath === mount || containerPath.startsWith(`${mount}/`)) && (!best || mount.length > best.mount.length)) best = { mount, host };
  }
  return best ? path.posix.join(best.host, containerPath.slice(best.mount.length)) : undefined;
}

describe('manifests', () => {
  it('every YAML file parses, and every document is a Kubernetes object', () => {
    const files = yamlFiles(MANIFESTS);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      for (const doc of parseFile(file)) {
        expect(typeof doc.apiVersion).toBe('string');
        expect(typeof doc.kind).toBe('string');
      }
    }
  });

  it('the kustomization lists every manifest of the directory, and nothing else', () => {
    const listed = [...(kustomization().resources as string[])].sort();
    const present = fs.readdirSync(MANIFESTS).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
    expect(listed).toEqual(present);
  });

  it('the kustomization sets the image the DaemonSet uses', () => {
    const image = container().image as string;
    const names = (kustomization().images as Obj[]).map((i) => i.name as string);
    expect(names).toContain(image.replace(/[:@].*$/, ''));
  });

  it('the objects form the install: the CRD, the service account bound to the ClusterRole, the ConfigMap, the DaemonSet', () => {
    const kinds = objects().map((o) => o.kind as string).sort();
    expect(kinds).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'DaemonSet', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount']);
    const sa = one('ServiceAccount');
    const binding = one('ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one('ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    expect(daemonSet().spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    expect(daemonSet().metadata.namespace).toBe(sa.metadata.namespace);
    expect(one('ConfigMap').metadata.namespace).toBe(sa.metadata.namespace);
  });

  it.each<[string, string, Obj[]]>([
    ['multus-token', 'create tokens of itself only', [{ apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['multus'], verbs: ['create'] }]],
    // Not in the ClusterRole: upstream's file replaces that one (docs/install.md, "Back to upstream").
    ['multus-uninstall-check', 'read the DaemonSets of its namespace (its owner)', [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] }]],
  ])('the Role %s lets the service account %s, in its namespace, and is bound to it', (name, _what, rules) => {
    const sa = one('ServiceAccount');
    const role = objects().find((o) => o.kind === 'Role' && o.metadata.name === name)!;
    expect(role.metadata.namespace).toBe(sa.metadata.namespace);
    expect(role.rules).toEqual(rules);
    const binding = objects().find((o) => o.kind === 'RoleBinding' && o.metadata.name === name)!;
    expect(binding.metadata.namespace).toBe(sa.metadata.namespace);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('the CRD is NetworkAttachmentDefinition v1 with its structural schema', () => {
    const crd = one('CustomResourceDefinition');
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe('network-attachment-definitions.k8s.cni.cncf.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe('NetworkAttachmentDefinition');
    // Upstream's names since v4.3.0 (deployments/*.yml added the short name
    // `nad`): applying ours over an upstream install must not take it away.
    expect(crd.spec.names).toEqual({
      plural: 'network-attachment-definitions',
      singular: 'network-attachment-definition',
      kind: 'NetworkAttachmentDefinition',
      shortNames: ['nad', 'net-attach-def'],
    });
    const [v1] = crd.spec.versions as Obj[];
    expect(v1).toMatchObject({ name: 'v1', served: true, storage: true });
    expect(v1!.schema.openAPIV3Schema.properties.spec.properties.config.type).toBe('string');
  });

  it('the ClusterRole grants what Multus and the uninstall check use, and no wildcard or secret; nodes only get', () => {
    const rules = one('ClusterRole').rules as Obj[];
    const text = JSON.stringify(rules);
    expect(text).not.toContain('*');
    expect(text).not.toMatch(/secrets|serviceaccounts/);
    const grants = new Set<string>();
    for (const r of rules) {
      for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) for (const v of r.verbs as string[]) grants.add(`${g}/${res}:${v}`);
    }
    expect([...grants].sort()).toEqual(
      [
        '/pods:get',
        '/pods:update',
        '/pods/status:get',
        '/pods/status:update',
        'k8s.cni.cncf.io/network-attachment-definitions:get',
        'k8s.cni.cncf.io/network-attachment-definitions:list',
        'k8s.cni.cncf.io/network-attachment-definitions:watch',
        '/events:create',
        '/events:patch',
        '/events:update',
        'events.k8s.io/events:create',
        'events.k8s.io/events:patch',
        'events.k8s.io/events:update',
        '/nodes:get',
      ].sort(),
    );
  });

  it('the ConfigMap holds images/70-multus.conf, a valid Multus config', () => {
    const fromMap = JSON.parse(one('ConfigMap').data['cni-conf.json'] as string) as Obj;
    const fromImage = JSON.parse(fs.readFileSync(path.join(ROOT, 'images/70-multus.conf'), 'utf8')) as Obj;
    expect(fromMap).toEqual(fromImage);
    expect(fromImage.type).toBe('multus');
    expect(typeof fromImage.cniVersion).toBe('string');
    expect(fromImage.kubeconfig).toBe(DEFAULTS.multusKubeconfigFileHost);
    expect(Array.isArray(fromImage.delegates) && fromImage.delegates.length).toBe(1);
  });
});

describe('the DaemonSet', () => {
  it('passes args the program accepts', () => {
    expect(container().command).toBeUndefined();
    const o = options(dsArgs());
    expect(o.multusConfFile).toBe('auto');
    expect(o.cleanupConfigOnExit).toBe(true);
    expect(o.healthPort).toBeGreaterThan(0);
    expect(o.restartCrio).toBe(false);
  });

  it('can be switched to the ConfigMap config with a flag the program accepts', () => {
    const mount = (container().volumeMounts as Obj[]).find((m) => m.name === 'multus-cfg');
    const volume = (daemonSet().spec.template.spec.volumes as Obj[]).find((v) => v.name === 'multus-cfg');
    expect(volume?.configMap?.name).toBe(one('ConfigMap').metadata.name);
    const file = path.posix.join(mount!.mountPath as string, volume!.configMap.items[0].path as string);
    const args = dsArgs().map((a) => (a.startsWith('--multus-conf-file') ? `--multus-conf-file=${file}` : a));
    expect(options(args).multusConfFile).toBe(file);
  });

  it('probes /readyz and /healthz on --health-port', () => {
    const port = options(dsArgs()).healthPort;
    const c = container();
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port });
    for (const p of (c.ports ?? []) as Obj[]) expect(p.containerPort).toBe(port);
  });

  it('asks /readyz every second until the node is first ready (a rollout moves on as soon), for 30 minutes at most', () => {
    const c = container();
    expect(c.startupProbe).toEqual({ httpGet: { path: '/readyz', port: options(dsArgs()).healthPort }, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 1800 });
    // The readiness probe starts with the startup probe's success: no delay of its own.
    expect(c.readinessProbe.initialDelaySeconds).toBeUndefined();
  });

  it('requests the budget of the contract (100m / 50Mi), lets a start burst to 500m CPU, and caps memory at the request', () => {
    const { requests, limits } = container().resources as Obj;
    expect(requests).toEqual({ cpu: '100m', memory: '50Mi' });
    expect(limits).toEqual({ cpu: '500m', memory: '50Mi' });
  });

  it('is system-node-critical, which keeps a Burstable pod from eviction and gives it a Guaranteed OOM score', () => {
    expect(daemonSet().spec.template.spec.priorityClassName).toBe('system-node-critical');
  });

  it('gives the uninstall check POD_NAME and POD_NAMESPACE from the downward API', () => {
    const env = new Map<string, Obj>((container().env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
  });

  it('gives the node-bound token NODE_NAME from the downward API, and keeps it on', () => {
    const env = new Map<string, Obj>((container().env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(options(dsArgs()).kubeconfigTokenExpirationSeconds).toBeGreaterThan(0);
  });

  it('mounts the host dirs the flags point at', () => {
    const o = options(dsArgs());
    expect(hostPathOf(o.cniConfDir)).toBe('/etc/cni/net.d');
    expect(hostPathOf(o.multusAutoconfigDir)).toBe('/etc/cni/net.d');
    expect(hostPathOf(o.cniBinDir)).toBe('/opt/cni/bin');
    expect(hostPathOf(o.multusCniConfDir)).toBe('/etc/cni/multus/net.d');
    // The kubeconfig path written into the config is where the host sees the
    // file the program writes under --cni-conf-dir.
    expect(hostPathOf(path.posix.join(o.cniConfDir, 'multus.d/multus.kubeconfig'))).toBe(o.multusKubeconfigFileHost);
  });

  it('runs on every node, on the host network, unprivileged, with time for the cleanup on SIGTERM', () => {
    const spec = daemonSet().spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.tolerations).toEqual(
      expect.arrayContaining([
        { operator: 'Exists', effect: 'NoSchedule' },
        { operator: 'Exists', effect: 'NoExecute' },
      ]),
    );
    expect(container().securityContext.privileged).toBe(false);
    // Least privilege (issue 14; the real-node suite checks it in the running container).
    expect(container().securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container().securityContext.capabilities.add).toBeUndefined();
    // The uninstall check keeps asking an API server that does not answer for
    // the grace period less 5 s: 30 s gives it 25 s (the fixed 10 s of before fit in 15).
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    // Upstream's selector (immutable): applying over an upstream install updates it in place.
    expect(daemonSet().spec.selector.matchLabels).toEqual({ name: 'multus' });
    expect(daemonSet().spec.template.metadata.labels).toMatchObject({ name: 'multus' });
  });

  it('rolls one node at a time without a surge pod', () => {
    expect(daemonSet().spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  });

  it('the restart-crio component adds --restart-crio, privilege and the host systemd sockets', () => {
    const component = parseFile(path.join(MANIFESTS, 'restart-crio/kustomization.yaml'))[0]!;
    expect(component.kind).toBe('Component');
    const patch = parse(component.patches[0].patch as string) as Obj[];
    const added = patch.filter((p) => p.path === '/spec/template/spec/containers/0/args/-').map((p) => p.value as string);
    expect(options([...dsArgs(), ...added]).restartCrio).toBe(true);
    expect(patch.find((p) => p.path.endsWith('/securityContext'))?.value).toEqual({ privileged: true });
    const image = patch.find((p) => p.path.endsWith('/image'))?.value as string;
    expect((kustomization().images as Obj[]).map((i) => i.name)).toContain(image);
  });
});

describe('metrics and the startup taint', () => {
  it('annotates the pod for scraping /metrics on --health-port and names that port', () => {
    const port = options(dsArgs()).healthPort;
    expect(daemonSet().spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
    expect(container().ports).toEqual([{ name: 'http-metrics', containerPort: port, protocol: 'TCP' }]);
  });

  it('gives Events the pod uid and the taint the node name from the downward API', () => {
    const env = new Map<string, Obj>((container().env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('POD_UID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.uid');
    expect(env.get('NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
  });

  const component = (): Obj => parseFile(path.join(MANIFESTS, 'node-ready-taint/kustomization.yaml'))[0]!;
  const componentObjects = (): Obj[] => (component().resources as string[]).flatMap((f) => parseFile(path.join(MANIFESTS, 'node-ready-taint', f)));

  it('the node-ready-taint component adds the flag, with the key its policy allows', () => {
    expect(component().kind).toBe('Component');
    const patch = parse(component().patches[0].patch as string) as Obj[];
    const added = patch.filter((p) => p.path === '/spec/template/spec/containers/0/args/-').map((p) => p.value as string);
    const key = options([...dsArgs(), ...added]).nodeReadyTaint;
    expect(key).toBe('k8s.cni.cncf.io/multus-not-ready');
    const policy = componentObjects().find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    expect((policy.spec.variables as Obj[]).find((v) => v.name === 'key')?.expression).toBe(`'${key}'`);
    // Off in the base: nodes that do not register with the taint need nothing.
    expect(options(dsArgs()).nodeReadyTaint).toBe('');
  });

  it('the component grants get and patch on nodes to the service account, and binds the policy that narrows it', () => {
    const objs = componentObjects();
    const sa = one('ServiceAccount');
    const role = objs.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] }]);
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    const policy = objs.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    expect(policy.spec.matchConditions[0].expression).toBe(`request.userInfo.username == 'system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}'`);
    const vapBinding = objs.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding')!;
    expect(vapBinding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
  });
});

describe('the repair-pods component', () => {
  const component = (): Obj => parseFile(path.join(MANIFESTS, 'repair-pods/kustomization.yaml'))[0]!;
  const componentObjects = (): Obj[] => (component().resources as string[]).flatMap((f) => parseFile(path.join(MANIFESTS, 'repair-pods', f)));

  it('adds --repair-pods, off in the base; the DaemonSet gives it NODE_NAME', () => {
    expect(component().kind).toBe('Component');
    const patch = parse(component().patches[0].patch as string) as Obj[];
    const added = patch.filter((p) => p.path === '/spec/template/spec/containers/0/args/-').map((p) => p.value as string);
    expect(options([...dsArgs(), ...added]).repairPods).toBe(true);
    expect(options(dsArgs()).repairPods).toBe(false);
    const env = new Map<string, Obj>((container().env as Obj[]).map((e) => [e.name as string, e]));
    expect(env.get('NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
  });

  it('grants the service account what the repair calls: get and list pods, create evictions and events', () => {
    const objs = componentObjects();
    const sa = one('ServiceAccount');
    const role = objs.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    ]);
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('binds a policy on the service account\'s evictions: a token of its pod on a node, the pod named by uid, its grace period kept', () => {
    const objs = componentObjects();
    const sa = one('ServiceAccount');
    const policy = objs.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['pods/eviction'] }]);
    expect(policy.spec.matchConditions[0].expression).toBe(`request.userInfo.username == 'system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}'`);
    const variables = new Map<string, string>((policy.spec.variables as Obj[]).map((v) => [v.name as string, v.expression as string]));
    expect(variables.get('tokenNode')).toContain("request.userInfo.extra['authentication.kubernetes.io/node-name']");
    expect(variables.get('tokenPod')).toContain("request.userInfo.extra['authentication.kubernetes.io/pod-name']");
    const rules = (policy.spec.validations as Obj[]).map((v) => v.expression as string);
    expect(rules[0]).toBe("variables.tokenNode != '' && variables.tokenPod != ''");
    expect(rules[1]).toMatch(/object\.deleteOptions\.preconditions\.uid != ''/);
    expect(rules[2]).toMatch(/!has\(object\.deleteOptions\.gracePeriodSeconds\)/);
    expect(policy.spec.failurePolicy).toBe('Fail');
    const vapBinding = objs.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding')!;
    expect(vapBinding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
  });

  it('the chart renders the component\'s objects from repairPods (off by default)', () => {
    const CHART = path.join(ROOT, 'charts/multus-entrypoint');
    const v = parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Obj;
    expect(v.repairPods).toEqual({ enabled: false, policy: true });
    const template = fs.readFileSync(path.join(CHART, 'templates/repair-pods.yaml'), 'utf8');
    // The rules and the policy's expressions, verbatim (the e2e suite renders and compares whole objects).
    const role = componentObjects().find((o) => o.kind === 'ClusterRole')!;
    for (const rule of role.rules as Obj[]) expect(template).toContain(`resources: ${JSON.stringify(rule.resources).replace(/,/g, ', ')}`);
    const policy = componentObjects().find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    for (const check of policy.spec.validations as Obj[]) expect(template.replace(/\s+/g, ' ')).toContain((check.expression as string).replace(/\s+/g, ' '));
    expect(fs.readFileSync(path.join(CHART, 'templates/daemonset.yaml'), 'utf8')).toMatch(/if \.Values\.repairPods\.enabled }}\n\s+- "--repair-pods=true"/);
  });
});

// The thick component: upstream's multus-daemon beside the program
// (--mode=thick), applied here to the base DaemonSet as kustomize would.
describe('the thick component', () => {
  const DIR = path.join(MANIFESTS, 'thick');
  const component = (): Obj => parseFile(path.join(DIR, 'kustomization.yaml'))[0]!;
  const componentObjects = (): Obj[] => (component().resources as string[]).flatMap((f) => parseFile(path.join(DIR, f)));
  /** The base DaemonSet's pod spec with the component's JSON patch applied (add ops only, as it uses). */
  const podSpec = (): Obj => {
    const ds = structuredClone(daemonSet());
    for (const op of parse(component().patches[0].patch as string) as Obj[]) {
      expect(op.op).toBe('add');
      const keys = (op.path as string).split('/').slice(1);
      const last = keys.pop()!;
      const parent = keys.reduce((o: Obj, k) => o[k] as Obj, ds);
      if (last === '-') (parent as unknown as unknown[]).push(op.value);
      else parent[last] = op.value;
    }
    return ds.spec.template.spec as Obj;
  };
  const ours = (): Obj => (podSpec().containers as Obj[])[0]!;
  const daemon = (): Obj => (podSpec().containers as Obj[]).find((c) => c.name === 'multus-daemon')!;
  const daemonConfig = (): Obj => JSON.parse(componentObjects().find((o) => o.kind === 'ConfigMap')!.data['daemon-config.json'] as string) as Obj;
  /** Where a container sees a path: the host path (hostPath), `emptyDir`, or `configMap:<name>`. */
  const backing = (c: Obj, containerPath: string): string | undefined => {
    const volumes = new Map<string, Obj>((podSpec().volumes as Obj[]).map((v) => [v.name as string, v]));
    let best: { mount: string; m: Obj } | undefined;
    for (const m of c.volumeMounts as Obj[]) {
      const mount = (m.mountPath as string).replace(/\/+$/, '');
      if ((containerPath === mount || containerPath.startsWith(`${mount}/`)) && (!best || mount.length > best.mount.length)) best = { mount, m };
    }
    if (!best) return undefined;
    const v = volumes.get(best.m.name as string)!;
    if (v.emptyDir) return 'emptyDir';
    if (v.configMap) return `configMap:${v.configMap.name as string}`;
    return path.posix.join(v.hostPath.path as string, containerPath.replace(/\/+$/, '').slice(best.mount.length));
  };

  it('is a Component that keeps the program as containers/0 and adds --mode=thick, a flag it accepts', () => {
    expect(component().kind).toBe('Component');
    expect(ours().name).toBe('kube-multus');
    const o = options(ours().args as string[]);
    expect(o.mode).toBe('thick');
    expect(o.cleanupConfigOnExit).toBe(true);
    expect(options(dsArgs()).mode).toBe('thin');
  });

  it('runs upstream\'s thick image of the release the Dockerfile pins, as multus-daemon', () => {
    expect(daemon().image).toBe(`ghcr.io/k8snetworkplumbingwg/multus-cni:${multusVersion()}-thick`);
    expect(daemon().command).toEqual(['/usr/src/multus-cni/bin/multus-daemon']);
    expect(daemon().env).toContainEqual({ name: 'MULTUS_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  });

  it('the program asks the socket the daemon listens on, and the shim gets that dir as the host sees it', () => {
    const o = options(ours().args as string[]);
    const cfg = daemonConfig();
    const daemonSide = backing(daemon(), cfg.socketDir as string);
    expect(daemonSide).toBe(path.posix.join(o.daemonSocketDirHost));
    expect(backing(ours(), o.daemonSocketDir)).toBe(daemonSide);
    // Read-only is enough to connect to a socket; not /run/multus itself, which the daemon recreates at start.
    const mount = (ours().volumeMounts as Obj[]).find((m) => o.daemonSocketDir.startsWith(`${m.mountPath as string}/`) && m.name === 'host-run')!;
    expect(mount.readOnly).toBe(true);
    expect(backing(ours(), mount.mountPath as string)).toBe('/run');
  });

  it('the daemon writes its own 00-multus.conf on a pod-local emptyDir, reads the master where the program does, runs delegates from the host\'s bin dir', () => {
    const o = options(ours().args as string[]);
    const cfg = daemonConfig();
    expect(cfg.multusConfigFile).toBe('auto');
    expect(backing(daemon(), cfg.cniConfigDir as string)).toBe('emptyDir');
    expect(backing(daemon(), cfg.multusAutoconfigDir as string)).toBe(hostPathOf(o.multusAutoconfigDir));
    expect((daemon().volumeMounts as Obj[]).find((m) => m.mountPath === cfg.multusAutoconfigDir)?.readOnly).toBe(true);
    expect(backing(daemon(), hostPathOf(o.cniBinDir)!)).toBe(hostPathOf(o.cniBinDir));
    expect(backing(daemon(), '/etc/cni/net.d/multus.d/daemon-config.json')).toBe('configMap:multus-daemon-config');
    expect(backing(daemon(), cfg.chrootDir as string)).toBe('/');
    // The daemon names the host paths it needs by the host's names (kubelet's pods, netns, Multus' caches).
    for (const p of ['/var/lib/kubelet', '/run/netns', '/var/lib/cni/multus', '/run/k8s.cni.cncf.io', '/etc/cni/multus/net.d']) expect(backing(daemon(), p)).toBe(p);
  });

  it('every mount names a volume of the pod, and no volume is added twice', () => {
    const names = (podSpec().volumes as Obj[]).map((v) => v.name as string);
    expect(new Set(names).size).toBe(names.length);
    for (const c of podSpec().containers as Obj[]) for (const m of c.volumeMounts as Obj[]) expect(names).toContain(m.name);
  });

  it('hardened as far as the daemon allows: privileged (it runs the delegates), read-only root; the program stays unprivileged', () => {
    expect(daemon().securityContext).toEqual({ privileged: true, readOnlyRootFilesystem: true });
    expect(ours().securityContext).toEqual(container().securityContext);
    expect(daemon().resources).toEqual({ requests: { cpu: '100m', memory: '50Mi' }, limits: { cpu: '100m', memory: '50Mi' } });
    expect(podSpec().hostPID).toBe(true);
  });

  it('grants the daemon\'s informer list and watch on pods, bound to the service account', () => {
    const sa = one('ServiceAccount');
    const role = componentObjects().find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }]);
    const binding = componentObjects().find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('the chart renders the same from thick.enabled (off by default): image, daemon config, flag', () => {
    const CHART = path.join(ROOT, 'charts/multus-entrypoint');
    const v = parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Obj;
    expect(v.thick.enabled).toBe(false);
    expect(`${v.thick.image.repository as string}:${v.thick.image.tag as string}`).toBe(daemon().image);
    expect(v.thick.resources).toEqual(daemon().resources);
    expect(JSON.parse(fs.readFileSync(path.join(CHART, 'files/daemon-config.json'), 'utf8'))).toEqual(daemonConfig());
    expect(fs.readFileSync(path.join(CHART, 'templates/daemonset.yaml'), 'utf8')).toMatch(/if \.Values\.thick\.enabled }}\n\s+- "--mode=thick"/);
  });
});

// The chart's defaults against manifests/ without helm (the e2e suite
// renders the chart and compares every object): the parts copied verbatim.
describe('the Helm chart', () => {
  const CHART = path.join(ROOT, 'charts/multus-entrypoint');
  const values = (): Obj => parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Obj;

  it('defaults to the DaemonSet\'s args, port, image and resources', () => {
    const v = values();
    expect([...(v.args as string[]), `--health-port=${v.healthPort}`]).toEqual(dsArgs());
    const image = (kustomization().images as Obj[]).find((i) => i.name === 'multus-entrypoint')!;
    expect(`${v.image.repository}:${v.image.tag}`).toBe(`${image.newName}:${image.newTag}`);
    expect(v.resources).toEqual(container().resources);
    expect(v.securityContext).toEqual(container().securityContext);
    expect(v.tolerations).toEqual(daemonSet().spec.template.spec.tolerations);
    // The probes' timing, as the template writes it (port aside).
    const template = fs.readFileSync(path.join(CHART, 'templates/daemonset.yaml'), 'utf8');
    const timing = (probe: string, text: string): string => (new RegExp(`${probe}:\\n(?:\\s+.*\\n)*?(\\s+periodSeconds: \\d+\\n(?:\\s+\\w+: \\d+\\n)*)`).exec(text)?.[1] ?? '').replace(/\s+/g, ' ');
    const manifest = fs.readFileSync(path.join(ROOT, 'manifests/daemonset.yaml'), 'utf8');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect([probe, timing(probe, template)]).toEqual([probe, timing(probe, manifest)]);
    expect(v.nodeReadyTaint).toMatchObject({ enabled: false, key: 'k8s.cni.cncf.io/multus-not-ready' });
  });

  it('ships the CRD and the ConfigMap\'s config of manifests/', () => {
    expect(parseFile(path.join(CHART, 'crds/network-attachment-definitions.yaml'))).toEqual([one('CustomResourceDefinition')]);
    expect(fs.readFileSync(path.join(CHART, 'files/cni-conf.json'), 'utf8')).toBe(one('ConfigMap').data['cni-conf.json']);
  });
});

// ---------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

function dockerfileStages(): Stage[] {
  const lines = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of lines) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const m = /^(\w+)\s+(.*)$/.exec(full);
    if (!m) throw new Error(`Dockerfile: cannot parse ${full}`);
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]! });
  }
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      // A FROM sees the global ARGs (those before the first FROM), with their defaults.
      const from = m![1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (ref, braced?: string, bare?: string) => {
        const value = globalArgs(instructions).get((braced ?? bare)!);
        if (value === undefined) throw new Error(`Dockerfile: ${ref} in FROM ${i.args} is not a global ARG with a default`);
        return value;
      });
      stages.push({ from, name: m![2], body: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.body.push(i);
    }
  }
  return stages;
}

/** The ARGs before the first FROM, with their defaults. */
function globalArgs(instructions: readonly Instruction[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of instructions) {
    if (i.op === 'FROM') break;
    const m = /^(\w+)=(\S+)$/.exec(i.args);
    if (i.op === 'ARG' && m) out.set(m[1]!, m[2]!);
  }
  return out;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}
function copies(stage: Stage): Copy[] {
  return stage.body
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

function entrypoint(stage: Stage): string[] {
  const e = stage.body.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  if (!e) throw new Error(`stage ${stage.name ?? stage.from} has no ENTRYPOINT`);
  return JSON.parse(e.args) as string[];
}

/** The copy of the build stage's /app into a runtime stage: directly (crio) or through the code-cache stage, at the same path. */
function appCopy(stage: Stage): Copy {
  const direct = copies(stage).find((c) => c.from === 'build' && c.sources[0] === '/app');
  if (direct) return direct;
  const via = copies(stage).find((c) => c.from === 'code-cache');
  if (!via) throw new Error(`stage ${stage.name ?? stage.from} copies the app neither from build nor from code-cache`);
  const cache = dockerfileStages().find((s) => s.name === 'code-cache')!;
  const inner = copies(cache).find((c) => c.from === 'build' && c.sources[0] === '/app')!;
  expect(via.sources).toEqual([inner.dest]);
  expect(via.dest).toBe(inner.dest);
  return { from: 'build', sources: ['/app'], dest: via.dest };
}

/** The Multus release: the default of the Dockerfile's global `ARG MULTUS_VERSION`. */
function multusVersion(): string {
  const lines = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('ARG MULTUS_VERSION='));
  expect(lines).toHaveLength(1);
  return lines[0]!.slice('ARG MULTUS_VERSION='.length).trim();
}

describe('the Multus release', () => {
  it('is a release at least as new as the one whose STATUS, GC and 1.1.0 behaviour the suites and docs describe', () => {
    const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(multusVersion());
    expect(m).not.toBeNull();
    const [major, minor] = [Number(m![1]), Number(m![2])];
    // 4.3: STATUS and GC for single-plugin delegates, 00-multus.conflist for every cniVersion from 1.0.0 in thin_entrypoint.
    expect(major > 4 || (major === 4 && minor >= 3)).toBe(true);
  });

  it('is pinned on that one line only: the build scripts, the suites and the benchmark read it (a new release is a one-line change)', () => {
    const version = multusVersion();
    // As a value: quoted, a shell default (:-), an assignment, an image tag, a module version, a cache dir.
    // Prose (a comment saying what a release changed) may name it.
    const pinned = new RegExp(`(['"\`]|:-|=|:|@|multus-)v?${version.replace(/^v/, '').replace(/\./g, '\\.')}(?![\\d.])`);
    const listed = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const files = listed.stdout.split('\0').filter((f) => f && f !== 'Dockerfile' && f !== 'package-lock.json' && !f.endsWith('.md'));
    expect(files.length).toBeGreaterThan(100);
    // The thick daemon's image is upstream's of the same release: kept in step by 'the thick component' above.
    const thickTag = `${version}-thick`;
    const naming = files.filter((f) => {
      const file = path.join(ROOT, f);
      return fs.existsSync(file) && fs.statSync(file).isFile() && pinned.test(fs.readFileSync(file, 'utf8').split(thickTag).join(''));
    });
    expect(naming).toEqual([]);
  });

  it('is what the tools and suites use when MULTUS_VERSION is not set', () => {
    const version = multusVersion();
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    // The line each shell script reads it with, run as the script runs it.
    for (const script of ['test/tools/build-components.sh', 'test/tools/build-images.sh']) {
      const text = fs.readFileSync(path.join(ROOT, script), 'utf8');
      const line = text.split('\n').find((l) => l.startsWith('MULTUS_VERSION='));
      expect({ script, line }).toEqual({ script, line: expect.stringContaining('"$ROOT/Dockerfile"') });
      const run = spawnSync('bash', ['-c', `ROOT=${JSON.stringify(ROOT)}; ${line}; printf %s "$MULTUS_VERSION"`], { env, encoding: 'utf8' });
      expect({ script, version: run.stdout }).toEqual({ script, version });
    }
    // The e2e and real-node suites' reader (test/harness/components.ts).
    expect(dockerfileArg('MULTUS_VERSION')).toBe(version);
  });
});

describe('the Dockerfile', () => {
  const stages = dockerfileStages();
  const runtime = stages.at(-1)!;
  const runtimes = stages.filter((s) => s === runtime || s.name === 'crio');

  it('takes multus from the pinned upstream image, of the release its ARG MULTUS_VERSION names, and builds on Node 24', () => {
    expect(stages.find((s) => s.name === 'multus')?.from).toBe(`ghcr.io/k8snetworkplumbingwg/multus-cni:${multusVersion()}`);
    expect(stages.find((s) => s.name === 'build')?.from).toMatch(/^node:24[-.]/);
    expect(runtime.from).toBe('gcr.io/distroless/nodejs24-debian12');
  });

  it.each(['default', 'crio'])('%s image: the multus binary lands where --multus-bin-file points by default', (which) => {
    const stage = which === 'default' ? runtime : stages.find((s) => s.name === 'crio')!;
    const bin = copies(stage).find((c) => c.from === 'multus' && c.dest === DEFAULTS.multusBinFile);
    expect(bin?.sources).toEqual(['/usr/src/multus-cni/bin/multus']);
  });

  it.each(['default', 'crio'])('%s image: multus-shim (thick mode) lands where --multus-shim-bin-file points by default', (which) => {
    const stage = which === 'default' ? runtime : stages.find((s) => s.name === 'crio')!;
    const bin = copies(stage).find((c) => c.from === 'multus' && c.dest === DEFAULTS.multusShimBinFile);
    expect(bin?.sources).toEqual(['/usr/src/multus-cni/bin/multus-shim']);
  });

  it.each(['default', 'crio'])('%s image: the passthru plugin lands where --passthru-bin-file points by default', (which) => {
    const stage = which === 'default' ? runtime : stages.find((s) => s.name === 'crio')!;
    const bin = copies(stage).find((c) => c.from === 'multus' && c.dest === DEFAULTS.passthruBinFile);
    expect(bin?.sources).toEqual(['/usr/src/multus-cni/bin/passthru']);
  });

  it('the ENTRYPOINT runs the package bin with node, and that file is where the build puts it', () => {
    for (const stage of runtimes) {
      const [node, script, ...rest] = entrypoint(stage);
      expect(rest).toEqual([]);
      expect(node).toBe(stage === runtime ? '/nodejs/bin/node' : '/usr/local/bin/node');
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Obj;
      const binRel = pkg.bin['multus-entrypoint'] as string;
      expect(binRel).toBe('bin/multus-entrypoint.js');
      // /app of the build stage is copied to the app dir (for the default
      // image through the code-cache stage, at the same path); the script
      // is bin/ in it.
      const app = appCopy(stage);
      expect(script).toBe(path.posix.join(app.dest, binRel));
    }
  });

  it('the default image gets the code cache made by its own node, on the app at its final path', () => {
    const cache = stages.find((s) => s.name === 'code-cache')!;
    expect(cache.from).toBe(runtime.from);
    const app = copies(cache).find((c) => c.from === 'build' && c.sources[0] === '/app')!;
    const [node, script] = entrypoint(runtime);
    expect(script).toBe(path.posix.join(app.dest, 'bin/multus-entrypoint.js'));
    // Exec form (no shell in distroless): the image's node runs the script
    // the build stage copied in, on the app dir the runtime then copies out.
    const runs = cache.body.filter((i) => i.op === 'RUN').map((i) => JSON.parse(i.args) as string[]);
    expect(runs).toHaveLength(1);
    const [runNode, trainer, appDir] = runs[0]!;
    expect(runNode).toBe(node);
    expect(appDir).toBe(app.dest);
    const trainerCopy = copies(cache).find((c) => c.dest === trainer)!;
    expect(trainerCopy).toMatchObject({ from: 'build', sources: ['/src/scripts/code-cache.cjs'] });
    expect(copies(runtime).find((c) => c.from === 'code-cache')).toEqual({ from: 'code-cache', sources: [app.dest], dest: app.dest });
  });

  it('ships package.json, bin/ and the bundle bin/ loads, and no node_modules', () => {
    const build = stages.find((s) => s.name === 'build')!;
    const runs = build.body.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    const binText = fs.readFileSync(path.join(ROOT, 'bin/multus-entrypoint.js'), 'utf8');
    const loaded = /join\(\s*__dirname\s*,\s*['"]([^'"]+)['"]\s*\)/.exec(binText)?.[1];
    expect(loaded).toBe('../dist/bundle/cli.cjs');
    // bin/ is CommonJS (its own package.json), so no ESM loader starts.
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'bin/package.json'), 'utf8'))).toMatchObject({ type: 'commonjs' });
    // bin/ and dist/bundle/ side by side in /app, so ../dist/bundle resolves.
    expect(runs).toMatch(/cp -R \/src\/bin \.\//);
    expect(runs).toMatch(/cp -R \/src\/dist\/bundle \.\/dist\/bundle/);
    expect(runs).toMatch(/cp \/src\/package\.json \.\//);
    // The build script writes that bundle (scripts/build.mjs), then the code caches.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Obj;
    expect(pkg.scripts.build).toMatch(/&& node scripts\/build\.mjs && node scripts\/code-cache\.cjs$/);
    // Nothing in /app comes from npm: no node_modules, no npm cache.
    const appAt = build.body.findIndex((i) => i.op === 'WORKDIR' && i.args === '/app');
    expect(appAt).toBeGreaterThan(-1);
    expect(build.body.slice(appAt).map((i) => i.args).join('\n')).not.toMatch(/npm|node_modules/);
    expect(runs).toContain('npm run build');
    for (const stage of runtimes) {
      for (const c of copies(stage)) expect(c.sources.join(' ')).not.toContain('node_modules');
    }
  });

  it('every file it copies from the context exists and passes .dockerignore', () => {
    const ignore = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // The ignore file is an allow-list: `*`, then `!path` for each.
    expect(ignore[0]).toBe('*');
    const allowed = ignore.slice(1).map((l) => {
      expect(l.startsWith('!')).toBe(true);
      return l.slice(1).replace(/\/+$/, '');
    });
    const fromContext = stages.flatMap((s) => copies(s).filter((c) => !c.from).flatMap((c) => c.sources));
    expect(fromContext).toEqual(expect.arrayContaining(['images/70-multus.conf', 'bin', 'src', 'package.json', 'package-lock.json']));
    for (const src of fromContext) {
      const rel = src.replace(/^\.\//, '').replace(/\/+$/, '');
      expect(fs.existsSync(path.join(ROOT, rel))).toBe(true);
      expect(allowed.some((a) => rel === a || rel.startsWith(`${a}/`))).toBe(true);
    }
    expect(fs.existsSync(path.join(ROOT, 'bin/multus-entrypoint.js'))).toBe(true);
  });

  it('the app dir the build stage assembles runs on its own, without node_modules', () => {
    // Replays the build stage's RUNs in its app dir (only mkdir and cp from
    // /src, the repository) on the repository's own build, then runs the
    // ENTRYPOINT's script from there with no node_modules anywhere above it.
    const bundle = path.join(ROOT, 'dist/bundle/cli.cjs');
    if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build first (npm test does)`);
    const build = stages.find((s) => s.name === 'build')!;
    const app = appCopy(runtime);
    const appDir = app.sources[0]!;
    const start = build.body.findIndex((i) => i.op === 'WORKDIR' && i.args === appDir);
    expect(start).toBeGreaterThan(-1);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'multus-image-app-'));
    try {
      const dir = path.join(tmp, 'app');
      fs.mkdirSync(dir);
      for (const run of build.body.slice(start + 1).filter((i) => i.op === 'RUN')) {
        for (const command of run.args.split('&&').map((c) => c.trim().split(/\s+/))) {
          const [prog, ...words] = command;
          const operands = words.filter((w) => !w.startsWith('-'));
          if (prog === 'mkdir') {
            for (const d of operands) fs.mkdirSync(path.join(dir, d), { recursive: true });
          } else if (prog === 'cp') {
            const dest = path.join(dir, operands.pop()!);
            for (const src of operands) {
              expect(src.startsWith('/src/')).toBe(true);
              const from = path.join(ROOT, src.slice('/src/'.length));
              const to = fs.existsSync(dest) && fs.statSync(dest).isDirectory() ? path.join(dest, path.basename(from)) : dest;
              fs.cpSync(from, to, { recursive: true });
            }
          } else {
            throw new Error(`this test replays only mkdir and cp in ${appDir}, not: ${command.join(' ')}`);
          }
        }
      }
      expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
      // The code-cache stage's RUN on it; the script fails unless the second
      // of its two starts used the cache the first one wrote.
      const trainer = spawnSync(process.execPath, [path.join(ROOT, 'scripts/code-cache.cjs'), dir], { encoding: 'utf8', timeout: 240_000 });
      expect({ status: trainer.status, said: trainer.stderr.trim() }).toEqual({ status: 0, said: expect.stringMatching(/^code-cache: cli\.cjs\.[0-9a-f]{16}\.v8cache \(\d+ KiB\), vendor\/chokidar\.cjs\.[0-9a-f]{16}\.v8cache /) });
      const [, script] = entrypoint(runtime);
      const local = path.join(dir, path.posix.relative(app.dest, script!));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const help = spawnSync(process.execPath, [local, '--help'], { cwd: tmp, env, encoding: 'utf8', timeout: 20000 });
      expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
      expect(help.stdout).toContain('--health-port');
      // The DaemonSet's args get past the command line (exit 2 would be a
      // usage error): with --dry-run and no service account it is exit 1.
      const run = spawnSync(process.execPath, [local, ...dsArgs(), '--dry-run', `--service-account-dir=${path.join(tmp, 'none')}`, '--master-cni-wait-timeout=0'], {
        cwd: tmp,
        env: { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        encoding: 'utf8',
        timeout: 20000,
      });
      expect({ status: run.status, usage: /unknown option|usage/i.test(run.stderr) }).toEqual({ status: 1, usage: false });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 300_000);

  it('puts images/70-multus.conf where the non-auto example points', () => {
    const conf = copies(runtime).find((c) => c.sources[0] === 'images/70-multus.conf');
    expect(conf?.dest).toBe('/usr/src/multus-cni/images/70-multus.conf');
    expect(options([`--multus-conf-file=${conf!.dest}`]).multusConfFile).toBe(conf!.dest);
  });
});
