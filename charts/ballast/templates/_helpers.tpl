{{/* Names, labels, images and the parts every Ballast pod shares. */}}

{{- define "ballast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-ballast, or the release name alone when it already contains the chart's name. */}}
{{- define "ballast.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The name of one component's objects: dict "root" $ "component" "web" */}}
{{- define "ballast.componentName" -}}
{{- printf "%s-%s" (include "ballast.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ballast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ballast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ballast
{{- end }}

{{/* Labels that select the release's pods, all components. */}}
{{- define "ballast.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ballast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* dict "root" $ "component" "web" */}}
{{- define "ballast.selectorLabels" -}}
{{ include "ballast.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ballast.componentLabels" -}}
{{ include "ballast.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ballast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ballast.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name names the existing account when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is given, else repository:tag (tag: the appVersion). */}}
{{- define "ballast.image" -}}
{{- $image := .image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
The settings of the ConfigMap, as YAML: config, with the allowed hosts and CSRF origins from
allowedHosts or the ingress's hosts.
*/}}
{{- define "ballast.configData" -}}
{{- $data := dict }}
{{- range $name, $value := .Values.config }}
{{- $_ := set $data $name (toString $value) }}
{{- end }}
{{- $hosts := .Values.allowedHosts }}
{{- if and (not $hosts) .Values.ingress.enabled }}
{{- $hosts = list }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- if $hosts }}
{{- $origins := list }}
{{- range $hosts }}
{{- $origins = append $origins (printf "https://%s" .) }}
{{- end }}
{{- $_ := set $data "BALLAST_ALLOWED_HOSTS" (join "," $hosts) }}
{{- $_ := set $data "BALLAST_CSRF_TRUSTED_ORIGINS" (join "," $origins) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* Pod annotations that roll the pods when the settings change. */}}
{{- define "ballast.configChecksum" -}}
checksum/config: {{ include "ballast.configData" . | sha256sum }}
{{- end }}

{{/* The secrets every Ballast process needs, from existingSecret. */}}
{{- define "ballast.secretEnv" -}}
{{- range list "BALLAST_SECRET_KEY" "DATABASE_URL" "CELERY_BROKER_URL" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}

{{/* Scheduling of one component: dict "root" $ "component" "web" "values" .Values.web */}}
{{- define "ballast.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
{{- $selector := dict "matchLabels" (include "ballast.selectorLabels" . | fromYaml) }}
topologySpreadConstraints:
{{- range .values.topologySpreadConstraints }}
  - {{- toYaml (merge (deepCopy .) (dict "labelSelector" $selector)) | nindent 4 }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod-level fields every Ballast pod shares. */}}
{{- define "ballast.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  # The root filesystem is read-only: /tmp holds heartbeats, metrics and beat's schedule.
  - name: tmp
    emptyDir:
      sizeLimit: 1Gi
{{- end }}

{{/* The container-level fields every Ballast container shares. */}}
{{- define "ballast.containerCommon" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/* The exec probe of workers and beat: the heartbeat file is younger than 90 s. */}}
{{- define "ballast.heartbeatProbe" -}}
exec:
  command: ["python", "-m", "controlplane.heartbeat", "--max-age", "90"]
periodSeconds: {{ .Values.heartbeat.periodSeconds }}
timeoutSeconds: {{ .Values.heartbeat.timeoutSeconds }}
{{- end }}

{{- define "ballast.heartbeatProbes" -}}
startupProbe:
  {{- include "ballast.heartbeatProbe" . | nindent 2 }}
  failureThreshold: {{ div .Values.heartbeat.startupSeconds .Values.heartbeat.periodSeconds | max 1 }}
livenessProbe:
  {{- include "ballast.heartbeatProbe" . | nindent 2 }}
  failureThreshold: {{ .Values.heartbeat.failureThreshold }}
readinessProbe:
  {{- include "ballast.heartbeatProbe" . | nindent 2 }}
  failureThreshold: 1
{{- end }}

{{/* Whether KEDA scales the worker: dict "root" $ "worker" <its values> */}}
{{- define "ballast.kedaScaled" -}}
{{- if and .root.Values.keda.enabled .worker.enabled .worker.keda.scaled }}true{{ end }}
{{- end }}

{{/* Whether a CPU HPA scales the worker (never one KEDA scales). */}}
{{- define "ballast.hpaScaled" -}}
{{- if and .worker.enabled (not (include "ballast.kedaScaled" .)) .worker.autoscaling.enabled }}true{{ end }}
{{- end }}

{{/* IfNotPresent for an image pinned by digest, Always for a tag (unless pullPolicy is set). */}}
{{- define "ballast.pullPolicy" -}}
{{- .pullPolicy | default (ternary "IfNotPresent" "Always" (not (empty .digest))) }}
{{- end }}

{{/*
checkov's findings that a workload cannot fix, each with its reason (charts/ballast/README.md):
dict "image" <its values> "kubeApi" <whether it calls the Kubernetes API>
*/}}
{{- define "ballast.checkovSkips" -}}
checkov.io/skip1: {{ "CKV_K8S_35=Django's settings read their secrets from the environment (controlplane/settings), filled by secretKeyRef from existingSecret; the chart holds none" | quote }}
{{- if .kubeApi }}
checkov.io/skip2: {{ "CKV_K8S_38=this pod calls the Kubernetes API with its token: actuators/kubernetes.py reads and patches deployment targets" | quote }}
{{- end }}
{{- if not .image.digest }}
checkov.io/skip3: {{ "CKV_K8S_43=no digest given in values (image.digest, cudaImage.digest): the tag is pulled Always; production sets digests" | quote }}
{{- end }}
{{- end }}
