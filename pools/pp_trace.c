/*
 * pp_trace.c - the process pool's recording: where its buffers live, what
 * the parent adds to them, and pp_pool_trace, which copies them out.
 *
 * Where the events come from.  The unit of work a worker sees is a frame
 * (a chunk of a map, or one apply), so an event is a frame: the worker
 * reads the clock when the frame's first item starts and when its last
 * item ends, and writes the event into its own buffer (pp_worker.c) before
 * the last answer leaves, so that whoever has the answer finds the event.
 * The frame header brings what only the parent knows: when its call was
 * queued, and which map call it belongs to.  The id comes from a counter
 * in the shared memory, taken when the frame starts: ids are then
 * 0..N-1 for N frames run, even when the frames a dead worker never
 * started are sent again.
 *
 * Where they live.  The buffers (trace.h) are in memory shared with the
 * workers, mapped before the fork server starts so that every worker
 * inherits them: worker slot k writes track k + 1, the parent reads them
 * where they are, and nothing travels through the sockets.  A replacement
 * worker writes on where the dead one stopped, on the same track.
 *
 * A worker that dies in a frame cannot record it: the collector does it
 * (pp_trace_died, from pp_slots.c's worker_died), dated from the frame's
 * start that the worker left in its status entry, failed with the pool's
 * error and the signal.  If the worker had recorded the frame and died
 * before its last answer left, the pool still reports that item as
 * crashed, so the collector rewrites the event the worker left.  It does
 * so under pool->lock, the lock pp_pool_trace copies under, and no worker
 * writes that track then (its worker is dead, the next not yet forked).
 *
 * What it does not do: record the queue's length (the process pool's
 * queue is the parent's, not the workers'; the trace format makes
 * counters optional), or anything when record_events is 0.
 */
#include "procpool.h"
#include "pp_internal.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pp_trace_create(struct pp_pool *pool, size_t events)
{
    unsigned tracks = PB_TRACE_TRACKS(pool->nworkers);
    size_t size = pb_trace_size(tracks, events);
    void *mem;
    int rc;

    /* Shared mappings are page-aligned, more than PB_TRACE_ALIGN. */
    if (size == 0)
        return ENOMEM;
    if ((rc = pp_shared_alloc(size, &mem)) != 0)
        return rc;
    pool->trace_size = size;
    pool->wcfg.trace = pb_trace_init(mem, tracks, events);
    return 0;
}

void pp_trace_destroy(struct pp_pool *pool)
{
    if (pool->wcfg.trace != NULL)
        pp_shared_free(pool->wcfg.trace, pool->trace_size);
    pool->wcfg.trace = NULL;
}

void pp_trace_call(struct pp_pool *pool, struct call *c, bool map)
{
    struct pb_trace *tr = pool->wcfg.trace;

    if (tr == NULL)
        return;
    c->queued_ns = pp_now_ns();
    c->map = map ? 1 + atomic_fetch_add(&tr->next_map, 1) : 0;
}

void pp_trace_died(struct pp_pool *pool, struct slot *s,
                   const struct piece *p, const struct pp_outcome *o)
{
    unsigned k = (unsigned)(s - pool->slots);
    uint64_t now = pb_now_ns(), began, id;
    struct pb_track *t;
    struct pb_event e, *last;

    if (pool->wcfg.trace == NULL)
        return;
    t = pb_trace_track(pool->wcfg.trace, k + 1);
    /* The worker is dead and reaped: what it stored is all there. */
    id = atomic_load(&pool->wcfg.status[k].frame_id);
    last = pb_track_last(t);
    if (last != NULL && last->id == id) {
        last->status = o->error;
        last->signal = o->signal;
        last->end_ns = now;
        return;
    }
    began = atomic_load(&pool->wcfg.status[k].frame_ns);
    memset(&e, 0, sizeof(e));
    e.id = id;
    e.queued_ns = (uint64_t)p->call->queued_ns;
    e.start_ns = began >= e.queued_ns && began <= now ? began : now;
    e.end_ns = now;
    /* The items it answered in this frame, and the one it died in. */
    e.first = p->first;
    e.count = p->done + 1;
    e.map = p->call->map;
    e.track = k + 1;
    e.os_id = s->pid;
    e.status = o->error;
    e.signal = o->signal;
    e.chunk = p->call->map != 0;
    pb_track_event(t, &e);
}

int pp_pool_trace(struct pp_pool *pool, struct pp_trace **out)
{
    struct pb_event *ev;
    struct pb_sample *sm;
    struct pp_trace *tr;
    uint64_t dropped_samples;
    size_t i, nsamples;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (pool == NULL || out == NULL)
        return EINVAL;
    if (pool->wcfg.trace == NULL)
        return ENOTSUP;
    if ((tr = calloc(1, sizeof(*tr))) == NULL)
        return ENOMEM;
    /* Under the lock that pp_trace_died rewrites under. */
    pthread_mutex_lock(&pool->lock);
    rc = pb_trace_copy(pool->wcfg.trace, &ev, &tr->nevents, &sm, &nsamples,
                       &tr->dropped, &dropped_samples);
    pthread_mutex_unlock(&pool->lock);
    if (rc != 0) {
        free(tr);
        return rc;
    }
    free(sm);
    tr->origin_ns = pool->wcfg.trace->origin_ns;
    tr->workers = pool->nworkers;
    if (tr->nevents > 0 &&
        (tr->events = calloc(tr->nevents, sizeof(*tr->events))) == NULL) {
        free(ev);
        free(tr);
        return ENOMEM;
    }
    for (i = 0; i < tr->nevents; i++) {
        struct pp_event *e = &tr->events[i];

        e->id = ev[i].id;
        e->queued_ns = ev[i].queued_ns;
        e->start_ns = ev[i].start_ns;
        e->end_ns = ev[i].end_ns;
        e->first = ev[i].first;
        e->count = ev[i].count;
        e->map = ev[i].map;
        e->track = ev[i].track;
        e->pid = ev[i].os_id;
        e->status = ev[i].status;
        e->signal = ev[i].signal;
        e->chunk = ev[i].chunk != 0;
    }
    free(ev);
    *out = tr;
    return 0;
}

void pp_trace_free(struct pp_trace *tr)
{
    if (tr == NULL)
        return;
    free(tr->events);
    free(tr);
}
