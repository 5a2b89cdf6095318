/*
 * frontier.c - lesson 11: a breadth-first crawler's frontier on a thread
 * pool.
 *
 * YOUR PART: the two places marked EXERCISE.  Everything else compiles and
 * runs; as it stands, fr_crawl() fetches the start page and stops.  Grade
 * your work with `make grade LESSON=11` from the top folder.
 *
 * The design to build, in one picture:
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
 * the workers never see them.  The crawl is over when nothing is queued
 * and nothing is in flight, both counted by the crawling thread.
 *
 * Why a completion list and not the futures in order: waiting for the
 * oldest future first would stall the crawl behind one slow page
 * (head-of-line blocking) while other pages have finished and their links
 * could already be fetched.
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
    /*
     * EXERCISE 1: hand j to the crawling thread.  Under cr->lock, append j
     * to the list cr->done .. cr->done_tail (keep the order: it is the
     * order fetches finished), and wake the crawling thread, which may be
     * waiting on cr->finished.  Think about where the signal goes: once
     * you unlock, the crawling thread may take this job, finish the crawl
     * and destroy the condition variable.
     */
    return 0;
}

int fr_crawl(struct tp_pool *pool, fr_fetch_fn *fetch, void *ctx, int start,
             int npages, struct fr_page *visited, size_t *nvisited)
{
    struct crawl cr = { .fetch = fetch, .ctx = ctx };
    unsigned char *seen;
    int *queue;
    size_t head = 0, tail = 0;
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
    /*
     * EXERCISE 2: the crawl loop.  Replace the block below, which fetches
     * only the start page, in this thread, and ignores its links, with a
     * loop that repeats:
     *
     *   1. Submit every queued page (queue[head] .. queue[tail - 1]),
     *      oldest first: a new struct job each (calloc: its id and cr set),
     *      run with tp_submit(pool, fetch_task, job, NULL), or, when pool
     *      is NULL, by calling fetch_task(job, &unused) right here.  Count
     *      the jobs in flight.  If tp_submit fails, free that job, keep its
     *      error in rc and submit nothing more.
     *   2. If nothing is in flight, the crawl is over: leave the loop.
     *   3. Wait (on cr.finished, under cr.lock) until cr.done is not
     *      empty, and take the whole list, leaving it empty.
     *   4. For each finished job: one less in flight; copy its page to
     *      visited[(*nvisited)++]; if it has no error, queue every link
     *      that is in range (0 <= link < npages) and not seen yet, marking
     *      it seen; free the job.
     *
     * Even after an error, wait until nothing is in flight before
     * returning: queued tasks point at `cr`, which lives on this stack.
     */
    {
        struct job *j = calloc(1, sizeof(*j));
        void *unused;

        if (j == NULL) {
            rc = ENOMEM;
        } else {
            j->id = queue[head++];
            j->cr = &cr;
            fetch_task(j, &unused);
            visited[(*nvisited)++] = j->page;
            free(j);
        }
        (void)pool;
    }
    pthread_cond_destroy(&cr.finished);
    pthread_mutex_destroy(&cr.lock);
out:
    free(seen);
    free(queue);
    return rc;
}
