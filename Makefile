# fusion - see README.md. `make` builds build/fusion; `make test` runs every
# suite; `make check` runs them under ASan+UBSan; `make bench` the benchmarks.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKGS = yaml-0.1 libxxhash sqlite3 libcurl libcrypto

# Run scripts/setup first when a library or tool is missing (a fresh machine).
HAVE_DEPS := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && command -v podman >/dev/null && command -v bats >/dev/null && command -v dot >/dev/null && echo yes)
ifneq ($(HAVE_DEPS),yes)
$(info fusion: build dependencies are missing: running scripts/setup)
SETUP_RC := $(shell scripts/setup >&2; echo $$?)
ifneq ($(SETUP_RC),0)
$(error fusion: scripts/setup failed (see above))
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CSTD = -std=c17 -D_GNU_SOURCE
WARN = -Wall -Wextra -Werror -Wno-unused-parameter
OPT ?= -O2 -g
CFLAGS ?=
SAN ?=
ALL_CFLAGS = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRC = $(wildcard engine/*.c rules/*.c config/*.c)
LIB_SRC := $(filter-out engine/main.c,$(LIB_SRC))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/fusion

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libfusion.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fusion: $(BUILD)/engine/main.o $(BUILD)/libfusion.a
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libfusion.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

units: $(UNIT_BIN)

test: $(BUILD)/fusion $(UNIT_BIN)
	@FUSION=$(abspath $(BUILD)/fusion) UNIT_DIR=$(abspath $(BUILD)/tests) scripts/test

# AddressSanitizer + UndefinedBehaviorSanitizer build in its own directory.
check:
	$(MAKE) BUILD=build/san OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

bench: $(BUILD)/fusion
	@FUSION=$(abspath $(BUILD)/fusion) tests/bench/run

demo: $(BUILD)/fusion
	@FUSION=$(abspath $(BUILD)/fusion) scripts/demo

install: $(BUILD)/fusion
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fusion
	install -m 755 $(BUILD)/fusion $(DESTDIR)$(PREFIX)/bin/fusion
	cp -RL helm $(DESTDIR)$(PREFIX)/share/fusion/

clean:
	rm -rf build

.PHONY: all units test check bench demo install clean
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
