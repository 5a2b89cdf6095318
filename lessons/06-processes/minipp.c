/*
 * minipp.c - lesson 6: fork, pipes, _exit, waitpid; a tiny process pool.
 *
 * YOUR PART: the five places marked EXERCISE.  Everything else compiles,
 * runs and is correct; read it, it is the other half of each exercise.
 * Grade your work with `make grade LESSON=06` from the top folder.
 *
 * What a process is for us here: fork() makes a copy of the calling
 * process.  The copy (the child) has the same memory, the same program and
 * copies of the same file descriptors, but from then on it changes only its
 * own memory.  So the only way back to the parent is through the kernel: a
 * pipe.  The child writes its answer into the pipe, the parent reads it.
 *
 * Four rules make this correct, and every line below follows from them:
 *
 * 1. A child leaves with _exit(), never by returning or calling exit().
 *    Returning would run the parent's code a second time (in a test: the
 *    rest of the test!); exit() would run atexit handlers and flush stdio
 *    buffers that the child copied from the parent, printing them twice.
 *
 * 2. Every child is reaped with waitpid().  Until then the kernel keeps its
 *    exit status in a "zombie" entry of the process table.
 *
 * 3. Read the answer before waiting for the child.  A child that writes
 *    more than the pipe holds (64 KiB on Linux) blocks until someone reads;
 *    a parent that waits first would wait for ever.
 *
 * 4. Each side closes the pipe ends it does not use.  A reader sees
 *    end-of-file only when every copy of the write end is closed, and fork()
 *    copies descriptors: a forgotten copy means a read that never ends.
 *    This is why a pool's worker closes the pipes of the workers forked
 *    before it.
 *
 * The pool: each child has its own task pipe and its own result pipe.  A
 * message is 16 bytes (index, value), less than PIPE_BUF, so a write of one
 * message is never split.  mpp_map() keeps one task in flight per child and
 * uses poll() to hear from whichever child answers first, so the work
 * balances itself, like Pool.map with chunksize=1.
 *
 * What it deliberately does not do (the process pool in pools/ does, see
 * pools/pp_slots.c and pp_collector.c): recover from a
 * crashed child, time tasks out, batch tasks into chunks, or survive a
 * SIGPIPE when it writes to a child that has died.
 */
#include "minipp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg {
    long index;
    long value;
};

struct worker {
    pid_t pid;          /* -1 once reaped or never started */
    int task_fd;        /* write end of the child's task pipe */
    int result_fd;      /* read end of the child's result pipe */
    int busy;           /* 1 while a task sent to it has no answer yet */
};

struct mpp_pool {
    int n;              /* workers started so far */
    mpp_fn *fn;
    struct worker w[];
};

/* Writes all len bytes, going on after partial writes and signals. */
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

/*
 * Reads up to len bytes; fewer only at end-of-file.  Returns the number
 * read, or -1 with errno set.
 */
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
 * pipe() with both ends close-on-exec.  Nothing here calls exec, but a
 * program that links this code might, and a pipe end leaked into another
 * program keeps the pipe open (rule 4).  pipe2(O_CLOEXEC) would do it in
 * one call but is not in POSIX.1-2008.
 */
static int make_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return errno;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        int rc = errno;

        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    return 0;
}

/* waitpid() that goes on after a signal.  Returns 0 or errno. */
static int reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

int run_in_child(mpp_fn *fn, long arg, long *result)
{
    int fds[2];
    int rc, status;
    long value;
    ssize_t got;
    pid_t pid;

    if (fn == NULL || result == NULL)
        return EINVAL;
    if ((rc = make_pipe(fds)) != 0)
        return rc;
    pid = fork();
    if (pid < 0) {
        rc = errno;
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    if (pid == 0) {
        /*
         * EXERCISE 1 (the child): close the pipe end the child does not
         * use, compute fn(arg), send it with write_all() and leave with
         * _exit(): status 0 if the write worked, 1 if not.  Never return
         * from this branch (rule 1).  Remove the (void) line and the
         * _exit(127), which are only there so that the starter compiles.
         */
        (void)arg;
        _exit(127);
    }

    /* Parent.  Close our copy of the write end first (rule 4): otherwise
     * a child that dies without writing would leave us reading for ever. */
    close(fds[1]);
    rc = 0;
    got = read_all(fds[0], &value, sizeof value);
    if (got < 0)
        rc = errno;
    else if ((size_t)got != sizeof value)
        rc = EIO;
    close(fds[0]);

    /*
     * EXERCISE 2 (the parent): reap the child with reap(), whatever
     * happened above (rule 2).  Then, if rc is still 0 but the child did
     * not exit normally with status 0 (see WIFEXITED and WEXITSTATUS in
     * `man 2 waitpid`), set rc to EIO: a crash is not an answer.
     */
    (void)status;
    (void)reap;
    if (rc == 0)
        *result = value;
    return rc;
}

/* The child's side of the pool: answer tasks until end-of-file. */
static void worker_main(mpp_fn *fn, int task_fd, int result_fd)
{
    struct msg m;

    /*
     * EXERCISE 3: loop for ever: read one struct msg from task_fd with
     * read_all(); at end-of-file (0 bytes) the pool is being destroyed,
     * so leave with _exit(0); after a short read or an error, _exit(1).
     * Otherwise replace m.value by fn(m.value), keep m.index as it is,
     * and write the message back to result_fd (_exit(1) if that fails).
     */
    (void)fn;
    (void)task_fd;
    (void)result_fd;
    (void)m;
    _exit(127);
}

int mpp_create(int workers, mpp_fn *fn, struct mpp_pool **out)
{
    struct mpp_pool *pool;
    int i, rc;

    if (workers < 1 || workers > MPP_MAX_WORKERS || fn == NULL ||
        out == NULL)
        return EINVAL;
    pool = malloc(sizeof *pool + (size_t)workers * sizeof pool->w[0]);
    if (pool == NULL)
        return ENOMEM;
    pool->n = 0;
    pool->fn = fn;

    for (i = 0; i < workers; i++) {
        int task[2], res[2];
        pid_t pid;

        if ((rc = make_pipe(task)) != 0)
            goto fail;
        if ((rc = make_pipe(res)) != 0) {
            close(task[0]);
            close(task[1]);
            goto fail;
        }
        pid = fork();
        if (pid < 0) {
            rc = errno;
            close(task[0]);
            close(task[1]);
            close(res[0]);
            close(res[1]);
            goto fail;
        }
        if (pid == 0) {
            /*
             * EXERCISE 4: this is the new worker.  Close the parent's ends
             * of its own two pipes, and the parent's ends of the pipes of
             * every worker forked before it (pool->w[0] to pool->w[i - 1]):
             * fork() copied them into this child (rule 4).
             */
            /* The child's copy of the pool is of no use to it. */
            free(pool);
            worker_main(fn, task[0], res[1]);
        }
        close(task[0]);
        close(res[1]);
        pool->w[i].pid = pid;
        pool->w[i].task_fd = task[1];
        pool->w[i].result_fd = res[0];
        pool->w[i].busy = 0;
        pool->n = i + 1;
    }
    *out = pool;
    return 0;

fail:
    mpp_destroy(pool);
    return rc;
}

/* Sends task `index` to worker i. */
static int send_task(struct mpp_pool *pool, int i, size_t index, long arg)
{
    struct msg m = { (long)index, arg };
    int rc = write_all(pool->w[i].task_fd, &m, sizeof m);

    if (rc == 0)
        pool->w[i].busy = 1;
    return rc;
}

int mpp_map(struct mpp_pool *pool, const long *in, long *out, size_t n)
{
    struct pollfd pfd[MPP_MAX_WORKERS];
    size_t next = 0, done = 0;
    int i, rc;

    if (pool == NULL || (n > 0 && (in == NULL || out == NULL)))
        return EINVAL;

    /* One task to every worker to start with. */
    for (i = 0; i < pool->n && next < n; i++, next++) {
        if ((rc = send_task(pool, i, next, in[next])) != 0)
            return rc;
    }

    while (done < n) {
        for (i = 0; i < pool->n; i++) {
            pfd[i].fd = pool->w[i].busy ? pool->w[i].result_fd : -1;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, (nfds_t)pool->n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        for (i = 0; i < pool->n; i++) {
            struct msg m;

            if (pfd[i].revents == 0)
                continue;
            /* POLLHUP without data means the child died: read() then
             * returns 0 and we report EIO. */
            if (read_all(pool->w[i].result_fd, &m, sizeof m) !=
                (ssize_t)sizeof m)
                return EIO;
            if (m.index < 0 || (size_t)m.index >= n)
                return EIO;
            out[m.index] = m.value;
            pool->w[i].busy = 0;
            done++;
            if (next < n) {
                if ((rc = send_task(pool, i, next, in[next])) != 0)
                    return rc;
                next++;
            }
        }
    }
    return 0;
}

int mpp_destroy(struct mpp_pool *pool)
{
    int i, status, rc = 0;

    if (pool == NULL)
        return 0;
    /* Close every task pipe first, so that all children see end-of-file
     * and leave at the same time; then reap them one by one. */
    for (i = 0; i < pool->n; i++)
        close(pool->w[i].task_fd);
    for (i = 0; i < pool->n; i++) {
        /*
         * EXERCISE 5: reap worker i (rule 2) and set rc to EIO if reap()
         * fails or the worker did not exit normally with status 0.
         */
        (void)status;
        close(pool->w[i].result_fd);
    }
    free(pool);
    return rc;
}
