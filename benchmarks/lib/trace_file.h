/*
 * trace_file.h - the benchmarks' --trace FILE: a pool's recording written
 * as a Chrome trace (the JSON of docs/trace-format.md, which Perfetto and
 * chrome://tracing open, and scripts/poolbench/timeline.py draws).
 *
 * The pools record (tp_tuning.record_events, pp_tuning.record_events) and
 * hand the recording back as structs; they never write files.  This is
 * where a recording becomes a file: bench_tp_options() and
 * bench_pp_options() switch recording on when --trace is given, and the
 * program calls bench_trace_tp() or bench_trace_pp() once its kernels
 * have run, before it destroys the pool.  bench_finish() writes the trace
 * of a run without a pool (--mode seq: pool "none", no events).
 *
 * Thread safety: the main thread only, like the rest of the harness.
 */
#ifndef BENCH_TRACE_FILE_H
#define BENCH_TRACE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench;
struct tp_pool;
struct pp_pool;

/* One task or chunk, whichever pool recorded it (threadpool.h's struct
 * tp_event says what each field means). */
struct bench_trace_event {
    uint64_t id;
    uint64_t queued_ns, start_ns, end_ns;   /* CLOCK_MONOTONIC */
    uint64_t first, count;
    unsigned map;
    unsigned track;
    int os_id;
    int status;
    bool chunk;
    const char *note;           /* NULL, or args.note ("killed by ...") */
    uint64_t began_ns;          /* 0, or args.began_us (tp_event) */
};

/* The queue's length just after t_ns. */
struct bench_trace_sample {
    uint64_t t_ns;
    uint64_t queued;
};

/* Everything a trace file says. */
struct bench_trace {
    const char *benchmark;      /* "primes" */
    const char *mode;           /* "threads" */
    const char *pool;           /* "threads", "processes" or "none" */
    const char *label;          /* "--gil threads"; "" allowed */
    const char *commit;         /* short commit, or "unknown" */
    const char *host;           /* NULL: left out */
    const char *date_utc;       /* "2026-12-07 04:30 UTC"; NULL: left out */
    unsigned workers;           /* tracks 1..workers */
    uint64_t origin_ns;         /* time 0 of the file */
    uint64_t dropped, dropped_samples;
    const struct bench_trace_event *events;
    size_t nevents;
    const struct bench_trace_sample *samples;
    size_t nsamples;
};

/*
 * How many events each track of a recording pool with `workers` workers
 * keeps: about half a million events in all (some 50 MB, set aside and
 * touched when the pool is created), at least 4096 a track.  A run with
 * more tasks than that drops the rest and says so in the file.
 */
size_t bench_trace_events(unsigned workers);

/* Writes t to f as one JSON document.  Returns 0, or the errno of a
 * failed write. */
int bench_trace_write(FILE *f, const struct bench_trace *t);

/*
 * Writes the recording of pool (the run's thread pool) to --trace's FILE,
 * labelled with --trace-label (default: the mode).  Does nothing without
 * --trace.  Returns 0, or reports the failure (bench_error: the run then
 * ends with status 1) and returns its errno value.
 */
int bench_trace_tp(struct bench *b, struct tp_pool *pool);

/* The same for the run's process pool (pool "processes": one event per
 * frame, a chunk of a map or one apply; a frame whose worker died is
 * failed, with the signal in its note). */
int bench_trace_pp(struct bench *b, struct pp_pool *pool);

/* For bench_finish(): a run with --trace that wrote none gets an empty
 * trace of pool "none" in --mode seq; in any other mode, which recorded
 * nothing (a pool that cannot record), FILE is removed with a note. */
void bench_trace_finish(struct bench *b);

#endif
