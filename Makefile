# fusion - see README.md. `make` builds build/fusion (it needs a C compiler
# and the libraries below, nothing else); `make test` runs every suite but
# the slow command-line tests (`make check-slow`) and the libFuzzer runs
# (`make fuzz`); `make check` runs them all under ASan+UBSan; `make bench` the benchmarks;
# `make demo` the demo; `make valgrind` the tests under memcheck; `make fuzz` the fuzz targets (clang's libFuzzer) for
# FUZZ_SECONDS each. Those first run scripts/setup when something they need
# is missing, so on a fresh Debian machine they work as they are.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKGS = yaml-0.1 libxxhash sqlite3 libcurl libcrypto

CSTD = -std=c17 -D_GNU_SOURCE
WARN = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wmissing-prototypes
# Warnings fail the build only where the project's own builds ask for it
# (make test, check, check-builders, valgrind, fuzz-build, and so CI): a
# user's plain `make` with a newer compiler still builds.
WERROR ?=
OPT ?= -O2 -g
CFLAGS ?=
LDFLAGS ?=
SAN ?=

# pkg-config runs when a recipe first needs its answer, never while the
# Makefile is read: `make clean` asks nothing, and the suites' sub-make
# (below) asks only after scripts/setup has installed the libraries.
# Each is computed once (the variable replaces itself with its value).
pkg = $(if $(shell pkg-config --exists $(1) && echo ok),$(shell pkg-config $(2) $(1)),$(error \
	fusion: pkg-config does not find $(1): run scripts/setup (or make test, which runs it)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg,$(PKGS),--cflags))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(call pkg,$(PKGS),--libs))$(PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(call pkg,cmocka,--libs))$(CMOCKA_LIBS)

ALL_CFLAGS = $(CSTD) $(WARN) $(WERROR) $(OPT) $(SAN) -Iinclude $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LIBS = $(PKG_LIBS) -lpthread

# The layers, lowest first (docs/DESIGN.md, "The layers"): base/ the
# building blocks, engine/ the generic build-graph engine, config/ the
# catalog, rules/ the node kinds and tool back-ends, cli/ the commands.
# scripts/layers checks that no file includes a header of a layer above it.
LAYERS = base engine config rules cli
LIB_SRC := $(filter-out cli/main.c,$(wildcard $(LAYERS:%=%/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Fuzz targets: replayed on their saved inputs by every build (any
# compiler), fuzzed by clang's libFuzzer in FUZZ_BUILD.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(BUILD)/tests/fuzz/replay.o
REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/replay/fuzz_%)
FUZZ_BUILD ?= $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
# make test's libFuzzer runs (0: none; the saved inputs replay in any case):
# make fuzz runs them for FUZZ_SECONDS each.
TEST_FUZZ_SECONDS ?= 0
# memcheck as `make valgrind` runs it on the unit tests and fuzz replays
# (tests/valgrind/fusion runs fusion the same way).
VALGRIND = valgrind -q --error-exitcode=97 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-origins=yes
OBJ := $(BUILD)/cli/main.o $(LIB_OBJ) $(UNIT_OBJ) $(FUZZ_OBJ)
# Helpers the command-line tests run (tests/tools: one file each, no library).
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

all: $(BUILD)/fusion

# Every object depends on the flags it was compiled with: a build with
# other flags (WERROR, SAN, OPT, CFLAGS) recompiles, as ninja does when a
# command line changes. $(BUILD)/flags is rewritten only when they differ
# (decided as the Makefile is read, so `make -n` stays exact).
FLAGS_NOW = $(CC) $(CSTD) $(WARN) $(WERROR) $(OPT) $(SAN) $(CFLAGS)
$(BUILD)/flags: $(if $(subst x$(FLAGS_NOW),,x$(file <$(BUILD)/flags)),FORCE)
	@mkdir -p $(dir $@)
	@echo '$(FLAGS_NOW)' >$@

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libfusion.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fusion: $(BUILD)/cli/main.o $(BUILD)/libfusion.a
	$(CC) $(LDFLAGS) $(OPT) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libfusion.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(OPT) $(SAN) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

$(BUILD)/replay/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libfusion.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(OPT) $(SAN) -o $@ $^ $(LIBS)

# Linked with libFuzzer's main: only in the clang build (fuzz-build), whose
# SAN holds -fsanitize=fuzzer-no-link.
$(BUILD)/fuzzers/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libfusion.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(OPT) $(subst fuzzer-no-link,fuzzer,$(SAN)) -o $@ $^ $(LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

units: $(UNIT_BIN) $(REPLAY_BIN)
tools: $(TOOL_BIN)

fuzzers: $(FUZZ_TARGETS:%=$(BUILD)/fuzzers/fuzz_%)

# The libFuzzer binaries, sanitized, in their own directory.
fuzz-build: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(SUBJOBS) WERROR=-Werror BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzzers

# Each target for FUZZ_SECONDS (60 unless given), its corpus kept in
# FUZZ_BUILD/corpus; what crashes lands in FUZZ_BUILD/crashes.
fuzz: fuzz-build
	@FUZZ_DIR=$(abspath $(FUZZ_BUILD)) tests/fuzz/run -t $(FUZZ_SECONDS) -k $(FUZZ_TARGETS)

# What the suites, the demo and the benchmarks need from scripts/setup.
# A missing one has an empty rule, so make thinks it remade it: the stamp
# is then out of date and scripts/setup runs (it installs only what is
# missing, and nothing when all is there). A newer scripts/setup does the
# same.
SETUP_NEEDS = /usr/bin/pkg-config /usr/include/yaml.h /usr/include/xxhash.h \
	/usr/include/sqlite3.h /usr/include/openssl/hmac.h /usr/include/cmocka.h /usr/bin/bats /usr/bin/dot \
	/usr/bin/podman /usr/bin/jq /usr/bin/sqlite3 /usr/sbin/nginx /usr/bin/clang \
	/usr/bin/valgrind /usr/bin/parallel /usr/bin/openssl /usr/include/openssl/evp.h /usr/bin/unzip \
	/usr/local/lib/fusion/helm /usr/local/lib/fusion/kubectl \
	/usr/include/$(shell gcc -print-multiarch 2>/dev/null)/curl/curl.h $(FUZZ_RUNTIME)
# clang's libFuzzer runtime (its path names clang's version); a path that
# does not exist when there is none, so that setup installs it.
FUZZ_RUNTIME := $(or $(firstword $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/*/libclang_rt.fuzzer*.a)),\
	/usr/lib/llvm/lib/clang/lib/linux/libclang_rt.fuzzer.a)
$(SETUP_NEEDS):
$(BUILD)/setup.stamp: scripts/setup $(SETUP_NEEDS)
	scripts/setup
	@mkdir -p $(dir $@)
	@touch $@

# The suites' sub-makes build on every CPU unless make was given -j.
SUBJOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))

# Each suite builds in a sub-make, which reads this Makefile (and asks
# pkg-config) again once setup is done.
# FUZZ_SECONDS=0 leaves the libFuzzer runs out (the saved inputs still replay).
# make check runs the slow tests too unless CHECK_SLOW=no.
CHECK_SLOW ?= all
# TEST_SLOW=no leaves out the bats tests tagged slow (scripts/test):
# make check-slow runs those alone, make check everything.
TEST_SLOW ?= no
test: $(BUILD)/setup.stamp $(if $(filter-out 0,$(TEST_FUZZ_SECONDS)),fuzz-build)
	@$(MAKE) --no-print-directory $(SUBJOBS) WERROR=-Werror $(BUILD)/fusion units tools
	@FUSION=$(abspath $(BUILD)/fusion) UNIT_DIR=$(abspath $(BUILD)/tests) \
		FX_TOOLS=$(abspath $(BUILD)/tests/tools) REPLAY_DIR=$(abspath $(BUILD)/replay) FUZZ_DIR=$(abspath $(FUZZ_BUILD)) \
		FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) TEST_SLOW=$(TEST_SLOW) FUSION_SANITIZED=$(if $(SAN),1) scripts/test

# The slow command-line tests alone: scale runs, long corpora, waits that
# need seconds of real time.
check-slow: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory TEST_SLOW=only TEST_FUZZ_SECONDS=0 test

# AddressSanitizer + UndefinedBehaviorSanitizer build in its own directory.
# The libFuzzer runs of `make test` are sanitized already: not repeated here.
check: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory WERROR=-Werror BUILD=$(BUILD)/san OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" TEST_FUZZ_SECONDS=0 TEST_SLOW=$(CHECK_SLOW) test

# fusion against the real podman on the whole differential corpus (a few
# minutes; `make check-slow` runs a small part of it).
check-builders: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(SUBJOBS) WERROR=-Werror $(BUILD)/fusion units
	@FUSION_CORPUS=full TESTS="$(abspath tests/cli/builders.bats)" FUSION=$(abspath $(BUILD)/fusion) \
		UNIT_DIR=$(abspath $(BUILD)/tests) scripts/test

# The command-line tests with fusion under valgrind's memcheck
# (tests/valgrind/fusion), and the unit tests and saved fuzz inputs under it
# too: any memcheck error fails the test that met it and is shown.
valgrind: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(SUBJOBS) WERROR=-Werror $(BUILD)/fusion units
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@FUSION=$(abspath tests/valgrind/fusion) FUSION_REAL=$(abspath $(BUILD)/fusion) \
		FUSION_VALGRIND_LOGS=$(abspath $(BUILD)/valgrind) VALGRIND="$(VALGRIND)" \
		UNIT_DIR=$(abspath $(BUILD)/tests) REPLAY_DIR=$(abspath $(BUILD)/replay) scripts/test

bench: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(BUILD)/fusion
	@FUSION=$(abspath $(BUILD)/fusion) tests/bench/run

demo: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(BUILD)/fusion
	@FUSION=$(abspath $(BUILD)/fusion) scripts/demo

install: $(BUILD)/fusion
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fusion
	install -m 755 $(BUILD)/fusion $(DESTDIR)$(PREFIX)/bin/fusion
	cp -RL helm $(DESTDIR)$(PREFIX)/share/fusion/

clean:
	rm -rf $(BUILD)

.PHONY: FORCE all units tools fuzzers fuzz-build fuzz test check check-slow check-builders valgrind bench demo install clean
# The unit tests' and fuzz targets' objects are made by pattern rules: keep them.
.SECONDARY: $(UNIT_OBJ) $(FUZZ_OBJ)

-include $(OBJ:.o=.d) $(TOOL_BIN:%=%.d)
