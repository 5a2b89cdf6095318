/*
 * gil.c - lesson 8: a fair global interpreter lock.
 *
 * YOUR PART: gil_acquire(), gil_release() and gil_yield(), marked
 * EXERCISE.  The structure, its set-up and the two queries are given; the
 * fields are the ones the design below needs, each saying what it is for.
 * Grade your work with `make grade LESSON=08` from the top folder.
 *
 * The GIL is a flag, `locked`, guarded by an ordinary mutex, plus two
 * condition variables: `cond`, where threads wait for the flag to clear,
 * and `switched`, where a yielding thread waits for a hand-over to happen.
 * Why not just a pthread mutex as the GIL?  Because of gil_yield().
 *
 * The naive yield is "release, then acquire again".  It almost never
 * yields: the releasing thread is running, the waiter is asleep, and by the
 * time the kernel has woken the waiter the releaser has long taken the GIL
 * back.  The waiter finds it taken and goes back to sleep.  On a multi-core
 * machine a CPU-bound thread can starve the others this way for seconds:
 * it is what David Beazley measured on Python 2 in 2009, and why Python
 * 3.2 rewrote its GIL with "forced switching": after dropping the GIL, the
 * holder waits until another thread has actually taken it.
 *
 * That is what `epoch` is for: it counts acquisitions.  gil_yield() notes
 * the epoch, clears `locked`, wakes a waiter, and sleeps on `switched`
 * until the epoch has moved on, i.e. until someone else holds the GIL.
 * Only then does it queue for the GIL itself.  It counts itself among the
 * waiters as soon as it lets go, not when it wakes up: otherwise the new
 * holder, checking `waiters` before the yielder has been scheduled again,
 * would think nobody waits and keep the GIL for another round.  With two
 * CPU-bound threads the GIL goes back and forth at every check: they take
 * turns, as Python's threads do, and neither starves.
 *
 * What it does not do: FIFO order among many waiters (the woken thread may
 * lose to a newcomer, which is fine: someone other than the yielder gets
 * the GIL, and that is all forced switching promises), priorities, or the
 * timed "drop request" of CPython 3.2 (interp.c counts steps instead).
 */
#include "gil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct gil {
    pthread_mutex_t mutex;      /* guards every field below */
    pthread_cond_t cond;        /* signalled when locked goes to 0 */
    pthread_cond_t switched;    /* broadcast when epoch moves on */
    int locked;                 /* 1 while a thread holds the GIL */
    unsigned long waiters;      /* threads waiting for locked == 0 */
    unsigned long epoch;        /* acquisitions so far */
    unsigned long switches;     /* gil_yield() calls that handed over */
};

int gil_create(struct gil **out)
{
    struct gil *g = calloc(1, sizeof *g);
    int rc;

    if (g == NULL)
        return ENOMEM;
    if ((rc = pthread_mutex_init(&g->mutex, NULL)) != 0)
        goto fail_free;
    if ((rc = pthread_cond_init(&g->cond, NULL)) != 0)
        goto fail_mutex;
    if ((rc = pthread_cond_init(&g->switched, NULL)) != 0)
        goto fail_cond;
    *out = g;
    return 0;

fail_cond:
    pthread_cond_destroy(&g->cond);
fail_mutex:
    pthread_mutex_destroy(&g->mutex);
fail_free:
    free(g);
    return rc;
}

void gil_destroy(struct gil *g)
{
    if (g == NULL)
        return;
    pthread_cond_destroy(&g->switched);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mutex);
    free(g);
}

void gil_acquire(struct gil *g)
{
    /*
     * EXERCISE 1: under g->mutex, count yourself in g->waiters, wait on
     * g->cond while g->locked is set, count yourself out, then take the
     * GIL: set locked, advance epoch, and broadcast `switched` (a yielder
     * may be waiting for exactly this).  gil_yield() needs the same steps:
     * a static helper "take(g), caller holds g->mutex" saves writing them
     * twice.
     */
    (void)g;
}

void gil_release(struct gil *g)
{
    /*
     * EXERCISE 2: under g->mutex, clear locked and wake one waiter.
     */
    (void)g;
}

int gil_yield(struct gil *g)
{
    /*
     * EXERCISE 3: under g->mutex: if nobody waits, return 0 (still holding
     * the GIL).  Otherwise count yourself in g->waiters right away (you
     * wait for the GIL from now on), clear locked, remember the epoch, wake
     * a waiter, and wait on g->switched until the epoch has changed:
     * another thread holds the GIL now.  Count the switch, wait for the GIL
     * like gil_acquire() does, and return 1.
     *
     * Do not write "gil_release(g); gil_acquire(g);": read the comment at
     * the top of the file, then the test two_cpu_bound_threads_take_turns,
     * to see why.
     */
    (void)g;
    return 0;
}

unsigned long gil_waiters(struct gil *g)
{
    unsigned long n;

    pthread_mutex_lock(&g->mutex);
    n = g->waiters;
    pthread_mutex_unlock(&g->mutex);
    return n;
}

unsigned long gil_switches(struct gil *g)
{
    unsigned long n;

    pthread_mutex_lock(&g->mutex);
    n = g->switches;
    pthread_mutex_unlock(&g->mutex);
    return n;
}
