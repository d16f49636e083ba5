#!/usr/bin/env bats
# Exactness against the real builders (issue 10): fusion is stale whenever
# podman would build a different image, and says so before anything runs
# when podman would refuse the build.

bats_require_minimum_version 1.5.0
load helpers
load probe

setup() {
	fx_setup
}

# The probe's rules are refused with MESSAGE by graph and up, before podman
# runs; and podman itself would fail the build on them.
refused_before_anything_runs() {
	run pfx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"$1"* ]] || { echo "$output"; return 1; }
	reset_calls
	run pfx up
	[ "$status" -eq 2 ]
	[ "$(calls podman)" -eq 0 ]
	run podman build -f "$PCTX/Containerfile" "$PCTX"
	[ "$status" -ne 0 ]
}

@test "**.md in .containerignore: podman sends a.md, so fusion hashes it (item 1)" {
	probe_setup podman
	printf '**.md\n' >"$PCTX/.containerignore"
	echo a >"$PCTX/a.md"
	echo b >"$PCTX/.md"
	pfx up --until build >/dev/null
	run image_entries "$(probe_image)"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx a.md
	run ! grep -qx .md <<<"$output"

	run probe_hashed
	[ "$status" -eq 0 ]
	[ "$output" = "$(image_entries "$(probe_image)")" ]
	echo edit >>"$PCTX/a.md"
	run pfx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:probe") | .state')" = stale ]
}

@test "an ignore file that is a directory is an error before anything runs (item 8)" {
	probe_setup podman
	mkdir "$PCTX/.containerignore"
	refused_before_anything_runs "probe/.containerignore: cannot read the ignore file podman uses: Is a directory"
}

@test "a directory podman never reads is no error: docker's .dockerignore beside a .containerignore" {
	probe_setup podman
	echo x >"$PCTX/.containerignore"
	mkdir "$PCTX/.dockerignore"
	run pfx graph
	[ "$status" -eq 0 ]
	# docker reads Containerfile.dockerignore or .dockerignore only
	probe_setup docker
	mkdir "$PCTX/.containerignore" "$PCTX/Containerfile.containerignore"
	run pfx graph
	[ "$status" -eq 0 ]
	mkdir "$PCTX/Containerfile.dockerignore"
	run pfx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *"Containerfile.dockerignore: cannot read the ignore file docker uses: Is a directory"* ]]
}

@test "a pattern podman refuses (dir\\keep.txt) is an error before anything runs (item 8)" {
	probe_setup podman
	printf 'tmp\ndir\\keep.txt\n' >"$PCTX/.containerignore"
	refused_before_anything_runs '.containerignore:2: bad pattern "dir\keep.txt": invalid escape (podman would fail the build)'
	# a build.ignore pattern too, with the catalog's line
	probe_setup podman 'a(b'
	run pfx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *'service-catalog.yaml:'*': bad pattern "a(b": missing closing ) (podman would fail the build)'* ]]
}

@test "a symlinked .containerignore: an edit of its target changes the rules at once (item 6)" {
	probe_setup podman
	printf 'secret.txt\n' >"$PWS/shared-ignore"
	ln -s ../shared-ignore "$PCTX/.containerignore"
	echo s >"$PCTX/secret.txt"
	find "$PWS" -exec touch -h -d '1 minute ago' {} +
	pfx up --until build >/dev/null
	run probe_hashed
	[ "$status" -eq 0 ]
	[[ "$output" != *secret.txt* ]]
	# the target now lets secret.txt in: same size, and the link itself untouched
	printf 'sekret.txt\n' >"$PWS/shared-ignore"
	run probe_hashed
	[ "$status" -eq 0 ]
	[[ "$output" == *secret.txt* ]]
	pfx up --until build >/dev/null
	[[ "$(image_entries "$(probe_image)")" == *secret.txt* ]]
	# so an edit of secret.txt makes the build stale
	echo edit >>"$PCTX/secret.txt"
	run pfx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:probe") | .state')" = stale ]
}

@test "a file gone between its stat and its reading is taken as not there; the run goes on (item 7)" {
	probe_setup podman
	echo a >"$PCTX/a.txt"
	echo v >"$PCTX/vanish.txt"
	# strace fails every open of vanish.txt (the walk opens it relative to
	# the context) while its stat still works: the file went in between.
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o /dev/null -P vanish.txt \
		-e trace=openat -e inject=openat:error=ENOENT "$FUSION" -f "$PCAT" graph --json
	[ "$status" -eq 0 ]
	[[ "$output" != *"cannot read"* ]]
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:probe") | .reason')" = "never ran" ]
	# and up goes on to build what is there
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o /dev/null -P vanish.txt \
		-e trace=openat -e inject=openat:error=ENOENT "$FUSION" -f "$PCAT" up --until build
	[ "$status" -eq 0 ]
	# the next run sees the file again: the build it recorded lacked it
	run pfx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:probe") | .state')" = stale ]
}

# bats test_tags=slow
@test "a chart is hashed as helm reads it: symlinked templates and subcharts followed (item 6)" {
	shared=$WS/local-dev/helm/shared-templates
	mkdir -p "$shared/sub/templates"
	printf '{{- define "extra.labels" }}team: a{{ end }}\n' >"$shared/_labels.tpl"
	printf 'apiVersion: v2\nname: sub\nversion: 0.1.0\n' >"$shared/sub/Chart.yaml"
	chart=$WS/local-dev/helm/base-charts/service
	ln -s ../../../shared-templates/_labels.tpl "$chart/templates/_labels.tpl"
	mkdir -p "$chart/charts"
	ln -s ../../../shared-templates/sub "$chart/charts/sub"
	fx up >/dev/null
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	# an edit of a linked template's target re-renders every chart using it
	printf '{{- define "extra.labels" }}team: b{{ end }}\n' >"$shared/_labels.tpl"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "chart:core-api chart:partners-engine chart:scriptdash" ]
	fx up >/dev/null
	# and so does an edit inside a linked subchart
	printf 'replicas: 2\n' >"$shared/sub/values.yaml"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "chart:core-api chart:partners-engine chart:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"charts/sub/values.yaml"* ]]
}

@test "records made before fusion's hashing changed are stale, and say so (item 10)" {
	# a state database the previous fusion (hashing 1) recorded for the example
	mkdir -p "$STATE"
	cp "$TOP/tests/cli/fixtures/hashing-1.db" "$STATE/cache.db"
	run fx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '[.nodes[] | select(.state=="fresh")] | length')" -eq 0 ]
	for n in build:core-api build:partners-engine build:scriptdash chart:postgresql; do
		[ "$(echo "$output" | jq -r --arg n "$n" '.nodes[] | select(.id==$n) | .reason')" = "fusion's hashing changed" ]
	done
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:scriptdash is stale:"$'\n'"    fusion's hashing changed (fusion was upgraded)"* ]]
	run fx up
	[ "$status" -eq 0 ]
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

# bats test_tags=slow
@test "every permission bit podman keeps makes the build stale (item 3)" {
	fx up >/dev/null
	chmod 600 "$WS/scriptdash/src/server.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"M src/server.js (mode 100644 -> 100600)"* ]]
	chmod 644 "$WS/scriptdash/src/server.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	chmod 1755 "$WS/scriptdash/src"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
}

# bats test_tags=slow
@test "directories, empty ones too, and FIFOs are entries; sockets are not (item 4)" {
	fx up >/dev/null
	mkdir -p "$WS/scriptdash/var/run"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"A var/"* ]]
	[[ "$output" == *"A var/run/"* ]]
	rm -r "$WS/scriptdash/var"
	# a FIFO no one writes to: hashed by what it is, never opened
	mkfifo "$WS/scriptdash/pipe"
	run timeout 60 "$FUSION" -f "$CAT" graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:scriptdash") | .state')" = stale ]
	rm "$WS/scriptdash/pipe"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$WS/scriptdash/sock"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}
