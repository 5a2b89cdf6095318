/*
 * faultinject.c - the wrappers behind faultinject.h.
 *
 * Each wrapped function f has a __wrap_f here (the linker sends calls of f
 * to it, see faultinject.h) that asks should_fail() and then either fails
 * the way f fails or calls __real_f.  The names with two leading
 * underscores are reserved to the implementation in C; the linker's --wrap
 * chooses them, not us.
 *
 * should_fail counts the call with one atomic fetch-and-add, which gives
 * every call, from any thread, a number of its own (counting from 1): the
 * call numbered `at1` fails (and, for fi_arm_from, every later one).
 * Arming stores the error and the mode before `at1`, so a thread that sees
 * the new `at1` also sees the error to fail with (sequentially consistent
 * atomics).
 *
 * _GNU_SOURCE: pipe2 and signalfd are Linux calls.
 */
#define _GNU_SOURCE
#include "faultinject.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

struct fault {
    _Atomic long count;     /* calls so far */
    _Atomic long at1;       /* number of the call to fail + 1; 0: none */
    _Atomic bool from;      /* every call from that one on fails */
    _Atomic int err;
    _Atomic long fired;     /* calls made to fail */
};

/*
 * One per function.  A global is the point here: the wrappers have no
 * other way to reach it.  It is all zero when the program starts (nothing
 * armed, no call counted), which is why `at1` counts from 1: the wrappers
 * may run before main, from a constructor, before any code could set a
 * "not armed" value.
 */
static struct fault faults[FI_NCALLS];

static const char *const names[FI_NCALLS] = {
    [FI_MALLOC] = "malloc",
    [FI_CALLOC] = "calloc",
    [FI_REALLOC] = "realloc",
    [FI_ALIGNED_ALLOC] = "aligned_alloc",
    [FI_PTHREAD_CREATE] = "pthread_create",
    [FI_PTHREAD_MUTEX_INIT] = "pthread_mutex_init",
    [FI_PTHREAD_COND_INIT] = "pthread_cond_init",
    [FI_FORK] = "fork",
    [FI_SOCKETPAIR] = "socketpair",
    [FI_PIPE2] = "pipe2",
    [FI_MMAP] = "mmap",
    [FI_SIGNALFD] = "signalfd",
    [FI_FCNTL] = "fcntl",
};

/* Counts a call of c; true (and the error in *err) if it must fail. */
static bool should_fail(enum fi_call c, int *err)
{
    struct fault *f = &faults[c];
    long n = atomic_fetch_add(&f->count, 1) + 1;
    long at1 = atomic_load(&f->at1);

    if (at1 == 0 || n < at1 || (n > at1 && !atomic_load(&f->from)))
        return false;
    *err = atomic_load(&f->err);
    atomic_fetch_add(&f->fired, 1);
    return true;
}

static void arm(enum fi_call c, long nth, int err, bool from)
{
    struct fault *f = &faults[c];

    atomic_store(&f->at1, 0);
    atomic_store(&f->err, err);
    atomic_store(&f->from, from);
    atomic_store(&f->at1, atomic_load(&f->count) + nth + 1);
}

void fi_arm(enum fi_call c, long nth, int err)
{
    arm(c, nth, err, false);
}

void fi_arm_from(enum fi_call c, long nth, int err)
{
    arm(c, nth, err, true);
}

void fi_disarm(void)
{
    int c;

    for (c = 0; c < FI_NCALLS; c++)
        atomic_store(&faults[c].at1, 0);
}

long fi_count(enum fi_call c)
{
    return atomic_load(&faults[c].count);
}

long fi_fired(enum fi_call c)
{
    return atomic_load(&faults[c].fired);
}

void fi_reset(void)
{
    int c;

    fi_disarm();
    for (c = 0; c < FI_NCALLS; c++) {
        atomic_store(&faults[c].count, 0);
        atomic_store(&faults[c].fired, 0);
    }
}

const char *fi_name(enum fi_call c)
{
    return c >= 0 && c < FI_NCALLS ? names[c] : "?";
}

/* ---- The wrappers ---------------------------------------------------- */

/* The real functions (the linker's names), then our prototypes, which
 * -Wmissing-prototypes asks for. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);
int __real_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr);
int __real_pthread_cond_init(pthread_cond_t *cv,
                             const pthread_condattr_t *attr);
pid_t __real_fork(void);
int __real_socketpair(int domain, int type, int protocol, int sv[2]);
int __real_pipe2(int fds[2], int flags);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off);
int __real_signalfd(int fd, const sigset_t *mask, int flags);
int __real_fcntl(int fd, int cmd, ...);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);
int __wrap_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr);
int __wrap_pthread_cond_init(pthread_cond_t *cv,
                             const pthread_condattr_t *attr);
pid_t __wrap_fork(void);
int __wrap_socketpair(int domain, int type, int protocol, int sv[2]);
int __wrap_pipe2(int fds[2], int flags);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off);
int __wrap_signalfd(int fd, const sigset_t *mask, int flags);
int __wrap_fcntl(int fd, int cmd, ...);

void *__wrap_malloc(size_t size)
{
    int err;

    if (should_fail(FI_MALLOC, &err)) {
        errno = err;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    int err;

    if (should_fail(FI_CALLOC, &err)) {
        errno = err;
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    int err;

    if (should_fail(FI_REALLOC, &err)) {
        errno = err;
        return NULL;
    }
    return __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    int err;

    if (should_fail(FI_ALIGNED_ALLOC, &err)) {
        errno = err;
        return NULL;
    }
    return __real_aligned_alloc(align, size);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    int err;

    if (should_fail(FI_PTHREAD_CREATE, &err))
        return err;
    return __real_pthread_create(t, attr, fn, arg);
}

int __wrap_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr)
{
    int err;

    if (should_fail(FI_PTHREAD_MUTEX_INIT, &err))
        return err;
    return __real_pthread_mutex_init(m, attr);
}

int __wrap_pthread_cond_init(pthread_cond_t *cv,
                             const pthread_condattr_t *attr)
{
    int err;

    if (should_fail(FI_PTHREAD_COND_INIT, &err))
        return err;
    return __real_pthread_cond_init(cv, attr);
}

pid_t __wrap_fork(void)
{
    int err;

    if (should_fail(FI_FORK, &err)) {
        errno = err;
        return -1;
    }
    return __real_fork();
}

int __wrap_socketpair(int domain, int type, int protocol, int sv[2])
{
    int err;

    if (should_fail(FI_SOCKETPAIR, &err)) {
        errno = err;
        return -1;
    }
    return __real_socketpair(domain, type, protocol, sv);
}

int __wrap_pipe2(int fds[2], int flags)
{
    int err;

    if (should_fail(FI_PIPE2, &err)) {
        errno = err;
        return -1;
    }
    return __real_pipe2(fds, flags);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off)
{
    int err;

    if (should_fail(FI_MMAP, &err)) {
        errno = err;
        return MAP_FAILED;
    }
    return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_signalfd(int fd, const sigset_t *mask, int flags)
{
    int err;

    if (should_fail(FI_SIGNALFD, &err)) {
        errno = err;
        return -1;
    }
    return __real_signalfd(fd, mask, flags);
}

/*
 * fcntl's third argument is an int or a pointer depending on cmd, or
 * absent.  Like glibc's own fcntl we read it as a pointer and pass it on:
 * on the ABIs we build for (x86-64, AArch64) an int and a pointer travel
 * in the same register, and the kernel reads only what cmd needs.
 */
int __wrap_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    int err;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (should_fail(FI_FCNTL, &err)) {
        errno = err;
        return -1;
    }
    return __real_fcntl(fd, cmd, arg);
}
