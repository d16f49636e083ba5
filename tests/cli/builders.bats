#!/usr/bin/env bats
# fusion against the real builder (issue 10 item 9): what fusion hashes must
# be what podman sends. A probe image (FROM scratch, COPY . /ctx/) is built
# with --timestamp 0 --no-cache, so that its ID depends on what was sent and
# nothing else, and mounted to see what it holds.
#
# `make test` runs a small corpus; `make check-builders` sets
# FUSION_CORPUS=full and runs all of it (a few minutes).

load helpers
load probe

setup() {
	fx_setup
}

full() {
	[ "${FUSION_CORPUS:-}" = full ]
}

# Build the probe of context $1 with the Containerfile outside it; print the
# image ID.
probe_build() {
	local cf=$BATS_TEST_TMPDIR/probe.Containerfile
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$cf"
	podman build -q --timestamp 0 --no-cache -f "$cf" "$1" 2>"$BATS_TEST_TMPDIR/build.err"
}

unhex() {
	printf '%s' "$1" | xxd -r -p
}

# Each row of tests/unit/test_ignore.c's table asks whether a path is
# excluded; buildah's answer there (the bh column) must be the real
# podman's: a row's rules become the context's .containerignore, its path a
# file. Where fusion reads a pattern inclusively (approx rows), podman may
# exclude more, never less. Rows whose name matches $1 (grep -E).
table_against_podman() {
	local filter=$1 kind bh rules path name ctx id m sent what n=0 bad=0
	while IFS='|' read -r kind bh rules path name; do
		[[ -z $filter || $name =~ $filter ]] || continue
		ctx=$BATS_TEST_TMPDIR/ctx
		rm -rf "$ctx"
		mkdir -p "$ctx"
		unhex "$rules" >"$ctx/.containerignore"
		path=$(unhex "$path"; echo .)
		path=${path%.}
		mkdir -p "$ctx/$(dirname -- "$path")"
		echo x >"$ctx/$path"
		id=$(probe_build "$ctx") || { echo "podman failed on: $name"; cat "$BATS_TEST_TMPDIR/build.err"; return 1; }
		m=$(podman image mount "$id")
		sent=0
		[ -e "$m/ctx/$path" ] && sent=1
		podman image umount "$id" >/dev/null
		podman rmi -f "$id" >/dev/null
		n=$((n + 1))
		if [ "$kind" = exact ] && [ "$sent" = "$bh" ]; then
			if [ "$sent" = 1 ]; then what=sends; else what="leaves out"; fi
			echo "podman $what $(printf %q "$path"), fusion's buildah reader says otherwise: $name"
			bad=$((bad + 1))
		elif [ "$kind" = approx ] && [ "$sent" = 1 ] && [ "$bh" = 1 ]; then
			echo "podman sends $(printf %q "$path"), fusion leaves it out: $name"
			bad=$((bad + 1))
		fi
	done < <("$UNIT_DIR/test_ignore" --dump)
	echo "$n rows against podman, $bad wrong"
	[ "$n" -gt 0 ] && [ "$bad" = 0 ]
}

@test "the ignore rules' table against the real podman: where the two matchers disagree" {
	table_against_podman '^([0-9]:|regexp:|glob: \*\*|format: ! with)'
}

@test "the ignore rules' table against the real podman: every row (make check-builders)" {
	full || skip "FUSION_CORPUS=full (make check-builders)"
	table_against_podman ''
}
