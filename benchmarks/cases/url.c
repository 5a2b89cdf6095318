/*
 * url.c - the crawler's URLs: split, resolve, compare.
 *
 * The crawler meets URLs in two places: the start URL it is given and the
 * href of every <a> it parses.  An href is usually relative ("../b.html",
 * "?page=2", "//host/x"), so before it can be fetched or checked against
 * the seen set it is resolved against the page it came from, the way a
 * browser does (RFC 3986 section 5.2: take what the reference has, borrow
 * the rest from the base, then remove "." and ".." segments).  The result
 * is canonical enough that two links to the same page compare equal as
 * strings, which is all the seen set needs.  Only http:// is understood;
 * anything else is refused here, so the fetcher never sees it.
 */
#include "url.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Small strings ---------------------------------------------------- */

/* ---- Small strings ---------------------------------------------------- */

char *crawl_dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

bool crawl_starts_nocase(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++)
        if (tolower((unsigned char)*s) != *prefix)
            return false;
    return true;
}

/* ---- URLs -------------------------------------------------------------- */

/* Splits "http://host[:port]/path".  Returns false for anything else. */
bool url_split(const char *s, struct url *u)
{
    const char *h, *end, *colon;
    size_t hlen;

    if (!crawl_starts_nocase(s, "http://"))
        return false;
    h = s + 7;
    end = h + strcspn(h, "/?#");
    colon = memchr(h, ':', (size_t)(end - h));
    hlen = (size_t)((colon != NULL ? colon : end) - h);
    if (hlen == 0 || hlen >= sizeof(u->host))
        return false;
    for (size_t i = 0; i < hlen; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
            return false;
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    if (colon != NULL) {
        size_t plen = (size_t)(end - colon - 1);

        if (plen == 0 || plen >= 6)
            return false;
        for (size_t i = 0; i < plen; i++)
            if (!isdigit((unsigned char)colon[1 + i]))
                return false;
        memcpy(u->port, colon + 1, plen);
        u->port[plen] = '\0';
        if (atoi(u->port) == 0 || atoi(u->port) > 65535)
            return false;
    } else {
        strcpy(u->port, "80");
    }
    u->path = *end == '/' ? end : "/";
    return *end == '/' || *end == '\0';
}

/*
 * Removes "." and ".." segments from an absolute path, RFC 3986 section
 * 5.2.4, writing into out (at least strlen(path) + 1 bytes).  The query,
 * if any, is copied unchanged.
 */
static void remove_dots(const char *path, char *out)
{
    size_t o = 0;
    const char *p = path;
    const char *qmark = strchr(path, '?');
    const char *end = qmark != NULL ? qmark : path + strlen(path);

    while (p < end) {
        const char *seg = p + 1;        /* p points at a '/' */
        const char *next = seg;
        size_t slen;

        while (next < end && *next != '/')
            next++;
        slen = (size_t)(next - seg);
        if (slen == 1 && seg[0] == '.') {
            if (next == end)
                out[o++] = '/';
        } else if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[--o] != '/')
                continue;
            if (next == end)
                out[o++] = '/';
        } else {
            out[o++] = '/';
            memcpy(out + o, seg, slen);
            o += slen;
        }
        p = next;
    }
    if (o == 0)
        out[o++] = '/';
    strcpy(out + o, end);
}

/* True when ref starts with a URI scheme ("mailto:", "https:"...). */
static bool has_scheme(const char *ref)
{
    const char *p = ref;

    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':';
}

char *crawl_url_resolve(const char *base, const char *ref)
{
    struct url b;
    char *r, *path = NULL, *clean = NULL, *out = NULL;
    size_t need;

    r = crawl_dup_n(ref, strcspn(ref, "#"));
    if (r == NULL)
        return NULL;
    if (has_scheme(r)) {
        if (!crawl_starts_nocase(r, "http://") || !url_split(r, &b))
            goto done;
    } else if (!url_split(base, &b)) {
        goto done;
    }
    if (has_scheme(r)) {
        path = crawl_dup_n(b.path, strlen(b.path));
    } else if (r[0] == '/' && r[1] == '/') {
        goto done;          /* network-path references: not needed here */
    } else if (r[0] == '/') {
        path = crawl_dup_n(r, strlen(r));
    } else if (r[0] == '\0') {
        path = crawl_dup_n(b.path, strlen(b.path));
    } else if (r[0] == '?') {
        size_t keep = strcspn(b.path, "?");

        path = malloc(keep + strlen(r) + 1);
        if (path != NULL) {
            memcpy(path, b.path, keep);
            strcpy(path + keep, r);
        }
    } else {
        /* Merge: the base path up to its last '/', then the reference. */
        size_t keep = strcspn(b.path, "?");

        while (keep > 0 && b.path[keep - 1] != '/')
            keep--;
        path = malloc(keep + strlen(r) + 1);
        if (path != NULL) {
            memcpy(path, b.path, keep);
            strcpy(path + keep, r);
        }
    }
    if (path == NULL)
        goto done;
    clean = malloc(strlen(path) + 2);
    if (clean == NULL)
        goto done;
    remove_dots(path, clean);
    for (char *c = b.host; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    need = strlen(b.host) + strlen(b.port) + strlen(clean) + 16;
    out = malloc(need);
    if (out == NULL)
        goto done;
    if (strcmp(b.port, "80") == 0)
        snprintf(out, need, "http://%s%s", b.host, clean);
    else
        snprintf(out, need, "http://%s:%s%s", b.host, b.port, clean);
done:
    free(r);
    free(path);
    free(clean);
    return out;
}
