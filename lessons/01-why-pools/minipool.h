/*
 * minipool.h - the smallest useful thread pool, for lesson 1.
 *
 * A fixed number of worker threads take tasks from one queue.  This is the
 * shape of every pool in this project (and of Python's ThreadPoolExecutor):
 * the threads are created once, in minipool_create, and then reused for
 * every task, instead of creating one thread per task.
 *
 *     Python                                   C
 *     ex = ThreadPoolExecutor(max_workers=3)   minipool_create(3, &pool)
 *     ex.submit(task, n)                       minipool_submit(pool, task, &n)
 *     concurrent.futures.wait(...)             minipool_wait(pool)
 *     end of the "with" block                  minipool_destroy(pool)
 *
 * There are no futures here (lesson 3 adds them): a task returns nothing,
 * and minipool_wait waits for every task submitted so far.
 */
#ifndef LESSONS_MINIPOOL_H
#define LESSONS_MINIPOOL_H

struct minipool;

/* A task: runs on one of the pool's worker threads. */
typedef void minipool_task_fn(void *arg);

/*
 * Starts `workers` threads (1 or more).  Returns 0 and the pool in *out, or
 * EINVAL, ENOMEM, EAGAIN (no more threads).  Free it with minipool_destroy.
 */
int minipool_create(unsigned workers, struct minipool **out);

/*
 * Queues fn(arg) to run on a worker.  May be called from any thread,
 * including from a task running on the pool.  Returns 0, EINVAL (fn NULL),
 * ENOMEM, or ESHUTDOWN once minipool_destroy has started.
 */
int minipool_submit(struct minipool *pool, minipool_task_fn *fn, void *arg);

/*
 * Blocks until every task submitted so far (and every task those tasks
 * submitted) has finished.  Must not be called from a task.
 */
void minipool_wait(struct minipool *pool);

/*
 * Runs every task still queued, then stops and joins the workers and frees
 * the pool.  NULL does nothing.  Must not be called from a task.
 */
void minipool_destroy(struct minipool *pool);

#endif
