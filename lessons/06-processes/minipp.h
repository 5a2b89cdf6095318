/*
 * minipp.h - lesson 6: one task in a child process, then a tiny process pool.
 *
 * Part 1, run_in_child(), is Python's "run this function in another
 * process": fork a child, let it compute fn(arg), send the answer back
 * through a pipe, leave with _exit(), and reap it with waitpid() so that no
 * zombie is left behind.
 *
 * Part 2, struct mpp_pool, is multiprocessing.Pool(W).map(fn, items) in
 * miniature: W children are forked once and then fed many tasks through
 * pipes, so the cost of fork() is paid W times instead of once per task.
 *
 * Functions are passed by pointer.  That works across fork() because the
 * child is a copy of the parent: the same program at the same addresses.
 * (It would not work across exec(): Python pickles the function's name for
 * the same reason.)
 *
 * Every call returns 0 or a positive errno value.  Nothing here prints.
 */
#ifndef LESSON_MINIPP_H
#define LESSON_MINIPP_H

#include <stddef.h>

/* A task: takes one number, returns one number (square, is_prime...). */
typedef long mpp_fn(long arg);

/*
 * Runs fn(arg) in a new child process and stores its answer in *result.
 * Returns 0; EINVAL if fn or result is NULL; EIO if the child ended without
 * sending a whole answer (it crashed, was killed, or exited with a non-zero
 * status); or the errno of a failed pipe() or fork().  In every case the
 * child has been reaped and no descriptor is left open when it returns.
 */
int run_in_child(mpp_fn *fn, long arg, long *result);

struct mpp_pool;

/*
 * Forks `workers` child processes that will run fn.  Call it before the
 * program starts threads (see lesson 9).  Returns 0 and the pool in *out;
 * EINVAL if workers < 1 or > MPP_MAX_WORKERS or fn is NULL; or the errno of
 * pipe()/fork()/malloc() (then no child and no descriptor is left behind).
 */
#define MPP_MAX_WORKERS 64
int mpp_create(int workers, mpp_fn *fn, struct mpp_pool **out);

/*
 * out[i] = fn(in[i]) for i < n, computed by the pool's children.  Each
 * child has at most one task in flight; the next task goes to whichever
 * child answers first, so a slow task does not hold up the others.
 * Returns 0; EINVAL for NULL arrays with n > 0; EIO if a child died (the
 * pool is then unusable: destroy it); or the errno of read()/write().
 */
int mpp_map(struct mpp_pool *pool, const long *in, long *out, size_t n);

/*
 * Closes the task pipes (each child reads end-of-file and leaves) and
 * reaps every child.  Returns 0, or EIO if a child had not exited normally
 * with status 0.  NULL is accepted and does nothing.
 */
int mpp_destroy(struct mpp_pool *pool);

#endif
