#!/usr/bin/env bats
# The catalog: every malformed catalog exits 2 before anything runs and names
# file:line:col; good catalogs load (exit 0).
#
# The bad catalogs are in tests/catalogs/bad and point at the fixture
# workspace tests/catalogs/ws (root: ../ws). Big, binary and symlinked ones
# are made here, in the test's temporary directory.

setup() {
	: "${TOP:?TOP must point at the repository}"
	: "${FUSION:?FUSION must point at the fusion binary}"
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export NO_COLOR=1
	WS=$(cd "$TOP/tests/catalogs/ws" && pwd -P)
	cd "$TOP/tests/catalogs/bad"
}

# bad FILE LINE COL MESSAGE: exit 2 and "fusion: FILE:LINE:COL: MESSAGE".
bad() {
	run "$FUSION" -f "$1" graph
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: $1:$2:$3: $4"* ]]
}

# good DIR [ARGS...]: a good catalog, found from DIR, loads.
good() {
	local dir=$1
	shift
	run "$FUSION" -C "$dir" "$@" graph
	echo "$output"
	[ "$status" -eq 0 ]
}

# A copy of the fixture workspace (graph may write state next to the catalog).
copy_ws() {
	cp -a "$TOP/tests/catalogs/ws" "$BATS_TEST_TMPDIR/ws"
	CAT="$BATS_TEST_TMPDIR/ws/local-dev/config/service-catalog.yaml"
}

# --- YAML itself ---

@test "syntax error: libyaml's problem at its mark" {
	bad syntax-error.yaml 8 32 "syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 8, column 21)"
}

@test "tab indentation: syntax error with a hint" {
	bad tabs.yaml 9 1 "syntax error: found character that cannot start any token"
	[[ "$output" == *"hint: YAML does not allow tabs for indentation; use spaces"* ]]
}

@test "not UTF-8: the first bad byte" {
	bad not-utf8.yaml 9 15 "catalog is not valid UTF-8 (byte 0xe9)"
}

@test "binary file: NUL bytes" {
	printf 'version: 1\nservices:\n  a: \0\1\2\3\n' >"$BATS_TEST_TMPDIR/binary.yaml"
	cd "$BATS_TEST_TMPDIR"
	bad binary.yaml 3 6 "catalog contains the control character 0x00 (is it a binary file?)"
}

@test "empty file" {
	bad empty.yaml 1 1 "catalog is empty"
}

@test "only comments" {
	bad only-comments.yaml 1 1 "catalog is empty"
}

@test "top level is not a mapping" {
	bad top-not-mapping.yaml 1 1 "the catalog must be a mapping (of version, workspace, cache, defaults, shared, services and profiles)"
}

@test "two YAML documents" {
	bad multi-document.yaml 9 1 "the catalog must be a single YAML document (a second one starts here)"
}

@test "duplicate key in a mapping" {
	bad duplicate-key.yaml 11 5 'duplicate key "image" (first at line 9, column 5)'
}

@test "duplicate service name" {
	bad duplicate-service.yaml 10 3 'duplicate key "core-api" (first at line 8, column 3)'
}

@test "a key that is not a string" {
	bad key-not-string.yaml 9 7 "keys must be strings"
}

@test "unknown alias" {
	bad unknown-alias.yaml 9 13 'unknown alias "*common" (no anchor "&common" before it)'
}

@test "alias bomb: refused, never expanded" {
	bad alias-bomb.yaml 10 38 "catalog expands to too many entries (aliases repeated too often?)"
}

@test "nesting 10,000 deep, flow style" {
	awk 'BEGIN { for (i = 0; i < 10000; i++) printf "["; for (i = 0; i < 10000; i++) printf "]"; print "" }' \
		>"$BATS_TEST_TMPDIR/deep.yaml"
	cd "$BATS_TEST_TMPDIR"
	bad deep.yaml 1 65 "nesting is too deep (more than 64 levels)"
}

@test "nesting 10,000 deep, block style" {
	awk 'BEGIN { for (i = 0; i < 10000; i++) printf "%*sa:\n", i, "" }' >"$BATS_TEST_TMPDIR/deep.yaml"
	cd "$BATS_TEST_TMPDIR"
	bad deep.yaml 65 65 "nesting is too deep (more than 64 levels)"
}

@test "20 MB of random bytes" {
	head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/junk.yaml"
	cd "$BATS_TEST_TMPDIR"
	run "$FUSION" -f junk.yaml graph
	[ "$status" -eq 2 ]
	[[ "$output" =~ fusion:\ junk\.yaml:[0-9]+:[0-9]+:\ catalog\ (is\ not\ valid\ UTF-8|contains\ the\ control\ character) ]]
}

@test "20 MB of text junk" {
	yes 'key: value: more: junk' | head -c 20000000 >"$BATS_TEST_TMPDIR/junk.yaml"
	cd "$BATS_TEST_TMPDIR"
	bad junk.yaml 1 11 "syntax error: mapping values are not allowed in this context"
}

@test "30 MB, a million entries: stops at the node limit" {
	awk 'BEGIN { print "version: 1\nservices:"; for (i = 0; i < 1200000; i++) printf "  s%d: x\n", i }' \
		>"$BATS_TEST_TMPDIR/big.yaml"
	cd "$BATS_TEST_TMPDIR"
	bad big.yaml 500000 12 "catalog is too large (more than 1000000 YAML nodes)"
}

@test "over 64 MiB: refused before reading" {
	truncate -s 65M "$BATS_TEST_TMPDIR/huge.yaml"
	cd "$BATS_TEST_TMPDIR"
	run "$FUSION" -f huge.yaml graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: huge.yaml: catalog is too large (68157440 bytes; the limit is 64 MiB)"* ]]
}

# A catalog that is not a regular file is refused before it is read: from
# /dev/zero the read would never end, from a FIFO the open would wait for a
# writer forever. The timeout only keeps a broken fusion from hanging the suite.
@test "/dev/zero as the catalog: refused, nothing read" {
	run timeout 120 "$FUSION" -f /dev/zero graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: /dev/zero: the catalog is a character device, not a regular file"* ]]
}

@test "a FIFO as the catalog: refused, never waits for a writer" {
	mkfifo "$BATS_TEST_TMPDIR/fifo.yaml"
	cd "$BATS_TEST_TMPDIR"
	run timeout 120 "$FUSION" -f fifo.yaml graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: fifo.yaml: the catalog is a FIFO, not a regular file"* ]]
}

# --- the schema ---

@test "version missing" {
	bad version-missing.yaml 1 1 'missing "version" (this fusion reads catalogs with "version: 1")'
}

@test "version unsupported" {
	bad version-unsupported.yaml 1 10 'unsupported catalog version "2" (this fusion reads version 1)'
}

@test "unknown top-level key, with a suggestion" {
	bad unknown-top-key.yaml 7 1 'unknown key "servics" at the top level (did you mean "services"?)'
}

@test "unknown service key, with a suggestion" {
	bad unknown-key.yaml 9 5 'unknown key "imgae" in service "core-api" (did you mean "image"?)'
}

@test "unknown build key" {
	bad build-unknown-key.yaml 10 7 'unknown key "contxt" in "build" of service "core-api" (did you mean "context"?)'
}

@test "unknown cluster key" {
	bad cluster-unknown-key.yaml 5 5 'unknown key "profil" in "workspace.cluster" (did you mean "profile"?)'
}

@test "a service key in defaults" {
	bad defaults-repo.yaml 5 3 'key "repo" is not allowed in "defaults" (defaults take only chart, version, values, set, needs, build, secrets, image_values and timeout)'
}

@test "build in a shared release" {
	bad shared-with-build.yaml 9 5 'key "build" is not allowed in shared release "kafka" (shared releases take only chart, version, values, set, needs, ports, secrets, images, image_values, enabled and timeout)'
}

@test "ports: numbers from 1 to 65535, or LOCAL:SERVICE" {
	bad ports-invalid.yaml 9 19 '"ports" entries are ports from 1 to 65535: 8080, or "8080:80" for LOCAL:SERVICE, not "8080:http"'
	bad ports-invalid.yaml 9 32 '"ports" entries are ports from 1 to 65535: 8080, or "8080:80" for LOCAL:SERVICE, not "70000"'
	[ "$(echo "$output" | grep -c 'ports')" -eq 2 ]
}

@test "ports: a local port forwarded twice" {
	bad ports-twice.yaml 11 13 'local port 5432 is forwarded twice (also for "postgresql" at line 6, column 80)'
}

@test "ports: a list, and not in defaults" {
	bad ports-not-list.yaml 5 3 'key "ports" is not allowed in "defaults" (defaults take only chart, version, values, set, needs, build, secrets, image_values and timeout)'
	bad ports-not-list.yaml 8 12 '"ports" must be a list of ports (8080) or "LOCAL:SERVICE" pairs ("8080:80")'
}

@test "jobs is not a number" {
	bad jobs-not-integer.yaml 4 9 '"jobs" must be a positive integer'
}

@test "jobs is zero" {
	bad jobs-zero.yaml 2 32 '"jobs" must be a positive integer'
}

@test "values is not a list" {
	bad values-not-list.yaml 9 13 '"values" must be a list of strings'
}

@test "a values entry is not a string" {
	bad values-item-not-string.yaml 11 9 '"values" must be a list of strings'
}

@test "needs is not a list" {
	bad needs-not-list.yaml 9 12 '"needs" must be a list'
}

@test "a service that is not a mapping" {
	bad service-not-mapping.yaml 8 13 'service "core-api" must be a mapping'
}

@test "a list in set" {
	bad set-list-value.yaml 11 14 '"set" value "hosts" must be a string or a mapping (put lists in a values file)'
}

# helm reads a --set key up to an unescaped '=' and a pair up to an
# unescaped ',': such a key would set other values than the one written.
@test "set keys helm would read as several values or a bad path" {
	bad set-key-injection.yaml 8 7 "\"set\" key \"debug=true,replicaCount\" contains '=', which ends the key for helm (write \\= for a plain one)"
	[[ "$output" == *"set-key-injection.yaml:9:7: \"set\" key \"a,b\" contains ',', which starts another value for helm"* ]]
	[[ "$output" == *"set-key-injection.yaml:10:7: \"set\" key \"servers[x].port\" has a list index that is not a number in [ ]"* ]]
	[[ "$output" == *"set-key-injection.yaml:11:7: \"set\" key \"image..tag\" has an empty part"* ]]
	# an escaped dot and a list index are helm's own syntax: accepted
	[[ "$output" != *":12:7:"* ]]
}

# A build arg reaches the builder as one argv element NAME=VALUE, split at
# the first '='.
@test "build arg names with '=' or white space" {
	bad build-arg-name.yaml 9 9 "build arg name \"RUBY_VERSION=3.3 --target\" must not be empty or hold '=', white space or control characters"
	[[ "$output" == *"build-arg-name.yaml:10:9: build arg name \"WITH SPACE\""* ]]
	[[ "$output" != *"GOOD_NAME"* ]]
}

@test "invalid provider, with a suggestion" {
	bad provider-invalid.yaml 4 23 '"provider" must be minikube, kind, existing or k3d, not "minikub" (did you mean "minikube"?)'
}

@test "invalid builder" {
	bad builder-invalid.yaml 4 12 '"builder" must be podman or docker, not "buildah"'
}

@test "provider existing without registry" {
	bad existing-no-registry.yaml 5 15 'provider "existing" needs "registry" (images are pushed there)'
}

@test "cache.remote with another scheme" {
	bad remote-bad-scheme.yaml 4 11 '"remote" must be an http://, https:// or file:// URL, not "s3://bucket/fusion"'
}

@test "cache.push not a boolean" {
	bad push-not-bool.yaml 3 15 '"push" must be true or false'
}

@test "cache.header: a header's name, and only with header_env" {
	bad cache-header-bad.yaml 4 11 '"header" must be an HTTP header'"'"'s name (letters, digits and -), not "X Token"'
	bad cache-header-no-env.yaml 3 17 '"header" needs "header_env": the environment variable that holds its value (never the value itself)'
	bad cache-header-env-bad.yaml 3 21 '"header_env" must name an environment variable (letters, digits and _), not "$TOKEN"'
}

@test "cache timeouts: whole seconds in range" {
	bad cache-timeouts-bad.yaml 3 18 '"timeout" must be a whole number from 1 to 3600'
	bad cache-timeouts-bad.yaml 3 38 '"connect_timeout" must be a whole number from 1 to 600'
}

@test "invalid namespace" {
	bad namespace-invalid.yaml 2 37 'namespace "Dev_Env" is not a valid Kubernetes namespace'
}

@test "invalid image name" {
	bad image-invalid.yaml 9 12 'image "Core_API" is not a valid repository name'
}

@test "shared release without a chart" {
	bad shared-no-chart.yaml 4 3 'shared release "postgresql" has no chart'
}

# --- names and needs ---

@test "name with uppercase letters (and only that error)" {
	bad name-uppercase.yaml 8 3 "name \"Core-API\" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)"
	[ "$(grep -c 'fusion: ' <<<"$output")" -eq 1 ]
}

@test "name ending in a hyphen" {
	bad name-bad-end.yaml 8 3 'name "core-api-" is not a DNS-1123 label'
}

@test "name of 54 characters" {
	bad name-too-long.yaml 8 3 'name "a-name-that-is-fifty-four-characters-long-012345678901" is too long (54 characters; Helm release names are at most 53)'
}

@test "a name both a service and a shared release" {
	bad name-both.yaml 9 3 '"postgresql" is both a service and a shared release (first at line 6, column 3)'
}

@test "needs names nothing, with a suggestion" {
	bad needs-unknown.yaml 9 13 '"needs" names "postgres", which is not a service or shared release (did you mean "postgresql"?)'
}

@test "a mistake in defaults is reported once, not per service" {
	bad defaults-needs-unknown.yaml 6 11 '"needs" names "postgress", which is not a service or shared release (did you mean "postgresql"?)'
	bad defaults-needs-unknown.yaml 5 12 "values file $WS/local-dev/helm/values/missing.yaml does not exist"
	[ "$(grep -c 'fusion: ' <<<"$output")" -eq 2 ]
}

@test "cycle of three" {
	bad cycle-3.yaml 8 22 "dependency cycle: core-api -> scriptdash -> partners-engine -> core-api"
}

@test "a service that needs itself" {
	bad self-need.yaml 9 25 "dependency cycle: core-api -> core-api"
}

# --- files ---

@test "missing repo with git: up refuses it with a hint to clone; graph shows it missing" {
	run "$FUSION" -f missing-repo.yaml up
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: missing-repo.yaml:8:3: repo $WS/billing of service \"billing\" does not exist"* ]]
	[[ "$output" == *'hint: run "fusion clone" to clone it'* ]]
	run "$FUSION" -f missing-repo.yaml graph
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:billing "*"missing"* ]]
}

@test "repo without Containerfile or Dockerfile" {
	bad missing-containerfile.yaml 8 3 "no Containerfile or Dockerfile in the build context $WS/no-build (set \"build.file\" for another name)"
}

@test "a context of its own without a Containerfile: the error points at the context" {
	bad context-without-containerfile.yaml 8 16 "no Containerfile or Dockerfile in the build context $WS/core-api/src (set \"build.file\" for another name)"
}

@test "build.file is relative to the build context, not to the repo" {
	bad file-relative-to-repo.yaml 9 13 "build file $WS/core-api/src/Containerfile.dev does not exist"
}

@test "bootstrap's keys: driver is minikube's, start_args not for existing clusters" {
	bad driver-with-kind.yaml 6 13 '"driver" is minikube'"'"'s (minikube start --driver); provider kind has none'
	bad start-args-existing.yaml 7 17 '"start_args": fusion does not start a cluster of provider existing'
}

@test "missing build file" {
	bad missing-build-file.yaml 9 19 "build file $WS/core-api/Containerfile.prod does not exist"
}

@test "missing build context" {
	bad context-missing.yaml 10 16 "build context $WS/core-api/docker does not exist"
}

@test "missing chart" {
	bad missing-chart.yaml 9 12 "chart $WS/local-dev/helm/base-charts/servce does not exist"
}

@test "chart directory without Chart.yaml" {
	bad chart-without-chart-yaml.yaml 9 12 "chart $WS/local-dev/helm/not-a-chart has no Chart.yaml"
}

@test "missing values file (the one that exists is fine)" {
	bad missing-values.yaml 9 57 "values file $WS/local-dev/helm/values/nope.yaml does not exist"
	[ "$(grep -c 'fusion: ' <<<"$output")" -eq 1 ]
}

@test "missing workspace root" {
	bad root-missing.yaml 2 19 "workspace root $(dirname "$WS")/no-such-ws does not exist"
}

@test "a values path escaping the root through .." {
	bad escape-dotdot.yaml 9 14 "values file $(dirname "$WS")/bad/escape-dotdot.yaml is outside the workspace root $WS"
}

@test "a repo escaping the root through .." {
	bad escape-repo.yaml 9 11 "repo $(dirname "$WS")/bad is outside the workspace root $WS"
}

@test "a repo escaping the root through a symlink" {
	copy_ws
	t=$(cd "$BATS_TEST_TMPDIR" && pwd -P)
	mkdir -p "$t/outside"
	printf 'FROM scratch\n' >"$t/outside/Containerfile"
	ln -s ../outside "$t/ws/linked"
	cat >"$t/ws/local-dev/config/escape.yaml" <<'EOF'
version: 1
workspace: {root: ../..}
defaults: {chart: ../helm/base-charts/service}
services:
  core-api: {}
  linked: {}
EOF
	cd "$t/ws/local-dev/config"
	bad escape.yaml 6 3 "repo $t/ws/linked resolves to $t/outside, outside the workspace root $t/ws"
}

@test "a values file escaping the root through a symlink" {
	copy_ws
	t=$(cd "$BATS_TEST_TMPDIR" && pwd -P)
	printf 'a: 1\n' >"$t/secret.yaml"
	ln -s ../../../../secret.yaml "$t/ws/local-dev/helm/values/secret.yaml"
	cat >"$t/ws/local-dev/config/escape.yaml" <<'EOF'
version: 1
workspace: {root: ../..}
defaults: {chart: ../helm/base-charts/service}
services:
  core-api:
    values: [../helm/values/core-api.yaml, ../helm/values/secret.yaml]
EOF
	cd "$t/ws/local-dev/config"
	bad escape.yaml 6 44 "values file $t/ws/local-dev/helm/values/secret.yaml resolves to $t/secret.yaml, outside the workspace root $t/ws"
}

# --- reporting ---

@test "every problem is reported, not just the first" {
	run "$FUSION" -f many-errors.yaml graph
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *'many-errors.yaml:7:1: unknown key "workspace2" at the top level (did you mean "workspace"?)'* ]]
	[[ "$output" == *'many-errors.yaml:10:5: unknown key "imgae" in service "core-api" (did you mean "image"?)'* ]]
	[[ "$output" == *'many-errors.yaml:11:13: "needs" names "postgres"'* ]]
	[[ "$output" == *'many-errors.yaml:13:13: "values" must be a list of strings'* ]]
	[ "$(grep -c 'fusion: ' <<<"$output")" -eq 4 ]
}

@test "at most 50 messages, then one line says there are more" {
	{
		echo "version: 1"
		echo "services:"
		for i in $(seq 1 80); do echo "  Bad$i: {}"; done
	} >"$BATS_TEST_TMPDIR/many.yaml"
	cd "$BATS_TEST_TMPDIR"
	run "$FUSION" -f many.yaml graph
	[ "$status" -eq 2 ]
	[ "$(grep -c 'fusion: many.yaml:' <<<"$output")" -eq 51 ]
	[[ "$output" == *"fusion: many.yaml: too many errors (more than 50), not showing the rest"* ]]
}

@test "no catalog found" {
	cd "$BATS_TEST_TMPDIR"
	run "$FUSION" graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"fusion: no catalog found (looked for fusion.yaml and config/service-catalog.yaml from $(pwd -P) upwards; use -f FILE)"* ]]
}

@test "-f of a file that does not exist" {
	run "$FUSION" -f nosuch.yaml graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"nosuch.yaml"*"No such file or directory"* ]]
}

# --- good catalogs ---

@test "good: the fixture workspace, found from a subdirectory" {
	copy_ws
	mkdir -p "$BATS_TEST_TMPDIR/ws/local-dev/helm/values/deeper"
	good "$BATS_TEST_TMPDIR/ws/local-dev/helm/values/deeper"
}

@test "good: -f with the path relative to -C" {
	copy_ws
	good "$BATS_TEST_TMPDIR/ws/local-dev" -f config/service-catalog.yaml
}

@test "good: fusion.yaml with nothing but a version" {
	echo "version: 1" >"$BATS_TEST_TMPDIR/fusion.yaml"
	good "$BATS_TEST_TMPDIR"
}

@test "good: anchors, aliases and merge keys" {
	copy_ws
	cat >"$BATS_TEST_TMPDIR/ws/fusion.yaml" <<'EOF'
version: 1
defaults:
  chart: &chart local-dev/helm/base-charts/service
shared:
  postgresql: {chart: local-dev/helm/shared-services/postgresql}
services:
  core-api: &svc
    needs: [postgresql]
    set: &set {replicaCount: 1, image: {pullPolicy: Never}}
  scriptdash:
    <<: *svc
    chart: *chart
    set: {<<: *set, replicaCount: 2}
EOF
	good "$BATS_TEST_TMPDIR/ws"
}

@test "good: a generated 1,000-service workspace" {
	"$TOP/tests/bench/gen-workspace" "$BATS_TEST_TMPDIR/big" 1000 1
	good "$BATS_TEST_TMPDIR/big/local-dev"
}
