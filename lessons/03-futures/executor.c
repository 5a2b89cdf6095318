/*
 * executor.c - submit() on top of the library's thread pool (lesson 3).
 *
 * The pool (pools/threadpool.c) already knows how to queue a task and run
 * it on a worker; it even has futures of its own, which we do not use here,
 * because writing one is the exercise.  All this file adds is a small
 * "job" that remembers which function to call and which future to complete:
 *
 *     executor_submit  ->  tp_submit(pool, run_job, job, NULL)
 *     a worker         ->  run_job: status = fn(arg, &value);
 *                                   future_set_result(f, status, value)
 *
 * Not done here: cancelling, or a future that the executor allocates; the
 * caller owns the future, so the caller must keep it alive until it is
 * done.
 */
#include "executor.h"

#include <errno.h>
#include <stdlib.h>

#include "threadpool.h"

struct executor {
    struct tp_pool *pool;
};

struct job {
    executor_task_fn *fn;
    long arg;
    struct future *f;
};

/* A tp_task_fn: runs on a worker of the pool. */
static int run_job(void *arg, void **unused)
{
    struct job *job = arg;
    long value = 0;
    int status;

    (void)unused;
    status = job->fn(job->arg, &value);
    future_set_result(job->f, status, value);
    free(job);
    return 0;
}

int executor_create(unsigned workers, struct executor **out)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct executor *ex;
    int rc;

    *out = NULL;
    if (workers == 0)
        return EINVAL;
    ex = malloc(sizeof(*ex));
    if (ex == NULL)
        return ENOMEM;
    opt.workers = workers;
    rc = tp_pool_create(&opt, &ex->pool);
    if (rc != 0) {
        free(ex);
        return rc;
    }
    *out = ex;
    return 0;
}

int executor_submit(struct executor *ex, executor_task_fn *fn, long arg,
                    struct future *f)
{
    struct job *job;
    int rc;

    if (fn == NULL || f == NULL)
        return EINVAL;
    job = malloc(sizeof(*job));
    if (job == NULL)
        return ENOMEM;
    job->fn = fn;
    job->arg = arg;
    job->f = f;
    rc = tp_submit(ex->pool, run_job, job, NULL);
    if (rc != 0)
        free(job);
    return rc;
}

void executor_destroy(struct executor *ex)
{
    if (ex == NULL)
        return;
    tp_pool_destroy(ex->pool);
    free(ex);
}
