// The cluster objects the scenarios use, created through the real API with
// the admin identity: the NetworkAttachmentDefinition CRD, the multus
// ServiceAccount with a least-privilege ClusterRole, revocable tokens, pods
// (API objects only: the test plays the kubelet and runtime), NADs and
// DaemonSets.
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { registerSecret } from './secrets.js';
import { eventually } from './wait.js';

export const NAD_GROUP = 'k8s.cni.cncf.io';
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
/** The node name pods are "scheduled" to; no kubelet ever reads it. */
export const NODE_NAME = 'e2e-node';

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

/** Runs a create call, treating "already exists" as success (idempotent setup). */
async function createOrKeep(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

/** The NetworkAttachmentDefinition CRD as upstream Multus ships it (v1 schema). */
export async function ensureNadCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const name = `network-attachment-definitions.${NAD_GROUP}`;
  await createOrKeep(() =>
    api.createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name },
        spec: {
          group: NAD_GROUP,
          scope: 'Namespaced',
          names: { plural: 'network-attachment-definitions', singular: 'network-attachment-definition', kind: 'NetworkAttachmentDefinition', shortNames: ['nad', 'net-attach-def'] },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    apiVersion: { type: 'string' },
                    kind: { type: 'string' },
                    metadata: { type: 'object' },
                    spec: { type: 'object', properties: { config: { type: 'string' } } },
                  },
                },
              },
            },
          ],
        },
      },
    }),
  );
  await eventually('the NetworkAttachmentDefinition CRD to be established', async () => {
    const crd = await api.readCustomResourceDefinition({ name });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  });
}

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  await createOrKeep(() => kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } }));
}

/**
 * The multus ServiceAccount and the least privilege the thin plugin and the
 * entrypoint's uninstall check need: read pods and write their status
 * (network-status annotation), read NADs, emit events, read DaemonSets.
 */
export async function ensureMultusServiceAccount(kc: KubeConfig, namespace: string, name = 'multus'): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await ensureNamespace(kc, namespace);
  await createOrKeep(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
  const role = `${name}-e2e-${namespace}`;
  await createOrKeep(() =>
    rbac.createClusterRole({
      body: {
        metadata: { name: role },
        rules: [
          { apiGroups: [''], resources: ['pods', 'pods/status'], verbs: ['get', 'update'] },
          { apiGroups: [NAD_GROUP], resources: ['network-attachment-definitions'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
          { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
        ],
      },
    }),
  );
  await createOrKeep(() =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    }),
  );
}

export interface BoundToken {
  /** The JWT; registered with the redactor, never print it. */
  readonly token: string;
  readonly secretName: string;
  /** Deletes the bound Secret, which invalidates the token at once. */
  revoke(): Promise<void>;
}

/**
 * A TokenRequest bound to a fresh Secret, as the kubelet gets tokens bound
 * to the pod: deleting the Secret revokes the token (the API server checks
 * the bound object on every request).
 */
export async function requestBoundToken(kc: KubeConfig, namespace: string, serviceAccount: string, secretName: string): Promise<BoundToken> {
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, type: 'Opaque' } });
  const uid = secret.metadata?.uid;
  if (!uid) throw new Error(`secret ${namespace}/${secretName} has no uid`);
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: secretName, uid } } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  registerSecret(token);
  return {
    token,
    secretName,
    revoke: async () => {
      await core.deleteNamespacedSecret({ name: secretName, namespace });
    },
  };
}

export interface PodSpecOptions {
  networks?: string;
  owner?: { kind: string; apiVersion: string; name: string; uid: string };
}

export async function createPod(kc: KubeConfig, namespace: string, name: string, opts: PodSpecOptions = {}): Promise<V1Pod> {
  const annotations: Record<string, string> = {};
  if (opts.networks !== undefined) annotations[NETWORKS_ANNOTATION] = opts.networks;
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name,
        annotations,
        ownerReferences: opts.owner ? [{ ...opts.owner, controller: true }] : undefined,
      },
      spec: {
        nodeName: NODE_NAME,
        // Never pulled or run: there is no kubelet. The runtime is the test.
        containers: [{ name: 'app', image: 'registry.invalid/e2e/pause:1' }],
      },
    },
  });
}

export async function readPod(kc: KubeConfig, namespace: string, name: string): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace, name });
}

export async function deletePod(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  default?: boolean;
}

/** The pod's `network-status` annotation as Multus wrote it (empty if none). */
export async function podNetworkStatus(kc: KubeConfig, namespace: string, name: string): Promise<NetworkStatus[]> {
  const pod = await readPod(kc, namespace, name);
  const raw = pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) throw new Error(`${NETWORK_STATUS_ANNOTATION} of ${namespace}/${name} is not a list: ${raw}`);
  return parsed as NetworkStatus[];
}

/** A NetworkAttachmentDefinition; `config` undefined gives an empty spec. */
export async function createNad(kc: KubeConfig, namespace: string, name: string, config: object | undefined): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: NAD_GROUP,
    version: 'v1',
    namespace,
    plural: 'network-attachment-definitions',
    body: {
      apiVersion: `${NAD_GROUP}/v1`,
      kind: 'NetworkAttachmentDefinition',
      metadata: { name },
      spec: config === undefined ? {} : { config: JSON.stringify(config) },
    },
  });
}

export interface DaemonSetRef {
  kind: 'DaemonSet';
  apiVersion: 'apps/v1';
  name: string;
  uid: string;
}

/** A DaemonSet object; no controller runs, so it only has to exist. */
export async function createDaemonSet(kc: KubeConfig, namespace: string, name: string): Promise<DaemonSetRef> {
  const labels = { app: name };
  const ds = await kc.makeApiClient(AppsV1Api).createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'multus', image: 'registry.invalid/e2e/multus:1' }] } },
      },
    },
  });
  const uid = ds.metadata?.uid;
  if (!uid) throw new Error(`daemonset ${namespace}/${name} has no uid`);
  return { kind: 'DaemonSet', apiVersion: 'apps/v1', name, uid };
}

export async function deleteDaemonSet(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  // Background propagation removes the object at once (no garbage collector
  // runs here to process a foreground deletion's finalizer).
  await apps.deleteNamespacedDaemonSet({ namespace, name, propagationPolicy: 'Background' });
  await eventually(`daemonset ${namespace}/${name} to be gone`, async () => {
    try {
      await apps.readNamespacedDaemonSet({ namespace, name });
      return undefined;
    } catch (err) {
      if (isStatus(err, 404)) return true;
      throw err;
    }
  });
}

/** Status code of GET pod with a bearer token (to confirm a revocation took effect). */
export async function statusWithToken(kc: KubeConfig, token: string, namespace: string, pod: string): Promise<number> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const user = new KubeConfig();
  user.loadFromClusterAndUser(cluster, { name: 'probe', token });
  try {
    await user.makeApiClient(CoreV1Api).readNamespacedPod({ namespace, name: pod });
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** The Node object pods are "scheduled" to, which node-bound tokens are bound to (no kubelet registers it here). */
export async function ensureNode(kc: KubeConfig, name = NODE_NAME): Promise<void> {
  await createOrKeep(() => kc.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } } } }));
}

/**
 * manifests/token-role.yaml in the e2e's multus namespace: create on
 * serviceaccounts/token for the multus ServiceAccount only, a Role.
 */
export async function ensureTokenRole(kc: KubeConfig, namespace: string, name = 'multus'): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const role = `${name}-token`;
  await createOrKeep(() =>
    rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: role }, rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: [name], verbs: ['create'] }] },
    }),
  );
  await createOrKeep(() =>
    rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: role }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'ServiceAccount', name, namespace }] },
    }),
  );
}

/**
 * The installer's own pod, as the DaemonSet controller would create it
 * (an API object only), and a token bound to it the way the kubelet
 * projects one: rejected once the pod object is gone.
 */
export async function installerPodWithToken(kc: KubeConfig, namespace: string, podName: string, serviceAccount = 'multus'): Promise<BoundToken> {
  const core = kc.makeApiClient(CoreV1Api);
  const pod = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: podName, labels: { name: 'multus' } },
      spec: { nodeName: NODE_NAME, serviceAccountName: serviceAccount, containers: [{ name: 'kube-multus', image: 'registry.invalid/e2e/multus:1' }] },
    },
  });
  const uid = pod.metadata?.uid;
  if (!uid) throw new Error(`pod ${namespace}/${podName} has no uid`);
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid } } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest bound to pod ${namespace}/${podName} returned no token`);
  registerSecret(token);
  return { token, secretName: '', revoke: () => deletePod(kc, namespace, podName) };
}
