#!/usr/bin/env bats
# Content hashing, ignore rules, the stat cache and staleness, seen from the
# command line: exactly the right nodes go stale, and `why` says why.

load helpers

setup() {
	fx_setup
	fx up >/dev/null
}

@test "after up everything is fresh" {
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run nodes_in pending
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

# bats test_tags=slow
@test "keys are portable: a copy elsewhere with new mtimes has the same keys and tags, and is fresh" {
	fx graph --json | jq -r '.nodes[] | "\(.id) \(.key)"' | sort >"$BATS_TEST_TMPDIR/keys1"
	cp -a "$WS" "$BATS_TEST_TMPDIR/elsewhere"
	find "$BATS_TEST_TMPDIR/elsewhere" -exec touch -h -d '2001-02-03 04:05:06' {} +
	cat2="$BATS_TEST_TMPDIR/elsewhere/local-dev/config/service-catalog.yaml"
	"$FUSION" -f "$cat2" graph --json | jq -r '.nodes[] | "\(.id) \(.key)"' | sort >"$BATS_TEST_TMPDIR/keys2"
	diff "$BATS_TEST_TMPDIR/keys1" "$BATS_TEST_TMPDIR/keys2"
	run "$FUSION" -f "$cat2" plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"everything is up to date"* ]]
	run "$FUSION" -f "$cat2" status --json
	[ "$status" -eq 0 ]
	a=$(echo "$output" | jq -r '.[].image' | sort)
	run fx status --json
	[ "$status" -eq 0 ]
	[ "$a" = "$(echo "$output" | jq -r '.[].image' | sort)" ]
}

# bats test_tags=slow
@test "the state directory moves with FUSION_STATE_DIR (cp -a)" {
	cp -a "$STATE" "$BATS_TEST_TMPDIR/state-copy"
	FUSION_STATE_DIR="$BATS_TEST_TMPDIR/state-copy" run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"everything is up to date"* ]]
	FUSION_STATE_DIR="$BATS_TEST_TMPDIR/empty-state" run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"4 to run"* ]]
}

@test "modify a file: exactly that build is stale, why names it" {
	echo "# edit" >>"$WS/scriptdash/src/server.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:scriptdash is stale:"* ]]
	[[ "$output" == *"M src/server.js"* ]]
	[[ "$output" == *"release:scriptdash is pending"* ]]
}

# bats test_tags=slow
@test "add a file: that build is stale, why says A" {
	echo "new" >"$WS/scriptdash/src/new.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"A src/new.js"* ]]
}

# bats test_tags=slow
@test "delete a file: that build is stale, why says D" {
	rm "$WS/scriptdash/src/lib/format.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why build:scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"D src/lib/format.js"* ]]
}

# bats test_tags=slow
@test "chmod +x: that build is stale, why names the mode change" {
	chmod +x "$WS/scriptdash/src/server.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"M src/server.js (mode 100644 -> 100755)"* ]]
}

# bats test_tags=slow
@test "rename a file: that build is stale, why shows the delete and the add" {
	mv "$WS/scriptdash/src/lib/format.js" "$WS/scriptdash/src/lib/fmt.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"D src/lib/format.js"* ]]
	[[ "$output" == *"A src/lib/fmt.js"* ]]
}

# bats test_tags=slow
@test "a symlink retargeted: that build is stale" {
	ln -s server.js "$WS/scriptdash/src/link.js"
	fx up >/dev/null
	ln -sfn lib/format.js "$WS/scriptdash/src/link.js"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
}

# bats test_tags=slow
@test "changes to ignored files go unnoticed (.containerignore and build.ignore)" {
	echo "scratch" >"$WS/partners-engine/tmp/scratch.txt"
	echo "log line" >>"$WS/partners-engine/fixtures/replay.log"
	chmod +x "$WS/partners-engine/tmp/README"
	mkdir -p "$WS/core-api/tmp" && echo x >"$WS/core-api/tmp/cache"
	echo "more" >>"$WS/core-api/log/README"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

# bats test_tags=slow
@test "an exception in the ignore file counts: the re-included file makes the build stale" {
	echo "audit" >>"$WS/partners-engine/fixtures/audit-sample.log"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:partners-engine" ]
}

# bats test_tags=slow
@test "changing the ignore file makes the build stale" {
	echo "docs/" >>"$WS/partners-engine/.containerignore"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:partners-engine" ]
	run fx why partners-engine
	[ "$status" -eq 0 ]
	[[ "$output" == *"M .containerignore (ignore file)"* ]]
}

@test "the containerfile always counts" {
	echo "# comment" >>"$WS/core-api/Containerfile"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:core-api" ]
	run fx why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"M Containerfile (containerfile)"* ]]
}

# bats test_tags=slow
@test "a changed build arg: why names it with old and new value" {
	sed -i 's/RUBY_VERSION: "3.3"/RUBY_VERSION: "3.4"/' "$CAT"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:core-api" ]
	run fx why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"build arg RUBY_VERSION: 3.3 -> 3.4"* ]]
}

# bats test_tags=slow
@test "a changed values file and set key: the chart is stale, why names them" {
	echo "extra: 1" >>"$WS/local-dev/helm/values/core-api.yaml"
	sed -i 's/set: {replicaCount: 1}/set: {replicaCount: 2}/' "$CAT"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "chart:core-api" ]
	run fx why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"M values file local-dev/helm/values/core-api.yaml"* ]]
	[[ "$output" == *"set replicaCount: 1 -> 2"* ]]
}

# bats test_tags=slow
@test "a changed chart file: every chart using it is stale" {
	echo "# note" >>"$WS/local-dev/helm/base-charts/service/templates/service.yaml"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "chart:core-api chart:partners-engine chart:scriptdash" ]
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"chart file local-dev/helm/base-charts/service/templates/service.yaml"* ]]
}

# bats test_tags=slow
@test "cluster recreated: why says so" {
	fake-cluster recreate
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"cluster recreated"* ]]
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "load:core-api load:partners-engine load:scriptdash release:postgresql" ]
	run nodes_in pending
	[ "$status" -eq 0 ]
	[ "$output" = "release:core-api release:partners-engine release:scriptdash" ]
}

# bats test_tags=slow
@test "a fresh service: why says so and when it was brought up" {
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == "scriptdash is fresh"*"($(date +%Y-%m-%d)"* ]]
}

# bats test_tags=slow
@test "never built: why says so" {
	FUSION_STATE_DIR="$BATS_TEST_TMPDIR/empty-state" run fx why scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:scriptdash is stale: never built"* ]]
}

# bats test_tags=slow
@test "long file lists are summarised: the first 20, then a count" {
	for i in $(seq 1 30); do echo "$i" >"$WS/scriptdash/src/gen$i.js"; done
	run fx why scriptdash
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^    A src/gen')" -eq 20 ]
	[[ "$output" == *"... and 10 more files"* ]]
}

# bats test_tags=slow
@test "racy: a same-size rewrite in the same second as the scan is detected" {
	f="$WS/scriptdash/src/lib/format.js"
	printf 'aaaa' >"$f"
	fx up >/dev/null	# scans and records, in the same second as the write
	printf 'bbbb' >"$f"	# same size, same second
	touch -d "@$(stat -c %Y "$f")" "$f"	# even the same mtime second
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:scriptdash" ]
}

# bats test_tags=slow
@test "a no-op up over 20 services x 2,000 files reads no file content" {
	"$TOP/tests/bench/gen-workspace" "$BATS_TEST_TMPDIR/big" 20 2000 >/dev/null
	cat="$BATS_TEST_TMPDIR/big/local-dev/config/service-catalog.yaml"
	# Files written in the second a scan starts are racily clean and are
	# hashed again by the next scan (as git does): date them a minute back so
	# that the first run's records are trusted at once.
	find "$BATS_TEST_TMPDIR/big" -type f -exec touch -d '1 minute ago' {} +
	"$FUSION" -f "$cat" up >/dev/null
	run "$FUSION" -v -f "$cat" up
	[ "$status" -eq 0 ]
	[[ "$output" == *"hashed 0 of 400"*" files (0 bytes read"* ]]
	[[ "$output" == *"0 ran"* ]]
	# and the kernel agrees: no regular file of the workspace is opened but the
	# catalog and the state database (directories are opened to be listed; the
	# look-ups of ignore files that do not exist fail with ENOENT)
	# (LeakSanitizer cannot run under ptrace: off for this one run under make check)
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=open,openat -o "$BATS_TEST_TMPDIR/trace" "$FUSION" -f "$cat" up >/dev/null
	opened=$(grep -F "\"$BATS_TEST_TMPDIR/big/" "$BATS_TEST_TMPDIR/trace" | grep -v O_DIRECTORY |
		grep -v -e '/\.fusion[/"]' -e 'service-catalog.yaml"' -e '= -1 ENOENT' || true)
	[ -z "$opened" ] || { echo "$opened" | head; false; }
}

@test "why: a pending node also names its own changed inputs; plan words reasons by kind" {
	sed -i 's/RUBY_VERSION: "3.3"/RUBY_VERSION: "3.4"/' "$CAT"
	echo "extra: 1" >>"$WS/local-dev/helm/values/core-api.yaml"
	run fx why core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"chart:core-api is pending: build:core-api will run"$'\n'"    M values file local-dev/helm/values/core-api.yaml"* ]]
	[[ "$output" != *"rule changed"* ]]
	run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:core-api"*"build arg RUBY_VERSION changed"* ]]
	fake-cluster recreate
	run fx plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"release:postgresql"*"cluster recreated"* ]]
}

@test "a no-op up on the example reads no file, its ignore files included" {
	find "$WS" -path "$STATE" -prune -o -exec touch -h -d '1 minute ago' {} +
	fx up >/dev/null	# records the files (and the ignore file's text) as they are now
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=open,openat -o "$BATS_TEST_TMPDIR/trace" \
		"$FUSION" -f "$CAT" up >/dev/null
	opened=$(grep -F "\"$WS/" "$BATS_TEST_TMPDIR/trace" | grep -v O_DIRECTORY |
		grep -v -e '/\.fusion[/"]' -e 'service-catalog.yaml"' || true)
	[ -z "$opened" ] || { echo "$opened" | head; false; }
	# and an edit of the ignore file is still seen
	echo "docs/" >>"$WS/partners-engine/.containerignore"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:partners-engine" ]
}
