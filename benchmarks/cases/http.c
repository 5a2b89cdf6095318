/*
 * http.c - the crawler's HTTP client: fetch one page (crawl_fetch).
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
 * The body of a 200 answer goes to the HTML parser (html.c); the links
 * it finds are resolved against the page's URL (url.c).
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "url.h"

/* A response header bigger than this is malformed (HTTP servers commonly
 * cap request headers at 8 KiB; we apply the same to responses). */
#define HEAD_MAX 8192

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
    pg->url = crawl_dup_n(url, strlen(url));
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
