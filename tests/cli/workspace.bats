#!/usr/bin/env bats
# Hostile workspaces: what a build context may hold that a careless tool
# chokes on. Symlink loops, a 4 GiB file, 300,000 files, file names with a
# newline or bytes that are not UTF-8, names that start with '-'. fusion
# hashes them as the builders send them, in bounded memory, says what is
# odd, shows odd names escaped, keeps its JSON valid UTF-8, and never lets
# a name read as an option.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	fx_setup
}

teardown() {
	[ -z "${BIG:-}" ] || rm -rf "$BIG"
}

# Wait for the next second: files made before it are not "racily clean"
# for a scan that starts after it (statcache.h), so a second run reads none.
next_second() {
	local s
	s=$(date +%s)
	wait_for 5 eval '[ "$(date +%s)" -gt "$s" ]'
}

# Output that is valid UTF-8, whose JSON lines (one document, or one per
# line; warnings go beside them) are valid JSON.
valid_json() {
	printf '%s\n' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null
	printf '%s\n' "$1" | grep -E '^[[{]' | jq -e . >/dev/null
}

@test "file names with a newline or bytes that are not UTF-8: built, said, escaped in why; --json stays UTF-8" {
	fx up >/dev/null
	printf 'x\n' >"$WS/scriptdash/caf$(printf '\351').txt"
	printf 'y\n' >"$WS/scriptdash/new
line.txt"
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *'    A "caf\xe9.txt"'* ]]
	[[ "$output" == *'    A "new\nline.txt"'* ]]
	[[ "$output" == *"warning: build:scriptdash: 2 file names in the build context hold a newline, a control character or bytes that are not UTF-8"* ]]
	for cmd in "plan --json" "graph --json" "status --json"; do
		run fx $cmd
		[ "$status" -eq 0 ]
		valid_json "$output" || { echo "$cmd: not valid UTF-8 JSON"; false; }
	done
	run fx plan --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep '^{' | jq -r 'select(.node=="build:scriptdash") | .reason')" = '"caf\xe9.txt" added (+1 more)' ]
	up_json
	[ "$status" -eq 0 ]
	[[ " $(results ran) " == *" build:scriptdash "* ]]
	# podman sent them: the image holds both
	run fx inputs build:scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"file:new\\nline.txt"* ]]
}

# bats test_tags=slow
@test "a state directory whose path is not UTF-8: --json output is still valid UTF-8" {
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/caf$(printf '\351')/state"
	fx up --until build >/dev/null
	run fx cache stats --json
	[ "$status" -eq 0 ]
	valid_json "$output"
	[[ "$output" == *"caf"$'\xef\xbf\xbd'"/state"* ]]
}

@test "symlink loops and links out of the context: hashed as links, never followed" {
	ln -s loop "$WS/scriptdash/loop"
	mkdir "$WS/scriptdash/d"
	ln -s .. "$WS/scriptdash/d/up"
	ln -s ../d "$WS/scriptdash/d/self"
	ln -s /etc "$WS/scriptdash/etc"
	up_json
	[ "$status" -eq 0 ]
	run fx inputs build:scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"file:loop"$'\t'"120000:"* ]]
	[[ "$output" == *"file:d/up"$'\t'"120000:"* ]]
	[[ "$output" == *"file:etc"$'\t'"120000:"* ]]
	[[ "$output" != *"file:etc/"* ]]
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
	# a link's target is its content
	ln -sfn /usr "$WS/scriptdash/etc"
	run fx why build:scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"M etc"* ]]
}

# within_as BYTES CMD...: CMD with at most BYTES of address space. Under
# make check (FUSION_SANITIZED), AddressSanitizer maps terabytes for its
# shadow memory before main, so no such limit can hold: CMD runs without
# one there, and the bound is make test's to check.
within_as() {
	local bytes=$1
	shift
	if [ -n "${FUSION_SANITIZED:-}" ]; then
		"$@"
	else
		prlimit --as="$bytes" "$@"
	fi
}

@test "a 4 GiB file (sparse) is hashed streaming, in bounded memory, and read once" {
	truncate -s 4G "$WS/scriptdash/big.bin"
	next_second
	# with 1 GiB of address space, a fusion that read the file whole would fail
	run within_as $((1 << 30)) "$FUSION" -f "$CAT" -v plan scriptdash
	[ "$status" -eq 0 ]
	read_bytes=$(echo "$output" | sed -n 's/.*hashed [0-9]* of [0-9]* files (\([0-9]*\) bytes read.*/\1/p')
	[ "$read_bytes" -ge 4294967296 ]
	[[ "$output" == *"build:scriptdash"* ]]
	run fx -v plan scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"hashed 0 of "* ]]
}

# bats test_tags=slow
@test "300,000 files in one build context: hashed, in bounded memory; the next run reads none" {
	# a tmpfs where there is one: 300,000 inodes are made much faster there
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then BIG=$(mktemp -d /dev/shm/fx-ws.XXXXXX); else BIG=$BATS_TEST_TMPDIR/big; fi
	cp -a "$WS/." "$BIG/"
	(cd "$BIG/scriptdash" && seq -f "d%03g" 0 299 | xargs mkdir &&
		awk 'BEGIN { for (i = 0; i < 300000; i++) printf "d%03d/f%06d\n", i % 300, i }' | xargs touch)
	next_second
	cat="$BIG/local-dev/config/service-catalog.yaml"
	run within_as $((2 << 30)) "$FUSION" -f "$cat" -v plan scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" =~ hashed\ [0-9]+\ of\ 30[0-9]{4}\ files ]]
	run "$FUSION" -f "$cat" -v plan scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" =~ hashed\ 0\ of\ 30[0-9]{4}\ files ]]
	[ "$("$FUSION" -f "$cat" inputs build:scriptdash | grep -c '^file:d[0-9]*/f')" -eq 300000 ]
}

@test "names that start with '-' never read as options: a repo, a context, files, a containerfile, values, a chart" {
	mkdir "$WS/--help"
	mv "$WS/scriptdash" "$WS/--help/-ctx"
	mv "$WS/--help/-ctx/Containerfile" "$WS/--help/-ctx/-Containerfile"
	printf 'x\n' >"$WS/--help/-ctx/-f"
	printf 'y\n' >"$WS/--help/-ctx/--rm"
	cp "$WS/local-dev/helm/values/scriptdash.yaml" "$WS/local-dev/helm/values/--values.yaml"
	cp -a "$WS/local-dev/helm/base-charts/service" "$WS/local-dev/helm/-chart"
	sed -i '/^  scriptdash:/,/^    needs: \[postgresql\]$/d' "$CAT"
	cat >>"$CAT" <<'EOF'
  dash:
    repo: --help
    build: {context: -ctx, file: -Containerfile}
    chart: ../helm/-chart
    values: [../helm/values/--values.yaml]
EOF
	up_json
	[ "$status" -eq 0 ]
	[[ " $(results ran) " == *" build:dash "* ]]
	[[ " $(results ran) " == *" release:dash "* ]]
	# every path is absolute, and a "--" ends the options where the tool takes one
	grep -q -- "^podman build -f $WS/--help/-ctx/-Containerfile --iidfile .* -- $WS/--help/-ctx\$" "$FUSION_FAKE_STATE/calls.log"
	grep -q -- "^podman tag -- sha256:" "$FUSION_FAKE_STATE/calls.log"
	grep -q -- "^podman save .* -- localhost/dash:fx-" "$FUSION_FAKE_STATE/calls.log"
	grep -q -- "^minikube -p fusion image load -- $STATE/artifacts/dash.tar\$" "$FUSION_FAKE_STATE/calls.log"
	grep -q -- "^helm template dash $WS/local-dev/helm/-chart .* -f $WS/local-dev/helm/values/--values.yaml" "$FUSION_FAKE_STATE/calls.log"
	run fx inputs build:dash
	[ "$status" -eq 0 ]
	[[ "$output" == *"file:-ctx/--rm"$'\t'* ]]
	[[ "$output" == *"file:-ctx/-f"$'\t'* ]]
}
