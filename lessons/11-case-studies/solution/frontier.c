/*
 * frontier.c - lesson 11: a breadth-first crawler's frontier on a thread
 * pool (reference solution).
 *
 * The design in one picture:
 *
 *     crawling thread                          pool workers
 *     ---------------                          ------------
 *     queue: pages to fetch (FIFO)  --submit-->  fetch_task(job):
 *     seen:  pages ever queued                      fetch(page)
 *            ^                                      lock
 *            |                                      append job to `done`
 *            +-- links of finished pages <--        signal, unlock
 *                 (take all of `done`)
 *
 * Only `done` is shared, and it is touched under `lock` only.  The queue
 * and `seen` belong to the crawling thread, so they need no lock at all:
 * the workers never see them.  That is the whole trick of a crawler on a
 * pool.  The other way round (workers adding links to a shared queue and
 * set) needs a lock around every check-and-insert, and makes it hard to
 * know when the crawl is over; here it is over when nothing is queued and
 * nothing is in flight, both counted by one thread.
 *
 * Why a completion list and not the futures in order: waiting for the
 * oldest future first would stall the whole crawl behind one slow page
 * (head-of-line blocking) while other pages have finished and their links
 * could already be fetched.
 *
 * Breadth-first: pages are submitted in the order they were found and the
 * pool's queue is FIFO, so fetches start in breadth-first order.  Without
 * a pool (one fetch at a time) the order is exactly breadth-first.
 */
#include "frontier.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "threadpool.h"

struct crawl;

/* One page to fetch; becomes its result when the fetch is done. */
struct job {
    struct fr_page page;
    int id;
    struct crawl *cr;
    struct job *next;
};

struct crawl {
    fr_fetch_fn *fetch;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t finished;        /* signalled when `done` grows */
    struct job *done, *done_tail;   /* protected by lock */
};

/* The pool task: fetch, then hand the page to the crawling thread. */
static int fetch_task(void *arg, void **result)
{
    struct job *j = arg;
    struct crawl *cr = j->cr;

    (void)result;
    cr->fetch(cr->ctx, j->id, &j->page);
    j->page.id = j->id;
    j->next = NULL;
    pthread_mutex_lock(&cr->lock);
    if (cr->done_tail != NULL)
        cr->done_tail->next = j;
    else
        cr->done = j;
    cr->done_tail = j;
    /* Signal before unlocking: after the unlock the crawling thread may
     * take this job, finish, and destroy the condition variable. */
    pthread_cond_signal(&cr->finished);
    pthread_mutex_unlock(&cr->lock);
    return 0;
}

int fr_crawl(struct tp_pool *pool, fr_fetch_fn *fetch, void *ctx, int start,
             int npages, struct fr_page *visited, size_t *nvisited)
{
    struct crawl cr = { .fetch = fetch, .ctx = ctx };
    unsigned char *seen;
    int *queue;
    size_t head = 0, tail = 0, inflight = 0;
    int rc = 0;

    *nvisited = 0;
    if (npages <= 0 || start < 0 || start >= npages)
        return EINVAL;
    seen = calloc((size_t)npages, 1);
    queue = malloc((size_t)npages * sizeof(*queue));
    if (seen == NULL || queue == NULL) {
        rc = ENOMEM;
        goto out;
    }
    if ((rc = pthread_mutex_init(&cr.lock, NULL)) != 0)
        goto out;
    if ((rc = pthread_cond_init(&cr.finished, NULL)) != 0) {
        pthread_mutex_destroy(&cr.lock);
        goto out;
    }
    seen[start] = 1;
    queue[tail++] = start;
    for (;;) {
        struct job *fin;

        /* Submit everything queued, oldest first.  After an error, stop
         * submitting but still wait for what is in flight: those tasks
         * point at `cr`, which lives on this stack. */
        while (rc == 0 && head < tail) {
            struct job *j = calloc(1, sizeof(*j));

            if (j == NULL) {
                rc = ENOMEM;
                break;
            }
            j->id = queue[head++];
            j->cr = &cr;
            if (pool == NULL) {
                void *unused;

                fetch_task(j, &unused);
            } else if ((rc = tp_submit(pool, fetch_task, j, NULL)) != 0) {
                free(j);
                break;
            }
            inflight++;
        }
        if (inflight == 0)
            break;
        pthread_mutex_lock(&cr.lock);
        while (cr.done == NULL)
            pthread_cond_wait(&cr.finished, &cr.lock);
        fin = cr.done;
        cr.done = cr.done_tail = NULL;
        pthread_mutex_unlock(&cr.lock);
        while (fin != NULL) {
            struct job *j = fin;

            fin = j->next;
            inflight--;
            visited[(*nvisited)++] = j->page;
            for (size_t k = 0; j->page.error == 0 && k < j->page.nlinks;
                 k++) {
                int to = j->page.links[k];

                if (to >= 0 && to < npages && !seen[to]) {
                    seen[to] = 1;
                    queue[tail++] = to;
                }
            }
            free(j);
        }
    }
    pthread_cond_destroy(&cr.finished);
    pthread_mutex_destroy(&cr.lock);
out:
    free(seen);
    free(queue);
    return rc;
}
