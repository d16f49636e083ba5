# fakelib.bash - shared by the cluster-tool fakes in this directory.
# Sourced, never run. See README.md for the state layout and the switches.
#
# Every fake does, in this order:
#   fake_init TOOL "$@"   state dir check, first-use bootstrap, calls.log line,
#                         FUSION_FAKE_SLEEP (outside any lock, so slow calls overlap)
#   fake_maybe_fail MSG   FUSION_FAKE_FAIL: print MSG to stderr, exit 1
# then its own work. Injected failures happen before any state change, as if
# the API server had refused the request, so a retry starts from clean state.
#
# Speed matters (the engine's tests run hundreds of these): the common path
# uses only bash builtins; flock(1) is spawned only by commands that change or
# read several state files together.

set -euo pipefail
shopt -s nullglob
export LC_ALL=C		# byte order for globs and sort: outputs do not depend on the locale

FAKE_DIR=${BASH_SOURCE[0]%/*}

# Where a fake's API server would be; only used in "connection refused" texts.
FAKE_APISERVER=127.0.0.1:32771

fake_die() {	# fake_die MSG... : print each MSG as a line on stderr, exit 1
	printf '%s\n' "$@" >&2
	exit 1
}

fake_init() {
	FAKE_TOOL=$1
	shift
	# The calls.log line and the line FUSION_FAKE_FAIL/SLEEP match: the tool
	# and its argv joined by single spaces, unquoted, as documented.
	FAKE_LINE=$FAKE_TOOL${*:+ $*}
	if [[ -z ${FUSION_FAKE_STATE:-} ]]; then
		fake_die "fake $FAKE_TOOL: FUSION_FAKE_STATE is not set: the fakes keep the cluster's state in that directory (see tests/fakes/README.md)"
	fi
	S=$FUSION_FAKE_STATE
	[[ -f $S/cluster-uid ]] || fake_bootstrap
	# One printf is one write(2) to an O_APPEND file: lines from parallel
	# fakes never interleave.
	printf '%s\n' "$FAKE_LINE" >>"$S/calls.log"
	fake_sleep
	fake_block_points
}

# FUSION_FAKE_BLOCK=REGEX: a matching call stops before it does anything
# (right after its calls.log line) until it is released.
# FUSION_FAKE_BLOCK_AFTER=REGEX: a matching call does all its work, then,
# if it succeeded, stops before it exits: the moment between a tool's
# success and the caller learning of it. A stopped call is the file
# blocked/PID (its line inside); removing the file releases it
# (`fake-cluster blocked`, `fake-cluster unblock`). The crash tests kill
# fusion at such points. The wait polls, in a child `sleep`, so a signal to
# the process group ends it at once.
fake_block_points() {
	if [[ -n ${FUSION_FAKE_BLOCK:-} && $FAKE_LINE =~ $FUSION_FAKE_BLOCK ]]; then
		fake_block
	fi
	if [[ -n ${FUSION_FAKE_BLOCK_AFTER:-} && $FAKE_LINE =~ $FUSION_FAKE_BLOCK_AFTER ]]; then
		FAKE_BLOCK_AT_EXIT=1
	fi
}

# What a fake wants done when it exits, however it exits (temp files):
# commands, eval'ed in order by the one EXIT trap, before a
# FUSION_FAKE_BLOCK_AFTER stop. A fake adds to it and never sets a trap.
FAKE_AT_EXIT=()
FAKE_BLOCK_AT_EXIT=
fake_exit() {
	local st=$? c
	for c in "${FAKE_AT_EXIT[@]}"; do eval "$c" || true; done
	if ((st == 0)) && [[ -n $FAKE_BLOCK_AT_EXIT ]]; then
		exec 9>&-	# never stop while holding the state lock
		fake_block
	fi
	exit "$st"
}
trap fake_exit EXIT

fake_block() {
	local me=$BASHPID
	mkdir -p "$S/blocked"
	printf '%s\n' "$FAKE_LINE" >"$S/blocked/.$me"
	mv -f "$S/blocked/.$me" "$S/blocked/$me"
	while [[ -e $S/blocked/$me ]]; do sleep 0.05; done
}

# FUSION_FAKE_SLEEP="REGEX=SECONDS[;REGEX=SECONDS...]": the first entry whose
# REGEX matches the line decides. The regex may contain '=' (the last '='
# splits); it may not contain ';'. A plain `sleep` child: a SIGTERM sent to
# the process group (as fusion does on Ctrl-C) ends both at once.
fake_sleep() {
	local rest=${FUSION_FAKE_SLEEP:-} spec re secs
	while [[ -n $rest ]]; do
		spec=${rest%%;*}
		if [[ $rest == *\;* ]]; then rest=${rest#*;}; else rest=; fi
		[[ $spec == *=* ]] || continue
		re=${spec%=*}
		secs=${spec##*=}
		if [[ -n $re && $FAKE_LINE =~ $re ]]; then
			sleep "$secs"
			return 0
		fi
	done
}

# FUSION_FAKE_FAIL=REGEX (extended, as grep -E): matching calls fail with MSG.
fake_maybe_fail() {
	local re=${FUSION_FAKE_FAIL:-}
	if [[ -n $re && $FAKE_LINE =~ $re ]]; then
		fake_die "$@"
	fi
}

# Exclusive (default) or shared (-s) lock on the whole state directory, held
# until the process exits. Writers take it for read-modify-write sequences;
# readers of several files take it shared so that they see one consistent state.
fake_lock() {
	exec 9>>"$S/.lock"
	flock "${1:--x}" 9
}

# Atomic file write: readers that do not lock never see a half-written file.
fake_write() {	# fake_write FILE CONTENT
	printf '%s' "$2" >"$1.tmp.$$"
	mv -f "$1.tmp.$$" "$1"
}

fake_new_uid() {	# a random RFC 4122 v4 UUID, like metadata.uid
	local u
	if [[ -r /proc/sys/kernel/random/uuid ]]; then
		read -r u </proc/sys/kernel/random/uuid
	else
		u=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
		u=${u:0:8}-${u:8:4}-4${u:13:3}-a${u:17:3}-${u:20:12}
	fi
	printf '%s' "$u"
}

FAKE_DEFAULT_NAMESPACES=$'default\nkube-node-lease\nkube-public\nkube-system\n'

fake_bootstrap() {
	mkdir -p "$S"
	fake_lock
	if [[ ! -f $S/cluster-uid ]]; then
		mkdir -p "$S/releases" "$S/images"
		fake_write "$S/namespaces" "$FAKE_DEFAULT_NAMESPACES"
		[[ -f $S/current-context ]] || fake_write "$S/current-context" "minikube"
		: >>"$S/calls.log"
		fake_write "$S/cluster-uid" "$(fake_new_uid)"	# last: marks the bootstrap done
	fi
	exec 9>&-
}

# A recreated cluster: new identity, no releases, no loaded images, only the
# default namespaces, and up. Caller holds the exclusive lock.
fake_recreate_locked() {
	rm -rf "$S/releases" "$S/images" "$S/namespace-uids" "$S/down" "$S/absent"
	mkdir -p "$S/releases" "$S/images"
	fake_write "$S/namespaces" "$FAKE_DEFAULT_NAMESPACES"
	fake_write "$S/cluster-uid" "$(fake_new_uid)"
}

# Down: stopped (minikube stop) or gone (minikube delete, kind delete cluster).
fake_is_down() { [[ -e $S/down || -e $S/absent ]]; }
fake_is_absent() { [[ -e $S/absent ]]; }

# A deleted cluster: nothing left but calls.log and the kube context, which
# the tool removes from the kubeconfig. Caller holds the exclusive lock.
fake_delete_locked() {
	rm -rf "$S/releases" "$S/images" "$S/namespace-uids" "$S/down" "$S/kind-clusters"
	mkdir -p "$S/releases" "$S/images"
	fake_write "$S/namespaces" "$FAKE_DEFAULT_NAMESPACES"
	: >"$S/absent"
}

# The runtime of the cluster's node: containerd (default), cri-o or docker.
# It decides how the kubelet resolves a pod's image name (fake_kubelet_has).
fake_runtime() {
	RUNTIME=containerd
	[[ ! -f $S/runtime ]] || read -r RUNTIME <"$S/runtime" || true
}

# Docker's reference normalisation, as containerd (minikube, kind) lists
# images: a bare "nginx" gets the default registry and "library/", "org/app"
# the default registry, a missing tag ":latest"; "localhost/x:t" and
# "host:5000/x:t" stay unchanged. The fakes name the default registry
# $FAKE_DEFAULT_REGISTRY (a placeholder host: no real one is named here).
FAKE_DEFAULT_REGISTRY=${FAKE_DEFAULT_REGISTRY:-registry.invalid}
fake_normalize_ref() {	# sets REF
	local ref=$1 name digest='' first last
	if [[ $ref == *@* ]]; then
		digest=@${ref#*@}
		ref=${ref%%@*}
	fi
	name=$ref
	first=${name%%/*}
	if [[ $name != */* ]]; then
		name=$FAKE_DEFAULT_REGISTRY/library/$name
	elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
		name=$FAKE_DEFAULT_REGISTRY/$name
	fi
	last=${name##*/}
	if [[ -z $digest && $last != *:* ]]; then
		name=$name:latest
	fi
	REF=$name$digest
}

# Image references recorded in an archive written by `podman save` /
# `docker save`: RepoTags of a docker-archive's manifest.json, else the
# ref.name annotations of an OCI archive's index.json. Sets ARCHIVE_REFS
# (array). Returns 1 if the file is not a tar archive.
fake_archive_refs() {
	local archive=$1 json tok parts
	ARCHIVE_REFS=()
	tar -tf "$archive" >/dev/null 2>&1 || return 1
	json=$(tar -xOf "$archive" manifest.json 2>/dev/null || true)
	if [[ $json =~ \"RepoTags\":\[([^]]*)\] ]]; then
		json=${BASH_REMATCH[1]//\"/}
		IFS=, read -ra parts <<<"$json"
		for tok in "${parts[@]}"; do
			[[ -n $tok ]] && ARCHIVE_REFS+=("$tok")
		done
	fi
	if ((${#ARCHIVE_REFS[@]} == 0)); then
		json=$(tar -xOf "$archive" index.json 2>/dev/null || true)
		while [[ $json =~ \"org\.opencontainers\.image\.ref\.name\":\ ?\"([^\"]+)\" ]]; do
			tok=${BASH_REMATCH[1]}
			ARCHIVE_REFS+=("$tok")
			json=${json#*"$tok"}
		done
	fi
	return 0
}

# Would the kubelet of cluster PROFILE find image REF without pulling it
# (imagePullPolicy: Never)? containerd and docker (cri-dockerd) normalise
# the name as docker does (x:t -> docker.io/library/x:t) and look that up
# among the loaded images; cri-o refuses a short name outright
# (kubernetes/minikube#19395, containers/podman#24993). A name with a
# registry part (localhost/x:t) is looked up as it is by all three.
# Returns 1 with the pod's waiting reason in KUBELET_ERR.
fake_kubelet_has() {	# fake_kubelet_has REF PROFILE
	local ref=$1 first=${1%%/*} line
	fake_runtime
	if [[ $RUNTIME == cri-o && ($ref != */* || ($first != *.* && $first != *:* && $first != localhost)) ]]; then
		KUBELET_ERR="ImageInspectError: Failed to inspect image \"$ref\": rpc error: code = Unknown desc = short-name \"$ref\" did not resolve to an alias and no unqualified-search registries are defined in \"/etc/containers/registries.conf\""
		return 1
	fi
	fake_normalize_ref "$ref"
	if [[ -f $S/images/$2 ]]; then
		while IFS= read -r line; do [[ $line == "$REF" ]] && return 0; done <"$S/images/$2"
	fi
	KUBELET_ERR="ErrImageNeverPull: Container image \"$ref\" is not present with pull policy of Never"
	return 1
}

# Add (op=add) or remove (op=rm) refs in images/<profile>: one ref a line,
# no duplicates, sorted. Caller holds the exclusive lock.
fake_images_update() {	# fake_images_update PROFILE add|rm REF...
	local file=$S/images/$1 op=$2 line out= r
	shift 2
	local -A have=()
	if [[ -f $file ]]; then
		while IFS= read -r line; do [[ -n $line ]] && have[$line]=1; done <"$file"
	fi
	for r in "$@"; do
		if [[ $op == add ]]; then have[$r]=1; else unset "have[$r]"; fi
	done
	if ((${#have[@]})); then
		out=$(printf '%s\n' "${!have[@]}" | sort)
		out+=$'\n'
	fi
	mkdir -p "$S/images"
	fake_write "$file" "$out"
}

# ---- pods (kubectl logs, port-forward, get pods) ----

# The pods and Services of namespace NS, as pods.awk derives them from the
# stored manifests: sets POD_LINES and SVC_LINES (arrays of its tab-separated
# lines). Reads under the shared lock, which it releases.
fake_pods() {	# fake_pods NS
	local line files=("$S"/releases/"$1"/*/manifest "$S"/releases/"$1"/*/retiring)
	POD_LINES=() SVC_LINES=()
	((${#files[@]})) || return 0
	while IFS= read -r line; do
		case $line in
		pod$'\t'*) POD_LINES+=("${line#pod$'\t'}") ;;
		svc$'\t'*) SVC_LINES+=("${line#svc$'\t'}") ;;
		esac
	done < <(fake_lock -s; awk -v ns="$1" -f "$FAKE_DIR/pods.awk" "${files[@]}")
}

# Does a k=v,k=v label set satisfy a k=v,k=v (or k==v, k!=v, k) selector?
fake_selects() {	# fake_selects SELECTOR LABELS
	local req have=",$2,"
	local -a reqs
	IFS=, read -ra reqs <<<"$1"
	for req in "${reqs[@]}"; do
		req=${req// /}
		case $req in
		"") ;;
		*!=*) [[ $have != *",${req%%!=*}=${req#*!=},"* ]] || return 1 ;;
		*==*) [[ $have == *",${req%%==*}=${req#*==},"* ]] || return 1 ;;
		*=*) [[ $have == *",$req,"* ]] || return 1 ;;
		*) [[ $have == *",$req="* ]] || return 1 ;;
		esac
	done
}

fake_now() {	# sets NOW_NS (epoch ns) and NOW_RFC (RFC 3339, ns, UTC)
	local t
	t=$(date -u '+%s%N %Y-%m-%dT%H:%M:%S.%NZ')
	NOW_NS=${t%% *}
	NOW_RFC=${t#* }
}

# The log of a pod's container: podlogs/NS/POD/UID/CONTAINER, "EPOCHNS RFC3339
# text" lines. A container's log starts with a line saying which image it
# runs. A pod made again under its name (a StatefulSet's) is a new pod, with
# a new UID and logs of its own.
fake_pod_log() {	# fake_pod_log NS POD UID CONTAINER IMAGE -> sets LOG_FILE
	LOG_FILE=$S/podlogs/$1/$2/$3/$4
	if [[ ! -f $LOG_FILE ]]; then	# made once, even by readers racing: ln(2) is atomic
		mkdir -p "${LOG_FILE%/*}"
		fake_now
		printf '%s %s container %s started from image %s\n' "$NOW_NS" "$NOW_RFC" "$4" "$5" \
			>"$LOG_FILE.tmp.$$"
		ln "$LOG_FILE.tmp.$$" "$LOG_FILE" 2>/dev/null || true
		rm -f "$LOG_FILE.tmp.$$"
	fi
}

# ---- pod status: what the scheduler and the kubelet report ----
#
# A pod's status is worked out from what the cluster has (its images),
# what a test told it (a fault, `fake-cluster fault`) and the pod's age,
# at each look, as a kubelet would report it by then. A healthy pod is
# Running and Ready from the start (so a release of healthy pods waits for
# nothing); a pod that goes wrong passes through the states the real one
# passes through, on a compressed clock:
#
#   0-0.2 s   Pending, container waiting ContainerCreating
#   then      by its fault (or a missing image), as kubelet and scheduler say it:
#   ErrImageNeverPull  waiting ErrImageNeverPull, 'Container image "I" is not
#             present with pull policy of Never' (an image with pull policy Never
#             the node does not have; cri-o: ImageInspectError for a short name)
#   pullerror waiting ErrImagePull, then (0.6 s) ImagePullBackOff 'Back-off pulling image "I"'
#   configerror  waiting CreateContainerConfigError, 'secret "RELEASE-secret" not found'
#   crashloop running (0.2-0.5 s), terminated Error exit 1 (0.5-0.7 s), then waiting
#             CrashLoopBackOff 'back-off 10s restarting failed container=C pod=P_NS(UID)'
#             with lastState terminated Error exit 1 and restartCount 1 (the kubelet
#             restarts at once after the first crash and backs off from the second,
#             10 s doubling to 5 min: restartCount grows on that clock). The phase
#             stays Running (kubernetes/kubernetes#76619)
#   oom       the same with reason OOMKilled, exit code 137: in CrashLoopBackOff the
#             OOM kill shows only in lastState (k8sgpt-ai/k8sgpt#792)
#   unschedulable  Pending, no container statuses, condition PodScheduled False
#             reason Unschedulable '0/1 nodes are available: 1 Insufficient memory. ...'
#             (kubernetes/kubernetes#52166)
#   unready   Running, started, never Ready (a readiness probe that fails)
#   hookfail  (a hook Job's pod) running, then (0.5 s) phase Failed, terminated Error exit 1
#
# A Job's pod without a fault Succeeds at once (terminated Completed, exit 0).
# Only the pods of a release's current manifest take its fault: a rolling
# update's retiring pods run on. `fake-cluster crash` (a container that exited
# and waits to restart) shows as CrashLoopBackOff as well.

# The fault a test set for a release: faults/NS/RELEASE, its first line the
# kind, the lines after it what the application prints before it fails.
fake_fault() {	# fake_fault NS RELEASE -> FAULT, FAULT_LINES (array)
	FAULT= FAULT_LINES=()
	local f=$S/faults/$1/$2
	[[ -f $f ]] || return 0
	mapfile -t FAULT_LINES <"$f"
	FAULT=${FAULT_LINES[0]:-}
	FAULT_LINES=("${FAULT_LINES[@]:1}")
}

fake_now_us() { NOW_US=${EPOCHREALTIME/./}; }

# A pod's birth: pods/NS/UID, the time (µs) it was first seen, written once
# (noclobber: O_EXCL) by whoever sees it first, normally the helm that
# created it. The one that writes it also writes what a failing
# application prints into its containers' logs. Sets AGE_MS, BIRTH_US.
fake_pod_birth() {	# fake_pod_birth NS (with the P_* of fake_pod_fields)
	local f=$S/pods/$1/$P_UID c
	fake_now_us
	if [[ ! -f $f ]]; then
		mkdir -p "${f%/*}"
		if (set -C; printf '%s\n' "$NOW_US" >"$f") 2>/dev/null && [[ $P_OLD == 0 ]]; then
			fake_fault "$1" "$P_REL"
			local exits=
			case $FAULT in
			crashloop) [[ $P_HOOK == - || $P_RESTART == OnFailure ]] && exits="exited with code 1" ;;
			oom) [[ $P_HOOK == - || $P_RESTART == OnFailure ]] && exits="was killed: out of memory (exit code 137)" ;;
			hookfail) [[ $P_HOOK != - ]] && exits="exited with code 1" ;;
			esac
			if [[ -n $exits ]]; then
				local -a cs
				IFS=';' read -ra cs <<<"$P_CONTS"
				fake_now
				for c in "${cs[@]}"; do
					fake_pod_log "$1" "$P_NAME" "$P_UID" "${c%%=*}" "${c#*=}"
					{
						for l in "${FAULT_LINES[@]}"; do printf '%s %s %s\n' "$NOW_NS" "$NOW_RFC" "$l"; done
						printf '%s %s container %s %s\n' "$NOW_NS" "$NOW_RFC" "${c%%=*}" "$exits"
					} >>"$LOG_FILE"
				done
			fi
		fi
	fi
	read -r BIRTH_US <"$f" || BIRTH_US=$NOW_US
	AGE_MS=$(((NOW_US - BIRTH_US) / 1000))
}

# The fields of one of fake_pods' POD_LINES as P_* variables.
fake_pod_fields() {	# fake_pod_fields LINE
	IFS=$'\t' read -r P_NAME P_UID P_LABELS P_CONTS P_PORTS P_OKIND P_OWNER P_POLS P_REL P_OLD \
		P_HOOK P_RESTART P_BACKOFF <<<"$1"
}

# The node a kube context reaches: its image list (images/NODE). minikube
# calls it after the profile (context P), kind after the cluster (kind-N);
# k3d's list is images/k3d-C, named as its context.
fake_node_of() {	# fake_node_of CONTEXT -> NODE
	local ctx=$1
	[[ -n $ctx ]] || read -r ctx <"$S/current-context" || true
	NODE=${ctx#kind-}
}

# The kubelet's back-off before restart N+1 of a crashing container (10 s,
# doubling, at most 5 min): how many restarts AGE_MS after the first crash
# at 0.5 s has seen. Sets RESTARTS (at least 1) and BACKOFF_S (the current one).
fake_restarts() {
	local t=$((AGE_MS - 700)) b=10000
	RESTARTS=1
	while ((t >= b)); do
		t=$((t - b))
		RESTARTS=$((RESTARTS + 1))
		b=$((b * 2 > 300000 ? 300000 : b * 2))
	done
	BACKOFF_S=$((b / 1000))
}

# Work out pod LINE's status in namespace NS as seen through kube context
# CTX. Sets P_* (fake_pod_fields), AGE_MS, BIRTH_US, and:
#   ST_PHASE      Pending, Running, Succeeded, Failed
#   ST_UNSCHED    the scheduler's message when it cannot place the pod, else ""
#   ST_READY      True or False
#   ST_N          the number of container statuses (0 while unscheduled)
#   per container i (arrays): SC_NAME SC_IMAGE SC_READY (true/false) SC_STARTED
#   SC_RESTARTS SC_STATE (waiting|running|terminated) SC_REASON SC_MSG SC_EXIT
#   SC_LREASON SC_LEXIT (lastState.terminated, "" if none)
#   ST_EVENTS     lines "TYPE<TAB>REASON<TAB>COMPONENT<TAB>COUNT<TAB>MESSAGE"
fake_pod_status() {	# fake_pod_status NS LINE CTX
	local ns=$1 i c img pol job=0
	local -a cs ps
	fake_pod_fields "$2"
	fake_pod_birth "$ns"
	fake_node_of "${3:-}"
	FAULT=
	[[ $P_OLD != 0 ]] || fake_fault "$ns" "$P_REL"
	[[ $P_OKIND == Job ]] && job=1
	IFS=';' read -ra cs <<<"$P_CONTS"
	IFS=';' read -ra ps <<<"${P_POLS//-/}"
	ST_UNSCHED= ST_EVENTS=() ST_N=${#cs[@]}
	SC_NAME=() SC_IMAGE=() SC_READY=() SC_STARTED=() SC_RESTARTS=() SC_STATE=() SC_REASON=() SC_MSG=()
	SC_EXIT=() SC_LREASON=() SC_LEXIT=()
	if [[ $FAULT == unschedulable && $job == 0 ]]; then
		ST_PHASE=Pending ST_READY=False ST_N=0
		ST_UNSCHED="0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
		ST_EVENTS+=("Warning	FailedScheduling	default-scheduler	-	$ST_UNSCHED")
		return 0
	fi
	ST_EVENTS+=("Normal	Scheduled	default-scheduler	-	Successfully assigned $ns/$P_NAME to $NODE")
	local all_ready=True phase=Running failed=0 done_ok=1
	for i in "${!cs[@]}"; do
		c=${cs[i]%%=*} img=${cs[i]#*=} pol=${ps[i]:-}
		SC_NAME[i]=$c SC_IMAGE[i]=$img SC_READY[i]=false SC_STARTED[i]=false SC_RESTARTS[i]=0
		SC_STATE[i]=waiting SC_REASON[i]=ContainerCreating SC_MSG[i]= SC_EXIT[i]= SC_LREASON[i]= SC_LEXIT[i]=
		local why= cfault=$FAULT
		[[ $cfault == hookfail && $P_HOOK == - ]] && cfault=
		[[ ($cfault == crashloop || $cfault == oom) && $job == 1 && $P_RESTART != OnFailure ]] && cfault=hookfail
		if [[ $pol == Never ]] && ! fake_kubelet_has "$img" "$NODE"; then
			why=${KUBELET_ERR%%:*}
		fi
		local logf=$S/podlogs/$ns/$P_NAME/$P_UID/$c
		if [[ -z $why && -z $cfault && -f $logf.waiting ]]; then
			cfault=exited	# fake-cluster crash
		fi
		if [[ -z $why && -z $cfault ]]; then
			ST_EVENTS+=("Normal	Pulled	kubelet	-	Container image \"$img\" already present on machine"
				"Normal	Created	kubelet	-	Created container $c" "Normal	Started	kubelet	-	Started container $c")
			if ((job)); then
				SC_STATE[i]=terminated SC_REASON[i]=Completed SC_EXIT[i]=0
				all_ready=False
			else
				SC_STATE[i]=running SC_REASON[i]= SC_READY[i]=true SC_STARTED[i]=true
			fi
			continue
		fi
		all_ready=False
		done_ok=0
		if ((AGE_MS < 200)); then
			phase=Pending
			continue
		fi
		local count=$((1 + AGE_MS / 10000))
		if [[ -n $why ]]; then
			SC_REASON[i]=$why SC_MSG[i]=${KUBELET_ERR#*: }
			ST_EVENTS+=("Warning	$why	kubelet	$count	${SC_MSG[i]}" "Warning	Failed	kubelet	$count	Error: $why")
			phase=Pending
			continue
		fi
		case $cfault in
		pullerror)
			ST_EVENTS+=("Normal	Pulling	kubelet	$count	Pulling image \"$img\""
				"Warning	Failed	kubelet	$count	Failed to pull image \"$img\": rpc error: code = NotFound desc = failed to pull and unpack image \"$img\": failed to resolve reference \"$img\": $img: not found"
				"Warning	Failed	kubelet	$count	Error: ErrImagePull")
			if ((AGE_MS < 600)); then
				SC_REASON[i]=ErrImagePull
				SC_MSG[i]="rpc error: code = NotFound desc = failed to pull and unpack image \"$img\": failed to resolve reference \"$img\": $img: not found"
			else
				SC_REASON[i]=ImagePullBackOff SC_MSG[i]="Back-off pulling image \"$img\""
				ST_EVENTS+=("Normal	BackOff	kubelet	$count	Back-off pulling image \"$img\""
					"Warning	Failed	kubelet	$count	Error: ImagePullBackOff")
			fi
			phase=Pending ;;
		configerror)
			SC_REASON[i]=CreateContainerConfigError SC_MSG[i]="secret \"$P_REL-secret\" not found"
			ST_EVENTS+=("Warning	Failed	kubelet	$count	Error: ${SC_MSG[i]}")
			phase=Pending ;;
		unready)
			SC_STATE[i]=running SC_REASON[i]= SC_STARTED[i]=true
			ST_EVENTS+=("Normal	Started	kubelet	-	Started container $c"
				"Warning	Unhealthy	kubelet	$((1 + AGE_MS / 5000))	Readiness probe failed: HTTP probe failed with statuscode: 503") ;;
		crashloop | oom | exited)
			local r=Error x=1
			[[ $cfault == oom ]] && r=OOMKilled x=137
			ST_EVENTS+=("Normal	Started	kubelet	-	Started container $c")
			if [[ $cfault == exited ]]; then
				SC_RESTARTS[i]=$(cat "$logf.restarts" 2>/dev/null || echo 0)
				SC_REASON[i]=CrashLoopBackOff SC_LREASON[i]=Error SC_LEXIT[i]=1
				SC_MSG[i]="back-off 10s restarting failed container=$c pod=${P_NAME}_$ns($P_UID)"
			elif ((AGE_MS < 500)); then
				SC_STATE[i]=running SC_REASON[i]= SC_STARTED[i]=true
			elif ((AGE_MS < 700)); then
				SC_STATE[i]=terminated SC_REASON[i]=$r SC_EXIT[i]=$x
			else
				fake_restarts
				SC_RESTARTS[i]=$RESTARTS SC_REASON[i]=CrashLoopBackOff SC_LREASON[i]=$r SC_LEXIT[i]=$x
				SC_MSG[i]="back-off ${BACKOFF_S}s restarting failed container=$c pod=${P_NAME}_$ns($P_UID)"
				ST_EVENTS+=("Warning	BackOff	kubelet	$RESTARTS	Back-off restarting failed container $c in pod ${P_NAME}_$ns($P_UID)")
			fi ;;
		hookfail)
			ST_EVENTS+=("Normal	Started	kubelet	-	Started container $c")
			if ((AGE_MS < 500)); then
				SC_STATE[i]=running SC_REASON[i]= SC_STARTED[i]=true
			else
				SC_STATE[i]=terminated SC_REASON[i]=Error SC_EXIT[i]=1
				failed=1
			fi ;;
		esac
	done
	ST_READY=$all_ready
	if ((job && done_ok)); then
		ST_PHASE=Succeeded
	elif ((job && failed)); then
		ST_PHASE=Failed
	else
		ST_PHASE=$phase
	fi
}

# Is a workload's pod Ready, or a Job's pod Succeeded, by fake_pod_status?
fake_pod_done() {
	if [[ $P_OKIND == Job ]]; then [[ $ST_PHASE == Succeeded ]]; else [[ $ST_READY == True ]]; fi
}

# RFC 3339 (seconds, UTC) of a time in µs since the epoch.
fake_rfc() {	# fake_rfc US -> RFC
	TZ=UTC printf -v RFC '%(%Y-%m-%dT%H:%M:%SZ)T' "$(($1 / 1000000))"
}

# A JSON string: quotes, backslashes and control characters escaped.
fake_json() {	# fake_json TEXT -> JSON
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	JSON="\"$s\""
}
