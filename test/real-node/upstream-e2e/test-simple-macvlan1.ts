// Port of upstream Multus' e2e/test-simple-macvlan1.sh with its template
// e2e/templates/simple-macvlan1.yml.j2 (k8snetworkplumbingwg/multus-cni v4.3.0):
// a macvlan + tuning conflist with static IPAM, addresses from the pods'
// network-selection `ips`.
// Changed for one loopback node: the macvlan master `eth1` (koko's veth into
// each kind worker) is the suite's veth end MACVLAN_MASTER; both pods on the
// one node (nodeSelector `kind-worker`/`kind-worker2` -> ours); the image
// is the node's pause image (imagePullPolicy: Never, no command); the
// case's own namespace; `kubectl exec ... ip` is `nsenter` into the pod's
// network namespace; the address checks, which upstream only prints when
// they differ, fail the case.
import { MACVLAN_MASTER } from '../../harness/real-node/scenarios.js';
import { createFrom, deleteFrom, image, inetOf, mustEqual, mustHaveDev, waitReady, WORKER, type CaseCtx, type UpstreamCase } from './common.js';

const manifest = (cniVersion: string): string => `---
apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan1-config
spec: 
  config: '{
            "cniVersion": "${cniVersion}",
            "plugins": [
                {
                    "type": "macvlan",
                    "capabilities": { "ips": true },
                    "master": "${MACVLAN_MASTER}",
                    "mode": "bridge",
                    "ipam": {
                        "type": "static"
                    }
                }, {
                    "type": "tuning"
                } ]
        }'
---
apiVersion: v1
kind: Pod
metadata:
  name: macvlan1-worker1
  annotations:
    k8s.v1.cni.cncf.io/networks: '[
            { "name": "macvlan1-config",
              "ips": [ "10.1.1.11/24" ] }
    ]'
  labels:
    app: macvlan
spec:
  containers:
  - name: macvlan-worker1
${image(4)}
    securityContext:
      privileged: true
  nodeSelector:
    kubernetes.io/hostname: ${WORKER}
---
apiVersion: v1
kind: Pod
metadata:
  name: macvlan1-worker2
  annotations:
    k8s.v1.cni.cncf.io/networks: '[
            { "name": "macvlan1-config",
              "ips": [ "10.1.1.12/24" ] }
    ]'
  labels:
    app: macvlan
spec:
  containers:
  - name: macvlan-worker2
${image(4)}
    securityContext:
      privileged: true
  nodeSelector:
    kubernetes.io/hostname: ${WORKER}
`;

export const simpleMacvlan1: UpstreamCase = {
  script: 'test-simple-macvlan1.sh',
  async run(ctx: CaseCtx): Promise<void> {
    const yaml = manifest(ctx.cniVersion);
    await createFrom(ctx, yaml);
    await waitReady(ctx, 'app=macvlan', 2);
    // "check macvlan1-worker1 interface: net1" and its address
    await mustHaveDev(ctx, 'macvlan1-worker1', 'net1');
    mustEqual('macvlan1-worker1 IP address', await inetOf(ctx, 'macvlan1-worker1', 'net1'), '10.1.1.11');
    // "check macvlan1-worker2 interface: net1" and its address
    await mustHaveDev(ctx, 'macvlan1-worker2', 'net1');
    mustEqual('macvlan1-worker2 IP address', await inetOf(ctx, 'macvlan1-worker2', 'net1'), '10.1.1.12');
    // "cleanup resources"
    await deleteFrom(ctx, yaml);
  },
};
