#!/usr/bin/env bats
# The command line itself: help, version, options in any position, exit codes.

load helpers

setup() {
	fx_setup
}

@test "--help lists the commands and exits 0" {
	run "$FUSION" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"up [SVC...]"* ]]
	[[ "$output" == *"graph [--dot|--json]"* ]]
	[[ "$output" == *"why SVC|NODE"* ]]
}

@test "no command: usage on stderr, exit 2" {
	run "$FUSION"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: fusion"* ]]
}

@test "COMMAND --help describes the command" {
	run "$FUSION" up --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--until KIND"* ]]
	run "$FUSION" graph --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--dot"* ]]
}

@test "--version" {
	run "$FUSION" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fusion\ [0-9]+\.[0-9]+ ]]
}

@test "unknown command and unknown option exit 2" {
	run "$FUSION" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown command "frobnicate"'* ]]
	run "$FUSION" --frob graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option"* ]]
}

@test "a command option on the wrong command exits 2" {
	run fx graph --force
	[ "$status" -eq 2 ]
	[[ "$output" == *"graph: unknown option --force"* ]]
}

@test "a wrong command option is caught however many options come before it" {
	# sixteen options the command takes, then one it does not
	run fx graph $(printf -- '--until build %.0s' $(seq 16)) --push
	[ "$status" -eq 2 ]
	[[ "$output" == *"graph: unknown option --push"* ]]
}

@test "global options before or after the command are the same" {
	run "$FUSION" --json -f "$CAT" graph
	[ "$status" -eq 0 ]
	a=$output
	run "$FUSION" graph -f "$CAT" --json
	[ "$status" -eq 0 ]
	[ "$a" = "$output" ]
	echo "$output" | jq -e '.nodes | length > 0'
}

@test "-C changes directory and the catalog is found from a subdirectory" {
	mkdir -p "$WS/local-dev/helm/values/deeper"
	run "$FUSION" -C "$WS/local-dev/helm/values/deeper" graph --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.nodes | length == 14'
}

@test "fusion.yaml is preferred over config/service-catalog.yaml" {
	mkdir -p "$BATS_TEST_TMPDIR/two/config"
	cd "$BATS_TEST_TMPDIR/two"
	run "$FUSION" graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"no catalog found"* ]]
}

@test "-j must be a positive number" {
	run fx -j 0 graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"-j: expected a number"* ]]
}

@test "up with an unknown service exits 2 before anything runs" {
	run fx up nosuch
	[ "$status" -eq 2 ]
	[[ "$output" == *'no service, shared release or node named "nosuch"'* ]]
	[ "$(calls podman)" -eq 0 ]
}
