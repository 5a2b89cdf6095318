/*
 * future.c - futures: states, references, the store, waits and callbacks.
 *
 * What it does.  A future is where one task's submitter meets the worker
 * that runs it: the worker leaves the status and the result, the submitter
 * waits for them (tp_future_wait, tp_future_get, tp_wait_any/all), or has
 * a callback run when they come (tp_future_on_done).  threadpool.h is the
 * manual; threadpool.c makes, claims and finishes futures.
 *
 * States.  PENDING -> CLAIMED -> DONE.  A worker claims a future before it
 * runs the task; a canceller claims it to end it with ECANCELED.  The claim
 * is a compare-and-swap, so exactly one wins: a task never both runs and
 * is cancelled.
 *
 * Lifetime.  A future holds two references, one for the caller and one for
 * the pool while the task is queued or running.  Whoever drops the last
 * frees it, so the caller may free a future whose task is still running,
 * and a future outlives its pool.
 *
 * Why it is cheap (against benchmarks/lib/textbook_pool.c):
 * - Memory is recycled.  A freed future goes back to the pool's store
 *   (struct fstore) and submit takes one from there, under the lock it
 *   holds anyway to queue the task, so a busy pool calls no malloc and
 *   touches no fresh page (a page fault per 20 or so futures).
 * - Everything a submit, a worker and a quick wait touch sits in the
 *   future's first 64-byte cache line; its mutex and condition variable,
 *   needed only to sleep on it, come after.
 * - Finishing takes no lock in the common case: the worker writes status
 *   and result, then stores state = DONE, and takes the future's lock only
 *   if someone sleeps on it or set a callback (watchers > 0).  The waiter
 *   raises watchers before it checks the state, the worker stores the
 *   state before it reads watchers; both are sequentially consistent, so
 *   at least one sees the other and no wake-up is lost.
 * - A waiter polls the state for up to the pool's spin_ns before it
 *   sleeps, as an idle worker polls the queue (threadpool.c).
 */
#include "future.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Whole cache lines, as aligned_alloc requires and false sharing wants. */
#define FUTURE_SIZE \
    ((sizeof(struct tp_future) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE)

/* One thread blocked in tp_wait_any, linked into every future it waits on. */
struct any_waiter {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool fired;                 /* lock */
};

struct any_link {
    struct any_waiter *w;
    struct any_link *next;      /* the future's lock */
};

struct fstore;

/* ---- Futures --------------------------------------------------------- */

int fstore_create(long spin_ns, bool recycle, struct fstore **out)
{
    struct fstore *st = malloc(sizeof(*st));

    if (st == NULL)
        return ENOMEM;
    atomic_init(&st->returned, NULL);
    atomic_init(&st->live, 1);
    atomic_init(&st->cancelled, 0);
    st->spin_ns = spin_ns;
    st->recycle = recycle;
    *out = st;
    return 0;
}

/* Drops k of the store's counted references; the last one frees it. */
static void fstore_put(struct fstore *st, size_t k)
{
    if (atomic_fetch_sub(&st->live, k) == k)
        free(st);
}

/* Frees a future's memory: not its store reference (see fstore_put). */
static void future_destroy(struct tp_future *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* Frees a list linked through next_free; returns how many it freed. */
static size_t future_list_destroy(struct tp_future *list)
{
    struct tp_future *f;
    size_t k = 0;

    while ((f = list) != NULL) {
        list = f->next_free;
        future_destroy(f);
        k++;
    }
    return k;
}

/* Called by the pool's destroy with its spare list: frees what is kept, and
 * the store itself unless futures are still out (then the last one does). */
void fstore_close(struct fstore *st, struct tp_future *spare)
{
    size_t k = future_list_destroy(spare);

    k += future_list_destroy(atomic_exchange(&st->returned,
                                             STORE_CLOSED(st)));
    fstore_put(st, k + 1);
}

/* A new future's memory, counted in st->live.  NULL: out of memory. */
struct tp_future *future_alloc(struct fstore *st)
{
    struct tp_future *f;

    /* Without recycling, a plain malloc, as a pool without the trick
     * would: no cache line of its own either. */
    f = st->recycle ? aligned_alloc(CACHE_LINE, FUTURE_SIZE)
                    : malloc(sizeof(*f));
    if (f == NULL)
        goto fail;
    memset(f, 0, sizeof(*f));
    if (pthread_mutex_init(&f->lock, NULL) != 0)
        goto fail_free;
    if (pb_cond_init_monotonic(&f->cv) != 0)
        goto fail_lock;
    atomic_fetch_add(&st->live, 1);
    return f;

fail_lock:
    pthread_mutex_destroy(&f->lock);
fail_free:
    free(f);
fail:
    return NULL;
}

/*
 * A recycled future from *spare (the caller's private list) or, when that
 * is empty, the whole stack of returned ones; NULL if there is none.  The
 * caller serialises its calls (the pool: under pool->lock).
 */
struct tp_future *future_take(struct fstore *st, struct tp_future **spare)
{
    struct tp_future *f;

    if (*spare == NULL)
        *spare = atomic_exchange(&st->returned, NULL);
    if ((f = *spare) != NULL)
        *spare = f->next_free;
    return f;
}

/* Makes a taken or allocated future pending, with two references. */
void future_start(struct tp_future *f, struct fstore *st)
{
    /* A reused future's lock and condition variable are unlocked and
     * without waiters: they are reused as they are. */
    atomic_init(&f->state, F_PENDING);
    atomic_init(&f->refs, 2);
    atomic_init(&f->watchers, 0);
    f->status = 0;
    f->result = NULL;
    f->has_cb = false;
    f->cb = NULL;
    f->cb_arg = NULL;
    f->links = NULL;
    f->store = st;
}

/* Drops a reference; the last one gives the future back to its store. */
void future_unref(struct tp_future *f)
{
    struct fstore *st = f->store;
    struct tp_future *head;

    if (atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    PB_CHECK(f->links == NULL);
    head = atomic_load(&st->returned);
    do {
        if (head == STORE_CLOSED(st) || !st->recycle) {
            future_destroy(f);
            fstore_put(st, 1);
            return;
        }
        f->next_free = head;
    } while (!atomic_compare_exchange_weak(&st->returned, &head, f));
}

void tp_future_free(struct tp_future *f)
{
    if (f != NULL)
        future_unref(f);
}

/*
 * Ends a claimed future: publishes status and result, wakes whoever waits
 * and runs the callback, in this thread.  Caller holds a reference.
 */
void future_finish(struct tp_future *f, int status, void *result)
{
    struct any_link *l;
    tp_done_fn *cb;
    void *cb_arg;

    f->status = status;
    f->result = result;
    atomic_store(&f->state, F_DONE);
    if (atomic_load(&f->watchers) == 0)
        return;

    pthread_mutex_lock(&f->lock);
    cb = f->cb;
    cb_arg = f->cb_arg;
    f->cb = NULL;
    pthread_cond_broadcast(&f->cv);
    for (l = f->links; l != NULL; l = l->next) {
        pthread_mutex_lock(&l->w->lock);
        l->w->fired = true;
        pthread_cond_signal(&l->w->cv);
        pthread_mutex_unlock(&l->w->lock);
    }
    pthread_mutex_unlock(&f->lock);
    if (cb != NULL)
        cb(f, cb_arg);
}

/* Claims a pending future for cancelling; 0 if a worker got there first. */
bool future_claim(struct tp_future *f)
{
    int expected = F_PENDING;

    return atomic_compare_exchange_strong(&f->state, &expected, F_CLAIMED);
}

bool tp_future_done(const struct tp_future *f)
{
    /* The cast drops const only for atomic_load's C11 prototype. */
    return atomic_load((_Atomic int *)&f->state) == F_DONE;
}

/* Polls f's state for up to spin_ns; true if it became done. */
static bool future_spin(struct tp_future *f, uint64_t limit_ns)
{
    uint64_t end = 0;
    unsigned i;

    long spin_ns = f->store->spin_ns;

    if (spin_ns <= 0 || limit_ns == 0)
        return tp_future_done(f);
    if (limit_ns > (uint64_t)spin_ns)
        limit_ns = (uint64_t)spin_ns;
    for (i = 1;; i++) {
        if (atomic_load_explicit(&f->state, memory_order_acquire) == F_DONE)
            return true;
        pb_poll_step(i);
        if (pb_poll_expired(i, &end, limit_ns))
            return tp_future_done(f);
    }
}

/*
 * Waits for f; with deadline NULL for ever.  Returns 0 or ETIMEDOUT.
 */
static int future_wait_until(struct tp_future *f,
                             const struct timespec *deadline,
                             uint64_t spin_limit_ns)
{
    int rc = 0;

    if (future_spin(f, spin_limit_ns))
        return 0;
    pthread_mutex_lock(&f->lock);
    atomic_fetch_add(&f->watchers, 1);
    while (atomic_load(&f->state) != F_DONE && rc == 0) {
        if (deadline == NULL)
            pthread_cond_wait(&f->cv, &f->lock);
        else
            rc = pthread_cond_timedwait(&f->cv, &f->lock, deadline);
    }
    if (atomic_load(&f->state) == F_DONE)
        rc = 0;
    atomic_fetch_sub(&f->watchers, 1);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int tp_future_get(struct tp_future *f, void **result)
{
    future_wait_until(f, NULL, UINT64_MAX);
    if (result != NULL)
        *result = f->result;
    return f->status;
}

/* A timeout the header allows: >= 0, or exactly TP_WAIT_FOREVER. */
static bool timeout_valid(double timeout_s)
{
    return timeout_s >= 0 || timeout_s == TP_WAIT_FOREVER;
}

int tp_future_wait(struct tp_future *f, double timeout_s)
{
    struct timespec deadline;

    if (f == NULL || !timeout_valid(timeout_s))
        return EINVAL;
    if (timeout_s < 0)
        return future_wait_until(f, NULL, UINT64_MAX);
    if (tp_future_done(f))
        return 0;
    if (timeout_s == 0)
        return ETIMEDOUT;
    deadline = pb_deadline_after(timeout_s);
    return future_wait_until(f, &deadline, pb_timeout_ns(timeout_s));
}

int tp_future_cancel(struct tp_future *f)
{
    if (f == NULL)
        return EINVAL;
    if (!future_claim(f))
        return EBUSY;
    /* The queue entry keeps the pool's reference; the worker that pops it
     * sees a claimed future, skips it and drops that reference.  Counted
     * now, before anyone can see the future done (header: tp_stats). */
    atomic_fetch_add(&f->store->cancelled, 1);
    future_finish(f, ECANCELED, NULL);
    return 0;
}

int tp_future_on_done(struct tp_future *f, tp_done_fn *fn, void *arg)
{
    if (f == NULL || fn == NULL)
        return EINVAL;
    pthread_mutex_lock(&f->lock);
    if (f->has_cb) {
        pthread_mutex_unlock(&f->lock);
        return EBUSY;
    }
    f->has_cb = true;
    if (atomic_load(&f->state) != F_DONE) {
        f->cb = fn;
        f->cb_arg = arg;
        atomic_fetch_add(&f->watchers, 1);
        /* Look again now that the finisher must see watchers > 0: if it
         * finished in between, it will find f->cb NULL once we clear it. */
        if (atomic_load(&f->state) != F_DONE) {
            pthread_mutex_unlock(&f->lock);
            return 0;
        }
        f->cb = NULL;
    }
    pthread_mutex_unlock(&f->lock);
    fn(f, arg);
    return 0;
}

static int check_futures(struct tp_future *const *fs, size_t n,
                         double timeout_s)
{
    size_t i;

    if (!timeout_valid(timeout_s) || (n > 0 && fs == NULL))
        return EINVAL;
    for (i = 0; i < n; i++)
        if (fs[i] == NULL)
            return EINVAL;
    return 0;
}

static bool first_done(struct tp_future *const *fs, size_t n, size_t *index)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (tp_future_done(fs[i])) {
            *index = i;
            return true;
        }
    }
    return false;
}

int tp_wait_any(struct tp_future *const *fs, size_t n, double timeout_s,
                size_t *index)
{
    struct any_waiter w;
    struct any_link *links;
    struct any_link **pp;
    struct timespec deadline;
    size_t i, linked = 0, found;
    int rc;

    if (n == 0 || (rc = check_futures(fs, n, timeout_s)) != 0)
        return EINVAL;
    if (first_done(fs, n, &found))
        goto done;
    if (timeout_s == 0)
        return ETIMEDOUT;
    if ((links = calloc(n, sizeof(*links))) == NULL)
        return ENOMEM;
    if ((rc = pthread_mutex_init(&w.lock, NULL)) != 0)
        goto fail;
    if ((rc = pb_cond_init_monotonic(&w.cv)) != 0)
        goto fail_lock;
    w.fired = false;
    if (timeout_s > 0)
        deadline = pb_deadline_after(timeout_s);

    /* Join every future's list of waiters, unless one is already done. */
    for (i = 0; i < n; i++) {
        struct tp_future *f = fs[i];

        pthread_mutex_lock(&f->lock);
        atomic_fetch_add(&f->watchers, 1);
        if (atomic_load(&f->state) == F_DONE) {
            atomic_fetch_sub(&f->watchers, 1);
            pthread_mutex_unlock(&f->lock);
            break;
        }
        links[i].w = &w;
        links[i].next = f->links;
        f->links = &links[i];
        linked = i + 1;
        pthread_mutex_unlock(&f->lock);
    }

    rc = 0;
    if (linked == n) {
        pthread_mutex_lock(&w.lock);
        while (!w.fired && rc == 0) {
            if (timeout_s < 0)
                pthread_cond_wait(&w.cv, &w.lock);
            else
                rc = pthread_cond_timedwait(&w.cv, &w.lock, &deadline);
        }
        pthread_mutex_unlock(&w.lock);
    }

    /* Leave every list we joined; after this no finisher can touch w. */
    for (i = 0; i < linked; i++) {
        struct tp_future *f = fs[i];

        pthread_mutex_lock(&f->lock);
        for (pp = &f->links; *pp != &links[i]; pp = &(*pp)->next)
            PB_CHECK(*pp != NULL);
        *pp = links[i].next;
        atomic_fetch_sub(&f->watchers, 1);
        pthread_mutex_unlock(&f->lock);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.lock);
    free(links);
    if (!first_done(fs, n, &found))
        return ETIMEDOUT;
done:
    if (index != NULL)
        *index = found;
    return 0;

fail_lock:
    pthread_mutex_destroy(&w.lock);
fail:
    free(links);
    return rc;
}

int tp_wait_all(struct tp_future *const *fs, size_t n, double timeout_s)
{
    struct timespec deadline;
    size_t i;
    int rc;

    if ((rc = check_futures(fs, n, timeout_s)) != 0)
        return rc;
    if (timeout_s > 0)
        deadline = pb_deadline_after(timeout_s);
    for (i = 0; i < n; i++) {
        if (tp_future_done(fs[i]))
            continue;
        if (timeout_s == 0)
            return ETIMEDOUT;
        rc = future_wait_until(fs[i], timeout_s < 0 ? NULL : &deadline,
                               timeout_s < 0 ? UINT64_MAX
                                             : pb_timeout_ns(timeout_s));
        if (rc != 0)
            return rc;
    }
    return 0;
}

