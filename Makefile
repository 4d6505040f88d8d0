# hanko - one non-recursive Makefile. `make` builds build/$(CONFIG)/hanko.
#   make test          install missing build/test packages, build, run every suite
#   make test-one SUITE=name   one suite (tests/sh/NAME.sh or a unit test such
#                      as test_auth), release build, "N passed, N failed"
#   make demo          sign and verify the bundled sample messages
#   make SAN=asan ...  AddressSanitizer + UndefinedBehaviorSanitizer build
#   make check         tests plus header, layering and format checks

SAN	?=
CONFIG	?= $(if $(SAN),$(SAN),release)
B	:= build/$(CONFIG)
CC	?= cc

WARN	:= -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion \
	   -Wcast-qual -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	   -Wold-style-definition -Wwrite-strings -Wformat=2 -Wundef -Wvla \
	   -Walloca -Wnull-dereference -Wimplicit-fallthrough -Wswitch-enum \
	   -Wdouble-promotion
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
WARN	+= -Wcast-align
else
WARN	+= -Wcast-align=strict
endif
ifdef CI
WERROR	?= -Werror
endif

PKGS	:= libcrypto libssl liburing ldns libunbound libpsl libidn2
# libmicrohttpd: its header only; tools/cli_metrics.c opens the library
# when --metrics is given (it says why).
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
# Asked separately: libunbound's .pc names libevent, whose absence makes
# one combined --cflags query fail and print nothing.
REPORT_PKGS := libxml-2.0 zlib libarchive sqlite3 json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(MHD_CFLAGS) \
	   $(shell pkg-config --cflags $(REPORT_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Linked only into hanko-report (tools/cli_report_exec.c says why), the
# unit tests and the benchmarks.
REPORT_LIBS := $(shell pkg-config --libs $(REPORT_PKGS) 2>/dev/null)

CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -g $(WARN) $(WERROR) $(PKG_CFLAGS) -I.
ifeq ($(SAN),asan)
OPT	:= -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LDSAN	:= -fsanitize=address,undefined
ALLOC_SRC := tools/alloc_libc.c
ALLOC_LIBS :=
else ifeq ($(SAN),tsan)
OPT	:= -O1 -fsanitize=thread -fno-omit-frame-pointer
LDSAN	:= -fsanitize=thread
ALLOC_SRC := tools/alloc_libc.c
ALLOC_LIBS :=
else
OPT	:= -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=3 -DNDEBUG
LDSAN	:=
ALLOC_SRC := tools/alloc_mimalloc.c
ALLOC_LIBS := -lmimalloc
endif
CFLAGS	?=
CFLAGS	+= $(CFLAGS_BASE) $(OPT) -MMD -MP
LDFLAGS	+= $(LDSAN)
LIBS	:= $(PKG_LIBS) -lmilter -lpthread

CORE_SRC  := $(wildcard core/*.c)
IO_SRC    := $(wildcard io/*.c)
TOOLS_SRC := $(filter-out tools/alloc_%.c,$(wildcard tools/*.c)) $(ALLOC_SRC)
FAKE_SRC  := $(wildcard tests/fake/*.c)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ   := $(patsubst %.c,$(B)/%.o,$(CORE_SRC) $(IO_SRC))
TOOLS_OBJ := $(patsubst %.c,$(B)/%.o,$(TOOLS_SRC))
FAKE_OBJ  := $(patsubst %.c,$(B)/%.o,$(FAKE_SRC))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

.PHONY: all deps test test-one test-suites demo check check-headers check-layering \
	format lint clean bench bench-deps fuzz fuzz-replay vectors-update asan \
	install uninstall deb

all: $(B)/hanko $(B)/hanko-report $(B)/hanko-fault $(UNIT_BIN) $(BENCH_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libhanko.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libcli.a: $(filter-out $(B)/tools/hanko.o $(B)/tools/hanko_report.o,$(TOOLS_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(B)/hanko: $(B)/tools/hanko.o $(B)/libcli.a $(B)/libhanko.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(ALLOC_LIBS)

$(B)/hanko-report: $(B)/tools/hanko_report.o $(B)/libcli.a $(B)/libhanko.a
	$(CC) $(LDFLAGS) -o $@ $^ $(REPORT_LIBS) $(LIBS) $(ALLOC_LIBS)

# The fault-injection build for the pipeline tests: HANKO_FAULT=op:nth
# makes the nth file-system step fail or end the process. Never installed.
$(B)/tools/cli_batch_fault.o: tools/cli_batch.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DHANKO_FAULT_HOOK -c $< -o $@

$(B)/hanko-fault: $(B)/tools/hanko.o $(B)/tools/cli_batch_fault.o \
    $(B)/libcli.a $(B)/libhanko.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(ALLOC_LIBS)

$(B)/tests/%: tests/unit/%.c $(FAKE_OBJ) $(B)/libcli.a $(B)/libhanko.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(FAKE_OBJ) $(B)/libcli.a \
	    $(B)/libhanko.a $(REPORT_LIBS) $(LIBS) $(ALLOC_LIBS) -lcmocka

$(B)/bench/%: bench/%.c $(B)/libhanko.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libhanko.a $(REPORT_LIBS) $(LIBS)

deps:
	@sh tests/deps.sh

# The one test command: bootstrap, build release, ASan+UBSan and TSan
# configs with warnings as errors, run every suite (TSan: the pipeline
# suites), print one summary.
test: deps
	@$(MAKE) --no-print-directory WERROR=-Werror all
	@$(MAKE) --no-print-directory WERROR=-Werror SAN=asan all
	@$(MAKE) --no-print-directory WERROR=-Werror SAN=tsan build/tsan/hanko \
	    build/tsan/hanko-fault
	@sh tests/run.sh

test-suites:
	@sh tests/run.sh

# One suite alone, in the release configuration, counted as make test
# counts: make test-one SUITE=dmarc_scenarios (or SUITE=test_auth).
test-one:
	@if [ -z "$(SUITE)" ]; then \
	    echo "usage: make test-one SUITE=name (tests/sh/NAME.sh or test_x)"; \
	    exit 64; fi
	@$(MAKE) --no-print-directory CONFIG=release SAN= all
	@CONFIGS=release SUITE="$(SUITE)" sh tests/run.sh

asan:
	@$(MAKE) --no-print-directory SAN=asan all

demo: deps
	@$(MAKE) --no-print-directory all
	@sh demo/demo.sh $(B)/hanko

check: test check-headers check-layering

check-headers:
	@sh tests/check-headers.sh "$(CC)" "$(CFLAGS_BASE)"

check-layering:
	@sh tests/check-layering.sh

format:
	clang-format -i core/*.[ch] io/*.[ch] tools/*.[ch] tests/unit/*.c \
	    tests/fake/*.[ch]

# The same gates as tests/sh/static_analysis.sh (checks in .clang-tidy).
lint:
	clang-tidy --quiet $(CORE_SRC) $(IO_SRC) $(TOOLS_SRC) -- -std=c17 \
	    -D_GNU_SOURCE -I. $(PKG_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
	    --enable=warning,portability,performance -I. core io tools

clean:
	rm -rf build

# make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=...]: the binary, the
# man page, the systemd unit and the example configuration; nothing else.
# make uninstall removes exactly these files (and the directories left
# empty that only hanko uses).
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/hanko
UNITDIR	?= $(PREFIX)/lib/systemd/system
# hanko finds hanko-report as ../lib/hanko/ from its own directory, so
# BINDIR stays $(PREFIX)/bin.
HELPERDIR := $(PREFIX)/lib/hanko
EXAMPLES := KeyTable SigningTable watch.env milter.conf
UNITS	:= hanko-watch@.service hanko-milter.service

install: $(B)/hanko $(B)/hanko-report
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(HELPERDIR)
	install -m 0755 $(B)/hanko $(DESTDIR)$(BINDIR)/hanko
	install -m 0755 $(B)/hanko-report $(DESTDIR)$(HELPERDIR)/hanko-report
	install -m 0644 doc/hanko.1 $(DESTDIR)$(MANDIR)/man1/hanko.1
	install -m 0644 $(addprefix doc/systemd/,$(UNITS)) $(DESTDIR)$(UNITDIR)/
	install -m 0644 $(addprefix doc/examples/,$(EXAMPLES)) \
	    $(DESTDIR)$(DOCDIR)/examples/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hanko $(DESTDIR)$(MANDIR)/man1/hanko.1
	rm -f $(DESTDIR)$(HELPERDIR)/hanko-report
	-rmdir $(DESTDIR)$(HELPERDIR) 2>/dev/null
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(EXAMPLES))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian package (debian/), built in place: ../hanko_*.deb.
deb:
	dpkg-buildpackage -us -uc -b

-include $(shell find build -name '*.d' 2>/dev/null)

# Regenerate tests/vectors/*/ golden .expect files (review git diff after).
vectors-update: $(B)/hanko
	@sh tests/vectors-update.sh $(abspath $(B)/hanko)

# Benchmarks (bench/README.md). QUICK=1: tiny run, checks rows only, no speeds.
# PROFILE=1: adds perf/callgrind top functions (build/bench/profile.txt).
# FULL=1: every --io/fsync variant for every algorithm and worker count.
# bench/run.py builds its own helpers; bench/peers/ is outside the
# bench/*.c wildcard because peer_opendkim needs -lopendkim.
BENCH_FLAGS := $(if $(QUICK),--quick) $(if $(PROFILE),--profile) $(if $(FULL),--full)

bench: $(B)/hanko
	@/usr/bin/python3 bench/run.py --hanko $(B)/hanko $(BENCH_FLAGS)

bench-deps:
	@sh bench/deps.sh

# Fuzzing (tests/fuzz/README.md): `make fuzz` builds the libFuzzer targets
# with clang (ASan+UBSan) into build/fuzz/ and runs each FUZZ_SECONDS, two
# at a time; `make fuzz-replay` replays the seed corpora and reproducers
# without libFuzzer ($(CC); SAN=asan for the sanitizers), as make test does.
FUZZ_SECONDS ?= 600

fuzz:
	@sh tests/fuzz/build.sh
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-replay:
	@CC="$(CC)" SAN="$(SAN)" sh tests/fuzz/replay.sh build/fuzz-replay
