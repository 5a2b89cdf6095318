/*
 * test_mpi.c - the Open MPI benchmark programs (benchmarks/mpi/) count and
 * sum correctly on 1, 2 and 3 ranks, and scripts/mpi-run.sh explains
 * itself when mpirun is missing.
 *
 * The programs run the way a user runs them: through scripts/mpi-run.sh,
 * which calls mpirun on this machine (with --oversubscribe for 3 ranks on
 * a 2-CPU machine, and --allow-run-as-root as root).  Each test reads the
 * CSV records and compares the answers with values worked out here, by
 * other means than the programs use: pi(10^5) = 9592 is a known constant,
 * other prime counts come from a small sieve below, and the sum's total is
 * added up value by value (the programs use a closed form to check it).
 *
 * When the MPI runs are skipped, and why: Open MPI is not clean under
 * valgrind or the sanitizers (its own code reports leaks and races), so
 * the Makefile builds the MPI programs in the plain build only; under
 * VALGRIND=1 or SANITIZE=... this program says so and runs only the tests
 * that need no MPI.  Without Open MPI (no mpicc) the same happens.  With
 * mpicc there and a plain build, missing programs are a failure, not a
 * skip: a broken build must not pass as "MPI not installed".
 *
 * Environment: POOLBENCH_BIN, the build's bin folder (make test sets it;
 * default build/release/bin).  Run from the top of the tree, as make does.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds per test.  Each mpirun starts and stops in under a second here;
 * a loop test runs a few.  Check multiplies this by CK_TIMEOUT_MULTIPLIER. */
#define MPI_TIMEOUT 60

#define WRAPPER "scripts/mpi-run.sh"

/* Output kept from one command; more is read and dropped. */
#define OUT_MAX 65536

struct run {
    int status;                 /* exit status, or 128 + signal */
    char out[OUT_MAX];
    char err[OUT_MAX];
};

/* One CSV record, the columns of the record contract. */
struct rec {
    char bench[32], mode[32], variant[48];
    long workers;
    long long n, chunk, tasks;
    long rep;
    double setup_s, kernel_s;
    char result[32], expected[32], check[8];
};

static const char *bin_dir(void)
{
    const char *b = getenv("POOLBENCH_BIN");

    return b && *b ? b : "build/release/bin";
}

/* Reads what a temporary file holds into buf (NUL-terminated). */
static void slurp(int fd, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t k;

    lseek(fd, 0, SEEK_SET);
    while (len + 1 < size && (k = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)k;
    buf[len] = '\0';
}

static int temp_fd(void)
{
    char name[] = "/tmp/test_mpi.XXXXXX";
    int fd = mkstemp(name);

    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(name);
    return fd;
}

/*
 * Runs argv[0] (a path) with argv, and with envp as its whole environment
 * (NULL: this process's), stdout and stderr into r.  Files rather than
 * pipes, so that a chatty stderr can never block the child.
 */
static void run_cmd(struct run *r, char *const argv[], char *const envp[])
{
    int out = temp_fd(), err = temp_fd(), st;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        if (envp)
            execve(argv[0], argv, envp);
        else
            execv(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(126);
    }
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
    close(out);
    close(err);
}

/* Runs scripts/mpi-run.sh with up to 14 arguments, ending with NULL. */
static void run_wrapper(struct run *r, const char *const *args)
{
    char *argv[20];
    int i = 0;

    argv[i++] = (char *)"/bin/bash";
    argv[i++] = (char *)WRAPPER;
    for (; *args && i < 19; args++)
        argv[i++] = (char *)*args;
    argv[i] = NULL;
    run_cmd(r, argv, NULL);
}

/* Splits the CSV lines of out into recs (header skipped); returns the
 * number of records.  Fails the test on a line with the wrong shape. */
static int parse_records(char *out, struct rec *recs, int max)
{
    int count = 0;
    char *save = NULL;

    for (char *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct rec *c = &recs[count];
        int k;

        if (strncmp(line, "bench,", 6) == 0)
            continue;
        ck_assert_int_lt(count, max);
        k = sscanf(line, "%31[^,],c,%31[^,],%47[^,],%ld,%lld,%lld,%lld,%ld,"
                   "%lf,%lf,%31[^,],%31[^,],%7s", c->bench, c->mode,
                   c->variant, &c->workers, &c->n, &c->chunk, &c->tasks,
                   &c->rep, &c->setup_s, &c->kernel_s, c->result,
                   c->expected, c->check);
        ck_assert_msg(k == 13, "not a CSV record: '%s'", line);
        count++;
    }
    return count;
}

/* The variant a record should carry on `ranks` ranks of this machine. */
static void expected_variant(char *buf, size_t size, const char *variant,
                             long ranks)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    snprintf(buf, size, "%s%s", variant,
             ranks > (cpus > 0 ? cpus : 1) ? "+oversub" : "");
}

/*
 * Runs PROGRAM on `ranks` ranks with the given options plus
 * --format csv --repeat 2, and checks both records: exit 0, the program's
 * name, mode mpi, the variant (marked +oversub when the ranks outnumber the
 * CPUs), workers = ranks, n, and result = expected = want, check ok.
 */
static void check_run(const char *program, const char *variant, long ranks,
                      long long n, const char *chunk, long long want)
{
    static struct run r;
    struct rec recs[4];
    char np[16], nbuf[32], vwant[64], wantbuf[32];
    const char *args[16] = { "-n", np, program, "--variant", variant,
                             "--n", nbuf, "--format", "csv", "--repeat",
                             "2", NULL };
    int count;

    snprintf(np, sizeof(np), "%ld", ranks);
    snprintf(nbuf, sizeof(nbuf), "%lld", n);
    if (chunk) {
        args[11] = "--chunk";
        args[12] = chunk;
        args[13] = NULL;
    }
    run_wrapper(&r, args);
    ck_assert_msg(r.status == 0, "%s on %ld ranks exited %d:\n%s", program,
                  ranks, r.status, r.err);
    count = parse_records(r.out, recs, 4);
    ck_assert_int_eq(count, 2);
    expected_variant(vwant, sizeof(vwant), variant, ranks);
    snprintf(wantbuf, sizeof(wantbuf), "%lld", want);
    for (int i = 0; i < count; i++) {
        ck_assert_str_eq(recs[i].bench, program);
        ck_assert_str_eq(recs[i].mode, "mpi");
        ck_assert_str_eq(recs[i].variant, vwant);
        ck_assert_int_eq(recs[i].workers, ranks);
        ck_assert_int_eq(recs[i].n, n);
        ck_assert_int_eq(recs[i].rep, i);
        ck_assert_int_ge(recs[i].tasks, 1);
        ck_assert_str_eq(recs[i].result, wantbuf);
        ck_assert_str_eq(recs[i].expected, wantbuf);
        ck_assert_str_eq(recs[i].check, "ok");
    }
}

/* The number of primes below n, by a sieve: independent of the programs'
 * trial division. */
static long long primes_below(long long n)
{
    char *composite = calloc(n > 2 ? (size_t)n : 2, 1);
    long long count = 0;

    ck_assert_ptr_nonnull(composite);
    for (long long i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        for (long long j = i * i; j < n; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

/* The sum workload's total, value by value: value i is (i * 40503) mod
 * 2^16 (benchmarks/lib/workloads.h, wl_value). */
static long long values_sum(long long n)
{
    long long sum = 0;

    for (long long i = 0; i < n; i++)
        sum += (long long)(((uint64_t)i * 40503u) & 0xffffu);
    return sum;
}

/* Loop tests run for _i = 0, 1, 2: on 1, 2 and 3 ranks. */

START_TEST(primes_static_counts_right_on_1_2_3_ranks)
{
    check_run("primes", "static", _i + 1, 100000, NULL, 9592);
}
END_TEST

START_TEST(primes_static_round_robin_chunks_count_right)
{
    /* 613 does not divide 65537, so the last chunk is short. */
    check_run("primes", "static", _i + 1, 65537, "613",
              primes_below(65537));
}
END_TEST

START_TEST(primes_dynamic_counts_right_on_1_2_3_ranks)
{
    /* Many small chunks: many requests, answers and stops. */
    check_run("primes", "dynamic", _i + 1, 100000, "777", 9592);
}
END_TEST

START_TEST(primes_dynamic_with_fewer_chunks_than_ranks)
{
    /* One chunk: every worker but one is told "no more" at once. */
    check_run("primes", "dynamic", _i + 1, 1000, "5000", 168);
}
END_TEST

START_TEST(sum_static_one_block_per_rank)
{
    check_run("sum", "static", _i + 1, 1000003, NULL, values_sum(1000003));
}
END_TEST

START_TEST(sum_static_in_rounds_of_chunks)
{
    check_run("sum", "static", _i + 1, 1000003, "4099",
              values_sum(1000003));
}
END_TEST

START_TEST(sum_dynamic_adds_every_chunk_once)
{
    check_run("sum", "dynamic", _i + 1, 1000003, "4099",
              values_sum(1000003));
}
END_TEST

START_TEST(sum_local_adds_every_block_once)
{
    check_run("sum", "local", _i + 1, 1000003, NULL, values_sum(1000003));
}
END_TEST

START_TEST(bad_option_is_reported_once_with_status_2)
{
    static struct run r;
    const char *args[] = { "-n", "2", "primes", "--bogus", NULL };
    const char *first;

    run_wrapper(&r, args);
    ck_assert_int_eq(r.status, 2);
    /* Only rank 0 reads the command line, so one complaint, not two. */
    first = strstr(r.err, "unknown option '--bogus'");
    ck_assert_msg(first != NULL, "no complaint in:\n%s", r.err);
    ck_assert_msg(strstr(first + 1, "unknown option '--bogus'") == NULL,
                  "complained more than once:\n%s", r.err);
    ck_assert_str_eq(r.out, "");
}
END_TEST

START_TEST(workers_other_than_ranks_is_refused)
{
    static struct run r;
    const char *args[] = { "-n", "2", "sum", "--workers", "3", NULL };

    run_wrapper(&r, args);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "mpirun -np") != NULL,
                  "no hint about -np in:\n%s", r.err);
    ck_assert_str_eq(r.out, "");
}
END_TEST

START_TEST(startup_records_launch_and_startup)
{
    static struct run r;
    struct rec recs[4];
    const char *args[] = { "-n", "1", "--startup", "--repeat", "1",
                           "--format", "csv", NULL };

    run_wrapper(&r, args);
    ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.err);
    ck_assert_int_eq(parse_records(r.out, recs, 4), 2);
    ck_assert_str_eq(recs[0].bench, "mpirun");
    ck_assert_str_eq(recs[0].variant, "launch");
    ck_assert_str_eq(recs[1].variant, "startup");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(recs[i].workers, 1);
        ck_assert_str_eq(recs[i].check, "ok");
        ck_assert(recs[i].kernel_s > 0);
    }
}
END_TEST

/* ---- no MPI needed ---------------------------------------------------- */

START_TEST(missing_mpirun_is_explained)
{
    static struct run r;
    /* A PATH with no mpirun in it (and nothing else either). */
    char *const envp[] = { (char *)"PATH=/nonexistent", NULL };
    char *const argv[] = { (char *)"/bin/bash", (char *)WRAPPER,
                           (char *)"-n", (char *)"2", (char *)"primes",
                           NULL };

    run_cmd(&r, argv, envp);
    ck_assert_int_eq(r.status, 127);
    ck_assert_msg(strstr(r.err, "mpirun not found") != NULL,
                  "unclear message:\n%s", r.err);
    ck_assert_msg(strstr(r.err, "openmpi-bin") != NULL,
                  "does not say what to install:\n%s", r.err);
    ck_assert_str_eq(r.out, "");
}
END_TEST

START_TEST(mpirun_variable_pointing_nowhere_is_explained)
{
    static struct run r;
    char *const envp[] = { (char *)"PATH=/usr/bin:/bin",
                           (char *)"MPIRUN=/nonexistent/mpirun", NULL };
    char *const argv[] = { (char *)"/bin/bash", (char *)WRAPPER,
                           (char *)"--startup", NULL };

    run_cmd(&r, argv, envp);
    ck_assert_int_eq(r.status, 127);
    ck_assert_msg(strstr(r.err, "MPIRUN=/nonexistent/mpirun") != NULL,
                  "does not name the bad MPIRUN:\n%s", r.err);
}
END_TEST

START_TEST(wrapper_rejects_a_bad_rank_count)
{
    static struct run r;
    const char *args[] = { "-n", "0", "primes", NULL };

    run_wrapper(&r, args);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "usage:") != NULL, "no usage in:\n%s",
                  r.err);
}
END_TEST

/* Why the MPI runs cannot happen here, or NULL when they can; *fail is
 * set when their absence is a broken build rather than a reason. */
static const char *mpi_skip_reason(bool *fail)
{
    static char why[512];
    const char *san = getenv("SANITIZE"), *vg = getenv("VALGRIND");
    const char *progs[] = { "primes", "sum" };

    *fail = false;
    if (vg && strcmp(vg, "1") == 0)
        return "under valgrind (Open MPI itself is not valgrind-clean)";
    if (san && *san)
        return "under a sanitizer build (the MPI programs are built only "
               "in the plain build: Open MPI itself is not clean)";
    if (system("command -v mpirun >/dev/null 2>&1") != 0)
        return "Open MPI is not installed (no mpirun; run scripts/setup.sh)";
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
        snprintf(why, sizeof(why), "%s/mpi/%s", bin_dir(), progs[i]);
        if (access(why, X_OK) != 0) {
            if (system("command -v mpicc >/dev/null 2>&1") == 0)
                *fail = true;
            snprintf(why, sizeof(why), "%s/mpi/%s was not built%s",
                     bin_dir(), progs[i],
                     *fail ? " although mpicc is installed" : " (no mpicc)");
            return why;
        }
    }
    return NULL;
}

static Suite *mpi_suite(const char *skip)
{
    Suite *s = suite_create("mpi");
    TCase *wrap = tcase_create("wrapper");

    if (!skip) {
        TCase *run = tcase_create("mpi runs");

        tcase_set_timeout(run, MPI_TIMEOUT);
        tcase_add_loop_test(run, primes_static_counts_right_on_1_2_3_ranks,
                            0, 3);
        tcase_add_loop_test(run,
                            primes_static_round_robin_chunks_count_right,
                            0, 3);
        tcase_add_loop_test(run, primes_dynamic_counts_right_on_1_2_3_ranks,
                            0, 3);
        tcase_add_loop_test(run,
                            primes_dynamic_with_fewer_chunks_than_ranks,
                            0, 3);
        tcase_add_loop_test(run, sum_static_one_block_per_rank, 0, 3);
        tcase_add_loop_test(run, sum_static_in_rounds_of_chunks, 0, 3);
        tcase_add_loop_test(run, sum_dynamic_adds_every_chunk_once, 0, 3);
        tcase_add_loop_test(run, sum_local_adds_every_block_once, 0, 3);
        tcase_add_test(run, bad_option_is_reported_once_with_status_2);
        tcase_add_test(run, workers_other_than_ranks_is_refused);
        tcase_add_test(run, startup_records_launch_and_startup);
        suite_add_tcase(s, run);
    }
    tcase_set_timeout(wrap, MPI_TIMEOUT);
    tcase_add_test(wrap, missing_mpirun_is_explained);
    tcase_add_test(wrap, mpirun_variable_pointing_nowhere_is_explained);
    tcase_add_test(wrap, wrapper_rejects_a_bad_rank_count);
    suite_add_tcase(s, wrap);
    return s;
}

int main(void)
{
    SRunner *sr;
    const char *skip;
    bool fail;
    int failed;

    if (access(WRAPPER, R_OK) != 0) {
        fprintf(stderr, "test_mpi: %s not found: run from the top of the "
                "tree (make test does)\n", WRAPPER);
        return 1;
    }
    skip = mpi_skip_reason(&fail);
    if (skip && fail) {
        fprintf(stderr, "test_mpi: FAIL: %s\n", skip);
        return 1;
    }
    if (skip)
        printf("test_mpi: skipping the MPI runs: %s\n", skip);
    sr = srunner_create(mpi_suite(skip));
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
