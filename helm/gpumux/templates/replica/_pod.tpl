{{- define "gpumux.replicaPod" -}}
{{- $r := .Values.replica -}}
{{- $ms := .Values.modelStorage -}}
apiVersion: v1
kind: Pod
metadata:
  labels:
    {{- include "gpumux.labels" (dict "root" $ "component" "replica") | nindent 4 }}
  {{- with $r.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $r.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  # The scheduler replaces a failed replica (maybe elsewhere) instead of restarting it in place.
  restartPolicy: Never
  terminationGracePeriodSeconds: {{ $r.terminationGracePeriodSeconds }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with (include "gpumux.imagePullSecrets" .) }}{{ . | nindent 2 }}{{- end }}
  securityContext:
    {{- include "gpumux.podSecurityContext" . | nindent 4 }}
  {{- with $r.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $r.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if include "gpumux.needsFetch" . }}
  initContainers:
    - name: fetch-model
      image: {{ include "gpumux.image" (dict "root" $ "image" $ms.fetch.image) }}
      imagePullPolicy: {{ $ms.fetch.image.pullPolicy }}
      command:
        - /bin/sh
        - -c
        - |
          {{- .Files.Get "files/fetch-model.sh" | nindent 10 }}
        - fetch-model
      args:
        {{- range .Values.models }}
        {{- if and (not .inImage) .url }}
        - {{ include "gpumux.modelPath" (dict "root" $ "model" .) | quote }}
        - {{ .url | quote }}
        - {{ .sha256 | quote }}
        {{- end }}
        {{- if and (not .inImage) .manifestUrl }}
        - {{ printf "%s/manifest.json" (include "gpumux.manifestDir" (dict "root" $ "model" .)) | quote }}
        - {{ .manifestUrl | quote }}
        - {{ .manifestSha256 | quote }}
        {{- end }}
        {{- end }}
      env:
        - name: LOCK_TIMEOUT
          value: {{ $ms.fetch.lockTimeoutSeconds | quote }}
      resources:
        {{- toYaml $ms.fetch.resources | nindent 8 }}
      securityContext:
        {{- include "gpumux.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        - name: models
          mountPath: {{ $ms.mountPath }}
        - name: tmp
          mountPath: /tmp
  {{- end }}
  containers:
    - name: replica
      image: {{ include "gpumux.image" (dict "root" $ "image" $r.image) }}
      imagePullPolicy: {{ $r.image.pullPolicy }}
      # A CUDA OOM is written to /dev/termination-log (exit code 3); any other error death leaves its last log
      # lines as the termination message, which the scheduler reads to classify the failure.
      terminationMessagePolicy: FallbackToLogsOnError
      args:
        - --warmup-budget={{ int $r.warmupBudgetSeconds }}
        {{- with $r.maxBatch }}
        - --max-batch={{ . }}
        {{- end }}
        {{- with $r.threads }}
        - --threads={{ . }}
        {{- end }}
        {{- if $r.grpc.enabled }}
        - --grpc-port={{ $r.grpc.port }}
        {{- end }}
        {{- range $r.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: GPUMUX_LOG_LEVEL
          value: {{ $r.logLevel | quote }}
        {{- with $r.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ $r.port }}
          protocol: TCP
        {{- if $r.grpc.enabled }}
        - name: grpc
          containerPort: {{ $r.grpc.port }}
          protocol: TCP
        {{- end }}
      # Ready only after warm-up at every bucket x max batch (its footprint for life; Co-DETR on a CPU: minutes).
      # The startup probe holds the liveness probe back and restarts the pod only once the whole warm-up budget
      # (replica.warmupBudgetSeconds = failureThreshold x periodSeconds, rounded up) has passed without ready;
      # meanwhile the replica answers liveness and reports its progress in /v1/stats `warmup`.
      {{- $period := int $r.startupProbe.periodSeconds }}
      startupProbe:
        httpGet:
          path: /v2/health/ready
          port: http
        periodSeconds: {{ $period }}
        timeoutSeconds: {{ int $r.startupProbe.timeoutSeconds }}
        failureThreshold: {{ include "gpumux.startupFailureThreshold" $r }}
      livenessProbe:
        {{- if $r.grpc.enabled }}
        grpc:
          port: {{ $r.grpc.port }}
          service: liveness
        {{- else }}
        httpGet:
          path: /v2/health/live
          port: http
        {{- end }}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /v2/health/ready
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml $r.resources | nindent 8 }}
      securityContext:
        {{- include "gpumux.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        {{- if include "gpumux.usesModelVolume" . }}
        - name: models
          mountPath: {{ $ms.mountPath }}
          readOnly: true
        {{- end }}
        - name: tmp
          mountPath: /tmp
  volumes:
    {{- if include "gpumux.usesModelVolume" . }}
    {{- include "gpumux.modelVolume" . | nindent 4 }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
{{- end -}}
