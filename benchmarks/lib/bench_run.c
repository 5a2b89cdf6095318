/*
 * bench_run.c - the one run of primes, sum and chunks: command line,
 * set-up, pool, repetitions, records (bench_run.h states the order).
 *
 * Why a table entry rather than a main() per program: the three programs
 * used to repeat the same sixty lines (parse, refuse, exec mpirun, time the
 * set-up, create the pool, loop over the repetitions, fill a record, report
 * a failure, clean up), and a fix to one of them (say, how setup_s is
 * counted) had to be made three times to keep their records comparable.
 * Here it is made once, and a program is what is its own: its options, its
 * data and its kernels.
 *
 * What it guarantees: the pool is created after w->setup (a process pool's
 * workers are forked from the program as it is then, so data that the
 * workers must see, such as sum's shared array, exists before they do); the
 * timing of a record covers its kernel only; the first record of the run
 * carries the set-up time and the later ones 0; a failed kernel, a failed
 * check or a failed --out write ends the run with exit status 1.
 *
 * What it does not do: choose chunk sizes or allocate the program's data
 * (w->plan and w->setup know what their kernels need), or run anything
 * other than the three pooled modes (overhead, io, crawl and images have
 * kernels of other shapes and call the bench.h functions themselves).
 */
#include "bench_run.h"
#include "procpool.h"
#include "threadpool.h"
#include "trace_file.h"

#include <string.h>

/* The kernel for b->mode, and the pool it needs: 't', 'p' or 0. */
static bench_kernel_fn *pick_kernel(const struct bench_workload *w,
                                    const char *mode, char *pool)
{
    *pool = 0;
    if (strcmp(mode, "threads") == 0) {
        *pool = 't';
        return w->threads;
    }
    if (strcmp(mode, "procs") == 0) {
        *pool = 'p';
        return w->procs;
    }
    return w->seq;
}

/* Creates the pool the mode needs; 0 or an errno value. */
static int create_pool(const struct bench_workload *w, const struct bench *b,
                       char kind, struct bench_pools *pools)
{
    if (kind == 't') {
        struct tp_options opt;

        bench_tp_options(b, &opt);
        return tp_pool_create(&opt, &pools->tp);
    }
    if (kind == 'p') {
        struct pp_options opt;
        struct pp_tuning tuning;

        bench_pp_options(b, &opt);
        opt.prefetch = w->procs_prefetch;
        if (w->procs_tuning != NULL) {
            /* The program's switches, with the harness's recording. */
            tuning = *w->procs_tuning;
            if (opt.tuning != NULL)
                tuning.record_events = opt.tuning->record_events;
            opt.tuning = &tuning;
        }
        return pp_pool_create(&opt, &pools->pp);
    }
    return 0;
}

/* --repeat records of one chunk size.  Returns 0, or non-zero once the run
 * must stop (the failure has been reported). */
static int run_chunk(void *ctx, struct bench *b, bench_kernel_fn *kernel,
                     const struct bench_pools *pools,
                     const struct bench_job *job, long long chunk,
                     long long tasks, double *setup_s)
{
    for (long rep = 0; rep < b->repeat; rep++) {
        struct bench_record r;
        int err;

        bench_record_init(b, &r, rep);
        r.variant = job->variant ? job->variant : "-";
        r.n = job->n;
        r.chunk = chunk;
        r.tasks = tasks;
        r.setup_s = *setup_s;
        *setup_s = 0.0;         /* the first record only */
        r.expected = job->expected;

        bench_kernel_start(&r);
        err = kernel(ctx, pools, &r);
        bench_kernel_stop(&r);
        if (err != 0) {
            bench_error(b, "running the tasks", err);
            return err;
        }
        if (bench_emit(b, &r) != 0)
            return BENCH_EXIT_FAIL;
    }
    return 0;
}

int bench_run(const struct bench_workload *w, void *ctx, int argc,
              char **argv)
{
    struct bench_job job = { .expected = BENCH_NONE };
    struct bench_pools pools = { NULL, NULL };
    bench_kernel_fn *kernel;
    struct bench b;
    double setup_s, t0;
    char kind;
    int rc;

    rc = bench_parse(&b, &w->spec, argc, argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    if (w->check && (rc = w->check(ctx, &b)) != BENCH_CONTINUE)
        return rc;
    if (strcmp(b.mode, "mpi") == 0)
        return bench_exec_mpi(&b, argc, argv);
    kernel = pick_kernel(w, b.mode, &kind);

    if (w->plan && w->plan(ctx, &b, &job) != 0)
        goto done;
    t0 = bench_now();
    if (w->setup && w->setup(ctx, &b, &job) != 0)
        goto done;
    if ((rc = create_pool(w, &b, kind, &pools)) != 0) {
        bench_error(&b, "creating the pool", rc);
        goto done;
    }
    setup_s = bench_now() - t0;

    if (job.factor == 0) {
        run_chunk(ctx, &b, kernel, &pools, &job, job.chunk, job.tasks,
                  &setup_s);
    } else {
        /* The sweep ends with last_chunk itself, whatever the factor. */
        for (long long c = job.chunk;;) {
            if (run_chunk(ctx, &b, kernel, &pools, &job, c,
                          (job.n + c - 1) / c, &setup_s) != 0 ||
                c >= job.last_chunk)
                break;
            c = c > job.last_chunk / job.factor ? job.last_chunk
                                                : c * job.factor;
        }
    }
    if (w->report && b.emitted > 0)
        w->report(ctx, &b, b.kernel_s, (size_t)b.emitted);

done:
    if (pools.tp != NULL)
        bench_trace_tp(&b, pools.tp);
    if (pools.pp != NULL)
        bench_trace_pp(&b, pools.pp);
    tp_pool_destroy(pools.tp);
    pp_pool_destroy(pools.pp);
    if (w->release)
        w->release(ctx);
    return bench_finish(&b);
}
