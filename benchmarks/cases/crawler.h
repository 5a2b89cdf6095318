/*
 * crawler.h - a breadth-first web crawler over plain HTTP/1.1, the C form
 * of the tutorial's thread-pool crawler (requests + BeautifulSoup).
 *
 * crawl_fetch() is the tutorial's scrape_page(url): it fetches one URL
 * over a real TCP socket with a deadline, and returns the page's title and
 * links, or the error that stopped it (the tutorial's {'url', 'error'}
 * record).  It never blocks longer than the timeout and never crashes on a
 * bad answer.  crawl_run() crawls from a start URL breadth-first, never
 * fetching a URL twice, either in the calling thread (sequential) or with
 * the fetches running on a thread pool.
 *
 * Scope: only http:// URLs on the start URL's host are followed (any
 * port); https:, mailto:, other hosts and fragments are not.  No robots.txt,
 * no keep-alive, no chunked transfer encoding, no redirects: the local
 * server sends none of them, and each would hide the point of the lesson.
 * A response with one of them is reported as an error, not misread.
 */
#ifndef BENCH_CRAWLER_H
#define BENCH_CRAWLER_H

#include <stddef.h>

#include "html.h"
#include "http.h"
#include "url.h"

struct tp_pool;

struct crawl_opts {
    unsigned timeout_ms;    /* per page: connect + send + receive */
    size_t max_pages;       /* stop queueing new URLs after this many */
    size_t max_body;        /* a bigger response is CRAWL_BAD_RESPONSE */
    struct tp_pool *pool;   /* NULL: fetch in the calling thread */
};
#define CRAWL_OPTS_INIT { 5000, 100000, 1u << 20, NULL }

/* Every URL the crawl fetched, in the order the fetches finished. */
struct crawl_result {
    struct crawl_page *pages;
    size_t npages;
    size_t ok;              /* pages with CRAWL_OK */
    size_t errors;          /* pages with any other status */
};

/*
 * Crawls breadth-first from start_url: fetches it, then every URL it links
 * to that is in scope and not seen before, in the order they were found.
 * With o->pool the fetches run as pool tasks (the pool's workers bound the
 * number of connections open at once); the calling thread keeps the
 * frontier and the set of seen URLs, so they need no lock.  Fills *res,
 * which the caller releases with crawl_result_release().  Returns 0,
 * EINVAL (a bad start URL), ENOMEM, or the error of a failed submit; on
 * error *res is empty.
 */
int crawl_run(const char *start_url, const struct crawl_opts *o,
              struct crawl_result *res);
void crawl_result_release(struct crawl_result *res);

#endif
