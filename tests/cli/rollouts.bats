#!/usr/bin/env bats
# Rollouts that fail fast and say why: while helm waits for a release, fusion
# follows its pods (one kubectl get pods a second) and stops helm as soon as
# a pod is in a state it does not leave by itself, naming the pod, its
# container, the reason, its log's last lines and its events. The fake
# cluster makes the release's pods fail as Kubernetes reports it
# (`fake-cluster fault`, tests/fakes/README.md). Each test builds core-api
# once; what follows reuses its workspace.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	fx_setup
	# helm would wait a minute: a failure found in seconds is fusion's
	sed -i 's/^  core-api:$/  core-api:\n    timeout: 1m/' "$CAT"
}

# The last revision helm recorded of a release: "STATUS DESCRIPTION".
last_revision() (
	set -o pipefail
	helm history "$1" -n fusion -o json | jq -r '.[-1] | "\(.status) \(.description)"'
)

# A new release of core-api (its chart renders something else): `up` runs
# the chart and the release again, and nothing before them.
new_release() {
	sed -i "s/set: {replicaCount: [0-9]*}/set: {replicaCount: $1}/" "$CAT"
}

# The finish event of a node in the last up_json.
finish_of() (
	set -o pipefail
	printf '%s\n' "$output" | grep '^{' | jq -c "select(.event==\"finish\" and .node==\"$1\")"
)

@test "a crash-looping pod fails its release in seconds, with the reason and its log; fixed, the release runs again" {
	fake-cluster fault fusion core-api crashloop "booting core-api" "panic: could not connect to the database"
	run -1 fx up core-api
	[[ $output == *"fusion: release:core-api: pod core-api-"*", container core-api: CrashLoopBackOff (restarted 1 time): back-off 10s restarting failed container=core-api pod=core-api-"* ]]
	[[ $output == *"hint: the container exits soon after it starts, again and again: its log says why"* ]]
	[[ $output == *"the last 4 lines of its log (\`fusion logs core-api\` shows all):"* ]]
	[[ $output == *"      | panic: could not connect to the database"* ]]
	[[ $output == *"      | Warning BackOff: Back-off restarting failed container core-api in pod core-api-"* ]]
	[[ $output == *"fusion stopped helm at once (it would have waited up to 1m0s); the release stays stale"* ]]
	# helm was cancelled, not timed out: it recorded the release failed (helm/helm#9180)
	[ "$(last_revision core-api)" = 'failed Release "core-api" failed: context canceled' ]
	grep -qx -- "- helm upgrade --install core-api .* --timeout=60s --kube-context fusion" \
		<(sed 's/^\$ /- /' "$STATE/logs/release:core-api.log")
	[ "$(state_of release:core-api)" = stale ]
	[ ! -e "$STATE/artifacts/core-api.pods.json" ]	# listings are not kept
	# fixed: the release, and only the release, runs again
	fake-cluster fault fusion core-api none
	up_json core-api
	[ "$status" -eq 0 ]
	[ "$(results ran)" = release:core-api ]
	[ "$(last_revision core-api)" = "deployed Upgrade complete" ]
}

@test "ErrImageNeverPull fails the release at once and says to run fusion up --verify; --json carries the same as fields" {
	run -0 fx up core-api
	minikube -p fusion image rm "$(fake-cluster images fusion | grep core-api)"
	new_release 2
	run --separate-stderr fx up core-api --json
	[ "$status" -eq 1 ]
	json_only
	ev=$(finish_of release:core-api)
	[ "$(jq -r .result <<<"$ev")" = failed ]
	[ "$(jq -r '.rollout | "\(.reason) \(.container) \(.stopped) \(.hook) \(.log | length) \(.timeout)"' <<<"$ev")" = \
		"ErrImageNeverPull core-api true false 0 60" ]
	[[ $(jq -r .rollout.pod <<<"$ev") == core-api-* ]]
	[[ $(jq -r .rollout.message <<<"$ev") == 'Container image "localhost/core-api:fx-'*'" is not present with pull policy of Never' ]]
	[[ $(jq -r .rollout.hint <<<"$ev") == *"run \`fusion up --verify\`"* ]]
	[ "$(jq -r '.rollout.events[] | select(.type=="Warning") | .reason' <<<"$ev" | sort -u | paste -sd' ')" = "ErrImageNeverPull Failed" ]
	[ "$(jq -r .error <<<"$ev")" = "pod $(jq -r .rollout.pod <<<"$ev"), container core-api: ErrImageNeverPull: $(jq -r .rollout.message <<<"$ev")" ]
	# in words on stderr: no log (it never ran), the hint, the events
	[[ $stderr == *"no log: the container never started"* ]]
	[[ $stderr == *"      | Warning ErrImageNeverPull: Container image"* ]]
	# as the hint says
	run -0 fx up --verify core-api
	[ "$(last_revision core-api)" = "deployed Upgrade complete" ]
}

@test "a failing hook Job fails its release with the Job's log, without waiting for its retries" {
	cat >"$WS/local-dev/helm/base-charts/service/templates/migrate.yaml" <<-'EOF'
		apiVersion: batch/v1
		kind: Job
		metadata:
		  name: {{ .Release.Name }}-migrate
		  annotations:
		    "helm.sh/hook": pre-install,pre-upgrade
		    "helm.sh/hook-delete-policy": before-hook-creation
		spec:
		  backoffLimit: 3
		  template:
		    metadata:
		      labels:
		        app.kubernetes.io/instance: {{ .Release.Name }}
		    spec:
		      restartPolicy: Never
		      containers:
		        - name: migrate
		          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
		          imagePullPolicy: {{ .Values.image.pullPolicy }}
	EOF
	fake-cluster fault fusion core-api hookfail 'ERROR: relation "accounts" already exists'
	run -1 fx up core-api
	[[ $output == *"fusion: release:core-api: pod core-api-migrate-"*", container migrate: Error: exit code 1"* ]]
	[[ $output == *"hint: a helm hook Job failed (a migration?): its log says why"* ]]
	[[ $output == *'      | ERROR: relation "accounts" already exists'* ]]
	[[ $output == *"fusion stopped helm at once"* ]]
	# helm alone would have waited for the Job's 3 retries (10 s, 20 s, 40 s apart)
	[ "$(last_revision core-api)" = 'failed Release "core-api" failed: context canceled' ]
	[ "$(state_of release:core-api)" = stale ]
}

# bats test_tags=slow
@test "a pod that never becomes ready fails at the release's timeout, named, with its events" {
	sed -i 's/^    timeout: 1m$/    timeout: 2s/' "$CAT"
	fake-cluster fault fusion core-api unready
	run -1 fx up core-api
	[[ $output == *"fusion: release:core-api: pod core-api-"*", container core-api: NotReady: running, not ready"* ]]
	[[ $output == *"hint: helm waited the release's timeout for it: its events say why"* ]]
	[[ $output == *"      | Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"* ]]
	[[ $output == *"helm gave up after its timeout, 2s; the release stays stale"* ]]
	[ "$(last_revision core-api)" = 'failed Release "core-api" failed: context deadline exceeded' ]
}

# bats test_tags=slow
@test "a pod that was failing before does not stop the release that replaces it" {
	run -0 fx up core-api
	old=$(fake-cluster pods fusion | awk '$2 ~ /^core-api-/ { print $2 }')
	fake-cluster crash fusion core-api	# the running pod crash-loops now
	# a rolling update: the old pod stays beside the new one until it is ready
	export FUSION_FAKE_ROLLING=1
	new_release 2
	run -0 fx up core-api
	[ "$(last_revision core-api)" = "deployed Upgrade complete" ]
	run -0 kubectl get pods -n fusion --context fusion
	[[ $output == *"$old "*CrashLoopBackOff* ]]	# still there, still crashing
}

@test "status shows each release's pods ready and, when not, why, from one kubectl query; --json the same" {
	run -0 fx up core-api
	reset_calls
	run -0 fx status
	[ "$(calls 'kubectl .*get pods')" -eq 1 ]
	[[ ${lines[0]} == "SERVICE "*" PODS "*" STATE" ]]
	[[ $(printf '%s\n' "$output" | grep '^core-api ') == *" 1/1    fresh" ]]
	[[ $(printf '%s\n' "$output" | grep '^postgresql ') == *" 1/1    fresh" ]]
	[[ $(printf '%s\n' "$output" | grep '^scriptdash ') == *" -      stale: never ran" ]]
	# its pod crash-loops now: fresh, but not fine
	fake-cluster crash fusion core-api
	pod=$(fake-cluster pods fusion | awk '$2 ~ /^core-api-/ { print $2 }')
	run -0 fx status
	[[ $(printf '%s\n' "$output" | grep '^core-api ') == *" 0/1    fresh, but CrashLoopBackOff ($pod)" ]]
	run --separate-stderr fx status --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(jq -c '.[] | select(.service=="core-api") | .pods | [.ready, .total, .health, .reason, .pod, .container]' <<<"$output")" = \
		"[0,1,\"unhealthy\",\"CrashLoopBackOff\",\"$pod\",\"core-api\"]" ]
	[[ $(jq -r '.[] | select(.service=="core-api") | .pods.message' <<<"$output") == "back-off 10s restarting failed container=core-api pod=${pod}_fusion("* ]]
	[ "$(jq -c '.[] | select(.service=="postgresql") | .pods' <<<"$output")" = \
		'{"ready":1,"total":1,"health":"ok","reason":null,"pod":null,"container":null,"message":null}' ]
	[ "$(jq -r '.[] | select(.service=="scriptdash") | .pods.health' <<<"$output")" = none ]
	# the cluster down: status says so, and what it knows
	fake-cluster down
	run --separate-stderr fx status --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.[].pods] | unique' <<<"$output")" = "[null]" ]
	[[ $stderr == *"fusion: warning: the cluster did not say how the pods are (kubectl: The connection to the server"* ]]
}

@test "a release a killed run left pending is rolled back (an install: uninstalled) first, then released" {
	helm_status() { [ "$(helm list -n fusion -a -o json | jq -r ".[] | select(.name==\"$1\") | .status")" = "$2" ]; }
	# an install killed while helm waits: pending-install (helm/helm#4558)
	fake-cluster fault fusion postgresql unready
	up_in_background '^helm upgrade --install postgresql'
	wait_until helm_status postgresql pending-install
	signal_and_wait KILL
	fake-cluster fault fusion postgresql none
	run -0 fx up postgresql
	[ "$(calls 'helm uninstall -n fusion --kube-context fusion postgresql$')" -eq 1 ]
	helm_status postgresql deployed
	# an upgrade killed so: pending-upgrade, rolled back to the revision before
	run -0 fx up core-api
	fake-cluster fault fusion core-api unready
	new_release 2
	up_in_background '^helm upgrade --install core-api'
	wait_until helm_status core-api pending-upgrade
	signal_and_wait KILL
	fake-cluster fault fusion core-api none
	reset_calls
	run -0 fx up core-api
	[ "$(calls 'helm rollback -n fusion --kube-context fusion core-api$')" -eq 1 ]
	[ "$(calls 'helm list -n fusion --kube-context fusion --pending -o json$')" -eq 1 ]	# once a run
	run -0 helm history core-api -n fusion -o json
	[ "$(echo "$output" | jq -r '.[] | "\(.revision) \(.status) \(.description)"' | paste -sd';')" = \
		"1 superseded Install complete;2 superseded Preparing upgrade;3 superseded Rollback to 1;4 deployed Upgrade complete" ]
}
