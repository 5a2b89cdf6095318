/*
 * tp_trace.c - the thread pool's recording: its buffers, the one call
 * that writes a track, and tp_pool_trace, which copies it out.
 *
 * What is recorded where is said by the hooks in threadpool.c (submit,
 * run_recorded) and tp_map.c (chunk_record); the buffers themselves, and
 * why a worker needs no lock to write its own, are trace.c's.  This file
 * only joins the two: one buffer per worker slot, one for the caller of
 * tp_map (track 0, which several threads may share, so it has a lock),
 * one for the queue's side (written under pool->lock by whoever queues),
 * and the copy that turns the recording into the manual's structs.
 *
 * What it does not do: write files.  The benchmarks' --trace turns a
 * struct tp_trace into a Chrome trace (benchmarks/lib); nothing in pools/
 * prints.
 */
#include "tp_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "trace.h"
#include "util.h"

/* The buffers are set aside now: no allocation while tasks run. */
int tp_trace_create(struct tp_pool *p)
{
    size_t size = pb_trace_size(PB_TRACE_TRACKS(p->nmax),
                                p->tuning.record_events);
    void *mem;
    int rc;

    /* pb_trace_size is a multiple of the alignment, as aligned_alloc
     * wants. */
    if (size == 0 || (mem = aligned_alloc(PB_TRACE_ALIGN, size)) == NULL)
        return ENOMEM;
    if ((rc = pthread_mutex_init(&p->trace_lock, NULL)) != 0) {
        free(mem);
        return rc;
    }
    p->trace = pb_trace_init(mem, PB_TRACE_TRACKS(p->nmax),
                             p->tuning.record_events);
    return 0;
}

void tp_trace_destroy(struct tp_pool *p)
{
    if (p->trace == NULL)
        return;
    pthread_mutex_destroy(&p->trace_lock);
    free(p->trace);
    p->trace = NULL;
}

void tp_trace_put(struct tp_pool *p, unsigned track,
                  const struct pb_event *e, uint64_t t_ns, int64_t delta)
{
    struct pb_track *t = pb_trace_track(p->trace, track);

    if (track == 0)
        pthread_mutex_lock(&p->trace_lock);
    pb_track_sample(t, t_ns, delta);
    if (e != NULL)
        pb_track_event(t, e);
    if (track == 0)
        pthread_mutex_unlock(&p->trace_lock);
}

int tp_pool_trace(struct tp_pool *p, struct tp_trace **out)
{
    struct tp_trace *tr;
    struct pb_event *ev;
    struct pb_sample *sm;
    size_t i;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (p == NULL || out == NULL)
        return EINVAL;
    if (p->trace == NULL)
        return ENOTSUP;
    if ((tr = calloc(1, sizeof(*tr))) == NULL)
        return ENOMEM;
    rc = pb_trace_copy(p->trace, &ev, &tr->nevents, &sm, &tr->nsamples,
                       &tr->dropped, &tr->dropped_samples);
    if (rc != 0) {
        free(tr);
        return rc;
    }
    tr->origin_ns = p->trace->origin_ns;
    tr->workers = p->nmax;
    /* The public structs are the recording's, field by field: the
     * recording's layout may change, the manual's may not. */
    if (tr->nevents > 0 &&
        (tr->events = calloc(tr->nevents, sizeof(*tr->events))) == NULL)
        rc = ENOMEM;
    if (tr->nsamples > 0 &&
        (tr->samples = calloc(tr->nsamples, sizeof(*tr->samples))) == NULL)
        rc = ENOMEM;
    for (i = 0; rc == 0 && i < tr->nevents; i++) {
        struct tp_event *e = &tr->events[i];

        e->id = ev[i].id;
        e->queued_ns = ev[i].queued_ns;
        e->start_ns = ev[i].start_ns;
        e->end_ns = ev[i].end_ns;
        e->first = ev[i].first;
        e->count = ev[i].count;
        e->map = ev[i].map;
        e->track = ev[i].track;
        e->os_id = ev[i].os_id;
        e->status = ev[i].status;
        e->chunk = ev[i].chunk != 0;
        e->began_ns = ev[i].began_ns;
    }
    for (i = 0; rc == 0 && i < tr->nsamples; i++) {
        tr->samples[i].t_ns = sm[i].t_ns;
        tr->samples[i].queued = (uint64_t)sm[i].delta;
    }
    free(ev);
    free(sm);
    if (rc != 0) {
        tp_trace_free(tr);
        return rc;
    }
    *out = tr;
    return 0;
}

/*
 * Which worker calls: the one whose thread id is ours.  A scan of the
 * slots, but only when a task asks, and no thread-local variable: a
 * thread knows nothing of the pools it serves.
 */
int tp_pool_task_began(struct tp_pool *p)
{
    int32_t me;
    unsigned i;

    if (p == NULL)
        return EINVAL;
    if (p->trace == NULL)
        return ENOTSUP;
    me = pb_os_tid();
    for (i = 0; i < p->nmax; i++)
        if (atomic_load_explicit(&p->slots[i].os_id,
                                 memory_order_relaxed) == me) {
            /* Our own slot: its worker is this thread, which reads it
             * when the task returns. */
            p->slots[i].began_ns = pb_now_ns();
            return 0;
        }
    return ESRCH;
}

void tp_trace_free(struct tp_trace *tr)
{
    if (tr == NULL)
        return;
    free(tr->events);
    free(tr->samples);
    free(tr);
}
