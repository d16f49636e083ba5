#!/usr/bin/env bats
# Hostile catalogs and state: what a catalog holds reaches the tools as
# exactly what it says, and fusion's state is private to its user.
# (Catalogs that are not regular files, and set keys or build arg names
# that cannot be passed safely, are refused: see catalog.bats.)

load helpers

setup() {
	fx_setup
}

# A key inside a nested `set` mapping is one name, dots and all; a value is
# text, commas, backslashes and a leading '{' (a list to helm) included.
@test "set: nested names and odd values reach helm as one key and one string each" {
	sed -i 's/set: {replicaCount: 1}/set: {replicaCount: 1, podAnnotations: {prometheus.io\/scrape: "true", "a=b,c": x}, note: "{a,b}", path: "C:\\\\tmp,x"}/' "$CAT"
	run fx up core-api
	[ "$status" -eq 0 ]
	grep -F -- "--set podAnnotations.prometheus\\.io/scrape=true --set podAnnotations.a\\=b\\,c=x --set note=\\{a\\,b} --set path=C:\\\\tmp\\,x" "$FUSION_FAKE_STATE/calls.log"
	values="$FUSION_FAKE_STATE/releases/fusion/core-api/values"
	grep -qxF 'podAnnotations.prometheus\.io/scrape=true' "$values"
	grep -qxF 'podAnnotations.a=b,c=x' "$values"
	grep -qxF 'note={a,b}' "$values"
	grep -qxF 'path=C:\tmp,x' "$values"
	grep -qxF 'replicaCount=1' "$values"
}

# A .fusion from a CI cache or a tarball may hold links planted to make
# fusion write, truncate or chmod files elsewhere: each is refused by name
# before anything is opened, and what it points at is left as it was.
@test "links planted in the state directory are refused by name, nothing outside is written or chmodded" {
	out="$BATS_TEST_TMPDIR/outside"
	for link in lock running salt cache.db cache.db-wal cache.db-shm logs artifacts secrets tmp \
	    logs/build:core-api.log artifacts/core-api.yaml; do
		rm -rf "$STATE" "$out"
		mkdir -p "$STATE/logs" "$STATE/artifacts" "$out/dir"
		echo precious >"$out/file"
		chmod 644 "$out/file"
		chmod 755 "$out/dir"
		case $link in
		logs | artifacts | secrets | tmp) rmdir "$STATE/$link" 2>/dev/null || true
			ln -s "$out/dir" "$STATE/$link" ;;
		*) ln -s "$out/file" "$STATE/$link" ;;
		esac
		run fx up core-api
		[ "$status" -ne 0 ] || { echo "$link: status 0"; return 1; }
		[[ $output == *"$STATE/$link: a symbolic link in the state directory"* ]] || {
			echo "$link: $output"; return 1; }
		[ "$(cat "$out/file")" = precious ] || { echo "$link: file written"; return 1; }
		[ "$(stat -c %a "$out/file")" = 644 ] || { echo "$link: file chmodded"; return 1; }
		[ "$(stat -c %a "$out/dir")" = 755 ] || { echo "$link: dir chmodded"; return 1; }
		[ -z "$(ls -A "$out/dir")" ] || { echo "$link: written into the dir"; return 1; }
		[ -L "$STATE/$link" ]
	done
	# read-only commands refuse it too
	run fx status
	[ "$status" -ne 0 ]
	[[ $output == *"$STATE/artifacts/core-api.yaml: a symbolic link"* ]]
}
