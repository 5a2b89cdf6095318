/*
 * tests.c - graded tests for lesson 1 (the worker loop in minipool.c).
 *
 * Every test needs the worker loop to run tasks, so the starter (whose
 * workers leave at once) passes none of them.  What each one pins down:
 * tasks run once each; on the pool's own threads, reused; side by side (the
 * task runs without the lock); a task may submit another; destroy runs what
 * is still queued and wakes idle workers; idle workers sleep instead of
 * spinning.
 */
#include "minipool.h"
#include "grading.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tasks ----------------------------------------------------------- */

static void count_task(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

/* Counts the distinct threads that run tasks.  A thread-local flag starts
 * at 0 in every new thread, so a new thread is counted even if the system
 * reuses an old pthread_t value for it. */
static _Thread_local int this_thread_seen;
static atomic_int threads_seen;

static void note_thread_task(void *arg)
{
    (void)arg;
    if (!this_thread_seen) {
        this_thread_seen = 1;
        atomic_fetch_add(&threads_seen, 1);
    }
    grade_msleep(1);    /* gives every worker a chance to take a task */
}

/* For tasks_run_side_by_side: each task waits (up to a deadline) until all
 * N tasks have started.  They can only all start if the workers run tasks
 * at the same time, i.e. without holding the pool's lock. */
#define SIDE_BY_SIDE 3
static atomic_int arrived;
static atomic_int met;
static int meet_need = SIDE_BY_SIDE;    /* set before the tasks start */

static void meet_task(void *arg)
{
    double deadline = grade_now() + 3.0;    /* seconds; generous */

    (void)arg;
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < meet_need && grade_now() < deadline)
        grade_msleep(1);
    if (atomic_load(&arrived) >= meet_need)
        atomic_fetch_add(&met, 1);
}

/* For workers_stay_until_destroy: threads that submit bursts of tasks at
 * the same time, so that workers often wake to find that another worker
 * took the task already. */
struct burst {
    struct minipool *pool;
    struct grade_barrier *start;
    atomic_int *done;
    atomic_int submit_errors;
};

static void *submit_bursts(void *arg)
{
    struct burst *b = arg;
    long rounds = grade_scaled(400);

    grade_barrier_wait(b->start);
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 4; i++)
            if (minipool_submit(b->pool, count_task, b->done) != 0)
                atomic_fetch_add(&b->submit_errors, 1);
        if (r % 8 == 0)
            grade_msleep(0);
    }
    return NULL;
}

/* A task that submits a follow-up task to its own pool. */
struct chain {
    struct minipool *pool;
    atomic_int parents, children;
    atomic_int submit_rc;
};

static void child_task(void *arg)
{
    struct chain *c = arg;

    atomic_fetch_add(&c->children, 1);
}

static void parent_task(void *arg)
{
    struct chain *c = arg;
    int rc;

    atomic_fetch_add(&c->parents, 1);
    rc = minipool_submit(c->pool, child_task, c);
    if (rc != 0)
        atomic_store(&c->submit_rc, rc);
}

static void slow_task(void *arg)
{
    grade_msleep(50);
    atomic_fetch_add((atomic_int *)arg, 1);
}

static struct minipool *make_pool(unsigned workers)
{
    struct minipool *pool = NULL;
    int rc = minipool_create(workers, &pool);

    ck_assert_msg(rc == 0, "minipool_create(%u) returned %s", workers,
                  grade_errname(rc));
    return pool;
}

/* ---- tests ----------------------------------------------------------- */

/* Submits tasks N/THREADS..., from one of 4 threads started together. */
enum { ONCE_TASKS = 4000, ONCE_THREADS = 4 };
struct once_part {
    struct minipool *pool;
    struct grade_barrier *start;
    atomic_int *runs;
    int first;
};

static void *submit_part(void *arg)
{
    struct once_part *p = arg;

    grade_barrier_wait(p->start);
    for (int i = p->first; i < ONCE_TASKS; i += ONCE_THREADS)
        ck_assert_int_eq(minipool_submit(p->pool, count_task, &p->runs[i]),
                         0);
    return NULL;
}

START_TEST(every_task_runs_exactly_once)
{
    enum { N = ONCE_TASKS };
    static atomic_int runs[N];
    struct minipool *pool = make_pool(4);
    struct grade_barrier start;
    struct once_part parts[ONCE_THREADS];
    pthread_t th[ONCE_THREADS];

    /* Four threads submit at once while four workers run: the queue and
     * `pending` are touched from eight threads together. */
    grade_barrier_init(&start, ONCE_THREADS);
    for (int i = 0; i < ONCE_THREADS; i++) {
        parts[i] = (struct once_part){ pool, &start, runs, i };
        ck_assert_int_eq(pthread_create(&th[i], NULL, submit_part,
                                        &parts[i]), 0);
    }
    for (int i = 0; i < ONCE_THREADS; i++)
        pthread_join(th[i], NULL);
    grade_barrier_destroy(&start);
    minipool_wait(pool);
    for (int i = 0; i < N; i++)
        ck_assert_msg(atomic_load(&runs[i]) == 1,
                      "task %d ran %d times, not once", i,
                      atomic_load(&runs[i]));
    minipool_destroy(pool);
}
END_TEST

START_TEST(wait_returns_only_after_the_last_task)
{
    atomic_int done = 0;
    struct minipool *pool = make_pool(2);

    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(minipool_submit(pool, slow_task, &done), 0);
    minipool_wait(pool);
    ck_assert_msg(atomic_load(&done) == 6,
                  "minipool_wait returned with %d of 6 tasks finished",
                  atomic_load(&done));
    /* Waiting again on an idle pool returns at once. */
    minipool_wait(pool);
    minipool_destroy(pool);
}
END_TEST

START_TEST(workers_are_reused_for_many_tasks)
{
    enum { WORKERS = 3, TASKS = 60 };
    struct minipool *pool = make_pool(WORKERS);

    atomic_store(&threads_seen, 0);
    for (int i = 0; i < TASKS; i++)
        ck_assert_int_eq(minipool_submit(pool, note_thread_task, NULL), 0);
    minipool_wait(pool);
    ck_assert_msg(atomic_load(&threads_seen) >= 1,
                  "no task ran on any thread");
    ck_assert_msg(atomic_load(&threads_seen) <= WORKERS,
                  "%d tasks ran on %d different threads; a pool of %d "
                  "workers must reuse its threads", TASKS,
                  atomic_load(&threads_seen), WORKERS);
    minipool_destroy(pool);
}
END_TEST

START_TEST(tasks_run_side_by_side)
{
    struct minipool *pool = make_pool(SIDE_BY_SIDE);

    atomic_store(&arrived, 0);
    atomic_store(&met, 0);
    for (int i = 0; i < SIDE_BY_SIDE; i++)
        ck_assert_int_eq(minipool_submit(pool, meet_task, NULL), 0);
    minipool_wait(pool);
    ck_assert_msg(atomic_load(&met) == SIDE_BY_SIDE,
                  "%d workers never ran %d tasks at the same time: is the "
                  "task run while the pool's lock is held?", SIDE_BY_SIDE,
                  SIDE_BY_SIDE);
    minipool_destroy(pool);
}
END_TEST

START_TEST(workers_stay_until_destroy)
{
    enum { WORKERS = 4, SUBMITTERS = 3 };
    atomic_int done = 0;
    struct minipool *pool = make_pool(WORKERS);
    struct grade_barrier start;
    struct burst b[SUBMITTERS];
    pthread_t th[SUBMITTERS];

    grade_barrier_init(&start, SUBMITTERS);
    for (int i = 0; i < SUBMITTERS; i++) {
        b[i] = (struct burst){ .pool = pool, .start = &start, .done = &done,
                               .submit_errors = 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, submit_bursts, &b[i]),
                         0);
    }
    for (int i = 0; i < SUBMITTERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(atomic_load(&b[i].submit_errors), 0);
    }
    grade_barrier_destroy(&start);
    minipool_wait(pool);

    /* Every worker must still be there: WORKERS tasks that wait for each
     * other can only all finish if WORKERS workers run them. */
    meet_need = WORKERS;
    atomic_store(&arrived, 0);
    atomic_store(&met, 0);
    for (int i = 0; i < WORKERS; i++)
        ck_assert_int_eq(minipool_submit(pool, meet_task, NULL), 0);
    minipool_wait(pool);
    ck_assert_msg(atomic_load(&met) == WORKERS,
                  "after many bursts of tasks, fewer than %d workers were "
                  "left to run %d tasks at once: a worker left the loop "
                  "while the pool was open (a wait with if instead of "
                  "while, woken after another worker took the task?)",
                  WORKERS, WORKERS);
    minipool_destroy(pool);
}
END_TEST

START_TEST(a_task_may_submit_another_task)
{
    struct chain c = { .parents = 0, .children = 0, .submit_rc = 0 };

    c.pool = make_pool(2);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(minipool_submit(c.pool, parent_task, &c), 0);
    minipool_wait(c.pool);
    ck_assert_int_eq(atomic_load(&c.submit_rc), 0);
    ck_assert_int_eq(atomic_load(&c.parents), 10);
    ck_assert_msg(atomic_load(&c.children) == 10,
                  "minipool_wait returned before the tasks' own tasks ran "
                  "(%d of 10)", atomic_load(&c.children));
    minipool_destroy(c.pool);
}
END_TEST

START_TEST(destroy_runs_the_tasks_still_queued)
{
    atomic_int done = 0;
    struct minipool *pool = make_pool(1);

    /* One worker, 8 tasks of 50 ms: most are still queued at destroy. */
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(minipool_submit(pool, slow_task, &done), 0);
    minipool_destroy(pool);
    ck_assert_msg(atomic_load(&done) == 8,
                  "minipool_destroy returned after %d of 8 tasks: a worker "
                  "must empty the queue before it leaves",
                  atomic_load(&done));
}
END_TEST

START_TEST(destroy_wakes_idle_workers)
{
    atomic_int done = 0;
    struct minipool *pool = make_pool(4);

    ck_assert_int_eq(minipool_submit(pool, count_task, &done), 0);
    minipool_wait(pool);
    ck_assert_int_eq(atomic_load(&done), 1);
    grade_msleep(50);   /* let every worker go to sleep on has_work */
    minipool_destroy(pool);     /* hangs (and times out) if one stays asleep */
}
END_TEST

START_TEST(idle_workers_sleep_instead_of_spinning)
{
    atomic_int done = 0;
    struct minipool *pool = make_pool(2);
    struct timespec a, b;
    double cpu;

    ck_assert_int_eq(minipool_submit(pool, count_task, &done), 0);
    minipool_wait(pool);
    ck_assert_int_eq(atomic_load(&done), 1);

    /* 300 ms of idleness: sleeping workers use next to no CPU, spinning
     * ones (a loop that locks, looks, unlocks) up to 600 ms of it. */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    grade_msleep(300);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    cpu = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_msg(cpu < 0.1,
                  "the idle pool used %.0f ms of CPU in 300 ms: idle "
                  "workers must wait on the condition variable", cpu * 1e3);
    minipool_destroy(pool);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(every_task_runs_exactly_once, 3, 1, 4),
    GRADE_TEST_TIMEOUT(wait_returns_only_after_the_last_task, 2, 1, 4),
    GRADE_TEST_TIMEOUT(workers_are_reused_for_many_tasks, 2, 1, 4),
    GRADE_TEST_TIMEOUT(tasks_run_side_by_side, 3, 1, 4),
    GRADE_TEST_TIMEOUT(workers_stay_until_destroy, 3, 1, 8),
    GRADE_TEST_TIMEOUT(a_task_may_submit_another_task, 2, 1, 4),
    GRADE_TEST_TIMEOUT(destroy_runs_the_tasks_still_queued, 2, 1, 4),
    GRADE_TEST_TIMEOUT(destroy_wakes_idle_workers, 2, 1, 4),
    GRADE_TEST_TIMEOUT(idle_workers_sleep_instead_of_spinning, 2, 0, 4),
};
GRADE_MAIN(tests)
