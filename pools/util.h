/*
 * util.h - the few helpers both pools need, written once (internal).
 *
 * Not installed and not part of the manual: threadpool.c, future.c and the
 * process pool's files include it; benchmarks and lessons use the public
 * tp_cpu_count and pp_cpu_count, which call pb_cpu_count, so the pools'
 * default worker count and the benchmarks' default --workers agree, even
 * under `taskset`.  The names carry pb_ (poolbench) so that they cannot
 * clash with a program that links libpools.a.
 *
 * What lives here: one clock (pb_now_ns), one deadline for a timed wait
 * (pb_deadline_after), one step of a polling loop (pb_poll_step,
 * pb_poll_expired), one CPU count (pb_cpu_count), the two ways the pools
 * set up their locks, and PB_CHECK, the one invariant check of both pools.
 */
#ifndef POOLS_UTIL_H
#define POOLS_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/*
 * A broken invariant is a bug in the pools: stop with file and line.  Like
 * assert(), but kept in every build (NDEBUG does not remove it), as a bug
 * that only shows in a release build is the one most worth catching.  The
 * only text the library ever prints, on its way to abort().
 */
#define PB_CHECK(cond)                                                      \
    ((cond) ? (void)0 : pb_check_failed(#cond, __FILE__, __LINE__))

_Noreturn void pb_check_failed(const char *cond, const char *file, int line);

/* Clamp for timeouts so that time_t cannot overflow: about 31 years. */
#define PB_TIMEOUT_MAX_S 1e9

/*
 * Polling loops: the first PB_SPIN_PAUSES polls are a CPU "pause" apart
 * (some 40 ns each on current x86), the rest a sched_yield apart, so that
 * on a machine with more threads than cores a poller hands its core to
 * whoever needs it (often the very thread it waits for) instead of burning
 * its time slice.  From then on the clock is read every 16 polls.  16
 * pauses cover a hand-off between two free cores; on a busy machine, where
 * the submitter and the worker end up sharing one core, yielding sooner
 * matters: 64 made round trips twice as slow there (benchmarks/overhead).
 */
#define PB_SPIN_PAUSES 16u
#define PB_SPIN_CLOCK_MASK 15u

/* CLOCK_MONOTONIC in nanoseconds: for intervals, never for dates. */
uint64_t pb_now_ns(void);

/* One step of a polling loop, the i-th (counting from 1). */
void pb_poll_step(unsigned i);

/*
 * Whether a polling loop should give up after its i-th poll.  The clock is
 * first read when the pause phase ends, which starts the limit_ns budget
 * in *end: a poll that succeeds within the pause phase never reads it.
 */
bool pb_poll_expired(unsigned i, uint64_t *end, uint64_t limit_ns);

/* A non-negative timeout in nanoseconds, clamped so the cast is defined. */
uint64_t pb_timeout_ns(double timeout_s);

/* The absolute CLOCK_MONOTONIC time timeout_s (>= 0) seconds from now. */
struct timespec pb_deadline_after(double timeout_s);

/*
 * A condition variable whose timed waits use CLOCK_MONOTONIC, so that a
 * change of the wall clock cannot stretch or cut a timeout.  0 or errno.
 */
int pb_cond_init_monotonic(pthread_cond_t *cv);

/*
 * A mutex for locks held a few dozen instructions at a time: glibc's
 * "adaptive" mutex retries for a moment before sleeping.  0 or errno.
 */
int pb_mutex_init_quick(pthread_mutex_t *m);

/*
 * The CPUs this process may run on: its affinity mask (so `taskset -c 0,1`
 * gives 2), else the CPUs online, and never less than 1.
 */
unsigned pb_cpu_count(void);

#endif
