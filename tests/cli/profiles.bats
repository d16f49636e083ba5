#!/usr/bin/env bats
# Profiles: named overlays of the catalog (--profile, FUSION_PROFILE), the
# resolved catalog (`fusion config`), `enabled: false`, and switching
# profiles and back without redoing what a key already made.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	fx_setup
	cat >>"$CAT" <<'YAML'

profiles:
  ci:
    workspace:
      cluster: {registry: registry.example:5000}
    services:
      core-api:
        build: {args: {RUBY_VERSION: "3.4"}}
        set: {replicaCount: 2}
        values: [../helm/values/scriptdash.yaml]
  quiet:
    services:
      scriptdash: {enabled: false}
  two:
    services:
      core-api:
        set: {replicaCount: 3}
YAML
}

@test "a profile merges maps, replaces scalars and lists; the rest stays" {
	run fx --profile ci config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.profiles == ["ci"]'
	echo "$output" | jq -e '.workspace.cluster.registry == "registry.example:5000"'
	echo "$output" | jq -e '.workspace.cluster.provider == "minikube"'
	# build.args merged: RUBY_VERSION replaced
	echo "$output" | jq -e '.services["core-api"].build.args.RUBY_VERSION == "3.4"'
	echo "$output" | jq -e '.services["core-api"].build.target == "dev"'
	# set merged key by key
	echo "$output" | jq -e '.services["core-api"].set.replicaCount == "2"'
	# the service's own list replaced (defaults' values still come first)
	echo "$output" | jq -e '.services["core-api"].values | map(split("/") | last) == ["common.yaml", "scriptdash.yaml"]'
	run fx config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.profiles == [] or .profiles == null'
	echo "$output" | jq -e '.services["core-api"].build.args.RUBY_VERSION == "3.3"'
	echo "$output" | jq -e '.services["core-api"].values | map(split("/") | last) == ["common.yaml", "core-api.yaml"]'
}

@test "profiles apply in order; FUSION_PROFILE is a comma-separated list; --profile wins" {
	run fx --profile ci --profile two config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.services["core-api"].set.replicaCount == "3"'
	run fx --profile two --profile ci config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.services["core-api"].set.replicaCount == "2"'
	FUSION_PROFILE=ci,two run fx config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.profiles == ["ci", "two"]'
	FUSION_PROFILE=ci,two run fx --profile quiet config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.profiles == ["quiet"]'
}

@test "config --json is JSON only; --profile is global (before or after the command, =NAME); help config is config --help" {
	local form
	for form in "--profile ci config --json" "config --json --profile ci" "--json config --profile=ci"; do
		# shellcheck disable=SC2086 # the options as written
		run --separate-stderr fx $form
		[ "$status" -eq 0 ]
		json_only
		[ "$(wc -l <<<"$output")" -eq 1 ]
		echo "$output" | jq -e '.profiles == ["ci"]'
	done
	run --separate-stderr fx config --profile
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--profile needs an argument (NAME)"* ]]
	run --separate-stderr "$FUSION" config --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: fusion config [--json]"* && "$output" == *"--json: "* ]]
	want=$output
	run --separate-stderr "$FUSION" help config
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	run --separate-stderr "$FUSION" --help
	[ "$status" -eq 0 ]
	grep -qE '^  --profile NAME ' <<<"$output"
	grep -qE '^  config \[--json\]$' <<<"$output"
}

@test "fusion config's YAML is a catalog that gives the same graph" {
	run fx --profile ci config
	[ "$status" -eq 0 ]
	[[ "$output" == *"with profile ci"* ]]
	printf '%s\n' "$output" >"$WS/local-dev/config/resolved.yaml"
	run "$FUSION" -f "$WS/local-dev/config/resolved.yaml" config --json
	[ "$status" -eq 0 ]
	a=$(echo "$output" | jq -S 'del(.profiles)')
	b=$(fx --profile ci config --json | jq -S 'del(.profiles)')
	[ "$a" = "$b" ]
}

@test "fusion config keeps the chart forms, their versions, image_values and an umbrella's images" {
	local d=$BATS_TEST_TMPDIR/forms
	mkdir -p "$d/chart"
	printf 'apiVersion: v2\nname: shop\nversion: 0.1.0\n' >"$d/chart/Chart.yaml"
	cat >"$d/fusion.yaml" <<'CAT'
version: 1
workspace: {root: .}
cache: {remote: "file:///nonexistent/cache", max_blob_mib: 12}
defaults: {chart: chart}
shared:
  shop:
    chart: chart
    images: {web: {}, api: {img.ref: "{ref}"}}
    image_values: {images.repository: "{registry}", images.tag: "{tag}"}
  redis: {chart: "oci://registry.example/charts/redis", version: "^19.6"}
  kafka: {chart: {repo: "https://charts.example/stable", name: kafka}, version: "31.0.0"}
services:
  web: {}
  api: {}
  solo: {image_values: {image.ref: "{ref}"}}
CAT
	run "$FUSION" -f "$d/fusion.yaml" config
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$d/resolved.yaml"
	run "$FUSION" -f "$d/resolved.yaml" config --json
	[ "$status" -eq 0 ]
	a=$(echo "$output" | jq -S .)
	b=$("$FUSION" -f "$d/fusion.yaml" config --json | jq -S .)
	[ "$a" = "$b" ]
	echo "$a" | jq -e '.shared.kafka.chart == {"repo": "https://charts.example/stable", "name": "kafka"} and .shared.kafka.version == "31.0.0"'
	echo "$a" | jq -e '.shared.redis.version == "^19.6" and .shared.shop.images.api == {"img.ref": "{ref}"} and .shared.shop.images.web == {}'
	echo "$a" | jq -e '(.services.web | has("chart") | not) and .services.solo.image_values == {"image.ref": "{ref}"}'
	echo "$a" | jq -e '.cache.max_blob_mib == 12'
}

@test "an unknown profile is an error with did-you-mean (exit 2)" {
	run fx --profile cii graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"service-catalog.yaml:"*": unknown profile \"cii\" (did you mean \"ci\"?)"* ]]
	FUSION_PROFILE=nothing-like-it run fx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown profile \"nothing-like-it\" (the catalog's profiles: ci, quiet, two)"* ]]
}

@test "a mistake in a profile is reported at its place, selected or not" {
	line=$(($(wc -l <"$CAT") + 1))
	cat >>"$CAT" <<'YAML'
  broken:
    servics: {}
    defaults:
      set: {"a..b": 1}
YAML
	run fx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"service-catalog.yaml:$((line + 1)):5: unknown key \"servics\" in profile \"broken\" (did you mean \"services\"?)"* ]]
	[[ "$output" == *"service-catalog.yaml:$((line + 3)):13: \"set\" key \"a..b\" has an empty part"* ]]
	run fx --profile broken graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"service-catalog.yaml:$((line + 3)):13: \"set\" key \"a..b\""* ]]
}

@test "enabled: false leaves an entry out; needing it is an error" {
	run fx --profile quiet graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '[.nodes[] | select(.id | endswith(":scriptdash"))] | length')" -eq 0 ]
	run fx --profile quiet config --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.disabled == ["scriptdash"] and (.services | has("scriptdash") | not)'
	run fx --profile quiet up scriptdash
	[ "$status" -eq 2 ]
	[[ "$output" == *"\"scriptdash\" is disabled"* ]]
	cat >>"$CAT" <<'YAML'
  needy:
    services:
      postgresql-less: {}
    shared:
      postgresql: {enabled: false}
YAML
	run fx --profile needy graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"\"needs\" names \"postgresql\", which is disabled (\"enabled: false\")"* ]]
}

@test "graph, plan and why use the profile" {
	fx up >/dev/null
	run fx --profile ci plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:core-api"*"RUBY_VERSION"* ]]
	[[ "$output" != *"build:scriptdash"* ]]
	run fx --profile ci why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"RUBY_VERSION: 3.3 -> 3.4"* ]]
	[ "$(fx --profile ci graph --json | jq -r '.nodes[] | select(.id=="build:core-api") | .state')" = stale ]
	[ "$(state_of build:core-api)" = fresh ]
}

@test "switching profiles and back rebuilds nothing; builds alone: a no-op" {
	run fx up --until build --json
	[ "$status" -eq 0 ]
	run fx --profile ci up --until build --json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:core-api" ]
	reset_calls
	run fx up --until build --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .ran == 0 and .failed == 0'
	[ "$(calls 'podman build')" -eq 0 ]
	# and the whole way: back on the first profile, only what the cluster
	# holds once (the release, its chart and load) is done again
	fx up >/dev/null
	fx --profile ci up >/dev/null
	reset_calls
	run fx up --json
	[ "$status" -eq 0 ]
	[ "$(calls 'podman build')" -eq 0 ]
	[[ " $(results ran) " != *" build:"* ]]
	[[ " $(results ran) " == *" release:core-api "* ]]
}
