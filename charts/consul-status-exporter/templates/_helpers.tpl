{{/* The name of every object the chart makes: the release, or fullnameOverride. */}}
{{- define "cse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cse.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cse.labels" -}}
{{ include "cse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The namespace of the Consul servers: consul.servers.namespace, or the release's. */}}
{{- define "cse.serversNamespace" -}}
{{- .Values.consul.servers.namespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The DNS name of one server pod behind the headless Service, as a StatefulSet
gives it: <pod>.<service>.<namespace>.svc. consul-k8s's server certificates
are valid for *.<service>.<namespace>.svc, so TLS verifies without
--consul.server-name.
*/}}
{{- define "cse.serverDomain" -}}
{{- printf "%s.%s.svc" .Values.consul.servers.serviceName (include "cse.serversNamespace" .) -}}
{{- end -}}

{{/* --probe.allowed-targets: only the server pods' DNS names on the Consul port. */}}
{{- define "cse.allowedTargets" -}}
{{- if .Values.consul.servers.allowedTargets -}}
{{- .Values.consul.servers.allowedTargets -}}
{{- else -}}
{{- printf "%s-[0-9]+\\.%s:%d" (.Values.consul.servers.podPrefix | default .Values.consul.servers.serviceName | regexQuoteMeta) (include "cse.serverDomain" . | regexQuoteMeta) (int .Values.consul.servers.port) -}}
{{- end -}}
{{- end -}}

{{/* --consul.server: in probe mode the servers' Service (the scheme is what matters), else consul.address. */}}
{{- define "cse.consulServer" -}}
{{- if eq .Values.mode "probe" -}}
{{- printf "%s://%s:%d" .Values.consul.scheme (include "cse.serverDomain" .) (int .Values.consul.servers.port) -}}
{{- else -}}
{{- required "consul.address is required with mode: metrics" .Values.consul.address -}}
{{- end -}}
{{- end -}}

{{- define "cse.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* HTTPS when the web configuration turns on TLS for the exporter itself. */}}
{{- define "cse.webScheme" -}}
{{- if .Values.webConfig.tls -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{/* TLS and basic auth for Prometheus's scrapes of the exporter, when webConfig asks for them. */}}
{{- define "cse.scrapeAuth" -}}
{{- with .Values.serviceMonitor.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceMonitor.basicAuth }}
basicAuth:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
