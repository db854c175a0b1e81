# SPDX-License-Identifier: MIT
# ticketd - one top-level Makefile.  Each flavour (default, asan, fuzz)
# builds into its own directory under build/ so objects never mix.
#
#   make            build everything (build/)
#   make test       install deps, build and run every test; last line
#                   "N passed, N failed" (make check: without the install)
#   make asan       the same tests under ASan + UBSan (build/asan/)
#   make valgrind   the unit tests under valgrind
#   make fuzz       run the libFuzzer targets (FUZZ_SECONDS each)
#   make bench      print parser/store throughput figures
#   make demo       the whole job on local servers (see README)
#   make lint format check-format clean deps

PREFIX  ?= /usr/local
B       ?= build
CC      ?= cc
PKGS     = libcurl sqlite3 libpcre2-8 libsystemd gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    = -Wall -Wextra -Werror -Wpedantic -Wshadow -Wcast-qual -Wformat=2 \
	  -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla \
	  -Wwrite-strings -Wundef -Wimplicit-fallthrough
HARDEN  = -fstack-protector-strong -fPIE
OPT     ?= -O2 -D_FORTIFY_SOURCE=2
CFLAGS  ?=
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g $(OPT) \
	   $(WARN) $(HARDEN) -I. $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LDLIBS  += -letpan $(PKG_LIBS)

COMMON_SRCS = \
	common/buf.c \
	common/strlist.c \
	common/utf8.c

PARSER_SRCS = \
	parser/charset.c \
	parser/decode.c \
	parser/rfc2047.c \
	parser/rfc2231.c \
	parser/subject.c \
	parser/rules.c \
	parser/html.c \
	parser/mime.c \
	parser/mimetree.c \
	parser/parser.c

STORE_SRCS = \
	store/blob.c \
	store/check.c \
	store/db.c \
	store/outbox.c \
	store/purge.c \
	store/query.c \
	store/store.c

DAEMON_SRCS = \
	daemon/ack.c \
	daemon/config.c \
	daemon/glue.c \
	daemon/imap.c \
	daemon/ingest.c \
	daemon/json.c \
	daemon/log.c \
	daemon/smtp.c

TICKETCTL_SRCS = \
	daemon/ticketctl.c \
	daemon/ctl_parse.c \
	daemon/ctl_store.c \
	daemon/ctl_ticket.c \
	daemon/ctl_admin.c

TICKETD_SRCS = \
	daemon/ticketd.c

objs = $(patsubst %.c,$(B)/%.o,$(1))

LIBCOMMON = $(B)/libcommon.a
LIBPARSER = $(B)/libparser.a
LIBSTORE  = $(B)/libstore.a
LIBDAEMON = $(B)/libdaemon.a
LIBS_ALL  = $(LIBDAEMON) $(LIBSTORE) $(LIBPARSER) $(LIBCOMMON)

PROGS = $(B)/ticketctl $(B)/ticketd

TEST_PARSER_SRCS = $(sort $(wildcard tests/parser/test_*.c))
TEST_STORE_SRCS  = $(sort $(wildcard tests/store/test_*.c))
TEST_DAEMON_SRCS = $(sort $(wildcard tests/daemon/test_*.c))
TEST_PROGS = $(patsubst %.c,$(B)/%,$(TEST_PARSER_SRCS) $(TEST_STORE_SRCS) \
	     $(TEST_DAEMON_SRCS)) $(B)/tests/fuzz/replay_parser
BENCH_PROGS = $(B)/bench/bench_parser $(B)/bench/bench_store $(B)/bench/rawfetch $(B)/bench/fsync

.PHONY: all test check unit asan valgrind fuzz bench demo lint format \
	check-format clean deps install uninstall
.DELETE_ON_ERROR:

all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(call objs,$(COMMON_SRCS))
	$(AR) rcs $@ $^
$(LIBPARSER): $(call objs,$(PARSER_SRCS))
	$(AR) rcs $@ $^
$(LIBSTORE): $(call objs,$(STORE_SRCS))
	$(AR) rcs $@ $^
$(LIBDAEMON): $(call objs,$(DAEMON_SRCS))
	$(AR) rcs $@ $^

$(B)/ticketctl: $(call objs,$(TICKETCTL_SRCS)) $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/ticketd: $(call objs,$(TICKETD_SRCS)) $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/parser/%: $(B)/tests/parser/%.o $(LIBPARSER) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/store/%: $(B)/tests/store/%.o $(LIBSTORE) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/daemon/%: $(B)/tests/daemon/%.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/daemon/test_ingest: LDFLAGS += -Wl,--wrap=parser_parse_prefix
$(B)/tests/fuzz/replay_parser: $(B)/tests/fuzz/replay.o \
    $(B)/tests/fuzz/fuzz_parser.o $(LIBPARSER) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/%: $(B)/bench/%.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PRECIOUS: $(B)/%.o

# The test runner prints every suite's result and ends with the total.
# `make test` first installs what is missing (scripts/install-deps.sh),
# then builds and runs in a fresh make, so pkg-config sees the new packages.
test:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory check

check: $(PROGS) $(TEST_PROGS)
	@B=$(B) sh tests/run.sh

unit: $(PROGS) $(TEST_PROGS)
	@B=$(B) TICKETD_UNIT_ONLY=1 sh tests/run.sh

asan:
	$(MAKE) B=build/asan OPT="-O1 -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" check

valgrind: $(TEST_PROGS)
	@B=$(B) TICKETD_VALGRIND=1 TICKETD_UNIT_ONLY=1 sh tests/run.sh

FUZZ_SECONDS ?= 60
# e.g. FUZZ_ARGS=-seed=1 for a run CI can repeat exactly
FUZZ_ARGS ?=
FUZZ_B = build/fuzz
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
	-I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
fuzz: $(FUZZ_B)/fuzz_parser
	@mkdir -p build/fuzz/corpus
	cp -n tests/fuzz/corpus/* build/fuzz/corpus/ 2>/dev/null || true
	$(FUZZ_B)/fuzz_parser $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -rss_limit_mb=2048 \
	    -dict=tests/fuzz/mail.dict -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus
$(FUZZ_B)/fuzz_parser: tests/fuzz/fuzz_parser.c $(COMMON_SRCS) $(PARSER_SRCS)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $^ -letpan $(PKG_LIBS)

bench: $(BENCH_PROGS) $(PROGS)
	@B=$(B) sh bench/run.sh

demo:
	sh scripts/install-deps.sh
	$(MAKE) all
	sh scripts/demo.sh

deps:
	sh scripts/install-deps.sh

ALL_C = $(sort $(wildcard common/*.[ch] parser/*.[ch] store/*.[ch] \
	daemon/*.[ch] tests/*/*.[ch] tests/*.h bench/*.c))
lint:
	@sh scripts/lint.sh $(ALL_C)
format:
	clang-format -i $(ALL_C)
check-format:
	@clang-format --dry-run -Werror $(ALL_C)

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# fuzz-imap: a scripted hostile IMAP server against daemon/imap.c, so
# libetpan's response parser is fuzzed through our own IMAP layer
# (tests/fuzz/fuzz_imap.c; seeds in tests/fuzz/imap-corpus).
.PHONY: fuzz-imap
FUZZ_IMAP_SRCS = tests/fuzz/fuzz_imap.c daemon/imap.c daemon/log.c \
	daemon/config.c $(COMMON_SRCS)
fuzz-imap: $(FUZZ_B)/fuzz_imap
	@mkdir -p build/fuzz/imap-corpus
	cp -n tests/fuzz/imap-corpus/* build/fuzz/imap-corpus/ 2>/dev/null || true
	$(FUZZ_B)/fuzz_imap $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=16384 \
	    -timeout=20 -rss_limit_mb=2048 -artifact_prefix=build/fuzz/imap- \
	    build/fuzz/imap-corpus
$(FUZZ_B)/fuzz_imap: $(FUZZ_IMAP_SRCS)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -pthread -o $@ $^ -letpan $(PKG_LIBS)

# ---- install / uninstall -------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
# Binaries, man pages, units (ExecStart and /etc/ticketd paths rewritten for
# PREFIX and SYSCONFDIR), sysusers.d and tmpfiles.d entries, and the
# examples under DOCDIR.  SYSCONFDIR/ticketd gets ticketd.conf and ack.txt
# only where they do not exist yet; uninstall removes them only when they
# are still the shipped text, so an edited configuration survives both.
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/ticketd
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL     ?= install
UNITS       = ticketd.service ticketd-purge.service ticketd-purge.timer
# the shipped files name /usr/bin and /etc/ticketd
INSTALL_SED = sed -e 's|/usr/bin/|$(BINDIR)/|g' \
	-e 's|/etc/ticketd|$(SYSCONFDIR)/ticketd|g'

install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(B)/ticketd $(B)/ticketctl $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 man/ticketctl.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 man/ticketd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 man/ticketd.8 $(DESTDIR)$(MANDIR)/man8/
	for u in $(UNITS); do \
	    $(INSTALL_SED) systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 systemd/ticketd.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/ticketd.conf
	$(INSTALL_SED) systemd/ticketd.tmpfiles \
	    >$(DESTDIR)$(TMPFILESDIR)/ticketd.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/ticketd.conf
	$(INSTALL_SED) etc/ticketd.conf.example \
	    >$(DESTDIR)$(DOCDIR)/ticketd.conf.example
	$(INSTALL_SED) systemd/ticketd-override.conf.example \
	    >$(DESTDIR)$(DOCDIR)/ticketd-override.conf.example
	chmod 0644 $(DESTDIR)$(DOCDIR)/ticketd.conf.example \
	    $(DESTDIR)$(DOCDIR)/ticketd-override.conf.example
	$(INSTALL) -m 0644 etc/ack.txt $(DESTDIR)$(DOCDIR)/ack.txt
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/ticketd
	[ -e $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf ] || { \
	    $(INSTALL_SED) etc/ticketd.conf.example \
		>$(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf && \
	    chmod 0644 $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf; }
	[ -e $(DESTDIR)$(SYSCONFDIR)/ticketd/ack.txt ] || \
	    $(INSTALL) -m 0644 etc/ack.txt $(DESTDIR)$(SYSCONFDIR)/ticketd/ack.txt

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ticketd $(DESTDIR)$(BINDIR)/ticketctl \
	    $(DESTDIR)$(MANDIR)/man1/ticketctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/ticketd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/ticketd.8 \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(DESTDIR)$(SYSUSERSDIR)/ticketd.conf \
	    $(DESTDIR)$(TMPFILESDIR)/ticketd.conf \
	    $(DESTDIR)$(DOCDIR)/ticketd.conf.example \
	    $(DESTDIR)$(DOCDIR)/ticketd-override.conf.example \
	    $(DESTDIR)$(DOCDIR)/ack.txt
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	if $(INSTALL_SED) etc/ticketd.conf.example | \
	    cmp -s - $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf; then \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf; fi
	if cmp -s etc/ack.txt $(DESTDIR)$(SYSCONFDIR)/ticketd/ack.txt; then \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/ticketd/ack.txt; fi
	-rmdir $(DESTDIR)$(SYSCONFDIR)/ticketd 2>/dev/null

# Fault suites (tests/faults/, README "Guarantees and the tests that prove
# them").  `make test` runs tests/faults/test_*.sh as well; test-faults
# adds the slow IMAP fault suite (imap_faults.sh) and ticketd under
# valgrind; soak files 50,000 messages watching RSS.
.PHONY: test-faults soak
test-faults: $(PROGS)
	@B=$(B) FAULTS_N=$${FAULTS_N:-2000} sh tests/faults/run.sh
soak: $(PROGS)
	@B=$(B) sh tests/faults/soak.sh
