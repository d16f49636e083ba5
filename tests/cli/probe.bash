# probe.bash - a workspace of one service, "probe", whose build copies its
# whole context into the image (FROM scratch, COPY . /ctx/), to compare
# what fusion hashes with what the builder really sends. Load it after
# helpers (fx_setup gives podman its isolated storage).
#
#   PWS   the workspace, PCTX the probe's repo and context, PCAT its catalog,
#         PSTATE its state directory

# probe_setup BUILDER [BUILD-IGNORE-PATTERN...]
probe_setup() {
	PWS=$BATS_TEST_TMPDIR/pws
	PCTX=$PWS/probe
	PCAT=$PWS/local-dev/config/service-catalog.yaml
	PSTATE=$PWS/local-dev/config/.fusion
	local builder=$1 p
	shift
	rm -rf "$PWS"
	mkdir -p "$PCTX" "$PWS/local-dev/config" "$PWS/local-dev/helm/chart/templates"
	printf 'apiVersion: v2\nname: chart\nversion: 0.1.0\n' >"$PWS/local-dev/helm/chart/Chart.yaml"
	{
		printf 'version: 1\nworkspace:\n  root: ../..\n  builder: %s\n' "$builder"
		printf 'defaults:\n  chart: ../helm/chart\nservices:\n  probe:\n'
		if [ $# -gt 0 ]; then
			printf '    build:\n      ignore:\n'
			for p in "$@"; do printf '        - "%s"\n' "$p"; done
		else
			printf '    image: probe\n'
		fi
	} >"$PCAT"
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$PCTX/Containerfile"
}

pfx() {
	"$FUSION" -f "$PCAT" "$@"
}

# The context entries fusion hashes for the build (paths; a directory ends
# in '/'), sorted.
probe_hashed() (
	set -o pipefail
	pfx inputs build:probe | sed -n 's/^file:\([^\t]*\)\t.*/\1/p' | LC_ALL=C sort
)

# The entries under /ctx of image ID (paths; a directory ends in '/'),
# sorted; with -l, "TYPE MODE PATH" lines as find prints them. Fails when
# a command does (pipefail), and unmounts the image whatever happened.
image_entries() (
	set -o pipefail
	local long= id m rc=0
	[ "$1" = -l ] && { long=1; shift; }
	id=$1
	m=$(podman image mount "$id") || return
	if [ -n "$long" ]; then
		(cd "$m/ctx" && find . -mindepth 1 -printf '%y %m %P\n')
	else
		(cd "$m/ctx" && find . -mindepth 1 \( -type d -printf '%P/\n' -o -printf '%P\n' \))
	fi | LC_ALL=C sort || rc=$?
	podman image umount "$id" >/dev/null || rc=$?
	return "$rc"
)

# The image fusion's last build of the probe made.
probe_image() {
	cat "$PSTATE/artifacts/probe.iid"
}
