{{/*
Helpers of the Omnistock chart. The chart keeps to the subset of Go templates and Helm functions that
test/helm-template.ts renders (helm cannot be installed where the tests run): see that file.
*/}}

{{/* The prefix of every object's name: <release>-omnistock, or the release's name when it says omnistock already; short enough for "-marketplaces". */}}
{{- define "omnistock.fullname" -}}
{{- if contains "omnistock" .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-omnistock" .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A process's Service (and Deployment) name; called with (dict "ctx" $ "component" <name>). */}}
{{- define "omnistock.componentName" -}}
{{- printf "%s-%s" (include "omnistock.fullname" .ctx) .component -}}
{{- end -}}

{{- define "omnistock.selectorLabels" -}}
app.kubernetes.io/name: omnistock
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "omnistock.labels" -}}
{{ include "omnistock.selectorLabels" . }}
app.kubernetes.io/part-of: omnistock
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- end -}}

{{- define "omnistock.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Refuses values that would put a secret in an environment variable, set what the chart sets itself, or
turn authentication off: values' env and every process's own; called once per file that renders pods.
*/}}
{{- define "omnistock.checkValues" -}}
{{- include "omnistock.checkEnv" (dict "ctx" . "env" .Values.env) -}}
{{- range $name, $svc := .Values.services -}}
{{- include "omnistock.checkEnv" (dict "ctx" $ "env" $svc.env) -}}
{{- end -}}
{{- end -}}

{{- define "omnistock.checkEnv" -}}
{{- $secrets := list "MYSQL_URL" "REDIS_URL" "METRICS_TOKEN" "AUTH_JWT_SECRET" "SERVICE_TOKEN_KEYS" "REGISTRY_TOKEN" "GATEWAY_TOKEN" -}}
{{- $owned := list "HOST" "MYSQL_URL_FILE" "REDIS_URL_FILE" "METRICS_TOKEN_FILE" "AUTH_JWT_SECRET_FILE" "SERVICE_TOKEN_KEYS_FILE" "REGISTRY_TOKEN_FILE" "GATEWAY_TOKEN_FILE" "MARKETPLACE_SECRETS_DIR" "GATEWAY_PORT" "INVENTORY_PORT" "ORDERS_PORT" "LOCATIONS_PORT" "CHANNELS_PORT" "MARKETPLACES_PORT" "EXCEPTIONS_PORT" "JOBS_PORT" "INVENTORY_URL" "ORDERS_URL" "LOCATIONS_URL" "CHANNELS_URL" "MARKETPLACES_URL" "EXCEPTIONS_URL" "INVENTORY_SUBSCRIPTION_URL" "ORDERS_SUBSCRIPTION_URL" "LOCATIONS_SUBSCRIPTION_URL" "CHANNELS_SUBSCRIPTION_URL" "MARKETPLACES_SUBSCRIPTION_URL" "EXCEPTIONS_SUBSCRIPTION_URL" "ORDERS_INVENTORY_URL" "MARKETPLACE_ORDERS_URL" "MARKETPLACE_INVENTORY_URL" -}}
{{- range $key, $value := .env -}}
{{- if has $key $secrets -}}
{{- fail (printf "env %s holds a secret: put it in the Secret %s, which the chart mounts as a file (README: Running on Kubernetes)" $key $.ctx.Values.secrets.name) -}}
{{- end -}}
{{- if has $key $owned -}}
{{- fail (printf "env %s is set by the chart itself" $key) -}}
{{- end -}}
{{- if and (has $key (list "AUTH_MODE" "SERVICE_AUTH")) (eq (toString $value) "off") -}}
{{- fail (printf "env %s=off: the chart runs Omnistock with authentication enforced" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the secret keys are mounted. */}}
{{- define "omnistock.secretsDir" -}}/etc/omnistock/secrets{{- end -}}
{{- define "omnistock.marketplaceCredentialsDir" -}}/etc/omnistock/marketplace-credentials{{- end -}}

{{/*
A process's environment: listening on the pod's address at its port, its secrets as files, where the
other services are (Kubernetes Services), then values' env and the process's own; called with
(dict "ctx" $ "component" <name>).
*/}}
{{- define "omnistock.env" -}}
{{- $ctx := .ctx -}}
{{- $svc := index $ctx.Values.services .component -}}
{{- $dir := include "omnistock.secretsDir" $ctx -}}
- name: HOST
  value: "0.0.0.0"
- name: {{ $svc.portVariable }}
  value: {{ $svc.port | quote }}
- name: MYSQL_URL_FILE
  value: {{ printf "%s/mysql-url" $dir }}
- name: REDIS_URL_FILE
  value: {{ printf "%s/redis-url" $dir }}
- name: SERVICE_TOKEN_KEYS_FILE
  value: {{ printf "%s/service-token-keys.json" $dir }}
{{- if $ctx.Values.secrets.metricsToken }}
- name: METRICS_TOKEN_FILE
  value: {{ printf "%s/metrics-token" $dir }}
{{- end }}
{{- if and (eq .component "gateway") $ctx.Values.secrets.jwtSecret }}
- name: AUTH_JWT_SECRET_FILE
  value: {{ printf "%s/auth-jwt-secret" $dir }}
{{- end }}
{{- if eq .component "gateway" }}
{{- range $name, $sub := $ctx.Values.services }}
{{- if not (has $name (list "gateway" "jobs")) }}
- name: {{ printf "%s_URL" (upper $name) }}
  value: {{ printf "http://%s:%v/graphql" (include "omnistock.componentName" (dict "ctx" $ctx "component" $name)) $sub.port }}
{{- if $sub.subscriptions }}
- name: {{ printf "%s_SUBSCRIPTION_URL" (upper $name) }}
  value: {{ printf "ws://%s:%v/graphql" (include "omnistock.componentName" (dict "ctx" $ctx "component" $name)) $sub.port }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if has .component (list "orders" "jobs") }}
- name: ORDERS_INVENTORY_URL
  value: {{ printf "http://%s:%v/graphql" (include "omnistock.componentName" (dict "ctx" $ctx "component" "inventory")) $ctx.Values.services.inventory.port }}
{{- end }}
{{- if eq .component "jobs" }}
- name: MARKETPLACE_INVENTORY_URL
  value: {{ printf "http://%s:%v/graphql" (include "omnistock.componentName" (dict "ctx" $ctx "component" "inventory")) $ctx.Values.services.inventory.port }}
- name: MARKETPLACE_ORDERS_URL
  value: {{ printf "http://%s:%v/graphql" (include "omnistock.componentName" (dict "ctx" $ctx "component" "orders")) $ctx.Values.services.orders.port }}
- name: MARKETPLACE_SECRETS_DIR
  value: {{ include "omnistock.marketplaceCredentialsDir" $ctx }}
{{- end }}
{{- range $key, $value := $ctx.Values.env }}
{{- if not (hasKey $svc.env $key) }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- range $key, $value := $svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The keys of the Secret a process may read, as a secret volume's items; called like omnistock.env. */}}
{{- define "omnistock.secretItems" -}}
- key: mysql-url
  path: mysql-url
- key: redis-url
  path: redis-url
- key: service-token-keys.json
  path: service-token-keys.json
{{- if .ctx.Values.secrets.metricsToken }}
- key: metrics-token
  path: metrics-token
{{- end }}
{{- if and (eq .component "gateway") .ctx.Values.secrets.jwtSecret }}
- key: auth-jwt-secret
  path: auth-jwt-secret
{{- end }}
{{- end -}}
