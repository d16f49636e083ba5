#!/usr/bin/env bats
# Exactness on real Containerfiles (issue 19): base images, RUN mounts,
# remote sources, the build's environment, against the real podman. Each
# case changes one input and checks that fusion is stale exactly when
# `podman build --no-cache` gives another image. Base images are made here
# from a static tool (tests/cli/fixtures/box.c), never pulled.

bats_require_minimum_version 1.5.0
load helpers
load probe

setup_file() {
	setup_podman_storage
	export CONTAINERS_STORAGE_CONF="$FX_PODMAN_DIR/storage.conf" BUILDAH_ISOLATION=chroot
	BOX="$BATS_FILE_TMPDIR/boxroot"
	mkdir -p "$BOX"
	cc -static -O2 -o "$BOX/box" "$TOP/tests/cli/fixtures/box.c"
	export BOX
}

setup() {
	fx_setup
}

# make_base TAG [FILE=TEXT...]: localhost/base:TAG made of the box and the
# files given, by podman import (no network, no build).
make_base() {
	local tag=$1 d="$BATS_TEST_TMPDIR/base-$1" kv
	shift
	rm -rf "$d" && mkdir -p "$d" && cp "$BOX/box" "$d/box"
	for kv in "$@"; do printf '%s\n' "${kv#*=}" >"$d/${kv%%=*}"; done
	tar -C "$d" -c . | podman import -q - "localhost/base:$tag" >/dev/null
}

# The state of node N in `graph --json` of the probe.
pstate() {
	pfx graph --json | jq -r --arg n "$1" '.nodes[] | select(.id==$n) | .state'
}

# The image ID `podman build --no-cache --timestamp 0` gives of the probe.
nocache_id() {
	local out
	out=$(podman build -q --no-cache --timestamp 0 "$@" -f "$PCTX/Containerfile" "$PCTX") || return
	echo "${out##*$'\n'}"
}

@test "the state directory inside the build context is never sent nor hashed: a second up is a no-op" {
	local r=$BATS_TEST_TMPDIR/app
	mkdir -p "$r/chart/templates"
	printf 'apiVersion: v2\nname: chart\nversion: 0.1.0\n' >"$r/chart/Chart.yaml"
	printf 'version: 1\nservices:\n  app:\n    repo: .\n    chart: chart\n' >"$r/fusion.yaml"
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$r/Containerfile"
	echo a >"$r/a.txt"
	run "$FUSION" -f "$r/fusion.yaml" up --until build
	[ "$status" -eq 0 ]
	[ -d "$r/.fusion" ]
	run image_entries "$(cat "$r/.fusion/artifacts/app.iid")"
	[ "$status" -eq 0 ]
	[[ "$output" == *a.txt* ]]
	[[ "$output" != *.fusion* ]]
	run "$FUSION" -f "$r/fusion.yaml" inputs build:app
	[ "$status" -eq 0 ]
	[[ "$output" != *.fusion* ]]
	reset_calls
	run "$FUSION" -f "$r/fusion.yaml" up --until build
	[ "$status" -eq 0 ]
	[ "$(calls podman)" -eq 0 ]
}

@test "a bad ignore pattern (*[) with no COPY or ADD is no error: podman builds it" {
	probe_setup podman
	printf '*[\n' >"$PCTX/.containerignore"
	echo hi >"$PCTX/cfg.txt"
	printf 'FROM scratch\nLABEL a=b\n' >"$PCTX/Containerfile"
	run nocache_id
	[ "$status" -eq 0 ]
	run pfx up --until build
	[ "$status" -eq 0 ]
	# with a COPY, podman fails the build and fusion says so before
	printf 'FROM scratch\nCOPY cfg.txt /\n' >"$PCTX/Containerfile"
	run nocache_id
	[ "$status" -ne 0 ]
	run pfx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *'bad pattern "*["'* ]]
}

@test "setuid and setgid bits, which podman strips, do not make a build stale; the sticky bit does" {
	probe_setup podman
	echo x >"$PCTX/f"
	mkdir "$PCTX/d"
	run pfx up --until build
	[ "$status" -eq 0 ]
	local before
	before=$(nocache_id)
	chmod u+s "$PCTX/f"
	chmod g+s "$PCTX/d"
	[ "$(nocache_id)" = "$before" ]
	[ "$(pstate build:probe)" = fresh ]
	chmod +t "$PCTX/d"
	[ "$(nocache_id)" != "$before" ]
	[ "$(pstate build:probe)" = stale ]
}
