/*
 * future.h - a future: a result that will be there later (lesson 3).
 *
 * The C form of Python's concurrent.futures.Future:
 *
 *     Python                           C
 *     f = ex.submit(square, 5)         future_init(&f);
 *                                      executor_submit(ex, square, 5, &f)
 *     f.result()                       future_result(&f, &value)
 *     f.result(timeout=1)              future_result_timeout(&f, 1.0, &value)
 *     f.add_done_callback(callback)    future_add_done_callback(&f, cb, arg)
 *     f.done()                         future_done(&f)
 *     an exception raised by the task  a non-zero status
 *
 * Two sides use a future.  The producer (a pool's worker, when the task
 * returns) completes it once with future_set_result.  Consumers, in any
 * number of threads, wait for it or ask to be called back.
 *
 * One difference from Python: a callback receives the task's status and
 * value rather than the future, because in C someone must free the future,
 * and the callback must not be what keeps it alive.
 *
 * The struct is the caller's: future_init it, and future_release it once
 * it is done and no thread uses it any more.
 */
#ifndef LESSONS_FUTURE_H
#define LESSONS_FUTURE_H

#include <pthread.h>
#include <stdbool.h>

struct future;

/*
 * A done-callback: runs once, when the task's result is in, with the
 * task's status and value (what future_result would return) and the arg
 * given with it.  It runs in the thread that completes the future
 * (future_set_result), or, if the future is done already, in the thread
 * that adds it.  It may call any future_ function on the same future,
 * except future_release; it may even add another callback, which then also
 * runs before the future counts as done.
 */
typedef void future_callback_fn(int status, long value, void *arg);

struct future_callback {
    future_callback_fn *fn;
    void *arg;
    struct future_callback *next;
};

/*
 * A future goes through three states:
 *   pending     no result yet;
 *   completing  future_set_result has stored the result and is running the
 *               callbacks (outside the lock);
 *   done        every callback has returned: waiters return now, and once
 *               they have, the future may be released.
 * Waiting for "done" rather than for the result alone is what makes it safe
 * to future_release a future as soon as future_result returns: no callback
 * can still be running with it.
 */
struct future {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;   /* broadcast once, when done becomes true;
                                   its clock is CLOCK_MONOTONIC */
    bool completing;            /* the result is stored; lock */
    bool done;                  /* ...and the callbacks have run; lock */
    int status;                 /* the task's status, 0 or an error code;
                                   lock, never changes once completing */
    long value;                 /* the task's result; like status */
    struct future_callback *callbacks;      /* to run, oldest first; lock */
    struct future_callback **callbacks_end; /* where the next one goes */
};

/* Prepares f (not done, no callbacks).  Returns 0 or an errno value. */
int future_init(struct future *f);

/* Frees what future_init and future_add_done_callback allocated. */
void future_release(struct future *f);

/*
 * The producer's side: stores the task's status and value in f, runs f's
 * callbacks in this thread, in the order they were added (and any that
 * they add), then marks f done and wakes every thread waiting on it.
 * Returns 0, or EALREADY if f already had a result (then nothing changes:
 * a future completes once).
 */
int future_set_result(struct future *f, int status, long value);

/*
 * Python's f.result(): waits until f is done, stores the task's value in
 * *value (if value is not NULL) and returns the task's status.  Must not be
 * called from one of f's own callbacks (it would wait for itself).
 */
int future_result(struct future *f, long *value);

/*
 * Python's f.result(timeout=...): as future_result, but gives up after
 * timeout_s seconds and returns ETIMEDOUT (the task carries on; ask again
 * later).  timeout_s == 0 only looks.  Returns EINVAL, without waiting, if
 * timeout_s is negative or not a number.
 */
int future_result_timeout(struct future *f, double timeout_s, long *value);

/*
 * Python's f.add_done_callback(fn): fn(status, value, arg) will run once,
 * when f's result is in; if f is done already, it runs now, in this thread,
 * before this call returns.  Returns 0, EINVAL (fn NULL), or ENOMEM (then
 * fn never runs).
 */
int future_add_done_callback(struct future *f, future_callback_fn *fn,
                             void *arg);

/* Python's f.done(): true once f is done (result in, callbacks run).
 * Never blocks. */
bool future_done(struct future *f);

#endif
