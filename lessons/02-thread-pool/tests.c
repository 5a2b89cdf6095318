/*
 * tests.c - graded tests for lesson 2 (bqueue_push, bqueue_pop,
 * bqueue_close in bqueue.c).
 *
 * "Blocks" is checked with a probe thread (grading.h): the call runs on its
 * own thread, the test sleeps, and the call must not have returned yet; then
 * the test makes room (or an item, or closes the queue) and the call must
 * return.  A correct queue never fails that; a queue that does not wait
 * fails it nearly every time.
 */
#include "bqueue.h"
#include "grading.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Items are pointers; these tests store small integers in them. */
#define ITEM(n) ((void *)(uintptr_t)(n))
#define VALUE(p) ((uintptr_t)(p))

static void init_queue(struct bqueue *q, size_t cap)
{
    int rc = bqueue_init(q, cap);

    ck_assert_msg(rc == 0, "bqueue_init(%zu) returned %s", cap,
                  grade_errname(rc));
}

static void *push_99(void *arg)
{
    return (void *)(intptr_t)bqueue_push(arg, ITEM(99));
}

struct popped {
    struct bqueue *q;
    void *item;
    int rc;
};

static void *pop_one(void *arg)
{
    struct popped *p = arg;

    p->rc = bqueue_pop(p->q, &p->item);
    return NULL;
}

START_TEST(pop_returns_items_in_fifo_order)
{
    struct bqueue q;
    void *item;
    uintptr_t next_in = 1, next_out = 1;

    init_queue(&q, 4);
    /* Push 3, pop 2, push 3, ...: the ring buffer wraps around. */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(bqueue_push(&q, ITEM(next_in++)), 0);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(bqueue_pop(&q, &item), 0);
            ck_assert_msg(VALUE(item) == next_out,
                          "popped %lu, expected %lu (first in, first out)",
                          (unsigned long)VALUE(item),
                          (unsigned long)next_out);
            next_out++;
        }
        /* Keep it from filling up (at most 4 items at a time). */
        if (bqueue_len(&q) >= 2) {
            ck_assert_int_eq(bqueue_pop(&q, &item), 0);
            ck_assert_uint_eq(VALUE(item), next_out);
            next_out++;
        }
    }
    bqueue_release(&q);
}
END_TEST

START_TEST(push_blocks_while_the_queue_is_full)
{
    struct bqueue q;
    struct grade_probe probe;
    void *item;

    init_queue(&q, 2);
    ck_assert_int_eq(bqueue_push(&q, ITEM(1)), 0);
    ck_assert_int_eq(bqueue_push(&q, ITEM(2)), 0);
    grade_probe_start(&probe, push_99, &q);
    grade_msleep(150);
    ck_assert_msg(!grade_probe_returned(&probe),
                  "bqueue_push returned on a full queue instead of waiting");
    ck_assert_uint_eq(bqueue_len(&q), 2);

    ck_assert_int_eq(bqueue_pop(&q, &item), 0);     /* makes room */
    ck_assert_uint_eq(VALUE(item), 1);
    ck_assert_msg(grade_probe_join(&probe) == 0,
                  "the waiting bqueue_push failed once there was room");
    ck_assert_int_eq(bqueue_pop(&q, &item), 0);
    ck_assert_uint_eq(VALUE(item), 2);
    ck_assert_int_eq(bqueue_pop(&q, &item), 0);
    ck_assert_uint_eq(VALUE(item), 99);
    bqueue_release(&q);
}
END_TEST

START_TEST(pop_blocks_while_the_queue_is_empty)
{
    struct bqueue q;
    struct grade_probe probe;
    struct popped p = { &q, NULL, -1 };

    init_queue(&q, 2);
    grade_probe_start(&probe, pop_one, &p);
    grade_msleep(150);
    ck_assert_msg(!grade_probe_returned(&probe),
                  "bqueue_pop returned on an empty queue instead of waiting");

    ck_assert_int_eq(bqueue_push(&q, ITEM(7)), 0);  /* wakes it */
    grade_probe_join(&probe);
    ck_assert_msg(p.rc == 0, "the waiting bqueue_pop returned %s",
                  grade_errname(p.rc));
    ck_assert_uint_eq(VALUE(p.item), 7);
    ck_assert_uint_eq(bqueue_len(&q), 0);
    bqueue_release(&q);
}
END_TEST

START_TEST(close_wakes_every_blocked_pop)
{
    enum { N = 4 };
    struct bqueue q;
    struct grade_probe probes[N];
    struct popped p[N];

    init_queue(&q, 2);
    for (int i = 0; i < N; i++) {
        p[i] = (struct popped){ &q, NULL, -1 };
        grade_probe_start(&probes[i], pop_one, &p[i]);
    }
    grade_msleep(150);
    for (int i = 0; i < N; i++)
        ck_assert_msg(!grade_probe_returned(&probes[i]),
                      "bqueue_pop returned on an empty open queue");
    bqueue_close(&q);
    for (int i = 0; i < N; i++) {
        grade_probe_join(&probes[i]);   /* times out if one sleeps on */
        ck_assert_msg(p[i].rc == ESHUTDOWN,
                      "bqueue_pop on a closed empty queue returned %s, "
                      "not ESHUTDOWN", grade_errname(p[i].rc));
    }
    bqueue_release(&q);
}
END_TEST

START_TEST(close_wakes_a_blocked_push)
{
    struct bqueue q;
    struct grade_probe probe;
    void *item;

    init_queue(&q, 1);
    ck_assert_int_eq(bqueue_push(&q, ITEM(1)), 0);
    grade_probe_start(&probe, push_99, &q);
    grade_msleep(150);
    ck_assert_msg(!grade_probe_returned(&probe),
                  "bqueue_push returned on a full queue instead of waiting");
    bqueue_close(&q);
    ck_assert_msg((intptr_t)grade_probe_join(&probe) == ESHUTDOWN,
                  "a bqueue_push woken by bqueue_close must fail with "
                  "ESHUTDOWN");
    /* The item it was trying to push must not have gone in. */
    ck_assert_int_eq(bqueue_pop(&q, &item), 0);
    ck_assert_uint_eq(VALUE(item), 1);
    ck_assert_int_eq(bqueue_pop(&q, &item), ESHUTDOWN);
    bqueue_release(&q);
}
END_TEST

START_TEST(pop_drains_what_was_pushed_before_close)
{
    struct bqueue q;
    void *item;

    init_queue(&q, 4);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(bqueue_push(&q, ITEM(i)), 0);
    bqueue_close(&q);
    ck_assert_msg(bqueue_push(&q, ITEM(4)) == ESHUTDOWN,
                  "bqueue_push on a closed queue must return ESHUTDOWN");
    for (int i = 1; i <= 3; i++) {
        ck_assert_msg(bqueue_pop(&q, &item) == 0,
                      "bqueue_pop must still return the items pushed "
                      "before bqueue_close");
        ck_assert_uint_eq(VALUE(item), (uintptr_t)i);
    }
    ck_assert_int_eq(bqueue_pop(&q, &item), ESHUTDOWN);
    bqueue_close(&q);                   /* twice is harmless */
    ck_assert_int_eq(bqueue_pop(&q, &item), ESHUTDOWN);
    bqueue_release(&q);
}
END_TEST

/*
 * The real thing: 4 producers and 4 consumers through a queue of 4 slots,
 * so that both sides block over and over.  Item = producer * STRIDE + seq.
 * Every item must come out exactly once, and each consumer must see each
 * producer's items in increasing order (FIFO).
 */
#define PRODUCERS 4
#define CONSUMERS 4
#define STRIDE 1000000

struct mpmc {
    struct bqueue q;
    long per_producer;
    atomic_uchar *seen;             /* PRODUCERS * per_producer flags */
    atomic_int duplicates, out_of_order, bad_items, push_errors;
    atomic_int closing;             /* set just before bqueue_close */
    atomic_int early_end;           /* pops that failed while still open */
    atomic_int pop_rc;              /* the last such pop's error */
    atomic_int done;                /* every producer and consumer ended */
    struct grade_barrier start;     /* all threads start together */
};

struct producer {
    struct mpmc *m;
    long id;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;

    grade_barrier_wait(&p->m->start);
    for (long s = 0; s < p->m->per_producer; s++)
        if (bqueue_push(&p->m->q, ITEM(p->id * STRIDE + s + 1)) != 0)
            atomic_fetch_add(&p->m->push_errors, 1);
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct mpmc *m = arg;
    long last[PRODUCERS];
    void *item;

    int rc;

    for (int i = 0; i < PRODUCERS; i++)
        last[i] = 0;
    grade_barrier_wait(&m->start);
    while ((rc = bqueue_pop(&m->q, &item)) == 0) {
        long v = (long)VALUE(item), id = v / STRIDE, s = v % STRIDE;

        if (id < 0 || id >= PRODUCERS || s < 1 || s > m->per_producer) {
            atomic_fetch_add(&m->bad_items, 1);
            continue;
        }
        if (atomic_exchange(&m->seen[id * m->per_producer + s - 1], 1))
            atomic_fetch_add(&m->duplicates, 1);
        if (s <= last[id])
            atomic_fetch_add(&m->out_of_order, 1);
        last[id] = s;
    }
    /* Only a closed queue may end the loop. */
    if (!atomic_load(&m->closing)) {
        atomic_fetch_add(&m->early_end, 1);
        atomic_store(&m->pop_rc, rc);
    }
    return NULL;
}

/* Asks for the length while the others push and pop: bqueue_len reads
 * the count, so it needs the lock as much as push and pop do. */
static void *watcher_main(void *arg)
{
    struct mpmc *m = arg;
    size_t longest = 0;

    grade_barrier_wait(&m->start);
    while (!atomic_load(&m->done)) {
        size_t n = bqueue_len(&m->q);

        if (n > longest)
            longest = n;
        grade_msleep(0);
    }
    return (void *)(uintptr_t)longest;
}

START_TEST(many_producers_many_consumers_lose_nothing)
{
    struct mpmc m = { .per_producer = grade_scaled(20000) };
    struct producer prod[PRODUCERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS], wt;
    long total = PRODUCERS * m.per_producer, missing = 0;
    void *longest;

    init_queue(&m.q, 4);
    m.seen = calloc((size_t)total, sizeof(*m.seen));
    ck_assert_ptr_nonnull(m.seen);
    grade_barrier_init(&m.start, PRODUCERS + CONSUMERS + 1);
    ck_assert_int_eq(pthread_create(&wt, NULL, watcher_main, &m), 0);
    for (int i = 0; i < CONSUMERS; i++)
        ck_assert_int_eq(pthread_create(&ct[i], NULL, consumer_main, &m), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i] = (struct producer){ &m, i };
        ck_assert_int_eq(pthread_create(&pt[i], NULL, producer_main,
                                        &prod[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    atomic_store(&m.closing, 1);
    bqueue_close(&m.q);         /* consumers drain the rest, then leave */
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(ct[i], NULL);
    atomic_store(&m.done, 1);
    pthread_join(wt, &longest);
    grade_barrier_destroy(&m.start);

    for (long i = 0; i < total; i++)
        missing += !atomic_load(&m.seen[i]);
    ck_assert_msg(atomic_load(&m.early_end) == 0,
                  "%d consumer(s) got %s from bqueue_pop while the queue "
                  "was still open: a wait with if instead of while, woken "
                  "after another consumer took the item?",
                  atomic_load(&m.early_end),
                  grade_errname(atomic_load(&m.pop_rc)));
    ck_assert_msg(atomic_load(&m.push_errors) == 0,
                  "bqueue_push failed %d times on an open queue",
                  atomic_load(&m.push_errors));
    ck_assert_msg(VALUE(longest) <= 4,
                  "bqueue_len said %zu items in a queue of 4 slots",
                  (size_t)VALUE(longest));
    ck_assert_msg(atomic_load(&m.bad_items) == 0,
                  "%d popped items were never pushed",
                  atomic_load(&m.bad_items));
    ck_assert_msg(missing == 0, "%ld of %ld items never came out", missing,
                  total);
    ck_assert_msg(atomic_load(&m.duplicates) == 0,
                  "%d items came out twice", atomic_load(&m.duplicates));
    ck_assert_msg(atomic_load(&m.out_of_order) == 0,
                  "%d items overtook an earlier item of the same producer",
                  atomic_load(&m.out_of_order));
    free(m.seen);
    bqueue_release(&m.q);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(pop_returns_items_in_fifo_order, 2, 0, 4),
    GRADE_TEST_TIMEOUT(push_blocks_while_the_queue_is_full, 3, 1, 4),
    GRADE_TEST_TIMEOUT(pop_blocks_while_the_queue_is_empty, 3, 1, 4),
    GRADE_TEST_TIMEOUT(close_wakes_every_blocked_pop, 2, 1, 4),
    GRADE_TEST_TIMEOUT(close_wakes_a_blocked_push, 2, 1, 4),
    GRADE_TEST_TIMEOUT(pop_drains_what_was_pushed_before_close, 2, 0, 4),
    GRADE_TEST_TIMEOUT(many_producers_many_consumers_lose_nothing, 4, 2, 10),
};
GRADE_MAIN(tests)
