# qtune build.  Sources are found by folder, so a new file in src/<layer>/
# or tests/<layer>/ needs no edit here.
PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := sqlite3 jansson yaml-0.1 zlib libzip libpq libcurl libmicrohttpd libcrypto libwebsockets
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Wshadow -Wformat-security -Wno-unused-parameter
BASE    := -std=c11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) -fvisibility=hidden
CFLAGS  ?= -O2 -g
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# CI runs `make test`, so the sanitizer build makes warnings fatal; a user's
# plain `make` (other compilers, newer warnings) keeps them non-fatal.
TEST_WERROR ?= -Werror
LDLIBS  := $(PKG_LIBS) -lm -lpthread -ldl
# libqtune.so.MAJOR.MINOR.PATCH with SONAME libqtune.so.MAJOR, from
# QT_VERSION in core.h (one place for the version).
VERSION := $(shell sed -n 's/^\#define QT_VERSION "\(.*\)"/\1/p' include/qtune/core.h)
SOMAJOR := libqtune.so.$(word 1,$(subst ., ,$(VERSION)))
SOFULL  := libqtune.so.$(VERSION)

LAYERS  := core data indicators engine strategies metrics storage optimize validate tune live report
LIB_SRC := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

B   := build
BT  := build-test
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_OBJ_T := $(LIB_SRC:%.c=$(BT)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ_T := $(CLI_SRC:%.c=$(BT)/obj/%.o)
TEST_BIN  := $(TEST_SRC:%.c=$(BT)/%)
BENCH_BIN := $(BENCH_SRC:%.c=$(B)/%)

.PHONY: all lib test test-build bench demo install clean bootstrap fuzz check-layers print-cflags
all: $(B)/bin/qtune $(B)/lib/libqtune.a $(B)/lib/libqtune.so

bootstrap:
	@scripts/bootstrap >&2

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(BT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(TEST_WERROR) $(SANFLAGS) -fPIC -MMD -MP -c $< -o $@

$(B)/lib/libqtune.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/lib/$(SOFULL): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SOMAJOR) -o $@ $^ $(LDLIBS)

# The runtime name and the link-time name are symlinks to the versioned file.
$(B)/lib/libqtune.so: $(B)/lib/$(SOFULL)
	ln -sf $(SOFULL) $(B)/lib/$(SOMAJOR)
	ln -sf $(SOFULL) $@

$(B)/bin/qtune: $(CLI_OBJ) $(B)/lib/libqtune.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(CLI_OBJ) $(B)/lib/libqtune.a $(LDLIBS)

$(BT)/lib/libqtune.a: $(LIB_OBJ_T)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BT)/bin/qtune: $(CLI_OBJ_T) $(BT)/lib/libqtune.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -rdynamic -o $@ $(CLI_OBJ_T) $(BT)/lib/libqtune.a $(LDLIBS)

$(BT)/tests/%: tests/%.c tests/qt_test.h $(BT)/lib/libqtune.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(TEST_WERROR) -Itests $(SANFLAGS) -rdynamic -o $@ $< $(BT)/lib/libqtune.a $(LDLIBS)

# A test program is rebuilt when a shared helper of its folder changes
# (header-only: tests/strategies/strat_util.h, tests/storage/storage_fixture.h).
$(foreach t,$(TEST_SRC),$(eval $(t:%.c=$(BT)/%): $(wildcard $(dir $(t))*.h)))
# The storage fixture also serves the tests of other folders that keep records.
$(foreach t,$(shell grep -l '"storage/storage_fixture.h"' $(TEST_SRC)),$(eval $(t:%.c=$(BT)/%): tests/storage/storage_fixture.h))

$(B)/bench/%: bench/%.c bench/bench.h $(B)/lib/libqtune.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -Ibench $(CFLAGS) -O3 -march=x86-64-v2 -o $@ $< $(B)/lib/libqtune.a $(LDLIBS)

test-build: $(TEST_BIN) $(BT)/bin/qtune $(B)/bin/qtune

test: bootstrap
	@$(MAKE) --no-print-directory -j2 test-build
	@tests/run.sh

bench: bootstrap
	@$(MAKE) --no-print-directory -j2 all $(BENCH_BIN) >&2
	@bench/run.sh

demo: bootstrap
	@$(MAKE) -s --no-print-directory -j2 all
	@scripts/demo

fuzz: bootstrap
	@scripts/fuzz

check-layers:
	@scripts/check-layers

# The compile flags scripts/check-layers hands to `cc -MM`.
print-cflags:
	@echo '$(BASE)'

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/qtune $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(B)/bin/qtune $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/lib/libqtune.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/lib/$(SOFULL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SOFULL) $(DESTDIR)$(PREFIX)/lib/$(SOMAJOR)
	ln -sf $(SOFULL) $(DESTDIR)$(PREFIX)/lib/libqtune.so
	install -m 644 include/qtune/*.h $(DESTDIR)$(PREFIX)/include/qtune/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PKGS)|' \
	    qtune.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/qtune.pc

clean:
	rm -rf $(B) $(BT)

# The HTML report embeds ECharts (pinned in web/package-lock.json) and its
# page script with .incbin; npm's install marker says node_modules is current.
ECHARTS_STAMP := web/node_modules/.package-lock.json
$(B)/obj/src/report/assets.o $(BT)/obj/src/report/assets.o: $(ECHARTS_STAMP) src/report/report.js src/report/dash.js src/report/backtest.js
$(ECHARTS_STAMP): web/package-lock.json
	@scripts/bootstrap >&2

-include $(LIB_OBJ:.o=.d) $(LIB_OBJ_T:.o=.d) $(CLI_OBJ:.o=.d) $(CLI_OBJ_T:.o=.d)
