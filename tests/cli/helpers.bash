# helpers.bash - shared by the command-line tests (load it with `load helpers`).
#
# Every test gets its own copy of the example workspace, its own fake
# cluster (tests/fakes keep their state in $FUSION_FAKE_STATE), and real
# podman with isolated storage (vfs driver, a temporary graph root, chroot
# isolation): that works offline, as root, on a fresh machine.
#
# podman is real; a thin shim in front of it counts its calls in the same
# calls.log as the fakes, so tests can assert that a no-op run spawned none.

: "${TOP:?TOP must point at the repository}"
: "${FUSION:?FUSION must point at the fusion binary}"

load wait	# wait_for, wait_until

# One podman storage per test file: layers are shared between the tests of a
# file (as on a developer's machine), never between files or runs.
setup_podman_storage() {
	export FX_PODMAN_DIR="$BATS_FILE_TMPDIR/podman"
	mkdir -p "$FX_PODMAN_DIR"
	cat >"$FX_PODMAN_DIR/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$FX_PODMAN_DIR/graph"
runroot = "$FX_PODMAN_DIR/run"
CONF
}

fx_setup() {
	[ -n "${FX_PODMAN_DIR:-}" ] || setup_podman_storage
	export CONTAINERS_STORAGE_CONF="$FX_PODMAN_DIR/storage.conf"
	export BUILDAH_ISOLATION=chroot
	export FUSION_FAKE_STATE="$BATS_TEST_TMPDIR/cluster"
	mkdir -p "$FUSION_FAKE_STATE" "$BATS_TEST_TMPDIR/bin"
	# The fakes through a path of this test's own: their command lines
	# (`bash $FAKES/kubectl ...`) are this test's, so no_process_left "$FAKES/"
	# sees no fake of a test running beside it (make test runs files in parallel).
	FAKES="$BATS_TEST_TMPDIR/fakes"
	ln -sfn "$TOP/tests/fakes" "$FAKES"
	local real
	real=$(PATH=${PATH#"$BATS_TEST_TMPDIR/bin:"} command -v podman)
	cat >"$BATS_TEST_TMPDIR/bin/podman" <<SHIM
#!/bin/sh
printf '%s\n' "podman \$*" >>"$FUSION_FAKE_STATE/calls.log"
if [ -n "\${FUSION_FAKE_BLOCK:-}\${FUSION_FAKE_BLOCK_AFTER:-}" ]; then
	exec "$FAKES/fake-block" podman $real "\$@"
fi
exec $real "\$@"
SHIM
	chmod +x "$BATS_TEST_TMPDIR/bin/podman"
	# The builder's binary is one of a build's inputs: made a minute ago, as
	# an installed one would be, it is not racy (rehashed) on the next run.
	touch -d '-1 min' "$BATS_TEST_TMPDIR/bin/podman"
	export PATH="$BATS_TEST_TMPDIR/bin:$FAKES:$PATH"
	fx_real_helm
	export NO_COLOR=1
	unset FUSION_STATE_DIR FUSION_FAKE_FAIL FUSION_FAKE_SLEEP FUSION_FAKE_BLOCK FUSION_FAKE_BLOCK_AFTER FUSION_FAKE_ROLLING
	# A sleep for the slow fakes that no other test run on the machine has.
	SLOW="30.$$"
	WS="$BATS_TEST_TMPDIR/ws"
	cp -a "$TOP/examples/workspace" "$WS"
	CAT="$WS/local-dev/config/service-catalog.yaml"
	STATE="$WS/local-dev/config/.fusion"
}

# The fake helm hands what needs no cluster (template, version, lint,
# package, repo, ...) to the real helm, which scripts/setup installs; its
# cache, configuration (repositories, registry logins) and plugins are this
# test's own.
fx_real_helm() {
	export FUSION_REAL_HELM=${FUSION_REAL_HELM:-/usr/local/lib/fusion/helm}
	export HELM_CACHE_HOME=$BATS_TEST_TMPDIR/helm/cache HELM_CONFIG_HOME=$BATS_TEST_TMPDIR/helm/config \
		HELM_DATA_HOME=$BATS_TEST_TMPDIR/helm/data
	# fusion's chart cache (charts from repositories and registries): the
	# test's own, never the user's ~/.cache
	export FUSION_CHART_CACHE=$BATS_TEST_TMPDIR/charts
}

# fusion on the test's workspace
fx() {
	"$FUSION" -f "$CAT" "$@"
}

# `fusion up --json ARGS` under bats' run
up_json() {
	run fx up --json "$@"
}

# How many calls of a tool (and subcommand) since the log was reset.
calls() {
	[ -f "$FUSION_FAKE_STATE/calls.log" ] || { echo 0; return; }
	grep -c -E "^$1" "$FUSION_FAKE_STATE/calls.log" || true
}

reset_calls() {
	: >"$FUSION_FAKE_STATE/calls.log"
}

# A helper that pipes runs in a subshell with pipefail: a command that fails
# fails the helper, though the commands after it in the pipe succeed (a
# `fusion graph` that fails with no output is no empty list of nodes).

# The nodes that finished with a given result in a --json run's output.
results() (
	set -o pipefail
	printf '%s\n' "$output" | grep '^{' | jq -r "select(.event==\"finish\" and .result==\"$1\") | .node" | sort | tr '\n' ' ' | sed 's/ $//'
)

# The state of a node in `graph --json`.
state_of() (
	set -o pipefail
	fx graph --json | jq -r ".nodes[] | select(.id==\"$1\") | .state"
)

# Nodes of `graph --json` in a given state, sorted, space-separated.
nodes_in() (
	set -o pipefail
	fx graph --json | jq -r ".nodes[] | select(.state==\"$1\") | .id" | sort | tr '\n' ' ' | sed 's/ $//'
)

# Start `fusion up ARGS` in the background (its output in $BATS_TEST_TMPDIR/out,
# its pid in FX_PID) and return once a tool call matching REGEX was logged.
up_in_background() {
	local regex=$1
	shift
	"$FUSION" -f "$CAT" up "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	FX_PID=$!
	wait_for 120 grep -sqE "$regex" "$FUSION_FAKE_STATE/calls.log"
}

# Send SIG to the background run and wait for it: FX_RC is its exit status.
signal_and_wait() {
	kill -"$1" "$FX_PID"
	FX_RC=0
	wait "$FX_PID" || FX_RC=$?
}

# No process whose command line matches PATTERN is left (pgrep -f), polling
# generously for processes that are still on their way out. A test's last
# assertion or not, it fails the test when one stays. Other tests run at the
# same time: name only this test's processes ("$FAKES/helm", "sleep $SLOW").
no_process_left() {
	for _ in $(seq 100); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.1
	done
	echo "still running: $(pgrep -af "$1")" >&2
	return 1
}

# Run "$@" in the background (FX_PID), marked: FX_TEST_MARK in the
# environment of that command alone, which its descendants inherit and
# nothing else on the machine has.
start_marked() {
	FX_TEST_MARK=$BATS_TEST_TMPDIR "$@" &
	FX_PID=$!
}

# No process of a start_marked run is left, itself or any tool it started,
# however deep (found by the mark in /proc/PID/environ, so other tests'
# tools never count), polling generously for those on their way out.
no_descendant_left() {
	local left
	for _ in $(seq 100); do
		# no pipefail: grep's status says nothing here (1: no process has
		# the mark; 2: one ended while it read its environ)
		left=$(grep -lzxF -- "FX_TEST_MARK=$BATS_TEST_TMPDIR" /proc/[0-9]*/environ 2>/dev/null |
			cut -d/ -f3 | paste -sd, -)
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	echo "still running: $(ps -o pid=,args= -p "$left")" >&2
	return 1
}

# The nodes the background run finished with "ran".
ran_in_background() {
	jq -r 'select(.event=="finish" and .result=="ran") | .node' "$BATS_TEST_TMPDIR/out" | sort
}

# None of the given nodes ran in the last up_json.
none_ran_again() {
	local n
	for n in "$@"; do
		[[ " $(results ran) " != *" $n "* ]] || { echo "$n ran again"; return 1; }
	done
}

# Teardown of tests that leave a fusion in the background as FX_PID.
stop_background() {
	if [ -n "${FX_PID:-}" ] && kill -0 "$FX_PID" 2>/dev/null; then
		kill -TERM "$FX_PID" 2>/dev/null || true
		wait "$FX_PID" 2>/dev/null || true
	fi
}

# The last `run --separate-stderr`'s stdout is JSON only: at least one line,
# and every line one JSON value (as `--json` promises).
json_only() {
	[ -n "$output" ] || { echo "no output on stdout" >&2; return 1; }
	local line
	while IFS= read -r line; do
		jq -e . >/dev/null <<<"$line" || { echo "not JSON: $line" >&2; return 1; }
	done <<<"$output"
}
