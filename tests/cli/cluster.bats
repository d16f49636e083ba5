#!/usr/bin/env bats
# Real clusters: the load path a real minikube accepts (an archive, checked
# with `image ls` afterwards), the image reference each container runtime
# finds, and the lifecycle commands: doctor, bootstrap, clone, down --all.
# Real podman builds the images; the cluster tools are the fakes in
# tests/fakes, which fail where the real tools fail.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	fx_setup
}

# The image tag fusion gave a service: fx- and 16 hex digits of its image ID.
tag_of() {
	local id
	id=$(sqlite3 "$STATE/cache.db" "select output from node where id='build:$1'")
	echo "fx-$(echo "${id#sha256:}" | cut -c1-16)"
}

# ---- load ----

@test "up loads every image through an archive that holds its tag, then checks the cluster lists it" {
	run fx up
	[ "$status" -eq 0 ]
	for s in core-api partners-engine scriptdash; do
		t=$(tag_of $s)
		grep -qx "podman save --format docker-archive -o $STATE/artifacts/$s.tar -- localhost/$s:$t" "$FUSION_FAKE_STATE/calls.log"
		grep -qx "minikube -p fusion image load -- $STATE/artifacts/$s.tar" "$FUSION_FAKE_STATE/calls.log"
		[ ! -e "$STATE/artifacts/$s.tar" ]	# removed once loaded
		# the chart gets the very name the archive held, not to be pulled
		grep -q "image: \"localhost/$s:$t\"" "$STATE/artifacts/$s.yaml"
		grep -q "imagePullPolicy: Never" "$STATE/artifacts/$s.yaml"
	done
	[ "$(fake-cluster images fusion)" = "$(printf 'localhost/%s\n' "core-api:$(tag_of core-api)" \
		"partners-engine:$(tag_of partners-engine)" "scriptdash:$(tag_of scriptdash)")" ]
	[ "$(calls 'minikube -p fusion image ls')" -eq 3 ]
	[ "$(calls 'minikube .* image load localhost/')" -eq 0 ]
}

# bats test_tags=slow
@test "the load by name that fusion used to run leaves the image out, and the release never becomes ready" {
	run fx up core-api
	[ "$status" -eq 0 ]
	t=$(tag_of core-api)
	fake-cluster recreate
	# what a real minikube does with a podman image's name (kubernetes/minikube#19155)
	run minikube -p fusion image load "localhost/core-api:$t"
	[ "$status" -eq 0 ]
	[ "$output" = "❗  The image 'localhost/core-api:$t' was not found; unable to add it to cache." ]
	[ -z "$(fake-cluster images fusion)" ]
	run helm upgrade --install core-api "$WS/local-dev/helm/base-charts/service" -n fusion --create-namespace \
		--set image.repository=localhost/core-api --set "image.tag=$t" --set image.pullPolicy=Never --wait --timeout 200ms
	[ "$status" -eq 1 ]
	[ "$output" = "Error: context deadline exceeded" ]
	# fusion's archive is loaded under that name: the same release succeeds
	run fx up core-api
	[ "$status" -eq 0 ]
	[ "$(helm status core-api -n fusion | grep '^STATUS')" = "STATUS: deployed" ]
}

# bats test_tags=slow
@test "a load that minikube reports as done but did not happen fails the load node" {
	# minikube exits 0 when the cluster's runtime refuses an archive
	# (kubernetes/minikube#21393): here, a minikube that loads nothing
	local real
	real=$(command -v minikube)
	cat >"$BATS_TEST_TMPDIR/bin/minikube" <<SHIM
#!/bin/sh
case " \$* " in *" image load "*) printf '%s\n' "minikube \$*" >>"$FUSION_FAKE_STATE/calls.log"; exit 0 ;; esac
exec $real "\$@"
SHIM
	chmod +x "$BATS_TEST_TMPDIR/bin/minikube"
	up_json -k
	[ "$status" -eq 1 ]
	[ "$(results failed)" = "load:core-api load:partners-engine load:scriptdash" ]
	[[ $output == *"minikube image load exited 0, but \`minikube -p fusion image ls\` does not list localhost/core-api:fx-"* ]]
	[ "$(calls 'helm upgrade --install (core-api|partners-engine|scriptdash) ')" -eq 0 ]
	[ -f "$STATE/artifacts/core-api.tar" ]	# kept for a retry by hand
	rm "$BATS_TEST_TMPDIR/bin/minikube"
	run fx up
	[ "$status" -eq 0 ]
	[ ! -e "$STATE/artifacts/core-api.tar" ]
}

# bats test_tags=slow
@test "the reference the chart receives is found by containerd, cri-o and docker runtimes" {
	for rt in containerd cri-o docker; do
		fake-cluster recreate
		fake-cluster runtime $rt
		run fx up
		[ "$status" -eq 0 ] || { echo "$rt: $output"; false; }
		[ "$(fake-cluster releases | wc -l)" -eq 4 ]
	done
}

# bats test_tags=slow
@test "the fake kubelet resolves names as each runtime does" {
	local ch=$WS/local-dev/helm/base-charts/service
	archive_dir=$BATS_TEST_TMPDIR/ar
	mkdir -p "$archive_dir"
	printf '[{"Config":"c.json","RepoTags":["localhost/web:t1","web:t2"],"Layers":[]}]' >"$archive_dir/manifest.json"
	printf '{}' >"$archive_dir/c.json"
	tar -cf "$BATS_TEST_TMPDIR/web.tar" -C "$archive_dir" manifest.json c.json
	release() {	# release REPOSITORY TAG
		helm upgrade --install web "$ch" -n fusion --create-namespace --kube-context fusion \
			--set "image.repository=$1" --set "image.tag=$2" --set image.pullPolicy=Never --wait --timeout 200ms "${@:3}"
	}
	minikube -p fusion image load "$BATS_TEST_TMPDIR/web.tar"
	[ "$(fake-cluster images fusion)" = $'localhost/web:t1\nregistry.invalid/library/web:t2' ]
	for rt in containerd docker; do
		fake-cluster runtime $rt
		run release localhost/web t1; [ "$status" -eq 0 ]
		run release web t2; [ "$status" -eq 0 ]	# docker.io/library/web:t2
		run release web t1; [ "$status" -eq 1 ]	# not localhost/web:t1
		[ "$output" = "Error: UPGRADE FAILED: context deadline exceeded" ]
	done
	fake-cluster runtime cri-o
	run release localhost/web t1; [ "$status" -eq 0 ]
	run release web t2; [ "$status" -eq 1 ]	# a short name: ImageInspectError
	[ "$(helm status web -n fusion | grep '^STATUS')" = "STATUS: failed" ]
	# pulled images are not checked; other contexts are other nodes
	run release web t1 --set image.pullPolicy=IfNotPresent; [ "$status" -eq 0 ]
	run helm upgrade --install web "$ch" -n fusion --kube-context kind-other --set image.repository=localhost/web \
		--set image.tag=t1 --set image.pullPolicy=Never --wait --timeout 200ms
	[ "$status" -eq 1 ]
}

# ---- build.file ----

# bats test_tags=slow
@test "a two-service monorepo with a Dockerfile in each context needs no build.file" {
	mkdir -p "$WS/shop/src/api" "$WS/shop/src/web"
	echo api >"$WS/shop/src/api/api.txt"
	echo web >"$WS/shop/src/web/web.txt"
	printf 'FROM scratch\nCOPY api.txt /\n' >"$WS/shop/src/api/Dockerfile"
	printf 'FROM scratch\nCOPY web.txt /\n' >"$WS/shop/src/web/Dockerfile"
	printf 'FROM scratch\nCOPY nothing /\n' >"$WS/shop/Dockerfile"	# the repo's: not theirs
	cat >"$CAT" <<'YAML'
version: 1
workspace: {root: ../.., cluster: {profile: fusion}}
defaults: {chart: ../helm/base-charts/service}
services:
  api: {repo: shop, build: {context: src/api}}
  web: {repo: shop, build: {context: src/web}}
YAML
	run fx up
	[ "$status" -eq 0 ]
	grep -qx "podman build -f $WS/shop/src/api/Dockerfile --iidfile .* $WS/shop/src/api" "$FUSION_FAKE_STATE/calls.log"
	grep -qx "podman build -f $WS/shop/src/web/Dockerfile --iidfile .* $WS/shop/src/web" "$FUSION_FAKE_STATE/calls.log"
	podman image exists "localhost/api:$(tag_of api)"
	[ "$(podman create --name cl-api "localhost/api:$(tag_of api)" x >/dev/null && podman export cl-api | tar -t; podman rm cl-api >/dev/null)" = api.txt ]
	[ "$(fake-cluster releases | cut -d' ' -f1 | tr '\n' ' ')" = "fusion/api fusion/web " ]
	# an edit in one context rebuilds that service only
	echo v2 >>"$WS/shop/src/web/Dockerfile"
	run fx plan
	[ "$status" -eq 0 ]
	[[ $output == *"build:web"* && $output != *"build:api"* ]]
}

# ---- doctor ----

@test "doctor: everything present passes, one line per check, exit 0" {
	fake-cluster context fusion
	run fx doctor
	[ "$status" -eq 0 ]
	for c in catalog podman minikube helm kubectl cluster "cluster reachable" "kube context" \
		"shared postgresql" "service core-api" "state directory" "state database" "disk space"; do
		printf '%s\n' "$output" | grep -q "^ok    $c" || { echo "no ok line for $c"; false; }
	done
	[ "${lines[-1]}" = "fusion doctor: 16 checks, 0 failed, 0 warnings" ]
	# the state directory its probe made is as private as `up` makes it
	[ "$(stat -c %a "$STATE")" = 700 ]
	run fx doctor --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ok and (.checks | length) == 16 and all(.checks[]; .status == "ok")'
	# git is checked once a service has a git: URL
	sed -i 's|^  scriptdash:|  scriptdash:\n    git: /nowhere/scriptdash.git|' "$CAT"
	run fx doctor --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.checks[] | select(.check == "git") | .status == "ok"'
}

@test "doctor: helm missing from PATH is named with how to get it, exit 1" {
	local dir=$BATS_TEST_TMPDIR/nohelm t
	mkdir -p "$dir"
	for t in minikube kubectl kind fake-cluster; do ln -s "$TOP/tests/fakes/$t" "$dir/$t"; done
	ln -s "$BATS_TEST_TMPDIR/bin/podman" "$dir/podman"
	PATH="$dir:/usr/bin:/bin" run "$FUSION" -f "$CAT" doctor
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -qx 'FAIL  helm: not found on PATH'
	printf '%s\n' "$output" | grep -qx '      hint: install helm 3.8 or newer (the Helm documentation, "Installing Helm")'
	[[ ${lines[-1]} == "fusion doctor: 16 checks, 1 failed,"* ]]
	PATH="$dir:/usr/bin:/bin" run "$FUSION" -f "$CAT" doctor --json
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '(.ok | not) and ([.checks[] | select(.status == "fail") | .check] == ["helm"])'
}

# bats test_tags=slow
@test "doctor: a stopped cluster, an old tool, a missing repo and a broken database each fail with a hint" {
	fx up scriptdash >/dev/null
	fake-cluster down
	rm -rf "$WS/partners-engine"
	sed -i 's|^  partners-engine:.*|  partners-engine:\n    git: /nowhere/partners-engine.git|' "$CAT"
	printf 'not a database at all, but long enough to be read as one ......' >"$STATE/cache.db"
	rm -f "$STATE/cache.db-wal" "$STATE/cache.db-shm"
	cat >"$BATS_TEST_TMPDIR/bin/helm" <<'SH'
#!/bin/sh
echo "v3.7.2+g663a896"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/helm"
	run fx doctor
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -qx 'FAIL  helm: 3.7.2 is older than 3.8.0, the oldest fusion supports'
	printf '%s\n' "$output" | grep -qx 'FAIL  cluster: minikube profile fusion is not running (minikube status exited 7)'
	printf '%s\n' "$output" | grep -q '^FAIL  cluster reachable: kubectl: The connection to the server'
	printf '%s\n' "$output" | grep -qx '      hint: run "fusion bootstrap" (it starts the cluster)'
	printf '%s\n' "$output" | grep -qx 'FAIL  service partners-engine: missing repo partners-engine'
	printf '%s\n' "$output" | grep -qx '      hint: run "fusion clone"'
	printf '%s\n' "$output" | grep -q '^FAIL  state database: '
	printf '%s\n' "$output" | grep -q 'hint: run "fusion cache clear"'
	printf '%s\n' "$output" | grep -qx 'ok    service core-api: repo, core-api/Containerfile, chart, 2 values files'
	# the catalog itself does not stop the other checks
	[ "$(fx doctor --json | jq '[.checks[] | select(.status == "fail")] | length')" -eq 5 ]
}

@test "up against a cluster that is not there, or stopped, says to run fusion bootstrap" {
	fake-cluster delete
	run -1 fx up postgresql	# a shared release: nothing to build before the cluster is asked
	[[ $output == *"fusion: release:postgresql: cluster not reachable (kubectl: error: context \"fusion\" does not exist); minikube profile fusion is not running (minikube status exited 85): there is no such cluster: run \`fusion bootstrap\`, which creates it"* ]]
	fake-cluster recreate
	fake-cluster down
	run -1 fx up postgresql
	[[ $output == *"(minikube status exited 7): run \`fusion bootstrap\`, which starts it"* ]]
	# kind's tool cannot tell: its hint
	sed -i 's|^    provider: minikube|    provider: kind|' "$CAT"
	run -1 fx up postgresql
	[[ $output == *"cluster not reachable (kubectl: The connection to the server "*'); run "fusion bootstrap" (it starts the cluster)'* ]]
}

@test "doctor: base images named without a registry, which podman resolves only by an alias or its search registries" {
	printf 'ARG RUBY_VERSION=3.2\nFROM ruby:${RUBY_VERSION} AS base\nFROM base AS dev\nFROM --platform=linux/amd64 quay.example/org/tool:1 AS tool\nFROM scratch\n' \
		>"$WS/core-api/Containerfile"
	# podman with no unqualified-search registries (a stock Debian) and no alias for ruby
	printf '# nothing here\n[aliases]\n  "rubyx" = "registry.example/library/ruby"\n' >"$BATS_TEST_TMPDIR/registries.conf"
	export CONTAINERS_REGISTRIES_CONF=$BATS_TEST_TMPDIR/registries.conf
	run -1 fx doctor
	# the catalog's build arg, not the ARG's default
	printf '%s\n' "$output" | grep -q "^FAIL  base images: ruby:3.3: short name that podman cannot resolve: no alias, and no unqualified-search registries ($CONTAINERS_REGISTRIES_CONF"
	printf '%s\n' "$output" | grep -qF '      hint: write each FROM with its registry (REGISTRY/library/NAME:TAG), or list the registries podman may search: unqualified-search-registries = ["REGISTRY"]'
	# an alias resolves it
	printf '[aliases]\n  "ruby" = "registry.example/library/ruby"\n' >"$CONTAINERS_REGISTRIES_CONF"
	run -0 fx doctor --json
	[ "$(echo "$output" | jq -r '.checks[] | select(.check == "base images") | "\(.status) \(.detail)"')" = "ok 1 short name, resolved by podman's aliases" ]
	# several search registries and short-name-mode enforcing: podman would ask, and cannot
	printf 'short-name-mode = "enforcing"\nunqualified-search-registries = [\n  "registry.example",\n  "quay.example",\n]\n' \
		>"$CONTAINERS_REGISTRIES_CONF"
	run -0 fx doctor
	printf '%s\n' "$output" | grep -q "^warn  base images: ruby:3.3: short name with no alias; short-name-mode is enforcing and there are 2 unqualified-search registries"
	# docker resolves short names itself
	sed -i 's/^  builder: podman/  builder: docker/' "$CAT"
	run -0 fx doctor --json
	[ "$(echo "$output" | jq -r '.checks[] | select(.check == "base images") | "\(.status) \(.detail)"')" = "ok 1 short name, resolved by docker" ]
}

# ---- bootstrap ----

@test "bootstrap on a stopped cluster starts it and releases the shared services; a second run starts nothing" {
	fake-cluster down
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'minikube start -p fusion --driver=podman$')" -eq 1 ]
	[[ $output == *"🏄  Done!"* ]]	# minikube speaks for itself
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
	[ "$(calls 'helm upgrade --install (core-api|partners-engine|scriptdash)')" -eq 0 ]
	[ "$(calls 'podman build')" -eq 0 ]
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'minikube start')" -eq 0 ]
	[ "$(calls 'kubectl .*create')" -eq 0 ]
	[ "$(calls 'helm upgrade')" -eq 0 ]
	[[ $output == *"minikube profile fusion is running"* && $output == *"namespace fusion exists"* ]]
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
}

@test "bootstrap with no cluster creates one, the namespace, and every shared release the catalog lists" {
	sed -i 's|^  postgresql: {chart: ../helm/shared-services/postgresql.*|&\n  kafka: {chart: ../helm/shared-services/kafka}\n  temporal: {chart: ../helm/shared-services/temporal, needs: [postgresql]}|' "$CAT"
	sed -i 's|^    profile: fusion.*|&\n    driver: docker\n    start_args: [--cpus=4, --container-runtime=cri-o]|' "$CAT"
	fake-cluster delete
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'minikube start -p fusion --driver=docker --cpus=4 --container-runtime=cri-o$')" -eq 1 ]
	[ "$(fake-cluster runtime)" = cri-o ]
	[ "$(calls 'kubectl --context fusion create namespace fusion$')" -eq 1 ]
	[ "$(fake-cluster releases | tr '\n' ' ')" = "fusion/kafka 1 fusion/postgresql 1 fusion/temporal 1 " ]
	# temporal needs postgresql: released after it
	[ "$(grep -n '^helm upgrade --install postgresql' "$FUSION_FAKE_STATE/calls.log" | cut -d: -f1)" -lt \
		"$(grep -n '^helm upgrade --install temporal' "$FUSION_FAKE_STATE/calls.log" | cut -d: -f1)" ]
}

@test "bootstrap with kind creates the cluster when it does not answer; with existing it only reports" {
	sed -i 's|^    provider: minikube|    provider: kind|' "$CAT"
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'kind create')" -eq 0 ]	# it answers
	fake-cluster delete
	reset_calls
	run fx bootstrap
	[ "$status" -eq 0 ]
	[ "$(calls 'kind create cluster --name fusion$')" -eq 1 ]
	[ "$(fake-cluster context)" = kind-fusion ]
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
	sed -i 's|^    provider: kind|    provider: existing\n    registry: localhost:5000|' "$CAT"
	fake-cluster down
	run fx bootstrap
	[ "$status" -eq 1 ]
	[[ $output == *'provider "existing": fusion does not start it'* ]]
}

@test "bootstrap --json: stdout holds only JSON; the steps and minikube's own words go to stderr" {
	fake-cluster down
	run --separate-stderr fx bootstrap --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(calls 'minikube start -p fusion')" -eq 1 ]
	[[ $stderr == *"🏄  Done!"* && $stderr == *"bootstrap: "* ]]
	[ "$(head -n1 <<<"$output" | jq -r '[.event, .namespace, (.shared | join(","))] | join(" ")')" = \
		"bootstrap fusion postgresql" ]
	[ "$(jq -r 'select(.event == "finish") | .node' <<<"$output" | tr '\n' ' ')" = "chart:postgresql release:postgresql " ]
	[ "$(fake-cluster releases)" = "fusion/postgresql 1" ]
}

# ---- down ----

@test "down --all leaves no release; a release already gone is told apart by helm's exit status, not its words" {
	fx up >/dev/null
	helm uninstall scriptdash -n fusion >/dev/null
	reset_calls
	run fx down --all
	[ "$status" -eq 0 ]
	[ -z "$(fake-cluster releases)" ]
	[[ $output == *"not installed: scriptdash"* && $output == *"uninstalled core-api"* ]]
	[ "$(calls 'helm list -n fusion --kube-context fusion -a -q$')" -eq 1 ]
	[ "$(calls 'helm uninstall scriptdash')" -eq 0 ]
	# the records are gone too: the next up deploys every release again
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran | tr ' ' '\n' | grep -c '^release:')" -eq 4 ]
}

# bats test_tags=slow
@test "down: an uninstall that fails while the release stays is an error; one that vanished meanwhile is not" {
	fx up >/dev/null
	export FUSION_FAKE_FAIL='^helm uninstall core-api'
	run fx down core-api
	[ "$status" -eq 1 ]
	[[ $output == *"release:core-api: helm uninstall failed: Error: uninstallation completed with 1 error(s): fake failure injected"* ]]
	[ "$(helm status core-api -n fusion | grep '^STATUS')" = "STATUS: deployed" ]
	# gone between the listing and the uninstall: helm status says so
	cat >"$BATS_TEST_TMPDIR/bin/helm" <<SH
#!/bin/sh
case "\$1" in uninstall) "$TOP/tests/fakes/helm" "\$@" >/dev/null 2>&1; echo "Error: something else" >&2; exit 1 ;; esac
exec "$TOP/tests/fakes/helm" "\$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/helm"
	unset FUSION_FAKE_FAIL
	run fx down core-api
	[ "$status" -eq 0 ]
	[[ $output == *"not installed: core-api"* ]]
	[ -z "$(fake-cluster releases | grep core-api)" ]
	# an unreachable cluster is an error, not "not installed"
	fake-cluster down
	run fx down scriptdash
	[ "$status" -eq 1 ]
	[[ $output == *"cannot list the releases of namespace fusion: Error: Kubernetes cluster unreachable"* ]]
}

# bats test_tags=slow
@test "down --all --cluster stops the cluster; --delete deletes it; kind and existing refuse what they cannot do" {
	fx up >/dev/null
	run fx down --all --cluster
	[ "$status" -eq 0 ]
	[ -z "$(fake-cluster releases)" ]
	[ "$(calls 'minikube stop -p fusion$')" -eq 1 ]
	run -7 minikube -p fusion status
	run fx down --all --cluster --delete
	[ "$status" -eq 0 ]
	[ "$(calls 'minikube delete -p fusion$')" -eq 1 ]
	run -85 minikube -p fusion status
	run fx down --delete
	[ "$status" -eq 2 ]
	[[ $output == *"--delete goes with --cluster"* ]]
	run fx down core-api --cluster
	[ "$status" -eq 2 ]
	sed -i 's|^    provider: minikube|    provider: kind|' "$CAT"
	run fx down --all --cluster
	[ "$status" -eq 2 ]
	[[ $output == *"a kind cluster cannot be stopped, only deleted (--cluster --delete)"* ]]
	fake-cluster recreate
	reset_calls
	run fx down --all --cluster --delete
	[ "$status" -eq 0 ]
	[ "$(calls 'kind delete cluster --name fusion$')" -eq 1 ]
	[ "$(calls 'helm uninstall')" -eq 0 ]	# the cluster takes its releases with it
}

# bats test_tags=slow
@test "down --json: one object per release, uninstalled, not installed or failed; then the cluster's" {
	run -0 fx up
	helm uninstall scriptdash -n fusion >/dev/null
	FUSION_FAKE_FAIL='^helm uninstall core-api' run --separate-stderr fx down core-api --json
	[ "$status" -eq 1 ]
	json_only
	[ "$output" = '{"release":"core-api","result":"failed"}' ]
	run --separate-stderr fx down --all --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(jq -r 'select(.release == "scriptdash") | .result' <<<"$output")" = "not installed" ]
	[ "$(jq -r 'select(.release == "core-api") | .result' <<<"$output")" = uninstalled ]
	[ "$(wc -l <<<"$output")" -eq 4 ]
	run --separate-stderr fx down --all --cluster --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(tail -n1 <<<"$output")" = '{"cluster":"stopped"}' ]
	[ "$(calls 'minikube stop -p fusion$')" -eq 1 ]
}

# ---- clone ----

# bare_repos NAME...: a local bare repository per NAME, holding a copy of the
# example's repo of that name; each service of the catalog gets its git: URL,
# and its checkout is removed from the workspace.
bare_repos() {
	local r w
	for r in "$@"; do
		git init -q --bare "$BATS_TEST_TMPDIR/git/$r.git"
		w=$BATS_TEST_TMPDIR/git/w-$r
		git clone -q "$BATS_TEST_TMPDIR/git/$r.git" "$w" 2>/dev/null
		cp -a "$WS/$r/." "$w/"
		git -C "$w" add -A
		git -C "$w" -c user.name=t -c user.email=t@example.invalid commit -qm "$r"
		git -C "$w" push -q origin HEAD
		rm -rf "${WS:?}/$r"
		sed -i "s|^  $r:.*|&\n    git: $BATS_TEST_TMPDIR/git/$r.git|" "$CAT"
	done
}

@test "clone creates three missing repos from local bare repos, in parallel, one line each" {
	bare_repos core-api partners-engine scriptdash
	run fx up
	[ "$status" -eq 2 ]
	[[ $output == *'hint: run "fusion clone" to clone them'* ]]
	# a git that holds every clone until all three have started: it can
	# only finish if they run at the same time
	local real
	real=$(command -v git)
	cat >"$BATS_TEST_TMPDIR/bin/git" <<SH
#!/bin/bash
if [[ \$1 == clone ]]; then
	: >"$BATS_TEST_TMPDIR/started.\$\$"
	for _ in \$(seq 600); do
		(( \$(ls "$BATS_TEST_TMPDIR" | grep -c '^started\.') >= 3 )) && break
		sleep 0.1
	done
fi
exec $real "\$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/git"
	run fx -j 3 clone
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	for r in core-api partners-engine scriptdash; do
		printf '%s\n' "$output" | grep -qE "^\[[123]/3\] cloned $r\$"
		[ "$(git -C "$WS/$r" log --format=%s)" = "$r" ]
	done
	run fx graph
	[ "$status" -eq 0 ]
	run fx clone
	[ "$status" -eq 0 ]
	[[ $output == *"core-api exists (--fetch updates it)"* ]]
}

# clone_hangs: a git whose clone makes its directory, says so, then hangs
# (a server that never answers).
clone_hangs() {
	cat >"$BATS_TEST_TMPDIR/bin/git" <<SH
#!/bin/bash
if [[ \$1 == clone ]]; then
	mkdir -p "\${@: -1}/.git"
	: >"$BATS_TEST_TMPDIR/cloning"
	exec sleep $SLOW
fi
exit 1
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/git"
}

# git's user-defined transports run what the URL says ("ext::sh -c ...") or
# wait on a descriptor for ever ("fd::3"): a catalog's git: may name https,
# ssh, git and file only.
@test "clone refuses transports a catalog may not name (fd::, ext::): fails at once, leaves no directory" {
	sed -i "s|^  core-api:.*|&\n    git: \"fd::3\"|; s|^  scriptdash:.*|&\n    git: \"ext::sh -c touch% $BATS_TEST_TMPDIR/ran\"|" "$CAT"
	rm -rf "${WS:?}/core-api" "${WS:?}/scriptdash"
	run timeout 60 "$FUSION" -f "$CAT" clone
	[ "$status" -eq 1 ]
	[[ $output == *"FAILED core-api: "*"not allowed"* ]]
	[[ $output == *"FAILED scriptdash: "*"not allowed"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	[ ! -e "$WS/core-api" ]
	[ ! -e "$WS/scriptdash" ]
}

@test "clone has a time limit: a git that hangs is stopped, the repo fails, its directory is removed" {
	sed -i "s|^  core-api:.*|&\n    git: https://git.example.invalid/core-api.git|" "$CAT"
	rm -rf "${WS:?}/core-api"
	clone_hangs
	FUSION_CLONE_TIMEOUT=1 run timeout 60 "$FUSION" -f "$CAT" clone
	[ "$status" -eq 1 ]
	[[ $output == *"FAILED core-api: stopped after 1 s (the time limit: FUSION_CLONE_TIMEOUT)"* ]]
	[ ! -e "$WS/core-api" ]
	no_process_left "sleep $SLOW"
}

@test "clone: SIGINT or SIGTERM stops git and exits 130, removing the directory it made" {
	sed -i "s|^  core-api:.*|&\n    git: https://git.example.invalid/core-api.git|" "$CAT"
	clone_hangs
	for sig in INT TERM; do
		rm -rf "${WS:?}/core-api" "$BATS_TEST_TMPDIR/cloning"
		"$FUSION" -f "$CAT" clone >"$BATS_TEST_TMPDIR/out" 2>&1 &
		FX_PID=$!
		cloning() { [ -e "$BATS_TEST_TMPDIR/cloning" ]; }
		wait_until cloning
		signal_and_wait "$sig"
		[ "$FX_RC" -eq 130 ] || { echo "$sig: $FX_RC"; cat "$BATS_TEST_TMPDIR/out"; return 1; }
		[ ! -e "$WS/core-api" ]
		no_process_left "sleep $SLOW"
	done
}

@test "clone --fetch fast-forwards a clean repo and never touches a dirty one" {
	bare_repos core-api scriptdash
	fx clone core-api scriptdash >/dev/null
	for r in core-api scriptdash; do
		git -C "$BATS_TEST_TMPDIR/git/w-$r" -c user.name=t -c user.email=t@example.invalid commit -q --allow-empty -m second
		git -C "$BATS_TEST_TMPDIR/git/w-$r" push -q origin HEAD
	done
	echo "# local edit" >>"$WS/core-api/Gemfile"
	run fx clone --fetch
	[ "$status" -eq 0 ]
	[[ $output == *"fetched core-api (1 new commit; work tree has changes: left as it is)"* ]]
	[[ $output == *"fetched scriptdash (fast-forwarded 1 commit)"* ]]
	[ "$(git -C "$WS/core-api" log -1 --format=%s)" = core-api ]
	[ "$(tail -n1 "$WS/core-api/Gemfile")" = "# local edit" ]
	[ "$(git -C "$WS/scriptdash" log -1 --format=%s)" = second ]
	run fx clone --fetch
	[ "$status" -eq 0 ]
	[[ $output == *"fetched scriptdash (up to date)"* ]]
	# a service without git: cannot be cloned; a failing clone fails the command
	run fx clone partners-engine
	[ "$status" -eq 2 ]
	[[ $output == *'clone: service "partners-engine" has no "git" URL'* ]]
	rm -rf "$WS/scriptdash" "$BATS_TEST_TMPDIR/git/scriptdash.git"
	run fx clone
	[ "$status" -eq 1 ]
	[[ $output == *"FAILED scriptdash: fatal: "* ]]
}

@test "doctor with builder docker and provider kind checks docker and kind" {
	sed -i 's/^  builder: podman/  builder: docker/; s|^    provider: minikube|    provider: kind|' "$CAT"
	run fx doctor --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '[.checks[].check] | index("docker") and index("kind") and (index("podman") | not) and (index("minikube") | not)'
	echo "$output" | jq -e '.checks[] | select(.check == "docker") | .detail == "24.0.7"'
	echo "$output" | jq -e '.checks[] | select(.check == "disk space") | .detail | test("GiB free for images")'
}

@test "clone --json: one object per repo, cloned, exists or failed; a misspelt service gets a suggestion" {
	bare_repos core-api scriptdash
	run --separate-stderr fx clone --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(jq -r '.service + " " + .result' <<<"$output" | sort | tr '\n' ' ')" = "core-api cloned scriptdash cloned " ]
	run --separate-stderr fx clone --json
	[ "$status" -eq 0 ]
	json_only
	[ "$(jq -r '.result' <<<"$output" | sort -u)" = exists ]
	rm -rf "${WS:?}/core-api" "$BATS_TEST_TMPDIR/git/core-api.git"
	run --separate-stderr fx clone --json
	[ "$status" -eq 1 ]
	json_only
	[ "$(jq -r 'select(.service == "core-api") | .result' <<<"$output")" = failed ]
	run fx clone core-apy
	[ "$status" -eq 2 ]
	[[ $output == *'clone: no service named "core-apy" (did you mean core-api?)'* ]]
}
