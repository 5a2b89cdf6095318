/*
 * io - T tasks that each sleep D milliseconds, on W workers: the I/O-bound
 * workload of the tutorial (section 2, "three threads run five 2-second
 * sleeps in about 4 s instead of 10").
 *
 *     io --mode seq                               5 x 200 ms = 1 s
 *     io --mode threads --workers 3               ceil(5/3) x 200 ms = 0.4 s
 *     io --mode threads --tasks 64 --workers 64 --delay-ms 10
 *     io --mode procs --tasks 64 --workers 64 --delay-ms 10
 *
 * A sleeping task stands for one waiting on a disk or a network: it uses no
 * CPU, so W workers can wait at the same time even on a 2-core machine, and
 * T tasks take ceil(T / W) rounds of D milliseconds.  That is the ideal
 * this program prints beside the measured time.  Nothing can beat it; what
 * a pool adds on top is its overhead (handing out tasks, waking workers,
 * collecting results), and that is what the benchmark shows.
 *
 * The ideal is not quite reachable for a second reason that has nothing to
 * do with pools: nanosleep() sleeps at least as long as asked, never
 * exactly, because the kernel wakes the thread at its next timer tick
 * after the deadline (plus "timer slack", 50 us by default on Linux) and
 * the scheduler must then run it.  So in text mode the program first
 * measures that oversleep for one sleep on this machine and prints
 * ideal + rounds x oversleep, the best a perfect pool could do here.
 *
 * Modes:
 *   seq      a loop of T sleeps on the main thread.
 *   threads  T tasks on a tp_pool of W threads (pools/threadpool.h), each
 *            a future the main thread waits for.
 *   procs    pp_map() of T items on a pp_pool of W processes
 *            (pools/procpool.h), one item per message.  The pool spreads
 *            the sleeps over all W workers, and when there are two or
 *            more per worker, each worker holds the next one in hand
 *            while it sleeps, so that it need not wait for the pool's
 *            collector thread between sleeps ("one in hand", see
 *            pp_dispatch in pools/pp_collector.c).  --one-at-a-time
 *            (variant "one-at-a-time") sets pp_options.prefetch to 1,
 *            which switches that off: what it buys is in the report's
 *            remedies.  So does --send-answers (variant "send-answers",
 *            pp_tuning.always_send): the workers send every answer
 *            through their sockets instead of leaving them in their
 *            rings for the collector to take while it is awake (tell in
 *            pools/pp_worker.c).
 *
 * Waking many sleeping workers.  With 64 tasks on 64 idle workers, the
 * pool's wake-ups are most of what it adds: --cascade makes each woken
 * worker pass the wake-up on to sleeping ones (the thread pool's default,
 * the process pool's opt-in), --no-cascade has the submitting thread wake
 * every worker itself (tp_tuning.no_cascade, pp_tuning.cascade); the
 * record's variant says which ("cascade", "no-cascade", or "-" for the
 * pool's default).
 *
 * The machine's floor (--bare, threads only, variant "bare").  No pool:
 * W threads made beforehand, each asleep on one futex word, are woken by a
 * single system call and each sleeps its share of the T sleeps, one after
 * another (thread k takes tasks k, k + W, ...); the last to finish wakes
 * the main thread.  Waking W sleepers and hearing that they are done costs
 * at least this much on this machine, whatever the pool: on a 2-core
 * virtual machine, where a wake-up of a sleeping thread costs tens of
 * microseconds and 64 of them share 2 CPUs, it is far from the ideal.
 *
 * The record's result is the number of tasks that completed their sleep
 * and expected is T: a pool that lost or failed a task fails the check.
 */
/* _DEFAULT_SOURCE: syscall (futex), for --bare. */
#define _DEFAULT_SOURCE

#include "bench.h"
#include "procpool.h"
#include "threadpool.h"
#include "trace_file.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

/* Sleeps used to measure the timer's oversleep (their median is taken). */
#define OVERSLEEP_SAMPLES 5

/* Sleeps ms milliseconds, resuming after a signal.  Returns 0 or errno. */
static int sleep_ms(long long ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
                           .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

/* A thread-pool task: sleep, then report success through its status. */
static int sleep_task(void *arg, void **result)
{
    (void)result;
    return sleep_ms(*(const long long *)arg);
}

/* A process-pool task: the item is the delay in milliseconds. */
static int sleep_item(const struct pp_task *task, struct pp_out *out)
{
    long long ms;

    (void)out;
    if (task->arg_len != sizeof(ms))
        return EINVAL;
    memcpy(&ms, task->arg, sizeof(ms));
    return sleep_ms(ms);
}

/* ---- The floor: bare threads, no pool (--bare) ----------------------- */

struct bare {
    _Atomic uint32_t go;       /* run number; 0 before the first, ~0 quit */
    _Atomic uint32_t finished; /* threads done with this run */
    _Atomic long long done;    /* sleeps that succeeded, over all runs */
    long long tasks, delay;
    unsigned workers;
    pthread_t *threads;
    unsigned started;
};

struct bare_arg {
    struct bare *b;
    unsigned k;
};

static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, value, NULL,
            NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL,
            0);
}

/* Thread k: at each run, its share of the sleeps, then "finished". */
static void *bare_main(void *arg)
{
    struct bare_arg *a = arg;
    struct bare *b = a->b;
    uint32_t seen = 0, go;

    for (;;) {
        while ((go = atomic_load(&b->go)) == seen)
            futex_wait(&b->go, seen);
        if (go == UINT32_MAX)
            break;
        seen = go;
        for (long long i = a->k; i < b->tasks; i += b->workers)
            if (sleep_ms(b->delay) == 0)
                atomic_fetch_add(&b->done, 1);
        if (atomic_fetch_add(&b->finished, 1) + 1 == b->workers)
            futex_wake(&b->finished, 1);
    }
    free(a);
    return NULL;
}

/* Makes the W threads, asleep until bare_run.  Returns 0 or errno. */
static int bare_start(struct bare *b)
{
    struct bare_arg *a;
    int rc;

    if ((b->threads = calloc(b->workers, sizeof(*b->threads))) == NULL)
        return ENOMEM;
    for (b->started = 0; b->started < b->workers; b->started++) {
        if ((a = malloc(sizeof(*a))) == NULL)
            return ENOMEM;
        a->b = b;
        a->k = b->started;
        if ((rc = pthread_create(&b->threads[b->started], NULL, bare_main,
                                 a)) != 0) {
            free(a);
            return rc;
        }
    }
    return 0;
}

/* One run: one system call wakes all W; returns the sleeps done. */
static long long bare_run(struct bare *b)
{
    uint32_t f;

    atomic_store(&b->finished, 0);
    atomic_store(&b->done, 0);
    atomic_fetch_add(&b->go, 1);
    futex_wake(&b->go, INT_MAX);
    while ((f = atomic_load(&b->finished)) != b->workers)
        futex_wait(&b->finished, f);
    return atomic_load(&b->done);
}

static void bare_stop(struct bare *b)
{
    atomic_store(&b->go, UINT32_MAX);
    futex_wake(&b->go, INT_MAX);
    for (unsigned i = 0; i < b->started; i++)
        pthread_join(b->threads[i], NULL);
    free(b->threads);
}

/* The median time one nanosleep of ms milliseconds takes beyond ms. */
static double measure_oversleep(long long ms)
{
    double over[OVERSLEEP_SAMPLES];

    for (int i = 0; i < OVERSLEEP_SAMPLES; i++) {
        double t0 = bench_now();

        sleep_ms(ms);
        over[i] = bench_now() - t0 - (double)ms / 1000.0;
    }
    return bench_median(over, OVERSLEEP_SAMPLES);
}

/* Runs the T sleeps on the thread pool; returns how many succeeded. */
static long long run_threads(struct tp_pool *pool, struct tp_future **fs,
                             long long tasks, long long *delay, int *err)
{
    long long submitted = 0, done = 0;

    for (; submitted < tasks; submitted++)
        if ((*err = tp_submit(pool, sleep_task, delay, &fs[submitted])) != 0)
            break;
    for (long long i = 0; i < submitted; i++) {
        int status = tp_future_get(fs[i], NULL);

        if (status == 0)
            done++;
        else if (*err == 0)
            *err = status;
        tp_future_free(fs[i]);
    }
    return done;
}

/* Runs the T sleeps as one pp_map; returns how many succeeded. */
static long long run_procs(struct pp_pool *pool, const long long *delays,
                           long long tasks, int *err)
{
    struct pp_results *res = NULL;
    long long done = 0;

    *err = pp_map(pool, sleep_item, delays, sizeof(delays[0]), (size_t)tasks,
                  &(struct pp_map_options){ .chunk_size = 1 }, &res);
    for (size_t i = 0; res != NULL && i < pp_results_count(res); i++)
        if (pp_results_get(res, i, NULL, NULL) == 0)
            done++;
    pp_results_free(res);
    return done;
}

int main(int argc, char **argv)
{
    /* The tutorial's 5 tasks on 3 workers, with 2 s scaled to 200 ms. */
    long long tasks = 5, delay = 200;
    bool cascade = false, no_cascade = false, bare_on = false;
    bool one = false, send = false;
    struct bare bare = { .go = 0 };
    struct tp_tuning ttune = TP_TUNING_INIT;
    struct pp_tuning ptune = PP_TUNING_INIT;
    const struct bench_opt opts[] = {
        { .name = "tasks", .type = BENCH_OPT_INT, .num = &tasks, .min = 1,
          .max = 100000, .metavar = "T", .help = "number of sleeping tasks" },
        { .name = "delay-ms", .type = BENCH_OPT_INT, .num = &delay,
          .min = 0, .max = 60000, .metavar = "MS",
          .help = "how long each task sleeps" },
        { .name = "cascade", .type = BENCH_OPT_FLAG, .flag = &cascade,
          .help = "threads, procs: woken workers wake the other sleepers" },
        { .name = "no-cascade", .type = BENCH_OPT_FLAG, .flag = &no_cascade,
          .help = "threads, procs: the submitter wakes every worker" },
        { .name = "bare", .type = BENCH_OPT_FLAG, .flag = &bare_on,
          .help = "threads: no pool, W bare threads woken by one system "
                  "call (the machine's floor)" },
        { .name = "one-at-a-time", .type = BENCH_OPT_FLAG, .flag = &one,
          .help = "procs: a worker holds one task at a time, none in hand "
                  "(pp_options.prefetch 1)" },
        { .name = "send-answers", .type = BENCH_OPT_FLAG, .flag = &send,
          .help = "procs: workers send every answer through their sockets, "
                  "none taken from their rings (pp_tuning.always_send)" },
        { 0 }
    };
    static const char *const modes[] = { "threads", "seq", "procs", NULL };
    const struct bench_spec spec = {
        .name = "io",
        .summary = "T tasks that each sleep D ms, on W workers",
        .modes = modes,
        .opts = opts,
        .default_workers = 3,
    };
    struct bench b;
    struct tp_options topt;
    struct pp_options popt;
    struct tp_pool *tpool = NULL;
    struct pp_pool *ppool = NULL;
    struct tp_future **futures = NULL;
    long long *delays = NULL, rounds;
    double setup_s = 0.0, oversleep = 0.0, ideal, t0;
    bool seq, procs;
    int err = 0, rc;

    rc = bench_parse(&b, &spec, argc, argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    if (b.chunk > 1)
        return bench_usage_error(&b, "--chunk: io runs one sleep per task");
    if (cascade && no_cascade)
        return bench_usage_error(&b, "--cascade and --no-cascade exclude "
                                 "each other");
    if ((cascade || no_cascade) && strcmp(b.mode, "seq") == 0)
        return bench_usage_error(&b, "--%s needs a pool (threads or procs)",
                                 cascade ? "cascade" : "no-cascade");
    if (bare_on && (strcmp(b.mode, "threads") != 0 || cascade ||
                    no_cascade))
        return bench_usage_error(&b, "--bare: threads only, without "
                                 "--cascade or --no-cascade");
    if (one && (strcmp(b.mode, "procs") != 0 || cascade))
        return bench_usage_error(&b, "--one-at-a-time: procs only, "
                                 "without --cascade");
    if (send && (strcmp(b.mode, "procs") != 0 || cascade || one))
        return bench_usage_error(&b, "--send-answers: procs only, without "
                                 "--cascade or --one-at-a-time");
    seq = strcmp(b.mode, "seq") == 0;
    procs = strcmp(b.mode, "procs") == 0;
    rounds = seq ? tasks : (tasks + b.workers - 1) / b.workers;
    ideal = (double)rounds * (double)delay / 1000.0;

    if (b.format == BENCH_TEXT) {
        oversleep = measure_oversleep(delay < 10 ? delay : 10);
        bench_text(&b, "io: ideal %s%lld x %lld ms = %.3f ms; the timer "
                   "oversleeps %.3f ms per sleep, so ideal + oversleep = "
                   "%.3f ms\n", seq ? "" : "ceil(T/W) = ", rounds, delay,
                   ideal * 1e3, oversleep * 1e3,
                   (ideal + (double)rounds * oversleep) * 1e3);
    }

    t0 = bench_now();
    if (bare_on) {
        bare.tasks = tasks;
        bare.delay = delay;
        bare.workers = (unsigned)b.workers;
        err = bare_start(&bare);
    } else if (!seq && !procs) {
        futures = calloc((size_t)tasks, sizeof(*futures));
        bench_tp_options(&b, &topt);
        /* The harness's tuning (if any), with the cascade as asked. */
        if (topt.tuning != NULL)
            ttune = *topt.tuning;
        ttune.no_cascade = no_cascade;
        topt.tuning = &ttune;
        if (futures == NULL)
            err = ENOMEM;
        else
            err = tp_pool_create(&topt, &tpool);
    } else if (procs) {
        delays = calloc((size_t)tasks, sizeof(*delays));
        bench_pp_options(&b, &popt);
        if (one)
            popt.prefetch = 1;
        /* The harness's tuning (if any), with the cascade as asked. */
        if (popt.tuning != NULL)
            ptune = *popt.tuning;
        ptune.cascade = cascade;
        ptune.always_send = send;
        popt.tuning = &ptune;
        if (delays == NULL) {
            err = ENOMEM;
        } else {
            for (long long i = 0; i < tasks; i++)
                delays[i] = delay;
            err = pp_pool_create(&popt, &ppool);
        }
    }
    setup_s = bench_now() - t0;
    if (err != 0) {
        bench_error(&b, "creating the pool", err);
        goto done;
    }

    for (long rep = 0; rep < b.repeat; rep++) {
        struct bench_record r;
        long long done = 0;

        bench_record_init(&b, &r, rep);
        r.n = tasks;
        r.chunk = 1;
        r.variant = cascade      ? "cascade"
                    : no_cascade ? "no-cascade"
                    : bare_on    ? "bare"
                    : one        ? "one-at-a-time"
                    : send       ? "send-answers"
                                 : "-";
        r.tasks = tasks;
        r.setup_s = rep == 0 ? setup_s : 0.0;

        bench_kernel_start(&r);
        if (bare_on) {
            done = bare_run(&bare);
        } else if (seq) {
            for (long long i = 0; i < tasks; i++)
                if ((err = sleep_ms(delay)) == 0)
                    done++;
        } else if (procs) {
            done = run_procs(ppool, delays, tasks, &err);
        } else {
            done = run_threads(tpool, futures, tasks, &delay, &err);
        }
        bench_kernel_stop(&r);
        if (err != 0) {
            bench_error(&b, "running the tasks", err);
            break;
        }
        r.result = done;
        r.expected = tasks;
        if (bench_emit(&b, &r) != 0)
            break;
        bench_text(&b, "  %.3f ms over the ideal, %.3f ms over ideal + "
                   "oversleep\n", (r.kernel_s - ideal) * 1e3,
                   (r.kernel_s - ideal - (double)rounds * oversleep) * 1e3);
    }

done:
    if (bare_on)
        bare_stop(&bare);
    if (tpool != NULL)
        bench_trace_tp(&b, tpool);
    if (ppool != NULL)
        bench_trace_pp(&b, ppool);
    tp_pool_destroy(tpool);
    pp_pool_destroy(ppool);
    free(futures);
    free(delays);
    return bench_finish(&b);
}
