#!/usr/bin/env bats
# The state directory under pressure: a damaged database (garbage,
# truncated, a torn WAL), one from a newer fusion, a read-only state
# directory, a full disk under the database, a log or an artifact; and the
# state is private to its user. The mount tests need root (CAP_SYS_ADMIN)
# and skip, saying why, where mounting a tmpfs is not allowed.

load helpers

setup() {
	fx_setup
	MOUNTS=()
}

teardown() {
	local i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
	done
}

# mount_tmpfs DIR SIZE [OPTIONS]: a small tmpfs at DIR (unmounted by
# teardown); skips the test where mounting is not allowed.
mount_tmpfs() {
	mkdir -p "$1"
	if ! mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>"$BATS_TEST_TMPDIR/mount.err"; then
		skip "mounting a tmpfs is not allowed here ($(head -n1 "$BATS_TEST_TMPDIR/mount.err")): run as root with CAP_SYS_ADMIN"
	fi
	MOUNTS+=("$1")
}

# Fill the file system that holds DIR to its last block.
fill() {
	dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
	[ "$(df --output=avail "$1" | tail -n1)" -eq 0 ]
}

# sha256 of a file
sum() (
	set -o pipefail
	sha256sum "$1" | cut -d' ' -f1
)

# The summary of the last up_json: "ran=N fresh=N failed=N".
summary() (
	set -o pipefail
	printf '%s\n' "$output" | grep '^{' | jq -r 'select(.event=="summary") | "ran=\(.ran) fresh=\(.fresh) failed=\(.failed)"'
)

# --- a damaged database ---

# bats test_tags=slow
@test "garbage in cache.db: moved aside with a warning naming where, the run goes on from an empty state" {
	fx up >/dev/null
	head -c 20000 /dev/urandom >"$STATE/cache.db"
	rm -f "$STATE/cache.db-wal" "$STATE/cache.db-shm"
	want=$(sum "$STATE/cache.db")
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=14 fresh=0 failed=0" ]
	aside=$(ls "$STATE" | grep '^cache.db.corrupt-' | grep -v -- '-wal$')	# its WAL, when it had frames, beside it
	[ "$(echo "$aside" | wc -l)" -eq 1 ]
	[[ "$output" == *"fusion: warning: $STATE/cache.db is damaged (file is not a database); moved it to $STATE/$aside: starting from an empty state (every node runs once)"* ]]
	[ "$(sum "$STATE/$aside")" = "$want" ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA integrity_check')" = ok ]
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=0 fresh=14 failed=0" ]
}

# bats test_tags=slow
@test "a truncated cache.db: moved aside, the run goes on from an empty state" {
	fx up >/dev/null
	truncate -s 8192 "$STATE/cache.db"
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=14 fresh=0 failed=0" ]
	[[ "$output" == *"fusion: warning: $STATE/cache.db is damaged (database disk image is malformed); moved it to $STATE/cache.db.corrupt-"* ]]
	run fx graph --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '[.nodes[] | select(.state=="fresh")] | length')" -eq 14 ]
}

# A SIGKILL leaves the WAL un-checkpointed; a torn last frame (a crash in
# the middle of a write) is dropped by SQLite's frame checksums, and every
# transaction before it is kept: nothing is moved aside.
# bats test_tags=slow
@test "a torn WAL: the torn transaction is dropped, every one before it kept" {
	export FUSION_FAKE_SLEEP="^helm upgrade --install scriptdash=$SLOW"
	up_in_background '^helm upgrade --install scriptdash' --json
	signal_and_wait KILL
	pkill -f "sleep $SLOW" || true
	finished=$(ran_in_background)
	[ "$(echo "$finished" | wc -w)" -ge 2 ]
	size=$(stat -c %s "$STATE/cache.db-wal")
	[ "$size" -gt 5000 ]
	truncate -s $((size - 100)) "$STATE/cache.db-wal"
	unset FUSION_FAKE_SLEEP
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" != *"damaged"* ]]
	[ -z "$(ls "$STATE" | grep '^cache.db.corrupt-' || true)" ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA integrity_check')" = ok ]
	# at most the last recorded node runs again (its transaction was torn)
	again=0
	for n in $finished; do
		[[ " $(results ran) " != *" $n "* ]] || again=$((again + 1))
	done
	[ "$again" -le 1 ]
}

# Opening reads the tables a run reads in full; damage elsewhere (here the
# run history, which a run only writes to) fails the statement that meets
# it, and the file is moved aside when the run ends.
@test "damage found during a run: reported, moved aside when the run ends, the next run starts empty" {
	fx up >/dev/null
	[ ! -s "$STATE/cache.db-wal" ]	# checkpointed: every table is in cache.db
	page=$(sqlite3 "$STATE/cache.db" "SELECT rootpage FROM sqlite_master WHERE name='run'")
	size=$(sqlite3 "$STATE/cache.db" 'PRAGMA page_size')
	head -c "$size" /dev/urandom |
		dd of="$STATE/cache.db" bs="$size" seek=$((page - 1)) conv=notrunc status=none
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" == *"fusion: $STATE/cache.db: cannot record run: database disk image is malformed"* ]]
	aside=$(ls "$STATE" | grep '^cache.db.corrupt-' | grep -v -- '-wal$')	# its WAL, when it had frames, beside it
	[[ "$output" == *"fusion: warning: $STATE/cache.db is damaged (found during this run); moved it to $STATE/$aside: the next run starts from an empty state"* ]]
	[ ! -e "$STATE/cache.db" ]
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=14 fresh=0 failed=0" ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA integrity_check')" = ok ]
}

# --- a database fusion must not touch ---

@test "a database from a newer fusion: refused with a clear message, left byte for byte" {
	fx up >/dev/null
	# a newer fusion might keep another journal mode
	sqlite3 "$STATE/cache.db" 'PRAGMA journal_mode=DELETE; PRAGMA user_version=99' >/dev/null
	want=$(sum "$STATE/cache.db")
	run fx up
	[ "$status" -eq 1 ]
	[[ "$output" == *"fusion: $STATE/cache.db: schema version 99 is newer than this fusion knows (3): left as it is"* ]]
	[[ "$output" == *"hint: upgrade fusion, or run \`fusion cache clear\` to start over"* ]]
	run fx graph
	[ "$status" -eq 1 ]
	[ "$(sum "$STATE/cache.db")" = "$want" ]
	[ ! -e "$STATE/cache.db-wal" ]
}

# bats test_tags=slow
@test "cache clear works on a database that cannot be opened (garbage, newer)" {
	fx up >/dev/null
	sqlite3 "$STATE/cache.db" 'PRAGMA user_version=99'
	run fx cache clear
	[ "$status" -eq 0 ]
	[[ "$output" == *"cleared $STATE"* ]]
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=14 fresh=0 failed=0" ]
	echo "not a database" >"$STATE/cache.db"
	run fx cache clear
	[ "$status" -eq 0 ]
	[ ! -e "$STATE/cache.db" ]
	[ -z "$(ls "$STATE" | grep '^cache.db.corrupt-' || true)" ]
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=14 fresh=0 failed=0" ]
}

# --- the file system ---

@test "a read-only state directory is one clear error" {
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/state"
	mount_tmpfs "$FUSION_STATE_DIR" 1m ro
	for cmd in up graph "cache stats" "cache clear"; do
		run fx $cmd
		echo "$cmd: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"fusion: $FUSION_STATE_DIR: the state directory is not writable (Read-only file system): fusion keeps its records there"* ]]
		[[ "$output" == *"hint: make it writable, or point FUSION_STATE_DIR at a writable directory"* ]]
		[ "$(echo "$output" | grep -c '^fusion: ')" -eq 1 ]
	done
}

# full_disk_case DIR: the first run on a roomy disk, then DIR (where the
# database, the logs or the artifacts are) filled up and core-api's
# replicaCount changed. Sets FIRST to the records of the first run.
full_disk_case() {
	up_json
	[ "$status" -eq 0 ]
	FIRST=$(sqlite3 "$STATE/cache.db" 'SELECT id, key FROM node ORDER BY id')
	[ "$(echo "$FIRST" | wc -l)" -eq 14 ]
	sed -i 's/set: {replicaCount: 1}/set: {replicaCount: 2}/' "$CAT"
	fill "$1"
}

# What every full-disk test checks once space is back: no earlier record
# was lost, and the run after is correct (it reruns what the change needs,
# and the one after that has nothing to do).
after_space_is_freed() {
	rm "$1/filler"
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA integrity_check')" = ok ]
	run sqlite3 "$STATE/cache.db" 'SELECT id, key FROM node ORDER BY id'
	[ "$status" -eq 0 ]
	[ "$output" = "$FIRST" ]
	up_json
	printf "%s\n" "$output" | grep -v "\"event\":\"\(start\|plan\)\""
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:core-api release:core-api" ]
	up_json
	[ "$status" -eq 0 ]
	[ "$(summary)" = "ran=0 fresh=14 failed=0" ]
}

# bats test_tags=slow
@test "a full disk under the database: 'no space left on device' and its path, no record lost" {
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/state"
	STATE=$FUSION_STATE_DIR
	mount_tmpfs "$STATE" 16m
	full_disk_case "$STATE"
	up_json
	[ "$status" -eq 1 ]
	[[ "$output" == *"fusion: $STATE/cache.db: "*": no space left on device"* ]]
	[[ "$output" != *"disk I/O error"* ]]
	after_space_is_freed "$STATE"
}

# bats test_tags=slow
@test "a full disk under the logs: the node fails naming its log, no record lost" {
	fx up >/dev/null
	mount_tmpfs "$STATE/logs" 1m
	full_disk_case "$STATE/logs"
	up_json
	[ "$status" -eq 1 ]
	[[ "$output" == *"chart:core-api: $STATE/logs/chart:core-api.log: no space left on device"* ]]
	after_space_is_freed "$STATE/logs"
}

# bats test_tags=slow
@test "a full disk under the artifacts: the chart fails naming its manifest, no record lost" {
	fx up >/dev/null
	mount_tmpfs "$STATE/artifacts" 1m
	full_disk_case "$STATE/artifacts"
	up_json
	[ "$status" -eq 1 ]
	[[ "$output" == *"chart:core-api: $STATE/artifacts/core-api.yaml: no space left on device"* ]]
	[ "$(results failed)" = "chart:core-api" ]
	after_space_is_freed "$STATE/artifacts"
}

# --- private ---

# bats test_tags=slow
@test "the state is private: a 0700 directory, 0600 database, logs and rendered manifests" {
	fx up >/dev/null
	check_private() {
		[ "$(stat -c %a "$STATE")" = 700 ]
		[ "$(stat -c %a "$STATE/logs")" = 700 ]
		[ "$(stat -c %a "$STATE/artifacts")" = 700 ]
		# podman's --iidfile too, written with podman's umask
		ls "$STATE"/artifacts/*.iid >/dev/null
		for f in "$STATE"/cache.db* "$STATE"/logs/* "$STATE"/artifacts/*.yaml "$STATE"/artifacts/*.iid "$STATE/lock" "$STATE/running"; do
			[ -f "$f" ] || continue
			[ "$(stat -c %a "$f")" = 600 ] || { echo "$f: $(stat -c %a "$f")"; return 1; }
		done
	}
	check_private
	# an older state, open to everyone, is closed by the next run
	chmod 755 "$STATE" "$STATE/logs" "$STATE/artifacts"
	chmod 644 "$STATE"/cache.db "$STATE"/logs/* "$STATE"/artifacts/*.yaml
	echo "# edit" >>"$WS/core-api/app/models/account.rb"
	fx up >/dev/null
	[ "$(stat -c %a "$STATE")" = 700 ]
	[ "$(stat -c %a "$STATE/cache.db")" = 600 ]
	[ "$(stat -c %a "$STATE/logs/build:core-api.log")" = 600 ]
	[ "$(stat -c %a "$STATE/artifacts/core-api.yaml")" = 600 ]
}

@test "the state ignores itself for git: after up, git status shows nothing of .fusion" {
	git -C "$WS/local-dev" init -q
	git -C "$WS/local-dev" add -A
	git -C "$WS/local-dev" -c user.name=t -c user.email=t@t commit -qm ws
	run fx up --until build
	[ "$status" -eq 0 ]
	[ -d "$WS/local-dev/.fusion" ]
	[ "$(cat "$WS/local-dev/.fusion/.gitignore" | grep -cx '\*')" -eq 1 ]
	run git -C "$WS/local-dev" status --porcelain --untracked-files=all
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
