#!/usr/bin/env bats
# The tool back-ends: cluster providers minikube (the rest of the suite),
# kind and existing (push to a real registry: Debian's docker-registry on
# 127.0.0.1), and the docker builder (the docker fake forwards to podman).

load helpers

setup() {
	fx_setup
}

teardown() {
	if [ -n "${REGISTRY_PID:-}" ]; then
		kill "$REGISTRY_PID" 2>/dev/null || true
		wait "$REGISTRY_PID" 2>/dev/null || true
	fi
}

# Start docker-registry on a free port of 127.0.0.1; sets REGISTRY.
start_registry() {
	local port dir=$BATS_TEST_TMPDIR/registry
	mkdir -p "$dir/data"
	# A random free port: other test runs on the machine start registries too,
	# and a registry that answers on a port we did not bind is not ours.
	for port in $(shuf -i 25000-29999 -n 100); do
		curl -s "http://127.0.0.1:$port/" >/dev/null 2>&1 && continue
		cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
CONF
		docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
		REGISTRY_PID=$!
		for _ in $(seq 50); do
			if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 &&
				sleep 0.2 && kill -0 "$REGISTRY_PID" 2>/dev/null; then
				REGISTRY=127.0.0.1:$port
				return 0
			fi
			kill -0 "$REGISTRY_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$REGISTRY_PID" 2>/dev/null || true
		wait "$REGISTRY_PID" 2>/dev/null || true
	done
	echo "could not start docker-registry" >&2
	return 1
}

set_cluster() {	# set_cluster YAML-LINES: replace the catalog's cluster block
	awk -v repl="$1" '
		/^  cluster:/ { print "  cluster:"; print repl; skip = 1; next }
		skip && /^    / { next }
		{ skip = 0; print }
	' "$CAT" >"$CAT.new" && mv "$CAT.new" "$CAT"
}

@test "provider existing: doctor checks that the registry answers" {
	start_registry
	set_cluster "    provider: existing
    context: fusion
    registry: $REGISTRY"
	run fx doctor --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.checks[] | select(.check == "registry") | "\(.status) \(.detail)"')" = \
		"ok http://$REGISTRY/v2/ answers (200)" ]
	kill "$REGISTRY_PID"
	wait "$REGISTRY_PID" || true
	REGISTRY_PID=
	run fx doctor
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -q "^FAIL  registry: http://$REGISTRY/v2/: "
	printf '%s\n' "$output" | grep -qx "      hint: start the registry $REGISTRY, or set workspace.cluster.registry to one the cluster pulls from"
}

@test "provider existing: load pushes the image to the catalog's registry" {
	start_registry
	set_cluster "    provider: existing
    context: team-cluster
    registry: $REGISTRY"
	up_json
	[ "$status" -eq 0 ]
	grep -q "^podman push --tls-verify=false -- localhost/core-api:fx-.* $REGISTRY/core-api:fx-" "$FUSION_FAKE_STATE/calls.log"
	[ "$(calls minikube)" -eq 0 ]
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:core-api'")
	tag="fx-$(echo "${id#sha256:}" | cut -c1-16)"
	run curl -fsS "http://$REGISTRY/v2/core-api/tags/list"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"$tag\""* ]]
	# the chart pulls from the registry
	grep -q "image: \"$REGISTRY/core-api:$tag\"" "$STATE/artifacts/core-api.yaml"
	grep -q "imagePullPolicy: IfNotPresent" "$STATE/artifacts/core-api.yaml"
	# the kube context is the catalog's
	grep -q '^kubectl --context team-cluster get namespace kube-system' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^helm upgrade --install core-api .* --kube-context team-cluster' "$FUSION_FAKE_STATE/calls.log"
}

# bats test_tags=slow
@test "provider kind: podman save, then kind load image-archive into the named cluster" {
	set_cluster "    provider: kind
    profile: dev"
	run fx up
	[ "$status" -eq 0 ]
	grep -q '^podman save --format docker-archive -o .*/artifacts/core-api.tar -- localhost/core-api:fx-' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^kind load image-archive --name dev -- .*/artifacts/core-api.tar$' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^kubectl --context kind-dev get namespace' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^helm upgrade --install scriptdash .* --kube-context kind-dev' "$FUSION_FAKE_STATE/calls.log"
	# the archives held the images' own names, and are gone once loaded
	[ "$(fake-cluster images dev | cut -d: -f1 | tr '\n' ' ')" = "localhost/core-api localhost/partners-engine localhost/scriptdash " ]
	[ -z "$(ls "$STATE/artifacts" | grep '\.tar$')" ]
	# a second load of the same service: podman save does not overwrite, so
	# the archive of a failed load must not be in its way
	echo "// changed" >>"$WS/scriptdash/src/server.js"
	: >"$STATE/artifacts/scriptdash.tar"
	run fx up
	[ "$status" -eq 0 ]
	[ "$(fake-cluster images dev | grep -c '^localhost/scriptdash:')" -eq 2 ]
}

@test "builder docker: the same build and tag command lines through docker" {
	sed -i 's/^  builder: podman/  builder: docker/' "$CAT"
	run fx up
	[ "$status" -eq 0 ]
	grep -q '^docker build -f .*/scriptdash/Containerfile --iidfile ' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^docker tag -- sha256:.* localhost/scriptdash:fx-' "$FUSION_FAKE_STATE/calls.log"
	# fusion runs no podman build itself: each one is a docker build the fake
	# handed on to podman
	[ "$(grep -c '^podman build' "$FUSION_FAKE_STATE/calls.log")" -eq \
		"$(grep -c '^docker build' "$FUSION_FAKE_STATE/calls.log")" ]
	# docker has no --ignorefile: build.ignore goes beside a copy of the
	# containerfile, where BuildKit reads FILE.dockerignore
	[ "$(grep '^docker build' "$FUSION_FAKE_STATE/calls.log" | grep -c -- '--ignorefile')" -eq 0 ]
	grep -q "^docker build -f $STATE/artifacts/core-api.Dockerfile " "$FUSION_FAKE_STATE/calls.log"
	cmp "$WS/core-api/Containerfile" "$STATE/artifacts/core-api.Dockerfile"
	[ "$(tail -n 2 "$STATE/artifacts/core-api.Dockerfile.dockerignore")" = $'tmp/\nlog/' ]
}

# bats test_tags=slow
@test "changing the builder makes every build stale" {
	fx up >/dev/null
	sed -i 's/^  builder: podman/  builder: docker/' "$CAT"
	run nodes_in stale
	[ "$status" -eq 0 ]
	[ "$output" = "build:core-api build:partners-engine build:scriptdash" ]
}
