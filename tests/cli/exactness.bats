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
	echo "$output" | grep -qx a.md
	run ! grep -qx .md <<<"$output"

	run probe_hashed
	[ "$output" = "$(image_entries "$(probe_image)")" ]
	echo edit >>"$PCTX/a.md"
	run pfx graph --json
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
	[[ "$output" != *secret.txt* ]]
	# the target now lets secret.txt in: same size, and the link itself untouched
	printf 'sekret.txt\n' >"$PWS/shared-ignore"
	run probe_hashed
	[[ "$output" == *secret.txt* ]]
	pfx up --until build >/dev/null
	[[ "$(image_entries "$(probe_image)")" == *secret.txt* ]]
	# so an edit of secret.txt makes the build stale
	echo edit >>"$PCTX/secret.txt"
	run pfx graph --json
	[ "$(echo "$output" | jq -r '.nodes[] | select(.id=="build:probe") | .state')" = stale ]
}
