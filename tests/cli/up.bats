#!/usr/bin/env bats
# `fusion up`: runs only stale nodes, in parallel, in edge order; early
# cutoff; failures, -k, interrupts, crashes, the lock; selection.
# Real podman (isolated storage) builds the images; the cluster tools are
# the fakes in tests/fakes.

load helpers

setup() {
	fx_setup
}

teardown() {
	fake-cluster unblock 2>/dev/null || true
	stop_background
}

@test "cold up runs every node once, in an order that respects every edge" {
	up_json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .ran == 14 and .failed == 0 and .fresh == 0'
	# every node started once and finished once
	[ "$(echo "$output" | jq -r 'select(.event=="start") | .node' | sort | uniq -d)" = "" ]
	[ "$(echo "$output" | jq -r 'select(.event=="start") | .node' | wc -l)" -eq 14 ]
	[ "$(results ran | wc -w)" -eq 14 ]
	# for every edge (needs included), the upstream finished before the downstream started
	printf '%s\n' "$output" | jq -c 'select(.event)' >"$BATS_TEST_TMPDIR/events"
	fx graph --json | jq -r '.edges[] | "\(.[0]) \(.[1])"' | while read -r from to; do
		f=$(grep -n "\"finish\",\"node\":\"$from\"" "$BATS_TEST_TMPDIR/events" | cut -d: -f1)
		s=$(grep -n "\"start\",\"node\":\"$to\"" "$BATS_TEST_TMPDIR/events" | cut -d: -f1)
		[ -n "$f" ] && [ -n "$s" ] && [ "$f" -lt "$s" ] || { echo "edge $from -> $to violated"; false; }
	done
	[ "$(calls 'helm upgrade')" -eq 4 ]
	[ "$(calls 'minikube -p fusion image load')" -eq 3 ]
	[ "$(calls 'podman build')" -eq 3 ]
}

@test "a second up runs nothing: no podman, no helm, one kubectl call" {
	fx up >/dev/null
	reset_calls
	up_json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .ran == 0 and .fresh == 14'
	[ "$(calls podman)" -eq 0 ]
	[ "$(calls helm)" -eq 0 ]
	[ "$(calls minikube)" -eq 0 ]
	[ "$(calls kubectl)" -le 1 ]
}

@test "one file changed in one service: exactly its build, load, chart and release rerun" {
	fx up >/dev/null
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	echo "$output" | jq -e 'select(.event=="summary") | .fresh == 10'
}

# bats test_tags=slow
@test "a values file changed: chart and release of that service only, no build" {
	fx up >/dev/null
	sed -i 's/name: core_api/name: core_api_v2/' "$WS/local-dev/helm/values/core-api.yaml"
	reset_calls
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:core-api release:core-api" ]
	[ "$(calls podman)" -eq 0 ]
	grep -q core_api_v2 "$FUSION_FAKE_STATE/releases/fusion/core-api/manifest"
}

@test "a change that renders the same manifest: the chart reruns, the release is cut off" {
	fx up >/dev/null
	echo "# a comment changes nothing rendered" >>"$WS/local-dev/helm/values/core-api.yaml"
	reset_calls
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:core-api" ]
	[ "$(results cutoff)" = "release:core-api" ]
	[ "$(calls 'helm upgrade')" -eq 0 ]
}

@test "a rebuild that yields the same image keeps the tag: load, chart and release are cut off" {
	fx up >/dev/null
	echo "more words" >>"$WS/core-api/README.md"	# in the context, never copied
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:core-api" ]
	[ "$(results cutoff)" = "chart:core-api load:core-api" ]
}

# bats test_tags=slow
@test "cluster recreated: every load and release reruns, no build" {
	fx up >/dev/null
	fake-cluster recreate
	reset_calls
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "load:core-api load:partners-engine load:scriptdash release:core-api release:partners-engine release:postgresql release:scriptdash" ]
	[ "$(calls 'podman build')" -eq 0 ]
	[ "$(calls 'helm template')" -eq 0 ]
}

# bats test_tags=slow
@test "a release uninstalled behind fusion's back: plain up trusts the records, --verify redeploys" {
	fx up >/dev/null
	helm uninstall scriptdash -n fusion >/dev/null
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
	up_json --verify
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "release:scriptdash" ]
	[ -d "$FUSION_FAKE_STATE/releases/fusion/scriptdash" ]
}

@test "an image deleted behind fusion's back: --verify rebuilds it" {
	fx up >/dev/null
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:scriptdash'")
	podman rmi -f "$id" >/dev/null
	up_json --verify
	[ "$status" -eq 0 ]
	[[ "$(results ran)" == *"build:scriptdash"* ]]
}

@test "a failing build: exit 1, its log tail, dependents skipped, the run stops; the counter stays within its total" {
	echo "COPY no-such-file /x" >>"$WS/scriptdash/Containerfile"
	run fx up -j 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"fusion: build:scriptdash: podman build exited with status"* ]]
	[[ "$output" == *"| "*"no-such-file"* ]]
	[[ "$output" == *"log: $STATE/logs/build:scriptdash.log"* ]]
	# [done/total] never passes its total; skipped is only what the failure
	# blocked, not what the stop kept from starting
	printf '%s\n' "$output" | awk -F'[][/]' '/^\[[0-9]+\/[0-9]+\]/ { n++; if ($2 + 0 > $3 + 0) bad = 1 } END { exit bad || !n }'
	[ -z "$(printf '%s\n' "$output" | grep '^\[.*\] skipped' | grep -v ' scriptdash ')" ]
	run sqlite3 "$STATE/cache.db" "select count(*) from node where id like '%scriptdash'"
	[ "$status" -eq 0 ]
	[ "$output" -eq 0 ]
}

# bats test_tags=slow
@test "-k: the other services finish; the next up reruns only the failed service's nodes" {
	cp "$WS/scriptdash/Containerfile" "$BATS_TEST_TMPDIR/Containerfile.good"
	echo "COPY no-such-file /x" >>"$WS/scriptdash/Containerfile"
	up_json -k
	[ "$status" -eq 1 ]
	[ "$(results failed)" = "build:scriptdash" ]
	[ "$(results skipped)" = "chart:scriptdash load:scriptdash release:scriptdash" ]
	[ "$(results ran | wc -w)" -eq 10 ]
	cp "$BATS_TEST_TMPDIR/Containerfile.good" "$WS/scriptdash/Containerfile"
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:scriptdash chart:scriptdash load:scriptdash release:scriptdash" ]
}

# bats test_tags=slow
@test "a failing release: exit 1 and its dependents are skipped" {
	export FUSION_FAKE_FAIL='^helm upgrade --install core-api '
	up_json -k
	[ "$status" -eq 1 ]
	[ "$(results failed)" = "release:core-api" ]
	[ "$(results skipped)" = "release:partners-engine" ]
}

@test "Ctrl-C during a slow step: exit 130 without waiting for the step, no child left" {
	export FUSION_FAKE_SLEEP="^helm template=$SLOW"
	up_in_background '^helm template' --json
	# the fake logs its call before it starts its sleep: stop once it has
	wait_for 120 pgrep -f "sleep $SLOW" >/dev/null
	signal_and_wait INT
	[ "$FX_RC" -eq 130 ]
	# the slow templates were stopped, not waited for: none rendered anything
	[ -z "$(cat "$STATE"/artifacts/*.yaml 2>/dev/null)" ]
	no_process_left "sleep $SLOW"
	no_process_left "$FAKES/helm"
	# what finished is recorded: a second run does not redo it
	unset FUSION_FAKE_SLEEP
	finished=$(ran_in_background)
	up_json
	[ "$status" -eq 0 ]
	none_ran_again $finished
}

# bats test_tags=slow
@test "SIGKILL mid-run: finished nodes are not rerun and the database is intact" {
	export FUSION_FAKE_SLEEP="^helm upgrade --install scriptdash=$SLOW"
	up_in_background '^helm upgrade --install scriptdash' --json
	# the fake logs its call before it starts its sleep: kill once it has
	sleeping() { pgrep -f "sleep $SLOW" >/dev/null; }
	wait_until sleeping
	signal_and_wait KILL
	run sqlite3 "$STATE/cache.db" "PRAGMA integrity_check"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	finished=$(ran_in_background)
	[ -n "$finished" ]
	# the kernel killed fusion's child (the fake helm); its own child lives on
	sleeping
	unset FUSION_FAKE_SLEEP
	up_json
	[ "$status" -eq 0 ]
	[[ "$(results ran)" == *"release:scriptdash"* ]]
	none_ran_again $finished
	# ... until the next run stops what the killed one left behind (the slow
	# helm's group, and any other still in flight: a podman save of a load)
	[[ "$output" =~ stopped\ [1-9][0-9]*\ tool\ process\ groups?\ left\ running\ by\ a\ fusion\ that\ was\ killed ]]
	no_process_left "sleep $SLOW"
	[ ! -e "$STATE/running" ]
}

# A killed run with a slow release in flight: its helm's group (the fake's
# sleep) outlives it, recorded in .fusion/running. ORPHAN: that sleep's pid.
killed_with_orphan() {
	export FUSION_FAKE_SLEEP="^helm upgrade --install scriptdash=$SLOW"
	up_in_background '^helm upgrade --install scriptdash' --json
	# the fake logs its call before it starts its sleep: kill once it has
	# (killed before, the fake dies with fusion and leaves no orphan)
	orphan_alive() { ORPHAN=$(pgrep -f "sleep $SLOW" | head -n1); [ -n "$ORPHAN" ]; }
	wait_until orphan_alive
	signal_and_wait KILL
	unset FUSION_FAKE_SLEEP
	alive "$ORPHAN"
	[ -s "$STATE/running" ]
}

# PID is a live process (kill -0 also says yes for a zombie).
alive() {
	local st
	st=$(ps -o stat= -p "$1") && [[ $st != Z* ]]
}

# Stop what a test started in a group of its own (by pid, never by name).
stop_group() {
	kill -KILL -- "-$1" 2>/dev/null || true
}

# The pgid recorded in .fusion/running replaced by another one (what a
# reused id looks like to the next run), in whatever form the file has.
record_group_as() {
	local old
	old=$(ps -o pgid= -p "$ORPHAN" | tr -d ' ')
	sed -i -E "s/(^|[^0-9])$old( |\$)/\1$1\2/" "$STATE/running"
	grep -qE "(^|[^0-9])$1( |\$)" "$STATE/running"
}

# bats test_tags=slow
@test "a .fusion/running written before a reboot: its groups are left alone" {
	killed_with_orphan
	group=$(ps -o pgid= -p "$ORPHAN" | tr -d ' ')
	# the same ids after a reboot name other processes: a new boot ID says so
	sed -i 's/^boot .*/boot 00000000-0000-4000-8000-000000000000/' "$STATE/running"
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" != *"stopped"*"tool process group"* ]]
	alive "$ORPHAN"
	[ ! -e "$STATE/running" ]
	stop_group "$group"
}

# bats test_tags=slow
@test "a reused group id whose leader is gone: the stranger's group is left alone" {
	killed_with_orphan
	ours=$(ps -o pgid= -p "$ORPHAN" | tr -d ' ')
	# a stranger's group whose leader exited and left a member running,
	# as a shell pipeline's may
	setsid sh -c "echo \$\$ >'$BATS_TEST_TMPDIR/pgid'; sleep ${SLOW}1 & exit 0" </dev/null >/dev/null 2>&1
	stranger=$(cat "$BATS_TEST_TMPDIR/pgid")
	member=$(pgrep -g "$stranger")
	[ -n "$member" ]
	record_group_as "$stranger"
	up_json
	[ "$status" -eq 0 ]
	alive "$member"
	stop_group "$stranger"
	stop_group "$ours"
}

# bats test_tags=slow
@test "a reused group id whose leader is alive with another start time: left alone" {
	killed_with_orphan
	ours=$(ps -o pgid= -p "$ORPHAN" | tr -d ' ')
	setsid sleep "${SLOW}2" </dev/null >/dev/null 2>&1 &
	leader=$!
	record_group_as "$leader"
	up_json
	[ "$status" -eq 0 ]
	alive "$leader"
	stop_group "$leader"
	stop_group "$ours"
}

# A .fusion/running forged to look like a killed run's in every way it can
# (this boot, this state directory, a writer that is gone, a group whose
# live leader has the recorded start time): the group carries no run's
# token, so it is a stranger's and is never signalled.
@test "a forged .fusion/running naming a live stranger's group: the stranger survives" {
	setsid sleep "3${SLOW}" </dev/null >/dev/null 2>&1 &
	stranger=$!
	wait_until alive "$stranger"
	mkdir -p -m 700 "$STATE"
	writer=$(sh -c 'echo $$')	# gone once read
	{
		echo "fusion-running 2"
		echo "boot $(cat /proc/sys/kernel/random/boot_id)"
		echo "statedir $(stat -c '%d %i' "$STATE")"
		echo "writer $writer 12345"
		echo "token 0123456789abcdef0123456789abcdef"
		echo "group $stranger $(awk '{print $22}' "/proc/$stranger/stat")"
	} >"$STATE/running"
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" != *"stopped"*"tool process group"* ]]
	alive "$stranger"
	[ "$(ps -o pgid= -p "$stranger" | tr -d ' ')" = "$stranger" ]	# still its own group
	stop_group "$stranger"
}

# bats test_tags=slow
@test "a workspace copied with its .fusion/running: the copy stops nothing, the original stops its own" {
	killed_with_orphan
	cp -a "$WS" "$BATS_TEST_TMPDIR/copy"
	run "$FUSION" -f "$BATS_TEST_TMPDIR/copy/local-dev/config/service-catalog.yaml" up --json
	[ "$status" -eq 0 ]
	[[ "$output" != *"stopped"*"tool process group"* ]]
	alive "$ORPHAN"
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped 1 tool process group left running by a fusion that was killed"* ]]
	no_process_left "sleep $SLOW"
}

@test "Ctrl-C while the cluster identity is read inside the scheduler: the query and the builds stop at once" {
	sed -i 's/^  builder: podman/  builder: docker/' "$CAT"	# the docker fake can be made slow
	# cold: every load waits for its build, so the identity is read once the
	# first build is done, while partners-engine's is still building
	export FUSION_FAKE_SLEEP="^docker build .*partners-engine=$SLOW"
	export FUSION_FAKE_BLOCK='^kubectl .*get namespace kube-system'
	up_in_background '^kubectl .*get namespace kube-system' --json
	blocked() { [ -n "$(fake-cluster blocked)" ]; }
	wait_until blocked
	pgrep -f "sleep $SLOW" >/dev/null
	kill -INT "$FX_PID"
	# the query never answers: fusion must not wait for it
	exited() { if alive "$FX_PID"; then return 1; fi; }
	WAIT_S=60 wait_until exited
	FX_RC=0
	wait "$FX_PID" || FX_RC=$?
	[ "$FX_RC" -eq 130 ]
	no_process_left "sleep $SLOW"
	no_process_left "$FAKES/kubectl"
	grep -q "interrupted" "$BATS_TEST_TMPDIR/out"
}

# bats test_tags=slow
@test "two concurrent ups: the second waits, then finds nothing to do" {
	export FUSION_FAKE_SLEEP='^helm upgrade --install scriptdash=2'
	up_in_background '^podman build'
	run fx up --json
	wait "$FX_PID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"waiting for another fusion run"* ]]
	echo "$output" | grep '^{' | jq -e 'select(.event=="summary") | .ran == 0 and .fresh == 14'
}

# bats test_tags=slow
@test "--no-wait: a second up exits 2 at once while the first runs" {
	export FUSION_FAKE_SLEEP='^helm template=3'
	up_in_background '^helm template'
	run fx up --no-wait
	[ "$status" -eq 2 ]
	[[ "$output" == *"another fusion run"* ]]
	# read-only commands never block on the lock
	run timeout 5 "$FUSION" -f "$CAT" graph --json
	[ "$status" -eq 0 ]
	wait "$FX_PID"
}

@test "up SVC touches only SVC and what it needs" {
	up_json scriptdash
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:scriptdash chart:postgresql chart:scriptdash load:scriptdash release:postgresql release:scriptdash" ]
	[ "$(calls 'podman build')" -eq 1 ]
}

@test "--until build runs no load, chart or release" {
	up_json --until build
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:core-api build:partners-engine build:scriptdash" ]
	[ "$(calls helm)" -eq 0 ]
	[ "$(calls minikube)" -eq 0 ]
	[ "$(calls kubectl)" -eq 0 ]
}

# bats test_tags=slow
@test "--force reruns every selected node" {
	fx up >/dev/null
	up_json --force scriptdash
	[ "$status" -eq 0 ]
	[ "$(results ran | wc -w)" -eq 6 ]
}

@test "plan says what would run and why; -v shows the commands; it runs nothing" {
	fx up >/dev/null
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	reset_calls
	run fx plan -v
	[ "$status" -eq 0 ]
	[[ "$output" == *"build:core-api"*"app/models/account.rb changed"* ]]
	[[ "$output" == *"$ podman build -f $WS/core-api/Containerfile --iidfile"* ]]
	[[ "$output" == *"--build-arg RUBY_VERSION=3.3 --target dev"* ]]
	[[ "$output" == *"1 to run, 3 may run"* ]]
	[ "$(calls podman)" -eq 0 ]
	[ "$(calls helm)" -eq 0 ]
	run fx up --dry-run --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'select(.event=="summary") | .stale == 1 and .pending == 3'
}

@test "the chart gets the computed image reference and a pull policy for loaded images" {
	fx up >/dev/null
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:core-api'")
	tag="fx-$(echo "${id#sha256:}" | cut -c1-16)"
	grep -q "image: \"localhost/core-api:$tag\"" "$STATE/artifacts/core-api.yaml"
	grep -q "imagePullPolicy: Never" "$STATE/artifacts/core-api.yaml"
	podman image exists "localhost/core-api:$tag"
	grep -qx "localhost/core-api:$tag" "$FUSION_FAKE_STATE/images/fusion"
}

# bats test_tags=slow
@test "down uninstalls dependents first and the next up redeploys" {
	fx up >/dev/null
	reset_calls
	run fx down --all
	[ "$status" -eq 0 ]
	order=$(grep '^helm uninstall' "$FUSION_FAKE_STATE/calls.log" | awk '{print $3}' | tr '\n' ' ')
	# partners-engine needs core-api needs postgresql
	[[ "$order" == *"partners-engine"*"core-api"*"postgresql"* ]]
	[ ! -d "$FUSION_FAKE_STATE/releases/fusion/core-api" ]
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "release:core-api release:partners-engine release:postgresql release:scriptdash" ]
}

# bats test_tags=slow
@test "status: every service with its image tag, revision and state" {
	fx up >/dev/null
	run fx status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'length == 4'
	echo "$output" | jq -e '.[] | select(.service=="core-api") | (.image | startswith("localhost/core-api:fx-")) and .state=="fresh" and .revision=="1"'
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	run fx status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.[] | select(.service=="core-api") | .state=="stale"'
	echo "$output" | jq -e '.[] | select(.service=="scriptdash") | .state=="fresh"'
}

# bats test_tags=slow
@test "a load that fails because its image is gone rebuilds it once" {
	fx up >/dev/null
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:scriptdash'")
	tag="fx-$(echo "${id#sha256:}" | cut -c1-16)"
	podman rmi -f "$id" >/dev/null
	fake-cluster recreate	# so the loads run again; the plain up trusts the records
	# podman cannot save an image that is not there
	up_json
	[ "$status" -eq 0 ]
	[[ "$output" == *"image localhost/scriptdash:$tag is gone from podman; it will be rebuilt"* ]]
	[[ " $(results ran) " == *" build:scriptdash "* ]]
	[[ " $(results ran) " == *" load:scriptdash "* ]]
	[[ " $(results ran) " != *" build:core-api "* ]]
	echo "$output" | grep '^{' | jq -e 'select(.event=="summary") | .failed == 0 and .ran + .cutoff + .fresh == 14'
	id2=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:scriptdash'")
	podman image exists "localhost/scriptdash:fx-$(echo "${id2#sha256:}" | cut -c1-16)"
}

# bats test_tags=slow
@test "the progress counter never passes its total, even when a lost image is rebuilt" {
	fx up >/dev/null
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:scriptdash'")
	podman rmi -f "$id" >/dev/null
	fake-cluster recreate
	run fx up
	[ "$status" -eq 0 ]
	[[ "$output" == *"it will be rebuilt"* ]]
	counters=$(echo "$output" | grep -oE '^\[[0-9]+/[0-9]+\]' | tr -d '[]')
	[ -n "$counters" ]
	for c in $counters; do
		[ "${c%/*}" -le "${c#*/}" ] || { echo "counter $c"; false; }
	done
	last=$(echo "$counters" | tail -n1)
	[ "${last%/*}" -eq "${last#*/}" ]
}

# bats test_tags=slow
@test "a load that fails with its image present is a plain failure, not retried" {
	fx up >/dev/null
	fake-cluster recreate
	reset_calls
	export FUSION_FAKE_FAIL="^minikube -p fusion image load .*/scriptdash.tar\$"
	up_json -k
	[ "$status" -eq 1 ]
	[[ "$output" == *"loading localhost/scriptdash:fx-"*"into the cluster failed"* ]]
	[ "$(results failed)" = "load:scriptdash" ]
	[ "$(calls 'podman build')" -eq 0 ]
}

@test "Ctrl-C during a slow build: exit 130 without waiting for the build, none left running" {
	sed -i 's/^  builder: podman/  builder: docker/' "$CAT"	# the docker fake can be made slow
	export FUSION_FAKE_SLEEP="^docker build=$SLOW"
	up_in_background '^docker build'
	wait_for 120 pgrep -f "sleep $SLOW" >/dev/null	# the build is under way
	signal_and_wait INT
	[ "$FX_RC" -eq 130 ]
	# the build was stopped, not waited for: it wrote no image ID
	[ -z "$(ls "$STATE"/artifacts/*.iid 2>/dev/null)" ]
	no_process_left "sleep $SLOW"
	no_process_left "$FAKES/docker"
	# interrupted, not failed: its line, its record, the summary's count
	grep -qE '^\[[0-9]+/[0-9]+\] interrupted build ' "$BATS_TEST_TMPDIR/out"
	[ "$(grep -c '\] failed' "$BATS_TEST_TMPDIR/out")" -eq 0 ]
	grep -qE '^fusion: .* 0 failed, 0 skipped, [1-9][0-9]* interrupted' "$BATS_TEST_TMPDIR/out"
	[ "$(sqlite3 "$STATE/cache.db" "select count(*) from run_node where result='interrupted' and node like 'build:%'")" -ge 1 ]
	[ "$(sqlite3 "$STATE/cache.db" "select interrupted from run order by id desc limit 1")" -ge 1 ]
}

# bats test_tags=slow
@test "on a terminal: a ninja-style status line, a summary table, colour unless NO_COLOR" {
	unset NO_COLOR
	run script -qec "$FUSION -f $CAT up" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\r\033[K['*'/14] build '* ]]
	[[ "$output" == *"node"*"result"*"seconds"* ]]
	[[ "$output" == *$'\033[32mran'* ]]
	echo "# edit" >>"$WS/scriptdash/src/server.js"
	run script -qec "$FUSION -f $CAT --no-color up" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\033[32m'* ]]
	[[ "$output" == *"build:scriptdash"*"ran"* ]]
}

# bats test_tags=slow
@test "not on a terminal: one line per node" {
	run fx up
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^\[[0-9]*/14\] ran ')" -eq 14 ]
	[[ "$output" != *$'\033'* ]]
}

# bats test_tags=slow
@test "cluster unreachable: loads and releases fail with the reason, builds and charts go on with -k" {
	fake-cluster down
	up_json -k
	[ "$status" -eq 1 ]
	[[ "$output" == *"fusion: load:core-api: cluster not reachable (kubectl: "*"refused"* ]]
	[ "$(results failed)" = "load:core-api load:partners-engine load:scriptdash release:postgresql" ]
	[ "$(results ran)" = "build:core-api build:partners-engine build:scriptdash chart:core-api chart:partners-engine chart:postgresql chart:scriptdash" ]
	# one kubectl call for the whole run, however many nodes need the identity
	[ "$(calls kubectl)" -eq 1 ]
	fake-cluster up
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "load:core-api load:partners-engine load:scriptdash release:core-api release:partners-engine release:postgresql release:scriptdash" ]
}
