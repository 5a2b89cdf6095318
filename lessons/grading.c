/*
 * grading.c - the runner behind GRADE_MAIN (see grading.h).
 *
 * How it works: every entry of the lesson's table becomes a Check test case
 * of its own (named after the test), with its own timeout, run by a Check
 * runner of its own, one after the other in table order.  Check runs each
 * case in a forked child, so a crash, a failed assertion, a
 * deadlock (the timeout) or a sanitizer report (the child exits early with
 * the sanitizer's exit code) all end as one failed test, and the parent
 * goes on with the next.  We run Check silently and print the results
 * ourselves, one line per test with its points, because that line is what
 * a student reads and what lessons/grade.sh adds up.
 *
 * What it does not do: it never decides on timing, and it never retries a
 * failed test (a flaky pass would hide a race that the race check is there
 * to catch).
 */
/* strerrorname_np (glibc 2.32): the name of an errno value, for messages;
 * RTLD_NEXT: the system's pthread_cond_wait behind ours. */
#define _GNU_SOURCE
#include "grading.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--list] [--race] [--only NAME]...\n", prog);
}

/* Is tests[i] selected by the --only names (all are when there are none)? */
static int selected(const char *name, char **only, int nonly)
{
    if (nonly == 0)
        return 1;
    for (int i = 0; i < nonly; i++)
        if (strcmp(name, only[i]) == 0)
            return 1;
    return 0;
}

/* Finds the table entry whose Check test case is called name. */
static const struct grade_test *find(const struct grade_test *tests,
                                     size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tests[i].test->name, name) == 0)
            return &tests[i];
    return NULL;
}

/* The file name without its folders: the grader builds in a temporary
 * folder, whose name means nothing to the student. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

/* ---- what a test leaves behind: descriptors and shared mappings ------ */

/* Bits for fds 0..FD_WATCH-1; a test that opens more than that is not one
 * of ours. */
#define FD_WATCH 1024

static unsigned char fds_before[FD_WATCH / 8];
static long shared_maps_before;

/* Marks in set the open descriptors of this process. */
static void open_fds(unsigned char *set)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    memset(set, 0, FD_WATCH / 8);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        long fd = strtol(e->d_name, NULL, 10);

        if (e->d_name[0] != '.' && fd >= 0 && fd < FD_WATCH &&
            fd != dirfd(d))
            set[fd / 8] |= (unsigned char)(1u << (fd % 8));
    }
    closedir(d);
}

/* Counts the shared mappings (an 's' in the permissions column of
 * /proc/self/maps): what mmap(MAP_SHARED) and shm_open make.  Thread
 * stacks, the heap and the sanitizers' shadow memory are private, so they
 * do not count, and glibc's cache of thread stacks does not look like a
 * leak. */
static long shared_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512], perms[8];
    long n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%*s %7s", perms) == 1 && strchr(perms, 's'))
            n++;
    fclose(f);
    return n;
}

static void note_resources(void)
{
    open_fds(fds_before);
    shared_maps_before = shared_maps();
}

/* Fails the test (it has passed, or this would not run) if it left a
 * descriptor open or a shared mapping mapped that it did not find. */
static void check_resources(void)
{
    unsigned char now[FD_WATCH / 8];
    char what[256] = "";
    long maps = shared_maps();

    open_fds(now);
    for (int fd = 0; fd < FD_WATCH; fd++) {
        char path[64], target[160];
        ssize_t len;

        if (!(now[fd / 8] & (1u << (fd % 8))) ||
            (fds_before[fd / 8] & (1u << (fd % 8))))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        len = readlink(path, target, sizeof(target) - 1);
        target[len > 0 ? len : 0] = '\0';
        snprintf(what, sizeof(what), "fd %d (%s)", fd, target);
        break;
    }
    ck_assert_msg(what[0] == '\0',
                  "the test ended with %s still open, which it did not "
                  "have before: a descriptor is never closed (a pipe end "
                  "in the parent or a shm_open'ed object?)", what);
    ck_assert_msg(maps <= shared_maps_before,
                  "the test ended with %ld shared mapping(s) it did not "
                  "have before: an mmap is never munmap'ed",
                  maps - shared_maps_before);
}

/* Is the check of descriptors and mappings on?  grade.sh turns it off
 * (GRADE_RESOURCE_CHECK=0) for a lesson whose tests run a library that
 * keeps its own open, such as Open MPI's shared-memory transport. */
static int resource_check(void)
{
    const char *s = getenv("GRADE_RESOURCE_CHECK");

    return s == NULL || strcmp(s, "0") != 0;
}

/* Check's message for a test, or what it means when the process ended
 * with 66, the exit code grade.sh gives the sanitizers and valgrind, or
 * with a signal. */
static const char *explain(const char *msg, int race)
{
    if (strstr(msg, "return value 66") != NULL)
        return race ? "the race check found an error (report below)"
                    : "a sanitizer found an error (report below)";
    if (strstr(msg, "signal 11") != NULL)
        return "crashed with SIGSEGV: a pointer used after free(), a NULL "
               "pointer, or an index past the end of an array";
    if (strstr(msg, "signal 6") != NULL)
        return "aborted (SIGABRT): an assert() or a pthread error that "
               "glibc turned into abort(), e.g. a mutex destroyed while "
               "locked";
    if (strstr(msg, "Test timeout expired") != NULL)
        return "did not finish within";
    return msg;
}

/* The test's timeout in seconds: its own (or the default) times
 * CK_TIMEOUT_MULTIPLIER, never more than GRADE_MAX_TIMEOUT (or the
 * environment's GRADE_MAX_TIMEOUT, which lesson.conf's MAX_TIMEOUT sets). */
static double timeout_of(const struct grade_test *t)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double mult = m != NULL ? strtod(m, NULL) : 1.0;
    double s;

    const char *c = getenv("GRADE_MAX_TIMEOUT");
    double cap = c != NULL && strtod(c, NULL) > 0 ? strtod(c, NULL)
                                                  : GRADE_MAX_TIMEOUT;

    if (!(mult > 0))
        mult = 1.0;
    s = (t->timeout > 0 ? t->timeout : GRADE_DEFAULT_TIMEOUT) * mult;
    return s < cap ? s : cap;
}

/* Runs one test in its own Check runner and prints its line; returns 1 if
 * it passed.  One runner per test, so that each test's result (and the
 * report of a test that hung) is printed under its own name, in order. */
static int run_one(const struct grade_test *t, int race)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double mult = m != NULL ? strtod(m, NULL) : 1.0;
    int worth = race ? t->race_points : t->points;
    Suite *suite = suite_create("lesson");
    TCase *tc = tcase_create(t->test->name);
    SRunner *runner;
    TestResult **results;
    TestResult *r;
    int passed;

    if (!(mult > 0))
        mult = 1.0;
    /* Check multiplies by CK_TIMEOUT_MULTIPLIER itself. */
    tcase_set_timeout(tc, timeout_of(t) / mult);
    if (resource_check())
        tcase_add_checked_fixture(tc, note_resources, check_resources);
    tcase_add_test(tc, t->test);
    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_FORK);
    /* grade.sh cuts stderr at these lines to show each test's report. */
    fprintf(stderr, "== grade: %s\n", t->test->name);
    fflush(stdout);
    fflush(stderr);
    srunner_run_all(runner, CK_SILENT);

    results = srunner_results(runner);
    r = srunner_ntests_run(runner) > 0 ? results[0] : NULL;
    passed = r != NULL && tr_rtype(r) == CK_PASS;
    if (passed) {
        printf("  PASS %3d/%-3d %s%s\n", worth, worth, t->test->name,
               race ? " [race]" : "");
    } else {
        printf("  FAIL %3d/%-3d %s%s\n        %s", 0, worth, t->test->name,
               race ? " [race]" : "",
               r == NULL ? "did not run (is CK_RUN_CASE set?)"
                         : explain(tr_msg(r), race));
        /* Where the assertion is; a crash or timeout has no line. */
        if (r != NULL && tr_rtype(r) == CK_FAILURE)
            printf(" (%s:%d)", base_name(tr_lfile(r)), tr_lno(r));
        else if (r != NULL && strstr(tr_msg(r), "timeout") != NULL)
            printf(" %gs: probably a deadlock (a lock never unlocked, "
                   "or two taken in opposite orders), or a thread asleep "
                   "that nobody wakes", timeout_of(t));
        printf("\n");
    }
    fflush(stdout);
    free(results);
    srunner_free(runner);       /* frees the suite too */
    return passed;
}

int grade_main(int argc, char **argv, const struct grade_test *tests,
               size_t ntests)
{
    int race = 0, list = 0, nonly = 0;
    char **only = calloc((size_t)argc, sizeof(*only));
    int earned = 0, possible = 0, failed = 0, status = 2;
    const char *u = getenv("GRADE_UNTIL_LOSS");
    int until_loss = u != NULL && strcmp(u, "1") == 0;

    if (only == NULL) {
        perror("grading");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "--race") == 0) {
            race = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only[nonly++] = argv[++i];
        } else {
            usage(argv[0]);
            goto fail;
        }
    }
    for (int i = 0; i < nonly; i++) {
        if (find(tests, ntests, only[i]) == NULL) {
            fprintf(stderr, "%s: no test called %s\n", argv[0], only[i]);
            goto fail;
        }
    }

    if (list) {
        for (size_t i = 0; i < ntests; i++)
            printf("%s %d %d %g\n", tests[i].test->name, tests[i].points,
                   tests[i].race_points,
                   tests[i].timeout > 0 ? tests[i].timeout
                                        : GRADE_DEFAULT_TIMEOUT);
        status = 0;
        goto fail;
    }

    for (size_t i = 0; i < ntests; i++) {
        const struct grade_test *t = &tests[i];
        int worth = race ? t->race_points : t->points;

        if (!selected(t->test->name, only, nonly))
            continue;
        possible += worth;
        if (run_one(t, race)) {
            earned += worth;
        } else {
            failed++;
            if (until_loss && worth > 0)
                break;
        }
    }
    printf("score: %d/%d\n", earned, possible);
    status = failed == 0 ? 0 : 1;

fail:
    free(only);
    return status;
}

const char *grade_errname(int err)
{
    static _Thread_local char buf[128];
    const char *name = err > 0 ? strerrorname_np(err) : NULL;

    if (err == 0)
        return "0 (success)";
    if (name == NULL) {
        snprintf(buf, sizeof(buf), "%d (not an errno value)", err);
        return buf;
    }
    snprintf(buf, sizeof(buf), "%s (%s)", name, strerror(err));
    /* strerror says "Function not implemented"; in a sentence, lower
     * case reads better. */
    buf[strlen(name) + 2] = (char)tolower((unsigned char)buf[strlen(name) + 2]);
    return buf;
}

/* Does the expression look like an error code: a call's result, or a
 * variable called rc, err or status, compared with 0 or an E... name? */
static int looks_like_errno(const char *xs, const char *ys)
{
    if (ys[0] == 'E' && ys[1] >= 'A' && ys[1] <= 'Z')
        return 1;
    if (strcmp(ys, "0") != 0)
        return 0;
    if (strstr(xs, "errors") != NULL || strstr(xs, "count") != NULL)
        return 0;
    return strstr(xs, "rc") != NULL || strstr(xs, "err") != NULL ||
           strstr(xs, "status") != NULL ||
           (strchr(xs, '(') != NULL && strncmp(xs, "atomic_load", 11) != 0);
}

void grade_assert_int(const char *file, int line, const char *xs,
                      const char *ys, intmax_t x, intmax_t y)
{
    char got[160], want[160];

    if (x == y) {
        _mark_point(file, line);
        return;
    }
    if (looks_like_errno(xs, ys) && x >= 0 && x < 4096) {
        snprintf(got, sizeof(got), "%s", grade_errname((int)x));
        snprintf(want, sizeof(want), "%s", grade_errname((int)y));
    } else {
        snprintf(got, sizeof(got), "%jd", x);
        snprintf(want, sizeof(want), "%jd", y);
    }
    _ck_assert_failed(file, line, "Assertion failed",
                      "%s is %s, expected %s", xs, got, want);
}

/* ---- spurious wake-ups (grading.h) ----------------------------------- */

static atomic_int spurious;

void grade_spurious_wakeups(int on)
{
    atomic_store(&spurious, on);
}

/* Stores in *fn the system's function of that name: the next definition
 * after ours (libc's, or a sanitizer's interceptor in front of it).  The
 * store through a void ** is how POSIX's dlsym page converts the object
 * pointer to a function pointer. */
static void next_fn(const char *name, void *fn)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (f == NULL)
        abort();
    memcpy(fn, &f, sizeof(f));
}

/* Drops the mutex for ms milliseconds, as a wait that woke for no reason
 * would, and takes it back. */
static void pause_unlocked(pthread_mutex_t *m, long ms)
{
    pthread_mutex_unlock(m);
    grade_msleep(ms);
    pthread_mutex_lock(m);
}

static int (*real_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*real_timedwait)(pthread_cond_t *, pthread_mutex_t *,
                             const struct timespec *);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void find_real(void)
{
    next_fn("pthread_cond_wait", &real_wait);
    next_fn("pthread_cond_timedwait", &real_timedwait);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (atomic_load(&spurious)) {
        pause_unlocked(m, 1);
        return 0;
    }
    pthread_once(&real_once, find_real);
    return real_wait(c, m);
}

/* Which clock a deadline is on: the one whose "now" it is nearer to (the
 * condition variable's clock is not readable; CLOCK_REALTIME is some 1.7e9
 * s since 1970, CLOCK_MONOTONIC the time since boot). */
static clockid_t clock_of(const struct timespec *t)
{
    struct timespec r, m;
    double d_r, d_m;

    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &m);
    d_r = fabs((double)(t->tv_sec - r.tv_sec));
    d_m = fabs((double)(t->tv_sec - m.tv_sec));
    return d_r < d_m ? CLOCK_REALTIME : CLOCK_MONOTONIC;
}

int pthread_cond_timedwait(pthread_cond_t *restrict c,
                           pthread_mutex_t *restrict m,
                           const struct timespec *restrict t)
{
    if (atomic_load(&spurious)) {
        clockid_t id = clock_of(t);
        struct timespec now;

        pause_unlocked(m, 1);
        clock_gettime(id, &now);
        if (now.tv_sec > t->tv_sec ||
            (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec))
            return ETIMEDOUT;
        return 0;
    }
    pthread_once(&real_once, find_real);
    return real_timedwait(c, m, t);
}

/* ---- a barrier (pthread_barrier_t is optional in POSIX) -------------- */

void grade_barrier_init(struct grade_barrier *b, unsigned count)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->all_here, NULL);
    b->waiting = 0;
    b->count = count;
    b->round = 0;
}

void grade_barrier_wait(struct grade_barrier *b)
{
    unsigned round;

    pthread_mutex_lock(&b->lock);
    round = b->round;
    if (++b->waiting == b->count) {
        b->waiting = 0;
        b->round++;
        pthread_cond_broadcast(&b->all_here);
    } else {
        while (round == b->round)
            pthread_cond_wait(&b->all_here, &b->lock);
    }
    pthread_mutex_unlock(&b->lock);
}

void grade_barrier_destroy(struct grade_barrier *b)
{
    pthread_cond_destroy(&b->all_here);
    pthread_mutex_destroy(&b->lock);
}

int grade_slow(void)
{
    const char *s = getenv("POOLBENCH_SLOW");

    return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

long grade_scaled(long n)
{
    if (!grade_slow())
        return n;
    return n / 4 > 0 ? n / 4 : 1;
}

void grade_msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double grade_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *probe_main(void *arg)
{
    struct grade_probe *p = arg;

    p->result = p->fn(p->arg);
    atomic_store(&p->returned, 1);
    return NULL;
}

void grade_probe_start(struct grade_probe *p, void *(*fn)(void *arg),
                       void *arg)
{
    int rc;

    p->fn = fn;
    p->arg = arg;
    p->result = NULL;
    atomic_init(&p->returned, 0);
    rc = pthread_create(&p->thread, NULL, probe_main, p);
    ck_assert_msg(rc == 0, "pthread_create: %s", strerror(rc));
}

int grade_probe_returned(struct grade_probe *p)
{
    return atomic_load(&p->returned);
}

void *grade_probe_join(struct grade_probe *p)
{
    int rc = pthread_join(p->thread, NULL);

    ck_assert_msg(rc == 0, "pthread_join: %s", strerror(rc));
    return p->result;
}
