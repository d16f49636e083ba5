#!/usr/bin/env bats
# Tests of the cluster-tool fakes themselves (tests/fakes/): the other suites
# trust them to print what the real tools print and to keep state faithfully.
#   TOP=$PWD bats tests/cli/fakes.bats

bats_require_minimum_version 1.5.0
load wait

setup() {
	: "${TOP:?TOP must be the repository root}"
	export PATH=$TOP/tests/fakes:$PATH
	export FUSION_FAKE_STATE=$BATS_TEST_TMPDIR/cluster
	unset FUSION_FAKE_FAIL FUSION_FAKE_SLEEP FUSION_FAKE_RECREATE FUSION_FAKE_ROLLING
	# the real helm, as tests/cli/helpers.bash sets it up
	export FUSION_REAL_HELM=${FUSION_REAL_HELM:-/usr/local/lib/fusion/helm}
	export HELM_CACHE_HOME=$BATS_TEST_TMPDIR/helm/cache HELM_CONFIG_HOME=$BATS_TEST_TMPDIR/helm/config \
		HELM_DATA_HOME=$BATS_TEST_TMPDIR/helm/data
	HELMDIR=$TOP/examples/workspace/local-dev/helm

	# A small chart of our own, so that the assertions can be exact.
	CH=$BATS_TEST_TMPDIR/demo
	mkdir -p "$CH/templates"
	cat >"$CH/Chart.yaml" <<-'EOF'
		apiVersion: v2
		name: demo
		version: 0.2.0
		appVersion: "1.4.1"
	EOF
	cat >"$CH/values.yaml" <<-'EOF'
		# defaults
		image:
		  repository: localhost/demo
		  tag: latest
		replicaCount: 1
		unused: not referenced by any template
		big: 1000000
		feature: yes
		dropme: present
	EOF
	cat >"$CH/templates/deployment.yaml" <<-'EOF'
		kind: Deployment
		metadata:
		  name: {{ .Release.Name }}
		  namespace: {{.Release.Namespace}}
		  chart: {{ .Chart.Name }}-{{ .Chart.Version }}
		spec:
		  replicas: {{ .Values.replicaCount }}
		  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
		  big: {{ .Values.big }} feature={{ .Values.feature }} drop={{ .Values.dropme }} missing={{ .Values.nope }}
	EOF
	cat >"$CH/templates/service.yaml" <<-'EOF'
		kind: Service
		metadata:
		  name: {{ .Release.Name }} {{/* a comment renders as nothing */}}
	EOF
	printf '{{ define "x" }}{{ end }}\n' >"$CH/templates/_helpers.tpl"
	printf 'image:\n  tag: from-file   # comment\n' >"$BATS_TEST_TMPDIR/v1.yaml"
	printf 'replicaCount: 3\ndropme: null\n' >"$BATS_TEST_TMPDIR/v2.yaml"
}

calls() { grep -c -E -- "$1" "$FUSION_FAKE_STATE/calls.log" || true; }

# archive FILE REF...: a docker-archive (as `podman save --format
# docker-archive` writes it) whose manifest.json tags REF...
archive() {
	local f=$1 d tags
	d=$(mktemp -d "$BATS_TEST_TMPDIR/ar.XXXXXX")
	shift
	tags=$(printf '"%s",' "$@")
	printf '[{"Config":"c.json","RepoTags":[%s],"Layers":[]}]' "${tags%,}" >"$d/manifest.json"
	printf '{}' >"$d/c.json"
	tar -cf "$f" -C "$d" manifest.json c.json
}

# ---- common behaviour ----

@test "every fake refuses to run without FUSION_FAKE_STATE" {
	unset FUSION_FAKE_STATE
	for t in helm minikube kubectl kind docker fake-cluster; do
		run -1 "$t" version
		[[ $output == *FUSION_FAKE_STATE* ]]
	done
}

@test "every call is one calls.log line: the tool and its argv" {
	helm version --short
	kubectl get namespace kube-system -o jsonpath={.metadata.uid}
	minikube -p fusion image load localhost/a:fx-1
	run -1 helm frobnicate --now
	run cat "$FUSION_FAKE_STATE/calls.log"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "helm version --short" ]
	[ "${lines[1]}" = "kubectl get namespace kube-system -o jsonpath={.metadata.uid}" ]
	[ "${lines[2]}" = "minikube -p fusion image load localhost/a:fx-1" ]
	[ "${lines[3]}" = "helm frobnicate --now" ]
	[ "${#lines[@]}" -eq 4 ]
	# fake-cluster is a test helper, not a tool: not logged
	fake-cluster uid >/dev/null
	[ "$(wc -l <"$FUSION_FAKE_STATE/calls.log")" -eq 4 ]
}

# ---- kubectl ----

@test "kubectl prints the cluster uid without a newline, in every form of the command" {
	run -0 kubectl get namespace kube-system -o jsonpath={.metadata.uid}
	uid=$output
	[[ $uid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	kubectl get namespace kube-system -o jsonpath={.metadata.uid} >"$BATS_TEST_TMPDIR/uid"
	[ "$(tail -c 1 "$BATS_TEST_TMPDIR/uid" | od -An -tx1 | tr -d ' ')" != 0a ]	# no newline
	[ "$(kubectl --context fusion get namespace kube-system -o jsonpath={.metadata.uid})" = "$uid" ]
	[ "$(kubectl --context=fusion get ns kube-system -o=jsonpath={.metadata.uid})" = "$uid" ]
	[ "$(kubectl get -ojsonpath={.metadata.uid} namespaces kube-system --context fusion)" = "$uid" ]
	[ "$(kubectl get namespace kube-system --output jsonpath='{.metadata.uid}')" = "$uid" ]
	[ "$(fake-cluster uid)" = "$uid" ]
	# the uid is stable until the cluster is recreated
	[ "$(kubectl get namespace kube-system -o jsonpath={.metadata.uid})" = "$uid" ]
}

@test "kubectl: version, current context, missing namespace, unknown usage" {
	run -0 kubectl version --client
	[[ ${lines[0]} == "Client Version: v1."* ]]
	run -0 kubectl config current-context
	[ "$output" = minikube ]
	fake-cluster context fusion
	run -0 kubectl config current-context
	[ "$output" = fusion ]
	run -1 kubectl get namespace nope -o jsonpath={.metadata.uid}
	[ "$output" = 'Error from server (NotFound): namespaces "nope" not found' ]
	run -0 kubectl get pods
	[ "$output" = "No resources found in default namespace." ]
	run -1 kubectl apply -f x.yaml
	[[ $output == *'unknown command "apply"'* ]]
	run -1 kubectl get namespace kube-system --bogus
	[[ $output == *"unknown flag: --bogus"* ]]
}

# ---- kubectl: pods, logs, port-forward ----

# A release of the example service chart with N replicas and image tag T.
release() {	# release NAME N T
	helm upgrade --install "$1" "$HELMDIR/base-charts/service" -n fusion --create-namespace \
		--set replicaCount="$2" --set image.tag="$3" >/dev/null
}

pods_of() (
	set -o pipefail
	fake-cluster pods fusion | awk -v r="$1" '$2 ~ "^" r "-" { print $2 }' | sort
)

@test "kubectl get pods: a Deployment's replicas, named after its template; a new template, new pods" {
	release api 2 t1
	run -0 kubectl get pods -n fusion -l app.kubernetes.io/instance=api -o name
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} =~ ^pod/api-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]]
	before=$(pods_of api)
	release api 2 t1	# same template: same pods
	[ "$(pods_of api)" = "$before" ]
	release api 2 t2	# a new image: a rollout
	[ "$(pods_of api)" != "$before" ]
	[ -z "$(comm -12 <(echo "$before") <(pods_of api))" ]
	helm upgrade --install db "$HELMDIR/shared-services/postgresql" -n fusion >/dev/null
	[ "$(pods_of db)" = db-0 ]
}

# bats test_tags=slow
@test "kubectl logs: by selector 10 lines a container unless --tail, --prefix, --since-time, a pod by name" {
	release api 1 t1
	pod=$(pods_of api)
	for i in $(seq 12); do fake-cluster log fusion api "line $i"; done
	run -0 kubectl logs -n fusion -l app.kubernetes.io/instance=api
	[ "${#lines[@]}" -eq 10 ]	# kubernetes/kubernetes#79967
	[ "${lines[9]}" = "line 12" ]
	run -0 kubectl logs -n fusion -l app.kubernetes.io/instance=api --tail=-1 --prefix
	[ "${#lines[@]}" -eq 13 ]
	[ "${lines[0]}" = "[pod/$pod/api] container api started from image localhost/service:t1" ]
	run -0 kubectl logs -n fusion "$pod"	# by name: everything
	[ "${#lines[@]}" -eq 13 ]
	run -0 kubectl logs -n fusion "pod/$pod" --tail 2 --timestamps
	[[ ${lines[1]} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]*[1-9])?Z\ line\ 12$ ]]
	# --since-time reaches the kubelet in whole seconds: a line earlier in
	# that second is shown (kubernetes/kubernetes#92389)
	run -0 kubectl logs -n fusion "pod/$pod" --timestamps --since-time="${lines[1]:0:19}.999999999Z"
	[[ ${lines[-1]} == *" line 12" ]]
	since_s=$(($(date +%s) + 2))
	since=$(date -u -d "@$since_s" +%Y-%m-%dT%H:%M:%SZ)
	wait_for 10 eval '[ "$(date +%s)" -ge "$since_s" ]'	# "late" comes after $since
	fake-cluster log fusion api "late"
	run -0 kubectl logs -n fusion -l app.kubernetes.io/instance=api --since-time="$since" --tail=-1
	[ "$output" = late ]
	run -1 kubectl logs -n fusion nope
	[ "$output" = 'Error from server (NotFound): pods "nope" not found' ]
	run -0 kubectl logs -n fusion -l app.kubernetes.io/instance=nope
	[ "$output" = "No resources found in fusion namespace." ]
	run -1 kubectl logs -n fusion -l app.kubernetes.io/instance=api -c api
	[[ $output == *"a container cannot be specified when using a selector"* ]]
}

# bats test_tags=slow
@test "kubectl logs -f: new lines as they come, the end when the pod goes; at most --max-log-requests streams" {
	release api 1 t1
	kubectl logs -n fusion -l app.kubernetes.io/instance=api -f --prefix >"$BATS_TEST_TMPDIR/f" 3>&- &
	pid=$!
	fake-cluster log fusion api "one"
	wait_for 120 grep -q "] one$" "$BATS_TEST_TMPDIR/f"
	release api 1 t2	# the pod is replaced: its stream ends, kubectl exits 0
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	# the new pod is not followed (kubernetes/kubernetes#52218)
	[ "$(grep -c "started from image localhost/service:t2" "$BATS_TEST_TMPDIR/f" || true)" -eq 0 ]
	release api 6 t2
	run -1 kubectl logs -n fusion -l app.kubernetes.io/instance=api -f
	[ "$output" = "error: you are attempting to follow 6 log streams, but maximum allowed concurrency is 5, use --max-log-requests to increase the limit" ]
}

@test "kubectl get pods -o custom-columns: name and uid, with or without headers" {
	release api 2 t1
	run -0 kubectl get pods -n fusion -l app.kubernetes.io/instance=api \
		-o custom-columns=NAME:.metadata.name,UID:.metadata.uid --no-headers
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "$output" | awk '{ print $1 " " $2 }')" = "$(fake-cluster pods fusion | awk '{ print $2 " " $3 }' | sort)" ]
	run -0 kubectl get pods -n fusion -l app.kubernetes.io/instance=api --output=custom-columns=UID:.metadata.uid
	[[ ${lines[0]} == UID ]]
	[[ ${lines[1]} =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$ ]]
	run -1 kubectl get pods -n fusion -o custom-columns=IP:.status.podIP
	[[ $output == *"custom-columns know .metadata.name and .metadata.uid"* ]]
}

# bats test_tags=slow
@test "FUSION_FAKE_ROLLING: the old pods run beside the new ones until the rollout is done; a StatefulSet's pod is never two" {
	release api 1 t1
	old=$(pods_of api)
	FUSION_FAKE_ROLLING=1 release api 1 t2
	[ "$(pods_of api | wc -l)" -eq 2 ]
	[[ "$(pods_of api)" == *"$old"* ]]
	# logs by selector read both; the Service is the new revision's only
	run -0 kubectl logs -n fusion -l app.kubernetes.io/instance=api --prefix
	[ "${#lines[@]}" -eq 2 ]
	fake-cluster rollout-done fusion
	[ "$(pods_of api | wc -l)" -eq 1 ]
	[ "$(pods_of api)" != "$old" ]
	helm upgrade --install db "$HELMDIR/shared-services/postgresql" -n fusion >/dev/null
	uid=$(fake-cluster pods fusion | awk '$2 == "db-0" { print $3 }')
	FUSION_FAKE_ROLLING=1 helm upgrade --install db "$HELMDIR/shared-services/postgresql" -n fusion \
		--set image.tag=17 >/dev/null
	[ "$(fake-cluster pods fusion | awk '$2 == "db-0"' | wc -l)" -eq 1 ]
	[ "$(fake-cluster pods fusion | awk '$2 == "db-0" { print $3 }')" != "$uid" ]
}

@test "fake-cluster crash and restart: a container's follow ends when it exits; a pod made again under its name has its own log" {
	helm upgrade --install db "$HELMDIR/shared-services/postgresql" -n fusion --create-namespace >/dev/null
	fake-cluster log fusion db "first"
	kubectl logs -n fusion pod/db-0 -f >"$BATS_TEST_TMPDIR/f" 3>&- &
	pid=$!
	wait_for 120 grep -q first "$BATS_TEST_TMPDIR/f"
	fake-cluster crash fusion db
	rc=0
	wait "$pid" || rc=$?	# the stream ends with the container
	[ "$rc" -eq 0 ]
	[ "$(tail -n1 "$BATS_TEST_TMPDIR/f")" = "container postgresql exited with code 1" ]
	run -0 kubectl logs -n fusion pod/db-0 -f	# waiting to restart: its last run, and the end
	[ "${lines[-1]}" = "container postgresql exited with code 1" ]
	# a new run: a log of its own (kubectl logs shows the current run)
	fake-cluster restart fusion db
	run -0 kubectl logs -n fusion pod/db-0
	[ "$output" = "container postgresql started from image postgres:16 (restart 1)" ]
	# a new template: db-0 is made again, a new pod with a log of its own
	helm upgrade --install db "$HELMDIR/shared-services/postgresql" -n fusion --set image.tag=17 >/dev/null
	run -0 kubectl logs -n fusion pod/db-0
	[ "$output" = "container postgresql started from image postgres:17" ]
}

# ---- pods that fail, as Kubernetes reports them ----

# The JSON of release R's first pod, and of its first container's status.
pod_json() (
	set -o pipefail
	kubectl get pods -n fusion -l "app.kubernetes.io/instance=$1" -o json | jq -c '.items[0]'
)
cstatus() (
	set -o pipefail
	pod_json "$1" | jq -c '.status.containerStatuses[0]'
)
waiting_is() { [ "$(cstatus "$1" | jq -r '.state.waiting.reason')" = "$2" ]; }
# The events of release R's pods: "TYPE REASON: MESSAGE" lines.
events_of() (
	set -o pipefail
	kubectl get events -n fusion -o json | jq -r --arg r "$1" \
		'.items[] | select(.involvedObject.name | startswith($r + "-")) | "\(.type) \(.reason): \(.message)"'
)

@test "fake pods: a missing image never pulled, a crash loop, an OOM kill, as the kubelet reports them" {
	# an image with pull policy Never that the node does not have
	run -1 helm upgrade --install web "$HELMDIR/base-charts/service" -n fusion --create-namespace \
		--set image.repository=localhost/web --set image.tag=t1 --set image.pullPolicy=Never --wait --timeout 300ms
	[ "$output" = "Error: context deadline exceeded" ]	# helm names no pod (helm/helm#3020)
	pod=$(pod_json web | jq -r .metadata.name)
	[ "$(cstatus web | jq -c .state)" = \
		'{"waiting":{"message":"Container image \"localhost/web:t1\" is not present with pull policy of Never","reason":"ErrImageNeverPull"}}' ]
	[ "$(pod_json web | jq -r '.status.phase, (.status.conditions[] | select(.type=="Ready") | .status)' | paste -sd' ')" = "Pending False" ]
	run -0 events_of web
	[[ $output == *'Warning ErrImageNeverPull: Container image "localhost/web:t1" is not present with pull policy of Never'* ]]
	[[ $output == *"Warning Failed: Error: ErrImageNeverPull"* ]]
	# a container that never ran has no log: the kubelet's reason, exit 1
	run -1 kubectl logs -n fusion "$pod"
	[ "$output" = "Error from server (BadRequest): container \"web\" in pod \"$pod\" is waiting to start: ErrImageNeverPull" ]
	run -0 kubectl get pods -n fusion
	[[ ${lines[1]} == "$pod "*" 0/1 "*ErrImageNeverPull* ]]

	# a crash loop: running, exits 1, then waits in back-off, restarted once
	fake-cluster fault fusion api crashloop "starting api" "panic: no database"
	release api 1 t1
	wait_for 10 waiting_is api CrashLoopBackOff
	pod=$(pod_json api | jq -r .metadata.name)
	uid=$(pod_json api | jq -r .metadata.uid)
	[ "$(cstatus api | jq -c '[.restartCount, .ready, .lastState.terminated.reason, .lastState.terminated.exitCode]')" = '[1,false,"Error",1]' ]
	[ "$(cstatus api | jq -r .state.waiting.message)" = "back-off 10s restarting failed container=api pod=${pod}_fusion($uid)" ]
	[ "$(pod_json api | jq -r .status.phase)" = Running ]	# kubernetes/kubernetes#76619
	run -0 kubectl logs -n fusion "$pod" --tail=2
	[ "$output" = $'panic: no database\ncontainer api exited with code 1' ]
	run -0 events_of api
	[[ $output == *"Warning BackOff: Back-off restarting failed container api in pod ${pod}_fusion($uid)"* ]]
	# an upgrade's new pods take the fault too; without it they are healthy
	fake-cluster fault fusion api oom
	release api 1 t2
	wait_for 10 waiting_is api CrashLoopBackOff
	[ "$(cstatus api | jq -c '[.lastState.terminated.reason, .lastState.terminated.exitCode]')" = '["OOMKilled",137]' ]
	fake-cluster fault fusion api none
	release api 1 t3
	[ "$(cstatus api | jq -c '[.ready, .state.running != null]')" = '[true,true]' ]
}

@test "fake pods: unschedulable, an image that cannot be pulled, a missing secret, never ready" {
	fake-cluster fault fusion big unschedulable
	release big 1 t1
	[ "$(pod_json big | jq -c '[.status.phase, .status.containerStatuses, .spec.nodeName]')" = '["Pending",null,null]' ]
	[ "$(pod_json big | jq -c '.status.conditions[0] | [.type, .status, .reason]')" = '["PodScheduled","False","Unschedulable"]' ]
	msg="0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	[ "$(pod_json big | jq -r '.status.conditions[0].message')" = "$msg" ]
	# the scheduler's events come through events.k8s.io: no lastTimestamp
	run -0 kubectl get events -n fusion --field-selector reason=FailedScheduling -o json
	[ "$(echo "$output" | jq -c '.items[] | [.message == $m, .lastTimestamp, (.eventTime | length > 0)]' --arg m "$msg")" = '[true,null,true]' ]

	fake-cluster fault fusion pull pullerror
	release pull 1 t1
	wait_for 10 waiting_is pull ImagePullBackOff
	[ "$(cstatus pull | jq -r .state.waiting.message)" = 'Back-off pulling image "localhost/service:t1"' ]
	pod=$(pod_json pull | jq -r .metadata.name)
	run -1 kubectl logs -n fusion "$pod" -c pull
	[ "$output" = "Error from server (BadRequest): container \"pull\" in pod \"$pod\" is waiting to start: trying and failing to pull image" ]

	fake-cluster fault fusion cfg configerror
	release cfg 1 t1
	wait_for 10 waiting_is cfg CreateContainerConfigError
	[ "$(cstatus cfg | jq -r .state.waiting.message)" = 'secret "cfg-secret" not found' ]

	fake-cluster fault fusion slow unready
	release slow 1 t1
	wait_for 10 eval '[ "$(cstatus slow | jq -c "[.ready, .started, .state.running != null]")" = "[false,true,true]" ]'
	run -0 events_of slow
	[[ $output == *"Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"* ]]
	run -1 fake-cluster fault fusion slow nosuch
	[[ $output == *"crashloop, oom, unschedulable, pullerror, configerror, unready, hookfail or none"* ]]
}

@test "helm --wait waits for the pods until --timeout; SIGTERM cancels it; a killed helm leaves the release pending" {
	local ch=$HELMDIR/base-charts/service
	helm upgrade --install web "$ch" -n fusion --create-namespace --set image.tag=t1 >/dev/null
	fake-cluster fault fusion web crashloop
	run -1 helm upgrade --install web "$ch" -n fusion --set image.tag=t2 --wait --timeout 0.5s
	[ "$output" = "Error: UPGRADE FAILED: context deadline exceeded" ]
	run -1 helm upgrade --install web "$ch" -n fusion --set image.tag=t2 --wait --timeout=1m30x
	[ "$output" = 'Error: invalid argument "1m30x" for "--timeout" flag: time: invalid duration "1m30x"' ]
	# while it waits the release is pending-upgrade; SIGTERM: cancelled, failed (helm/helm#9180)
	setsid helm upgrade --install web "$ch" -n fusion --set image.tag=t3 --wait >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$!
	wait_for 20 eval '[ "$(helm list -n fusion -a -o json | jq -r ".[0].status")" = pending-upgrade ]'
	kill -TERM -- "-$pid"
	wait "$pid" || true
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = $'Release web has been cancelled.\nError: UPGRADE FAILED: context canceled' ]
	run -0 helm history web -n fusion -o json
	[ "$(echo "$output" | jq -r '.[-1] | "\(.revision) \(.status) \(.description)"')" = '3 failed Upgrade "web" failed: context canceled' ]
	# SIGKILL leaves it pending-upgrade, and helm refuses the next (helm/helm#4558, #10599)
	setsid helm upgrade --install web "$ch" -n fusion --set image.tag=t4 --wait >/dev/null 2>&1 3>&- &
	pid=$!
	wait_for 20 eval '[ "$(helm list -n fusion -a -o json | jq -r ".[0].status")" = pending-upgrade ]'
	kill -KILL -- "-$pid"
	wait "$pid" || true
	run -1 helm upgrade --install web "$ch" -n fusion --set image.tag=t5
	[ "$output" = "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" ]
}

@test "helm hooks: a hook Job runs before the release is done; a failed one fails it in helm's words" {
	local ch=$BATS_TEST_TMPDIR/hooked
	cp -R "$HELMDIR/base-charts/service" "$ch"
	cat >"$ch/templates/migrate.yaml" <<-'EOF'
		apiVersion: batch/v1
		kind: Job
		metadata:
		  name: {{ .Release.Name }}-migrate
		  annotations:
		    "helm.sh/hook": pre-install,pre-upgrade
		spec:
		  backoffLimit: {{ .Values.backoffLimit | default 0 }}
		  template:
		    spec:
		      restartPolicy: Never
		      containers:
		        - name: migrate
		          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
	EOF
	helm upgrade --install web "$ch" -n fusion --create-namespace >/dev/null
	run -0 kubectl get pods -n fusion -l job-name=web-migrate -o json
	[ "$(echo "$output" | jq -c '.items[0] | [.status.phase, .metadata.ownerReferences[0].kind, .metadata.labels["batch.kubernetes.io/job-name"]]')" = '["Succeeded","Job","web-migrate"]' ]
	fake-cluster fault fusion web hookfail "ERROR: relation \"users\" already exists"
	run -1 helm upgrade --install web "$ch" -n fusion --set image.tag=t2
	[ "$output" = "Error: UPGRADE FAILED: pre-upgrade hooks failed: job failed: BackoffLimitExceeded" ]
	pod=$(kubectl get pods -n fusion -l job-name=web-migrate -o json | jq -r '.items[0].metadata.name')
	run -0 kubectl get pods -n fusion -l job-name=web-migrate -o json
	[ "$(echo "$output" | jq -c '.items[0].status | [.phase, .containerStatuses[0].state.terminated.exitCode]')" = '["Failed",1]' ]
	run -0 kubectl logs -n fusion "$pod"
	[[ $output == *'ERROR: relation "users" already exists'* ]]
	run -0 kubectl get events -n fusion --field-selector involvedObject.kind=Job -o json
	[ "$(echo "$output" | jq -r '.items[] | "\(.reason): \(.message)"')" = "BackoffLimitExceeded: Job has reached the specified backoff limit" ]
	# retries take the Job controller's back-off: helm waits out its timeout
	run -1 helm upgrade --install web "$ch" -n fusion --set image.tag=t3 --set backoffLimit=2 --timeout 1s
	[ "$output" = "Error: UPGRADE FAILED: pre-upgrade hooks failed: timed out waiting for the condition" ]
	helm uninstall web -n fusion >/dev/null
	run -1 helm upgrade --install web "$ch" -n fusion
	[ "$output" = "Error: failed pre-install: job failed: BackoffLimitExceeded" ]
}

@test "kubectl port-forward: the Service's first pod, its container port, the local port held until it exits" {
	release api 2 t1
	kubectl port-forward -n fusion service/api 8080:80 >"$BATS_TEST_TMPDIR/pf" 2>&1 3>&- &
	pid=$!
	wait_for 120 grep -q Forwarding "$BATS_TEST_TMPDIR/pf"
	# targetPort "http" is the container port 8080 (the chart's default)
	[ "$(cat "$BATS_TEST_TMPDIR/pf")" = $'Forwarding from 127.0.0.1:8080 -> 8080\nForwarding from [::1]:8080 -> 8080' ]
	[ "$(fake-cluster forwards)" = "8080 $pid" ]
	run -1 kubectl port-forward -n fusion svc/api 8080:80
	[[ ${lines[0]} == "Unable to listen on port 8080: "*"bind: address already in use"* ]]
	[ "${lines[1]}" = "error: unable to listen on any of the requested ports: [{8080 8080}]" ]
	run -1 kubectl port-forward -n fusion svc/api 9090:81
	[ "$output" = "error: Service api does not have a service port 81" ]
	run -1 kubectl port-forward -n fusion svc/nope 9090:80
	[ "$output" = 'Error from server (NotFound): services "nope" not found' ]
	# its pod replaced: "lost connection to pod", exit 1 (kubernetes/kubernetes#114460)
	release api 2 t2
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	[ "$(tail -n1 "$BATS_TEST_TMPDIR/pf")" = "error: lost connection to pod" ]
	[ -z "$(fake-cluster forwards)" ]
}

@test "kubectl port-forward: SIGTERM ends it and frees the port" {
	release api 1 t1
	kubectl port-forward -n fusion service/api 8081:80 >/dev/null 2>&1 3>&- &
	pid=$!
	wait_for 120 eval '[ -n "$(fake-cluster forwards)" ]'
	[ "$(fake-cluster forwards)" = "8081 $pid" ]
	kill -TERM "$pid"
	wait "$pid" || true
	[ -z "$(fake-cluster forwards)" ]
}

# ---- helm: what needs no cluster is the real helm's ----

# A chart as charts are written: `{{-` trimming, named templates, toYaml |
# nindent, range, with, if, and a subchart with values of its own.
shop_chart() {
	SHOP=$BATS_TEST_TMPDIR/shop
	mkdir -p "$SHOP/templates" "$SHOP/charts/cache/templates"
	cat >"$SHOP/Chart.yaml" <<-'EOF'
		apiVersion: v2
		name: shop
		version: 1.2.3
		appVersion: "2.0"
		dependencies:
		  - name: cache
		    version: 0.1.0
		    condition: cache.enabled
	EOF
	cat >"$SHOP/values.yaml" <<-'EOF'
		image: {repository: localhost/shop, tag: latest}
		env:
		  LOG_LEVEL: info
		  APP_ENV: local
		resources:
		  limits: {memory: 128Mi}
		podAnnotations: {}
		cache:
		  enabled: true
		  port: 7000
	EOF
	cat >"$SHOP/templates/_helpers.tpl" <<-'EOF'
		{{- define "shop.labels" -}}
		app.kubernetes.io/name: {{ .Chart.Name }}
		app.kubernetes.io/instance: {{ .Release.Name }}
		{{- end }}
	EOF
	cat >"$SHOP/templates/deployment.yaml" <<-'EOF'
		apiVersion: apps/v1
		kind: Deployment
		metadata:
		  name: {{ .Release.Name }}
		  labels:
		    {{- include "shop.labels" . | nindent 4 }}
		spec:
		  selector:
		    matchLabels:
		      {{- include "shop.labels" . | nindent 6 }}
		  template:
		    metadata:
		      labels:
		        {{- include "shop.labels" . | nindent 8 }}
		      {{- with .Values.podAnnotations }}
		      annotations:
		        {{- toYaml . | nindent 8 }}
		      {{- end }}
		    spec:
		      containers:
		        - name: shop
		          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
		          env:
		            {{- range $k, $v := .Values.env }}
		            - name: {{ $k }}
		              value: {{ $v | quote }}
		            {{- end }}
		          resources:
		            {{- toYaml .Values.resources | nindent 12 }}
	EOF
	cat >"$SHOP/templates/NOTES.txt" <<-'EOF'
		{{ .Release.Name }} is at {{ .Values.image.repository }}:{{ .Values.image.tag }}
		{{- if .Release.IsUpgrade }} (upgraded){{ end }}
	EOF
	cat >"$SHOP/charts/cache/Chart.yaml" <<-'EOF'
		apiVersion: v2
		name: cache
		version: 0.1.0
	EOF
	printf 'port: 6379\n' >"$SHOP/charts/cache/values.yaml"
	cat >"$SHOP/charts/cache/templates/service.yaml" <<-'EOF'
		apiVersion: v1
		kind: Service
		metadata:
		  name: {{ .Release.Name }}-cache
		spec:
		  ports:
		    - port: {{ .Values.port }}
	EOF
}

@test "helm template and version are the real helm's: a chart with trimming, include, nindent, range and a subchart" {
	shop_chart
	args=(web "$SHOP" -n shop --set env.EXTRA=x -f "$BATS_TEST_TMPDIR/v1.yaml")
	run --separate-stderr -0 helm template "${args[@]}"
	[ "$output" = "$("$FUSION_REAL_HELM" template "${args[@]}")" ]
	[ "$(calls '^helm template web ')" -eq 1 ]
	# what only a real renderer gets right (the awk stand-in could not)
	[[ $output == *$'# Source: shop/charts/cache/templates/service.yaml\n'*$'    - port: 7000\n'* ]]
	[[ $output == *$'  labels:\n    app.kubernetes.io/name: shop\n    app.kubernetes.io/instance: web\nspec:\n'* ]]
	[[ $output == *$'          env:\n            - name: APP_ENV\n              value: "local"\n            - name: EXTRA\n'* ]]
	[[ $output == *$'          resources:\n            limits:\n              memory: 128Mi'* ]]
	[[ $output == *'image: "localhost/shop:from-file"'* ]]
	[[ $output != *annotations:* ]]
	# the subchart off: gone
	run -0 helm template web "$SHOP" --set cache.enabled=false
	[[ $output != *cache/templates* ]]
	run -0 helm version --template '{{.Version}}'
	[ "$output" = v3.17.3 ]
	run -0 helm version --short
	[[ $output == v3.17.3+g* ]]
	run -0 helm lint "$SHOP"
	[[ $output == *"1 chart(s) linted, 0 chart(s) failed"* ]]
	# help is the real helm's, even for the fake's own commands
	run -0 helm upgrade --install --help
	[ "${lines[0]}" = "This command upgrades a release to a new version of a chart." ]
}

@test "helm: the real helm missing, or the fake itself, is an error that says what to do" {
	FUSION_REAL_HELM=$BATS_TEST_TMPDIR/none run -1 helm template web "$CH"
	[ "$output" = "fake helm: the real helm is not at $BATS_TEST_TMPDIR/none (FUSION_REAL_HELM): run scripts/setup, which installs it" ]
	FUSION_REAL_HELM=$BATS_TEST_TMPDIR/none run -1 helm upgrade --install web "$CH" -n shop --create-namespace
	[[ $output == "fake helm: the real helm is not at "* ]]
	[ ! -e "$FUSION_FAKE_STATE/releases/shop/web" ]
	FUSION_REAL_HELM=$TOP/tests/fakes/helm run -1 helm version
	[[ $output == *"names the fake helm itself"* ]]
}

@test "an unused value or a comment does not change the rendered manifest; a used value does" {
	helm template web "$CH" -f "$BATS_TEST_TMPDIR/v1.yaml" >"$BATS_TEST_TMPDIR/a"
	printf 'image:\n  tag: from-file   # another comment\n# new comment\nunused: changed\nextra:\n  deep: 1\n' >"$BATS_TEST_TMPDIR/v1.yaml"
	helm template web "$CH" -f "$BATS_TEST_TMPDIR/v1.yaml" >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	helm template web "$CH" -f "$BATS_TEST_TMPDIR/v1.yaml" --set image.tag=other >"$BATS_TEST_TMPDIR/c"
	run ! cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
}

@test "the example charts render with the catalog's values and leave no value unset" {
	for s in core-api partners-engine scriptdash; do
		out=$(helm template "$s" "$HELMDIR/base-charts/service" -n fusion -f "$HELMDIR/values/common.yaml" \
			-f "$HELMDIR/values/$s.yaml" --set replicaCount=1 --set image.repository=localhost/$s \
			--set image.tag=fx-0123456789abcdef --set image.pullPolicy=Never)
		[[ $out == *"# Source: service/templates/deployment.yaml"* ]]
		[[ $out == *"# Source: service/templates/service.yaml"* ]]
		[[ $out == *"image: \"localhost/$s:fx-0123456789abcdef\""* ]]
		[[ $out != *"<no value>"* ]]
	done
	for c in postgresql mysql kafka temporal; do
		out=$(helm template "$c" "$HELMDIR/shared-services/$c" -n fusion)
		[[ $out == *"# Source: $c/templates/"* ]]
		[[ $out != *"<no value>"* ]]
	done
	# the top-level helm/ is the same tree
	[ "$(readlink "$TOP/helm")" = examples/workspace/local-dev/helm ]
	[ -f "$TOP/helm/base-charts/service/Chart.yaml" ]
}

# ---- helm releases ----

# bats test_tags=slow
@test "helm upgrade --install: install, then upgrades that raise the revision" {
	run -0 helm upgrade --install web "$CH" -n shop --create-namespace --wait --timeout 5m0s --kube-context fusion
	[ "${lines[0]}" = 'Release "web" does not exist. Installing it now.' ]
	[ "${lines[1]}" = "NAME: web" ]
	[[ ${lines[2]} == "LAST DEPLOYED: "* ]]
	[ "${lines[3]}" = "NAMESPACE: shop" ]
	[ "${lines[4]}" = "STATUS: deployed" ]
	[ "${lines[5]}" = "REVISION: 1" ]
	[ "${lines[6]}" = "TEST SUITE: None" ]
	run -0 helm upgrade --install web "$CH" -n shop --create-namespace --set image.tag=v2
	[ "${lines[0]}" = 'Release "web" has been upgraded. Happy Helming!' ]
	[ "${lines[5]}" = "REVISION: 2" ]
	[ "$(cat "$FUSION_FAKE_STATE/releases/shop/web/revision")" = 2 ]
	[ "$(cat "$FUSION_FAKE_STATE/releases/shop/web/status")" = deployed ]
	# the stored manifest is what helm template prints for the same command
	helm template web "$CH" -n shop --set image.tag=v2 >"$BATS_TEST_TMPDIR/t"
	cmp "$BATS_TEST_TMPDIR/t" "$FUSION_FAKE_STATE/releases/shop/web/manifest"
	diff <(helm get manifest web -n shop) "$BATS_TEST_TMPDIR/t"
	grep -qx 'image.tag=v2' "$FUSION_FAKE_STATE/releases/shop/web/values"
	[ "$(calls '^helm upgrade')" -eq 2 ]
	run -0 helm status web -n shop
	[ "${lines[4]}" = "REVISION: 2" ]
}

@test "helm upgrade renders with the real helm: the manifest, computed values, NOTES and chart of a release" {
	shop_chart
	run -0 helm upgrade --install web "$SHOP" -n shop --create-namespace --set env.EXTRA=x --wait
	[ "${lines[7]}" = NOTES: ]
	[ "${lines[8]}" = "web is at localhost/shop:latest" ]
	# what helm template prints with the same arguments; the subchart's pods run too
	helm template web "$SHOP" -n shop --set env.EXTRA=x >"$BATS_TEST_TMPDIR/t"
	cmp "$BATS_TEST_TMPDIR/t" "$FUSION_FAKE_STATE/releases/shop/web/manifest"
	[ "$(fake-cluster pods shop | wc -l)" -eq 1 ]
	vals=$FUSION_FAKE_STATE/releases/shop/web/values
	grep -qx 'env.EXTRA=x' "$vals"
	grep -qx 'cache.port=7000' "$vals"
	grep -qx 'podAnnotations=map\[\]' "$vals"
	grep -qx 'resources.limits.memory=128Mi' "$vals"
	run -0 helm list -n shop
	[[ ${lines[1]} == web*shop*1*deployed*shop-1.2.3*2.0* ]]
	# an upgrade renders as one (.Release.IsUpgrade); a values file with a '.' in a key
	printf 'podAnnotations:\n  prometheus.io/scrape: "true"\nnote: |\n  two\n  lines\n' >"$BATS_TEST_TMPDIR/v4.yaml"
	run -0 helm upgrade --install web "$SHOP" -n shop -f "$BATS_TEST_TMPDIR/v4.yaml"
	[ "${lines[8]}" = "web is at localhost/shop:latest (upgraded)" ]
	grep -qxF 'podAnnotations.prometheus\.io/scrape=true' "$vals"
	grep -qxF 'note=two\nlines\n' "$vals"
	run ! grep -q '^env.EXTRA=' "$vals"	# values are not reused unless asked
	# a packaged chart (helm package is the real helm's) installs as well
	run -0 helm package "$SHOP" -d "$BATS_TEST_TMPDIR"
	run -0 helm install pkg "$BATS_TEST_TMPDIR/shop-1.2.3.tgz" -n shop
	helm template pkg "$SHOP" -n shop | cmp - "$FUSION_FAKE_STATE/releases/shop/pkg/manifest"
	# a chart the real helm refuses: its error, after helm upgrade's prefix
	printf 'x: {{ .Values.nomap.key }}\n' >"$SHOP/templates/bad.yaml"
	run -1 helm upgrade --install web "$SHOP" -n shop
	[[ ${lines[0]} == "Error: UPGRADE FAILED: template: shop/templates/bad.yaml:1:"*"nil pointer evaluating interface {}.key" ]]
	[ "$(cat "$FUSION_FAKE_STATE/releases/shop/web/revision")" = 2 ]
	run -1 helm upgrade --install new "$SHOP" -n shop
	[[ ${lines[0]} == "Error: template: shop/templates/bad.yaml:1:"* ]]
	run -1 helm upgrade --install new "$BATS_TEST_TMPDIR/nochart" -n shop
	[ "$output" = "Error: path \"$BATS_TEST_TMPDIR/nochart\" not found" ]
	run -1 helm upgrade --install new oci://registry.invalid/charts/shop -n shop
	[[ $output == *"local charts only"* ]]
	[ -z "$(ls -A "$FUSION_FAKE_STATE" | grep '^\.' | grep -vx '.lock')" ]	# no temporary file left
}

# bats test_tags=slow
@test "helm history: each revision with its status and description, as a table or JSON" {
	local ch=$HELMDIR/base-charts/service
	helm upgrade --install web "$ch" -n shop --create-namespace >/dev/null
	helm upgrade --install web "$ch" -n shop --set image.tag=v2 >/dev/null
	# an image the cluster does not have, never pulled: --wait gives up
	run -1 helm upgrade --install web "$ch" -n shop --set image.repository=localhost/none \
		--set image.pullPolicy=Never --wait --timeout 200ms
	run -0 helm history web -n shop
	[[ ${lines[0]} == REVISION*UPDATED*STATUS*CHART*"APP VERSION"*DESCRIPTION* ]]
	[[ ${lines[1]} == 1*superseded*service-0.1.0*1.0.0*"Install complete"* ]]
	[[ ${lines[2]} == 2*deployed*service-0.1.0*1.0.0*"Upgrade complete"* ]]
	[[ ${lines[3]} == 3*failed*service-0.1.0*1.0.0*'Upgrade "web" failed: context deadline exceeded'* ]]
	run -0 helm history web -n shop -o json --max 1
	[ "$(echo "$output" | jq -r '.[] | "\(.revision) \(.status) \(.chart) \(.description)"')" = \
		'3 failed service-0.1.0 Upgrade "web" failed: context deadline exceeded' ]
	run -1 helm history nope -n shop
	[ "$output" = "Error: release: not found" ]
}

# bats test_tags=slow
@test "helm install needs the namespace unless --create-namespace; upgrade needs --install" {
	run -1 helm upgrade --install web "$CH" -n shop
	[ "$output" = 'Error: create: failed to create: namespaces "shop" not found' ]
	[ ! -e "$FUSION_FAKE_STATE/releases/shop/web" ]
	run -1 helm upgrade web "$CH" -n default
	[ "$output" = 'Error: UPGRADE FAILED: "web" has no deployed releases' ]
	helm upgrade --install web "$CH" -n shop --create-namespace
	run -0 kubectl get namespace shop -o jsonpath={.metadata.name}
	[ "$output" = shop ]
	helm upgrade --install other "$CH" -n shop	# the namespace exists now
	run -1 helm install web "$CH" -n shop
	[ "$output" = "Error: INSTALLATION FAILED: cannot re-use a name that is still in use" ]
}

# bats test_tags=slow
@test "helm list: names, table, JSON; per namespace or all" {
	run -0 helm list -n shop -q
	[ "$output" = "" ]
	helm upgrade --install web "$CH" -n shop --create-namespace
	helm upgrade --install api "$CH" -n shop
	helm upgrade --install web "$CH" -n shop
	helm upgrade --install db "$CH" -n data --create-namespace
	run -0 helm list -n shop -q
	[ "$output" = $'api\nweb' ]
	run -0 helm list --namespace=shop --short --kube-context fusion
	[ "$output" = $'api\nweb' ]
	run -0 helm list -A -q
	[ "$output" = $'api\ndb\nweb' ]
	run -0 helm list -n shop
	[[ ${lines[0]} == NAME*NAMESPACE*REVISION*UPDATED*STATUS*CHART*"APP VERSION"* ]]
	[[ ${lines[2]} == web*shop*2*deployed*demo-0.2.0*1.4.1* ]]
	run -0 helm list -n shop -o json
	[[ $output == '[{"name":"api","namespace":"shop","revision":"1","updated":"'* ]]
	[[ $output == *'"status":"deployed","chart":"demo-0.2.0","app_version":"1.4.1"}]' ]]
	[[ $output == *'{"name":"web","namespace":"shop","revision":"2",'* ]]
}

@test "helm uninstall removes the release; a missing one is helm's error" {
	helm upgrade --install web "$CH" -n shop --create-namespace
	run -0 helm uninstall web -n shop --kube-context fusion
	[ "$output" = 'release "web" uninstalled' ]
	[ -z "$(helm list -n shop -q)" ]
	run -1 helm uninstall web -n shop
	[ "$output" = "Error: uninstall: Release not loaded: web: release: not found" ]
	run -1 helm status web -n shop
	[ "$output" = "Error: release: not found" ]
}

# ---- switches ----

@test "FUSION_FAKE_FAIL fails matching calls realistically, before any state change" {
	helm upgrade --install web "$CH" -n shop --create-namespace
	export FUSION_FAKE_FAIL='^helm upgrade .*web'
	run -1 helm upgrade --install web "$CH" -n shop
	[ "$output" = "Error: UPGRADE FAILED: fake failure injected" ]
	[ "$(cat "$FUSION_FAKE_STATE/releases/shop/web/revision")" = 1 ]
	run -0 helm upgrade --install api "$CH" -n shop	# no match
	[ "$(calls '^helm upgrade --install web')" -eq 2 ]	# failed calls are logged too
	FUSION_FAKE_FAIL='image load' run -1 minikube -p fusion image load localhost/a:1
	[[ $output == *"Failed to load image: fake failure injected"* ]]
	[ -z "$(fake-cluster images fusion)" ]
	FUSION_FAKE_FAIL='^kubectl' run -1 kubectl get namespace kube-system -o jsonpath={.metadata.uid}
	[ "$output" = "error: fake failure injected" ]
	FUSION_FAKE_FAIL='^helm template' run -1 helm template web "$CH"
	[ "$output" = "Error: fake failure injected" ]
	FUSION_FAKE_FAIL='^kind load' run -1 kind load image-archive x.tar --name fusion
	[[ $output == "ERROR: failed to load image: "* ]]
}

@test "FUSION_FAKE_SLEEP slows matching calls only, by the first matching entry" {
	# a `sleep` in front of the real one records what the fakes ask of it
	mkdir -p "$BATS_TEST_TMPDIR/sleepbin"
	printf '#!/bin/sh\necho "$*" >>"%s"\n' "$BATS_TEST_TMPDIR/sleeps" >"$BATS_TEST_TMPDIR/sleepbin/sleep"
	chmod +x "$BATS_TEST_TMPDIR/sleepbin/sleep"
	export PATH="$BATS_TEST_TMPDIR/sleepbin:$PATH"
	export FUSION_FAKE_SLEEP='^nomatch=9;^helm version=0.6;^helm=5'
	helm version --short >/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/sleeps")" = 0.6 ]
	kubectl version --client >/dev/null
	helm list -n x >/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/sleeps")" = $'0.6\n5' ]
}

@test "a sleeping fake dies when its process group gets SIGTERM, long before its sleep ends" {
	FUSION_FAKE_SLEEP='^helm upgrade=300' setsid helm upgrade --install web "$CH" -n shop --create-namespace 3>&- &
	local pid=$!
	# wait until the fake sleeps (a sleep in its group), then stop the group
	wait_for 120 pgrep -g "$pid" -x sleep >/dev/null
	kill -TERM -- "-$pid"
	# generous: 120 s against a 300 s sleep; nothing left behind in the group
	wait_for 120 eval '! kill -0 -- "-$pid" 2>/dev/null'
	wait "$pid" || true
	[ ! -e "$FUSION_FAKE_STATE/releases/shop/web" ]
}

# bats test_tags=slow
@test "recreating the cluster changes the uid and wipes releases, images and namespaces" {
	uid=$(kubectl get namespace kube-system -o jsonpath={.metadata.uid})
	helm upgrade --install web "$CH" -n shop --create-namespace
	minikube -p fusion image load localhost/web:fx-1
	fake-cluster recreate
	new=$(kubectl get namespace kube-system -o jsonpath={.metadata.uid})
	[ "$new" != "$uid" ]
	[ -z "$(helm list -A -q)" ]
	[ -z "$(minikube -p fusion image ls)" ]
	run -1 kubectl get namespace shop
	# the same through kubectl's environment, on the call itself
	run -0 env FUSION_FAKE_RECREATE=1 kubectl get namespace kube-system -o jsonpath={.metadata.uid}
	[ "$output" != "$new" ]
	[ "$output" = "$(fake-cluster uid)" ]
}

# bats test_tags=slow
@test "a cluster that is down refuses connections until it is up" {
	helm upgrade --install web "$CH" -n shop --create-namespace
	fake-cluster down
	run -1 kubectl get namespace kube-system -o jsonpath={.metadata.uid}
	[ "$output" = "The connection to the server 127.0.0.1:32771 was refused - did you specify the right host or port?" ]
	run -1 helm upgrade --install web "$CH" -n shop
	[[ $output == 'Error: UPGRADE FAILED: Kubernetes cluster unreachable: Get "https://127.0.0.1:32771/version": dial tcp 127.0.0.1:32771: connect: connection refused' ]]
	run -1 helm list -n shop -q
	[[ $output == "Error: Kubernetes cluster unreachable: "* ]]
	archive "$BATS_TEST_TMPDIR/a.tar" localhost/a:1
	run -0 minikube -p fusion image load "$BATS_TEST_TMPDIR/a.tar"	# the stopped node is skipped, silently
	[ -z "$output" ]
	run -7 minikube -p fusion status
	run -0 helm template web "$CH"	# needs no cluster
	run -0 kubectl version --client
	fake-cluster up
	run -0 helm list -n shop -q
	[ "$output" = web ]
	[ -z "$(fake-cluster images fusion)" ]
}

# ---- images ----

@test "minikube image load/ls/rm per profile, deduplicated and normalised like containerd" {
	archive "$BATS_TEST_TMPDIR/core.tar" localhost/core-api:fx-0123456789abcdef
	minikube -p fusion image load "$BATS_TEST_TMPDIR/core.tar"
	minikube --profile fusion image load "$BATS_TEST_TMPDIR/core.tar"
	minikube --profile fusion image load nginx
	minikube --profile=other image load org/tool:2
	run -0 minikube -p fusion image ls
	[ "$output" = $'localhost/core-api:fx-0123456789abcdef\nregistry.invalid/library/nginx:latest' ]
	run -0 minikube image ls --profile other
	[ "$output" = "registry.invalid/org/tool:2" ]
	run -0 minikube image ls	# the default profile is "minikube"
	[ "$output" = "" ]
	minikube -p fusion image rm nginx
	run -0 minikube -p fusion image ls
	[ "$output" = "localhost/core-api:fx-0123456789abcdef" ]
	run -0 minikube -p fusion status
	[ "${lines[0]}" = fusion ]
	[ "${lines[2]}" = "host: Running" ]
	run -0 minikube version
	[[ ${lines[0]} == "minikube version: v1."* ]]
	run -1 minikube -p fusion image push x
}

@test "kind load image-archive records the archive's images" {
	local d=$BATS_TEST_TMPDIR/ar
	mkdir -p "$d"
	printf '[{"Config":"c.json","RepoTags":["localhost/web:fx-1","localhost/web:latest"],"Layers":[]}]' >"$d/manifest.json"
	printf '{}' >"$d/c.json"
	tar -cf "$BATS_TEST_TMPDIR/web.tar" -C "$d" manifest.json c.json
	run -0 kind load image-archive "$BATS_TEST_TMPDIR/web.tar" --name fusion
	run -0 fake-cluster images fusion
	[ "$output" = $'localhost/web:fx-1\nlocalhost/web:latest' ]
	tar -cf "$BATS_TEST_TMPDIR/anon.tar" -C "$d" c.json
	kind load image-archive "$BATS_TEST_TMPDIR/anon.tar"	# default name "kind"
	sum=$(sha256sum <"$BATS_TEST_TMPDIR/anon.tar")
	[ "$(fake-cluster images kind)" = "archive:sha256:${sum%% *}" ]
	run -1 kind load image-archive "$BATS_TEST_TMPDIR/none.tar" --name fusion
	[[ $output == "ERROR: failed to load image: open "*"none.tar: no such file or directory" ]]
	run -0 kind version
	[[ $output == "kind v0."* ]]
}

@test "docker forwards to podman but refuses podman-only build flags" {
	run -0 docker --version
	[ "$output" = "Docker version 24.0.7, build afdd53b" ]
	[ "$(calls '^docker --version$')" -eq 1 ]
	run -125 docker build --ignorefile x -f Containerfile .
	[ "${lines[0]}" = "unknown flag: --ignorefile" ]
}

# ---- parallel use ----

# bats test_tags=slow
@test "parallel calls keep the state consistent" {
	kubectl version --client >/dev/null
	helm upgrade --install shared "$CH" -n shop --create-namespace >/dev/null
	local pids=() i ok=0
	for i in $(seq 1 12); do
		helm upgrade --install "svc$i" "$CH" -n shop >/dev/null &
		pids+=($!)
		archive "$BATS_TEST_TMPDIR/svc$i.tar" "localhost/svc$i:fx-$i"
		minikube -p fusion image load "$BATS_TEST_TMPDIR/svc$i.tar" &
		pids+=($!)
		helm upgrade --install shared "$CH" -n shop >/dev/null 2>"$BATS_TEST_TMPDIR/shared$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	[ "$(helm list -n shop -q | wc -l)" -eq 13 ]
	[ "$(minikube -p fusion image ls | wc -l)" -eq 12 ]
	# an upgrade of "shared" while another is under way is refused, as
	# helm refuses it (helm/helm#10599); the others each made a revision
	for i in $(seq 1 12); do
		if [ -s "$BATS_TEST_TMPDIR/shared$i.err" ]; then
			[ "$(cat "$BATS_TEST_TMPDIR/shared$i.err")" = \
				"Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" ]
		else
			ok=$((ok + 1))
		fi
	done
	[ "$ok" -ge 1 ]
	[ "$(cat "$FUSION_FAKE_STATE/releases/shop/shared/revision")" -eq $((1 + ok)) ]	# no lost update
	[ "$(calls '^helm upgrade --install shared')" -eq 13 ]
	[ "$(calls '^(helm upgrade|minikube -p fusion image load) ')" -eq 37 ]
	[ "$(wc -l <"$FUSION_FAKE_STATE/calls.log")" -eq 40 ]	# one whole line per call
}
