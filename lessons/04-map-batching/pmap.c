/*
 * pmap.c - an ordered, chunked map on the library's thread pool.
 *
 * Why chunks: every task costs the pool something (a lock, a queue slot, a
 * future, often a wake-up of a sleeping worker), a few microseconds in all.
 * For an item that takes nanoseconds (the tutorial's process_data, x * 2)
 * that overhead is the whole cost; handing the pool a chunk of 100 items as
 * one task divides it by 100.  Chunks that are too big have the opposite
 * problem: with 4 workers and 3 chunks, one worker idles, and one slow
 * chunk at the end keeps everybody waiting.  The tutorial's batch_process
 * and process_chunk are exactly this trade.
 *
 * Why the answers stay in order without any sorting: chunk k owns the
 * slots out[k * chunk] to out[(k + 1) * chunk - 1] and nobody else writes
 * there, so each chunk writes its answers straight into their final place,
 * and no two threads ever write the same element.  The caller reads `out`
 * only after tp_future_get has returned for every chunk, which orders the
 * chunks' writes before the reads (the future's lock does that).
 *
 * How: one struct chunk per chunk, holding its range and, when an item
 * fails, that item's index and error.  Submit every chunk first, then wait
 * for every future: submitting and waiting one at a time would run the
 * chunks one after another.  If a submit fails half-way, the chunks already
 * submitted still point into our arrays: wait for them before freeing.
 *
 * Not done here: choosing the chunk size for you (the library's tp_map
 * does: about n / (4 * workers)), or stopping other chunks early when one
 * fails.
 */
#include "pmap.h"

#include <errno.h>
#include <stdlib.h>

struct chunk {
    pmap_fn *fn;
    const long *in;
    long *out;
    size_t begin, end;      /* the items [begin, end) */
    size_t failed;          /* the first item that failed, or end */
    int status;             /* its error, or 0 */
};

/* A tp_task_fn: runs one chunk on a worker thread. */
static int run_chunk(void *arg, void **unused)
{
    struct chunk *c = arg;

    /*
     * EXERCISE: run the items c->begin .. c->end - 1 in order:
     * c->fn(c->in[i], &c->out[i]).  At the first item that returns an
     * error, record its index in c->failed and the error in c->status and
     * stop.  If none fails, leave c->failed = c->end and c->status = 0.
     * Return 0 (the chunk's result is in *c, not in the future).
     */
    (void)c;
    (void)unused;
    return ENOSYS;
}

int pmap(struct tp_pool *pool, pmap_fn *fn, const long *in, long *out,
         size_t n, size_t chunk, size_t *failed)
{
    if (failed != NULL)
        *failed = n;
    if (pool == NULL || fn == NULL || chunk == 0)
        return EINVAL;

    /*
     * EXERCISE (about 40 lines):
     *   1. n == 0: nothing to do, return 0.
     *   2. Cut [0, n) into nchunks = ceil(n / chunk) chunks; allocate a
     *      struct chunk and a struct tp_future * for each (ENOMEM).
     *   3. Submit EVERY chunk (tp_submit(pool, run_chunk, &chunks[k],
     *      &futures[k])), and only then wait for every one
     *      (tp_future_get, then tp_future_free).  If a submit fails, stop
     *      submitting, but still wait for those already submitted before
     *      you free anything, and return the submit's error.
     *   4. The first chunk (lowest k) with a non-zero status holds the
     *      answer: return its status, its failed index in *failed.
     *   5. Free what you allocated on every path (one "goto fail").
     */
    (void)in;
    (void)out;
    (void)run_chunk;        /* you will submit it: delete this line */
    return ENOSYS;
}
