/*
 * bench_run.h - the run that primes, sum and chunks share: a program
 * describes its workload in one table entry, bench_run() does the rest.
 *
 * These programs differ in their kernels and in little else.  Each one
 * parses the common options and a few of its own, checks them, hands
 * --mode mpi to its Open MPI version, works out the answer it expects,
 * builds its data and a pool (the timed set-up), runs --repeat
 * repetitions of one kernel (seq, threads or procs) with a record each,
 * and cleans up.  So a program fills in a struct bench_workload, its
 * spec, a few hooks and its three kernels, and main() is one call:
 *
 *     int main(int argc, char **argv)
 *     {
 *         struct primes p = { .n = 2000000 };   (options point into p)
 *         const struct bench_opt opts[] = { ... };
 *         const struct bench_workload w = {
 *             .spec = { .name = "primes", ..., .opts = opts },
 *             .plan = plan, .release = release,
 *             .seq = count_seq, .threads = count_threads,
 *             .procs = count_procs,
 *         };
 *
 *         return bench_run(&w, &p, argc, argv);
 *     }
 *
 * bench_run() calls, in this order (a NULL hook is skipped):
 *   1. bench_parse(), then w->check: the program's own rules for its
 *      command line, refused with bench_usage_error().
 *   2. --mode mpi: bench_exec_mpi(), which does not come back on success.
 *   3. w->plan, not timed: fills the struct bench_job (what every record
 *      says: variant, n, the chunk sizes, the expected answer) and may
 *      allocate what the set-up should not pay for.
 *   4. Timed together as the first record's setup_s: w->setup (the data
 *      the kernels read) and, for --mode threads or procs, the pool, made
 *      from bench_tp_options() or bench_pp_options() (bench.h).
 *   5. For each chunk size (one, or a sweep) and each repetition: a
 *      record, the kernel of --mode between bench_kernel_start() and
 *      bench_kernel_stop(), bench_emit().  A failed kernel or check stops
 *      the run.
 *   6. w->report (lines for humans after the records), the pools
 *      destroyed, w->release, bench_finish().
 *
 * The modes are named by spec.modes; "seq", "threads" and "procs" pick the
 * kernel of that name, and "mpi" is step 2.  Thread safety: as bench.h.
 */
#ifndef BENCH_BENCH_RUN_H
#define BENCH_BENCH_RUN_H

#include "bench.h"

struct tp_pool;
struct pp_pool;

/* The pool of this run: tp for --mode threads, pp for --mode procs, the
 * other NULL (both NULL for seq). */
struct bench_pools {
    struct tp_pool *tp;
    struct pp_pool *pp;
};

/* What the records of a run say; w->plan fills it in. */
struct bench_job {
    const char *variant;        /* every record's; NULL: "-" */
    long long n;                /* every record's problem size */
    long long chunk;            /* the chunk size, or a sweep's first */
    long long tasks;            /* tasks of a run; ignored in a sweep */
    /* A sweep (factor > 0): chunk, chunk * factor, ... up to last_chunk,
     * which is always run last; each run has ceil(n / chunk) tasks. */
    long long last_chunk, factor;
    int64_t expected;           /* the check; BENCH_NONE for none */
};

/*
 * One repetition of one mode's kernel.  r->chunk and r->tasks say the
 * run's split; the kernel stores its answer in r->result and returns 0, or
 * an errno value when it could not run (every task it started has ended
 * by then).  Called on the main thread, inside the timing.
 */
typedef int bench_kernel_fn(void *ctx, const struct bench_pools *pools,
                            struct bench_record *r);

/* A workload program.  ctx, given to bench_run(), is handed to every hook
 * and kernel: the program's options and data, so that it has no globals. */
struct bench_workload {
    struct bench_spec spec;
    /* Returns BENCH_CONTINUE, or what bench_usage_error() returned. */
    int (*check)(void *ctx, struct bench *b);
    /* Return 0, or non-zero after bench_error() said what failed. */
    int (*plan)(void *ctx, struct bench *b, struct bench_job *job);
    int (*setup)(void *ctx, struct bench *b, const struct bench_job *job);
    bench_kernel_fn *seq, *threads, *procs;
    /* After the runs, with the kernel times of the records emitted (in
     * any order; it may sort them); only when at least one was. */
    void (*report)(void *ctx, struct bench *b, double *kernel_s,
                   size_t runs);
    /* Frees what plan and setup took, whether or not they succeeded. */
    void (*release)(void *ctx);
    /* --mode procs: pp_options.prefetch (0: the pool's default). */
    unsigned procs_prefetch;
    /* --mode procs: pp_options.tuning (NULL: the defaults); read when
     * the pool is made, after check and plan, so they may fill it in. */
    const struct pp_tuning *procs_tuning;
};

/* Runs the program w describes, as above; returns main()'s exit status
 * (bench.h: 0, 1 a failure, 2 a bad command line). */
int bench_run(const struct bench_workload *w, void *ctx, int argc,
              char **argv);

#endif
