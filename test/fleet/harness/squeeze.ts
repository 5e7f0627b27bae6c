// The squeeze: an API server shedding load, made on purpose. The multus
// service account is sent (by a FlowSchema ahead of fleet-multus) into a
// priority level of one share, one queue of length 1, nothing borrowed, and
// that level is kept full for a while by a load of the suite's own: a user
// `fleet-load` (the admin impersonating it, so priority and fairness files it
// under that user, and the audit log, which sees the admin, leaves it out)
// creating ConfigMaps in dry-run, each held for HOLD_MS by a validating
// webhook served here on 127.0.0.1. A request that holds a seat costs the
// machine nothing while it waits, so a few loops fill the level on 2 cores.
// While the load runs, a request of the multus service account finds every
// seat taken and the queue full most of the time: 429.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { ClusterInfo } from '../../harness/cluster.js';
import { freePort } from '../../harness/cluster.js';
import { signedCert } from '../../harness/pki.js';
import { FLOW_SCHEMA, type Kubectl } from './fleet.js';

const LOAD_USER = 'fleet-load';
export const HOLD_MS = 500;
const LOOPS = 8;
const BACKOFF_MS = 100;

/** The priority level, the FlowSchemas into it (the multus service account, the load), and the load's RBAC. */
function squeezeObjects(): string {
  const multus = FLOW_SCHEMA.replace('name: fleet-multus', 'name: fleet-multus-squeeze').replace('matchingPrecedence: 800', 'matchingPrecedence: 700').replace('name: workload-high', 'name: fleet-squeeze');
  return `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: fleet-squeeze
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse:
      type: Queue
      queuing:
        queues: 1
        handSize: 1
        queueLengthLimit: 1
---
${multus}---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: fleet-load-squeeze
spec:
  matchingPrecedence: 701
  priorityLevelConfiguration:
    name: fleet-squeeze
  distinguisherMethod:
    type: ByUser
  rules:
  - subjects:
    - kind: User
      user:
        name: ${LOAD_USER}
    resourceRules:
    - verbs: ["*"]
      apiGroups: ["*"]
      resources: ["*"]
      clusterScope: true
      namespaces: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: fleet-load
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: fleet-load
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: fleet-load
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: ${LOAD_USER}
`;
}

function webhookConfig(port: number, caPem: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: fleet-load-hold
webhooks:
- name: hold.fleet-load.multus-entrypoint.test
  clientConfig:
    url: https://127.0.0.1:${port}/hold
    caBundle: ${Buffer.from(caPem).toString('base64')}
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  matchConditions:
  - name: only-the-load
    expression: "request.userInfo.username == '${LOAD_USER}'"
  sideEffects: None
  admissionReviewVersions: ["v1"]
  timeoutSeconds: 5
  failurePolicy: Ignore
`;
}

export interface LoadTally {
  held: number;
  rejected: number;
  other: number;
}

export interface Squeeze {
  /** Starts the load loops; resolves once the level has answered the load a 429 (it is full). */
  startLoad(timeoutMs: number): Promise<void>;
  stopLoad(): Promise<LoadTally>;
  /** Removes the webhook, the FlowSchemas, the level and the RBAC; stops the server. */
  remove(): Promise<void>;
}

/** The webhook server and the objects; the caller then waits for fleet-multus-squeeze to be in force. */
export async function setUpSqueeze(info: ClusterInfo, pkiDir: string, dir: string, kubectl: Kubectl): Promise<Squeeze> {
  fs.mkdirSync(dir, { recursive: true });
  const caKey = path.join(pkiDir, 'ca.key');
  const cert = await signedCert(dir, 'fleet-webhook', '/CN=fleet-load-hold', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n', { caCert: info.caFile, caKey });
  const server = https.createServer({ cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let uid = '';
      try {
        uid = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown } }).request?.uid ?? '');
      } catch {
        // answered below without a uid: the API server then ignores it (failurePolicy Ignore)
      }
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
      }, HOLD_MS);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const objects = squeezeObjects() + '---\n' + webhookConfig(port, fs.readFileSync(info.caFile, 'utf8'));
  await kubectl(['apply', '-f', '-'], objects);

  const agent = new https.Agent({ keepAlive: true, maxSockets: LOOPS, ca: fs.readFileSync(info.caFile), cert: fs.readFileSync(info.adminCertFile), key: fs.readFileSync(info.adminKeyFile) });
  const tally: LoadTally = { held: 0, rejected: 0, other: 0 };
  let running = false;
  let loops: Promise<void>[] = [];
  let seenFull: () => void = () => undefined;
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'fleet-load-' } });
  const once = (): Promise<number> =>
    new Promise((resolve) => {
      const req = https.request(
        {
          host: info.host,
          port: info.port,
          method: 'POST',
          path: '/api/v1/namespaces/default/configmaps?dryRun=All',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Impersonate-User': LOAD_USER },
          timeout: 15000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const loop = async (): Promise<void> => {
    while (running) {
      const code = await once();
      if (code === 201) tally.held++;
      else if (code === 429) {
        tally.rejected++;
        seenFull();
        await new Promise((r) => setTimeout(r, BACKOFF_MS));
      } else {
        tally.other++;
        await new Promise((r) => setTimeout(r, BACKOFF_MS));
      }
    }
  };
  return {
    async startLoad(timeoutMs) {
      running = true;
      const full = new Promise<void>((resolve) => { seenFull = resolve; });
      loops = Array.from({ length: LOOPS }, () => loop());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
      const r = await Promise.race([full, timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') throw new Error(`the load did not fill the squeeze level in ${timeoutMs / 1000} s (held ${tally.held}, other answers ${tally.other})`);
    },
    async stopLoad() {
      running = false;
      await Promise.all(loops);
      return { ...tally };
    },
    async remove() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      await kubectl(['delete', '--ignore-not-found', '-f', '-'], objects).catch(() => '');
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
