/*
 * frontier.h - lesson 11: the frontier of a breadth-first crawler, with
 * the fetches on a thread pool.
 *
 * This is the heart of benchmarks/cases/crawler.c with the network taken
 * out: a page is a number, and "fetching" it is a call to a function the
 * caller gives (in the tests it sleeps, standing for the server's delay,
 * and sometimes fails, standing for a refused connection).  What is left
 * is the part that decides how well a thread pool fits a crawler: keeping
 * W fetches in flight, never fetching a page twice, and collecting the
 * results without a race.
 */
#ifndef LESSON_FRONTIER_H
#define LESSON_FRONTIER_H

#include <stddef.h>

struct tp_pool;

/* Links one page may have (the tests' pages have fewer). */
#define FR_MAX_LINKS 16

/* One fetched page: the tutorial's {'url', 'title', 'links'} or
 * {'url', 'error'} record, with numbers for URLs. */
struct fr_page {
    int id;
    int error;                  /* 0, or why the fetch failed (an errno) */
    size_t nlinks;              /* 0 when error != 0 */
    int links[FR_MAX_LINKS];    /* the pages it links to, in page order */
};

/*
 * Fetches page id into *out (all fields).  Runs on a pool worker, or in the
 * calling thread when there is no pool; it is thread-safe and may block for
 * a while (it stands for a network round trip).  ctx is the caller's.
 */
typedef void fr_fetch_fn(void *ctx, int id, struct fr_page *out);

/*
 * Crawls breadth-first from page `start`: fetches it, then every page it
 * links to that has not been queued before, in the order the links were
 * found, and so on.  Links to ids outside 0..npages-1 are ignored.  Each
 * page is fetched at most once; a page whose fetch failed is recorded
 * (its error set) and the crawl goes on without its links.
 *
 * With a pool, every fetch is a pool task, so up to the pool's number of
 * workers run at once; with pool NULL they run one by one in the calling
 * thread.  Either way the calling thread alone keeps the queue of pages to
 * fetch and the set of pages seen.
 *
 * visited has room for npages records; the pages fetched are written there
 * in the order their fetches finished, and their number in *nvisited.
 * Returns 0, EINVAL (start out of range), ENOMEM, or the error of a failed
 * tp_submit (after waiting for the fetches already submitted).
 */
int fr_crawl(struct tp_pool *pool, fr_fetch_fn *fetch, void *ctx, int start,
             int npages, struct fr_page *visited, size_t *nvisited);

#endif
