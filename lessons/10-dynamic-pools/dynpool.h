/*
 * dynpool.h - lesson 10: the tutorial's DynamicThreadPool, finished.
 *
 * The tutorial (section 6.2) sketches a pool that starts a worker on each
 * submit until it has max_workers:
 *
 *     def submit(self, task):
 *         self.task_queue.put(task)
 *         if len(self.workers) < self.max_workers:
 *             ... start a worker ...
 *
 * and stops there.  Finished properly, a dynamic pool
 *   - starts a worker only when a task would otherwise wait: when the tasks
 *     queued outnumber the idle workers, and never beyond max_workers;
 *   - retires a worker that has been idle for idle_ms, down to min_workers;
 *   - joins every thread it started, the retired ones too;
 *   - on destroy, runs every task already submitted, then joins.
 *
 * Every call may be made from any thread, tasks included (a task may
 * submit to its own pool).  Calls return 0 or a positive errno value.
 */
#ifndef LESSON_DYNPOOL_H
#define LESSON_DYNPOOL_H

#include <stddef.h>

/* Most workers a pool may have. */
#define DTP_MAX_WORKERS 256

struct dtp_options {
    unsigned min_workers;   /* started at once, never retired */
    unsigned max_workers;   /* 1 .. DTP_MAX_WORKERS, >= min_workers */
    long idle_ms;           /* idle time after which a worker retires */
};
#define DTP_OPTIONS_INIT \
    { .min_workers = 0, .max_workers = 4, .idle_ms = 1000 }

typedef void dtp_task_fn(void *arg);

struct dtp_pool;

/* Creates a pool and starts min_workers workers.  Returns 0 and the pool
 * in *out; EINVAL for bad options; or ENOMEM / pthread_create's error. */
int dtp_create(const struct dtp_options *opt, struct dtp_pool **out);

/*
 * Queues fn(arg), starting a worker if no idle one will take it and the
 * pool has fewer than max_workers.  Returns 0; EINVAL if pool or fn is
 * NULL; ENOMEM; or pthread_create's error when the pool has no worker at
 * all and cannot start one (then the task is not queued).
 */
int dtp_submit(struct dtp_pool *pool, dtp_task_fn *fn, void *arg);

/* Runs every task submitted so far, joins every thread, frees the pool.
 * A task that submits during destroy gets ESHUTDOWN.  NULL does nothing.
 * Must not be called from one of the pool's tasks. */
void dtp_destroy(struct dtp_pool *pool);

struct dtp_stats {
    unsigned workers;       /* running now (busy or idle) */
    unsigned idle;          /* waiting for a task now */
    unsigned peak_workers;  /* most workers at any time */
    unsigned long started;  /* threads started so far */
    unsigned long retired;  /* workers retired after idle_ms */
    unsigned long completed;/* tasks run to the end */
    size_t queued;          /* tasks waiting for a worker */
};

/* A consistent snapshot of the counters. */
void dtp_get_stats(struct dtp_pool *pool, struct dtp_stats *out);

#endif
