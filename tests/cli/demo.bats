#!/usr/bin/env bats
# The README's first quick-start command: `make demo` runs scripts/demo,
# fusion's main job on a copy of the example workspace; twice in a row it
# must tell the same story (its state starts cold every time).

load helpers

@test "make demo: cold up, one change reruns one service, then nothing to do; repeatable" {
	for round in 1 2; do
		FUSION_DEMO_FAKES=1 run "$TOP/scripts/demo"	# what `make demo` runs
		[ "$status" -eq 0 ]
		[[ "$output" == *"fusion: 14 ran, 0 cached, 0 cutoff, 0 failed, 0 skipped, 0 fresh"* ]]
		[[ "$output" == *"M app/models/account.rb"* ]]
		[[ "$output" == *"fusion: 4 ran, 0 cached, 0 cutoff, 0 failed, 0 skipped, 10 fresh"* ]]
		[[ "$output" == *"fusion: 0 ran, 0 cached, 0 cutoff, 0 failed, 0 skipped, 14 fresh"* ]]
	done
}
