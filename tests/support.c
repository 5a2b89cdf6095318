/*
 * support.c - what the tests share (see support.h): one runner, one
 * reading of POOLBENCH_SLOW, one way to run a program and capture it, one
 * reader of the benchmarks' records, the thread and descriptor counters,
 * and the gate.
 *
 * Running a program.  The program starts with posix_spawnp, its stdout and
 * stderr going to two temporary files that are unlinked at once (so
 * nothing is left in /tmp, whatever happens to the test).  Files, not
 * pipes: with pipes the test would have to keep reading both while it
 * waits, or a program that fills one would block for ever; with files the
 * test may start a program, do something else (kill a host under it) and
 * only then wait.  The price: output that a grandchild writes after the
 * program has exited is not waited for.
 *
 * A limit is kept by looking every 10 ms whether the program has ended;
 * past the limit its whole process group is killed.  The sleep is a test's
 * convenience, not a way to wait for a state: the program's end is seen
 * by waitpid, the sleep only paces the look.
 *
 * Not here: what a test checks in a record (each test knows its own
 * answers), and anything that needs _GNU_SOURCE (gettid stays in
 * test_faults_tp.c).
 */
#include "support.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int tests_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

bool tests_slow(void)
{
    const char *s = getenv("POOLBENCH_SLOW");

    return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

/* ---- Running a program ----------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An unlinked temporary file, closed on exec (the program gets it only as
 * its stdout or stderr, through dup2, which clears the flag). */
static int temp_fd(void)
{
    char name[] = "/tmp/poolbench-run.XXXXXX";
    int fd = mkstemp(name);

    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(name);
    ck_assert_int_eq(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    return fd;
}

void child_start(struct child *c, char *const argv[], char *const envp[],
                 double limit_s)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc;

    c->out = temp_fd();
    c->err = temp_fd();
    c->deadline = limit_s > 0 ? now_s() + limit_s : 0;
    ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
    ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, c->out, 1), 0);
    ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, c->err, 2), 0);
    ck_assert_int_eq(posix_spawnattr_init(&attr), 0);
    if (limit_s > 0) {
        /* Group 0: a new group whose id is the child's pid, set before
         * the exec, so there is no moment when a kill could miss it. */
        ck_assert_int_eq(posix_spawnattr_setpgroup(&attr, 0), 0);
        ck_assert_int_eq(posix_spawnattr_setflags(&attr,
                                                  POSIX_SPAWN_SETPGROUP), 0);
    }
    /* What stdio holds would otherwise be written twice if the spawn
     * falls back to fork. */
    fflush(NULL);
    rc = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv,
                      envp ? envp : environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
}

void child_finish(struct child *c, struct run *r)
{
    pid_t got;
    int st = 0;

    if (c->deadline > 0) {
        while ((got = waitpid(c->pid, &st, WNOHANG)) == 0 &&
               now_s() < c->deadline)
            sleep_ms(10);
        if (got == 0) {
            kill(-c->pid, SIGKILL);
            while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
                ;
        }
    } else {
        while ((got = waitpid(c->pid, &st, 0)) < 0)
            ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = slurp(c->out);
    r->err = slurp(c->err);
    close(c->out);
    close(c->err);
    ck_assert_msg(got != 0, "still running after its limit: killed\n%s",
                  r->err);
}

void run_argv(struct run *r, char *const argv[], char *const envp[])
{
    struct child c;

    child_start(&c, argv, envp, 0);
    child_finish(&c, r);
}

void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

const char *bin_dir(void)
{
    const char *b = getenv("POOLBENCH_BIN");

    return b && *b ? b : "build/release/bin";
}

char *slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t k;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    for (;;) {
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        k = read(fd, buf + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        ck_assert_msg(k >= 0, "read: %s", strerror(errno));
        if (k == 0)
            break;
        len += (size_t)k;
    }
    buf[len] = '\0';
    return buf;
}

const char *mpi_skip_reason(bool *fail)
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

/* ---- The benchmarks' records ------------------------------------------ */

/* The length of the first ncols names of RECORD_HEADER, commas between. */
static size_t header_len(int ncols)
{
    const char *p = RECORD_HEADER;

    for (int c = 0; c < ncols; c++)
        p += strcspn(p, ",") + (c < ncols - 1);
    return (size_t)(p - RECORD_HEADER);
}

int records_parse_cols(const char *text, int ncols, struct record *recs,
                       int max)
{
    const char *line = text, *end;
    size_t hlen;
    int n = 0;

    ck_assert_msg(ncols >= 1 && ncols <= RECORD_NCOLS, "ncols %d", ncols);
    hlen = header_len(ncols);
    end = strchr(line, '\n');
    ck_assert_msg(end != NULL, "no header line in: %s", text);
    ck_assert_msg((size_t)(end - line) == hlen &&
                  strncmp(line, RECORD_HEADER, hlen) == 0,
                  "bad CSV header in: %s", text);
    for (line = end + 1; *line; line = end + 1) {
        const char *p = line;

        end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "unterminated line: %s", line);
        ck_assert_int_lt(n, max);
        memset(&recs[n], 0, sizeof(recs[n]));
        for (int c = 0; c < ncols; c++) {
            size_t len = strcspn(p, ",\n");

            ck_assert_msg(len > 0 && len < sizeof(recs[n].col[c]),
                          "bad column %d in: %.*s", c, (int)(end - line),
                          line);
            memcpy(recs[n].col[c], p, len);
            recs[n].col[c][len] = '\0';
            p += len;
            if (c < ncols - 1) {
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

int records_parse(const char *text, struct record *recs, int max)
{
    return records_parse_cols(text, RECORD_NCOLS, recs, max);
}

/* ---- Threads, descriptors, time ---------------------------------------- */

int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    const struct dirent *e;
    int n = 0;

    ck_assert_msg(d != NULL, "%s: %s", path, strerror(errno));
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

int thread_count(void)
{
    return dir_entries("/proc/self/task");
}

int fd_count(void)
{
    return dir_entries("/proc/self/fd");
}

void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- A gate for thread-pool tasks ------------------------------------ */

/* No ck_assert here: test_faults_tp counts the allocations a pool call
 * makes, and a passing assertion allocates too. */
void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = false;
    g->arrived = 0;
}

void gate_release(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->lock);
}

void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void gate_await(struct gate *g, int n)
{
    pthread_mutex_lock(&g->lock);
    while (g->arrived < n)
        pthread_cond_wait(&g->cv, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->lock);
}
