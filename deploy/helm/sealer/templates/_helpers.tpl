{{/*
Names follow Bitnami's chart, so that `helm upgrade` of a release of that chart to this one keeps
the same objects (and the Deployment's immutable selector): the name is "sealed-secrets" (the app,
not this chart's name) unless nameOverride; the full name is the release name if it contains the
name, else "<release>-<name>", unless fullnameOverride.
*/}}
{{- define "sealer.name" -}}
{{- default "sealed-secrets" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sealer.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "sealer.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sealer.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{- define "sealer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sealer.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Bitnami's selector labels, kept: a Deployment's selector cannot change. */}}
{{- define "sealer.matchLabels" -}}
app.kubernetes.io/name: {{ include "sealer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sealer.labels" -}}
{{ include "sealer.matchLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sealer
{{- with .Values.commonLabels }}
{{ tpl (toYaml .) $ }}
{{- end -}}
{{- end -}}

{{/* metadata.labels (common + extra) and annotations (common + extra) of every object. */}}
{{- define "sealer.metadata" -}}
{{- $ctx := .context -}}
labels:
  {{- include "sealer.labels" $ctx | nindent 2 }}
  {{- with .labels }}
  {{- tpl (toYaml .) $ctx | nindent 2 }}
  {{- end }}
{{- $annotations := merge (dict) (.annotations | default dict) ($ctx.Values.commonAnnotations | default dict) }}
{{- with $annotations }}
annotations:
  {{- tpl (toYaml .) $ctx | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The Kubernetes version to render for (Bitnami's `kubeVersion` value overrides the cluster's). */}}
{{- define "sealer.kubeVersion" -}}
{{- default .Capabilities.KubeVersion.Version .Values.kubeVersion -}}
{{- end -}}

{{/* A Bitnami-style probe value ({enabled, initialDelaySeconds, ...}) or its custom* replacement. */}}
{{- define "sealer.probe" -}}
{{- if .probe.enabled -}}
{{- toYaml (omit .probe "enabled") }}
{{ toYaml .action }}
{{- else if .custom -}}
{{- tpl (toYaml .custom) .context }}
{{- end -}}
{{- end -}}

{{- define "sealer.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry }}{{ $repo = printf "%s/%s" .Values.image.registry $repo }}{{ end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/*
The controller's arguments from Bitnami's values (same flags, same meaning). `args` replaces them
all, as in Bitnami's chart; `commandArgs` (the values key of Bitnami's 1.x chart, which 2.x silently
ignores) is appended.
*/}}
{{- define "sealer.args" -}}
{{- if .Values.args -}}
{{- tpl (toYaml .Values.args) . }}
{{- else -}}
{{- $a := list -}}
{{- if .Values.updateStatus -}}
{{- $a = append $a "--update-status" -}}
{{- else -}}
{{- /* Bitnami's chart only leaves the flag out, which keeps the binary's default: true. */ -}}
{{- $a = append $a "--update-status=false" -}}
{{- end -}}
{{- if .Values.skipRecreate }}{{ $a = append $a "--skip-recreate" }}{{ end -}}
{{- if ne (toString .Values.keyrenewperiod) "" }}{{ $a = concat $a (list "--key-renew-period" (toString .Values.keyrenewperiod)) }}{{ end -}}
{{- if .Values.keyttl }}{{ $a = concat $a (list "--key-ttl" (toString .Values.keyttl)) }}{{ end -}}
{{- if .Values.keycutofftime }}{{ $a = concat $a (list "--key-cutoff-time" (toString .Values.keycutofftime)) }}{{ end -}}
{{- if ne (toString .Values.keySize) "" }}{{ $a = concat $a (list "--key-size" (toString .Values.keySize)) }}{{ end -}}
{{- if ne (toString .Values.rateLimit) "" }}{{ $a = concat $a (list "--rate-limit" (toString .Values.rateLimit)) }}{{ end -}}
{{- if ne (toString .Values.rateLimitBurst) "" }}{{ $a = concat $a (list "--rate-limit-burst" (toString .Values.rateLimitBurst)) }}{{ end -}}
{{- $a = concat $a (list "--key-prefix" .Values.secretName) -}}
{{- if ne (toString .Values.retiredKeyGracePeriod) "" }}{{ $a = concat $a (list "--retired-key-grace-period" (toString .Values.retiredKeyGracePeriod)) }}{{ end -}}
{{- with .Values.additionalNamespaces }}{{ $a = concat $a (list "--additional-namespaces" (join "," .)) }}{{ end -}}
{{- if and .Values.rbac.create .Values.rbac.namespacedRoles (not .Values.additionalNamespaces) }}{{ $a = append $a "--all-namespaces=false" }}{{ end -}}
{{- with .Values.labelSelector }}{{ $a = concat $a (list "--label-selector" .) }}{{ end -}}
{{- with .Values.logLevel }}{{ $a = concat $a (list "--log-level" .) }}{{ end -}}
{{- with .Values.logFormat }}{{ $a = concat $a (list "--log-format" .) }}{{ end -}}
{{- $a = concat $a (list "--listen-addr" (printf ":%v" .Values.containerPorts.http) "--listen-metrics-addr" (printf ":%v" .Values.containerPorts.metrics)) -}}
{{- $a = concat $a (list "--certificate-configmap" (ternary (printf "%s-certs" (include "sealer.fullname" .)) "" .Values.publishCertificates)) -}}
{{- if ne (toString .Values.maxRetries) "" }}{{ $a = concat $a (list "--max-unseal-retries" (toString .Values.maxRetries)) }}{{ end -}}
{{- if ne (toString .Values.kubeClientQPS) "" }}{{ $a = concat $a (list "--kubeclient-qps" (toString .Values.kubeClientQPS)) }}{{ end -}}
{{- if ne (toString .Values.kubeClientBurst) "" }}{{ $a = concat $a (list "--kubeclient-burst" (toString .Values.kubeClientBurst)) }}{{ end -}}
{{- if not .Values.leaderElection }}{{ $a = append $a "--leader-elect=false" }}{{ end -}}
{{- with .Values.escrow.recipientsName }}{{ $a = concat $a (list "--escrow-recipients" .) }}{{ end -}}
{{- /* Last, where deploy/pq-keys (the kustomize component) appends it too. */ -}}
{{- if .Values.pqKeys }}{{ $a = append $a "--pq-keys" }}{{ end -}}
{{- toYaml (concat $a (.Values.commandArgs | default list)) }}
{{- end -}}
{{- end -}}

{{/* The controller's leader-election Lease (its name is fixed in the controller). */}}
{{- define "sealer.leaseName" -}}
sealed-secrets-controller
{{- end -}}

{{/* What the controller does with SealedSecrets and Secrets (deploy/rbac.yaml's ClusterRole). */}}
{{- define "sealer.unsealerRules" }}
- apiGroups: ["bitnami.com"]
  resources: ["sealedsecrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["bitnami.com"]
  resources: ["sealedsecrets/status"]
  verbs: ["update", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
