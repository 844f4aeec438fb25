{{/* The release's full name, a DNS label. */}}
{{- define "nbo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nbo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nbo.labels" -}}
{{ include "nbo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "nbo.serviceAccountName" -}}
{{- default (include "nbo.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "nbo.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
nbo.rbac splits the rules controller-gen generated from the controllers' markers
(files/manager-role.yaml, a copy of config/rbac/role.yaml kept fresh by `make manifests`) into:
cluster: rules on cluster-scoped resources (read-only: nodes, persistentvolumes);
namespaced: everything else the controllers use, granted per watched namespace or cluster-wide;
election: the leader-election Lease (and its events), in the release namespace only.
*/}}
{{- define "nbo.rbac" -}}
{{- $role := .Files.Get "files/manager-role.yaml" | fromYaml -}}
{{- $clusterScoped := list "nodes" "persistentvolumes" -}}
{{- $cluster := list -}}
{{- $namespaced := list -}}
{{- $election := list -}}
{{- range $role.rules -}}
{{- $rule := . -}}
{{- if has "coordination.k8s.io" $rule.apiGroups -}}
{{- $election = append $election $rule -}}
{{- else -}}
{{- $c := list -}}
{{- $n := list -}}
{{- range $rule.resources -}}
{{- if has . $clusterScoped -}}{{- $c = append $c . -}}{{- else -}}{{- $n = append $n . -}}{{- end -}}
{{- end -}}
{{- if $c -}}{{- $cluster = append $cluster (dict "apiGroups" $rule.apiGroups "resources" $c "verbs" $rule.verbs) -}}{{- end -}}
{{- if $n -}}{{- $namespaced = append $namespaced (dict "apiGroups" $rule.apiGroups "resources" $n "verbs" $rule.verbs) -}}{{- end -}}
{{- if has "events" $rule.resources -}}{{- $election = append $election $rule -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "cluster" $cluster "namespaced" $namespaced "election" $election) -}}
{{- end -}}
