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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CSV_HEADER "bench,lang,mode,variant,workers,n,chunk,tasks,rep," \
                   "setup_s,kernel_s,result,expected,check"

/* Longest record line: 14 fields, none longer than ~40 characters. */
#define LINE_MAX_LEN 1024

static const char *const formats[] = { "text", "csv", "json", NULL };

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

static void print_usage_line(FILE *f, const struct bench_spec *spec)
{
    char modes[256];

    join_words(modes, sizeof(modes), spec->modes);
    fprintf(f, "usage: %s [--mode %s] [--workers W] [--chunk C] "
            "[--repeat R] [--format text|csv|json] [--out FILE]",
            spec->name, modes);
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
    fprintf(f, " [--help]\n");
}

static void print_help(const struct bench_spec *spec, long workers)
{
    char modes[256];

    print_usage_line(stdout, spec);
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
    printf("  --format F      text|csv|json (default text)\n");
    printf("  --out FILE      also append the records to FILE as CSV\n");
    printf("  --help          this text\n");
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
           "Exit status: 0 ok, 1 a failed check or run, 2 a bad option.\n");
}

/* Reports a command-line error; returns the exit status for it. */
static int usage_error(const struct bench_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct bench_spec *spec, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", spec->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage_line(stderr, spec);
    return BENCH_EXIT_USAGE;
}

/* Parses the value of an integer option into *out, within [min, max]. */
static int parse_int(const struct bench_spec *spec, const char *name,
                     const char *val, long long min, long long max,
                     long long *out)
{
    long long v;
    int err = bench_parse_count(val, &v);

    if (err == EINVAL)
        return usage_error(spec, "--%s: '%s' is not a non-negative integer",
                           name, val);
    if (err == ERANGE || v < min || v > max)
        return usage_error(spec, "--%s: %s is out of range %lld..%lld",
                           name, val, min, max);
    *out = v;
    return 0;
}

/* The common options, in the order --help lists them. */
enum common { C_MODE, C_WORKERS, C_CHUNK, C_REPEAT, C_FORMAT, C_OUT, C_HELP,
              C_NONE };
static const char *const common_names[] = {
    "mode", "workers", "chunk", "repeat", "format", "out", "help", NULL
};

int bench_parse(struct bench *b, const struct bench_spec *spec, int argc,
                char **argv)
{
    long long num;
    const char *out_path = NULL;
    int rc;

    memset(b, 0, sizeof(*b));
    b->spec = spec;
    b->mode = spec->modes[0];
    b->workers = spec->default_workers > 0 ? spec->default_workers
                                           : bench_cpus();
    b->chunk = spec->default_chunk;
    b->repeat = 1;
    b->format = BENCH_TEXT;
    b->out_fd = -1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq, *val = NULL;
        const struct bench_opt *opt = NULL;
        char name[64];
        size_t len;
        int c;

        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage_error(spec, "unexpected argument '%s'", arg);
        arg += 2;
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof(name))
            return usage_error(spec, "unknown option '%s'", argv[i]);
        memcpy(name, arg, len);
        name[len] = '\0';

        c = find_word(common_names, name);
        if (c < 0) {
            c = C_NONE;
            for (const struct bench_opt *o = spec->opts; o && o->name; o++)
                if (strcmp(o->name, name) == 0)
                    opt = o;
            if (opt == NULL)
                return usage_error(spec, "unknown option '--%s'", name);
        }

        /* Every option but the flags takes a value. */
        if (c == C_HELP || (opt && opt->type == BENCH_OPT_FLAG)) {
            if (eq)
                return usage_error(spec, "--%s takes no value", name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return usage_error(spec, "--%s needs a value", name);
        }

        switch (c) {
        case C_MODE:
            if (find_word(spec->modes, val) < 0)
                return usage_error(spec, "--mode: unknown mode '%s'", val);
            b->mode = spec->modes[find_word(spec->modes, val)];
            break;
        case C_WORKERS:
            if ((rc = parse_int(spec, name, val, 1, BENCH_MAX_WORKERS,
                                &num)) != 0)
                return rc;
            b->workers = (long)num;
            break;
        case C_CHUNK:
            if ((rc = parse_int(spec, name, val, 0, LLONG_MAX, &num)) != 0)
                return rc;
            b->chunk = num;
            break;
        case C_REPEAT:
            if ((rc = parse_int(spec, name, val, 1, MAX_REPEAT, &num)) != 0)
                return rc;
            b->repeat = (long)num;
            break;
        case C_FORMAT:
            if (find_word(formats, val) < 0)
                return usage_error(spec, "--format: unknown format '%s'",
                                   val);
            b->format = (enum bench_format)find_word(formats, val);
            break;
        case C_OUT:
            if (val[0] == '\0')
                return usage_error(spec, "--out: empty file name");
            out_path = val;
            break;
        case C_HELP:
            print_help(spec, b->workers);
            return BENCH_EXIT_OK;
        default:
            if (opt->type == BENCH_OPT_FLAG) {
                *opt->flag = true;
            } else if (opt->type == BENCH_OPT_INT) {
                if ((rc = parse_int(spec, name, val, opt->min, opt->max,
                                    &num)) != 0)
                    return rc;
                *opt->num = num;
            } else {
                int k = find_word(opt->choices, val);

                if (k < 0)
                    return usage_error(spec, "--%s: unknown value '%s'",
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
            return usage_error(spec, "--out: cannot open '%s': %s", out_path,
                               strerror(errno));
        b->out_path = out_path;
    }
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
    print_usage_line(stderr, b->spec);
    if (b->out_created)
        unlink(b->out_path);
    bench_release(b);
    return BENCH_EXIT_USAGE;
}

void bench_release(struct bench *b)
{
    if (b->out_fd >= 0)
        close(b->out_fd);
    b->out_fd = -1;
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
             "%s,c,%s,%s,%ld,%lld,%lld,%lld,%ld,%.9f,%.9f,%s,%s,%s\n",
             b->spec->name, r->mode, r->variant ? r->variant : "-",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->setup_s,
             r->kernel_s, res, exp, ok ? "ok" : "FAIL");
}

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
             "\"expected\": %s, \"check\": \"%s\"}\n",
             b->spec->name, r->mode, r->variant ? r->variant : "-",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->setup_s,
             r->kernel_s, res, exp, ok ? "ok" : "FAIL");
}

static void fmt_text(char *line, size_t size, const struct bench *b,
                     const struct bench_record *r, bool ok)
{
    char res[32], exp[32];

    fmt_value(res, sizeof(res), r->result, false);
    fmt_value(exp, sizeof(exp), r->expected, false);
    snprintf(line, size,
             "%s c %s%s%s: workers %ld, n %lld, chunk %lld, tasks %lld, "
             "rep %ld: kernel %.6f s (setup %.6f s), result %s, "
             "expected %s: %s\n",
             b->spec->name, r->mode,
             r->variant && strcmp(r->variant, "-") != 0 ? "/" : "",
             r->variant && strcmp(r->variant, "-") != 0 ? r->variant : "",
             r->workers, r->n, r->chunk, r->tasks, r->rep, r->kernel_s,
             r->setup_s, res, exp, ok ? "ok" : "FAIL");
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
    char line[LINE_MAX_LEN];
    bool ok = r->expected == BENCH_NONE || r->result == r->expected;
    int err, status = 0;

    if (b->format == BENCH_CSV && b->emitted == 0)
        puts(CSV_HEADER);
    if (b->format == BENCH_CSV)
        fmt_csv(line, sizeof(line), b, r, ok);
    else if (b->format == BENCH_JSON)
        fmt_json(line, sizeof(line), b, r, ok);
    else
        fmt_text(line, sizeof(line), b, r, ok);
    fputs(line, stdout);
    /* Flushed now: a reader sees each record as it is made, and a forked
     * child never inherits unwritten output to print a second time. */
    fflush(stdout);
    note_conf(b, r);
    keep_time(b, r->kernel_s);
    b->emitted++;

    /* A failed record goes to --out too: the suite must see the FAIL. */
    if (b->out_fd >= 0) {
        fmt_csv(line, sizeof(line), b, r, ok);
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
    fflush(stdout);
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
