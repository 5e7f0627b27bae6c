// Port of upstream Multus' e2e/test-default-route1.sh with its template
// e2e/templates/default-route1.yml.j2 (k8snetworkplumbingwg/multus-cni v4.3.0):
// worker1 asks for its default route on net1 (`default-route`), worker2
// keeps the cluster network's.
// Changed for one loopback node: the macvlan master `eth1` is the suite's
// veth end MACVLAN_MASTER; the image is the node's pause image
// (imagePullPolicy: Never, no command); the case's own namespace;
// `kubectl exec ... ip` is `nsenter` into the pod's network namespace;
// worker2's default gateway is the node's default network's (kind's pod
// network gateway 10.244.1.1 upstream; DEFAULT_GATEWAY here); the address
// and route checks, which upstream only prints when they differ, fail the
// case.
import { DEFAULT_GATEWAY } from '../../harness/real-node/node.js';
import { MACVLAN_MASTER } from '../../harness/real-node/scenarios.js';
import { createFrom, defaultGateways, deleteFrom, image, inetOf, mustEqual, mustHaveDev, waitReady, type CaseCtx, type UpstreamCase } from './common.js';

const manifest = (cniVersion: string): string => `---
apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: default-route-config
spec: 
  config: '{
            "cniVersion": "${cniVersion}",
            "plugins": [
                {
                    "type": "macvlan",
                    "master": "${MACVLAN_MASTER}",
                    "mode": "bridge",
                    "ipam": {
                        "type": "static"
                    }
                } ]
        }'
---
apiVersion: v1
kind: Pod
metadata:
  name: default-route-worker1
  annotations:
    k8s.v1.cni.cncf.io/networks: '[
            { "name": "default-route-config",
              "ips": [ "10.1.1.21/24" ] ,
              "default-route": [ "10.1.1.254" ] }
    ]'
  labels:
    app: default-route1
spec:
  containers:
  - name: default-route-worker1
${image(4)}
    securityContext:
      privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: default-route-worker2
  annotations:
    k8s.v1.cni.cncf.io/networks: '[
            { "name": "default-route-config", 
              "ips": [ "10.1.1.22/24" ] }
    ]'
  labels:
    app: default-route1
spec:
  containers:
  - name: default-route-worker2
${image(4)}
    securityContext:
      privileged: true
`;

export const defaultRoute1: UpstreamCase = {
  script: 'test-default-route1.sh',
  async run(ctx: CaseCtx): Promise<void> {
    const yaml = manifest(ctx.cniVersion);
    await createFrom(ctx, yaml);
    await waitReady(ctx, 'app=default-route1', 2);
    await mustHaveDev(ctx, 'default-route-worker1', 'net1');
    mustEqual('default-route-worker1 IP address', await inetOf(ctx, 'default-route-worker1', 'net1'), '10.1.1.21');
    const w1 = await defaultGateways(ctx, 'default-route-worker1');
    mustEqual('default-route-worker1 default route', w1.gateways, '10.1.1.254', `routes: ${w1.routes}`);
    await mustHaveDev(ctx, 'default-route-worker2', 'net1');
    mustEqual('default-route-worker2 IP address', await inetOf(ctx, 'default-route-worker2', 'net1'), '10.1.1.22');
    const w2 = await defaultGateways(ctx, 'default-route-worker2');
    mustEqual('default-route-worker2 default route', w2.gateways, DEFAULT_GATEWAY, `routes: ${w2.routes}`);
    // "cleanup resources"
    await deleteFrom(ctx, yaml);
  },
};
