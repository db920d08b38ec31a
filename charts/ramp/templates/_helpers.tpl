{{/* Labels of every object and the selector of the controller's pods. */}}
{{- define "ramp.labels" -}}
app.kubernetes.io/name: ramp
app.kubernetes.io/component: controller
{{- end -}}

{{/* repository:tag, and @digest when one pins it (a release's chart does). */}}
{{- define "ramp.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{ with .Values.image.digest }}@{{ . }}{{ end }}
{{- end -}}

{{- define "ramp.callbackURL" -}}
{{ .Values.callbacks.url | default (printf "http://ramp-callbacks.%s.svc:9443" .Release.Namespace) }}
{{- end -}}

{{/* Labels of the dashboard's objects and the selector of its pods. */}}
{{- define "ramp.dashboardLabels" -}}
app.kubernetes.io/name: ramp
app.kubernetes.io/component: dashboard
{{- end -}}
{{- define "ramp.replicas" -}}
{{- if gt (int .Values.shards) 1 }}{{ .Values.shards }}{{ else }}{{ .Values.replicas }}{{ end }}
{{- end }}
