/*
 * textbook_pool.c - the textbook thread pool, kept as a teaching baseline.
 *
 * Workers sleep on one condition variable until the linked list of tasks is
 * not empty, take the head node, run it and free the node.  tb_submit
 * mallocs a node, appends it and signals the condition variable, every
 * time.  This is the pool of most tutorials (and of C-Thread-Pool) without
 * its extras.  What it costs per task, compared with pools/threadpool.c:
 * a malloc and a free for the node (our pool copies into a ring buffer),
 * one lock that submitters and workers fight over (ours gives each side a
 * lock of its own; both take one task per lock trip), a signal per submit
 * even when no worker sleeps (ours signals only a sleeper), and a sleep in
 * the kernel for every wait (ours polls briefly first).  It deliberately has no cancel, no callbacks, no map, no bounded
 * queue: benchmarks/overhead only needs submit and wait.
 */
#include "textbook_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct tb_future {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool done;                  /* lock */
    void *result;               /* lock */
};

struct node {
    tb_task_fn *fn;
    void *arg;
    struct tb_future *f;
    struct node *next;
};

struct tb_pool {
    pthread_mutex_t lock;
    pthread_cond_t cv;          /* "the queue is not empty, or stop" */
    struct node *head, *tail;   /* lock */
    bool stop;                  /* lock */
    unsigned nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct tb_pool *p = arg;
    struct node *n;
    void *result;

    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cv, &p->lock);
        if (p->head == NULL) {                  /* stop, and nothing left */
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        n = p->head;
        p->head = n->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);

        result = n->fn(n->arg);
        if (n->f != NULL) {
            pthread_mutex_lock(&n->f->lock);
            n->f->result = result;
            n->f->done = true;
            pthread_cond_signal(&n->f->cv);
            pthread_mutex_unlock(&n->f->lock);
        }
        free(n);
    }
}

int tb_pool_create(unsigned workers, struct tb_pool **out)
{
    struct tb_pool *p;
    int rc = ENOMEM;

    *out = NULL;
    if (workers == 0)
        return EINVAL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return ENOMEM;
    if ((p->threads = calloc(workers, sizeof(*p->threads))) == NULL)
        goto fail;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (p->nthreads = 0; p->nthreads < workers; p->nthreads++) {
        rc = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
        if (rc != 0) {
            tb_pool_destroy(p);
            return rc;
        }
    }
    *out = p;
    return 0;

fail:
    free(p);
    return rc;
}

void tb_pool_destroy(struct tb_pool *p)
{
    unsigned i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

int tb_submit(struct tb_pool *p, tb_task_fn *fn, void *arg,
              struct tb_future **out)
{
    struct node *n;
    struct tb_future *f = NULL;

    if (p == NULL || fn == NULL)
        return EINVAL;
    if ((n = malloc(sizeof(*n))) == NULL)
        return ENOMEM;
    if (out != NULL) {
        if ((f = calloc(1, sizeof(*f))) == NULL) {
            free(n);
            return ENOMEM;
        }
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cv, NULL);
        *out = f;
    }
    n->fn = fn;
    n->arg = arg;
    n->f = f;
    n->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL)
        p->tail->next = n;
    else
        p->head = n;
    p->tail = n;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void *tb_future_get(struct tb_future *f)
{
    void *result;

    pthread_mutex_lock(&f->lock);
    while (!f->done)
        pthread_cond_wait(&f->cv, &f->lock);
    result = f->result;
    pthread_mutex_unlock(&f->lock);
    return result;
}

void tb_future_free(struct tb_future *f)
{
    if (f == NULL)
        return;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
