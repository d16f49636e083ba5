#!/usr/bin/env bats
# --json everywhere: with it, stdout holds only JSON (one value a line) and
# the words go to stderr, or the command refuses it with exit 2. The cluster
# commands (down, bootstrap, clone) are in cluster.bats.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	fx_setup
}

@test "plan, graph, status, why, inputs: --json is JSON only, before and after a run" {
	local cmd
	for cmd in plan graph status "why core-api" "inputs core-api" "inputs build:scriptdash"; do
		# shellcheck disable=SC2086 # the command and its argument
		run --separate-stderr fx $cmd --json
		[ "$status" -eq 0 ]
		json_only
	done
	run --separate-stderr fx up --json
	[ "$status" -eq 0 ]
	json_only
	run --separate-stderr fx why core-api --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(jq -r '.state' <<<"$output")" = fresh ]
	jq -e '.last_run > 0' <<<"$output"
}

@test "inputs --json: the recorded lines as objects, the hashing version first" {
	run --separate-stderr fx inputs build:scriptdash --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(head -n1 <<<"$output" | jq -r '.hashing')" -ge 1 ]
	run -0 fx inputs build:scriptdash
	text=$output
	run -0 fx inputs build:scriptdash --json
	# the same inputs, in the same order, NAME TAB VALUE
	[ "$(tail -n +2 <<<"$output" | jq -r '.name + "\t" + .value')" = "$(tail -n +2 <<<"$text")" ]
	grep -q '"name":"file:src/server.js"' <<<"$output"
}

@test "why --json: each node's reason and changes as objects" {
	run -0 fx up
	echo "# edit" >>"$WS/scriptdash/src/server.js"
	echo "new" >"$WS/scriptdash/src/new.js"
	run --separate-stderr fx why scriptdash --json
	[ "$status" -eq 0 ]
	json_only
	build=$(jq -c 'select(.node == "build:scriptdash")' <<<"$output")
	[ "$(jq -r .state <<<"$build")" = stale ]
	[ "$(jq -r '.changes[] | select(.change == "changed") | .text' <<<"$build")" = "M src/server.js" ]
	[ "$(jq -r '.changes[] | select(.change == "added") | .text' <<<"$build")" = "A src/new.js" ]
	[ "$(jq -r 'select(.node == "release:scriptdash") | .state' <<<"$output")" = pending ]
}

@test "cache --json: stats, gc, export, import and clear print one object each" {
	run -0 fx up
	local sub
	for sub in stats gc "export $BATS_TEST_TMPDIR/records.db" "import $BATS_TEST_TMPDIR/records.db" clear; do
		# shellcheck disable=SC2086 # the subcommand and its file
		run --separate-stderr fx cache $sub --json
		[ "$status" -eq 0 ]
		json_only
		[ "$(wc -l <<<"$output")" -eq 1 ]
	done
	run -0 fx cache export "$BATS_TEST_TMPDIR/again.db" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .exported <<<"$output")" -eq 0 ]	# cleared above
}

@test "doctor --json is one JSON object, even when checks fail" {
	fake-cluster context fusion
	run --separate-stderr fx doctor --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(wc -l <<<"$output")" -eq 1 ]
	jq -e '.checks | length > 3' <<<"$output"
	rm "$WS/core-api/Containerfile"
	run --separate-stderr fx doctor --json
	[ "$status" -eq 1 ]
	json_only
	jq -e '.ok == false' <<<"$output"
}

@test "logs refuses --json (exit 2), before or after the command, and runs nothing" {
	reset_calls
	run fx logs core-api --json
	[ "$status" -eq 2 ]
	[[ $output == *"logs: --json is not taken by this command"* ]]
	run fx --json logs core-api -f
	[ "$status" -eq 2 ]
	[ "$(calls kubectl)" -eq 0 ]
}
