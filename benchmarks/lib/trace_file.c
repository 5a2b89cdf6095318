/*
 * trace_file.c - --trace FILE: a pool's recording as a Chrome trace.
 *
 * What it writes is docs/trace-format.md, section by section: the names
 * of the process and of every track (0 "caller", k "worker k"), one
 * counter event per queue sample, one complete event ("ph": "X") per task
 * or chunk, and otherData saying which run this is.  Times count in
 * microseconds from the pool's creation, written "%.3f" so that no
 * nanosecond of the pools' clock is lost.  One event a line, so that a
 * reader can grep the file too.
 *
 * How a recording gets here: bench.c's open_trace() switches recording on
 * for the pools the run creates (through bench_tp_options) and opens
 * FILE; the program calls bench_trace_tp() (or _pp) after its kernels;
 * that copies the recording out of the pool (tp_pool_trace), turns it into
 * the neutral struct bench_trace, and writes it.  Both pools' recordings
 * take the same road from there, so the file cannot tell which wrote it
 * but by otherData.pool.
 *
 * What it does not do: check the file (scripts/poolbench/trace.py does,
 * and tests/test_trace.c runs it on what this writes), or merge several
 * pools into one file: a run writes the trace of one pool.
 */
#include "trace_file.h"
#include "bench.h"
#include "procpool.h"
#include "threadpool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* About half a million events in all: some 50 MB at ~100 bytes an event
 * (pools/trace.h), enough for every task of the suite's traced runs. */
#define EVENTS_TOTAL 524288u
#define EVENTS_MIN 4096u

size_t bench_trace_events(unsigned workers)
{
    size_t per = EVENTS_TOTAL / ((size_t)workers + 2);

    return per < EVENTS_MIN ? EVENTS_MIN : per;
}

/* s as a JSON string: quotes, backslashes and control characters escaped. */
static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A time of the pools' clock, in microseconds from origin (never < 0). */
static double us(uint64_t t_ns, uint64_t origin_ns)
{
    return t_ns > origin_ns ? (double)(t_ns - origin_ns) / 1000.0 : 0.0;
}

static void put_names(FILE *f, const struct bench_trace *t)
{
    fprintf(f, "  {\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 1, "
            "\"tid\": 0, \"args\": {\"name\": ");
    {
        char name[200];

        snprintf(name, sizeof(name), "poolbench %s (%s)", t->benchmark,
                 t->mode);
        put_string(f, name);
    }
    fprintf(f, "}}");
    for (unsigned k = 0; k <= t->workers; k++) {
        fprintf(f, ",\n  {\"ph\": \"M\", \"name\": \"thread_name\", "
                "\"pid\": 1, \"tid\": %u, \"args\": {\"name\": ", k);
        if (k == 0)
            fprintf(f, "\"caller\"}}");
        else
            fprintf(f, "\"worker %u\"}}", k);
    }
}

static void put_event(FILE *f, const struct bench_trace *t,
                      const struct bench_trace_event *e)
{
    uint64_t end = e->end_ns > e->start_ns ? e->end_ns : e->start_ns;

    if (e->chunk)
        fprintf(f, ",\n  {\"ph\": \"X\", \"name\": \"chunk %" PRIu64
                " (items %" PRIu64 "-%" PRIu64 ")\", \"cat\": \"chunk\"",
                e->id, e->first, e->first + e->count - 1);
    else
        fprintf(f, ",\n  {\"ph\": \"X\", \"name\": \"task %" PRIu64
                "\", \"cat\": \"task\"", e->id);
    fprintf(f, ", \"pid\": 1, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f, "
            "\"args\": {\"id\": %" PRIu64, e->track,
            us(e->start_ns, t->origin_ns), (double)(end - e->start_ns) / 1e3,
            e->id);
    if (e->chunk)
        fprintf(f, ", \"first\": %" PRIu64 ", \"count\": %" PRIu64
                ", \"map\": %u", e->first, e->count, e->map);
    fprintf(f, ", \"queued_us\": %.3f, \"status\": %d, \"failed\": %s, "
            "\"os_tid_or_pid\": %d",
            us(e->queued_ns < e->start_ns ? e->queued_ns : e->start_ns,
               t->origin_ns),
            e->status, e->status != 0 ? "true" : "false", e->os_id);
    if (e->began_ns != 0)
        fprintf(f, ", \"began_us\": %.3f", us(e->began_ns, t->origin_ns));
    if (e->note != NULL) {
        fprintf(f, ", \"note\": ");
        put_string(f, e->note);
    }
    fprintf(f, "}}");
}

int bench_trace_write(FILE *f, const struct bench_trace *t)
{
    size_t i;

    fprintf(f, "{\"traceEvents\": [\n");
    put_names(f, t);
    for (i = 0; i < t->nsamples; i++)
        fprintf(f, ",\n  {\"ph\": \"C\", \"name\": \"queue\", \"pid\": 1, "
                "\"tid\": 0, \"ts\": %.3f, \"args\": {\"queued\": %" PRIu64
                "}}", us(t->samples[i].t_ns, t->origin_ns),
                t->samples[i].queued);
    for (i = 0; i < t->nevents; i++)
        put_event(f, t, &t->events[i]);
    fprintf(f, "\n ],\n \"displayTimeUnit\": \"ns\",\n \"otherData\": {"
            "\"tool\": \"poolbench\", \"benchmark\": ");
    put_string(f, t->benchmark);
    fprintf(f, ", \"mode\": ");
    put_string(f, t->mode);
    fprintf(f, ", \"pool\": ");
    put_string(f, t->pool);
    fprintf(f, ", \"workers\": %u, \"dropped\": %" PRIu64
            ", \"dropped_counters\": %" PRIu64 ", \"commit\": ",
            t->workers, t->dropped, t->dropped_samples);
    put_string(f, t->commit);
    fprintf(f, ", \"label\": ");
    put_string(f, t->label);
    if (t->host != NULL) {
        fprintf(f, ", \"host\": ");
        put_string(f, t->host);
    }
    if (t->date_utc != NULL) {
        fprintf(f, ", \"date_utc\": ");
        put_string(f, t->date_utc);
    }
    fprintf(f, "}}\n");
    return ferror(f) ? EIO : 0;
}

/* ---- From a run to a file ------------------------------------------------ */

/*
 * Fills what every trace of run b says (benchmark, mode, label, commit,
 * host, date) into *t; the strings live in *buf or in b.
 */
struct meta_buf {
    char commit[16];
    char host[128];
    char date[32];
};

static void fill_meta(const struct bench *b, struct bench_trace *t,
                      struct meta_buf *buf)
{
    const char *c = bench_commit();
    struct utsname un;

    memset(t, 0, sizeof(*t));
    t->benchmark = b->spec->name;
    t->mode = b->mode;
    t->label = b->trace_label != NULL ? b->trace_label : b->mode;
    /* The short form `git rev-parse --short HEAD` gives: 7 digits. */
    snprintf(buf->commit, sizeof(buf->commit), "%.7s", c);
    t->commit = strcmp(c, "unknown") == 0 ? "unknown" : buf->commit;
    if (uname(&un) == 0) {
        snprintf(buf->host, sizeof(buf->host), "%s", un.nodename);
        t->host = buf->host;
    }
    /* b->date is "2026-12-07T04:30:12Z"; the charts' footers want
     * "2026-12-07 04:30 UTC". */
    if (strlen(b->date) >= 16) {
        snprintf(buf->date, sizeof(buf->date), "%.10s %.5s UTC", b->date,
                 b->date + 11);
        t->date_utc = buf->date;
    }
}

/* Writes t to b's trace file and closes it.  0 or an errno value. */
static int write_file(struct bench *b, const struct bench_trace *t)
{
    FILE *f = fdopen(b->trace_fd, "w");
    int rc;

    if (f == NULL)
        return errno;
    b->trace_fd = -1;           /* the FILE owns it now */
    rc = bench_trace_write(f, t);
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    if (rc == 0)
        b->trace_written = true;
    return rc;
}

/*
 * Waits until every task the pool accepted has ended (at most 10 s): a
 * program can learn that its last task is over before that task's
 * worker has recorded it (the crawler's tasks count themselves done),
 * and a copy taken then would miss it.  The pool counts a task completed
 * only once it is recorded, so completed + cancelled = submitted means
 * the recording is whole.
 */
static void settle(struct tp_pool *pool)
{
    const struct timespec ms = { 0, 1000000 };
    struct tp_stats st;

    for (int i = 0; i < 10000; i++) {
        if (tp_pool_stats(pool, &st) != 0 ||
            st.completed + st.cancelled >= st.submitted)
            return;
        nanosleep(&ms, NULL);
    }
}

int bench_trace_tp(struct bench *b, struct tp_pool *pool)
{
    struct bench_trace t;
    struct meta_buf buf;
    struct bench_trace_event *ev = NULL;
    struct bench_trace_sample *sm = NULL;
    struct tp_trace *tr;
    int rc;

    if (b->trace_path == NULL || b->trace_written || b->trace_fd < 0)
        return 0;
    settle(pool);
    if ((rc = tp_pool_trace(pool, &tr)) != 0) {
        bench_error(b, "--trace: reading the thread pool's recording", rc);
        return rc;
    }
    fill_meta(b, &t, &buf);
    t.pool = "threads";
    t.workers = tr->workers;
    t.origin_ns = tr->origin_ns;
    t.dropped = tr->dropped;
    t.dropped_samples = tr->dropped_samples;
    if ((tr->nevents > 0 &&
         (ev = calloc(tr->nevents, sizeof(*ev))) == NULL) ||
        (tr->nsamples > 0 &&
         (sm = calloc(tr->nsamples, sizeof(*sm))) == NULL)) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < tr->nevents; i++) {
        const struct tp_event *e = &tr->events[i];

        ev[i] = (struct bench_trace_event){
            .id = e->id, .queued_ns = e->queued_ns, .start_ns = e->start_ns,
            .end_ns = e->end_ns, .first = e->first, .count = e->count,
            .map = e->map, .track = e->track, .os_id = e->os_id,
            .status = e->status, .chunk = e->chunk, .note = NULL,
            .began_ns = e->began_ns };
    }
    for (size_t i = 0; i < tr->nsamples; i++)
        sm[i] = (struct bench_trace_sample){ tr->samples[i].t_ns,
                                             tr->samples[i].queued };
    t.events = ev;
    t.nevents = tr->nevents;
    t.samples = sm;
    t.nsamples = tr->nsamples;
    rc = write_file(b, &t);
out:
    if (rc != 0)
        bench_error(b, b->trace_path, rc);
    free(ev);
    free(sm);
    tp_trace_free(tr);
    return rc;
}

int bench_trace_pp(struct bench *b, struct pp_pool *pool)
{
    struct bench_trace t;
    struct meta_buf buf;
    struct bench_trace_event *ev = NULL;
    char (*notes)[32] = NULL;
    struct pp_trace *tr;
    int rc;

    if (b->trace_path == NULL || b->trace_written || b->trace_fd < 0)
        return 0;
    if ((rc = pp_pool_trace(pool, &tr)) != 0) {
        bench_error(b, "--trace: reading the process pool's recording", rc);
        return rc;
    }
    fill_meta(b, &t, &buf);
    t.pool = "processes";
    t.workers = tr->workers;
    t.origin_ns = tr->origin_ns;
    t.dropped = tr->dropped;
    if (tr->nevents > 0 &&
        ((ev = calloc(tr->nevents, sizeof(*ev))) == NULL ||
         (notes = calloc(tr->nevents, sizeof(*notes))) == NULL)) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < tr->nevents; i++) {
        const struct pp_event *e = &tr->events[i];

        ev[i] = (struct bench_trace_event){
            .id = e->id, .queued_ns = e->queued_ns, .start_ns = e->start_ns,
            .end_ns = e->end_ns, .first = e->first, .count = e->count,
            .map = e->map, .track = e->track, .os_id = e->pid,
            .status = e->status, .chunk = e->chunk, .note = NULL };
        if (e->signal != 0) {
            snprintf(notes[i], sizeof(notes[i]), "killed by signal %d",
                     e->signal);
            ev[i].note = notes[i];
        }
    }
    t.events = ev;
    t.nevents = tr->nevents;
    rc = write_file(b, &t);
out:
    if (rc != 0)
        bench_error(b, b->trace_path, rc);
    free(ev);
    free(notes);
    pp_trace_free(tr);
    return rc;
}

void bench_trace_finish(struct bench *b)
{
    struct bench_trace t;
    struct meta_buf buf;
    int rc;

    if (b->trace_path == NULL || b->trace_written)
        return;
    if (strcmp(b->mode, "seq") == 0 && b->trace_fd >= 0) {
        /* No pool: a trace with the caller's track only, and no tasks. */
        fill_meta(b, &t, &buf);
        t.pool = "none";
        if ((rc = write_file(b, &t)) == 0)
            return;
        fprintf(stderr, "%s: %s: %s\n", b->spec->name, b->trace_path,
                strerror(rc));
    } else {
        fprintf(stderr, "%s: --trace: --mode %s wrote no trace (its pool "
                "does not record, or the run failed)\n", b->spec->name,
                b->mode);
    }
    if (b->trace_created)
        unlink(b->trace_path);
}
