/*
 * tests.c - graded tests for lesson 8 (gil.c).
 *
 * The GIL's promises, checked without a clock: one holder at a time (a
 * counter of holders that must never exceed 1, and an unprotected counter
 * that must come out exact, which ThreadSanitizer also checks); a yield
 * with a waiter really hands the GIL over (the waiter has run before the
 * yielder gets it back); two yielding threads take turns; a thread that
 * sleeps lets the others run.
 */
#include "gil.h"
#include "grading.h"

#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

/* Waits (with a deadline) until n threads wait for the GIL. */
static void await_waiters(struct gil *g, unsigned long n)
{
    double end = grade_now() + 5;

    while (gil_waiters(g) != n && grade_now() < end)
        grade_msleep(1);
    ck_assert_msg(gil_waiters(g) == n, "gil_waiters() is %lu, expected %lu "
                  "(a thread blocked in gil_acquire() counts)",
                  gil_waiters(g), n);
}

struct shared {
    struct gil *g;
    atomic_int holders;         /* threads inside the GIL right now */
    atomic_int overlaps;        /* times a second holder was seen */
    long counter;               /* protected by the GIL only */
    long rounds;
};

static void *hold_and_count(void *arg)
{
    struct shared *s = arg;

    for (long i = 0; i < s->rounds; i++) {
        gil_acquire(s->g);
        if (atomic_fetch_add(&s->holders, 1) != 0)
            atomic_fetch_add(&s->overlaps, 1);
        s->counter++;
        if (i % 64 == 0)
            sched_yield();      /* linger: let a broken GIL show it */
        atomic_fetch_sub(&s->holders, 1);
        gil_release(s->g);
    }
    return NULL;
}

START_TEST(gil_allows_one_holder_at_a_time)
{
    struct shared s = { .rounds = grade_scaled(20000) };
    pthread_t t[4];

    ck_assert_int_eq(gil_create(&s.g), 0);
    /* All four start by waiting for the GIL, which we hold. */
    gil_acquire(s.g);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hold_and_count, &s), 0);
    await_waiters(s.g, 4);
    gil_release(s.g);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(atomic_load(&s.overlaps) == 0, "%d times two threads "
                  "held the GIL at once", atomic_load(&s.overlaps));
    ck_assert_int_eq(s.counter, 4 * s.rounds);
    gil_destroy(s.g);
}
END_TEST

struct range {
    struct gil *g;
    long lo, hi, count;
};

static void *count_range(void *arg)
{
    struct range *r = arg;

    r->count = gil_count_primes(r->g, r->lo, r->hi, 100);
    return NULL;
}

START_TEST(four_threads_count_primes_correctly_under_the_gil)
{
    /* pi(200000) = 17984; a quarter of that range when running slowly:
     * pi(50000) = 5133. */
    long n = grade_slow() ? 50000 : 200000;
    long expect = grade_slow() ? 5133 : 17984, total = 0;
    struct range r[4];
    pthread_t t[4];
    struct gil *g;

    ck_assert_int_eq(gil_create(&g), 0);
    /* Hold the GIL until all four wait for it, so that they really
     * compete: the first one's first yield must hand over. */
    gil_acquire(g);
    for (int i = 0; i < 4; i++) {
        r[i] = (struct range){ g, n * i / 4, n * (i + 1) / 4, 0 };
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_range, &r[i]), 0);
    }
    await_waiters(g, 4);
    gil_release(g);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        total += r[i].count;
    }
    ck_assert_int_eq(total, expect);
    ck_assert_msg(gil_switches(g) > 0, "four threads competed for the GIL "
                  "and it never changed hands");
    ck_assert_msg(gil_waiters(g) == 0, "gil_waiters() is %lu with no "
                  "thread left", gil_waiters(g));
    gil_destroy(g);
}
END_TEST

START_TEST(yield_without_waiters_keeps_the_gil)
{
    struct gil *g;

    ck_assert_int_eq(gil_create(&g), 0);
    gil_acquire(g);
    for (int i = 0; i < 1000; i++)
        ck_assert_msg(gil_yield(g) == 0, "gil_yield() said it handed the "
                      "GIL over, but nobody was waiting");
    ck_assert_int_eq(gil_switches(g), 0);
    gil_release(g);
    gil_acquire(g);         /* released properly: we can take it again */
    gil_release(g);
    gil_destroy(g);
}
END_TEST

struct waiter {
    struct gil *g;
    atomic_int ran;
};

static void *wait_then_mark(void *arg)
{
    struct waiter *w = arg;

    gil_acquire(w->g);
    atomic_store(&w->ran, 1);
    gil_release(w->g);
    return NULL;
}

START_TEST(yield_hands_the_gil_to_a_waiting_thread)
{
    struct waiter w = { .ran = 0 };
    pthread_t t;
    int switched;

    ck_assert_int_eq(gil_create(&w.g), 0);
    gil_acquire(w.g);
    ck_assert_int_eq(pthread_create(&t, NULL, wait_then_mark, &w), 0);
    await_waiters(w.g, 1);
    ck_assert_int_eq(atomic_load(&w.ran), 0);
    switched = gil_yield(w.g);
    ck_assert_msg(switched == 1, "gil_yield() returned %d with a thread "
                  "waiting", switched);
    ck_assert_msg(atomic_load(&w.ran) == 1, "gil_yield() took the GIL back "
                  "before the waiting thread had it: no forced switch");
    ck_assert_int_eq(gil_switches(w.g), 1);
    gil_release(w.g);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    gil_destroy(w.g);
}
END_TEST

enum { TURNS = 200 };

struct turns {
    struct gil *g;
    int log[2 * TURNS];         /* who held the GIL, in order (GIL) */
    int len;                    /* (GIL) */
};

struct player {
    struct turns *t;
    int id;
};

static void *take_turns(void *arg)
{
    struct player *p = arg;
    struct turns *t = p->t;

    gil_acquire(t->g);
    for (int i = 0; i < TURNS; i++) {
        t->log[t->len++] = p->id;
        gil_yield(t->g);
    }
    gil_release(t->g);
    return NULL;
}

START_TEST(two_cpu_bound_threads_take_turns)
{
    static struct turns t;
    struct player p[2] = { { &t, 0 }, { &t, 1 } };
    pthread_t th[2];
    int done[2] = { 0, 0 };

    memset(&t, 0, sizeof t);
    ck_assert_int_eq(gil_create(&t.g), 0);
    /* Both threads start by waiting for the GIL, which we hold, so that
     * neither can run ahead alone. */
    gil_acquire(t.g);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, take_turns, &p[i]), 0);
    await_waiters(t.g, 2);
    gil_release(t.g);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(t.len, 2 * TURNS);

    /* While both still have turns left, every yield must hand over. */
    done[t.log[0]]++;
    for (int i = 1; i < t.len && done[0] < TURNS && done[1] < TURNS; i++) {
        ck_assert_msg(t.log[i] != t.log[i - 1], "turn %d: thread %d held "
                      "the GIL twice in a row while the other waited", i,
                      t.log[i]);
        done[t.log[i]]++;
    }
    ck_assert_int_eq(gil_waiters(t.g), 0);
    gil_destroy(t.g);
}
END_TEST

struct sleeper {
    struct gil *g;
    sem_t ready;            /* posted by the other thread, under the GIL */
};

static void *post_under_gil(void *arg)
{
    struct sleeper *s = arg;

    gil_acquire(s->g);
    sem_post(&s->ready);
    gil_release(s->g);
    return NULL;
}

START_TEST(a_blocked_thread_lets_others_take_the_gil)
{
    struct sleeper s;
    pthread_t t;

    ck_assert_int_eq(gil_create(&s.g), 0);
    ck_assert_int_eq(sem_init(&s.ready, 0, 0), 0);
    gil_acquire(s.g);
    ck_assert_int_eq(pthread_create(&t, NULL, post_under_gil, &s), 0);
    await_waiters(s.g, 1);      /* it cannot run while we hold the GIL */
    /* Like gil_sleep_ms(): drop the GIL around a blocking wait, which
     * here can only end if the other thread gets the GIL. */
    gil_release(s.g);
    ck_assert_int_eq(sem_wait(&s.ready), 0);
    gil_acquire(s.g);
    gil_sleep_ms(s.g, 1);
    gil_release(s.g);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    sem_destroy(&s.ready);
    gil_destroy(s.g);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST(gil_allows_one_holder_at_a_time, 3, 3),
    GRADE_TEST(four_threads_count_primes_correctly_under_the_gil, 2, 2),
    GRADE_TEST(yield_without_waiters_keeps_the_gil, 1, 0),
    GRADE_TEST(yield_hands_the_gil_to_a_waiting_thread, 3, 2),
    GRADE_TEST(two_cpu_bound_threads_take_turns, 3, 2),
    GRADE_TEST_TIMEOUT(a_blocked_thread_lets_others_take_the_gil, 1, 1, 5),
};
GRADE_MAIN(tests)
