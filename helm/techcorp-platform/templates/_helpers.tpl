{{/*
tc.merge: merges .src into .dst in place: maps merge key by key (recursively), anything else
in .src (scalars, lists, false, 0, "") replaces .dst's value; a null in .src removes the key.
(sprig's merge/mergeOverwrite skip "empty" values such as false and 0, which would make
`enabled: false` under a service unable to override `defaults.enabled: true`.)
*/}}
{{- define "tc.merge" -}}
{{- $dst := .dst -}}
{{- range $k, $v := .src -}}
{{- if kindIs "invalid" $v -}}
{{- $_ := unset $dst $k -}}
{{- else if and (kindIs "map" $v) (kindIs "map" (get $dst $k)) -}}
{{- include "tc.merge" (dict "dst" (get $dst $k) "src" $v) -}}
{{- else -}}
{{- $_ := set $dst $k (deepCopy $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
tc.fleet: every enabled service as JSON {name: service}: `defaults` merged under its entry,
plus computed fields (fullname, adminPort, image, peers, callers, ...). Templates use
`include "tc.fleet" . | fromJson`. Problems the schema cannot see fail the render here.
*/}}
{{- define "tc.fleet" -}}
{{- $root := . -}}
{{- $V := .Values -}}
{{- $all := dict -}}
{{- range $name, $entry := $V.services -}}
{{- $s := deepCopy $V.defaults -}}
{{- include "tc.merge" (dict "dst" $s "src" ($entry | default dict)) -}}
{{- $_ := set $all $name $s -}}
{{- end -}}
{{- $fleet := dict -}}
{{- $ports := dict -}}
{{- range $name, $s := $all -}}
{{- if $s.enabled -}}
{{- $port := int $s.port -}}
{{- if not $port -}}
{{- fail (printf "services.%s.port is required (its API port, DESIGN §7)" $name) -}}
{{- end -}}
{{- if not $s.team -}}
{{- fail (printf "services.%s.team is required (its owning team, CODEOWNERS)" $name) -}}
{{- end -}}
{{- range $p := list $port (add $port 1000) -}}
{{- if hasKey $ports (toString $p) -}}
{{- fail (printf "services.%s: port %d is already used by %s" $name (int $p) (get $ports (toString $p))) -}}
{{- end -}}
{{- $_ := set $ports (toString $p) $name -}}
{{- end -}}
{{- $full := printf "%s%s" $V.namePrefix $name | trunc 56 | trimSuffix "-" -}}
{{- $_ := set $s "name" $name -}}
{{- $_ := set $s "fullname" $full -}}
{{- $_ := set $s "canaryName" (printf "%s-canary" $full) -}}
{{- $_ := set $s "port" $port -}}
{{- $_ := set $s "adminPort" (add $port 1000) -}}
{{- $_ := set $s "envName" (replace "-" "_" $name | upper) -}}
{{- $_ := set $s "host" (printf "%s.%s.svc.%s" $full $root.Release.Namespace $V.clusterDomain) -}}
{{- $_ := set $s "canaryHost" (printf "%s-canary.%s.svc.%s" $full $root.Release.Namespace $V.clusterDomain) -}}
{{- $_ := set $s "podsName" (printf "%s-pods" $full) -}}
{{- $_ := set $s "canaryPodsName" (printf "%s-canary-pods" $full) -}}
{{- $_ := set $s "podsHost" (printf "%s-pods.%s.svc.%s" $full $root.Release.Namespace $V.clusterDomain) -}}
{{- $_ := set $s "canaryPodsHost" (printf "%s-canary-pods.%s.svc.%s" $full $root.Release.Namespace $V.clusterDomain) -}}
{{- $_ := set $s "imageRepository" ($s.image.repository | default (printf "%s/%s" $V.image.registry $name)) -}}
{{- $_ := set $s "imageTag" (toString ($s.image.tag | default $V.image.tag | default $root.Chart.AppVersion)) -}}
{{- $_ := set $s "imageDigest" ($s.image.digest | default "") -}}
{{- $edge := $V.priorityClasses.enabled | ternary (has $name $V.priorityClasses.edge.services) false -}}
{{- if and $V.priorityClasses.enabled (not $s.priorityClassName) -}}
{{- $_ := set $s "priorityClassName" ($edge | ternary $V.priorityClasses.edge.name $V.priorityClasses.service.name) -}}
{{- end -}}
{{- $_ := set $s "credentialsSecretName" ($s.credentialsSecret | default (replace "{service}" $name $V.secrets.serviceTemplate)) -}}
{{- $_ := set $s "argo" (not (not $s.argoRollout.enabled)) -}}
{{- $_ := set $s "routed" (gt (len $s.routes) 0) -}}
{{- if and $s.canary.enabled $s.argo -}}
{{- fail (printf "services.%s: canary.enabled (gateway canary) and argoRollout.enabled (Argo Rollouts) exclude each other" $name) -}}
{{- end -}}
{{- if and $s.canary.enabled (not $s.canary.image.tag) -}}
{{- fail (printf "services.%s.canary.image.tag is required while canary.enabled is true (the version under test)" $name) -}}
{{- end -}}
{{- $_ := set $s "canaryActive" (and $s.canary.enabled (not $s.argo)) -}}
{{- if and $s.canaryActive (or (eq $name "gateway") (not $s.routed)) -}}
{{- fail (printf "services.%s.canary: a gateway canary needs a service the gateway routes to (routes:); release %s with argoRollout or a rolling update" $name $name) -}}
{{- end -}}
{{- if and $s.uses.kafka (not $V.kafka.brokers) -}}
{{- fail (printf "kafka.brokers is required: services.%s uses Kafka (e.g. --set kafka.brokers=b-1.msk.example:9092,b-2.msk.example:9092)" $name) -}}
{{- end -}}
{{- range $peer := $s.calls -}}
{{- if not (hasKey $all $peer) -}}
{{- fail (printf "services.%s.calls: %q is not a service of this chart" $name $peer) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $fleet $name $s -}}
{{- end -}}
{{- end -}}
{{- /* peers: whom each service calls (enabled ones only); callers: the reverse */ -}}
{{- range $name, $s := $fleet -}}
{{- $peers := list -}}
{{- range $peer := $s.calls -}}
{{- if and (hasKey $fleet $peer) (ne $peer $name) -}}
{{- $peers = append $peers $peer -}}
{{- end -}}
{{- end -}}
{{- if and (or $s.uses.jwks $s.uses.serviceToken) (hasKey $fleet "auth") (ne $name "auth") -}}
{{- $peers = append $peers "auth" -}}
{{- end -}}
{{- if eq $name "gateway" -}}
{{- range $other, $o := $fleet -}}
{{- if and $o.routed (ne $other "gateway") -}}
{{- $peers = append $peers $other -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $s "peers" ($peers | uniq | sortAlpha) -}}
{{- end -}}
{{- range $name, $s := $fleet -}}
{{- $callers := list -}}
{{- range $other, $o := $fleet -}}
{{- if has $name $o.peers -}}
{{- $callers = append $callers $other -}}
{{- end -}}
{{- end -}}
{{- $_ := set $s "callers" $callers -}}
{{- end -}}
{{- toJson $fleet -}}
{{- end -}}

{{/* tc.chart: chart name and version for the helm.sh/chart label */}}
{{- define "tc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* tc.labelValue: a string made safe for a label value (image tags may be long) */}}
{{- define "tc.labelValue" -}}
{{- regexReplaceAll "[^-A-Za-z0-9_.]" (toString .) "_" | trunc 63 | trimSuffix "-" | trimSuffix "_" | trimSuffix "." -}}
{{- end -}}

{{/*
tc.labels: the standard labels of every object of a service. Context: dict root, s, [tag].
*/}}
{{- define "tc.labels" -}}
helm.sh/chart: {{ include "tc.chart" .root }}
app.kubernetes.io/name: {{ .s.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ include "tc.labelValue" (get . "tag" | default .s.imageTag) | quote }}
app.kubernetes.io/component: service
app.kubernetes.io/part-of: techcorp-platform
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
techcorp.io/team: {{ .s.team }}
{{- end -}}

{{/*
tc.platformLabels: the standard labels of an object of the platform as a whole (alerts, the
`helm test` pod, PriorityClasses), owned by the platform team. Context: dict root, name,
component.
*/}}
{{- define "tc.platformLabels" -}}
helm.sh/chart: {{ include "tc.chart" .root }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ include "tc.labelValue" .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: techcorp-platform
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
techcorp.io/team: platform
{{- end -}}

{{/* tc.selectorLabels: what selects every pod of a service (stable and canary). */}}
{{- define "tc.selectorLabels" -}}
app.kubernetes.io/name: {{ .s.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/*
tc.trackSelector: the pods of one track (stable or canary) in the gateway-canary mode; in the
Argo Rollouts mode the controller tells the revisions apart itself (pod-template-hash).
Context: dict root, s, track.
*/}}
{{- define "tc.trackSelector" -}}
{{ include "tc.selectorLabels" . }}
{{- if not .s.argo }}
techcorp.io/track: {{ .track }}
{{- end }}
{{- end -}}

{{/* tc.envValue: a value of an env map as a string */}}
{{- define "tc.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
tc.envData: the non-secret environment of a service (its ConfigMap). Context: dict root, s,
fleet.
*/}}
{{- define "tc.envData" -}}
{{- $root := .root -}}
{{- $s := .s -}}
{{- $env := dict -}}
{{- range $k, $v := $root.Values.platformEnv -}}
{{- $_ := set $env $k (include "tc.envValue" $v) -}}
{{- end -}}
{{- $_ := set $env "SERVICE_NAME" $s.name -}}
{{- $_ := set $env "PORT" (toString $s.port) -}}
{{- $_ := set $env "ADMIN_PORT" (toString $s.adminPort) -}}
{{- $_ := set $env "BIND_ADDR" "0.0.0.0" -}}
{{- $_ := set $env "SHUTDOWN_GRACE_MS" (toString (mul (int $s.shutdown.graceSeconds) 1000)) -}}
{{- $_ := set $env "TMPDIR" "/tmp" -}}
{{- if $s.uses.kafka -}}
{{- $_ := set $env "KAFKA_BROKERS" $root.Values.kafka.brokers -}}
{{- end -}}
{{- if and $s.uses.jwks (hasKey .fleet "auth") (ne $s.name "auth") -}}
{{- $auth := get .fleet "auth" -}}
{{- $_ := set $env "JWKS_URL" (printf "http://%s:%d/.well-known/jwks.json" $auth.host (int $auth.port)) -}}
{{- end -}}
{{- range $peer := $s.peers -}}
{{- $p := get $.fleet $peer -}}
{{- $_ := set $env (printf "%s_URL" $p.envName) (printf "http://%s:%d" $p.host (int $p.port)) -}}
{{- if eq $s.name "gateway" -}}
{{- $_ := set $env (printf "%s_CANARY_URL" $p.envName) (printf "http://%s:%d" $p.canaryHost (int $p.port)) -}}
{{- if $root.Values.gatewayRouting.podEndpoints -}}
{{- $_ := set $env (printf "%s_PODS_URL" $p.envName) (printf "http://%s:%d" $p.podsHost (int $p.port)) -}}
{{- $_ := set $env (printf "%s_CANARY_PODS_URL" $p.envName) (printf "http://%s:%d" $p.canaryPodsHost (int $p.port)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq $s.name "gateway" -}}
{{- $_ := set $env "GATEWAY_CONFIG" "/etc/techcorp/gateway/gateway.json" -}}
{{- $_ := set $env "GATEWAY_METER_SPOOL_DIR" "/var/spool/techcorp/gateway-meter" -}}
{{- end -}}
{{- range $k, $v := $s.env -}}
{{- $_ := set $env $k (include "tc.envValue" $v) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
tc.secretEnv: env entries read from Secrets. Context: dict root, s.
*/}}
{{- define "tc.secretEnv" -}}
{{- $root := .root -}}
{{- $s := .s -}}
{{- $own := $s.credentialsSecretName -}}
{{- if $s.uses.database }}
- name: DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ $own }}, key: DATABASE_URL}}
{{- end }}
{{- if $s.uses.redis }}
- name: REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $own }}, key: REDIS_URL}}
{{- end }}
{{- if $s.uses.serviceToken }}
- name: AUTH_CLIENT_ID
  valueFrom: {secretKeyRef: {name: {{ $own }}, key: AUTH_CLIENT_ID}}
- name: AUTH_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ $own }}, key: AUTH_CLIENT_SECRET}}
{{- end }}
{{- range $key := $s.platformKeys }}
- name: {{ $key }}
  valueFrom: {secretKeyRef: {name: {{ $root.Values.secrets.platform }}, key: {{ $key }}}}
{{- end }}
{{- if and $s.uses.kafka $root.Values.secrets.kafka }}
- name: KAFKA_SASL_USERNAME
  valueFrom: {secretKeyRef: {name: {{ $root.Values.secrets.kafka }}, key: KAFKA_SASL_USERNAME, optional: true}}
- name: KAFKA_SASL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $root.Values.secrets.kafka }}, key: KAFKA_SASL_PASSWORD, optional: true}}
{{- end }}
{{- range $name, $ref := $s.secretEnv }}
- name: {{ $name }}
  valueFrom: {secretKeyRef: {name: {{ get $ref "secret" | default $own }}, key: {{ get $ref "key" | default $name }}{{ if get $ref "optional" }}, optional: true{{ end }}}}
{{- end }}
{{- end -}}

{{/*
tc.gatewayConfig: the gateway's routing file (JSON). Context: dict root, fleet, weights
(false: canary blocks left out, for the checksum that decides whether gateway pods roll).
*/}}
{{- define "tc.gatewayConfig" -}}
{{- $root := .root -}}
{{- $R := $root.Values.gatewayRouting -}}
{{- $plans := dict -}}
{{- range $plan, $p := $R.plans -}}
{{- $q := dict "per_minute" (int $p.per_minute) "per_day" nil -}}
{{- if not (eq (toString $p.per_day) "unlimited") -}}
{{- $_ := set $q "per_day" (int64 $p.per_day) -}}
{{- end -}}
{{- if hasKey $p "burst" -}}
{{- $_ := set $q "burst" (int $p.burst) -}}
{{- end -}}
{{- $_ := set $plans $plan $q -}}
{{- end -}}
{{- $upstreams := list -}}
{{- $routes := list -}}
{{- range $name, $s := .fleet -}}
{{- if and $s.routed (ne $name "gateway") -}}
{{- $u := deepCopy ($s.upstream | default dict) -}}
{{- $_ := set $u "name" $name -}}
{{- $pods := $R.podEndpoints -}}
{{- $_ := set $u "targets" (list (dict "url" (printf ($pods | ternary "${%s_PODS_URL}" "${%s_URL}") $s.envName) "weight" 1)) -}}
{{- if $pods -}}
{{- /* every pod its own target (the headless Service's addresses), checked on its admin /ready */ -}}
{{- $_ := set $u "endpoints" "all" -}}
{{- if not (hasKey $u "health_check") -}}
{{- $_ := set $u "health_check" (dict "interval_ms" 1000) -}}
{{- end -}}
{{- end -}}
{{- if and $s.canaryActive $.withCanary -}}
{{- $_ := set $u "canary" (dict "targets" (list (dict "url" (printf ($pods | ternary "${%s_CANARY_PODS_URL}" "${%s_CANARY_URL}") $s.envName) "weight" 1)) "weight" (int $s.canary.weight)) -}}
{{- end -}}
{{- $upstreams = append $upstreams $u -}}
{{- range $r := $s.routes -}}
{{- $route := deepCopy $r -}}
{{- $_ := set $route "upstream" $name -}}
{{- $routes = append $routes $route -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $cfg := dict "plans" $plans "default_plan" $R.default_plan "ip_rate_limit" $R.ip_rate_limit "cors" $R.cors "trusted_proxies" $R.trusted_proxies -}}
{{- $_ := set $cfg "upstreams" (concat $upstreams $R.extraUpstreams) -}}
{{- $_ := set $cfg "routes" (concat $routes $R.extraRoutes) -}}
{{- $_ := set $cfg "_comment" "Rendered by the techcorp-platform Helm chart from values (gatewayRouting and each service's routes); ${NAME} is expanded by the gateway from its environment." -}}
{{- toPrettyJson $cfg -}}
{{- end -}}

{{/*
tc.pod: the pod template of a service's Deployment, canary Deployment or Rollout.
Context: dict root, s, fleet, track (stable|canary), tag.
*/}}
{{- define "tc.pod" -}}
{{- $root := .root -}}
{{- $s := .s -}}
{{- $sd := $s.shutdown -}}
{{- $grace := add (int $sd.preStopSeconds) (int $sd.graceSeconds) (int $sd.flushSeconds) 5 -}}
metadata:
  labels:
    {{- /* no helm.sh/chart here: a chart upgrade alone must not restart every pod */}}
    {{- include "tc.selectorLabels" (dict "root" $root "s" $s) | nindent 4 }}
    app.kubernetes.io/version: {{ include "tc.labelValue" .tag | quote }}
    app.kubernetes.io/component: service
    app.kubernetes.io/part-of: techcorp-platform
    techcorp.io/team: {{ $s.team }}
    {{- if not $s.argo }}
    techcorp.io/track: {{ .track }}
    {{- end }}
    {{- with $s.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/env: {{ include "tc.envData" (dict "root" $root "s" $s "fleet" .fleet) | sha256sum }}
    {{- if eq $s.name "gateway" }}
    checksum/routes: {{ include "tc.gatewayConfig" (dict "root" $root "fleet" .fleet "withCanary" $root.Values.gatewayRouting.rollOnCanaryChange) | sha256sum }}
    {{- end }}
    {{- with $s.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ $s.fullname }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $grace }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  {{- if $s.topologySpread.enabled }}
  topologySpreadConstraints:
    {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
    - topologyKey: {{ $key }}
      maxSkew: {{ int $s.topologySpread.maxSkew }}
      whenUnsatisfiable: {{ $s.topologySpread.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- include "tc.trackSelector" (dict "root" $root "s" $s "track" $.track) | nindent 10 }}
      {{- if semverCompare ">=1.27-0" $root.Capabilities.KubeVersion.Version }}
      matchLabelKeys: [pod-template-hash]
      {{- end }}
    {{- end }}
  {{- end }}
  {{- with $s.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ $s.name }}
      {{- /* a digest pins the bytes (the tag stays for people and the version label) */}}
      {{- if .digest }}
      image: {{ printf "%s:%s@%s" $s.imageRepository .tag .digest | quote }}
      {{- else }}
      image: {{ printf "%s:%s" $s.imageRepository .tag | quote }}
      {{- end }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      ports:
        - name: http
          containerPort: {{ $s.port }}
          protocol: TCP
        - name: admin
          containerPort: {{ $s.adminPort }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ $s.fullname }}-env
      {{- $secretEnv := include "tc.secretEnv" (dict "root" $root "s" $s) }}
      {{- if or (trim $secretEnv) (and (eq .track "canary") $s.canary.env) }}
      env:
        {{- with trim $secretEnv }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- if eq .track "canary" }}
        {{- range $k, $v := $s.canary.env }}
        - name: {{ $k }}
          value: {{ include "tc.envValue" $v | quote }}
        {{- end }}
        {{- end }}
      {{- end }}
      startupProbe:
        httpGet: {path: /health, port: admin}
        periodSeconds: {{ int $s.probes.startup.periodSeconds }}
        timeoutSeconds: {{ int $s.probes.startup.timeoutSeconds }}
        failureThreshold: {{ int $s.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet: {path: /health, port: admin}
        periodSeconds: {{ int $s.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ int $s.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ int $s.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet: {path: /ready, port: admin}
        periodSeconds: {{ int $s.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ int $s.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ int $s.probes.readiness.failureThreshold }}
      lifecycle:
        preStop:
          {{- if $sd.sleepAction }}
          sleep:
            seconds: {{ int $sd.preStopSeconds }}
          {{- else }}
          exec:
            command: ["/bin/sleep", "{{ int $sd.preStopSeconds }}"]
          {{- end }}
      resources:
        {{- toYaml $s.resources | nindent 8 }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        capabilities:
          drop: [ALL]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if eq $s.name "gateway" }}
        - name: gateway-config
          mountPath: /etc/techcorp/gateway
          readOnly: true
        {{- /* usage records until the broker has them: kept across container restarts */}}
        - name: meter-spool
          mountPath: /var/spool/techcorp/gateway-meter
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if eq $s.name "gateway" }}
    - name: gateway-config
      configMap:
        name: {{ $s.fullname }}-routes
    - name: meter-spool
      emptyDir:
        sizeLimit: 256Mi
    {{- end }}
{{- end -}}
