/*
 * gil.c - lesson 8: a fair global interpreter lock.
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

/*
 * Waits for the GIL and takes it.  The caller holds g->mutex and has
 * counted itself in g->waiters.
 */
static void take(struct gil *g)
{
    while (g->locked)
        pthread_cond_wait(&g->cond, &g->mutex);
    g->waiters--;
    g->locked = 1;
    g->epoch++;
    /* A yielder may be waiting for exactly this hand-over. */
    pthread_cond_broadcast(&g->switched);
}

void gil_acquire(struct gil *g)
{
    pthread_mutex_lock(&g->mutex);
    g->waiters++;
    take(g);
    pthread_mutex_unlock(&g->mutex);
}

void gil_release(struct gil *g)
{
    pthread_mutex_lock(&g->mutex);
    g->locked = 0;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->mutex);
}

int gil_yield(struct gil *g)
{
    unsigned long epoch;

    pthread_mutex_lock(&g->mutex);
    if (g->waiters == 0) {
        pthread_mutex_unlock(&g->mutex);
        return 0;
    }
    /* From now on we wait for the GIL too: count ourselves at once, so
     * that the next holder's yield hands it back to us even before we have
     * woken up. */
    g->waiters++;
    g->locked = 0;
    epoch = g->epoch;
    pthread_cond_signal(&g->cond);
    /* Forced switching: do not compete until another thread has it. */
    while (g->epoch == epoch)
        pthread_cond_wait(&g->switched, &g->mutex);
    g->switches++;
    take(g);
    pthread_mutex_unlock(&g->mutex);
    return 1;
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
