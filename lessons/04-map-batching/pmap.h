/*
 * pmap.h - an ordered, chunked parallel map, for lesson 4.
 *
 * The C form of the tutorial's executor.map(process_data, data_list) and of
 * its batching (section 6): the items are cut into chunks of `chunk` items,
 * each chunk is ONE task on the pool, and the answers come back in input
 * order whatever order the chunks finish in.
 *
 *     Python                                       C
 *     results = ex.map(process_data, data_list)    pmap(pool, process_data,
 *                                                       in, out, n, 1, &bad)
 *     pool.map(process_chunk, chunks)              pmap(pool, fn, in, out,
 *     (or chunksize=100)                                n, 100, &bad)
 */
#ifndef LESSONS_PMAP_H
#define LESSONS_PMAP_H

#include <stddef.h>

#include "threadpool.h"

/* An item function: computes *out from in; returns 0 or an error code. */
typedef int pmap_fn(long in, long *out);

/*
 * Sets out[i] = fn(in[i]) for every i < n, running the items in chunks of
 * `chunk` consecutive items, one pool task per chunk (the last chunk may be
 * shorter).  Within a chunk the items run in order, on one thread, and the
 * chunk stops at its first failing item.  Blocks until every chunk it
 * submitted has finished.
 *
 * Returns 0 when every item returned 0; else the error of the failing item
 * with the lowest index, whose index goes to *failed (if failed is not
 * NULL; it gets n when nothing failed).  Every item before that one ran.
 * Also EINVAL (pool or fn NULL, chunk 0) before running anything, or the
 * error of tp_submit (ENOMEM, ESHUTDOWN...) after waiting for the chunks
 * already submitted.
 */
int pmap(struct tp_pool *pool, pmap_fn *fn, const long *in, long *out,
         size_t n, size_t chunk, size_t *failed);

#endif
