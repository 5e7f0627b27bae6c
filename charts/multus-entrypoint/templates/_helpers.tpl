{{/* Helm's labels, added to every object's metadata (not to the selector or the pod template). */}}
{{- define "multus-entrypoint.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The service account's user name, as the API server authenticates its tokens. */}}
{{- define "multus-entrypoint.user" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ .Values.serviceAccount.name }}
{{- end -}}

{{/* Thick mode: the multus-daemon container, as in manifests/thick/kustomization.yaml (its comments say why each part is there). */}}
{{- define "multus-entrypoint.thickDaemon" -}}
- name: multus-daemon
  image: "{{ .Values.thick.image.repository }}:{{ .Values.thick.image.tag }}"
  imagePullPolicy: {{ .Values.thick.image.pullPolicy }}
  command: ["/usr/src/multus-cni/bin/multus-daemon"]
  env:
    - name: MULTUS_NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
  resources:
    {{- toYaml .Values.thick.resources | nindent 4 }}
  securityContext:
    privileged: true
    readOnlyRootFilesystem: true
  terminationMessagePolicy: FallbackToLogsOnError
  volumeMounts:
    - name: cni
      mountPath: /host/etc/cni/net.d
      readOnly: true
    - name: cnibin
      mountPath: /opt/cni/bin
    - name: host-run
      mountPath: /host/run
    - name: host-var-lib-cni-multus
      mountPath: /var/lib/cni/multus
    - name: host-var-lib-kubelet
      mountPath: /var/lib/kubelet
      mountPropagation: HostToContainer
    - name: host-run-k8s-cni-cncf-io
      mountPath: /run/k8s.cni.cncf.io
    - name: host-run-netns
      mountPath: /run/netns
      mountPropagation: HostToContainer
    - name: multus-daemon-config
      mountPath: /etc/cni/net.d/multus.d
      readOnly: true
    - name: multus-daemon-conf
      mountPath: /run/multus-daemon/net.d
    - name: hostroot
      mountPath: /hostroot
      mountPropagation: HostToContainer
    - name: multus-cni-conf
      mountPath: /etc/cni/multus/net.d
{{- end -}}

{{/* Thick mode: the daemon's volumes, as in manifests/thick/kustomization.yaml. */}}
{{- define "multus-entrypoint.thickVolumes" -}}
- name: host-run
  hostPath:
    path: /run
- name: host-var-lib-cni-multus
  hostPath:
    path: /var/lib/cni/multus
- name: host-var-lib-kubelet
  hostPath:
    path: /var/lib/kubelet
- name: host-run-k8s-cni-cncf-io
  hostPath:
    path: /run/k8s.cni.cncf.io
- name: host-run-netns
  hostPath:
    path: /run/netns
- name: hostroot
  hostPath:
    path: /
- name: multus-daemon-config
  configMap:
    name: multus-daemon-config
    items:
      - key: daemon-config.json
        path: daemon-config.json
- name: multus-daemon-conf
  emptyDir: {}
{{- end -}}
