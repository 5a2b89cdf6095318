# poolbench: build, test, benchmark, grade.
#
#   make                         library, tests and benchmark programs
#   make test                    the test suite (Check), in build/release
#   make SANITIZE=address,undefined test
#   make SANITIZE=thread test    the same suite under a sanitizer, each in
#                                its own folder (build/address-undefined, ...)
#   make VALGRIND=1 test         the release suite under valgrind memcheck
#   make bench                   the benchmark suite (scripts/bench), ~6 min
#   make bench-quick             the same pipeline in under a minute
#   make grade [LESSON=NN]       grade the lessons' exercises
#                                (GRADE_ARGS=--solution: the reference ones)
#   make handout [OUT=x.tar.gz]  the students' archive of the lessons, without
#                                solutions or mutants (default under O)
#   make WERROR=1 ...            warnings are errors (CI sets this)
#   make O=/tmp/b ...            build under /tmp/b instead of build/
#   make examples                the programs of examples/, on the build tree
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#                                libpools.a, headers in include/poolbench/,
#                                poolbench.pc, the programs as
#                                poolbench-NAME, their man pages (help2man)
#   make uninstall               removes exactly what install installed
#
# Layout (see STYLE.md): pools/*.c make libpools.a; benchmarks/lib/*.c (the
# harness and the textbook pool) and benchmarks/cases/*.c (the case studies'
# server, site, crawler and images) make libbench.a; every benchmarks/*.c is
# one program in $(BUILD)/bin; every tests/test_*.c is one Check test
# program in $(BUILD)/tests (tests/test_*.cc too, built with $(CXX); the C
# ones are linked with tests/support.c, tests/test_faults_* with
# tests/faultinject.c too).  New files are picked up by wildcard: adding a
# program or a test never needs an edit here.

CC ?= cc
CFLAGS ?= -O2 -g
comma := ,
SANITIZE ?=
# O=DIR puts every build folder under DIR instead of build/.
O ?= build

ifeq ($(SANITIZE),)
BUILD := $(O)/release
else
BUILD := $(O)/$(subst $(comma),-,$(SANITIZE))
endif

WARN := -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wmissing-prototypes \
        -Wold-style-definition -Wvla -Wwrite-strings -Wformat=2 -fno-common
ifeq ($(WERROR),1)
WARN += -Werror
endif

BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -pthread $(WARN) \
               -Ipools -Ibenchmarks/lib -Ibenchmarks/cases -MMD -MP
BASE_LDLIBS := -pthread -lm -lrt

ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
BASE_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Check (Debian's "check") for the tests.
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

# The overhead benchmark compares against OpenMP tasks and GLib's
# GThreadPool when they are there.  OpenMP is left out of the ThreadSanitizer
# build: libgomp is not instrumented, so TSan would report its internal
# synchronisation as races.
BENCH_CFLAGS :=
BENCH_LIBS :=
ifneq ($(SANITIZE),thread)
BENCH_CFLAGS += -fopenmp
BENCH_LIBS += -fopenmp
endif
ifeq ($(shell pkg-config --exists glib-2.0 && echo yes),yes)
BENCH_CFLAGS += -DHAVE_GLIB $(shell pkg-config --cflags glib-2.0)
BENCH_LIBS += $(shell pkg-config --libs glib-2.0)
endif

# The version the programs report (--version, the JSON context): `git
# describe --always` of the checkout, with "-dirty" when tracked files are
# changed, as --dirty would say (GIT_OPTIONAL_LOCKS=0: asking must not take
# the index lock from a commit running beside us), or "unknown" outside
# git.  It goes into a small header that is rewritten only when it
# changes, so a second `make` has nothing to do.
VERSION := $(shell git describe --always 2>/dev/null || echo unknown)$(shell \
    GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no \
    2>/dev/null | grep -q . && echo -dirty)
COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_INFO := $(BUILD)/gen/build-info.h
BUILD_INFO_FLAGS := $(subst ",\",$(strip $(CFLAGS) $(BENCH_CFLAGS) \
    $(if $(SANITIZE),-fsanitize=$(SANITIZE))))
$(shell mkdir -p $(BUILD)/gen && \
    printf '#define POOLBENCH_VERSION "%s"\n#define POOLBENCH_COMMIT "%s"\n#define POOLBENCH_CFLAGS "%s"\n' \
    '$(VERSION)' '$(COMMIT)' '$(BUILD_INFO_FLAGS)' >$(BUILD_INFO).new && \
    if cmp -s $(BUILD_INFO).new $(BUILD_INFO); then rm $(BUILD_INFO).new; \
    else mv $(BUILD_INFO).new $(BUILD_INFO); fi)

LIB_SRCS := $(wildcard pools/*.c)
BENCHLIB_SRCS := $(wildcard benchmarks/lib/*.c benchmarks/cases/*.c)
BENCH_SRCS := $(wildcard benchmarks/*.c)
TEST_SRCS := $(wildcard tests/test_*.c)

# Open MPI versions of the CPU-bound workloads (benchmarks/mpi/*.c), built
# with mpicc into $(BUILD)/bin/mpi/ when Open MPI is installed, and only in
# the plain build: Open MPI's own code is not clean under the sanitizers.
MPICC ?= mpicc
MPI_SRCS := $(wildcard benchmarks/mpi/*.c)
MPI_BINS :=
ifeq ($(SANITIZE),)
ifneq ($(shell command -v $(MPICC) 2>/dev/null),)
MPI_BINS := $(MPI_SRCS:benchmarks/mpi/%.c=$(BUILD)/bin/mpi/%)
endif
endif

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
BENCHLIB_OBJS := $(BENCHLIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libpools.a
BENCHLIB := $(BUILD)/libbench.a
BINS := $(BENCH_SRCS:benchmarks/%.c=$(BUILD)/bin/%)
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# C++ tests (tests/test_*.cc) check that the headers work from C++; they
# build and run as Check tests like the others (rules below).
CXX_TESTS := $(patsubst tests/%.cc,$(BUILD)/tests/%,\
                        $(wildcard tests/test_*.cc))
TESTS += $(CXX_TESTS)

# The programs of examples/ use the public headers only (no -Ibenchmarks/*).
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

.PHONY: all lib test bench bench-quick grade handout clean examples man \
        install uninstall
all: $(LIB) $(BINS) $(MPI_BINS) $(TESTS) $(EXAMPLES)
lib: $(LIB)
examples: $(EXAMPLES)

# Make deletes the intermediate files of a chain of pattern rules (the .o
# between a .c and a program) once the program is built; the next make
# then sees them missing and builds everything again.  .SECONDARY with no
# prerequisites keeps every intermediate, so a second `make` does nothing.
.SECONDARY:

$(BUILD)/obj/pools/%.o: pools/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/benchmarks/%.o: benchmarks/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(BENCH_CFLAGS) $(CFLAGS) -c -o $@ $<

# Only the harness reads the version (the .d file then records the
# dependency on the header).
$(BUILD)/obj/benchmarks/lib/bench.o: BENCH_CFLAGS += \
    -DPOOLBENCH_BUILD_INFO='"$(abspath $(BUILD_INFO))"'

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CHECK_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BENCHLIB): $(BENCHLIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/benchmarks/%.o $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $< $(BENCHLIB) $(LIB) \
	    $(BENCH_LIBS) $(BASE_LDLIBS)

$(BUILD)/bin/mpi/%: benchmarks/mpi/%.c $(BENCHLIB) $(LIB)
	@mkdir -p $(@D) $(BUILD)/obj/mpi
	$(MPICC) $(BASE_CFLAGS) -MF $(BUILD)/obj/mpi/$*.d $(CFLAGS) -o $@ $< \
	    $(BENCHLIB) $(LIB) $(BASE_LDLIBS)

# Every C test is linked with tests/support.c, what the tests share.
SUPPORT_OBJ := $(BUILD)/obj/tests/support.o
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(SUPPORT_OBJ) $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(BENCHLIB) \
	    $(LIB) $(CHECK_LIBS) $(BASE_LDLIBS)

# Fault injection (tests/faultinject.h): every tests/test_faults_*.c is
# linked with tests/faultinject.c and one --wrap per function it can make
# fail, so that the calls of those functions in our objects go through it.
FI_WRAP := malloc calloc realloc aligned_alloc pthread_create \
           pthread_mutex_init pthread_cond_init fork socketpair pipe2 mmap \
           signalfd fcntl
FI_OBJ := $(BUILD)/obj/tests/faultinject.o
$(BUILD)/tests/test_faults_%: $(BUILD)/obj/tests/test_faults_%.o $(FI_OBJ) \
                              $(SUPPORT_OBJ) $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) \
	    $(addprefix -Wl$(comma)--wrap=,$(FI_WRAP)) -o $@ $< $(FI_OBJ) \
	    $(SUPPORT_OBJ) $(BENCHLIB) $(LIB) $(CHECK_LIBS) $(BASE_LDLIBS)

# The C++ tests: the C flags without what only C has, compiled and linked
# by $(CXX), with the same sanitizers.  C++20: the first C++ with
# designated initialisers, which the headers' _INIT macros use.
CXX_STD := -std=c++20
BASE_CXXFLAGS := $(CXX_STD) $(filter-out -std=c11 -Wstrict-prototypes \
                   -Wmissing-prototypes -Wold-style-definition,$(BASE_CFLAGS))
CXXFLAGS ?= -O2 -g
$(BUILD)/obj/tests/%.o: tests/%.cc
	@mkdir -p $(@D)
	$(CXX) $(BASE_CXXFLAGS) $(CHECK_CFLAGS) $(CXXFLAGS) -c -o $@ $<

$(CXX_TESTS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $< $(BENCHLIB) $(LIB) \
	    $(CHECK_LIBS) $(BASE_LDLIBS)

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(filter-out -Ibenchmarks/%,$(BASE_CFLAGS)) $(CFLAGS) \
	    $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(BASE_LDLIBS)

# ---- make install ---------------------------------------------------------
# GNU's directory variables; DESTDIR stages the whole tree elsewhere (for a
# package, or scripts/check-install.sh).  The programs get a poolbench-
# prefix (poolbench-primes), since /usr/local/bin/io or sum would clash with
# anything; their Open MPI versions go to libexec, where bench_exec_mpi()
# looks for them.  The man pages are made from --help and --version by
# Debian's help2man (scripts/setup.sh installs it); without it, install
# says so and leaves them out.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install
HELP2MAN ?= help2man
PUBLIC_HEADERS := pools/threadpool.h pools/procpool.h pools/ppshm.h
MANS := $(BENCH_SRCS:benchmarks/%.c=$(BUILD)/man/poolbench-%.1)
HAVE_HELP2MAN := $(shell command -v $(HELP2MAN) 2>/dev/null)

# help2man runs the program under the name it will have once installed, so
# the page says "poolbench-primes" throughout; --name is the summary line
# of --help.
$(BUILD)/man/poolbench-%.1: $(BUILD)/bin/%
	@mkdir -p $(@D)
	ln -sf ../bin/$* $(@D)/poolbench-$*
	$(HELP2MAN) --no-info --section=1 --source=poolbench \
	    --name="$$($(@D)/poolbench-$* --help | sed -n 's/^$*: //p' | \
	             head -n 1)" \
	    --output=$@ $(@D)/poolbench-$* || { rm -f $@ $(@D)/poolbench-$*; \
	    exit 1; }
	rm -f $(@D)/poolbench-$*
man: $(if $(HAVE_HELP2MAN),$(MANS))

$(BUILD)/poolbench.pc: poolbench.pc.in $(BUILD_INFO)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    $< >$@

install: $(LIB) $(BINS) $(MPI_BINS) $(BUILD)/poolbench.pc man
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/poolbench $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libpools.a
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/poolbench/
	$(INSTALL) -m 644 $(BUILD)/poolbench.pc $(DESTDIR)$(PKGCONFIGDIR)/
	for p in $(notdir $(BINS)); do \
	    $(INSTALL) -m 755 $(BUILD)/bin/$$p \
	        $(DESTDIR)$(BINDIR)/poolbench-$$p || exit 1; \
	done
ifneq ($(MPI_BINS),)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)/poolbench/mpi
	$(INSTALL) -m 755 $(MPI_BINS) $(DESTDIR)$(LIBEXECDIR)/poolbench/mpi/
endif
ifneq ($(HAVE_HELP2MAN),)
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(MANS) $(DESTDIR)$(MANDIR)/man1/
else
	@echo "install: no $(HELP2MAN): no man pages (scripts/setup.sh)" >&2
endif

# Exactly the files install puts there, then the folders it made if they
# are empty now (rmdir refuses otherwise, and - ignores that).
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpools.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/poolbench.pc \
	    $(addprefix $(DESTDIR)$(INCLUDEDIR)/poolbench/,$(notdir \
	        $(PUBLIC_HEADERS))) \
	    $(addprefix $(DESTDIR)$(BINDIR)/poolbench-,$(notdir $(BINS))) \
	    $(addprefix $(DESTDIR)$(LIBEXECDIR)/poolbench/mpi/,$(notdir \
	        $(MPI_SRCS:.c=))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/poolbench \
	    $(DESTDIR)$(LIBEXECDIR)/poolbench/mpi \
	    $(DESTDIR)$(LIBEXECDIR)/poolbench 2>/dev/null

# The tests find the benchmark programs through POOLBENCH_BIN.
test: all
	@POOLBENCH_BIN=$(abspath $(BUILD))/bin SANITIZE=$(SANITIZE) \
	    VALGRIND=$(VALGRIND) scripts/run-tests.sh $(TESTS)

# The suite replaces the recipe's shell (exec), so the SIGTERM that make
# forwards to its child on SIGTERM reaches the suite itself, which stops
# its benchmarks and removes the half-built run.  BENCH_DEPS: what is built
# first (the suite's self-test empties it to run this recipe on its mock).
BENCH_DEPS ?= all

bench: $(BENCH_DEPS)
	exec env POOLBENCH_BIN=$(abspath $(BUILD))/bin scripts/bench $(BENCH_ARGS)

bench-quick: $(BENCH_DEPS)
	exec env POOLBENCH_BIN=$(abspath $(BUILD))/bin scripts/bench --quick \
	    $(BENCH_ARGS)

grade:
	lessons/grade.sh $(GRADE_ARGS) $(LESSON)

# The students' archive: the lessons without solutions, mutants or history.
handout:
	lessons/make-handout.sh $(or $(OUT),$(O)/poolbench-handout.tar.gz)

clean:
	rm -rf $(O)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
