#!/usr/bin/env bats
# Cluster provider k3d against the fake k3d (tests/fakes/k3d): bootstrap,
# up, doctor and down --cluster as a k3d user runs them, and the fake's own
# answers where k3d's shape what fusion does.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	fx_setup
	sed -i 's|^    provider: minikube|    provider: k3d|' "$CAT"
}

@test "k3d: bootstrap creates an absent cluster, starts a stopped one and leaves a running one" {
	sed -i 's|^    provider: k3d|&\n    start_args: [--agents, "2"]|' "$CAT"
	fake-cluster delete
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'k3d cluster create fusion --agents 2$')" -eq 1 ]
	[ "$(fake-cluster context)" = k3d-fusion ]
	[ "$(calls 'kubectl --context k3d-fusion create namespace fusion$')" -eq 1 ]
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[[ $output == *"bootstrap: k3d cluster fusion is running"* ]]
	[ "$(calls 'k3d cluster (create|start)')" -eq 0 ]
	fake-cluster down
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'k3d cluster start fusion$')" -eq 1 ]
	[ "$(calls 'k3d cluster create')" -eq 0 ]
	# k3d takes start_args, but no minikube driver
	sed -i 's|^    provider: k3d|&\n    driver: docker|' "$CAT"
	run fx bootstrap
	[ "$status" -eq 2 ]
	[[ $output == *"\"driver\" is minikube's (minikube start --driver); provider k3d has none"* ]]
}

@test "k3d: up saves each image to an archive and imports it into k3d-PROFILE, whose pods then find it" {
	sed -i 's|^    profile: fusion.*|    profile: dev|' "$CAT"
	run fx up
	[ "$status" -eq 0 ]
	grep -q '^podman save --format docker-archive -o .*/artifacts/core-api.tar -- localhost/core-api:fx-' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^k3d image import -c dev -- .*/artifacts/core-api.tar$' "$FUSION_FAKE_STATE/calls.log"
	grep -q '^helm upgrade --install core-api .*image.pullPolicy=Never.* --kube-context k3d-dev' "$FUSION_FAKE_STATE/calls.log"
	# the archives held the images' own names, and are gone once imported
	[ "$(fake-cluster images k3d-dev | cut -d: -f1 | tr '\n' ' ')" = "localhost/core-api localhost/partners-engine localhost/scriptdash " ]
	[ -z "$(ls "$STATE/artifacts" | grep '\.tar$')" ]
	# nothing changed: nothing imported again
	reset_calls
	run fx up
	[ "$status" -eq 0 ]
	[ "$(calls '^k3d image import')" -eq 0 ]
}

@test "k3d: doctor checks k3d's version and asks k3d whether the cluster runs" {
	fake-cluster context k3d-fusion
	run fx doctor --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '[.checks[].check] | index("k3d") and (index("minikube") | not)'
	echo "$output" | jq -e '.checks[] | select(.check == "k3d") | .detail == "5.6.0"'
	echo "$output" | jq -e '.checks[] | select(.check == "cluster") | .detail == "k3d cluster fusion is running"'
	echo "$output" | jq -e '.checks[] | select(.check == "kube context") | .status == "ok"'
	fake-cluster down
	run fx doctor
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -qx 'FAIL  cluster: k3d cluster fusion is stopped'
	printf '%s\n' "$output" | grep -qx '      hint: run "fusion bootstrap" (it starts the cluster)'
	fake-cluster delete
	run fx doctor
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -qx 'FAIL  cluster: k3d cluster fusion does not exist (k3d cluster list exited 1)'
}

@test "k3d: down --all --cluster stops the cluster, --delete deletes it" {
	run -0 fx up postgresql	# a release to take down, and no build
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
	reset_calls
	run fx down --all --cluster
	[ "$status" -eq 0 ]
	[ -z "$(fake-cluster releases)" ]
	[ "$(calls 'k3d cluster stop fusion$')" -eq 1 ]
	run -0 k3d cluster list fusion -o json
	echo "$output" | jq -e '.[0].serversRunning == 0'
	reset_calls
	run fx down --all --cluster --delete
	[ "$status" -eq 0 ]
	[ "$(calls 'k3d cluster delete fusion$')" -eq 1 ]
	[ "$(calls 'helm uninstall')" -eq 0 ]	# the cluster takes its releases with it
	run -1 k3d cluster list fusion -o json
	[[ $output == *"No nodes found for given cluster"* ]]
}

@test "fake k3d: a missing cluster, an image name and a failed import answer as k3d does" {
	run -0 k3d version
	[[ ${lines[0]} == "k3d version v5."* ]]
	run -0 k3d cluster list dev -o json
	echo "$output" | jq -e '.[0].name == "dev" and .[0].serversRunning == 1'
	# an image name is looked up in the docker daemon, never in podman's storage
	run -1 k3d image import -c dev localhost/web:1
	[[ $output == *"Cannot connect to the Docker daemon"* ]]
	# an import that fails in the node still exits 0 (k3d-io/k3d#1484)
	printf 'not a tar' >"$BATS_TEST_TMPDIR/bad.tar"
	run -0 k3d image import -c dev "$BATS_TEST_TMPDIR/bad.tar"
	[[ $output == *"ERRO"*"Successfully imported"* ]]
	[ -z "$(fake-cluster images k3d-dev)" ]
	run -1 k3d cluster create dev
	[[ $output == *"a cluster with that name already exists"* ]]
	fake-cluster delete
	run -1 k3d cluster start dev
	run -0 k3d cluster delete dev
	[[ $output == *"nothing to delete"* ]]
}
