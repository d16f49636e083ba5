#!/usr/bin/env bats
# `fusion logs SVC [-f]`: the pods of SVC's release, through kubectl logs by
# the release's selector, each line prefixed with its pod. The fake kubectl
# keeps pod logs in the fake cluster's state (tests/fakes/README.md).

load helpers

setup() {
	fx_setup
	FX_PID=
}

teardown() {
	stop_background
}

# Stop the background `logs -f` with SIG (FX_RC: its status), and check
# that nothing it started is left.
stop_follow() {
	signal_and_wait "$1"
	FX_PID=
	no_descendant_left
}

# The pod a release runs now (one replica in the example).
pod_of() (
	set -o pipefail
	fake-cluster pods fusion | awk -v r="$1" '$2 ~ "^" r "-" { print $2 }'
)

@test "logs SVC: every line of the release's pods, prefixed with pod and container" {
	fx up >/dev/null
	pod=$(pod_of core-api)
	[ -n "$pod" ]
	for i in $(seq 15); do fake-cluster log fusion core-api "request $i"; done
	run fx logs core-api
	[ "$status" -eq 0 ]
	# all 16 lines (kubectl alone would show 10 with a selector)
	[ "$(echo "$output" | wc -l)" -eq 16 ]
	[ "$(echo "$output" | sed -n 1p)" = "[pod/$pod/core-api] container core-api started from image $(fx status --json | jq -r '.[] | select(.service=="core-api") | .image')" ]
	[ "$(echo "$output" | tail -n1)" = "[pod/$pod/core-api] request 15" ]
	grep -qx "kubectl --context fusion logs --namespace fusion --selector app.kubernetes.io/instance=core-api --prefix --all-containers --tail=-1" \
		"$FUSION_FAKE_STATE/calls.log"
}

@test "logs: the selector is the one the release's workloads use, read from the rendered manifest" {
	# a chart whose Deployment selects on two labels
	sed -i 's|^      app.kubernetes.io/instance: {{ .Release.Name }}$|&\n      app.kubernetes.io/name: {{ .Release.Name }}|' \
		"$WS/local-dev/helm/base-charts/service/templates/deployment.yaml"
	fx up >/dev/null
	run fx logs scriptdash
	[ "$status" -eq 0 ]
	[[ "$output" == "[pod/scriptdash-"*"/scriptdash] container scriptdash started"* ]]
	grep -q -- "--selector app.kubernetes.io/instance=scriptdash,app.kubernetes.io/name=scriptdash " \
		"$FUSION_FAKE_STATE/calls.log"
	# a shared release too (a StatefulSet)
	run fx logs postgresql
	[ "$status" -eq 0 ]
	[[ "$output" == "[pod/postgresql-0/postgresql] container postgresql started"* ]]
}

@test "logs: a release that is not up shows nothing and says so; names are checked" {
	run fx logs core-api
	[ "$status" -eq 0 ]
	[[ "$output" == *"No resources found in fusion namespace."* ]]
	run fx logs no-such-service
	[ "$status" -eq 2 ]
	[[ "$output" == *'no service or shared release named "no-such-service"'* ]]
	run fx logs
	[ "$status" -eq 2 ]
	run fx logs core-api scriptdash
	[ "$status" -eq 2 ]
	run "$FUSION" -f "$CAT" logs core-api --until build
	[ "$status" -eq 2 ]
}

# bats test_tags=slow
@test "logs: an unreachable cluster fails with kubectl's reason" {
	fx up >/dev/null
	fake-cluster down
	run fx logs core-api
	[ "$status" -eq 1 ]
	[[ "$output" == *"was refused"* ]]
}

# bats test_tags=slow
@test "logs -f: follows, and goes on with the new pods after a release replaces them" {
	fx up >/dev/null
	old=$(pod_of core-api)
	start_marked "$FUSION" -f "$CAT" logs core-api -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err"
	wait_until grep -q "started from image" "$BATS_TEST_TMPDIR/follow"
	# the pods by the release's selector, each followed by name
	grep -qx "kubectl --context fusion get pods --namespace fusion --selector app.kubernetes.io/instance=core-api --output custom-columns=NAME:.metadata.name,UID:.metadata.uid --no-headers" \
		"$FUSION_FAKE_STATE/calls.log"
	grep -qx "kubectl --context fusion logs --namespace fusion pod/$old --prefix --all-containers --follow --timestamps --max-log-requests=64" \
		"$FUSION_FAKE_STATE/calls.log"
	fake-cluster log fusion core-api "before the change"
	wait_until grep -q "before the change" "$BATS_TEST_TMPDIR/follow"
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	fx up >/dev/null
	new=$(pod_of core-api)
	[ "$new" != "$old" ]
	wait_until grep -q "^\[pod/$new/core-api\] container core-api started" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "after the change"
	wait_until grep -q "^\[pod/$new/core-api\] after the change" "$BATS_TEST_TMPDIR/follow"
	# nothing shown twice; the new pod from its first line
	[ "$(sort "$BATS_TEST_TMPDIR/follow" | uniq -d)" = "" ]
	grep -qx "kubectl --context fusion logs --namespace fusion pod/$new --prefix --all-containers --follow --timestamps --max-log-requests=64" \
		"$FUSION_FAKE_STATE/calls.log"
	grep -q "following pod/$new" "$BATS_TEST_TMPDIR/follow.err"
	stop_follow INT
	[ "$FX_RC" -eq 130 ]
}

# bats test_tags=slow
@test "logs -f: a rolling update's new pod is followed from its first line, though it started before the old one went" {
	fx up >/dev/null
	old=$(pod_of core-api)
	start_marked "$FUSION" -f "$CAT" logs core-api -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err"
	wait_until grep -q "^\[pod/$old/core-api\] container core-api started" "$BATS_TEST_TMPDIR/follow"
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	FUSION_FAKE_ROLLING=1 fx up >/dev/null
	[ "$(pod_of core-api | wc -l)" -eq 2 ]	# the old pod serves until the new one is ready
	new=$(pod_of core-api | grep -vx "$old")
	# the new pod logs while the old one still runs
	fake-cluster log fusion core-api "during the rollout"
	wait_until grep -q "^\[pod/$old/core-api\] during the rollout" "$BATS_TEST_TMPDIR/follow"
	sleep 1	# so that the new pod's lines are older than the old pod's end, to the second
	fake-cluster rollout-done fusion
	wait_until grep -q "^\[pod/$new/core-api\] during the rollout" "$BATS_TEST_TMPDIR/follow"
	grep -q "^\[pod/$new/core-api\] container core-api started" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "after the rollout"
	wait_until grep -q "^\[pod/$new/core-api\] after the rollout" "$BATS_TEST_TMPDIR/follow"
	[ "$(sort "$BATS_TEST_TMPDIR/follow" | uniq -d)" = "" ]
	stop_follow TERM
}

# bats test_tags=slow
@test "logs -f: a pod made again under its name is another pod, followed from its first line" {
	fx up >/dev/null
	start_marked "$FUSION" -f "$CAT" logs postgresql -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err"
	wait_until grep -q "^\[pod/postgresql-0/postgresql\] container postgresql started from image postgres:16\$" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion postgresql "first life"
	wait_until grep -q "first life" "$BATS_TEST_TMPDIR/follow"
	uid=$(fake-cluster pods fusion | awk '$2 == "postgresql-0" { print $3 }')
	# a StatefulSet's new template: postgresql-0 goes, and a new one comes
	sed -i 's/tag: "16"/tag: "16.1"/' "$WS/local-dev/helm/shared-services/postgresql/values.yaml"
	fx up postgresql >/dev/null
	[ "$(fake-cluster pods fusion | awk '$2 == "postgresql-0" { print $3 }')" != "$uid" ]
	fake-cluster log fusion postgresql "second life"
	wait_until grep -q "^\[pod/postgresql-0/postgresql\] second life" "$BATS_TEST_TMPDIR/follow"
	grep -q "^\[pod/postgresql-0/postgresql\] container postgresql started from image postgres:16.1\$" \
		"$BATS_TEST_TMPDIR/follow"
	[ "$(grep -c 'first life' "$BATS_TEST_TMPDIR/follow")" -eq 1 ]
	grep -q "following pod/postgresql-0 (a new pod under that name)" "$BATS_TEST_TMPDIR/follow.err"
	stop_follow TERM
}

# bats test_tags=slow
@test "logs -f: a container that restarts in its pod goes on from where it stopped, nothing twice" {
	fx up >/dev/null
	pod=$(pod_of core-api)
	start_marked "$FUSION" -f "$CAT" logs core-api -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err"
	wait_until grep -q "^\[pod/$pod/core-api\] container core-api started" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "before the crash"
	fake-cluster crash fusion core-api
	wait_until grep -q "^\[pod/$pod/core-api\] container core-api exited with code 1" "$BATS_TEST_TMPDIR/follow"
	# the stream ended; fusion follows the pod again, from there
	wait_until eval '[ "$(grep -c "logs --namespace fusion pod/$pod .*--since-time=" "$FUSION_FAKE_STATE/calls.log")" -ge 1 ]'
	fake-cluster restart fusion core-api
	wait_until grep -q "^\[pod/$pod/core-api\] container core-api started from image .* (restart 1)" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "after the restart"
	wait_until grep -q "^\[pod/$pod/core-api\] after the restart" "$BATS_TEST_TMPDIR/follow"
	[ "$(sort "$BATS_TEST_TMPDIR/follow" | uniq -d)" = "" ]
	grep -q "logs --namespace fusion pod/$pod .*--since-time=20[0-9-]*T[0-9:]*\(\.[0-9]*\)\?Z$" \
		"$FUSION_FAKE_STATE/calls.log"
	stop_follow TERM
}

# bats test_tags=slow
@test "logs -f: a release not up yet is waited for, then followed" {
	start_marked "$FUSION" -f "$CAT" logs scriptdash -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err"
	wait_until grep -q "no pods of scriptdash yet" "$BATS_TEST_TMPDIR/follow.err"
	fx up scriptdash >/dev/null
	wait_until grep -q "^\[pod/scriptdash-.*/scriptdash\] container scriptdash started" "$BATS_TEST_TMPDIR/follow"
	stop_follow INT
	[ "$FX_RC" -eq 130 ]
}

# bats test_tags=slow
@test "logs --follow is -f; before the command, -f is still the catalog" {
	fx up >/dev/null
	start_marked "$FUSION" -f "$CAT" logs --follow core-api >"$BATS_TEST_TMPDIR/follow" 2>&1
	wait_until grep -q "started from image" "$BATS_TEST_TMPDIR/follow"
	grep -q -- "--follow --timestamps --max-log-requests=64" "$FUSION_FAKE_STATE/calls.log"
	stop_follow TERM
}
