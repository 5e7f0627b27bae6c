// Port of upstream Multus' e2e/test-connection-limit.sh with its template
// e2e/templates/many-pods.yml.j2 (k8snetworkplumbingwg/multus-cni v4.3.0):
// six pods set up at once, each a Multus call to the API server.
// Changed for one loopback node: the image is the node's pause image
// (imagePullPolicy: Never, no command); the case's own namespace; the wait
// starts once the Deployment's six pods exist (upstream's `kubectl wait -l`
// right after `create` fails when none exists yet).
import { createFrom, deleteFrom, image, waitReady, type CaseCtx, type UpstreamCase } from './common.js';

const manifest = (): string => `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: simple-centos1
  labels:
    app: many
spec:
  replicas: 6
  selector:
    matchLabels:
      app: many
  template:
    metadata:
      labels:
        app: many
    spec:
      containers:
      - name: simple-centos1
${image(8)}
        securityContext:
          privileged: true
`;

export const connectionLimit: UpstreamCase = {
  script: 'test-connection-limit.sh',
  async run(ctx: CaseCtx): Promise<void> {
    const yaml = manifest();
    await createFrom(ctx, yaml);
    await waitReady(ctx, 'app=many', 6);
    // "cleanup resources"
    await deleteFrom(ctx, yaml);
  },
};
