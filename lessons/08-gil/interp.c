/*
 * interp.c - lesson 8: the part of a Python "interpreter" that deals with
 * the GIL (given; you write gil.c).
 *
 * CPython's evaluation loop runs bytecodes while holding the GIL.  Every so
 * often it checks whether another thread asked for the GIL and, if so,
 * hands it over (Python/ceval_gil.h: since 3.2 the holder drops it after a
 * 5 ms "switch interval"; before 3.2, every 100 bytecodes, the "check
 * interval").  We use the older, simpler rule, counted in loop steps, so
 * that the tests do not depend on timing: gil_count_primes() offers the
 * GIL every check_interval numbers it tests.
 *
 * Blocking calls release the GIL around the system call
 * (Py_BEGIN_ALLOW_THREADS ... Py_END_ALLOW_THREADS); gil_sleep_ms() is
 * time.sleep().
 */
#include "gil.h"

#include <errno.h>
#include <time.h>

int is_prime(long n)
{
    if (n < 2)
        return 0;
    for (long i = 2; i * i <= n; i++)
        if (n % i == 0)
            return 0;
    return 1;
}

long gil_count_primes(struct gil *g, long lo, long hi, long check_interval)
{
    long count = 0, steps = 0;

    gil_acquire(g);
    for (long n = lo; n < hi; n++) {
        count += is_prime(n);
        if (++steps == check_interval) {
            steps = 0;
            gil_yield(g);
        }
    }
    gil_release(g);
    return count;
}

void gil_sleep_ms(struct gil *g, long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    gil_release(g);             /* Py_BEGIN_ALLOW_THREADS */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    gil_acquire(g);             /* Py_END_ALLOW_THREADS */
}
