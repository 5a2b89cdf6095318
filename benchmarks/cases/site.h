/*
 * site.h - the generated web site that the crawler case study crawls.
 *
 * A site is N pages, /page/0.html to /page/N-1.html, each with a title and
 * links to other pages, rendered on demand by the loopback server (httpd.h)
 * and checked afterwards against what a crawl found (site_verify()).  The
 * same options always give the same site: the links come from a seeded
 * pseudo-random generator, not from rand(), so a student can reproduce
 * every run.
 *
 * Every page i links to its "children" 2i+1 and 2i+2 (so every page can be
 * reached from page 0, as in a binary heap) and to `links` more pages drawn
 * at random (so a crawler meets most pages many times and must not visit
 * them twice).  The links are written in the forms a real crawler meets:
 * absolute paths, relative paths, "../", absolute URLs with a fragment,
 * upper-case tags, single, double and no quotes, a '>' inside another
 * attribute.  Each page also carries links a crawler must not follow or
 * must not see: an https:// link to another host, a mailto: link, a
 * fragment-only link to itself, an <a> without href and a link inside an
 * HTML comment.
 *
 * Faults, for the error paths: `dead` links to a port where nothing
 * listens (connection refused), `slow` links to /slow/K.html, which the
 * server never answers (the crawler's timeout fires), and `missing` links
 * to pages that do not exist (HTTP 404).  Each fault is one distinct URL
 * linked from one page, so a correct crawl reports each exactly once.
 *
 * Thread safety: a site is read-only after site_create(); any number of
 * threads may call the other functions at once.
 */
#ifndef BENCH_SITE_H
#define BENCH_SITE_H

#include <stddef.h>
#include <stdint.h>

struct site;
struct crawl_result;

struct site_opts {
    unsigned pages;         /* N >= 1 */
    unsigned links;         /* random links per page, besides the children
                               (at most SITE_MAX_LINKS) */
    unsigned dead;          /* links to a refused port */
    unsigned slow;          /* links to pages the server never answers */
    unsigned missing;       /* links to pages that answer 404 */
    uint64_t seed;
};
#define SITE_OPTS_INIT { 200, 4, 0, 0, 0, 1 }

/* A page with more links than this is not a page but a link farm; the
 * cap keeps pages small (a few kilobytes). */
#define SITE_MAX_LINKS 64u

/* What the server should do with a request path. */
enum site_route {
    SITE_PAGE,              /* a page: 200 with site_render() */
    SITE_SLOW,              /* a /slow/ page: never answer */
    SITE_NOT_FOUND,         /* 404 */
};

/* The outcome of checking a crawl against the site (site_verify()). */
struct site_report {
    size_t pages_ok;        /* pages found once, with the right title and
                               number of links */
    size_t faults_ok;       /* fault URLs reported once with the right error */
    size_t missed;          /* site pages or faults the crawl never reported */
    size_t wrong;           /* records with a wrong title, link count or
                               error, for an unknown URL, or duplicates */
};

/* Creates the site described by *o.  Returns 0, EINVAL (no pages, more
 * than SITE_MAX_PAGES pages or faults of a kind, more than SITE_MAX_LINKS
 * links) or ENOMEM.  The caller owns *out. */
#define SITE_MAX_PAGES 1000000u
int site_create(const struct site_opts *o, struct site **out);
void site_destroy(struct site *s);

/* The number of pages N, and of fault URLs (dead + slow + missing). */
unsigned site_pages(const struct site *s);
unsigned site_faults(const struct site *s);

/* Routes a request path ("/page/3.html"); *index gets the page number for
 * SITE_PAGE and SITE_SLOW. */
enum site_route site_route(const struct site *s, const char *path,
                           unsigned *index);

/*
 * Renders page i as HTML into a new buffer *html of *len bytes (plus a
 * terminating NUL); the caller frees it.  `port` is the server's port, used
 * in absolute links, and `dead_port` the refused port of the dead links.
 * Returns 0, EINVAL (no such page) or ENOMEM.
 */
int site_render(const struct site *s, unsigned i, unsigned port,
                unsigned dead_port, char **html, size_t *len);

/* Page i's title as a browser shows it (entities decoded), into buf of
 * size cap (truncated, always terminated). */
void site_title(const struct site *s, unsigned i, char *buf, size_t cap);

/* The number of <a href> elements a parser must find on page i. */
size_t site_link_count(const struct site *s, unsigned i);

/*
 * Checks a crawl that started at http://127.0.0.1:port/page/0.html: every
 * page found exactly once with its title and link count, every fault URL
 * reported exactly once with its error (refused, timeout, HTTP 404), and
 * nothing else.  Fills *rep.  Returns 0 or ENOMEM.
 */
int site_verify(const struct site *s, unsigned port, unsigned dead_port,
                const struct crawl_result *res, struct site_report *rep);

#endif
