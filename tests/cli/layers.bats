#!/usr/bin/env bats
# The layers (docs/DESIGN.md, "The layers"): base/ < engine/, config/ <
# rules/ < cli/. scripts/layers refuses any include that reaches up; here it
# runs on the tree as it is, and on copies with a bad include planted.

bats_require_minimum_version 1.5.0

setup() {
	: "${TOP:?}"
	T="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$T/scripts"
	cp -a "$TOP/base" "$TOP/engine" "$TOP/config" "$TOP/rules" "$TOP/cli" "$TOP/include" "$T/"
	cp "$TOP/scripts/layers" "$T/scripts/"
}

@test "the tree as it is: no include reaches up" {
	run "$TOP/scripts/layers" "$TOP"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$T/scripts/layers"
	[ "$status" -eq 0 ]
}

@test "engine including the catalog, rules including the commands: refused, each named" {
	sed -i '1i #include "fusion/catalog.h"' "$T/engine/graph.c"
	sed -i '1i #include "fusion/cmd.h"' "$T/rules/load.c"
	run "$T/scripts/layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"fusion: engine/graph.c:1: includes fusion/catalog.h of config/, above engine/"* ]]
	[[ "$output" == *"fusion: rules/load.c:1: includes fusion/cmd.h of cli/, above rules/"* ]]
	[[ "$output" == *"2 problem(s)"* ]]
}

@test "a base header including an engine header, config including the rules: refused" {
	echo '#include "fusion/graph.h"' >>"$T/include/fusion/util.h"
	sed -i '1i #include "fusion/rules.h"' "$T/config/find.c"
	run "$T/scripts/layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"include/fusion/util.h:"*"includes fusion/graph.h of engine/, above base/"* ]]
	[[ "$output" == *"config/find.c:1: includes fusion/rules.h of rules/, above config/"* ]]
}

@test "a header no layer owns, a private header from another folder, a file outside the layers: refused" {
	echo '/* orphan */' >"$T/include/fusion/orphan.h"
	sed -i '1i #include "internal.h"' "$T/engine/graph.c"
	mkdir -p "$T/extra" && echo 'int x;' >"$T/extra/x.c"
	run "$T/scripts/layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"include/fusion/orphan.h: no layer holds orphan.c"* ]]
	[[ "$output" == *"engine/graph.c:1: includes \"internal.h\", which is not in its own folder"* ]]
	[[ "$output" == *"extra/x.c: a source file outside the layers' folders"* ]]
}
