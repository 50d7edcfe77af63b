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
{{- /* The service's own defaults when config leaves them out. */}}
{{- $poolSize := 5 }}
{{- if hasKey .Values.config "DB_POOL_SIZE" }}
{{- $poolSize = int .Values.config.DB_POOL_SIZE }}
{{- end }}
{{- $maxOverflow := 5 }}
{{- if hasKey .Values.config "DB_MAX_OVERFLOW" }}
{{- $maxOverflow = int .Values.config.DB_MAX_OVERFLOW }}
{{- end }}
{{- /* One surge pod during a rollout, and the migration Job's single connection. */}}
{{- $connections := add1 (mul (add1 $maxPods) (add $poolSize $maxOverflow)) }}
{{- if gt (int $connections) (int .Values.database.maxConnections) }}
{{- fail (printf "up to %d pods (one more during a rollout) x (DB_POOL_SIZE + DB_MAX_OVERFLOW = %d) + 1 for the migration = %d connections, above database.maxConnections (%d): lower config.DB_POOL_SIZE, config.DB_MAX_OVERFLOW or the replicas, or pool the connections with PgBouncer" (add1 $maxPods) (add $poolSize $maxOverflow) (int $connections) (int .Values.database.maxConnections)) }}
{{- end }}
{{- end }}
