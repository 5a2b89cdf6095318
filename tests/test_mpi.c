/*
 * test_mpi.c - the Open MPI benchmark programs (benchmarks/mpi/) count and
 * sum correctly on 1, 2 and 3 ranks, run directly and through the main
 * programs' --mode mpi (`primes --mode mpi --workers 2`), and
 * scripts/mpi-run.sh and --mode mpi explain themselves when mpirun or the
 * MPI programs are missing.
 *
 * How --mode mpi is tested without Open MPI: the main program is copied
 * into a temporary folder beside a stand-in mpi/<name>, and PATH holds a
 * stand-in mpirun that prints its arguments.  That pins down the command
 * the program execs (-np W, --oversubscribe, --allow-run-as-root, the
 * arguments unchanged) in every build, the sanitizer and valgrind ones
 * included, where the real MPI runs are skipped.
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
#include "support.h"

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

/*
 * Runs argv[0] (a path) with argv, and with envp as its whole environment
 * (NULL: this process's), into r.  Each test keeps its run in a static
 * struct run, zero at the start, and each run first frees what the last
 * one left; the last stays reachable until the test's process exits.
 */
static void run_cmd(struct run *r, char *const argv[], char *const envp[])
{
    run_free(r);
    run_argv(r, argv, envp);
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
static void check_records(struct run *r, const char *program,
                          const char *variant, long ranks, long long n,
                          long long want);

static void check_run(const char *program, const char *variant, long ranks,
                      long long n, const char *chunk, long long want)
{
    static struct run r;
    char np[16], nbuf[32];
    const char *args[16] = { "-n", np, program, "--variant", variant,
                             "--n", nbuf, "--format", "csv", "--repeat",
                             "2", NULL };

    snprintf(np, sizeof(np), "%ld", ranks);
    snprintf(nbuf, sizeof(nbuf), "%lld", n);
    if (chunk) {
        args[11] = "--chunk";
        args[12] = chunk;
        args[13] = NULL;
    }
    run_wrapper(&r, args);
    check_records(&r, program, variant, ranks, n, want);
}

/* The checks of check_run() on a finished run's output: two records. */
static void check_records(struct run *r, const char *program,
                          const char *variant, long ranks, long long n,
                          long long want)
{
    struct record recs[4];
    char vwant[64], wantbuf[32];
    int count;

    ck_assert_msg(r->status == 0, "%s on %ld ranks exited %d:\n%s", program,
                  ranks, r->status, r->err);
    count = records_parse(r->out, recs, 4);
    ck_assert_int_eq(count, 2);
    expected_variant(vwant, sizeof(vwant), variant, ranks);
    snprintf(wantbuf, sizeof(wantbuf), "%lld", want);
    for (int i = 0; i < count; i++) {
        const struct record *x = &recs[i];

        ck_assert_str_eq(x->col[COL_BENCH], program);
        ck_assert_str_eq(x->col[COL_LANG], "c");
        ck_assert_str_eq(x->col[COL_MODE], "mpi");
        ck_assert_str_eq(x->col[COL_VARIANT], vwant);
        ck_assert_int_eq(atol(x->col[COL_WORKERS]), ranks);
        ck_assert_int_eq(atoll(x->col[COL_N]), n);
        ck_assert_int_eq(atol(x->col[COL_REP]), i);
        ck_assert_int_ge(atoll(x->col[COL_TASKS]), 1);
        ck_assert_str_eq(x->col[COL_RESULT], wantbuf);
        ck_assert_str_eq(x->col[COL_EXPECTED], wantbuf);
        ck_assert_str_eq(x->col[COL_CHECK], "ok");
    }
}

/*
 * Runs the main program (bin/primes, bin/sum) with --mode mpi, the form
 * given ("--mode mpi" as two words, or "--mode=mpi"), --workers ranks,
 * --n n, --variant variant unless NULL (the default is static), and
 * --format csv --repeat 2; then checks the records as check_run() does.
 */
static void check_main_run(const char *program, bool one_word,
                           const char *variant, long ranks, long long n,
                           long long want)
{
    static struct run r;
    char path[4096], w[16], nbuf[32];
    char *argv[16];
    int i = 0;

    snprintf(path, sizeof(path), "%s/%s", bin_dir(), program);
    snprintf(w, sizeof(w), "%ld", ranks);
    snprintf(nbuf, sizeof(nbuf), "%lld", n);
    argv[i++] = path;
    if (one_word) {
        argv[i++] = (char *)"--mode=mpi";
    } else {
        argv[i++] = (char *)"--mode";
        argv[i++] = (char *)"mpi";
    }
    argv[i++] = (char *)"--workers";
    argv[i++] = w;
    argv[i++] = (char *)"--n";
    argv[i++] = nbuf;
    if (variant) {
        argv[i++] = (char *)"--variant";
        argv[i++] = (char *)variant;
    }
    argv[i++] = (char *)"--format";
    argv[i++] = (char *)"csv";
    argv[i++] = (char *)"--repeat";
    argv[i++] = (char *)"2";
    argv[i] = NULL;
    run_cmd(&r, argv, NULL);
    check_records(&r, program, variant ? variant : "static", ranks, n, want);
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
    struct record recs[4];
    const char *args[] = { "-n", "1", "--startup", "--repeat", "1",
                           "--format", "csv", NULL };

    run_wrapper(&r, args);
    ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.err);
    /* No CPU times: the records end at check. */
    ck_assert_int_eq(records_parse_cols(r.out, COL_USER, recs, 4), 2);
    ck_assert_str_eq(recs[0].col[COL_BENCH], "mpirun");
    ck_assert_str_eq(recs[0].col[COL_VARIANT], "launch");
    ck_assert_str_eq(recs[1].col[COL_VARIANT], "startup");
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(recs[i].col[COL_LANG], "c");
        ck_assert_int_eq(atol(recs[i].col[COL_WORKERS]), 1);
        ck_assert_str_eq(recs[i].col[COL_CHECK], "ok");
        ck_assert(atof(recs[i].col[COL_KERNEL]) > 0);
    }
}
END_TEST

START_TEST(main_primes_mode_mpi_counts_right_on_1_2_3_ranks)
{
    check_main_run("primes", false, NULL, _i + 1, 100000, 9592);
}
END_TEST

START_TEST(main_sum_mode_mpi_adds_right_on_1_2_3_ranks)
{
    check_main_run("sum", false, NULL, _i + 1, 100000, values_sum(100000));
}
END_TEST

START_TEST(main_mode_mpi_passes_the_variant_on)
{
    check_main_run("primes", true, "dynamic", 3, 100000, 9592);
    check_main_run("sum", true, "local", 2, 1000003, values_sum(1000003));
}
END_TEST

START_TEST(main_mode_mpi_leaves_the_mpi_program_its_own_checks)
{
    static struct run r;
    char path[4096];
    /* 2 * 10^9 values pass sum's own --n range but not the MPI version's
     * (its message counts must fit an int): one complaint, from rank 0. */
    char *argv[] = { path, (char *)"--mode", (char *)"mpi",
                     (char *)"--workers", (char *)"2", (char *)"--n",
                     (char *)"2e9", NULL };
    const char *first;

    snprintf(path, sizeof(path), "%s/sum", bin_dir());
    run_cmd(&r, argv, NULL);
    ck_assert_int_eq(r.status, 2);
    first = strstr(r.err, "--n: 2e9 is out of range");
    ck_assert_msg(first != NULL, "no complaint in:\n%s", r.err);
    ck_assert_msg(strstr(first + 1, "--n: 2e9 is out of range") == NULL,
                  "complained more than once:\n%s", r.err);
    ck_assert_str_eq(r.out, "");
}
END_TEST

/* ---- no MPI needed ---------------------------------------------------- */

/* A temporary folder holding a copy of a main program (prog), optionally
 * a stand-in mpi/<name> beside it, and a bin/ folder with a stand-in
 * mpirun that prints each of its arguments on a line. */
struct fake {
    char dir[64];
    char prog[128];             /* dir/<name> */
    char mpi_prog[160];         /* dir/mpi/<name> */
    char path_env[128];         /* "PATH=dir/bin" */
};

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);

    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out;
    ssize_t k;

    ck_assert_msg(in >= 0, "%s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0755);
    ck_assert_msg(out >= 0, "%s: %s", to, strerror(errno));
    while ((k = read(in, buf, sizeof(buf))) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)k), k);
    ck_assert_int_eq(k, 0);
    close(in);
    close(out);
}

static void fake_make(struct fake *f, const char *name, bool mpi_prog)
{
    char src[4096], sub[160];

    snprintf(f->dir, sizeof(f->dir), "/tmp/test_mpi.XXXXXX");
    ck_assert_msg(mkdtemp(f->dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(src, sizeof(src), "%s/%s", bin_dir(), name);
    snprintf(f->prog, sizeof(f->prog), "%s/%s", f->dir, name);
    copy_file(src, f->prog);
    snprintf(f->mpi_prog, sizeof(f->mpi_prog), "%s/mpi/%s", f->dir, name);
    if (mpi_prog) {
        snprintf(sub, sizeof(sub), "%s/mpi", f->dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        write_file(f->mpi_prog, "#!/bin/sh\nexit 99\n", 0755);
    }
    snprintf(sub, sizeof(sub), "%s/bin", f->dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof(sub), "%s/bin/mpirun", f->dir);
    write_file(sub, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n", 0755);
    snprintf(f->path_env, sizeof(f->path_env), "PATH=%s/bin", f->dir);
}

static void fake_remove(struct fake *f)
{
    char p[160];

    unlink(f->prog);
    unlink(f->mpi_prog);
    snprintf(p, sizeof(p), "%s/mpi", f->dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/bin/mpirun", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/bin", f->dir);
    rmdir(p);
    rmdir(f->dir);
}

/* The arguments the program should give mpirun, one per line, for
 * --workers w and the program's own arguments args. */
static void expected_mpirun_args(char *buf, size_t size,
                                 const struct fake *f, const char *before,
                                 long w, const char *const *args)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t len;

    snprintf(buf, size, "%s%s%s-np\n%ld\n%s\n", before,
             geteuid() == 0 ? "--allow-run-as-root\n" : "",
             w > (cpus > 0 ? cpus : 1) ? "--oversubscribe\n" : "", w,
             f->mpi_prog);
    for (; *args; args++) {
        len = strlen(buf);
        snprintf(buf + len, size - len, "%s\n", *args);
    }
}

/* Runs f->prog with args and the given environment (PATH and more). */
static void run_fake(struct run *r, const struct fake *f,
                     const char *const *args, char *const envp[])
{
    char *argv[20];
    int i = 0;

    argv[i++] = (char *)f->prog;
    for (; *args && i < 19; args++)
        argv[i++] = (char *)*args;
    argv[i] = NULL;
    run_cmd(r, argv, envp);
}

START_TEST(mode_mpi_execs_mpirun_with_np_and_the_arguments)
{
    static const char *const progs[] = { "primes", "sum" };
    static struct run r;
    static char want[4096];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char wbuf[16];
    struct fake f;

    for (int i = 0; i < 2; i++) {
        /* 1 rank, as many as CPUs, one more (oversubscribed). */
        long ws[] = { 1, cpus, cpus + 1 };

        fake_make(&f, progs[i], true);
        for (int k = 0; k < 3; k++) {
            char *const envp[] = { f.path_env, NULL };
            const char *args[] = { "--mode", "mpi", "--workers", wbuf,
                                   "--n=1000", "--format", "csv", NULL };

            snprintf(wbuf, sizeof(wbuf), "%ld", ws[k]);
            run_fake(&r, &f, args, envp);
            ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.err);
            expected_mpirun_args(want, sizeof(want), &f, "", ws[k], args);
            ck_assert_str_eq(r.out, want);
            ck_assert_msg((strstr(r.err, "oversubscribed") != NULL) ==
                          (ws[k] > cpus), "note is wrong:\n%s", r.err);
        }
        fake_remove(&f);
    }
}
END_TEST

START_TEST(mode_mpi_defaults_to_one_rank_per_cpu)
{
    static struct run r;
    static char want[4096];
    struct fake f;
    char *const envp[] = { f.path_env, NULL };
    const char *args[] = { "--variant", "dynamic", "--mode=mpi", NULL };

    fake_make(&f, "primes", true);
    run_fake(&r, &f, args, envp);
    ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.err);
    expected_mpirun_args(want, sizeof(want), &f, "",
                         sysconf(_SC_NPROCESSORS_ONLN), args);
    ck_assert_str_eq(r.out, want);
    fake_remove(&f);
}
END_TEST

START_TEST(mode_mpi_honours_mpirun_and_mpirun_args)
{
    static struct run r;
    static char want[4096];
    struct fake f;
    char mpirun[128];
    /* No PATH at all: MPIRUN names the stand-in. */
    char *const envp[] = { mpirun,
                           (char *)"MPIRUN_ARGS= --bind-to  none\t-v ",
                           NULL };
    const char *args[] = { "--mode", "mpi", "--workers", "1", NULL };

    fake_make(&f, "sum", true);
    snprintf(mpirun, sizeof(mpirun), "MPIRUN=%s/bin/mpirun", f.dir);
    run_fake(&r, &f, args, envp);
    ck_assert_msg(r.status == 0, "exit %d:\n%s", r.status, r.err);
    expected_mpirun_args(want, sizeof(want), &f, "--bind-to\nnone\n-v\n",
                         1, args);
    ck_assert_str_eq(r.out, want);
    fake_remove(&f);
}
END_TEST

START_TEST(mode_mpi_without_mpirun_exits_127)
{
    static const char *const progs[] = { "primes", "sum" };
    static struct run r;
    struct fake f;
    char *const envp[] = { (char *)"PATH=/nonexistent", NULL };
    const char *args[] = { "--mode", "mpi", "--workers", "2", "--out", NULL,
                           NULL };
    char out[192];

    for (int i = 0; i < 2; i++) {
        fake_make(&f, progs[i], true);
        snprintf(out, sizeof(out), "%s/out.csv", f.dir);
        args[5] = out;
        run_fake(&r, &f, args, envp);
        ck_assert_int_eq(r.status, 127);
        ck_assert_msg(strstr(r.err, "mpirun not found") != NULL &&
                      strstr(r.err, "openmpi-bin") != NULL,
                      "unclear message:\n%s", r.err);
        ck_assert_str_eq(r.out, "");
        /* Nothing ran, so nothing is left behind. */
        ck_assert_msg(access(out, F_OK) != 0, "left %s behind", out);
        fake_remove(&f);
    }
}
END_TEST

START_TEST(mode_mpi_with_a_bad_mpirun_variable_exits_127)
{
    static struct run r;
    struct fake f;
    char *const envp[] = { (char *)"MPIRUN=/nonexistent/mpirun", NULL };
    const char *args[] = { "--mode", "mpi", NULL };

    fake_make(&f, "primes", true);
    run_fake(&r, &f, args, envp);
    ck_assert_int_eq(r.status, 127);
    ck_assert_msg(strstr(r.err, "/nonexistent/mpirun not found") &&
                  strstr(r.err, "MPIRUN"), "unclear message:\n%s", r.err);
    fake_remove(&f);
}
END_TEST

START_TEST(mode_mpi_without_the_mpi_program_exits_2)
{
    static const char *const progs[] = { "primes", "sum" };
    static struct run r;
    struct fake f;
    const char *args[] = { "--mode", "mpi", "--workers", "2", "--out", NULL,
                           NULL };
    char out[192];

    for (int i = 0; i < 2; i++) {
        char *const envp[] = { f.path_env, NULL };

        fake_make(&f, progs[i], false);
        snprintf(out, sizeof(out), "%s/out.csv", f.dir);
        args[5] = out;
        run_fake(&r, &f, args, envp);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "built without Open MPI") &&
                      strstr(r.err, "libopenmpi-dev") &&
                      strstr(r.err, f.mpi_prog),
                      "unclear message:\n%s", r.err);
        ck_assert_str_eq(r.out, "");
        ck_assert_msg(access(out, F_OK) != 0, "left %s behind", out);
        fake_remove(&f);
    }
}
END_TEST

START_TEST(mode_mpi_refuses_bad_workers_before_mpirun)
{
    static const char *const bad[] = { "0", "1025", "2x", "-1" };
    static struct run r;
    struct fake f;
    char *const envp[] = { f.path_env, NULL };

    fake_make(&f, "primes", true);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[] = { "--mode", "mpi", "--workers", bad[i], NULL };

        run_fake(&r, &f, args, envp);
        ck_assert_msg(r.status == 2, "--workers %s: exit %d", bad[i],
                      r.status);
        ck_assert_msg(strstr(r.err, "--workers") &&
                      strstr(r.err, "usage: "), "%s", r.err);
        /* The stand-in mpirun would have printed "-np". */
        ck_assert_str_eq(r.out, "");
    }
    fake_remove(&f);
}
END_TEST

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
        tcase_add_loop_test(run,
                            main_primes_mode_mpi_counts_right_on_1_2_3_ranks,
                            0, 3);
        tcase_add_loop_test(run, main_sum_mode_mpi_adds_right_on_1_2_3_ranks,
                            0, 3);
        tcase_add_test(run, main_mode_mpi_passes_the_variant_on);
        tcase_add_test(run,
                       main_mode_mpi_leaves_the_mpi_program_its_own_checks);
        suite_add_tcase(s, run);
    }
    tcase_set_timeout(wrap, MPI_TIMEOUT);
    tcase_add_test(wrap, missing_mpirun_is_explained);
    tcase_add_test(wrap, mpirun_variable_pointing_nowhere_is_explained);
    tcase_add_test(wrap, wrapper_rejects_a_bad_rank_count);
    tcase_add_test(wrap, mode_mpi_execs_mpirun_with_np_and_the_arguments);
    tcase_add_test(wrap, mode_mpi_defaults_to_one_rank_per_cpu);
    tcase_add_test(wrap, mode_mpi_honours_mpirun_and_mpirun_args);
    tcase_add_test(wrap, mode_mpi_without_mpirun_exits_127);
    tcase_add_test(wrap, mode_mpi_with_a_bad_mpirun_variable_exits_127);
    tcase_add_test(wrap, mode_mpi_without_the_mpi_program_exits_2);
    tcase_add_test(wrap, mode_mpi_refuses_bad_workers_before_mpirun);
    suite_add_tcase(s, wrap);
    return s;
}

int main(void)
{
    const char *skip;
    bool fail;

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
    return tests_run(mpi_suite(skip));
}
