/*
 * bqueue.h - a bounded blocking queue, for lesson 2.
 *
 * The queue between the threads that submit work (producers) and the
 * workers that run it (consumers): push blocks while the queue is full,
 * pop blocks while it is empty.  Python's ThreadPoolExecutor puts a
 * queue.SimpleQueue between ex.submit() and its workers; ours is bounded,
 * so a producer faster than the workers is slowed down ("back-pressure")
 * instead of filling memory.  The library's pool does the same when you set
 * tp_options.queue_limit.
 *
 * The struct is the caller's (stack, static or inside another struct):
 * bqueue_init it, and bqueue_release it once no thread uses it any more.
 * Items are pointers that the queue stores and hands back, never reads.
 */
#ifndef LESSONS_BQUEUE_H
#define LESSONS_BQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct bqueue {
    pthread_mutex_t lock;
    pthread_cond_t not_full;    /* a slot came free, or the queue closed */
    pthread_cond_t not_empty;   /* an item arrived, or the queue closed */
    void **items;               /* ring buffer of cap slots; lock */
    size_t cap;                 /* set by bqueue_init, then constant */
    size_t head;                /* index of the oldest item; lock */
    size_t count;               /* items in the queue; lock */
    bool closed;                /* set by bqueue_close; lock */
};

/* Prepares q to hold up to cap items.  Returns 0, EINVAL (cap 0), or
 * ENOMEM. */
int bqueue_init(struct bqueue *q, size_t cap);

/* Frees what bqueue_init allocated.  No thread may be using q. */
void bqueue_release(struct bqueue *q);

/*
 * Adds item at the tail, first waiting while the queue is full.  Returns 0,
 * or ESHUTDOWN if the queue is closed (already, or while we waited): then
 * the item was not added.
 */
int bqueue_push(struct bqueue *q, void *item);

/*
 * Takes the item at the head into *item, first waiting while the queue is
 * empty.  Returns 0, or ESHUTDOWN once the queue is closed *and* empty: the
 * items pushed before bqueue_close are still handed out.
 */
int bqueue_pop(struct bqueue *q, void **item);

/*
 * Closes the queue: every push from now on fails, and every thread blocked
 * in push or pop wakes up (pop still returns what is left).  Closing twice
 * is harmless.
 */
void bqueue_close(struct bqueue *q);

/* Items in the queue now (a snapshot: it may change at once). */
size_t bqueue_len(struct bqueue *q);

#endif
