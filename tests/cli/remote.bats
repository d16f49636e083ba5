#!/usr/bin/env bats
# The shared cache (docs/DESIGN.md, "The shared cache"): CI builds and
# pushes, another checkout restores instead of building. A real nginx on
# 127.0.0.1 serves it (tests/cli/nginx.bash) as the README tells users to
# run it; badserver (tests/tools) is the server that misbehaves; real podman
# builds, saves and loads the images.

load helpers
load nginx

setup_file() {
	export NGINX_TLS=1
	nginx_start
}

teardown_file() {
	nginx_stop
}

setup() {
	fx_setup
	# Short timeouts: a fault must end well before bats gives up.
	printf 'cache:\n  connect_timeout: 3\n  timeout: 3\n' >>"$CAT"
	# Each test its own corner of the server.
	URL=$NGINX_URL/cache/t$BATS_TEST_NUMBER
	STORE=$NGINX_DIR/root/cache/t$BATS_TEST_NUMBER
}

teardown() {
	badserver_stop
	for m in "${MOUNTED[@]:-}"; do
		[ -n "$m" ] && umount "$m" 2>/dev/null || true
	done
}

# A copy of the example workspace at another path ($B, catalog $BCAT), with
# its own empty podman storage: another developer's machine.
second_machine() {
	B=$BATS_TEST_TMPDIR/elsewhere/ws
	mkdir -p "$(dirname "$B")" "$BATS_TEST_TMPDIR/podman-b"
	cp -a "$TOP/examples/workspace" "$B"
	BCAT=$B/local-dev/config/service-catalog.yaml
	printf 'cache:\n  connect_timeout: 3\n  timeout: 3\n' >>"$BCAT"
	cat >"$BATS_TEST_TMPDIR/podman-b/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$BATS_TEST_TMPDIR/podman-b/graph"
runroot = "$BATS_TEST_TMPDIR/podman-b/run"
CONF
}

# fusion on the second machine
fxb() {
	CONTAINERS_STORAGE_CONF=$BATS_TEST_TMPDIR/podman-b/storage.conf "$FUSION" -f "$BCAT" "$@"
}

# "REF ID" for each build a state directory recorded: its tag
# (localhost/SERVICE:fx-<16 hex of the ID>) and the ID that tag has in a
# podman storage ("" if the storage lacks it).
recorded_images() {
	sqlite3 "$1/cache.db" "select substr(id, 7), output from node where id like 'build:%' order by id" |
	while IFS='|' read -r svc id; do
		h=${id#sha256:}
		ref=localhost/$svc:fx-${h:0:16}
		echo "$ref $(CONTAINERS_STORAGE_CONF=$2 podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null)"
	done
}

# Every build of STATE (in storage A) restored with the same tag and ID in
# storage B, as recorded by BSTATE.
same_images() {
	recorded_images "$STATE" "$CONTAINERS_STORAGE_CONF" >"$BATS_TEST_TMPDIR/a-images"
	recorded_images "$B/local-dev/config/.fusion" "$BATS_TEST_TMPDIR/podman-b/storage.conf" >"$BATS_TEST_TMPDIR/b-images"
	cat "$BATS_TEST_TMPDIR/a-images" "$BATS_TEST_TMPDIR/b-images"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/a-images")" -eq 3 ]
	[ -z "$(awk 'NF != 2' "$BATS_TEST_TMPDIR/a-images")" ]	# every tag has its image
	cmp "$BATS_TEST_TMPDIR/a-images" "$BATS_TEST_TMPDIR/b-images"
}

summary() {
	printf '%s\n' "$output" | grep '^{' | jq -e "select(.event==\"summary\") | $1"
}

warnings() {
	printf '%s\n' "$output" | grep -c '^fusion: warning:' || true
}

# A small tmpfs at $1 (a full disk); skip where mounting is not allowed.
small_disk() {
	mkdir -p "$1"
	mount -t tmpfs -o size=4k tmpfs "$1" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
	MOUNTED+=("$1")
}

@test "CI pushes; a copy elsewhere with empty state and storage restores every image: no build, same tags and IDs" {
	run fx up --until build --push --remote "$URL"
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	[ "$(ls "$STORE/ac" | wc -l)" -eq 3 ]
	[ "$(ls "$STORE/cas" | wc -l)" -eq 3 ]

	second_machine
	[ -z "$(CONTAINERS_STORAGE_CONF=$BATS_TEST_TMPDIR/podman-b/storage.conf podman images -q)" ]
	reset_calls
	run fxb up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.cached == 3 and .ran == 0 and .failed == 0'
	[ "$(results cached)" = "build:core-api build:partners-engine build:scriptdash" ]
	[ "$(calls 'podman build')" -eq 0 ]
	[ "$(calls 'podman load')" -eq 3 ]
	same_images
	# recorded: the next run there has nothing to do, and asks nobody
	reset_calls
	requests=$(wc -l <"$NGINX_DIR/logs/access.log")
	run fxb up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.fresh == 3 and .cached == 0'
	[ "$(calls podman)" -eq 0 ]
	[ "$(wc -l <"$NGINX_DIR/logs/access.log")" -eq "$requests" ]
}

# bats test_tags=slow
@test "charts are shared too, loads and releases never: a full up on the copy renders nothing" {
	run fx up --until chart --push --remote "$URL"
	[ "$status" -eq 0 ]
	# 3 builds and 4 charts (postgresql included); no load
	[ "$(ls "$STORE/ac" | wc -l)" -eq 7 ]
	second_machine
	reset_calls
	run fxb up --remote "$URL" --json
	[ "$status" -eq 0 ]
	[ "$(results cached)" = "build:core-api build:partners-engine build:scriptdash chart:core-api chart:partners-engine chart:postgresql chart:scriptdash" ]
	[ "$(results ran)" = "load:core-api load:partners-engine load:scriptdash release:core-api release:partners-engine release:postgresql release:scriptdash" ]
	[ "$(calls 'helm template')" -eq 0 ]
	[ "$(calls 'podman build')" -eq 0 ]
	# the restored manifests are byte for byte what CI rendered
	for x in core-api partners-engine postgresql scriptdash; do
		cmp "$STATE/artifacts/$x.yaml" "$B/local-dev/config/.fusion/artifacts/$x.yaml"
	done
}

# bats test_tags=slow
@test "file:// gives the same results as HTTP: same records, restores, no temporary files" {
	run fx up --until build --push --remote "$URL"
	[ "$status" -eq 0 ]
	DIR=$BATS_TEST_TMPDIR/shared
	run fx up --until build --force --push --remote "file://$DIR"
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	# the same record names: they come from the node keys alone
	[ "$(ls "$DIR/ac")" = "$(ls "$STORE/ac")" ]
	[ -z "$(find "$DIR" -name '.tmp-*')" ]

	second_machine
	reset_calls
	run fxb up --until build --remote "file://$DIR" --json
	[ "$status" -eq 0 ]
	summary '.cached == 3 and .ran == 0'
	[ "$(calls 'podman build')" -eq 0 ]
	same_images
}

# bats test_tags=slow
@test "builder docker: docker save, then docker load, with the same image IDs" {
	sed -i 's/builder: podman/builder: docker/' "$CAT"
	run fx up --until build --push --remote "$URL"
	[ "$status" -eq 0 ]
	[ "$(calls 'docker save -o ')" -eq 3 ]
	second_machine
	sed -i 's/builder: podman/builder: docker/' "$BCAT"
	reset_calls
	run fxb up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.cached == 3'
	[ "$(calls 'docker load -i ')" -eq 3 ]
	[ "$(calls 'docker build')" -eq 0 ]
	same_images
	# a podman catalog does not take docker's archives: another key
	sed -i 's/builder: docker/builder: podman/' "$BCAT"
	run fxb up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.cached == 0'
}

# bats test_tags=slow
@test "cache.remote and cache.push in the catalog; --no-remote leaves the cache alone" {
	sed -i "s|^cache:|cache:\n  remote: $URL\n  push: true|" "$CAT"
	run fx up --until build
	[ "$status" -eq 0 ]
	[ "$(ls "$STORE/ac" | wc -l)" -eq 3 ]
	rm -rf "$STATE"
	reset_calls
	run fx up --until build --no-remote --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .cached == 0'
	[ "$(calls 'podman load')" -eq 0 ]
	rm -rf "$STATE"
	run fx up --until build --json
	[ "$status" -eq 0 ]
	summary '.cached == 3'
}

# bats test_tags=slow
@test "a miss builds without a word; --force builds without asking" {
	run fx up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .cached == 0'
	[ "$(warnings)" -eq 0 ]
	fx up --until build --force --push --remote "$URL" >/dev/null
	reset_calls
	run fx up --until build --force --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .cached == 0'
	[ "$(calls 'podman load')" -eq 0 ]
}

# bats test_tags=slow
@test "every blob corrupted or truncated: a warning each, a build each, success" {
	fx up --until build --push --remote "$URL" >/dev/null
	n=0
	for f in "$STORE"/cas/*; do
		if [ $((n++ % 2)) = 0 ]; then
			printf 'corrupt' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
		else
			truncate -s -10 "$f"						# cut short
		fi
	done
	rm -rf "$STATE"
	reset_calls
	run fx up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .cached == 0 and .failed == 0'
	[ "$(warnings)" -eq 3 ]
	[[ "$output" == *"SHA-256"* ]]
	[[ "$output" == *"bytes, expected"* ]]
	[ "$(calls 'podman load')" -eq 0 ]
	[ "$(calls 'podman build')" -eq 3 ]
	[ -z "$(ls "$STATE/tmp")" ]
	[ "$(stat -c %a "$STATE/tmp")" = 700 ]	# private, as the whole state
}

# bats test_tags=slow
@test "a blob that does not load: a warning, then the build runs" {
	fx up --until build scriptdash --push --remote "$URL" >/dev/null
	# a valid record and blob, but the blob is no image archive (a tar that
	# names nothing, so it reaches podman load)
	mkdir "$BATS_TEST_TMPDIR/junkdir"
	echo "not an image" >"$BATS_TEST_TMPDIR/junkdir/file"
	tar -C "$BATS_TEST_TMPDIR/junkdir" -cf "$BATS_TEST_TMPDIR/junk" file
	sum=$(sha256sum "$BATS_TEST_TMPDIR/junk" | cut -d' ' -f1)
	cp "$BATS_TEST_TMPDIR/junk" "$STORE/cas/$sum"
	sed -i "s/^blob .*/blob $sum $(stat -c %s "$BATS_TEST_TMPDIR/junk")/" "$STORE"/ac/*
	rm -rf "$STATE"
	reset_calls
	run fx up --until build scriptdash --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.ran == 1 and .cached == 0'
	[[ "$output" == *"could not restore it from the shared cache (podman load exited with status"* ]]
	[ "$(calls 'podman load')" -eq 1 ]
	[ "$(calls 'podman build')" -eq 1 ]
}

# bats test_tags=slow
@test "a 500 on every request: one warning, everything builds, and the run succeeds" {
	run fx up --until build --push --remote "$NGINX_URL/broken" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .failed == 0'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"fusion: warning: shared cache: $NGINX_URL/broken/ac/"*": HTTP 500; going on without it"* ]]
}

# bats test_tags=slow
@test "a server that is not listening: one warning, builds, success" {
	port=$("$FX_TOOLS/badserver" free)
	run fx up --until build --push --remote "http://127.0.0.1:$port/cache" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"Failed to connect to 127.0.0.1 port $port"*"going on without it"* ]]
}

# bats test_tags=slow
@test "a server that accepts and never answers: given up after cache.timeout, builds, success" {
	badserver_start silent
	run timeout 300 "$FUSION" -f "$CAT" up --until build --push --remote "$BAD_URL/cache" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"Operation too slow"*"going on without it"* || "$output" == *"timed out"*"going on without it"* ]]
}

# bats test_tags=slow
@test "a server that trickles (512 bytes/s): its download given up after cache.timeout, builds, success" {
	fx up --until build scriptdash --push --remote "$URL" >/dev/null
	[ "$(stat -c %s "$STORE"/cas/*)" -gt 4000 ]	# over 8 s at that rate
	rm -rf "$STATE"
	reset_calls
	# the record (under 512 bytes) comes at once; the blob crawls
	run timeout 300 "$FUSION" -f "$CAT" up --until build scriptdash \
		--remote "$NGINX_URL/trickle/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	summary '.ran == 1 and .cached == 0'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"/trickle/t$BATS_TEST_NUMBER/cas/"*"Operation too slow. Less than 1024 bytes/sec"* ]]
	[ "$(calls 'podman load')" -eq 0 ]
	[ "$(calls 'podman build')" -eq 1 ]
}

# bats test_tags=slow
@test "a body cut short: a warning, a build" {
	badserver_start cut
	run timeout 300 "$FUSION" -f "$CAT" up --until build scriptdash --remote "$BAD_URL/cache" --json
	[ "$status" -eq 0 ]
	summary '.ran == 1'
	[[ "$output" == *"build:scriptdash: shared cache: $BAD_URL/cache/ac/"*"cut short"*"running it here"* ]]
}

# bats test_tags=slow
@test "--remote-required: a fault of the cache fails the run instead" {
	run fx up --until build --remote "$NGINX_URL/broken" --remote-required --json
	[ "$status" -eq 1 ]
	summary ".failed >= 1 and .ran == 0"
	[[ "$output" == *"HTTP 500 (--remote-required)"* ]]
	# an upload that fails fails the run, though the node ran (/slow/ takes no PUT)
	rm -rf "$STATE"
	run fx up --until build scriptdash --remote "$NGINX_URL/slow/t$BATS_TEST_NUMBER" --push \
		--remote-required --json
	[ "$status" -eq 1 ]
	summary '.ran == 1 and .failed == 0'
	[[ "$output" == *"HTTP 405"* ]]
	[[ "$output" == *"an upload to the shared cache failed (--remote-required)"* ]]
	# a miss is no fault
	rm -rf "$STATE"
	run fx up --until build --remote "$URL" --remote-required --json
	[ "$status" -eq 0 ]
}

# bats test_tags=slow
@test "a full disk while downloading: a warning, a build, nothing left behind" {
	fx up --until build --push --remote "$URL" >/dev/null
	rm -rf "$STATE"
	mkdir -p "$STATE"
	small_disk "$STATE/tmp"
	run fx up --until build --remote "$URL" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3 and .cached == 0'
	[[ "$output" == *"No space left on device"* ]]
	[ -z "$(ls "$STATE/tmp")" ]
}

# bats test_tags=slow
@test "an upload never leaves a partial object under its final name (file:// on a full disk)" {
	DIR=$BATS_TEST_TMPDIR/shared
	small_disk "$DIR"
	run fx up --until build --push --remote "file://$DIR" --json
	[ "$status" -eq 0 ]
	summary '.ran == 3'
	[[ "$output" == *"No space left on device"* ]]
	# no blob under a final name; no record naming a missing blob
	[ -z "$(ls "$DIR/cas" 2>/dev/null)" ]
	[ -z "$(find "$DIR" -name '.tmp-*')" ]
	for r in $(ls "$DIR/ac" 2>/dev/null); do
		[ -f "$DIR/cas/$(awk '/^blob/ { print $2 }' "$DIR/ac/$r")" ]
	done
}

# bats test_tags=slow
@test "credentials from ~/.netrc" {
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	run fx up --until build scriptdash --push --remote "$NGINX_URL/basic/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"HTTP 401"* ]]
	printf 'machine 127.0.0.1\nlogin fusion\npassword %s\n' "$NGINX_PASSWORD" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	run fx up --until build scriptdash --force --push --remote "$NGINX_URL/basic/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	rm -rf "$STATE"
	run fx up --until build scriptdash --remote "$NGINX_URL/basic/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	summary '.cached == 1'
}

# bats test_tags=slow
@test "a header whose value comes from the environment: sent, never printed, logged or stored" {
	sed -i "s|^cache:|cache:\n  header: X-Cache-Token\n  header_env: FX_TEST_CACHE_TOKEN|" "$CAT"
	remote=$NGINX_URL/private/t$BATS_TEST_NUMBER
	run fx up --until build scriptdash --push --remote "$remote" --json
	[ "$status" -eq 0 ]
	[[ "$output" == *"FX_TEST_CACHE_TOKEN is not set"* ]]
	[[ "$output" == *"HTTP 401"* ]]
	export FX_TEST_CACHE_TOKEN=$NGINX_TOKEN
	run fx -v up --until build scriptdash --force --push --remote "$remote" --json
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	[ -n "$(ls "$NGINX_DIR/root/private/t$BATS_TEST_NUMBER/ac")" ]
	rm -rf "$STATE"
	run fx -v up --until build scriptdash --remote "$remote" --json
	[ "$status" -eq 0 ]
	summary '.cached == 1'
	[[ "$output" != *"$NGINX_TOKEN"* ]]
	run grep -rla "$NGINX_TOKEN" "$STATE" "$WS"
	[ "$status" -eq 1 ]
}

# bats test_tags=slow
@test "a redirect on the same server is followed; one to another server never gets cache.header" {
	sed -i "s|^cache:|cache:\n  header: X-Cache-Token\n  header_env: FX_TEST_CACHE_TOKEN|" "$CAT"
	export FX_TEST_CACHE_TOKEN=$NGINX_TOKEN
	# /here/ sends every request to /cache/ on the same server: uploads and downloads
	run fx up --until build scriptdash --push --remote "$NGINX_URL/here/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	[ "$(ls "$STORE/ac" | wc -l)" -eq 1 ]
	[ "$(ls "$STORE/cas" | wc -l)" -eq 1 ]
	rm -rf "$STATE"
	run fx up --until build scriptdash --remote "$NGINX_URL/here/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	summary '.cached == 1'
	# /away/ sends it to localhost: another origin, where libcurl would take
	# the header along; the request is stopped before it leaves
	rm -rf "$STATE"
	run fx up --until build scriptdash --push --remote "$NGINX_URL/away/t$BATS_TEST_NUMBER" --json
	[ "$status" -eq 0 ]
	summary '.ran == 1 and .cached == 0'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"redirected to http://localhost:$NGINX_PORT/private/t$BATS_TEST_NUMBER/ac/"*"not followed"* ]]
	[[ "$output" != *"$NGINX_TOKEN"* ]]
	run grep -c "/private/t$BATS_TEST_NUMBER/" "$NGINX_DIR/logs/access.log"
	[ "$status" -eq 1 ]
	[ "$output" = 0 ]
}

# core-api's chart renders a password from `secrets:` into a Secret (as
# tests/cli/secrets.bats does), in workspace $1 with catalog $2.
secret_chart() {
	printf 'db:\n  password: none\n' >>"$1/local-dev/helm/base-charts/service/values.yaml"
	cat >"$1/local-dev/helm/base-charts/service/templates/secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: |-
    {{ .Values.db.password }}
EOF
	sed -i 's/^    set: {replicaCount: 1}$/    set: {replicaCount: 1}\n    secrets: {db.password: CORE_API_DB_PASSWORD}/' "$2"
	grep -q 'secrets: {db.password: CORE_API_DB_PASSWORD}' "$2"
}

@test "a chart that holds a secret is never pushed nor restored; the others are" {
	secret_chart "$WS" "$CAT"
	export CORE_API_DB_PASSWORD=pw-$RANDOM$RANDOM$RANDOM
	run fx up --until chart --push --remote "$URL" --json
	[ "$status" -eq 0 ]
	[ "$(warnings)" -eq 0 ]
	grep -qF "$CORE_API_DB_PASSWORD" "$STATE/artifacts/core-api.yaml"	# rendered here
	# 3 builds and 3 charts of 4: chart:core-api stays on this machine
	[ "$(ls "$STORE/ac" | wc -l)" -eq 6 ]
	[ "$(ls "$STORE/cas" | wc -l)" -eq 6 ]
	run grep -rlF "$CORE_API_DB_PASSWORD" "$STORE"
	[ "$status" -eq 1 ]
	# another machine with the same secret renders that chart itself
	second_machine
	secret_chart "$B" "$BCAT"
	reset_calls
	run fxb up --until chart --remote "$URL" --json
	[ "$status" -eq 0 ]
	[ "$(results cached)" = "build:core-api build:partners-engine build:scriptdash chart:partners-engine chart:postgresql chart:scriptdash" ]
	# --until chart needs no cluster: no load ran
	[ "$(results ran)" = "chart:core-api" ]
	grep -qF "$CORE_API_DB_PASSWORD" "$B/local-dev/config/.fusion/artifacts/core-api.yaml"
}

@test "TLS is verified: a self-signed certificate is refused with a warning" {
	run fx up --until build scriptdash --remote "https://127.0.0.1:$NGINX_TLS_PORT/cache" --json
	[ "$status" -eq 0 ]
	summary '.ran == 1'
	[ "$(warnings)" -eq 1 ]
	[[ "$output" == *"certificate"* ]]
	# the same server answers to a client that trusts its certificate
	curl -sf --cacert "$NGINX_DIR/cert.pem" -o /dev/null -T "$NGINX_DIR/cert.pem" \
		"https://127.0.0.1:$NGINX_TLS_PORT/cache/probe"
}

# bats test_tags=slow
@test "a transfer over a few MB shows its bytes and rate" {
	head -c 6000000 /dev/urandom >"$WS/scriptdash/public/big.bin"
	run fx up --until build scriptdash --push --remote "$URL"
	[ "$status" -eq 0 ]
	[[ "$output" == *"fusion: uploaded build:scriptdash to the shared cache: 6."*" MB in "*"B/s)"* ]]
	second_machine
	cp "$WS/scriptdash/public/big.bin" "$B/scriptdash/public/big.bin"
	# on a terminal, the status line follows the download (1 MB/s: /slow/)
	run script -qec "CONTAINERS_STORAGE_CONF=$BATS_TEST_TMPDIR/podman-b/storage.conf $FUSION -f $BCAT up --until build scriptdash --remote $NGINX_URL/slow/t$BATS_TEST_NUMBER" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"restoring build:scriptdash "*" MB of 6."*" MB at "*"/s"* ]]
	[[ "$output" == *"restored build:scriptdash from the shared cache: 6."*" MB in "* ]]
	[[ "$output" == *"0 ran, 1 cached"* ]]
}

@test "option errors exit 2 before anything runs" {
	run fx up --push
	[ "$status" -eq 2 ]
	[[ "$output" == *"--push needs a shared cache"* ]]
	run fx up --no-remote --remote "$URL"
	[ "$status" -eq 2 ]
	run fx up --remote ftp://example/cache
	[ "$status" -eq 2 ]
	[[ "$output" == *"--remote must be an http://, https:// or file:// URL"* ]]
	# a relative file:// path is relative to the current directory
	cd "$BATS_TEST_TMPDIR"
	run fx up --remote file://rel/dir --push --until build scriptdash
	[ "$status" -eq 0 ]
	[ "$(ls "$BATS_TEST_TMPDIR/rel/dir/ac" | wc -l)" -eq 1 ]
}
