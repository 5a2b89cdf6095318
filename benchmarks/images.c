/*
 * images - the tutorial's batch image processing case study (section 7.2):
 * convert M images to grayscale, resize each to 256 x 256, write the
 * results; sequentially, on a thread pool, or on a process pool.
 *
 *     images --mode seq --images 32
 *     images --mode threads --workers 2
 *     images --mode procs --workers 2 --chunk 4
 *     images --mode procs --keep          keep the files, print the folder
 *
 * Set-up (not timed): a temporary folder under $TMPDIR (or /tmp), M test
 * images written into it as PPM and PGM files (cases/image.c makes them from
 * their number alone), and the reference: the same pipeline run
 * sequentially in memory, giving each output's checksum.
 *
 * The timed kernel is the tutorial's process_image for every file: read
 * it, convert to grayscale (Pillow's "L" weights), resize to 256 x 256 with
 * an area-average (box) filter, write a PGM.  Then, untimed, every output
 * file is read back and its checksum compared with the reference, and
 * with the checksum the worker reported.  The outputs are deleted before
 * each repetition, so a repetition cannot pass on its predecessor's files,
 * and the folder is removed at the end (unless --keep), even when the
 * process group is killed by SIGINT, SIGTERM or SIGHUP at any moment:
 * see THE WATCHER below.
 *
 * Modes:
 *   seq      a loop in the main thread.
 *   threads  one task per chunk of images on a tp_pool of W threads,
 *            each with a future the main thread waits for (tp_map would
 *            let the main thread work too, making W workers W + 1
 *            threads and the chart's x axis wrong by one).
 *   procs    pp_map over the M image numbers on a pp_pool of W processes;
 *            each returns its output's checksum as 8 bytes.  Only the
 *            number travels to the worker; the worker reads the file
 *            itself, as the tutorial's worker opens its path.
 * --chunk C: images per task; 0 picks 1, since one image is milliseconds
 * of work (a task costs microseconds) and images differ in size, so the
 * smallest chunk balances best.
 *
 * The record: n = M, chunk as used, tasks = ceil(M / chunk), variant "box"
 * (the filter), result = outputs whose checksum matched, expected = M.
 * Images per second = n / kernel_s.
 */
#include "bench.h"
#include "image.h"
#include "procpool.h"
#include "threadpool.h"
#include "trace_file.h"

#include <errno.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Room for one file's path: the folder (at most 255 bytes) and a name. */
#define PATH_CAP 300

/*
 * The run's folder, image count and file paths.  A file-scope static on
 * purpose, twice over: the process pool's workers are copies of this
 * program made when the pool is created, so anything set before
 * pp_pool_create() is there in every worker, with nothing to send; and the
 * signal handler that removes the files must find them without calling
 * anything that is not async-signal-safe.  It is written only before the
 * pool exists and the handler is installed, and read afterwards.
 */
static struct {
    char dir[256];
    unsigned count;
    char (*in)[PATH_CAP];       /* [count] input paths */
    char (*out)[PATH_CAP];      /* [count] output paths */
    pid_t owner;                /* the process that made the folder */
} run;

/* Names every file of the run.  Every fifth test image is gray
 * (img_generate), hence PGM. */
static void name_files(void)
{
    for (unsigned i = 0; i < run.count; i++) {
        snprintf(run.in[i], PATH_CAP, "%s/in%04u.%s", run.dir, i,
                 i % 5 == 4 ? "pgm" : "ppm");
        snprintf(run.out[i], PATH_CAP, "%s/out%04u.pgm", run.dir, i);
    }
}

/* Removes the outputs (and with `all` the inputs and the folder).  Files
 * that are not there are fine.  Async-signal-safe: unlink and rmdir only. */
static void clean(bool all)
{
    for (unsigned i = 0; i < run.count; i++) {
        unlink(run.out[i]);
        if (all)
            unlink(run.in[i]);
    }
    if (all)
        rmdir(run.dir);
}

/*
 * SIGINT, SIGTERM, SIGHUP (Ctrl-C, the suite stopping a run, a closed
 * terminal): remove the folder, which may hold a hundred megabytes, then
 * die of the same signal as if it had not been caught, so that whoever
 * started us sees what happened.  A pool worker (a copy of this process,
 * with this handler) only dies: the folder is the parent's.
 */
static void on_fatal_signal(int sig)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    int saved = errno;  /* a handler must leave errno as it found it */

    if (getpid() == run.owner)
        clean(true);
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);     /* delivered when this handler returns */
    errno = saved;
}

/* Installs on_fatal_signal (catch true) or the default action again
 * (catch false: before the paths are freed).  A signal that was ignored
 * when we started (nohup, a background job of a script) stays ignored, as
 * the shell meant. */
static void catch_fatal_signals(bool catch)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = catch ? on_fatal_signal
                                                : SIG_DFL };

    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
        sigaddset(&sa.sa_mask, sigs[k]);
    for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
        struct sigaction old;

        if (sigaction(sigs[k], NULL, &old) == 0 &&
            old.sa_handler == (catch ? SIG_DFL : on_fatal_signal))
            sigaction(sigs[k], &sa, NULL);
    }
}

/*
 * THE WATCHER: why the handler above is not enough.  A signal sent to the
 * process group (Ctrl-C, the suite stopping a run) reaches the parent and
 * the pool's workers at about the same moment, but "about" is the
 * trouble: a worker on the other CPU may be inside open(O_CREAT) of an
 * output file while the parent's handler unlinks the files, and finish
 * creating it just after; the folder then cannot be removed and stays
 * behind.  No order of unlinks fixes that, because the parent cannot know
 * when the last worker has stopped writing: the workers are its
 * grandchildren (children of the pool's fork server), which it cannot wait
 * for.
 *
 * So before anything writes into the folder, the program forks: the child
 * runs the benchmark, and the parent becomes a watcher that only waits.
 * It marks itself a "child subreaper" (prctl, Linux): when the benchmark
 * dies, its orphaned descendants (the fork server, the workers, which the
 * kernel kills as their parents die) become the watcher's children, so it
 * can wait for every one of them.  Once none is left, nothing can write
 * into the folder any more; it removes it and ends the way the benchmark
 * did, with its exit status or by its signal.  A signal sent to the
 * watcher alone (kill PID, timeout(1)) is passed on to the benchmark.
 * Without prctl (an old kernel) the watcher still waits for the benchmark
 * itself and cleans after it.
 */
static volatile sig_atomic_t watched_pid;

static void forward_signal(int sig)
{
    int saved = errno;

    if (watched_pid > 0)
        kill((pid_t)watched_pid, sig);
    errno = saved;
}

/* Called with the fatal signals blocked; *old_mask is the mask to
 * return to.  Returns 0 in the benchmark process, -1 if fork failed; the
 * watcher never returns. */
static pid_t become_watcher(const sigset_t *old_mask)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = forward_signal };
    siginfo_t info;
    int status = 0;
    pid_t child, p;

    prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
    fflush(NULL);       /* nothing buffered to be printed twice */
    child = fork();
    if (child <= 0)
        return child;
    watched_pid = child;
    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
        struct sigaction old;

        /* A signal ignored when we started stays ignored, as in
         * catch_fatal_signals. */
        if (sigaction(sigs[k], NULL, &old) == 0 &&
            old.sa_handler != SIG_IGN)
            sigaction(sigs[k], &sa, NULL);
    }
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    /* Wait for the benchmark to end without reaping it (WNOWAIT): until
     * it is reaped its pid cannot be given to another process, so a
     * signal forwarded meanwhile cannot hit a stranger.  Then stop
     * forwarding, and only then reap it. */
    while (waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR)
        continue;
    watched_pid = 0;
    while ((p = waitpid(child, &status, 0)) < 0 && errno == EINTR)
        continue;
    /* Then every orphan that came to us, until there are none. */
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        continue;
    clean(true);
    if (p == child && WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t set;

        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
    }
    _exit(p == child && WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static int process_one(unsigned i, uint64_t *sum)
{
    return img_process_file(run.in[i], run.out[i], sum);
}

/* A thread-pool task: images first .. first + count - 1. */
struct span {
    unsigned first, count;
    uint64_t *sums;
};

static int thread_task(void *arg, void **result)
{
    const struct span *sp = arg;
    int rc = 0;

    (void)result;
    for (unsigned i = sp->first; i < sp->first + sp->count && rc == 0; i++)
        rc = process_one(i, &sp->sums[i]);
    return rc;
}

/* Submits one task per chunk and waits for them all; returns the first
 * error.  spans and fs have room for ntasks. */
static int run_threads(struct tp_pool *pool, size_t chunk, uint64_t *sums,
                       struct span *spans, struct tp_future **fs,
                       size_t ntasks)
{
    size_t submitted = 0;
    int rc = 0;

    for (size_t t = 0; t < ntasks; t++) {
        spans[t].first = (unsigned)(t * chunk);
        spans[t].count = (unsigned)(run.count - t * chunk < chunk
                                        ? run.count - t * chunk
                                        : chunk);
        spans[t].sums = sums;
        if ((rc = tp_submit(pool, thread_task, &spans[t], &fs[t])) != 0)
            break;
        submitted++;
    }
    for (size_t t = 0; t < submitted; t++) {
        int st = tp_future_get(fs[t], NULL);

        if (rc == 0)
            rc = st;
        tp_future_free(fs[t]);
    }
    return rc;
}

/* pp_map item, in a worker process: the item is the image number. */
static int proc_item(const struct pp_task *task, struct pp_out *out)
{
    uint32_t i;
    uint64_t sum;
    int rc;

    if (task->arg_len != sizeof(i))
        return EINVAL;
    memcpy(&i, task->arg, sizeof(i));
    if (i >= run.count)
        return EINVAL;
    if ((rc = process_one(i, &sum)) != 0)
        return rc;
    return pp_out_write(out, &sum, sizeof(sum));
}

/* Writes the inputs and computes the reference checksums. */
static int make_inputs(long long max_side, uint64_t seed, uint64_t *ref)
{
    for (unsigned i = 0; i < run.count; i++) {
        struct img im;
        int rc = img_generate(i, seed, (unsigned)max_side, &im);

        if (rc != 0)
            return rc;
        rc = img_write_pnm(run.in[i], &im);
        if (rc == 0)
            rc = img_process(&im, &ref[i]);
        img_release(&im);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int run_procs(struct pp_pool *pool, const uint32_t *items,
                     size_t chunk, uint64_t *sums)
{
    struct pp_results *res = NULL;
    int rc;

    rc = pp_map(pool, proc_item, items, sizeof(*items), run.count,
                &(struct pp_map_options){ .chunk_size = chunk }, &res);
    for (unsigned i = 0; res != NULL && i < run.count; i++) {
        const void *data;
        size_t len;

        if (pp_results_get(res, i, &data, &len) == 0 &&
            len == sizeof(sums[i]))
            memcpy(&sums[i], data, sizeof(sums[i]));
    }
    pp_results_free(res);
    return rc;
}

/*
 * Gives every mode the same memory allocator, so that the modes differ
 * only in how the work is shared out.
 *
 * Each image takes a few large blocks (the input, its gray copy, a row
 * buffer, the output: up to a few megabytes each), freed when the image is
 * done.  glibc serves blocks this large from mmap, or from the main
 * thread's heap, and hands the memory back to the kernel on free: the next
 * image then takes a page fault for every 4 KiB it touches.  Pool threads
 * allocate from arenas of their own, which keep their memory.  Measured
 * here with perf stat: a sequential run of 32 images took 20000-24000 page
 * faults, the same work on one pool thread 6500; the sequential baseline
 * paid for faults the parallel runs did not, and images looked
 * superlinear (3.9x on 2 cores).  Raising glibc's two thresholds keeps
 * freed memory in every arena, in every mode, and in the process pool's
 * workers too, which are forked after this.  It must run before any
 * thread exists.  Other C libraries keep their own policies.
 */
static void same_allocator_everywhere(void)
{
#ifdef __GLIBC__
    /* 256 MiB: far above any one image's blocks (8192^2 x 3 bytes is the
     * largest input, 192 MiB). */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* Counts the outputs whose file and reported checksum match the
 * reference. */
static long long verify(const uint64_t *ref, const uint64_t *sums)
{
    long long good = 0;

    for (unsigned i = 0; i < run.count; i++) {
        uint64_t file;

        if (img_file_checksum(run.out[i], &file) == 0 && file == ref[i] &&
            sums[i] == ref[i])
            good++;
    }
    return good;
}

int main(int argc, char **argv)
{
    /* 32 images of 512 to 1024 pixels a side: a sequential run of a few
     * tenths of a second on a 2-core VM, long beside a task's cost and
     * short enough to repeat. */
    long long count = 32, max_side = 1024, seed = 1;
    bool keep = false;
    const struct bench_opt opts[] = {
        { .name = "images", .type = BENCH_OPT_INT, .num = &count, .min = 1,
          .max = 10000, .metavar = "M", .help = "number of input images" },
        { .name = "max-side", .type = BENCH_OPT_INT, .num = &max_side,
          .min = 16, .max = 8192, .metavar = "PX",
          .help = "inputs are PX/2 to PX pixels a side" },
        { .name = "seed", .type = BENCH_OPT_INT, .num = &seed, .min = 0,
          .max = 1000000000, .metavar = "S", .help = "seed of the images" },
        { .name = "keep", .type = BENCH_OPT_FLAG, .flag = &keep,
          .help = "keep the folder of images and print its name" },
        { 0 }
    };
    static const char *const modes[] = { "procs", "seq", "threads", NULL };
    const struct bench_spec spec = {
        .name = "images",
        .summary = "grayscale + 256x256 box resize of M images",
        .modes = modes,
        .opts = opts,
        /* The tutorial's image converter: Pool(4). */
        .default_workers = 4,
    };
    struct tp_options topt;
    struct pp_options popt;
    struct tp_pool *tpool = NULL;
    struct pp_pool *ppool = NULL;
    uint64_t *ref = NULL, *sums = NULL, all = IMG_FNV_INIT;
    uint32_t *items = NULL;
    struct span *spans = NULL;
    struct tp_future **futures = NULL;
    const char *tmp = getenv("TMPDIR");
    sigset_t fatal, old_mask;
    struct bench b;
    bool seq, procs, made = false;
    size_t chunk;
    double t0, setup_s;
    int err, rc;

    rc = bench_parse(&b, &spec, argc, argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    same_allocator_everywhere();
    seq = strcmp(b.mode, "seq") == 0;
    procs = strcmp(b.mode, "procs") == 0;
    chunk = seq || b.chunk == 0 ? 1 : (size_t)b.chunk;
    run.count = (unsigned)count;
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if (snprintf(run.dir, sizeof(run.dir), "%s/poolbench-images-XXXXXX",
                 tmp) >= (int)sizeof(run.dir))
        return bench_usage_error(&b, "TMPDIR is too long");

    t0 = bench_now();
    run.in = calloc(run.count, sizeof(*run.in));
    run.out = calloc(run.count, sizeof(*run.out));
    if (run.in == NULL || run.out == NULL) {
        bench_error(&b, "allocating", ENOMEM);
        goto done;
    }
    /* From the folder's birth until a handler is there for them, the
     * fatal signals wait (blocked), so that no moment is left in which
     * one would kill us with the folder made and no one to remove it. */
    sigemptyset(&fatal);
    sigaddset(&fatal, SIGINT);
    sigaddset(&fatal, SIGTERM);
    sigaddset(&fatal, SIGHUP);
    sigprocmask(SIG_BLOCK, &fatal, &old_mask);
    if (mkdtemp(run.dir) == NULL) {
        bench_error(&b, "creating the temporary folder", errno);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        goto done;
    }
    made = true;
    name_files();
    if (!keep && become_watcher(&old_mask) < 0) {
        bench_error(&b, "starting the watcher (fork)", errno);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        goto done;
    }
    run.owner = getpid();
    if (!keep)
        catch_fatal_signals(true);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    /* Allocated after the watcher has gone its way: it needs only the
     * paths (in `run`), and leaves with _exit. */
    ref = calloc(run.count, sizeof(*ref));
    sums = calloc(run.count, sizeof(*sums));
    items = calloc(run.count, sizeof(*items));
    spans = calloc(run.count, sizeof(*spans));
    futures = calloc(run.count, sizeof(*futures));
    if (ref == NULL || sums == NULL || items == NULL || spans == NULL ||
        futures == NULL) {
        bench_error(&b, "allocating", ENOMEM);
        goto done;
    }
    if ((err = make_inputs(max_side, (uint64_t)seed, ref)) != 0) {
        bench_error(&b, "writing the input images", err);
        goto done;
    }
    for (unsigned i = 0; i < run.count; i++) {
        items[i] = i;
        all = img_fnv1a(&ref[i], sizeof(ref[i]), all);
    }
    /* The pools come last: a process pool's workers are copies of the
     * program as it is now, run.dir included. */
    if (procs) {
        bench_pp_options(&b, &popt);
        /* One image at a time per worker: images differ in size. */
        popt.prefetch = 1;
        err = pp_pool_create(&popt, &ppool);
    } else if (!seq) {
        bench_tp_options(&b, &topt);
        err = tp_pool_create(&topt, &tpool);
    } else {
        err = 0;
    }
    setup_s = bench_now() - t0;
    if (err != 0) {
        bench_error(&b, "creating the pool", err);
        goto done;
    }
    bench_text(&b, "images: %u inputs in %s, reference checksum "
               "%016" PRIx64 "\n", run.count, run.dir, all);

    for (long rep = 0; rep < b.repeat; rep++) {
        struct bench_record r;

        clean(false);
        memset(sums, 0, run.count * sizeof(*sums));
        bench_record_init(&b, &r, rep);
        r.variant = "box";
        r.n = count;
        r.chunk = (long long)chunk;
        r.tasks = (long long)((run.count + chunk - 1) / chunk);
        r.setup_s = rep == 0 ? setup_s : 0.0;

        err = 0;
        bench_kernel_start(&r);
        if (seq) {
            for (unsigned i = 0; i < run.count && err == 0; i++)
                err = process_one(i, &sums[i]);
        } else if (procs) {
            err = run_procs(ppool, items, chunk, sums);
        } else {
            err = run_threads(tpool, chunk, sums, spans, futures,
                              (size_t)r.tasks);
        }
        bench_kernel_stop(&r);
        if (err != 0) {
            bench_error(&b, "processing the images", err);
            break;
        }
        r.result = verify(ref, sums);
        r.expected = count;
        rc = bench_emit(&b, &r);
        bench_text(&b, "  %.1f images/s\n", (double)count / r.kernel_s);
        if (rc != 0)
            break;
    }

done:
    if (tpool != NULL)
        bench_trace_tp(&b, tpool);
    if (ppool != NULL)
        bench_trace_pp(&b, ppool);
    tp_pool_destroy(tpool);
    pp_pool_destroy(ppool);
    if (made && keep)
        fprintf(stderr, "images: kept %s\n", run.dir);
    else if (made)
        clean(true);
    catch_fatal_signals(false);
    free(ref);
    free(sums);
    free(items);
    free(spans);
    free(futures);
    free(run.in);
    free(run.out);
    return bench_finish(&b);
}
