/*
 * overhead - what a pool costs per task, side by side.
 *
 *     overhead --mode tp --variant bulk --tasks 1e5          one pool
 *     overhead --mode all --variant roundtrip --repeat 5     all, medians
 *     overhead --mode all --variant map --tasks 1e7
 *
 * The tasks do nothing, so every nanosecond measured is the machinery:
 * queueing, waking a worker, handing back a result.  Three variants:
 *
 *   bulk       T empty tasks submitted one after the other, then every one
 *              awaited (Python: fs = [ex.submit(f) for ...]; [f.result()
 *              for f in fs]).  Per task: kernel_s / T.  This is throughput:
 *              a pool that queues cheaply and lets its workers take tasks
 *              without fighting over a lock wins.
 *   roundtrip  one empty task submitted and awaited, T times (Python:
 *              ex.submit(f).result() in a loop).  Per task: kernel_s / T.
 *              This is latency: a worker has to notice the task and the
 *              caller has to notice the answer; a pool that puts both to
 *              sleep in the kernel pays two wake-ups per task.
 *   map        a trivial function (out[i] = 2 * in[i] + 1) over T items with
 *              automatic chunking (ex.map(f, items)).  Per item: kernel_s / T.
 *              seq is the reference: the same item function called in a
 *              plain loop, through a function pointer just as the pools
 *              call it, so that the difference is what the pool adds.
 *
 * The implementations (--mode):
 *   tp               our pool, pools/threadpool.h
 *   textbook         benchmarks/lib/textbook_pool.c: one mutex, one condvar,
 *                    a malloc'd list, a signal per submit
 *   omp              OpenMP tasks (bulk, roundtrip) and a parallel for (map);
 *                    only when built with -fopenmp (not in the TSan build)
 *   glib             GLib's GThreadPool (bulk, roundtrip); HAVE_GLIB only
 *   pp               our process pool, pools/procpool.h: bulk is a pp_map
 *                    with chunk size 1, roundtrip a pp_apply_async then
 *                    pp_handle_wait
 *   thread-per-task  pthread_create and pthread_join for every task
 *   fork-per-task    fork and waitpid for every task
 *   seq              map only: the plain loop
 *   tp-no-poll, tp-no-recycle, tp-two-trips, tp-wake-always,
 *   tp-no-cascade,
 *   tp-no-caller-map our pool with one speed trick switched off (struct
 *                    tp_tuning in threadpool.h says what each costs);
 *                    tp-no-caller-map has map only
 *   pp-no-poll, pp-no-direct, pp-no-handoff, pp-no-ring
 *                    our process pool with one speed remedy switched off
 *                    (struct pp_tuning in procpool.h): a worker sleeps at
 *                    once instead of polling its doorbell; the caller
 *                    waits for the collector instead of reading a lone
 *                    apply's answer itself; a task for an idle worker and
 *                    a lone apply's answer go through the socket instead
 *                    of shared memory; a worker sends each answer by
 *                    itself instead of many from its ring (bulk and
 *                    roundtrip only; the prefault remedy is sum's
 *                    --no-prefault, the cascade io's --cascade)
 *   all              every implementation above but the tp-no-* and
 *                    pp-no-* ones that is compiled in and has the
 *                    variant, interleaved
 *                    (A B C A B C ...) --repeat times, so that noise from
 *                    the rest of the machine falls on all of them alike;
 *                    in text format a table of medians follows.  Each
 *                    implementation runs a task count of its own here:
 *                    see "Task counts" below.
 *   ablation         tp, each tp-no-* mode and textbook, then pp and each
 *                    pp-no-* mode, interleaved as in all: what each trick
 *                    buys (the suite's ablation chart; each record's mode
 *                    names the trick that was off)
 * A mode that is not compiled in, or that has no such variant, is a
 * command-line error (exit 2).
 *
 * Each record: n = tasks (items for map), chunk = tasks per chunk (1, or
 * the chunk map used), tasks = tasks submitted (map: chunks), setup_s =
 * creating the pool (outside the timing), result = tasks that ran and
 * answered (map: the sum of the outputs), expected = T (map: the sum
 * computed in closed form).  Each pool is created at its implementation's
 * first run (setup_s of that record, 0 in the later ones) and kept for the
 * later repetitions, as a program keeps its pool; idle pools sleep while
 * the others run.  Bulk keeps all T futures alive at once, so the first
 * run of a pool also pays for fresh memory (page faults); the median over
 * --repeat runs is the steady state.
 *
 * Task counts.  A single mode runs exactly --tasks T.  In --mode all and
 * ablation the implementations differ a thousandfold per task (an empty
 * task on our pool some 200 ns, a fork some 300 us), so no one T suits
 * them all: a T at which fork-per-task lasts half a second gives our
 * pool's bulk 3 ms, and the median of three such runs moves by 2 to 4x
 * with whatever else the machine does in those milliseconds.  So each
 * implementation sizes its own count, as Google Benchmark sizes its
 * iterations (size_run):
 *   - thread-per-task and fork-per-task run min(T, SLOW_TASKS_MAX): they
 *     last long enough with a thousand tasks, and a fork each costs;
 *   - every other one, for bulk and roundtrip, runs R rounds of T tasks
 *     back to back, R a power of two such that a run lasts at least
 *     MIN_KERNEL_S.  Rounds rather than a larger T: bulk keeps all its
 *     futures alive, and 16 T futures no longer fit in the caches that T
 *     fit in, so a larger T would measure memory, not the pool (here,
 *     240000 futures at once cost 800 ns a task where 60000 cost 110).  R comes
 *     from probes that are not recorded: two of PROBE_TASKS tasks (the
 *     first also starts and warms up the pool), and, when the second
 *     says that T tasks last less than MIN_KERNEL_S, two of T tasks;
 *   - map runs T items once everywhere (a map of T items is one call,
 *     not T tasks; the suite sizes T so that it lasts).
 * Every record of an implementation then has n = tasks = R T, so that
 * kernel_s / n is its per-task cost; the first record's setup_s includes
 * the probes' set-up.
 *
 * In --mode all, fork-per-task runs in a helper process (see
 * forks_in_helper): forking from this process would make every later run
 * here pay copy-on-write page faults.
 */
#include "bench.h"
#include "procpool.h"
#include "textbook_pool.h"
#include "threadpool.h"
#include "trace_file.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* POSIX declares it for the programs that use it; no header does. */
extern char **environ;
#ifdef HAVE_GLIB
#include <glib.h>
#endif

/* In --mode all, the per-task thread and process modes run at most this
 * many tasks: a few tenths of a second of forks on the 2-core machine this
 * was written on (some 200 to 400 us per fork, wait and exit). */
#define SLOW_TASKS_MAX 1000

/* In --mode all and ablation, the shortest run of the other
 * implementations (see "Task counts" at the top).  20 ms: a burst of some
 * other process (a few milliseconds of a CPU, the scheduler's time slice)
 * then moves the figure by some percent, where it moved a 3 ms run by a
 * factor of 2 to 4. */
#define MIN_KERNEL_S 0.020

/* Tasks of each small probe (size_run): enough for a time per task (a
 * thousand take our pool some 0.2 ms), few enough that the process pool's
 * probes (some 30 us a task, 30 ms each) cost less than its run. */
#define PROBE_TASKS 1000

/* The doubling of the rounds stops here: 1024 runs of T tasks outlast
 * MIN_KERNEL_S unless T tasks take less than 20 us. */
#define MAX_ROUNDS 1024

/* thread-per-task bulk keeps at most this many threads alive at once, so
 * that a large T does not run into the process's thread limit. */
#define THREAD_WINDOW 64

/*
 * libgomp's idle threads poll for a while (GOMP_SPINCOUNT, 300000 by
 * default) after a parallel region before they sleep; in --mode all we
 * wait this long after an OpenMP run so that they do not steal the CPU
 * from the next implementation.
 */
#define OMP_SETTLE_MS 20

enum variant { BULK, ROUNDTRIP, MAP };

/* The thread pool's speed tricks (struct tp_tuning), each of which a
 * tp-no-* mode switches off: 0 is none, TRICKS - 1 the last. */
enum trick { ALL_ON, NO_POLL, NO_RECYCLE, TWO_TRIPS, WAKE_ALWAYS,
             NO_CASCADE, NO_CALLER_MAP, TRICKS };
static const char *const variant_names[] = { "bulk", "roundtrip", "map",
                                             NULL };

/* The process pool's remedies (struct pp_tuning), each of which a pp-no-*
 * mode switches off: 0 is none. */
enum remedy {
    PP_ALL_ON, PP_NO_POLL, PP_NO_DIRECT, PP_NO_HANDOFF, PP_NO_RING, REMEDIES
};

#ifdef HAVE_GLIB
/* GThreadPool has no futures: the tasks count down, the last one (or, for
 * a round trip, each one) wakes the caller.  A pthread mutex rather than a
 * GMutex: ThreadSanitizer sees pthread locks, not GLib's futex-based ones. */
struct glib_done {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    long long left;             /* lock */
};
#endif

/*
 * The pools, each made at its implementation's first run and kept for the
 * later repetitions, as a program that uses a pool would keep it.
 */
struct pools {
    struct tp_pool *tp[TRICKS];  /* [0]: every trick on; [k]: trick k off */
    struct tb_pool *tb;
    struct pp_pool *pp[REMEDIES]; /* [0]: all on; [k]: remedy k off */
    /* Bulk's futures, grown by the start functions (set-up, not timed)
     * and kept, as the pools are, so that a repetition does not pay page
     * faults for a fresh array. */
    struct tp_future **tp_fs;
    struct tb_future **tb_fs;
    int64_t *pp_items;          /* pp bulk's items, zeros */
    size_t tp_cap, tb_cap, pp_cap;
#ifdef HAVE_GLIB
    GThreadPool *gp;
    struct glib_done *done;
#endif
};

/* One timed run's inputs and outputs. */
struct run {
    const struct bench *b;      /* the command line: bench_tp_options() */
    struct pools *pools;
    enum trick off;             /* tp: the trick switched off */
    enum remedy pp_off;         /* pp: the remedy switched off */
    bool all;                   /* --mode all */
    long workers;
    long long tasks;            /* T for this implementation */
    long long rounds;           /* kernel calls per run, back to back */
    long long chunk;            /* --chunk, 0 = automatic (map) */
    int64_t *in, *out;          /* map's arrays, T items */
    long long used_chunk;       /* out: items per chunk */
    long long ntasks;           /* out: tasks or chunks submitted */
    int64_t result;             /* out */
    double setup_s;             /* out: the start function */
    double kernel_s;            /* out */
    bool timed;                 /* out: the kernel set the times itself */
};

/*
 * An implementation: a start function, which makes its pool at the first
 * run and is timed as setup_s (NULL: nothing to make), and a kernel per
 * variant (NULL: not available), which run_one() times as kernel_s.  A
 * kernel sets r->result, and r->used_chunk and r->ntasks where they are
 * not 1 and r->tasks.
 */
struct impl {
    const char *name;
    int (*start)(struct run *r);
    int (*variant[3])(struct run *r);
    bool slow;                  /* capped at SLOW_TASKS_MAX in --mode all */
    enum trick off;             /* tp: the trick switched off; others 0 */
    enum remedy pp_off;         /* pp: the remedy switched off; others 0 */
};

/* ---- The work ------------------------------------------------------------ */

/* The empty task, in each pool's own signature; it returns its argument
 * so that the caller can count what came back. */
static int empty_tp(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static void *empty_tb(void *arg)
{
    return arg;
}

static int map_item(void *ctx, size_t i, const void *in, void *out)
{
    (void)ctx;
    (void)i;
    *(int64_t *)out = 2 * *(const int64_t *)in + 1;
    return 0;
}

/*
 * The item function as the seq loop and OpenMP call it: read through a
 * volatile pointer so that the compiler cannot inline it into the loop,
 * which tp_map (in another file, calling through a pointer) cannot either.
 */
static tp_map_fn *volatile map_item_ptr = map_item;

static int64_t map_sum(const int64_t *out, long long n)
{
    int64_t s = 0;

    for (long long i = 0; i < n; i++)
        s += out[i];
    return s;
}

/* sum of 2 * i + 1 for i < n is n * n. */
static int64_t map_expected(long long n)
{
    return (int64_t)n * (int64_t)n;
}

/* ---- tp: our pool -------------------------------------------------------- */

/* Makes room for n elements of size bytes in the array *array points to
 * (capacity *cap), the new ones zero. */
static int grow(void *array, size_t *cap, size_t n, size_t size)
{
    void **p = array;
    char *q;

    if (n <= *cap)
        return 0;
    if ((q = realloc(*p, n * size)) == NULL)
        return ENOMEM;
    memset(q + *cap * size, 0, (n - *cap) * size);
    *p = q;
    *cap = n;
    return 0;
}

static int tp_start(struct run *r)
{
    struct tp_options opt;
    struct tp_tuning tuning;

    bench_tp_options(r->b, &opt);
    bench_tp_tuning(r->b, &tuning);     /* --trace: recording on */
    tuning.no_poll = r->off == NO_POLL;
    tuning.no_recycle = r->off == NO_RECYCLE;
    tuning.two_trips = r->off == TWO_TRIPS;
    tuning.wake_always = r->off == WAKE_ALWAYS;
    tuning.no_cascade = r->off == NO_CASCADE;
    tuning.no_caller_in_map = r->off == NO_CALLER_MAP;
    opt.tuning = &tuning;
    if (r->pools->tp[r->off] == NULL) {
        int rc = tp_pool_create(&opt, &r->pools->tp[r->off]);

        if (rc != 0)
            return rc;
    }
    return grow(&r->pools->tp_fs, &r->pools->tp_cap, (size_t)r->tasks,
                sizeof(*r->pools->tp_fs));
}

static int tp_bulk(struct run *r)
{
    struct tp_future **fs = r->pools->tp_fs;
    struct tp_pool *p = r->pools->tp[r->off];
    long long i, ok = 0;
    void *res;
    int rc = 0;

    for (i = 0; i < r->tasks && rc == 0; i++)
        rc = tp_submit(p, empty_tp, &fs[i], &fs[i]);
    for (long long j = 0; j < i; j++) {
        if (fs[j] == NULL)
            continue;
        ok += tp_future_get(fs[j], &res) == 0 && res == &fs[j];
        tp_future_free(fs[j]);
    }
    r->result = ok;
    return rc;
}

static int tp_roundtrip(struct run *r)
{
    struct tp_pool *p = r->pools->tp[r->off];
    struct tp_future *f;
    long long i, ok = 0;
    void *res;
    int rc = 0;

    for (i = 0; i < r->tasks; i++) {
        if ((rc = tp_submit(p, empty_tp, &i, &f)) != 0)
            break;
        ok += tp_future_get(f, &res) == 0 && res == &i;
        tp_future_free(f);
    }
    r->result = ok;
    return rc;
}

static int tp_mapped(struct run *r)
{
    size_t n = (size_t)r->tasks, w = (size_t)r->workers, bad;
    int rc;

    rc = tp_map(r->pools->tp[r->off], map_item, NULL, n,
                &(struct tp_map_options){ .in = r->in,
                                          .in_size = sizeof(*r->in),
                                          .out = r->out,
                                          .out_size = sizeof(*r->out),
                                          .chunk_size = (size_t)r->chunk },
                &bad);
    /* The chunk tp_map picks when given 0 (threadpool.h). */
    r->used_chunk = r->chunk > 0
                        ? r->chunk
                        : (long long)(n / (4 * w) + (n % (4 * w) != 0));
    r->ntasks = (r->tasks + r->used_chunk - 1) / r->used_chunk;
    r->result = map_sum(r->out, r->tasks);
    return rc;
}

/* ---- textbook ------------------------------------------------------------ */

static int tb_start(struct run *r)
{
    if (r->pools->tb == NULL) {
        int rc = tb_pool_create((unsigned)r->workers, &r->pools->tb);

        if (rc != 0)
            return rc;
    }
    return grow(&r->pools->tb_fs, &r->pools->tb_cap, (size_t)r->tasks,
                sizeof(*r->pools->tb_fs));
}

static int tb_bulk(struct run *r)
{
    struct tb_future **fs = r->pools->tb_fs;
    long long i, ok = 0;
    int rc = 0;

    for (i = 0; i < r->tasks && rc == 0; i++)
        rc = tb_submit(r->pools->tb, empty_tb, &fs[i], &fs[i]);
    if (rc != 0)
        i--;
    for (long long j = 0; j < i; j++) {
        ok += tb_future_get(fs[j]) == &fs[j];
        tb_future_free(fs[j]);
    }
    r->result = ok;
    return rc;
}

static int tb_roundtrip(struct run *r)
{
    struct tb_future *f;
    long long i, ok = 0;
    int rc = 0;

    for (i = 0; i < r->tasks; i++) {
        if ((rc = tb_submit(r->pools->tb, empty_tb, &i, &f)) != 0)
            break;
        ok += tb_future_get(f) == &i;
        tb_future_free(f);
    }
    r->result = ok;
    return rc;
}

/* ---- seq: the plain loop ------------------------------------------------- */

static int seq_mapped(struct run *r)
{
    tp_map_fn *fn = map_item_ptr;

    for (long long i = 0; i < r->tasks; i++)
        fn(NULL, (size_t)i, &r->in[i], &r->out[i]);
    r->used_chunk = r->tasks;
    r->ntasks = 1;
    r->result = map_sum(r->out, r->tasks);
    return 0;
}

/* ---- omp: OpenMP tasks --------------------------------------------------- */

#ifdef _OPENMP
/* Each thread counts the tasks it ran in its own cache line (64 bytes on
 * x86-64 and most ARM), so that counting adds no sharing. */
struct omp_count {
    long long n;
    char pad[64 - sizeof(long long)];
};

/* The first parallel region starts the threads: set-up, not kernel. */
static int omp_start(struct run *r)
{
    omp_set_num_threads((int)r->workers);
#pragma omp parallel
    {
    }
    return 0;
}

static int omp_run(struct run *r, bool roundtrip)
{
    struct omp_count *counts = calloc((size_t)r->workers, sizeof(*counts));
    long long ok = 0;

    if (counts == NULL)
        return ENOMEM;
#pragma omp parallel
#pragma omp single
    {
        for (long long i = 0; i < r->tasks; i++) {
#pragma omp task
            counts[omp_get_thread_num()].n++;
            if (roundtrip) {
#pragma omp taskwait
            }
        }
    }
    for (long i = 0; i < r->workers; i++)
        ok += counts[i].n;
    free(counts);
    r->result = ok;
    return 0;
}

static int omp_bulk(struct run *r)
{
    return omp_run(r, false);
}

static int omp_roundtrip(struct run *r)
{
    return omp_run(r, true);
}

static int omp_mapped(struct run *r)
{
    tp_map_fn *fn = map_item_ptr;
    long long n = r->tasks;

#pragma omp parallel for schedule(static)
    for (long long i = 0; i < n; i++)
        fn(NULL, (size_t)i, &r->in[i], &r->out[i]);
    /* schedule(static): one contiguous block per thread. */
    r->used_chunk = (n + r->workers - 1) / r->workers;
    r->ntasks = r->workers;
    r->result = map_sum(r->out, n);
    return 0;
}
#endif

/* ---- glib: GThreadPool --------------------------------------------------- */

#ifdef HAVE_GLIB
static void glib_task(gpointer data, gpointer user)
{
    struct glib_done *d = user;

    (void)data;
    pthread_mutex_lock(&d->lock);
    if (--d->left == 0)
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->lock);
}

static int glib_start(struct run *r)
{
    struct pools *ps = r->pools;
    GError *err = NULL;

    if (ps->gp == NULL) {
        if ((ps->done = calloc(1, sizeof(*ps->done))) == NULL)
            return ENOMEM;
        pthread_mutex_init(&ps->done->lock, NULL);
        pthread_cond_init(&ps->done->cv, NULL);
        ps->gp = g_thread_pool_new(glib_task, ps->done, (gint)r->workers,
                                   TRUE, &err);
        if (ps->gp == NULL) {
            g_clear_error(&err);
            return EAGAIN;
        }
    }
    return 0;
}

static int glib_run(struct run *r, bool roundtrip)
{
    struct pools *ps = r->pools;
    struct glib_done *d = ps->done;
    long long i, per = roundtrip ? 1 : r->tasks;

    for (i = 0; i < r->tasks; i += per) {
        pthread_mutex_lock(&d->lock);
        d->left = per;
        pthread_mutex_unlock(&d->lock);
        for (long long j = 0; j < per; j++)
            g_thread_pool_push(ps->gp, d, NULL);
        pthread_mutex_lock(&d->lock);
        while (d->left > 0)
            pthread_cond_wait(&d->cv, &d->lock);
        pthread_mutex_unlock(&d->lock);
    }
    r->result = r->tasks;       /* every countdown reached 0 */
    return 0;
}

static int glib_bulk(struct run *r)
{
    return glib_run(r, false);
}

static int glib_roundtrip(struct run *r)
{
    return glib_run(r, true);
}
#endif

/* ---- pp: our process pool ------------------------------------------------ */

static int empty_pp(const struct pp_task *task, struct pp_out *out)
{
    (void)task;
    (void)out;
    return 0;
}

static int pp_start(struct run *r)
{
    struct pp_options opt;
    struct pp_tuning tuning;

    bench_pp_options(r->b, &opt);
    bench_pp_tuning(r->b, &tuning);     /* --trace: recording on */
    tuning.no_poll = r->pp_off == PP_NO_POLL;
    tuning.no_direct = r->pp_off == PP_NO_DIRECT;
    tuning.no_handoff = r->pp_off == PP_NO_HANDOFF;
    tuning.no_ring = r->pp_off == PP_NO_RING;
    opt.tuning = &tuning;
    if (r->pools->pp[r->pp_off] == NULL) {
        int rc = pp_pool_create(&opt, &r->pools->pp[r->pp_off]);

        if (rc != 0)
            return rc;
    }
    return grow(&r->pools->pp_items, &r->pools->pp_cap, (size_t)r->tasks,
                sizeof(*r->pools->pp_items));
}

/* Bulk for processes: a map with one item per task (chunk size 1). */
static int pp_bulk(struct run *r)
{
    int64_t *items = r->pools->pp_items;
    struct pp_results *res = NULL;
    long long ok = 0;
    int rc;

    rc = pp_map(r->pools->pp[r->pp_off], empty_pp, items, sizeof(*items),
                (size_t)r->tasks,
                &(struct pp_map_options){ .chunk_size = 1 }, &res);
    if (res != NULL)
        for (size_t i = 0; i < (size_t)r->tasks; i++)
            ok += pp_results_get(res, i, NULL, NULL) == 0;
    pp_results_free(res);
    r->result = ok;
    return rc;
}

static int pp_roundtrip(struct run *r)
{
    struct pp_handle *h;
    long long i, ok = 0;
    int rc = 0;

    for (i = 0; i < r->tasks; i++) {
        if ((rc = pp_apply_async(r->pools->pp[r->pp_off], empty_pp, NULL, 0,
                                 NULL, NULL, &h)) != 0)
            break;
        pp_handle_wait(h, PP_WAIT_FOREVER);
        ok += pp_handle_get(h, NULL, NULL) == 0;
        pp_handle_free(h);
    }
    r->result = ok;
    return rc;
}

/* ---- thread-per-task and fork-per-task ----------------------------------- */

static void *empty_thread(void *arg)
{
    return arg;
}

/* Bulk starts up to `window` threads, then joins them, and so on;
 * a round trip is a window of 1. */
static int threads_run(struct run *r, long long window)
{
    pthread_t t[THREAD_WINDOW];
    int tag[THREAD_WINDOW];     /* each thread returns its own tag's address */
    long long i = 0, ok = 0, k, n;
    void *res;
    int rc = 0;

    while (i < r->tasks && rc == 0) {
        n = r->tasks - i < window ? r->tasks - i : window;
        for (k = 0; k < n; k++)
            if ((rc = pthread_create(&t[k], NULL, empty_thread, &tag[k])) != 0)
                break;
        n = k;
        for (k = 0; k < n; k++) {
            pthread_join(t[k], &res);
            ok += res == &tag[k];
        }
        i += n;
    }
    r->result = ok;
    return rc;
}

static int threads_bulk(struct run *r)
{
    return threads_run(r, THREAD_WINDOW);
}

static int threads_roundtrip(struct run *r)
{
    return threads_run(r, 1);
}

/* The child does nothing and leaves with _exit (no atexit handlers, no
 * stdio flush of the parent's buffers; run_one() has flushed stdout).
 * Bulk forks up to `window` children before it reaps them. */
static int forks_run(struct run *r, long long window)
{
    long long i = 0, ok = 0, k, n;
    int status, rc = 0;

    while (i < r->tasks && rc == 0) {
        n = r->tasks - i < window ? r->tasks - i : window;
        for (k = 0; k < n; k++) {
            pid_t pid = fork();

            if (pid == 0)
                _exit(0);
            if (pid < 0) {
                rc = errno;
                break;
            }
        }
        n = k;
        for (k = 0; k < n; k++)
            if (wait(&status) > 0 && WIFEXITED(status) &&
                WEXITSTATUS(status) == 0)
                ok++;
        i += n;
    }
    r->result = ok;
    return rc;
}

/*
 * In --mode all, fork-per-task runs in a helper: this very program, started
 * with posix_spawn (which does not copy this process's memory) as
 * "--mode fork-per-task --format csv", whose record we read back.  Forking
 * here instead would mark every page of this process copy-on-write, and the
 * next implementation to run would pay a page fault for each page it
 * writes: thousands for our pool's queue and recycled futures.
 */
static int forks_in_helper(struct run *r, const char *variant)
{
    char tasks[32], workers[32], buf[4096];
    char *argv[] = { (char *)"overhead", (char *)"--mode",
                     (char *)"fork-per-task", (char *)"--variant",
                     (char *)variant, (char *)"--tasks", tasks,
                     (char *)"--workers", workers, (char *)"--format",
                     (char *)"csv", NULL };
    posix_spawn_file_actions_t fa;
    char *line, *field[14], *save = NULL;
    size_t len = 0;
    ssize_t got;
    int fds[2], status, rc, k;
    pid_t pid;

    snprintf(tasks, sizeof(tasks), "%lld", r->tasks);
    snprintf(workers, sizeof(workers), "%ld", r->workers);
    if (pipe(fds) != 0)
        return errno;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        goto out_pipe;
    if ((rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) == 0 &&
        (rc = posix_spawn_file_actions_addclose(&fa, fds[0])) == 0)
        rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        goto out_pipe;
    close(fds[1]);
    fds[1] = -1;
    while (len < sizeof(buf) - 1 &&
           (got = read(fds[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (got < 0 && errno != EINTR)
            break;
        if (got > 0)
            len += (size_t)got;
    }
    buf[len] = '\0';
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        rc = ECHILD;
        goto out_pipe;
    }
    /* Skip the CSV header, split the record. */
    rc = EPROTO;
    if ((line = strchr(buf, '\n')) == NULL)
        goto out_pipe;
    line++;
    for (k = 0; k < 14; k++)
        if ((field[k] = strtok_r(k == 0 ? line : NULL, ",\n", &save)) ==
            NULL)
            goto out_pipe;
    r->setup_s = strtod(field[9], NULL);
    r->kernel_s = strtod(field[10], NULL);
    r->result = strtoll(field[11], NULL, 10);
    r->ntasks = strtoll(field[7], NULL, 10);
    r->timed = true;
    rc = 0;
out_pipe:
    close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return rc;
}

static int forks_bulk(struct run *r)
{
    if (r->all)
        return forks_in_helper(r, "bulk");
    return forks_run(r, r->workers);
}

static int forks_roundtrip(struct run *r)
{
    if (r->all)
        return forks_in_helper(r, "roundtrip");
    return forks_run(r, 1);
}

/* ---- The table ----------------------------------------------------------- */

#ifdef _OPENMP
#define OMP_FNS omp_start, { omp_bulk, omp_roundtrip, omp_mapped }
#else
#define OMP_FNS NULL, { NULL, NULL, NULL }
#endif
#ifdef HAVE_GLIB
#define GLIB_FNS glib_start, { glib_bulk, glib_roundtrip, NULL }
#else
#define GLIB_FNS NULL, { NULL, NULL, NULL }
#endif
#define TP_FNS tp_start, { tp_bulk, tp_roundtrip, tp_mapped }

#define PP_FNS pp_start, { pp_bulk, pp_roundtrip, NULL }

/* name, start, kernels (bulk, roundtrip, map), slow, trick off, remedy
 * off */
static const struct impl impls[] = {
    { "tp", TP_FNS, false, ALL_ON, PP_ALL_ON },
    { "textbook", tb_start, { tb_bulk, tb_roundtrip, NULL }, false, ALL_ON,
      PP_ALL_ON },
    { "omp", OMP_FNS, false, ALL_ON, PP_ALL_ON },
    { "glib", GLIB_FNS, false, ALL_ON, PP_ALL_ON },
    { "pp", PP_FNS, false, ALL_ON, PP_ALL_ON },
    { "thread-per-task", NULL, { threads_bulk, threads_roundtrip, NULL },
      true, ALL_ON, PP_ALL_ON },
    { "fork-per-task", NULL, { forks_bulk, forks_roundtrip, NULL }, true,
      ALL_ON, PP_ALL_ON },
    { "seq", NULL, { NULL, NULL, seq_mapped }, false, ALL_ON, PP_ALL_ON },
    { "tp-no-poll", TP_FNS, false, NO_POLL, PP_ALL_ON },
    { "tp-no-recycle", TP_FNS, false, NO_RECYCLE, PP_ALL_ON },
    { "tp-two-trips", TP_FNS, false, TWO_TRIPS, PP_ALL_ON },
    { "tp-wake-always", TP_FNS, false, WAKE_ALWAYS, PP_ALL_ON },
    { "tp-no-cascade", TP_FNS, false, NO_CASCADE, PP_ALL_ON },
    { "tp-no-caller-map", tp_start, { NULL, NULL, tp_mapped }, false,
      NO_CALLER_MAP, PP_ALL_ON },
    { "pp-no-poll", PP_FNS, false, ALL_ON, PP_NO_POLL },
    { "pp-no-direct", PP_FNS, false, ALL_ON, PP_NO_DIRECT },
    { "pp-no-handoff", PP_FNS, false, ALL_ON, PP_NO_HANDOFF },
    { "pp-no-ring", PP_FNS, false, ALL_ON, PP_NO_RING },
};
#define NIMPLS (sizeof(impls) / sizeof(impls[0]))

static const char *const modes[] = { "tp", "textbook", "omp", "glib",
                                     "pp", "thread-per-task",
                                     "fork-per-task", "seq", "tp-no-poll",
                                     "tp-no-recycle", "tp-two-trips",
                                     "tp-wake-always", "tp-no-cascade",
                                     "tp-no-caller-map",
                                     "pp-no-poll", "pp-no-direct",
                                     "pp-no-handoff", "pp-no-ring", "all",
                                     "ablation", NULL };

/* Whether --mode all (ablation false) or --mode ablation runs im. */
static bool in_group(const struct impl *im, bool ablation)
{
    if (!ablation)
        return im->off == ALL_ON && im->pp_off == PP_ALL_ON;
    return im->off != ALL_ON || im->pp_off != PP_ALL_ON ||
           strcmp(im->name, "tp") == 0 || strcmp(im->name, "pp") == 0 ||
           strcmp(im->name, "textbook") == 0 ||
           strcmp(im->name, "seq") == 0;
}

static const struct impl *find_impl(const char *name)
{
    for (size_t i = 0; i < NIMPLS; i++)
        if (strcmp(impls[i].name, name) == 0)
            return &impls[i];
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/*
 * Runs im once on r: its start function, timed as r->setup_s, then its
 * kernel for v, timed as r->kernel_s unless the kernel timed itself (the
 * fork helper).  Returns 0 or an errno value.
 */
static int time_run(const struct impl *im, enum variant v, struct run *r)
{
    int64_t answered = 0;       /* the rounds' results, added up */
    double t0;
    int rc;

    /* Nothing buffered is copied into a forked child (fork-per-task). */
    fflush(NULL);
    t0 = bench_now();
    rc = im->start ? im->start(r) : 0;
    r->setup_s = bench_now() - t0;
    if (rc != 0)
        return rc;
    r->used_chunk = 1;
    r->ntasks = r->tasks;
    r->timed = false;
    t0 = bench_now();
    for (long long k = 0; k < r->rounds && rc == 0; k++) {
        rc = im->variant[v](r);
        answered += r->result;
    }
    r->result = answered;
    if (!r->timed)
        r->kernel_s = bench_now() - t0;
    if (r->all && strcmp(im->name, "omp") == 0)
        sleep_ms(OMP_SETTLE_MS);
    return rc;
}

/*
 * In --mode all and ablation: the task count and the rounds im runs, in
 * r->tasks and r->rounds (see "Task counts" at the top), and the set-up
 * its probes paid, in r->setup_s, for its first record.  Returns 0 or an
 * errno value.
 */
static int size_run(const struct impl *im, enum variant v, struct run *r)
{
    struct run probe = *r;
    double best = 0.0;
    int rc;

    r->setup_s = 0.0;
    if (im->slow) {
        if (r->tasks > SLOW_TASKS_MAX)
            r->tasks = SLOW_TASKS_MAX;
        return 0;
    }
    if (v == MAP)
        return 0;
    /* Two small probes: the first starts the pool and warms it up; the
     * second is enough when it says that T tasks last MIN_KERNEL_S. */
    probe.tasks = r->tasks < PROBE_TASKS ? r->tasks : PROBE_TASKS;
    for (int k = 0; k < 2; k++) {
        if ((rc = time_run(im, v, &probe)) != 0)
            return rc;
        r->setup_s += probe.setup_s;
    }
    if (probe.kernel_s / (double)probe.tasks * (double)r->tasks >=
        MIN_KERNEL_S)
        return 0;
    /* Else the faster of two runs of T tasks, warm, says how many rounds
     * it takes (the faster: a run that a neighbour slowed down would make
     * too few rounds). */
    probe.tasks = r->tasks;
    for (int k = 0; k < 2; k++) {
        if ((rc = time_run(im, v, &probe)) != 0)
            return rc;
        if (k == 0 || probe.kernel_s < best)
            best = probe.kernel_s;
    }
    while (best * (double)r->rounds < MIN_KERNEL_S &&
           r->rounds < MAX_ROUNDS)
        r->rounds *= 2;
    return 0;
}

/* One timed run of im and its record; proto is im's own (size_run).
 * Returns bench_emit's answer, or 1 after reporting a failure. */
static int run_one(struct bench *b, const struct impl *im, enum variant v,
                   const struct run *proto, long rep, double *kernel_s)
{
    struct bench_record rec;
    struct run r = *proto;
    int rc;

    if (v == MAP)
        memset(r.out, 0, (size_t)r.tasks * sizeof(*r.out));
    /* The record's CPU time covers the whole call, set-up included
     * (bench_kernel_stop). */
    bench_record_init(b, &rec, rep);
    if ((rc = time_run(im, v, &r)) != 0) {
        char what[64];

        snprintf(what, sizeof(what), "%s %s", im->name, variant_names[v]);
        bench_error(b, what, rc);
        return 1;
    }
    bench_kernel_stop(&rec);
    rec.mode = im->name;
    rec.variant = variant_names[v];
    rec.workers = strcmp(im->name, "seq") == 0 ? 1 : r.workers;
    rec.n = r.tasks * r.rounds;
    rec.chunk = r.used_chunk;
    rec.tasks = r.ntasks * r.rounds;
    rec.setup_s = r.setup_s + (rep == 0 ? proto->setup_s : 0.0);
    rec.kernel_s = r.kernel_s;
    rec.result = r.result;
    rec.expected = v == MAP ? map_expected(r.tasks) : rec.n;
    *kernel_s = r.kernel_s / (double)rec.n;
    return bench_emit(b, &rec);
}

int main(int argc, char **argv)
{
    long long tasks = 100000;
    const char *variant = "bulk";
    const struct bench_opt opts[] = {
        { .name = "tasks", .type = BENCH_OPT_INT, .num = &tasks, .min = 1,
          .max = 1000000000, .metavar = "T",
          .help = "tasks (bulk, roundtrip) or items (map)" },
        { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &variant,
          .choices = variant_names, .metavar = "V",
          .help = "bulk | roundtrip | map" },
        { 0 }
    };
    const struct bench_spec spec = {
        .name = "overhead",
        .summary = "per-task cost of thread pools: bulk, round trip, map",
        .modes = modes, .opts = opts,
    };
    const struct impl *run_list[NIMPLS];
    struct run protos[NIMPLS];  /* run_list[i]'s own: its task count */
    size_t nrun = 0, i;
    bool group;
    double *per_task = NULL;
    struct run proto = { 0 };
    struct pools pools = { 0 };
    enum variant v;
    struct bench b;
    int rc = bench_parse(&b, &spec, argc, argv);

    if (rc != BENCH_CONTINUE)
        return rc;
    v = strcmp(variant, "bulk") == 0        ? BULK
        : strcmp(variant, "roundtrip") == 0 ? ROUNDTRIP
                                            : MAP;
    group = strcmp(b.mode, "all") == 0 || strcmp(b.mode, "ablation") == 0;
    if (group) {
        for (i = 0; i < NIMPLS; i++)
            if (impls[i].variant[v] != NULL &&
                in_group(&impls[i], strcmp(b.mode, "ablation") == 0))
                run_list[nrun++] = &impls[i];
    } else {
        const struct impl *im = find_impl(b.mode);

        if (im->variant[v] == NULL) {
            bool compiled = im->variant[0] || im->variant[1] ||
                            im->variant[2];

            return bench_usage_error(&b, "--mode %s %s", b.mode,
                                     compiled ? "has no such --variant"
                                              : "is not compiled into this "
                                                "build");
        }
        run_list[nrun++] = im;
    }
    if (v != MAP && b.chunk > 1)
        return bench_usage_error(&b, "--chunk: %s submits one task at a time",
                                 variant);

    proto.b = &b;
    proto.pools = &pools;
    proto.all = group;
    proto.workers = b.workers;
    proto.tasks = tasks;
    proto.rounds = 1;
    proto.chunk = b.chunk;
    if (v == MAP) {
        proto.in = malloc((size_t)tasks * sizeof(*proto.in));
        proto.out = malloc((size_t)tasks * sizeof(*proto.out));
        if (proto.in == NULL || proto.out == NULL) {
            bench_error(&b, "allocating the items", ENOMEM);
            goto done;
        }
        for (long long k = 0; k < tasks; k++)
            proto.in[k] = k;
    }
    per_task = calloc(nrun * (size_t)b.repeat, sizeof(*per_task));
    if (per_task == NULL) {
        bench_error(&b, "allocating", ENOMEM);
        goto done;
    }

    rc = 0;
    for (long rep = 0; rep < b.repeat && rc == 0; rep++) {
        for (i = 0; i < nrun && rc == 0; i++) {
            if (rep == 0) {
                protos[i] = proto;
                protos[i].off = run_list[i]->off;
                protos[i].pp_off = run_list[i]->pp_off;
                if (group &&
                    (rc = size_run(run_list[i], v, &protos[i])) != 0) {
                    bench_error(&b, run_list[i]->name, rc);
                    break;
                }
            }
            rc = run_one(&b, run_list[i], v, &protos[i], rep,
                         &per_task[i * (size_t)b.repeat + (size_t)rep]);
        }
    }

    if (rc == 0 && nrun > 1 && b.format == BENCH_TEXT) {
        double base = 0;

        bench_text(&b, "\nmedians over %ld runs, %s, %ld workers:\n",
                   b.repeat, variant, b.workers);
        for (i = 0; i < nrun; i++) {
            double m = bench_median(&per_task[i * (size_t)b.repeat],
                                    (size_t)b.repeat);

            if (strcmp(run_list[i]->name,
                       v == MAP ? "seq" : "textbook") == 0)
                base = m;
            per_task[i * (size_t)b.repeat] = m;
        }
        for (i = 0; i < nrun; i++) {
            double m = per_task[i * (size_t)b.repeat];

            bench_text(&b, "  %-16s %12.1f ns per %s", run_list[i]->name,
                       m * 1e9, v == MAP ? "item" : "task");
            if (base > 0)
                bench_text(&b, "   %.2fx %s", m / base,
                           v == MAP ? "seq" : "textbook");
            bench_text(&b, "\n");
        }
    }
done:
    /* --trace: the recording of the first pool made (tp's, or pp's, in
     * --mode all and ablation: one trace a run). */
    for (i = 0; i < TRICKS; i++)
        if (pools.tp[i] != NULL) {
            bench_trace_tp(&b, pools.tp[i]);
            break;
        }
    for (i = 0; i < REMEDIES; i++)
        if (pools.pp[i] != NULL) {
            bench_trace_pp(&b, pools.pp[i]);
            break;
        }
    for (i = 0; i < TRICKS; i++)
        tp_pool_destroy(pools.tp[i]);
    tb_pool_destroy(pools.tb);
    for (i = 0; i < REMEDIES; i++)
        pp_pool_destroy(pools.pp[i]);
#ifdef HAVE_GLIB
    if (pools.gp != NULL)
        g_thread_pool_free(pools.gp, FALSE, TRUE);
    if (pools.done != NULL) {
        pthread_cond_destroy(&pools.done->cv);
        pthread_mutex_destroy(&pools.done->lock);
        free(pools.done);
    }
#endif
    free(pools.tp_fs);
    free(pools.tb_fs);
    free(pools.pp_items);
    free(per_task);
    free(proto.in);
    free(proto.out);
    return bench_finish(&b);
}
