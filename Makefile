# poolbench: build, test, benchmark, grade.
#
#   make                         library, tests and benchmark programs
#   make test                    the test suite (Check), in build/release
#   make SANITIZE=address,undefined test
#   make SANITIZE=thread test    the same suite under a sanitizer, each in
#                                its own folder (build/address-undefined, ...)
#   make VALGRIND=1 test         the release suite under valgrind memcheck
#   make bench                   the benchmark suite (scripts/bench.sh)
#   make bench-quick             the same pipeline in under a minute
#   make grade [LESSON=NN]       grade the lessons' exercises
#                                (GRADE_ARGS=--solution: the reference ones)
#   make WERROR=1 ...            warnings are errors (CI sets this)
#   make O=/tmp/b ...            build under /tmp/b instead of build/
#
# Layout (see STYLE.md): pools/*.c make libpools.a; benchmarks/lib/*.c make
# libbench.a (the harness and the textbook pool); every benchmarks/*.c is one
# program in $(BUILD)/bin; every tests/test_*.c is one Check test program in
# $(BUILD)/tests.  New files are picked up by wildcard: adding a program or a
# test never needs an edit here.

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
               -Ipools -Ibenchmarks/lib -MMD -MP
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

LIB_SRCS := $(wildcard pools/*.c)
BENCHLIB_SRCS := $(wildcard benchmarks/lib/*.c)
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

.PHONY: all lib test bench bench-quick grade clean
all: $(LIB) $(BINS) $(MPI_BINS) $(TESTS)
lib: $(LIB)

$(BUILD)/obj/pools/%.o: pools/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/benchmarks/%.o: benchmarks/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(BENCH_CFLAGS) $(CFLAGS) -c -o $@ $<

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

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $< $(BENCHLIB) $(LIB) \
	    $(CHECK_LIBS) $(BASE_LDLIBS)

# Fault injection (tests/faultinject.h): every tests/test_faults_*.c is
# linked with tests/faultinject.c and one --wrap per function it can make
# fail, so that the calls of those functions in our objects go through it.
FI_WRAP := malloc calloc realloc aligned_alloc pthread_create \
           pthread_mutex_init pthread_cond_init fork socketpair pipe2 mmap \
           signalfd fcntl
FI_OBJ := $(BUILD)/obj/tests/faultinject.o
$(BUILD)/tests/test_faults_%: $(BUILD)/obj/tests/test_faults_%.o $(FI_OBJ) \
                              $(BENCHLIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) \
	    $(addprefix -Wl$(comma)--wrap=,$(FI_WRAP)) -o $@ $< $(FI_OBJ) \
	    $(BENCHLIB) $(LIB) $(CHECK_LIBS) $(BASE_LDLIBS)

# The tests find the benchmark programs through POOLBENCH_BIN.
test: all
	@POOLBENCH_BIN=$(abspath $(BUILD))/bin SANITIZE=$(SANITIZE) \
	    VALGRIND=$(VALGRIND) scripts/run-tests.sh $(TESTS)

bench: all
	POOLBENCH_BIN=$(abspath $(BUILD))/bin scripts/bench.sh $(BENCH_ARGS)

bench-quick: all
	POOLBENCH_BIN=$(abspath $(BUILD))/bin scripts/bench.sh --quick \
	    $(BENCH_ARGS)

grade:
	lessons/grade.sh $(GRADE_ARGS) $(LESSON)

clean:
	rm -rf $(O)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
