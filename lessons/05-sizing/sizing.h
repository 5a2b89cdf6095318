/*
 * sizing.h - how many workers should a pool have?  (lesson 5)
 *
 * The tutorial's answer for I/O-bound work is max_workers = 2 * cores + 1.
 * A rule of thumb: right for some tasks, far off for others.  The better
 * answer comes from what the tasks do, measured:
 *
 *   - Little's law, L = lambda * W: a system that takes lambda tasks per
 *     second, each spending W seconds inside, holds L tasks on average.
 *     If a worker is busy for a task's whole W (it blocks on I/O), the pool
 *     needs L = lambda * W workers to keep up.
 *   - Split W into compute time C (on a CPU) and wait time W - C (sleeping,
 *     on I/O).  To keep `cores` CPUs busy at a target utilisation U, each
 *     core needs (1 + wait / compute) tasks in flight (Goetz, "Java
 *     Concurrency in Practice", 8.2): workers = cores * U * (1 + wait / C).
 *     CPU-bound tasks (wait = 0) want one worker per core; tasks that wait
 *     99% of the time want 100 per core.
 *
 * Every function here is pure arithmetic except sizing_measure, which runs
 * a task and times it.
 */
#ifndef LESSONS_SIZING_H
#define LESSONS_SIZING_H

#include <stddef.h>

/* One task, measured: its elapsed (wall-clock) time and the CPU time of
 * the thread that ran it, both in seconds. */
struct task_sample {
    double wall_s;
    double cpu_s;
};

/* The tutorial's rule: 2 * cores + 1 (cores 0 counts as 1). */
unsigned sizing_rule_of_thumb(unsigned cores);

/*
 * Runs fn(arg) on the calling thread and measures it: wall time on
 * CLOCK_MONOTONIC, CPU time on CLOCK_THREAD_CPUTIME_ID (this thread only:
 * the other threads of the process must not count).  Returns 0, EINVAL
 * (fn or out NULL), or the errno of a failing clock_gettime.
 */
int sizing_measure(void (*fn)(void *arg), void *arg,
                   struct task_sample *out);

/*
 * Little's law: the workers needed to keep up with rate_per_s tasks per
 * second when each keeps a worker busy for latency_s seconds, i.e.
 * ceil(rate_per_s * latency_s) (a product within 1e-9 of a whole number
 * counts as that number: 30 * 0.1 is 3, not 4), at least 1.  Returns 0, or
 * EINVAL if either argument is not a positive number.
 */
int sizing_little(double rate_per_s, double latency_s, unsigned *out);

/*
 * Goetz's formula on measured tasks: with C the mean CPU time and W the
 * mean wall time of the n samples, and wait = W - C (0 if negative),
 *     workers = ceil(cores * util * (1 + wait / C)),
 * rounded as in sizing_little, then clamped to [1, max_workers]; when C is
 * 0 (tasks that only wait) the answer is max_workers.  Returns 0, or
 * EINVAL (samples NULL, n 0, cores 0, util not in (0, 1], max_workers 0).
 */
int sizing_workers_for(const struct task_sample *samples, size_t n,
                       unsigned cores, double util, unsigned max_workers,
                       unsigned *out);

/*
 * Predicted wall time of `tasks` tasks that each WAIT task_s seconds (sleep,
 * I/O: no CPU), on `workers` workers: they run in rounds of `workers`, so
 * ceil(tasks / workers) * task_s.  The tutorial: 5 tasks of 2 s on 3
 * workers take 4 s.  Returns -1 if workers is 0 or task_s negative.
 */
double sizing_predict_io_s(unsigned tasks, unsigned workers, double task_s);

/*
 * Predicted wall time of `tasks` tasks that each COMPUTE for task_s seconds,
 * on `workers` workers and `cores` CPUs: at least the rounds,
 * ceil(tasks / workers) * task_s, and at least the total CPU work shared by
 * the cores, tasks * task_s / cores (more workers than cores only take
 * turns).  The larger of the two.  Returns -1 if workers or cores is 0 or
 * task_s negative.
 */
double sizing_predict_cpu_s(unsigned tasks, unsigned workers, unsigned cores,
                            double task_s);

#endif
