/*
 * bench.h - the small harness every benchmark program shares.
 *
 * A benchmark program describes itself once (its name, its modes, its own
 * options) in a struct bench_spec, lets bench_parse() read the command line,
 * times its kernel with bench_now(), and hands one struct bench_record per
 * repetition to bench_emit(), which prints it in the chosen format and, with
 * --out, appends it to a file.  bench_finish() ends the run and returns the
 * program's exit status.  The harness is the only place that knows the
 * record contract below, so the C programs, the Python twins in
 * benchmarks/python/ and the suite (scripts/bench.sh) agree on one format.
 *
 * A program looks like this:
 *
 *     int main(int argc, char **argv)
 *     {
 *         long long n = 1000000;          (the initial values are defaults)
 *         bool gil = false;
 *         const struct bench_opt opts[] = {
 *             { .name = "n", .type = BENCH_OPT_INT, .num = &n, .min = 2,
 *               .max = 1000000000, .metavar = "N",
 *               .help = "count the primes below N" },
 *             { .name = "gil", .type = BENCH_OPT_FLAG, .flag = &gil,
 *               .help = "threads: hold one global lock per task" },
 *             { 0 }
 *         };
 *         static const char *const modes[] = { "seq", "threads", "procs",
 *                                              NULL };
 *         const struct bench_spec spec = {
 *             .name = "primes", .summary = "count primes by trial division",
 *             .modes = modes, .opts = opts,
 *         };
 *         struct bench b;
 *         int rc = bench_parse(&b, &spec, argc, argv);
 *
 *         if (rc != BENCH_CONTINUE)
 *             return rc;                  (0 after --help, 2 after an error)
 *         for (long rep = 0; rep < b.repeat; rep++) {
 *             struct bench_record r;
 *
 *             bench_record_init(&b, &r, rep);
 *             bench_kernel_start(&r);
 *             ... the kernel ...
 *             bench_kernel_stop(&r);      (kernel_s, user_s, sys_s)
 *             r.n = n; r.tasks = ...; r.result = ...; r.expected = ...;
 *             if (bench_emit(&b, &r) != 0)
 *                 break;                  (a failed check stops the run)
 *         }
 *         return bench_finish(&b);
 *     }
 *
 * The option table and the variables it points to live in main(), so a
 * program has no mutable globals; spec must outlive the struct bench.
 * primes, sum and chunks do not write this loop themselves: each is a
 * table entry that bench_run() (bench_run.h) runs this way.
 *
 * THE RECORD CONTRACT
 *
 * The options, the output formats and every field of a record are
 * documented once, for users, in benchmarks/README.md ("Records"); the
 * Python twins (benchmarks/python/common.py) keep the same contract.  In
 * short:
 *   --mode M --workers W --chunk C --repeat R     what to run, R records
 *   --format text|csv|json|jsonl                  how to print them
 *   --out FILE      also append every record to FILE as CSV; the header
 *                   row goes first when this run creates FILE or finds it
 *                   empty; FILE is opened O_APPEND and each record is one
 *                   write(2), so concurrent runs never interleave lines
 *   -h, --help      usage on stdout, exit 0
 *   --version       "NAME (poolbench) VERSION", exit 0
 *   --list          the modes and the choices of every option, one
 *                   "OPTION VALUE" pair a line ("mode seq"), exit 0
 *   --trace FILE    record the pool's tasks and write them to FILE as a
 *                   Chrome trace (trace_file.h, docs/trace-format.md)
 *   --trace-label T the trace's label, a chart's panel title (default:
 *                   the mode)
 * Options are "--name value" or "--name=value"; integers are decimal, with
 * an optional power-of-ten exponent ("2e7" = 20000000).  Nothing else is
 * accepted: an unknown option, a missing or malformed value, a value out of
 * range or a stray argument prints what is wrong and a usage line on stderr
 * and exits 2 before anything runs.
 *
 * A program that lists "mpi" among its modes runs its Open MPI version
 * for --mode mpi: after bench_parse() has accepted the whole command line,
 * main() calls bench_exec_mpi(), which replaces the process with
 * `mpirun -np W DIR/mpi/NAME ARGS...` (see there).  The records are then
 * the MPI program's: mode mpi, workers = ranks.
 *
 * Exit status: 0 success; 1 a self-check failed (the wrong and the expected
 * value are printed on stderr) or the run itself failed (a pool could not be
 * created...: the reason is printed on stderr); 2 a bad command line.
 *
 * One record per repetition, with these fields (CSV columns in this order;
 * new fields are only ever added at the end):
 *   bench,lang,mode,variant,workers,n,chunk,tasks,rep,setup_s,kernel_s,
 *   result,expected,check,user_s,sys_s
 * Times are seconds (the _s suffix): setup_s and kernel_s of
 * CLOCK_MONOTONIC, user_s and sys_s the CPU time (getrusage) that the
 * process and its children, live pool workers included, spent in the timed
 * section.  --format json prints one JSON document, {"context": {...},
 * "records": [...]}, the context saying which program, version, machine
 * and compiler made the records, with the unit of every field;
 * --format jsonl prints one record object a line.
 *
 * The chunk-size sweep of the batching lesson is its own program, `chunks`
 * (bench=chunks): it runs the primes workload once per chunk size and
 * prints one record per chunk size and repetition.  sum and primes have no
 * --sweep option.
 *
 * Thread safety: a struct bench belongs to the main thread; call nothing
 * here from pool workers except bench_now().
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The pools' option structs (pools/threadpool.h, pools/procpool.h), filled
 * by bench_tp_options() and bench_pp_options() below. */
struct tp_options;
struct pp_options;
struct tp_tuning;
struct pp_tuning;

/* bench_parse()'s "go on and run" answer; any other value is an exit code. */
#define BENCH_CONTINUE (-1)
#define BENCH_EXIT_OK 0
#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2

/* "-" in a record's result or expected column. */
#define BENCH_NONE INT64_MIN

/* Upper bound for --workers: far above any sane count, low enough that a
 * typo (--workers 20000000) is an error rather than a fork bomb. */
#define BENCH_MAX_WORKERS 1024

/* The order of the names in --format's list (bench.c). */
enum bench_format { BENCH_TEXT, BENCH_CSV, BENCH_JSON, BENCH_JSONL };

enum bench_opt_type {
    BENCH_OPT_FLAG,     /* --name, no value: sets *flag to true */
    BENCH_OPT_INT,      /* --name N, min <= N <= max: sets *num */
    BENCH_OPT_CHOICE,   /* --name WORD, one of choices: sets *choice */
};

/* One program-specific option.  A table of them ends with { 0 }.  The
 * harness writes through exactly one of flag/num/choice, by type, and only
 * when the option is given, so the variable's initial value is the default
 * (shown by --help).  A choice may start as NULL: --help then shows no
 * default, and NULL after bench_parse() means "not given". */
struct bench_opt {
    const char *name;               /* without the dashes: "delay-ms" */
    enum bench_opt_type type;
    const char *metavar;            /* "MS" in "--delay-ms MS" */
    const char *help;               /* one line for --help */
    bool *flag;
    long long *num;
    long long min, max;             /* BENCH_OPT_INT: inclusive range */
    const char **choice;
    const char *const *choices;     /* BENCH_OPT_CHOICE: NULL-terminated */
};

/* What a program says about itself; usually a static const. */
struct bench_spec {
    const char *name;               /* the record's bench column */
    const char *summary;            /* one line for --help */
    const char *const *modes;       /* NULL-terminated; [0] is the default */
    const struct bench_opt *opts;   /* NULL, or a table ending with { 0 } */
    long default_workers;           /* 0: bench_usable_cpus() */
    long long default_chunk;        /* usually 0 (automatic) */
};

/* The parsed command line and the run's state.  Fields above the line are
 * the options, to read after bench_parse(); the rest is the harness's. */
struct bench {
    const struct bench_spec *spec;
    const char *prog;               /* the name it was run as, for usage */
    const char *mode;               /* points into spec->modes */
    long workers;
    long long chunk;                /* as given; 0 = automatic */
    long repeat;
    enum bench_format format;
    const char *out_path;           /* NULL without --out */
    const char *trace_path;         /* NULL without --trace */
    const char *trace_label;        /* --trace-label, NULL: the mode */
    /* ---- */
    int out_fd;                     /* -1 without --out */
    bool out_created;               /* bench_parse() created the file */
    bool out_header;                /* the file was empty: header first */
    bool json_open;                 /* the JSON document has begun */
    int argc;                       /* the command line, for the context */
    char **argv;
    char date[32];                  /* when bench_parse() ran, UTC */
    long emitted;                   /* records printed so far */
    long failed;                    /* records whose check failed */
    double *kernel_s;               /* every record's kernel_s, for the */
    size_t kernel_cap;              /* median that bench_finish() prints */
    bool mixed;                     /* records of several configurations */
    char conf[160];                 /* the first record's configuration */
    int trace_fd;                   /* -1 without --trace */
    bool trace_created;             /* bench_parse() created the file */
    bool trace_written;             /* bench_trace_tp/pp wrote it */
    struct tp_tuning *tp_tuning;    /* --trace: recording on, else NULL */
    struct pp_tuning *pp_tuning;    /* likewise for the process pool */
};

/* One repetition's record.  Use bench_record_init() and then fill in what
 * the program knows; strings are not copied and must live until
 * bench_emit() returns. */
struct bench_record {
    const char *mode;               /* defaults to b->mode */
    const char *variant;            /* defaults to "-" (NULL also means "-") */
    long workers;                   /* defaults to b->workers, 1 for seq */
    long long n;
    long long chunk;
    long long tasks;
    long rep;
    double setup_s;
    double kernel_s;
    double user_s, sys_s;           /* CPU time; see bench_kernel_stop() */
    int64_t result;                 /* BENCH_NONE for "-" */
    int64_t expected;               /* BENCH_NONE for "-" */
    /* ---- the harness's: the clocks at the start of the kernel */
    double start_wall, start_user, start_sys;
    bool stopped;                   /* bench_kernel_stop() has run */
};

/*
 * Parses argv into *b by the rules above.  Returns BENCH_CONTINUE when the
 * program should run; then call bench_finish() (or bench_release()) at the
 * end.  Otherwise returns the exit status the program should return at once
 * without calling anything else here: 0 after printing --help, --version
 * or --list, 2 after printing an error and the usage line on stderr.  Opens
 * --out here, so an unwritable file is a command-line error, found before
 * anything runs.  argv must outlive *b (the JSON context quotes it).
 */
int bench_parse(struct bench *b, const struct bench_spec *spec, int argc,
                char **argv);

/* For a program's own checks of its command line after bench_parse()
 * (an option that only makes sense in one mode, say): prints "NAME: ",
 * the message and the usage line on stderr, releases *b and returns
 * BENCH_EXIT_USAGE for main() to return.  Call it before running anything:
 * it also removes the --out file if bench_parse() created it, so that a
 * rejected command line leaves nothing behind. */
int bench_usage_error(struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * --mode mpi: replaces this process with the program's Open MPI version,
 *
 *     mpirun [$MPIRUN_ARGS] [--allow-run-as-root] [--oversubscribe]
 *            -np W DIR/mpi/NAME argv[1] ... argv[argc - 1]
 *
 * where DIR is the folder this program's own file is in (the Makefile
 * builds benchmarks/mpi/NAME.c into $(BUILD)/bin/mpi/NAME beside
 * $(BUILD)/bin/NAME), NAME is spec->name and W is b->workers, so a bad
 * --workers has already been refused by bench_parse().  The arguments go
 * through unchanged: the MPI program takes --mode mpi, a --workers equal to
 * its number of ranks, and the other options, and checks them again.
 * --allow-run-as-root is added when the effective user is root (Open MPI
 * refuses root otherwise), --oversubscribe when W exceeds the online CPUs
 * (with a note on stderr: the ranks then share CPUs).  The environment
 * variable MPIRUN names another mpirun; MPIRUN_ARGS (split at blanks) adds
 * options before -np, as for scripts/mpi-run.sh.
 *
 * Call it after bench_parse() returned BENCH_CONTINUE with b->mode "mpi"
 * and after the program's own command-line checks.  It returns only when
 * the MPI program could not be started, having said why on stderr and
 * released *b (removing the --out file if bench_parse() created it); the
 * return value is main()'s exit status: 2 when this build has no MPI
 * program (built without Open MPI, or a sanitizer build), 127 when mpirun
 * is not found, 126 when it cannot be run, 1 for anything else.  On
 * success the exit status is mpirun's, which is the MPI program's.
 */
int bench_exec_mpi(struct bench *b, int argc, char **argv);

/* Frees what bench_parse() took (the --out descriptor, the time list).
 * bench_finish() calls it; call it yourself only when not finishing. */
void bench_release(struct bench *b);

/* Fills *r with the run's defaults: mode, "-" variant, workers (1 for seq),
 * chunk as given, rep, result and expected BENCH_NONE, zero times; and
 * starts the CPU clocks as bench_kernel_start() does. */
void bench_record_init(const struct bench *b, struct bench_record *r,
                       long rep);

/*
 * Brackets the timed section of one repetition: bench_kernel_start() reads
 * the clocks, bench_kernel_stop() sets r->kernel_s (CLOCK_MONOTONIC) and
 * r->user_s, r->sys_s: the user and system CPU time spent meanwhile by this
 * process (getrusage RUSAGE_SELF, every thread), by its children that have
 * been waited for (RUSAGE_CHILDREN), and by its live descendants, such as
 * a process pool's workers, read from /proc/PID/stat (Linux; in clock
 * ticks, usually 10 ms, so a short kernel's child time is coarse).  Both
 * are called from the main thread, outside the kernel: reading /proc takes
 * a moment, which is not counted in kernel_s.  A program that times its
 * kernel itself and sets kernel_s may skip them: bench_emit() then reports
 * the CPU time since bench_record_init().
 */
void bench_kernel_start(struct bench_record *r);
void bench_kernel_stop(struct bench_record *r);

/*
 * Prints *r in b->format on stdout (the CSV header before the first
 * record) and appends it as CSV to --out.  The check is ok when expected is
 * BENCH_NONE or equals result.  When it fails, also prints the wrong and
 * the expected value on stderr.  Returns 0; or 1 (BENCH_EXIT_FAIL) when the
 * check failed or --out could not be written (reason on stderr), after
 * which the program should stop repeating and return bench_finish().
 */
int bench_emit(struct bench *b, const struct bench_record *r);

/* printf to stdout only when --format is text: for the lines a student
 * reads (the ideal time of io, the bandwidth of sum) that would break a
 * CSV or JSON stream. */
void bench_text(const struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a failure that stops the run (a pool could not be created...) on
 * stderr as "NAME: WHAT: strerror(err)" and marks the run failed, so that
 * bench_finish() returns 1. */
void bench_error(struct bench *b, const char *what, int err);

/* Ends the run: in text format prints the median kernel time over the
 * records (when there were several and all had the same mode, variant,
 * workers, n and chunk); in json format closes the document (which is
 * then valid even with no record, after a failure); releases *b and
 * returns the exit status: 0 if every record checked ok and nothing
 * failed, else 1. */
int bench_finish(struct bench *b);

/*
 * The options of a pool made for this run: TP_OPTIONS_INIT or
 * PP_OPTIONS_INIT with what the common flags say (today --workers).  Every
 * benchmark creates its pools from these two, so that a common flag which
 * reaches the pools (a trace file, say) is added here and nowhere else.
 * The caller may then set what is its own (pp_options.prefetch, a
 * tp_options.tuning); whatever these point to lives as long as *b.
 */
void bench_tp_options(const struct bench *b, struct tp_options *opt);

/*
 * A program that sets tricks of its own in a struct tp_tuning starts it
 * from here: TP_TUNING_INIT with what the common flags say (--trace:
 * record_events), so that pointing tp_options.tuning at it keeps them.
 */
void bench_tp_tuning(const struct bench *b, struct tp_tuning *t);

/* The same for a struct pp_tuning: PP_TUNING_INIT with what the common
 * flags say (--trace: record_events). */
void bench_pp_tuning(const struct bench *b, struct pp_tuning *t);
void bench_pp_options(const struct bench *b, struct pp_options *opt);

/* CLOCK_MONOTONIC in seconds.  Safe from any thread. */
double bench_now(void);

/* Median of v[0..n-1] (mean of the middle two when n is even); sorts v in
 * place.  0 when n is 0. */
double bench_median(double *v, size_t n);

/* Parses a count the way the options do: decimal digits with an optional
 * exponent ("2e7").  Returns 0, or EINVAL (not a number) or ERANGE (does
 * not fit in long long).  For programs that read counts elsewhere. */
int bench_parse_count(const char *s, long long *out);

/* The number of online CPUs, at least 1: the machine's, whatever this
 * process may use (mpirun's oversubscription check wants that). */
long bench_cpus(void);

/* The number of CPUs this process may run on (its affinity mask: taskset
 * and containers narrow it), at least 1: tp_cpu_count, the pools' default
 * worker count, and so the default --workers. */
long bench_usable_cpus(void);

/* The commit this harness was built from (`git rev-parse HEAD`), or
 * "unknown". */
const char *bench_commit(void);

/* The version string this harness was built with: `git describe --always
 * --dirty` of the checkout (the Makefile passes it), or "unknown". */
const char *bench_version(void);

#endif
