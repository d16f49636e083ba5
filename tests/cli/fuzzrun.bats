#!/usr/bin/env bats
# tests/fuzz/run, the runner `make fuzz` and `make test` use, with a stand-in
# for a libFuzzer binary (it writes what libFuzzer writes: the statistics,
# and files under -artifact_prefix): what counts as a finding, and what the
# targets are seeded with.

setup() {
	export FUZZ_DIR="$BATS_TEST_TMPDIR/fuzz"
	mkdir -p "$FUZZ_DIR/fuzzers"
	FAKE="$FUZZ_DIR/fuzzers/fuzz_catalog"
	# ARTIFACT: the file it leaves (a name libFuzzer gives); RC: its exit.
	cat >"$FAKE" <<'FAKE'
#!/bin/sh
for a; do
	case $a in
	-artifact_prefix=*) prefix=${a#-artifact_prefix=} ;;
	-*) ;;
	*) seeds=$a ;;
	esac
done
ls "$seeds" >"$FUZZ_DIR/seeds.txt"
[ -z "$ARTIFACT" ] || echo input >"$prefix$ARTIFACT"
echo "stat::number_of_executed_units: 1234"
echo "Done 1234 runs in 1 second(s)"
exit "$RC"
FAKE
	chmod +x "$FAKE"
}

# A loaded machine makes an ordinary input take over libFuzzer's 10 s
# "slow unit" mark: kept for a look, but not a finding that fails make test.
@test "fuzz runner: a slow unit is no finding" {
	ARTIFACT=slow-unit-0123abcd RC=0 run "$TOP/tests/fuzz/run" -t 1 -s 1 catalog
	[ "$status" -eq 0 ]
	[ "$output" = "fuzz catalog: 1234 runs in 1 s, corpus 0 inputs: ok" ]
	[ -f "$FUZZ_DIR/crashes/catalog/slow-unit-0123abcd" ]
}

# bats test_tags=slow
@test "fuzz runner: a crash, a leak or a timeout is a finding, its input named" {
	for kind in crash leak timeout; do
		ARTIFACT=$kind-4567 RC=1 run "$TOP/tests/fuzz/run" -t 1 -s 1 catalog
		[ "$status" -eq 1 ]
		[[ "$output" == *"fuzz catalog: 1234 runs, CRASH (exit 1)"* ]]
		[[ "$output" == *"  input: $FUZZ_DIR/crashes/catalog/$kind-4567"* ]]
	done
	# a slow unit beside a crash is not named as its input
	ARTIFACT=slow-unit-89 RC=1 run "$TOP/tests/fuzz/run" -t 1 -s 1 catalog
	[ "$status" -eq 1 ]
	[[ "$output" != *"input: $FUZZ_DIR/crashes/catalog/slow-unit-89"* ]]
}

# Seeds: the tests' catalogs and the example's, and every saved regression
# input (which then also seeds the search around it).
@test "fuzz runner: the catalog target is seeded from the tests' catalogs and the saved inputs" {
	ARTIFACT="" RC=0 run "$TOP/tests/fuzz/run" -t 1 catalog
	[ "$status" -eq 0 ]
	grep -qx 'tests_catalogs_bad_set-key-injection.yaml' "$FUZZ_DIR/seeds.txt"
	grep -qx 'examples_workspace_local-dev_config_service-catalog.yaml' "$FUZZ_DIR/seeds.txt"
	grep -qx 'tests_fuzz_regress_catalog_empty-flow-map-alone' "$FUZZ_DIR/seeds.txt"
}
