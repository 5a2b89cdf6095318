/*
 * tests.c - graded tests for lesson 9 (pitfalls.c).
 *
 * A: after a bad input, other threads must still get the lock (a deadlock
 *    shows up as the test's timeout).  B: a reporter child forked while
 *    another thread holds the logger's lock must still report; a child
 *    that hangs is killed after a deadline and the test fails.  C: the
 *    worker must change every K tasks, its leak must stay below K tasks'
 *    worth, and no retired worker may be left as a zombie.
 */
#include "pitfalls.h"
#include "grading.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- A ---------------------------------------------------------------- */

START_TEST(a_bad_input_does_not_keep_the_lock)
{
    struct store s;

    ck_assert_int_eq(store_init(&s), 0);
    ck_assert_int_eq(problematic_task(&s, "not a number"), EINVAL);
    /* With the lock still held, this call never returns (test timeout). */
    ck_assert_int_eq(problematic_task(&s, "5"), 0);
    ck_assert_int_eq(s.total, 5);
    ck_assert_int_eq(s.errors, 1);
    store_release(&s);
}
END_TEST

START_TEST(every_kind_of_bad_input_is_einval)
{
    struct store s;

    ck_assert_int_eq(store_init(&s), 0);
    ck_assert_int_eq(problematic_task(&s, NULL), EINVAL);
    ck_assert_int_eq(problematic_task(&s, ""), EINVAL);
    ck_assert_int_eq(problematic_task(&s, "12abc"), EINVAL);
    ck_assert_int_eq(problematic_task(&s, "99999999999999999999999"),
                     EINVAL);
    ck_assert_int_eq(problematic_task(&s, "-7"), 0);
    ck_assert_int_eq(s.total, -7);
    ck_assert_int_eq(s.errors, 4);
    store_release(&s);
}
END_TEST

/* The four threads start together, so that their calls overlap. */
static struct grade_barrier mixed_start;

static void *mixed_inputs(void *arg)
{
    struct store *s = arg;
    static const char *const inputs[] = { "1", "oops", "2", "", "3" };

    grade_barrier_wait(&mixed_start);
    for (long i = 0; i < grade_scaled(2000); i++)
        problematic_task(s, inputs[i % 5]);
    return NULL;
}

START_TEST(four_threads_with_bad_inputs_finish_and_add_up)
{
    struct store s;
    pthread_t t[4];
    long per = grade_scaled(2000);

    ck_assert_int_eq(store_init(&s), 0);
    grade_barrier_init(&mixed_start, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, mixed_inputs, &s), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    grade_barrier_destroy(&mixed_start);
    /* Each thread: per / 5 rounds of 1 + 2 + 3, and 2 errors a round. */
    ck_assert_int_eq(s.total, 4 * (per / 5) * 6);
    ck_assert_int_eq(s.errors, 4 * (per / 5) * 2);
    store_release(&s);
}
END_TEST

/* ---- B ---------------------------------------------------------------- */

static int deadline_s(void)
{
    return grade_slow() ? 10 : 3;
}

struct holder {
    struct logger *lg;
    int report_fd;          /* read end of the reporter's pipe */
    sem_t locked;
};

/*
 * Holds the logger's lock, as a thread in the middle of a log line would,
 * until the reporter's line has arrived (without reading it) or the
 * deadline has passed.  So the fork happens while the lock is held.
 */
static void *hold_logger_lock(void *arg)
{
    struct holder *h = arg;
    struct pollfd p = { .fd = h->report_fd, .events = POLLIN };

    pthread_mutex_lock(&h->lg->lock);
    sem_post(&h->locked);
    poll(&p, 1, deadline_s() * 1000);
    pthread_mutex_unlock(&h->lg->lock);
    return NULL;
}

/* Reads what the child wrote, waiting at most `seconds`. */
static void read_report(int fd, char *buf, size_t len, int seconds)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    size_t got = 0;

    while (got < len - 1 && poll(&p, 1, seconds * 1000) == 1) {
        ssize_t k = read(fd, buf + got, len - 1 - got);

        if (k <= 0)
            break;
        got += (size_t)k;
        if (buf[got - 1] == '\n')
            break;
    }
    buf[got] = '\0';
}

/* Reaps pid, killing it first if it has not exited within `seconds`.
 * Returns 1 if it exited by itself with status 0. */
static int reap_or_kill(pid_t pid, int seconds)
{
    double end = grade_now() + seconds;
    int status;

    while (grade_now() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        grade_msleep(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 0;
}

static void report_while_locked(long value, const char *expect)
{
    struct logger lg;
    struct holder h;
    pthread_t t;
    int logfd[2], out[2], ok;
    char buf[128];
    pid_t pid;

    ck_assert_int_eq(pipe(logfd), 0);
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(fcntl(logfd[0], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(logger_init(&lg, logfd[1]), 0);
    h.lg = &lg;
    h.report_fd = out[0];
    ck_assert_int_eq(sem_init(&h.locked, 0, 0), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, hold_logger_lock, &h), 0);
    sem_wait(&h.locked);

    /* Another thread holds the logger's lock now.  spawn_reporter() may
     * log in the parent, which then waits until that thread lets go. */
    ck_assert_int_eq(spawn_reporter(&lg, out[1], value, &pid), 0);
    close(out[1]);
    read_report(out[0], buf, sizeof buf, deadline_s());
    ok = reap_or_kill(pid, deadline_s());
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(strcmp(buf, expect) == 0 && ok, "the child forked while "
                  "another thread held the logger's lock reported \"%s\" "
                  "and %s: it must use only async-signal-safe calls", buf,
                  ok ? "exited" : "hung (killed after the deadline)");
    close(out[0]);
    close(logfd[0]);
    close(logfd[1]);
    sem_destroy(&h.locked);
    logger_release(&lg);
}

START_TEST(child_forked_while_the_log_is_locked_still_reports)
{
    report_while_locked(42, "child: value=42\n");
}
END_TEST

START_TEST(child_reports_negative_values)
{
    report_while_locked(-1234567, "child: value=-1234567\n");
}
END_TEST

/* ---- C ---------------------------------------------------------------- */

START_TEST(worker_is_replaced_every_k_tasks)
{
    struct recycler *r;
    struct answer a;
    pid_t pids[10];

    ck_assert_int_eq(recycler_create(3, &r), 0);
    for (long i = 0; i < 10; i++) {
        int rc = recycler_call(r, i, &a);

        ck_assert_msg(rc == 0, "call %ld failed: %s", i, strerror(rc));
        ck_assert_int_eq(a.result, i * i);
        pids[i] = a.worker;
        ck_assert(a.worker != getpid());
    }
    for (int i = 1; i < 10; i++) {
        if (i % 3 == 0)
            ck_assert_msg(pids[i] != pids[i - 1], "task %d ran in the same "
                          "worker as task %d: no replacement after 3 tasks",
                          i, i - 1);
        else
            ck_assert_msg(pids[i] == pids[i - 1], "tasks %d and %d ran in "
                          "different workers, within one group of 3", i - 1,
                          i);
    }
    ck_assert_int_eq(recycler_destroy(r), 0);
}
END_TEST

START_TEST(recycling_bounds_the_leak)
{
    struct recycler *r;
    struct answer a;
    long most = 0;

    ck_assert_int_eq(recycler_create(4, &r), 0);
    for (long i = 0; i < 20; i++) {
        ck_assert_int_eq(recycler_call(r, i, &a), 0);
        if (a.leaked > most)
            most = a.leaked;
    }
    ck_assert_msg(most <= 4 * LEAK_BYTES, "a worker leaked %ld MiB: more "
                  "than 4 tasks' worth", most >> 20);
    ck_assert_int_eq(most, 4 * LEAK_BYTES);
    ck_assert_int_eq(recycler_destroy(r), 0);
}
END_TEST

START_TEST(retired_workers_are_reaped)
{
    struct recycler *r;
    struct answer a;
    int status;

    ck_assert_int_eq(recycler_create(2, &r), 0);
    for (long i = 0; i < 9; i++)
        ck_assert_int_eq(recycler_call(r, i, &a), 0);
    /* The current worker is alive and every retired one reaped: nothing
     * to collect yet. */
    ck_assert_msg(waitpid(-1, &status, WNOHANG) == 0, "a retired worker "
                  "was left as a zombie (or no worker is running)");
    ck_assert_int_eq(recycler_destroy(r), 0);
    ck_assert(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD);
}
END_TEST

START_TEST(max_tasks_0_keeps_one_worker)
{
    struct recycler *r;
    struct answer a;
    pid_t first = 0;

    ck_assert_int_eq(recycler_create(0, &r), 0);
    for (long i = 0; i < 10; i++) {
        ck_assert_int_eq(recycler_call(r, i, &a), 0);
        if (i == 0)
            first = a.worker;
        ck_assert_int_eq(a.worker, first);
    }
    ck_assert_int_eq(a.leaked, 10 * LEAK_BYTES);
    ck_assert_int_eq(recycler_destroy(r), 0);
    ck_assert_int_eq(recycler_create(-1, &r), EINVAL);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(a_bad_input_does_not_keep_the_lock, 3, 0, 5),
    GRADE_TEST_TIMEOUT(every_kind_of_bad_input_is_einval, 1, 0, 5),
    GRADE_TEST_TIMEOUT(four_threads_with_bad_inputs_finish_and_add_up, 2, 2,
                       10),
    GRADE_TEST(child_forked_while_the_log_is_locked_still_reports, 3, 0),
    GRADE_TEST(child_reports_negative_values, 1, 0),
    GRADE_TEST(worker_is_replaced_every_k_tasks, 3, 0),
    GRADE_TEST(recycling_bounds_the_leak, 2, 0),
    GRADE_TEST(retired_workers_are_reaped, 2, 0),
    GRADE_TEST(max_tasks_0_keeps_one_worker, 1, 0),
};
GRADE_MAIN(tests)
