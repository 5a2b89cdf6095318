/*
 * pitfalls.h - lesson 9: three bugs from the tutorial's "common problems",
 * each in a form you can reproduce, find with a tool, and fix.
 *
 * A. The deadlock: a lock not released on an error path (tutorial 5.3.1).
 * B. fork() in a program that runs threads: the child inherits a locked
 *    mutex whose owner does not exist in the child.
 * C. A worker that leaks (the tutorial's "each process loads a large
 *    model", 5.3.2), and the usual cure, multiprocessing's
 *    maxtasksperchild: replace the worker after K tasks.
 *
 * The fourth pitfall, the `if __name__ == '__main__':` guard, has no code
 * here: README.md explains what it corresponds to in C.
 *
 * Calls return 0 or a positive errno value.  Nothing here prints.
 */
#ifndef LESSON_PITFALLS_H
#define LESSON_PITFALLS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * A. A running total shared by the tasks of a thread pool.
 */
struct store {
    pthread_mutex_t lock;   /* guards total and errors */
    long total;             /* sum of the numbers added */
    long errors;            /* inputs that were not numbers */
};

/* Initialises / releases a store (caller-owned).  0 or errno. */
int store_init(struct store *s);
void store_release(struct store *s);

/*
 * The tutorial's problematic_task: parses `input` as a decimal number and
 * adds it to s->total under s->lock.  Returns 0; or EINVAL (and counts one
 * error) if input is NULL, empty, or not entirely a number in range.
 */
int problematic_task(struct store *s, const char *input);

/*
 * B. A logger shared by the threads of a program: one line per call,
 * never two lines mixed, thanks to its lock.
 */
struct logger {
    pthread_mutex_t lock;   /* guards lines and the writes to fd */
    int fd;                 /* where lines go; not owned */
    unsigned long lines;    /* lines written */
};

int logger_init(struct logger *lg, int fd);
void logger_release(struct logger *lg);

/* Writes "<text><value>\n" to lg->fd under lg->lock. */
void log_value(struct logger *lg, const char *text, long value);

/*
 * Forks a child that reports "child: value=<value>\n" on descriptor fd and
 * exits with status 0.  The caller may run other threads, which may be
 * logging through lg at that moment.  Returns 0 and the child's pid in
 * *pid (the caller reaps it), or the errno of fork().
 */
int spawn_reporter(struct logger *lg, int fd, long value, pid_t *pid);

/*
 * C. One worker process that runs leaky_task() for its parent, replaced by
 * a fresh one after max_tasks tasks (multiprocessing's maxtasksperchild;
 * pools/procpool.h has the same option).  max_tasks 0 means never.
 */

/* Bytes every task leaks: the tutorial's model loaded by every call. */
#define LEAK_BYTES (1L << 20)

struct answer {
    long result;            /* leaky_task(arg) = arg * arg */
    pid_t worker;           /* the process that computed it */
    long leaked;            /* bytes that process has leaked so far */
};

struct recycler;

/* Starts the first worker.  EINVAL if max_tasks < 0 or out is NULL. */
int recycler_create(long max_tasks, struct recycler **out);

/* Runs one task in the worker and waits for its answer.  Returns 0; EIO if
 * the worker died; or the errno of pipe()/fork()/read()/write(). */
int recycler_call(struct recycler *r, long arg, struct answer *ans);

/* Stops and reaps the worker.  0, or EIO if it had not exited normally
 * with status 0.  NULL does nothing. */
int recycler_destroy(struct recycler *r);

#endif
