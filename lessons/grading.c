/*
 * grading.c - the runner behind GRADE_MAIN (see grading.h).
 *
 * How it works: every entry of the lesson's table becomes a Check test case
 * of its own (named after the test), with its own timeout, inside one suite.
 * Check runs each case in a forked child, so a crash, a failed assertion, a
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
#include "grading.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Check's message for a test, or what it means when the process ended
 * with 66, the exit code grade.sh gives the sanitizers and valgrind. */
static const char *explain(const char *msg, int race)
{
    if (strstr(msg, "return value 66") == NULL)
        return msg;
    return race ? "the race check found an error (see below)"
                : "a sanitizer found an error (first report after the list)";
}

/* The test's timeout in seconds, as Check applies it. */
static double timeout_of(const struct grade_test *t)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double mult = m != NULL ? strtod(m, NULL) : 1.0;

    if (!(mult > 0))
        mult = 1.0;
    return (t->timeout > 0 ? t->timeout : GRADE_DEFAULT_TIMEOUT) * mult;
}

int grade_main(int argc, char **argv, const struct grade_test *tests,
               size_t ntests)
{
    int race = 0, list = 0, nonly = 0;
    char **only = calloc((size_t)argc, sizeof(*only));
    int earned = 0, possible = 0, failed = 0, status = 2;
    Suite *suite = NULL;
    SRunner *runner = NULL;

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

    suite = suite_create("lesson");
    for (size_t i = 0; i < ntests; i++) {
        const struct grade_test *t = &tests[i];
        TCase *tc;

        if (!selected(t->test->name, only, nonly))
            continue;
        tc = tcase_create(t->test->name);
        tcase_set_timeout(tc, t->timeout > 0 ? t->timeout
                                             : GRADE_DEFAULT_TIMEOUT);
        tcase_add_test(tc, t->test);
        suite_add_tcase(suite, tc);
    }
    runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_FORK);
    fflush(stdout);
    srunner_run_all(runner, CK_SILENT);

    {
        TestResult **results = srunner_results(runner);
        int n = srunner_ntests_run(runner);

        /* In table order; a selected test with no result did not run
         * (Check's CK_RUN_CASE and friends filter tests): it fails. */
        for (size_t i = 0; i < ntests; i++) {
            const struct grade_test *t = &tests[i];
            int worth = race ? t->race_points : t->points;
            TestResult *r = NULL;

            if (!selected(t->test->name, only, nonly))
                continue;
            for (int k = 0; k < n && r == NULL; k++)
                if (strcmp(tr_tcname(results[k]), t->test->name) == 0)
                    r = results[k];
            possible += worth;
            if (r != NULL && tr_rtype(r) == CK_PASS) {
                earned += worth;
                printf("  PASS %3d/%-3d %s%s\n", worth, worth,
                       t->test->name, race ? " [race]" : "");
                continue;
            }
            failed++;
            printf("  FAIL %3d/%-3d %s%s\n        %s", 0, worth,
                   t->test->name, race ? " [race]" : "",
                   r == NULL ? "did not run (is CK_RUN_CASE set?)"
                             : explain(tr_msg(r), race));
            /* Where the assertion is; a crash or timeout has no line. */
            if (r != NULL && tr_rtype(r) == CK_FAILURE)
                printf(" (%s:%d)", base_name(tr_lfile(r)), tr_lno(r));
            else if (r != NULL && strstr(tr_msg(r), "timeout") != NULL)
                printf(" (after %gs: a deadlock, or a wait that never "
                       "ends?)", timeout_of(t));
            printf("\n");
        }
        free(results);
    }
    printf("score: %d/%d\n", earned, possible);
    status = failed == 0 ? 0 : 1;

fail:
    if (runner != NULL)
        srunner_free(runner);   /* frees the suite too */
    free(only);
    return status;
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
    return n / 10 > 0 ? n / 10 : 1;
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
