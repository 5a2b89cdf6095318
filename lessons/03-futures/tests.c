/*
 * tests.c - graded tests for lesson 3 (future.c: future_set_result,
 * future_result, future_result_timeout, future_add_done_callback).
 *
 * The tutorial's examples come first: square(5) through submit() and
 * result(), result(timeout=1), add_done_callback.  Then what makes a future
 * correct with threads: result() waits (probe thread), every waiter wakes
 * (broadcast), callbacks run once, in order, outside the lock, and a future
 * completes once.
 */
#include "executor.h"
#include "future.h"
#include "grading.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- the tutorial's tasks -------------------------------------------- */

static int square(long x, long *result)
{
    *result = x * x;
    return 0;
}

/* A task that "raises": 1 / 0 in the tutorial's safe_task. */
static int divide_by_zero(long x, long *result)
{
    (void)x;
    *result = 0;
    return EDOM;
}

static int slow_square(long x, long *result)
{
    grade_msleep(50);
    *result = x * x;
    return 0;
}

static struct executor *make_executor(unsigned workers)
{
    struct executor *ex = NULL;
    int rc = executor_create(workers, &ex);

    ck_assert_msg(rc == 0, "executor_create returned %s", grade_errname(rc));
    return ex;
}

static void init_future(struct future *f)
{
    ck_assert_int_eq(future_init(f), 0);
}

/* ---- callbacks --------------------------------------------------------- */

struct seen {
    atomic_int calls;
    atomic_int status;
    atomic_long value;
    atomic_int order[4];            /* which callback ran 1st, 2nd, ... */
    atomic_int next;
    pthread_t thread;               /* the thread of the last call */
    atomic_int thread_set;
};

static void remember(int status, long value, void *arg)
{
    struct seen *s = arg;

    atomic_store(&s->status, status);
    atomic_store(&s->value, value);
    s->thread = pthread_self();
    atomic_store(&s->thread_set, 1);
    atomic_fetch_add(&s->calls, 1);
}

/* For the order test: each callback's arg points at one of these. */
struct tagged {
    struct seen *s;
    int tag;
};

static void note_order(int status, long value, void *arg)
{
    struct tagged *t = arg;
    int k = atomic_fetch_add(&t->s->next, 1);

    (void)status;
    (void)value;
    if (k < 4)
        atomic_store(&t->s->order[k], t->tag);
    atomic_fetch_add(&t->s->calls, 1);
}

/* ---- tests ----------------------------------------------------------- */

START_TEST(result_of_square_5_is_25)
{
    struct executor *ex = make_executor(3);
    struct future f;
    long value = -1;
    int status;

    init_future(&f);
    ck_assert_int_eq(executor_submit(ex, square, 5, &f), 0);
    status = future_result(&f, &value);
    ck_assert_msg(status == 0, "future_result returned status %d", status);
    ck_assert_msg(value == 25, "square(5) came back as %ld", value);
    ck_assert(future_done(&f));
    /* Asking again returns the same, at once. */
    ck_assert_int_eq(future_result(&f, NULL), 0);
    executor_destroy(ex);
    future_release(&f);
}
END_TEST

START_TEST(result_of_many_tasks_are_theirs)
{
    enum { N = 200 };
    struct executor *ex = make_executor(4);
    static struct future f[N];
    long value;

    for (int i = 0; i < N; i++) {
        init_future(&f[i]);
        ck_assert_int_eq(executor_submit(ex, square, i, &f[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(future_result(&f[i], &value), 0);
        ck_assert_msg(value == (long)i * i, "future %d holds %ld", i, value);
        future_release(&f[i]);
    }
    executor_destroy(ex);
}
END_TEST

START_TEST(result_returns_the_task_error)
{
    struct executor *ex = make_executor(1);
    struct future f;

    init_future(&f);
    ck_assert_int_eq(executor_submit(ex, divide_by_zero, 1, &f), 0);
    ck_assert_msg(future_result(&f, NULL) == EDOM,
                  "a task that fails with EDOM must make future_result "
                  "return EDOM (Python raises the task's exception)");
    executor_destroy(ex);
    future_release(&f);
}
END_TEST

/* Runs future_result on a probe thread; returns a malloc'd copy of the
 * value, or NULL if future_result failed. */
static void *wait_for_result(void *arg)
{
    long *value = malloc(sizeof(*value));

    if (value != NULL && future_result(arg, value) != 0) {
        free(value);
        value = NULL;
    }
    return value;
}

START_TEST(result_waits_until_the_result_is_in)
{
    struct future f;
    struct grade_probe probe;
    long *value;

    init_future(&f);
    grade_probe_start(&probe, wait_for_result, &f);
    grade_msleep(150);
    ck_assert_msg(!grade_probe_returned(&probe),
                  "future_result returned before the future had a result");
    ck_assert(!future_done(&f));
    ck_assert_int_eq(future_set_result(&f, 0, 42), 0);
    value = grade_probe_join(&probe);
    ck_assert_msg(value != NULL && *value == 42,
                  "the waiting future_result did not return 0 and 42");
    free(value);
    future_release(&f);
}
END_TEST

/* A wake-up for no reason, which POSIX allows pthread_cond_wait: the test
 * broadcasts the future's condition variable without completing it. */
static void spurious_wakeup(struct future *f)
{
    pthread_mutex_lock(&f->lock);
    pthread_cond_broadcast(&f->done_cond);
    pthread_mutex_unlock(&f->lock);
}

static void *wait_30s_for_result(void *arg)
{
    long *value = malloc(sizeof(*value));

    if (value != NULL && future_result_timeout(arg, 30.0, value) != 0) {
        free(value);
        value = NULL;
    }
    return value;
}

START_TEST(result_sleeps_on_through_spurious_wakeups)
{
    struct future f;
    struct grade_probe plain, timed;
    long *value;

    init_future(&f);
    grade_probe_start(&plain, wait_for_result, &f);
    grade_probe_start(&timed, wait_30s_for_result, &f);
    for (int i = 0; i < 6; i++) {
        grade_msleep(30);
        spurious_wakeup(&f);
    }
    grade_msleep(50);
    ck_assert_msg(!grade_probe_returned(&plain),
                  "future_result returned after a spurious wake-up, before "
                  "the future had a result: wait in a while loop, not an "
                  "if");
    ck_assert_msg(!grade_probe_returned(&timed),
                  "future_result_timeout(30 s) returned after a spurious "
                  "wake-up, before the future had a result");
    ck_assert_int_eq(future_set_result(&f, 0, 42), 0);
    value = grade_probe_join(&plain);
    ck_assert_msg(value != NULL && *value == 42,
                  "the waiting future_result did not return 0 and 42");
    free(value);
    value = grade_probe_join(&timed);
    ck_assert_msg(value != NULL && *value == 42,
                  "the waiting future_result_timeout did not return 0 and "
                  "42");
    free(value);
    future_release(&f);
}
END_TEST

struct timed_wait {
    struct future *f;
    atomic_int rc;
};

static void *wait_300ms(void *arg)
{
    struct timed_wait *w = arg;
    long value;

    atomic_store(&w->rc, future_result_timeout(w->f, 0.3, &value));
    return NULL;
}

START_TEST(result_timeout_keeps_its_deadline_through_wakeups)
{
    struct future f;
    struct grade_probe probe;
    struct timed_wait w = { .f = &f, .rc = -1 };
    double give_up;

    init_future(&f);
    /* Every wait wakes up for no reason about every millisecond: a
     * deadline counted from each wake-up is never reached; one counted
     * from the call is, after 0.3 s.  5 s is far more than a correct wait
     * needs even on a loaded machine. */
    grade_spurious_wakeups(1);
    grade_probe_start(&probe, wait_300ms, &w);
    give_up = grade_now() + 5.0;
    while (!grade_probe_returned(&probe) && grade_now() < give_up)
        grade_msleep(20);
    grade_spurious_wakeups(0);
    ck_assert_msg(grade_probe_returned(&probe),
                  "future_result_timeout(0.3 s) had not returned after "
                  "5 s of wake-ups: is the deadline computed again after "
                  "every wake-up?  Compute it once, before the loop");
    grade_probe_join(&probe);
    ck_assert_msg(atomic_load(&w.rc) == ETIMEDOUT,
                  "future_result_timeout(0.3 s) on a pending future "
                  "returned %s, not ETIMEDOUT",
                  grade_errname(atomic_load(&w.rc)));
    ck_assert_int_eq(future_set_result(&f, 0, 1), 0);
    future_release(&f);
}
END_TEST

/* Many threads at once on one future: some add callbacks, one completes
 * it, one asks future_done; every callback must run exactly once. */
enum { RACE_ADDERS = 3, RACE_CALLBACKS = 20 };
struct race {
    struct future f;
    struct grade_barrier start;
    atomic_int runs;
    atomic_int add_errors;
};

static void count_run(int status, long value, void *arg)
{
    (void)status;
    (void)value;
    atomic_fetch_add(&((struct race *)arg)->runs, 1);
}

static void *race_adder(void *arg)
{
    struct race *r = arg;

    grade_barrier_wait(&r->start);
    for (int i = 0; i < RACE_CALLBACKS; i++)
        if (future_add_done_callback(&r->f, count_run, r) != 0)
            atomic_fetch_add(&r->add_errors, 1);
    return NULL;
}

static void *race_completer(void *arg)
{
    struct race *r = arg;

    grade_barrier_wait(&r->start);
    future_set_result(&r->f, 0, 5);
    return NULL;
}

/* Asks a bounded number of times: a spinning thread would starve the
 * others on a busy machine. */
static void *race_asker(void *arg)
{
    struct race *r = arg;

    grade_barrier_wait(&r->start);
    for (int i = 0; i < 50 && !future_done(&r->f); i++)
        ;
    return NULL;
}

START_TEST(callbacks_added_while_completing_run_once)
{
    long rounds = grade_scaled(120);

    for (long k = 0; k < rounds; k++) {
        struct race r = { .runs = 0, .add_errors = 0 };
        pthread_t th[RACE_ADDERS + 2];

        init_future(&r.f);
        grade_barrier_init(&r.start, RACE_ADDERS + 2);
        for (int i = 0; i < RACE_ADDERS; i++)
            ck_assert_int_eq(pthread_create(&th[i], NULL, race_adder, &r),
                             0);
        ck_assert_int_eq(pthread_create(&th[RACE_ADDERS], NULL,
                                        race_completer, &r), 0);
        ck_assert_int_eq(pthread_create(&th[RACE_ADDERS + 1], NULL,
                                        race_asker, &r), 0);
        for (int i = 0; i < RACE_ADDERS + 2; i++)
            pthread_join(th[i], NULL);
        ck_assert_int_eq(atomic_load(&r.add_errors), 0);
        ck_assert_msg(atomic_load(&r.runs) == RACE_ADDERS * RACE_CALLBACKS,
                      "round %ld: %d of %d callbacks ran, added while "
                      "another thread completed the future: is f->done "
                      "read without the lock?", k, atomic_load(&r.runs),
                      RACE_ADDERS * RACE_CALLBACKS);
        grade_barrier_destroy(&r.start);
        future_release(&r.f);
    }
}
END_TEST

START_TEST(every_waiter_wakes_up)
{
    enum { WAITERS = 6 };
    struct future f;
    struct grade_probe probes[WAITERS];

    init_future(&f);
    for (int i = 0; i < WAITERS; i++)
        grade_probe_start(&probes[i], wait_for_result, &f);
    grade_msleep(150);
    ck_assert_int_eq(future_set_result(&f, 0, 7), 0);
    for (int i = 0; i < WAITERS; i++) { /* one asleep = a timeout */
        long *value = grade_probe_join(&probes[i]);

        ck_assert_msg(value != NULL && *value == 7,
                      "a waiting future_result did not return 0 and 7");
        free(value);
    }
    future_release(&f);
}
END_TEST

START_TEST(result_timeout_expires_on_a_pending_future)
{
    struct future f;
    double start;
    long value = -1;
    int rc;

    init_future(&f);
    start = grade_now();
    rc = future_result_timeout(&f, 0.2, &value);
    ck_assert_msg(rc == ETIMEDOUT,
                  "future_result_timeout on a pending future returned %s, "
                  "not ETIMEDOUT", grade_errname(rc));
    ck_assert_msg(grade_now() - start >= 0.19,
                  "future_result_timeout(0.2) gave up after %.3f s",
                  grade_now() - start);
    ck_assert_int_eq(future_result_timeout(&f, 0, &value), ETIMEDOUT);
    ck_assert_msg(future_result_timeout(&f, -1.0, &value) == EINVAL,
                  "a negative timeout must return EINVAL");
    ck_assert_int_eq(future_result_timeout(&f, NAN, &value), EINVAL);
    ck_assert_int_eq(future_set_result(&f, 0, 1), 0);
    future_release(&f);
}
END_TEST

START_TEST(result_timeout_returns_the_result_in_time)
{
    struct executor *ex = make_executor(2);
    struct future f;
    long value = -1;
    int rc;

    init_future(&f);
    ck_assert_int_eq(executor_submit(ex, slow_square, 5, &f), 0);
    rc = future_result_timeout(&f, 30.0, &value);
    ck_assert_msg(rc == 0, "future_result_timeout(30 s) on a 50 ms task "
                  "returned %s", grade_errname(rc));
    ck_assert_int_eq(value, 25);
    /* Once done, even a zero timeout returns the result. */
    value = -1;
    ck_assert_int_eq(future_result_timeout(&f, 0, &value), 0);
    ck_assert_int_eq(value, 25);
    executor_destroy(ex);
    future_release(&f);
}
END_TEST

START_TEST(callback_runs_once_with_the_result)
{
    struct executor *ex = make_executor(2);
    struct future f;
    struct seen s = { .calls = 0 };

    init_future(&f);
    /* Added before the task can finish: slow_square takes 50 ms. */
    ck_assert_int_eq(executor_submit(ex, slow_square, 4, &f), 0);
    ck_assert_int_eq(future_add_done_callback(&f, remember, &s), 0);
    ck_assert_int_eq(future_result(&f, NULL), 0);
    ck_assert_msg(atomic_load(&s.calls) == 1,
                  "the callback ran %d times by the time future_result "
                  "returned, not once", atomic_load(&s.calls));
    ck_assert_int_eq(atomic_load(&s.status), 0);
    ck_assert_int_eq(atomic_load(&s.value), 16);
    executor_destroy(ex);
    ck_assert_int_eq(atomic_load(&s.calls), 1);
    future_release(&f);
}
END_TEST

START_TEST(callback_added_when_done_runs_at_once_here)
{
    struct future f;
    struct seen s = { .calls = 0 };

    init_future(&f);
    ck_assert_int_eq(future_set_result(&f, EDOM, 3), 0);
    ck_assert_int_eq(future_add_done_callback(&f, remember, &s), 0);
    ck_assert_msg(atomic_load(&s.calls) == 1,
                  "a callback added to a done future must run before "
                  "future_add_done_callback returns");
    ck_assert_msg(pthread_equal(s.thread, pthread_self()),
                  "... and in the thread that added it");
    ck_assert_int_eq(atomic_load(&s.status), EDOM);
    ck_assert_int_eq(atomic_load(&s.value), 3);
    ck_assert_int_eq(future_add_done_callback(&f, NULL, NULL), EINVAL);
    future_release(&f);
}
END_TEST

START_TEST(callbacks_run_in_the_order_added)
{
    struct future f;
    struct seen s = { .calls = 0 };
    struct tagged t[3] = { { &s, 1 }, { &s, 2 }, { &s, 3 } };

    init_future(&f);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(future_add_done_callback(&f, note_order, &t[i]),
                         0);
    ck_assert_int_eq(atomic_load(&s.calls), 0);
    ck_assert_int_eq(future_set_result(&f, 0, 0), 0);
    ck_assert_int_eq(atomic_load(&s.calls), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(atomic_load(&s.order[i]) == i + 1,
                      "callback %d ran in position %d",
                      atomic_load(&s.order[i]), i + 1);
    future_release(&f);
}
END_TEST

/* A callback that adds another callback to its own future: it deadlocks
 * if callbacks run under the future's lock, and the second one is lost if
 * the completing thread does not look for new ones. */
struct chained {
    struct future *f;
    struct seen second;
    atomic_int add_rc;
    atomic_int first_calls;
};

static void add_another(int status, long value, void *arg)
{
    struct chained *c = arg;

    (void)status;
    (void)value;
    atomic_fetch_add(&c->first_calls, 1);
    atomic_store(&c->add_rc, future_add_done_callback(c->f, remember,
                                                      &c->second));
}

START_TEST(a_callback_may_add_another_callback)
{
    struct executor *ex = make_executor(2);
    struct future f;
    struct chained c = { .f = &f, .add_rc = -1 };

    init_future(&f);
    ck_assert_int_eq(future_add_done_callback(&f, add_another, &c), 0);
    ck_assert_int_eq(executor_submit(ex, square, 6, &f), 0);
    ck_assert_int_eq(future_result(&f, NULL), 0);
    ck_assert_int_eq(atomic_load(&c.first_calls), 1);
    ck_assert_int_eq(atomic_load(&c.add_rc), 0);
    ck_assert_msg(atomic_load(&c.second.calls) == 1,
                  "a callback added by a callback ran %d times before "
                  "future_result returned", atomic_load(&c.second.calls));
    ck_assert_int_eq(atomic_load(&c.second.value), 36);
    executor_destroy(ex);
    future_release(&f);
}
END_TEST

START_TEST(a_future_completes_only_once)
{
    struct future f;
    long value = -1;

    init_future(&f);
    ck_assert_int_eq(future_set_result(&f, 0, 1), 0);
    ck_assert_msg(future_set_result(&f, EDOM, 2) == EALREADY,
                  "completing a done future must return EALREADY");
    ck_assert_int_eq(future_result(&f, &value), 0);
    ck_assert_msg(value == 1, "the second completion changed the value");
    future_release(&f);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(result_of_square_5_is_25, 3, 1, 4),
    GRADE_TEST_TIMEOUT(result_of_many_tasks_are_theirs, 2, 1, 4),
    GRADE_TEST_TIMEOUT(result_returns_the_task_error, 2, 0, 4),
    GRADE_TEST_TIMEOUT(result_waits_until_the_result_is_in, 2, 1, 4),
    GRADE_TEST_TIMEOUT(every_waiter_wakes_up, 2, 1, 4),
    GRADE_TEST_TIMEOUT(result_sleeps_on_through_spurious_wakeups, 2, 1, 4),
    GRADE_TEST_TIMEOUT(result_timeout_keeps_its_deadline_through_wakeups,
                       2, 0, 10),
    GRADE_TEST_TIMEOUT(callbacks_added_while_completing_run_once, 3, 2, 20),
    GRADE_TEST_TIMEOUT(result_timeout_expires_on_a_pending_future, 2, 0, 4),
    GRADE_TEST_TIMEOUT(result_timeout_returns_the_result_in_time, 2, 1, 4),
    GRADE_TEST_TIMEOUT(callback_runs_once_with_the_result, 2, 1, 4),
    GRADE_TEST_TIMEOUT(callback_added_when_done_runs_at_once_here, 2, 0, 4),
    GRADE_TEST_TIMEOUT(callbacks_run_in_the_order_added, 1, 0, 4),
    GRADE_TEST_TIMEOUT(a_callback_may_add_another_callback, 2, 1, 4),
    GRADE_TEST_TIMEOUT(a_future_completes_only_once, 1, 0, 4),
};
GRADE_MAIN(tests)
