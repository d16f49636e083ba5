#!/usr/bin/env bats
# The graph: nodes and edges as in docs/DESIGN.md ("The graph"), selection,
# DOT, JSON.

load helpers

setup() {
	fx_setup
}

@test "example: the node set" {
	run fx graph --json
	[ "$status" -eq 0 ]
	got=$(echo "$output" | jq -r '.nodes[].id' | sort | tr '\n' ' ')
	want="build:core-api build:partners-engine build:scriptdash chart:core-api chart:partners-engine chart:postgresql chart:scriptdash load:core-api load:partners-engine load:scriptdash release:core-api release:partners-engine release:postgresql release:scriptdash "
	[ "$got" = "$want" ]
}

@test "example: the edge set, needs edges order-only" {
	run fx graph --json
	[ "$status" -eq 0 ]
	got=$(echo "$output" | jq -r '.edges[] | "\(.[0])>\(.[1])"' | sort | tr '\n' ' ')
	want=""
	for s in core-api partners-engine scriptdash; do
		want="$want build:$s>chart:$s build:$s>load:$s chart:$s>release:$s load:$s>release:$s"
	done
	want="$want chart:postgresql>release:postgresql release:core-api>release:partners-engine release:postgresql>release:core-api release:postgresql>release:partners-engine release:postgresql>release:scriptdash"
	want=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$got" = "$want" ]
	order=$(echo "$output" | jq -r '.order[] | "\(.[0])>\(.[1])"' | sort | tr '\n' ' ')
	[ "$order" = "release:core-api>release:partners-engine release:postgresql>release:core-api release:postgresql>release:partners-engine release:postgresql>release:scriptdash " ]
}

@test "every node has kind, target, state and reason fields" {
	run fx graph --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'all(.nodes[]; has("id") and has("kind") and has("target") and has("state") and has("reason"))'
	echo "$output" | jq -e '[.nodes[] | select(.id=="build:core-api")][0] | .kind=="build" and .target=="core-api"'
}

@test "before any run: builds and shared charts stale, the rest pending" {
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:core-api build:partners-engine build:scriptdash chart:postgresql" ]
	run state_of release:core-api
	[ "$status" -eq 0 ]
	[ "$output" = "pending" ]
}

@test "selection: graph SVC is SVC and everything it needs" {
	run fx graph --json scriptdash
	[ "$status" -eq 0 ]
	got=$(echo "$output" | jq -r '.nodes[].id' | sort | tr '\n' ' ')
	[ "$got" = "build:scriptdash chart:postgresql chart:scriptdash load:scriptdash release:postgresql release:scriptdash " ]
	run fx graph --json partners-engine
	[ "$status" -eq 0 ]
	got=$(echo "$output" | jq -r '.nodes[].id' | sort | tr '\n' ' ')
	[[ "$got" == *"release:core-api"* ]]
	[[ "$got" == *"build:core-api"* ]]
	[[ "$got" != *"scriptdash"* ]]
}

@test "selection: a node id selects that node and what it depends on" {
	run fx graph --json chart:core-api
	[ "$status" -eq 0 ]
	got=$(echo "$output" | jq -r '.nodes[].id' | sort | tr '\n' ' ')
	[ "$got" = "build:core-api chart:core-api " ]
}

@test "--dot is valid Graphviz: dot renders it, services are clusters" {
	fx graph --dot >"$BATS_TEST_TMPDIR/g.dot"
	run dot -Tsvg "$BATS_TEST_TMPDIR/g.dot" -o "$BATS_TEST_TMPDIR/g.svg"
	[ "$status" -eq 0 ]
	grep -q "<svg" "$BATS_TEST_TMPDIR/g.svg"
	[ "$(grep -c 'subgraph cluster_' "$BATS_TEST_TMPDIR/g.dot")" -eq 4 ]
	grep -q '"build:core-api" \[label="build\\ncore-api", shape=box' "$BATS_TEST_TMPDIR/g.dot"
	grep -q '"release:postgresql" -> "release:core-api" \[style=dotted\]' "$BATS_TEST_TMPDIR/g.dot"
}

@test "a cycle through needs is found and printed, exit 2" {
	sed -i 's/^\(  postgresql:.*chart: [^}]*\)}/\1, needs: [scriptdash]}/' "$CAT"
	grep -q 'needs: \[scriptdash\]' "$CAT"
	run fx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"cycle"* ]]
	[[ "$output" == *"scriptdash -> postgresql -> scriptdash"* || "$output" == *"postgresql -> scriptdash -> postgresql"* ]]
}

@test "a generated 200-service catalog: node and edge counts" {
	"$TOP/tests/bench/gen-workspace" "$BATS_TEST_TMPDIR/big" 200 2 >/dev/null
	cat="$BATS_TEST_TMPDIR/big/local-dev/config/service-catalog.yaml"
	run "$FUSION" -f "$cat" graph --json
	[ "$status" -eq 0 ]
	nshared=$(echo "$output" | jq '[.nodes[] | select(.kind=="chart")] | length - 200')
	[ "$(echo "$output" | jq '.nodes | length')" -eq $((800 + 2 * nshared)) ]
	nneeds=$(echo "$output" | jq '.order | length')
	[ "$nneeds" -gt 0 ]
	[ "$(echo "$output" | jq '.edges | length')" -eq $((800 + nshared + nneeds)) ]
	# each order-only edge is one entry of a needs list in the catalog
	want=$(grep -o 'needs: \[[^]]*\]' "$cat" | tr -cd ',\n' | awk '{ n += length($0) + 1 } END { print n }')
	[ "$nneeds" -eq "$want" ]
	[ "$(echo "$output" | jq '[.nodes[] | select(.kind=="build")] | length')" -eq 200 ]
	run dot -Tsvg -o /dev/null <("$FUSION" -f "$cat" graph --dot)
	[ "$status" -eq 0 ]
}
