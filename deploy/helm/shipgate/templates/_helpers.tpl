{{/*
The chart's name, for the app.kubernetes.io/name label.
*/}}
{{- define "shipgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every resource: RELEASE-shipgate, or RELEASE when it already says shipgate. 63
characters at most, as Service names must be.
*/}}
{{- define "shipgate.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "shipgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "shipgate.labels" -}}
helm.sh/chart: {{ include "shipgate.chart" . }}
{{ include "shipgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shipgate
{{- end }}

{{/*
Labels that select the pod; they never change after the first install.
*/}}
{{- define "shipgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shipgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the pod runs as.
*/}}
{{- define "shipgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shipgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "shipgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
The claim holding the database.
*/}}
{{- define "shipgate.claimName" -}}
{{- default (include "shipgate.fullname" .) .Values.persistence.existingClaim }}
{{- end }}

{{/*
The directory projects are mounted in, and the one shipgate.yaml names by default.
*/}}
{{- define "shipgate.projectsMountPath" -}}
/etc/shipgate/projects
{{- end }}

{{/*
The rules the helm executor needs in a namespace it deploys to: everything Helm does to install, upgrade,
roll back and wait for releases of the common kinds, and Secrets, where Helm keeps its release history.
Pods, ReplicaSets and events are only read (Helm's wait looks at them); each kind is named, never "*".
The same rules cover the job executor: Jobs and the ConfigMaps of their files are created and
deleted, Pods and pods/log are read for the tasks' logs.
*/}}
{{- define "shipgate.rbacRules" -}}
- apiGroups: [""]
  resources: [configmaps, secrets, services, serviceaccounts, persistentvolumeclaims]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods, pods/log, endpoints, events]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, update, patch, delete]
{{- with .Values.rbac.extraRules }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The project an entry of projects.configMaps holds: the entry itself when it is a ConfigMap name, else its
project, which defaults to its name.
*/}}
{{- define "shipgate.projectName" -}}
{{- if kindIs "string" . }}
{{- . }}
{{- else }}
{{- .project | default .name }}
{{- end }}
{{- end }}

{{/*
The database file as shipgate opens it: config.database, made absolute against the config file's folder
as shipgate does. The backup sidecar and Litestream reach it through the same /data volume, so it must be
there.
*/}}
{{- define "shipgate.databasePath" -}}
{{- $db := .Values.config.database | toString }}
{{- if not (isAbs $db) }}
{{- $db = printf "/etc/shipgate/%s" $db | clean }}
{{- end }}
{{- if and (or .Values.backup.enabled .Values.backup.litestream.enabled) (not (hasPrefix "/data/" $db)) }}
{{- fail (printf "backup: config.database is %s; backups read it through the /data volume, so it must be in /data" $db) }}
{{- end }}
{{- $db }}
{{- end }}

{{/*
The claim backups are written to.
*/}}
{{- define "shipgate.backupClaimName" -}}
{{- default (printf "%s-backup" (include "shipgate.fullname" .)) .Values.backup.persistence.existingClaim }}
{{- end }}
