#!/usr/bin/env bats
# Crash consistency at 20 points: a SIGKILL of `fusion up` on a 10-service
# workspace at each kind of node and each step of its action (build, tag;
# load's save, load and check; chart; release), at each moment: before the
# tool starts, while it has done its work but not exited, between its
# success and the record, during the record (a torn write to the
# database's WAL), and with several tools of several kinds in flight.
# After each: the database passes `PRAGMA integrity_check`, the next run
# finishes the work (everything fresh and deployed, status agrees) and no
# node the killed run recorded runs again.
#
# Each point is hit deterministically, never by timing:
#   - FUSION_FAKE_BLOCK / FUSION_FAKE_BLOCK_AFTER stop a matching call of the
#     fakes (or of real podman, through the shim of helpers.bash) before it
#     starts or after it succeeded, until released (tests/fakes/fakelib.bash);
#     the test kills fusion while it is stopped there;
#   - for the record itself, strace attaches to fusion while the node's last
#     tool is stopped (-j 1: nothing else runs), the tool is released, and
#     strace kills fusion at its Nth write to cache.db-wal: N=1 before a byte
#     of the record is written, N=3 halfway through its first frame.

load helpers

# One 10-service workspace, brought up once per file, copied by each test.
setup_file() {
	setup_podman_storage
	export CONTAINERS_STORAGE_CONF="$FX_PODMAN_DIR/storage.conf" BUILDAH_ISOLATION=chroot
	TEMPLATE="$BATS_FILE_TMPDIR/template"
	mkdir -p "$TEMPLATE"
	"$TOP/tests/bench/gen-workspace" "$TEMPLATE/ws" 10 3 >/dev/null
	FUSION_FAKE_STATE="$TEMPLATE/cluster" PATH="$TOP/tests/fakes:$PATH" NO_COLOR=1 \
		"$FUSION" -f "$TEMPLATE/ws/local-dev/config/service-catalog.yaml" up >/dev/null
}

setup() {
	fx_setup
	TEMPLATE="$BATS_FILE_TMPDIR/template"
	rm -rf "$WS" "$FUSION_FAKE_STATE"
	cp -a "$TEMPLATE/ws" "$WS"
	cp -a "$TEMPLATE/cluster" "$FUSION_FAKE_STATE"
	reset_calls
	CAT="$WS/local-dev/config/service-catalog.yaml"
	STATE=$(realpath -m "$WS/local-dev/config/.fusion")
}

teardown() {
	fake-cluster unblock 2>/dev/null || true
	[ -z "${STRACE_PID:-}" ] || kill "$STRACE_PID" 2>/dev/null || true
	stop_background
}

# Make services stale: a new file in each one's build context.
edit() {
	local n
	for n in "$@"; do
		echo "edit $BATS_TEST_NAME" >"$WS/svc-000$n/src/edit.txt"
	done
}

# Wait until N calls are stopped (default 1).
wait_blocked() {
	local want=${1:-1}
	blocked_enough() { [ "$(fake-cluster blocked | wc -l)" -ge "$want" ]; }
	WAIT_S=300 wait_until blocked_enough
}

# The run fusion was killed in: the nodes it recorded as done.
recorded_by_killed_run() (
	set -o pipefail
	sqlite3 "$STATE/cache.db" "SELECT id FROM node WHERE run_id=(SELECT max(id) FROM run)" | sort
)

# SIGKILL the background fusion at the point where a call is stopped.
kill_at_block() {
	wait_blocked "${1:-1}"
	kill -KILL "$FX_PID"
	wait "$FX_PID" || true
}

# SIGKILL fusion at its Nth write to the WAL after the stopped call is
# released: the record of the node that call ends.
kill_in_record() {
	local n=$1
	wait_blocked
	strace -p "$FX_PID" -o /dev/null -e trace=pwrite64 -P "$STATE/cache.db-wal" \
		-e inject=pwrite64:signal=KILL:when="$n" 2>"$BATS_TEST_TMPDIR/strace" &
	STRACE_PID=$!
	attached() { grep -q "attached" "$BATS_TEST_TMPDIR/strace"; }
	wait_until attached
	fake-cluster unblock
	wait "$FX_PID" || true
	wait "$STRACE_PID" || true
	STRACE_PID=
}

# The checks after every kill: integrity now; then a run that finishes the
# work and runs nothing the killed run recorded; then nothing left to do.
check_recovery() {
	fake-cluster unblock
	unset FUSION_FAKE_BLOCK FUSION_FAKE_BLOCK_AFTER
	run sqlite3 "$STATE/cache.db" "PRAGMA integrity_check"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	local finished
	finished=$(recorded_by_killed_run)
	# what the killed run reported as ran is recorded (the event follows the commit)
	for n in $(ran_in_background); do
		[[ $'\n'"$finished"$'\n' == *$'\n'"$n"$'\n'* ]] || { echo "$n reported but not recorded"; return 1; }
	done
	up_json
	[ "$status" -eq 0 ]
	none_ran_again $finished
	up_json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .ran == 0 and .failed == 0 and .fresh == 42'
	run fx status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'length == 11 and all(.[]; .state == "fresh")'
	[ "$(fake-cluster releases | wc -l)" -eq 11 ]
	no_process_left "$BATS_TEST_TMPDIR/"
	[ ! -e "$STATE/running" ]
}

# bats test_tags=slow
@test "crash 1/20: build, before podman build starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^podman build .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 2/20: build, podman build done (image built), not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^podman build .*svc-0003'
	up_in_background . --json
	kill_at_block
	[ -s "$STATE/artifacts/svc-0003.iid" ]
	check_recovery
}

# bats test_tags=slow
@test "crash 3/20: build, before podman tag starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^podman tag .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 4/20: build, podman tag done, not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^podman tag .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

@test "crash 5/20: build, between the tool's success and its record" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^podman tag .*svc-0003'
	up_in_background . --json -j 1
	kill_in_record 1
	[[ "$(recorded_by_killed_run)" != *build:svc-0003* ]]
	check_recovery
}

# bats test_tags=slow
@test "crash 6/20: build, during its record (a torn WAL frame)" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^podman tag .*svc-0003'
	up_in_background . --json -j 1
	kill_in_record 3
	[[ "$(recorded_by_killed_run)" != *build:svc-0003* ]]
	check_recovery
}

# bats test_tags=slow
@test "crash 7/20: load, before podman save starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^podman save .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 8/20: load, podman save done (archive written), not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^podman save .*svc-0003'
	up_in_background . --json
	kill_at_block
	[ -s "$STATE/artifacts/svc-0003.tar" ]
	check_recovery
}

# bats test_tags=slow
@test "crash 9/20: load, before minikube image load starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^minikube .*image load .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 10/20: load, minikube image load done (image in the cluster), not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^minikube .*image load .*svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 11/20: load, minikube image ls done (the load's last step), not yet exited" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^minikube .*image ls'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 12/20: load, during its record (a torn WAL frame)" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^minikube .*image ls'
	up_in_background . --json -j 1
	kill_in_record 3
	[[ "$(recorded_by_killed_run)" != *load:svc-0003* ]]
	check_recovery
}

# bats test_tags=slow
@test "crash 13/20: chart, before helm template starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^helm template svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 14/20: chart, helm template done (manifest written), not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^helm template svc-0003'
	up_in_background . --json
	kill_at_block
	[ -s "$STATE/artifacts/svc-0003.yaml" ]
	check_recovery
}

# bats test_tags=slow
@test "crash 15/20: chart, between the tool's success and its record" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^helm template svc-0003'
	up_in_background . --json -j 1
	kill_in_record 1
	[[ "$(recorded_by_killed_run)" != *chart:svc-0003* ]]
	check_recovery
}

# bats test_tags=slow
@test "crash 16/20: release, before helm upgrade starts" {
	edit 3 4
	export FUSION_FAKE_BLOCK='^helm upgrade --install svc-0003'
	up_in_background . --json
	kill_at_block
	check_recovery
}

# bats test_tags=slow
@test "crash 17/20: release, helm upgrade done (new revision deployed), not yet exited" {
	edit 3 4
	export FUSION_FAKE_BLOCK_AFTER='^helm upgrade --install svc-0003'
	up_in_background . --json
	kill_at_block
	[ "$(fake-cluster releases | grep '^fusion/svc-0003 ' | cut -d' ' -f2)" -eq 2 ]
	check_recovery
}

# bats test_tags=slow
@test "crash 18/20: release, during its record (a torn WAL frame)" {
	edit 3
	export FUSION_FAKE_BLOCK_AFTER='^helm upgrade --install svc-0003'
	up_in_background . --json -j 1
	kill_in_record 3
	[[ "$(recorded_by_killed_run)" != *release:svc-0003* ]]
	check_recovery
}

@test "crash 19/20: three tools of three kinds in flight (a build, a chart, a release)" {
	edit 2 5 8
	export FUSION_FAKE_BLOCK='^podman build .*svc-0008|^helm template svc-0005|^helm upgrade --install svc-0002'
	up_in_background . --json -j 4
	kill_at_block 3
	check_recovery
}

# bats test_tags=slow
@test "crash 20/20: while the cluster identity is read inside the scheduler, a build running" {
	# svc-0003 and svc-0006 need nothing: their loads and releases are
	# pending, so the identity is read once the first build is done
	edit 3 6
	export FUSION_FAKE_BLOCK='^kubectl .*get namespace kube-system'
	up_in_background . --json svc-0003 svc-0006
	kill_at_block
	[ "$(calls 'podman build')" -ge 1 ]
	check_recovery
}
