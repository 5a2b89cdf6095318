/*
 * http.h - the crawler's HTTP client (http.c): one GET, one page record.
 */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <stddef.h>

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

/*
 * Fetches url with a deadline of timeout_ms and fills *page (which the
 * caller releases with crawl_page_release()).  Network and HTTP failures
 * are not errors of the call: they are recorded in page->status.  Returns
 * 0, or ENOMEM, in which case *page is left empty.  Thread-safe.
 */
int crawl_fetch(const char *url, unsigned timeout_ms, size_t max_body,
                struct crawl_page *page);
void crawl_page_release(struct crawl_page *page);

#endif
