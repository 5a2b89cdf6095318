/*
 * httpd.h - a small HTTP/1.1 server on 127.0.0.1 that serves a generated
 * site (site.h) with a fixed delay before every response, standing in for
 * the network latency of the tutorial's crawler.
 *
 * Why our own server: among Debian's web servers (nginx, apache2,
 * lighttpd, webfs, mini-httpd, busybox httpd) only nginx with the echo
 * module (libnginx-mod-http-echo, echo_sleep) can hold a response back,
 * and it cannot listen on an ephemeral port and tell us which one, needs a
 * config file, a prefix folder and a master process to start and reap.
 * This server is one thread inside the benchmark, listens on port 0 (the
 * kernel picks a free port, so parallel runs never collide), and serves
 * only 127.0.0.1.
 *
 * It is an event loop (one thread, poll()), not a thread per connection:
 * waiting out the delay of a thousand responses at once costs a timer each,
 * so the server is never the bottleneck the crawler is measured against.
 * Every connection carries one request (the response says
 * "Connection: close").  Routes: /page/N.html (200 after the delay),
 * /slow/N.html (never answered: the connection is held until the client
 * gives up), anything else 404 after the delay; a method other than GET is
 * 405, a malformed request 400.
 *
 * Thread safety: httpd_start() and httpd_stop() from one thread; the
 * server thread only reads the site.
 */
#ifndef BENCH_HTTPD_H
#define BENCH_HTTPD_H

#include <stddef.h>

struct httpd;
struct site;

struct httpd_opts {
    const struct site *site;    /* borrowed; must outlive the server */
    unsigned delay_ms;          /* before every answered response */
    unsigned dead_port;         /* the refused port of the dead links */
    unsigned max_conns;         /* connections open at once; more wait in
                                   the listen backlog */
};
#define HTTPD_OPTS_INIT { NULL, 0, 0, 1000 }

/* What the server did, for the tests: filled in by httpd_stop(). */
struct httpd_stats {
    size_t accepted;            /* connections */
    size_t ok;                  /* 200 responses */
    size_t not_found;           /* 404 responses */
    size_t bad;                 /* 400 and 405 responses */
    size_t held;                /* /slow/ requests, never answered */
    size_t pages_served;        /* distinct pages answered with 200 */
    size_t max_hits;            /* most 200s for one page (1: no revisit) */
};

/*
 * Binds 127.0.0.1 on an ephemeral port and starts the server thread.
 * Returns 0, EINVAL (no site), ENOMEM, or the errno of socket(), bind(),
 * listen() or pthread_create().  The caller stops it with httpd_stop().
 */
int httpd_start(const struct httpd_opts *o, struct httpd **out);

/* The port the server listens on. */
unsigned httpd_port(const struct httpd *h);

/*
 * Stops the server: wakes its thread, which closes every connection (held
 * ones included) and exits; joins it; fills *st (if not NULL); frees h.
 * Accepts NULL.  Returns 0, or an error the server thread met (ENOMEM...).
 */
int httpd_stop(struct httpd *h, struct httpd_stats *st);

/*
 * Reserves a port on 127.0.0.1 where connections are refused: a socket
 * bound but not listening.  *fd keeps the port reserved until the caller
 * closes it.  Returns 0 or an errno.
 */
int httpd_dead_port(int *fd, unsigned *port);

#endif
