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

# The pod a release runs now (one replica in the example).
pod_of() {
	fake-cluster pods fusion | awk -v r="$1" '$2 ~ "^" r "-" { print $2 }'
}

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

@test "logs: an unreachable cluster fails with kubectl's reason" {
	fx up >/dev/null
	fake-cluster down
	run fx logs core-api
	[ "$status" -eq 1 ]
	[[ "$output" == *"was refused"* ]]
}

@test "logs -f: follows, and goes on with the new pods after a release replaces them" {
	fx up >/dev/null
	old=$(pod_of core-api)
	"$FUSION" -f "$CAT" logs core-api -f >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err" &
	FX_PID=$!
	wait_until grep -q "started from image" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "before the change"
	wait_until grep -q "before the change" "$BATS_TEST_TMPDIR/follow"
	echo "# changed" >>"$WS/core-api/app/models/account.rb"
	fx up >/dev/null
	new=$(pod_of core-api)
	[ "$new" != "$old" ]
	wait_until grep -q "^\[pod/$new/core-api\] container core-api started" "$BATS_TEST_TMPDIR/follow"
	fake-cluster log fusion core-api "after the change"
	wait_until grep -q "^\[pod/$new/core-api\] after the change" "$BATS_TEST_TMPDIR/follow"
	# nothing shown twice
	[ "$(sort "$BATS_TEST_TMPDIR/follow" | uniq -d)" = "" ]
	grep -q -- "--since-time=" "$FUSION_FAKE_STATE/calls.log"
	kill -INT "$FX_PID"
	rc=0
	wait "$FX_PID" || rc=$?
	FX_PID=
	[ "$rc" -eq 130 ]
	no_process_left "$FAKES/kubectl"
}

@test "logs --follow is -f; before the command, -f is still the catalog" {
	fx up >/dev/null
	"$FUSION" -f "$CAT" logs --follow core-api >"$BATS_TEST_TMPDIR/follow" 2>&1 &
	FX_PID=$!
	wait_until grep -q "started from image" "$BATS_TEST_TMPDIR/follow"
	grep -q -- "--follow --max-log-requests=64" "$FUSION_FAKE_STATE/calls.log"
	kill -TERM "$FX_PID"
	wait "$FX_PID" || true
	FX_PID=
	no_process_left "$FAKES/kubectl"
}
