{{/*
Rules between values that values.schema.json cannot express; a broken one fails the install
with a message naming the values.
*/}}
{{- define "app.checks" -}}
{{- $maxPods := int .Values.replicaCount }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- if not (and .Values.resources.requests .Values.resources.requests.cpu) }}
{{- fail "autoscaling on CPU needs resources.requests.cpu" }}
{{- end }}
{{- $maxPods = int .Values.autoscaling.maxReplicas }}
{{- end }}
{{- /* The service's own defaults (config.py) when config leaves them out. */}}
{{- $poolSize := 10 }}
{{- if hasKey .Values.config "DB_POOL_SIZE" }}
{{- $poolSize = int .Values.config.DB_POOL_SIZE }}
{{- end }}
{{- $maxOverflow := 10 }}
{{- if hasKey .Values.config "DB_MAX_OVERFLOW" }}
{{- $maxOverflow = int .Values.config.DB_MAX_OVERFLOW }}
{{- end }}
{{- /* E-mail: what the service would refuse at startup, refused here before any pod starts. */}}
{{- if and .Values.config.REQUIRE_EMAIL_VERIFICATION (not .Values.config.SMTP_HOST) }}
{{- fail "config.REQUIRE_EMAIL_VERIFICATION=true needs config.SMTP_HOST: nobody could receive the verification e-mail" }}
{{- end }}
{{- if and .Values.config.SMTP_HOST (not .Values.config.EMAIL_FROM) }}
{{- fail "config.EMAIL_FROM is required when config.SMTP_HOST is set" }}
{{- end }}
{{- /* One surge pod during a rollout, and the migration Job's single connection. */}}
{{- $connections := add1 (mul (add1 $maxPods) (add $poolSize $maxOverflow)) }}
{{- if gt (int $connections) (int .Values.database.maxConnections) }}
{{- fail (printf "up to %d pods (one more during a rollout) x (DB_POOL_SIZE + DB_MAX_OVERFLOW = %d) + 1 for the migration = %d connections, above database.maxConnections (%d): lower config.DB_POOL_SIZE, config.DB_MAX_OVERFLOW or the replicas, or pool the connections with PgBouncer" (add1 $maxPods) (add $poolSize $maxOverflow) (int $connections) (int .Values.database.maxConnections)) }}
{{- end }}
{{- end }}
