/*
 * test_procpool.c - the process pool's tests (Check).
 *
 * Each test pins down one behaviour promised by pools/procpool.h.  Tasks
 * run in other processes, so a test talks to them through memory shared
 * before the pool was created: a "gate" in a pp_shm region that tasks wait
 * at until the test opens it, so no test depends on how long anything
 * takes.  Tasks that must die do so by themselves (raise, abort, _exit).
 * No test asserts a time.
 *
 * Counting what is left behind.  "No zombie and no leaked descriptor" is
 * checked from /proc: the entries of /proc/self/fd, and the processes
 * whose parent is this one (a zombie is one of them, in state Z).  The
 * test that kills a parent makes this process a child subreaper, so that
 * orphaned workers become its children and it can see them end.
 *
 * Scaling.  Under valgrind and ThreadSanitizer (POOLBENCH_SLOW=1) the two
 * stress tests shrink: the dictionary counter from 100,000 increments to
 * 10,000, the shared-memory sum from 256 MiB to 32 MiB.  What they check
 * does not change.
 *
 * _GNU_SOURCE: prctl(PR_SET_CHILD_SUBREAPER) for the orphan test.
 */
#define _GNU_SOURCE

#include "procpool.h"
#include "support.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The map options of a call with `c` items to a frame. */
#define CHUNK(c) (&(struct pp_map_options){ .chunk_size = (c) })

/* ---- Helpers --------------------------------------------------------- */

/*
 * A time limit that only the never-ending task reaches: a normal task
 * takes microseconds, but under valgrind a fresh worker's first task may
 * take a good part of a second.
 */
static unsigned time_limit_ms(void)
{
    return tests_slow() ? 3000 : 200;
}

/*
 * A gate in shared memory: tasks count themselves in `arrived` and wait
 * until `open` is set.  Made before the pool, so the workers share it.
 * (support.h's struct gate is for threads: it lives in this process's
 * own memory, of which a worker has only a copy; hence shm_ here.)
 */
struct shm_gate {
    _Atomic int open;
    _Atomic int arrived;
};

static struct pp_shm *gate_shm;
static struct shm_gate *gate;

static void shm_gate_make(void)
{
    ck_assert_int_eq(pp_shm_create(sizeof(struct shm_gate), &gate_shm), 0);
    gate = pp_shm_base(gate_shm);
}

static void shm_gate_free(void)
{
    pp_shm_destroy(gate_shm);
    gate_shm = NULL;
    gate = NULL;
}

/* In the parent: waits until n tasks have arrived at the gate. */
static void shm_gate_await(int n)
{
    while (atomic_load(&gate->arrived) < n)
        sleep_ms(1);
}

/* The parent of pid, from /proc/PID/stat ("pid (comm) state ppid ..."). */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p, state;
    int ppid = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    ck_assert_ptr_nonnull(p);
    p = strrchr(buf, ')');
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(p + 1, " %c %d", &state, &ppid), 2);
    return ppid;
}

/*
 * Processes whose parent is this process; *zombies gets how many of them
 * are zombies.
 */
static int count_children(int *zombies)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char path[300], buf[512], *p, state;
    int n = 0, z = 0, ppid;
    FILE *f;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        /* "pid (comm) state ppid ...": comm may hold spaces, so from ')'. */
        if (p == NULL || (p = strrchr(buf, ')')) == NULL)
            continue;
        if (sscanf(p + 1, " %c %d", &state, &ppid) != 2)
            continue;
        if (ppid == (int)getpid()) {
            n++;
            z += state == 'Z';
        }
    }
    closedir(d);
    if (zombies != NULL)
        *zombies = z;
    return n;
}

static struct pp_pool *pool_new(unsigned workers)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_pool *pool = NULL;

    o.workers = workers;
    ck_assert_int_eq(pp_pool_create(&o, &pool), 0);
    ck_assert_ptr_nonnull(pool);
    return pool;
}

/*
 * A task's int argument.  Tasks run in workers, where Check cannot report
 * (its channel is one of the descriptors a worker does not keep), so a
 * task that finds something wrong dies with exit status 99 instead, and
 * the test that expected a result fails on that.
 */
/*
 * Waits until the pool has all its workers again and `gone` is not among
 * them: a replacement is forked after the dead one is reaped, a moment
 * after its task has ended.
 */
static void await_replacement(struct pp_pool *pool, pid_t gone)
{
    pid_t pids[8];
    size_t n, i;
    bool back;

    for (;;) {
        ck_assert_int_eq(pp_pool_pids(pool, pids, 8, &n), 0);
        back = n == pp_pool_workers(pool);
        for (i = 0; i < n && i < 8; i++)
            if (pids[i] == gone)
                back = false;
        if (back)
            return;
        sleep_ms(1);
    }
}

static int int_arg(const struct pp_task *t)
{
    int x;

    if (t->arg_len != sizeof(x))
        _exit(99);
    memcpy(&x, t->arg, sizeof(x));
    return x;
}

static int result_int(const struct pp_results *r, size_t i)
{
    const void *data;
    size_t len;
    int v;

    ck_assert_int_eq(pp_results_get(r, i, &data, &len), 0);
    ck_assert_uint_eq(len, sizeof(v));
    memcpy(&v, data, sizeof(v));
    return v;
}

/* ---- Tasks ----------------------------------------------------------- */

/*
 * Squares its int; item 57 dies of SIGSEGV, -1 aborts, -2 calls _exit(3).
 * The segfault is raised rather than made with a wild pointer because
 * ASan, UBSan and valgrind catch a wild pointer and end the process their
 * own way; with the default action restored, every build dies the same.
 */
static int square(const struct pp_task *t, struct pp_out *out)
{
    int x = int_arg(t);

    if (x == 57) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (x == -1)
        abort();
    if (x == -2)
        _exit(3);
    x *= x;
    return pp_out_write(out, &x, sizeof(x));
}

static int square_ok(const struct pp_task *t, struct pp_out *out)
{
    int x = int_arg(t);

    x *= x;
    return pp_out_write(out, &x, sizeof(x));
}

static int return_pid(const struct pp_task *t, struct pp_out *out)
{
    pid_t pid = getpid();

    (void)t;
    return pp_out_write(out, &pid, sizeof(pid));
}

/* Fails with the errno value it is given (0: succeeds). */
static int fail_with(const struct pp_task *t, struct pp_out *out)
{
    (void)out;
    return int_arg(t);
}

/* Arrives at the gate and waits for it to open, then returns its int. */
static int wait_gate(const struct pp_task *t, struct pp_out *out)
{
    int x = t->arg_len == sizeof(int) ? int_arg(t) : 0;

    atomic_fetch_add(&gate->arrived, 1);
    while (!atomic_load(&gate->open))
        sleep_ms(1);
    return pp_out_write(out, &x, sizeof(x));
}

/* Never ends on its own: waits at a gate that its tests never open. */
static int forever(const struct pp_task *t, struct pp_out *out)
{
    (void)t;
    (void)out;
    atomic_fetch_add(&gate->arrived, 1);
    while (!atomic_load(&gate->open))
        sleep_ms(1);
    return 0;
}

/* Echoes its argument. */
static int echo(const struct pp_task *t, struct pp_out *out)
{
    return pp_out_write(out, t->arg, t->arg_len);
}

/* Tries to return one byte more than the limit, then returns 0. */
static int too_big(const struct pp_task *t, struct pp_out *out)
{
    static const char byte = 'x';
    int rc;

    (void)t;
    /* 64 MiB of the same source is fine: pp_out_write refuses first. */
    rc = pp_out_write(out, &byte, 1);
    if (rc != 0)
        return rc;
    rc = pp_out_write(out, (const void *)&byte, PP_RESULT_MAX);
    if (rc != EMSGSIZE)
        return EPROTO; /* would make the test fail: wrong error */
    return 0;
}

/* ---- Creation and basic use ------------------------------------------ */

START_TEST(workers_zero_means_cpu_count)
{
    struct pp_pool *pool = pool_new(0);
    size_t n;

    ck_assert_uint_eq(pp_pool_workers(pool), pp_cpu_count());
    ck_assert_int_eq(pp_pool_pids(pool, NULL, 0, &n), 0);
    ck_assert_uint_eq(n, pp_cpu_count());
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(map_preserves_order)
{
    static const size_t chunks[] = { 1, 3, 0, 1000 };
    struct pp_pool *pool = pool_new(3);
    struct pp_results *r;
    int args[500];
    size_t i, c;

    for (i = 0; i < 500; i++)
        args[i] = (int)i;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 500,
                                CHUNK(chunks[c]), &r),
                         0);
        ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);
        ck_assert_uint_eq(pp_results_count(r), 500);
        for (i = 0; i < 500; i++)
            ck_assert_int_eq(result_int(r, i), (int)(i * i));
        pp_results_free(r);
    }
    pp_pool_destroy(pool);
}
END_TEST

/* Naps a millisecond, then returns the pid of the worker that ran it. */
static int nap_return_pid(const struct pp_task *t, struct pp_out *out)
{
    pid_t pid = getpid();

    (void)t;
    sleep_ms(1);
    return pp_out_write(out, &pid, sizeof(pid));
}

/*
 * Python's everyday pool.map(f, items): with the default options and any
 * chunk size, the items spread over every worker.  Each item naps a
 * millisecond and names its worker; every worker must have run at least
 * an eighth of its fair share.  A map that sends everything to one worker
 * (and runs in twice the time on two workers) fails that by far, while a
 * busy machine that slows one worker down does not: the first dispatch
 * alone gives each worker 32 items or more, and with 2 workers the other
 * would have to run 15 times as fast.  4 workers on a 2-core machine too.
 */
START_TEST(map_spreads_over_all_workers_by_default)
{
    static const unsigned workers[] = { 2, 4 };
    static const size_t chunks[] = { 0, 1, 7 };
    size_t count = tests_slow() ? 300 : 1000, i, k, c, w, len, seen;
    struct pp_results *r;
    struct pp_pool *pool;
    pid_t pids[4];
    size_t ran[4];
    const void *data;
    pid_t pid;
    int *args = calloc(count, sizeof(int));

    ck_assert_ptr_nonnull(args);
    for (w = 0; w < 2; w++) {
        pool = pool_new(workers[w]);
        for (c = 0; c < 3; c++) {
            ck_assert_int_eq(pp_map(pool, nap_return_pid, args, sizeof(int),
                                    count, CHUNK(chunks[c]), &r),
                             0);
            seen = 0;
            memset(ran, 0, sizeof(ran));
            for (i = 0; i < count; i++) {
                ck_assert_int_eq(pp_results_get(r, i, &data, &len), 0);
                ck_assert_uint_eq(len, sizeof(pid));
                memcpy(&pid, data, sizeof(pid));
                for (k = 0; k < seen && pids[k] != pid; k++)
                    ;
                if (k == seen) {
                    ck_assert_uint_lt(seen, workers[w]);
                    pids[seen++] = pid;
                }
                ran[k]++;
            }
            ck_assert_msg(seen == workers[w],
                          "chunk %zu, %u workers: only %zu ran items",
                          chunks[c], workers[w], seen);
            for (k = 0; k < seen; k++)
                ck_assert_msg(ran[k] >= count / (8 * workers[w]),
                              "chunk %zu, %u workers: one ran %zu of %zu",
                              chunks[c], workers[w], ran[k], count);
            pp_results_free(r);
        }
        pp_pool_destroy(pool);
    }
    free(args);
}
END_TEST

/*
 * Waking many sleepers at once: a map of one item per worker, on workers
 * that have gone to sleep on their doorbells, rings and wakes them all
 * (pp_flush_all in pools/pp_collector.c).  Every round, every worker must
 * run exactly one item: the map deals one to each at once, since with
 * fewer than two per worker none is held in hand.  A wake-up lost would
 * still end after the worker's 1 s safety timeout, so this checks that
 * nothing is lost or run twice, not how fast.
 */
START_TEST(waking_many_sleepers_at_once_loses_nothing)
{
    enum { ROUNDS = 4 };
    unsigned workers = tests_slow() ? 16 : 40;
    size_t i, k, seen, len;
    struct pp_results *r;
    struct pp_pool *pool = pool_new(workers);
    pid_t pids[40], pid;
    const void *data;
    int args[40] = { 0 };

    for (int round = 0; round < ROUNDS; round++) {
        /* Long past the workers' 10 us poll: they sleep. */
        sleep_ms(20);
        ck_assert_int_eq(pp_map(pool, nap_return_pid, args, sizeof(int),
                                workers, CHUNK(1), &r),
                         0);
        seen = 0;
        for (i = 0; i < workers; i++) {
            ck_assert_int_eq(pp_results_get(r, i, &data, &len), 0);
            ck_assert_uint_eq(len, sizeof(pid));
            memcpy(&pid, data, sizeof(pid));
            for (k = 0; k < seen && pids[k] != pid; k++)
                ;
            ck_assert_msg(k == seen, "round %d: a worker ran two items",
                          round);
            pids[seen++] = pid;
        }
        pp_results_free(r);
    }
    pp_pool_destroy(pool);
}
END_TEST

/*
 * Answers that wait in the workers' rings (pp_worker.c's tell and
 * pp_collector.c's going_to_sleep): a worker sends its answers only if
 * the collector sleeps, else leaves them for it to take.  If the two ever
 * missed each other, an answer would sit in a ring with the collector
 * asleep, and nothing has a time limit here: the map or the callbacks
 * would wait for ever, which Check's timeout reports.  Naps of 0 to 290
 * us, different for every item, make answers land at every moment of the
 * collector's going to sleep; maps and applies with callbacks mix.
 */
static int nap_square(const struct pp_task *t, struct pp_out *out)
{
    int x = int_arg(t);
    struct timespec ts = { 0, (long)(x * 7919 % 30) * 10000 };

    nanosleep(&ts, NULL);
    x *= x;
    return pp_out_write(out, &x, sizeof(x));
}

static void count_call(struct pp_handle *h, void *arg)
{
    const void *data;
    size_t len;
    int v;

    if (pp_handle_get(h, &data, &len) == 0 && len == sizeof(v)) {
        memcpy(&v, data, sizeof(v));
        atomic_fetch_add((_Atomic long *)arg, v);
    }
}

START_TEST(answers_left_in_rings_always_reach_the_caller)
{
    int rounds = tests_slow() ? 30 : 300, args[48], round;
    _Atomic long sum = 0;
    long expect = 0;
    struct pp_pool *pool = pool_new(6);
    struct pp_results *r;
    size_t i;

    for (round = 0; round < rounds; round++) {
        for (i = 0; i < 48; i++)
            args[i] = (int)i + round;
        ck_assert_int_eq(pp_map(pool, nap_square, args, sizeof(int), 48,
                                CHUNK(1 + round % 3), &r),
                         0);
        for (i = 0; i < 48; i++)
            ck_assert_int_eq(result_int(r, i), args[i] * args[i]);
        pp_results_free(r);
        for (i = 0; i < 4; i++) {
            ck_assert_int_eq(pp_apply_async(pool, nap_square, &args[i],
                                            sizeof(int), count_call, &sum,
                                            NULL),
                             0);
            expect += (long)args[i] * args[i];
        }
    }
    /* close returns after every callback has run. */
    ck_assert_int_eq(pp_pool_close(pool), 0);
    ck_assert_int_eq(atomic_load(&sum), expect);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * One in hand (pp_dispatch in pools/pp_collector.c): a map with two items
 * or more per worker gives each worker two at once, the one it runs and
 * the next, which it then starts without a trip through the collector.
 * With prefetch = 1 a worker holds one at a time, so the first two items
 * go to two workers.  A fresh pool's first map is dealt out in one go by
 * the submitting thread (every worker runs once pp_pool_create returns),
 * so who gets what is certain, however busy the machine.
 */
START_TEST(map_gives_each_worker_one_in_hand)
{
    int args[4] = { 0 };

    for (unsigned prefetch = 0; prefetch <= 1; prefetch++) {
        struct pp_options o = PP_OPTIONS_INIT;
        struct pp_pool *pool = NULL;
        struct pp_results *r;
        pid_t pids[4];
        const void *data;
        size_t len;

        o.workers = 2;
        o.prefetch = prefetch;
        ck_assert_int_eq(pp_pool_create(&o, &pool), 0);
        ck_assert_int_eq(pp_map(pool, nap_return_pid, args, sizeof(int), 4,
                                CHUNK(1), &r),
                         0);
        for (size_t i = 0; i < 4; i++) {
            ck_assert_int_eq(pp_results_get(r, i, &data, &len), 0);
            ck_assert_uint_eq(len, sizeof(pids[i]));
            memcpy(&pids[i], data, sizeof(pids[i]));
        }
        if (prefetch == 0) {
            ck_assert_int_eq(pids[0], pids[1]);
            ck_assert_int_eq(pids[2], pids[3]);
            ck_assert_int_ne(pids[0], pids[2]);
        } else {
            ck_assert_int_ne(pids[0], pids[1]);
        }
        pp_results_free(r);
        pp_pool_destroy(pool);
    }
}
END_TEST

/* The counter the shared-memory test relies on does count copies. */
START_TEST(bytes_copied_counts_arguments_and_results)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_stats before, after;
    struct pp_results *r;
    int args[100] = { 0 };

    ck_assert_int_eq(pp_pool_stats(pool, &before), 0);
    ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 100, CHUNK(7),
                            &r),
                     0);
    ck_assert_int_eq(pp_pool_stats(pool, &after), 0);
    /* 100 ints out, 100 ints back; 15 task frames and 100 result frames. */
    ck_assert(after.bytes_copied - before.bytes_copied == 800);
    ck_assert(after.messages - before.messages == 15 + 100);
    ck_assert(after.submitted - before.submitted == 100);
    ck_assert(after.completed - before.completed == 100);
    pp_results_free(r);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(map_of_nothing_returns_empty_results)
{
    struct pp_pool *pool = pool_new(1);
    struct pp_results *r;

    ck_assert_int_eq(pp_map(pool, square_ok, NULL, sizeof(int), 0, CHUNK(1),
                            &r),
                     0);
    ck_assert_uint_eq(pp_results_count(r), 0);
    pp_results_free(r);
    pp_pool_destroy(pool);
}
END_TEST

/* The tutorial's starmap(worker, [(shared_dict, 'a', 1), ...]). */
static struct pp_dict *star_dict;

static int dict_store(const struct pp_task *t, struct pp_out *out)
{
    char key[PP_DICT_KEY_MAX + 1];
    int64_t value;

    (void)out;
    if (t->argc != 2 || t->argv[0].len >= sizeof(key) ||
        t->argv[1].len != sizeof(value))
        _exit(99);
    memcpy(key, t->argv[0].data, t->argv[0].len);
    key[t->argv[0].len] = '\0';
    memcpy(&value, t->argv[1].data, sizeof(value));
    return pp_dict_set(star_dict, key, value);
}

START_TEST(starmap_passes_tuples)
{
    static const int64_t one = 1, two = 2;
    struct pp_arg args[4] = {
        { "a", 1 }, { &one, sizeof(one) }, { "bb", 2 }, { &two, sizeof(two) }
    };
    struct pp_pool *pool;
    struct pp_results *r;
    int64_t v;

    ck_assert_int_eq(pp_dict_create(16, &star_dict), 0);
    pool = pool_new(2);
    ck_assert_int_eq(pp_starmap(pool, dict_store, args, 2, 2, CHUNK(1), &r),
                     0);
    pp_results_free(r);
    ck_assert_int_eq(pp_dict_get(star_dict, "a", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(pp_dict_get(star_dict, "bb", &v), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_uint_eq(pp_dict_count(star_dict), 2);
    pp_pool_destroy(pool);
    pp_dict_destroy(star_dict);
}
END_TEST

START_TEST(task_error_is_reported_with_its_index)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_results *r;
    struct pp_outcome o;
    int args[10] = { 0 };
    char text[128];

    args[4] = EDOM;
    args[7] = EIO;
    ck_assert_int_eq(pp_map(pool, fail_with, args, sizeof(int), 10, CHUNK(2),
                            &r),
                     EDOM);
    ck_assert_uint_eq(pp_results_failed(r), 4);
    ck_assert_int_eq(pp_results_get(r, 7, NULL, NULL), EIO);
    ck_assert_int_eq(pp_results_outcome(r, 4, &o), 0);
    ck_assert_int_eq(o.end, PP_END_ERROR);
    ck_assert_int_eq(o.error, EDOM);
    ck_assert_int_ne(o.pid, 0);
    pp_outcome_describe(&o, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "error"));
    pp_results_free(r);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * Items 2, 12 and 17 fail, in the opposite order of their indexes: 17
 * returns EIO at once, 12 kills its worker, and 2 waits at the gate until
 * 17 has failed, then returns EDOM.
 */
static int fail_late_and_early(const struct pp_task *t, struct pp_out *out)
{
    int x = int_arg(t);

    if (x == 17) {
        atomic_fetch_add(&gate->arrived, 1);
        return EIO;
    }
    if (x == 12) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (x == 2) {
        while (atomic_load(&gate->arrived) == 0)
            sleep_ms(1);
        return EDOM;
    }
    return pp_out_write(out, &x, sizeof(x));
}

/*
 * The rule both pools' maps follow: every item runs, and the error
 * reported is the one of the failing item with the lowest index, however
 * the items were scheduled and whichever failed first.
 */
START_TEST(map_reports_lowest_failing_index_and_runs_every_item)
{
    static const size_t chunks[] = { 1, 0, 5 };
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_results *r;
    struct pp_outcome o;
    int args[20], i;
    size_t c;

    for (i = 0; i < 20; i++)
        args[i] = i;
    shm_gate_make();
    /*
     * One frame in flight per worker: the worker waiting in item 2 holds
     * only that item's frame, so item 17 always goes to the other one.
     */
    opt.workers = 2;
    opt.prefetch = 1;
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        atomic_store(&gate->arrived, 0);
        ck_assert_int_eq(pp_map(pool, fail_late_and_early, args, sizeof(int),
                                20, CHUNK(chunks[c]), &r),
                         EDOM);
        ck_assert_uint_eq(pp_results_failed(r), 2);
        for (i = 0; i < 20; i++)
            if (i != 2 && i != 12 && i != 17)
                ck_assert_int_eq(result_int(r, (size_t)i), i);
        ck_assert_int_eq(pp_results_get(r, 17, NULL, NULL), EIO);
        ck_assert_int_eq(pp_results_outcome(r, 12, &o), 0);
        ck_assert_int_eq(o.end, PP_END_SIGNALED);
        ck_assert_int_eq(o.error, EPIPE);
        pp_results_free(r);
    }
    pp_pool_destroy(pool);
    shm_gate_free();
}
END_TEST

/*
 * PP_WAIT_FOREVER is the one negative timeout: any other is a mistake
 * (a deadline computed in the past, say) and gives EINVAL, as NaN does,
 * even on a handle that is done.
 */
START_TEST(negative_timeout_other_than_forever_is_einval)
{
    struct pp_pool *pool = pool_new(1);
    struct pp_handle *h;
    int x = 3;

    ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                    NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_wait(h, -2.0), EINVAL);
    ck_assert_int_eq(pp_handle_wait(h, -0.5), EINVAL);
    ck_assert_int_eq(pp_handle_wait(h, -INFINITY), EINVAL);
    ck_assert_int_eq(pp_handle_wait(h, NAN), EINVAL);
    ck_assert_int_eq(pp_handle_wait(h, INFINITY), 0);
    ck_assert_int_eq(pp_handle_wait(h, 0), 0);
    ck_assert_int_eq(pp_handle_wait(h, -1.0), 0);
    pp_handle_free(h);
    pp_pool_destroy(pool);
}
END_TEST

/* Arguments and results bigger than a socket buffer travel whole. */
START_TEST(large_argument_round_trips_intact)
{
    size_t n = (size_t)8 << 20, i, len;
    struct pp_pool *pool = pool_new(2);
    struct pp_handle *h;
    unsigned char *buf = malloc(n);
    const void *data;

    ck_assert_ptr_nonnull(buf);
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 7 + i / 251);
    ck_assert_int_eq(pp_apply_async(pool, echo, buf, n, NULL, NULL, &h), 0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(h, &data, &len), 0);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(data, buf, n) == 0);
    pp_handle_free(h);
    pp_pool_destroy(pool);
    free(buf);
}
END_TEST

START_TEST(size_limits_give_emsgsize_never_truncation)
{
    struct pp_pool *pool = pool_new(1);
    struct pp_handle *h;
    struct pp_outcome o;
    const void *data;
    size_t len;
    /* Never read: the size check comes first, so no memory is touched. */
    void *huge = malloc(PP_ARG_MAX + 1);

    ck_assert_ptr_nonnull(huge);
    ck_assert_int_eq(pp_apply_async(pool, echo, huge, PP_ARG_MAX + 1, NULL,
                                    NULL, &h),
                     EMSGSIZE);
    ck_assert_ptr_null(h);
    free(huge);

    ck_assert_int_eq(pp_apply_async(pool, too_big, NULL, 0, NULL, NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(h, &data, &len), EMSGSIZE);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(pp_handle_outcome(h, &o), 0);
    ck_assert_int_eq(o.end, PP_END_TOOBIG);
    pp_handle_free(h);
    pp_pool_destroy(pool);
}
END_TEST

/* ---- Async apply, handles, callbacks --------------------------------- */

struct cb_record {
    pthread_mutex_t lock;
    int calls;
    int sum;
    bool in_main_thread;
    pthread_t main;
};

static struct cb_record rec = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false, 0 };

static void record(struct pp_handle *h, void *arg)
{
    const void *data;
    size_t len;
    int v = 0;

    ck_assert_ptr_eq(arg, &rec);
    ck_assert(pp_handle_done(h));
    if (pp_handle_get(h, &data, &len) == 0 && len == sizeof(v))
        memcpy(&v, data, sizeof(v));
    pthread_mutex_lock(&rec.lock);
    rec.calls++;
    rec.sum += v;
    if (pthread_equal(pthread_self(), rec.main))
        rec.in_main_thread = true;
    pthread_mutex_unlock(&rec.lock);
}

START_TEST(apply_async_runs_callback_in_collector)
{
    struct pp_pool *pool = pool_new(2);
    int i, expect = 0;

    rec.main = pthread_self();
    for (i = 0; i < 50; i++) {
        /* No handle: the pool frees it after the callback. */
        ck_assert_int_eq(pp_apply_async(pool, square_ok, &i, sizeof(i),
                                        record, &rec, NULL),
                         0);
        expect += i * i;
    }
    /* close returns after every callback has run. */
    ck_assert_int_eq(pp_pool_close(pool), 0);
    pthread_mutex_lock(&rec.lock);
    ck_assert_int_eq(rec.calls, 50);
    ck_assert_int_eq(rec.sum, expect);
    ck_assert(!rec.in_main_thread);
    pthread_mutex_unlock(&rec.lock);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(timed_wait_times_out_and_task_goes_on)
{
    struct pp_pool *pool;
    struct pp_handle *h;
    const void *data;
    size_t len;
    int x = 42;

    shm_gate_make();
    pool = pool_new(1);
    ck_assert_int_eq(pp_apply_async(pool, wait_gate, &x, sizeof(x), NULL,
                                    NULL, &h),
                     0);
    shm_gate_await(1);
    ck_assert_int_eq(pp_handle_wait(h, 0.05), ETIMEDOUT);
    ck_assert_int_eq(pp_handle_wait(h, 0), ETIMEDOUT);
    ck_assert(!pp_handle_done(h));
    ck_assert_int_eq(pp_handle_get(h, &data, &len), EBUSY);
    atomic_store(&gate->open, 1);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(h, &data, &len), 0);
    ck_assert_uint_eq(len, sizeof(int));
    ck_assert_int_eq(*(const int *)data, 42);
    pp_pool_destroy(pool);
    /* A handle outlives its pool. */
    ck_assert_int_eq(pp_handle_wait(h, 1.0), 0);
    ck_assert_int_eq(pp_handle_get(h, NULL, NULL), 0);
    pp_handle_free(h);
    shm_gate_free();
}
END_TEST

/*
 * A wait that polls first (pp_tuning.spin_ns) answers as a sleeping one
 * does, and a map with NULL options (the default chunk size) as one with
 * chunks of 1.
 */
START_TEST(polling_wait_and_default_map_options_work)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_tuning tuning = PP_TUNING_INIT;
    struct pp_pool *pool = NULL;
    struct pp_results *r;
    struct pp_handle *h;
    const void *data;
    size_t len, i;
    int x = 7, args[40];

    tuning.spin_ns = 1000000;
    o.workers = 2;
    o.tuning = &tuning;
    ck_assert_int_eq(pp_pool_create(&o, &pool), 0);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                        NULL, &h),
                         0);
        ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
        ck_assert(pp_handle_done(h));
        ck_assert_int_eq(pp_handle_get(h, &data, &len), 0);
        ck_assert_uint_eq(len, sizeof(int));
        ck_assert_int_eq(*(const int *)data, 49);
        pp_handle_free(h);
    }
    for (i = 0; i < 40; i++)
        args[i] = (int)i;
    ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 40, NULL,
                            &r),
                     0);
    ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);
    for (i = 0; i < 40; i++)
        ck_assert_int_eq(result_int(r, i), (int)(i * i));
    pp_results_free(r);
    pp_pool_destroy(pool);
}
END_TEST

/* ---- Crashes --------------------------------------------------------- */

START_TEST(segfault_among_hundred_good_tasks)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_results *r;
    struct pp_outcome o;
    struct pp_stats st;
    int args[100], i;
    char text[128];

    for (i = 0; i < 100; i++)
        args[i] = i;
    ck_assert_int_eq(pp_map(pool, square, args, sizeof(int), 100, CHUNK(1), &r),
                     EPIPE);
    ck_assert_uint_eq(pp_results_failed(r), 57);
    for (i = 0; i < 100; i++)
        if (i != 57)
            ck_assert_int_eq(result_int(r, (size_t)i), i * i);
    ck_assert_int_eq(pp_results_outcome(r, 57, &o), 0);
    ck_assert_int_eq(o.end, PP_END_SIGNALED);
    ck_assert_int_eq(o.signal, SIGSEGV);
    pp_outcome_describe(&o, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "SIGSEGV"));
    pp_results_free(r);

    /* Still usable, with a replacement worker. */
    ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 100, CHUNK(1),
                            &r),
                     0);
    for (i = 0; i < 100; i++)
        ck_assert_int_eq(result_int(r, (size_t)i), i * i);
    pp_results_free(r);
    await_replacement(pool, o.pid);
    ck_assert_int_eq(pp_pool_stats(pool, &st), 0);
    ck_assert_uint_eq(st.crashed, 1);
    ck_assert_uint_eq(st.workers_started, 3);
    ck_assert_uint_eq(st.workers, 2);
    pp_pool_destroy(pool);
}
END_TEST

/* Chunks save messages, not correctness: only the crashing item is lost. */
START_TEST(crash_inside_a_chunk_costs_only_that_item)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_results *r;
    struct pp_outcome o;
    int args[100], i;

    for (i = 0; i < 100; i++)
        args[i] = i;
    ck_assert_int_eq(pp_map(pool, square, args, sizeof(int), 100, CHUNK(10),
                            &r),
                     EPIPE);
    ck_assert_uint_eq(pp_results_failed(r), 57);
    for (i = 0; i < 100; i++)
        if (i != 57)
            ck_assert_int_eq(result_int(r, (size_t)i), i * i);
    ck_assert_int_eq(pp_results_outcome(r, 57, &o), 0);
    ck_assert_int_eq(o.signal, SIGSEGV);
    pp_results_free(r);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * The speed remedies of struct pp_tuning, each switched off in turn (the
 * first entry leaves them all on): none may change an outcome.
 */
static const struct pp_tuning tunings[] = {
    PP_TUNING_INIT,
    { .no_poll = true },
    { .no_direct = true },
    { .no_handoff = true },
    { .no_ring = true },
    { .no_prefault = true },
    { .cascade = true },
};

/* How many times each item ran, in shared memory made before the pool. */
static _Atomic int *runs;

/* Counts its run, then is square: item 150 dies in it. */
static int counted_square(const struct pp_task *t, struct pp_out *out)
{
    int x = int_arg(t);

    atomic_fetch_add(&runs[t->index], 1);
    if (x == 150) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    x *= x;
    return pp_out_write(out, &x, sizeof(x));
}

/*
 * A worker keeps the answers of the items it finished in a ring in shared
 * memory and sends many at once (pp_worker.c).  When it dies, answers not
 * yet sent are in its ring: they must count, so that the crash costs the
 * item it interrupted and nothing else, and no item runs twice.  One
 * worker and 200 one-item frames make sure that answers are waiting in
 * the ring when item 150 crashes.
 */
START_TEST(crash_after_unsent_answers_loses_only_the_crasher)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_shm *shm;
    struct pp_pool *pool;
    struct pp_results *r;
    struct pp_outcome out;
    size_t k, chunk;
    int args[200], i;

    for (i = 0; i < 200; i++)
        args[i] = i;
    ck_assert_int_eq(pp_shm_create(200 * sizeof(*runs), &shm), 0);
    runs = pp_shm_base(shm);
    for (k = 0; k < sizeof(tunings) / sizeof(tunings[0]); k++) {
        for (chunk = 1; chunk <= 10; chunk += 9) {
            memset((void *)runs, 0, 200 * sizeof(*runs));
            o.workers = 1;
            o.tuning = &tunings[k];
            ck_assert_int_eq(pp_pool_create(&o, &pool), 0);
            ck_assert_int_eq(pp_map(pool, counted_square, args, sizeof(int),
                                    200, CHUNK(chunk), &r),
                             EPIPE);
            ck_assert_uint_eq(pp_results_failed(r), 150);
            ck_assert_int_eq(pp_results_outcome(r, 150, &out), 0);
            ck_assert_int_eq(out.signal, SIGSEGV);
            for (i = 0; i < 200; i++) {
                ck_assert_int_eq(atomic_load(&runs[i]), 1);
                if (i != 150)
                    ck_assert_int_eq(result_int(r, (size_t)i), i * i);
            }
            pp_results_free(r);
            pp_pool_destroy(pool);
        }
    }
    pp_shm_destroy(shm);
    runs = NULL;
}
END_TEST

/*
 * A caller waiting for a lone apply reads the worker's answer itself (the
 * direct path, procpool.c).  It must still learn of a worker killed under
 * its task, after it has given up polling and sleeps; and a caller that
 * polls pp_handle_done, or frees its handle without waiting, or closes
 * the pool, must not wait for ever for an answer nobody reads, even one
 * the worker kept back in its ring for that caller (the hand-off).
 */
START_TEST(lone_apply_ends_however_its_caller_waits)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_handle *h;
    struct pp_outcome out;
    struct pp_stats st;
    const void *data;
    size_t k, n, len;
    pid_t pid;
    int x = 7, i;

    shm_gate_make();
    for (k = 0; k < sizeof(tunings) / sizeof(tunings[0]); k++) {
        atomic_store(&gate->arrived, 0);
        o.workers = 1;
        o.tuning = &tunings[k];
        ck_assert_int_eq(pp_pool_create(&o, &pool), 0);

        /* Killed while its caller sleeps. */
        ck_assert_int_eq(pp_apply_async(pool, forever, NULL, 0, NULL, NULL,
                                        &h),
                         0);
        shm_gate_await(1);
        ck_assert_int_eq(pp_handle_wait(h, 0.01), ETIMEDOUT);
        ck_assert_int_eq(pp_pool_pids(pool, &pid, 1, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
        ck_assert_int_eq(pp_handle_outcome(h, &out), 0);
        ck_assert_int_eq(out.end, PP_END_SIGNALED);
        ck_assert_int_eq(out.signal, SIGKILL);
        pp_handle_free(h);

        /* Polled with pp_handle_done, never waited for. */
        for (i = 0; i < 20; i++) {
            ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x),
                                            NULL, NULL, &h),
                             0);
            while (!pp_handle_done(h))
                ;
            ck_assert_int_eq(pp_handle_get(h, &data, &len), 0);
            ck_assert_uint_eq(len, sizeof(int));
            ck_assert_int_eq(*(const int *)data, 49);
            pp_handle_free(h);
        }

        /* Outlasts its caller's poll: its worker must send it then. */
        ck_assert_int_eq(pp_apply_async(pool, nap_return_pid, NULL, 0, NULL,
                                        NULL, &h),
                         0);
        ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
        ck_assert_int_eq(pp_handle_get(h, NULL, &len), 0);
        ck_assert_uint_eq(len, sizeof(pid_t));
        pp_handle_free(h);

        /* Answered before anyone looks (it waits in the worker's ring):
         * first waited for, then freed unread. */
        for (i = 0; i < 2; i++) {
            ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x),
                                            NULL, NULL, &h),
                             0);
            sleep_ms(5);
            if (i == 0) {
                ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
                ck_assert_int_eq(pp_handle_get(h, &data, &len), 0);
                ck_assert_int_eq(*(const int *)data, 49);
            }
            pp_handle_free(h);
        }

        /* Freed at once, then one left alone: close still returns. */
        ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                        NULL, &h),
                         0);
        pp_handle_free(h);
        ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                        NULL, &h),
                         0);
        ck_assert_int_eq(pp_pool_close(pool), 0);
        ck_assert(pp_handle_done(h));
        ck_assert_int_eq(pp_handle_get(h, NULL, NULL), 0);
        pp_handle_free(h);
        ck_assert_int_eq(pp_pool_stats(pool, &st), 0);
        ck_assert_uint_eq(st.completed, 26);
        ck_assert_uint_eq(st.crashed, 1);
        pp_pool_destroy(pool);
    }
    shm_gate_free();
}
END_TEST

START_TEST(abort_and_exit_name_signal_and_status)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_handle *ha, *hx;
    struct pp_outcome o;
    int a = -1, x = -2;
    char text[128];

    ck_assert_int_eq(pp_apply_async(pool, square, &a, sizeof(a), NULL, NULL,
                                    &ha),
                     0);
    ck_assert_int_eq(pp_apply_async(pool, square, &x, sizeof(x), NULL, NULL,
                                    &hx),
                     0);
    ck_assert_int_eq(pp_handle_wait(ha, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_wait(hx, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(ha, NULL, NULL), EPIPE);
    ck_assert_int_eq(pp_handle_outcome(ha, &o), 0);
    ck_assert_int_eq(o.end, PP_END_SIGNALED);
    ck_assert_int_eq(o.signal, SIGABRT);
    ck_assert_ptr_nonnull(
        strstr(pp_outcome_describe(&o, text, sizeof(text)), "SIGABRT"));
    ck_assert_int_eq(pp_handle_outcome(hx, &o), 0);
    ck_assert_int_eq(o.end, PP_END_EXITED);
    ck_assert_int_eq(o.exit_status, 3);
    ck_assert_ptr_nonnull(
        strstr(pp_outcome_describe(&o, text, sizeof(text)), "status 3"));
    pp_handle_free(ha);
    pp_handle_free(hx);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * A program that ignores SIGCHLD has its children reaped unseen; the fork
 * server must not inherit that, or no crash would ever be reported.
 */
START_TEST(crash_reported_even_with_sigchld_ignored)
{
    struct pp_pool *pool;
    struct pp_handle *h;
    struct pp_outcome o;
    int x = 57;

    signal(SIGCHLD, SIG_IGN);
    pool = pool_new(1);
    ck_assert_int_eq(pp_apply_async(pool, square, &x, sizeof(x), NULL, NULL,
                                    &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_outcome(h, &o), 0);
    ck_assert_int_eq(o.signal, SIGSEGV);
    pp_handle_free(h);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(worker_killed_from_outside_is_replaced)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_results *r;
    pid_t pids[2], after[2];
    int args[20], i;
    size_t n;

    ck_assert_int_eq(pp_pool_pids(pool, pids, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
    /* Until the replacement is there, the work goes to the other one. */
    for (i = 0; i < 20; i++)
        args[i] = i;
    ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 20, CHUNK(1),
                            &r),
                     0);
    pp_results_free(r);
    await_replacement(pool, pids[0]);
    ck_assert_int_eq(pp_pool_pids(pool, after, 2, &n), 0);
    ck_assert(after[0] != pids[0] && after[1] != pids[0]);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * Waits until process pid has ended (its /proc entry is gone, or it is a
 * zombie: nothing of it runs any more).
 */
static void await_gone(pid_t pid)
{
    char path[64], buf[512], *p, state;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (;;) {
        if ((f = fopen(path, "r")) == NULL)
            return;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
            sscanf(p + 1, " %c", &state) != 1 || state == 'Z' ||
            state == 'X')
            return;
        sleep_ms(1);
    }
}

/*
 * Even the fork server may be killed from outside: its workers die with
 * it (PDEATHSIG), and the pool starts a new server and new workers.
 *
 * The map starts once the old workers are dead, though perhaps before the
 * pool has noticed: items may then go to a dead worker, which never
 * started them, and they must go to another worker, so every item ends
 * well.  (Mapping while the old workers were still dying could let one of
 * them start an item before the kernel killed it: that item would be
 * lost, as a crash costs the item it interrupts.)
 */
START_TEST(fork_server_killed_is_replaced)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_results *r;
    pid_t pids[2], server;
    int args[50], i;
    size_t n;

    ck_assert_int_eq(pp_pool_pids(pool, pids, 2, &n), 0);
    server = parent_of(pids[0]);
    ck_assert_int_ne(server, getpid());
    ck_assert_int_eq(parent_of(pids[1]), server);
    ck_assert_int_eq(kill(server, SIGKILL), 0);
    await_gone(pids[0]);
    await_gone(pids[1]);
    for (i = 0; i < 50; i++)
        args[i] = i;
    ck_assert_int_eq(pp_map(pool, square_ok, args, sizeof(int), 50, CHUNK(1),
                            &r),
                     0);
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(result_int(r, (size_t)i), i * i);
    pp_results_free(r);
    await_replacement(pool, pids[0]);
    await_replacement(pool, pids[1]);
    ck_assert_int_eq(pp_pool_pids(pool, pids, 2, &n), 0);
    ck_assert_int_ne(parent_of(pids[0]), server);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(task_over_time_limit_ends_etimedout)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_handle *h, *ok;
    struct pp_outcome o;
    struct pp_stats st;
    int x = 5;

    shm_gate_make();
    opt.workers = 2;
    opt.task_timeout_ms = time_limit_ms();
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    ck_assert_int_eq(pp_apply_async(pool, forever, NULL, 0, NULL, NULL, &h),
                     0);
    ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                    NULL, &ok),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(h, NULL, NULL), ETIMEDOUT);
    ck_assert_int_eq(pp_handle_outcome(h, &o), 0);
    ck_assert_int_eq(o.end, PP_END_TIMEDOUT);
    await_replacement(pool, o.pid);
    ck_assert_int_eq(pp_handle_wait(ok, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(ok, NULL, NULL), 0);
    /* A replacement came, and still serves. */
    pp_handle_free(ok);
    ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                    NULL, &ok),
                     0);
    ck_assert_int_eq(pp_handle_wait(ok, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(ok, NULL, NULL), 0);
    ck_assert_int_eq(pp_pool_stats(pool, &st), 0);
    ck_assert_uint_eq(st.timed_out, 1);
    ck_assert_uint_eq(st.workers_started, 3);
    pp_handle_free(ok);
    pp_handle_free(h);
    pp_pool_destroy(pool);
    shm_gate_free();
}
END_TEST

START_TEST(recycling_changes_pids_after_k_tasks)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_results *r;
    struct pp_stats st;
    pid_t seen[30], first[2], now[2];
    char args[30] = { 0 };
    size_t i, j, distinct = 0, same, len, n;
    const void *data;

    opt.workers = 2;
    opt.max_tasks_per_child = 3;
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    ck_assert_int_eq(pp_pool_pids(pool, first, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(pp_map(pool, return_pid, args, 1, 30, CHUNK(1), &r), 0);
    for (i = 0; i < 30; i++) {
        ck_assert_int_eq(pp_results_get(r, i, &data, &len), 0);
        memcpy(&seen[i], data, sizeof(pid_t));
    }
    for (i = 0; i < 30; i++) {
        same = 0;
        for (j = 0; j < 30; j++)
            same += seen[j] == seen[i];
        ck_assert_uint_le(same, 3);
        for (j = 0; j < i && seen[j] != seen[i]; j++)
            ;
        distinct += j == i;
    }
    /* 30 tasks, at most 3 each: at least 10 workers (the last two may
     * share their tasks unevenly, making 11). */
    ck_assert_uint_ge(distinct, 10);
    ck_assert_uint_le(distinct, 11);
    /*
     * The first workers were given 3 tasks each at once, so they are gone
     * or going; their replacements show in pp_pool_pids once reaped.  So
     * do those of the last workers, which may still be leaving after their
     * third task as the map returns (a slot shows no pid until its new
     * worker runs): wait until two workers show, neither a first one.
     */
    for (;;) {
        ck_assert_int_eq(pp_pool_pids(pool, now, 2, &n), 0);
        if (n == 2 && now[0] != first[0] && now[0] != first[1] &&
            now[1] != first[0] && now[1] != first[1])
            break;
        sleep_ms(1);
    }
    pp_results_free(r);
    ck_assert_int_eq(pp_pool_close(pool), 0);
    ck_assert_int_eq(pp_pool_stats(pool, &st), 0);
    ck_assert_uint_ge(st.workers_recycled, 8);
    ck_assert_uint_eq(st.crashed, 0);
    pp_pool_destroy(pool);
}
END_TEST

/* ---- Shared memory and the shared dictionary ------------------------- */

static struct pp_dict *counter_dict;
static int increments_per_task;

static int bump(const struct pp_task *t, struct pp_out *out)
{
    int i, rc;

    (void)t;
    (void)out;
    for (i = 0; i < increments_per_task; i++)
        if ((rc = pp_dict_add(counter_dict, "counter", 1, NULL)) != 0)
            return rc;
    return 0;
}

START_TEST(dict_counter_is_exact_across_workers)
{
    int total = tests_slow() ? 10000 : 100000, tasks = 100;
    struct pp_pool *pool;
    struct pp_results *r;
    char args[100] = { 0 };
    int64_t v;

    increments_per_task = total / tasks;
    ck_assert_int_eq(pp_dict_create(8, &counter_dict), 0);
    pool = pool_new(4);
    ck_assert_int_eq(pp_map(pool, bump, args, 1, (size_t)tasks, CHUNK(1), &r),
                     0);
    pp_results_free(r);
    ck_assert_int_eq(pp_dict_get(counter_dict, "counter", &v), 0);
    ck_assert_int_eq(v, total);
    ck_assert_uint_eq(pp_dict_recoveries(counter_dict), 0);
    pp_pool_destroy(pool);
    pp_dict_destroy(counter_dict);
}
END_TEST

/*
 * The writer of the crash test: inserts and removes keys for ever, so that
 * nearly every call adds an entry.  Keys "s0".."s7" get odd values from
 * pp_dict_set, keys "a0".."a7" even ones from pp_dict_add (2 at a time):
 * no writer ever makes a key 0.
 */
static _Noreturn void dict_writer(struct pp_dict *d)
{
    char key[8];
    int64_t v = 1;
    unsigned i;

    for (i = 0;; i++) {
        snprintf(key, sizeof(key), "s%u", i % 8);
        pp_dict_set(d, key, v);
        v += 2;
        if (i % 3 != 0)
            pp_dict_remove(d, key);
        snprintf(key, sizeof(key), "a%u", i % 8);
        pp_dict_add(d, key, 2, NULL);
        if (i % 2 != 0)
            pp_dict_remove(d, key);
    }
}

struct dict_check {
    size_t visible;
    bool bad;
    char why[96];
};

static void check_entry(const char *key, int64_t value, void *arg)
{
    struct dict_check *c = arg;
    bool ok = key[0] == 's' ? value > 0 && value % 2 == 1
                            : key[0] == 'a' && value > 0 && value % 2 == 0;

    c->visible++;
    if (!ok && !c->bad) {
        c->bad = true;
        snprintf(c->why, sizeof(c->why), "%s = %lld", key, (long long)value);
    }
}

/*
 * A writer killed at any instant of pp_dict_set, pp_dict_add or
 * pp_dict_remove leaves the table as it was before or after that call:
 * every key visible holds a value some writer stored, and the count
 * matches.  1000 kills at random moments (100 under valgrind and TSan).
 */
START_TEST(dict_write_killed_at_any_point_is_all_or_nothing)
{
    int kills = tests_slow() ? 100 : 1000, i, status;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    struct dict_check c;
    struct timespec ts;
    struct pp_dict *d;
    pid_t child;
    int rc;

    ck_assert_int_eq(pp_dict_create(64, &d), 0);
    for (i = 0; i < kills; i++) {
        /*
         * The child goes straight to work: a passing ck_assert writes to
         * Check's channel, and a child killed in the middle of that write
         * would garble the parent's messages.
         */
        if ((child = fork()) == 0)
            dict_writer(d);
        ck_assert_int_gt(child, 0);
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(rand_r(&seed) % 300) * 1000;
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(child, SIGKILL), 0);
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        rc = pp_dict_lock(d);
        ck_assert(rc == 0 || rc == EOWNERDEAD);
        memset(&c, 0, sizeof(c));
        ck_assert_int_eq(pp_dict_foreach(d, check_entry, &c), 0);
        ck_assert_msg(!c.bad, "kill %d (seed %u): %s", i, seed, c.why);
        ck_assert_uint_eq(pp_dict_count(d), c.visible);
        pp_dict_unlock(d);
    }
    pp_dict_destroy(d);
}
END_TEST

static int die_holding_lock(const struct pp_task *t, struct pp_out *out)
{
    (void)t;
    (void)out;
    if (pp_dict_lock(counter_dict) != 0)
        return EPROTO;
    pp_dict_set(counter_dict, "half", 1);
    raise(SIGKILL);
    return 0;
}

START_TEST(dict_survives_worker_killed_holding_lock)
{
    struct pp_pool *pool;
    struct pp_handle *h;
    struct pp_outcome o;
    struct pp_results *r;
    char args[10] = { 0 };
    int64_t v;

    increments_per_task = 10;
    ck_assert_int_eq(pp_dict_create(8, &counter_dict), 0);
    pool = pool_new(2);
    ck_assert_int_eq(pp_apply_async(pool, die_holding_lock, NULL, 0, NULL,
                                    NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_outcome(h, &o), 0);
    ck_assert_int_eq(o.end, PP_END_SIGNALED);
    ck_assert_int_eq(o.signal, SIGKILL);
    pp_handle_free(h);
    /* The workers take the dead process's lock and go on. */
    ck_assert_int_eq(pp_map(pool, bump, args, 1, 10, CHUNK(1), &r), 0);
    pp_results_free(r);
    ck_assert_int_eq(pp_dict_get(counter_dict, "counter", &v), 0);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(pp_dict_get(counter_dict, "half", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_uint_eq(pp_dict_recoveries(counter_dict), 1);
    ck_assert_uint_eq(pp_dict_count(counter_dict), 2);
    pp_pool_destroy(pool);
    pp_dict_destroy(counter_dict);
}
END_TEST

START_TEST(dict_lock_reports_eownerdead_to_its_taker)
{
    struct pp_pool *pool;
    struct pp_handle *h;

    ck_assert_int_eq(pp_dict_create(8, &counter_dict), 0);
    pool = pool_new(1);
    ck_assert_int_eq(pp_apply_async(pool, die_holding_lock, NULL, 0, NULL,
                                    NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    pp_handle_free(h);
    ck_assert_int_eq(pp_dict_lock(counter_dict), EOWNERDEAD);
    pp_dict_unlock(counter_dict);
    ck_assert_int_eq(pp_dict_lock(counter_dict), 0);
    pp_dict_unlock(counter_dict);
    pp_pool_destroy(pool);
    pp_dict_destroy(counter_dict);
}
END_TEST

static void sum_entry(const char *key, int64_t value, void *arg)
{
    (void)key;
    *(int64_t *)arg += value;
}

START_TEST(dict_set_get_remove_and_capacity)
{
    struct pp_dict *d;
    char key[PP_DICT_KEY_MAX + 2];
    int64_t v, sum = 0;
    int i;

    ck_assert_int_eq(pp_dict_create(3, &d), 0);
    ck_assert_int_eq(pp_dict_set(d, "x", 5), 0);
    ck_assert_int_eq(pp_dict_add(d, "x", -7, &v), 0);
    ck_assert_int_eq(v, -2);
    ck_assert_int_eq(pp_dict_set(d, "y", 10), 0);
    ck_assert_int_eq(pp_dict_set(d, "z", 20), 0);
    ck_assert_int_eq(pp_dict_set(d, "w", 1), ENOSPC);
    ck_assert_int_eq(pp_dict_get(d, "w", &v), ENOENT);
    ck_assert_int_eq(pp_dict_remove(d, "y"), 0);
    ck_assert_int_eq(pp_dict_remove(d, "y"), ENOENT);
    ck_assert_int_eq(pp_dict_set(d, "w", 1), 0);
    ck_assert_int_eq(pp_dict_foreach(d, sum_entry, &sum), 0);
    ck_assert_int_eq(sum, -2 + 20 + 1);
    /* Many removals leave markers behind; the table must still work. */
    ck_assert_int_eq(pp_dict_remove(d, "w"), 0);
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "tmp%d", i);
        ck_assert_int_eq(pp_dict_set(d, key, i), 0);
        ck_assert_int_eq(pp_dict_remove(d, key), 0);
    }
    ck_assert_int_eq(pp_dict_set(d, "w", 1), 0);
    ck_assert_uint_eq(pp_dict_count(d), 3);
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    ck_assert_int_eq(pp_dict_set(d, key, 1), EINVAL);
    key[PP_DICT_KEY_MAX] = '\0';
    ck_assert_int_eq(pp_dict_remove(d, "x"), 0);
    ck_assert_int_eq(pp_dict_set(d, key, 1), 0);
    ck_assert_int_eq(pp_dict_get(d, key, &v), 0);
    ck_assert_int_eq(v, 1);
    pp_dict_destroy(d);
}
END_TEST

/* The large-data path: each task sums its chunk and writes the sum in. */
static uint64_t *sum_data;
static uint64_t *sum_out;

static int sum_chunk(const struct pp_task *t, struct pp_out *out)
{
    const uint64_t *p = t->item;
    size_t i, n = t->arg_len / sizeof(uint64_t);
    uint64_t s = 0;

    (void)out;
    for (i = 0; i < n; i++)
        s += p[i];
    sum_out[t->index] = s;
    return 0;
}

START_TEST(shm_sum_copies_no_bytes)
{
    size_t bytes = tests_slow() ? (size_t)32 << 20 : (size_t)256 << 20;
    size_t chunk = (size_t)1 << 20, nchunks = bytes / chunk, n, i;
    struct pp_shm *data, *out;
    struct pp_stats before, after;
    struct pp_results *r;
    struct pp_pool *pool;
    uint64_t total = 0;

    ck_assert_int_eq(pp_shm_create(bytes, &data), 0);
    ck_assert_int_eq(pp_shm_create(nchunks * sizeof(uint64_t), &out), 0);
    sum_data = pp_shm_base(data);
    sum_out = pp_shm_base(out);
    pool = pool_new(2);
    /* Filled after the pool started: shared pages, so workers see it. */
    n = bytes / sizeof(uint64_t);
    for (i = 0; i < n; i++)
        sum_data[i] = i;
    ck_assert_int_eq(pp_pool_stats(pool, &before), 0);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = data,
                                                        .offset = 0,
                                                        .item_size = chunk,
                                                        .count = nchunks },
                                CHUNK(1), &r),
                     0);
    ck_assert_int_eq(pp_pool_stats(pool, &after), 0);
    for (i = 0; i < nchunks; i++)
        total += sum_out[i];
    ck_assert(total == (uint64_t)n * (n - 1) / 2);
    ck_assert(after.bytes_copied == before.bytes_copied);
    ck_assert(after.messages - before.messages == 2 * nchunks);
    pp_results_free(r);
    pp_pool_destroy(pool);
    pp_shm_destroy(data);
    pp_shm_destroy(out);
}
END_TEST

START_TEST(shm_made_after_pool_is_refused)
{
    struct pp_pool *pool = pool_new(1);
    struct pp_results *r;
    struct pp_shm *late;

    ck_assert_int_eq(pp_shm_create(4096, &late), 0);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = late,
                                                        .offset = 0,
                                                        .item_size = 8,
                                                        .count = 1 },
                                CHUNK(1), &r),
                     EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);
    pp_shm_destroy(late);
    pp_pool_destroy(pool);
}
END_TEST

/* ---- Shutdown and what is left behind -------------------------------- */

START_TEST(close_finishes_queued_work_then_refuses)
{
    struct pp_pool *pool = pool_new(2);
    struct pp_handle *h[20];
    struct pp_results *r;
    int i, x = 3;

    for (i = 0; i < 20; i++)
        ck_assert_int_eq(pp_apply_async(pool, square_ok, &i, sizeof(i), NULL,
                                        NULL, &h[i]),
                         0);
    ck_assert_int_eq(pp_pool_close(pool), 0);
    for (i = 0; i < 20; i++) {
        ck_assert(pp_handle_done(h[i]));
        ck_assert_int_eq(pp_handle_get(h[i], NULL, NULL), 0);
        pp_handle_free(h[i]);
    }
    ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                    NULL, &h[0]),
                     ESHUTDOWN);
    ck_assert_ptr_null(h[0]);
    ck_assert_int_eq(pp_map(pool, square_ok, &x, sizeof(x), 1, CHUNK(1), &r),
                     ESHUTDOWN);
    ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(terminate_kills_workers_and_cancels)
{
    struct pp_pool *pool;
    struct pp_handle *h[6];
    struct pp_outcome o;
    struct pp_stats st;
    int i, cancelled = 0;

    shm_gate_make();
    pool = pool_new(2);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(pp_apply_async(pool, forever, NULL, 0, NULL, NULL,
                                        &h[i]),
                         0);
    shm_gate_await(2);
    ck_assert_int_eq(pp_pool_terminate(pool), 0);
    for (i = 0; i < 6; i++) {
        ck_assert(pp_handle_done(h[i]));
        ck_assert_int_eq(pp_handle_outcome(h[i], &o), 0);
        cancelled += o.end == PP_END_CANCELLED;
        ck_assert_int_eq(o.error, ECANCELED);
        pp_handle_free(h[i]);
    }
    ck_assert_int_eq(cancelled, 6);
    ck_assert_int_eq(pp_pool_stats(pool, &st), 0);
    ck_assert_uint_eq(st.workers, 0);
    ck_assert_uint_eq(st.cancelled, 6);
    pp_pool_destroy(pool);
    shm_gate_free();
}
END_TEST

static void *terminate_later(void *arg)
{
    shm_gate_await(2);
    pp_pool_terminate(arg);
    return NULL;
}

START_TEST(terminate_during_map_cancels_the_rest)
{
    struct pp_pool *pool;
    struct pp_results *r;
    struct pp_outcome o;
    pthread_t t;
    int args[10] = { 0 };
    size_t i;

    shm_gate_make();
    pool = pool_new(2);
    ck_assert_int_eq(pthread_create(&t, NULL, terminate_later, pool), 0);
    ck_assert_int_eq(pp_map(pool, forever, args, sizeof(int), 10, CHUNK(1), &r),
                     ECANCELED);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(pp_results_failed(r), 0);
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(pp_results_outcome(r, i, &o), 0);
        ck_assert_int_eq(o.end, PP_END_CANCELLED);
    }
    pp_results_free(r);
    pp_pool_destroy(pool);
    shm_gate_free();
}
END_TEST

/* Runs a pool through crashes, a time limit and recycling. */
static void exercise(void)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_results *r;
    struct pp_handle *h;
    int args[100], i;

    opt.workers = 3;
    opt.max_tasks_per_child = 40;
    opt.task_timeout_ms = time_limit_ms();
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    for (i = 0; i < 100; i++)
        args[i] = i;
    args[10] = -1;
    args[20] = -2;
    ck_assert_int_eq(pp_map(pool, square, args, sizeof(int), 100, CHUNK(1), &r),
                     EPIPE);
    ck_assert_uint_eq(pp_results_failed(r), 10);
    pp_results_free(r);
    ck_assert_int_eq(pp_apply_async(pool, forever, NULL, 0, NULL, NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_get(h, NULL, NULL), ETIMEDOUT);
    pp_handle_free(h);
    pp_pool_destroy(pool);
}

START_TEST(no_zombie_or_fd_left_after_destroy)
{
    int fds, kids, zombies, z;

    shm_gate_make();
    fds = fd_count();
    kids = count_children(&zombies);
    exercise();
    ck_assert_int_eq(fd_count(), fds);
    ck_assert_int_eq(count_children(&z), kids);
    ck_assert_int_eq(z, zombies);
    shm_gate_free();
}
END_TEST

START_TEST(two_pools_do_not_hold_each_other)
{
    struct pp_pool *a, *b;
    struct pp_results *r;
    int fds = fd_count(), kids = count_children(NULL), x[4] = { 1, 2, 3, 4 };

    a = pool_new(2);
    b = pool_new(2);
    /*
     * b's fork server was forked while a's sockets were open.  Had it kept
     * them, a's workers would never see EOF and this would hang.
     */
    pp_pool_destroy(a);
    ck_assert_int_eq(pp_map(b, square_ok, x, sizeof(int), 4, CHUNK(1), &r),
                     0);
    ck_assert_int_eq(result_int(r, 3), 16);
    pp_results_free(r);
    pp_pool_destroy(b);
    ck_assert_int_eq(fd_count(), fds);
    ck_assert_int_eq(count_children(NULL), kids);
}
END_TEST

/*
 * A program using a pool dies from a signal: its workers must die too.
 * This process becomes a subreaper, so the orphans become its children;
 * waiting for all of them to end proves none is left (a survivor would
 * make waitpid block until Check's timeout fails the test).
 */
static void parent_killed_by(int sig)
{
    pid_t child, pids[3];
    int fd[2], status;
    size_t n, i;
    ssize_t got;

    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ck_assert_int_eq(pipe(fd), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct pp_pool *pool;
        struct pp_handle *h;

        /*
         * This process is a copy of Check's test process, whose handlers
         * pass SIGTERM and SIGINT on to the whole test; a real program
         * would just die of them.
         */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        close(fd[0]);
        shm_gate_make();
        pool = pool_new(3);
        for (i = 0; i < 2; i++)
            if (pp_apply_async(pool, forever, NULL, 0, NULL, NULL, &h) != 0)
                _exit(2);
        shm_gate_await(2);
        if (pp_pool_pids(pool, pids, 3, &n) != 0 || n != 3 ||
            write(fd[1], pids, sizeof(pids)) != (ssize_t)sizeof(pids))
            _exit(2);
        for (;;)
            pause();
    }
    close(fd[1]);
    got = read(fd[0], pids, sizeof(pids));
    close(fd[0]);
    ck_assert_int_eq(got, (ssize_t)sizeof(pids));
    ck_assert_int_eq(kill(child, sig), 0);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig);
    /* Everything else that was below it is now ours: wait for it all. */
    while (waitpid(-1, &status, 0) > 0 || errno == EINTR)
        ;
    ck_assert_int_eq(errno, ECHILD);
    for (i = 0; i < 3; i++)
        ck_assert(kill(pids[i], 0) != 0 && errno == ESRCH);
}

START_TEST(parent_killed_by_sigterm_leaves_no_worker)
{
    parent_killed_by(SIGTERM);
}
END_TEST

START_TEST(parent_killed_by_sigint_leaves_no_worker)
{
    parent_killed_by(SIGINT);
}
END_TEST

/* ---- Wrong arguments ------------------------------------------------- */

START_TEST(wrong_arguments_give_einval)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool, *none;
    struct pp_handle *h;
    struct pp_results *r;
    struct pp_shm *shm, *none_shm;
    struct pp_dict *d;
    struct pp_arg a[PP_STARMAP_ARGS_MAX + 1];
    struct pp_stats st;
    int x = 1;
    size_t n;

    ck_assert_int_eq(pp_shm_create(4096, &shm), 0);
    ck_assert_int_eq(pp_pool_create(NULL, NULL), EINVAL);
    opt.workers = PP_WORKERS_MAX + 1;
    ck_assert_int_eq(pp_pool_create(&opt, &none), EINVAL);
    ck_assert_ptr_null(none);
    opt.workers = 1;
    opt.prefetch = PP_PREFETCH_MAX + 1;
    ck_assert_int_eq(pp_pool_create(&opt, &none), EINVAL);
    pool = pool_new(1);

    ck_assert_int_eq(pp_apply_async(NULL, square_ok, &x, sizeof(x), NULL,
                                    NULL, &h),
                     EINVAL);
    ck_assert_int_eq(pp_apply_async(pool, NULL, &x, sizeof(x), NULL, NULL,
                                    &h),
                     EINVAL);
    ck_assert_int_eq(pp_apply_async(pool, square_ok, NULL, 4, NULL, NULL,
                                    &h),
                     EINVAL);
    ck_assert_ptr_null(h);

    ck_assert_int_eq(pp_map(NULL, square_ok, &x, 4, 1, CHUNK(1), &r), EINVAL);
    ck_assert_int_eq(pp_map(pool, NULL, &x, 4, 1, CHUNK(1), &r), EINVAL);
    ck_assert_int_eq(pp_map(pool, square_ok, &x, 0, 1, CHUNK(1), &r), EINVAL);
    ck_assert_int_eq(pp_map(pool, square_ok, NULL, 4, 1, CHUNK(1), &r),
                     EINVAL);
    ck_assert_int_eq(pp_map(pool, square_ok, &x, 4, 1, CHUNK(1), NULL),
                     EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(pp_results_failed(r), PP_NO_INDEX);

    memset(a, 0, sizeof(a));
    ck_assert_int_eq(pp_starmap(pool, dict_store, a, 0, 1, CHUNK(1), &r),
                     EINVAL);
    ck_assert_int_eq(pp_starmap(pool, dict_store, a, PP_STARMAP_ARGS_MAX + 1, 1,
                                CHUNK(1), &r),
                     EINVAL);
    a[0].len = 3; /* data NULL with a length */
    ck_assert_int_eq(pp_starmap(pool, dict_store, a, 1, 1, CHUNK(1), &r),
                     EINVAL);

    ck_assert_int_eq(pp_map_shm(pool, sum_chunk, NULL, NULL, &r), EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = NULL,
                                                        .offset = 0,
                                                        .item_size = 8,
                                                        .count = 1 },
                                CHUNK(1), &r),
                     EINVAL);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = shm, .offset = 0,
                                                        .item_size = 0,
                                                        .count = 1 },
                                CHUNK(1), &r),
                     EINVAL);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = shm,
                                                        .offset = 4096 - 8,
                                                        .item_size = 16,
                                                        .count = 1 },
                                CHUNK(1), &r),
                     EINVAL);
    ck_assert_int_eq(pp_map_shm(pool, sum_chunk,
                                &(struct pp_shm_items){ .shm = shm, .offset = 0,
                                                        .item_size = 1024,
                                                        .count = 5 },
                                CHUNK(1), &r),
                     EINVAL);

    ck_assert_int_eq(pp_handle_wait(NULL, 1.0), EINVAL);
    ck_assert_int_eq(pp_apply_async(pool, square_ok, &x, sizeof(x), NULL,
                                    NULL, &h),
                     0);
    ck_assert_int_eq(pp_handle_wait(h, NAN), EINVAL);
    ck_assert_int_eq(pp_handle_wait(h, PP_WAIT_FOREVER), 0);
    ck_assert_int_eq(pp_handle_outcome(h, NULL), EINVAL);
    pp_handle_free(h);
    ck_assert_int_eq(pp_handle_get(NULL, NULL, NULL), EINVAL);
    ck_assert_int_eq(pp_results_get(NULL, 0, NULL, NULL), EINVAL);
    ck_assert_int_eq(pp_pool_stats(NULL, &st), EINVAL);
    ck_assert_int_eq(pp_pool_stats(pool, NULL), EINVAL);
    ck_assert_int_eq(pp_pool_pids(pool, NULL, 1, &n), EINVAL);
    ck_assert_int_eq(pp_pool_close(NULL), EINVAL);
    ck_assert_int_eq(pp_pool_terminate(NULL), EINVAL);
    ck_assert_int_eq(pp_out_write(NULL, &x, 1), EINVAL);

    ck_assert_int_eq(pp_shm_create(0, &none_shm), EINVAL);
    ck_assert_ptr_null(none_shm);
    ck_assert_int_eq(pp_dict_create(0, &d), EINVAL);
    ck_assert_int_eq(pp_dict_create(((size_t)1 << 20) + 1, &d), EINVAL);
    ck_assert_int_eq(pp_dict_create(4, &d), 0);
    ck_assert_int_eq(pp_dict_set(d, "", 1), EINVAL);
    ck_assert_int_eq(pp_dict_set(d, NULL, 1), EINVAL);
    ck_assert_int_eq(pp_dict_get(d, "k", NULL), EINVAL);
    ck_assert_int_eq(pp_dict_add(NULL, "k", 1, NULL), EINVAL);
    ck_assert_int_eq(pp_dict_lock(NULL), EINVAL);
    pp_dict_destroy(d);

    /* Destroy functions take NULL. */
    pp_pool_destroy(NULL);
    pp_handle_free(NULL);
    pp_results_free(NULL);
    pp_shm_destroy(NULL);
    pp_dict_destroy(NULL);
    pp_pool_destroy(pool);
    pp_shm_destroy(shm);
}
END_TEST

/* ---- The suite ------------------------------------------------------- */

static Suite *procpool_suite(void)
{
    Suite *s = suite_create("procpool");
    TCase *basic = tcase_create("basic");
    TCase *crash = tcase_create("crash");
    TCase *shared = tcase_create("shared");
    TCase *life = tcase_create("lifecycle");

    tcase_set_timeout(basic, 30);
    tcase_add_test(basic, workers_zero_means_cpu_count);
    tcase_add_test(basic, map_preserves_order);
    tcase_add_test(basic, map_spreads_over_all_workers_by_default);
    tcase_add_test(basic, waking_many_sleepers_at_once_loses_nothing);
    tcase_add_test(basic, answers_left_in_rings_always_reach_the_caller);
    tcase_add_test(basic, map_gives_each_worker_one_in_hand);
    tcase_add_test(basic, map_of_nothing_returns_empty_results);
    tcase_add_test(basic, bytes_copied_counts_arguments_and_results);
    tcase_add_test(basic, starmap_passes_tuples);
    tcase_add_test(basic, task_error_is_reported_with_its_index);
    tcase_add_test(basic, map_reports_lowest_failing_index_and_runs_every_item);
    tcase_add_test(basic, negative_timeout_other_than_forever_is_einval);
    tcase_add_test(basic, large_argument_round_trips_intact);
    tcase_add_test(basic, size_limits_give_emsgsize_never_truncation);
    tcase_add_test(basic, apply_async_runs_callback_in_collector);
    tcase_add_test(basic, timed_wait_times_out_and_task_goes_on);
    tcase_add_test(basic, polling_wait_and_default_map_options_work);
    tcase_add_test(basic, wrong_arguments_give_einval);
    suite_add_tcase(s, basic);

    tcase_set_timeout(crash, 30);
    tcase_add_test(crash, segfault_among_hundred_good_tasks);
    tcase_add_test(crash, crash_inside_a_chunk_costs_only_that_item);
    tcase_add_test(crash, crash_after_unsent_answers_loses_only_the_crasher);
    tcase_add_test(crash, lone_apply_ends_however_its_caller_waits);
    tcase_add_test(crash, abort_and_exit_name_signal_and_status);
    tcase_add_test(crash, crash_reported_even_with_sigchld_ignored);
    tcase_add_test(crash, worker_killed_from_outside_is_replaced);
    tcase_add_test(crash, fork_server_killed_is_replaced);
    tcase_add_test(crash, task_over_time_limit_ends_etimedout);
    tcase_add_test(crash, recycling_changes_pids_after_k_tasks);
    suite_add_tcase(s, crash);

    tcase_set_timeout(shared, 60);
    tcase_add_test(shared, dict_counter_is_exact_across_workers);
    tcase_add_test(shared, dict_survives_worker_killed_holding_lock);
    tcase_add_test(shared, dict_lock_reports_eownerdead_to_its_taker);
    tcase_add_test(shared, dict_write_killed_at_any_point_is_all_or_nothing);
    tcase_add_test(shared, dict_set_get_remove_and_capacity);
    tcase_add_test(shared, shm_sum_copies_no_bytes);
    tcase_add_test(shared, shm_made_after_pool_is_refused);
    suite_add_tcase(s, shared);

    tcase_set_timeout(life, 30);
    tcase_add_test(life, close_finishes_queued_work_then_refuses);
    tcase_add_test(life, terminate_kills_workers_and_cancels);
    tcase_add_test(life, terminate_during_map_cancels_the_rest);
    tcase_add_test(life, no_zombie_or_fd_left_after_destroy);
    tcase_add_test(life, two_pools_do_not_hold_each_other);
    tcase_add_test(life, parent_killed_by_sigterm_leaves_no_worker);
    tcase_add_test(life, parent_killed_by_sigint_leaves_no_worker);
    suite_add_tcase(s, life);
    return s;
}

int main(void)
{
    return tests_run(procpool_suite());
}
