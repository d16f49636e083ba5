#!/usr/bin/env bats
# Secrets from the environment: `secrets: {HELM.KEY: ENV_VAR}` on a service,
# in defaults or on a shared release. The value reaches helm only in a 0600
# values file that is removed after the command, never on a command line;
# it is never in a log, --json, plan -v, why, an error or the database (its
# keyed hash is, under a salt of the state directory); a new value reruns
# the chart and the release; a missing variable is a catalog error.

load helpers
bats_require_minimum_version 1.5.0

SECRET='s3cr3t-"quoted"\back,slash=x'

setup() {
	fx_setup
	# The service chart renders the password into a Secret and echoes it in
	# its NOTES, as charts do: the places a secret really shows up. A block
	# scalar holds any text (quotes, backslashes) as it is, so the rendered
	# manifest holds the secret byte for byte.
	chart="$WS/local-dev/helm/base-charts/service"
	printf 'db:\n  password: none\n' >>"$chart/values.yaml"
	cat >"$chart/templates/secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: |-
    {{ .Values.db.password }}
EOF
	printf 'Connect as app with password {{ .Values.db.password }}\n' >"$chart/templates/NOTES.txt"
	sed -i 's/^    set: {replicaCount: 1}$/    set: {replicaCount: 1}\n    secrets: {db.password: CORE_API_DB_PASSWORD}/' "$CAT"
	grep -q 'secrets: {db.password: CORE_API_DB_PASSWORD}' "$CAT"
	export CORE_API_DB_PASSWORD="$SECRET"
}

teardown() {
	fake-cluster unblock 2>/dev/null || true
	stop_background
}

# No file under DIR holds the secret, but those named after it (allowed).
no_secret_under() {
	local dir=$1 f
	shift
	while IFS= read -r f; do
		local ok=
		for allowed in "$@"; do [ "$f" = "$allowed" ] && ok=1; done
		[ -n "$ok" ] || { echo "the secret is in $f"; return 1; }
	done < <(grep -rlF -- "$SECRET" "$dir" 2>/dev/null || true)
}

@test "the secret reaches helm in a 0600 values file, never on a command line, removed after" {
	export FUSION_FAKE_BLOCK='^helm (template|upgrade --install) core-api'
	up_in_background '^helm template core-api' --json
	blocked() { [ -n "$(fake-cluster blocked)" ]; }
	wait_until blocked
	file="$STATE/secrets/chart-core-api.yaml"
	[ "$(stat -c %a "$file")" = 600 ]
	[ "$(stat -c %a "$STATE/secrets")" = 700 ]
	[ "$(stat -c %a "$STATE")" = 700 ]
	# as a YAML double-quoted scalar: '\' and '"' escaped
	escaped=${SECRET//\\/\\\\}
	grep -qF -- "\"password\": \"${escaped//\"/\\\"}\"" "$file"
	# the command line (calls.log is each fake's argv) names the file only
	pid=$(fake-cluster blocked | cut -d' ' -f1)
	run ! grep -qF -- "$SECRET" "/proc/$pid/cmdline"
	grep -q "^helm template core-api .* -f $file" "$FUSION_FAKE_STATE/calls.log"
	fake-cluster unblock
	wait_until blocked
	[ -e "$STATE/secrets/release-core-api.yaml" ]
	[ ! -e "$file" ]
	fake-cluster unblock
	wait "$FX_PID"
	[ -z "$(ls -A "$STATE/secrets")" ]
	# helm got it: the manifest holds it, and is private
	grep -qF -- "$SECRET" "$STATE/artifacts/core-api.yaml"
	[ "$(stat -c %a "$STATE/artifacts/core-api.yaml")" = 600 ]
	grep -qF -- "db.password=$SECRET" "$FUSION_FAKE_STATE/releases/fusion/core-api/values"
	run ! grep -qF -- "$SECRET" "$FUSION_FAKE_STATE/calls.log"
}

@test "the secret is nowhere else: logs (helm's NOTES masked), --json, plan -v, why, graph, status, the database" {
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" != *"$SECRET"* ]]
	grep -q "NOTES:" "$STATE/logs/release:core-api.log"
	grep -q "Connect as app with password \*\*\*" "$STATE/logs/release:core-api.log"
	no_secret_under "$STATE" "$STATE/artifacts/core-api.yaml"
	sqlite3 "$STATE/cache.db" "select manifest from node where id='chart:core-api'" | grep -q '^secret:db.password'$'\t''hmac:[0-9a-f]\{32\}$'
	export CORE_API_DB_PASSWORD="new-$SECRET"
	SECRET="new-$SECRET"
	for cmd in "plan -v" "why core-api" "graph --json" "plan --json" "status --json" "inputs chart:core-api"; do
		run fx $cmd
		[ "$status" -eq 0 ]
		[[ "$output" != *"$SECRET"* ]] || { echo "$cmd shows it"; false; }
		[[ "$output" != *"${SECRET#new-}"* ]] || { echo "$cmd shows the old one"; false; }
	done
	run fx why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"secret db.password: *** -> *** (a new value)"* ]]
	run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"chart:core-api"*"secret db.password changed"* ]]
	# helm fails: its error and the log tail fusion shows are masked too
	export FUSION_FAKE_FAIL='^helm upgrade --install core-api'
	run fx up
	[ "$status" -eq 1 ]
	[[ "$output" != *"$SECRET"* ]]
	no_secret_under "$STATE" "$STATE/artifacts/core-api.yaml"
}

# bats test_tags=slow
@test "a new secret reruns the chart and the release, nothing else; the same one reruns nothing" {
	fx up >/dev/null
	export CORE_API_DB_PASSWORD="rotated"
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:core-api release:core-api" ]
	grep -qF "db.password=rotated" "$FUSION_FAKE_STATE/releases/fusion/core-api/values"
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
}

# bats test_tags=slow
@test "a secret the chart renders nowhere still redeploys when it changes (helm keeps it with the release)" {
	rm "$WS/local-dev/helm/base-charts/service/templates/secret.yaml"
	fx up >/dev/null
	export CORE_API_DB_PASSWORD="rotated"
	up_json
	[ "$status" -eq 0 ]
	[[ " $(results ran) " == *" release:core-api "* ]]
	grep -qF "db.password=rotated" "$FUSION_FAKE_STATE/releases/fusion/core-api/values"
}

# bats test_tags=slow
@test "guesses cannot be tested against the database: a keyed hash under a salt of the state directory" {
	fx up >/dev/null
	[ "$(stat -c %a "$STATE/salt")" = 600 ]
	[ "$(stat -c %s "$STATE/salt")" -eq 32 ]
	mac1=$(sqlite3 "$STATE/cache.db" "select manifest from node where id='chart:core-api'" | grep '^secret:')
	# no plain digest of the value is in the database
	for d in "$(printf '%s' "$SECRET" | sha256sum | cut -c1-32)" "$(printf '%s' "$SECRET" | xxhsum -H2 2>/dev/null | cut -c1-32)"; do
		[ -z "$d" ] || run ! grep -qF "$d" "$STATE/cache.db"
	done
	# another state directory has another salt, so another key for the same secret
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/other-state"
	fx up --until chart >/dev/null
	mac2=$(sqlite3 "$FUSION_STATE_DIR/cache.db" "select manifest from node where id='chart:core-api'" | grep '^secret:')
	[ -n "$mac1" ] && [ -n "$mac2" ] && [ "$mac1" != "$mac2" ]
	# ... and the same salt the same key: a copied workspace stays fresh
	unset FUSION_STATE_DIR
	run fx plan --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .stale == 0 and .pending == 0'
}

@test "a missing variable is a catalog error naming it: exit 2, nothing runs" {
	unset CORE_API_DB_PASSWORD
	for cmd in up plan graph; do
		run fx $cmd
		[ "$status" -eq 2 ]
		[[ "$output" =~ service-catalog.yaml:[0-9]+:[0-9]+:\ secret\ \"db.password\"\ of\ \"core-api\":\ the\ environment\ variable\ CORE_API_DB_PASSWORD\ is\ not\ set ]]
	done
	[ "$(calls .)" -eq 0 ]
	# what needs no secret still runs
	run fx up --until build
	[ "$status" -eq 0 ]
	run fx up scriptdash
	[ "$status" -eq 0 ]
}

# bats test_tags=slow
@test "secrets in defaults and on a shared release; the nodes that hold one say so to the shared cache" {
	sed -i 's|^  values: \[../helm/values/common.yaml\]$|  values: [../helm/values/common.yaml]\n  secrets: {api.token: API_TOKEN}|' "$CAT"
	sed -i 's|^  postgresql: {chart: ../helm/shared-services/postgresql, ports: \[5432\]}$|  postgresql: {chart: ../helm/shared-services/postgresql, ports: [5432], secrets: {auth.password: PG_PASSWORD}}|' "$CAT"
	export API_TOKEN=token-1 PG_PASSWORD=pg-1
	up_json
	[ "$status" -eq 0 ]
	for svc in core-api partners-engine scriptdash; do
		grep -qF "api.token=token-1" "$FUSION_FAKE_STATE/releases/fusion/$svc/values"
	done
	grep -qF "auth.password=pg-1" "$FUSION_FAKE_STATE/releases/fusion/postgresql/values"
	run ! grep -rqF "pg-1" "$STATE/logs"
	export PG_PASSWORD=pg-2
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:postgresql release:postgresql" ]
	# graph --json marks every node that holds a secret: the shared cache never takes them
	run fx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.nodes[] | select(.secret) | .id] | sort | join(" ")')" = \
		"chart:core-api chart:partners-engine chart:postgresql chart:scriptdash release:core-api release:partners-engine release:postgresql release:scriptdash" ]
	[ "$(echo "$output" | jq '[.nodes[] | select(.kind == "build" and .secret)] | length')" -eq 0 ]
}

@test "secrets in the catalog: bad variable names, list indices and clashes are errors at their place" {
	sed -i 's/secrets: {db.password: CORE_API_DB_PASSWORD}/secrets: {db.password: 1BAD, "servers[0].token": TOKEN, replicaCount: RC, image.tag: TAG}/' "$CAT"
	run fx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *'"secrets" values name environment variables'*'"1BAD" is none'* ]]
	[[ "$output" == *'"secrets" key "servers[0].token" has a list index'* ]]
	[[ "$output" == *'secret "replicaCount" of "core-api" clashes with "replicaCount"'* ]]
	[[ "$output" == *'secret "image.tag" of "core-api" clashes with "image'* ]]
}
