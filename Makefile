# fusion - see README.md. `make` builds build/fusion (it needs a C compiler
# and the libraries below, nothing else); `make test` runs every suite;
# `make check` runs them under ASan+UBSan; `make bench` the benchmarks;
# `make demo` the demo. Those four first run scripts/setup when something
# they need is missing, so on a fresh Debian machine they work as they are.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKGS = yaml-0.1 libxxhash sqlite3

CSTD = -std=c17 -D_GNU_SOURCE
WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wmissing-prototypes
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

ALL_CFLAGS = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LIBS = $(PKG_LIBS) -lpthread

LIB_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c rules/*.c config/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
OBJ := $(BUILD)/engine/main.o $(LIB_OBJ) $(UNIT_OBJ)

all: $(BUILD)/fusion

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libfusion.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fusion: $(BUILD)/engine/main.o $(BUILD)/libfusion.a
	$(CC) $(LDFLAGS) $(OPT) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libfusion.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(OPT) $(SAN) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

units: $(UNIT_BIN)

# What the suites, the demo and the benchmarks need from scripts/setup.
# A missing one has an empty rule, so make thinks it remade it: the stamp
# is then out of date and scripts/setup runs (it installs only what is
# missing, and nothing when all is there). A newer scripts/setup does the
# same.
SETUP_NEEDS = /usr/bin/pkg-config /usr/include/yaml.h /usr/include/xxhash.h \
	/usr/include/sqlite3.h /usr/include/cmocka.h /usr/bin/bats /usr/bin/dot \
	/usr/bin/podman /usr/bin/jq /usr/bin/sqlite3 /usr/sbin/nginx
$(SETUP_NEEDS):
$(BUILD)/setup.stamp: scripts/setup $(SETUP_NEEDS)
	scripts/setup
	@mkdir -p $(dir $@)
	@touch $@

# Each suite builds in a sub-make, which reads this Makefile (and asks
# pkg-config) again once setup is done.
test: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory $(BUILD)/fusion units
	@FUSION=$(abspath $(BUILD)/fusion) UNIT_DIR=$(abspath $(BUILD)/tests) scripts/test

# AddressSanitizer + UndefinedBehaviorSanitizer build in its own directory.
check: $(BUILD)/setup.stamp
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

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

.PHONY: all units test check bench demo install clean
# The unit tests' objects are made by the pattern rule: keep them.
.SECONDARY: $(UNIT_OBJ)

-include $(OBJ:.o=.d)
