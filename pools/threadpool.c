/*
 * threadpool.c - the queue, the workers, submit, shutdown and map.
 *
 * What it does.  A fixed (or, in a dynamic pool, growing and shrinking) set
 * of worker threads takes tasks from one queue and runs them; each task may
 * carry a future (future.c) through which its submitter waits for the
 * status and the result.  tp_map cuts an array into chunks and runs them on
 * the workers and on the calling thread.  threadpool.h is the manual.
 *
 * How a task travels, and the trick that makes each step faster than in
 * the textbook pool (benchmarks/lib/textbook_pool.c; benchmarks/overhead
 * measures both).  Each trick is explained where it is done:
 *   1. submit takes a recycled future under the lock it holds anyway to
 *      queue the task: one lock trip per submit (submit, future.c);
 *   2. the task, five words, is copied into a ring buffer with one lock
 *      for submitters and one for workers (the queue, ring_push);
 *   3. submit wakes a worker only if one sleeps, and a woken worker
 *      wakes as many as tasks wait, on a semaphore that it leaves without
 *      a lock (wake_or_grow, sleep_for_work);
 *   4. a worker out of work polls the queue before it sleeps, and a waiter
 *      polls its future (spin_for_work, future_spin);
 *   5. locks are held briefly and retry before sleeping, and what each
 *      side writes on every task has cache lines of its own (struct
 *      tp_pool);
 *   6. a future is finished without a lock unless someone sleeps on it
 *      (future_finish);
 *   7. tp_map hands out chunks, to the caller too (tp_map.c).
 *
 * What we tried and left out: a worker taking a batch of queued tasks per
 * trip to the lock.  It saves lock traffic, but a task in one worker's
 * batch then waits behind a long task while another worker sits idle, and
 * a dynamic pool does not grow for it.  Here a free worker never waits
 * while a task is queued.
 *
 * Recording (tp_tuning.record_events, trace.h): when on, submit stamps
 * each task with an id and the time it was queued, the worker that runs
 * it reads the clock before and after and writes the event into its own
 * buffer, and both note the queue's length.  When off, each hook is one
 * test of pool->trace, a field that never changes.
 *
 * Guarantees: tasks start in submission order (FIFO), though with several
 * workers they may finish in any order.  Every task accepted by a submit
 * either runs or is cancelled, never both, never neither; every worker is
 * joined by tp_pool_destroy.  No mutable globals: pools share nothing.
 * Not done, deliberately: work stealing and per-worker queues (one queue is
 * easier to follow and fast enough here), priorities, cancelling a running
 * task (C has no safe way to interrupt a thread), detached threads.
 */

#include "threadpool.h"
#include "future.h"
#include "tp_internal.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* First capacity of an unbounded queue; it doubles when full. */
#define RING_MIN 64

/* Default idle time before an extra worker retires (header: 1 second). */
#define IDLE_DEFAULT_S 1.0

/* ---- Small helpers --------------------------------------------------- */

unsigned tp_cpu_count(void)
{
    return pb_cpu_count();
}

/* ---- Futures --------------------------------------------------------- */

/*
 * A future, from the pool's spare list or the store, else a new one.
 * Caller holds pool->lock; it is dropped around malloc, so the caller
 * must check again what it saw under the lock.  NULL: out of memory.
 */
static struct tp_future *future_new(struct tp_pool *pool)
{
    struct tp_future *f = future_take(pool->store, &pool->spare);

    if (f == NULL) {
        pthread_mutex_unlock(&pool->lock);
        f = future_alloc(pool->store);
        pthread_mutex_lock(&pool->lock);
        if (f == NULL)
            return NULL;
    }
    future_start(f, pool->store);
    return f;
}

/* ---- The queue: a ring buffer ---------------------------------------- */

/*
 * A ring buffer, not a list, with two locks.  The task is five words
 * {fn, arg, future, and for recording its id and queue time} copied into
 * one array (the last two cost nothing measurable when recording is off:
 * benchmarks/overhead); the array doubles when it is
 * full and is never shrunk, so a busy pool stops calling malloc for its
 * queue (the textbook pool mallocs and frees a node per task).
 * Submitters add at the tail under the pool's lock, workers take from
 * the head under take_lock, so a submitter and a worker never wait for
 * each other (the two-lock queue of Michael and Scott, 1996, on an
 * array).  The tail and head counters are atomics: each side reads the
 * other's to see how full the queue is, the submitter only now and then
 * (it keeps an old copy of head: see ring_push).
 */

/*
 * Doubles the ring of an unbounded queue that is full.  Caller holds
 * pool->lock; we take take_lock too, the only time both are needed.
 */
static int ring_grow(struct tp_pool *p)
{
    struct task *ring;
    size_t cap, k, head, tail;

    PB_CHECK(p->limit == 0);
    cap = p->cap == 0 ? RING_MIN : 2 * p->cap;
    if (cap < p->cap || cap > SIZE_MAX / sizeof(*ring))
        return ENOMEM;
    if ((ring = malloc(cap * sizeof(*ring))) == NULL)
        return ENOMEM;
    pthread_mutex_lock(&p->take_lock);
    head = atomic_load(&p->head);
    tail = atomic_load(&p->tail);
    for (k = head; k != tail; k++)
        ring[k % cap] = p->ring[k % p->cap];
    free(p->ring);
    p->ring = ring;
    p->cap = cap;
    pthread_mutex_unlock(&p->take_lock);
    return 0;
}

/*
 * Queues t.  Caller holds pool->lock and has checked the bounded limit.
 *
 * The workers write head on every task, so reading it costs the submitter a
 * cache miss.  We read our old copy, head_seen, instead: head only grows,
 * so tail - head_seen is at least the true length, and we read head again
 * only when that bound says the ring may be full or the length may be a
 * new peak.
 */
static int ring_push(struct tp_pool *p, const struct task *t)
{
    size_t tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
    size_t len = tail - p->head_seen;
    int rc;

    if (len == p->cap || len + 1 > p->queue_peak) {
        p->head_seen = atomic_load(&p->head);
        len = tail - p->head_seen;
    }
    if (len == p->cap && (rc = ring_grow(p)) != 0)
        return rc;
    p->ring[tail % p->cap] = *t;
    /* Publishes the task to the takers.  A release store is enough, and
     * much cheaper than a sequentially consistent one (on x86 that is an
     * xchg, which stalls until the polling workers hand the line back):
     * no worker goes to sleep on what it read outside the lock, it looks
     * at tail again under pool->lock, which we hold. */
    atomic_store_explicit(&p->tail, tail + 1, memory_order_release);
    if (len + 1 > p->queue_peak)
        p->queue_peak = len + 1;
    return 0;
}

/*
 * Takes the oldest task into *t, for a worker that will run it.  Caller
 * holds pool->take_lock.  Returns false if the queue is empty.
 *
 * The worker counts as running from before the task leaves the queue
 * (both are sequentially consistent atomics), so whoever sees the queue
 * shorter also sees one more worker busy: a task is never missing from
 * both the queue and the busy workers (see short_of_workers).
 */
static bool ring_take(struct tp_pool *p, struct task *t)
{
    size_t head = atomic_load(&p->head);

    if (head == atomic_load(&p->tail))
        return false;
    *t = p->ring[head % p->cap];
    atomic_fetch_add(&p->running, 1);
    atomic_store(&p->head, head + 1);
    return true;
}

/* ---- Workers --------------------------------------------------------- */

static int worker_start(struct tp_pool *p);

/*
 * Runs one task taken by ring_take.  The worker stops counting as running,
 * and the task is counted as completed, before anyone can learn that the
 * task is over (its future done, its map's caller woken): a thread that
 * has a task's outcome in hand sees counters that include it, and may
 * submit the next task to a worker that already counts as free.
 */
/*
 * Runs t on worker `self` of a recording pool and records it on the
 * worker's track, before its future is finished (so that whoever has its
 * outcome finds the event recorded).  A map's helper is no event: it
 * records each chunk it takes.
 */
static int run_recorded(struct tp_pool *p, const struct task *t,
                        struct slot *self, void **result)
{
    unsigned track = (unsigned)(self - p->slots) + 1;
    struct pb_event e;

    if (t->fn == tp_map_helper) {
        tp_map_helper_recorded(t->arg, track, self->os_id);
        return 0;
    }
    memset(&e, 0, sizeof(e));
    e.id = t->id;
    e.queued_ns = t->queued_ns;
    e.track = track;
    e.os_id = self->os_id;
    e.start_ns = pb_now_ns();
    self->began_ns = 0;
    e.status = t->fn(t->arg, result);
    e.end_ns = pb_now_ns();
    /* The task waited inside itself, then said so (tp_pool_task_began). */
    if (self->began_ns != 0) {
        e.began_ns = e.start_ns;
        e.start_ns = self->began_ns;
    }
    tp_trace_put(p, track, &e, e.start_ns, -1);
    return e.status;
}

static void run_task(struct tp_pool *p, const struct task *t,
                     struct slot *self)
{
    struct tp_future *f = t->f;
    void *result = NULL;
    int status;

    if (f != NULL && !future_claim(f)) {
        /* Cancelled while queued: the canceller has counted it. */
        atomic_fetch_sub(&p->running, 1);
        if (p->trace != NULL)
            tp_trace_put(p, (unsigned)(self - p->slots) + 1, NULL,
                         pb_now_ns(), -1);
        future_unref(f);
        return;
    }
    if (p->trace == NULL)
        status = t->fn(t->arg, &result);
    else
        status = run_recorded(p, t, self, &result);
    atomic_fetch_add(&p->completed, 1);
    atomic_fetch_sub(&p->running, 1);
    if (f != NULL) {
        future_finish(f, status, result);
        future_unref(f);
    } else if (t->fn == tp_map_helper) {
        tp_map_helper_done(t->arg);
    }
}

/*
 * Poll before sleeping.  A worker that has run a task, or finds the
 * queue empty, first polls the queue's head and tail counters (no lock)
 * for spin_ns, then sleeps.  Only one worker polls at a time: one is
 * enough to catch the next task.  A thread waiting on a future polls it
 * the same way.  Waking a sleeping thread takes tens of microseconds on
 * a virtual machine, so a submit followed by a wait (a round trip) is
 * many times faster than in the textbook pool, which puts both threads
 * to sleep every time.  Polling yields the CPU (sched_yield) after a
 * short while, so that on a machine with more threads than cores it
 * does not steal the time slice of the thread it is waiting for.
 *
 * So: poll the queue without the lock for up to spin_ns, unless another
 * worker polls already (one poller is enough to catch the next task, two
 * would only fight over it).  Returns at once if tasks are queued.
 * Returns false if it polled past the short "pause" phase (PB_SPIN_PAUSES
 * polls, well under a microsecond), where it starts giving up the CPU;
 * true if it returned sooner, keeping the CPU all along.
 */
static bool spin_for_work(struct tp_pool *p)
{
    uint64_t end = 0;
    unsigned expected = 0;
    unsigned i;
    bool quick = true;

    if (p->spin_ns <= 0 || queue_len(p) > 0 ||
        !atomic_compare_exchange_strong(&p->spinning, &expected, 1))
        return true;
    for (i = 1;; i++) {
        quick = i <= PB_SPIN_PAUSES;
        if (queue_len(p) > 0)
            break;
        if (atomic_load_explicit(&p->stopping, memory_order_relaxed))
            break;
        pb_poll_step(i);
        if (pb_poll_expired(i, &end, (uint64_t)p->spin_ns))
            break;
    }
    /* A submit that saw 1 here did not wake anyone.  That is safe: before
     * a worker sleeps it looks at the queue under pool->lock, and the
     * submit pushed its task under that lock too; one that takes the lock
     * after us sees 0 and wakes a sleeper. */
    atomic_store(&p->spinning, 0);
    return quick;
}

/*
 * The rule of a dynamic pool: a new worker starts when a task is queued
 * and no worker is free to take it, that is when more tasks wait than
 * workers are free.  A free worker is any worker not running a task:
 * asleep, polling, on its way to the queue, or still starting (the last
 * is easy to miss: a pool just created has a worker that has not reached
 * the queue yet, and a task submitted then is its to take).
 *
 * Read without the lock this is a hint; under pool->lock, where alive
 * cannot change, it is exact up to tasks being taken at that moment.  The
 * fence pairs with ring_take: the caller has just queued a task (a release
 * store, which alone could be reordered after the loads below), the taker
 * counts itself running before it moves head; with the fence, either we
 * see the taker running, or the taker sees our task and calls us again.
 */
static bool short_of_workers(struct tp_pool *p)
{
    unsigned alive = atomic_load(&p->alive), running;

    if (alive >= p->nmax ||
        atomic_load_explicit(&p->stopping, memory_order_relaxed))
        return false;
    atomic_thread_fence(memory_order_seq_cst);
    running = atomic_load(&p->running);
    return queue_len(p) > (running < alive ? alive - running : 0);
}

/* pool->sleepers' halves: workers asleep, wake-ups on their way. */
#define ONE_IDLE ((uint64_t)1)
#define ONE_WAKING ((uint64_t)1 << 32)

static unsigned idle_of(uint64_t s)
{
    return (unsigned)(s & 0xffffffffu);
}

static unsigned waking_of(uint64_t s)
{
    return (unsigned)(s >> 32);
}

/* Whether a sleeping worker should be woken: tasks wait, a worker sleeps
 * that no wake-up is on its way to, and no worker polls the queue (the
 * poller takes the next task and passes the wake-up on; without the
 * cascade it would not, so then a poller does not count). */
static bool should_wake(struct tp_pool *p)
{
    uint64_t s = atomic_load(&p->sleepers);

    return idle_of(s) > waking_of(s) && queue_len(p) > 0 &&
           (atomic_load(&p->spinning) == 0 || p->tuning.no_cascade);
}

/* Whether wake_or_grow would do anything: readable without the lock. */
static bool should_wake_or_grow(struct tp_pool *p)
{
    return should_wake(p) || short_of_workers(p);
}

/*
 * Decides how many sleeping workers to wake for the tasks that wait, and
 * in a dynamic pool short of free workers, starts a new one.  Caller
 * holds pool->lock; it then posts that many wake-ups (post_work), after
 * dropping the lock where it can.
 *
 * Wake a worker only when one sleeps.  Submit wakes a worker only if one
 * is asleep and no wake-up is already on its way to it (pool->sleepers:
 * more asleep than wake-ups on their way), and not at all if a worker is
 * polling for work
 * (pool->spinning).  A wake-up of a sleeper is a system call; the
 * textbook pool makes one per submit.  A worker that takes a task and
 * sees more waiting wakes sleepers itself, as many as tasks wait that no
 * wake-up is on its way to: 64 tasks submitted to 64 sleeping workers
 * wake the first worker, which finds the others queued and wakes a
 * sleeper for each, without waiting for each to wake the next.  In a
 * dynamic pool, if more tasks wait than workers are free, submit starts
 * one (up to the maximum): "grow when work waits".  A worker counts as
 * busy (pool->running) only from taking a task until the task's end is
 * published, so a worker that is still starting, polling or asleep is
 * free, and one task at a time never grows the pool.
 */
static unsigned wake_or_grow(struct tp_pool *p)
{
    uint64_t s = atomic_load(&p->sleepers);
    unsigned n = 0, waking = waking_of(s);

    if (should_wake(p) && idle_of(s) > waking) {
        unsigned asleep = idle_of(s) - waking;
        size_t q = queue_len(p), uncovered = q > waking ? q - waking : 1;

        n = uncovered < asleep ? (unsigned)uncovered : asleep;
    } else if (p->tuning.wake_always && idle_of(s) > 0) {
        /* The textbook pool's way: a wake-up per task, whoever sleeps. */
        n = 1;
    }
    atomic_fetch_add(&p->sleepers, n * ONE_WAKING);
    /* If the system refuses a thread, the workers we have will get to the
     * task: there is at least one (enqueue starts one if there is none). */
    if (short_of_workers(p))
        (void)worker_start(p);
    return n;
}

/* Posts n wake-ups that wake_or_grow counted in pool->sleepers. */
static void post_work(struct tp_pool *p, unsigned n)
{
    while (n-- > 0)
        sem_post(&p->work_sem);
}

/* Wakes every sleeper, to stop: one post for each worker asleep that no
 * wake-up is on its way to.  Caller holds pool->lock. */
static void wake_all(struct tp_pool *p)
{
    uint64_t s = atomic_load(&p->sleepers);
    unsigned n = idle_of(s) > waking_of(s) ? idle_of(s) - waking_of(s) : 0;

    atomic_fetch_add(&p->sleepers, n * ONE_WAKING);
    post_work(p, n);
}

/*
 * Sleeps until a wake-up is posted (0) or, for an extra worker of a
 * dynamic pool, until idle_s has passed (ETIMEDOUT).
 *
 * Why a semaphore and not a condition variable.  A thread woken in
 * pthread_cond_wait takes the pool's lock again before it returns.  When
 * 64 sleepers were woken at once, each then waited for that lock, held by
 * the submitter or by the worker waking the next, and paid a second
 * wake-up in the lock's queue: in benchmarks/io (64 tasks of 10 ms on 64
 * workers, medians of 100 interleaved runs on 2 cores) the pool took 1.20
 * ms beyond ideal + oversleep, against 0.69 ms for the machine's floor
 * (io --bare); with the semaphore, 0.78 ms.  A woken worker now goes
 * straight to the queue.  Nothing is lost between the check under the lock and the sleep:
 * a semaphore counts a post made before its sleeper reached sem_wait, and
 * that sem_wait returns at once.  sem_timedwait counts on the wall clock
 * (CLOCK_REALTIME): a clock set back only keeps an extra worker longer.
 */
static int sleep_for_work(struct tp_pool *p, bool extra)
{
    struct timespec deadline;
    double whole;

    if (!extra) {
        while (sem_wait(&p->work_sem) != 0)
            continue; /* EINTR: a signal handler ran */
        return 0;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)(modf(p->idle_s, &whole) * 1e9);
    deadline.tv_sec += (time_t)whole + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    while (sem_timedwait(&p->work_sem, &deadline) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

/*
 * A worker.  It takes one task at a time, so that a task never waits
 * behind a long one while another worker is free.  Taking a task needs only
 * take_lock, which submitters never touch; the worker takes the pool's lock
 * only to sleep, to wake another worker, or to let a blocked submitter go.
 * Its busy time is added to the pool's at its next trip to take_lock; the
 * task counters are kept by run_task.
 */
static void *worker_main(void *arg)
{
    struct slot *self = arg;
    struct tp_pool *p = self->pool;
    struct task t;
    uint64_t mark = 0, t1, busy = 0;
    bool may_spin = false, took, extra;
    int rc;

    if (p->trace != NULL)
        self->os_id = pb_os_tid();
    for (;;) {
        pthread_mutex_lock(&p->take_lock);
        self->busy_ns += busy;
        busy = 0;
        if ((took = ring_take(p, &t)) && t.fn == tp_map_helper)
            tp_map_helper_taken(t.arg);
        pthread_mutex_unlock(&p->take_lock);

        if (took) {
            /* The cascade: pass the wake-up on (tp_tuning.no_cascade). */
            bool pass = !p->tuning.no_cascade && should_wake_or_grow(p);
            unsigned posts = 0;

            if (atomic_load(&p->blocked) > 0 || pass) {
                pthread_mutex_lock(&p->lock);
                if (p->blocked > 0)
                    pthread_cond_signal(&p->room_cv);
                if (pass)
                    posts = wake_or_grow(p);
                pthread_mutex_unlock(&p->lock);
                post_work(p, posts);
            }
            /* Busy time, with one clock read per task: in a run of tasks
             * taken back to back, without giving up the CPU in between,
             * one task's end is the next one's start (a clock read costs
             * as much as the rest of an empty task's trip through the
             * worker, even through the vDSO). */
            if (mark == 0)
                mark = pb_now_ns();
            run_task(p, &t, self);
            t1 = pb_now_ns();
            busy += t1 - mark;
            /* Poll for the next task before going back to the lock. */
            mark = spin_for_work(p) ? t1 : 0;
            may_spin = false;
            continue;
        }
        if (may_spin) {
            may_spin = false;
            if (!spin_for_work(p))
                mark = 0;
            continue;
        }

        /* Sleep.  The queue is checked again under the pool's lock, under
         * which submitters queue and decide whom to wake. */
        pthread_mutex_lock(&p->lock);
        if (queue_len(p) > 0) {
            pthread_mutex_unlock(&p->lock);
            continue;
        }
        if (atomic_load(&p->stopping))
            break;
        mark = 0;
        atomic_fetch_add(&p->sleepers, ONE_IDLE);
        extra = p->alive > p->nmin;
        pthread_mutex_unlock(&p->lock);
        rc = sleep_for_work(p, extra);
        may_spin = true;
        if (rc == 0) {
            /* Woken: a sleeper fewer and a wake-up fewer on its way, in
             * one step.  Done in two, a waker looking in between saw a
             * sleeper too few and could leave one asleep for ever: the
             * wake_all of tp_pool_destroy then waited for a worker that
             * nobody woke (once in CI, under ASan). */
            atomic_fetch_sub(&p->sleepers, ONE_IDLE + ONE_WAKING);
            continue;
        }
        /* Timed out.  A post that comes now stays counted as on its way
         * until the next sleeper takes it, at once, and finds the queue. */
        pthread_mutex_lock(&p->lock);
        atomic_fetch_sub(&p->sleepers, ONE_IDLE);
        /* Retire an extra worker that found nothing to do for idle_s. */
        if (queue_len(p) == 0 && p->alive > p->nmin &&
            !atomic_load(&p->stopping))
            break;
        pthread_mutex_unlock(&p->lock);
    }
    /* Here with the pool's lock held. */
    atomic_store(&self->os_id, 0);
    p->alive--;
    self->state = SLOT_EXITED;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/*
 * Starts a worker in a free slot, first joining one that has retired.
 * Caller holds pool->lock.  Joining under the lock is safe: a retired
 * worker marked itself SLOT_EXITED under the lock and then only returns.
 */
static int worker_start(struct tp_pool *p)
{
    struct slot *s = NULL;
    unsigned i;
    int rc;

    for (i = 0; i < p->nmax && s == NULL; i++) {
        if (p->slots[i].state == SLOT_EXITED) {
            pthread_join(p->slots[i].thread, NULL);
            p->slots[i].state = SLOT_FREE;
        }
        if (p->slots[i].state == SLOT_FREE)
            s = &p->slots[i];
    }
    PB_CHECK(s != NULL);
    if ((rc = pthread_create(&s->thread, NULL, worker_main, s)) != 0)
        return rc;
    s->state = SLOT_RUNNING;
    p->alive++;
    if (p->alive > p->peak)
        p->peak = p->alive;
    return 0;
}

/* Joins every worker.  Called with stopping set, without the lock. */
static void workers_join(struct tp_pool *p)
{
    unsigned i;

    for (i = 0; i < p->nmax; i++) {
        pthread_t t;
        bool join;

        pthread_mutex_lock(&p->lock);
        join = p->slots[i].state != SLOT_FREE;
        t = p->slots[i].thread;
        PB_CHECK(!join || !pthread_equal(t, pthread_self()));
        pthread_mutex_unlock(&p->lock);
        if (join)
            pthread_join(t, NULL);
        pthread_mutex_lock(&p->lock);
        p->slots[i].state = SLOT_FREE;
        pthread_mutex_unlock(&p->lock);
    }
}

/* ---- Lifecycle ------------------------------------------------------- */

int tp_pool_create(const struct tp_options *opt, struct tp_pool **out)
{
    static const struct tp_options defaults = TP_OPTIONS_INIT;
    struct tp_pool *p;
    unsigned i;
    int rc;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    if (opt == NULL)
        opt = &defaults;
    if (isnan(opt->idle_timeout_s) || opt->idle_timeout_s < 0)
        return EINVAL;
    /* No worker kept and none allowed: nothing could ever run. */
    if (opt->workers == TP_NO_WORKERS && opt->max_workers == 0)
        return EINVAL;
    /* Aligned, for the cache-line groups of struct tp_pool; its size is a
     * multiple of CACHE_LINE, as aligned_alloc requires. */
    if ((p = aligned_alloc(CACHE_LINE, sizeof(*p))) == NULL)
        return ENOMEM;
    memset(p, 0, sizeof(*p));
    p->nmin = opt->workers == TP_NO_WORKERS ? 0
              : opt->workers > 0 ? opt->workers : tp_cpu_count();
    p->nmax = opt->max_workers > p->nmin ? opt->max_workers : p->nmin;
    p->idle_s = opt->idle_timeout_s > 0 ? opt->idle_timeout_s
                                        : IDLE_DEFAULT_S;
    if (opt->tuning != NULL)
        p->tuning = *opt->tuning;
    p->spin_ns = p->tuning.spin_ns == 0 ? TP_SPIN_DEFAULT_NS
                 : p->tuning.spin_ns < 0 ? 0 : p->tuning.spin_ns;
    if (p->tuning.no_poll)
        p->spin_ns = 0;
    p->limit = opt->queue_limit;
    atomic_init(&p->tail, 0);
    atomic_init(&p->head, 0);
    atomic_init(&p->stopping, false);
    atomic_init(&p->spinning, 0);
    atomic_init(&p->running, 0);
    atomic_init(&p->completed, 0);
    atomic_init(&p->alive, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->blocked, 0);

    if ((rc = fstore_create(p->spin_ns, !p->tuning.no_recycle, &p->store)) != 0)
        goto fail;
    rc = ENOMEM;
    if ((p->slots = calloc(p->nmax, sizeof(*p->slots))) == NULL)
        goto fail_store;
    for (i = 0; i < p->nmax; i++)
        p->slots[i].pool = p;
    if (p->limit > 0) {
        if (p->limit > SIZE_MAX / sizeof(*p->ring))
            goto fail_slots;
        if ((p->ring = malloc(p->limit * sizeof(*p->ring))) == NULL)
            goto fail_slots;
        p->cap = p->limit;
    }
    if ((rc = pb_mutex_init_quick(&p->lock)) != 0)
        goto fail_ring;
    if ((rc = pb_mutex_init_quick(&p->take_lock)) != 0)
        goto fail_lock;
    if (sem_init(&p->work_sem, 0, 0) != 0) {
        rc = errno;
        goto fail_take;
    }
    if ((rc = pb_cond_init_monotonic(&p->room_cv)) != 0)
        goto fail_work;
    if (p->tuning.record_events > 0 && (rc = tp_trace_create(p)) != 0)
        goto fail_room;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->nmin && rc == 0; i++)
        rc = worker_start(p);
    if (rc != 0)
        atomic_store(&p->stopping, true);
    wake_all(p);
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        workers_join(p);
        goto fail_trace;
    }
    *out = p;
    return 0;

fail_trace:
    tp_trace_destroy(p);
fail_room:
    pthread_cond_destroy(&p->room_cv);
fail_work:
    sem_destroy(&p->work_sem);
fail_take:
    pthread_mutex_destroy(&p->take_lock);
fail_lock:
    pthread_mutex_destroy(&p->lock);
fail_ring:
    free(p->ring);
fail_slots:
    free(p->slots);
fail_store:
    fstore_close(p->store, NULL);
fail:
    free(p);
    return rc;
}

int tp_pool_shutdown(struct tp_pool *p, enum tp_shutdown how)
{
    struct task *ring;
    size_t cap, head, tail, k, tasks = 0;
    int rc;

    if (p == NULL || (how != TP_SHUTDOWN_FINISH && how != TP_SHUTDOWN_CANCEL))
        return EINVAL;
    pthread_mutex_lock(&p->lock);
    rc = atomic_load(&p->stopping) ? ESHUTDOWN : 0;
    atomic_store(&p->stopping, true);
    wake_all(p);
    pthread_cond_broadcast(&p->room_cv);
    if (how == TP_SHUTDOWN_FINISH) {
        pthread_mutex_unlock(&p->lock);
        return rc;
    }

    /* Take the whole queue out, then cancel it without the locks: the
     * callbacks may call back into the pool.  The empty queue left behind
     * has no ring; nothing is queued into it any more (stopping). */
    pthread_mutex_lock(&p->take_lock);
    ring = p->ring;
    cap = p->cap;
    head = atomic_load(&p->head);
    tail = atomic_load(&p->tail);
    for (k = head; k != tail; k++)
        if (ring[k % cap].fn == tp_map_helper)
            tp_map_helper_taken(ring[k % cap].arg);
        else
            tasks++;
    if (p->trace != NULL && tasks > 0)
        pb_track_sample(pb_trace_queue_side(p->trace), pb_now_ns(),
                        -(int64_t)tasks);
    p->ring = NULL;
    p->cap = 0;
    atomic_store(&p->head, tail);
    pthread_mutex_unlock(&p->take_lock);
    pthread_mutex_unlock(&p->lock);

    /* Each task is counted before anyone can see it cancelled; a future
     * cancelled before (claimed already) was counted by its canceller. */
    for (k = head; k != tail; k++) {
        struct task *t = &ring[k % cap];

        if (t->f != NULL) {
            if (future_claim(t->f)) {
                atomic_fetch_add(&p->store->cancelled, 1);
                future_finish(t->f, ECANCELED, NULL);
            }
            future_unref(t->f);
        } else {
            atomic_fetch_add(&p->store->cancelled, 1);
            if (t->fn == tp_map_helper)
                tp_map_helper_done(t->arg);
        }
    }
    free(ring);
    return rc;
}

void tp_pool_destroy(struct tp_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    wake_all(p);
    pthread_cond_broadcast(&p->room_cv);
    pthread_mutex_unlock(&p->lock);
    workers_join(p);
    /* With every worker gone the queue is empty: FINISH drained it, CANCEL
     * took it out. */
    PB_CHECK(queue_len(p) == 0 && p->blocked == 0);
    pthread_cond_destroy(&p->room_cv);
    sem_destroy(&p->work_sem);
    pthread_mutex_destroy(&p->take_lock);
    pthread_mutex_destroy(&p->lock);
    tp_trace_destroy(p);
    free(p->ring);
    free(p->slots);
    fstore_close(p->store, p->spare);
    free(p);
}

/* ---- Submitting ------------------------------------------------------ */

/*
 * Queues t (its future, if any, already made).  block: wait for room in a
 * bounded queue, else EAGAIN.  Caller holds pool->lock.  A recording pool
 * stamps a task (not a map's helper) with its id and queue time here, in
 * submit order since we hold the lock.
 */
int tp_enqueue(struct tp_pool *p, struct task *t, bool block)
{
    int rc;

    for (;;) {
        if (atomic_load_explicit(&p->stopping, memory_order_relaxed))
            return ESHUTDOWN;
        if (p->limit == 0 || queue_len(p) < p->limit)
            break;
        if (!block)
            return EAGAIN;
        /* Announce ourselves, then look again: a worker that takes a task
         * after this sees blocked > 0 and signals (both are sequentially
         * consistent atomics, so one of us sees the other). */
        p->blocked++;
        if (queue_len(p) >= p->limit &&
            !atomic_load(&p->stopping))
            pthread_cond_wait(&p->room_cv, &p->lock);
        p->blocked--;
    }
    /* A pool with no worker (TP_NO_WORKERS, all retired) starts one
     * before queueing, so that a refused thread fails this call instead of
     * leaving a task that nobody will run.  It takes the task once we
     * drop the lock: it looks at the queue under that lock first. */
    if (p->alive == 0 && (rc = worker_start(p)) != 0)
        return rc;
    if (p->trace != NULL && t->fn != tp_map_helper) {
        /* Counted as queued before a worker can take it, so the queue's
         * length never shows below 0.  A push that fails for lack of
         * memory leaves its id unused: ids stay unique. */
        t->id = atomic_fetch_add(&p->trace->next_id, 1);
        t->queued_ns = pb_now_ns();
        pb_track_sample(pb_trace_queue_side(p->trace), t->queued_ns, 1);
    }
    if ((rc = ring_push(p, t)) != 0) {
        if (p->trace != NULL && t->fn != tp_map_helper)
            pb_track_sample(pb_trace_queue_side(p->trace), t->queued_ns,
                            -1);
        return rc;
    }
    p->submitted++;
    post_work(p, wake_or_grow(p));
    return 0;
}

static int submit(struct tp_pool *p, tp_task_fn *fn, void *arg,
                  struct tp_future **out, bool block)
{
    struct task t = { fn, arg, NULL, 0, 0 };
    int rc;

    if (out != NULL)
        *out = NULL;
    if (p == NULL || fn == NULL)
        return EINVAL;
    pthread_mutex_lock(&p->lock);
    /* One lock trip: the future is taken under the lock that queueing
     * needs anyway (unless tp_tuning.two_trips asks for a trip of its
     * own, to show what this saves). */
    if (out != NULL && (t.f = future_new(p)) == NULL) {
        rc = ENOMEM;
    } else {
        if (p->tuning.two_trips) {
            pthread_mutex_unlock(&p->lock);
            pthread_mutex_lock(&p->lock);
        }
        rc = tp_enqueue(p, &t, block);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        /* The future was made with two references, the caller's and the
         * queue's (future_start); the task never reached the queue and
         * the caller never sees the future, so both go here. */
        if (t.f != NULL) {
            future_unref(t.f);
            future_unref(t.f);
        }
        return rc;
    }
    if (out != NULL)
        *out = t.f;
    return 0;
}

int tp_submit(struct tp_pool *p, tp_task_fn *fn, void *arg,
              struct tp_future **out)
{
    return submit(p, fn, arg, out, true);
}

int tp_try_submit(struct tp_pool *p, tp_task_fn *fn, void *arg,
                  struct tp_future **out)
{
    return submit(p, fn, arg, out, false);
}

/* ---- Queries --------------------------------------------------------- */

int tp_pool_stats(struct tp_pool *p, struct tp_stats *out)
{
    if (p == NULL || out == NULL)
        return EINVAL;
    pthread_mutex_lock(&p->lock);
    pthread_mutex_lock(&p->take_lock);
    out->submitted = p->submitted;
    out->completed = atomic_load(&p->completed);
    out->cancelled = atomic_load(&p->store->cancelled);
    out->queue_len = queue_len(p);
    out->queue_peak = p->queue_peak;
    out->workers = p->alive;
    out->workers_peak = p->peak;
    out->workers_max = p->nmax;
    pthread_mutex_unlock(&p->take_lock);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int tp_pool_busy(struct tp_pool *p, uint64_t *busy_ns, size_t n,
                 size_t *slots)
{
    size_t i;

    if (p == NULL || (n > 0 && busy_ns == NULL))
        return EINVAL;
    pthread_mutex_lock(&p->take_lock);
    for (i = 0; i < n && i < p->nmax; i++)
        busy_ns[i] = p->slots[i].busy_ns;
    pthread_mutex_unlock(&p->take_lock);
    if (slots != NULL)
        *slots = p->nmax;
    return 0;
}
