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

struct tp_pool;

/* How a fetch ended. */
enum crawl_status {
    CRAWL_OK,               /* 200, parsed */
    CRAWL_REFUSED,          /* connection refused */
    CRAWL_TIMEOUT,          /* the per-page deadline passed */
    CRAWL_HTTP,             /* a status other than 200 (in .http) */
    CRAWL_BAD_RESPONSE,     /* not HTTP/1.x, too big, chunked... */
    CRAWL_NET,              /* another socket error (in .err) */
    CRAWL_BAD_URL,          /* a URL the crawler cannot fetch */
};

/* One fetched URL: the tutorial's {'url', 'title', 'links'} or
 * {'url', 'error'}.  Every pointer is owned by the record. */
struct crawl_page {
    char *url;              /* canonical absolute URL, no fragment */
    enum crawl_status status;
    int http;               /* HTTP status, 0 when none arrived */
    int err;                /* errno for CRAWL_NET / CRAWL_REFUSED, else 0 */
    char error[96];         /* "" when CRAWL_OK, else a readable reason */
    char *title;            /* decoded, NULL when the page has none */
    char **links;           /* every <a href>, resolved against url */
    size_t nlinks;
    double seconds;         /* how long the fetch took */
};

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
 * Fetches url with a deadline of timeout_ms and fills *page (which the
 * caller releases with crawl_page_release()).  Network and HTTP failures
 * are not errors of the call: they are recorded in page->status.  Returns
 * 0, or ENOMEM, in which case *page is left empty.  Thread-safe.
 */
int crawl_fetch(const char *url, unsigned timeout_ms, size_t max_body,
                struct crawl_page *page);
void crawl_page_release(struct crawl_page *page);

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

/*
 * Pieces of crawl_fetch(), public so that the tests can pin them down.
 *
 * crawl_parse_html() finds the <title> text (entities decoded, surrounding
 * white space removed) and the href of every <a> element, skipping
 * comments, scripts and styles.  *title and every (*hrefs)[i] are new
 * strings; the caller frees them (crawl_strings_free()).  Returns 0 or
 * ENOMEM.
 *
 * crawl_url_resolve() resolves ref against the absolute http URL base
 * (RFC 3986 section 5.2, dot segments removed) and drops the fragment.
 * Returns a new string, or NULL if ref is not an http URL or memory ran
 * out.
 */
int crawl_parse_html(const char *html, size_t len, char **title,
                     char ***hrefs, size_t *nhrefs);
void crawl_strings_free(char **v, size_t n);
char *crawl_url_resolve(const char *base, const char *ref);

#endif
