/*
 * url.h - the crawler's http URLs (url.c): split one into host, port and
 * path, resolve a link against the page it came from.
 */
#ifndef BENCH_URL_H
#define BENCH_URL_H

#include <stdbool.h>
#include <stddef.h>

/* An http URL split into its parts; each points into a caller's buffer. */
struct url {
    char host[256];
    char port[8];
    const char *path;       /* from the first '/', with any query */
};

/* Splits "http://host[:port]/path" into *u (u->path points into s).
 * Returns false for anything else. */
bool url_split(const char *s, struct url *u);

/*
 * crawl_url_resolve() resolves ref against the absolute http URL base
 * (RFC 3986 section 5.2, dot segments removed) and drops the fragment.
 * Returns a new string, or NULL if ref is not an http URL or memory ran
 * out.
 */
char *crawl_url_resolve(const char *base, const char *ref);

/* Small string helpers the crawler's files share: a NUL-terminated copy
 * of n bytes (NULL when memory ran out), and whether s starts with the
 * lower-case prefix in any case. */
char *crawl_dup_n(const char *s, size_t n);
bool crawl_starts_nocase(const char *s, const char *prefix);

#endif
