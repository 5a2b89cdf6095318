/*
 * html.c - the crawler's HTML: a page's title and links.
 *
 * PARSING (crawl_parse_html).  A small tokenizer, not a full HTML5 parser:
 * it walks the text once, skips comments, <!DOCTYPE>, and the raw text of
 * <script> and <style> (where "<a href" is not a link), reads tag names and
 * attributes in any case and with any quoting, takes the first <title>'s
 * text and every <a>'s href, and decodes the common character references.
 *
 * It is what BeautifulSoup does for the tutorial's scrape_page, cut down
 * to the two things a crawler needs.  It never fails on bad HTML: an
 * unclosed tag or quote ends the walk, and what was found so far counts.
 */
#include "html.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void crawl_strings_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- HTML -------------------------------------------------------------- */

/* Decodes character references in s[0..n) into a new string. */
static char *decode_entities(const char *s, size_t n)
{
    static const struct { const char *name; char c; } named[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
        { "apos;", '\'' }, { "nbsp;", ' ' },
    };
    char *d = malloc(n + 1), *o = d;
    size_t i = 0;

    if (d == NULL)
        return NULL;
    while (i < n) {
        bool done = false;

        if (s[i] == '&' && i + 1 < n && s[i + 1] == '#') {
            const char *p = s + i + 2;
            bool hex = p < s + n && (*p == 'x' || *p == 'X');
            unsigned long cp = 0;
            const char *q = p + hex;

            while (q < s + n && (hex ? isxdigit((unsigned char)*q)
                                     : isdigit((unsigned char)*q)) &&
                   cp <= 0x10ffff) {
                cp = cp * (hex ? 16 : 10) +
                     (unsigned long)(isdigit((unsigned char)*q)
                                         ? *q - '0'
                                         : tolower((unsigned char)*q) - 'a' +
                                               10);
                q++;
            }
            /* Only ASCII code points: "&#39;" and the like.  A code point
             * needing more UTF-8 bytes than its reference has characters
             * cannot occur (the shortest is "&#128;", 6 bytes for 2). */
            if (q > p + hex && q < s + n && *q == ';' && cp > 0 &&
                cp < 0x80) {
                *o++ = (char)cp;
                i = (size_t)(q + 1 - s);
                done = true;
            }
        } else if (s[i] == '&') {
            for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
                size_t len = strlen(named[k].name);

                if (i + 1 + len <= n &&
                    memcmp(s + i + 1, named[k].name, len) == 0) {
                    *o++ = named[k].c;
                    i += 1 + len;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            *o++ = s[i++];
    }
    *o = '\0';
    return d;
}

/* Finds "</name" (any case) at or after p; returns end if there is none. */
static const char *find_close(const char *p, const char *end,
                              const char *name)
{
    size_t len = strlen(name);

    for (; p + 2 + len <= end; p++)
        if (p[0] == '<' && p[1] == '/' &&
            strncasecmp(p + 2, name, len) == 0)
            return p;
    return end;
}

/* A growing array of strings. */
struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *sv, char *s)
{
    if (s == NULL)
        return ENOMEM;
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? 2 * sv->cap : 16;
        char **v = realloc(sv->v, cap * sizeof(*v));

        if (v == NULL) {
            free(s);
            return ENOMEM;
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/*
 * Reads one tag starting after its '<' at p: its name (lower-cased into
 * name) and, if it has one, the value of the attribute `want` (a new,
 * decoded string in *value).  Returns the position after the '>', or end.
 */
static const char *read_tag(const char *p, const char *end, char *name,
                            size_t name_cap, const char *want, char **value,
                            int *rc)
{
    size_t nl = 0;

    while (p < end && !is_space(*p) && *p != '>' && *p != '/') {
        if (nl + 1 < name_cap)
            name[nl++] = (char)tolower((unsigned char)*p);
        p++;
    }
    name[nl] = '\0';
    while (p < end && *p != '>') {
        const char *an, *vs = NULL;
        size_t alen, vlen = 0;

        if (is_space(*p) || *p == '/') {
            p++;
            continue;
        }
        an = p;
        while (p < end && !is_space(*p) && *p != '>' && *p != '=' &&
               *p != '/')
            p++;
        alen = (size_t)(p - an);
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == '=') {
            p++;
            while (p < end && is_space(*p))
                p++;
            if (p < end && (*p == '"' || *p == '\'')) {
                char q = *p++;

                vs = p;
                while (p < end && *p != q)
                    p++;
                vlen = (size_t)(p - vs);
                if (p < end)
                    p++;
            } else {
                vs = p;
                while (p < end && !is_space(*p) && *p != '>')
                    p++;
                vlen = (size_t)(p - vs);
            }
        }
        if (want != NULL && *value == NULL && vs != NULL &&
            alen == strlen(want) && strncasecmp(an, want, alen) == 0) {
            *value = decode_entities(vs, vlen);
            if (*value == NULL)
                *rc = ENOMEM;
        }
    }
    return p < end ? p + 1 : end;
}

/* Trims white space and decodes the text s[0..n) into a new string. */
static char *clean_text(const char *s, size_t n)
{
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    return decode_entities(s, n);
}

int crawl_parse_html(const char *html, size_t len, char **title,
                     char ***hrefs, size_t *nhrefs)
{
    const char *p = html, *end = html + len;
    struct strv sv = { 0 };
    char *t = NULL;
    int rc = 0;

    while (p < end && rc == 0) {
        char name[16];
        char *href = NULL;

        if (*p != '<') {
            p++;
            continue;
        }
        if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
            const char *c = p + 4;

            while (c + 3 <= end && memcmp(c, "-->", 3) != 0)
                c++;
            p = c + 3 <= end ? c + 3 : end;
            continue;
        }
        if (p + 1 < end && (p[1] == '!' || p[1] == '?' || p[1] == '/')) {
            p = memchr(p, '>', (size_t)(end - p));
            p = p != NULL ? p + 1 : end;
            continue;
        }
        if (p + 1 >= end || !isalpha((unsigned char)p[1])) {
            p++;
            continue;
        }
        p = read_tag(p + 1, end, name, sizeof(name),
                     p[1] == 'a' || p[1] == 'A' ? "href" : NULL, &href, &rc);
        if (rc != 0)
            break;
        if (strcmp(name, "a") == 0 && href != NULL) {
            rc = strv_push(&sv, href);      /* takes href, even on error */
            href = NULL;
        } else if (strcmp(name, "title") == 0) {
            const char *c = find_close(p, end, "title");

            if (t == NULL && (t = clean_text(p, (size_t)(c - p))) == NULL)
                rc = ENOMEM;
            p = c;
        } else if (strcmp(name, "script") == 0 ||
                   strcmp(name, "style") == 0) {
            p = find_close(p, end, name);
        }
        free(href);
    }
    if (rc != 0) {
        free(t);
        crawl_strings_free(sv.v, sv.n);
        *title = NULL;
        *hrefs = NULL;
        *nhrefs = 0;
        return rc;
    }
    *title = t;
    *hrefs = sv.v;
    *nhrefs = sv.n;
    return 0;
}
