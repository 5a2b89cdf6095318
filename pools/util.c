/*
 * util.c - the clock, deadline, polling, lock set-up and CPU count that
 * both pools use (util.h says what each is for).  Kept in one place, as
 * git keeps online_cpus() in thread-utils.c, so a fix lands once.
 */

/*
 * _GNU_SOURCE: sched_getaffinity and CPU_COUNT, which tell us how many CPUs
 * this process may use, and the adaptive mutex are Linux extensions, not
 * POSIX.  Everything else in this file is POSIX.1-2008 and C11.
 */
#define _GNU_SOURCE
#include "util.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void pb_check_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, "%s:%d: pools bug: %s\n", file, line, cond);
    abort();
}

uint64_t pb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The pause instruction tells the CPU we are polling (it saves power and
 * helps the sibling hyperthread); it is left out where we do not know it.
 */
void pb_poll_step(unsigned i)
{
    if (i >= PB_SPIN_PAUSES) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

bool pb_poll_expired(unsigned i, uint64_t *end, uint64_t limit_ns)
{
    if (i < PB_SPIN_PAUSES || (i & PB_SPIN_CLOCK_MASK) != 0)
        return false;
    if (i == PB_SPIN_PAUSES) {
        *end = pb_now_ns() + limit_ns;
        return false;
    }
    return pb_now_ns() >= *end;
}

uint64_t pb_timeout_ns(double timeout_s)
{
    if (timeout_s > PB_TIMEOUT_MAX_S)
        timeout_s = PB_TIMEOUT_MAX_S;
    return (uint64_t)(timeout_s * 1e9);
}

struct timespec pb_deadline_after(double timeout_s)
{
    struct timespec ts;
    double whole;
    double frac;

    if (timeout_s > PB_TIMEOUT_MAX_S)
        timeout_s = PB_TIMEOUT_MAX_S;
    frac = modf(timeout_s, &whole);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)(frac * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int pb_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc;

    if ((rc = pthread_condattr_init(&attr)) != 0)
        return rc;
    if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
        rc = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

/* Where the adaptive mutex does not exist, an ordinary one. */
int pb_mutex_init_quick(pthread_mutex_t *m)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_t attr;
    int rc;

    if ((rc = pthread_mutexattr_init(&attr)) != 0)
        return rc;
    if ((rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP)) == 0)
        rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
#else
    return pthread_mutex_init(m, NULL);
#endif
}

unsigned pb_cpu_count(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
