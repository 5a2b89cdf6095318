/*
 * bench.c - option parsing, timing and record printing for the benchmark
 * programs.  bench.h states the contract; this file is how it is kept.
 *
 * Why a harness at all: a benchmark is only worth what its numbers are
 * worth, and those numbers are read by a script.  If every program parsed
 * its own options and printed its own lines, one of them would sooner or
 * later print "1.2e-3" where the others print "0.001200000", or accept
 * "--workers 2x" as 2, and the suite would chart nonsense without
 * complaint.  So the rules live in one place:
 *
 *  - The command line is parsed completely before anything runs.  A bad
 *    option is exit 2 and no work is done: a benchmark that runs on a
 *    half-understood command line measures something nobody asked for.
 *    Numbers are parsed strictly (no sign, no trailing junk, overflow is an
 *    error), unlike atoi(), which turns "2x" into 2 and "x" into 0.
 *
 *  - A record is formatted into one buffer and then written: to stdout
 *    through stdio, and to --out with a single write(2) on a descriptor
 *    opened with O_APPEND.  POSIX makes each such write land at the end of
 *    the file as a whole, so two runs appending to the same results file
 *    cannot interleave half lines (a regular file on a local file system;
 *    not promised over NFS).
 *
 *  - Times are CLOCK_MONOTONIC: the wall clock (CLOCK_REALTIME) can jump
 *    when NTP adjusts it, which would make a kernel take negative time.
 *    Beside the wall time, every record carries the CPU time the kernel
 *    used, user and system: a kernel that takes 1 s on 2 workers with
 *    2 s of user time kept both CPUs busy; one with 0.1 s was waiting.
 *
 *  - A record says what it is; the run says where it came from.  The
 *    field names carry their units (kernel_s), CSV output and a new --out
 *    file start with a header row, and --format json is one JSON document
 *    whose "context" names the program, its version, the machine and the
 *    compiler, as Google Benchmark's and hyperfine's JSON files do: a
 *    number without its context cannot be compared with anything.
 *
 *  - The self-check is the harness's job, not the program's: a record whose
 *    result differs from its expected value is printed with check FAIL, the
 *    two values go to stderr, and the exit status becomes 1, so a script
 *    cannot mistake a fast wrong answer for a fast right one.
 *
 *  - --mode mpi is not run here but handed over: bench_exec_mpi() execs
 *    mpirun on the program's Open MPI version (benchmarks/mpi/), which
 *    prints the records with the same harness.  The command line is
 *    checked here first, completely, so that `primes --mode mpi --workers
 *    0` is refused like any other bad command line, before mpirun starts
 *    anything.
 *
 * What it does not do: statistics beyond a median (hyperfine and the suite
 * do those), warm-up runs (ask for --repeat and drop the first record), or
 * pinning threads to CPUs.
 */
#include "bench.h"
#include "procpool.h"
#include "threadpool.h"
#include "trace_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The Makefile writes the version, the commit and the compiler flags into
 * a small generated header and names it here; it rewrites that header only
 * when one of them changes, so that a second `make` has nothing to do. */
#ifdef POOLBENCH_BUILD_INFO
#include POOLBENCH_BUILD_INFO
#endif
#ifndef POOLBENCH_VERSION
#define POOLBENCH_VERSION "unknown"
#endif
#ifndef POOLBENCH_COMMIT
#define POOLBENCH_COMMIT "unknown"
#endif
#ifndef POOLBENCH_CFLAGS
#define POOLBENCH_CFLAGS ""
#endif
#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif

#define CSV_HEADER "bench,lang,mode,variant,workers,n,chunk,tasks,rep," \
                   "setup_s,kernel_s,result,expected,check,user_s,sys_s"

/* Longest record line: 16 fields, none longer than ~40 characters. */
#define LINE_MAX_LEN 1024

static const char *const formats[] = { "text", "csv", "json", "jsonl",
                                       NULL };

/* The common options' ranges.  --repeat is capped so that a typo cannot
 * keep a machine busy for a day; a chunk is an item count, so any
 * non-negative long long will do. */
#define MAX_REPEAT 100000

double bench_now(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail on Linux; if it ever did, a zero time
     * would make every kernel look instant, so abort loudly instead. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        abort();
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof(*v), cmp_double);
    if (n % 2 == 1)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

long bench_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n;
}

const char *bench_version(void)
{
    return POOLBENCH_VERSION;
}

const char *bench_commit(void)
{
    return POOLBENCH_COMMIT;
}

/* Reads the first line of FILE that starts with key into buf (the part
 * after the first ':', blanks skipped); false if there is none. */
static bool read_field(const char *file, const char *key, char *buf,
                       size_t size)
{
    FILE *f = fopen(file, "re");
    char line[4096];
    bool found = false;

    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':'), *v;

        if (strncmp(line, key, strlen(key)) != 0 || colon == NULL)
            continue;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, size, "%s", v);
        found = true;
    }
    fclose(f);
    return found;
}

/* The pools' own count (tp_cpu_count: the affinity mask), so that under
 * `taskset` the default --workers is the pools' default worker count. */
long bench_usable_cpus(void)
{
    return (long)tp_cpu_count();
}

/* ---- The pools' options ------------------------------------------------- */

void bench_tp_options(const struct bench *b, struct tp_options *opt)
{
    *opt = (struct tp_options)TP_OPTIONS_INIT;
    opt->workers = (unsigned)b->workers;
    opt->tuning = b->tp_tuning;
}

void bench_tp_tuning(const struct bench *b, struct tp_tuning *t)
{
    *t = (struct tp_tuning)TP_TUNING_INIT;
    if (b->tp_tuning != NULL)
        *t = *b->tp_tuning;
}

void bench_pp_options(const struct bench *b, struct pp_options *opt)
{
    *opt = (struct pp_options)PP_OPTIONS_INIT;
    opt->workers = (unsigned)b->workers;
    opt->tuning = b->pp_tuning;
}

void bench_pp_tuning(const struct bench *b, struct pp_tuning *t)
{
    *t = (struct pp_tuning)PP_TUNING_INIT;
    if (b->pp_tuning != NULL)
        *t = *b->pp_tuning;
}

/* ---- CPU time ------------------------------------------------------------ */

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* One /proc/PID/stat: the process, its parent and its CPU ticks. */
struct proc_times {
    long pid, ppid;
    double user, sys;           /* seconds */
};

/* Reads /proc/PID/stat for the entry name; false if it is gone or is not
 * a process.  The second field, the command in parentheses, may hold
 * blanks and parentheses itself, so the fields are counted from the last
 * ')': state, ppid, then utime and stime as the 12th and 13th after it
 * (proc(5)). */
static bool read_stat(const char *name, double tick, struct proc_times *pt)
{
    char path[300], buf[1024], *p, *save = NULL;
    ssize_t len;
    int fd;

    if (name[0] < '0' || name[0] > '9')
        return false;
    snprintf(path, sizeof(path), "/proc/%s/stat", name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return false;
    buf[len] = '\0';
    if ((p = strrchr(buf, ')')) == NULL)
        return false;
    pt->pid = atol(name);
    p = strtok_r(p + 1, " ", &save);
    for (int field = 3; p != NULL && field <= 15; field++) {
        if (field == 4)
            pt->ppid = atol(p);
        else if (field == 14)
            pt->user = (double)atoll(p) * tick;
        else if (field == 15)
            pt->sys = (double)atoll(p) * tick;
        p = strtok_r(NULL, " ", &save);
    }
    return true;
}

/*
 * Adds the CPU time of this process's live descendants (a process pool's
 * fork server and workers, a child not yet waited for) to *user and *sys.
 * getrusage() cannot: RUSAGE_CHILDREN counts a child only once it has
 * been waited for, and a pool's workers live as long as the pool.  So
 * this reads /proc/PID/stat of every process, keeps those whose chain of
 * parents leads here, and adds their times.  Without /proc it adds
 * nothing.
 */
static void add_live_descendants(double *user, double *sys)
{
    DIR *d = opendir("/proc");
    struct proc_times *all = NULL, pt;
    size_t n = 0, cap = 0;
    bool *mine = NULL, changed = true;
    long self = (long)getpid(), hz = sysconf(_SC_CLK_TCK);
    const struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!read_stat(e->d_name, 1.0 / (double)(hz > 0 ? hz : 100), &pt))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct proc_times *q = realloc(all, ncap * sizeof(*q));

            if (q == NULL)
                break;
            all = q;
            cap = ncap;
        }
        all[n++] = pt;
    }
    closedir(d);
    if (n > 0 && (mine = calloc(n, sizeof(*mine))) != NULL) {
        /* Mark the children of self, then their children, and so on. */
        while (changed) {
            changed = false;
            for (size_t i = 0; i < n; i++) {
                if (mine[i] || all[i].pid == self)
                    continue;
                if (all[i].ppid == self)
                    mine[i] = changed = true;
                for (size_t j = 0; j < n && !mine[i]; j++)
                    if (mine[j] && all[j].pid == all[i].ppid)
                        mine[i] = changed = true;
            }
        }
        for (size_t i = 0; i < n; i++)
            if (mine[i]) {
                *user += all[i].user;
                *sys += all[i].sys;
            }
    }
    free(mine);
    free(all);
}

/* The user and system CPU seconds of this process and all its
 * descendants, live or waited for.  Reading /proc costs this process a
 * millisecond or two of its own; at the start of a kernel it is read
 * first and at the end last (self_first), so that cost falls outside. */
static void cpu_now(bool self_first, double *user, double *sys)
{
    struct rusage self, kids;
    double u = 0.0, s = 0.0;

    if (!self_first)
        add_live_descendants(&u, &s);
    if (getrusage(RUSAGE_SELF, &self) == 0) {
        u += tv_s(self.ru_utime);
        s += tv_s(self.ru_stime);
    }
    if (getrusage(RUSAGE_CHILDREN, &kids) == 0) {
        u += tv_s(kids.ru_utime);
        s += tv_s(kids.ru_stime);
    }
    if (self_first)
        add_live_descendants(&u, &s);
    *user = u;
    *sys = s;
}

void bench_kernel_start(struct bench_record *r)
{
    cpu_now(false, &r->start_user, &r->start_sys);
    r->stopped = false;
    r->start_wall = bench_now();
}

void bench_kernel_stop(struct bench_record *r)
{
    double user, sys;

    r->kernel_s = bench_now() - r->start_wall;
    cpu_now(true, &user, &sys);
    /* A live worker's ticks move to RUSAGE_CHILDREN when it is waited
     * for, but one that died unwaited in between takes its ticks along:
     * never report less than nothing. */
    r->user_s = user > r->start_user ? user - r->start_user : 0.0;
    r->sys_s = sys > r->start_sys ? sys - r->start_sys : 0.0;
    r->stopped = true;
}

int bench_parse_count(const char *s, long long *out)
{
    long long v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';

        if (v > (LLONG_MAX - d) / 10)
            return ERANGE;
        v = v * 10 + d;
    }
    if (*p == 'e' || *p == 'E') {
        int exp = 0;

        p++;
        if (*p < '0' || *p > '9')
            return EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            exp = exp * 10 + (*p - '0');
            if (exp > 18)   /* 10^19 overflows a 64-bit long long */
                return ERANGE;
        }
        for (; exp > 0; exp--) {
            if (v > LLONG_MAX / 10)
                return ERANGE;
            v *= 10;
        }
    }
    if (*p != '\0')
        return EINVAL;
    *out = v;
    return 0;
}

static int find_word(const char *const *words, const char *w)
{
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(words[i], w) == 0)
            return i;
    return -1;
}

/* "seq|threads|procs" into buf, for the usage line. */
static void join_words(char *buf, size_t size, const char *const *words)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; words[i] != NULL && len < size; i++) {
        int k = snprintf(buf + len, size - len, "%s%s", i ? "|" : "",
                         words[i]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

static void print_usage_line(FILE *f, const char *prog,
                             const struct bench_spec *spec)
{
    char modes[256];

    join_words(modes, sizeof(modes), spec->modes);
    fprintf(f, "usage: %s [--mode %s] [--workers W] [--chunk C] "
            "[--repeat R] [--format text|csv|json|jsonl] [--out FILE] "
            "[--trace FILE] [--trace-label T]", prog, modes);
    for (const struct bench_opt *o = spec->opts; o && o->name; o++) {
        if (o->type == BENCH_OPT_FLAG) {
            fprintf(f, " [--%s]", o->name);
        } else if (o->type == BENCH_OPT_CHOICE) {
            char words[256];

            join_words(words, sizeof(words), o->choices);
            fprintf(f, " [--%s %s]", o->name, words);
        } else {
            fprintf(f, " [--%s %s]", o->name, o->metavar ? o->metavar : "N");
        }
    }
    fprintf(f, " [-h|--help] [--version] [--list]\n");
}

static void print_help(const char *prog, const struct bench_spec *spec,
                       long workers)
{
    char modes[256];

    print_usage_line(stdout, prog, spec);
    printf("\n%s: %s\n\nCommon options:\n", spec->name, spec->summary);
    join_words(modes, sizeof(modes), spec->modes);
    printf("  --mode M        %s (default %s)\n", modes, spec->modes[0]);
    if (find_word(spec->modes, "mpi") >= 0)
        printf("                  mpi: the Open MPI version, mpi/%s beside "
               "this program,\n"
               "                  under mpirun -np W (needs Open MPI)\n",
               spec->name);
    printf("  --workers W     threads, processes%s, 1..%d (default %ld)\n",
           find_word(spec->modes, "mpi") >= 0 ? " or MPI ranks" : "",
           BENCH_MAX_WORKERS, workers);
    printf("  --chunk C       items per task, 0 = automatic (default %lld)\n",
           spec->default_chunk);
    printf("  --repeat R      run the kernel R times, one record each "
           "(default 1)\n");
    printf("  --format F      text, csv (a header row, then one line a "
           "record), json\n"
           "                  (one document: context and records) or "
           "jsonl (one\n"
           "                  record a line) (default text)\n");
    printf("  --out FILE      also append the records to FILE as CSV "
           "(header row first\n"
           "                  when FILE is new or empty)\n");
    printf("  --trace FILE    record what the pool did, task by task, and "
           "write it to\n"
           "                  FILE as a Chrome trace (Perfetto; "
           "docs/trace-format.md)\n");
    printf("  --trace-label T the trace's label, a chart's panel title "
           "(default: the mode)\n");
    printf("  -h, --help      this text\n");
    printf("  --version       the version (the git commit it was built "
           "from)\n");
    printf("  --list          the modes and the values of the other "
           "choices, one a line\n");
    if (spec->opts && spec->opts[0].name)
        printf("\n%s options:\n", spec->name);
    for (const struct bench_opt *o = spec->opts; o && o->name; o++) {
        char left[64];

        if (o->type == BENCH_OPT_FLAG)
            snprintf(left, sizeof(left), "--%s", o->name);
        else
            snprintf(left, sizeof(left), "--%s %s", o->name,
                     o->metavar ? o->metavar : "N");
        printf("  %-15s %s", left, o->help ? o->help : "");
        if (o->type == BENCH_OPT_INT)
            printf(" (%lld..%lld, default %lld)", o->min, o->max, *o->num);
        else if (o->type == BENCH_OPT_CHOICE && *o->choice != NULL)
            printf(" (default %s)", *o->choice);
        printf("\n");
    }
    printf("\nRecords: " CSV_HEADER "\n"
           "(times in seconds; every field is described in "
           "benchmarks/README.md)\n"
           "\nExit status: 0 ok, 1 a failed check or run, 2 a bad "
           "option.\n");
}

static void print_version(const char *prog)
{
    printf("%s (poolbench) %s\ncommit %s, built with %s\n", prog,
           POOLBENCH_VERSION, POOLBENCH_COMMIT, COMPILER);
}

/* --list: "mode M" for every mode, "NAME V" for every value of every
 * choice option, so that a script can loop over them. */
static void print_list(const struct bench_spec *spec)
{
    for (size_t i = 0; spec->modes[i] != NULL; i++)
        printf("mode %s\n", spec->modes[i]);
    for (const struct bench_opt *o = spec->opts; o && o->name; o++)
        if (o->type == BENCH_OPT_CHOICE)
            for (size_t i = 0; o->choices[i] != NULL; i++)
                printf("%s %s\n", o->name, o->choices[i]);
}

/* Reports a command-line error; returns the exit status for it. */
static int usage_error(const struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct bench *b, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", b->spec->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage_line(stderr, b->prog, b->spec);
    return BENCH_EXIT_USAGE;
}

/* Parses the value of an integer option into *out, within [min, max]. */
static int parse_int(const struct bench *b, const char *name,
                     const char *val, long long min, long long max,
                     long long *out)
{
    long long v;
    int err = bench_parse_count(val, &v);

    if (err == EINVAL)
        return usage_error(b, "--%s: '%s' is not a non-negative integer",
                           name, val);
    if (err == ERANGE || v < min || v > max)
        return usage_error(b, "--%s: %s is out of range %lld..%lld",
                           name, val, min, max);
    *out = v;
    return 0;
}

/* The common options, in the order --help lists them. */
enum common { C_MODE, C_WORKERS, C_CHUNK, C_REPEAT, C_FORMAT, C_OUT, C_TRACE,
              C_TRACE_LABEL, C_HELP, C_VERSION, C_LIST, C_NONE };
static const char *const common_names[] = {
    "mode", "workers", "chunk", "repeat", "format", "out", "trace",
    "trace-label", "help", "version", "list", NULL
};

/*
 * --trace FILE: opened (created, or emptied) now, so that a file that
 * cannot be written is a command-line error, and recording switched on for
 * both pools (bench_tp_options and bench_pp_options hand out b->tp_tuning
 * and b->pp_tuning).  The file is
 * written once the kernels have run (trace_file.c).
 */
static int open_trace(struct bench *b)
{
    int flags = O_WRONLY | O_CLOEXEC;

    b->trace_fd = open(b->trace_path, flags | O_CREAT | O_EXCL, 0644);
    b->trace_created = b->trace_fd >= 0;
    if (b->trace_fd < 0 && errno == EEXIST)
        b->trace_fd = open(b->trace_path, flags | O_TRUNC);
    if (b->trace_fd < 0 ||
        (b->tp_tuning = malloc(sizeof(*b->tp_tuning))) == NULL ||
        (b->pp_tuning = malloc(sizeof(*b->pp_tuning))) == NULL) {
        int err = b->trace_fd < 0 ? errno : ENOMEM;

        /* Leave nothing behind, as bench_usage_error does. */
        if (b->out_created)
            unlink(b->out_path);
        if (b->trace_created)
            unlink(b->trace_path);
        bench_release(b);
        return usage_error(b, "--trace: cannot write '%s': %s",
                           b->trace_path, strerror(err));
    }
    *b->tp_tuning = (struct tp_tuning)TP_TUNING_INIT;
    b->tp_tuning->record_events = bench_trace_events((unsigned)b->workers);
    *b->pp_tuning = (struct pp_tuning)PP_TUNING_INIT;
    b->pp_tuning->record_events = bench_trace_events((unsigned)b->workers);
    return 0;
}

/* The name the program was run as ("poolbench-primes" once installed),
 * for the usage line, as GNU programs do; the spec's name without one. */
static const char *prog_name(const struct bench_spec *spec, int argc,
                             char **argv)
{
    const char *slash;

    if (argc < 1 || argv[0] == NULL || argv[0][0] == '\0')
        return spec->name;
    slash = strrchr(argv[0], '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : argv[0];
}

int bench_parse(struct bench *b, const struct bench_spec *spec, int argc,
                char **argv)
{
    long long num;
    const char *out_path = NULL;
    int rc;

    memset(b, 0, sizeof(*b));
    b->spec = spec;
    b->prog = prog_name(spec, argc, argv);
    b->argc = argc;
    b->argv = argv;
    b->mode = spec->modes[0];
    b->workers = spec->default_workers > 0 ? spec->default_workers
                                           : bench_usable_cpus();
    b->chunk = spec->default_chunk;
    b->repeat = 1;
    b->format = BENCH_TEXT;
    b->out_fd = -1;
    b->trace_fd = -1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq, *val = NULL;
        const struct bench_opt *opt = NULL;
        char name[64];
        size_t len;
        int c;

        if (strcmp(arg, "-h") == 0)
            arg = "--help";
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage_error(b, "unexpected argument '%s'", arg);
        arg += 2;
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof(name))
            return usage_error(b, "unknown option '%s'", argv[i]);
        memcpy(name, arg, len);
        name[len] = '\0';

        c = find_word(common_names, name);
        if (c < 0) {
            c = C_NONE;
            for (const struct bench_opt *o = spec->opts; o && o->name; o++)
                if (strcmp(o->name, name) == 0)
                    opt = o;
            if (opt == NULL)
                return usage_error(b, "unknown option '--%s'", name);
        }

        /* Every option but the flags takes a value. */
        if (c == C_HELP || c == C_VERSION || c == C_LIST ||
            (opt && opt->type == BENCH_OPT_FLAG)) {
            if (eq)
                return usage_error(b, "--%s takes no value", name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return usage_error(b, "--%s needs a value", name);
        }

        switch (c) {
        case C_MODE:
            if (find_word(spec->modes, val) < 0)
                return usage_error(b, "--mode: unknown mode '%s'", val);
            b->mode = spec->modes[find_word(spec->modes, val)];
            break;
        case C_WORKERS:
            if ((rc = parse_int(b, name, val, 1, BENCH_MAX_WORKERS,
                                &num)) != 0)
                return rc;
            b->workers = (long)num;
            break;
        case C_CHUNK:
            if ((rc = parse_int(b, name, val, 0, LLONG_MAX, &num)) != 0)
                return rc;
            b->chunk = num;
            break;
        case C_REPEAT:
            if ((rc = parse_int(b, name, val, 1, MAX_REPEAT, &num)) != 0)
                return rc;
            b->repeat = (long)num;
            break;
        case C_FORMAT:
            if (find_word(formats, val) < 0)
                return usage_error(b, "--format: unknown format '%s'",
                                   val);
            b->format = (enum bench_format)find_word(formats, val);
            break;
        case C_OUT:
            if (val[0] == '\0')
                return usage_error(b, "--out: empty file name");
            out_path = val;
            break;
        case C_TRACE:
            if (val[0] == '\0')
                return usage_error(b, "--trace: empty file name");
            b->trace_path = val;
            break;
        case C_TRACE_LABEL:
            b->trace_label = val;
            break;
        case C_HELP:
            print_help(b->prog, spec, b->workers);
            return BENCH_EXIT_OK;
        case C_VERSION:
            print_version(b->prog);
            return BENCH_EXIT_OK;
        case C_LIST:
            print_list(spec);
            return BENCH_EXIT_OK;
        default:
            if (opt->type == BENCH_OPT_FLAG) {
                *opt->flag = true;
            } else if (opt->type == BENCH_OPT_INT) {
                if ((rc = parse_int(b, name, val, opt->min, opt->max,
                                    &num)) != 0)
                    return rc;
                *opt->num = num;
            } else {
                int k = find_word(opt->choices, val);

                if (k < 0)
                    return usage_error(b, "--%s: unknown value '%s'",
                                       name, val);
                *opt->choice = opt->choices[k];
            }
            break;
        }
    }

    /* Opened last, so that a command line with an error elsewhere does not
     * create the file; O_EXCL first, to know whether we created it (see
     * bench_usage_error).  O_CLOEXEC, as every descriptor a child must not
     * inherit (STYLE.md): no program started from a benchmark has any
     * business holding the results file. */
    if (out_path) {
        int flags = O_WRONLY | O_APPEND | O_CLOEXEC;

        b->out_fd = open(out_path, flags | O_CREAT | O_EXCL, 0644);
        b->out_created = b->out_fd >= 0;
        if (b->out_fd < 0 && errno == EEXIST)
            b->out_fd = open(out_path, flags);
        if (b->out_fd < 0)
            return usage_error(b, "--out: cannot open '%s': %s", out_path,
                               strerror(errno));
        b->out_path = out_path;
        /* A file that is new or empty gets the header row with the first
         * record, so that a reader can name the columns. */
        struct stat st;

        b->out_header = fstat(b->out_fd, &st) == 0 && st.st_size == 0;
    }
    if (b->trace_path && (rc = open_trace(b)) != 0)
        return rc;

    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm) != NULL)
        strftime(b->date, sizeof(b->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return BENCH_CONTINUE;
}

int bench_usage_error(struct bench *b, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", b->spec->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage_line(stderr, b->prog, b->spec);
    if (b->out_created)
        unlink(b->out_path);
    if (b->trace_created)
        unlink(b->trace_path);
    bench_release(b);
    return BENCH_EXIT_USAGE;
}

void bench_release(struct bench *b)
{
    if (b->out_fd >= 0)
        close(b->out_fd);
    b->out_fd = -1;
    if (b->trace_fd >= 0)
        close(b->trace_fd);
    b->trace_fd = -1;
    free(b->tp_tuning);
    b->tp_tuning = NULL;
    free(b->pp_tuning);
    b->pp_tuning = NULL;
    free(b->kernel_s);
    b->kernel_s = NULL;
    b->kernel_cap = 0;
}

void bench_record_init(const struct bench *b, struct bench_record *r,
                       long rep)
{
    memset(r, 0, sizeof(*r));
    r->mode = b->mode;
    r->variant = "-";
    r->workers = strcmp(b->mode, "seq") == 0 ? 1 : b->workers;
    r->chunk = b->chunk;
    r->rep = rep;
    r->result = BENCH_NONE;
    r->expected = BENCH_NONE;
    bench_kernel_start(r);
}

/* An integer column, or "-" (csv/text) / null (json) for BENCH_NONE. */
static void fmt_value(char *buf, size_t size, int64_t v, bool json)
{
    if (v == BENCH_NONE)
        snprintf(buf, size, "%s", json ? "null" : "-");
    else
        snprintf(buf, size, "%lld", (long long)v);
}

static void fmt_csv(char *line, size_t size, const struct bench *b,
                    const struct bench_record *r, bool ok)
{
    char res[32], exp[32];

    fmt_value(res, sizeof(res), r->result, false);
    fmt_value(exp, sizeof(exp), r->expected, false);
    snprintf(line, size,
             "%s,c,%s,%s,%ld,%lld,%lld,%lld,%ld,%.9f,%.9f,%s,%s,%s,%.6f,"
             "%.6f\n",
             b->spec->name, r->mode, r->variant ? r->variant : "-",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->setup_s,
             r->kernel_s, res, exp, ok ? "ok" : "FAIL", r->user_s,
             r->sys_s);
}

/* The record as one JSON object, without a newline.  The strings are
 * the program's own names (modes, variants), never user input, and
 * contain nothing JSON would need escaped. */
static void fmt_json(char *line, size_t size, const struct bench *b,
                     const struct bench_record *r, bool ok)
{
    char res[32], exp[32];

    fmt_value(res, sizeof(res), r->result, true);
    fmt_value(exp, sizeof(exp), r->expected, true);
    snprintf(line, size,
             "{\"bench\": \"%s\", \"lang\": \"c\", \"mode\": \"%s\", "
             "\"variant\": \"%s\", \"workers\": %ld, \"n\": %lld, "
             "\"chunk\": %lld, \"tasks\": %lld, \"rep\": %ld, "
             "\"setup_s\": %.9f, \"kernel_s\": %.9f, \"result\": %s, "
             "\"expected\": %s, \"check\": \"%s\", \"user_s\": %.6f, "
             "\"sys_s\": %.6f}",
             b->spec->name, r->mode, r->variant ? r->variant : "-",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->setup_s,
             r->kernel_s, res, exp, ok ? "ok" : "FAIL", r->user_s,
             r->sys_s);
}

static void fmt_text(char *line, size_t size, const struct bench *b,
                     const struct bench_record *r, bool ok)
{
    char res[32], exp[32];

    fmt_value(res, sizeof(res), r->result, false);
    fmt_value(exp, sizeof(exp), r->expected, false);
    snprintf(line, size,
             "%s c %s%s%s: workers %ld, n %lld, chunk %lld, tasks %lld, "
             "rep %ld: kernel %.6f s (setup %.6f s, cpu user %.3f s "
             "sys %.3f s), result %s, expected %s: %s\n",
             b->spec->name, r->mode,
             r->variant && strcmp(r->variant, "-") != 0 ? "/" : "",
             r->variant && strcmp(r->variant, "-") != 0 ? r->variant : "",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->kernel_s,
             r->setup_s, r->user_s, r->sys_s, res, exp, ok ? "ok" : "FAIL");
}

/* s as a JSON string, quotes included: backslash, quote and control
 * characters escaped (a host name or an argument may hold anything). */
static void put_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void put_json_field(const char *key, const char *value, bool last)
{
    printf("    \"%s\": ", key);
    put_json_string(value);
    printf("%s\n", last ? "" : ",");
}

/* The units of every record field, for the context. */
static const char *const units[][2] = {
    { "bench", "name" }, { "lang", "name" }, { "mode", "name" },
    { "variant", "name" },
    { "workers", "threads, processes or MPI ranks" },
    { "n", "items: the problem size (see the program's --help)" },
    { "chunk", "items per task" }, { "tasks", "tasks" },
    { "rep", "repetition, from 0" },
    { "setup_s", "s, CLOCK_MONOTONIC" }, { "kernel_s", "s, CLOCK_MONOTONIC" },
    { "result", "the program's answer (see its --help)" },
    { "expected", "the known answer, null if none" },
    { "check", "ok | FAIL" },
    { "user_s", "s of user CPU time, process and children" },
    { "sys_s", "s of system CPU time, process and children" },
};

/* Starts the JSON document: the context object and the records array. */
static void begin_json(struct bench *b)
{
    struct utsname un;
    char cpu[256] = "unknown", os[256] = "unknown", host[256] = "unknown";

    if (uname(&un) == 0) {
        snprintf(os, sizeof(os), "%s %s %s", un.sysname, un.release,
                 un.machine);
        snprintf(host, sizeof(host), "%s", un.nodename);
    }
    if (!read_field("/proc/cpuinfo", "model name", cpu, sizeof(cpu)))
        read_field("/proc/cpuinfo", "Model", cpu, sizeof(cpu));
    printf("{\n  \"context\": {\n");
    put_json_field("program", b->spec->name, false);
    put_json_field("lang", "c", false);
    put_json_field("version", POOLBENCH_VERSION, false);
    put_json_field("commit", POOLBENCH_COMMIT, false);
    put_json_field("date", b->date, false);
    put_json_field("host", host, false);
    put_json_field("os", os, false);
    put_json_field("cpu_model", cpu, false);
    printf("    \"cpus_online\": %ld,\n", bench_cpus());
    printf("    \"cpus_usable\": %ld,\n", bench_usable_cpus());
    put_json_field("compiler", COMPILER, false);
    put_json_field("cflags", POOLBENCH_CFLAGS, false);
    printf("    \"command\": [");
    for (int i = 0; i < b->argc; i++) {
        put_json_string(b->argv[i]);
        printf("%s", i + 1 < b->argc ? ", " : "");
    }
    printf("],\n    \"units\": {\n");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        printf("      \"%s\": \"%s\"%s\n", units[i][0], units[i][1],
               i + 1 < sizeof(units) / sizeof(units[0]) ? "," : "");
    printf("    }\n  },\n  \"records\": [");
    b->json_open = true;
}

/* One write(2) of the whole line, retried only if a signal interrupted it
 * before anything was written; a short write is reported, not completed,
 * since completing it could interleave with another process's line. */
static int append_line(int fd, const char *line)
{
    size_t len = strlen(line);
    ssize_t k;

    do
        k = write(fd, line, len);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return errno;
    return (size_t)k == len ? 0 : EIO;
}

/* Remembers the first record's configuration and notes whether a later
 * one differs, so that bench_finish() never prints a median of unlike
 * runs (the chunks program, say, whose records sweep the chunk size). */
static void note_conf(struct bench *b, const struct bench_record *r)
{
    char conf[sizeof(b->conf)];

    snprintf(conf, sizeof(conf), "%s/%s/%ld/%lld/%lld", r->mode,
             r->variant ? r->variant : "-", r->workers, r->n, r->chunk);
    if (b->emitted == 0)
        memcpy(b->conf, conf, sizeof(conf));
    else if (strcmp(conf, b->conf) != 0)
        b->mixed = true;
}

static void keep_time(struct bench *b, double t)
{
    if (b->kernel_cap <= (size_t)b->emitted) {
        size_t cap = b->kernel_cap ? 2 * b->kernel_cap : 16;
        double *p = realloc(b->kernel_s, cap * sizeof(*p));

        /* Without memory there is no median; the records are unharmed. */
        if (p == NULL) {
            b->mixed = true;
            return;
        }
        b->kernel_s = p;
        b->kernel_cap = cap;
    }
    b->kernel_s[b->emitted] = t;
}

int bench_emit(struct bench *b, const struct bench_record *r)
{
    char line[LINE_MAX_LEN + sizeof(CSV_HEADER)];
    struct bench_record rec = *r;
    bool ok = r->expected == BENCH_NONE || r->result == r->expected;
    int err, status = 0;

    /* A program that timed its kernel itself: the CPU time since
     * bench_record_init(). */
    if (!rec.stopped) {
        double kernel_s = rec.kernel_s;

        bench_kernel_stop(&rec);
        rec.kernel_s = kernel_s;
    }
    r = &rec;
    if (b->format == BENCH_CSV && b->emitted == 0)
        puts(CSV_HEADER);
    if (b->format == BENCH_JSON && !b->json_open)
        begin_json(b);
    if (b->format == BENCH_CSV)
        fmt_csv(line, sizeof(line), b, r, ok);
    else if (b->format == BENCH_JSON || b->format == BENCH_JSONL)
        fmt_json(line, sizeof(line), b, r, ok);
    else
        fmt_text(line, sizeof(line), b, r, ok);
    if (b->format == BENCH_JSON)
        printf("%s\n    %s", b->emitted ? "," : "", line);
    else if (b->format == BENCH_JSONL)
        printf("%s\n", line);
    else
        fputs(line, stdout);
    /* Flushed now: a reader sees each record as it is made, and a forked
     * child never inherits unwritten output to print a second time. */
    fflush(stdout);
    note_conf(b, r);
    keep_time(b, r->kernel_s);
    b->emitted++;

    /* A failed record goes to --out too: the suite must see the FAIL. */
    if (b->out_fd >= 0) {
        /* The header and the first record in one write: a reader never
         * sees a header without a record, or two runs' lines mixed. */
        size_t head = 0;

        if (b->out_header) {
            head = strlen(CSV_HEADER "\n");
            memcpy(line, CSV_HEADER "\n", head);
            b->out_header = false;
        }
        fmt_csv(line + head, sizeof(line) - head, b, r, ok);
        if ((err = append_line(b->out_fd, line)) != 0) {
            bench_error(b, b->out_path, err);
            status = BENCH_EXIT_FAIL;
        }
    }
    if (!ok) {
        fprintf(stderr, "%s: %s%s%s: wrong result %lld, expected %lld\n",
                b->spec->name, r->mode,
                r->variant && strcmp(r->variant, "-") ? "/" : "",
                r->variant && strcmp(r->variant, "-") ? r->variant : "",
                (long long)r->result, (long long)r->expected);
        b->failed++;
        status = BENCH_EXIT_FAIL;
    }
    return status;
}

void bench_text(const struct bench *b, const char *fmt, ...)
{
    va_list ap;

    if (b->format != BENCH_TEXT)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

void bench_error(struct bench *b, const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", b->spec->name, what, strerror(err));
    b->failed++;
}

int bench_finish(struct bench *b)
{
    int status = b->failed ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;

    if (b->format == BENCH_TEXT && b->emitted > 1 && !b->mixed)
        printf("%s: median kernel %.6f s over %ld records\n", b->spec->name,
               bench_median(b->kernel_s, (size_t)b->emitted), b->emitted);
    if (b->format == BENCH_JSON) {
        if (!b->json_open)
            begin_json(b);
        printf("\n  ]\n}\n");
        b->json_open = false;
    }
    fflush(stdout);
    bench_trace_finish(b);
    if (b->trace_path && !b->trace_written)
        status = BENCH_EXIT_FAIL;
    bench_release(b);
    return status;
}

/* ---- --mode mpi --------------------------------------------------------- */

/*
 * Puts the folder holding this program's own file into dir (size bytes):
 * 0, or an errno value.  /proc/self/exe is Linux's link to the running
 * file, read with readlink(), which is POSIX, so no _GNU_SOURCE is needed
 * (glibc's program_invocation_name or dladdr() would need it); it works
 * wherever the program was started from and whatever PATH found it by.
 * Without /proc, argv[0] serves when it holds a slash.
 */
static int own_folder(const char *argv0, char *dir, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", dir, size);

    if (len < 0) {
        if (argv0 == NULL || strchr(argv0, '/') == NULL)
            return errno;
        if (strlen(argv0) >= size)
            return ENAMETOOLONG;
        memcpy(dir, argv0, strlen(argv0) + 1);
    } else if ((size_t)len >= size) {
        return ENAMETOOLONG;
    } else {
        dir[len] = '\0';
    }
    /* "/a/b/primes" becomes "/a/b"; "/primes" becomes "", which is still
     * right once "/mpi/NAME" is appended. */
    *strrchr(dir, '/') = '\0';
    return 0;
}

int bench_exec_mpi(struct bench *b, int argc, char **argv)
{
    const char *name = b->spec->name;
    const char *mpirun = getenv("MPIRUN"), *extra = getenv("MPIRUN_ARGS");
    const char **av = NULL;
    char dir[PATH_MAX], prog[PATH_MAX + 64], np[32];
    char *words = NULL, *save = NULL;
    size_t k = 0, max;
    long cpus = bench_cpus();
    bool custom = mpirun != NULL && *mpirun != '\0';
    int err, status = BENCH_EXIT_FAIL;

    if ((err = own_folder(argv[0], dir, sizeof(dir))) != 0) {
        fprintf(stderr, "%s: --mode mpi: cannot find this program's own "
                "folder: %s\n", name, strerror(err));
        goto fail;
    }
    /* Installed (make install), the program is BINDIR/poolbench-NAME and
     * its MPI version LIBEXECDIR/poolbench/mpi/NAME, LIBEXECDIR being
     * BINDIR/../libexec; in the build tree it is bin/mpi/NAME. */
    snprintf(prog, sizeof(prog), "%s/../libexec/poolbench/mpi/%s", dir,
             name);
    if (access(prog, X_OK) != 0)
        snprintf(prog, sizeof(prog), "%s/mpi/%s", dir, name);
    if (access(prog, X_OK) != 0) {
        fprintf(stderr, "%s: --mode mpi: no %s: built without Open MPI: "
                "install openmpi-bin libopenmpi-dev (scripts/setup.sh) and "
                "rebuild (the sanitizer builds never have it: use the plain "
                "build)\n", name, prog);
        status = BENCH_EXIT_USAGE;
        goto fail;
    }

    /* mpirun, the MPIRUN_ARGS words (at most one per two characters), two
     * flags, -np W, the program, argv[1..argc-1], NULL. */
    if (!custom)
        mpirun = "mpirun";
    if (extra != NULL && (words = strdup(extra)) == NULL)
        goto nomem;
    max = 1 + (extra ? strlen(extra) / 2 + 1 : 0) + 2 + 2 + 1 +
          (size_t)argc;
    if ((av = calloc(max, sizeof(*av))) == NULL)
        goto nomem;
    av[k++] = mpirun;
    for (char *w = words ? strtok_r(words, " \t\n", &save) : NULL; w;
         w = strtok_r(NULL, " \t\n", &save))
        av[k++] = w;
    if (geteuid() == 0)
        av[k++] = "--allow-run-as-root";
    if (b->workers > cpus) {
        av[k++] = "--oversubscribe";
        fprintf(stderr, "%s: note: %ld ranks on %ld CPUs: oversubscribed; "
                "the ranks share CPUs, so their times measure sharing, not "
                "speed-up\n", name, b->workers, cpus);
    }
    snprintf(np, sizeof(np), "%ld", b->workers);
    av[k++] = "-np";
    av[k++] = np;
    av[k++] = prog;
    for (int i = 1; i < argc; i++)
        av[k++] = argv[i];
    av[k] = NULL;

    /* The --out descriptor is O_CLOEXEC, but closing it here says that the
     * MPI program opens the file itself (rank 0 only, see mpibench.h). */
    bench_release(b);
    fflush(NULL);
    /* execvp() takes char *const[]: the strings are not changed (POSIX
     * explains the type in its rationale for exec), so the cast is safe. */
    execvp(av[0], (char *const *)av);
    err = errno;
    if (err == ENOENT) {
        fprintf(stderr, "%s: %s not found: install openmpi-bin "
                "(scripts/setup.sh)%s\n", name, av[0],
                custom ? ", or correct MPIRUN" : "");
        status = 127;
    } else {
        fprintf(stderr, "%s: cannot run %s: %s\n", name, av[0],
                strerror(err));
        status = 126;
    }
    goto fail;

nomem:
    fprintf(stderr, "%s: --mode mpi: %s\n", name, strerror(ENOMEM));
fail:
    if (b->out_created)
        unlink(b->out_path);
    bench_release(b);
    free(av);
    free(words);
    return status;
}
