/*
 * gil.h - lesson 8: a global interpreter lock, built in C.
 *
 * CPython runs Python code only while a thread holds the GIL, one lock for
 * the whole interpreter.  So N threads running Python code compute one at a
 * time, however many cores there are; they take turns, and a thread that
 * waits for I/O (time.sleep, a socket read) lets go of the GIL while it
 * waits.  That is the whole reason the tutorial sends CPU-bound work to a
 * process pool and I/O-bound work to a thread pool.
 *
 * Here the "interpreter" is a C loop (interp.c) that does what CPython's
 * evaluation loop does: it holds the GIL while it computes, offers it to
 * the others every `check_interval` steps (gil_yield), and lets go of it
 * around a blocking call (gil_sleep_ms).  You write the GIL (gil.c).
 *
 * All functions are called by the threads that run the "interpreter"; the
 * GIL is not recursive: a thread that holds it must not acquire it again.
 */
#ifndef LESSON_GIL_H
#define LESSON_GIL_H

struct gil;

/* Creates an unlocked GIL.  Returns 0, or ENOMEM / the error of the mutex
 * and condition variable set-up. */
int gil_create(struct gil **out);

/* Frees it; nobody may hold it or wait for it.  NULL does nothing. */
void gil_destroy(struct gil *g);

/* Blocks until the calling thread holds the GIL. */
void gil_acquire(struct gil *g);

/* Lets go of the GIL, which the caller holds, and wakes one waiter. */
void gil_release(struct gil *g);

/*
 * Called by the holder every check_interval steps: if no other thread
 * waits, returns 0 at once, still holding the GIL.  If some thread waits,
 * hands the GIL over, waits until one of the waiters HAS TAKEN it ("forced
 * switching", CPython 3.2), then queues to get it back, and returns 1
 * holding it again.
 */
int gil_yield(struct gil *g);

/* Threads blocked in gil_acquire() or queueing in gil_yield() right now. */
unsigned long gil_waiters(struct gil *g);

/* Hand-overs so far: the number of gil_yield() calls that returned 1. */
unsigned long gil_switches(struct gil *g);

/*
 * The "interpreter" (interp.c, given).
 */

/* The tutorial's is_prime(n): 1 or 0, by trial division. */
int is_prime(long n);

/* Counts the primes in [lo, hi) like a Python thread would: acquires the
 * GIL, calls gil_yield() every check_interval numbers, releases it at the
 * end.  check_interval >= 1. */
long gil_count_primes(struct gil *g, long lo, long hi, long check_interval);

/* time.sleep(ms / 1000.0): the caller holds the GIL; it is released for
 * the sleep and acquired again before returning. */
void gil_sleep_ms(struct gil *g, long ms);

#endif
