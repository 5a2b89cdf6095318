/*
 * map.c - executor.map (tutorial, section 2): the squares of 0..9 on a
 * pool of 4 threads, in input order whatever order the workers finish in.
 *
 * Python:
 *     with ThreadPoolExecutor(max_workers=4) as executor:
 *         print(list(executor.map(lambda x: x * x, range(10))))
 */
#include "threadpool.h"

#include <stdio.h>
#include <string.h>

#define N 10

/* Item i: in points to a long, out to where its square goes. */
static int square(void *ctx, size_t i, const void *in, void *out)
{
    const long *x = in;

    (void)ctx;
    (void)i;
    *(long *)out = *x * *x;
    return 0;
}

int main(void)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *pool;
    long in[N], out[N];
    int err;

    opt.workers = 4;
    for (long i = 0; i < N; i++)
        in[i] = i;
    if ((err = tp_pool_create(&opt, &pool)) != 0) {
        fprintf(stderr, "map: tp_pool_create: %s\n", strerror(err));
        return 1;
    }
    /* No .chunk_size: the pool chooses, as map's default chunksize does. */
    err = tp_map(pool, square, NULL, N,
                 &(struct tp_map_options){
                     .in = in, .in_size = sizeof(in[0]),
                     .out = out, .out_size = sizeof(out[0]) },
                 NULL);
    tp_pool_destroy(pool);
    if (err != 0) {
        fprintf(stderr, "map: tp_map: %s\n", strerror(err));
        return 1;
    }
    printf("[");
    for (int i = 0; i < N; i++)
        printf("%s%ld", i ? ", " : "", out[i]);
    printf("]\n");
    return 0;
}
