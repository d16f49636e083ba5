#!/usr/bin/env bats
# Missing repos: a repo that is not there blocks only what needs it. status,
# graph, plan and why show it as "missing"; `up` of everything names every
# missing repo at once with the `fusion clone` hint (exit 2); `up SVC` works
# when SVC and what it needs are there.

load helpers

setup() {
	fx_setup
	# scriptdash has a clone URL, partners-engine none
	sed -i 's|^  scriptdash:$|  scriptdash:\n    git: https://git.example/org/scriptdash.git|' "$CAT"
	mv "$WS/scriptdash" "$WS/scriptdash.away"
}

@test "status, graph, plan and why show a missing repo as its own state (exit 0)" {
	run fx status
	[ "$status" -eq 0 ]
	[[ "$output" == *"scriptdash "*"missing: the repo is not cloned (fusion clone)"* ]]
	[[ "$output" == *"core-api "*"stale"* ]]
	run fx status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.[] | select(.service=="scriptdash") | .state == "missing"'
	[ "$(nodes_in missing)" = "build:scriptdash chart:scriptdash load:scriptdash release:scriptdash" ]
	run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"missing  build:scriptdash"* ]]
	[[ "$output" == *"fusion: 4 cannot run: a repo is missing (fusion clone)"* ]]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:scriptdash is missing"* ]]
}

@test "up of everything names every missing repo at once, with the clone hint (exit 2)" {
	mv "$WS/partners-engine" "$WS/partners-engine.away"
	reset_calls
	run fx up
	[ "$status" -eq 2 ]
	[[ "$output" == *"service-catalog.yaml:"*": repo $WS/partners-engine of service \"partners-engine\" does not exist"* ]]
	[[ "$output" == *"service-catalog.yaml:"*": repo $WS/scriptdash of service \"scriptdash\" does not exist"* ]]
	[[ "$output" == *"hint: run \"fusion clone\" to clone them"* ]]
	[ "$(calls 'podman build')" -eq 0 ]
	[ "$(calls helm)" -eq 0 ]
}

@test "up SVC works when SVC and what it needs are there" {
	run fx up core-api --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .failed == 0 and .ran > 0'
	[[ " $(results ran) " == *" release:core-api "* ]]
	# partners-engine needs core-api (there): fine; scriptdash is not
	run fx up scriptdash
	[ "$status" -eq 2 ]
	[[ "$output" == *"repo $WS/scriptdash of service \"scriptdash\" does not exist"* ]]
	mv "$WS/scriptdash.away" "$WS/scriptdash"
	run fx up scriptdash
	[ "$status" -eq 0 ]
}
