/*
 * tests.c - graded tests for lesson 7 (shdict.c).
 *
 * The process tests fork real children that use the dictionary and leave
 * with _exit(): status 0 means "all my checks passed".  The thread test is
 * the one that also runs under ThreadSanitizer: TSan cannot see across
 * processes, but the same lock protects threads, and a missing or
 * misplaced lock shows up there as a data race.
 */
#include "shdict.h"
#include "grading.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int child_fn(struct shdict *d, long i);

/* Forks n children running fn(d, i) and reaps them all; every one must
 * exit with status 0. */
static void run_children(int n, child_fn *fn, struct shdict *d)
{
    pid_t pid[16];
    int status;

    ck_assert(n <= 16);
    for (int i = 0; i < n; i++) {
        pid[i] = fork();
        ck_assert_msg(pid[i] >= 0, "fork: %s", strerror(errno));
        if (pid[i] == 0)
            _exit(fn(d, i));
    }
    for (int i = 0; i < n; i++) {
        ck_assert(waitpid(pid[i], &status, 0) == pid[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "child %d failed (status 0x%x)", i, status);
    }
}

/* The tutorial's worker(shared_dict, key, value). */
static int tutorial_worker(struct shdict *d, long i)
{
    static const char *const keys[] = { "a", "b" };

    return shdict_set(d, keys[i], i + 1) == 0 ? 0 : 1;
}

START_TEST(tutorial_workers_set_a_and_b)
{
    struct shdict *d;
    long a = 0, b = 0;
    size_t len = 0;

    ck_assert_int_eq(shdict_create(16, &d), 0);
    run_children(2, tutorial_worker, d);
    ck_assert_msg(shdict_get(d, "a", &a) == 0 && shdict_get(d, "b", &b) == 0,
                  "the parent does not see the keys its children set: is "
                  "the table in shared memory?");
    ck_assert_int_eq(a, 1);
    ck_assert_int_eq(b, 2);
    ck_assert_int_eq(shdict_len(d, &len), 0);
    ck_assert_int_eq(len, 2);
    shdict_destroy(d);
}
END_TEST

START_TEST(children_see_changes_made_after_fork)
{
    struct shdict *d;
    int fds[2], status;
    pid_t pid;
    char c = 'x';

    ck_assert_int_eq(shdict_create(4, &d), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        long v = 0;

        close(fds[1]);
        if (read(fds[0], &c, 1) != 1)
            _exit(2);
        _exit(shdict_get(d, "late", &v) == 0 && v == 7 ? 0 : 1);
    }
    close(fds[0]);
    /* The child exists already; it must still see this. */
    ck_assert_int_eq(shdict_set(d, "late", 7), 0);
    ck_assert_int_eq(write(fds[1], &c, 1), 1);
    close(fds[1]);
    ck_assert(waitpid(pid, &status, 0) == pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "a child forked before the parent set \"late\" does not "
                  "see it: a private copy, not shared memory");
    shdict_destroy(d);
}
END_TEST

static long per_child(void)
{
    return grade_scaled(20000);
}

static int add_many(struct shdict *d, long i)
{
    (void)i;
    for (long k = 0; k < per_child(); k++)
        if (shdict_add(d, "hits", 1, NULL) != 0)
            return 1;
    return 0;
}

START_TEST(add_from_4_processes_loses_no_update)
{
    struct shdict *d;
    long hits = 0;

    ck_assert_int_eq(shdict_create(4, &d), 0);
    run_children(4, add_many, d);
    ck_assert_int_eq(shdict_get(d, "hits", &hits), 0);
    ck_assert_msg(hits == 4 * per_child(), "4 processes added 1 %ld times "
                  "each, the total is %ld: updates were lost",
                  per_child(), hits);
    shdict_destroy(d);
}
END_TEST

/* The threads of add_from_4_threads_loses_no_update start together at a
 * barrier, and a fifth reads while they add, so that every access to the
 * dict overlaps with others (and ThreadSanitizer sees a missing lock). */
struct adders {
    struct shdict *d;
    struct grade_barrier start;
    atomic_int adding;
};

static void *add_many_thread(void *arg)
{
    struct adders *a = arg;
    void *ret;

    grade_barrier_wait(&a->start);
    ret = (void *)(long)add_many(a->d, 0);
    atomic_fetch_sub(&a->adding, 1);
    return ret;
}

static void *read_while_adding(void *arg)
{
    struct adders *a = arg;
    long hits;
    size_t len;

    grade_barrier_wait(&a->start);
    while (atomic_load(&a->adding) > 0) {
        shdict_get(a->d, "hits", &hits);
        shdict_len(a->d, &len);
    }
    return NULL;
}

START_TEST(add_from_4_threads_loses_no_update)
{
    struct shdict *d;
    struct adders a;
    pthread_t t[5];
    long hits = 0;
    void *ret;

    ck_assert_int_eq(shdict_create(4, &d), 0);
    a.d = d;
    atomic_init(&a.adding, 4);
    grade_barrier_init(&a.start, 5);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, add_many_thread, &a),
                         0);
    ck_assert_int_eq(pthread_create(&t[4], NULL, read_while_adding, &a), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], &ret), 0);
        ck_assert_msg(ret == NULL, "shdict_add failed in a thread");
    }
    ck_assert_int_eq(pthread_join(t[4], NULL), 0);
    grade_barrier_destroy(&a.start);
    ck_assert_int_eq(shdict_get(d, "hits", &hits), 0);
    ck_assert_msg(hits == 4 * per_child(), "4 threads added 1 %ld times "
                  "each, the total is %ld: updates were lost",
                  per_child(), hits);
    shdict_destroy(d);
}
END_TEST

static long die_inside(long old, void *arg)
{
    (void)old;
    (void)arg;
    _exit(0);       /* the process ends while it holds the lock */
}

static int add_then_die(struct shdict *d, long i)
{
    (void)i;
    if (shdict_add(d, "k", 10, NULL) != 0)
        return 1;
    shdict_update(d, "k", die_inside, NULL, NULL);
    return 1;       /* not reached */
}

START_TEST(a_process_dying_with_the_lock_does_not_block_others)
{
    struct shdict *d;
    long v = 0;
    int rc;

    ck_assert_int_eq(shdict_create(4, &d), 0);
    run_children(1, add_then_die, d);
    rc = shdict_add(d, "k", 1, &v);
    ck_assert_msg(rc == 0, "after a process died holding the lock, "
                  "shdict_add returned %s", grade_errname(rc));
    ck_assert_msg(v == 11, "k should be 10 (set by the child) + 1, is %ld",
                  v);
    /* And the lock keeps working after the recovery. */
    ck_assert_int_eq(shdict_add(d, "k", 1, &v), 0);
    ck_assert_int_eq(v, 12);
    shdict_destroy(d);
}
END_TEST

START_TEST(lock_is_released_when_the_dict_is_full)
{
    struct shdict *d;
    long v = 0;

    ck_assert_int_eq(shdict_create(2, &d), 0);
    ck_assert_int_eq(shdict_set(d, "a", 1), 0);
    ck_assert_int_eq(shdict_set(d, "b", 2), 0);
    ck_assert_int_eq(shdict_set(d, "c", 3), ENOSPC);
    ck_assert_int_eq(shdict_add(d, "c", 3, NULL), ENOSPC);
    /* If the ENOSPC path kept the lock, this would never return. */
    ck_assert_int_eq(shdict_add(d, "a", 5, &v), 0);
    ck_assert_int_eq(v, 6);
    ck_assert_int_eq(shdict_get(d, "c", &v), ENOENT);
    shdict_destroy(d);
}
END_TEST

START_TEST(update_returns_the_new_value_and_reads_a_missing_key_as_0)
{
    struct shdict *d;
    long v = -1;

    ck_assert_int_eq(shdict_create(8, &d), 0);
    ck_assert_int_eq(shdict_get(d, "x", &v), ENOENT);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(shdict_add(d, "x", 5, &v), 0);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(shdict_add(d, "x", -2, &v), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(shdict_set(d, "x", 40), 0);
    ck_assert_int_eq(shdict_add(d, "x", 2, NULL), 0);
    ck_assert_int_eq(shdict_get(d, "x", &v), 0);
    ck_assert_int_eq(v, 42);
    shdict_destroy(d);
}
END_TEST

START_TEST(bad_arguments_are_einval)
{
    struct shdict *d;
    char longkey[SHDICT_KEY_MAX + 2];
    long v;

    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    ck_assert_int_eq(shdict_create(0, &d), EINVAL);
    ck_assert_int_eq(shdict_create(SHDICT_CAPACITY_MAX + 1, &d), EINVAL);
    ck_assert_int_eq(shdict_create(4, &d), 0);
    ck_assert_int_eq(shdict_set(d, "", 1), EINVAL);
    ck_assert_int_eq(shdict_set(d, NULL, 1), EINVAL);
    ck_assert_int_eq(shdict_set(d, longkey, 1), EINVAL);
    longkey[SHDICT_KEY_MAX] = '\0';     /* now exactly the longest key */
    ck_assert_int_eq(shdict_set(d, longkey, 1), 0);
    ck_assert_int_eq(shdict_get(d, longkey, &v), 0);
    ck_assert_int_eq(shdict_update(d, "a", NULL, NULL, NULL), EINVAL);
    shdict_destroy(d);
    shdict_destroy(NULL);
}
END_TEST

/* Points: the starter works in one process, so the tests of one process
 * are worth little; the points are in what makes it work across
 * processes (and in the race check of the threads test). */
static const struct grade_test tests[] = {
    GRADE_TEST(tutorial_workers_set_a_and_b, 4, 0),
    GRADE_TEST(children_see_changes_made_after_fork, 3, 0),
    GRADE_TEST(add_from_4_processes_loses_no_update, 4, 0),
    GRADE_TEST(add_from_4_threads_loses_no_update, 1, 3),
    GRADE_TEST_TIMEOUT(a_process_dying_with_the_lock_does_not_block_others,
                       4, 0, 5),
    GRADE_TEST_TIMEOUT(lock_is_released_when_the_dict_is_full, 1, 0, 5),
    GRADE_TEST(update_returns_the_new_value_and_reads_a_missing_key_as_0,
               1, 0),
    GRADE_TEST(bad_arguments_are_einval, 1, 0),
};
GRADE_MAIN(tests)
