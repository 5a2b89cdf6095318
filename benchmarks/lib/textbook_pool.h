/*
 * textbook_pool.h - the thread pool every textbook shows first.
 *
 * One mutex, one condition variable, a linked list with one malloc'd node
 * per task, and one pthread_cond_signal per submit.  It is correct and easy
 * to follow, and it is the baseline that benchmarks/overhead measures our
 * pool (pools/threadpool.h) against: every cost it pays per task is one
 * that threadpool.c's design comment explains how to avoid.
 *
 * Futures are the textbook kind too: a mutex, a condition variable and a
 * flag each.  tb_submit returns a future that the caller owns: wait for it
 * with tb_future_get and then free it with tb_future_free (never before the
 * task has finished: unlike tp_future_free, there is no reference count).
 * Return values are 0 or an errno value, as in the rest of the project.
 */
#ifndef BENCH_TEXTBOOK_POOL_H
#define BENCH_TEXTBOOK_POOL_H

struct tb_pool;
struct tb_future;

/* A task: returns its result. */
typedef void *tb_task_fn(void *arg);

/* Starts `workers` (>= 1) threads.  Returns 0, EINVAL, ENOMEM or EAGAIN. */
int tb_pool_create(unsigned workers, struct tb_pool **out);

/* Runs every queued task, joins the workers, frees the pool.  NULL: no-op. */
void tb_pool_destroy(struct tb_pool *pool);

/* Queues fn(arg); *out (if not NULL) gets its future.  0, EINVAL, ENOMEM. */
int tb_submit(struct tb_pool *pool, tb_task_fn *fn, void *arg,
              struct tb_future **out);

/* Blocks until the task has run; returns its result. */
void *tb_future_get(struct tb_future *f);

/* Frees a future whose task has finished (after tb_future_get).
 * NULL does nothing. */
void tb_future_free(struct tb_future *f);

#endif /* BENCH_TEXTBOOK_POOL_H */
