/*
 * pp_handle.c - the handle of one pp_apply_async: how its caller waits for
 * it, reads it and frees it, and how, while it waits, the caller reads the
 * worker's answer itself instead of waiting for the collector to (the
 * direct path, below).  procpool.c makes handles; pp_collector.c ends
 * them (pp_item_end, pp_publish).
 *
 * A handle has its own mutex and condition variable, so waiting on it
 * never touches the pool and works after the pool is gone.  Two
 * references keep it alive, the caller's and the pool's (dropped once the
 * task has ended and its callback has run); the last one frees it.
 */
#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/*
 * How long pp_handle_wait polls for a lone apply's answer before it
 * sleeps (see "The direct path"): 50 us, several wake-ups' worth.  Not
 * more: when the caller and the worker share a core (the other one busy),
 * the poll can keep the worker from running until it ends, and with 200
 * us round trips of 15-20 us took 250 us instead.
 */
#define PP_DIRECT_POLL_NS 50000u

/* Drops one reference to h, freeing it with the last. */
void pp_handle_unref(struct pp_handle *h)
{
    if (atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->arg);
    free(h->result);
    free(h);
}

/*
 * The direct path.  Where the time of a round trip went: a lone apply's
 * answer crossed three sleeps, the worker waking for the task, the
 * collector waking for the answer, the caller waking for the handle, and
 * each wake-up of a sleeping thread or process costs 5-30 us on a virtual
 * machine.  strace -c of 3000 round trips counted some 7000 futex calls,
 * 1200 polls and 6000 sends: 44-86 us a round trip, against 6-24 us for
 * the thread pool in the same run.  Now, for an apply without a callback
 * that finds its worker with nothing else in flight:
 *  - the caller hands the task over itself (submit), in the worker's
 *    inbox in shared memory (pp_collector.c's hand_over), not its socket;
 *  - the worker, polling its doorbell in shared memory instead of
 *    sleeping (pp_worker.c), picks it up without a wake-up;
 *  - the worker leaves the answer in its ring, unsent, since st->reader
 *    says its caller reads it there;
 *  - the caller, polling the worker's `produced` count (no system call),
 *    copies the answer out of the ring (pp_ring_claim) and ends the item
 *    as the collector would, under pool->lock.
 * A round trip then makes no system call at all while both sides poll:
 * 2-9 us against 12-30 us with the task and answer in the socket (four
 * system calls; struct pp_tuning's no_handoff) and 37-56 us through the
 * collector (no_direct), all in the same runs of benchmarks/overhead.
 * Only a lone item qualifies, so that every answer the caller reads is
 * its own and no callback runs in the wrong thread.  Meanwhile the slot
 * is leased to it: the collector leaves the socket out of its poll
 * (pp_collector.c's watch).  The lease ends when the answer is in, when
 * the caller gives up (it polls PP_DIRECT_POLL_NS, then sleeps and the
 * collector takes over), frees the handle, or closes the pool; ending it
 * (pp_lease_end) tells the worker to send what it kept back.
 * pp_handle_done and _get read the worker once themselves (nudge), so
 * polling them works too.  A pin keeps the pool alive meanwhile:
 * pool->pins, which pp_pool_destroy waits for, taken while the handle is
 * not done (so the pool is known to exist).
 */
static bool pin(struct pp_handle *h)
{
    bool ok;

    pthread_mutex_lock(&h->mu);
    ok = !atomic_load(&h->done);
    if (ok) {
        pthread_mutex_lock(&h->pool->lock);
        h->pool->pins++;
        pthread_mutex_unlock(&h->pool->lock);
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

static void unpin(struct pp_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    if (--pool->pins == 0 && pool->outstanding == 0)
        pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->lock);
}

/* Reads h's worker if h's item is all it holds; ends h if answered. */
static void take_own(struct pp_pool *pool, struct pp_handle *h, int i)
{
    struct pp_handle *done = NULL;
    struct slot *s = &pool->slots[i];
    bool w = false;

    pthread_mutex_lock(&pool->lock);
    if (s->state == SLOT_RUNNING && !s->eof && s->n == 1 &&
        s->ring[s->head].call == &h->call) {
        /* From the ring if the worker left it there, else the socket. */
        if (!pp_ring_claim(pool, s) && pp_slot_read(s, false))
            s->eof = true;
        pp_slot_take(pool, s, &done);
        /* A worker dying or misbehaving is the collector's business. */
        if (s->eof || s->kill_wanted)
            w = pp_wake_needed(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
    pp_publish(pool, done);
}

/* The caller stops polling: the collector reads h's worker again now. */
static void give_up(struct pp_pool *pool, struct pp_handle *h)
{
    unsigned i;
    bool w = false;

    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->nworkers; i++)
        if (pool->slots[i].direct == h) {
            pp_lease_end(pool, &pool->slots[i]);
            w = pp_wake_needed(pool);
        }
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
}

/*
 * A look at a leased handle that is not done (pp_handle_done, _get,
 * _outcome, a wait of 0 s): reads its worker once, so that a caller who
 * polls instead of waiting sees its answer too.  True if h is done.
 */
static bool nudge(const struct pp_handle *ch)
{
    /* The handle's owner asks: its mutex and the pool may be used. */
    struct pp_handle *h = (struct pp_handle *)ch;
    int slot;

    if (atomic_load(&h->done) || !h->direct)
        return atomic_load(&h->done);
    slot = atomic_load_explicit(&h->slot, memory_order_relaxed);
    if (slot >= 0 && pin(h)) {
        take_own(h->pool, h, slot);
        unpin(h->pool);
    }
    return atomic_load(&h->done);
}

/* Polls for h's answer and takes it, for up to limit_ns. */
static void wait_direct(struct pp_handle *h, uint64_t limit_ns)
{
    struct pp_pool *pool = h->pool;
    uint64_t end = 0, seen = 0;
    unsigned i;
    int slot, last = -1;
    bool coming = false;

    if (!pin(h))
        return;
    for (i = 1; !atomic_load(&h->done); i++) {
        slot = atomic_load_explicit(&h->slot, memory_order_relaxed);
        if (slot >= 0) {
            uint64_t p = atomic_load_explicit(
                &pool->wcfg.status[slot].produced, memory_order_acquire);

            if (slot != last) {
                /* A new slot: its answer may be there already; look. */
                last = slot;
                seen = p;
                take_own(pool, h, slot);
            } else if (p != seen || coming) {
                /*
                 * The answer ring counts an answer in `produced` as it
                 * writes it, a moment before the worker sends it: until
                 * it has arrived, look at every step, not only when
                 * `produced` moves again (a lone apply's never does: the
                 * caller then slept out its poll, 100 us a round trip).
                 */
                coming = true;
                take_own(pool, h, slot);
            }
            if (atomic_load(&h->done))
                break;
        }
        if (pb_poll_expired(i, &end, limit_ns))
            break;
        pb_poll_step(i);
    }
    if (!atomic_load(&h->done))
        give_up(pool, h);
    unpin(pool);
}

int pp_handle_wait(struct pp_handle *h, double timeout_s)
{
    struct timespec ts;
    double whole;
    int rc = 0;

    if (h == NULL || isnan(timeout_s) ||
        (timeout_s < 0 && timeout_s != PP_WAIT_FOREVER))
        return EINVAL;
    if (atomic_load(&h->done))
        return 0;
    if (timeout_s == 0)
        return nudge(h) ? 0 : ETIMEDOUT;
    if (h->direct) {
        uint64_t limit = PP_DIRECT_POLL_NS;

        if (timeout_s > 0 && pb_timeout_ns(timeout_s) < limit)
            limit = pb_timeout_ns(timeout_s);
        wait_direct(h, limit);
        if (atomic_load(&h->done))
            return 0;
    }
    /*
     * Poll a little before sleeping: a short task's answer often comes
     * within microseconds, and waking a sleeping thread costs more than
     * that on a virtual machine.  Never longer than the timeout.
     */
    if (h->spin_ns > 0) {
        int64_t spin = h->spin_ns, end;

        if (timeout_s > 0 && timeout_s * 1e9 < (double)spin)
            spin = (int64_t)(timeout_s * 1e9);
        end = pp_now_ns() + spin;
        while (!atomic_load(&h->done) && pp_now_ns() < end)
            ;
        if (atomic_load(&h->done))
            return 0;
    }
    pthread_mutex_lock(&h->mu);
    if (timeout_s < 0 || timeout_s > 1e9) {
        while (!atomic_load(&h->done))
            pthread_cond_wait(&h->cv, &h->mu);
    } else {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        timeout_s = modf(timeout_s, &whole);
        ts.tv_sec += (time_t)whole;
        ts.tv_nsec += (long)(timeout_s * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!atomic_load(&h->done) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        rc = atomic_load(&h->done) ? 0 : ETIMEDOUT;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int pp_handle_get(const struct pp_handle *h, const void **data, size_t *len)
{
    if (h == NULL)
        return EINVAL;
    if (!nudge(h))
        return EBUSY;
    if (data != NULL)
        *data = h->result;
    if (len != NULL)
        *len = h->result_len;
    return h->outcome.error;
}

int pp_handle_outcome(const struct pp_handle *h, struct pp_outcome *out)
{
    if (h == NULL || out == NULL)
        return EINVAL;
    if (!nudge(h))
        return EBUSY;
    *out = h->outcome;
    return 0;
}

bool pp_handle_done(const struct pp_handle *h)
{
    return h != NULL && nudge(h);
}

void pp_handle_free(struct pp_handle *h)
{
    if (h == NULL)
        return;
    /* Nobody will read its worker for it now: the collector must. */
    if (h->direct && pin(h)) {
        give_up(h->pool, h);
        unpin(h->pool);
    }
    pp_handle_unref(h);
}
