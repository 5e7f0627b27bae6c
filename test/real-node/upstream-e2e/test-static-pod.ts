// Port of upstream Multus' e2e/test-static-pod.sh with e2e/static-pod-nad.yml
// and e2e/simple-static-pod.yml (k8snetworkplumbingwg/multus-cni v4.3.0): a
// static pod (no pod object until the kubelet mirrors it) gets net1.
// Changed for one loopback node: `docker cp` into kind-worker's
// /etc/kubernetes/manifests is a write into the kubelet's staticPodPath
// (the node's etc/kubernetes/manifests), `docker exec ... rm` a delete; the
// mirror pod is `static-web-<our node>`; the pod and the NAD in the case's
// own namespace; the image is the node's pause image (imagePullPolicy:
// Never, no command: it runs until stopped, as `sleep infinity` did); the
// bridge `testnet0` is `mne-testnet0` (the run's links are removed by
// prefix at teardown); the wait first lets the mirror pod appear (the
// kubelet reads the dir every 10 s) and then allows 300 s like the other
// scripts (kubectl's default 30 s is upstream's); `kubectl exec ... ip a
// show dev net1` is `nsenter` into the pod's network namespace.
import fs from 'node:fs';
import path from 'node:path';
import { kubectl } from '../../harness/real-node/deploy.js';
import { LINK_PREFIX } from '../../harness/real-node/host.js';
import { createFrom, deleteFrom, image, mustHaveDev, WORKER, type CaseCtx, type UpstreamCase } from './common.js';

const nad = (): string => `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: bridge-nad
spec: 
  config: '{
    "cniVersion": "0.3.1",
    "name": "testnet",
    "type": "bridge",
    "bridge": "${LINK_PREFIX}testnet0",
    "ipam": {
        "type": "host-local",
        "subnet": "10.10.0.0/16"
    }
}'
`;

const staticPodManifest = (ns: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: ${ns}
  annotations:
    k8s.v1.cni.cncf.io/networks: "bridge-nad"
spec: 
  containers: 
    - name: web 
${image(6)}
`;

async function mirrorPodExists(ctx: CaseCtx, name: string): Promise<boolean> {
  return (await kubectl(ctx.node, ['-n', ctx.ns, 'get', 'pod', name, '-o', 'name']).catch(() => '')) !== '';
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} after 120 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export const staticPod: UpstreamCase = {
  script: 'test-static-pod.sh',
  async run(ctx: CaseCtx): Promise<void> {
    const mirror = `static-web-${WORKER}`;
    const file = path.join(ctx.node.dirs.staticPodDir, `static-web-${ctx.ns}.yaml`);
    // "Creating network attachment definition"
    await createFrom(ctx, nad());
    try {
      // "Creating static pod config file"
      fs.writeFileSync(file, staticPodManifest(ctx.ns));
      // "Waiting for static pod to start"
      await waitFor(`no mirror pod ${ctx.ns}/${mirror}`, () => mirrorPodExists(ctx, mirror));
      await kubectl(ctx.node, ['wait', '--for=condition=Ready', `--namespace=${ctx.ns}`, `pod/${mirror}`, '--timeout=300s']).catch(async (err: unknown) => {
        const events = await kubectl(ctx.node, ['-n', ctx.ns, 'get', 'events', '--field-selector=type=Warning', '-o', 'custom-columns=REASON:.reason,MSG:.message', '--no-headers']).catch(() => '');
        throw new Error(`static pod ${mirror} not Ready within 300 s: ${(err as Error).message.slice(0, 200)}; warnings: ${events.split('\n').filter(Boolean).slice(-2).join(' | ').slice(0, 600)}`);
      });
      // "Checking the pod annotation for net1 interface"
      await mustHaveDev(ctx, mirror, 'net1');
    } finally {
      // "Deleting static pod"
      fs.rmSync(file, { force: true });
    }
    await waitFor(`mirror pod ${ctx.ns}/${mirror} still there`, async () => !(await mirrorPodExists(ctx, mirror)));
    // "Deleting network attachment definition"
    await deleteFrom(ctx, nad());
  },
};
