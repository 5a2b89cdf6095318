/*
 * executor.h - submit(): run a function on a pool, get a future (lesson 3).
 *
 * A thin layer over the library's thread pool (pools/threadpool.h): each
 * submitted call becomes one tp_submit task that runs the function and then
 * completes your future with future_set_result.  So the future's callbacks
 * run on one of the pool's worker threads.
 */
#ifndef LESSONS_EXECUTOR_H
#define LESSONS_EXECUTOR_H

#include "future.h"

struct executor;

/* A task: computes *result from arg; returns 0 or an error code (the
 * "exception" that future_result will return). */
typedef int executor_task_fn(long arg, long *result);

/* Starts a pool of `workers` threads.  Returns 0 or an errno value. */
int executor_create(unsigned workers, struct executor **out);

/*
 * Python's ex.submit(fn, arg): queues fn(arg); when it returns, f is
 * completed with its status and result.  f must be initialised
 * (future_init) and must stay valid until it is done.  Returns 0, or an
 * errno value (then fn never runs and f is left as it was).
 */
int executor_submit(struct executor *ex, executor_task_fn *fn, long arg,
                    struct future *f);

/* Runs every task still queued, then stops the workers.  NULL: nothing. */
void executor_destroy(struct executor *ex);

#endif
