/*
 * future.c - a future: one mutex, one condition variable, a callback list.
 *
 * A future is a box for one result, shared between the thread that
 * computes it and the threads that want it.  The mutex protects every
 * field; the condition variable done_cond lets waiters sleep until the box
 * is full.  Python's concurrent.futures.Future is built the same way (a
 * threading.Condition plus a list of callbacks).
 *
 * Completing (future_set_result): store the status and value and mark the
 * future "completing" under the lock, so that a second completion fails
 * and a callback added from now on sees the result.  Then run the
 * callbacks *without* the lock: a callback is the caller's code, and it may
 * call back into this future (add another callback, ask whether it is
 * done); under the lock that would deadlock on a mutex we already hold.
 * Since a callback may add a callback, take the list, run it, and look
 * again until the list stays empty.  Only then mark the future done and
 * broadcast: every waiter must wake, not just one (signal would wake one).
 *
 * Waiting (future_result, future_result_timeout): a while loop around
 * pthread_cond_wait, because a wake-up only means "look again" (spurious
 * wake-ups are allowed).  The timed wait takes an absolute deadline,
 * computed once before the loop, so spurious wake-ups do not stretch the
 * total wait; done_cond uses CLOCK_MONOTONIC so that setting the wall
 * clock does not stretch or cut it either.
 *
 * Callbacks run in the order they were added, exactly once each: either in
 * the completing thread or, when added to a future that is done, at once in
 * the adding thread.  Not provided: cancelling (the library's
 * tp_future_cancel does that), and callbacks that fail (they return void).
 */
#include "future.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

int future_init(struct future *f)
{
    pthread_condattr_t attr;
    int rc;

    f->completing = false;
    f->done = false;
    f->status = 0;
    f->value = 0;
    f->callbacks = NULL;
    f->callbacks_end = &f->callbacks;
    if ((rc = pthread_mutex_init(&f->lock, NULL)) != 0)
        return rc;
    if ((rc = pthread_condattr_init(&attr)) != 0)
        goto fail;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&f->done_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        goto fail;
    return 0;

fail:
    pthread_mutex_destroy(&f->lock);
    return rc;
}

void future_release(struct future *f)
{
    struct future_callback *cb = f->callbacks, *next;

    for (; cb != NULL; cb = next) {     /* only if never completed */
        next = cb->next;
        free(cb);
    }
    pthread_cond_destroy(&f->done_cond);
    pthread_mutex_destroy(&f->lock);
}

/* The absolute CLOCK_MONOTONIC time timeout_s seconds from now, as
 * pthread_cond_timedwait wants it. */
static struct timespec deadline_after(double timeout_s)
{
    struct timespec ts;
    double whole = floor(timeout_s);

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((timeout_s - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Takes the whole callback list out of f, leaving it empty.  Caller holds
 * f->lock. */
static struct future_callback *take_callbacks(struct future *f)
{
    struct future_callback *list = f->callbacks;

    f->callbacks = NULL;
    f->callbacks_end = &f->callbacks;
    return list;
}

/* Runs a list taken with take_callbacks and frees it.  Call it WITHOUT
 * f->lock held. */
static void run_callbacks(struct future_callback *list, int status,
                          long value)
{
    struct future_callback *next;

    for (; list != NULL; list = next) {
        next = list->next;
        list->fn(status, value, list->arg);
        free(list);
    }
}

int future_set_result(struct future *f, int status, long value)
{
    /*
     * EXERCISE: complete f.
     *   1. With f->lock held: if f->completing, return EALREADY (unlock!).
     *      Else store status and value and set f->completing.
     *   2. Run the callbacks WITHOUT the lock: take the list with
     *      take_callbacks(f) (lock held), unlock, run_callbacks(list, ...),
     *      lock again; repeat until the list taken is empty (a callback
     *      may have added another).
     *   3. Set f->done and wake EVERY waiter on f->done_cond.  Return 0.
     */
    (void)f;
    (void)status;
    (void)value;
    (void)take_callbacks;   /* you will call these two: delete this line */
    (void)run_callbacks;
    return ENOSYS;
}

int future_result(struct future *f, long *value)
{
    /*
     * EXERCISE: with f->lock held, wait on f->done_cond until f->done; then
     * copy f->value to *value (if value is not NULL) and return f->status.
     */
    (void)f;
    (void)value;
    return ENOSYS;
}

int future_result_timeout(struct future *f, double timeout_s, long *value)
{
    /*
     * EXERCISE: as future_result, but with a time limit.
     *   - Return EINVAL if timeout_s is negative or NaN (!(timeout_s >= 0)
     *     catches both).
     *   - Compute the deadline ONCE, before waiting: deadline_after().
     *   - Wait with pthread_cond_timedwait(&f->done_cond, &f->lock,
     *     &deadline) while !f->done; when it returns ETIMEDOUT and f is
     *     still not done, return ETIMEDOUT (unlock!).
     */
    (void)f;
    (void)timeout_s;
    (void)value;
    (void)deadline_after;   /* you will call it: delete this line */
    return ENOSYS;
}

int future_add_done_callback(struct future *f, future_callback_fn *fn,
                             void *arg)
{
    /*
     * EXERCISE: return EINVAL if fn is NULL.  Allocate a struct
     * future_callback (ENOMEM if malloc fails) holding fn and arg.  With
     * f->lock held: if f is not done, append it at *f->callbacks_end (then
     * move callbacks_end to &cb->next) and return 0.  If f is done, copy
     * its status and value, unlock, and run the callback here and now
     * (run_callbacks frees it).  Return 0.
     */
    (void)f;
    (void)fn;
    (void)arg;
    return ENOSYS;
}

bool future_done(struct future *f)
{
    bool done;

    pthread_mutex_lock(&f->lock);
    done = f->done;
    pthread_mutex_unlock(&f->lock);
    return done;
}
