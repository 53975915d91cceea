# polyrec build. `make` builds build/polyrec and build/libpolyrec.a;
# `make test` runs the test suite twice (optimised, then ASan+UBSan);
# `make bench` runs the benchmarks; `make demo` runs the embedded example.
# Missing Debian packages are installed by scripts/bootstrap.sh first.

CC      ?= cc
PKGS    := openblas lapacke libpng libjpeg libwebp zlib
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS    := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
OPT     ?= -O3 -g -fno-math-errno
# Built where it runs (make demo / make test), so the host's vector units are fair game.
ARCH    ?= -march=native
# pkg-config is evaluated lazily (=), after the bootstrap stamp exists
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  = -std=c11 $(OPT) $(ARCH) $(WARN) $(DEFS) -pthread -Iinclude -Isrc $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(PKG_LIBS) -lm -pthread

B       ?= build
LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
CLI_SRC := $(shell find src/cli -name '*.c' | sort)
TEST_SRC:= $(shell find tests -name 'test_*.c' | sort)
BENCH_SRC:= $(shell find bench -name 'bench_*.c' 2>/dev/null | sort)
BENCH_TOOLS:= $(patsubst bench/%.c,$(B)/bench/%,$(filter-out bench/bench_%.c,$(wildcard bench/*.c)))
DEMO_SRC:= $(shell find demo -name '*.c' 2>/dev/null | sort)
TEST_HELPERS := $(shell find tests -name '*.c' ! -name 'test_*.c' | sort)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/obj/%.o)
HELP_OBJ:= $(TEST_HELPERS:%.c=$(B)/obj/%.o)
TEST_BIN:= $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(B)/bench/%)
DEMO_BIN:= $(DEMO_SRC:demo/%.c=$(B)/demo/%)
DEPS_OK := build/.deps-ok

.PHONY: all test test-fast test-asan bench demo clean deps
all: $(B)/polyrec $(B)/libpolyrec.a $(DEMO_BIN)

$(DEPS_OK): scripts/bootstrap.sh
	@scripts/bootstrap.sh
	@mkdir -p build && touch $@
deps: $(DEPS_OK)

# Objects depend on the flags they were built with: changing OPT or ARCH rebuilds.
$(B)/.cflags: FORCE | $(DEPS_OK)
	@mkdir -p $(B); echo '$(CFLAGS)' | cmp -s - $@ || echo '$(CFLAGS)' > $@
.PHONY: FORCE
FORCE:

$(B)/obj/%.o: %.c $(B)/.cflags | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libpolyrec.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/polyrec: $(CLI_OBJ) $(B)/libpolyrec.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(B)/libpolyrec.a $(LDLIBS)

$(B)/tests/%: tests/%.c $(HELP_OBJ) $(B)/libpolyrec.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(HELP_OBJ) $(B)/libpolyrec.a $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libpolyrec.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(B)/libpolyrec.a $(LDLIBS)

$(B)/demo/%: demo/%.c $(B)/libpolyrec.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Idemo -MMD -MP -o $@ $< $(B)/libpolyrec.a $(LDLIBS)

# The optimised suite, then the same suite under AddressSanitizer + UBSan.
test:
	@rm -f build/.counts-*; st=0; \
	$(MAKE) --no-print-directory test-fast || st=1; \
	$(MAKE) --no-print-directory test-asan || st=1; \
	cat build/.counts-* 2>/dev/null | awk '{p+=$$1; f+=$$2; s+=$$3} END {printf "total: %d passed, %d failed, %d skipped\n", p, f+0, s}'; \
	exit $$st

test-fast: $(B)/polyrec $(DEMO_BIN) $(TEST_BIN)
	@POLYREC=$(B)/polyrec scripts/run-tests.sh "optimised" $(TEST_BIN)

test-asan: | $(DEPS_OK)
	@$(MAKE) --no-print-directory B=build/asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    build/asan/polyrec $(TEST_SRC:tests/%.c=build/asan/tests/%)
	@POLYREC=build/asan/polyrec PR_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    scripts/run-tests.sh "asan+ubsan" $(TEST_SRC:tests/%.c=build/asan/tests/%)

bench: $(B)/polyrec $(BENCH_BIN) $(BENCH_TOOLS)
	@POLYREC=$(B)/polyrec scripts/run-bench.sh $(BENCH_BIN) $(wildcard bench/*.sh)

demo: $(B)/polyrec $(DEMO_BIN)
	@scripts/demo.sh

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
