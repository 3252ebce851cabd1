# SPDX-License-Identifier: ISC
#
# make            build cgi-bin/notices.fcgi and bin/pnsctl
# make test       install missing Debian packages, build, run every test
# make run        install missing packages, build, run the tool under
#                 lighttpd on 127.0.0.1:8080
# make install    install the programs, pnsctl and the configurations
#                 under PREFIX (default /usr/local), staged under DESTDIR
# make SANITIZE=1 ...   the same with ASan + UBSan
#
# Local overrides go in config.mk (not tracked).

-include config.mk

PKG_CONFIG	?= pkg-config
CC		?= cc
PREFIX		?= /usr/local
SYSCONFDIR	?= $(PREFIX)/etc
DEFAULT_CONFIG	?= $(SYSCONFDIR)/pns/pns.conf
BINDIR		?= $(PREFIX)/bin
CGIDIR		?= $(PREFIX)/lib/pns/cgi-bin
SHAREDIR	?= $(PREFIX)/share/pns
RUNSTATEDIR	?= /run
PYTHON		?= /usr/bin/python3

# libcurl and libjwt are opened with dlopen when first needed (pns_dl.h):
# their headers are needed to build, their libraries only at run time.
DEPS		 = fcgi libcrypto json-c
DLOPEN_DEPS	 = libcurl libjwt
# The programs link libcrypto and json-c statically: each CGI process
# spent about 1.4 ms of CPU having the dynamic loader map and relocate
# libcrypto.so.  Rebuild after an OpenSSL security update, or set
# STATIC_DEPS= to link them as shared libraries.  The tests link them
# shared, and libjwt too (they sign tokens with it).
STATIC_DEPS	?= libcrypto json-c
TEST_DEPS	 = check libjwt

WARN	 = -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
	   -Wwrite-strings -Wshadow -Wpointer-arith -Wformat=2 -Wvla
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -Iinclude -Isrc \
	   -DPNS_DEFAULT_CONFIG='"$(DEFAULT_CONFIG)"' \
	   $(shell $(PKG_CONFIG) --cflags $(DEPS) $(DLOPEN_DEPS) 2>/dev/null)
LIBS	 = $(shell $(PKG_CONFIG) --libs $(filter-out $(STATIC_DEPS),$(DEPS)) \
	   2>/dev/null)
ifneq ($(strip $(STATIC_DEPS)),)
LIBS	+= -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs $(STATIC_DEPS) \
	   2>/dev/null) -Wl,-Bdynamic
endif
LIBS	+= -pthread
SHARED_LIBS = $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null) -pthread
# notices.fcgi is linked wholly statically, libc and libfcgi included,
# and position-independent (the program's addresses still differ at
# each start).  A long-lived receiver then maps only the code it was
# linked with, not the whole of libc: about 1 MiB less resident per
# process (docs/performance.md).  A static program cannot load libcurl,
# so its key set fetches and its delivery worker run in lti.cgi, which
# must sit beside it (pns_child_helper).  Its relocations are packed
# (DT_RELR, binutils 2.38 and glibc 2.36 or later, as in Debian 12): the
# program moves itself into place at each start, and the usual table of
# them, 24 bytes for each of about 18,000 pointers, would be 0.4 MiB read
# and kept resident.  RECEIVER_LINK=-static gives up the random
# placement for up to 0.4 MiB less; RECEIVER_LINK= links it like the
# other programs.
RECEIVER_LINK	?= -static-pie -Wl,-z,pack-relative-relocs
RECEIVER_LIBS	 = $(shell $(PKG_CONFIG) --libs --static $(DEPS) 2>/dev/null) \
		   -pthread
# A program records only the libraries it calls (lti.cgi has no use for
# libfcgi): fewer for the loader to map and relocate at each start.
LDFLAGS	+= -Wl,--as-needed
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(TEST_DEPS) 2>/dev/null)

ifeq ($(SANITIZE),1)
# The sanitizers' run-time needs the dynamic loader.
RECEIVER_LINK =
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
VARIANT = san
else
VARIANT = std
endif

B	 = build/$(VARIANT)
LIB_SRC	 = $(wildcard src/*.c)
LIB_OBJ	 = $(LIB_SRC:src/%.c=$(B)/lib/%.o)
CTL_SRC	 = $(wildcard src/pnsctl/*.c)
CTL_OBJ	 = $(CTL_SRC:src/pnsctl/%.c=$(B)/pnsctl/%.o)
UNIT_SRC = $(wildcard tests/unit/check_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
LIBPNS	 = $(B)/libpns.a
PROGS	 = cgi-bin/notices.fcgi cgi-bin/lti.cgi bin/pnsctl

# A program of one source file and the library, linked like any other
# (recursive: $@ and $< are the recipe's).
LINK_DYNAMIC = $(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBPNS) $(LIBS)

.PHONY: all deps test unit integ run install clean valgrind fuzz FORCE

all: $(PROGS)

# Rebuild everything when the flags change (SANITIZE=1 and back).
$(B)/flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LIBS) $(RECEIVER_LINK)' | \
	    cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LIBS) \
	    $(RECEIVER_LINK)' > $@
build/variant: FORCE
	@mkdir -p build
	@echo '$(VARIANT)' | cmp -s - $@ || echo '$(VARIANT)' > $@

$(B)/lib/%.o: src/%.c $(wildcard include/*.h) src/banned.h $(B)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/pnsctl/%.o: src/pnsctl/%.c src/pnsctl/pnsctl.h $(wildcard include/*.h) $(B)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBPNS): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

cgi-bin/notices.fcgi: cgi-bin/notices.fcgi.c $(LIBPNS) $(wildcard include/*.h) build/variant $(B)/flags
ifeq ($(strip $(RECEIVER_LINK)),)
	$(LINK_DYNAMIC)
else
	@# Left out of what is shown: the linker's warnings that dlopen,
	@# getaddrinfo and gethostbyname need glibc's shared objects at run
	@# time.  They are linked in, never reached by notices.fcgi.
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(RECEIVER_LINK) -o $@ $< $(LIBPNS) \
	    $(RECEIVER_LIBS) 2>$(B)/receiver-link.log || \
	    { cat $(B)/receiver-link.log >&2; exit 1; }
	@grep -v -e "in statically linked applications requires" \
	    -e ": in function" $(B)/receiver-link.log >&2 || true
endif

cgi-bin/lti.cgi: cgi-bin/lti.cgi.c $(LIBPNS) $(wildcard include/*.h) build/variant
	$(LINK_DYNAMIC)

bin/pnsctl: $(CTL_OBJ) $(LIBPNS) build/variant
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBPNS) $(LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBPNS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(TEST_DEPS)) \
	    -DFIXTURES='"$(CURDIR)/tests/fixtures"' $(LDFLAGS) -o $@ $< \
	    $(LIBPNS) $(SHARED_LIBS) $(TEST_LIBS)

deps:
	@sh scripts/deps.sh test

unit: $(UNIT_BIN)
	@sh scripts/run-unit.sh $(UNIT_BIN)

integ: $(PROGS)
	$(PYTHON) tests/integ/test_notices.py
	$(PYTHON) tests/integ/test_launch.py
	$(PYTHON) tests/integ/test_register.py
	$(PYTHON) tests/integ/test_delivery.py
	$(PYTHON) tests/integ/test_deploy.py

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integ

run:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@sh scripts/run.sh

# The server configurations are written for PREFIX=/usr/local; installed
# copies name the directories chosen.  An existing pns.conf is kept: the
# sample is also installed beside the server configurations.
INSTALL_PATHS = -e 's|/usr/local/lib/pns/cgi-bin|$(CGIDIR)|g' \
		-e 's|/usr/local/etc/pns/pns.conf|$(DEFAULT_CONFIG)|g' \
		-e 's|/run/lighttpd/|$(RUNSTATEDIR)/lighttpd/|g'

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CGIDIR) \
	    $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(dir $(DEFAULT_CONFIG))
	install -m 0755 bin/pnsctl $(DESTDIR)$(BINDIR)/pnsctl
	install -m 0755 cgi-bin/notices.fcgi cgi-bin/lti.cgi $(DESTDIR)$(CGIDIR)
	sed $(INSTALL_PATHS) apache-conf/pns-apache.conf \
	    > $(DESTDIR)$(SHAREDIR)/pns-apache.conf
	sed $(INSTALL_PATHS) lighttpd-conf/pns-lighttpd.conf \
	    > $(DESTDIR)$(SHAREDIR)/pns-lighttpd.conf
	install -m 0644 apache-conf/htaccess $(DESTDIR)$(SHAREDIR)/htaccess
	install -m 0644 etc/pns.conf $(DESTDIR)$(SHAREDIR)/pns.conf.sample
	chmod 0644 $(DESTDIR)$(SHAREDIR)/pns-apache.conf \
	    $(DESTDIR)$(SHAREDIR)/pns-lighttpd.conf
	test -e $(DESTDIR)$(DEFAULT_CONFIG) || \
	    install -m 0644 etc/pns.conf $(DESTDIR)$(DEFAULT_CONFIG)

# valgrind cannot follow malloc in a static program: "make valgrind"
# runs the notice suite on a dynamically linked notices.fcgi of the same
# code, with a link to lti.cgi beside it for its helpers.
VG_FCGI	 = $(B)/dynamic/notices.fcgi

$(VG_FCGI): cgi-bin/notices.fcgi.c $(LIBPNS) $(wildcard include/*.h) $(B)/flags
	@mkdir -p $(dir $@)
	$(LINK_DYNAMIC)
	ln -sf $(CURDIR)/cgi-bin/lti.cgi $(dir $@)lti.cgi

valgrind: $(PROGS) $(UNIT_BIN) $(VG_FCGI)
	@PNS_FCGI_PROGRAM=$(CURDIR)/$(VG_FCGI) sh scripts/valgrind.sh \
	    $(UNIT_BIN)

clean:
	rm -rf build $(PROGS)

# Fuzzing with libFuzzer: make fuzz [FUZZ_SECONDS=60].  A separate build
# with clang; each harness runs for FUZZ_SECONDS over tests/fuzz/corpus.
FUZZ_SECONDS	?= 30
FUZZ_CC		?= clang
FZ		 = build/fuzz
FUZZ_CFLAGS	 = -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc \
		   -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=all \
		   $(shell $(PKG_CONFIG) --cflags $(DEPS) $(DLOPEN_DEPS) 2>/dev/null)
FUZZ_LIB_OBJ	 = $(LIB_SRC:src/%.c=$(FZ)/lib/%.o)
FUZZ_HARNESSES	 = body jws config
FUZZ_BIN	 = $(FUZZ_HARNESSES:%=$(FZ)/fuzz_%)

$(FZ)/lib/%.o: src/%.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/libpns.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJ)

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_store.c tests/fuzz/fuzz.h $(FZ)/libpns.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    tests/fuzz/fuzz_store.c $(FZ)/libpns.a $(SHARED_LIBS)

fuzz: $(FUZZ_BIN)
	@sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

# The benchmark of docs/performance.md: make bench [BENCH_ARGS=...], e.g.
# BENCH_ARGS="--duration 30" or BENCH_ARGS=--store-growth.  Installs the
# load generator and Node (scripts/deps.sh bench), which make test does
# not need.
.PHONY: bench
bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@$(PYTHON) bench/bench.py $(BENCH_ARGS)
