/*
 * pitfalls.c - lesson 9: three classic bugs of pools, and their fixes.
 *
 * A. The lock not released on an error path.  The tutorial's
 *    problematic_task holds a lock "and an exception is not handled", so
 *    the lock stays taken and every other thread waits for ever.  In C the
 *    exception is an early `return`.  The cure is the one the tutorial
 *    gives (try/finally), which in C is a single way out: every path that
 *    took the lock leaves through one label that releases it.
 *
 * B. fork() in a multithreaded program.  fork() copies the whole memory
 *    but only the calling thread.  A mutex that another thread held at that
 *    instant is copied locked, and in the child there is no thread that
 *    will ever unlock it.  The child deadlocks the first time it takes that
 *    lock: here the logger's, but just as well malloc()'s or stdio's
 *    internal locks.  POSIX's rule: between fork() and exec() or _exit(),
 *    a child of a multithreaded process may call only async-signal-safe
 *    functions (`man 7 signal-safety`): write(), _exit(), close()... not
 *    printf(), malloc(), or our log_value().  So the child formats its
 *    report by hand into a buffer on its stack and write()s it.  (The
 *    other cure, which pools/procpool.c uses, is to fork all workers from a
 *    process that has only one thread.)
 *
 * C. A worker that leaks.  A task that loads a big model every time and
 *    never frees it (the tutorial's load_model) makes a long-lived worker
 *    grow without bound.  If the leak cannot be fixed (it is in someone
 *    else's library), retire the worker after K tasks and fork a fresh one:
 *    the kernel takes back all of a process's memory when it exits.  That is
 *    multiprocessing.Pool(maxtasksperchild=K).  The price is one fork()
 *    per K tasks (lesson 6 measured what a fork costs).
 */
#include "pitfalls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- A. the lock not released on an error path ------------------------ */

int store_init(struct store *s)
{
    s->total = 0;
    s->errors = 0;
    return pthread_mutex_init(&s->lock, NULL);
}

void store_release(struct store *s)
{
    pthread_mutex_destroy(&s->lock);
}

int problematic_task(struct store *s, const char *input)
{
    char *end;
    long v;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    if (input == NULL || input[0] == '\0') {
        rc = EINVAL;
        goto out;
    }
    errno = 0;
    v = strtol(input, &end, 10);
    if (errno != 0 || *end != '\0') {
        rc = EINVAL;
        goto out;
    }
    s->total += v;
out:
    if (rc != 0)
        s->errors++;
    pthread_mutex_unlock(&s->lock);     /* every path passes here */
    return rc;
}

/* ---- B. fork() in a multithreaded program ---------------------------- */

int logger_init(struct logger *lg, int fd)
{
    lg->fd = fd;
    lg->lines = 0;
    return pthread_mutex_init(&lg->lock, NULL);
}

void logger_release(struct logger *lg)
{
    pthread_mutex_destroy(&lg->lock);
}

/*
 * Formats "<text><value>\n" into buf, which holds len bytes, using nothing
 * but arithmetic: no locale, no malloc, no lock, so it is async-signal-safe
 * and may run in a child between fork() and _exit().  Returns the length,
 * cut short if buf is too small.
 */
static size_t format_line(char *buf, size_t len, const char *text,
                          long value)
{
    char digits[24];
    size_t n = 0, k = 0;
    /* Work with the magnitude as unsigned: -LONG_MIN does not fit a long. */
    unsigned long m = value < 0 ? 0UL - (unsigned long)value
                                : (unsigned long)value;

    while (*text != '\0' && n < len)
        buf[n++] = *text++;
    do {
        digits[k++] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (value < 0 && n < len)
        buf[n++] = '-';
    while (k > 0 && n < len)
        buf[n++] = digits[--k];
    if (n < len)
        buf[n++] = '\n';
    return n;
}

void log_value(struct logger *lg, const char *text, long value)
{
    char buf[256];
    size_t n = format_line(buf, sizeof buf, text, value);

    pthread_mutex_lock(&lg->lock);
    /* A log line that cannot be written is dropped: logging must not
     * fail the program. */
    if (write(lg->fd, buf, n) == (ssize_t)n)
        lg->lines++;
    pthread_mutex_unlock(&lg->lock);
}

int spawn_reporter(struct logger *lg, int fd, long value, pid_t *pid)
{
    pid_t p = fork();

    if (p < 0)
        return errno;
    if (p == 0) {
        /* Only async-signal-safe calls from here to _exit(). */
        char buf[64];
        size_t n = format_line(buf, sizeof buf, "child: value=", value);

        _exit(write(fd, buf, n) == (ssize_t)n ? 0 : 1);
    }
    /* The parent has all its threads: logging here is safe. */
    log_value(lg, "started reporter ", (long)p);
    *pid = p;
    return 0;
}

/* ---- C. a leaking worker, recycled after K tasks --------------------- */

struct recycler {
    long max_tasks;         /* 0: never recycle */
    long served;            /* tasks the current worker has answered */
    pid_t pid;              /* the current worker */
    int task_fd;            /* write end of its task pipe */
    int result_fd;          /* read end of its answer pipe */
};

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t k = write(fd, p, len);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* Reads up to len bytes, fewer only at end-of-file; -1 and errno on error. */
static ssize_t read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t k = read(fd, p + got, len - got);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/*
 * The tutorial's leaking task: it "loads the model" on every call and
 * keeps it in a cache that is never emptied.  The cache is a chain of
 * blocks, each pointing to the one before, so the memory stays reachable
 * and the compiler cannot drop the allocation.
 */
static long leaky_task(long x, void **cache, long *leaked)
{
    void **model = malloc(LEAK_BYTES);

    if (model != NULL) {
        memset(model, 1, LEAK_BYTES);   /* touch it: make it resident */
        *model = *cache;
        *cache = model;
        *leaked += LEAK_BYTES;
    }
    return x * x;
}

/*
 * The worker leaves.  The kernel takes back all of its memory at _exit,
 * leak included: that is the whole point of recycling.  We free the cache
 * first only so that a leak checker (valgrind checks every process) has
 * nothing to report at the exit; the leak this lesson is about is the one
 * that grows while the worker lives.
 */
static _Noreturn void leave(void *cache, int status)
{
    while (cache != NULL) {
        void *prev = *(void **)cache;

        free(cache);
        cache = prev;
    }
    _exit(status);
}

/*
 * The worker: answers tasks until end-of-file, and, like a
 * maxtasksperchild worker, leaves by itself after max_tasks of them.
 */
static void worker_main(int task_fd, int result_fd, long max_tasks)
{
    void *cache = NULL;
    long done = 0, leaked = 0, arg;
    struct answer a;

    memset(&a, 0, sizeof a);    /* padding too: it goes down the pipe */
    for (;;) {
        ssize_t got = read_all(task_fd, &arg, sizeof arg);

        if (got == 0)
            leave(cache, 0);
        if (got != (ssize_t)sizeof arg)
            leave(cache, 1);
        a.result = leaky_task(arg, &cache, &leaked);
        a.worker = getpid();
        a.leaked = leaked;
        if (write_all(result_fd, &a, sizeof a) != 0)
            leave(cache, 1);
        if (max_tasks > 0 && ++done == max_tasks)
            leave(cache, 0);
    }
}

/* Forks a fresh worker into r.  0 or errno; on error nothing is left. */
static int start_worker(struct recycler *r)
{
    int task[2], res[2], rc;
    pid_t pid;

    if (pipe(task) != 0)
        return errno;
    if (pipe(res) != 0) {
        rc = errno;
        goto fail_task;
    }
    pid = fork();
    if (pid < 0) {
        rc = errno;
        goto fail_res;
    }
    if (pid == 0) {
        long max_tasks = r->max_tasks;

        close(task[1]);
        close(res[0]);
        free(r);        /* the child's copy is of no use to it */
        worker_main(task[0], res[1], max_tasks);
    }
    close(task[0]);
    close(res[1]);
    r->pid = pid;
    r->task_fd = task[1];
    r->result_fd = res[0];
    r->served = 0;
    return 0;

fail_res:
    close(res[0]);
    close(res[1]);
fail_task:
    close(task[0]);
    close(task[1]);
    return rc;
}

/* Closes the worker's task pipe (it leaves at end-of-file, if it has not
 * already) and reaps it.  0, or EIO if it did not exit with status 0. */
static int stop_worker(struct recycler *r)
{
    int status, rc = 0;

    close(r->task_fd);
    while (waitpid(r->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = EIO;
            break;
        }
    }
    if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        rc = EIO;
    close(r->result_fd);
    r->pid = -1;
    return rc;
}

int recycler_create(long max_tasks, struct recycler **out)
{
    struct recycler *r;
    int rc;

    if (max_tasks < 0 || out == NULL)
        return EINVAL;
    r = malloc(sizeof *r);
    if (r == NULL)
        return ENOMEM;
    r->max_tasks = max_tasks;
    if ((rc = start_worker(r)) != 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int recycler_call(struct recycler *r, long arg, struct answer *ans)
{
    int rc;

    if (r == NULL || ans == NULL)
        return EINVAL;
    if (r->pid < 0)
        return EIO;         /* a replacement could not be started */
    if ((rc = write_all(r->task_fd, &arg, sizeof arg)) != 0)
        return rc;
    if (read_all(r->result_fd, ans, sizeof *ans) != (ssize_t)sizeof *ans)
        return EIO;
    r->served++;
    if (r->max_tasks > 0 && r->served == r->max_tasks) {
        /* The worker has left by itself: reap it, fork a fresh one. */
        if ((rc = stop_worker(r)) != 0)
            return rc;
        if ((rc = start_worker(r)) != 0)
            return rc;
    }
    return 0;
}

int recycler_destroy(struct recycler *r)
{
    int rc = 0;

    if (r == NULL)
        return 0;
    if (r->pid >= 0)
        rc = stop_worker(r);
    free(r);
    return rc;
}
