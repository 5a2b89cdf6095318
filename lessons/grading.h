/*
 * grading.h - graded tests for the lessons, on top of Check.
 *
 * A lesson's tests.c writes ordinary Check tests (START_TEST ... END_TEST,
 * ck_assert_*) and then lists them once, each with its points, in a table
 * that ends the file:
 *
 *     START_TEST(queue_keeps_fifo_order)
 *     {
 *         ...
 *     }
 *     END_TEST
 *
 *     static const struct grade_test tests[] = {
 *         GRADE_TEST(queue_keeps_fifo_order, 2, 0),
 *         GRADE_TEST(every_item_is_delivered_once, 3, 2),
 *         GRADE_TEST_TIMEOUT(close_wakes_every_consumer, 2, 1, 20),
 *     };
 *     GRADE_MAIN(tests)
 *
 * GRADE_TEST(test, points, race_points): "points" are earned when the test
 * passes; "race_points" (0 for a test that runs no threads) are earned when
 * the test passes again in a build under ThreadSanitizer (or under helgrind,
 * per the lesson's RACE_CHECK), which lessons/grade.sh runs after the normal
 * one.  So a racy solution that happens to pass loses its race points.
 *
 * Every test runs in its own process (Check's fork mode) with its own
 * timeout (GRADE_DEFAULT_TIMEOUT seconds unless given; Check multiplies it by
 * CK_TIMEOUT_MULTIPLIER, which grade.sh raises under the sanitizers).  A test
 * that deadlocks or crashes fails alone; the others still run.  Name a test
 * after the behaviour it checks: the name is what the student reads.
 *
 * The program that GRADE_MAIN makes understands:
 *     (no option)      run every test, print one line per test and a score
 *     --list           print "name points race_points timeout" per test
 *     --only NAME      run only this test (repeatable)
 *     --race           award race_points instead of points (grade.sh passes
 *                      it to the sanitizer build) and mark the lines [race]
 * and its last line is always "score: EARNED/POSSIBLE".  With
 * GRADE_UNTIL_LOSS=1 in the environment it stops after the first test that
 * fails (check-grading.sh only needs to know that a mutant loses points).
 *
 * Around every test, in the test's own process, the runner notes the open
 * file descriptors and the shared memory mappings (/proc/self/fd and
 * /proc/self/maps) and fails a passing test that leaves more of either
 * than it found: a pipe end never closed, a shm_open'ed object or an mmap
 * never unmapped.  Leaked heap memory is LeakSanitizer's job (grade.sh
 * builds the normal run with AddressSanitizer).  It exits 0 when
 * every test it ran passed, 1 otherwise, 2 on a bad option.  grade.sh runs
 * the race check with the sanitizer's (or valgrind's) error exit code set
 * to 66, so a test whose process ends with 66 under --race is reported as
 * "the race check found an error", with the report's first lines below.
 *
 * Helpers for the tests themselves are at the end of this file.  None of them
 * measures speed: a test asserts a behaviour, never a timing (STYLE.md).
 */
#ifndef LESSONS_GRADING_H
#define LESSONS_GRADING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* Seconds a test may run before Check kills it, unless the table says. */
#define GRADE_DEFAULT_TIMEOUT 10

/* The most any test may run, whatever its table entry and multiplier say:
 * a submission that deadlocks everywhere is reported within this many
 * seconds per test (lessons/README.md promises it). */
#define GRADE_MAX_TIMEOUT 30

struct grade_test {
    const TTest *test;      /* from START_TEST: name, function, file, line */
    int points;             /* earned when the test passes */
    int race_points;        /* earned when it passes under the race check */
    double timeout;         /* seconds; 0 means GRADE_DEFAULT_TIMEOUT */
};

/*
 * One table entry.  START_TEST(t) defines the TTest t##_ttest and a pointer
 * t to it; the table takes the address, which is a constant, so that it can
 * be a static array.  The sizeof only marks the pointer as used, which
 * keeps -Wunused-variable quiet; it adds nothing.
 */
#define GRADE_TEST(t, points, race_points) \
    GRADE_TEST_TIMEOUT(t, points, race_points, 0)
#define GRADE_TEST_TIMEOUT(t, points, race_points, seconds) \
    { &t##_ttest + 0 * sizeof(t), (points), (race_points), (seconds) }

/* Runs the table's tests as described above; returns main's exit status. */
int grade_main(int argc, char **argv, const struct grade_test *tests,
               size_t ntests);

#define GRADE_MAIN(table)                                                  \
    int main(int argc, char **argv)                                        \
    {                                                                      \
        return grade_main(argc, argv, (table),                             \
                          sizeof(table) / sizeof((table)[0]));             \
    }

/*
 * Helpers for tests.
 */

/* "ENOSYS (function not implemented)" for ENOSYS, "0 (success)" for 0,
 * "12345 (not an errno value)" otherwise: what a message shows for a
 * returned error code, instead of a bare number.  The string lives in a
 * buffer of the calling thread until its next call; use it at once. */
const char *grade_errname(int err);

/*
 * ck_assert_int_eq and ck_assert_uint_eq, with messages a student can read:
 * Check's own print the macro-expanded expression (an atomic_load becomes
 * three lines of __atomic_load_n) and bare numbers.  These print the
 * expression as written, both values, and, when the expected value is 0 or
 * an E... constant, the error's name and meaning:
 *     minipool_submit(pool, count_task, &runs[i]) returned ENOSYS
 *     (function not implemented), expected 0 (success)
 */
void grade_assert_int(const char *file, int line, const char *xs,
                      const char *ys, intmax_t x, intmax_t y);
#undef ck_assert_int_eq
#define ck_assert_int_eq(X, Y) \
    grade_assert_int(__FILE__, __LINE__, #X, #Y, (intmax_t)(X), \
                     (intmax_t)(Y))
#undef ck_assert_uint_eq
#define ck_assert_uint_eq(X, Y) \
    grade_assert_int(__FILE__, __LINE__, #X, #Y, (intmax_t)(X), \
                     (intmax_t)(Y))

/*
 * Spurious wake-ups on demand.  POSIX lets pthread_cond_wait and
 * pthread_cond_timedwait return without a signal, and a wait whose
 * predicate is checked with `if` instead of `while`, or whose deadline is
 * computed again after every wake-up, is wrong because of it; but real
 * systems do it rarely.  grade_spurious_wakeups(1) makes every wait of the
 * program (the student's and the library's) return within about 1 ms,
 * signalled or not, still honouring a timed wait's deadline, until
 * grade_spurious_wakeups(0).  grading.c does it by defining the two
 * functions itself; when off they are the system's own.
 */
void grade_spurious_wakeups(int on);

/*
 * Starting threads together.  A race test starts its threads at a barrier
 * so that they really overlap (a thread created late may otherwise finish
 * before the next one starts, and ThreadSanitizer sees nothing):
 *     grade_barrier_init(&b, n);  each thread: grade_barrier_wait(&b);
 */
struct grade_barrier {
    pthread_mutex_t lock;
    pthread_cond_t all_here;
    unsigned waiting, count, round;
};
void grade_barrier_init(struct grade_barrier *b, unsigned count);
void grade_barrier_wait(struct grade_barrier *b);
void grade_barrier_destroy(struct grade_barrier *b);

/* Nonzero when the tests run slowly (ThreadSanitizer, helgrind, valgrind:
 * grade.sh and scripts/run-tests.sh set POOLBENCH_SLOW=1). */
int grade_slow(void);

/* n, or n / 4 (at least 1) when grade_slow(): for stress loop counts.
 * A quarter, not less: under ThreadSanitizer the threads must still run
 * long enough to overlap, or the race check sees no race. */
long grade_scaled(long n);

/* Sleeps for ms milliseconds, restarting after signals. */
void grade_msleep(long ms);

/* Seconds on CLOCK_MONOTONIC, for deadlines and lower bounds only ("did
 * not return before 100 ms"), never for "was fast enough". */
double grade_now(void);

/*
 * Checking that a call blocks.  A test cannot prove that a call blocks
 * forever, but it can prove that it did not return too early:
 *
 *     struct grade_probe p;
 *     grade_probe_start(&p, push_one_more, &q);   runs it on a new thread
 *     grade_msleep(100);
 *     ck_assert_msg(!grade_probe_returned(&p), "push returned on a full
 *                   queue");
 *     ...make room...
 *     grade_probe_join(&p);                        now it must return
 *
 * A correct solution never fails this; a wrong one fails it as soon as the
 * call returns within the sleep, which is nearly always.  The function's
 * return value is kept in p.result.
 */
struct grade_probe {
    void *(*fn)(void *arg);
    void *arg;
    void *result;
    atomic_int returned;    /* set by the probe thread after fn returns */
    pthread_t thread;
};

void grade_probe_start(struct grade_probe *p, void *(*fn)(void *arg),
                       void *arg);
int grade_probe_returned(struct grade_probe *p);
void *grade_probe_join(struct grade_probe *p);

#endif
