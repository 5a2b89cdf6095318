/*
 * trace.h - recording what a pool did, task by task: the buffers both
 * pools write into (internal: not installed; threadpool.h says how to
 * switch recording on and read it back).
 *
 * A recording is one block of memory: a header (struct pb_trace), then
 * one buffer per track (struct pb_track).  Track 0 is the caller, the
 * thread that calls a map; track k is worker slot k (counting from 1);
 * one more buffer, the last, is the queue's side: whoever queues a task
 * writes there, under the pool's lock that queueing takes anyway.  Each
 * buffer holds the task and chunk events its track ran, and queue
 * samples: +1 when a task was queued, -1 when one was taken, with the
 * time.  The queue's length is added up from them when they are read, so
 * no counter is shared by the submitter and the workers (one would pass
 * its cache line between their cores on every task).
 *
 * The block holds sizes and no pointers, so it works the same in malloc'ed
 * memory (the thread pool) and in memory shared with forked workers (the
 * process pool), which may map it at another address.
 *
 * Why per-track buffers and no lock: a worker writes only its own buffer,
 * so recording a task costs two clock reads and a copy, never a wait for
 * another thread.  The writer fills the event first and then publishes it
 * by raising the buffer's count with a release store; a reader loads the
 * count with acquire and copies that many events, so it may read at any
 * time and never sees half an event.  Track 0 may have several writers
 * (several threads calling tp_map at once): its pool gives it a lock.
 *
 * A full buffer drops: later events of that track are counted in
 * `dropped` and not kept.  Nothing allocates or blocks once recording has
 * started, so recording cannot change which worker runs what, only make
 * each task a little longer.
 */
#ifndef POOLS_TRACE_H
#define POOLS_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One task (a submit) or one chunk (of a map call).  Times are pb_now_ns()
 * readings (CLOCK_MONOTONIC), the same clock in every process.
 */
struct pb_event {
    uint64_t id;        /* tasks and chunks in the order accepted, from 0 */
    uint64_t queued_ns; /* submit, or the start of the chunk's map call */
    uint64_t start_ns;  /* it started running */
    uint64_t end_ns;    /* it ended (or its worker was found dead) */
    uint64_t first;     /* a chunk's first item (a task: 0) */
    uint64_t count;     /* a chunk's items (a task: 0) */
    uint32_t map;       /* a chunk's map call, counting from 0 */
    uint32_t track;     /* 0 caller, k worker slot k */
    int32_t os_id;      /* the kernel's thread id, or the worker's pid */
    int32_t status;     /* 0, or the task's error / chunk's first error */
    uint32_t chunk;     /* 1 for a chunk, 0 for a task */
    int32_t signal;     /* the signal that killed its worker, or 0 */
    uint64_t began_ns;  /* 0, or when its worker started it, if it then
                           waited inside itself until start_ns */
};

/* A change of the queue's length: delta tasks or chunks, at t_ns. */
struct pb_sample {
    uint64_t t_ns;
    int64_t delta;
};

/*
 * One track's buffer: this header, then `cap` events, then 2 * cap
 * samples (a task makes two: queued, and taken).  Written by one thread
 * at a time (track 0: under its pool's lock).
 */
struct pb_track {
    uint64_t cap;                   /* constant: events it can hold */
    _Atomic uint64_t nevents;       /* published events */
    _Atomic uint64_t nsamples;      /* published samples */
    _Atomic uint64_t dropped;       /* events lost: buffer full */
    _Atomic uint64_t dropped_samples;
};

/* The alignment a recording's memory needs: a cache line. */
#define PB_TRACE_ALIGN 64

/*
 * The recording: this header, then `tracks` buffers of `stride` bytes,
 * each on cache lines of its own (its writer's), as are the counters
 * below, which whoever queues work writes.
 */
struct pb_trace {
    uint64_t origin_ns;             /* constant: when recording began */
    uint64_t stride;                /* constant: bytes per track */
    uint32_t tracks;                /* constant: workers + 2 */
    /* The next task or chunk id, and map call: written when work is
     * queued, on a line of their own. */
    _Alignas(PB_TRACE_ALIGN) _Atomic uint64_t next_id;
    _Atomic uint32_t next_map;
};

/* Buffers for a pool of `workers` worker slots: the caller, the workers,
 * and the queue's side. */
#define PB_TRACE_TRACKS(workers) ((workers) + 2u)

/*
 * Bytes a recording of `tracks` tracks of `events` events each needs, or
 * 0 if that does not fit in a size_t (or either is 0).
 */
size_t pb_trace_size(unsigned tracks, size_t events);

/* Sets up the recording in mem (pb_trace_size bytes, aligned to
 * PB_TRACE_ALIGN, contents ignored): every buffer empty, origin now. */
struct pb_trace *pb_trace_init(void *mem, unsigned tracks, size_t events);

/* Track k's buffer: 0 the caller, k worker k (k < tracks - 1). */
struct pb_track *pb_trace_track(struct pb_trace *tr, unsigned k);

/* Records e on track t, or counts it dropped.  One writer at a time. */
void pb_track_event(struct pb_track *t, const struct pb_event *e);

/* The last event recorded on t, or NULL: for the process pool, which
 * rewrites it when the worker that wrote it has died (see pp_slots.c). */
struct pb_event *pb_track_last(struct pb_track *t);

/* The queue's side: the last buffer, for the samples of whoever queues. */
struct pb_track *pb_trace_queue_side(struct pb_trace *tr);

/* Records that the queue changed by delta at t_ns, on track t, or counts
 * the sample dropped.  One writer at a time. */
void pb_track_sample(struct pb_track *t, uint64_t t_ns, int64_t delta);

/*
 * Copies everything recorded so far: the events of every track sorted by
 * id into *events (*nevents of them), the samples sorted by time into
 * *samples, each delta replaced by the queue's length after it (the sum
 * so far, never below 0), and the totals dropped.  The arrays are
 * malloc'ed (NULL when empty) and the caller frees them.  Returns 0 or
 * ENOMEM (nothing allocated then).  May run while the tracks are being
 * written.
 */
int pb_trace_copy(struct pb_trace *tr, struct pb_event **events,
                  size_t *nevents, struct pb_sample **samples,
                  size_t *nsamples, uint64_t *dropped,
                  uint64_t *dropped_samples);

/* The calling thread's kernel id (Linux gettid), for pb_event.os_id. */
int32_t pb_os_tid(void);

#endif
