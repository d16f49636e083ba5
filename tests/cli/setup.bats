#!/usr/bin/env bats
# scripts/setup (what `make test` and `make demo` run on a fresh machine),
# `make install`, and scripts/test's refusal of assertions that cannot fail. apt-get and dpkg-query are replaced by stand-ins on
# PATH that record what setup asks of them.

setup() {
	: "${TOP:?}" "${FUSION:?}"
	bin="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$bin"
	log="$BATS_TEST_TMPDIR/apt.log"
	# dpkg-query: every package installed but those in $MISSING
	cat >"$bin/dpkg-query" <<'SH'
#!/bin/sh
pkg=$(eval echo "\${$#}")
case " $MISSING " in *" $pkg "*) exit 1;; esac
printf 'install ok installed'
SH
	cat >"$bin/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >>"$log"
[ -z "\$APT_FAIL" ] || { echo "E: Unable to locate package" >&2; exit 100; }
SH
	printf '#!/bin/sh\nexit 0\n' >"$bin/systemctl"
	chmod +x "$bin"/*
	export PATH="$bin:$PATH"
}

@test "setup with everything installed: silent, exit 0, installs nothing" {
	MISSING="" run "$TOP/scripts/setup"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$log" ]
}

@test "setup installs exactly what is missing and says so" {
	MISSING="podman jq" run "$TOP/scripts/setup"
	[ "$status" -eq 0 ]
	[[ "$output" == *"fusion: scripts/setup: installing: podman jq"* ]]
	grep -q '^apt-get update' "$log"
	grep -q '^apt-get install -y -q --no-install-recommends podman jq$' "$log"
}

@test "setup fails loudly when apt-get fails" {
	MISSING="podman" APT_FAIL=1 run "$TOP/scripts/setup"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Unable to locate package"* ]]
	[[ "$output" == *"apt-get failed"* ]]
}

@test "make install puts fusion and the charts under DESTDIR/PREFIX" {
	run make -s -j2 -C "$TOP" install BUILD="$BATS_TEST_TMPDIR/build" PREFIX=/opt/fx \
		DESTDIR="$BATS_TEST_TMPDIR/root"
	[ "$status" -eq 0 ]
	run "$BATS_TEST_TMPDIR/root/opt/fx/bin/fusion" --version
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/root/opt/fx/share/fusion/helm/base-charts/service/Chart.yaml" ]
	[ ! -L "$BATS_TEST_TMPDIR/root/opt/fx/share/fusion/helm" ]
}

@test "scripts/test refuses a bats file with a bare ! line, naming file:line, and runs the others" {
	mkdir -p "$BATS_TEST_TMPDIR/units"
	printf '#!/usr/bin/env bats\n@test "x" {\n\ttrue\n\t! false\n\ttrue\n}\n' >"$BATS_TEST_TMPDIR/bare.bats"
	printf '#!/usr/bin/env bats\nbats_require_minimum_version 1.5.0\n@test "y" {\n\trun ! false\n}\n' \
		>"$BATS_TEST_TMPDIR/fine.bats"
	# a bats of its own: none of this one's variables, nor its libexec on PATH
	inner=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v bats-core | paste -sd:)
	run env -i PATH="$inner" HOME="$HOME" FUSION="$FUSION" UNIT_DIR="$BATS_TEST_TMPDIR/units" \
		TESTS="$BATS_TEST_TMPDIR/bare.bats $BATS_TEST_TMPDIR/fine.bats" "$TOP/scripts/test"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$BATS_TEST_TMPDIR/bare.bats:4: a bare \`! cmd\` asserts nothing"* ]]
	[[ "$output" == *"1 passed, 1 failed"* ]]
}
