/*
 * chunks - what the chunk size does to a map: the tutorial's
 * pool.map(is_prime, numbers) (section 3) run with chunk sizes from 1 up,
 * for the batching lesson (section 6, "批处理优化").
 *
 *     chunks --mode threads --workers 2           sweep 1, 4, 16, ... N/W
 *     chunks --mode procs --workers 2 --n 1e5
 *     chunks --mode procs --chunk 64              one chunk size only
 *
 * A map hands its items to the workers in chunks: one chunk is one task
 * for the thread pool (tp_map) and one message for the process pool
 * (pp_map).  Each task or message has a fixed cost (taking it from a queue,
 * waking a worker, for processes a trip through a socket and back), paid
 * once per chunk, so:
 *
 *  - chunks that are too small spend more time on that fixed cost than on
 *    the work: with a chunk of one number, a cheap is_prime call is
 *    dwarfed by its task;
 *  - chunks that are too large balance badly: the work is split into few
 *    pieces, the cost of a number grows with the number, and a worker
 *    that got the last, dearest chunk is still busy when the others are
 *    done.
 *
 * In between lies a wide flat bottom.  The program runs every chunk size
 * C = min-chunk * factor^k up to max-chunk and prints one record per chunk
 * size and repetition (bench=chunks; chunk = C, tasks = the number of
 * chunks), so the suite can plot kernel time against C.  --chunk C (not 0)
 * runs that one size; --mode seq runs the plain loop once per repetition,
 * the baseline for the plot.
 *
 * The work per item is the tutorial's is_prime (wl_is_prime); each item's
 * answer is one byte, written in place (threads) or sent back (processes).
 * The number of primes found is checked against the known pi(N).
 *
 * How pp_map is driven: Python's Pool.map(f, items, chunksize=C) pickles
 * each chunk of C items into one message and sends the C answers back in
 * one message too.  pp_map sends a chunk in one frame but answers every
 * item with a frame of its own (that is how it can name the item that
 * crashed its worker), so a chunk size there saves only the sending half.
 * To batch both halves, as the tutorial's section 6 does by hand
 * (batches = [data[i:i+batch_size] ...]; executor.map(batch_process,
 * batches)), the process mode maps over batches: one item of pp_map is a
 * batch of C numbers, and its answer is the C flag bytes.  The last batch
 * is padded with zeros, which is_prime rejects, so the count is unchanged.
 *
 * How tp_map is driven: tp_map lets the calling thread work on chunks too,
 * which would make W workers plus the main thread, one thread too many.  So
 * the main thread submits one task that calls tp_map on its own pool (the
 * header allows it): then exactly the W workers compute, one of them also
 * handing out the chunks, and the main thread only waits.
 *
 * The run itself (the common options, the set-up, the pool, the sweep and
 * its records) is bench_run()'s (benchmarks/lib/bench_run.h): this file is
 * the workload's options, its plan, its data and its three kernels.
 */
#include "bench_run.h"
#include "procpool.h"
#include "threadpool.h"
#include "workloads.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The item function of the thread pool's map: in = the number, out = one
 * byte, 1 if it is prime. */
static int prime_fn(void *ctx, size_t i, const void *in, void *out)
{
    uint64_t n;

    (void)ctx;
    (void)i;
    memcpy(&n, in, sizeof(n));
    *(unsigned char *)out = wl_is_prime(n);
    return 0;
}

/* The program's options and data, for bench_run(). */
struct chunks {
    long long n, min_chunk, max_chunk, factor;
    bool kill;                  /* --kill-worker (procs) */
    long long first, last;      /* the sweep, from check() */
    uint64_t *numbers;          /* 0..n-1, zeros after (procs' padding) */
    unsigned char *flags;       /* threads: one answer per number */
};

/* One tp_map, run as a task of the pool it maps on (see the top). */
struct map_job {
    struct tp_pool *pool;
    const uint64_t *numbers;
    unsigned char *flags;
    size_t n, chunk;
};

static int map_task(void *arg, void **result)
{
    struct map_job *job = arg;

    (void)result;
    return tp_map(job->pool, prime_fn, NULL, job->n,
                  &(struct tp_map_options){
                      .in = job->numbers, .in_size = sizeof(job->numbers[0]),
                      .out = job->flags, .out_size = 1,
                      .chunk_size = job->chunk },
                  NULL);
}

/*
 * --kill-worker marks one number with the top bit, which no number below
 * --n's limit has: the worker that meets it dies of SIGKILL, as one that
 * the kernel's out-of-memory killer chose would, in the middle of a map.
 */
#define KILL_MARK ((uint64_t)1 << 63)

/* The process pool's item: a batch of numbers in, one flag byte per number
 * back, in one result. */
static int prime_batch(const struct pp_task *task, struct pp_out *out)
{
    size_t count = task->arg_len / sizeof(uint64_t);
    unsigned char flags[4096];

    if (task->arg_len % sizeof(uint64_t) != 0)
        return EINVAL;
    /* Flags go out in pieces of sizeof(flags): pp_out_write appends. */
    for (size_t done = 0; done < count; ) {
        size_t k = count - done < sizeof(flags) ? count - done
                                                : sizeof(flags);
        int err;

        for (size_t i = 0; i < k; i++) {
            uint64_t n;

            memcpy(&n, (const char *)task->arg + (done + i) * sizeof(n),
                   sizeof(n));
            if (n & KILL_MARK)
                kill(getpid(), SIGKILL);
            flags[i] = wl_is_prime(n);
        }
        if ((err = pp_out_write(out, flags, k)) != 0)
            return err;
        done += k;
    }
    return 0;
}

static int map_seq(void *ctx, const struct bench_pools *pools,
                   struct bench_record *r)
{
    struct chunks *c = ctx;

    (void)pools;
    r->result = (int64_t)wl_count_primes(0, (uint64_t)c->n);
    return 0;
}

static int map_threads(void *ctx, const struct bench_pools *pools,
                       struct bench_record *r)
{
    struct chunks *c = ctx;
    struct map_job job = { pools->tp, c->numbers, c->flags, (size_t)c->n,
                           (size_t)r->chunk };
    struct tp_future *f;
    int64_t count = 0;
    int err = tp_submit(job.pool, map_task, &job, &f);

    if (err != 0)
        return err;
    err = tp_future_get(f, NULL);
    tp_future_free(f);
    for (size_t i = 0; err == 0 && i < job.n; i++)
        count += job.flags[i];
    r->result = count;
    return err;
}

/* numbers has room for n rounded up to a multiple of chunk, zeros beyond
 * n (see setup).  With --kill-worker, the middle batch carries KILL_MARK
 * on its first number, and the worker that reads it kills itself: that
 * batch ends crashed, its numbers are neither counted nor expected, and
 * the pool starts a replacement. */
static int map_procs(void *ctx, const struct bench_pools *pools,
                     struct bench_record *r)
{
    struct chunks *c = ctx;
    struct pp_results *res = NULL;
    size_t chunk = (size_t)r->chunk, batches = (size_t)r->tasks;
    size_t doomed = batches / 2 * chunk;
    int64_t count = 0;
    int err;

    if (c->kill) {
        r->variant = "kill-worker";
        c->numbers[doomed] |= KILL_MARK;
    }
    err = pp_map(pools->pp, prime_batch, c->numbers,
                 chunk * sizeof(c->numbers[0]), batches,
                 &(struct pp_map_options){ .chunk_size = 1 }, &res);
    if (c->kill) {
        c->numbers[doomed] &= ~KILL_MARK;
        if (res != NULL)
            err = 0;
    }

    for (size_t i = 0; err == 0 && i < batches; i++) {
        const unsigned char *flags;
        const void *data;
        struct pp_outcome o;
        size_t len;

        if (c->kill && pp_results_outcome(res, i, &o) == 0 &&
            o.end == PP_END_SIGNALED) {
            uint64_t from = (uint64_t)(i * chunk);
            uint64_t to = from + chunk < (uint64_t)c->n ? from + chunk
                                                         : (uint64_t)c->n;

            r->expected -= (int64_t)wl_count_primes(from, to);
            continue;
        }
        err = pp_results_get(res, i, &data, &len);
        if (err == 0 && len != chunk)
            err = EPROTO;
        flags = data;
        for (size_t k = 0; err == 0 && k < len; k++)
            count += flags[k];
    }
    pp_results_free(res);
    r->result = count;
    return err;
}

/* The sweep's bounds, and the command lines that cannot be run. */
static int check(void *ctx, struct bench *b)
{
    struct chunks *c = ctx;

    if (c->max_chunk == 0) {
        c->max_chunk = (c->n + b->workers - 1) / b->workers;
        /* procs: a batch of C numbers is one message of 8 C bytes, and a
         * message holds at most PP_ARG_MAX (64 MiB, 8 Mi numbers).  The
         * default sweep stops there rather than refusing an --n its help
         * accepts; only a chunk asked for explicitly can be too big. */
        if (strcmp(b->mode, "procs") == 0 &&
            (unsigned long long)c->max_chunk * sizeof(uint64_t) > PP_ARG_MAX)
            c->max_chunk = (long long)(PP_ARG_MAX / sizeof(uint64_t));
    }
    c->first = b->chunk > 0 ? b->chunk : c->min_chunk;
    c->last = b->chunk > 0 ? b->chunk : c->max_chunk;
    if (b->chunk > c->n)        /* one chunk holds every number */
        c->first = c->last = c->n;
    if (strcmp(b->mode, "seq") == 0)
        c->first = c->last = c->n;
    if (c->kill && strcmp(b->mode, "procs") != 0)
        return bench_usage_error(b, "--kill-worker needs --mode procs");
    if (c->first > c->last)
        return bench_usage_error(b, "--min-chunk %lld is above "
                                 "--max-chunk %lld", c->first, c->last);
    if (strcmp(b->mode, "procs") == 0 &&
        (unsigned long long)c->last * sizeof(uint64_t) > PP_ARG_MAX)
        return bench_usage_error(b, "chunk %lld is over the process "
                                 "pool's %zu-byte argument limit",
                                 c->last, (size_t)PP_ARG_MAX);
    return BENCH_CONTINUE;
}

static int plan(void *ctx, struct bench *b, struct bench_job *job)
{
    struct chunks *c = ctx;
    uint64_t expected;
    int err;

    if ((err = wl_primes_expected((uint64_t)c->n, &expected)) != 0) {
        bench_error(b, "computing the expected count", err);
        return err;
    }
    job->n = c->n;
    job->chunk = c->first;
    job->last_chunk = c->last;
    job->factor = c->factor;
    job->expected = (int64_t)expected;
    return 0;
}

/* Set-up: the items (the numbers, as the tutorial's numbers list) and the
 * answers' room. */
static int setup(void *ctx, struct bench *b, const struct bench_job *job)
{
    struct chunks *c = ctx;

    (void)job;
    /* Room for the process mode's zero padding: its last batch is a
     * whole chunk (chunk <= last <= n). */
    c->numbers = calloc((size_t)(c->n + c->last), sizeof(*c->numbers));
    c->flags = malloc((size_t)c->n);
    if (c->numbers == NULL || c->flags == NULL) {
        bench_error(b, "allocating the items", ENOMEM);
        return ENOMEM;
    }
    for (long long i = 0; i < c->n; i++)
        c->numbers[i] = (uint64_t)i;
    return 0;
}

static void release(void *ctx)
{
    struct chunks *c = ctx;

    free(c->flags);
    free(c->numbers);
}

int main(int argc, char **argv)
{
    struct chunks c = { .n = 200000, .min_chunk = 1, .factor = 4 };
    const struct bench_opt opts[] = {
        { .name = "n", .type = BENCH_OPT_INT, .num = &c.n, .min = 1,
          .max = 100000000, .metavar = "N",
          .help = "map is_prime over the numbers below N" },
        { .name = "min-chunk", .type = BENCH_OPT_INT, .num = &c.min_chunk,
          .min = 1, .max = 100000000, .metavar = "C",
          .help = "smallest chunk size of the sweep" },
        { .name = "max-chunk", .type = BENCH_OPT_INT, .num = &c.max_chunk,
          .min = 0, .max = 100000000, .metavar = "C",
          .help = "largest chunk size; 0 = ceil(N / W), one per worker "
                  "(procs: at most 8388608, a 64 MiB message)" },
        { .name = "factor", .type = BENCH_OPT_INT, .num = &c.factor,
          .min = 2, .max = 1000, .metavar = "F",
          .help = "each chunk size is F times the one before" },
        { .name = "kill-worker", .type = BENCH_OPT_FLAG, .flag = &c.kill,
          .help = "procs: the worker of the middle batch kills itself "
                  "(SIGKILL); that batch is not counted" },
        { 0 }
    };
    static const char *const modes[] = { "threads", "procs", "seq", NULL };
    const struct bench_workload w = {
        .spec = { .name = "chunks",
                  .summary = "map is_prime over [0, N) with a sweep of "
                             "chunk sizes",
                  .modes = modes, .opts = opts },
        .check = check, .plan = plan, .setup = setup, .release = release,
        .seq = map_seq, .threads = map_threads, .procs = map_procs,
    };

    return bench_run(&w, &c, argc, argv);
}
