# dbpipe: make (build), make check (tests), make demo, make bench, make install PREFIX=...
CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
# Output directories: name others build*/ and bin*/, which .gitignore and
# `make clean` know (check-sanitize uses build-san/ and bin-san/).
BUILD ?= build
BIN ?= bin
# -pthread: dbdiff reads each input stream on a thread of its own.
CPPFLAGS += -D_GNU_SOURCE -pthread -Isrc/lib $(shell mysql_config --include)
WARN = -std=c11 -Wall -Wextra -Werror -Wno-missing-field-initializers
LIBS = -lxxhash -linih -lsqlite3 -lpq -lcsv -lz -lzstd $(shell mysql_config --libs) -lm -pthread

# The library: engine-neutral files in src/lib/, one folder per engine.
LIBSRC := $(sort $(wildcard src/lib/*.c src/lib/*/*.c))
LIBHDR := $(wildcard src/lib/*.h src/lib/*/*.h)
LIBOBJ := $(LIBSRC:src/lib/%.c=$(BUILD)/lib/%.o)
PROGSRC := $(sort $(wildcard src/*.c))
PROGS := $(PROGSRC:src/%.c=$(BIN)/%)
MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)

all: $(PROGS)

$(BUILD)/lib/%.o: src/lib/%.c $(LIBHDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# A thin archive: members keep their paths, so two engines may both have a read.o.
$(BUILD)/libdbpipe.a: $(LIBOBJ)
	rm -f $@
	ar rcs --thin $@ $^

$(BUILD)/%.o: src/%.c $(LIBHDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

$(BIN)/%: $(BUILD)/%.o $(BUILD)/libdbpipe.a
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdbpipe.a $(LIBS)

# Installs what a fresh Debian machine lacks (needs root or sudo).
deps:
	@sh scripts/install-deps

# The whole test suite, against real SQLite, PostgreSQL and MariaDB servers
# that the test harness starts and stops itself; then again under ASan/UBSan.
# The builds use every CPU; scripts/run-tests runs test files side by side
# (DBPIPE_TEST_JOBS).
NPROC := $(shell nproc 2>/dev/null || echo 1)
check: deps
	$(MAKE) -j$(NPROC) all
	bash scripts/run-tests
	$(MAKE) check-sanitize

# The same tests with AddressSanitizer and UndefinedBehaviorSanitizer.
check-sanitize:
	$(MAKE) -j$(NPROC) BUILD=build-san BIN=bin-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	DBPIPE_BIN=$(CURDIR)/bin-san ASAN_OPTIONS=detect_leaks=1 bash scripts/run-tests

demo: deps all
	sh examples/demo.sh

bench: all
	bash bench/run.sh

# Coverage-guided fuzzing of the stream reader and the JSON parser
# (libFuzzer, ASan, UBSan), FUZZ_SECONDS per target, from the seed corpus in
# fuzz/corpus/; what it learns goes to build-fuzz/, never into the seeds.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
fuzz:
	@sh scripts/install-deps fuzz
	$(MAKE) CC=clang BUILD=build-fuzz BIN=bin-fuzz CFLAGS="$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link" build-fuzz/libdbpipe.a
	for t in stream json; do \
		clang $(CPPFLAGS) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o build-fuzz/fuzz_$$t fuzz/fuzz_$$t.c \
			build-fuzz/libdbpipe.a $(LIBS) || exit 1; \
		mkdir -p build-fuzz/corpus-$$t; \
		build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
			-close_fd_mask=2 -artifact_prefix=build-fuzz/crash-$$t- \
			build-fuzz/corpus-$$t fuzz/corpus/$$t || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build*/ bin*/

.PHONY: all deps check check-sanitize demo bench fuzz install clean
.SECONDARY:
