#!/usr/bin/env bats
# fusion against the real builder (issue 10 item 9): what fusion hashes must
# be what podman sends. A probe image (FROM scratch, COPY . /ctx/) is built
# with --timestamp 0 --no-cache, so that its ID depends on what was sent and
# nothing else, and mounted to see what it holds.
#
# `make check-slow` runs a small corpus (these tests are tagged slow; in
# `make test` ignorefiles.bats and containerfiles.bats hold fusion against
# the real podman); `make check-builders` sets FUSION_CORPUS=full and runs
# all of it (a few minutes).

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

# bats test_tags=slow
@test "the ignore rules' table against the real podman: where the two matchers disagree" {
	table_against_podman '^([0-9]:|regexp:|glob: \*\*|format: ! with)'
}

@test "the ignore rules' table against the real podman: every row (make check-builders)" {
	full || skip "FUSION_CORPUS=full (make check-builders)"
	table_against_podman ''
}

# --- contexts against the real podman ---------------------------------------
#
# A case builds a context in its argument $1 (a function, so that the same
# context can be made again). For each case: the entries fusion hashes (their
# paths, types and permission bits, `fusion inputs`) must be the entries of
# the probe image; then every entry is changed in turn (content, a
# permission bit, removal, a link retargeted, a directory added, ...) and
# fusion's key must change exactly when podman's image ID does. A change
# named in ALLOW (an extended regex over "mutation path") may make fusion
# stale without a new image: an over-inclusion the README names.

# Entries fusion hashes, as "TYPE MODE PATH" lines as find prints them.
fusion_entries() (
	set -o pipefail
	pfx inputs build:probe | awk -F'\t' '/^file:/ {
		path = substr($1, 6); sub(/\/$/, "", path)
		split($2, mv, ":"); m = 0
		for (i = 1; i <= length(mv[1]); i++) m = m * 8 + substr(mv[1], i, 1)
		t = int(m / 4096); perm = m % 4096
		type = t == 8 ? "f" : t == 4 ? "d" : t == 10 ? "l" : t == 1 ? "p" : t == 2 ? "c" : t == 6 ? "b" : "?"
		if (type == "l") perm = 511
		printf "%s %o %s\n", type, perm, path
	}' | LC_ALL=C sort -k3
)

# fusion's key of the probe's build; fails when fusion cannot make one.
probe_key() (
	set -o pipefail
	local k
	k=$(pfx graph --json | jq -r '.nodes[] | select(.id=="build:probe") | .key')
	[ -n "$k" ] && [ "$k" != null ] && echo "$k"
)

# The changes to make to entry $1 of the context (the current directory),
# one shell command per line.
mutations_of() {
	local p=$1 m flip
	m=$(stat -c %a -- "$p")
	flip=$(printf %o $((8#$m ^ 8#020)))
	case $(stat -c %F -- "$p") in
	"regular file" | "regular empty file")
		echo "echo more >>'$p'"
		echo "chmod $flip '$p'"
		echo "rm '$p'" ;;
	directory)
		echo "chmod $flip '$p'"
		echo "mkdir '$p/new.d'"
		echo "echo n >'$p/new.txt'" ;;
	"symbolic link")
		echo "ln -sfn elsewhere '$p'"
		echo "rm '$p'" ;;
	fifo)
		echo "chmod $flip '$p'"
		echo "rm '$p' && touch '$p' && chmod $m '$p'" ;;
	"character special file")
		echo "rm '$p' && mknod -m $m '$p' c 1 7" ;;
	esac
}

# against_podman CASE [ALLOW]
against_podman() {
	local case=$1 allow=${2:-} base_key base_id key id e mut n=0 bad=0 fk pk
	probe_setup podman
	rm -rf "$PCTX"
	mkdir -p "$PCTX"
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$PCTX/Containerfile"
	"$case" "$PCTX"
	base_id=$(probe_build "$PCTX") || { cat "$BATS_TEST_TMPDIR/build.err"; return 1; }
	base_key=$(probe_key) || { echo "$case: fusion made no key"; return 1; }
	# the same entries, with the same types and modes
	diff <(fusion_entries) <(image_entries -l "$base_id" | LC_ALL=C sort -k3) || { echo "$case: fusion (<) and podman (>) differ"; return 1; }
	podman rmi -f "$base_id" >/dev/null
	# every change of every entry, and two new ones; not the removal of the
	# Containerfile, without which fusion has no build (the probe's own
	# containerfile lies outside the context)
	{ (cd "$PCTX" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | while IFS= read -r e; do mutations_of "$e"; done) |
	    grep -vx "rm 'Containerfile'"
	  echo "echo n >new.txt"; echo "mkdir new.d"; } >"$BATS_TEST_TMPDIR/mutations"
	while IFS= read -r mut; do
		rm -rf "$PCTX"
		mkdir -p "$PCTX"
		printf 'FROM scratch\nCOPY . /ctx/\n' >"$PCTX/Containerfile"
		"$case" "$PCTX"
		(cd "$PCTX" && eval "$mut")
		id=$(probe_build "$PCTX") || { echo "podman failed after: $mut"; cat "$BATS_TEST_TMPDIR/build.err"; return 1; }
		key=$(probe_key) || { echo "$case: fusion made no key after: $mut"; return 1; }
		podman rmi -f "$id" >/dev/null
		n=$((n + 1))
		fk=same; [ "$key" = "$base_key" ] || fk=changed
		pk=same; [ "$id" = "$base_id" ] || pk=changed
		[ "$fk" = "$pk" ] && continue
		if [ "$fk" = changed ] && [ -n "$allow" ] && [[ $mut =~ $allow ]]; then
			continue
		fi
		echo "$case: after \`$mut\`, podman's image is $pk, fusion's key $fk"
		bad=$((bad + 1))
	done <"$BATS_TEST_TMPDIR/mutations"
	echo "$case: $n changes, $bad where fusion and podman disagree"
	[ "$bad" = 0 ]
}

# The modes podman keeps (item 3), directories, empty ones too (item 4).
case_modes() {
	mkdir -p "$1/sub/deeper" "$1/empty" "$1/run"
	echo a >"$1/a"
	echo b >"$1/sub/b"
	echo x >"$1/x"
	echo s >"$1/sub/deeper/s"
	chmod 600 "$1/a"
	chmod 664 "$1/sub/b"
	chmod 711 "$1/x"
	chmod 1644 "$1/sub/deeper/s"
	chmod 700 "$1/sub"
	chmod 755 "$1/empty" "$1/run" "$1/sub/deeper"
	chmod 644 "$1/Containerfile"
}

# FIFOs and links (sockets are left out by both); devices where we are root.
case_special() {
	mkdir -p "$1/d"
	echo t >"$1/d/target"
	chmod 644 "$1/d/target" "$1/Containerfile"
	chmod 755 "$1/d"
	mkfifo -m 644 "$1/d/fifo"
	ln -s target "$1/d/link"
	ln -s ../nowhere "$1/dangling"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1/d/sock"
	if [ "$(id -u)" = 0 ]; then mknod -m 644 "$1/null" c 1 3; fi
}

# Ignore rules: directories left empty by them stay (item 4), files under
# them never count.
case_ignored() {
	mkdir -p "$1/node_modules/m" "$1/logs" "$1/src"
	printf 'node_modules\nlogs/*.log\n*.tmp\n' >"$1/.containerignore"
	echo m >"$1/node_modules/m/index.js"
	echo l >"$1/logs/app.log"
	echo s >"$1/src/main.c"
	echo t >"$1/src/x.tmp"
	chmod 644 "$1/.containerignore" "$1/Containerfile" "$1/node_modules/m/index.js" \
		"$1/logs/app.log" "$1/src/main.c" "$1/src/x.tmp"
	chmod 755 "$1/node_modules" "$1/node_modules/m" "$1/logs" "$1/src"
}

# Hard links: which paths share an inode is part of what is sent.
case_hardlinks() {
	echo same >"$1/a"
	chmod 644 "$1/a" "$1/Containerfile"
	ln "$1/a" "$1/b"
	echo same >"$1/c"
	chmod 644 "$1/c"
}

# An excluded directory with a file re-included: podman sends the file and
# makes the directory with its own default mode, BuildKit sends the
# directory as it is, so fusion counts its mode (an allowed over-inclusion).
case_reincluded() {
	mkdir -p "$1/docs/api"
	printf 'docs\n!docs/api/index.md\n' >"$1/.containerignore"
	echo i >"$1/docs/api/index.md"
	echo o >"$1/docs/other.md"
	chmod 644 "$1/.containerignore" "$1/Containerfile" "$1/docs/api/index.md" "$1/docs/other.md"
	chmod 755 "$1/docs" "$1/docs/api"
}

# bats test_tags=slow
@test "contexts against the real podman: modes, directories, special files" {
	against_podman case_modes
	against_podman case_special
}

@test "contexts against the real podman: ignore rules, hard links (make check-builders)" {
	full || skip "FUSION_CORPUS=full (make check-builders)"
	against_podman case_ignored
	against_podman case_hardlinks
	against_podman case_reincluded '^chmod [0-7]+ .docs(/api)?.$'
}
