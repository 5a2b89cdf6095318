/*
 * test_faults_pp.c - the process pool's clean-up paths, by fault injection.
 *
 * Linked with faultinject.c (see faultinject.h), so that any call of
 * malloc, fork, socketpair, mmap, pthread_create and the like can be made
 * to fail.  For each library call that can fail (pp_pool_create,
 * pp_apply_async, pp_map, pp_shm_create, pp_dict_create), a successful run
 * is counted first: how many calls of each wrapped function it makes.
 * Then each of those calls is failed in turn, and the library call must
 * end cleanly:
 *  - it returns an error code (or, where the pool can wait and try again,
 *    as when a worker's socketpair fails, it succeeds a little later);
 *  - nothing is left: the same threads (/proc/self/task), no child
 *    process, the same descriptors; leaks are the sanitizers' and
 *    valgrind's to find when the test process exits;
 *  - a pool that existed before still works.
 *
 * Children.  The pool's collector thread forks the fork server, which
 * forks the workers, and a forked child inherits the armed fault as it was
 * at the fork.  So that a fault aimed at the parent fires in the parent
 * only, a pthread_atfork handler disarms every child, except in the tests
 * that aim at the fork server on purpose (its fork of a worker, its
 * signalfd).
 *
 * The counts include every thread of the process, so the collector's own
 * calls (buffers, results) are among those failed: whatever call a fault
 * hits, the ending must be clean.
 */
#include "faultinject.h"
#include "procpool.h"
#include "support.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The map options of a call with `c` items to a frame. */
#define CHUNK(c) (&(struct pp_map_options){ .chunk_size = (c) })

/* ---- Helpers --------------------------------------------------------- */

/* The wrapped functions a process pool call may make. */
static const enum fi_call kinds[] = {
    FI_MALLOC,          FI_CALLOC,          FI_REALLOC,
    FI_PTHREAD_CREATE,  FI_PTHREAD_MUTEX_INIT,
    FI_PTHREAD_COND_INIT, FI_FORK,          FI_SOCKETPAIR,
    FI_MMAP,            FI_SIGNALFD,        FI_FCNTL,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The error a failed call gives: what the real one would say. */
static int error_of(enum fi_call c)
{
    switch (c) {
    case FI_PTHREAD_CREATE:
    case FI_FORK:
        return EAGAIN;
    case FI_SOCKETPAIR:
    case FI_SIGNALFD:
    case FI_FCNTL:
        return EMFILE;
    default:
        return ENOMEM;
    }
}

/* Whether a child keeps the armed fault (see the top). */
static _Atomic bool aim_at_children;

static void child_disarm(void)
{
    if (!atomic_load(&aim_at_children))
        fi_disarm();
}

static struct pp_pool *pool_new(void);

/*
 * Arms the atfork handler, and runs one pool through its life, so that
 * whatever a runtime starts once (ThreadSanitizer's background thread)
 * is there before the first snapshot.
 */
static void setup(void)
{
    atomic_store(&aim_at_children, false);
    fi_disarm();
    ck_assert_int_eq(pthread_atfork(NULL, NULL, child_disarm), 0);
    pp_pool_destroy(pool_new());
}

/* What a failed or finished call must leave as it found. */
struct snapshot {
    int threads;
    int fds;
};

static struct snapshot snap(void)
{
    struct snapshot s;

    s.threads = thread_count();
    s.fds = fd_count();
    return s;
}

/*
 * The same threads and descriptors as in before, and no child process at
 * all, not even a zombie: waitpid finds nobody to wait for.
 */
static void assert_clean(struct snapshot before, const char *what,
                         enum fi_call c, long k)
{
    struct snapshot now;
    int i;

    /* A joined thread may still be listed for a moment while the kernel
     * finishes its exit (as in test_faults_tp): look again, 2 s at most. */
    for (i = 0; i < 2000 && thread_count() > before.threads; i++)
        sleep_ms(1);
    now = snap();

    ck_assert_msg(now.threads == before.threads,
                  "%s, %s #%ld failed: %d threads, %d before", what,
                  fi_name(c), k, now.threads, before.threads);
    ck_assert_msg(now.fds == before.fds,
                  "%s, %s #%ld failed: %d descriptors, %d before", what,
                  fi_name(c), k, now.fds, before.fds);
    ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                  "%s, %s #%ld failed: a child is left", what, fi_name(c),
                  k);
}

static int square(const struct pp_task *t, struct pp_out *out)
{
    int x;

    if (t->arg_len != sizeof(x))
        _exit(99);
    memcpy(&x, t->arg, sizeof(x));
    if (x == -1) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    x *= x;
    return pp_out_write(out, &x, sizeof(x));
}

/* A map of n squares that must come back right: the pool works. */
static void assert_pool_works(struct pp_pool *pool)
{
    struct pp_results *r;
    int args[20], i, v;
    const void *data;
    size_t len;

    for (i = 0; i < 20; i++)
        args[i] = i;
    ck_assert_int_eq(pp_map(pool, square, args, sizeof(int), 20, CHUNK(3), &r),
                     0);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(pp_results_get(r, (size_t)i, &data, &len), 0);
        ck_assert_uint_eq(len, sizeof(v));
        memcpy(&v, data, sizeof(v));
        ck_assert_int_eq(v, i * i);
    }
    pp_results_free(r);
}

static struct pp_pool *pool_new(void)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_pool *pool = NULL;

    o.workers = 2;
    ck_assert_int_eq(pp_pool_create(&o, &pool), 0);
    return pool;
}

/* ---- pp_pool_create -------------------------------------------------- */

/* Creates a pool with fault (c, k) armed; returns its code, no assert. */
static int create_with_fault(enum fi_call c, long k, struct pp_pool **pool)
{
    struct pp_options o = PP_OPTIONS_INIT;
    int rc;

    o.workers = 2;
    fi_arm(c, k, error_of(c));
    rc = pp_pool_create(&o, pool);
    fi_disarm();
    return rc;
}

/*
 * Every call the parent makes while creating a pool, failed in turn: the
 * create fails with an error and leaves nothing, or (a worker's socket,
 * retried 100 ms later) succeeds with a pool that works.
 */
START_TEST(pool_create_fails_cleanly_at_every_call)
{
    struct pp_pool *pool;
    struct snapshot before;
    long counts[NKINDS], k;
    size_t i;
    int rc;

    setup();
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]);
    pool = pool_new();
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]) - counts[i];
    pp_pool_destroy(pool);
    ck_assert_int_ge(counts[0] + counts[1], 4); /* it was counted */

    before = snap();
    for (i = 0; i < NKINDS; i++) {
        for (k = 0; k < counts[i]; k++) {
            pool = NULL;
            rc = create_with_fault(kinds[i], k, &pool);
            if (rc != 0) {
                ck_assert_msg(pool == NULL, "%s #%ld: pool set on error",
                              fi_name(kinds[i]), k);
                ck_assert_msg(rc > 0, "%s #%ld: rc %d", fi_name(kinds[i]),
                              k, rc);
            } else {
                assert_pool_works(pool);
                pp_pool_destroy(pool);
            }
            assert_clean(before, "pp_pool_create", kinds[i], k);
        }
    }
}
END_TEST

/*
 * The fork server's own calls: its fork of each worker, and its signalfd.
 * The create reports the failure and leaves nothing.
 */
START_TEST(pool_create_fails_cleanly_when_the_fork_server_cannot)
{
    struct pp_pool *pool;
    struct snapshot before;
    long k, forks;
    int rc;

    setup();
    forks = fi_count(FI_FORK);
    pool = pool_new();
    forks = fi_count(FI_FORK) - forks; /* the parent's: the server's fork */
    pp_pool_destroy(pool);

    before = snap();
    atomic_store(&aim_at_children, true);
    /* Calls forks, forks + 1: the server's forks of workers 0 and 1. */
    for (k = forks; k < forks + 2; k++) {
        pool = NULL;
        rc = create_with_fault(FI_FORK, k, &pool);
        ck_assert_msg(rc == EAGAIN, "server's fork #%ld: rc %d", k, rc);
        ck_assert_ptr_null(pool);
        assert_clean(before, "pp_pool_create", FI_FORK, k);
    }
    pool = NULL;
    rc = create_with_fault(FI_SIGNALFD, 0, &pool);
    ck_assert_msg(rc != 0, "server's signalfd: rc %d", rc);
    ck_assert_ptr_null(pool);
    assert_clean(before, "pp_pool_create", FI_SIGNALFD, 0);
    atomic_store(&aim_at_children, false);
}
END_TEST

/* ---- pp_apply_async -------------------------------------------------- */

static _Atomic int callbacks;

static void count_callback(struct pp_handle *h, void *arg)
{
    (void)h;
    (void)arg;
    atomic_fetch_add(&callbacks, 1);
}

/* Applies square(7) with fault (c, k); checks how it ended. */
static void apply_with_fault(struct pp_pool *pool, enum fi_call c, long k)
{
    struct pp_handle *h = NULL;
    const void *data;
    size_t len;
    int x = 7, rc, before = atomic_load(&callbacks);

    if (c != FI_NCALLS)
        fi_arm(c, k, error_of(c));
    rc = pp_apply_async(pool, square, &x, sizeof(x), count_callback, NULL,
                        &h);
    if (rc == 0)
        rc = pp_handle_wait(h, PP_WAIT_FOREVER);
    fi_disarm();
    if (h == NULL) {
        /* Refused: an error, and the callback never runs. */
        ck_assert_msg(rc > 0, "%s #%ld: no handle, rc %d", fi_name(c), k,
                      rc);
        ck_assert_int_eq(atomic_load(&callbacks), before);
        return;
    }
    ck_assert_int_eq(rc, 0);
    rc = pp_handle_get(h, &data, &len);
    /* Its result may not fit in the parent's memory: ENOMEM, said so. */
    ck_assert_msg(rc == 0 || rc == ENOMEM, "%s #%ld: result %d", fi_name(c),
                  k, rc);
    if (rc == 0) {
        ck_assert_uint_eq(len, sizeof(x));
        ck_assert_int_eq(*(const int *)data, 49);
    }
    pp_handle_free(h);
}

START_TEST(apply_async_fails_cleanly_at_every_call)
{
    struct pp_pool *pool;
    struct snapshot before;
    long counts[NKINDS], k;
    size_t i;

    setup();
    pool = pool_new();
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]);
    apply_with_fault(pool, FI_NCALLS, 0); /* nothing armed: counts */
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]) - counts[i];
    ck_assert_int_ge(counts[1], 1); /* its handle */
    pp_pool_destroy(pool);

    before = snap();
    for (i = 0; i < NKINDS; i++) {
        for (k = 0; k < counts[i]; k++) {
            /* A fresh pool each time: close() must not stop the next. */
            pool = pool_new();
            apply_with_fault(pool, kinds[i], k);
            assert_pool_works(pool);
            pp_pool_destroy(pool);
            assert_clean(before, "pp_apply_async", kinds[i], k);
        }
    }
}
END_TEST

/* ---- pp_map ---------------------------------------------------------- */

/*
 * Maps 40 squares with fault (c, k) armed; item 5 crashes its worker, so
 * that the replacement path (socketpair, items sent again) runs too.
 */
static void map_with_fault(struct pp_pool *pool, enum fi_call c, long k)
{
    struct pp_results *r = NULL;
    int args[40], i, rc, v;
    const void *data;
    size_t len;

    for (i = 0; i < 40; i++)
        args[i] = i == 5 ? -1 : i;
    if (c != FI_NCALLS)
        fi_arm(c, k, error_of(c));
    rc = pp_map(pool, square, args, sizeof(int), 40, CHUNK(2), &r);
    fi_disarm();
    if (r == NULL) {
        /* Refused before anything ran. */
        ck_assert_msg(rc == ENOMEM, "%s #%ld: no results, rc %d",
                      fi_name(c), k, rc);
        ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);
        return;
    }
    /*
     * It ran: item 5 crashed; any other item may have ended with ENOMEM
     * (no memory for its result, or to send it again after the crash);
     * every other one is right.
     */
    ck_assert_msg(rc == EPIPE || rc == ENOMEM, "%s #%ld: rc %d", fi_name(c),
                  k, rc);
    ck_assert_uint_le(pp_results_failed(r), 5);
    for (i = 0; i < 40; i++) {
        rc = pp_results_get(r, (size_t)i, &data, &len);
        if (i == 5) {
            ck_assert_int_eq(rc, EPIPE);
            continue;
        }
        ck_assert_msg(rc == 0 || rc == ENOMEM, "%s #%ld: item %d: %d",
                      fi_name(c), k, i, rc);
        if (rc == 0) {
            ck_assert_uint_eq(len, sizeof(v));
            memcpy(&v, data, sizeof(v));
            ck_assert_int_eq(v, i * i);
        }
    }
    pp_results_free(r);
}

START_TEST(map_fails_cleanly_at_every_call)
{
    struct pp_pool *pool;
    struct snapshot before;
    long counts[NKINDS], k;
    size_t i;

    setup();
    before = snap();
    pool = pool_new();
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]);
    map_with_fault(pool, FI_NCALLS, 0);
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]) - counts[i];
    ck_assert_int_ge(counts[1], 2); /* its results and jobs */

    for (i = 0; i < NKINDS; i++) {
        for (k = 0; k < counts[i]; k++) {
            map_with_fault(pool, kinds[i], k);
            assert_pool_works(pool);
        }
    }
    pp_pool_destroy(pool);
    assert_clean(before, "pp_map", FI_NCALLS, 0);
}
END_TEST

/* ---- Shared memory and the dictionary -------------------------------- */

START_TEST(shm_and_dict_create_fail_cleanly_at_every_call)
{
    struct snapshot before;
    struct pp_shm *shm;
    struct pp_dict *d;
    long counts[NKINDS], k;
    size_t i;
    int rc;

    setup();
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]);
    ck_assert_int_eq(pp_shm_create(4096, &shm), 0);
    ck_assert_int_eq(pp_dict_create(16, &d), 0);
    for (i = 0; i < NKINDS; i++)
        counts[i] = fi_count(kinds[i]) - counts[i];
    pp_shm_destroy(shm);
    pp_dict_destroy(d);
    ck_assert_int_ge(counts[1], 2);

    before = snap();
    for (i = 0; i < NKINDS; i++) {
        for (k = 0; k < counts[i]; k++) {
            shm = NULL;
            d = NULL;
            fi_arm(kinds[i], k, error_of(kinds[i]));
            rc = pp_shm_create(4096, &shm);
            fi_disarm();
            ck_assert(rc == 0 ? shm != NULL : rc > 0 && shm == NULL);
            pp_shm_destroy(shm);
            fi_arm(kinds[i], k, error_of(kinds[i]));
            rc = pp_dict_create(16, &d);
            fi_disarm();
            ck_assert(rc == 0 ? d != NULL : rc > 0 && d == NULL);
            if (d != NULL) {
                ck_assert_int_eq(pp_dict_set(d, "k", 1), 0);
                pp_dict_destroy(d);
            }
            assert_clean(before, "pp_shm_create/pp_dict_create", kinds[i],
                         k);
        }
    }
}
END_TEST

/* ---- The suite ------------------------------------------------------- */

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults_pp");
    TCase *tc = tcase_create("cleanup");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pool_create_fails_cleanly_at_every_call);
    tcase_add_test(tc, pool_create_fails_cleanly_when_the_fork_server_cannot);
    tcase_add_test(tc, apply_async_fails_cleanly_at_every_call);
    tcase_add_test(tc, map_fails_cleanly_at_every_call);
    tcase_add_test(tc, shm_and_dict_create_fail_cleanly_at_every_call);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tests_run(faults_suite());
}
