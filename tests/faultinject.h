/*
 * faultinject.h - make the nth call of malloc, pthread_create, fork... fail.
 *
 * A clean-up path runs only when something fails, and on a healthy machine
 * nothing does, so without help those paths are never tested.  This helper
 * makes any chosen call fail on purpose: the tests count the calls a
 * create, submit or map makes, then fail each one in turn and check that
 * the pool undoes what it had done (no leak, no thread or process left).
 *
 * How: the linker's --wrap.  A program linked with -Wl,--wrap=malloc has
 * every reference to malloc in its own objects (the test, libpools.a,
 * libcheck.a) sent to __wrap_malloc, defined in faultinject.c, which counts
 * the call and either fails it or passes it on to __real_malloc, the real
 * one.  Shared libraries (libc, the sanitizers' runtimes) are not touched:
 * __real_malloc still reaches ASan's or valgrind's malloc, so the leak
 * checkers see every block.  The Makefile links every tests/test_faults_*.c
 * this way, with one --wrap per function below.
 *
 * Counting.  Calls are counted per function from all threads and from the
 * start of the process (or the last fi_reset).  A forked child inherits the
 * counts and the armed faults, so a fault may be aimed at a child too.
 * Check's own code is static (libcheck.a) and goes through the wrappers as
 * well, and a passing ck_assert allocates: arm a fault right before the
 * call under test, and assert only after it returns.
 *
 * Everything here is thread-safe (C11 atomics) and async-signal-safe.
 */
#ifndef TESTS_FAULTINJECT_H
#define TESTS_FAULTINJECT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The functions that can be made to fail, and how a failure looks. */
enum fi_call {
    FI_MALLOC,              /* NULL, errno = err */
    FI_CALLOC,              /* NULL, errno = err */
    FI_REALLOC,             /* NULL, errno = err, the old block kept */
    FI_ALIGNED_ALLOC,       /* NULL, errno = err */
    FI_PTHREAD_CREATE,      /* returns err */
    FI_PTHREAD_MUTEX_INIT,  /* returns err */
    FI_PTHREAD_COND_INIT,   /* returns err */
    FI_FORK,                /* -1, errno = err */
    FI_SOCKETPAIR,          /* -1, errno = err */
    FI_PIPE2,               /* -1, errno = err */
    FI_MMAP,                /* MAP_FAILED, errno = err */
    FI_SIGNALFD,            /* -1, errno = err */
    FI_FCNTL,               /* -1, errno = err */
    FI_NCALLS
};

/*
 * Arms one fault: the nth call of c from now (0: the very next one) fails
 * with err (a positive errno value such as ENOMEM or EAGAIN); the calls
 * before and after it go through.  Replaces any fault armed on c before.
 */
void fi_arm(enum fi_call c, long nth, int err);

/* As fi_arm, but every call of c from the nth on fails, until disarmed. */
void fi_arm_from(enum fi_call c, long nth, int err);

/* Disarms every fault.  The counts carry on. */
void fi_disarm(void);

/* Calls of c so far, the failed ones included. */
long fi_count(enum fi_call c);

/* Calls of c that were made to fail so far. */
long fi_fired(enum fi_call c);

/* Disarms every fault and sets every count to 0. */
void fi_reset(void);

/* The function's name, "malloc" for FI_MALLOC, for messages. */
const char *fi_name(enum fi_call c);

#ifdef __cplusplus
}
#endif

#endif /* TESTS_FAULTINJECT_H */
