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
 *    started and captured by tests/support.c (stdout and stderr apart).
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
#include "support.h"
#include "workloads.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 32
#define MAX_RECORDS 64
#define PYTHON "/usr/bin/python3"

/* ---- Running a program ----------------------------------------------- */

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
    run_argv(r, argv, NULL);
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
    run_argv(r, argv, NULL);
}

/* ---- Reading records ------------------------------------------------- */

/* A non-negative decimal with `places` digits after the point. */
static bool is_decimal(const char *s, size_t places)
{
    const char *dot = strchr(s, '.');

    if (dot == NULL || dot == s || strlen(dot + 1) != places)
        return false;
    return strspn(s, "0123456789") == (size_t)(dot - s) &&
           strspn(dot + 1, "0123456789") == places;
}

/* A wall time (%.9f) and a CPU time (%.6f). */
static bool is_seconds(const char *s)
{
    return is_decimal(s, 9);
}

static bool is_cpu_seconds(const char *s)
{
    return is_decimal(s, 6);
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
    count = records_parse(r->out, recs, MAX_RECORDS);
    ck_assert_int_ge(count, 1);
    for (int i = 0; i < count; i++) {
        struct record *x = &recs[i];

        ck_assert_str_eq(x->col[COL_BENCH], bench);
        ck_assert_str_eq(x->col[COL_LANG], lang);
        ck_assert_str_eq(x->col[COL_MODE], mode);
        ck_assert_str_eq(x->col[COL_VARIANT], variant);
        snprintf(buf, sizeof(buf), "%lld", n);
        ck_assert_str_eq(x->col[COL_N], buf);
        snprintf(buf, sizeof(buf), "%lld", want);
        ck_assert_str_eq(x->col[COL_RESULT], buf);
        ck_assert_str_eq(x->col[COL_EXPECTED], buf);
        ck_assert_str_eq(x->col[COL_CHECK], "ok");
        ck_assert(is_seconds(x->col[COL_SETUP]));
        ck_assert(is_seconds(x->col[COL_KERNEL]));
        ck_assert_msg(is_cpu_seconds(x->col[COL_USER]), "%s",
                      x->col[COL_USER]);
        ck_assert_msg(is_cpu_seconds(x->col[COL_SYS]), "%s",
                      x->col[COL_SYS]);
        ck_assert_int_ge(atoll(x->col[COL_WORKERS]), 1);
        ck_assert_int_ge(atoll(x->col[COL_CHUNK]), 1);
        ck_assert_int_ge(atoll(x->col[COL_TASKS]), 1);
        if (strcmp(mode, "seq") == 0)
            ck_assert_str_eq(x->col[COL_WORKERS], "1");
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

    const char *want = RECORD_HEADER "\nunit,c,threads,-,3,10,0,1,0,"
                       "0.000000000,0.000000000,5,6,FAIL,";

    ck_assert_int_eq(session(args, 6, 5, 6, out, sizeof(out), err,
                             sizeof(err)), BENCH_EXIT_FAIL);
    /* Then the CPU times, whatever they are. */
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    ck_assert_msg(strstr(err, "wrong result 5, expected 6") != NULL,
                  "stderr: %s", err);
}
END_TEST

START_TEST(record_without_expected_prints_dashes_and_nulls)
{
    const char *csv[] = { "--format", "csv" };
    const char *json[] = { "--format=jsonl" };
    char out[1024], err[1024];

    const char *want_csv = RECORD_HEADER "\nunit,c,seq,-,1,10,0,1,0,"
                           "0.000000000,0.000000000,-,-,ok,";
    const char *want_json = "{\"bench\": \"unit\", \"lang\": \"c\", "
        "\"mode\": \"seq\", \"variant\": \"-\", \"workers\": 1, "
        "\"n\": 10, \"chunk\": 0, \"tasks\": 1, \"rep\": 0, "
        "\"setup_s\": 0.000000000, \"kernel_s\": 0.000000000, "
        "\"result\": null, \"expected\": null, \"check\": \"ok\", "
        "\"user_s\": ";

    ck_assert_int_eq(session(csv, 2, BENCH_NONE, BENCH_NONE, out,
                             sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strncmp(out, want_csv, strlen(want_csv)) == 0, "%s", out);
    ck_assert_int_eq(session(json, 1, BENCH_NONE, BENCH_NONE, out,
                             sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strncmp(out, want_json, strlen(want_json)) == 0, "%s",
                  out);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1,
                  "jsonl is one line a record: %s", out);
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
    uint64_t limit = tests_slow() ? 1000000 : 20000000;
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
        ck_assert_str_eq(recs[0].col[COL_REP], "0");
        ck_assert_str_eq(recs[1].col[COL_REP], "1");
        if (strcmp(runs[i][0], "seq") != 0) {
            ck_assert_str_eq(recs[0].col[COL_CHUNK], "1000");
            ck_assert_str_eq(recs[0].col[COL_TASKS], "13");
            ck_assert_str_eq(recs[0].col[COL_WORKERS], "3");
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
            ck_assert_str_eq(recs[1].col[COL_TASKS], "15");
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
        ck_assert_str_eq(recs[0].col[COL_TASKS], "7");
        ck_assert_str_eq(recs[0].col[COL_CHUNK], "1");
        run_free(&r);
    }
    /* The machine's floor: bare threads, each its share, every run. */
    run_bench(&r, "io", "--mode", "threads", "--bare", "--workers", "3",
              "--tasks", "7", "--delay-ms", "2", "--repeat", "3", "--format",
              "csv", NULL);
    ck_assert_int_eq(check_records(&r, "io", "c", "threads", "bare", 7, 7,
                                   recs),
                     3);
    run_free(&r);
    /* ... and nowhere else: a pool, or a pool's switch, with it is an
     * error. */
    run_bench(&r, "io", "--mode", "procs", "--bare", NULL);
    ck_assert_int_eq(r.status, 2);
    run_free(&r);
    run_bench(&r, "io", "--mode", "threads", "--bare", "--no-cascade", NULL);
    ck_assert_int_eq(r.status, 2);
    run_free(&r);
    /* The process pool with one remedy off: one task at a time in each
     * worker, none in hand; or every answer sent through the sockets,
     * none taken from the rings.  The same answers, each its own variant;
     * procs only, one switch at a time. */
    for (size_t k = 0; k < 2; k++) {
        const char *off = k == 0 ? "one-at-a-time" : "send-answers";
        char flag[32];

        snprintf(flag, sizeof(flag), "--%s", off);
        run_bench(&r, "io", "--mode", "procs", flag, "--workers", "3",
                  "--tasks", "7", "--delay-ms", "2", "--format", "csv",
                  NULL);
        check_records(&r, "io", "c", "procs", off, 7, 7, recs);
        run_free(&r);
        run_bench(&r, "io", "--mode", "threads", flag, NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "procs only"), "%s", r.err);
        run_free(&r);
    }
    run_bench(&r, "io", "--mode", "procs", "--send-answers",
              "--one-at-a-time", NULL);
    ck_assert_int_eq(r.status, 2);
    run_free(&r);
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
            ck_assert_str_eq(recs[k].col[COL_CHUNK], sizes[k]);
        ck_assert_str_eq(recs[0].col[COL_TASKS], "3000");
        ck_assert_str_eq(recs[6].col[COL_TASKS], "2");
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
    ck_assert_str_eq(recs[1].col[COL_CHUNK], "100");
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

static const char *const all_progs[] = { "io", "primes", "sum", "chunks",
                                         "overhead", "crawl", "images" };
#define NPROGS (sizeof(all_progs) / sizeof(all_progs[0]))

START_TEST(help_exits_0_with_usage_on_stdout)
{
    struct run r;

    for (size_t i = 0; i < NPROGS; i++) {
        for (int h = 0; h < 2; h++) {
            run_bench(&r, all_progs[i], h ? "-h" : "--help", NULL);
            ck_assert_int_eq(r.status, 0);
            ck_assert_msg(strncmp(r.out, "usage: ", 7) == 0, "%s", r.out);
            ck_assert_msg(strstr(r.out, RECORD_HEADER) != NULL, "%s",
                          r.out);
            ck_assert_msg(strstr(r.out, "--version") != NULL, "%s", r.out);
            ck_assert_str_eq(r.err, "");
            run_free(&r);
        }
        /* primes and sum hand --mode mpi to their Open MPI versions. */
        if (strcmp(all_progs[i], "primes") == 0 ||
            strcmp(all_progs[i], "sum") == 0) {
            run_bench(&r, all_progs[i], "--help", NULL);
            ck_assert_msg(strstr(r.out, "--mode seq|threads|procs|mpi]") &&
                          strstr(r.out, "mpirun -np W"),
                          "mpi mode not in %s --help:\n%s", all_progs[i],
                          r.out);
            run_free(&r);
        }
    }
}
END_TEST

START_TEST(version_names_the_program_and_poolbench)
{
    char want[64];
    struct run r;

    for (size_t i = 0; i < NPROGS; i++) {
        run_bench(&r, all_progs[i], "--version", NULL);
        ck_assert_int_eq(r.status, 0);
        snprintf(want, sizeof(want), "%s (poolbench) ", all_progs[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        ck_assert_msg(strlen(r.out) > strlen(want) + 1, "no version: %s",
                      r.out);
        ck_assert_str_eq(r.err, "");
        run_free(&r);
        run_bench(&r, all_progs[i], "--version=2", NULL);
        ck_assert_int_eq(r.status, 2);
        run_free(&r);
    }
}
END_TEST

/*
 * overhead's tp-no-* modes run our pool with one speed trick off (struct
 * tp_tuning), its pp-no-* modes the process pool with one remedy off
 * (struct pp_tuning): each still answers every task and item, and --mode
 * ablation runs them all beside tp, textbook and pp, each record named by
 * its mode.
 */
START_TEST(overhead_answers_with_each_trick_off)
{
    static const char *const modes[] = { "tp-no-poll", "tp-no-recycle",
                                         "tp-two-trips", "tp-wake-always",
                                         "tp-no-cascade",
                                         "tp-no-caller-map", "pp-no-poll",
                                         "pp-no-direct", "pp-no-handoff",
                                         "pp-no-ring" };
    static const char *const variants[] = { "bulk", "roundtrip", "map" };
    struct record recs[MAX_RECORDS];
    struct run r;
    int count;

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        for (size_t v = 0; v < 3; v++) {
            bool pp = strncmp(modes[i], "pp-", 3) == 0;
            bool has = pp ? v != 2
                          : v == 2 ||
                                strcmp(modes[i], "tp-no-caller-map") != 0;

            run_bench(&r, "overhead", "--mode", modes[i], "--variant",
                      variants[v], "--tasks", "300", "--workers", "2",
                      "--format", "csv", NULL);
            if (has)
                check_records(&r, "overhead", "c", modes[i], variants[v],
                              300, v == 2 ? 300 * 300 : 300, recs);
            else
                ck_assert_int_eq(r.status, 2);
            run_free(&r);
        }
    }
    run_bench(&r, "overhead", "--mode", "ablation", "--variant", "bulk",
              "--tasks", "300", "--workers", "2", "--format", "csv", NULL);
    ck_assert_int_eq(r.status, 0);
    count = records_parse(r.out, recs, MAX_RECORDS);
    ck_assert_int_eq(count, 12);
    ck_assert_str_eq(recs[0].col[COL_MODE], "tp");
    ck_assert_str_eq(recs[1].col[COL_MODE], "textbook");
    ck_assert_str_eq(recs[2].col[COL_MODE], "pp");
    ck_assert_str_eq(recs[3].col[COL_MODE], "tp-no-poll");
    ck_assert_str_eq(recs[6].col[COL_MODE], "tp-wake-always");
    ck_assert_str_eq(recs[7].col[COL_MODE], "tp-no-cascade");
    ck_assert_str_eq(recs[8].col[COL_MODE], "pp-no-poll");
    ck_assert_str_eq(recs[10].col[COL_MODE], "pp-no-handoff");
    ck_assert_str_eq(recs[11].col[COL_MODE], "pp-no-ring");
    for (int k = 0; k < count; k++)
        ck_assert_str_eq(recs[k].col[COL_CHECK], "ok");
    run_free(&r);
}
END_TEST

START_TEST(list_prints_every_mode_one_a_line)
{
    struct run r;

    run_bench(&r, "primes", "--list", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "mode seq\nmode threads\nmode procs\nmode mpi\n"
                     "variant static\nvariant dynamic\n");
    run_free(&r);
    run_bench(&r, "overhead", "--list", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "mode tp\n") && strstr(r.out, "mode all\n") &&
                  strstr(r.out, "variant roundtrip\n"), "%s", r.out);
    run_free(&r);
    for (size_t i = 0; i < NPROGS; i++) {
        run_bench(&r, all_progs[i], "--list", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "mode ", 5) == 0, "%s", r.out);
        run_free(&r);
    }
}
END_TEST

/*
 * Reads a program's output with Python's json and csv modules: argv is
 * FORMAT FILE BENCH LANG RECORDS.  A json document must have a context
 * (with the unit of every field) and the records; jsonl one record a line;
 * csv a header row naming the fields.  Every record must have exactly the
 * fields of the contract, in order, the right bench and lang, check ok and
 * non-negative times.
 */
static const char json_check[] =
    "import csv, json, sys\n"
    "fmt, path, bench, lang, want = sys.argv[1:6]\n"
    "F = '" RECORD_HEADER "'.split(',')\n"
    "text = open(path).read()\n"
    "if fmt == 'json':\n"
    "    doc = json.loads(text)\n"
    "    assert list(doc) == ['context', 'records'], list(doc)\n"
    "    c = doc['context']\n"
    "    for k in ('program', 'lang', 'version', 'commit', 'date', 'host',\n"
    "              'cpu_model', 'cpus_online', 'cpus_usable', 'compiler',\n"
    "              'cflags', 'command', 'units'):\n"
    "        assert k in c, k\n"
    "    assert c['program'] == bench and c['lang'] == lang, c\n"
    "    assert c['cpus_usable'] >= 1 and c['version'], c\n"
    "    assert sorted(c['units']) == sorted(F), c['units']\n"
    "    recs = doc['records']\n"
    "elif fmt == 'jsonl':\n"
    "    recs = [json.loads(line) for line in text.splitlines()]\n"
    "else:\n"
    "    rows = list(csv.reader(text.splitlines()))\n"
    "    assert rows[0] == F, rows[0]\n"
    "    recs = [dict(zip(F, row)) for row in rows[1:]]\n"
    "    assert all(len(row) == len(F) for row in rows), rows\n"
    "assert len(recs) >= int(want), (len(recs), want)\n"
    "for r in recs:\n"
    "    assert list(r) == F, list(r)\n"
    "    assert r['bench'] == bench and r['lang'] == lang, r\n"
    "    assert r['check'] == 'ok', r\n"
    "    for k in ('setup_s', 'kernel_s', 'user_s', 'sys_s'):\n"
    "        assert float(r[k]) >= 0, (k, r)\n"
    "    if fmt != 'csv':\n"
    "        assert isinstance(r['kernel_s'], float), r\n"
    "        assert isinstance(r['workers'], int), r\n";

/* Checks one run's stdout (r->out) in format fmt with json_check. */
static void check_format(const struct run *r, const char *fmt,
                         const char *bench, const char *lang,
                         const char *records)
{
    char path[] = "/tmp/poolbench-test-XXXXXX";
    int fd = mkstemp(path);
    char *argv[] = { (char *)PYTHON, (char *)"-c", (char *)json_check,
                     (char *)fmt, path, (char *)bench, (char *)lang,
                     (char *)records, NULL };
    struct run py;

    ck_assert_msg(r->status == 0, "%s --format %s exited %d: %s", bench,
                  fmt, r->status, r->err);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r->out, strlen(r->out)),
                     (ssize_t)strlen(r->out));
    close(fd);
    run_argv(&py, argv, NULL);
    unlink(path);
    ck_assert_msg(py.status == 0, "%s --format %s: %s\n%s", bench, fmt,
                  py.err, r->out);
    run_free(&py);
}

/* Small runs of every program, two records each (chunks: a sweep). */
static const char *const small_runs[][12] = {
    { "io", "--tasks", "3", "--delay-ms", "1", "--workers", "2" },
    { "primes", "--n", "1000", "--mode", "procs", "--workers", "2" },
    { "sum", "--n", "10000", "--mode", "procs", "--workers", "2" },
    { "chunks", "--n", "1000", "--mode", "threads", "--workers", "2" },
    { "overhead", "--mode", "tp", "--tasks", "100", "--workers", "2" },
    { "crawl", "--pages", "8", "--delay-ms", "0", "--workers", "2" },
    { "images", "--images", "3", "--max-side", "64", "--workers", "2" },
};

/* _i: the program.  Every format a program reads back is parsed by
 * Python's own json and csv modules, not by code written here. */
START_TEST(every_format_of_every_program_parses)
{
    static const char *const fmts[] = { "json", "jsonl", "csv" };
    const char *const *a = small_runs[_i];
    struct run r;

    for (size_t f = 0; f < 3; f++) {
        run_bench(&r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], "--repeat",
                  "2", "--format", fmts[f], NULL);
        check_format(&r, fmts[f], a[0], "c", "2");
        run_free(&r);
    }
}
END_TEST

/* A run that fails still closes its JSON document. */
START_TEST(json_document_is_closed_after_a_failure)
{
    struct run r;

    run_bench(&r, "primes", "--n", "100", "--format", "json", "--out",
              "/dev/full", NULL);
    ck_assert_int_eq(r.status, 1);
    r.status = 0;   /* check_format wants a finished run */
    check_format(&r, "json", "primes", "c", "0");
    run_free(&r);
}
END_TEST

START_TEST(out_file_gets_the_header_once)
{
    char path[] = "/tmp/poolbench-test-XXXXXX", buf[4096];
    int fd = mkstemp(path);
    struct record recs[MAX_RECORDS];
    struct run r;
    ssize_t k;

    /* mkstemp made it empty: the first run writes the header. */
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 2; i++) {
        run_bench(&r, "primes", "--n", "1000", "--repeat", "2", "--out",
                  path, "--format", "jsonl", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "{\"bench\": \"primes\", ", 20) == 0,
                      "%s", r.out);
        run_free(&r);
    }
    k = pread(fd, buf, sizeof(buf) - 1, 0);
    ck_assert_int_gt(k, 0);
    buf[k] = '\0';
    close(fd);
    unlink(path);
    /* The header, then four records (parse_csv refuses a second header). */
    r.status = 0;
    r.out = buf;
    r.err = (char *)"";
    ck_assert_int_eq(check_records(&r, "primes", "c", "seq", "-", 1000, 168,
                                   recs), 4);
}
END_TEST

/* chunks --mode procs takes every --n its help allows: the automatic
 * sweep stops at the largest batch one message holds (8 Mi numbers), which
 * --min-chunk above it shows without running anything; an explicit chunk
 * above it is refused. */
START_TEST(chunks_procs_sweep_stops_at_the_message_limit)
{
    struct run r;

    run_bench(&r, "chunks", "--mode", "procs", "--workers", "2", "--n",
              "1e8", "--min-chunk", "9e6", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--max-chunk 8388608") != NULL, "%s", r.err);
    run_free(&r);
    run_bench(&r, "chunks", "--mode", "procs", "--n", "2e7", "--chunk",
              "9e6", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "argument limit") != NULL, "%s", r.err);
    run_free(&r);
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
        ck_assert_str_eq(recs[k].col[COL_CHUNK], sizes[k]);
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

/* Small runs of every twin, as small_runs. */
static const char *const small_twin_runs[][12] = {
    { "io.py", "--tasks", "3", "--delay-ms", "1", "--workers", "2" },
    { "primes.py", "--n", "1000", "--mode", "procs", "--workers", "2" },
    { "sum.py", "--n", "10000", "--mode", "procs", "--workers", "2" },
    { "chunks.py", "--n", "1000", "--mode", "threads", "--workers", "2" },
    { "overhead.py", "--mode", "mp-pool", "--tasks", "50", "--workers",
      "2" },
    { "crawl.py", "--pages", "8", "--delay-ms", "0", "--workers", "2" },
    { "images.py", "--images", "3", "--max-side", "64", "--workers", "2" },
};

/* The "reference checksum X" line of images' text output, into buf. */
static void reference_checksum(const char *out, char *buf, size_t size)
{
    const char *p = strstr(out, "reference checksum ");

    ck_assert_msg(p != NULL, "no reference checksum in: %s", out);
    p += strlen("reference checksum ");
    snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
    ck_assert_int_eq(strlen(buf), 16);
}

/* images.py makes the same images and the same outputs as images: the
 * same reference checksum (a hash of every output's checksum), and every
 * output file checks in every mode. */
START_TEST(python_images_matches_the_c_checksums)
{
    static const char *const modes[] = { "seq", "threads", "procs" };
    struct record recs[MAX_RECORDS];
    char c_sum[32], py_sum[32];
    struct run r;

    run_bench(&r, "images", "--mode", "seq", "--images", "7",
              "--max-side", "200", "--seed", "5", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    reference_checksum(r.out, c_sum, sizeof(c_sum));
    run_free(&r);
    run_python(&r, "images.py", "--mode", "seq", "--images", "7",
               "--max-side", "200", "--seed", "5", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    reference_checksum(r.out, py_sum, sizeof(py_sum));
    run_free(&r);
    ck_assert_str_eq(py_sum, c_sum);
    for (size_t i = 0; i < 3; i++) {
        run_python(&r, "images.py", "--mode", modes[i], "--workers", "2",
                   "--images", "7", "--max-side", "200", "--seed", "5",
                   "--chunk", "2", "--format", "csv", NULL);
        check_records(&r, "images", "python", modes[i], "box", 7, 7, recs);
        run_free(&r);
    }
}
END_TEST

/* crawl.py crawls the same site as crawl: every page once with its title
 * and links, every fault once with its error, as many URLs as C. */
START_TEST(python_crawl_finds_the_same_site_as_c)
{
    static const char *const modes[] = { "seq", "threads", "procs" };
    struct record recs[MAX_RECORDS], c_recs[MAX_RECORDS];
    struct run r;

    run_bench(&r, "crawl", "--pages", "25", "--delay-ms", "1", "--dead",
              "2", "--slow", "1", "--missing", "2", "--timeout-ms", "300",
              "--workers", "3", "--format", "csv", NULL);
    check_records(&r, "crawl", "c", "threads", "delay1ms", 25, 30, c_recs);
    run_free(&r);
    for (size_t i = 0; i < 3; i++) {
        run_python(&r, "crawl.py", "--mode", modes[i], "--pages", "25",
                   "--delay-ms", "1", "--dead", "2", "--slow", "1",
                   "--missing", "2", "--timeout-ms", "300", "--workers",
                   "3", "--format", "csv", NULL);
        check_records(&r, "crawl", "python", modes[i], "delay1ms", 25, 30,
                      recs);
        ck_assert_str_eq(recs[0].col[COL_TASKS], c_recs[0].col[COL_TASKS]);
        run_free(&r);
    }
}
END_TEST

START_TEST(python_every_format_of_every_twin_parses)
{
    static const char *const fmts[] = { "json", "jsonl", "csv" };
    const char *const *a = small_twin_runs[_i];
    char bench[32];
    struct run r;

    snprintf(bench, sizeof(bench), "%.*s", (int)(strlen(a[0]) - 3), a[0]);
    for (size_t f = 0; f < 3; f++) {
        run_python(&r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], "--repeat",
                   "2", "--format", fmts[f], NULL);
        check_format(&r, fmts[f], bench, "python", "2");
        run_free(&r);
    }
}
END_TEST

START_TEST(python_help_version_and_list)
{
    const char *script = small_twin_runs[_i][0];
    char want[64];
    struct run r;

    run_python(&r, script, "-h", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "usage: ", 7) == 0, "%s", r.out);
    run_free(&r);
    run_python(&r, script, "--version", NULL);
    ck_assert_int_eq(r.status, 0);
    snprintf(want, sizeof(want), "%.*s (poolbench) ",
             (int)(strlen(script) - 3), script);
    ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
    run_free(&r);
    run_python(&r, script, "--list", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "mode ", 5) == 0, "%s", r.out);
    run_free(&r);
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
    tcase_add_test(programs, version_names_the_program_and_poolbench);
    tcase_add_test(programs, list_prints_every_mode_one_a_line);
    tcase_add_test(programs, overhead_answers_with_each_trick_off);
    tcase_add_loop_test(programs, every_format_of_every_program_parses, 0,
                        sizeof(small_runs) / sizeof(small_runs[0]));
    tcase_add_test(programs, json_document_is_closed_after_a_failure);
    tcase_add_test(programs, chunks_procs_sweep_stops_at_the_message_limit);
    tcase_add_test(programs, out_file_gets_the_header_once);
    tcase_add_test(programs, unwritable_out_exits_1);
    tcase_set_timeout(programs, 30);
    suite_add_tcase(s, programs);

    tcase_add_test(python, python_primes_answers_in_every_mode);
    tcase_add_test(python, python_sum_answers_in_every_mode);
    tcase_add_test(python, python_io_answers_in_every_mode);
    tcase_add_test(python, python_overhead_answers_in_every_mode);
    tcase_add_test(python, python_chunks_sweeps_every_size);
    tcase_add_test(python, python_bad_command_lines_exit_2);
    tcase_add_test(python, python_images_matches_the_c_checksums);
    tcase_add_test(python, python_crawl_finds_the_same_site_as_c);
    tcase_add_loop_test(python, python_every_format_of_every_twin_parses, 0,
                        sizeof(small_twin_runs) / sizeof(small_twin_runs[0]));
    tcase_add_loop_test(python, python_help_version_and_list, 0,
                        sizeof(small_twin_runs) / sizeof(small_twin_runs[0]));
    tcase_set_timeout(python, 60);
    suite_add_tcase(s, python);
    return s;
}

int main(void)
{
    return tests_run(benchmarks_suite());
}
