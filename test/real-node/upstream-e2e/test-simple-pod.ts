// Port of upstream Multus' e2e/test-simple-pod.sh with its template
// e2e/templates/simple-pod.yml.j2 (k8snetworkplumbingwg/multus-cni v4.3.0).
// Changed for one loopback node: the image is the node's pause image
// (imagePullPolicy: Never, no command: it runs until stopped, as
// `sleep 10000` did); the case's own namespace instead of `default`.
import { createFrom, deleteFrom, image, waitReady, type CaseCtx, type UpstreamCase } from './common.js';

const manifest = (): string => `---
apiVersion: v1
kind: Pod
metadata:
  name: simple-centos1
  annotations:
  labels:
    app: simple
spec:
  containers:
  - name: simple-centos1
${image(4)}
    securityContext:
      privileged: true
`;

export const simplePod: UpstreamCase = {
  script: 'test-simple-pod.sh',
  async run(ctx: CaseCtx): Promise<void> {
    const yaml = manifest();
    await createFrom(ctx, yaml);
    await waitReady(ctx, 'app=simple', 1);
    // "cleanup resources"
    await deleteFrom(ctx, yaml);
  },
};
