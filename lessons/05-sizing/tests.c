/*
 * tests.c - graded tests for lesson 5 (sizing.c).
 *
 * The arithmetic is checked on the tutorial's numbers and on hand-worked
 * cases.  The measurement is checked with bounds that a correct
 * sizing_measure always meets, whatever the machine's load: a task cannot
 * take less wall time than it sleeps, a thread's CPU time cannot exceed its
 * wall time, and a sleeping thread burns next to no CPU even while another
 * thread of the same process is busy (which is how a process-wide clock is
 * caught).  No test depends on how fast the machine is.
 */
#include "sizing.h"
#include "grading.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The tutorial's task(n): sleeps (here 100 ms, not 2 s). */
static void sleepy_task(void *arg)
{
    grade_msleep(*(long *)arg);
}

/* Computes until this thread has used *arg seconds of CPU; stores how much
 * it used (from its own view) back into *arg. */
static void busy_task(void *arg)
{
    double *want = arg, start = thread_cpu_s();
    volatile unsigned long sink = 0;    /* keeps the loop from vanishing */

    while (thread_cpu_s() - start < *want)
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i;
    *want = thread_cpu_s() - start;
}

/* A thread that burns CPU until told to stop. */
static atomic_int stop_burning;

static void *burner(void *arg)
{
    volatile unsigned long sink = 0;

    (void)arg;
    while (!atomic_load(&stop_burning))
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i;
    return NULL;
}

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

START_TEST(rule_of_thumb_is_2_cores_plus_1)
{
    ck_assert_uint_eq(sizing_rule_of_thumb(1), 3);
    ck_assert_uint_eq(sizing_rule_of_thumb(2), 5);
    ck_assert_uint_eq(sizing_rule_of_thumb(4), 9);
    ck_assert_uint_eq(sizing_rule_of_thumb(64), 129);
    ck_assert_msg(sizing_rule_of_thumb(0) == 3, "0 cores counts as 1");
}
END_TEST

START_TEST(predict_io_matches_the_tutorial)
{
    /* 5 tasks of 2 s: 3 workers take 4 s, not 10 (the tutorial). */
    ck_assert_msg(NEAR(sizing_predict_io_s(5, 3, 2.0), 4.0),
                  "5 tasks of 2 s on 3 workers: predicted %g s, not 4",
                  sizing_predict_io_s(5, 3, 2.0));
    ck_assert(NEAR(sizing_predict_io_s(5, 1, 2.0), 10.0));
    ck_assert(NEAR(sizing_predict_io_s(5, 5, 2.0), 2.0));
    ck_assert(NEAR(sizing_predict_io_s(5, 50, 2.0), 2.0));
    ck_assert(NEAR(sizing_predict_io_s(0, 3, 2.0), 0.0));
    ck_assert(NEAR(sizing_predict_io_s(100, 7, 0.1), 1.5));
    ck_assert(sizing_predict_io_s(5, 0, 2.0) == -1);
    ck_assert(sizing_predict_io_s(5, 3, -1.0) == -1);
}
END_TEST

START_TEST(predict_cpu_stops_gaining_past_the_cores)
{
    /* 8 tasks of 1 s on 2 cores. */
    ck_assert(NEAR(sizing_predict_cpu_s(8, 1, 2, 1.0), 8.0));
    ck_assert_msg(NEAR(sizing_predict_cpu_s(8, 2, 2, 1.0), 4.0),
                  "8 x 1 s on 2 workers, 2 cores: predicted %g s, not 4",
                  sizing_predict_cpu_s(8, 2, 2, 1.0));
    ck_assert_msg(NEAR(sizing_predict_cpu_s(8, 8, 2, 1.0), 4.0),
                  "8 workers on 2 cores cannot beat 4 s; predicted %g s",
                  sizing_predict_cpu_s(8, 8, 2, 1.0));
    ck_assert(NEAR(sizing_predict_cpu_s(3, 2, 2, 1.0), 2.0));
    ck_assert(NEAR(sizing_predict_cpu_s(3, 3, 2, 1.0), 1.5));
    ck_assert(sizing_predict_cpu_s(3, 0, 2, 1.0) == -1);
    ck_assert(sizing_predict_cpu_s(3, 2, 0, 1.0) == -1);
}
END_TEST

START_TEST(little_law_gives_rate_times_latency)
{
    unsigned w = 0;

    ck_assert_int_eq(sizing_little(100, 0.2, &w), 0);
    ck_assert_msg(w == 20, "100 tasks/s of 0.2 s need 20 workers, not %u",
                  w);
    ck_assert_int_eq(sizing_little(30, 0.1, &w), 0);
    ck_assert_msg(w == 3, "30 tasks/s of 0.1 s need 3 workers, not %u "
                  "(floating point: 30 * 0.1 > 3)", w);
    ck_assert_int_eq(sizing_little(7, 0.5, &w), 0);
    ck_assert_uint_eq(w, 4);                    /* 3.5 rounds up */
    ck_assert_int_eq(sizing_little(1, 0.001, &w), 0);
    ck_assert_uint_eq(w, 1);                    /* at least one */
    ck_assert_int_eq(sizing_little(0, 1, &w), EINVAL);
    ck_assert_int_eq(sizing_little(10, -1, &w), EINVAL);
    ck_assert_int_eq(sizing_little(NAN, 1, &w), EINVAL);
    ck_assert_int_eq(sizing_little(1, NAN, &w), EINVAL);
    ck_assert_int_eq(sizing_little(INFINITY, 1, &w), EINVAL);
}
END_TEST

START_TEST(workers_for_waiting_tasks_are_many)
{
    struct task_sample io[2] = { { 0.100, 0.001 }, { 0.100, 0.001 } };
    unsigned w = 0;

    /* wait / compute = 99: 2 cores * (1 + 99) = 200. */
    ck_assert_int_eq(sizing_workers_for(io, 2, 2, 1.0, 1000, &w), 0);
    ck_assert_msg(w == 200, "tasks waiting 99 ms per 1 ms of CPU on 2 "
                  "cores: %u workers, not 200", w);
    ck_assert_int_eq(sizing_workers_for(io, 2, 2, 0.5, 1000, &w), 0);
    ck_assert_uint_eq(w, 100);
    ck_assert_int_eq(sizing_workers_for(io, 2, 2, 1.0, 64, &w), 0);
    ck_assert_msg(w == 64, "the answer must be clamped to max_workers");
    /* Tasks that never compute: as many as allowed. */
    io[0].cpu_s = io[1].cpu_s = 0;
    ck_assert_int_eq(sizing_workers_for(io, 2, 2, 1.0, 50, &w), 0);
    ck_assert_uint_eq(w, 50);
}
END_TEST

START_TEST(workers_for_computing_tasks_match_the_cores)
{
    struct task_sample cpu[3] = { { 0.05, 0.05 }, { 0.04, 0.04 },
                                  { 0.06, 0.06 } };
    struct task_sample mixed[2] = { { 0.03, 0.01 }, { 0.01, 0.01 } };
    unsigned w = 0;

    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 1.0, 64, &w), 0);
    ck_assert_msg(w == 2, "CPU-bound tasks on 2 cores: %u workers, not 2",
                  w);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 0.5, 64, &w), 0);
    ck_assert_uint_eq(w, 1);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 1, 0.1, 64, &w), 0);
    ck_assert_msg(w == 1, "never fewer than one worker");
    /* Means: wall 0.02, cpu 0.01, so wait = compute: 4 cores * 2 = 8. */
    ck_assert_int_eq(sizing_workers_for(mixed, 2, 4, 1.0, 64, &w), 0);
    ck_assert_msg(w == 8, "mean over the samples: %u workers, not 8", w);
    /* CPU time a hair above wall time (clock granularity): no wait. */
    cpu[0].cpu_s = 0.0501;
    ck_assert_int_eq(sizing_workers_for(cpu, 1, 2, 1.0, 64, &w), 0);
    ck_assert_uint_eq(w, 2);

    ck_assert_int_eq(sizing_workers_for(NULL, 1, 2, 1.0, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 0, 2, 1.0, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 0, 1.0, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 0.0, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 1.5, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, NAN, 64, &w), EINVAL);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 1.0, 0, &w), EINVAL);
}
END_TEST

START_TEST(measure_sees_a_sleeping_task_wait)
{
    struct task_sample s = { -1, -1 };
    long ms = 100;
    pthread_t t;

    /* Another thread of this process computes all the while: its CPU
     * time is not the task's. */
    atomic_store(&stop_burning, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, burner, NULL), 0);
    ck_assert_int_eq(sizing_measure(sleepy_task, &ms, &s), 0);
    atomic_store(&stop_burning, 1);
    pthread_join(t, NULL);

    ck_assert_msg(s.wall_s >= 0.099, "a task that sleeps 100 ms took "
                  "%.1f ms of wall time?", s.wall_s * 1e3);
    ck_assert_msg(s.cpu_s >= 0 && s.cpu_s < 0.03,
                  "a task that sleeps 100 ms used %.1f ms of CPU: measure "
                  "this thread's CPU clock, not the process's",
                  s.cpu_s * 1e3);
    ck_assert_int_eq(sizing_measure(NULL, NULL, &s), EINVAL);
    ck_assert_int_eq(sizing_measure(sleepy_task, &ms, NULL), EINVAL);
}
END_TEST

START_TEST(measure_sees_a_busy_task_compute)
{
    struct task_sample s = { -1, -1 };
    double used = 0.05;     /* seconds of CPU to burn */

    ck_assert_int_eq(sizing_measure(busy_task, &used, &s), 0);
    ck_assert_msg(s.cpu_s >= used - 1e-6,
                  "the task used %.1f ms of CPU, the measure says %.1f ms",
                  used * 1e3, s.cpu_s * 1e3);
    ck_assert_msg(s.wall_s >= s.cpu_s - 0.002,
                  "wall time %.1f ms below CPU time %.1f ms: are the two "
                  "clocks swapped?", s.wall_s * 1e3, s.cpu_s * 1e3);
}
END_TEST

START_TEST(io_tasks_get_more_workers_than_cpu_tasks)
{
    struct task_sample io[3], cpu[3];
    unsigned w_io = 0, w_cpu = 0;

    for (int i = 0; i < 3; i++) {
        long ms = 30;
        double used = 0.02;

        ck_assert_int_eq(sizing_measure(sleepy_task, &ms, &io[i]), 0);
        ck_assert_int_eq(sizing_measure(busy_task, &used, &cpu[i]), 0);
    }
    /* No cap worth speaking of: on a loaded machine a computing task also
     * waits (for a core), so its wall time exceeds its CPU time, but never
     * by the thousands of times that a sleeping task's does. */
    ck_assert_int_eq(sizing_workers_for(io, 3, 2, 1.0, 1u << 20, &w_io), 0);
    ck_assert_int_eq(sizing_workers_for(cpu, 3, 2, 1.0, 1u << 20, &w_cpu),
                     0);
    ck_assert_msg(w_io > w_cpu && w_cpu >= 2,
                  "measured sleeping tasks got %u workers and computing "
                  "ones %u", w_io, w_cpu);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(rule_of_thumb_is_2_cores_plus_1, 1, 0, 4),
    GRADE_TEST_TIMEOUT(predict_io_matches_the_tutorial, 2, 0, 4),
    GRADE_TEST_TIMEOUT(predict_cpu_stops_gaining_past_the_cores, 2, 0, 4),
    GRADE_TEST_TIMEOUT(little_law_gives_rate_times_latency, 2, 0, 4),
    GRADE_TEST_TIMEOUT(workers_for_waiting_tasks_are_many, 2, 0, 4),
    GRADE_TEST_TIMEOUT(workers_for_computing_tasks_match_the_cores, 2, 0, 4),
    GRADE_TEST_TIMEOUT(measure_sees_a_sleeping_task_wait, 2, 0, 4),
    GRADE_TEST_TIMEOUT(measure_sees_a_busy_task_compute, 2, 0, 4),
    GRADE_TEST_TIMEOUT(io_tasks_get_more_workers_than_cpu_tasks, 1, 0, 4),
};
GRADE_MAIN(tests)
