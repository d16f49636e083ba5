#!/usr/bin/env bats
# `fusion up --watch`: the dev loop on the three-service example workspace.
# fusion runs in the background with --json; the tests read its event
# stream. They wait for events with generous deadlines and never assert
# how long anything took: the machine may be loaded.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	fx_setup
	OUT="$BATS_TEST_TMPDIR/watch.out"
	ERR="$BATS_TEST_TMPDIR/watch.err"
	FX_PID=
}

teardown() {
	stop_background
}

# How many events of a kind the background run printed.
events() {
	grep -c "^{\"event\":\"$1\"" "$OUT" 2>/dev/null || true
}

at_least() {	# at_least N KIND
	[ "$(events "$2")" -ge "$1" ]
}

# Start `fusion up --watch --json ARGS` and wait until its first pass is
# done and it watches.
watch_start() {
	start_marked "$FUSION" -f "$CAT" up --watch --json "$@" >"$OUT" 2>"$ERR"
	wait_until at_least 1 watching
}

# The inodes (hex) of the directories the background run holds an inotify
# watch on, as the kernel lists them in /proc/PID/fdinfo.
watched_inodes() {
	local fd
	for fd in /proc/"$FX_PID"/fd/*; do
		[ "$(readlink "$fd")" = "anon_inode:inotify" ] || continue
		sed -n 's/^inotify wd:[0-9a-f]* ino:\([0-9a-f]*\) .*/\1/p' "/proc/$FX_PID/fdinfo/${fd##*/}"
	done
}

# Does the background run watch directory DIR?
watches() {
	watched_inodes | grep -qx "$(printf '%x' "$(stat -c %i "$1")")"
}

# How often the background run's threads blocked and were woken since they
# started (the kernel's voluntary context switches, summed over its
# threads): a process asleep in poll(2) with no timeout and no event adds
# none; a loop that polls, on any timer, adds one at least per round.
wakeups() (
	set -o pipefail
	cat /proc/"$FX_PID"/task/*/status | awk '/^voluntary_ctxt_switches:/ { n += $2 } END { print n }'
)

# The events of pass N (1 = the first, before any change): from the Nth
# change event (or the start) to the summary that ends the pass. Waits
# for that summary.
pass_events() {
	local n=$1
	wait_until at_least "$n" summary
	awk -v n="$n" '
		/^\{"event":"change"/ { c++ }
		c == n - 1 && p < n { print }
		/^\{"event":"summary"/ { p++ }
	' "$OUT"
}

# Nodes started in pass N, sorted, space-separated.
started_in() (
	set -o pipefail
	pass_events "$1" | jq -r 'select(.event=="start") | .node' | sort | tr '\n' ' ' | sed 's/ $//'
)

# Paths of the Nth change event.
changed_in() (
	set -o pipefail
	grep '^{"event":"change"' "$OUT" | sed -n "$1p" | jq -r '.paths[]' | sort | tr '\n' ' ' | sed 's/ $//'
)

# Send SIG and wait for the run to exit (FX_RC), failing if it does not.
stop_with() {
	kill -"$1" "$FX_PID"
	wait_until eval '! kill -0 "$FX_PID" 2>/dev/null'
	FX_RC=0
	wait "$FX_PID" || FX_RC=$?
	FX_PID=
}

@test "up --watch: the first pass is a whole up, then it says what it watches" {
	watch_start
	[ "$(started_in 1 | wc -w)" -eq 14 ]
	pass_events 1 | jq -e 'select(.event=="summary") | .ran == 14'
	jq -e 'select(.event=="watching") | .files > 10 and .services == 4 and .polling == false' "$OUT"
	[ "$(events change)" -eq 0 ]
}

@test "up --watch: a save in one service starts exactly its build" {
	watch_start -v
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	[ "$(started_in 2)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	[ "$(changed_in 1)" = "core-api/app/models/account.rb" ]
	pass_events 2 | jq -e 'select(.event=="summary") | .ran == 4 and .fresh == 10'
	wait_until at_least 2 watching
	# the stat cache answered for every other file: the pass read one
	[ "$(grep -c '^fusion: hashed ' "$ERR")" -eq 2 ]
	grep '^fusion: hashed ' "$ERR" | tail -n1 | grep -q '^fusion: hashed 1 of [0-9]* files'
}

# bats test_tags=slow
@test "up --watch: an edit of an ignored file starts nothing" {
	watch_start
	# the rules prune the watch: build.ignore log/ (core-api) is not
	# watched, partners-engine's fixtures/ is (an exception lies below
	# **/*.log)
	watches "$WS/core-api"
	watches "$WS/core-api/app/models"
	run ! watches "$WS/core-api/log"
	watches "$WS/partners-engine/fixtures"
	run ! watches "$WS/partners-engine/tmp"
	# a write below a pruned directory never even wakes fusion: no event
	# reaches it
	wait_until at_least 1 watching
	before=$(wakeups)
	for i in $(seq 20); do echo "more $i" >>"$WS/core-api/log/README"; done
	echo "skipped" >>"$WS/partners-engine/tmp/README"
	sleep 1	# time passes on purpose: the span a wake-up would show in
	[ "$(wakeups)" -eq "$before" ]
	# build.ignore tmp/ (core-api): created now, it gets no watch at all
	mkdir -p "$WS/core-api/tmp"
	echo scratch >"$WS/core-api/tmp/cache"
	# partners-engine's **/*.log, in a directory kept for its exception
	echo replayed >>"$WS/partners-engine/fixtures/replay.log"
	echo "more words" >>"$WS/core-api/README.md"	# kept: in the context
	# the kernel queues events in order: once this one's pass is seen, an
	# ignored edit that started anything would have been seen before it
	wait_until at_least 1 change
	[ "$(changed_in 1)" = "core-api/README.md" ]
	[ "$(started_in 2)" = "build:core-api" ]	# never copied: cut off after
	wait_until at_least 2 watching
	[ "$(events change)" -eq 1 ]
	run ! watches "$WS/core-api/tmp"
	watches "$WS/core-api"
}

# bats test_tags=slow
@test "up --watch: an ignore file the builder reads, new beside the containerfile, starts a pass even where the rules hide it" {
	# a context whose rules hide the containerfile's own files, as a
	# .dockerignore with Dockerfile* often does
	echo 'Containerfile.*' >>"$WS/partners-engine/.containerignore"
	watch_start
	# podman reads Containerfile.dockerignore before .containerignore
	printf 'tmp/\n' >"$WS/partners-engine/Containerfile.dockerignore"
	wait_until at_least 1 change
	[ "$(changed_in 1)" = "partners-engine/Containerfile.dockerignore" ]
	# the new rules send the log files the old ones left out
	[[ "$(started_in 2)" == "build:partners-engine "* ]]
	run fx inputs build:partners-engine
	[ "$status" -eq 0 ]
	[[ "$output" == *"file:fixtures/replay.log"* ]]
}

# bats test_tags=slow
@test "up --watch: 40 saves in half a second start at most two passes" {
	watch_start
	# 40 appends 12.5 ms apart, with no fork between them (read -t on a
	# FIFO no one writes is bash's own sleep): a loaded machine delays
	# processes it must start, far less one that runs
	mkfifo "$BATS_TEST_TMPDIR/never"
	exec 7<>"$BATS_TEST_TMPDIR/never"
	for ((i = 1; i <= 40; i++)); do
		echo "// save $i" >>"$WS/scriptdash/src/server.js"
		read -r -t 0.0125 -u 7 || true
	done
	exec 7<&-
	# a later save elsewhere: every pass of the burst starts before its pass
	echo "# after the burst" >>"$WS/core-api/config/routes.rb"
	wait_until grep -q '"core-api/config/routes.rb"' "$OUT"
	n=$(events change)
	pass_events $((n + 1)) >/dev/null
	burst=$(grep '^{"event":"change"' "$OUT" | grep -c '"scriptdash/src/server.js"')
	[ "$burst" -ge 1 ]
	[ "$burst" -le 2 ]
	# each pass built scriptdash at most once
	[ "$(grep -c '"start","node":"build:scriptdash"' "$OUT")" -le 3 ]
}

# bats test_tags=slow
@test "up --watch --debounce: saves closer together than the debounce are one pass" {
	watch_start --debounce 4000
	echo "// one" >>"$WS/scriptdash/src/server.js"
	sleep 0.5	# on purpose: two saves apart, though closer than the debounce
	echo "two" >>"$WS/scriptdash/public/index.html"
	wait_until at_least 1 change
	[ "$(changed_in 1)" = "scriptdash/public/index.html scriptdash/src/server.js" ]
}

# bats test_tags=slow
@test "up --watch: a build-arg edit in the catalog reruns that build" {
	watch_start
	sed -i 's/RUBY_VERSION: "3.3"/RUBY_VERSION: "3.4"/' "$CAT"
	[ "$(started_in 2)" = "build:core-api" ] || [ "$(started_in 2)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	[ "$(changed_in 1)" = "local-dev/config/service-catalog.yaml" ]
	grep -q 'RUBY_VERSION=3.4' "$STATE/logs/build:core-api.log"
}

# bats test_tags=slow
@test "up --watch: an invalid catalog is reported and the last good one kept" {
	watch_start
	printf 'services:\n  core-api: {repo: [\n' >>"$CAT"
	wait_until grep -q 'keeping the last good catalog' "$ERR"
	grep -q 'service-catalog.yaml:[0-9]*:[0-9]*: ' "$ERR"
	# sources still start passes, with the last good catalog
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	[ "$(started_in 2)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	# the catalog fixed (with an edit): reloaded, a pass runs it
	head -n -2 "$CAT" >"$CAT.new"
	sed -i 's/RUBY_VERSION: "3.3"/RUBY_VERSION: "3.5"/' "$CAT.new"
	mv "$CAT.new" "$CAT"
	wait_until at_least 2 change
	[ "$(changed_in 2)" = "local-dev/config/service-catalog.yaml" ]
	[[ "$(started_in 3)" == "build:core-api"* ]]
}

# bats test_tags=slow
@test "up --watch: a values file edit reruns that chart and release, no build" {
	watch_start
	sed -i 's/name: core_api/name: core_api_v2/' "$WS/local-dev/helm/values/core-api.yaml"
	[ "$(started_in 2)" = "chart:core-api release:core-api" ]
	[ "$(changed_in 1)" = "local-dev/helm/values/core-api.yaml" ]
}

# bats test_tags=slow
@test "up --watch: a chart's template edit reruns the charts that use it, no build" {
	watch_start
	echo "# edited" >>"$WS/local-dev/helm/base-charts/service/templates/service.yaml"
	started=$(started_in 2)
	[ "$(changed_in 1)" = "local-dev/helm/base-charts/service/templates/service.yaml" ]
	[[ " $started " == *" chart:core-api chart:partners-engine chart:scriptdash "* ]]
	[[ "$started" != *build:* && "$started" != *postgresql* ]]
}

# bats test_tags=slow
@test "up --watch: an edit of the context's ignore file changes what is watched" {
	watch_start
	run ! watches "$WS/partners-engine/tmp"
	sed -i '/^tmp\/$/d' "$WS/partners-engine/.containerignore"
	[[ "$(started_in 2)" == "build:partners-engine"* ]]
	[ "$(changed_in 1)" = "partners-engine/.containerignore" ]
	wait_until at_least 2 watching
	# tmp/ is in the context now: watched, and its edits start passes
	watches "$WS/partners-engine/tmp"
	echo "now copied" >>"$WS/partners-engine/tmp/README"
	wait_until at_least 2 change
	[ "$(changed_in 2)" = "partners-engine/tmp/README" ]
	[[ "$(started_in 3)" == "build:partners-engine"* ]]
}

# bats test_tags=slow
@test "up --watch: a containerfile outside its context, and the ignore file beside it, are watched" {
	mkdir "$WS/scriptdash/build"
	printf 'FROM scratch\nCOPY . /app/\n' >"$WS/scriptdash/build/Containerfile"
	sed -i 's|^  scriptdash:$|&\n    build: {context: src, file: ../build/Containerfile}|' "$CAT"
	watch_start scriptdash
	echo 'LABEL edited=yes' >>"$WS/scriptdash/build/Containerfile"
	[ "$(started_in 2)" = "build:scriptdash chart:scriptdash load:scriptdash release:scriptdash" ]
	[ "$(changed_in 1)" = "scriptdash/build/Containerfile" ]
	wait_until at_least 2 watching
	# podman reads build/Containerfile.containerignore before the
	# context's own: new rules, in a directory no tree root covers
	echo 'lib/' >"$WS/scriptdash/build/Containerfile.containerignore"
	[ "$(started_in 3)" = "build:scriptdash chart:scriptdash load:scriptdash release:scriptdash" ]
	[ "$(changed_in 2)" = "scriptdash/build/Containerfile.containerignore" ]
	wait_until at_least 3 watching
	# and the watch follows them: src/lib is pruned now
	run ! watches "$WS/scriptdash/src/lib"
	echo "// ignored now" >>"$WS/scriptdash/src/lib/format.js"
	echo "// kept" >>"$WS/scriptdash/src/server.js"
	wait_until at_least 3 change
	[ "$(changed_in 3)" = "scriptdash/src/server.js" ]
}

# bats test_tags=slow
@test "up --watch: a save during a pass is queued: that pass runs to its end, then the next one runs the save" {
	fx up >/dev/null	# so that the first pass runs nothing
	export FUSION_FAKE_SLEEP="^helm upgrade --install scriptdash =4.$$"
	watch_start
	echo "// one" >>"$WS/scriptdash/src/server.js"
	# scriptdash's release is running: its sources were hashed long ago
	wait_until pgrep -f "sleep 4.$$"
	echo "# two" >>"$WS/core-api/app/models/account.rb"
	[ "$(started_in 2)" = "build:scriptdash chart:scriptdash load:scriptdash release:scriptdash" ]
	pass_events 2 | jq -e 'select(.event=="summary") | .ran == 4 and .failed == 0'
	[ "$(started_in 3)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	[ "$(changed_in 1)" = "scriptdash/src/server.js" ]
	[ "$(changed_in 2)" = "core-api/app/models/account.rb" ]
	# the second change came after the first pass's summary
	summary2=$(grep -n '^{"event":"summary"' "$OUT" | sed -n 2p | cut -d: -f1)
	change2=$(grep -n '^{"event":"change"' "$OUT" | sed -n 2p | cut -d: -f1)
	[ "$change2" -gt "$summary2" ]
}

@test "up --watch SVC: watches only what SVC needs" {
	watch_start scriptdash
	[ "$(started_in 1)" = "build:scriptdash chart:postgresql chart:scriptdash load:scriptdash release:postgresql release:scriptdash" ]
	jq -e 'select(.event=="watching") | .services == 2' "$OUT"
	echo "# not watched" >>"$WS/core-api/app/models/account.rb"
	echo "// watched" >>"$WS/scriptdash/src/server.js"
	wait_until at_least 1 change
	[ "$(changed_in 1)" = "scriptdash/src/server.js" ]
}

# bats test_tags=slow
@test "up --watch: idle, the watcher never wakes: no polling (read from /proc)" {
	watch_start
	# the port-forwards are up: nothing is due
	wait_until eval '[ "$(fake-cluster forwards | wc -l)" -eq 2 ]'
	woken=$(wakeups)
	# time passes on purpose: a timer of up to 5 s would wake it (its CPU
	# use while idle is a figure of make bench, tests/bench/watch)
	sleep 5
	# no timer: not one wake-up in those seconds
	[ "$(wakeups)" -eq "$woken" ]
	# asleep in poll(2) (7) or ppoll (271), with no timeout (-1, NULL)
	read -r nr _ _ timeout _ <"/proc/$FX_PID/syscall"
	case $nr in
	7) [ "$((timeout & 0xffffffff))" -eq "$((0xffffffff))" ] ;;
	271) [ "$timeout" = 0x0 ] ;;
	*) false ;;
	esac
	kill -0 "$FX_PID"
}

# bats test_tags=slow
@test "up --watch: Ctrl-C between passes exits 0 at once, no child left" {
	watch_start
	stop_with INT
	[ "$FX_RC" -eq 0 ]
	no_process_left "$FAKES/"
	no_process_left "sleep $SLOW"
	no_descendant_left	# the port-forwards included
	[ -z "$(fake-cluster forwards)" ]	# every port-forward stopped
}

# bats test_tags=slow
@test "up --watch: Ctrl-C during a pass stops it as up does: exit 130, no child left, records kept" {
	fx up >/dev/null	# so that only the save's pass meets the slow fake
	export FUSION_FAKE_SLEEP="^helm upgrade --install core-api=$SLOW"
	watch_start
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	wait_until pgrep -f "sleep $SLOW"
	stop_with INT
	[ "$FX_RC" -eq 130 ]
	no_process_left "sleep $SLOW"
	no_process_left "$FAKES/"
	no_descendant_left	# helm and its sleep, the port-forwards
	[ -z "$(fake-cluster forwards)" ]
	grep -q 'interrupted' "$ERR"
	# build, load and chart finished in that pass and are recorded
	unset FUSION_FAKE_SLEEP
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "release:core-api" ]
}

# bats test_tags=slow
@test "up --watch --poll: polling finds the change too" {
	watch_start --poll 100
	jq -e 'select(.event=="watching") | .polling == true' "$OUT"
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	[ "$(started_in 2)" = "build:core-api chart:core-api load:core-api release:core-api" ]
	[ "$(changed_in 1)" = "core-api/app/models/account.rb" ]
}

# Start `fusion up --watch --json` in a user namespace of its own, whose
# inotify limit /proc/sys/user/LIMIT (per namespace since Linux 5.11) is
# VALUE, and wait until it watches. Everything is up first, so that its
# passes need no podman in the namespace.
watch_start_limited() {	# watch_start_limited LIMIT VALUE
	fx up >/dev/null
	unshare --user --map-root-user true 2>/dev/null || skip "no user namespaces here"
	start_marked unshare --user --map-root-user sh -c \
		'echo "$0" >"/proc/sys/user/$1" && shift && exec "$@"' "$2" "$1" \
		"$FUSION" -f "$CAT" up --watch --json >"$OUT" 2>"$ERR"
	wait_until at_least 1 watching
}

# bats test_tags=slow
@test "up --watch: at the inotify watch limit it says which sysctl to raise, polls, and still finds changes" {
	# 2 watches: far fewer than the workspace's directories
	watch_start_limited max_inotify_watches 2
	grep -q 'inotify: the limit of watches per user is reached (fs.inotify.max_user_watches = 2); watching by polling' "$ERR"
	grep -q 'raise it: sudo sysctl fs.inotify.max_user_watches=524288' "$ERR"
	grep '^{"event":"watching"' "$OUT" | tail -n1 | jq -e '.polling == true'
	# the switch to polling may have missed a change: one pass checks all
	wait_until at_least 1 change
	grep '^{"event":"change"' "$OUT" | head -n1 | jq -e '.lost == true'
	wait_until at_least 2 watching
	sed -i 's/name: core_api/name: core_api_v2/' "$WS/local-dev/helm/values/core-api.yaml"
	wait_until at_least 2 change
	[ "$(changed_in 2)" = "local-dev/helm/values/core-api.yaml" ]
	[ "$(started_in 3)" = "chart:core-api release:core-api" ]
}

# bats test_tags=slow
@test "up --watch: with no inotify instance to be had it polls, saying which sysctl to raise" {
	watch_start_limited max_inotify_instances 0
	grep -q 'inotify: no instance left (fs.inotify.max_user_instances is reached); watching by polling' "$ERR"
	grep -q 'raise it: sudo sysctl fs.inotify.max_user_instances=' "$ERR"
	grep '^{"event":"watching"' "$OUT" | tail -n1 | jq -e '.polling == true'
	sed -i 's/name: core_api/name: core_api_v2/' "$WS/local-dev/helm/values/core-api.yaml"
	wait_until grep -q '"local-dev/helm/values/core-api.yaml"' "$OUT"
}

@test "up --watch: options are checked" {
	run fx up --watch --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *"--watch and --dry-run"* ]]
	run fx up --watch --debounce soon
	[ "$status" -eq 2 ]
	[[ "$output" == *"--debounce: expected milliseconds"* ]]
	run fx up --watch --poll 0
	[ "$status" -eq 2 ]
	run fx plan --watch
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option --watch"* ]]
	run fx up --watch no-such-service
	[ "$status" -eq 2 ]
	[[ "$output" == *'no service, shared release or node named "no-such-service"'* ]]
}

# bats test_tags=slow
@test "up --watch on a terminal: the status line says what is watched, each pass what changed" {
	start_marked script -qfec "$FUSION -f $CAT up --watch" /dev/null >"$OUT" 2>&1
	wait_until grep -Eq 'watching [0-9]+ files in 4 services' "$OUT"
	# and the port-forwards, once they run
	wait_until grep -q 'watching [0-9]* files in 4 services; forwarding localhost:5432 -> postgresql:5432, localhost:3000 -> core-api:80; Ctrl-C to stop' "$OUT"
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	wait_until grep -q 'changed core-api/app/models/account.rb' "$OUT"
	wait_until eval '[ "$(grep -Eo "watching [0-9]+ files" "$OUT" | wc -l)" -ge 2 ]'
	grep -q 'build:core-api' "$OUT"
	kill -TERM "$FX_PID"
	wait "$FX_PID" || true
	FX_PID=
	no_descendant_left
}

# The pid of a forward in the last watching event.
forward_pid() (
	set -o pipefail
	grep '^{"event":"watching"' "$OUT" | tail -n1 |
		jq -r --arg f "$1" '.forwards[] | select(.forward == $f) | .pid'
)

# bats test_tags=slow
@test "up --watch: the catalog's ports are forwarded, listed, restarted when their release changes" {
	watch_start
	[ "$(forward_pid 'localhost:3000 -> core-api:80')" -gt 0 ]
	[ "$(forward_pid 'localhost:5432 -> postgresql:5432')" -gt 0 ]
	core=$(forward_pid 'localhost:3000 -> core-api:80')
	pg=$(forward_pid 'localhost:5432 -> postgresql:5432')
	# kubectl's real command line, each in a process group of its own
	grep -qx 'kubectl --context fusion port-forward --namespace fusion service/core-api 3000:80' \
		"$FUSION_FAKE_STATE/calls.log"
	[ "$(ps -o pgid= -p "$core" | tr -d ' ')" = "$core" ]
	wait_until eval '[ "$(fake-cluster forwards | sort)" = "$(printf "3000 %s\n5432 %s" "$core" "$pg")" ]'
	# their logs are private, like every log in the state directory
	[ "$(stat -c %a "$STATE/logs/port-forward:core-api:3000.log")" = 600 ]
	[ "$(stat -c %a "$STATE/logs/port-forward:postgresql:5432.log")" = 600 ]
	# a new revision of core-api: its pods are replaced, its forward restarted
	echo "# saved" >>"$WS/core-api/app/models/account.rb"
	wait_until at_least 2 watching
	[ "$(forward_pid 'localhost:3000 -> core-api:80')" != "$core" ]
	[ "$(forward_pid 'localhost:5432 -> postgresql:5432')" = "$pg" ]
	wait_until eval 'fake-cluster forwards | grep -q "^3000 $(forward_pid "localhost:3000 -> core-api:80")\$"'
	stop_with INT
	[ "$FX_RC" -eq 0 ]
	[ -z "$(fake-cluster forwards)" ]
	no_process_left "$FAKES/kubectl"
	no_descendant_left
}

# bats test_tags=slow
@test "up --watch: a forward that dies is started again, with its reason" {
	watch_start
	core=$(forward_pid 'localhost:3000 -> core-api:80')
	kill -KILL "$core"
	wait_until grep -q 'localhost:3000 -> core-api:80: exited with status 137' "$ERR"
	wait_until eval 'fake-cluster forwards | grep -q "^3000 "'
	[ "$(fake-cluster forwards | awk '$1 == 3000 { print $2 }')" != "$core" ]
}

# bats test_tags=slow
@test "up --watch: a forward whose pod is replaced behind fusion's back comes back on the new pod" {
	watch_start
	core=$(forward_pid 'localhost:3000 -> core-api:80')
	# someone else upgrades the release: new pods (a new template)
	helm upgrade --install core-api "$WS/local-dev/helm/base-charts/service" -n fusion \
		--set image.tag=by-hand >/dev/null
	wait_until grep -q 'lost connection to pod' "$ERR"
	wait_until eval 'fake-cluster forwards | grep -q "^3000 "'
	[ "$(fake-cluster forwards | awk '$1 == 3000 { print $2 }')" != "$core" ]
}

# bats test_tags=slow
@test "up --watch: ports edited in the catalog move the forward; a release not up yet is not forwarded" {
	watch_start
	sed -i 's/ports: \["3000:80"\]/ports: ["3001:80"]/' "$CAT"
	wait_until at_least 2 watching
	grep '^{"event":"watching"' "$OUT" | tail -n1 | jq -e '[.forwards[].forward] ==
		["localhost:5432 -> postgresql:5432", "localhost:3001 -> core-api:80"]'
	wait_until eval '[ "$(fake-cluster forwards | cut -d" " -f1 | sort | tr "\n" " ")" = "3001 5432 " ]'
}

@test "up --watch --until build: no release, no forward" {
	watch_start --until build
	grep '^{"event":"watching"' "$OUT" | jq -e '.forwards == []'
	[ "$(calls 'kubectl.*port-forward')" -eq 0 ]
}
