/*
 * gildemo.c - lesson 8: watch your GIL do to C threads what CPython's does
 * to Python threads.  Not graded; build it outside the lesson folder:
 *
 *     cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -pthread -I lessons/08-gil \
 *        lessons/08-gil/gil.c lessons/08-gil/interp.c \
 *        lessons/08-gil/gildemo.c -o /tmp/gildemo
 *     /tmp/gildemo [N [THREADS]]        defaults: 2000000 and 2
 *
 * It times four runs, each printed with its wall-clock time:
 *   1. counting the primes below N on one thread, no GIL (the baseline);
 *   2. the same range split over THREADS threads, no GIL;
 *   3. the same split, every thread running "under the GIL" (interp.c);
 *   4. THREADS threads that each "time.sleep(0.1)" five times under the
 *      GIL, which gil_sleep_ms() releases while sleeping;
 *   5. the same, but sleeping with the GIL held, as a C extension does
 *      when it forgets Py_BEGIN_ALLOW_THREADS around a blocking call.
 * Predict each time before you run it (README.md, "Predict, then measure").
 */
#include "gil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64
/* CPython 2's check interval was 100 bytecodes; one is_prime() call here
 * stands for one step. */
#define CHECK_INTERVAL 100

struct job {
    struct gil *g;      /* NULL: no GIL */
    long lo, hi, count;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *count_job(void *arg)
{
    struct job *j = arg;

    if (j->g != NULL) {
        j->count = gil_count_primes(j->g, j->lo, j->hi, CHECK_INTERVAL);
    } else {
        j->count = 0;
        for (long n = j->lo; n < j->hi; n++)
            j->count += is_prime(n);
    }
    return NULL;
}

static void *sleep_job(void *arg)
{
    struct job *j = arg;

    gil_acquire(j->g);
    for (int i = 0; i < 5; i++)
        gil_sleep_ms(j->g, 100);
    gil_release(j->g);
    return NULL;
}

static void *sleep_holding_job(void *arg)
{
    struct job *j = arg;
    struct timespec ts = { 0, 100 * 1000000L };

    gil_acquire(j->g);
    for (int i = 0; i < 5; i++) {
        nanosleep(&ts, NULL);       /* the GIL stays taken */
        gil_yield(j->g);
    }
    gil_release(j->g);
    return NULL;
}

/* Runs fn on w threads over [0, n) cut in w consecutive slices;
 * returns the seconds taken and the total count in *count. */
static double run(void *(*fn)(void *), struct gil *g, int w, long n,
                  long *count)
{
    pthread_t t[MAX_THREADS];
    struct job j[MAX_THREADS];
    double t0 = now();

    *count = 0;
    for (int i = 0; i < w; i++) {
        j[i] = (struct job){ g, n * i / w, n * (i + 1) / w, 0 };
        if (pthread_create(&t[i], NULL, fn, &j[i]) != 0) {
            fprintf(stderr, "gildemo: pthread_create failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < w; i++) {
        pthread_join(t[i], NULL);
        *count += j[i].count;
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int w = argc > 2 ? atoi(argv[2]) : 2;
    struct gil *g;
    long c1, c2, c3, c4;
    double s1, s2, s3, s4, s5;

    if (n < 1 || w < 1 || w > MAX_THREADS) {
        fprintf(stderr, "usage: gildemo [N [THREADS (1-%d)]]\n",
                MAX_THREADS);
        return 2;
    }
    if (gil_create(&g) != 0) {
        fprintf(stderr, "gildemo: gil_create failed\n");
        return 1;
    }
    s1 = run(count_job, NULL, 1, n, &c1);
    s2 = run(count_job, NULL, w, n, &c2);
    s3 = run(count_job, g, w, n, &c3);
    printf("primes below %ld: %ld\n", n, c1);
    printf("1 thread,   no GIL:     %7.3f s\n", s1);
    printf("%d threads, no GIL:     %7.3f s  (speedup %.2fx)\n", w, s2,
           s1 / s2);
    printf("%d threads, under GIL:  %7.3f s  (speedup %.2fx, %lu "
           "hand-overs)\n", w, s3, s1 / s3, gil_switches(g));
    s4 = run(sleep_job, g, w, 0, &c4);
    printf("%d threads sleeping 5 x 0.1 s, GIL released: %7.3f s\n", w, s4);
    s5 = run(sleep_holding_job, g, w, 0, &c4);
    printf("%d threads sleeping 5 x 0.1 s, GIL held:     %7.3f s\n", w, s5);
    if (c2 != c1 || c3 != c1) {
        fprintf(stderr, "gildemo: counts differ: %ld %ld %ld\n", c1, c2, c3);
        gil_destroy(g);
        return 1;
    }
    gil_destroy(g);
    return 0;
}
