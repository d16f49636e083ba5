#!/usr/bin/env bats
# Hostile caches and imports (issue 22): an import file, a shared cache's
# records, blobs and archives may come from anyone who could write them.
# They are data: checked before use, bounded, never followed into a wait
# that does not end, and never able to touch what is not the node's own.

load helpers

setup() {
	fx_setup
}

teardown() {
	stop_background
	[ -z "${HOLDER:-}" ] || { kill "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; }
}

# An import file with the right marks whose `node` is a view: a query of
# the file's choosing (a recursive one never ends and fills the disk with
# its sort), refused before anything is read; a FIFO is no file to read.
@test "cache import: a view for node, or a FIFO, is one error and changes nothing" {
	mkdir -m 700 -p "$STATE"
	sqlite3 "$BATS_TEST_TMPDIR/view" "PRAGMA application_id=1719168626; PRAGMA user_version=1;
		CREATE VIEW node AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r LIMIT 3)
		SELECT 'build:n' || i AS id, 'k' AS key, 'sha256:' || i AS output, 'h' AS output_hash,
		NULL AS manifest, 0 AS started, 0 AS seconds FROM r"
	run timeout 60 "$FUSION" -f "$CAT" cache import "$BATS_TEST_TMPDIR/view"
	[ "$status" -eq 1 ]
	[[ "$output" == *'view: its "node" is not a table'* ]]
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from node')" = 0 ]
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	run timeout 60 "$FUSION" -f "$CAT" cache import "$BATS_TEST_TMPDIR/fifo"
	[ "$status" -eq 1 ]
	[[ "$output" == *"fifo: not a regular file"* ]]
	[ "$(sqlite3 "$STATE/cache.db" 'select count(*) from node')" = 0 ]
}

# SIGINT and SIGTERM end an import with 130 wherever it waits (here: for
# the lock another run holds), and it imports nothing.
@test "cache import: SIGTERM and SIGINT while it waits give 130" {
	mkdir -m 700 -p "$STATE"
	sqlite3 "$BATS_TEST_TMPDIR/records" "PRAGMA application_id=1719168626; PRAGMA user_version=1;
		CREATE TABLE node(id TEXT PRIMARY KEY, key TEXT NOT NULL, output TEXT NOT NULL,
		output_hash TEXT NOT NULL, manifest TEXT, started REAL, seconds REAL) WITHOUT ROWID;
		INSERT INTO node VALUES('build:core-api', 'k', 'sha256:$(printf '%064d' 1)', 'h', NULL, 0, 0)"
	: >"$STATE/lock"
	# one process holds the lock (flock(1) would pass it on to its child)
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(300)' "$STATE/lock" "$BATS_TEST_TMPDIR/held" &
	HOLDER=$!
	wait_for 30 test -e "$BATS_TEST_TMPDIR/held"
	for sig in TERM INT; do
		"$FUSION" -f "$CAT" cache import "$BATS_TEST_TMPDIR/records" >"$BATS_TEST_TMPDIR/out" 2>&1 &
		FX_PID=$!
		wait_for 30 grep -q "waiting for another fusion run" "$BATS_TEST_TMPDIR/out"
		signal_and_wait "$sig"
		[ "$FX_RC" -eq 130 ]
	done
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	run fx cache import "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 0 ]
	[ "$output" = "imported 1 node record from $BATS_TEST_TMPDIR/records" ]
}
