#!/usr/bin/env bats
# The CI path (README, "What CI runs"): `--until KIND` keeps KIND and the
# kinds its nodes take inputs from, so `--until chart` builds and renders
# and needs no cluster. The README's CI job runs here as the README has it,
# on a runner with no cluster at all: the fake cluster is deleted, so any
# kubectl, minikube or helm call that needs it would fail.

load helpers

setup() {
	fx_setup
	"$FAKES/fake-cluster" delete
	reset_calls
	# The job's shared cache: a directory, named in the catalog as the
	# README's team catalog names its server.
	SHARED=$BATS_TEST_TMPDIR/shared
	printf 'cache:\n  remote: file://%s\n' "$SHARED" >>"$CAT"
	ln -sf "$FUSION" "$BATS_TEST_TMPDIR/bin/fusion"
}

# The step of the README's workflow that runs fusion, as written there.
ci_step() {
	sed -n 's/^        run: \(fusion up .*\)$/\1/p' "$TOP/README.md"
}

# The nodes of the events of kind $1 in fusion.jsonl, sorted, on one line.
nodes_of() {
	jq -r "select(.event==\"$1\") | .node" "$WS/local-dev/fusion.jsonl" | sort | tr '\n' ' ' |
	    sed 's/ $//'
}

@test "the README's CI job succeeds with no cluster and pushes builds and charts" {
	step=$(ci_step)
	[ "$step" = "fusion up --until chart --push --remote-required --json >fusion.jsonl" ]
	cd "$WS/local-dev"
	run bash -c "$step"
	[ "$status" -eq 0 ]
	jq -e . fusion.jsonl >/dev/null	# every line is JSON
	jq -e 'select(.event=="summary") | .failed == 0 and .skipped == 0' fusion.jsonl
	builds_and_charts="build:core-api build:partners-engine build:scriptdash chart:core-api chart:partners-engine chart:postgresql chart:scriptdash"
	[ "$(nodes_of finish)" = "$builds_and_charts" ]
	[ "$(jq -r 'select(.event=="finish") | .result' fusion.jsonl | sort -u)" = ran ]
	# not one load or release was even considered
	run grep -E '"(load|release):' fusion.jsonl
	[ "$status" -eq 1 ]
	# everything that ran is in the shared cache: 3 builds and 4 charts
	[ "$(ls "$SHARED/ac" | wc -l)" -eq 7 ]
	[ "$(ls "$SHARED/cas" | wc -l)" -eq 7 ]
	# no cluster tool was asked anything; helm only rendered
	[ "$(calls kubectl)" -eq 0 ]
	[ "$(calls minikube)" -eq 0 ]
	[ "$(calls kind)" -eq 0 ]
	[ "$(calls helm)" -eq 4 ]
	[ "$(calls 'helm template')" -eq 4 ]
	# and the job's second run has nothing to do, still without a cluster
	run bash -c "$step"
	[ "$status" -eq 0 ]
	jq -e 'select(.event=="summary") | .ran == 0 and .fresh == 7' fusion.jsonl
	[ "$(calls kubectl)" -eq 0 ]
}

@test "plan --until KIND lists KIND and what it takes inputs from, never a load for a chart" {
	run fx plan --until chart
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:core-api"* && "$output" == *"chart:postgresql"* ]]
	[[ "$output" != *"load:"* && "$output" != *"release:"* ]]
	run fx plan --until load --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r 'select(.event=="plan") | .node' | sed 's/:.*//' | sort -u | tr '\n' ' ')" = "build load " ]
	run fx graph --json --until chart
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r '[.nodes[].kind] | unique | join(" ")')" = "build chart" ]
	[ "$(calls kubectl)" -eq 0 ]
}

@test "--until names the kinds it knows when it does not know one" {
	run fx plan --until render
	[ "$status" -eq 2 ]
	[[ "$output" == *'--until: unknown node kind "render" (build, load, fetch, chart or release)'* ]]
	run fx up --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"KIND is build, load, fetch, chart or release"* ]]
}
