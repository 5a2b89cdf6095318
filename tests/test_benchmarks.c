/*
 * test_benchmarks.c - the benchmark programs, their harness and their
 * Python twins (Check).
 *
 * Three kinds of tests:
 *
 *  - The harness and the kernels, in process: bench_parse_count's number
 *    syntax, bench_median, the record a failed check produces and the exit
 *    status it leads to, the pi(N) table against a sieve, the sum's closed
 *    form against a plain loop.
 *
 *  - The programs, run as a user runs them: found in $POOLBENCH_BIN,
 *    started with posix_spawn, their stdout and stderr read through pipes.
 *    Every program must give the right answer in every mode on small
 *    inputs (the answers are computed here, independently of the program),
 *    print the CSV header and records of the contract, exit 2 without
 *    running anything on a bad command line, and exit 1 when a record
 *    cannot be written (--out /dev/full).
 *
 *  - The Python twins, run with /usr/bin/python3 from benchmarks/python
 *    (or $POOLBENCH_PYTHON_DIR): the same answers and the same records.
 *
 * No test looks at a time: kernel_s is only checked to be a number.
 */
#include "bench.h"
#include "workloads.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CSV_HEADER "bench,lang,mode,variant,workers,n,chunk,tasks,rep," \
                   "setup_s,kernel_s,result,expected,check"
#define NCOLS 14
#define MAX_ARGS 32
#define MAX_RECORDS 64
#define PYTHON "/usr/bin/python3"

/* ---- Running a program ----------------------------------------------- */

struct run {
    int status;         /* exit status, or 128 + signal */
    char *out, *err;    /* everything it printed, NUL-terminated */
};

/* Appends what is readable on fd to *buf; returns false at end of file. */
static bool drain(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t k = read(fd, chunk, sizeof(chunk));

    if (k < 0 && errno == EINTR)
        return true;
    ck_assert_int_ge(k, 0);
    if (k == 0)
        return false;
    *buf = realloc(*buf, *len + (size_t)k + 1);
    ck_assert_ptr_nonnull(*buf);
    memcpy(*buf + *len, chunk, (size_t)k);
    *len += (size_t)k;
    (*buf)[*len] = '\0';
    return true;
}

/* Runs argv (argv[0] a path) to the end, capturing stdout and stderr. */
static void run_argv(struct run *r, char *const argv[])
{
    int out[2], err[2], ws;
    posix_spawn_file_actions_t fa;
    size_t olen = 0, elen = 0;
    struct pollfd pf[2];
    pid_t pid;

    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    ck_assert(r->out && r->err);
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    posix_spawn_file_actions_addclose(&fa, err[1]);
    ck_assert_msg(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0,
                  "cannot start %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);

    /* Both pipes at once: a program that fills one while we block on the
     * other would otherwise never finish. */
    pf[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
    pf[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        if (poll(pf, 2, -1) < 0) {
            ck_assert_int_eq(errno, EINTR);
            continue;
        }
        if (pf[0].revents && !drain(out[0], &r->out, &olen)) {
            close(out[0]);
            pf[0].fd = -1;
        }
        if (pf[1].revents && !drain(err[0], &r->err, &elen)) {
            close(err[0]);
            pf[1].fd = -1;
        }
    }
    while (waitpid(pid, &ws, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs a C benchmark program from $POOLBENCH_BIN: name, then its options,
 * then NULL.  Under "make VALGRIND=1 test" the program runs under memcheck
 * too (the test runner's valgrind does not follow exec), with the same
 * rules: any error, or a definite leak, is exit status 99. */
static void run_bench(struct run *r, const char *name, ...)
{
    static const char *const memcheck[] = {
        "valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
        "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
    };
    const char *bin = getenv("POOLBENCH_BIN");
    const char *vg = getenv("VALGRIND");
    char path[4096];
    char *argv[MAX_ARGS];
    int argc = 0;
    va_list ap;

    ck_assert_msg(bin != NULL, "POOLBENCH_BIN is not set (use make test)");
    snprintf(path, sizeof(path), "%s/%s", bin, name);
    ck_assert_msg(access(path, X_OK) == 0, "no program %s", path);
    if (vg != NULL && strcmp(vg, "1") == 0)
        for (size_t i = 0; i < sizeof(memcheck) / sizeof(memcheck[0]); i++)
            argv[argc++] = (char *)memcheck[i];
    argv[argc++] = path;
    va_start(ap, name);
    for (char *a; (a = va_arg(ap, char *)) != NULL; ) {
        ck_assert_int_lt(argc, MAX_ARGS - 1);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    run_argv(r, argv);
}

/* Runs a Python twin with /usr/bin/python3: script name, options, NULL. */
static void run_python(struct run *r, const char *script, ...)
{
    const char *dir = getenv("POOLBENCH_PYTHON_DIR");
    char path[4096];
    char *argv[MAX_ARGS];
    int argc = 0;
    va_list ap;

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "benchmarks/python",
             script);
    ck_assert_msg(access(path, R_OK) == 0, "no script %s (run the tests "
                  "from the top folder, or set POOLBENCH_PYTHON_DIR)", path);
    ck_assert_msg(access(PYTHON, X_OK) == 0, "no " PYTHON);
    /* No __pycache__ left in the source tree by a test run. */
    ck_assert_int_eq(setenv("PYTHONDONTWRITEBYTECODE", "1", 1), 0);
    argv[argc++] = (char *)PYTHON;
    argv[argc++] = path;
    va_start(ap, script);
    for (char *a; (a = va_arg(ap, char *)) != NULL; ) {
        ck_assert_int_lt(argc, MAX_ARGS - 1);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    run_argv(r, argv);
}

/* ---- Reading records ------------------------------------------------- */

struct record {
    char col[NCOLS][64];
};

/* Splits CSV output (header first) into records; returns their number.
 * Fails the test if the header is wrong or a line has the wrong shape. */
static int parse_csv(const char *text, struct record *recs, int max)
{
    const char *line = text, *end;
    int n = 0;

    end = strchr(line, '\n');
    ck_assert_msg(end != NULL, "no header line in: %s", text);
    ck_assert_msg((size_t)(end - line) == strlen(CSV_HEADER) &&
                  strncmp(line, CSV_HEADER, strlen(CSV_HEADER)) == 0,
                  "bad CSV header in: %s", text);
    for (line = end + 1; *line; line = end + 1) {
        const char *p = line;

        end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "unterminated line: %s", line);
        ck_assert_int_lt(n, max);
        for (int c = 0; c < NCOLS; c++) {
            size_t len = strcspn(p, ",\n");

            ck_assert_msg(len > 0 && len < sizeof(recs[n].col[c]),
                          "bad column %d in: %.*s", c, (int)(end - line),
                          line);
            memcpy(recs[n].col[c], p, len);
            recs[n].col[c][len] = '\0';
            p += len;
            if (c < NCOLS - 1) {
                ck_assert_msg(*p == ',', "too few columns: %.*s",
                              (int)(end - line), line);
                p++;
            }
        }
        ck_assert_msg(p == end, "too many columns: %.*s", (int)(end - line),
                      line);
        n++;
    }
    return n;
}

enum { BENCH, LANG, MODE, VARIANT, WORKERS, N, CHUNK, TASKS, REP, SETUP,
       KERNEL, RESULT, EXPECTED, CHECK };

/* A non-negative decimal with nine digits after the point (%.9f). */
static bool is_seconds(const char *s)
{
    const char *dot = strchr(s, '.');

    if (dot == NULL || dot == s || strlen(dot + 1) != 9)
        return false;
    return strspn(s, "0123456789") == (size_t)(dot - s) &&
           strspn(dot + 1, "0123456789") == 9;
}

/* Checks every record of a successful run: the program, language, mode and
 * variant, n, the answer (result == expected == want, computed by the
 * test), rep numbering, and the shape of the other columns. */
static int check_records(const struct run *r, const char *bench,
                         const char *lang, const char *mode,
                         const char *variant, long long n, long long want,
                         struct record *recs)
{
    int count;
    char buf[32];

    ck_assert_msg(r->status == 0, "%s %s exited %d: %s", bench, mode,
                  r->status, r->err);
    count = parse_csv(r->out, recs, MAX_RECORDS);
    ck_assert_int_ge(count, 1);
    for (int i = 0; i < count; i++) {
        struct record *x = &recs[i];

        ck_assert_str_eq(x->col[BENCH], bench);
        ck_assert_str_eq(x->col[LANG], lang);
        ck_assert_str_eq(x->col[MODE], mode);
        ck_assert_str_eq(x->col[VARIANT], variant);
        snprintf(buf, sizeof(buf), "%lld", n);
        ck_assert_str_eq(x->col[N], buf);
        snprintf(buf, sizeof(buf), "%lld", want);
        ck_assert_str_eq(x->col[RESULT], buf);
        ck_assert_str_eq(x->col[EXPECTED], buf);
        ck_assert_str_eq(x->col[CHECK], "ok");
        ck_assert(is_seconds(x->col[SETUP]));
        ck_assert(is_seconds(x->col[KERNEL]));
        ck_assert_int_ge(atoll(x->col[WORKERS]), 1);
        ck_assert_int_ge(atoll(x->col[CHUNK]), 1);
        ck_assert_int_ge(atoll(x->col[TASKS]), 1);
        if (strcmp(mode, "seq") == 0)
            ck_assert_str_eq(x->col[WORKERS], "1");
    }
    return count;
}

/* The count of primes below n, by trial division written out here. */
static long long primes_below(long long n)
{
    long long count = 0;

    for (long long k = 2; k < n; k++) {
        bool prime = true;

        for (long long d = 2; d * d <= k && prime; d++)
            prime = k % d != 0;
        count += prime;
    }
    return count;
}

/* The sum workload's total, by a plain loop over the formula. */
static long long sum_below(long long n)
{
    long long total = 0;

    for (long long i = 0; i < n; i++)
        total += (long long)(((unsigned long long)i * 40503u) & 0xffffu);
    return total;
}

/* ---- The harness, in process ----------------------------------------- */

START_TEST(parse_count_accepts_digits_and_exponents_only)
{
    long long v;

    ck_assert_int_eq(bench_parse_count("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(bench_parse_count("2000000", &v), 0);
    ck_assert_int_eq(v, 2000000);
    ck_assert_int_eq(bench_parse_count("2e7", &v), 0);
    ck_assert_int_eq(v, 20000000);
    ck_assert_int_eq(bench_parse_count("5E0", &v), 0);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(bench_parse_count("9223372036854775807", &v), 0);
    ck_assert_int_eq(v, 9223372036854775807LL);
    ck_assert_int_eq(bench_parse_count("9223372036854775808", &v), ERANGE);
    ck_assert_int_eq(bench_parse_count("1e19", &v), ERANGE);
    ck_assert_int_eq(bench_parse_count("10e18", &v), ERANGE);
    ck_assert_int_eq(bench_parse_count("1e99999999999", &v), ERANGE);
    const char *bad[] = { "", "-1", "+1", " 1", "1 ", "2x", "e7", "2e",
                          "2e-3", "1.5", "0x10", "1_000" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(bench_parse_count(bad[i], &v) == EINVAL,
                      "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(median_of_odd_and_even_counts)
{
    double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, one[] = { 7 };

    ck_assert_double_eq(bench_median(odd, 3), 3);
    ck_assert_double_eq(bench_median(even, 4), 2.5);
    ck_assert_double_eq(bench_median(one, 1), 7);
    ck_assert_double_eq(bench_median(NULL, 0), 0);
}
END_TEST

/* Redirects stdout and stderr of this (forked, per-test) process to two
 * temporary files, runs one harness session, and reads them back. */
static int session(const char *const *args, int nargs, int64_t result,
                   int64_t expected, char *out, size_t outsz, char *err,
                   size_t errsz)
{
    static const char *const modes[] = { "seq", "threads", NULL };
    const struct bench_spec spec = { .name = "unit", .summary = "test",
                                     .modes = modes };
    char *argv[MAX_ARGS];
    FILE *fo = tmpfile(), *fe = tmpfile();
    int saved_out = dup(1), saved_err = dup(2), rc;
    struct bench b;
    size_t k;

    ck_assert(fo && fe && saved_out >= 0 && saved_err >= 0);
    argv[0] = (char *)"unit";
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    fflush(stdout);
    fflush(stderr);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    rc = bench_parse(&b, &spec, nargs + 1, argv);
    if (rc == BENCH_CONTINUE) {
        struct bench_record r;

        bench_record_init(&b, &r, 0);
        r.n = 10;
        r.tasks = 1;
        r.result = result;
        r.expected = expected;
        bench_emit(&b, &r);
        rc = bench_finish(&b);
    }
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    rewind(fo);
    rewind(fe);
    k = fread(out, 1, outsz - 1, fo);
    out[k] = '\0';
    k = fread(err, 1, errsz - 1, fe);
    err[k] = '\0';
    fclose(fo);
    fclose(fe);
    return rc;
}

START_TEST(failed_check_prints_fail_and_exits_1)
{
    const char *args[] = { "--format", "csv", "--mode", "threads",
                           "--workers", "3" };
    char out[1024], err[1024];

    ck_assert_int_eq(session(args, 6, 5, 6, out, sizeof(out), err,
                             sizeof(err)), BENCH_EXIT_FAIL);
    ck_assert_str_eq(out, CSV_HEADER "\nunit,c,threads,-,3,10,0,1,0,"
                     "0.000000000,0.000000000,5,6,FAIL\n");
    ck_assert_msg(strstr(err, "wrong result 5, expected 6") != NULL,
                  "stderr: %s", err);
}
END_TEST

START_TEST(record_without_expected_prints_dashes_and_nulls)
{
    const char *csv[] = { "--format", "csv" };
    const char *json[] = { "--format=json" };
    char out[1024], err[1024];

    ck_assert_int_eq(session(csv, 2, BENCH_NONE, BENCH_NONE, out,
                             sizeof(out), err, sizeof(err)), 0);
    ck_assert_str_eq(out, CSV_HEADER "\nunit,c,seq,-,1,10,0,1,0,"
                     "0.000000000,0.000000000,-,-,ok\n");
    ck_assert_int_eq(session(json, 1, BENCH_NONE, BENCH_NONE, out,
                             sizeof(out), err, sizeof(err)), 0);
    ck_assert_str_eq(out, "{\"bench\": \"unit\", \"lang\": \"c\", "
                     "\"mode\": \"seq\", \"variant\": \"-\", \"workers\": 1, "
                     "\"n\": 10, \"chunk\": 0, \"tasks\": 1, \"rep\": 0, "
                     "\"setup_s\": 0.000000000, \"kernel_s\": 0.000000000, "
                     "\"result\": null, \"expected\": null, "
                     "\"check\": \"ok\"}\n");
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(parse_errors_exit_2_with_usage)
{
    const char *cases[][2] = {
        { "--workers", "0" }, { "--workers", "1025" }, { "--repeat", "0" },
        { "--chunk", "-1" }, { "--mode", "procs" }, { "--format", "xml" },
        { "--nope", "1" }, { "stray", "1" }, { "--help=1", "x" },
        { "--workers", "2x" }, { "--out", "" },
        { "--out", "/nonexistent/dir/file.csv" },
    };
    char out[1024], err[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(session(cases[i], 2, 1, 1, out, sizeof(out), err,
                                 sizeof(err)), BENCH_EXIT_USAGE);
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err, "usage: unit") != NULL, "%s %s: %s",
                      cases[i][0], cases[i][1], err);
    }
    /* A value missing at the end of the line. */
    ck_assert_int_eq(session(cases[0], 1, 1, 1, out, sizeof(out), err,
                             sizeof(err)), BENCH_EXIT_USAGE);
    ck_assert_msg(strstr(err, "needs a value") != NULL, "%s", err);
}
END_TEST

/* ---- The kernels ----------------------------------------------------- */

START_TEST(pi_table_agrees_with_the_sieve)
{
    /* Under valgrind and TSan only the entries up to 10^6. */
    uint64_t limit = getenv("POOLBENCH_SLOW") ? 1000000 : 20000000;
    uint64_t n, table, sieve;

    for (n = 10; n <= limit; n *= 10) {
        const uint64_t mult[] = { 1, 2, 5 };

        for (int m = 0; m < 3; m++) {
            if (n * mult[m] > limit)
                break;
            ck_assert_int_eq(wl_primes_known(n * mult[m], &table), 0);
            ck_assert_int_eq(wl_primes_sieve(n * mult[m], &sieve), 0);
            ck_assert_msg(table == sieve, "pi below %llu: table %llu, "
                          "sieve %llu", (unsigned long long)(n * mult[m]),
                          (unsigned long long)table,
                          (unsigned long long)sieve);
        }
    }
    ck_assert_int_eq(wl_primes_known(12345, &table), ENOENT);
    ck_assert_int_eq(wl_primes_expected(12345, &table), 0);
    ck_assert_int_eq(table, (uint64_t)primes_below(12345));
    ck_assert_int_eq(wl_primes_expected(WL_PRIMES_MAX + 1, &table), ERANGE);
}
END_TEST

START_TEST(trial_division_and_sieve_agree_on_small_bounds)
{
    for (uint64_t n = 0; n < 600; n++) {
        uint64_t sieve;

        ck_assert_int_eq(wl_primes_sieve(n, &sieve), 0);
        ck_assert_int_eq(wl_count_primes(0, n), sieve);
        ck_assert_int_eq(sieve, (uint64_t)primes_below((long long)n));
    }
    ck_assert(!wl_is_prime(0) && !wl_is_prime(1) && wl_is_prime(2));
    /* 44701 * 44699: two primes near isqrt(2*10^9), the worst case. */
    ck_assert(wl_is_prime(44701) && !wl_is_prime(44701ULL * 44699ULL));
    ck_assert(wl_is_prime(1999999973) && !wl_is_prime(1999999999));
    ck_assert_int_eq(wl_count_primes(100, 50), 0);
}
END_TEST

START_TEST(sum_closed_form_matches_the_array)
{
    enum { N = 3 * 65536 + 123 };
    int64_t *a = malloc(N * sizeof(*a));

    ck_assert_ptr_nonnull(a);
    wl_fill(a, 0, N);
    for (size_t n = 0; n <= N; n += n < 70000 ? 4099 : 65536)
        ck_assert_int_eq(wl_sum_range(a, n), wl_sum_expected(n));
    ck_assert_int_eq(wl_sum_range(a, N), wl_sum_expected(N));
    ck_assert_int_eq(wl_sum_expected(N), sum_below(N));
    free(a);
}
END_TEST

/* ---- The programs ---------------------------------------------------- */

START_TEST(primes_answers_in_every_mode)
{
    static const char *const runs[][3] = {
        { "seq", "-", NULL }, { "threads", "-", NULL },
        { "threads", "gil", "--gil" }, { "procs", "-", NULL },
    };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        /* 10^4 comes from the table; 12345 from the sieve. */
        run_bench(&r, "primes", "--mode", runs[i][0], "--workers", "2",
                  "--n", "1e4", "--format", "csv", runs[i][2], NULL);
        check_records(&r, "primes", "c", runs[i][0], runs[i][1], 10000,
                      1229, recs);
        run_free(&r);
        run_bench(&r, "primes", "--mode", runs[i][0], "--workers", "3",
                  "--n", "12345", "--chunk", "1000", "--repeat", "2",
                  "--format", "csv", runs[i][2], NULL);
        ck_assert_int_eq(check_records(&r, "primes", "c", runs[i][0],
                                       runs[i][1], 12345,
                                       primes_below(12345), recs), 2);
        ck_assert_str_eq(recs[0].col[REP], "0");
        ck_assert_str_eq(recs[1].col[REP], "1");
        if (strcmp(runs[i][0], "seq") != 0) {
            ck_assert_str_eq(recs[0].col[CHUNK], "1000");
            ck_assert_str_eq(recs[0].col[TASKS], "13");
            ck_assert_str_eq(recs[0].col[WORKERS], "3");
        }
        run_free(&r);
    }
}
END_TEST

START_TEST(sum_answers_in_every_mode)
{
    static const char *const runs[][3] = {
        { "seq", "-", NULL }, { "threads", "-", NULL },
        { "procs", "shm", NULL }, { "procs", "copy", "--copy" },
    };
    struct record recs[MAX_RECORDS];
    long long want = sum_below(100003);
    struct run r;

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        /* 100003 values: not a multiple of the chunk size. */
        run_bench(&r, "sum", "--mode", runs[i][0], "--workers", "2",
                  "--n", "100003", "--format", "csv", runs[i][2], NULL);
        check_records(&r, "sum", "c", runs[i][0], runs[i][1], 100003, want,
                      recs);
        run_free(&r);
        run_bench(&r, "sum", "--mode", runs[i][0], "--workers", "3",
                  "--n", "100003", "--chunk", "7000", "--repeat", "2",
                  "--format", "csv", runs[i][2], NULL);
        ck_assert_int_eq(check_records(&r, "sum", "c", runs[i][0],
                                       runs[i][1], 100003, want, recs), 2);
        if (strcmp(runs[i][0], "seq") != 0)
            ck_assert_str_eq(recs[1].col[TASKS], "15");
        run_free(&r);
    }
    run_bench(&r, "sum", "--mode", "procs", "--n", "0", "--format", "csv",
              NULL);
    check_records(&r, "sum", "c", "procs", "shm", 0, 0, recs);
    run_free(&r);
    /* Text mode adds the bandwidth reference, read by W threads. */
    run_bench(&r, "sum", "--mode", "threads", "--workers", "2", "--n",
              "100000", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "a tuned read loop on 2 threads reads"),
                  "%s", r.out);
    run_free(&r);
}
END_TEST

START_TEST(io_answers_in_every_mode)
{
    static const char *const modes[] = { "seq", "threads", "procs" };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < 3; i++) {
        run_bench(&r, "io", "--mode", modes[i], "--workers", "3",
                  "--tasks", "7", "--delay-ms", "2", "--format", "csv",
                  NULL);
        check_records(&r, "io", "c", modes[i], "-", 7, 7, recs);
        ck_assert_str_eq(recs[0].col[TASKS], "7");
        ck_assert_str_eq(recs[0].col[CHUNK], "1");
        run_free(&r);
    }
    /* Text mode prints the ideal beside the record. */
    run_bench(&r, "io", "--tasks", "5", "--workers", "3", "--delay-ms", "1",
              NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "ideal ceil(T/W) = 2 x 1 ms = 2.000 ms"),
                  "%s", r.out);
    run_free(&r);
}
END_TEST

START_TEST(chunks_sweeps_every_size_in_every_mode)
{
    static const char *const modes[] = { "threads", "procs" };
    struct record recs[MAX_RECORDS];
    static const char *const sizes[] = { "1", "4", "16", "64", "256",
                                         "1024", "1500" };
    struct run r;
    int n;

    for (size_t i = 0; i < 2; i++) {
        run_bench(&r, "chunks", "--mode", modes[i], "--workers", "2",
                  "--n", "3000", "--format", "csv", NULL);
        n = check_records(&r, "chunks", "c", modes[i], "-", 3000, 430, recs);
        ck_assert_int_eq(n, 7);
        for (int k = 0; k < n; k++)
            ck_assert_str_eq(recs[k].col[CHUNK], sizes[k]);
        ck_assert_str_eq(recs[0].col[TASKS], "3000");
        ck_assert_str_eq(recs[6].col[TASKS], "2");
        run_free(&r);
    }
    run_bench(&r, "chunks", "--mode", "seq", "--n", "3000", "--format",
              "csv", NULL);
    ck_assert_int_eq(check_records(&r, "chunks", "c", "seq", "-", 3000, 430,
                                   recs), 1);
    run_free(&r);
    run_bench(&r, "chunks", "--chunk", "100", "--n", "3000", "--repeat", "2",
              "--format", "csv", NULL);
    ck_assert_int_eq(check_records(&r, "chunks", "c", "threads", "-", 3000,
                                   430, recs), 2);
    ck_assert_str_eq(recs[1].col[CHUNK], "100");
    run_free(&r);
}
END_TEST

START_TEST(bad_command_lines_exit_2_and_run_nothing)
{
    static const char *const cases[][4] = {
        { "primes", "--n", "2x", NULL },
        { "primes", "--n", "2000000001", NULL },
        { "primes", "--mode", "seq", "--gil" },
        { "primes", "--gil=yes", NULL, NULL },
        { "primes", "--workers", NULL, NULL },
        { "primes", "--mode", "omp", NULL },
        { "sum", "--copy", NULL, NULL },
        { "sum", "--mode", "threads", "--copy" },
        { "sum", "--n", "-5", NULL },
        { "primes", "--mode", "mpi", "--workers=0" },
        { "sum", "--mode=mpi", "--workers", "1025" },
        { "primes", "--variant", "dynamic", NULL },
        { "primes", "--mode", "mpi", "--gil" },
        { "sum", "--mode", "procs", "--variant=local" },
        { "sum", "--mode", "mpi", "--copy" },
        { "sum", "--mode=mpi", "--variant", "round-robin" },
        { "io", "--tasks", "0", NULL },
        { "io", "--delay-ms", "1e9", NULL },
        { "io", "--chunk", "4", NULL },
        { "io", "extra", NULL, NULL },
        { "chunks", "--min-chunk", "100", "--max-chunk=10" },
        { "chunks", "--factor", "1", NULL },
    };
    char out[] = "/tmp/poolbench-test-XXXXXX";
    int fd = mkstemp(out);
    struct run r;

    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(out);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_bench(&r, cases[i][0], "--out", out, cases[i][1], cases[i][2],
                  cases[i][3], NULL);
        ck_assert_msg(r.status == 2, "%s %s: exit %d", cases[i][0],
                      cases[i][1], r.status);
        ck_assert_msg(r.out[0] == '\0', "printed: %s", r.out);
        ck_assert_msg(strstr(r.err, "usage: ") != NULL, "%s", r.err);
        ck_assert_msg(access(out, F_OK) != 0, "%s %s left %s behind",
                      cases[i][0], cases[i][1], out);
        run_free(&r);
        unlink(out);
    }
}
END_TEST

START_TEST(help_exits_0_with_usage_on_stdout)
{
    static const char *const progs[] = { "io", "primes", "sum", "chunks" };
    struct run r;

    for (size_t i = 0; i < 4; i++) {
        run_bench(&r, progs[i], "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "usage: ", 7) == 0, "%s", r.out);
        ck_assert_msg(strstr(r.out, CSV_HEADER) != NULL, "%s", r.out);
        ck_assert_str_eq(r.err, "");
        /* primes and sum hand --mode mpi to their Open MPI versions. */
        if (strcmp(progs[i], "primes") == 0 || strcmp(progs[i], "sum") == 0)
            ck_assert_msg(strstr(r.out, "--mode seq|threads|procs|mpi]") &&
                          strstr(r.out, "mpirun -np W"),
                          "mpi mode not in %s --help:\n%s", progs[i], r.out);
        run_free(&r);
    }
}
END_TEST

START_TEST(out_appends_csv_without_header)
{
    char path[] = "/tmp/poolbench-test-XXXXXX", buf[4096];
    int fd = mkstemp(path);
    struct record recs[MAX_RECORDS];
    struct run r;
    ssize_t k;

    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 2; i++) {
        run_bench(&r, "primes", "--n", "1000", "--repeat", "2", "--out",
                  path, "--format", "json", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "{\"bench\": \"primes\", ", 20) == 0,
                      "%s", r.out);
        run_free(&r);
    }
    k = pread(fd, buf + strlen(CSV_HEADER) + 1, sizeof(buf) - 100, 0);
    ck_assert_int_gt(k, 0);
    memcpy(buf, CSV_HEADER "\n", strlen(CSV_HEADER) + 1);
    buf[strlen(CSV_HEADER) + 1 + (size_t)k] = '\0';
    close(fd);
    unlink(path);
    /* Four records, no header in the file (parse_csv checks ours). */
    r.status = 0;
    r.out = buf;
    r.err = (char *)"";
    ck_assert_int_eq(check_records(&r, "primes", "c", "seq", "-", 1000, 168,
                                   recs), 4);
}
END_TEST

START_TEST(unwritable_out_exits_1)
{
    struct run r;

    run_bench(&r, "primes", "--n", "100", "--out", "/dev/full", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "/dev/full") != NULL, "%s", r.err);
    run_free(&r);
}
END_TEST

/* ---- The Python twins ------------------------------------------------ */

START_TEST(python_primes_answers_in_every_mode)
{
    static const char *const runs[][3] = {
        { "seq", "-", NULL }, { "threads", "-", NULL },
        { "procs", "-", NULL }, { "procs", "executor", "--executor" },
    };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < 4; i++) {
        run_python(&r, "primes.py", "--mode", runs[i][0], "--workers", "2",
                   "--n", "2345", "--format", "csv", runs[i][2], NULL);
        check_records(&r, "primes", "python", runs[i][0], runs[i][1], 2345,
                      primes_below(2345), recs);
        run_free(&r);
    }
}
END_TEST

START_TEST(python_sum_answers_in_every_mode)
{
    static const char *const runs[][4] = {
        { "seq", "-", NULL, NULL }, { "threads", "-", NULL, NULL },
        { "procs", "shm", NULL, NULL }, { "procs", "copy", "--copy", NULL },
        { "procs", "shm-executor", "--executor", NULL },
        { "procs", "copy-executor", "--copy", "--executor" },
    };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < 6; i++) {
        run_python(&r, "sum.py", "--mode", runs[i][0], "--workers", "2",
                   "--n", "100003", "--chunk", "7000", "--format", "csv",
                   runs[i][2], runs[i][3], NULL);
        check_records(&r, "sum", "python", runs[i][0], runs[i][1], 100003,
                      sum_below(100003), recs);
        run_free(&r);
    }
}
END_TEST

START_TEST(python_io_answers_in_every_mode)
{
    static const char *const runs[][3] = {
        { "seq", "-", NULL }, { "threads", "-", NULL },
        { "procs", "-", NULL }, { "procs", "executor", "--executor" },
    };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < 4; i++) {
        run_python(&r, "io.py", "--mode", runs[i][0], "--workers", "3",
                   "--tasks", "5", "--delay-ms", "1", "--format", "csv",
                   runs[i][2], NULL);
        check_records(&r, "io", "python", runs[i][0], runs[i][1], 5, 5,
                      recs);
        run_free(&r);
    }
}
END_TEST

START_TEST(python_overhead_answers_in_every_mode)
{
    static const char *const modes[] = {
        "threadpool-executor", "mp-pool", "process-pool-executor",
        "thread-per-task", "fork-per-task",
    };
    static const char *const variants[] = { "bulk", "roundtrip", "map" };
    struct record recs[MAX_RECORDS];
    struct run r;

    for (size_t i = 0; i < 5; i++) {
        for (size_t v = 0; v < 3; v++) {
            run_python(&r, "overhead.py", "--mode", modes[i], "--variant",
                       variants[v], "--workers", "2", "--tasks", "20",
                       "--format", "csv", NULL);
            if (i >= 3 && v == 2) {     /* no map without a pool */
                ck_assert_int_eq(r.status, 2);
                run_free(&r);
                continue;
            }
            /* map's answer is the sum of 2i + 1 for i < 20. */
            check_records(&r, "overhead", "python", modes[i], variants[v],
                          20, v == 2 ? 400 : 20, recs);
            run_free(&r);
        }
    }
}
END_TEST

START_TEST(python_chunks_sweeps_every_size)
{
    static const char *const sizes[] = { "1", "4", "16", "64", "256",
                                         "1024", "1500" };
    struct record recs[MAX_RECORDS];
    struct run r;
    int n;

    run_python(&r, "chunks.py", "--mode", "procs", "--workers", "2", "--n",
               "3000", "--format", "csv", NULL);
    n = check_records(&r, "chunks", "python", "procs", "-", 3000, 430, recs);
    ck_assert_int_eq(n, 7);
    for (int k = 0; k < n; k++)
        ck_assert_str_eq(recs[k].col[CHUNK], sizes[k]);
    run_free(&r);
    run_python(&r, "chunks.py", "--mode", "threads", "--chunk", "50",
               "--n", "3000", "--format", "csv", NULL);
    ck_assert_int_eq(check_records(&r, "chunks", "python", "threads", "-",
                                   3000, 430, recs), 1);
    run_free(&r);
}
END_TEST

START_TEST(python_bad_command_lines_exit_2)
{
    static const char *const cases[][3] = {
        { "primes.py", "--n", "2x" }, { "primes.py", "--gil", NULL },
        { "primes.py", "--executor", NULL }, { "sum.py", "--copy", NULL },
        { "io.py", "--tasks", "0" }, { "io.py", "--workers", "1025" },
        { "overhead.py", "--variant", "nope" }, { "sum.py", "--n", "1e99" },
        { "chunks.py", "--factor", "1" }, { "overhead.py", "stray", NULL },
    };
    struct run r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_python(&r, cases[i][0], cases[i][1], cases[i][2], NULL);
        ck_assert_msg(r.status == 2, "%s %s: exit %d", cases[i][0],
                      cases[i][1], r.status);
        ck_assert_str_eq(r.out, "");
        ck_assert_msg(strstr(r.err, "usage: ") != NULL, "%s", r.err);
        run_free(&r);
    }
}
END_TEST

static Suite *benchmarks_suite(void)
{
    Suite *s = suite_create("benchmarks");
    TCase *harness = tcase_create("harness");
    TCase *programs = tcase_create("programs");
    TCase *python = tcase_create("python");

    tcase_add_test(harness, parse_count_accepts_digits_and_exponents_only);
    tcase_add_test(harness, median_of_odd_and_even_counts);
    tcase_add_test(harness, failed_check_prints_fail_and_exits_1);
    tcase_add_test(harness, record_without_expected_prints_dashes_and_nulls);
    tcase_add_test(harness, parse_errors_exit_2_with_usage);
    tcase_add_test(harness, pi_table_agrees_with_the_sieve);
    tcase_add_test(harness, trial_division_and_sieve_agree_on_small_bounds);
    tcase_add_test(harness, sum_closed_form_matches_the_array);
    tcase_set_timeout(harness, 30);
    suite_add_tcase(s, harness);

    tcase_add_test(programs, primes_answers_in_every_mode);
    tcase_add_test(programs, sum_answers_in_every_mode);
    tcase_add_test(programs, io_answers_in_every_mode);
    tcase_add_test(programs, chunks_sweeps_every_size_in_every_mode);
    tcase_add_test(programs, bad_command_lines_exit_2_and_run_nothing);
    tcase_add_test(programs, help_exits_0_with_usage_on_stdout);
    tcase_add_test(programs, out_appends_csv_without_header);
    tcase_add_test(programs, unwritable_out_exits_1);
    tcase_set_timeout(programs, 30);
    suite_add_tcase(s, programs);

    tcase_add_test(python, python_primes_answers_in_every_mode);
    tcase_add_test(python, python_sum_answers_in_every_mode);
    tcase_add_test(python, python_io_answers_in_every_mode);
    tcase_add_test(python, python_overhead_answers_in_every_mode);
    tcase_add_test(python, python_chunks_sweeps_every_size);
    tcase_add_test(python, python_bad_command_lines_exit_2);
    tcase_set_timeout(python, 60);
    suite_add_tcase(s, python);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(benchmarks_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
