/*
 * test_mpi_hosts.c - the Open MPI programs across a host boundary, on the
 * namespace hosts of scripts/mpi-hosts.sh: every variant of primes and sum
 * gives the right answer with its ranks on 2 and on 3 hosts; a host that
 * dies fails the job with a clear message and leaves no process behind; a
 * run past its time limit is stopped; and the rig is taken down whatever
 * happens, up to every namespace it made.
 *
 * The two rigs the runs share (2 and 3 hosts) are made by an unchecked
 * fixture, which runs in Check's own process before the tests and after
 * them, so that even a test that crashed or timed out cannot leave a rig
 * behind: its teardown still runs.  The rigs survive what the tests do to
 * them (a crashed host keeps its namespace and its cable; only its
 * processes are gone), so the tests do not depend on each other.  The
 * last test case checks that the rigs are gone.
 *
 * Every wait is bounded: each mpirun gets `run --timeout`, and each child
 * this file starts is waited for with a deadline and killed (its whole
 * process group) past it, so a hang fails a test and never the suite.
 *
 * When the runs are skipped, and why (the reason is printed): not root, no
 * ip(8), no network namespaces (a container without CAP_SYS_ADMIN) -
 * scripts/mpi-hosts.sh check says which - no mpirun, or a sanitizer or
 * valgrind build, where the MPI programs are not built (Open MPI itself is
 * not clean under them).  With mpicc there and a plain build, missing MPI
 * programs are a failure, as in test_mpi.c.  The script's own messages for
 * "not root" and "no ip" are tested in every build.
 *
 * Environment: POOLBENCH_BIN, the build's bin folder (make test sets it;
 * default build/release/bin).  Run from the top of the tree, as make does.
 */
#include "support.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RIG "scripts/mpi-hosts.sh"

/* Seconds each mpirun may take (`run --timeout`): a run here takes about
 * a second; the limit only turns a hang into a failure. */
#define RUN_LIMIT "60"

/* Seconds a test waits for a command it started, past RUN_LIMIT and the
 * 5 s that `timeout -k 5` adds before its SIGKILL. */
#define WAIT_LIMIT 90

/* Check's limit per test: a few runs each. */
#define TEST_TIMEOUT 300

/* The most hosts a test rig has, and the longest namespace name. */
#define MAX_HOSTS 3
#define NAME_MAX_LEN 64

/* A rig made by `mpi-hosts.sh up`: its folder and its namespaces. */
struct rig {
    char dir[256];
    int hosts;
    char sw[NAME_MAX_LEN];                  /* the switch */
    char host[MAX_HOSTS][NAME_MAX_LEN];     /* host k + 1 */
};

/* Made by the unchecked fixture, in Check's process, before the forks. */
static struct rig rig2, rig3;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs scripts/mpi-hosts.sh with args (NULL-terminated, at most 30) into
 * r, within WAIT_LIMIT.  r is static where it is used, zero at the start;
 * each run first frees what the last one left.
 */
static void rig_cmd(struct run *r, const char *const *args)
{
    char *argv[34];
    int i = 0;
    struct child c;

    argv[i++] = (char *)"/bin/bash";
    argv[i++] = (char *)RIG;
    for (; *args && i < 33; args++)
        argv[i++] = (char *)*args;
    argv[i] = NULL;
    run_free(r);
    child_start(&c, argv, NULL, WAIT_LIMIT);
    child_finish(&c, r);
}

static bool ns_exists(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "/run/netns/%s", name);
    return access(path, F_OK) == 0;
}

/* The pids in namespace ns, as `ip netns pids` lists them, into buf. */
static void ns_pids(const char *ns, char *buf, size_t size)
{
    char cmd[160];
    FILE *p;
    size_t len;

    snprintf(cmd, sizeof(cmd), "ip netns pids %s 2>/dev/null", ns);
    p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen: %s", strerror(errno));
    len = fread(buf, 1, size - 1, p);
    buf[len] = '\0';
    pclose(p);
}

/* Does namespace ns hold a process whose command name is comm? */
static bool ns_runs(const char *ns, const char *comm)
{
    char pids[4096], path[64], name[64];
    char *save = NULL;

    ns_pids(ns, pids, sizeof(pids));
    for (char *pid = strtok_r(pids, "\n", &save); pid;
         pid = strtok_r(NULL, "\n", &save)) {
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%s/comm", pid);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(name, sizeof(name), f)) {
            name[strcspn(name, "\n")] = '\0';
            if (strcmp(name, comm) == 0) {
                fclose(f);
                return true;
            }
        }
        fclose(f);
    }
    return false;
}

/* Waits (at most `limit` seconds) until none of the rig's namespaces
 * holds a process; fails the test naming what is left. */
static void assert_rig_empty(const struct rig *g, double limit)
{
    char pids[4096] = "";
    const char *left = NULL;
    double end = now() + limit;

    do {
        left = NULL;
        for (int k = 0; k <= g->hosts && !left; k++) {
            const char *ns = k < g->hosts ? g->host[k] : g->sw;

            ns_pids(ns, pids, sizeof(pids));
            if (pids[0])
                left = ns;
        }
        if (left)
            sleep_ms(50);
    } while (left && now() < end);
    ck_assert_msg(left == NULL, "processes left in %s: %s", left, pids);
}

/* Reads the rig's names file into *g. */
static void read_names(struct rig *g)
{
    char path[300], kind[16], name[NAME_MAX_LEN], addr[32];
    FILE *f;
    int k;

    snprintf(path, sizeof(path), "%s/names", g->dir);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    g->hosts = 0;
    g->sw[0] = '\0';
    while (fscanf(f, "%15s %63s", kind, name) == 2) {
        if (strcmp(kind, "switch") == 0) {
            snprintf(g->sw, sizeof(g->sw), "%s", name);
            continue;
        }
        ck_assert_int_eq(fscanf(f, "%31s", addr), 1);
        ck_assert_msg(sscanf(addr, "10.231.0.%d", &k) == 1 && k >= 1 &&
                      k <= MAX_HOSTS, "bad address %s", addr);
        snprintf(g->host[k - 1], sizeof(g->host[0]), "%s", name);
        g->hosts = g->hosts > k ? g->hosts : k;
    }
    fclose(f);
    ck_assert_msg(g->sw[0] != '\0', "no switch in %s", path);
}

/* Makes a rig of `hosts` hosts (in dir when not NULL).  Returns NULL, or
 * what went wrong (and then nothing was made). */
static const char *rig_make(struct rig *g, int hosts, const char *dir)
{
    static struct run r;
    static char why[4096];
    char n[8];
    const char *args[] = { "up", n, dir ? "--dir" : NULL, dir, NULL };

    snprintf(n, sizeof(n), "%d", hosts);
    rig_cmd(&r, args);
    if (r.status != 0) {
        snprintf(why, sizeof(why), "up %d: exit %d\n%s", hosts, r.status,
                 r.err);
        return why;
    }
    r.out[strcspn(r.out, "\n")] = '\0';
    ck_assert_msg(r.out[0] == '/' && strlen(r.out) < sizeof(g->dir),
                  "up printed no folder: '%s'", r.out);
    memcpy(g->dir, r.out, strlen(r.out) + 1);
    read_names(g);
    ck_assert_int_eq(g->hosts, hosts);
    return NULL;
}

static void rig_up(struct rig *g, int hosts, const char *dir)
{
    const char *why = rig_make(g, hosts, dir);

    ck_assert_msg(why == NULL, "%s", why);
}

/* Takes a rig down and checks that nothing of it is left. */
static void rig_down(struct rig *g)
{
    static struct run r;
    const char *args[] = { "down", g->dir, NULL };

    rig_cmd(&r, args);
    ck_assert_msg(r.status == 0, "down: exit %d\n%s", r.status, r.err);
    ck_assert_msg(!ns_exists(g->sw), "%s is still there", g->sw);
    for (int k = 0; k < g->hosts; k++)
        ck_assert_msg(!ns_exists(g->host[k]), "%s is still there",
                      g->host[k]);
    ck_assert_msg(access(g->dir, F_OK) != 0, "%s is still there", g->dir);
}

/* ---- the records --------------------------------------------------- */

/* The sum workload's total, value by value: value i is (i * 40503) mod
 * 2^16 (benchmarks/lib/workloads.h, wl_value); the program checks itself
 * against a closed form. */
static long long values_sum(long long n)
{
    long long sum = 0;

    for (long long i = 0; i < n; i++)
        sum += (long long)(((uint64_t)i * 40503u) & 0xffffu);
    return sum;
}

/* The programs and variants, one loop test iteration each. */
static const struct {
    const char *program, *variant, *chunk;
} runs[] = {
    { "primes", "static", NULL },
    { "primes", "dynamic", "777" },     /* many requests and answers */
    { "sum", "static", NULL },          /* one block per rank */
    { "sum", "static", "9973" },        /* rounds of scatters */
    { "sum", "dynamic", NULL },
    { "sum", "local", NULL },
};
#define NRUNS ((int)(sizeof(runs) / sizeof(runs[0])))

/* pi(10^5) is a known constant; 3 * 10^5 values of sum are 2.4 MB. */
#define PRIMES_N "100000"
#define PRIMES_WANT "9592"
#define SUM_N 300000LL

/*
 * Runs runs[i] with one rank on each host of g, --repeat 2 (and
 * --transfer for sum), and checks: exit 0, two records (four for sum),
 * variant V+Hhosts (Open MPI placed the ranks on H machines), the answer
 * worked out here, check ok; for sum's "+moved" records, that the bytes
 * rank 0 sent all arrived, and that static and dynamic moved some.
 */
static void check_on_hosts(const struct rig *g, int i)
{
    static struct run r;
    char np[8], prog[4096], nbuf[32], want[32], vwant[48], mwant[64];
    struct record recs[8];
    bool sum = strcmp(runs[i].program, "sum") == 0;
    const char *args[30] = { "run", g->dir, "--timeout", RUN_LIMIT, "--",
                             "-np", np, prog, "--n", nbuf, "--variant",
                             runs[i].variant, "--format", "csv",
                             "--repeat", "2" };
    int a = 16, count;

    snprintf(np, sizeof(np), "%d", g->hosts);
    snprintf(prog, sizeof(prog), "%s/mpi/%s", bin_dir(), runs[i].program);
    if (sum) {
        snprintf(nbuf, sizeof(nbuf), "%lld", SUM_N);
        snprintf(want, sizeof(want), "%lld", values_sum(SUM_N));
        args[a++] = "--transfer";
    } else {
        snprintf(nbuf, sizeof(nbuf), "%s", PRIMES_N);
        snprintf(want, sizeof(want), "%s", PRIMES_WANT);
    }
    if (runs[i].chunk) {
        args[a++] = "--chunk";
        args[a++] = runs[i].chunk;
    }
    args[a] = NULL;
    rig_cmd(&r, args);
    ck_assert_msg(r.status == 0, "%s %s on %d hosts: exit %d\n%s",
                  runs[i].program, runs[i].variant, g->hosts, r.status,
                  r.err);
    count = records_parse(r.out, recs, 8);
    ck_assert_int_eq(count, sum ? 4 : 2);
    snprintf(vwant, sizeof(vwant), "%s+%dhosts", runs[i].variant, g->hosts);
    snprintf(mwant, sizeof(mwant), "%s+moved", vwant);
    for (int k = 0; k < count; k++) {
        const struct record *x = &recs[k];
        bool moved = sum && k % 2 == 1;
        long long n = atoll(x->col[COL_N]);

        ck_assert_str_eq(x->col[COL_BENCH], runs[i].program);
        ck_assert_str_eq(x->col[COL_LANG], "c");
        ck_assert_str_eq(x->col[COL_MODE], "mpi");
        ck_assert_int_eq(atol(x->col[COL_WORKERS]), g->hosts);
        ck_assert_str_eq(x->col[COL_CHECK], "ok");
        ck_assert_str_eq(x->col[COL_RESULT], x->col[COL_EXPECTED]);
        if (!moved) {
            ck_assert_str_eq(x->col[COL_VARIANT], vwant);
            ck_assert_str_eq(x->col[COL_RESULT], want);
            continue;
        }
        ck_assert_str_eq(x->col[COL_VARIANT], mwant);
        /* n of a "+moved" record: the bytes rank 0 sent. */
        if (strcmp(runs[i].variant, "local") == 0)
            ck_assert_int_eq(n, 0);
        else if (strcmp(runs[i].variant, "static") == 0)
            ck_assert_int_gt(n, 0);
        /* dynamic: the manager may have summed everything itself before
         * a worker's first request came over TCP. */
        ck_assert_int_eq(n % 8, 0);
        ck_assert_int_le(n, SUM_N * 8);
    }
}

START_TEST(every_variant_answers_right_on_2_hosts)
{
    check_on_hosts(&rig2, _i);
}
END_TEST

START_TEST(every_variant_answers_right_on_3_hosts)
{
    check_on_hosts(&rig3, _i);
}
END_TEST

/*
 * Starts primes on one rank per host of g, long enough to be killed in the
 * middle: returns once host `victim` runs its rank.  The run is c.
 */
static void start_long_run(struct child *c, const struct rig *g, int victim)
{
    char np[8], prog[4096];
    char *argv[] = { (char *)"/bin/bash", (char *)RIG, (char *)"run",
                     (char *)g->dir, (char *)"--timeout",
                     (char *)RUN_LIMIT, (char *)"--", (char *)"-np", np,
                     prog, (char *)"--n", (char *)"1e9", NULL };
    double end;

    snprintf(np, sizeof(np), "%d", g->hosts);
    snprintf(prog, sizeof(prog), "%s/mpi/primes", bin_dir());
    child_start(c, argv, NULL, WAIT_LIMIT);
    end = now() + 30;
    while (!ns_runs(g->host[victim - 1], "primes") && now() < end &&
           waitpid(c->pid, NULL, WNOHANG) == 0)
        sleep_ms(50);
    if (!ns_runs(g->host[victim - 1], "primes")) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        ck_abort_msg("no primes rank on host %d after 30 s", victim);
    }
}

static void crash(const struct rig *g, int k)
{
    static struct run r;
    char kbuf[8];
    const char *args[] = { "crash", g->dir, kbuf, NULL };

    snprintf(kbuf, sizeof(kbuf), "%d", k);
    rig_cmd(&r, args);
    ck_assert_msg(r.status == 0, "crash %d: exit %d\n%s", k, r.status,
                  r.err);
}

START_TEST(a_dead_host_fails_the_job_and_leaves_no_process)
{
    static struct run r;
    struct child c;
    const struct rig *g = _i == 0 ? &rig2 : &rig3;

    /* The last host dies: its daemon and its rank are killed at once. */
    start_long_run(&c, g, g->hosts);
    crash(g, g->hosts);
    child_finish(&c, &r);
    ck_assert_msg(r.status != 0 && r.status != 124,
                  "mpirun exited %d after its host died\n%s", r.status,
                  r.err);
    /* The rig's agent says which host died; Open MPI adds that it lost
     * the host's daemon (or, when it saw the rank go first, which rank
     * died and how). */
    ck_assert_msg(strstr(r.err, "the host died") != NULL,
                  "no clear message:\n%s", r.err);
    assert_rig_empty(g, 20);
}
END_TEST

START_TEST(a_dead_head_host_leaves_no_rank_behind)
{
    static struct run r;
    struct child c;

    /* Host 1 runs mpirun: the other hosts' daemons lose it and must end
     * their ranks on their own. */
    start_long_run(&c, &rig2, 2);
    crash(&rig2, 1);
    child_finish(&c, &r);
    ck_assert_int_ne(r.status, 0);
    assert_rig_empty(&rig2, 20);
}
END_TEST

START_TEST(a_run_past_its_time_limit_is_stopped)
{
    static struct run r;
    const char *args[] = { "run", rig2.dir, "--timeout", "2", "--", "-np",
                           "2", "/bin/sleep", "600", NULL };

    rig_cmd(&r, args);
    /* 124: mpirun ended on timeout's SIGTERM; 137: it needed the SIGKILL
     * that follows 5 s later (a busy machine). */
    ck_assert_msg(r.status == 124 || r.status == 137,
                  "exit %d, not timeout's 124 or 137\n%s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "did not end within 2 s") != NULL,
                  "no message:\n%s", r.err);
    assert_rig_empty(&rig2, 20);
}
END_TEST

START_TEST(up_then_down_leaves_nothing)
{
    struct rig g;

    rig_up(&g, 2, NULL);
    ck_assert(ns_exists(g.sw));
    ck_assert(ns_exists(g.host[0]) && ns_exists(g.host[1]));
    rig_down(&g);
}
END_TEST

START_TEST(down_kills_what_still_runs_on_the_hosts)
{
    struct rig g;
    struct child c;
    static struct run r;

    rig_up(&g, 2, NULL);
    start_long_run(&c, &g, 2);
    rig_down(&g);
    child_finish(&c, &r);
    ck_assert_int_ne(r.status, 0);
}
END_TEST

START_TEST(an_interrupted_up_takes_down_what_it_made)
{
    static struct run r;
    char parent[] = "/tmp/test_mpi_hosts.XXXXXX", dir[64], path[96];
    char *argv[] = { (char *)"/bin/bash", (char *)RIG, (char *)"up",
                     (char *)"150", (char *)"--dir", dir, NULL };
    struct child c;
    struct rig g;
    struct stat st;
    double end;

    ck_assert_msg(mkdtemp(parent) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof(dir), "%s/rig", parent);
    snprintf(path, sizeof(path), "%s/names", dir);
    snprintf(g.dir, sizeof(g.dir), "%s", dir);
    child_start(&c, argv, NULL, WAIT_LIMIT);
    /* Wait for the first host to be on its way, then interrupt: 150
     * hosts take seconds to make, so up is in the middle of it. */
    end = now() + 30;
    while (now() < end && (stat(path, &st) != 0 || st.st_size < 60))
        sleep_ms(10);
    read_names(&g);
    ck_assert_msg(g.hosts >= 1, "no host begun after 30 s");
    kill(c.pid, SIGTERM);
    child_finish(&c, &r);
    ck_assert_msg(r.status == 130, "up exited %d, not 130\n%s", r.status,
                  r.err);
    ck_assert_msg(!ns_exists(g.sw), "%s is still there", g.sw);
    for (int k = 0; k < g.hosts; k++)
        ck_assert_msg(!ns_exists(g.host[k]), "%s is still there",
                      g.host[k]);
    ck_assert_msg(access(dir, F_OK) != 0, "%s is still there", dir);
    rmdir(parent);
}
END_TEST

START_TEST(down_refuses_a_folder_up_did_not_make)
{
    static struct run r;
    char dir[] = "/tmp/test_mpi_hosts.XXXXXX", file[64];
    const char *args[] = { "down", dir, NULL };
    int fd;

    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(file, sizeof(file), "%s/names", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    rig_cmd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "not a rig") != NULL, "%s", r.err);
    ck_assert_int_eq(access(file, F_OK), 0);
    unlink(file);
    rmdir(dir);
}
END_TEST

START_TEST(the_shared_rigs_are_gone_after_their_tests)
{
    const struct rig *g = _i == 0 ? &rig2 : &rig3;

    ck_assert_msg(!ns_exists(g->sw), "%s is still there", g->sw);
    for (int k = 0; k < g->hosts; k++)
        ck_assert_msg(!ns_exists(g->host[k]), "%s is still there",
                      g->host[k]);
    ck_assert_msg(access(g->dir, F_OK) != 0, "%s is still there", g->dir);
}
END_TEST

/* ---- the script's messages, in every build -------------------------- */

START_TEST(check_says_when_ip_is_missing)
{
    static struct run r;
    struct child c;
    /* Nothing on PATH: the script looks for ip before it runs anything
     * else that PATH would have to find. */
    char *const envp[] = { (char *)"PATH=/nonexistent", NULL };
    char *argv[] = { (char *)"/bin/bash", (char *)RIG, (char *)"check",
                     NULL };

    child_start(&c, argv, envp, WAIT_LIMIT);
    child_finish(&c, &r);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "cannot make namespace hosts here") &&
                  strstr(r.err, "no 'ip'") && strstr(r.err, "iproute2"),
                  "unclear message:\n%s", r.err);
}
END_TEST

START_TEST(check_says_when_not_root)
{
    static struct run r;
    struct child c;
    char *argv[] = { (char *)"/usr/bin/setpriv", (char *)"--reuid=65534",
                     (char *)"--regid=65534", (char *)"--clear-groups",
                     (char *)"/bin/bash", (char *)RIG, (char *)"check",
                     NULL };

    if (geteuid() != 0) {
        argv[0] = (char *)"/bin/bash";
        argv[1] = (char *)RIG;
        argv[2] = (char *)"check";
        argv[3] = NULL;
    } else if (access(argv[0], X_OK) != 0) {
        return;     /* no setpriv to become another user */
    }
    child_start(&c, argv, NULL, WAIT_LIMIT);
    child_finish(&c, &r);
    if (r.status == 126 && strstr(r.err, "Permission denied"))
        return;     /* the tree is not readable by nobody */
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "cannot make namespace hosts here") &&
                  strstr(r.err, "not root"), "unclear message:\n%s", r.err);
}
END_TEST

START_TEST(bad_commands_exit_2_with_usage)
{
    static const char *const bad[][4] = {
        { "frobnicate", NULL },
        { "up", NULL },
        { "up", "0", NULL },
        { "up", "2", "--slots", NULL },
        { "up", "x", NULL },
        { "down", NULL },
        { "bench", "--hosts", "1", NULL },
        { "bench", "--variant", "scatter", NULL },
    };
    static struct run r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rig_cmd(&r, bad[i]);
        ck_assert_msg(r.status == 2 || r.status == 3,
                      "%s %s: exit %d\n%s", bad[i][0],
                      bad[i][1] ? bad[i][1] : "", r.status, r.err);
        if (r.status == 2)
            ck_assert_msg(strstr(r.err, "usage:") != NULL, "%s", r.err);
    }
}
END_TEST

/* ---- fixtures and the runner ---------------------------------------- */

/* Check runs no teardown after a failed set-up: whatever was made is
 * taken down here. */
static void rigs_up(void)
{
    const char *why;

    rig_up(&rig2, 2, NULL);
    if ((why = rig_make(&rig3, 3, NULL)) != NULL) {
        rig_down(&rig2);
        ck_abort_msg("%s", why);
    }
}

static void rigs_down(void)
{
    rig_down(&rig2);
    rig_down(&rig3);
}

/* Why the rig cannot run here, or NULL when it can; *fail is set when the
 * reason is a broken build rather than this machine. */
static const char *skip_reason(bool *fail)
{
    static char why[1024];
    const char *mpi = mpi_skip_reason(fail);
    FILE *p;
    size_t len;
    int st;

    if (mpi)
        return mpi;
    /* No Check assertions outside a test: popen, not child_start().  The
     * check makes and removes one namespace; it does not wait on
     * anything. */
    p = popen("/bin/bash " RIG " check 2>&1", "r");
    if (p == NULL) {
        *fail = true;
        return "popen failed";
    }
    len = fread(why, 1, sizeof(why) - 1, p);
    why[len] = '\0';
    why[strcspn(why, "\n")] = '\0';
    st = pclose(p);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return NULL;
    /* Exit 3 is "this machine does not allow it"; anything else is a
     * broken script. */
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 3)
        *fail = true;
    return why;
}

static Suite *hosts_suite(const char *skip)
{
    Suite *s = suite_create("mpi-hosts");
    TCase *msgs = tcase_create("messages");

    if (!skip) {
        TCase *runs_tc = tcase_create("runs on the shared rigs");
        TCase *own = tcase_create("rigs of their own");
        TCase *gone = tcase_create("after the shared rigs");

        tcase_add_unchecked_fixture(runs_tc, rigs_up, rigs_down);
        tcase_set_timeout(runs_tc, TEST_TIMEOUT);
        tcase_add_loop_test(runs_tc, every_variant_answers_right_on_2_hosts,
                            0, NRUNS);
        tcase_add_loop_test(runs_tc, every_variant_answers_right_on_3_hosts,
                            0, NRUNS);
        tcase_add_loop_test(runs_tc,
                            a_dead_host_fails_the_job_and_leaves_no_process,
                            0, 2);
        tcase_add_test(runs_tc, a_dead_head_host_leaves_no_rank_behind);
        tcase_add_test(runs_tc, a_run_past_its_time_limit_is_stopped);
        suite_add_tcase(s, runs_tc);

        tcase_set_timeout(own, TEST_TIMEOUT);
        tcase_add_test(own, up_then_down_leaves_nothing);
        tcase_add_test(own, down_kills_what_still_runs_on_the_hosts);
        tcase_add_test(own, an_interrupted_up_takes_down_what_it_made);
        tcase_add_test(own, down_refuses_a_folder_up_did_not_make);
        suite_add_tcase(s, own);

        tcase_add_loop_test(gone, the_shared_rigs_are_gone_after_their_tests,
                            0, 2);
        suite_add_tcase(s, gone);
    }
    tcase_set_timeout(msgs, TEST_TIMEOUT);
    tcase_add_test(msgs, check_says_when_ip_is_missing);
    tcase_add_test(msgs, check_says_when_not_root);
    tcase_add_test(msgs, bad_commands_exit_2_with_usage);
    suite_add_tcase(s, msgs);
    return s;
}

int main(void)
{
    const char *skip;
    bool fail;

    if (access(RIG, R_OK) != 0) {
        fprintf(stderr, "test_mpi_hosts: %s not found: run from the top of "
                "the tree (make test does)\n", RIG);
        return 1;
    }
    skip = skip_reason(&fail);
    if (skip && fail) {
        fprintf(stderr, "test_mpi_hosts: FAIL: %s\n", skip);
        return 1;
    }
    if (skip)
        printf("test_mpi_hosts: skipping the runs across namespace hosts: "
               "%s\n", skip);
    return tests_run(hosts_suite(skip));
}
