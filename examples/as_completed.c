/*
 * as_completed.c - results in the order they finish (tutorial, section 2:
 * as_completed and wait(return_when=FIRST_COMPLETED)).  Four tasks sleep
 * 40, 10, 30 and 20 ms; tp_wait_any hands back whichever is done first,
 * so they come out as 10, 20, 30, 40 ms.
 *
 * Python:
 *     with ThreadPoolExecutor(max_workers=4) as executor:
 *         futures = [executor.submit(sleep_ms, ms) for ms in delays]
 *         for f in as_completed(futures):
 *             print(f.result())
 *
 * C has no iterator, so the loop keeps the futures not yet seen in an
 * array, waits for any one of them, reports it, and swaps it out.
 */
#include "threadpool.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TASKS 4

static int sleep_ms(void *arg, void **result)
{
    long ms = (long)(intptr_t)arg;
    struct timespec ts = { 0, ms * 1000000L };

    nanosleep(&ts, NULL);
    *result = arg;
    return 0;
}

int main(void)
{
    static const long delays[TASKS] = { 40, 10, 30, 20 };
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_future *pending[TASKS];
    struct tp_pool *pool;
    size_t left = 0;
    int err;

    opt.workers = TASKS;
    if ((err = tp_pool_create(&opt, &pool)) != 0) {
        fprintf(stderr, "as_completed: tp_pool_create: %s\n",
                strerror(err));
        return 1;
    }
    for (size_t i = 0; i < TASKS && err == 0; i++)
        if ((err = tp_submit(pool, sleep_ms, (void *)(intptr_t)delays[i],
                             &pending[left])) == 0)
            left++;
    while (left > 0) {
        size_t i;
        void *r;
        int st = tp_wait_any(pending, left, TP_WAIT_FOREVER, &i);

        if (st != 0) {
            fprintf(stderr, "as_completed: tp_wait_any: %s\n",
                    strerror(st));
            break;
        }
        if ((st = tp_future_get(pending[i], &r)) == 0)
            printf("done: %ld ms\n", (long)(intptr_t)r);
        tp_future_free(pending[i]);
        pending[i] = pending[--left];   /* the last one takes its place */
    }
    for (size_t i = 0; i < left; i++)
        tp_future_free(pending[i]);
    tp_pool_destroy(pool);
    return err != 0 || left != 0;
}
