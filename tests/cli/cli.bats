#!/usr/bin/env bats
# The command line itself: help, version, options in any position, exit codes.

load helpers
bats_require_minimum_version 1.5.0

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

@test "help CMD gives exactly what CMD --help gives; help alone prints the usage on stdout, exit 0" {
	local cmd
	for cmd in up plan graph why inputs status down cache logs doctor bootstrap clone config help; do
		run --separate-stderr "$FUSION" "$cmd" --help
		[ "$status" -eq 0 ]
		[[ $output == "usage: fusion $cmd"* ]]
		want=$output
		run --separate-stderr "$FUSION" help "$cmd"
		[ "$status" -eq 0 ]
		[ "$output" = "$want" ]
	done
	run --separate-stderr "$FUSION" help
	[ "$status" -eq 0 ]
	[[ $output == "usage: fusion "* && $output == *"help [COMMAND]"* ]]
	run "$FUSION" help upp
	[ "$status" -eq 2 ]
	[[ $output == *'unknown command "upp" (did you mean up?)'* ]]
}

@test "a command's --help lists the options of its table, and says what --json prints" {
	run "$FUSION" down --help
	[ "$status" -eq 0 ]
	for o in --all --cluster --delete --no-wait; do
		grep -qE "^  $o " <<<"$output" || { echo "no $o"; false; }
	done
	[[ $output == *'--json: one object per release'* ]]
	run "$FUSION" logs --help
	[ "$status" -eq 0 ]
	grep -qE '^  -f, --follow ' <<<"$output"
	[[ $output == *'--json: not taken (exit 2)'* ]]
}

@test "did you mean: a misspelt command, option, service or node gets the closest name, exit 2" {
	run fx upp
	[ "$status" -eq 2 ]
	[[ $output == *'unknown command "upp" (did you mean up?)'* ]]
	run fx up --frce
	[ "$status" -eq 2 ]
	[[ $output == *'up: unknown option --frce (did you mean --force?)'* ]]
	run fx up core-apy
	[ "$status" -eq 2 ]
	[[ $output == *'no service, shared release or node named "core-apy" (did you mean core-api?)'* ]]
	run fx why build:core-apy
	[ "$status" -eq 2 ]
	[[ $output == *'"build:core-apy" (did you mean build:core-api?)'* ]]
	run fx down scriptdsah
	[ "$status" -eq 2 ]
	[[ $output == *'no release named "scriptdsah" (did you mean scriptdash?)'* ]]
	run fx up nothing-like-it
	[ "$status" -eq 2 ]
	[[ $output != *"did you mean"* ]]
	[ "$(calls podman)" -eq 0 ]
}

@test "down with neither names nor --all is refused, naming what --all would uninstall; nothing is called" {
	run fx down
	[ "$status" -eq 2 ]
	[[ $output == *"down: name the releases to uninstall, or --all for every release of the catalog (postgresql, "* ]]
	[[ $output == *"core-api"* && $output == *"scriptdash"* ]]
	run fx down --cluster
	[ "$status" -eq 2 ]
	[[ $output == *"down: --cluster goes with --all"* ]]
	run fx down --json
	[ "$status" -eq 2 ]
	[ "$(calls helm)" -eq 0 ]
	[ "$(calls minikube)" -eq 0 ]
}

@test "options: --name=ARG, bundled letters, -- before arguments; a missing or needless argument is exit 2" {
	run fx plan --until=build
	[ "$status" -eq 0 ]
	[[ $output == *"build:core-api"* && $output != *"release:"* ]]
	run "$FUSION" -kv -f "$CAT" -j2 graph
	[ "$status" -eq 0 ]
	run fx graph -- core-api
	[ "$status" -eq 0 ]
	[[ $output == *"build:core-api"* && $output != *"scriptdash"* ]]
	run fx up --until
	[ "$status" -eq 2 ]
	[[ $output == *"up: --until needs an argument (KIND)"* ]]
	run fx up --force=yes
	[ "$status" -eq 2 ]
	[[ $output == *"up: --force takes no argument"* ]]
	run fx up --build-jobs 0
	[ "$status" -eq 2 ]
	[[ $output == *'--build-jobs: expected a number from 1 to 1024, got "0"'* ]]
}
