/*
 * support.h - what the tests share: running a program and reading what it
 * printed, the benchmarks' CSV records, and the counters and gates that
 * tests of the pools use to see threads, descriptors and tasks.
 *
 * Every function here but tests_run and mpi_skip_reason (which main calls,
 * before Check runs anything) and tests_slow (which may be called
 * anywhere) is for use inside a Check test or its fixtures: where
 * something cannot be done (a program cannot start, a record has the wrong
 * shape) it fails the running test with ck_assert, so no function returns
 * an error code.  Nothing here is thread-safe unless it says so.
 *
 * Names: `tests_` for the suite as a whole, `run_` for a finished program,
 * `child_` for one still running, `records_` for the CSV, `gate_` for the
 * gate; the counters read as what they count.
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs every test of s (Check runs each in a process of its own, with its
 * timeout), frees s, and returns what main returns: EXIT_SUCCESS when all
 * passed, else EXIT_FAILURE. */
int tests_run(Suite *s);

/*
 * Whether the tests run slowly: under valgrind or ThreadSanitizer, which
 * run the code 20 to 50 times slower, scripts/run-tests.sh sets
 * POOLBENCH_SLOW=1, and a test that does a lot of work does less of it
 * (what it checks stays the same).  Any value but "0" and the empty string
 * counts (POOLBENCH_SLOW=yes too): the most permissive of the readings the
 * tests had when each read the variable itself, so that no test that
 * shrank before runs at full size now.
 */
bool tests_slow(void);

/* ---- Running a program ----------------------------------------------- */

/* What a finished program left: run_free releases out and err. */
struct run {
    int status;         /* exit status, or 128 + signal */
    char *out, *err;    /* all it wrote to stdout and stderr, NUL-ended */
};

/* A program started and not yet waited for. */
struct child {
    pid_t pid;
    int out, err;       /* unlinked temporary files holding its output */
    double deadline;    /* monotonic seconds; 0: none */
};

/*
 * Starts argv (NULL-terminated; argv[0] a path, or a name looked up in
 * this process's PATH) with envp as its whole environment (NULL: this
 * process's), stdout and stderr into temporary files: files rather than
 * pipes, so that a chatty program never blocks on a full pipe while the
 * test is busy elsewhere.
 *
 * limit_s > 0: child_finish kills the program past that many seconds from
 * now, and fails the test.  The program then gets a process group of its
 * own, so that the kill reaches whatever it started (mpirun's daemons).
 * limit_s <= 0: no limit but Check's own, and the program stays in the
 * test's process group, where Check's timeout kill finds it.
 */
void child_start(struct child *c, char *const argv[], char *const envp[],
                 double limit_s);

/* Waits for c to end (see child_start for the limit) and fills r. */
void child_finish(struct child *c, struct run *r);

/* child_start with no limit, then child_finish. */
void run_argv(struct run *r, char *const argv[], char *const envp[]);

/* Releases what r holds; r may have been zeroed or already released. */
void run_free(struct run *r);

/*
 * The folder holding the benchmark programs: $POOLBENCH_BIN (make test
 * sets it), else build/release/bin.  The tests run from the top of the
 * tree, as make runs them.
 */
const char *bin_dir(void);

/* Everything in fd from its start, NUL-terminated; the caller frees it. */
char *slurp(int fd);

/*
 * Why the Open MPI programs cannot run here, or NULL when they can: under
 * valgrind or a sanitizer (SANITIZE, VALGRIND as make test sets them), no
 * mpirun, or bin_dir()/mpi/ without the programs.  *fail is set when that
 * is a broken build (mpicc is there, the programs are not) rather than a
 * reason to skip.  No ck_assert: main() calls it, before Check runs.
 */
const char *mpi_skip_reason(bool *fail);

/* ---- The benchmarks' records ------------------------------------------ */

/* The header of --format csv, and its columns in order. */
#define RECORD_HEADER "bench,lang,mode,variant,workers,n,chunk,tasks,rep," \
                      "setup_s,kernel_s,result,expected,check,user_s,sys_s"
enum record_col {
    COL_BENCH, COL_LANG, COL_MODE, COL_VARIANT, COL_WORKERS, COL_N,
    COL_CHUNK, COL_TASKS, COL_REP, COL_SETUP, COL_KERNEL, COL_RESULT,
    COL_EXPECTED, COL_CHECK, COL_USER, COL_SYS, RECORD_NCOLS
};

/* One record: each column as printed (the longest is a variant name). */
struct record {
    char col[RECORD_NCOLS][64];
};

/*
 * Splits CSV output into records and returns their number.  The header
 * must come first, exactly RECORD_HEADER, and every line after it must be
 * a record of RECORD_NCOLS non-empty columns; anything else, or more than
 * max records, fails the test.
 */
int records_parse(const char *text, struct record *recs, int max);

/*
 * The same for output whose records stop after the first ncols columns
 * (header and records alike), the others left empty: `mpi-run.sh
 * --startup` times whole mpirun commands and has no CPU times, so its
 * records end at check (ncols COL_USER).
 */
int records_parse_cols(const char *text, int ncols, struct record *recs,
                       int max);

/* ---- Threads, descriptors, time ---------------------------------------- */

/* The entries of the folder path other than . and .. (hidden ones
 * count). */
int dir_entries(const char *path);

/* Threads of this process now: the entries of /proc/self/task. */
int thread_count(void);

/* Descriptors open in this process now (the entries of /proc/self/fd,
 * counting the one that reads it). */
int fd_count(void);

/* Sleeps ms milliseconds, the whole time even if a signal arrives. */
void sleep_ms(long ms);

/* ---- A gate for thread-pool tasks ------------------------------------ */

/*
 * Tasks stop at a gate (gate_pass) until the test opens it, so that a test
 * holds tasks "running" for as long as it needs without depending on how
 * long anything takes.  Safe to use from any thread.
 */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool open;                  /* under lock */
    int arrived;                /* tasks that reached the gate; under lock */
};

void gate_init(struct gate *g);
void gate_release(struct gate *g);

/* Counts the caller in and waits until the gate is open. */
void gate_pass(struct gate *g);

/* Waits until n callers of gate_pass have arrived. */
void gate_await(struct gate *g, int n);

/* Lets every caller of gate_pass through, now and later. */
void gate_open(struct gate *g);

#endif
