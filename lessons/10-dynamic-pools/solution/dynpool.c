/*
 * dynpool.c - lesson 10: a thread pool that grows on demand and shrinks
 * when idle (the tutorial's DynamicThreadPool, finished properly).
 *
 * One lock guards everything; one condition variable, `work`, wakes idle
 * workers when a task arrives or the pool shuts down.
 *
 * Growing.  The tutorial starts a worker on every submit until it has
 * max_workers, even when a worker sits idle: ten quick tasks in a row make
 * ten threads for work one thread could do.  The rule here: after queueing
 * a task, if the tasks waiting outnumber the idle workers, no idle worker
 * is left to take this one, so start a worker (if below max_workers).  A
 * woken worker still counts as idle until it has taken the lock again,
 * so two quick submits with one idle worker correctly start one more.
 *
 * Shrinking.  An idle worker waits with pthread_cond_timedwait() on a
 * deadline idle_ms after it became idle, on CLOCK_MONOTONIC (a wall-clock
 * deadline would jump with the system time).  If the deadline passes with
 * no task and the pool has more than min_workers, the worker retires: it
 * takes itself off the list of live workers, puts itself on the `retired`
 * list, and returns.  A thread cannot join itself, and STYLE.md forbids
 * detached threads, so the next submit (or destroy) joins the retired
 * ones: every thread started is joined exactly once.
 *
 * Shutting down.  destroy sets `shutdown` under the lock and broadcasts;
 * workers finish the queue first and leave only when it is empty, so every
 * task submitted before destroy runs.  No worker retires once shutdown is
 * set, so the live list no longer changes and destroy can join it.
 *
 * Guarantees: tasks start in submission order (FIFO); a task never waits
 * while a worker is idle or while the pool is below max_workers.  Not
 * done: futures or results (lesson 3), a bounded queue (lesson 2).
 */
#include "dynpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct task {
    dtp_task_fn *fn;
    void *arg;
    struct task *next;
};

struct worker {
    pthread_t thread;
    struct dtp_pool *pool;
    struct worker *next;    /* in pool->live or pool->retired (lock) */
};

struct dtp_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;        /* a task was queued, or shutdown */
    struct dtp_options opt;     /* constant after create */
    struct task *head, *tail;   /* the queue, FIFO (lock) */
    struct worker *live;        /* workers running (lock) */
    struct worker *retired;     /* left, not yet joined (lock) */
    int shutdown;               /* (lock) */
    struct dtp_stats st;        /* counters; st.queued is the queue length
                                 * (lock) */
};

/* Joins and frees the workers on the list. */
static void join_all(struct worker *w)
{
    while (w != NULL) {
        struct worker *next = w->next;

        pthread_join(w->thread, NULL);
        free(w);
        w = next;
    }
}

/* Takes the retired list, to be joined after the lock is released.
 * Caller holds pool->lock. */
static struct worker *take_retired(struct dtp_pool *p)
{
    struct worker *w = p->retired;

    p->retired = NULL;
    return w;
}

/* Moves w from the live list to the retired list.  Caller holds the lock. */
static void retire(struct dtp_pool *p, struct worker *w)
{
    struct worker **pp = &p->live;

    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    w->next = p->retired;
    p->retired = w;
    p->st.workers--;
    p->st.retired++;
}

/* The deadline idle_ms from now on CLOCK_MONOTONIC. */
static struct timespec deadline_after(long ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *worker_main(void *arg)
{
    struct worker *self = arg;
    struct dtp_pool *p = self->pool;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct task *t;

        if (p->head == NULL && !p->shutdown) {
            struct timespec deadline = deadline_after(p->opt.idle_ms);
            int rc = 0;

            p->st.idle++;
            while (p->head == NULL && !p->shutdown && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&p->work, &p->lock, &deadline);
            p->st.idle--;
            if (p->head == NULL && !p->shutdown) {
                /* Idle for idle_ms: retire unless we are one of the
                 * min_workers; then just wait again. */
                if (p->st.workers > p->opt.min_workers) {
                    retire(p, self);
                    break;
                }
                continue;
            }
        }
        if (p->head == NULL)
            break;              /* shutdown, and the queue is empty */
        t = p->head;
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->st.queued--;
        pthread_mutex_unlock(&p->lock);

        t->fn(t->arg);
        free(t);

        pthread_mutex_lock(&p->lock);
        p->st.completed++;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Starts one worker.  Caller holds pool->lock.  0 or errno. */
static int spawn_worker(struct dtp_pool *p)
{
    struct worker *w = malloc(sizeof *w);
    int rc;

    if (w == NULL)
        return ENOMEM;
    w->pool = p;
    if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
        free(w);
        return rc;
    }
    w->next = p->live;
    p->live = w;
    p->st.workers++;
    p->st.started++;
    if (p->st.workers > p->st.peak_workers)
        p->st.peak_workers = p->st.workers;
    return 0;
}

int dtp_create(const struct dtp_options *opt, struct dtp_pool **out)
{
    struct dtp_pool *p;
    pthread_condattr_t attr;
    int rc;

    if (opt == NULL || out == NULL || opt->max_workers < 1 ||
        opt->max_workers > DTP_MAX_WORKERS ||
        opt->min_workers > opt->max_workers || opt->idle_ms < 1)
        return EINVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->opt = *opt;
    if ((rc = pthread_mutex_init(&p->lock, NULL)) != 0)
        goto fail_free;
    if ((rc = pthread_condattr_init(&attr)) != 0)
        goto fail_mutex;
    if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) != 0 ||
        (rc = pthread_cond_init(&p->work, &attr)) != 0) {
        pthread_condattr_destroy(&attr);
        goto fail_mutex;
    }
    pthread_condattr_destroy(&attr);

    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < opt->min_workers && rc == 0; i++)
        rc = spawn_worker(p);
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        dtp_destroy(p);
        return rc;
    }
    *out = p;
    return 0;

fail_mutex:
    pthread_mutex_destroy(&p->lock);
fail_free:
    free(p);
    return rc;
}

int dtp_submit(struct dtp_pool *p, dtp_task_fn *fn, void *arg)
{
    struct worker *done;
    struct task *t;
    int rc = 0;

    if (p == NULL || fn == NULL)
        return EINVAL;
    t = malloc(sizeof *t);
    if (t == NULL)
        return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;

    pthread_mutex_lock(&p->lock);
    if (p->shutdown) {
        rc = ESHUTDOWN;
        goto out;
    }
    /* Will an idle worker take this task?  Only if there are more idle
     * workers than tasks already waiting for one. */
    if (p->st.queued + 1 > p->st.idle &&
        p->st.workers < p->opt.max_workers) {
        rc = spawn_worker(p);
        /* With other workers alive the task will still run: queue it. */
        if (rc != 0 && p->st.workers > 0)
            rc = 0;
        if (rc != 0)
            goto out;
    }
    if (p->tail != NULL)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->st.queued++;
    t = NULL;
    pthread_cond_signal(&p->work);
out:
    done = take_retired(p);
    pthread_mutex_unlock(&p->lock);
    join_all(done);
    free(t);                    /* NULL unless the task was refused */
    return rc;
}

void dtp_destroy(struct dtp_pool *p)
{
    struct worker *live, *done;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->work);
    live = p->live;
    p->live = NULL;
    pthread_mutex_unlock(&p->lock);

    join_all(live);             /* they drain the queue, then leave */

    pthread_mutex_lock(&p->lock);
    done = take_retired(p);
    pthread_mutex_unlock(&p->lock);
    join_all(done);

    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void dtp_get_stats(struct dtp_pool *p, struct dtp_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->st;
    pthread_mutex_unlock(&p->lock);
}
