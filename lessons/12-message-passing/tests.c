/*
 * tests.c - lesson 12's graded tests: mpcount.c on 1, 2 and 3 MPI ranks.
 *
 * How an MPI exercise is graded by a Check program: every test runs twice.
 *   - Run by the grader (not under mpirun), a test starts
 *     `mpirun -np R <this program> --only <the test>` for each rank count
 *     R it needs, and passes when every rank passed.
 *   - Run by mpirun (OMPI_COMM_WORLD_SIZE is set), the same test is one
 *     rank: it starts MPI, calls your function, collects every rank's
 *     answer and meter (kernel.h) on rank 0 with MPI_Gather, ends MPI, and
 *     only then asserts, on rank 0, so that a failed assertion never
 *     leaves the other ranks waiting.
 * mpirun's --timeout ends a run that deadlocks (a worker nobody tells to
 * stop, a receive that no send matches) and the test fails saying so.
 *
 * To watch one test by hand, on three ranks (as root, add
 * --allow-run-as-root), from the grader's build folder (grade.sh --keep):
 *     mpirun --oversubscribe -np 3 ./tests \
 *         --only dynamic_ends_with_fewer_chunks_than_workers
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grading.h"
#include "kernel.h"
#include "mpcount.h"

/* Seconds mpirun lets one run take before it ends the job: far above what
 * a correct solution needs (well under a second), short enough that a
 * deadlock costs little.  The test's own timeout is above 3 of these. */
#define MPIRUN_TIMEOUT 20

/* The most ranks a test uses. */
#define MAX_RANKS 3

/* Known counts of primes below n (pi(n - 1)), for the answers. */
#define PRIMES_BELOW_1000 168
#define PRIMES_BELOW_100000 9592
#define PRIMES_BELOW_300000 25997
#define PRIMES_BELOW_2000000 148933

/* ---- the grader's side: run a test on R ranks ------------------------- */

static bool in_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL;
}

/* The first failure the ranks reported (the message line under
 * grading.c's "FAIL" line), or else the end of the output, into msg. */
static void failure_of(const char *out, char *msg, size_t size)
{
    const char *f = strstr(out, "  FAIL "), *end;
    size_t len = strlen(out);

    if (f == NULL || (f = strchr(f, '\n')) == NULL) {
        snprintf(msg, size, "%.600s", len > 600 ? out + len - 600 : out);
        return;
    }
    f += strspn(f, " \n");
    end = strchr(f, '\n');
    snprintf(msg, size, "%.*s", end ? (int)(end - f) : (int)strlen(f), f);
}

/*
 * Runs the test `name` on `ranks` ranks under mpirun and fails (with what
 * the ranks reported) unless every rank passed.
 */
static void run_on_ranks(const char *name, int ranks)
{
    static char out[16384], msg[1024];
    char exe[PATH_MAX], np[16], timeout[16];
    char *argv[16];
    int fd, st, k = 0;
    ssize_t len;
    size_t got = 0;
    pid_t pid;
    FILE *tmp = tmpfile();

    ck_assert_msg(tmp != NULL, "tmpfile: %s", strerror(errno));
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    ck_assert_msg(len > 0, "readlink /proc/self/exe: %s", strerror(errno));
    exe[len] = '\0';
    snprintf(np, sizeof(np), "%d", ranks);
    snprintf(timeout, sizeof(timeout), "%d", MPIRUN_TIMEOUT);
    argv[k++] = (char *)"mpirun";
    if (geteuid() == 0)     /* Open MPI refuses root without this */
        argv[k++] = (char *)"--allow-run-as-root";
    argv[k++] = (char *)"--oversubscribe";  /* 3 ranks on 2 CPUs is fine */
    argv[k++] = (char *)"--timeout";
    argv[k++] = timeout;
    argv[k++] = (char *)"-np";
    argv[k++] = np;
    argv[k++] = exe;
    argv[k++] = (char *)"--only";
    argv[k++] = (char *)name;
    argv[k] = NULL;

    fd = fileno(tmp);
    fflush(NULL);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        printf("mpirun not found (%s): install Open MPI with "
               "scripts/setup.sh\n", strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    rewind(tmp);
    got = fread(out, 1, sizeof(out) - 1, tmp);
    out[got] = '\0';
    fclose(tmp);

    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return;
    if (strstr(out, "time limit") != NULL)
        ck_abort_msg("on %d rank%s: still running after %d s: a "
                     "deadlock? (a worker never told to stop, or a receive "
                     "that no send matches)", ranks, ranks == 1 ? "" : "s",
                     MPIRUN_TIMEOUT);
    failure_of(out, msg, sizeof(msg));
    ck_abort_msg("on %d rank%s: %s", ranks, ranks == 1 ? "" : "s", msg);
}

/* The test's name: Check names its function NAME_fn. */
static void run_self(const char *fn, int lo, int hi)
{
    char name[128];
    size_t len = strlen(fn);

    snprintf(name, sizeof(name), "%.*s", (int)(len > 3 ? len - 3 : len),
             fn);
    for (int r = lo; r <= hi; r++)
        run_on_ranks(name, r);
}

/* In a test body: when not under mpirun, run this very test on ranks lo
 * to hi and stop here; under mpirun, go on as one rank. */
#define ON_RANKS(lo, hi)                    \
    do {                                    \
        if (!in_mpirun()) {                 \
            run_self(__func__, (lo), (hi)); \
            return;                         \
        }                                   \
    } while (0)

/* ---- the rank's side -------------------------------------------------- */

struct job {
    int rank, size;
    uint64_t counted[MAX_RANKS];    /* each rank's meter, on rank 0 */
    uint64_t summed[MAX_RANKS];
};

static void job_start(struct job *j)
{
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &j->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &j->size);
    if (j->size > MAX_RANKS)
        MPI_Abort(MPI_COMM_WORLD, 2);
    kernel_reset();
}

/* Gathers the meters on rank 0 and ends MPI.  Returns true on rank 0, the
 * rank that asserts. */
static bool job_end(struct job *j)
{
    uint64_t c = kernel_counted(), s = kernel_summed();

    MPI_Gather(&c, 1, MPI_UINT64_T, j->counted, 1, MPI_UINT64_T, 0,
               MPI_COMM_WORLD);
    MPI_Gather(&s, 1, MPI_UINT64_T, j->summed, 1, MPI_UINT64_T, 0,
               MPI_COMM_WORLD);
    MPI_Finalize();
    return j->rank == 0;
}

/* Round robin: how many of [0, n) rank r of `size` counts, in chunks. */
static uint64_t round_robin_share(uint64_t n, uint64_t chunk, int r,
                                  int size)
{
    uint64_t share = 0;

    for (uint64_t a = (uint64_t)r * chunk; a < n;
         a += (uint64_t)size * chunk)
        share += n - a > chunk ? chunk : n - a;
    return share;
}

/* ---- static ----------------------------------------------------------- */

START_TEST(static_counts_primes_on_1_rank)
{
    struct job j;
    uint64_t got;

    ON_RANKS(1, 1);
    job_start(&j);
    got = mp_count_static(100000, 1000, MPI_COMM_WORLD);
    if (job_end(&j))
        ck_assert_msg(got == PRIMES_BELOW_100000,
                      "counted %llu primes below 100000, not %d",
                      (unsigned long long)got, PRIMES_BELOW_100000);
}
END_TEST

START_TEST(static_counts_primes_on_2_and_3_ranks)
{
    struct job j;
    uint64_t got;

    ON_RANKS(2, 3);
    job_start(&j);
    got = mp_count_static(100000, 777, MPI_COMM_WORLD);
    if (job_end(&j))
        ck_assert_msg(got == PRIMES_BELOW_100000,
                      "%d ranks counted %llu primes below 100000, not %d "
                      "(is the MPI_Reduce there?)", j.size,
                      (unsigned long long)got, PRIMES_BELOW_100000);
}
END_TEST

START_TEST(static_deals_chunks_round_robin)
{
    struct job j;
    uint64_t got;

    ON_RANKS(2, 3);
    job_start(&j);
    got = mp_count_static(100000, 777, MPI_COMM_WORLD);
    if (!job_end(&j))
        return;
    ck_assert_msg(got == PRIMES_BELOW_100000, "wrong total %llu",
                  (unsigned long long)got);
    for (int r = 0; r < j.size; r++) {
        uint64_t want = round_robin_share(100000, 777, r, j.size);

        ck_assert_msg(j.counted[r] == want,
                      "rank %d of %d counted %llu numbers; its round-robin "
                      "chunks hold %llu", r, j.size,
                      (unsigned long long)j.counted[r],
                      (unsigned long long)want);
    }
}
END_TEST

/* ---- dynamic ---------------------------------------------------------- */

START_TEST(dynamic_counts_primes_on_1_2_3_ranks)
{
    struct job j;
    uint64_t got;

    ON_RANKS(1, 3);
    job_start(&j);
    got = mp_count_dynamic(100000, 1000, MPI_COMM_WORLD);
    if (job_end(&j))
        ck_assert_msg(got == PRIMES_BELOW_100000,
                      "%d ranks counted %llu primes below 100000, not %d",
                      j.size, (unsigned long long)got, PRIMES_BELOW_100000);
}
END_TEST

START_TEST(dynamic_ends_with_fewer_chunks_than_workers)
{
    struct job j;
    uint64_t got;

    ON_RANKS(2, 3);
    job_start(&j);
    /* One chunk for up to two workers: every worker must still get its
     * "stop", or the call never returns. */
    got = mp_count_dynamic(1000, 5000, MPI_COMM_WORLD);
    if (job_end(&j))
        ck_assert_msg(got == PRIMES_BELOW_1000,
                      "one chunk of 1000 on %d ranks: %llu primes, not %d",
                      j.size, (unsigned long long)got, PRIMES_BELOW_1000);
}
END_TEST

START_TEST(dynamic_can_be_called_again_and_again)
{
    struct job j;
    uint64_t first, none, second;

    ON_RANKS(3, 3);
    job_start(&j);
    /* Two very uneven chunks, 299000 numbers and 1000, for two workers:
     * the one with the small chunk leaves the first call early and asks
     * for work of the second call while the manager still waits for the
     * other worker's last request of the first.  The two calls' messages
     * must not mix (README, hint 4).  Then a call with nothing to count,
     * and one with many small chunks. */
    first = mp_count_dynamic(300000, 299000, MPI_COMM_WORLD);
    none = mp_count_dynamic(0, 10, MPI_COMM_WORLD);
    second = mp_count_dynamic(2000, 7, MPI_COMM_WORLD);
    if (!job_end(&j))
        return;
    ck_assert_msg(first == PRIMES_BELOW_300000, "first call: %llu primes "
                  "below 300000, not %d", (unsigned long long)first,
                  PRIMES_BELOW_300000);
    ck_assert_msg(none == 0, "n = 0: %llu primes", (unsigned long long)none);
    ck_assert_msg(second == 303, "second call: %llu primes below 2000, "
                  "not 303", (unsigned long long)second);
}
END_TEST

START_TEST(dynamic_deals_every_number_exactly_once)
{
    struct job j;
    uint64_t got, all = 0, workers = 0;

    ON_RANKS(3, 3);
    job_start(&j);
    /* 100 chunks of 20000: enough work that both workers get some. */
    got = mp_count_dynamic(2000000, 20000, MPI_COMM_WORLD);
    if (!job_end(&j))
        return;
    ck_assert_msg(got == PRIMES_BELOW_2000000,
                  "counted %llu primes below 2000000, not %d",
                  (unsigned long long)got, PRIMES_BELOW_2000000);
    for (int r = 0; r < j.size; r++) {
        all += j.counted[r];
        if (r > 0)
            workers += j.counted[r];
    }
    ck_assert_msg(all == 2000000, "the ranks went through %llu numbers in "
                  "all, not 2000000: some twice, or some never",
                  (unsigned long long)all);
    ck_assert_msg(workers > 0, "the workers counted nothing: the chunks "
                  "must go to them in TAG_WORK messages");
}
END_TEST

START_TEST(dynamic_survives_chunks_of_one)
{
    struct job j;
    uint64_t got;

    ON_RANKS(3, 3);
    job_start(&j);
    /* 2000 requests and answers: a message lost or answered twice shows. */
    got = mp_count_dynamic(2000, 1, MPI_COMM_WORLD);
    if (job_end(&j)) {
        ck_assert_msg(got == 303, "chunks of 1: %llu primes below 2000, "
                      "not 303", (unsigned long long)got);
        ck_assert_msg(j.counted[0] + j.counted[1] + j.counted[2] == 2000,
                      "%llu numbers counted, not 2000",
                      (unsigned long long)(j.counted[0] + j.counted[1] +
                                           j.counted[2]));
    }
}
END_TEST

/* ---- the sum: data that has to travel --------------------------------- */

/* Rank 0's array of n values (value_at), or NULL on other ranks. */
static int64_t *make_values(const struct job *j, uint64_t n)
{
    int64_t *a;

    if (j->rank != 0)
        return NULL;
    a = malloc((n > 0 ? n : 1) * sizeof(*a));
    if (a == NULL)
        MPI_Abort(MPI_COMM_WORLD, 2);
    for (uint64_t i = 0; i < n; i++)
        a[i] = value_at(i);
    return a;
}

static int64_t values_total(uint64_t n)
{
    int64_t t = 0;

    for (uint64_t i = 0; i < n; i++)
        t += value_at(i);
    return t;
}

START_TEST(sum_scatter_adds_up_on_1_2_3_ranks)
{
    struct job j;
    int64_t *a, got;

    ON_RANKS(1, 3);
    job_start(&j);
    a = make_values(&j, 100003);
    got = mp_sum_scatter(a, 100003, MPI_COMM_WORLD);
    free(a);
    if (job_end(&j))
        ck_assert_msg(got == values_total(100003),
                      "%d ranks: sum %lld, not %lld", j.size,
                      (long long)got, (long long)values_total(100003));
}
END_TEST

START_TEST(sum_scatter_sends_each_rank_its_block)
{
    struct job j;
    int64_t *a, got;

    ON_RANKS(2, 3);
    job_start(&j);
    a = make_values(&j, 100003);
    got = mp_sum_scatter(a, 100003, MPI_COMM_WORLD);
    free(a);
    if (!job_end(&j))
        return;
    ck_assert_msg(got == values_total(100003), "wrong sum %lld",
                  (long long)got);
    for (int r = 0; r < j.size; r++) {
        uint64_t want = 100003 * (uint64_t)(r + 1) / (uint64_t)j.size -
                        100003 * (uint64_t)r / (uint64_t)j.size;

        ck_assert_msg(j.summed[r] == want,
                      "rank %d of %d added %llu values; its block "
                      "holds %llu", r, j.size,
                      (unsigned long long)j.summed[r],
                      (unsigned long long)want);
    }
}
END_TEST

START_TEST(sum_scatter_with_fewer_values_than_ranks)
{
    struct job j;
    int64_t *a, got;

    ON_RANKS(3, 3);
    job_start(&j);
    /* Two values for three ranks: one block is empty. */
    a = make_values(&j, 2);
    got = mp_sum_scatter(a, 2, MPI_COMM_WORLD);
    free(a);
    if (job_end(&j))
        ck_assert_msg(got == values_total(2), "two values: sum %lld, not "
                      "%lld", (long long)got, (long long)values_total(2));
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(static_counts_primes_on_1_rank, 1, 0, 70),
    GRADE_TEST_TIMEOUT(static_counts_primes_on_2_and_3_ranks, 2, 0, 70),
    GRADE_TEST_TIMEOUT(static_deals_chunks_round_robin, 2, 0, 70),
    GRADE_TEST_TIMEOUT(dynamic_counts_primes_on_1_2_3_ranks, 2, 0, 70),
    GRADE_TEST_TIMEOUT(dynamic_ends_with_fewer_chunks_than_workers, 2, 0, 70),
    GRADE_TEST_TIMEOUT(dynamic_can_be_called_again_and_again, 2, 0, 70),
    GRADE_TEST_TIMEOUT(dynamic_deals_every_number_exactly_once, 2, 0, 70),
    GRADE_TEST_TIMEOUT(dynamic_survives_chunks_of_one, 1, 0, 70),
    GRADE_TEST_TIMEOUT(sum_scatter_adds_up_on_1_2_3_ranks, 2, 0, 70),
    GRADE_TEST_TIMEOUT(sum_scatter_sends_each_rank_its_block, 2, 0, 70),
    GRADE_TEST_TIMEOUT(sum_scatter_with_fewer_values_than_ranks, 1, 0, 70),
};
GRADE_MAIN(tests)
