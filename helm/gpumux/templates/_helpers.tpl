{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "gpumux.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name prefix for every object. Kept ≤ 40 characters so that "<fullname>-<component>"
     and the scheduler's replica pod names "<fullname>-<model>-<hash>" stay valid. */}}
{{- define "gpumux.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains (include "gpumux.name" .) .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "gpumux.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gpumux.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object; call with (dict "root" $ "component" "gateway"). */}}
{{- define "gpumux.labels" -}}
helm.sh/chart: {{ include "gpumux.chart" .root }}
app.kubernetes.io/name: {{ include "gpumux.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: gpumux
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- with .root.Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: stable across upgrades (no version). */}}
{{- define "gpumux.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gpumux.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image reference; call with (dict "root" $ "image" .Values.gateway.image). */}}
{{- define "gpumux.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag -}}
{{- if .root.Values.global.imageRegistry -}}
{{- printf "%s/%s:%s" .root.Values.global.imageRegistry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "gpumux.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "string" . }}{{ . }}{{ else }}{{ .name }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "gpumux.podSecurityContext" -}}
{{- toYaml .Values.securityContext.pod -}}
{{- end -}}

{{- define "gpumux.containerSecurityContext" -}}
{{- toYaml .Values.securityContext.container -}}
{{- end -}}

{{- define "gpumux.gatewayName" -}}{{ include "gpumux.fullname" . }}-gateway{{- end -}}
{{- define "gpumux.gatewayAdminName" -}}{{ include "gpumux.fullname" . }}-gateway-admin{{- end -}}
{{- define "gpumux.schedulerName" -}}{{ include "gpumux.fullname" . }}-scheduler{{- end -}}
{{- define "gpumux.replicaPodConfigMap" -}}{{ include "gpumux.fullname" . }}-replica-pod{{- end -}}
{{- define "gpumux.profilesConfigMap" -}}{{ include "gpumux.fullname" . }}-profiles{{- end -}}
{{- define "gpumux.modelClaimName" -}}
{{- default (printf "%s-models" (include "gpumux.fullname" .)) .Values.modelStorage.pvc.existingClaim -}}
{{- end -}}

{{/* Comma-separated model names the gateway's readiness requires: each name once, so with versions side by
     side any one version ready makes the model ready (a failing canary does not take the gateway out). */}}
{{- define "gpumux.modelNames" -}}
{{- $names := list -}}
{{- range .Values.models }}{{ $names = append $names .name }}{{ end -}}
{{- join "," ($names | uniq) -}}
{{- end -}}

{{/*
Where a model entry's ONNX file lives on the model volume: <mountPath>/<name>/<version>/<file> when the entry
names its version (versions side by side each get their own file), else <mountPath>/<name>/<file> as before.
Call with (dict "root" $ "model" .).
*/}}
{{- define "gpumux.modelPath" -}}
{{- $m := .model -}}
{{- $file := default "model.onnx" $m.file -}}
{{- if and (hasKey $m "version") (ne (toString $m.version) "") -}}
{{- printf "%s/%s/%s/%s" .root.Values.modelStorage.mountPath $m.name (toString $m.version) $file -}}
{{- else -}}
{{- printf "%s/%s/%s" .root.Values.modelStorage.mountPath $m.name $file -}}
{{- end -}}
{{- end -}}

{{/*
A model entry's manifest folder: with manifestUrl, the folder of its file on the model volume (the fetch
initContainer puts manifest.json beside model.onnx there); else `manifest`, a folder inside the image.
Call with (dict "root" $ "model" .).
*/}}
{{- define "gpumux.manifestDir" -}}
{{- if .model.manifestUrl -}}
{{- dir (include "gpumux.modelPath" .) -}}
{{- else -}}
{{- .model.manifest -}}
{{- end -}}
{{- end -}}

{{/*
The gateway's versions.split (gateway/routing/version-split.ts) as a dict model → version → weight: for each
model name with two or more versions whose entries set trafficWeight (validate.yaml makes that all or none).
*/}}
{{- define "gpumux.versionSplit" -}}
{{- $count := dict -}}
{{- range .Values.models }}{{ $_ := set $count .name (add1 (int (get $count .name | default 0))) }}{{ end -}}
{{- $split := dict -}}
{{- range .Values.models }}
{{- if and (gt (int (get $count .name)) 1) (hasKey . "trafficWeight") (hasKey . "version") }}
{{- $w := get $split .name | default dict -}}
{{- $_ := set $w (toString .version) .trafficWeight -}}
{{- $_ := set $split .name $w -}}
{{- end }}
{{- end -}}
{{- toJson $split -}}
{{- end -}}

{{/* The label selector the gateway discovers replica pods with (the labels the scheduler sets). */}}
{{- define "gpumux.replicaSelector" -}}
app.kubernetes.io/component=replica,app.kubernetes.io/part-of=gpumux,app.kubernetes.io/instance={{ .Release.Name }}
{{- end -}}

{{/* The model volume, as a pod volume named "models". */}}
{{- define "gpumux.modelVolume" -}}
- name: models
{{- if eq .Values.modelStorage.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ include "gpumux.modelClaimName" . }}
{{- else if eq .Values.modelStorage.type "hostPath" }}
  hostPath:
    path: {{ .Values.modelStorage.hostPath.path }}
    type: DirectoryOrCreate
{{- else if eq .Values.modelStorage.type "nfs" }}
  nfs:
    server: {{ .Values.modelStorage.nfs.server }}
    path: {{ .Values.modelStorage.nfs.path }}
{{- end }}
{{- end -}}

{{/* Whether any model lives on the model volume ("true" or ""). */}}
{{- define "gpumux.usesModelVolume" -}}
{{- range .Values.models }}{{ if not .inImage }}true{{ end }}{{ end -}}
{{- end -}}

{{/* Whether the fetch initContainer has anything to download ("true" or ""). */}}
{{- define "gpumux.needsFetch" -}}
{{- if not .Values.modelStorage.preloaded }}{{ range .Values.models }}{{ if and (not .inImage) .url }}true{{ end }}{{ end }}{{ end -}}
{{- end -}}

{{/*
The replica startup probe's failureThreshold: replica.startupProbe.failureThreshold when set, else the warm-up
budget in probe periods, rounded up (ceil(warmupBudgetSeconds / periodSeconds)). Takes .Values.replica.
*/}}
{{- define "gpumux.startupFailureThreshold" -}}
{{- $period := int .startupProbe.periodSeconds -}}
{{- if .startupProbe.failureThreshold -}}
{{- int .startupProbe.failureThreshold -}}
{{- else -}}
{{- div (add (int .warmupBudgetSeconds) (sub $period 1)) $period -}}
{{- end -}}
{{- end -}}

{{/*
The gateway's config file (gateway/config.ts) as YAML, or "" when there is nothing to say (no split, not
sticky): then the gateway gets no --config and runs on its defaults, as before.
*/}}
{{- define "gpumux.gatewayConfig" -}}
{{- $split := include "gpumux.versionSplit" . | fromJson -}}
{{- $sticky := (default (dict) .Values.gateway.versions).stickyHeader -}}
{{- if or $split $sticky -}}
{{- $versions := dict "split" $split -}}
{{- with $sticky }}{{ $_ := set $versions "stickyHeader" . }}{{ end -}}
{{- toYaml (dict "versions" $versions) -}}
{{- end -}}
{{- end -}}
