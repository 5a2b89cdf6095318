/*
 * procpool_map.c - multiprocessing.Pool.map (tutorial, section 3): count
 * the primes below 200000 in four ranges on a pool of 2 processes.  CPU
 * work in processes: each range is counted in its own worker, in
 * parallel, and the counts come back in input order.  Prints 17984.
 *
 * Python:
 *     with Pool(2) as pool:
 *         print(sum(pool.map(count_primes, ranges)))
 *
 * The workers are forked copies of this program, so the task is simply a
 * function pointer; its argument travels to the worker as bytes (two
 * numbers here) and its answer comes back as bytes.
 */
#include "procpool.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RANGES 4
#define LIMIT 200000

static int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

/* Runs in a worker: the item is [from, to), the answer its prime count. */
static int count_primes(const struct pp_task *task, struct pp_out *out)
{
    uint64_t range[2], count = 0;

    memcpy(range, task->arg, sizeof(range));
    for (uint64_t n = range[0]; n < range[1]; n++)
        count += (uint64_t)is_prime(n);
    return pp_out_write(out, &count, sizeof(count));
}

int main(void)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_results *res = NULL;
    struct pp_pool *pool;
    uint64_t ranges[RANGES][2], total = 0;
    int err;

    for (int i = 0; i < RANGES; i++) {
        ranges[i][0] = (uint64_t)LIMIT * (uint64_t)i / RANGES;
        ranges[i][1] = (uint64_t)LIMIT * (uint64_t)(i + 1) / RANGES;
    }
    opt.workers = 2;
    if ((err = pp_pool_create(&opt, &pool)) != 0) {
        fprintf(stderr, "procpool_map: pp_pool_create: %s\n",
                strerror(err));
        return 1;
    }
    err = pp_map(pool, count_primes, ranges, sizeof(ranges[0]), RANGES,
                 &(struct pp_map_options){ .chunk_size = 1 }, &res);
    for (size_t i = 0; err == 0 && i < RANGES; i++) {
        const void *data;
        size_t len;
        uint64_t c;

        if ((err = pp_results_get(res, i, &data, &len)) == 0) {
            memcpy(&c, data, sizeof(c));
            total += c;
        }
    }
    pp_results_free(res);
    pp_pool_destroy(pool);
    if (err != 0) {
        fprintf(stderr, "procpool_map: %s\n", strerror(err));
        return 1;
    }
    printf("%llu primes below %d\n", (unsigned long long)total, LIMIT);
    return 0;
}
