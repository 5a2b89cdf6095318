/*
 * crawler.c - the tutorial's thread-pool crawler, in C, over real sockets.
 *
 * THE TUTORIAL'S VERSION (section 7.1) maps scrape_page over a list of
 * URLs with a ThreadPoolExecutor: requests.get(url, timeout=5) fetches,
 * BeautifulSoup finds the title and the links, and any exception becomes a
 * {'url', 'error'} record.  This file does the same three things by hand,
 * so that a student can see what the libraries hide, and then does what a
 * crawler does with the links: follows them.
 *
 * FETCHING (crawl_fetch).  One TCP connection per page, one HTTP/1.1 GET
 * with "Connection: close", read until the server closes or the
 * Content-Length has arrived.  Every socket is non-blocking and every wait
 * is a poll() with what is left of one deadline for the whole page, so the
 * timeout bounds connect, send and receive together: a server that accepts
 * and never answers costs exactly the timeout, never a hang.  A refused
 * connection, a timeout, a status other than 200 or a malformed answer is
 * recorded in the page, the way the tutorial's except clause does.
 *
 * PARSING (crawl_parse_html).  A small tokenizer, not a full HTML5 parser:
 * it walks the text once, skips comments, <!DOCTYPE>, and the raw text of
 * <script> and <style> (where "<a href" is not a link), reads tag names and
 * attributes in any case and with any quoting, takes the first <title>'s
 * text and every <a>'s href, and decodes the common character references.
 *
 * CRAWLING (crawl_run).  Breadth-first: a FIFO frontier of URLs to fetch
 * and a hash set of URLs already seen, both kept by the calling thread
 * alone.  The fetches are the tasks.  Each task ends by putting its page
 * on a completion queue (a mutex, a condition variable and a list); the
 * crawling thread takes finished pages off it in the order they finish,
 * adds their unseen links to the frontier and submits those.  So the
 * workers never touch the frontier or the seen set, and the only shared
 * state is the completion queue.  Waiting for "any page" rather than for
 * the futures in order keeps one slow page from holding up the links of
 * the fast ones (head-of-line blocking).  Sequential mode is the same
 * loop with each fetch run in the calling thread.
 *
 * ORDER.  Pages are submitted in the order their URLs were discovered,
 * and the pool's queue is FIFO, so fetches start in breadth-first order;
 * with W workers they finish roughly so (a slow page finishes late).
 */
#include "crawler.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threadpool.h"

/* A response header bigger than this is malformed (HTTP servers commonly
 * cap request headers at 8 KiB; we apply the same to responses). */
#define HEAD_MAX 8192

/* ---- Small strings ---------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool starts_nocase(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++)
        if (tolower((unsigned char)*s) != *prefix)
            return false;
    return true;
}

void crawl_strings_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- URLs -------------------------------------------------------------- */

/* An http URL split into its parts; each points into a caller's buffer. */
struct url {
    char host[256];
    char port[8];
    const char *path;       /* from the first '/', with any query */
};

/* Splits "http://host[:port]/path".  Returns false for anything else. */
static bool url_split(const char *s, struct url *u)
{
    const char *h, *end, *colon;
    size_t hlen;

    if (!starts_nocase(s, "http://"))
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

    r = dup_n(ref, strcspn(ref, "#"));
    if (r == NULL)
        return NULL;
    if (has_scheme(r)) {
        if (!starts_nocase(r, "http://") || !url_split(r, &b))
            goto done;
    } else if (!url_split(base, &b)) {
        goto done;
    }
    if (has_scheme(r)) {
        path = dup_n(b.path, strlen(b.path));
    } else if (r[0] == '/' && r[1] == '/') {
        goto done;          /* network-path references: not needed here */
    } else if (r[0] == '/') {
        path = dup_n(r, strlen(r));
    } else if (r[0] == '\0') {
        path = dup_n(b.path, strlen(b.path));
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

/* ---- Fetching ---------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes.  Returns 0,
 * ETIMEDOUT or poll's errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = deadline - now_ms();
        int n;

        if (left <= 0)
            return ETIMEDOUT;
        n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

/* Records a failure in the page. */
static void fail_page(struct crawl_page *pg, enum crawl_status st, int err,
                      const char *what)
{
    pg->status = st;
    pg->err = err;
    if (err != 0)
        snprintf(pg->error, sizeof(pg->error), "%s: %s", what,
                 strerror(err));
    else
        snprintf(pg->error, sizeof(pg->error), "%s", what);
}

/* Connects to u before the deadline, trying each address in turn.  Returns
 * the socket, or -1 with the failure recorded in pg. */
static int connect_to(const struct url *u, int64_t deadline,
                      struct crawl_page *pg)
{
    struct addrinfo hints = { .ai_family = AF_INET,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res, *ai;
    int rc, err = ECONNREFUSED;

    rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        fail_page(pg, CRAWL_NET, 0, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        socklen_t len = sizeof(err);
        int fd = socket(ai->ai_family,
                        ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);

        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = errno;
        if (err == EINPROGRESS) {
            err = wait_fd(fd, POLLOUT, deadline);
            if (err == 0 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
            if (err == 0) {
                freeaddrinfo(res);
                return fd;
            }
        }
        close(fd);
        if (err == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (err == ECONNREFUSED)
        fail_page(pg, CRAWL_REFUSED, err, "connect");
    else if (err == ETIMEDOUT)
        fail_page(pg, CRAWL_TIMEOUT, 0, "timed out connecting");
    else
        fail_page(pg, CRAWL_NET, err, "connect");
    return -1;
}

/* Finds header `name` (lower case, with the colon) in the header block
 * head[0..n); returns its value or NULL. */
static const char *header(const char *head, size_t n, const char *name)
{
    const char *p = head, *end = head + n;
    size_t len = strlen(name);

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));

        if (eol == NULL)
            break;
        p = eol + 1;
        if ((size_t)(end - p) > len && strncasecmp(p, name, len) == 0) {
            p += len;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Interprets a complete response buf[0..n): status, headers, body. */
static int parse_response(char *buf, size_t n, struct crawl_page *pg)
{
    char *body = strstr(buf, "\r\n\r\n");
    const char *cl, *te;
    int major, minor, code;
    size_t hlen, blen;
    char **hrefs;
    size_t nhrefs;
    int rc;

    if (body == NULL ||
        sscanf(buf, "HTTP/%d.%d %3d", &major, &minor, &code) != 3 ||
        major != 1 || code < 100 || code > 999) {
        fail_page(pg, CRAWL_BAD_RESPONSE, 0, "not an HTTP/1.x response");
        return 0;
    }
    pg->http = code;
    hlen = (size_t)(body - buf) + 2;
    body += 4;
    blen = n - (size_t)(body - buf);
    te = header(buf, hlen, "transfer-encoding:");
    if (te != NULL && strncasecmp(te, "identity", 8) != 0) {
        fail_page(pg, CRAWL_BAD_RESPONSE, 0, "transfer-encoding not supported");
        return 0;
    }
    cl = header(buf, hlen, "content-length:");
    if (cl != NULL) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);

        if (e == cl || v != blen) {
            fail_page(pg, CRAWL_BAD_RESPONSE, 0,
                      "body length differs from Content-Length");
            return 0;
        }
    }
    if (code != 200) {
        char what[32];

        snprintf(what, sizeof(what), "HTTP %d", code);
        fail_page(pg, CRAWL_HTTP, 0, what);
        return 0;
    }
    rc = crawl_parse_html(body, blen, &pg->title, &hrefs, &nhrefs);
    if (rc != 0)
        return rc;
    /* Keep http links resolved; keep the others (mailto:, https:) as
     * written, so nlinks counts every <a href> as BeautifulSoup would. */
    for (size_t i = 0; i < nhrefs; i++) {
        char *abs = crawl_url_resolve(pg->url, hrefs[i]);

        if (abs != NULL) {
            free(hrefs[i]);
            hrefs[i] = abs;
        }
    }
    pg->links = hrefs;
    pg->nlinks = nhrefs;
    pg->status = CRAWL_OK;
    return 0;
}

/* Sends the request and reads the whole response into a new buffer. */
static int exchange(int fd, const struct url *u, int64_t deadline,
                    size_t max_body, struct crawl_page *pg, char **bufp,
                    size_t *lenp)
{
    char req[1536];
    size_t cap = 16384, n = 0, sent = 0, limit = HEAD_MAX + max_body;
    int rlen, err;
    char *buf;

    *bufp = NULL;
    rlen = snprintf(req, sizeof(req),
                    "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
                    "User-Agent: poolbench-crawl/1\r\n"
                    "Accept: text/html\r\nConnection: close\r\n\r\n",
                    u->path, u->host, u->port);
    if (rlen < 0 || (size_t)rlen >= sizeof(req)) {
        fail_page(pg, CRAWL_BAD_URL, 0, "URL too long");
        return 0;
    }
    while (sent < (size_t)rlen) {
        ssize_t k = send(fd, req + sent, (size_t)rlen - sent, MSG_NOSIGNAL);

        if (k >= 0) {
            sent += (size_t)k;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail_page(pg, CRAWL_NET, errno, "send");
            return 0;
        }
        if ((err = wait_fd(fd, POLLOUT, deadline)) != 0) {
            fail_page(pg, err == ETIMEDOUT ? CRAWL_TIMEOUT : CRAWL_NET,
                      err == ETIMEDOUT ? 0 : err, "timed out sending");
            return 0;
        }
    }
    buf = malloc(cap);
    if (buf == NULL)
        return ENOMEM;
    for (;;) {
        ssize_t k;

        if (n + 1 == cap) {
            char *b;

            if (cap > limit) {
                free(buf);
                fail_page(pg, CRAWL_BAD_RESPONSE, 0, "response too big");
                return 0;
            }
            b = realloc(buf, 2 * cap);
            if (b == NULL) {
                free(buf);
                return ENOMEM;
            }
            buf = b;
            cap *= 2;
        }
        k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k > 0) {
            n += (size_t)k;
            continue;
        }
        if (k == 0)
            break;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            err = errno;
            free(buf);
            fail_page(pg, CRAWL_NET, err, "recv");
            return 0;
        }
        if ((err = wait_fd(fd, POLLIN, deadline)) != 0) {
            free(buf);
            if (err == ETIMEDOUT)
                fail_page(pg, CRAWL_TIMEOUT, 0, "timed out waiting");
            else
                fail_page(pg, CRAWL_NET, err, "poll");
            return 0;
        }
    }
    buf[n] = '\0';
    *bufp = buf;
    *lenp = n;
    return 0;
}

int crawl_fetch(const char *url, unsigned timeout_ms, size_t max_body,
                struct crawl_page *pg)
{
    int64_t t0 = now_ms(), deadline = t0 + timeout_ms;
    struct timespec a, b;
    struct url u;
    char *buf = NULL;
    size_t n = 0;
    int fd, rc = 0;

    memset(pg, 0, sizeof(*pg));
    clock_gettime(CLOCK_MONOTONIC, &a);
    pg->url = dup_n(url, strlen(url));
    if (pg->url == NULL)
        return ENOMEM;
    if (!url_split(url, &u)) {
        fail_page(pg, CRAWL_BAD_URL, 0, "not an http:// URL");
    } else if ((fd = connect_to(&u, deadline, pg)) >= 0) {
        rc = exchange(fd, &u, deadline, max_body, pg, &buf, &n);
        close(fd);
        if (rc == 0 && buf != NULL)
            rc = parse_response(buf, n, pg);
        free(buf);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pg->seconds = (double)(b.tv_sec - a.tv_sec) +
                  (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (rc != 0) {
        crawl_page_release(pg);
        return rc;
    }
    return 0;
}

void crawl_page_release(struct crawl_page *pg)
{
    if (pg == NULL)
        return;
    free(pg->url);
    free(pg->title);
    crawl_strings_free(pg->links, pg->nlinks);
    memset(pg, 0, sizeof(*pg));
}

/* ---- Crawling ---------------------------------------------------------- */

/* One URL to fetch: the task's argument, then its finished page. */
struct job {
    struct crawl_page page;
    char *url;
    int rc;                 /* crawl_fetch's return: 0 or ENOMEM */
    struct crawler *cr;
    struct job *next;
};

/* The state of one crawl_run().  Only `lock` and what it protects are
 * shared with the workers; the rest belongs to the calling thread. */
struct crawler {
    const struct crawl_opts *o;
    pthread_mutex_t lock;
    pthread_cond_t finished;        /* signalled when `done` grows */
    struct job *done, *done_tail;   /* finished jobs; protected by lock */
    char start_host[256];
    char **seen;                    /* open-addressing hash set */
    size_t seen_n, seen_cap;
};

/* FNV-1a, 64 bits (Fowler, Noll, Vo): a simple, decent string hash. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* Adds url to the seen set.  Returns 0 if it was new (the set now owns a
 * copy), EEXIST if it was there, or ENOMEM. */
static int seen_add(struct crawler *cr, const char *url)
{
    size_t mask, i;

    if (2 * (cr->seen_n + 1) > cr->seen_cap) {
        size_t cap = cr->seen_cap ? 2 * cr->seen_cap : 1024;
        char **t = calloc(cap, sizeof(*t));

        if (t == NULL)
            return ENOMEM;
        for (size_t k = 0; k < cr->seen_cap; k++) {
            if (cr->seen[k] == NULL)
                continue;
            i = hash_str(cr->seen[k]) & (cap - 1);
            while (t[i] != NULL)
                i = (i + 1) & (cap - 1);
            t[i] = cr->seen[k];
        }
        free(cr->seen);
        cr->seen = t;
        cr->seen_cap = cap;
    }
    mask = cr->seen_cap - 1;
    for (i = hash_str(url) & mask; cr->seen[i] != NULL; i = (i + 1) & mask)
        if (strcmp(cr->seen[i], url) == 0)
            return EEXIST;
    cr->seen[i] = dup_n(url, strlen(url));
    if (cr->seen[i] == NULL)
        return ENOMEM;
    cr->seen_n++;
    return 0;
}

/* The task: fetch one page and hand it to the crawling thread. */
static int fetch_task(void *arg, void **result)
{
    struct job *j = arg;
    struct crawler *cr = j->cr;

    (void)result;
    j->rc = crawl_fetch(j->url, cr->o->timeout_ms, cr->o->max_body,
                        &j->page);
    j->next = NULL;
    pthread_mutex_lock(&cr->lock);
    if (cr->done_tail != NULL)
        cr->done_tail->next = j;
    else
        cr->done = j;
    cr->done_tail = j;
    /* Signal while holding the lock: once we unlock, the crawling thread
     * may take the last job and destroy the condition variable. */
    pthread_cond_signal(&cr->finished);
    pthread_mutex_unlock(&cr->lock);
    return 0;
}

static void job_free(struct job *j)
{
    crawl_page_release(&j->page);
    free(j->url);
    free(j);
}

/* Queues url if it is in scope and new.  Returns 0 or ENOMEM. */
static int discover(struct crawler *cr, const char *url, struct job **tail)
{
    struct url u;
    struct job *j;
    int rc;

    if (!starts_nocase(url, "http://") || !url_split(url, &u) ||
        strcmp(u.host, cr->start_host) != 0 ||
        cr->seen_n >= cr->o->max_pages)
        return 0;
    rc = seen_add(cr, url);
    if (rc != 0)
        return rc == EEXIST ? 0 : rc;
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->url = dup_n(url, strlen(url))) == NULL) {
        free(j);
        return ENOMEM;
    }
    j->cr = cr;
    (*tail)->next = j;
    *tail = j;
    return 0;
}

/* Moves j's page into res.  Returns 0 or ENOMEM. */
static int keep_page(struct crawl_result *res, size_t *cap, struct job *j)
{
    if (res->npages == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        struct crawl_page *p = realloc(res->pages, c * sizeof(*p));

        if (p == NULL)
            return ENOMEM;
        res->pages = p;
        *cap = c;
    }
    res->pages[res->npages++] = j->page;
    if (j->page.status == CRAWL_OK)
        res->ok++;
    else
        res->errors++;
    memset(&j->page, 0, sizeof(j->page));
    return 0;
}

int crawl_run(const char *start_url, const struct crawl_opts *o,
              struct crawl_result *res)
{
    struct crawler cr = { .o = o };
    struct job head = { 0 }, *tail = &head, *fin;
    size_t inflight = 0, cap = 0;
    struct url u;
    char *start;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    start = crawl_url_resolve(start_url, "");
    if (start == NULL || !url_split(start, &u) || o->max_pages == 0) {
        free(start);
        return EINVAL;
    }
    strcpy(cr.start_host, u.host);
    if ((rc = pthread_mutex_init(&cr.lock, NULL)) != 0) {
        free(start);
        return rc;
    }
    if ((rc = pthread_cond_init(&cr.finished, NULL)) != 0) {
        pthread_mutex_destroy(&cr.lock);
        free(start);
        return rc;
    }
    rc = discover(&cr, start, &tail);
    free(start);
    while (rc == 0 || inflight > 0) {
        /* Submit the frontier, oldest first: breadth-first order. */
        while (head.next != NULL) {
            struct job *j = head.next;

            head.next = j->next;
            if (head.next == NULL)
                tail = &head;
            if (rc != 0) {
                job_free(j);
                continue;
            }
            if (o->pool == NULL) {
                void *unused;

                fetch_task(j, &unused);
            } else if ((rc = tp_submit(o->pool, fetch_task, j, NULL)) != 0) {
                job_free(j);
                continue;
            }
            inflight++;
        }
        if (inflight == 0)
            break;
        /* Wait for pages to finish; take all that have. */
        pthread_mutex_lock(&cr.lock);
        while (cr.done == NULL)
            pthread_cond_wait(&cr.finished, &cr.lock);
        fin = cr.done;
        cr.done = cr.done_tail = NULL;
        pthread_mutex_unlock(&cr.lock);
        while (fin != NULL) {
            struct job *j = fin;

            fin = j->next;
            inflight--;
            if (rc == 0)
                rc = j->rc;
            for (size_t i = 0; rc == 0 && i < j->page.nlinks; i++)
                rc = discover(&cr, j->page.links[i], &tail);
            if (rc == 0)
                rc = keep_page(res, &cap, j);
            job_free(j);
        }
    }
    for (size_t k = 0; k < cr.seen_cap; k++)
        free(cr.seen[k]);
    free(cr.seen);
    pthread_cond_destroy(&cr.finished);
    pthread_mutex_destroy(&cr.lock);
    if (rc != 0)
        crawl_result_release(res);
    return rc;
}

void crawl_result_release(struct crawl_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->npages; i++)
        crawl_page_release(&res->pages[i]);
    free(res->pages);
    memset(res, 0, sizeof(*res));
}
