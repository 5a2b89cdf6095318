/*
 * sum - add up an array of N 64-bit integers in chunks, sequentially, on a
 * thread pool and on a process pool (tutorial, section 5: "a large numpy
 * array is summed in chunks by a process pool").
 *
 *     sum --mode seq --n 5e7                      400 MB, one loop
 *     sum --mode threads --workers 2
 *     sum --mode procs --workers 2                workers read shared memory
 *     sum --mode procs --workers 2 --copy         chunks sent through sockets
 *     sum --mode mpi --workers 2                  2 Open MPI ranks
 *
 * One addition per 8 bytes read: the CPU could add far faster than memory
 * delivers, so this workload measures memory bandwidth and data movement,
 * not arithmetic.  Two lessons come out of it:
 *
 *  - Threads share the process's memory, so W threads just read their own
 *    slices of one array.  Two threads beat one only as far as one core
 *    alone cannot use all of the memory bandwidth; in text mode the program
 *    measures that bandwidth for W threads with a tuned read loop and
 *    prints how close the run came to it.
 *
 *  - Processes do not share memory unless asked to.  The tutorial's
 *    pool.map(process_chunk, chunks) pickles every chunk and sends it
 *    through a pipe to a worker: the whole array is copied (twice: into the
 *    pipe and out of it) to do one addition per value, and it ends up far
 *    slower than a plain loop.  --copy does exactly that with pp_map(),
 *    whose items travel through the pool's sockets (variant copy).
 *    Without --copy (variant shm) the array lives in a pp_shm region
 *    created before the pool, which every worker maps at the
 *    same address: only the chunk's index travels, and the workers read the
 *    array in place, as threads do.
 *
 *  - MPI ranks share nothing at all, and may be on other machines: --mode
 *    mpi execs `mpirun -np W` on this program's MPI version, mpi/sum
 *    beside it (benchmarks/mpi/sum.c), with the same arguments
 *    (bench_exec_mpi in benchmarks/lib/bench.c).  --variant static
 *    scatters the array from rank 0, dynamic sends chunks on request,
 *    local lets every rank fill and sum its own block: compare the first
 *    two with local to see what moving the data costs.  Needs Open MPI
 *    (scripts/setup.sh) and the plain build.
 *
 * The values follow wl_value(i) (benchmarks/lib/workloads.h), whose total
 * has a closed form: the check is exact and independent of the kernel.
 *
 * Timing: allocating and filling the array and creating the pool are
 * set-up (setup_s, in the first record).  kernel_s covers handing out the
 * chunks, summing, and collecting and adding the partial sums.
 *
 * Chunks: --chunk 0 gives one chunk per worker, the best split for a
 * workload whose every value costs the same; --copy caps a chunk at what
 * one message may carry (PP_ARG_MAX).  For the process pool, whose items
 * are all one size, the array is padded with zeros up to a whole number of
 * chunks; the zeros add nothing to the sum.
 */
#include "bench.h"
#include "procpool.h"
#include "threadpool.h"
#include "workloads.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Passes of the bandwidth reference; the best one is kept, as the best is
 * what the machine can do and the others are what the neighbours did. */
#define BANDWIDTH_PASSES 3

/* One thread-pool task: sum a slice, write the answer in the record. */
struct part {
    const int64_t *a;
    size_t n;
    int64_t sum;
};

static int sum_task(void *arg, void **result)
{
    struct part *p = arg;

    (void)result;
    p->sum = wl_sum_range(p->a, p->n);
    return 0;
}

/* One process-pool item: a chunk of values, in shared memory (shm) or in
 * the worker's private copy (copy).  The partial sum comes back as 8
 * bytes. */
static int sum_item(const struct pp_task *task, struct pp_out *out)
{
    int64_t sum = wl_sum_range(task->arg, task->arg_len / sizeof(int64_t));

    return pp_out_write(out, &sum, sizeof(sum));
}

static int run_threads(struct tp_pool *pool, struct part *parts,
                       struct tp_future **fs, size_t tasks, int64_t *sum)
{
    size_t submitted = 0;
    int err = 0, status;

    for (; submitted < tasks; submitted++)
        if ((err = tp_submit(pool, sum_task, &parts[submitted],
                             &fs[submitted])) != 0)
            break;
    *sum = 0;
    for (size_t i = 0; i < submitted; i++) {
        status = tp_future_get(fs[i], NULL);
        if (err == 0)
            err = status;
        tp_future_free(fs[i]);
        *sum += parts[i].sum;
    }
    return err;
}

static int run_procs(struct pp_pool *pool, struct pp_shm *shm,
                     const int64_t *a, size_t chunk, size_t tasks,
                     int64_t *sum)
{
    struct pp_results *res = NULL;
    size_t item = chunk * sizeof(int64_t);
    int err;

    if (shm != NULL)
        err = pp_map_shm(pool, sum_item,
                         &(struct pp_shm_items){ .shm = shm, .offset = 0,
                                                 .item_size = item,
                                                 .count = tasks },
                         &(struct pp_map_options){ .chunk_size = 1 }, &res);
    else
        err = pp_map(pool, sum_item, a, item, tasks,
                     &(struct pp_map_options){ .chunk_size = 1 }, &res);
    *sum = 0;
    for (size_t i = 0; err == 0 && i < tasks; i++) {
        const void *data;
        size_t len;
        int64_t s;

        err = pp_results_get(res, i, &data, &len);
        if (err == 0 && len != sizeof(s))
            err = EPROTO;
        if (err == 0) {
            memcpy(&s, data, sizeof(s));
            *sum += s;
        }
    }
    pp_results_free(res);
    return err;
}

/* ---- The bandwidth reference ----------------------------------------- */

/*
 * A tuned read loop: what the hardware can deliver to W threads, with no
 * pool in the way, for the sum to be compared with.  Eight independent
 * XOR accumulators keep the core from waiting on its own arithmetic, and a
 * prefetch 4 KiB ahead (as in wl_sum_range, see workloads.c) keeps enough
 * cache misses in flight; XOR, like the sum, needs every word read, and
 * the result is stored where the compiler must assume it is used.
 */
#define READ_AHEAD 512

struct reader {
    const uint64_t *a;
    size_t n;
    uint64_t x;
};

static void *read_main(void *arg)
{
    struct reader *r = arg;
    const uint64_t *a = r->a;
    uint64_t x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0, x5 = 0, x6 = 0, x7 = 0;
    size_t i = 0;

    for (; i + 8 <= r->n; i += 8) {
        /* A GCC and Clang built-in; kept inside the array, as there. */
        __builtin_prefetch(i + READ_AHEAD < r->n ? a + i + READ_AHEAD
                                                 : a + i);
        x0 ^= a[i];
        x1 ^= a[i + 1];
        x2 ^= a[i + 2];
        x3 ^= a[i + 3];
        x4 ^= a[i + 4];
        x5 ^= a[i + 5];
        x6 ^= a[i + 6];
        x7 ^= a[i + 7];
    }
    for (; i < r->n; i++)
        x0 ^= a[i];
    r->x = x0 ^ x1 ^ x2 ^ x3 ^ x4 ^ x5 ^ x6 ^ x7;
    return NULL;
}

/* Reads a[0..n-1] with w threads, BANDWIDTH_PASSES times; returns the best
 * rate in bytes per second, or 0 if a thread could not be started. */
static double read_bandwidth(const int64_t *a, size_t n, long w)
{
    struct reader rd[BENCH_MAX_WORKERS];
    pthread_t th[BENCH_MAX_WORKERS];
    double best = 0.0;

    for (int pass = 0; pass < BANDWIDTH_PASSES; pass++) {
        double t0 = bench_now(), t;
        long started = 0;

        for (; started < w; started++) {
            size_t from = n * (size_t)started / (size_t)w;
            size_t to = n * (size_t)(started + 1) / (size_t)w;

            rd[started] = (struct reader){ (const uint64_t *)a + from,
                                           to - from, 0 };
            if (pthread_create(&th[started], NULL, read_main,
                               &rd[started]) != 0)
                break;
        }
        for (long k = 0; k < started; k++)
            pthread_join(th[k], NULL);
        t = bench_now() - t0;
        if (started < w)
            return 0.0;
        if (t > 0 && (double)n * sizeof(int64_t) / t > best)
            best = (double)n * sizeof(int64_t) / t;
    }
    return best;
}

int main(int argc, char **argv)
{
    /* The tutorial's measurement: 400 MB of 8-byte values. */
    long long n = 50000000;
    bool copy = false;
    const char *variant = NULL;         /* NULL: not given */
    static const char *const variants[] = { "static", "dynamic", "local",
                                            NULL };
    const struct bench_opt opts[] = {
        /* At most 2^34 values (128 GiB): a typo is refused, not paged. */
        { .name = "n", .type = BENCH_OPT_INT, .num = &n, .min = 0,
          .max = 1LL << 34, .metavar = "N",
          .help = "number of 64-bit values to sum" },
        { .name = "copy", .type = BENCH_OPT_FLAG, .flag = &copy,
          .help = "procs: send each chunk through the pool's sockets" },
        { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &variant,
          .choices = variants, .metavar = "static|dynamic|local",
          .help = "mpi: scatter (default), chunks on request, or no moving" },
        { 0 }
    };
    static const char *const modes[] = { "seq", "threads", "procs", "mpi",
                                         NULL };
    const struct bench_spec spec = {
        .name = "sum",
        .summary = "sum an array of N 64-bit integers in chunks",
        .modes = modes,
        .opts = opts,
    };
    struct bench b;
    struct tp_options topt = TP_OPTIONS_INIT;
    struct pp_options popt = PP_OPTIONS_INIT;
    struct tp_pool *tpool = NULL;
    struct pp_pool *ppool = NULL;
    struct pp_shm *shm = NULL;
    struct part *parts = NULL;
    struct tp_future **futures = NULL;
    int64_t *a = NULL, expected;
    size_t chunk, tasks, padded;
    double setup_s, t0, *kernels = NULL;
    long runs = 0;
    bool seq, threads;
    int err = 0, rc;

    rc = bench_parse(&b, &spec, argc, argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    seq = strcmp(b.mode, "seq") == 0;
    threads = strcmp(b.mode, "threads") == 0;
    if (copy && strcmp(b.mode, "procs") != 0)
        return bench_usage_error(&b, "--copy needs --mode procs");
    if (copy && (unsigned long long)b.chunk > PP_ARG_MAX / sizeof(int64_t))
        return bench_usage_error(&b, "--chunk: with --copy, a chunk is at "
                                 "most %zu values (one message)",
                                 PP_ARG_MAX / sizeof(int64_t));
    if (variant && strcmp(b.mode, "mpi") != 0)
        return bench_usage_error(&b, "--variant needs --mode mpi");
    if (strcmp(b.mode, "mpi") == 0)
        return bench_exec_mpi(&b, argc, argv);
    expected = wl_sum_expected((uint64_t)n);

    if (seq) {
        chunk = (size_t)n;
    } else {
        chunk = b.chunk > 0 ? (size_t)b.chunk
                            : ((size_t)n + (size_t)b.workers - 1) /
                              (size_t)b.workers;
        if (copy && b.chunk == 0 && chunk > PP_ARG_MAX / sizeof(int64_t))
            chunk = PP_ARG_MAX / sizeof(int64_t);
        if (chunk > (size_t)n)  /* a chunk bigger than the array: one */
            chunk = (size_t)n;
    }
    if (chunk == 0)             /* n == 0: one empty chunk */
        chunk = 1;
    tasks = seq ? 1 : ((size_t)n + chunk - 1) / chunk;
    if (tasks == 0)
        tasks = 1;
    padded = seq || threads ? (size_t)n : tasks * chunk;

    /* Set-up: the array (in shared memory for procs, so that the pool's
     * workers, forked after it, see it), its values, the pool. */
    t0 = bench_now();
    if (!seq && !threads && !copy) {
        err = pp_shm_create((padded ? padded : 1) * sizeof(int64_t), &shm);
        if (err == 0)
            a = pp_shm_base(shm);
    } else {
        a = calloc(padded ? padded : 1, sizeof(int64_t));
        err = a ? 0 : ENOMEM;
    }
    if (err != 0) {
        bench_error(&b, "allocating the array", err);
        goto done;
    }
    wl_fill(a, 0, (size_t)n);
    if (threads) {
        parts = calloc(tasks, sizeof(*parts));
        futures = calloc(tasks, sizeof(*futures));
        if (parts == NULL || futures == NULL)
            err = ENOMEM;
        for (size_t i = 0; err == 0 && i < tasks; i++) {
            size_t from = i * chunk;

            parts[i].a = a + from;
            parts[i].n = i + 1 < tasks ? chunk : (size_t)n - from;
        }
        topt.workers = (unsigned)b.workers;
        if (err == 0)
            err = tp_pool_create(&topt, &tpool);
    } else if (!seq) {
        /* One chunk at a time per worker: with one chunk per worker, a
         * prefetching pool could queue two chunks on one worker. */
        popt.workers = (unsigned)b.workers;
        popt.prefetch = 1;
        err = pp_pool_create(&popt, &ppool);
    }
    setup_s = bench_now() - t0;
    if (err != 0) {
        bench_error(&b, "creating the pool", err);
        goto done;
    }
    kernels = calloc((size_t)b.repeat, sizeof(*kernels));

    for (long rep = 0; rep < b.repeat; rep++) {
        struct bench_record r;
        int64_t total = 0;

        bench_record_init(&b, &r, rep);
        r.variant = seq || threads ? "-" : copy ? "copy" : "shm";
        r.n = n;
        r.chunk = (long long)chunk;
        r.tasks = (long long)tasks;
        r.setup_s = rep == 0 ? setup_s : 0.0;

        bench_kernel_start(&r);
        if (seq)
            total = wl_sum_range(a, (size_t)n);
        else if (threads)
            err = run_threads(tpool, parts, futures, tasks, &total);
        else
            err = run_procs(ppool, shm, a, chunk, tasks, &total);
        bench_kernel_stop(&r);
        if (err != 0) {
            bench_error(&b, "running the tasks", err);
            break;
        }
        if (kernels)
            kernels[runs++] = r.kernel_s;
        r.result = total;
        r.expected = expected;
        if (bench_emit(&b, &r) != 0)
            break;
    }

    /* The reference, for humans: how fast could W threads read this? */
    if (b.format == BENCH_TEXT && runs > 0 && n > 0) {
        long w = seq ? 1 : b.workers;
        double bytes = (double)n * sizeof(int64_t);
        double med = bench_median(kernels, (size_t)runs);
        double ref = read_bandwidth(a, (size_t)n, w);

        bench_text(&b, "sum: %.2f GB/s (median kernel); a tuned read loop "
                   "on %ld thread%s reads %.2f GB/s: %.0f%% of it\n",
                   bytes / med / 1e9, w, w == 1 ? "" : "s", ref / 1e9,
                   ref > 0 ? 100.0 * bytes / med / ref : 0.0);
    }

done:
    tp_pool_destroy(tpool);
    pp_pool_destroy(ppool);
    if (shm)
        pp_shm_destroy(shm);
    else
        free(a);
    free(kernels);
    free(futures);
    free(parts);
    return bench_finish(&b);
}
