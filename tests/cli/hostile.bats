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
