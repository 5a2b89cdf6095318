/*
 * site.c - the generated web site of the crawler case study.
 *
 * The site is not stored: the server asks site_render() for a page when a
 * request arrives and gets it built from the page number and a table of
 * random link targets made once by site_create().  That keeps a
 * 100000-page site at a few megabytes and makes each response cost a
 * little real work, as a dynamic web server's would.
 *
 * The HTML is deliberately awkward (see site.h): it is the test data of the
 * crawler's parser as much as the benchmark's payload.  site_verify() is
 * the other half: it knows, from the same numbers, what a crawl must have
 * found.
 *
 * The random numbers come from SplitMix64 (Steele, Lea and Flood, "Fast
 * splittable pseudorandom number generators", OOPSLA 2014), which turns any
 * 64-bit counter into a well-mixed value: target j of page i is
 * splitmix(seed, i * links + j), so every page can be rendered on its own,
 * in any order, by any thread.
 */
#include "site.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

struct site {
    struct site_opts o;
    unsigned nfaults;
    unsigned *targets;      /* [pages * links]: the random links */
};

/* The fault kinds, in the order of their numbers: fault k is dead for
 * k < dead, then slow, then missing. */
enum fault { FAULT_DEAD, FAULT_SLOW, FAULT_MISSING };

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

int site_create(const struct site_opts *o, struct site **out)
{
    struct site *s;
    size_t n;

    *out = NULL;
    if (o->pages == 0 || o->pages > SITE_MAX_PAGES ||
        o->links > SITE_MAX_LINKS || o->dead > SITE_MAX_PAGES ||
        o->slow > SITE_MAX_PAGES || o->missing > SITE_MAX_PAGES)
        return EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ENOMEM;
    s->o = *o;
    s->nfaults = o->dead + o->slow + o->missing;
    n = (size_t)o->pages * o->links;
    if (n > 0) {
        s->targets = malloc(n * sizeof(*s->targets));
        if (s->targets == NULL) {
            free(s);
            return ENOMEM;
        }
    }
    for (size_t k = 0; k < n; k++)
        s->targets[k] = (unsigned)(splitmix(o->seed ^ splitmix(k)) %
                                   o->pages);
    *out = s;
    return 0;
}

void site_destroy(struct site *s)
{
    if (s == NULL)
        return;
    free(s->targets);
    free(s);
}

unsigned site_pages(const struct site *s)
{
    return s->o.pages;
}

unsigned site_faults(const struct site *s)
{
    return s->nfaults;
}

static enum fault fault_kind(const struct site *s, unsigned k)
{
    if (k < s->o.dead)
        return FAULT_DEAD;
    if (k < s->o.dead + s->o.slow)
        return FAULT_SLOW;
    return FAULT_MISSING;
}

/* The number of fault k within its kind: the K of /slow/K.html. */
static unsigned fault_number(const struct site *s, unsigned k)
{
    switch (fault_kind(s, k)) {
    case FAULT_DEAD:
        return k;
    case FAULT_SLOW:
        return k - s->o.dead;
    case FAULT_MISSING:
        break;
    }
    return k - s->o.dead - s->o.slow;
}

/* The page that links to fault k: spread over the site by a stride
 * (7 is prime, so for most N the faults land on different pages). */
static unsigned fault_page(const struct site *s, unsigned k)
{
    return (unsigned)(((unsigned long long)k * 7u + 3u) % s->o.pages);
}

/* Parses "/DIR/NUMBER.html" where prefix is "/DIR/".  Leading zeros and
 * signs are refused so that each page has exactly one path. */
static bool parse_numbered(const char *path, const char *prefix,
                           unsigned *out)
{
    size_t plen = strlen(prefix);
    unsigned long v = 0;
    const char *p;

    if (strncmp(path, prefix, plen) != 0)
        return false;
    p = path + plen;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.'))
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 4000000000u)
            return false;
    }
    if (strcmp(p, ".html") != 0)
        return false;
    *out = (unsigned)v;
    return true;
}

enum site_route site_route(const struct site *s, const char *path,
                           unsigned *index)
{
    unsigned v;

    if (parse_numbered(path, "/page/", &v) && v < s->o.pages) {
        *index = v;
        return SITE_PAGE;
    }
    if (parse_numbered(path, "/slow/", &v) && v < s->o.slow) {
        *index = v;
        return SITE_SLOW;
    }
    return SITE_NOT_FOUND;
}

size_t site_link_count(const struct site *s, unsigned i)
{
    /* children + random links + https, mailto and #top + faults here */
    size_t n = s->o.links + 3;

    if (2ull * i + 1 < s->o.pages)
        n++;
    if (2ull * i + 2 < s->o.pages)
        n++;
    for (unsigned k = 0; k < s->nfaults; k++)
        if (fault_page(s, k) == i)
            n++;
    return n;
}

void site_title(const struct site *s, unsigned i, char *buf, size_t cap)
{
    snprintf(buf, cap, "Page %u <of %u>", i, s->o.pages);
}

/* One random link in one of four spellings, chosen by its position j. */
static void put_link(FILE *f, unsigned j, unsigned t, unsigned port)
{
    switch (j % 4) {
    case 0:
        fprintf(f, "<li><a href=\"%u.html\">page %u</a></li>\n", t, t);
        break;
    case 1:
        fprintf(f, "<li><A HREF='http://127.0.0.1:%u/page/%u.html#s%u'>"
                "page %u</A></li>\n", port, t, j, t);
        break;
    case 2:
        fprintf(f, "<li><a class=x href=../page/%u.html>page %u</a></li>\n",
                t, t);
        break;
    default:
        fprintf(f, "<li><a\n    title=\"a > b\" href = \"/page/%u.html\""
                ">page %u</a></li>\n", t, t);
        break;
    }
}

static void put_fault(const struct site *s, FILE *f, unsigned k,
                      unsigned port, unsigned dead_port)
{
    unsigned num = fault_number(s, k);

    switch (fault_kind(s, k)) {
    case FAULT_DEAD:
        fprintf(f, "<li><a href=\"http://127.0.0.1:%u/page/%u.html\">"
                "gone</a></li>\n", dead_port, num);
        break;
    case FAULT_SLOW:
        fprintf(f, "<li><a href=\"/slow/%u.html\">slow</a></li>\n", num);
        break;
    case FAULT_MISSING:
        fprintf(f, "<li><a href=\"http://127.0.0.1:%u/page/%u.html\">"
                "missing</a></li>\n", port, s->o.pages + num);
        break;
    }
}

int site_render(const struct site *s, unsigned i, unsigned port,
                unsigned dead_port, char **html, size_t *len)
{
    FILE *f;
    char *buf = NULL;
    size_t size = 0;

    *html = NULL;
    *len = 0;
    if (i >= s->o.pages)
        return EINVAL;
    /* open_memstream (POSIX.1-2008) grows the buffer as we print. */
    f = open_memstream(&buf, &size);
    if (f == NULL)
        return ENOMEM;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
            "<meta charset=\"utf-8\">\n"
            "<title>Page %u &lt;of %u&gt;</title>\n"
            "<style>ul > li { margin: 0 }</style>\n"
            "<script>var s = \"<a href='/page/script.html'>\";</script>\n"
            "</head>\n<body>\n<h1 id=top>Page %u</h1>\n"
            "<a name=\"top\"></a>\n"
            "<!-- moved -> <a href=\"/page/commented.html\">old</a> -->\n"
            "<ul>\n",
            i, s->o.pages, i);
    for (unsigned c = 1; c <= 2; c++)
        if (2ull * i + c < s->o.pages)
            fprintf(f, "<li><a href=\"/page/%u.html\">child</a></li>\n",
                    2 * i + c);
    for (unsigned j = 0; j < s->o.links; j++)
        put_link(f, j, s->targets[(size_t)i * s->o.links + j], port);
    fprintf(f, "<li><a href=\"https://example.org/p%u\">elsewhere</a></li>\n"
            "<li><a href=\"mailto:crawler@example.org\">mail</a></li>\n"
            "<li><a href=\"#top\">top</a></li>\n", i);
    for (unsigned k = 0; k < s->nfaults; k++)
        if (fault_page(s, k) == i)
            put_fault(s, f, k, port, dead_port);
    fprintf(f, "</ul>\n</body>\n</html>\n");
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return ENOMEM;
    }
    *html = buf;
    *len = size;
    return 0;
}

/* Splits "http://127.0.0.1:PORT/PATH" into port and path. */
static bool split_url(const char *url, unsigned *port, const char **path)
{
    static const char prefix[] = "http://127.0.0.1:";
    unsigned long v = 0;
    const char *p;

    if (strncmp(url, prefix, sizeof(prefix) - 1) != 0)
        return false;
    p = url + sizeof(prefix) - 1;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return false;
    }
    if (*p != '/')
        return false;
    *port = (unsigned)v;
    *path = p;
    return true;
}

/* Finds which fault a record's URL is, or returns false. */
static bool which_fault(const struct site *s, unsigned uport,
                        const char *path, unsigned port, unsigned dead_port,
                        unsigned *k)
{
    unsigned v;

    if (uport == dead_port && parse_numbered(path, "/page/", &v) &&
        v < s->o.dead) {
        *k = v;
        return true;
    }
    if (uport != port)
        return false;
    if (parse_numbered(path, "/slow/", &v) && v < s->o.slow) {
        *k = s->o.dead + v;
        return true;
    }
    if (parse_numbered(path, "/page/", &v) && v >= s->o.pages &&
        v - s->o.pages < s->o.missing) {
        *k = s->o.dead + s->o.slow + (v - s->o.pages);
        return true;
    }
    return false;
}

static bool fault_ok(const struct site *s, unsigned k,
                     const struct crawl_page *pg)
{
    switch (fault_kind(s, k)) {
    case FAULT_DEAD:
        return pg->status == CRAWL_REFUSED;
    case FAULT_SLOW:
        return pg->status == CRAWL_TIMEOUT;
    case FAULT_MISSING:
        break;
    }
    return pg->status == CRAWL_HTTP && pg->http == 404;
}

static bool page_ok(const struct site *s, unsigned i,
                    const struct crawl_page *pg)
{
    char title[64];

    if (pg->status != CRAWL_OK || pg->title == NULL)
        return false;
    site_title(s, i, title, sizeof(title));
    return strcmp(pg->title, title) == 0 &&
           pg->nlinks == site_link_count(s, i);
}

/* Marks entry t seen; true the first time. */
static bool first_time(unsigned char *seen, size_t t)
{
    bool first = seen[t] == 0;

    seen[t] = 1;
    return first;
}

int site_verify(const struct site *s, unsigned port, unsigned dead_port,
                const struct crawl_result *res, struct site_report *rep)
{
    unsigned char *seen;
    size_t total = (size_t)s->o.pages + s->nfaults;

    memset(rep, 0, sizeof(*rep));
    seen = calloc(total, 1);
    if (seen == NULL)
        return ENOMEM;
    for (size_t r = 0; r < res->npages; r++) {
        const struct crawl_page *pg = &res->pages[r];
        const char *path;
        unsigned uport, v, k;

        if (!split_url(pg->url, &uport, &path)) {
            rep->wrong++;
        } else if (uport == port && parse_numbered(path, "/page/", &v) &&
                   v < s->o.pages) {
            if (first_time(seen, v) && page_ok(s, v, pg))
                rep->pages_ok++;
            else
                rep->wrong++;
        } else if (which_fault(s, uport, path, port, dead_port, &k)) {
            if (first_time(seen, s->o.pages + k) && fault_ok(s, k, pg))
                rep->faults_ok++;
            else
                rep->wrong++;
        } else {
            rep->wrong++;
        }
    }
    for (size_t t = 0; t < total; t++)
        if (seen[t] == 0)
            rep->missed++;
    free(seen);
    return 0;
}
