/*
 * sizing.c - choosing a pool's size: a rule of thumb, Little's law, and a
 * formula fed with measurements.
 *
 * Why the rule of thumb is only a start: 2 * cores + 1 says "a few more
 * threads than CPUs, because threads sometimes wait".  But how many more
 * depends on how much they wait.  The tutorial's task(n) sleeps 2 s and
 * computes nothing: on 2 cores, 5 workers finish 50 such tasks in 20 s
 * while 50 workers finish them in 2 s, and the CPUs are idle either way.
 * The tutorial's is_prime is the opposite: it never waits, so beyond one
 * worker per core the extra threads only take turns on the same CPUs (and
 * in CPython, where the GIL lets one thread compute at a time, even the
 * second worker does not help: lesson 8).
 *
 * How to find out how much a task waits: measure it.  Wall-clock time
 * (CLOCK_MONOTONIC) counts everything; the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) counts only the time it ran on a CPU.  The
 * difference is the time it waited.  Take the thread's clock, not the
 * process's (CLOCK_PROCESS_CPUTIME_ID): in a pool, other workers are
 * computing at the same time and their CPU time is not this task's.
 *
 * Rounding: worker counts are whole, and a pool one worker short cannot
 * keep up, so round up.  Floating point makes 30 * 0.1 come out as
 * 3.0000000000000004, and a plain ceil() would then ask for a 4th worker;
 * so a value within 1e-9 of a whole number is taken as that number.
 *
 * Not done here: measuring a pool while it runs and resizing it (lesson 10
 * grows and shrinks a pool on demand).
 */
#include "sizing.h"

#include <errno.h>
#include <math.h>
#include <time.h>

/* How close to a whole number a product must be to count as one. */
#define WHOLE_EPSILON 1e-9

/* Rounds x up to a whole number, forgiving floating-point noise. */
static double round_up(double x)
{
    double nearest = round(x);

    if (fabs(x - nearest) < WHOLE_EPSILON)
        return nearest;
    return ceil(x);
}

static double seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

unsigned sizing_rule_of_thumb(unsigned cores)
{
    /* EXERCISE: the tutorial's 2 * cores + 1; cores 0 counts as 1. */
    (void)cores;
    return 0;
}

int sizing_measure(void (*fn)(void *arg), void *arg,
                   struct task_sample *out)
{
    /*
     * EXERCISE: EINVAL if fn or out is NULL.  Read CLOCK_MONOTONIC and
     * CLOCK_THREAD_CPUTIME_ID (clock_gettime; on failure return errno),
     * run fn(arg), read both clocks again, and store the differences in
     * seconds (the helper seconds() converts a timespec).
     */
    (void)fn;
    (void)arg;
    (void)out;
    (void)seconds;          /* you will use it: delete this line */
    return ENOSYS;
}

int sizing_little(double rate_per_s, double latency_s, unsigned *out)
{
    /*
     * EXERCISE: EINVAL unless both are positive finite numbers (mind NaN:
     * every comparison with NaN is false).  *out = round_up(rate *
     * latency), at least 1.
     */
    (void)rate_per_s;
    (void)latency_s;
    (void)out;
    (void)round_up;         /* you will use it: delete this line */
    return ENOSYS;
}

int sizing_workers_for(const struct task_sample *samples, size_t n,
                       unsigned cores, double util, unsigned max_workers,
                       unsigned *out)
{
    /*
     * EXERCISE: check the arguments (see sizing.h).  Average the samples'
     * wall and CPU times; if the mean CPU time is 0, the answer is
     * max_workers.  Else wait = wall - cpu (not below 0) and
     * workers = round_up(cores * util * (1 + wait / cpu)), clamped to
     * [1, max_workers].
     */
    (void)samples;
    (void)n;
    (void)cores;
    (void)util;
    (void)max_workers;
    (void)out;
    return ENOSYS;
}

double sizing_predict_io_s(unsigned tasks, unsigned workers, double task_s)
{
    /* EXERCISE: ceil(tasks / workers) rounds of task_s seconds (see
     * sizing.h for the invalid cases). */
    (void)tasks;
    (void)workers;
    (void)task_s;
    return -1;
}

double sizing_predict_cpu_s(unsigned tasks, unsigned workers, unsigned cores,
                            double task_s)
{
    /* EXERCISE: the larger of the rounds and the shared CPU work (see
     * sizing.h). */
    (void)tasks;
    (void)workers;
    (void)cores;
    (void)task_s;
    return -1;
}
