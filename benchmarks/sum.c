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
 *    array in place, as threads do.  Each worker maps the whole region in
 *    when it starts (the pool's prefault); --no-prefault (variant
 *    shm-no-prefault) leaves that out, so that each worker takes a page
 *    fault per 4 KiB page on its first pass: the first record shows it.
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
 *
 * The run itself (the common options, the set-up, the pool, the records)
 * is bench_run()'s (benchmarks/lib/bench_run.h): this file is the
 * workload's options, its plan, its data and its three kernels.
 */
#include "bench_run.h"
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

/* The program's options and data, for bench_run(). */
struct sum {
    long long n;
    bool copy;
    bool no_prefault;           /* --no-prefault */
    struct pp_tuning *tuning;   /* the procs pool's, filled in by check */
    const char *variant;        /* mpi only; NULL: not given */
    size_t chunk, tasks;
    int64_t *a;                 /* the array: in shm for procs without --copy */
    struct pp_shm *shm;
    struct part *parts;         /* threads: one per task */
    struct tp_future **futures;
};

static int sum_seq(void *ctx, const struct bench_pools *pools,
                   struct bench_record *r)
{
    struct sum *s = ctx;

    (void)pools;
    r->result = wl_sum_range(s->a, (size_t)s->n);
    return 0;
}

static int sum_threads(void *ctx, const struct bench_pools *pools,
                       struct bench_record *r)
{
    struct sum *s = ctx;
    size_t submitted = 0;
    int64_t total = 0;
    int err = 0, status;

    for (; submitted < s->tasks; submitted++)
        if ((err = tp_submit(pools->tp, sum_task, &s->parts[submitted],
                             &s->futures[submitted])) != 0)
            break;
    for (size_t i = 0; i < submitted; i++) {
        status = tp_future_get(s->futures[i], NULL);
        if (err == 0)
            err = status;
        tp_future_free(s->futures[i]);
        total += s->parts[i].sum;
    }
    r->result = total;
    return err;
}

static int sum_procs(void *ctx, const struct bench_pools *pools,
                     struct bench_record *r)
{
    struct sum *s = ctx;
    struct pp_results *res = NULL;
    size_t item = s->chunk * sizeof(int64_t);
    int64_t total = 0;
    int err;

    if (s->shm != NULL)
        err = pp_map_shm(pools->pp, sum_item,
                         &(struct pp_shm_items){ .shm = s->shm, .offset = 0,
                                                 .item_size = item,
                                                 .count = s->tasks },
                         &(struct pp_map_options){ .chunk_size = 1 }, &res);
    else
        err = pp_map(pools->pp, sum_item, s->a, item, s->tasks,
                     &(struct pp_map_options){ .chunk_size = 1 }, &res);
    for (size_t i = 0; err == 0 && i < s->tasks; i++) {
        const void *data;
        size_t len;
        int64_t part;

        err = pp_results_get(res, i, &data, &len);
        if (err == 0 && len != sizeof(part))
            err = EPROTO;
        if (err == 0) {
            memcpy(&part, data, sizeof(part));
            total += part;
        }
    }
    pp_results_free(res);
    r->result = total;
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

static int check(void *ctx, struct bench *b)
{
    struct sum *s = ctx;

    if (s->copy && strcmp(b->mode, "procs") != 0)
        return bench_usage_error(b, "--copy needs --mode procs");
    if (s->copy &&
        (unsigned long long)b->chunk > PP_ARG_MAX / sizeof(int64_t))
        return bench_usage_error(b, "--chunk: with --copy, a chunk is at "
                                 "most %zu values (one message)",
                                 PP_ARG_MAX / sizeof(int64_t));
    if (s->variant && strcmp(b->mode, "mpi") != 0)
        return bench_usage_error(b, "--variant needs --mode mpi");
    if (s->no_prefault && strcmp(b->mode, "procs") != 0)
        return bench_usage_error(b, "--no-prefault needs --mode procs");
    if (s->no_prefault && s->copy)
        return bench_usage_error(b, "--no-prefault: with --copy there "
                                 "is no shared array to map in");
    s->tuning->no_prefault = s->no_prefault;
    return BENCH_CONTINUE;
}

/* The split: chunk and tasks (see "Chunks" at the top). */
static int plan(void *ctx, struct bench *b, struct bench_job *job)
{
    struct sum *s = ctx;
    bool seq = strcmp(b->mode, "seq") == 0;
    size_t n = (size_t)s->n, w = (size_t)b->workers;

    if (seq) {
        s->chunk = n;
    } else {
        s->chunk = b->chunk > 0 ? (size_t)b->chunk : (n + w - 1) / w;
        if (s->copy && b->chunk == 0 &&
            s->chunk > PP_ARG_MAX / sizeof(int64_t))
            s->chunk = PP_ARG_MAX / sizeof(int64_t);
        if (s->chunk > n)       /* a chunk bigger than the array: one */
            s->chunk = n;
    }
    if (s->chunk == 0)          /* n == 0: one empty chunk */
        s->chunk = 1;
    s->tasks = seq ? 1 : (n + s->chunk - 1) / s->chunk;
    if (s->tasks == 0)
        s->tasks = 1;
    job->variant = strcmp(b->mode, "procs") != 0 ? "-"
                   : s->copy                     ? "copy"
                   : s->no_prefault              ? "shm-no-prefault"
                                                 : "shm";
    job->n = s->n;
    job->chunk = (long long)s->chunk;
    job->tasks = (long long)s->tasks;
    job->expected = wl_sum_expected((uint64_t)s->n);
    return 0;
}

/* Set-up: the array (in shared memory for procs, so that the pool's
 * workers, forked after it, see it), its values, the threads' parts. */
static int setup(void *ctx, struct bench *b, const struct bench_job *job)
{
    struct sum *s = ctx;
    bool threads = strcmp(b->mode, "threads") == 0;
    size_t n = (size_t)s->n;
    /* procs: padded with zeros up to a whole number of chunks. */
    size_t padded = strcmp(b->mode, "procs") == 0 ? s->tasks * s->chunk : n;
    int err;

    (void)job;
    if (strcmp(b->mode, "procs") == 0 && !s->copy) {
        err = pp_shm_create((padded ? padded : 1) * sizeof(int64_t),
                            &s->shm);
        if (err == 0)
            s->a = pp_shm_base(s->shm);
    } else {
        s->a = calloc(padded ? padded : 1, sizeof(int64_t));
        err = s->a ? 0 : ENOMEM;
    }
    if (err != 0) {
        bench_error(b, "allocating the array", err);
        return err;
    }
    wl_fill(s->a, 0, n);
    if (threads) {
        s->parts = calloc(s->tasks, sizeof(*s->parts));
        s->futures = calloc(s->tasks, sizeof(*s->futures));
        if (s->parts == NULL || s->futures == NULL) {
            bench_error(b, "creating the pool", ENOMEM);
            return ENOMEM;
        }
        for (size_t i = 0; i < s->tasks; i++) {
            size_t from = i * s->chunk;

            s->parts[i].a = s->a + from;
            s->parts[i].n = i + 1 < s->tasks ? s->chunk : n - from;
        }
    }
    return 0;
}

/* The reference, for humans: how fast could W threads read this? */
static void report(void *ctx, struct bench *b, double *kernel_s,
                   size_t runs)
{
    struct sum *s = ctx;
    long w = strcmp(b->mode, "seq") == 0 ? 1 : b->workers;
    double bytes = (double)s->n * sizeof(int64_t), med, ref;

    if (b->format != BENCH_TEXT || s->n == 0)
        return;
    med = bench_median(kernel_s, runs);
    ref = read_bandwidth(s->a, (size_t)s->n, w);
    bench_text(b, "sum: %.2f GB/s (median kernel); a tuned read loop "
               "on %ld thread%s reads %.2f GB/s: %.0f%% of it\n",
               bytes / med / 1e9, w, w == 1 ? "" : "s", ref / 1e9,
               ref > 0 ? 100.0 * bytes / med / ref : 0.0);
}

static void release(void *ctx)
{
    struct sum *s = ctx;

    if (s->shm)
        pp_shm_destroy(s->shm);
    else
        free(s->a);
    free(s->futures);
    free(s->parts);
}

int main(int argc, char **argv)
{
    /* n: the tutorial's measurement, 400 MB of 8-byte values. */
    struct sum s = { .n = 50000000 };
    static const char *const variants[] = { "static", "dynamic", "local",
                                            NULL };
    const struct bench_opt opts[] = {
        /* At most 2^34 values (128 GiB): a typo is refused, not paged. */
        { .name = "n", .type = BENCH_OPT_INT, .num = &s.n, .min = 0,
          .max = 1LL << 34, .metavar = "N",
          .help = "number of 64-bit values to sum" },
        { .name = "copy", .type = BENCH_OPT_FLAG, .flag = &s.copy,
          .help = "procs: send each chunk through the pool's sockets" },
        { .name = "no-prefault", .type = BENCH_OPT_FLAG,
          .flag = &s.no_prefault,
          .help = "procs: workers do not map the array in when they start "
                  "(pp_tuning.no_prefault): each pays a page fault per "
                  "4 KiB page on its first pass" },
        { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &s.variant,
          .choices = variants, .metavar = "static|dynamic|local",
          .help = "mpi: scatter (default), chunks on request, or no moving" },
        { 0 }
    };
    static const char *const modes[] = { "seq", "threads", "procs", "mpi",
                                         NULL };
    struct pp_tuning tuning = PP_TUNING_INIT;
    const struct bench_workload w = {
        .spec = { .name = "sum",
                  .summary = "sum an array of N 64-bit integers in chunks",
                  .modes = modes, .opts = opts },
        .check = check, .plan = plan, .setup = setup, .report = report,
        .release = release,
        .seq = sum_seq, .threads = sum_threads, .procs = sum_procs,
        /* One chunk at a time per worker: with one chunk per worker, a
         * prefetching pool could queue two chunks on one worker. */
        .procs_prefetch = 1,
        .procs_tuning = &tuning,
    };

    s.tuning = &tuning;
    return bench_run(&w, &s, argc, argv);
}
