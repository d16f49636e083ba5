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
		[ "$FX_RC" -eq 130 ] || { echo "$sig: exit $FX_RC"; cat "$BATS_TEST_TMPDIR/out"; false; }
	done
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	run fx cache import "$BATS_TEST_TMPDIR/records"
	[ "$status" -eq 0 ]
	[ "$output" = "imported 1 node record from $BATS_TEST_TMPDIR/records" ]
}

# ---- a file:// shared cache whose objects were tampered with ----

# Push the build of scriptdash to a file:// cache ($DIR); AC and BLOB are
# its record and blob, kept as pushed in $AC.orig.
pushed() {
	DIR=$BATS_TEST_TMPDIR/shared
	run fx up --until build scriptdash --push --remote "file://$DIR"
	[ "$status" -eq 0 ]
	AC=$(echo "$DIR"/ac/*)
	BLOB=$DIR/cas/$(awk '$1 == "blob" {print $2}' "$AC")
	cp "$AC" "$AC.orig"
}

# A fresh state directory asks the cache for scriptdash's build again.
restore_run() {
	rm -rf "$STATE"
	reset_calls
	run timeout 120 "$FUSION" -f "$CAT" up --until build scriptdash --remote "file://$DIR" --json # status-free: built_instead checks it
}

# The last restore_run built scriptdash (the cache was not used), warning
# with WHAT.
built_instead() {
	[ "$status" -eq 0 ]
	[ "$(results ran)" = build:scriptdash ]
	[[ "$output" == *"$1"* ]]
	[ "$(calls 'podman build')" -eq 1 ]
}

@test "shared cache: an output that is no image ID, a blob over cache.max_blob_mib, a FIFO for a blob: the build runs" {
	pushed
	# a record's output is used only if it is an image ID; a tool would
	# take "--help" for an option
	sed -i 's/^output sha256:.*/output --help/' "$AC"
	restore_run
	built_instead "could not restore it from the shared cache (its record's output is not an image ID)"
	[ "$(calls 'podman tag --help')" -eq 0 ]
	[[ "$(sqlite3 "$STATE/cache.db" "select output from node where id = 'build:scriptdash'")" == sha256:* ]]
	# a record claims a size over the limit: refused before a byte moves
	cp "$AC.orig" "$AC"
	printf 'cache:\n  max_blob_mib: 1\n' >>"$CAT"
	sed -i "s/^blob \([0-9a-f]*\) .*/blob \1 $((2 << 20))/" "$AC"
	restore_run
	built_instead "its record claims 2097152 bytes, more than the limit of 1048576 (cache.max_blob_mib)"
	# a FIFO (it blocked the open for ever) is no object
	cp "$AC.orig" "$AC"
	rm "$BLOB"
	mkfifo "$BLOB"
	restore_run
	built_instead "not a regular file; running it here"
}

# An image of a one-file root file system, tagged NAME; prints its ID.
tiny_image() {
	mkdir -p "$BATS_TEST_TMPDIR/root-$2"
	echo "$2" >"$BATS_TEST_TMPDIR/root-$2/file"
	tar -C "$BATS_TEST_TMPDIR/root-$2" -cf "$BATS_TEST_TMPDIR/root-$2.tar" .
	podman import -q "$BATS_TEST_TMPDIR/root-$2.tar" "$1" >/dev/null
	podman image inspect --format '{{.Id}}' "$1"
}

# Point the record at another blob: FILE, as the image ID ID.
serve_blob() {
	local sha size
	sha=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	cp "$1" "$DIR/cas/$sha"
	sed -i -e "s/^blob .*/blob $sha $size/" -e "s/^output .*/output sha256:$2/" "$AC"
}

# A cached archive carrying the name of an unrelated image of the user's
# (made by podman save of another image, then renamed in its index.json):
# loading it would point that name at the archive's image.
@test "shared cache: an archive that names another image is not loaded, and no other name moves" {
	pushed
	victim=$(tiny_image localhost/victim:1 victim)
	evil=$(tiny_image localhost/attacker:1 attacker)
	podman save -q --format oci-archive -o "$BATS_TEST_TMPDIR/evil.tar" localhost/attacker:1
	python3 - "$BATS_TEST_TMPDIR/evil.tar" "$BATS_TEST_TMPDIR/renamed.tar" <<'PY'
import io, sys, tarfile
src, dst = tarfile.open(sys.argv[1]), tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    if m.name.lstrip("./") == "index.json":
        data = data.replace(b"localhost/attacker:1", b"localhost/victim:1")
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data) if data is not None else None)
dst.close()
PY
	podman untag localhost/attacker:1
	serve_blob "$BATS_TEST_TMPDIR/renamed.tar" "$evil"
	restore_run
	built_instead "the archive would name localhost/victim:1, not only localhost/scriptdash:fx-"
	[ "$(calls 'podman load')" -eq 0 ]
	[ "$(podman image inspect --format '{{.Id}}' localhost/victim:1)" = "$victim" ]
}
