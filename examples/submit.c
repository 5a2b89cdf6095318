/*
 * submit.c - the tutorial's first thread-pool example (section 2): submit
 * five tasks to a pool of three workers, then read each result in the
 * order of submission.  A task that fails (here the one given 3) hands its
 * error to whoever reads its future, as a Python exception travels
 * through f.result().
 *
 * Python:
 *     with ThreadPoolExecutor(max_workers=3) as executor:
 *         futures = [executor.submit(task, n) for n in range(5)]
 *         for f in futures:
 *             print(f.result())
 */
#include "threadpool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TASKS 5

/* Sleeps n * 10 ms, as the tutorial's task sleeps, then returns n * n;
 * n == 3 fails with EDOM, our "exception". */
static int task(void *arg, void **result)
{
    long n = (long)(intptr_t)arg;
    struct timespec ts = { 0, n * 10000000L };

    nanosleep(&ts, NULL);
    if (n == 3)
        return EDOM;
    *result = (void *)(intptr_t)(n * n);
    return 0;
}

int main(void)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_future *fs[TASKS];
    struct tp_pool *pool;
    size_t submitted = 0;
    int err;

    opt.workers = 3;
    if ((err = tp_pool_create(&opt, &pool)) != 0) {
        fprintf(stderr, "submit: tp_pool_create: %s\n", strerror(err));
        return 1;
    }
    for (long n = 0; n < TASKS; n++, submitted++)
        if ((err = tp_submit(pool, task, (void *)(intptr_t)n,
                             &fs[n])) != 0)
            break;
    for (size_t i = 0; i < submitted; i++) {
        void *r;
        int st = tp_future_get(fs[i], &r);

        if (st == 0)
            printf("task %zu: %ld\n", i, (long)(intptr_t)r);
        else
            printf("task %zu failed: %s\n", i, strerror(st));
        tp_future_free(fs[i]);
    }
    tp_pool_destroy(pool);
    if (err != 0)
        fprintf(stderr, "submit: tp_submit: %s\n", strerror(err));
    return err != 0;
}
