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

@test "a base image rebuilt under the same tag makes the build stale, and why names it (FROM and COPY --from)" {
	make_base 1 v=one
	probe_setup podman
	printf 'FROM localhost/base:1\nRUN ["/box","cp","/v","/w"]\n' >"$PCTX/Containerfile"
	run pfx up --until build
	[ "$status" -eq 0 ]
	local old
	old=$(nocache_id)
	reset_calls
	[ "$(pstate build:probe)" = fresh ]
	[ "$(calls podman)" -eq 1 ]	# one image inspect for every image
	make_base 1 v=two
	[ "$(nocache_id)" != "$old" ]
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"base image localhost/base:1 changed: sha256:"*" -> sha256:"* ]] || { echo "$output"; false; }
	run pfx up --until build
	[ "$status" -eq 0 ]
	[ "$(pstate build:probe)" = fresh ]

	# an image a COPY --from reads, beside a stage that is no image
	printf 'FROM localhost/base:1 AS b\nFROM scratch\nCOPY --from=b /box /box\nCOPY --from=localhost/other:1 /v /v\n' >"$PCTX/Containerfile"
	make_base other v=x
	podman tag localhost/base:other localhost/other:1
	run pfx up --until build
	[ "$status" -eq 0 ]
	make_base other v=y
	podman tag localhost/base:other localhost/other:1
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"base image localhost/other:1 changed"* ]]
	[[ "$output" != *"base image b "* ]]
}

@test "a bind-mounted file is an input whatever the ignore rules, through a symlink too, and reruns without podman's layer cache" {
	make_base 1 v=one
	probe_setup podman
	printf 'cfg.txt\nlink\n' >"$PCTX/.containerignore"
	echo one >"$PCTX/cfg.txt"
	echo out >"$PWS/outside.txt"
	ln -s ../outside.txt "$PCTX/link"
	printf 'FROM localhost/base:1\nRUN --mount=type=bind,source=cfg.txt,target=/c --mount=type=bind,source=link,target=/l ["/box","cp","/c","/w"]\nRUN --mount=type=bind,source=link,target=/l ["/box","cp","/l","/x"]\n' >"$PCTX/Containerfile"
	run pfx up --until build
	[ "$status" -eq 0 ]
	[[ "$output" == *"the bind mount source link is a link to $PWS/outside.txt, outside the build context"* ]]
	local first
	first=$(probe_image)
	[ "$(pstate build:probe)" = fresh ]
	echo two >"$PCTX/cfg.txt"
	[ "$(pstate build:probe)" = stale ]
	run pfx up --until build
	[ "$status" -eq 0 ]
	# the layer cache would have kept the old /w: the image is a new one
	[ "$(probe_image)" != "$first" ]
	local m
	m=$(podman image mount "$(probe_image)")
	[ "$(cat "$m/w")" = two ]
	podman image umount "$(probe_image)" >/dev/null
	echo changed >"$PWS/outside.txt"
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"bind mount link"* ]]
}

@test "the build environment is in the key: proxy variables (never shown) and BUILDAH_FORMAT" {
	probe_setup podman
	echo x >"$PCTX/f"
	run pfx up --until build
	[ "$status" -eq 0 ]
	[ "$(pstate build:probe)" = fresh ]
	[ "$(http_proxy=http://user:secret@proxy:3128 pstate build:probe)" = stale ]
	run env http_proxy=http://user:secret@proxy:3128 "$FUSION" -f "$PCAT" why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"build environment http_proxy added"* ]]
	[[ "$output" != *secret* ]]
	[ "$(BUILDAH_FORMAT=docker pstate build:probe)" = stale ]
	[ "$(pstate build:probe)" = fresh ]
}

# serve DIR: a plain HTTP server of DIR on 127.0.0.1 (its URL in SERVED,
# its pid in SERVER_PID; teardown stops it).
serve() {
	local log=$BATS_TEST_TMPDIR/http.log
	(cd "$1" && exec python3 -u -m http.server 0 --bind 127.0.0.1) >"$log" 2>&1 &
	SERVER_PID=$!
	wait_for 30 grep -q "port [0-9]" "$log"
	SERVED="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$log" | head -n1)"
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
}

@test "ADD of a URL is keyed on what a HEAD request says of it; no answer reruns it" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo one >"$BATS_TEST_TMPDIR/www/f.txt"
	serve "$BATS_TEST_TMPDIR/www"
	probe_setup podman
	printf 'FROM scratch\nADD %s/f.txt /f.txt\n' "$SERVED" >"$PCTX/Containerfile"
	run pfx up --until build
	[ "$status" -eq 0 ]
	local old
	old=$(nocache_id)
	[ "$(pstate build:probe)" = fresh ]
	echo three >"$BATS_TEST_TMPDIR/www/f.txt"
	[ "$(nocache_id)" != "$old" ]
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"remote source $SERVED/f.txt changed"* ]]
	run pfx up --until build
	[ "$status" -eq 0 ]
	[ "$(pstate build:probe)" = fresh ]
	# a server that does not answer: the build reruns on every up, and why says so
	kill "$SERVER_PID"
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"ADD $SERVED/f.txt: the server gives no ETag, Last-Modified or length (or no answer): rebuilt on every up"* ]] || { echo "$output"; false; }
}

@test "COPY through a directory symlink into an ignored directory: what podman copies is an input" {
	probe_setup podman
	printf 'private\n' >"$PCTX/.containerignore"
	mkdir "$PCTX/private"
	echo one >"$PCTX/private/f"
	ln -s private "$PCTX/pub"
	printf 'FROM scratch\nCOPY pub/f /f\n' >"$PCTX/Containerfile"
	run pfx up --until build
	[ "$status" -eq 0 ]
	local old
	old=$(nocache_id)
	[ "$(pstate build:probe)" = fresh ]
	echo two >"$PCTX/private/f"
	[ "$(nocache_id)" != "$old" ]
	[ "$(pstate build:probe)" = stale ]
	run pfx why probe
	[ "$status" -eq 0 ]
	[[ "$output" == *"copied through a symlink: pub/f"* ]] || { echo "$output"; false; }
}
