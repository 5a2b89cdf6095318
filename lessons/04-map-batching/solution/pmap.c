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

    (void)unused;
    c->failed = c->end;
    c->status = 0;
    for (size_t i = c->begin; i < c->end; i++) {
        int rc = c->fn(c->in[i], &c->out[i]);

        if (rc != 0) {
            c->failed = i;
            c->status = rc;
            break;
        }
    }
    return 0;
}

int pmap(struct tp_pool *pool, pmap_fn *fn, const long *in, long *out,
         size_t n, size_t chunk, size_t *failed)
{
    struct chunk *chunks = NULL;
    struct tp_future **futures = NULL;
    size_t nchunks, submitted = 0;
    int rc = 0;

    if (failed != NULL)
        *failed = n;
    if (pool == NULL || fn == NULL || chunk == 0)
        return EINVAL;
    if (n == 0)
        return 0;
    nchunks = n / chunk + (n % chunk != 0);

    chunks = calloc(nchunks, sizeof(*chunks));
    futures = calloc(nchunks, sizeof(*futures));
    if (chunks == NULL || futures == NULL) {
        rc = ENOMEM;
        goto fail;
    }
    for (size_t k = 0; k < nchunks; k++) {
        chunks[k].fn = fn;
        chunks[k].in = in;
        chunks[k].out = out;
        chunks[k].begin = k * chunk;
        chunks[k].end = k * chunk + chunk < n ? k * chunk + chunk : n;
    }

    /* Submit them all, then wait for them all. */
    for (; submitted < nchunks; submitted++) {
        rc = tp_submit(pool, run_chunk, &chunks[submitted],
                       &futures[submitted]);
        if (rc != 0)
            break;
    }
    for (size_t k = 0; k < submitted; k++) {
        tp_future_get(futures[k], NULL);
        tp_future_free(futures[k]);
    }
    if (rc != 0)
        goto fail;          /* a submit failed; nothing dangles now */

    /* Chunks are in input order, so the first failing chunk holds the
     * failing item with the lowest index. */
    for (size_t k = 0; k < nchunks; k++) {
        if (chunks[k].status != 0) {
            rc = chunks[k].status;
            if (failed != NULL)
                *failed = chunks[k].failed;
            break;
        }
    }

fail:
    free(futures);
    free(chunks);
    return rc;
}
