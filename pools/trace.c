/*
 * trace.c - the recording buffers of both pools (trace.h says what they
 * hold and who writes them).
 *
 * How it is laid out.  One block: the header, then one buffer per track,
 * each a header, its events and its samples, every part a multiple of 8
 * bytes so that each uint64_t is aligned.  No pointers are stored, only
 * sizes, so the block can be shared by forked processes.
 *
 * How a writer and a reader agree without a lock: the writer stores the
 * event in the first free place, then raises the count with a release
 * store; the reader loads the count with acquire and reads no further.
 * The count only grows, and a place below it is never written again, so
 * the reader never sees an event being written.
 *
 * What it does not do: keep the last events when the buffer is full (a
 * ring would overwrite what a reader may be copying; the first events of
 * a run are as telling as the last), or allocate: the pools give it its
 * memory, malloc'ed or shared.
 */

/* _GNU_SOURCE: gettid(), the kernel's id of the calling thread, is a Linux
 * call that glibc declares only then.  Everything else here is C11. */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static struct pb_event *track_events(struct pb_track *t)
{
    return (struct pb_event *)(void *)(t + 1);
}

static struct pb_sample *track_samples(struct pb_track *t)
{
    return (struct pb_sample *)(void *)(track_events(t) + t->cap);
}

/* Bytes of one cache line (64 on x86-64 and most ARM cores). */
#define LINE PB_TRACE_ALIGN

/* Each track's bytes, whole cache lines so that no two tracks share one,
 * or 0 on overflow. */
static size_t track_size(size_t events)
{
    size_t per = sizeof(struct pb_event) + 2 * sizeof(struct pb_sample);

    if (events == 0 ||
        events > (SIZE_MAX - sizeof(struct pb_track) - LINE) / per)
        return 0;
    return (sizeof(struct pb_track) + events * per + LINE - 1) / LINE * LINE;
}

size_t pb_trace_size(unsigned tracks, size_t events)
{
    size_t stride = track_size(events);

    if (stride == 0 || tracks == 0 ||
        tracks > (SIZE_MAX - sizeof(struct pb_trace)) / stride)
        return 0;
    return sizeof(struct pb_trace) + tracks * stride;
}

/* Where track k starts: after the header, on cache lines of its own (the
 * block is aligned to a line, the header and each track are whole lines). */
static struct pb_track *track_at(struct pb_trace *tr, unsigned k)
{
    return (struct pb_track *)(void *)((char *)(tr + 1) + k * tr->stride);
}

struct pb_trace *pb_trace_init(void *mem, unsigned tracks, size_t events)
{
    struct pb_trace *tr = mem;
    unsigned k;

    /* Touch every page now: the first write to a page costs a page fault
     * (a microsecond or two), which would otherwise land on the tasks,
     * one every 4096 bytes of events. */
    memset(mem, 0, pb_trace_size(tracks, events));
    tr->stride = track_size(events);
    tr->tracks = tracks;
    atomic_init(&tr->next_id, 0);
    atomic_init(&tr->next_map, 0);
    for (k = 0; k < tracks; k++) {
        struct pb_track *t = track_at(tr, k);

        t->cap = events;
        atomic_init(&t->nevents, 0);
        atomic_init(&t->nsamples, 0);
        atomic_init(&t->dropped, 0);
        atomic_init(&t->dropped_samples, 0);
    }
    tr->origin_ns = pb_now_ns();
    return tr;
}

struct pb_track *pb_trace_track(struct pb_trace *tr, unsigned k)
{
    PB_CHECK(k + 1 < tr->tracks);
    return track_at(tr, k);
}

struct pb_track *pb_trace_queue_side(struct pb_trace *tr)
{
    return track_at(tr, tr->tracks - 1);
}

void pb_track_event(struct pb_track *t, const struct pb_event *e)
{
    uint64_t n = atomic_load_explicit(&t->nevents, memory_order_relaxed);

    if (n == t->cap) {
        atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
        return;
    }
    track_events(t)[n] = *e;
    atomic_store_explicit(&t->nevents, n + 1, memory_order_release);
}

struct pb_event *pb_track_last(struct pb_track *t)
{
    uint64_t n = atomic_load_explicit(&t->nevents, memory_order_acquire);

    return n > 0 ? &track_events(t)[n - 1] : NULL;
}

void pb_track_sample(struct pb_track *t, uint64_t t_ns, int64_t delta)
{
    uint64_t n = atomic_load_explicit(&t->nsamples, memory_order_relaxed);

    if (n == 2 * t->cap) {
        atomic_fetch_add_explicit(&t->dropped_samples, 1,
                                  memory_order_relaxed);
        return;
    }
    track_samples(t)[n].t_ns = t_ns;
    track_samples(t)[n].delta = delta;
    atomic_store_explicit(&t->nsamples, n + 1, memory_order_release);
}

static int by_id(const void *a, const void *b)
{
    const struct pb_event *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

static int by_time(const void *a, const void *b)
{
    const struct pb_sample *x = a, *y = b;

    return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

int pb_trace_copy(struct pb_trace *tr, struct pb_event **events,
                  size_t *nevents, struct pb_sample **samples,
                  size_t *nsamples, uint64_t *dropped,
                  uint64_t *dropped_samples)
{
    size_t n = 0, m = 0, k;
    int64_t len;
    struct pb_event *ev = NULL;
    struct pb_sample *sm = NULL;

    *dropped = 0;
    *dropped_samples = 0;
    /* Counts first, then copy at most that many: a writer may add more in
     * between, which we leave for the next copy. */
    for (k = 0; k < tr->tracks; k++) {
        struct pb_track *t = track_at(tr, (unsigned)k);

        n += atomic_load_explicit(&t->nevents, memory_order_acquire);
        m += atomic_load_explicit(&t->nsamples, memory_order_acquire);
    }
    if ((n > 0 && (ev = malloc(n * sizeof(*ev))) == NULL) ||
        (m > 0 && (sm = malloc(m * sizeof(*sm))) == NULL)) {
        free(ev);
        return ENOMEM;
    }
    *nevents = 0;
    *nsamples = 0;
    for (k = 0; k < tr->tracks; k++) {
        struct pb_track *t = track_at(tr, (unsigned)k);
        size_t a = atomic_load_explicit(&t->nevents, memory_order_acquire);
        size_t b = atomic_load_explicit(&t->nsamples, memory_order_acquire);

        if (a > n - *nevents)
            a = n - *nevents;
        if (b > m - *nsamples)
            b = m - *nsamples;
        if (a > 0)
            memcpy(ev + *nevents, track_events(t), a * sizeof(*ev));
        if (b > 0)
            memcpy(sm + *nsamples, track_samples(t), b * sizeof(*sm));
        *nevents += a;
        *nsamples += b;
        *dropped += atomic_load(&t->dropped);
        *dropped_samples += atomic_load(&t->dropped_samples);
    }
    if (*nevents > 0)
        qsort(ev, *nevents, sizeof(*ev), by_id);
    if (*nsamples > 0)
        qsort(sm, *nsamples, sizeof(*sm), by_time);
    /* From changes to lengths.  A task is taken after it was queued, but
     * the two clock readings come from different threads and may be a
     * few nanoseconds out of order (or a copy taken while work runs may
     * have a take without its queueing): never below 0. */
    for (k = 0, len = 0; k < *nsamples; k++) {
        len += sm[k].delta;
        if (len < 0)
            len = 0;
        sm[k].delta = len;
    }
    *events = ev;
    *samples = sm;
    return 0;
}

int32_t pb_os_tid(void)
{
    return (int32_t)gettid();
}
