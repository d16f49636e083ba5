# wait.bash - waiting for a condition with a bound (`load wait`; helpers.bash
# loads it, and fakes.bats, which needs no fusion).

# wait_for TIMEOUT CMD...: poll CMD every 0.1 s until it succeeds; once
# TIMEOUT seconds have passed, fail naming CMD. A test waits for what it
# needs (a process started, a line written), never a fixed time, and never
# asserts how long the wait took: TIMEOUT is a generous bound.
wait_for() {
	local timeout=$1 end
	shift
	end=$((SECONDS + timeout))
	until "$@"; do
		if [ "$SECONDS" -gt "$end" ]; then
			echo "timed out after $timeout s waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_for with the bound in $WAIT_S (default 180), for background runs.
wait_until() {
	wait_for "${WAIT_S:-180}" "$@"
}
