/*
 * primes - count the primes below N by trial division, sequentially, on a
 * thread pool and on a process pool (tutorial, sections 3 and 4).
 *
 *     primes --mode seq --n 2e6
 *     primes --mode threads --workers 2 --n 2e7
 *     primes --mode threads --workers 2 --gil     (threads under a "GIL")
 *     primes --mode procs --workers 2
 *     primes --mode mpi --workers 2               (2 Open MPI ranks)
 *
 * The work: wl_count_primes() over [0, N), the tutorial's is_prime() on
 * every number (benchmarks/lib/workloads.c).  The answer is checked against
 * the known value of pi(N), or a sieve for an N not in the table.
 *
 * How it is split: [0, N) is cut into chunks of C consecutive numbers, one
 * task each, submitted in order; a worker that finishes a chunk takes the
 * next one, so the load balances itself as long as there are many more
 * chunks than workers.  That matters here because the cost of a number
 * grows like its square root: the last chunk is the most expensive, and
 * with one chunk per worker (W equal halves) the worker holding the top
 * half would still be busy long after the others went idle.  The automatic
 * chunk size makes 64 chunks per worker, so the idle tail at the end is at
 * most about one chunk, under 1/64 of a worker's share.
 *
 * Modes:
 *   seq      one loop over [0, N) on the main thread, no pool: the honest
 *            baseline a speedup is measured against.
 *   threads  the chunks go to a tp_pool of W threads (pools/threadpool.h);
 *            each task writes its count into its own chunk record, so the
 *            tasks share nothing while they run.  The main thread only
 *            submits and waits.
 *            --gil: every task holds one lock, shared by all tasks, for as
 *            long as it computes.  That is what CPython's global
 *            interpreter lock does to Python threads running Python code:
 *            only one of them computes at a time, so W threads take as long
 *            as one, plus the cost of handing the lock around.  Run it
 *            beside plain threads to see the GIL's effect on a chart.
 *   procs    the chunks go to a pp_pool of W processes
 *            (pools/procpool.h), as multiprocessing.Pool.map does in the
 *            tutorial: each chunk's bounds go to a worker through the pool
 *            and its count comes back.
 *   mpi      W Open MPI ranks instead of a pool: the program execs
 *            `mpirun -np W` on its MPI version, mpi/primes beside it
 *            (benchmarks/mpi/primes.c), with the same arguments
 *            (bench_exec_mpi in benchmarks/lib/bench.c).  Same chunks,
 *            same kernel, same check; --variant static deals the chunks
 *            round robin with no messages, --variant dynamic has rank 0
 *            hand them out on request, like a pool's queue.  Needs Open
 *            MPI (scripts/setup.sh) and the plain build.
 *
 * Timing: the pool is created before the clock starts (setup_s, in the
 * first record); kernel_s covers submitting every chunk, computing, and
 * collecting every count.
 *
 * The run itself (the common options, the set-up, the pool, the records)
 * is bench_run()'s (benchmarks/lib/bench_run.h): this file is the
 * workload's options, its plan and its three kernels.
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

/* Chunks per worker when --chunk is 0 (see the comment at the top). */
#define CHUNKS_PER_WORKER 64

/* One task's work and answer.  Each task writes only its own record; the
 * main thread reads the counts after tp_future_get() has returned, which
 * orders the task's write before the read. */
struct chunk {
    uint64_t from, to;          /* count the primes in [from, to) */
    uint64_t count;
    pthread_mutex_t *gil;       /* --gil: held while counting; or NULL */
    struct tp_pool *pool;       /* threads: the pool that runs it */
};

static int count_task(void *arg, void **result)
{
    struct chunk *c = arg;
    int err;

    (void)result;
    if (c->gil && (err = pthread_mutex_lock(c->gil)) != 0)
        return err;
    /* --trace: the wait for the "GIL" is not work (ENOTSUP without). */
    if (c->gil)
        (void)tp_pool_task_began(c->pool);
    c->count = wl_count_primes(c->from, c->to);
    if (c->gil)
        pthread_mutex_unlock(c->gil);
    return 0;
}

/* The program's options and data, for bench_run(). */
struct primes {
    long long n;
    bool gil;
    const char *variant;        /* mpi only; NULL: not given */
    pthread_mutex_t gil_lock;
    struct chunk *chunks;       /* threads: one per task */
    struct tp_future **futures;
    uint64_t *bounds;           /* procs: [from, to) of each task */
};

static int count_seq(void *ctx, const struct bench_pools *pools,
                     struct bench_record *r)
{
    struct primes *p = ctx;

    (void)pools;
    r->result = (int64_t)wl_count_primes(0, (uint64_t)p->n);
    return 0;
}

/* Submits every chunk to the pool and waits for all of them.  Returns 0,
 * or the first error (a failed submit, or a task's status); every task
 * that was submitted has finished when it returns, either way. */
static int count_threads(void *ctx, const struct bench_pools *pools,
                         struct bench_record *r)
{
    struct primes *p = ctx;
    size_t submitted = 0, tasks = (size_t)r->tasks;
    uint64_t count = 0;
    int err = 0, status;

    for (; submitted < tasks; submitted++) {
        p->chunks[submitted].pool = pools->tp;
        err = tp_submit(pools->tp, count_task, &p->chunks[submitted],
                        &p->futures[submitted]);
        if (err != 0)
            break;
    }
    for (size_t i = 0; i < submitted; i++) {
        status = tp_future_get(p->futures[i], NULL);
        if (err == 0)
            err = status;
        tp_future_free(p->futures[i]);
        count += p->chunks[i].count;
    }
    r->result = (int64_t)count;
    return err;
}

/* A process-pool task: the item is a chunk's two bounds, the result its
 * count, as 8 bytes. */
static int count_item(const struct pp_task *task, struct pp_out *out)
{
    uint64_t bounds[2], count;

    if (task->arg_len != sizeof(bounds))
        return EINVAL;
    memcpy(bounds, task->arg, sizeof(bounds));
    count = wl_count_primes(bounds[0], bounds[1]);
    return pp_out_write(out, &count, sizeof(count));
}

/* Maps the chunks over the process pool and adds up their counts.
 * Returns 0, or the first error. */
static int count_procs(void *ctx, const struct bench_pools *pools,
                       struct bench_record *r)
{
    struct primes *p = ctx;
    struct pp_results *res = NULL;
    size_t tasks = (size_t)r->tasks;
    uint64_t count = 0;
    int err;

    /* One chunk per message: a message of several chunks would go to one
     * worker as a block and undo the balancing that many chunks buy. */
    err = pp_map(pools->pp, count_item, p->bounds, 2 * sizeof(p->bounds[0]),
                 tasks, &(struct pp_map_options){ .chunk_size = 1 }, &res);
    for (size_t i = 0; err == 0 && i < tasks; i++) {
        const void *data;
        size_t len;
        uint64_t c;

        err = pp_results_get(res, i, &data, &len);
        if (err == 0 && len != sizeof(c))
            err = EPROTO;
        if (err == 0) {
            memcpy(&c, data, sizeof(c));
            count += c;
        }
    }
    pp_results_free(res);
    r->result = (int64_t)count;
    return err;
}

static int check(void *ctx, struct bench *b)
{
    struct primes *p = ctx;

    if (p->gil && strcmp(b->mode, "threads") != 0)
        return bench_usage_error(b, "--gil needs --mode threads");
    if (p->variant && strcmp(b->mode, "mpi") != 0)
        return bench_usage_error(b, "--variant needs --mode mpi");
    return BENCH_CONTINUE;
}

/* The expected count (a table look-up, or a sieve) and the chunks, before
 * any timing. */
static int plan(void *ctx, struct bench *b, struct bench_job *job)
{
    struct primes *p = ctx;
    uint64_t n = (uint64_t)p->n, expected, chunk, tasks;
    int err;

    if ((err = wl_primes_expected(n, &expected)) != 0) {
        bench_error(b, "computing the expected count", err);
        return err;
    }
    if (strcmp(b->mode, "seq") == 0) {
        chunk = n;
        tasks = 1;
    } else {
        uint64_t per = (uint64_t)CHUNKS_PER_WORKER * (uint64_t)b->workers;

        chunk = (uint64_t)b->chunk;
        if (chunk == 0)
            chunk = (n + per - 1) / per;
        if (chunk > n)          /* one chunk holds everything */
            chunk = n;
        if (chunk == 0)         /* n == 0: no numbers, no tasks */
            chunk = 1;
        tasks = n > 0 ? (n + chunk - 1) / chunk : 0;
        p->chunks = calloc(tasks ? tasks : 1, sizeof(*p->chunks));
        p->futures = calloc(tasks ? tasks : 1, sizeof(*p->futures));
        p->bounds = calloc(tasks ? 2 * tasks : 1, sizeof(*p->bounds));
        if (p->chunks == NULL || p->futures == NULL || p->bounds == NULL) {
            bench_error(b, "allocating the chunks", ENOMEM);
            return ENOMEM;
        }
        for (uint64_t i = 0; i < tasks; i++) {
            p->chunks[i].from = p->bounds[2 * i] = i * chunk;
            p->chunks[i].to = p->bounds[2 * i + 1] =
                i + 1 < tasks ? (i + 1) * chunk : n;
            p->chunks[i].gil = p->gil ? &p->gil_lock : NULL;
        }
    }
    job->variant = p->gil ? "gil" : "-";
    job->n = p->n;
    job->chunk = (long long)chunk;
    job->tasks = (long long)tasks;
    job->expected = (int64_t)expected;
    return 0;
}

static void release(void *ctx)
{
    struct primes *p = ctx;

    free(p->bounds);
    free(p->futures);
    free(p->chunks);
}

int main(int argc, char **argv)
{
    /* n: the tutorial's measurement, 2*10^6. */
    struct primes p = { .n = 2000000,
                        .gil_lock = PTHREAD_MUTEX_INITIALIZER };
    static const char *const variants[] = { "static", "dynamic", NULL };
    const struct bench_opt opts[] = {
        { .name = "n", .type = BENCH_OPT_INT, .num = &p.n, .min = 0,
          .max = (long long)WL_PRIMES_MAX, .metavar = "N",
          .help = "count the primes below N" },
        { .name = "gil", .type = BENCH_OPT_FLAG, .flag = &p.gil,
          .help = "threads: every task holds one global lock (a GIL)" },
        { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &p.variant,
          .choices = variants, .metavar = "static|dynamic",
          .help = "mpi: chunks round robin (default), or dealt on request" },
        { 0 }
    };
    static const char *const modes[] = { "seq", "threads", "procs", "mpi",
                                         NULL };
    const struct bench_workload w = {
        .spec = { .name = "primes",
                  .summary = "count the primes below N by trial division",
                  .modes = modes, .opts = opts },
        .check = check, .plan = plan, .release = release,
        .seq = count_seq, .threads = count_threads, .procs = count_procs,
        /* No prefetching: a worker asks for its next chunk only when it
         * is done with this one, which is what balances the load. */
        .procs_prefetch = 1,
    };

    return bench_run(&w, &p, argc, argv);
}
