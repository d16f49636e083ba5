#!/usr/bin/env bats
# Charts from repositories and registries (README, "Charts from
# repositories and registries"): pinned in the catalog, resolved by
# `fusion lock` into the lock file beside it, fetched once into the chart
# cache and checked against the lock's digest. A real nginx serves an HTTP
# chart repository made with the real `helm package` and `helm repo index`
# (tests/cli/nginx.bash); Debian's docker-registry is an OCI registry the
# real `helm push` fills. Both listen on 127.0.0.1 and start once for the
# file; its last test stops them. No test here builds an image: a release
# of an upstream chart alone needs none.

load helpers
load nginx

H() { "$FUSION_REAL_HELM" "$@"; }

# docker-registry on a free port, its configuration, storage and log
# (one access log line per request) under $REG_DIR.
registry_start() {
	REG_DIR=$BATS_FILE_TMPDIR/registry
	mkdir -p "$REG_DIR"
	local port
	for _ in $(seq 20); do
		port=$("$FX_TOOLS/badserver" free)
		cat >"$REG_DIR/config.yml" <<CONF
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $REG_DIR/data}}
http: {addr: "127.0.0.1:$port"}
CONF
		docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/log" 2>&1 3>&- &
		REG_PID=$!
		for _ in $(seq 100); do
			if curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; then
				REGISTRY=127.0.0.1:$port
				export REG_DIR REG_PID REGISTRY
				return 0
			fi
			kill -0 "$REG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	done	# another test took the port: try another
	cat "$REG_DIR/log" >&2
	return 1
}

registry_stop() {
	[ -n "${REG_PID:-}" ] || return 0
	kill "$REG_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
}

# Package the fixture chart at VERSION (into DIR), as a chart's author does.
package() {
	local src=$BATS_FILE_TMPDIR/src/web
	rm -rf "$src"
	mkdir -p "${src%/*}"
	cp -r "$TOP/tests/cli/fixtures/charts/web" "$src"
	sed -i "s/^version: .*/version: $1/" "$src/Chart.yaml"
	[ -z "${3:-}" ] || printf '%s\n' "$3" >>"$src/values.yaml"
	H package "$src" -d "$2" >/dev/null
}

setup_file() {
	export FUSION_REAL_HELM=${FUSION_REAL_HELM:-/usr/local/lib/fusion/helm}
	export HELM_CACHE_HOME=$BATS_FILE_TMPDIR/helm/cache HELM_CONFIG_HOME=$BATS_FILE_TMPDIR/helm/config \
		HELM_DATA_HOME=$BATS_FILE_TMPDIR/helm/data
	nginx_start
	registry_start
	# web 1.0.0 and 1.1.0: in a chart repository, and in the registry
	export REPO_DIR=$NGINX_DIR/root/charts REPO_URL=$NGINX_URL/charts
	mkdir -p "$REPO_DIR"
	local v
	for v in 1.0.0 1.1.0; do
		package "$v" "$REPO_DIR"
		H push "$REPO_DIR/web-$v.tgz" "oci://$REGISTRY/charts" --plain-http >/dev/null 2>&1
	done
	H repo index "$REPO_DIR" --url "$REPO_URL"
}

teardown_file() {
	nginx_stop
	registry_stop
}

setup() {
	fx_setup
	LOCK=$WS/local-dev/config/service-catalog.lock
}

# A catalog of two shared releases, nothing to build: web from the HTTP
# repository at pin $1, webo from the registry at pin $2 (at $3, default
# oci://$REGISTRY/charts/web).
write_catalog() {
	cat >"$CAT" <<CAT
version: 1
workspace: {root: ../.., namespace: fusion}
shared:
  web:
    chart: {repo: "$REPO_URL", name: web}
    version: "$1"
  webo:
    chart: "${3:-oci://$REGISTRY/charts/web}"
    version: "$2"
CAT
}

# The SHA-256 of a file, as the lock writes it.
digest_of() {
	echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"
}

# The lock's digest of entry NAME.
locked_digest() {
	sed -n "/^  $1:\$/,/digest:/s/^    digest: //p" "$LOCK"
}

# How many requests both servers have answered so far.
requests() {
	echo $(($(wc -l <"$NGINX_DIR/logs/access.log") + $(grep -c ' HTTP/1.1" ' "$REG_DIR/log" || true)))
}

@test "pin, lock, render: a chart from an HTTP repository and one from an OCI registry; a no-op asks no server" {
	write_catalog 1.0.0 "^1.0"
	# nothing runs for a chart the lock does not hold: fusion lock resolves it
	run fx up --until chart
	[ "$status" -eq 2 ]
	[[ "$output" == *"chart web from $REPO_URL (version 1.0.0) of \"web\" is not in "*"service-catalog.lock: run \"fusion lock\""* ]]
	[[ "$output" == *"chart oci://$REGISTRY/charts/web (version ^1.0) of \"webo\" is not in"* ]]
	run fx doctor	# status-free: it also finds no cluster here
	[[ "$output" == *"missing the lock of chart oci://$REGISTRY/charts/web (version ^1.0)"*'hint: run "fusion lock"'* ]]

	run fx lock
	[ "$status" -eq 0 ]
	[[ "$output" == *"web: web from $REPO_URL 1.0.0: locked 1.0.0 (sha256:"* ]]
	# a range resolves to the newest version it admits
	[[ "$output" == *"webo: oci://$REGISTRY/charts/web ^1.0: locked 1.1.0 (sha256:"* ]]
	[ "$(locked_digest web)" = "$(digest_of "$REPO_DIR/web-1.0.0.tgz")" ]
	[ "$(locked_digest webo)" = "$(digest_of "$REPO_DIR/web-1.1.0.tgz")" ]
	grep -qx '    pin: "^1.0"' "$LOCK"
	grep -qx '    version: "1.1.0"' "$LOCK"

	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:web chart:webo fetch:web fetch:webo" ]
	grep -qx '  chart: web-1.0.0' "$STATE/artifacts/web.yaml"
	grep -qx '  chart: web-1.1.0' "$STATE/artifacts/webo.yaml"
	# the archives are in the chart cache under their digests
	[ -f "$FUSION_CHART_CACHE/sha256/$(locked_digest webo | cut -d: -f2).tgz" ]

	# a no-op: nothing runs, and no server hears of it
	before=$(requests)
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
	[ "$(requests)" = "$before" ]
	# nor does another workspace of the user with the same lock: the cache is theirs
	cp -a "$WS" "$BATS_TEST_TMPDIR/ws2"
	rm -rf "$BATS_TEST_TMPDIR/ws2/local-dev/config/.fusion"
	run "$FUSION" -f "$BATS_TEST_TMPDIR/ws2/local-dev/config/service-catalog.yaml" up --json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:web chart:webo fetch:web fetch:webo" ]
	[ "$(requests)" = "$before" ]
	cmp "$STATE/artifacts/webo.yaml" "$BATS_TEST_TMPDIR/ws2/local-dev/config/.fusion/artifacts/webo.yaml"

	# fusion lock again: what is locked stays, the file untouched
	cp -p "$LOCK" "$BATS_TEST_TMPDIR/lock.before"
	run fx lock
	[ "$status" -eq 0 ]
	[[ "$output" == *"webo: oci://$REGISTRY/charts/web ^1.0: unchanged 1.1.0"* ]]
	cmp "$LOCK" "$BATS_TEST_TMPDIR/lock.before"
	[ "$(requests)" = "$before" ]
}

@test "a changed pin reruns its fetch and chart only after fusion lock; lock --update moves a range" {
	write_catalog 1.0.0 1.0.0
	run fx lock
	[ "$status" -eq 0 ]
	up_json --until chart
	[ "$status" -eq 0 ]

	write_catalog 1.1.0 1.0.0
	run fx up --until chart
	[ "$status" -eq 2 ]
	[[ "$output" == *"(version 1.1.0) of \"web\" is not in"* ]]
	run fx lock
	[ "$status" -eq 0 ]
	[[ "$output" == *"web: web from $REPO_URL 1.1.0: locked 1.1.0"* ]]
	[[ "$output" == *"webo: oci://$REGISTRY/charts/web 1.0.0: unchanged 1.0.0"* ]]
	run fx why web
	[ "$status" -eq 0 ]
	[[ "$output" == *"fetch:web is stale"*"chart version: 1.0.0 -> 1.1.0"* ]]
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:web fetch:web" ]
	grep -qx '  chart: web-1.1.0' "$STATE/artifacts/web.yaml"

	# a range in a registry of the test's own; a newer version published
	local repo=oci://$REGISTRY/t$BATS_TEST_NUMBER v
	for v in 1.0.0 1.1.0; do
		H push "$REPO_DIR/web-$v.tgz" "$repo" --plain-http >/dev/null 2>&1
	done
	write_catalog 1.1.0 "~1.0 || ^1.1" "$repo/web"
	run fx lock
	[ "$status" -eq 0 ]
	[[ "$output" == *"webo: $repo/web ~1.0 || ^1.1: locked 1.1.0"* ]]
	package 1.2.0 "$BATS_TEST_TMPDIR"
	H push "$BATS_TEST_TMPDIR/web-1.2.0.tgz" "$repo" --plain-http >/dev/null 2>&1
	# what is locked stays locked
	run fx lock
	[ "$status" -eq 0 ]
	[[ "$output" == *"webo: $repo/web ~1.0 || ^1.1: unchanged 1.1.0"* ]]
	run fx lock --update webo
	[ "$status" -eq 0 ]
	[[ "$output" == *"webo: $repo/web ~1.0 || ^1.1: updated 1.1.0 -> 1.2.0"* ]]
	[[ "$output" != *"web: web from"* ]]	# not asked for
	[ "$(locked_digest webo)" = "$(digest_of "$BATS_TEST_TMPDIR/web-1.2.0.tgz")" ]
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:webo fetch:webo" ]
	grep -qx '  chart: web-1.2.0' "$STATE/artifacts/webo.yaml"
	run fx lock --update nosuch
	[ "$status" -eq 2 ]
	[[ "$output" == *'lock: no entry named "nosuch" has no chart from a repository or a registry'* ]]
}

@test "a digest that no longer matches is refused: a chart republished, an archive changed in the cache" {
	# a repository of the test's own, its 1.0.0 locked
	local dir=$NGINX_DIR/root/t$BATS_TEST_NUMBER url=$NGINX_URL/t$BATS_TEST_NUMBER
	mkdir -p "$dir"
	cp "$REPO_DIR/web-1.0.0.tgz" "$dir/"
	H repo index "$dir" --url "$url"
	REPO_URL=$url write_catalog 1.0.0 1.0.0
	run fx lock
	[ "$status" -eq 0 ]
	good=$(locked_digest web)
	# then republished under the same version, other bytes
	package 1.0.0 "$dir" "extra: republished"
	H repo index "$dir" --url "$url"
	bad=$(digest_of "$dir/web-1.0.0.tgz")
	[ "$bad" != "$good" ]
	# another machine: its chart cache does not hold the archive fusion lock fetched
	chmod -R u+w "$FUSION_CHART_CACHE"
	rm -rf "$FUSION_CHART_CACHE"
	up_json --until chart
	[ "$status" -eq 1 ]
	[ "$(results failed)" = "fetch:web" ]
	[[ "$output" == *"web from $url 1.0.0 is not the archive the lock file holds: its digest is $bad, the lock's $good"*"fusion lock --update web"* ]]
	# not taken: neither into the cache nor into the lock
	[ ! -e "$FUSION_CHART_CACHE/sha256/${bad#sha256:}.tgz" ]
	[ -z "$(ls "$FUSION_CHART_CACHE/tmp")" ]
	[ "$(locked_digest web)" = "$good" ]

	# an archive changed in the cache is refused where it is read
	up_json --until chart webo
	[ "$status" -eq 0 ]
	cached=$FUSION_CHART_CACHE/sha256/$(locked_digest webo | cut -d: -f2).tgz
	chmod u+w "$cached"
	echo tampered >>"$cached"
	printf '    set: {greeting: hi}\n' >>"$CAT"
	up_json --until chart webo
	[ "$status" -eq 1 ]
	[ "$(results failed)" = "chart:webo" ]
	[[ "$output" == *"$cached is not the archive the lock file holds"*"remove it, and the next run fetches it again"* ]]
	# gone from the cache: a plain run fetches it again
	rm -f "$cached"
	up_json --until chart webo
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:webo fetch:webo" ]
	[ "$(digest_of "$cached")" = "$(locked_digest webo)" ]
	grep -qx '  greeting: "hi"' "$STATE/artifacts/webo.yaml"
}

@test "a local chart's dependencies: built when its lock changes or charts/ is missing, never on a no-op" {
	chart=$WS/local-dev/helm/app
	mkdir -p "$chart/templates"
	printf 'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - {name: web, version: "1.0.0", repository: "%s"}\n' \
		"$REPO_URL" >"$chart/Chart.yaml"
	printf 'web:\n  greeting: from-app\n' >"$chart/values.yaml"
	# its author locked its dependencies (and commits Chart.lock, not charts/)
	H dependency update "$chart" >/dev/null
	rm -rf "$chart/charts"
	printf 'version: 1\nworkspace: {root: ../.., namespace: fusion}\nshared:\n  app: {chart: ../helm/app}\n' >"$CAT"
	# helm dependency build takes a repository from helm's own list only
	up_json --until chart
	[ "$status" -eq 1 ]
	[[ "$output" == *"helm dependency build of local-dev/helm/app exited with status 1"*"helm repo add NAME URL"* ]]
	H repo add charts "$REPO_URL" >/dev/null
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:app fetch:app" ]
	[ -f "$chart/charts/web-1.0.0.tgz" ]
	grep -qx '  chart: web-1.0.0' "$STATE/artifacts/app.yaml"
	grep -qx '  greeting: "from-app"' "$STATE/artifacts/app.yaml"
	# a no-op: nothing runs, nothing is fetched (charts/ was hashed as the build left it)
	before=$(requests)
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
	[ "$(requests)" = "$before" ]
	# charts/ gone: built again, the same bytes, the chart cut off
	rm -rf "$chart/charts"
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "fetch:app" ]
	[ "$(results cutoff)" = "chart:app" ]
	# its lock moved (the author's helm dependency update): built and rendered again
	sed -i 's/version: "1.0.0"/version: "1.1.0"/' "$chart/Chart.yaml"
	H dependency update "$chart" >/dev/null
	rm -rf "$chart/charts"
	run fx why app
	[ "$status" -eq 0 ]
	[[ "$output" == *"fetch:app is stale"*"M the chart's lock (its dependencies are built again)"*"M Chart.yaml"* ]]
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:app fetch:app" ]
	grep -qx '  chart: web-1.1.0' "$STATE/artifacts/app.yaml"
}

# Last: it stops the servers.
@test "the servers stopped: a no-op, a full re-render and a release work from the chart cache" {
	write_catalog 1.0.0 "^1.0"
	run fx lock
	[ "$status" -eq 0 ]
	up_json --until chart
	[ "$status" -eq 0 ]
	nginx_stop
	registry_stop
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "" ]
	up_json --until chart --force
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "chart:web chart:webo fetch:web fetch:webo" ]
	# helm upgrade installs the archive (the fake cluster)
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "release:web release:webo" ]
	helm get manifest webo -n fusion | grep -qx '  chart: web-1.1.0'
	# nothing asks for the network but an explicit update, which says why it failed
	run fx lock
	[ "$status" -eq 0 ]
	run fx lock --update webo
	[ "$status" -eq 1 ]
	[[ "$output" == *"lock: webo: oci://$REGISTRY/charts/web ^1.0: helm pull failed (status 1): Error: "* ]]
	grep -qx '    version: "1.1.0"' "$LOCK"
}
