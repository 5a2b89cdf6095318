/*
 * minipool.c - a fixed pool of worker threads that take tasks from a queue.
 *
 * Why a pool: creating a thread costs a system call, a fresh stack (mmap)
 * and a trip through the scheduler, then a join; that is tens of
 * microseconds, far more than many tasks take to run.  A pool pays it once
 * per worker and then hands each task to a thread that is already there.
 * The tutorial's first example (ThreadPoolExecutor(max_workers=3) running
 * five task(n) calls that sleep for 2 s) is exactly this: three threads,
 * five tasks, about 4 s in all.
 *
 * How: one queue (a singly linked list, FIFO), one mutex that protects it
 * and every other shared field, and two condition variables:
 *   has_work   a worker sleeps on it while the queue is empty;
 *              minipool_submit signals it, minipool_destroy broadcasts it;
 *   all_done   minipool_wait sleeps on it until `pending` drops to 0.
 * `pending` counts tasks queued or running, so "the queue is empty" is not
 * mistaken for "the work is done" while a worker is still running a task.
 *
 * What a worker does (worker_main, the heart of the lesson): take the lock;
 * while there is nothing to do and no shutdown, wait on has_work; if the
 * queue is empty and we are shutting down, leave; otherwise take the first
 * task, drop the lock, run the task, take the lock again and count it done.
 * The task runs *without* the lock: otherwise the workers would take turns
 * instead of running side by side, and a task that submits another task
 * would deadlock on the lock it already holds.
 *
 * Guarantees: tasks start in the order they were submitted (with more than
 * one worker they may finish in any order); every task submitted before
 * minipool_destroy runs before it returns.  Not done here: results and
 * futures (lesson 3), a bounded queue (lesson 2), growing and shrinking
 * (lesson 10).
 */
#include "minipool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct task {
    minipool_task_fn *fn;
    void *arg;
    struct task *next;
};

struct minipool {
    pthread_mutex_t lock;
    pthread_cond_t has_work;    /* a task was queued, or shutdown began */
    pthread_cond_t all_done;    /* pending dropped to 0 */
    struct task *head;          /* the queue, FIFO; lock */
    struct task *tail;          /* lock */
    size_t pending;             /* tasks queued or running; lock */
    bool shutting_down;         /* set once by minipool_destroy; lock */
    unsigned nthreads;          /* threads started; only create/destroy */
    pthread_t *threads;
};

/* Takes the first task off the queue, or returns NULL if there is none.
 * Caller holds pool->lock. */
static struct task *queue_pop(struct minipool *pool)
{
    struct task *t = pool->head;

    if (t != NULL) {
        pool->head = t->next;
        if (pool->head == NULL)
            pool->tail = NULL;
    }
    return t;
}

/* Counts one task as finished and wakes minipool_wait when it was the last.
 * Caller holds pool->lock. */
static void task_done(struct minipool *pool)
{
    if (--pool->pending == 0)
        pthread_cond_broadcast(&pool->all_done);
}

/*
 * The worker loop: every worker thread runs this from start to end.
 */
static void *worker_main(void *arg)
{
    struct minipool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        struct task *t;

        /* A while, not an if: another worker may have taken the task
         * between the signal and our wake-up, and pthread_cond_wait may
         * also return for no reason at all (a "spurious wake-up"). */
        while (pool->head == NULL && !pool->shutting_down)
            pthread_cond_wait(&pool->has_work, &pool->lock);
        t = queue_pop(pool);
        if (t == NULL)
            break;                  /* shutting down, nothing left to run */

        pthread_mutex_unlock(&pool->lock);
        t->fn(t->arg);              /* run it without the lock */
        free(t);
        pthread_mutex_lock(&pool->lock);
        task_done(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Stops the workers that were started and frees the pool: the one clean-up
 * path of minipool_create and minipool_destroy. */
static void stop_and_free(struct minipool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = true;
    pthread_cond_broadcast(&pool->has_work);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);

    /* Only a broken worker loop leaves tasks behind; free them anyway. */
    for (struct task *t = queue_pop(pool); t != NULL; t = queue_pop(pool))
        free(t);
    pthread_cond_destroy(&pool->all_done);
    pthread_cond_destroy(&pool->has_work);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

int minipool_create(unsigned workers, struct minipool **out)
{
    struct minipool *pool;
    int rc;

    *out = NULL;
    if (workers == 0)
        return EINVAL;
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return ENOMEM;
    pool->threads = calloc(workers, sizeof(*pool->threads));
    if (pool->threads == NULL) {
        free(pool);
        return ENOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->has_work, NULL);
    pthread_cond_init(&pool->all_done, NULL);

    for (; pool->nthreads < workers; pool->nthreads++) {
        rc = pthread_create(&pool->threads[pool->nthreads], NULL,
                            worker_main, pool);
        if (rc != 0)
            goto fail;
    }
    *out = pool;
    return 0;

fail:
    stop_and_free(pool);
    return rc;
}

int minipool_submit(struct minipool *pool, minipool_task_fn *fn, void *arg)
{
    struct task *t;

    if (fn == NULL)
        return EINVAL;
    t = malloc(sizeof(*t));
    if (t == NULL)
        return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;

    pthread_mutex_lock(&pool->lock);
    if (pool->shutting_down) {
        pthread_mutex_unlock(&pool->lock);
        free(t);
        return ESHUTDOWN;
    }
    if (pool->tail != NULL)
        pool->tail->next = t;
    else
        pool->head = t;
    pool->tail = t;
    pool->pending++;
    /* One task, one worker to wake: signal, not broadcast. */
    pthread_cond_signal(&pool->has_work);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void minipool_wait(struct minipool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->all_done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

void minipool_destroy(struct minipool *pool)
{
    if (pool == NULL)
        return;
    stop_and_free(pool);
}
