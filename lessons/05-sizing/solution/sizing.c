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
    return 2 * (cores > 0 ? cores : 1) + 1;
}

int sizing_measure(void (*fn)(void *arg), void *arg,
                   struct task_sample *out)
{
    struct timespec wall0, wall1, cpu0, cpu1;

    if (fn == NULL || out == NULL)
        return EINVAL;
    if (clock_gettime(CLOCK_MONOTONIC, &wall0) != 0 ||
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0) != 0)
        return errno;
    fn(arg);
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1) != 0 ||
        clock_gettime(CLOCK_MONOTONIC, &wall1) != 0)
        return errno;
    out->wall_s = seconds(&wall1) - seconds(&wall0);
    out->cpu_s = seconds(&cpu1) - seconds(&cpu0);
    return 0;
}

int sizing_little(double rate_per_s, double latency_s, unsigned *out)
{
    double workers;

    if (!(rate_per_s > 0) || !(latency_s > 0) || isinf(rate_per_s) ||
        isinf(latency_s))
        return EINVAL;      /* "!(x > 0)" is also true for NaN */
    workers = round_up(rate_per_s * latency_s);
    if (workers > (double)~0u)
        workers = (double)~0u;
    *out = workers < 1 ? 1 : (unsigned)workers;
    return 0;
}

int sizing_workers_for(const struct task_sample *samples, size_t n,
                       unsigned cores, double util, unsigned max_workers,
                       unsigned *out)
{
    double wall = 0, cpu = 0, wait, workers;

    if (samples == NULL || n == 0 || cores == 0 || !(util > 0) ||
        util > 1 || max_workers == 0)
        return EINVAL;
    for (size_t i = 0; i < n; i++) {
        wall += samples[i].wall_s;
        cpu += samples[i].cpu_s;
    }
    wall /= (double)n;
    cpu /= (double)n;
    if (!(cpu > 0)) {
        *out = max_workers;         /* tasks that only wait */
        return 0;
    }
    wait = wall > cpu ? wall - cpu : 0;
    workers = round_up(cores * util * (1 + wait / cpu));
    if (workers < 1)
        workers = 1;
    *out = workers > max_workers ? max_workers : (unsigned)workers;
    return 0;
}

double sizing_predict_io_s(unsigned tasks, unsigned workers, double task_s)
{
    unsigned rounds;

    if (workers == 0 || !(task_s >= 0))
        return -1;
    rounds = tasks / workers + (tasks % workers != 0);
    return rounds * task_s;
}

double sizing_predict_cpu_s(unsigned tasks, unsigned workers, unsigned cores,
                            double task_s)
{
    double rounds_s, shared_s;

    if (workers == 0 || cores == 0 || !(task_s >= 0))
        return -1;
    rounds_s = (tasks / workers + (tasks % workers != 0)) * task_s;
    shared_s = tasks * task_s / cores;
    return rounds_s > shared_s ? rounds_s : shared_s;
}
