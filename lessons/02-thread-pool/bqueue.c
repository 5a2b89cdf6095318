/*
 * bqueue.c - a bounded blocking queue: one mutex, two condition variables.
 *
 * This is the classic producer-consumer queue, the middle of every thread
 * pool: submit() is a producer, each worker a consumer.
 *
 * How: the items live in a ring buffer of `cap` slots; `head` is the oldest
 * item and `count` how many there are, so the tail is (head + count) % cap.
 * One mutex protects all of it.  A thread that cannot go on sleeps on a
 * condition variable, which releases the mutex while it sleeps and takes it
 * back before it returns:
 *   not_full    producers sleep on it while count == cap;
 *               every pop signals it (one slot, one producer to wake);
 *   not_empty   consumers sleep on it while count == 0;
 *               every push signals it (one item, one consumer to wake).
 * Two variables, not one, so that a push wakes a consumer and never
 * another producer that could not use the wake-up anyway.
 *
 * Three rules make it correct:
 *   - Test the condition in a while loop, never an if: a wake-up only says
 *     "look again".  Another thread may have taken the slot or the item
 *     first, and POSIX allows spurious wake-ups.
 *   - Change the state and signal with the mutex held, so that no thread
 *     can check the condition, miss the change and then sleep forever (the
 *     "lost wake-up").
 *   - Closing is a state change that every sleeper must see: broadcast both
 *     variables.
 *
 * Guarantees: FIFO (items come out in the order their pushes took the
 * lock); items pushed before close are still popped.  Not guaranteed:
 * fairness between producers (a new producer may overtake one that was
 * woken up but has not run yet).
 */
#include "bqueue.h"

#include <errno.h>
#include <stdlib.h>

int bqueue_init(struct bqueue *q, size_t cap)
{
    if (cap == 0)
        return EINVAL;
    q->items = calloc(cap, sizeof(*q->items));
    if (q->items == NULL)
        return ENOMEM;
    q->cap = cap;
    q->head = 0;
    q->count = 0;
    q->closed = false;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    return 0;
}

void bqueue_release(struct bqueue *q)
{
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    q->items = NULL;
}

int bqueue_push(struct bqueue *q, void *item)
{
    /*
     * EXERCISE: with q->lock held, wait on q->not_full while the queue is
     * full and not closed.  If it is closed, return ESHUTDOWN (unlock
     * first!).  Otherwise store item at the tail, index
     * (q->head + q->count) % q->cap, count it, and wake one consumer
     * sleeping on q->not_empty.  Return 0.
     */
    (void)q;
    (void)item;
    return ENOSYS;
}

int bqueue_pop(struct bqueue *q, void **item)
{
    /*
     * EXERCISE: with q->lock held, wait on q->not_empty while the queue is
     * empty and not closed.  If it is still empty, it is closed: return
     * ESHUTDOWN.  Otherwise take the item at q->head into *item, move head
     * on (modulo q->cap), uncount it, and wake one producer sleeping on
     * q->not_full.  Return 0.
     */
    (void)q;
    (void)item;
    return ENOSYS;
}

void bqueue_close(struct bqueue *q)
{
    /*
     * EXERCISE: with q->lock held, mark the queue closed and wake EVERY
     * thread sleeping on either condition variable.
     */
    (void)q;
}

size_t bqueue_len(struct bqueue *q)
{
    size_t n;

    pthread_mutex_lock(&q->lock);
    n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}
