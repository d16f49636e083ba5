#!/usr/bin/env bats
# The state database from the command line: stats, gc, clear, and its
# durability (WAL mode, one transaction per node, forward migration).

load helpers

setup() {
	fx_setup
	fx up >/dev/null
}

# bats test_tags=slow
@test "cache stats counts the records" {
	run fx cache stats --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.nodes == 14 and .runs == 1 and .schema == 3 and .stat_entries > 20'
	run fx cache stats
	[ "$status" -eq 0 ]
	[[ "$output" == *"14 recorded successes"* ]]
}

# bats test_tags=slow
@test "cache stats --json is valid JSON whatever the state path holds (quote, backslash)" {
	export FUSION_STATE_DIR="$BATS_TEST_TMPDIR/state \"quoted\" \\ dir"
	fx up >/dev/null
	run fx cache stats --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | jq -r .path)" = "$FUSION_STATE_DIR/cache.db" ]
}

# bats test_tags=slow
@test "the database is in WAL mode and passes an integrity check" {
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA journal_mode')" = wal ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA integrity_check')" = ok ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA user_version')" = 3 ]
}

# bats test_tags=slow
@test "the run history records each run and what it did" {
	echo "# edit" >>"$WS/scriptdash/src/server.js"
	fx up >/dev/null
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from run')" -eq 2 ]
	run sqlite3 "$STATE/cache.db" "select node, result from run_node where run_id=2 order by node"
	[ "$status" -eq 0 ]
	[ "$output" = $'build:scriptdash|ran\nchart:scriptdash|ran\nload:scriptdash|ran\nrelease:scriptdash|ran' ]
	[ "$(sqlite3 "$STATE/cache.db" 'select ran, fresh, status from run where id=2')" = "4|10|0" ]
}

# bats test_tags=slow
@test "cache gc drops the records of a removed service and the stat entries of deleted files" {
	# drop scriptdash from the catalog and delete one file of core-api
	awk '/^  scriptdash:/ { skip = 1; next } skip && /^    / { next } { skip = 0; print }' "$CAT" >"$CAT.new"
	mv "$CAT.new" "$CAT"
	rm "$WS/core-api/app/models/account.rb"
	before=$(sqlite3 "$STATE/cache.db" 'select count(*) from stat')
	run fx cache gc
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed 4 node records"* ]]
	[ "$(sqlite3 "$STATE/cache.db" "select count(*) from node where id like '%scriptdash'")" -eq 0 ]
	[ "$(sqlite3 "$STATE/cache.db" "select count(*) from stat where path like 'core-api/app/models/account.rb'")" -eq 0 ]
	[ "$(sqlite3 "$STATE/cache.db" "select count(*) from stat where path like 'scriptdash/%'")" -gt 0 ]	# files still there
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from stat')" -lt "$before" ]
	[ "$(sqlite3 "$STATE/cache.db" "select count(*) from node")" -eq 10 ]
}

# bats test_tags=slow
@test "cache clear forgets everything: the next up runs every node" {
	run fx cache clear
	[ "$status" -eq 0 ]
	# the database is removed, not opened: clear works whatever it holds
	[ ! -e "$STATE/cache.db" ]
	[ ! -e "$STATE/cache.db-wal" ]
	run fx up --json
	[ "$status" -eq 0 ]
	echo "$output" | grep '^{' | jq -e 'select(.event=="summary") | .ran == 14'
}

# bats test_tags=slow
@test "a database from a newer fusion is refused, not damaged" {
	sqlite3 "$STATE/cache.db" 'PRAGMA user_version=99'
	run fx up
	[ "$status" -eq 1 ]
	[[ "$output" == *"schema version 99 is newer than this fusion knows"* ]]
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from node')" -eq 14 ]
}

@test "cache export, then import on a fresh state: the next up is a no-op" {
	run fx cache export "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 0 ]
	[ "$output" = "exported 14 node records to $BATS_TEST_TMPDIR/records" ]
	# node records only: no stat cache, no run history, no log paths
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/records" "select count(*) from sqlite_master where type='table'")" = 1 ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/records" 'select count(*) from node')" = 14 ]
	rm -rf "$STATE"
	run fx cache import "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 0 ]
	[ "$output" = "imported 14 node records from $BATS_TEST_TMPDIR/records" ]
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from stat')" = 0 ]
	reset_calls
	up_json
	[ "$status" -eq 0 ]
	echo "$output" | grep '^{' | jq -e 'select(.event=="summary") | .ran == 0 and .fresh == 14'
	[ "$(calls 'podman build')" = 0 ]
	[ "$(calls 'helm')" = 0 ]
}

# bats test_tags=slow
@test "without an import, a fresh state runs every node again (what the import saves)" {
	rm -rf "$STATE"
	up_json
	[ "$status" -eq 0 ]
	echo "$output" | grep '^{' | jq -e 'select(.event=="summary") | .ran == 14'
}

# bats test_tags=slow
@test "cache import merges: its records replace the same nodes', others stay" {
	fx cache export "$BATS_TEST_TMPDIR/records" >/dev/null
	sqlite3 "$BATS_TEST_TMPDIR/records" "delete from node where id != 'build:core-api'; update node set output='sha256:imported'"
	sqlite3 "$STATE/cache.db" "insert into node(id, key, output, output_hash) values('build:gone', 'k', 'o', 'h')"
	run fx cache import "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 0 ]
	[ "$output" = "imported 1 node record from $BATS_TEST_TMPDIR/records" ]
	[ "$(sqlite3 "$STATE/cache.db" "select output from node where id='build:core-api'")" = sha256:imported ]
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from node')" = 15 ]
}

@test "cache import refuses a file that is not an export, and changes nothing" {
	before=$(sqlite3 "$STATE/cache.db" 'select group_concat(id || key, ",") from node')
	run fx cache import "$STATE/cache.db"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a file of \`fusion cache export\`"* ]]
	echo garbage >"$BATS_TEST_TMPDIR/garbage"
	run fx cache import "$BATS_TEST_TMPDIR/garbage"
	[ "$status" -eq 1 ]
	run fx cache import "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"missing: No such file or directory"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/missing" ]
	fx cache export "$BATS_TEST_TMPDIR/records" >/dev/null
	sqlite3 "$BATS_TEST_TMPDIR/records" "PRAGMA user_version=7"
	run fx cache import "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 1 ]
	[[ "$output" == *"export format 7; this fusion reads format 1"* ]]
	[ "$(sqlite3 "$STATE/cache.db" 'select group_concat(id || key, ",") from node')" = "$before" ]
}

# bats test_tags=slow
@test "cache export replaces its file whole; usage errors exit 2" {
	echo old >"$BATS_TEST_TMPDIR/records"
	fx cache export "$BATS_TEST_TMPDIR/records" >/dev/null
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/records" 'select count(*) from node')" = 14 ]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep 'records.tmp')" ]
	run fx cache export
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: fusion cache export FILE"* ]]
	run fx cache import a b
	[ "$status" -eq 2 ]
}

@test "a version-1 database is migrated forward, its records kept" {
	rm -rf "$STATE"
	mkdir -p "$STATE"
	sqlite3 "$STATE/cache.db" <<'SQL'
CREATE TABLE stat(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, mode INTEGER NOT NULL, hash BLOB NOT NULL, scan_ns INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE node(id TEXT PRIMARY KEY, key TEXT NOT NULL, output TEXT NOT NULL, output_hash TEXT NOT NULL, manifest TEXT, started REAL, seconds REAL, log TEXT, run_id INTEGER) WITHOUT ROWID;
CREATE TABLE run(id INTEGER PRIMARY KEY, started REAL, finished REAL, command TEXT, status INTEGER, ran INTEGER, cached INTEGER, cutoff INTEGER, failed INTEGER, skipped INTEGER, fresh INTEGER);
CREATE TABLE run_node(run_id INTEGER NOT NULL, node TEXT NOT NULL, result TEXT NOT NULL, seconds REAL, PRIMARY KEY(run_id, node)) WITHOUT ROWID;
CREATE INDEX run_node_by_node ON run_node(node, run_id);
INSERT INTO node(id, key, output, output_hash) VALUES('build:old', 'k', 'o', 'h');
PRAGMA user_version=1;
SQL
	run fx plan
	[ "$status" -eq 0 ]
	[ "$(sqlite3 "$STATE/cache.db" 'PRAGMA user_version')" = 3 ]
	[ "$(sqlite3 "$STATE/cache.db" "select output from node where id='build:old'")" = o ]
	sqlite3 "$STATE/cache.db" 'select count(*) from text' >/dev/null
}
