/*
 * httpd.c - the crawler case study's loopback web server.
 *
 * HOW IT WORKS.  One thread runs an event loop around poll().  The loop
 * watches three kinds of descriptors: the read end of a "stop" pipe (the
 * self-pipe trick: httpd_stop() writes a byte, which wakes poll() however
 * long it was going to sleep), the listening socket, and one socket per
 * connection.  A connection moves through states:
 *
 *     READ   collecting the request until the blank line that ends it
 *     WAIT   the response is ready; it leaves at `due` (the delay)
 *     WRITE  sending the response (the socket may take it in pieces)
 *     DRAIN  response sent and our side shut down; read until the client
 *            closes, so that closing never turns into a reset that could
 *            destroy response bytes still in flight ("lingering close")
 *     HOLD   a /slow/ request: never answered, closed when the client
 *            gives up or the server stops
 *
 * poll()'s timeout is the nearest deadline, so the thread sleeps exactly
 * until something has to happen: a delay is a timestamp, not a sleeping
 * thread.  This is how nginx and libuv wait for many things at once, and
 * the reason one thread can keep a thousand delayed responses in flight.
 *
 * WHAT IT DOES NOT DO.  Keep-alive, pipelining, request bodies, HEAD,
 * IPv6: the crawler sends one GET per connection.  Every socket is
 * non-blocking, so no single client can stall the loop.
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "site.h"

/* A request line and headers larger than this get a 400: the crawler's
 * are under 200 bytes. */
#define REQ_MAX 4096
/* How long a client may take to send its request, and to close after the
 * response, before the server gives up on it. */
#define READ_TIMEOUT_MS 10000
#define DRAIN_TIMEOUT_MS 2000

enum state { ST_READ, ST_WAIT, ST_WRITE, ST_DRAIN, ST_HOLD };

struct conn {
    int fd;
    enum state st;
    int64_t deadline;       /* ms: READ/DRAIN give-up time, WAIT due time */
    size_t rlen;
    char req[REQ_MAX];
    char *resp;             /* header and body, malloc'd */
    size_t resp_len, sent;
};

/* Everything below belongs to the server thread once it runs, except
 * lfd, port, opts and stop_pipe[1], which are set before it starts and
 * never change.  stats, hits and err are read by httpd_stop() only after
 * pthread_join(), which orders those reads after the thread's writes. */
struct httpd {
    struct httpd_opts opts;
    int lfd;
    unsigned port;
    int stop_pipe[2];
    pthread_t thread;
    struct conn **conns;
    size_t nconns;
    struct pollfd *pfds;
    unsigned *hits;         /* [pages]: 200 responses per page */
    struct httpd_stats stats;
    int64_t accept_after;   /* ms: accept() ran out of descriptors */
    int err;
};

/* After accept() fails for want of file descriptors, how long to leave the
 * listening socket alone: polling it at once would spin, since the waiting
 * connection keeps it readable. */
#define ACCEPT_RETRY_MS 10

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
        return errno;
    return 0;
}

static void conn_close(struct httpd *h, size_t i)
{
    struct conn *c = h->conns[i];

    close(c->fd);
    free(c->resp);
    free(c);
    h->conns[i] = h->conns[--h->nconns];
}

/* Builds the response in c->resp: status line, headers, body. */
static int respond(struct conn *c, int code, const char *reason,
                   const char *body, size_t blen)
{
    char head[256];
    int hlen;

    hlen = snprintf(head, sizeof(head),
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "Content-Length: %zu\r\n"
                    "%s"
                    "Connection: close\r\n\r\n",
                    code, reason, blen,
                    code == 405 ? "Allow: GET\r\n" : "");
    c->resp = malloc((size_t)hlen + blen);
    if (c->resp == NULL)
        return ENOMEM;
    memcpy(c->resp, head, (size_t)hlen);
    memcpy(c->resp + hlen, body, blen);
    c->resp_len = (size_t)hlen + blen;
    c->sent = 0;
    return 0;
}

static int respond_error(struct conn *c, int code, const char *reason)
{
    char body[128];
    int n = snprintf(body, sizeof(body),
                     "<html><title>%d %s</title></html>\n", code, reason);

    return respond(c, code, reason, body, (size_t)n);
}

/*
 * The request in c->req is complete: route it and prepare the answer.
 * Caller is the server thread.
 */
static int handle_request(struct httpd *h, struct conn *c)
{
    char method[16], path[1024], version[16];
    unsigned idx;
    char *html;
    size_t len;
    int rc;

    c->st = ST_WAIT;
    c->deadline = now_ms() + h->opts.delay_ms;
    /* The widths keep sscanf inside the buffers. */
    if (sscanf(c->req, "%15s %1023s %15s", method, path, version) != 3 ||
        (strcmp(version, "HTTP/1.1") != 0 &&
         strcmp(version, "HTTP/1.0") != 0)) {
        h->stats.bad++;
        return respond_error(c, 400, "Bad Request");
    }
    if (strcmp(method, "GET") != 0) {
        h->stats.bad++;
        return respond_error(c, 405, "Method Not Allowed");
    }
    switch (site_route(h->opts.site, path, &idx)) {
    case SITE_PAGE:
        rc = site_render(h->opts.site, idx, h->port, h->opts.dead_port,
                         &html, &len);
        if (rc != 0)
            return rc;
        rc = respond(c, 200, "OK", html, len);
        free(html);
        if (rc == 0) {
            h->stats.ok++;
            if (h->hits[idx]++ == 0)
                h->stats.pages_served++;
            if (h->hits[idx] > h->stats.max_hits)
                h->stats.max_hits = h->hits[idx];
        }
        return rc;
    case SITE_SLOW:
        h->stats.held++;
        c->st = ST_HOLD;
        return 0;
    case SITE_NOT_FOUND:
        break;
    }
    h->stats.not_found++;
    return respond_error(c, 404, "Not Found");
}

/* Reads what the client sent.  Returns false when the connection is
 * finished (closed by the client, or an error). */
static bool conn_read(struct httpd *h, struct conn *c)
{
    char sink[512];
    ssize_t n;

    if (c->st != ST_READ) {
        /* DRAIN and HOLD: discard until the client closes. */
        n = recv(c->fd, sink, sizeof(sink), 0);
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                                   errno == EINTR));
    }
    n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0)
        return false;
    c->rlen += (size_t)n;
    c->req[c->rlen] = '\0';
    if (strstr(c->req, "\r\n\r\n") != NULL) {
        if ((h->err = handle_request(h, c)) != 0)
            return false;
    } else if (c->rlen == sizeof(c->req) - 1) {
        c->st = ST_WAIT;
        c->deadline = now_ms();
        h->stats.bad++;
        if ((h->err = respond_error(c, 400, "Bad Request")) != 0)
            return false;
    }
    return true;
}

/* Sends what the socket takes.  Returns false when the connection is
 * finished. */
static bool conn_write(struct conn *c)
{
    while (c->sent < c->resp_len) {
        ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent,
                         MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->sent += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    c->st = ST_DRAIN;
    c->deadline = now_ms() + DRAIN_TIMEOUT_MS;
    return true;
}

static void accept_all(struct httpd *h)
{
    while (h->nconns < h->opts.max_conns) {
        struct conn *c;
        int fd = accept(h->lfd, NULL, NULL);

        if (fd < 0) {
            /* EAGAIN: none left.  EMFILE, ENFILE, ENOBUFS, ENOMEM: try
             * again later.  Others: that client is gone. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)
                h->accept_after = now_ms() + ACCEPT_RETRY_MS;
            return;
        }
        c = malloc(sizeof(*c));
        if (c == NULL || set_flags(fd) != 0) {
            free(c);
            close(fd);
            return;
        }
        c->fd = fd;
        c->st = ST_READ;
        c->deadline = now_ms() + READ_TIMEOUT_MS;
        c->rlen = 0;
        c->resp = NULL;
        c->resp_len = c->sent = 0;
        h->conns[h->nconns++] = c;
        h->stats.accepted++;
    }
}

static short events_for(const struct conn *c)
{
    switch (c->st) {
    case ST_READ:
    case ST_DRAIN:
    case ST_HOLD:
        return POLLIN;
    case ST_WRITE:
        return POLLOUT;
    case ST_WAIT:
        break;
    }
    return 0;
}

static void *server_main(void *arg)
{
    struct httpd *h = arg;

    for (;;) {
        int64_t now = now_ms(), next = -1;
        size_t n = 2;
        int timeout;

        h->pfds[0] = (struct pollfd){ .fd = h->stop_pipe[0],
                                      .events = POLLIN };
        h->pfds[1] = (struct pollfd){ .fd = h->lfd, .events =
                        h->nconns < h->opts.max_conns &&
                        now >= h->accept_after ? POLLIN : 0 };
        if (now < h->accept_after)
            next = h->accept_after;
        for (size_t i = 0; i < h->nconns; i++) {
            struct conn *c = h->conns[i];

            h->pfds[n++] = (struct pollfd){ .fd = c->fd,
                                            .events = events_for(c) };
            if (c->st != ST_HOLD && c->st != ST_WRITE &&
                (next < 0 || c->deadline < next))
                next = c->deadline;
        }
        timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
        if (poll(h->pfds, n, timeout) < 0 && errno != EINTR) {
            h->err = errno;
            break;
        }
        if (h->pfds[0].revents != 0)
            break;
        now = now_ms();
        /* Walk backwards: conn_close() moves the last one into slot i. */
        for (size_t i = h->nconns; i-- > 0;) {
            struct conn *c = h->conns[i];
            short rev = h->pfds[2 + i].revents;
            bool alive = true;

            if (rev & (POLLIN | POLLHUP | POLLERR))
                alive = conn_read(h, c);
            if (alive && c->st == ST_WAIT && c->deadline <= now)
                c->st = ST_WRITE;
            if (alive && c->st == ST_WRITE)
                alive = conn_write(c);
            if (alive && (c->st == ST_READ || c->st == ST_DRAIN) &&
                c->deadline <= now)
                alive = false;
            if (!alive)
                conn_close(h, i);
            if (h->err != 0)
                goto out;
        }
        if (h->pfds[1].revents & POLLIN)
            accept_all(h);
    }
out:
    while (h->nconns > 0)
        conn_close(h, h->nconns - 1);
    return NULL;
}

int httpd_start(const struct httpd_opts *o, struct httpd **out)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t alen = sizeof(addr);
    struct httpd *h;
    int rc;

    *out = NULL;
    if (o->site == NULL || o->max_conns == 0)
        return EINVAL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return ENOMEM;
    h->opts = *o;
    h->lfd = h->stop_pipe[0] = h->stop_pipe[1] = -1;
    h->conns = calloc(o->max_conns, sizeof(*h->conns));
    h->pfds = calloc((size_t)o->max_conns + 2, sizeof(*h->pfds));
    h->hits = calloc(site_pages(o->site), sizeof(*h->hits));
    if (h->conns == NULL || h->pfds == NULL || h->hits == NULL) {
        rc = ENOMEM;
        goto fail;
    }
    if (pipe(h->stop_pipe) != 0 ||
        (h->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        rc = errno;
        goto fail;
    }
    if ((rc = set_flags(h->lfd)) != 0 ||
        (rc = set_flags(h->stop_pipe[0])) != 0 ||
        (rc = set_flags(h->stop_pipe[1])) != 0)
        goto fail;
    /* 127.0.0.1 only: nothing outside this machine can reach the server.
     * Port 0: the kernel picks a free one. */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    /* Backlog: SOMAXCONN, the most the kernel will queue. */
    if (bind(h->lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(h->lfd, SOMAXCONN) != 0 ||
        getsockname(h->lfd, (struct sockaddr *)&addr, &alen) != 0) {
        rc = errno;
        goto fail;
    }
    h->port = ntohs(addr.sin_port);
    if ((rc = pthread_create(&h->thread, NULL, server_main, h)) != 0)
        goto fail;
    *out = h;
    return 0;
fail:
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->stop_pipe[0] >= 0) {
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
    }
    free(h->conns);
    free(h->pfds);
    free(h->hits);
    free(h);
    return rc;
}

unsigned httpd_port(const struct httpd *h)
{
    return h->port;
}

int httpd_stop(struct httpd *h, struct httpd_stats *st)
{
    char byte = 1;
    int rc;

    if (h == NULL)
        return 0;
    /* The pipe is empty (nobody else writes it), so this cannot block. */
    while (write(h->stop_pipe[1], &byte, 1) < 0 && errno == EINTR)
        continue;
    pthread_join(h->thread, NULL);
    if (st != NULL)
        *st = h->stats;
    rc = h->err;
    close(h->lfd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    free(h->conns);
    free(h->pfds);
    free(h->hits);
    free(h);
    return rc;
}

int httpd_dead_port(int *fd, unsigned *port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t alen = sizeof(addr);
    int s, rc;

    *fd = -1;
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return errno;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Bound but never listening: the kernel answers a connection to this
     * port with a reset, which connect() reports as ECONNREFUSED. */
    if (fcntl(s, F_SETFD, FD_CLOEXEC) != 0 ||
        bind(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(s, (struct sockaddr *)&addr, &alen) != 0) {
        rc = errno;
        close(s);
        return rc;
    }
    *fd = s;
    *port = ntohs(addr.sin_port);
    return 0;
}
