/*
 * readme.c - the example of README.md ("The pools in one example"), as a
 * whole program: one task on a thread pool of 3 workers, its result read
 * through its future.  Prints "square(5) = 25".
 *
 *     make examples && build/release/examples/readme
 *     cc readme.c $(pkg-config --cflags --libs poolbench)     (installed)
 *
 * Python:
 *     with ThreadPoolExecutor(max_workers=3) as executor:
 *         f = executor.submit(square, 5)
 *         print(f.result())
 */
#include "threadpool.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int square(void *arg, void **result)     /* the tutorial's task */
{
    long x = (long)(intptr_t)arg;

    *result = (void *)(intptr_t)(x * x);
    return 0;                       /* non-zero: the "exception" */
}

int main(void)
{
    struct tp_options opt = TP_OPTIONS_INIT; /* ThreadPoolExecutor(3) */
    struct tp_pool *pool;
    struct tp_future *f;
    void *r;
    int err;

    opt.workers = 3;
    if ((err = tp_pool_create(&opt, &pool)) != 0) {
        fprintf(stderr, "readme: tp_pool_create: %s\n", strerror(err));
        return 1;
    }
    err = tp_submit(pool, square, (void *)5, &f);   /* executor.submit */
    if (err == 0) {
        err = tp_future_get(f, &r);                 /* f.result() */
        tp_future_free(f);
    }
    tp_pool_destroy(pool);                  /* end of the "with" block */
    if (err != 0) {
        fprintf(stderr, "readme: %s\n", strerror(err));
        return 1;
    }
    printf("square(5) = %ld\n", (long)(intptr_t)r);
    return 0;
}
