/*
 * test_cases.c - the case studies' tests (Check): the crawler against its
 * loopback server, the image pipeline, and the two programs' command lines.
 *
 * The crawl tests run the real thing, in process: a generated site, the
 * HTTP server on an ephemeral port, real sockets, and site_verify() to say
 * whether the crawl found exactly the site.  The server's own counters add
 * a check the crawler cannot fake: how many times each page was served.
 * Error paths (refused connections, a server that never answers, a
 * malformed answer) must each become one error record, never a crash or a
 * hang; Check's per-test timeout turns a hang into a failure.
 *
 * The program tests run bench programs from $POOLBENCH_BIN (set by
 * `make test`) in every mode and read their CSV record; the image program
 * compares every output with the sequential reference itself, so its
 * record's check column is the verdict.  No test asserts a time.
 */
#include "crawler.h"
#include "httpd.h"
#include "image.h"
#include "site.h"
#include "support.h"
#include "threadpool.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Helpers --------------------------------------------------------- */

/* A crawl of a generated site, with everything needed to check it. */
struct fixture {
    struct site *site;
    struct httpd *srv;
    struct httpd_stats st;
    struct crawl_result res;
    struct site_report rep;
    unsigned port, dead_port;
    int dead_fd;
};

/* Serves a site of `pages` pages with the given faults and crawls it with
 * `workers` threads (0: sequentially). */
static void crawl_site(struct fixture *fx, unsigned pages, unsigned dead,
                       unsigned slow, unsigned missing, unsigned delay_ms,
                       unsigned workers, unsigned timeout_ms)
{
    struct site_opts so = SITE_OPTS_INIT;
    struct httpd_opts ho = HTTPD_OPTS_INIT;
    struct crawl_opts co = CRAWL_OPTS_INIT;
    struct tp_options to = TP_OPTIONS_INIT;
    struct tp_pool *pool = NULL;
    char start[64];

    memset(fx, 0, sizeof(*fx));
    so.pages = pages;
    so.dead = dead;
    so.slow = slow;
    so.missing = missing;
    ck_assert_int_eq(site_create(&so, &fx->site), 0);
    ck_assert_int_eq(httpd_dead_port(&fx->dead_fd, &fx->dead_port), 0);
    ho.site = fx->site;
    ho.delay_ms = delay_ms;
    ho.dead_port = fx->dead_port;
    ck_assert_int_eq(httpd_start(&ho, &fx->srv), 0);
    fx->port = httpd_port(fx->srv);
    if (workers > 0) {
        to.workers = workers;
        ck_assert_int_eq(tp_pool_create(&to, &pool), 0);
    }
    co.pool = pool;
    co.timeout_ms = timeout_ms;
    snprintf(start, sizeof(start), "http://127.0.0.1:%u/page/0.html",
             fx->port);
    ck_assert_int_eq(crawl_run(start, &co, &fx->res), 0);
    tp_pool_destroy(pool);
    ck_assert_int_eq(httpd_stop(fx->srv, &fx->st), 0);
    fx->srv = NULL;
    ck_assert_int_eq(site_verify(fx->site, fx->port, fx->dead_port,
                                 &fx->res, &fx->rep), 0);
}

static void fixture_release(struct fixture *fx)
{
    crawl_result_release(&fx->res);
    close(fx->dead_fd);
    site_destroy(fx->site);
}

static size_t count_status(const struct crawl_result *r,
                           enum crawl_status st)
{
    size_t n = 0;

    for (size_t i = 0; i < r->npages; i++)
        n += r->pages[i].status == st;
    return n;
}

/* The whole site, each page once, nothing else. */
static void assert_exact_site(const struct fixture *fx, unsigned pages,
                              unsigned faults)
{
    ck_assert_msg(fx->rep.pages_ok == pages, "found %zu of %u pages",
                  fx->rep.pages_ok, pages);
    ck_assert_msg(fx->rep.faults_ok == faults,
                  "%zu of %u faults reported right", fx->rep.faults_ok,
                  faults);
    ck_assert_msg(fx->rep.missed == 0, "%zu URLs missed", fx->rep.missed);
    ck_assert_msg(fx->rep.wrong == 0, "%zu wrong records", fx->rep.wrong);
    ck_assert_uint_eq(fx->res.npages, pages + faults);
    ck_assert_uint_eq(fx->res.ok, pages);
    ck_assert_uint_eq(fx->res.errors, faults);
    /* The server's view: every page served exactly once. */
    ck_assert_uint_eq(fx->st.pages_served, pages);
    ck_assert_msg(fx->st.max_hits == 1, "a page was served %zu times",
                  fx->st.max_hits);
}

/* ---- The crawl ------------------------------------------------------- */

START_TEST(crawl_seq_finds_exactly_the_site)
{
    struct fixture fx;
    unsigned pages = tests_slow() ? 40 : 150;

    crawl_site(&fx, pages, 0, 0, 0, 0, 0, 5000);
    assert_exact_site(&fx, pages, 0);
    fixture_release(&fx);
}
END_TEST

START_TEST(crawl_threads_finds_exactly_the_site)
{
    struct fixture fx;
    unsigned pages = tests_slow() ? 40 : 150;

    crawl_site(&fx, pages, 0, 0, 0, 2, 8, 5000);
    assert_exact_site(&fx, pages, 0);
    fixture_release(&fx);
}
END_TEST

START_TEST(crawl_threads_single_page_site)
{
    struct fixture fx;

    crawl_site(&fx, 1, 0, 0, 0, 0, 4, 5000);
    assert_exact_site(&fx, 1, 0);
    fixture_release(&fx);
}
END_TEST

/* Refused connections, timeouts and 404s, each one error record for its
 * page; the rest of the site still crawled.  _i: 0 sequential, 1 threads. */
START_TEST(crawl_counts_each_error_once_per_page)
{
    struct fixture fx;
    unsigned pages = tests_slow() ? 30 : 80;
    /*
     * The per-page deadline.  The two /slow/ pages are never answered, so
     * they time out whatever it is; every other page must answer within
     * it, and under valgrind or TSan on a busy machine a page can take
     * longer than 300 ms (once: "found 0 of 30 pages", the start page
     * itself timed out).  A generous deadline keeps the test's meaning and
     * costs only the two held pages' wait.
     */
    unsigned timeout_ms = tests_slow() ? 5000 : 1000;

    crawl_site(&fx, pages, 3, 2, 4, 1, _i == 0 ? 0 : 6, timeout_ms);
    assert_exact_site(&fx, pages, 9);
    ck_assert_uint_eq(count_status(&fx.res, CRAWL_REFUSED), 3);
    ck_assert_uint_eq(count_status(&fx.res, CRAWL_TIMEOUT), 2);
    ck_assert_uint_eq(count_status(&fx.res, CRAWL_HTTP), 4);
    ck_assert_uint_eq(fx.st.held, 2);
    ck_assert_uint_eq(fx.st.not_found, 4);
    for (size_t i = 0; i < fx.res.npages; i++) {
        const struct crawl_page *pg = &fx.res.pages[i];

        ck_assert_msg((pg->status == CRAWL_OK) == (pg->error[0] == '\0'),
                      "%s: status %d with error '%s'", pg->url, pg->status,
                      pg->error);
    }
    fixture_release(&fx);
}
END_TEST

START_TEST(crawl_of_refused_start_is_one_error)
{
    struct crawl_opts co = CRAWL_OPTS_INIT;
    struct crawl_result res;
    unsigned port;
    char url[64];
    int fd;

    ck_assert_int_eq(httpd_dead_port(&fd, &port), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/page/0.html", port);
    ck_assert_int_eq(crawl_run(url, &co, &res), 0);
    ck_assert_uint_eq(res.npages, 1);
    ck_assert_uint_eq(res.errors, 1);
    ck_assert_int_eq(res.pages[0].status, CRAWL_REFUSED);
    ck_assert_int_eq(res.pages[0].err, ECONNREFUSED);
    crawl_result_release(&res);
    close(fd);
}
END_TEST

START_TEST(crawl_rejects_a_bad_start_url)
{
    struct crawl_opts co = CRAWL_OPTS_INIT;
    struct crawl_result res;

    ck_assert_int_eq(crawl_run("ftp://127.0.0.1/", &co, &res), EINVAL);
    ck_assert_uint_eq(res.npages, 0);
}
END_TEST

/* A server that accepts (the kernel does, from the backlog) and never
 * answers: the fetch must end with a timeout. */
START_TEST(fetch_times_out_on_a_silent_server)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    struct crawl_page pg;
    char url[64];
    int s = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(s, 4), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/",
             (unsigned)ntohs(a.sin_port));
    ck_assert_int_eq(crawl_fetch(url, 200, 1 << 20, &pg), 0);
    ck_assert_int_eq(pg.status, CRAWL_TIMEOUT);
    ck_assert_ptr_null(pg.title);
    crawl_page_release(&pg);
    close(s);
}
END_TEST

/* A one-shot server that answers any request with fixed bytes. */
struct canned {
    int lfd;
    const char *reply;
};

static void *canned_main(void *arg)
{
    struct canned *c = arg;
    char buf[2048];
    int fd = accept(c->lfd, NULL, NULL);

    if (fd >= 0) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        if (n > 0)
            (void)send(fd, c->reply, strlen(c->reply), MSG_NOSIGNAL);
        close(fd);
    }
    return NULL;
}

static struct crawl_page fetch_canned(const char *reply)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    struct canned c = { .reply = reply };
    struct crawl_page pg;
    pthread_t t;
    char url[64];

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(c.lfd, 0);
    ck_assert_int_eq(bind(c.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(c.lfd, 4), 0);
    ck_assert_int_eq(getsockname(c.lfd, (struct sockaddr *)&a, &len), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, canned_main, &c), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x.html",
             (unsigned)ntohs(a.sin_port));
    ck_assert_int_eq(crawl_fetch(url, 5000, 1 << 20, &pg), 0);
    pthread_join(t, NULL);
    close(c.lfd);
    return pg;
}

START_TEST(fetch_reports_malformed_answers)
{
    static const char *const replies[] = {
        "hello, world\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<title>x</title>",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "HTTP/2 200\r\n\r\n",
        "",
    };

    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        struct crawl_page pg = fetch_canned(replies[i]);

        ck_assert_msg(pg.status == CRAWL_BAD_RESPONSE,
                      "reply %zu: status %d (%s)", i, pg.status, pg.error);
        crawl_page_release(&pg);
    }
}
END_TEST

START_TEST(fetch_reads_a_well_formed_answer)
{
    static const char body[] =
        "<title> A &amp; B </title><a href=y.html>y</a><a href=/z>z</a>";
    char reply[256];
    struct crawl_page pg;

    snprintf(reply, sizeof(reply),
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
             sizeof(body) - 1, body);
    pg = fetch_canned(reply);
    ck_assert_msg(pg.status == CRAWL_OK, "status %d (%s)", pg.status,
                  pg.error);
    ck_assert_str_eq(pg.title, "A & B");
    ck_assert_uint_eq(pg.nlinks, 2);
    ck_assert_msg(strstr(pg.links[0], "/y.html") != NULL, "%s",
                  pg.links[0]);
    ck_assert_msg(strstr(pg.links[1], "/z") != NULL, "%s", pg.links[1]);
    crawl_page_release(&pg);
}
END_TEST

START_TEST(server_answers_404_for_unknown_paths)
{
    struct fixture fx;
    struct crawl_page pg;
    char url[64];
    struct site_opts so = SITE_OPTS_INIT;
    struct httpd_opts ho = HTTPD_OPTS_INIT;
    struct httpd *srv;
    struct httpd_stats st;
    static const char *const paths[] = {
        "/", "/page/", "/page/07.html", "/page/-1.html", "/page/3.htm",
        "/page/999.html", "/slow/0.html.x",
    };

    memset(&fx, 0, sizeof(fx));
    so.pages = 10;
    ck_assert_int_eq(site_create(&so, &fx.site), 0);
    ho.site = fx.site;
    ck_assert_int_eq(httpd_start(&ho, &srv), 0);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
                 httpd_port(srv), paths[i]);
        ck_assert_int_eq(crawl_fetch(url, 5000, 1 << 20, &pg), 0);
        ck_assert_msg(pg.status == CRAWL_HTTP && pg.http == 404,
                      "%s: status %d, HTTP %d", paths[i], pg.status,
                      pg.http);
        crawl_page_release(&pg);
    }
    ck_assert_int_eq(httpd_stop(srv, &st), 0);
    ck_assert_uint_eq(st.not_found, sizeof(paths) / sizeof(paths[0]));
    ck_assert_uint_eq(st.ok, 0);
    site_destroy(fx.site);
}
END_TEST

/* A raw request, for what crawl_fetch never sends. */
static void raw_request(unsigned port, const char *req, char *reply,
                        size_t cap)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    size_t n = 0;
    ssize_t k;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(send(s, req, strlen(req), MSG_NOSIGNAL),
                     (ssize_t)strlen(req));
    while (n + 1 < cap && (k = recv(s, reply + n, cap - 1 - n, 0)) > 0)
        n += (size_t)k;
    reply[n] = '\0';
    close(s);
}

START_TEST(server_refuses_other_methods_and_garbage)
{
    struct site_opts so = SITE_OPTS_INIT;
    struct httpd_opts ho = HTTPD_OPTS_INIT;
    struct site *site;
    struct httpd *srv;
    struct httpd_stats st;
    char reply[4096];

    so.pages = 3;
    ck_assert_int_eq(site_create(&so, &site), 0);
    ho.site = site;
    ck_assert_int_eq(httpd_start(&ho, &srv), 0);
    raw_request(httpd_port(srv), "POST /page/0.html HTTP/1.1\r\n\r\n", reply,
                sizeof(reply));
    ck_assert_msg(strncmp(reply, "HTTP/1.1 405 ", 13) == 0, "%s", reply);
    raw_request(httpd_port(srv), "GET /page/0.html SPDY/9\r\n\r\n", reply,
                sizeof(reply));
    ck_assert_msg(strncmp(reply, "HTTP/1.1 400 ", 13) == 0, "%s", reply);
    raw_request(httpd_port(srv), "GET /page/1.html HTTP/1.0\r\n\r\n", reply,
                sizeof(reply));
    ck_assert_msg(strncmp(reply, "HTTP/1.1 200 ", 13) == 0, "%s", reply);
    ck_assert_int_eq(httpd_stop(srv, &st), 0);
    ck_assert_uint_eq(st.bad, 2);
    ck_assert_uint_eq(st.ok, 1);
    site_destroy(site);
}
END_TEST

/* Stopping the server while a client waits on a held page must not hang:
 * the client then sees the connection close. */
START_TEST(server_stops_with_held_connections)
{
    struct site_opts so = SITE_OPTS_INIT;
    struct httpd_opts ho = HTTPD_OPTS_INIT;
    struct sockaddr_in a = { .sin_family = AF_INET };
    struct site *site;
    struct httpd *srv;
    struct httpd_stats st;
    const char *req = "GET /slow/0.html HTTP/1.1\r\n\r\n";
    char c;
    int s;

    so.pages = 3;
    so.slow = 1;
    ck_assert_int_eq(site_create(&so, &site), 0);
    ho.site = site;
    ck_assert_int_eq(httpd_start(&ho, &srv), 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)httpd_port(srv));
    s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(send(s, req, strlen(req), MSG_NOSIGNAL),
                     (ssize_t)strlen(req));
    ck_assert_int_eq(httpd_stop(srv, &st), 0);
    ck_assert_int_le(recv(s, &c, 1, 0), 0);
    close(s);
    site_destroy(site);
}
END_TEST

/* ---- HTML and URLs --------------------------------------------------- */

START_TEST(parser_skips_comments_scripts_and_hrefless_anchors)
{
    static const char html[] =
        "<!DOCTYPE html><html><head><TITLE>\n  T &lt;1&gt; &#39;x&#x27;"
        "\n</TITLE><script>var a = '<a href=\"/s\">';</script>"
        "<style>a > b {}</style></head><body><!-- a -> <a href=\"/c\"> -->"
        "<a name=top></a><A HREF='/one'>1</A><a title=\"x > y\" "
        "href = \"two.html\">2</a><a class=k href=three>3</a>"
        "<abbr href=\"/not\">no</abbr><a href=\"&amp;four\">4</a>"
        "<title>second</title></body></html>";
    char *title, **hrefs;
    size_t n;

    ck_assert_int_eq(crawl_parse_html(html, sizeof(html) - 1, &title,
                                      &hrefs, &n), 0);
    ck_assert_str_eq(title, "T <1> 'x'");
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(hrefs[0], "/one");
    ck_assert_str_eq(hrefs[1], "two.html");
    ck_assert_str_eq(hrefs[2], "three");
    ck_assert_str_eq(hrefs[3], "&four");
    free(title);
    crawl_strings_free(hrefs, n);
}
END_TEST

START_TEST(parser_survives_truncated_html)
{
    static const char *const bits[] = {
        "<", "<a", "<a href", "<a href=", "<a href='x", "<!--", "<title>t",
        "<script>", "<a href=x", "&", "&#", "&#x;", "<title>&#99999999;",
    };

    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        char *title, **hrefs;
        size_t n;

        ck_assert_int_eq(crawl_parse_html(bits[i], strlen(bits[i]), &title,
                                          &hrefs, &n), 0);
        free(title);
        crawl_strings_free(hrefs, n);
    }
}
END_TEST

/* RFC 3986 section 5.4's examples, with http://a/b/c/d;p?q as the base. */
START_TEST(url_resolution_follows_rfc3986)
{
    static const char *const cases[][2] = {
        { "g", "http://a/b/c/g" },          { "./g", "http://a/b/c/g" },
        { "g/", "http://a/b/c/g/" },        { "/g", "http://a/g" },
        { "?y", "http://a/b/c/d;p?y" },     { "g?y", "http://a/b/c/g?y" },
        { "#s", "http://a/b/c/d;p?q" },     { "g#s", "http://a/b/c/g" },
        { ";x", "http://a/b/c/;x" },        { "", "http://a/b/c/d;p?q" },
        { ".", "http://a/b/c/" },           { "./", "http://a/b/c/" },
        { "..", "http://a/b/" },            { "../", "http://a/b/" },
        { "../g", "http://a/b/g" },         { "../..", "http://a/" },
        { "../../g", "http://a/g" },        { "../../../g", "http://a/g" },
        { "/./g", "http://a/g" },           { "/../g", "http://a/g" },
        { "g.", "http://a/b/c/g." },        { "..g", "http://a/b/c/..g" },
        { "g/../h", "http://a/b/c/h" },     { "g;x=1/../y", "http://a/b/c/y" },
        { "http://A:8080/x/../y#f", "http://a:8080/y" },
        { "HTTP://a:80/", "http://a/" },
    };
    static const char *const refused[] = {
        "mailto:x@y", "https://a/", "javascript:void(0)", "//a/g",
        "http://", "http://a:99999/", "http://a b/",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = crawl_url_resolve("http://a/b/c/d;p?q", cases[i][0]);

        ck_assert_msg(r != NULL && strcmp(r, cases[i][1]) == 0,
                      "'%s' resolved to %s, not %s", cases[i][0],
                      r ? r : "NULL", cases[i][1]);
        free(r);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char *r = crawl_url_resolve("http://a/b/c/d;p?q", refused[i]);

        ck_assert_msg(r == NULL, "'%s' resolved to %s", refused[i], r);
    }
}
END_TEST

/* The checker must catch a wrong crawl, or the crawl tests prove nothing. */
START_TEST(site_verify_catches_duplicates_and_strangers)
{
    struct site_opts so = SITE_OPTS_INIT;
    struct site *site;
    struct crawl_page pages[3];
    struct crawl_result res = { .pages = pages, .npages = 3 };
    struct site_report rep;
    char t0[64], u0[] = "http://127.0.0.1:1000/page/0.html",
                  u1[] = "http://127.0.0.1:1000/page/9.html";

    so.pages = 2;
    so.links = 0;
    ck_assert_int_eq(site_create(&so, &site), 0);
    site_title(site, 0, t0, sizeof(t0));
    memset(pages, 0, sizeof(pages));
    pages[0] = (struct crawl_page){ .url = u0, .status = CRAWL_OK,
                                    .title = t0,
                                    .nlinks = site_link_count(site, 0) };
    pages[1] = pages[0];
    pages[2] = (struct crawl_page){ .url = u1, .status = CRAWL_OK,
                                    .title = t0, .nlinks = 1 };
    ck_assert_int_eq(site_verify(site, 1000, 2000, &res, &rep), 0);
    ck_assert_uint_eq(rep.pages_ok, 1);
    ck_assert_uint_eq(rep.wrong, 2);     /* the duplicate and page 9 */
    ck_assert_uint_eq(rep.missed, 1);    /* page 1 */
    pages[0].nlinks++;
    res.npages = 1;
    ck_assert_int_eq(site_verify(site, 1000, 2000, &res, &rep), 0);
    ck_assert_uint_eq(rep.pages_ok, 0);
    ck_assert_uint_eq(rep.wrong, 1);     /* the wrong link count */
    site_destroy(site);
}
END_TEST

/* ---- Images ---------------------------------------------------------- */

static char *temp_dir(void)
{
    static const char tmpl[] = "/tmp/poolbench-test-XXXXXX";
    char *d = malloc(sizeof(tmpl));

    ck_assert_ptr_nonnull(d);
    memcpy(d, tmpl, sizeof(tmpl));
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

START_TEST(pnm_files_round_trip)
{
    char *dir = temp_dir(), path[128];

    for (unsigned i = 0; i < 10; i++) {
        struct img a, b;

        ck_assert_int_eq(img_generate(i, 7, 64, &a), 0);
        ck_assert_uint_eq(a.channels, i % 5 == 4 ? 1 : 3);
        snprintf(path, sizeof(path), "%s/x.pnm", dir);
        ck_assert_int_eq(img_write_pnm(path, &a), 0);
        ck_assert_int_eq(img_read_pnm(path, &b), 0);
        ck_assert_uint_eq(a.w, b.w);
        ck_assert_uint_eq(a.h, b.h);
        ck_assert_uint_eq(a.channels, b.channels);
        ck_assert_int_eq(memcmp(a.px, b.px, (size_t)a.w * a.h * a.channels),
                         0);
        img_release(&a);
        img_release(&b);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}
END_TEST

static int write_text(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t k;

    if (fd < 0)
        return errno;
    k = write(fd, data, n);
    close(fd);
    return k == (ssize_t)n ? 0 : EIO;
}

START_TEST(pnm_reader_takes_comments_and_small_maxval_and_refuses_junk)
{
    static const char ok[] = "P5\n# made by hand\n2 1 # width height\n"
                             "3\n\x00\x03";
    static const char *const bad[] = {
        "P3\n1 1\n255\n0 0 0\n", "P5\n2 2\n255\n\x01", "P5\n0 1\n255\n",
        "P6\n1 1\n", "P5 1 1 255", "", "P5\n1 1\n65535\n\x00\x00",
    };
    char *dir = temp_dir(), path[128];
    struct img im;

    snprintf(path, sizeof(path), "%s/x.pgm", dir);
    ck_assert_int_eq(write_text(path, ok, sizeof(ok) - 1), 0);
    ck_assert_int_eq(img_read_pnm(path, &im), 0);
    ck_assert_uint_eq(im.w, 2);
    ck_assert_uint_eq(im.px[0], 0);
    ck_assert_uint_eq(im.px[1], 255);
    img_release(&im);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = i == 6 ? 16 : strlen(bad[i]);

        ck_assert_int_eq(write_text(path, bad[i], len), 0);
        ck_assert_msg(img_read_pnm(path, &im) != 0, "bad file %zu read", i);
    }
    ck_assert_int_eq(img_read_pnm("/nonexistent/x.pgm", &im), ENOENT);
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(grayscale_uses_bt601_weights)
{
    unsigned char px[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255,
                           0, 0, 0 };
    struct img rgb = { .w = 5, .h = 1, .channels = 3, .px = px }, g;

    ck_assert_int_eq(img_grayscale(&rgb, &g), 0);
    /* (19595 R + 38470 G + 7471 B + 32768) >> 16, as Pillow's "L". */
    ck_assert_uint_eq(g.px[0], 76);
    ck_assert_uint_eq(g.px[1], 150);
    ck_assert_uint_eq(g.px[2], 29);
    ck_assert_uint_eq(g.px[3], 255);
    ck_assert_uint_eq(g.px[4], 0);
    img_release(&g);
}
END_TEST

START_TEST(box_resize_averages_each_footprint)
{
    unsigned char blocks[] = { 0, 10, 100, 100,
                               20, 30, 100, 100,
                               7, 7, 0, 255,
                               7, 7, 255, 0 };
    struct img src = { .w = 4, .h = 4, .channels = 1, .px = blocks }, dst;
    unsigned char flat[7 * 5];
    struct img f = { .w = 7, .h = 5, .channels = 1, .px = flat };
    unsigned char two[] = { 10, 20, 30, 40 };
    struct img t = { .w = 2, .h = 2, .channels = 1, .px = two };

    ck_assert_int_eq(img_resize_box(&src, 2, 2, &dst), 0);
    ck_assert_uint_eq(dst.px[0], 15);    /* (0 + 10 + 20 + 30) / 4 */
    ck_assert_uint_eq(dst.px[1], 100);
    ck_assert_uint_eq(dst.px[2], 7);
    ck_assert_uint_eq(dst.px[3], 128);   /* 127.5 rounds up */
    img_release(&dst);
    /* A flat image stays flat whatever the (fractional) factor. */
    memset(flat, 93, sizeof(flat));
    ck_assert_int_eq(img_resize_box(&f, 3, 2, &dst), 0);
    for (unsigned k = 0; k < 6; k++)
        ck_assert_uint_eq(dst.px[k], 93);
    img_release(&dst);
    /* Enlarging by 2: each pixel becomes a 2 x 2 block. */
    ck_assert_int_eq(img_resize_box(&t, 4, 4, &dst), 0);
    ck_assert_uint_eq(dst.px[0], 10);
    ck_assert_uint_eq(dst.px[1], 10);
    ck_assert_uint_eq(dst.px[2], 20);
    ck_assert_uint_eq(dst.px[15], 40);
    img_release(&dst);
    ck_assert_int_eq(img_resize_box(&t, 0, 4, &dst), EINVAL);
}
END_TEST

/* The file written and the checksum reported agree, and match the
 * in-memory reference. */
START_TEST(processed_file_matches_the_reference_checksum)
{
    char *dir = temp_dir(), in[128], out[128];

    for (unsigned i = 0; i < 8; i++) {
        struct img im, res;
        uint64_t ref, sum, file;

        ck_assert_int_eq(img_generate(i, 3, 200, &im), 0);
        snprintf(in, sizeof(in), "%s/in.pnm", dir);
        snprintf(out, sizeof(out), "%s/out.pgm", dir);
        ck_assert_int_eq(img_write_pnm(in, &im), 0);
        ck_assert_int_eq(img_process(&im, &ref), 0);
        ck_assert_int_eq(img_process_file(in, out, &sum), 0);
        ck_assert_int_eq(img_file_checksum(out, &file), 0);
        ck_assert(sum == ref);
        ck_assert(file == ref);
        ck_assert_int_eq(img_read_pnm(out, &res), 0);
        ck_assert_uint_eq(res.w, IMG_OUT_SIDE);
        ck_assert_uint_eq(res.h, IMG_OUT_SIDE);
        ck_assert_uint_eq(res.channels, 1);
        img_release(&res);
        img_release(&im);
        unlink(in);
        unlink(out);
    }
    ck_assert_int_eq(img_process_file("/nonexistent/in.ppm", out, NULL),
                     ENOENT);
    rmdir(dir);
    free(dir);
}
END_TEST

/* ---- The programs ---------------------------------------------------- */

/*
 * Runs $POOLBENCH_BIN/prog with args (NULL-terminated) into r; the
 * caller checks and frees r.
 */
static void run_prog(struct run *r, const char *prog, const char *const *args)
{
    char path[512];
    const char *argv[32];
    size_t n = 0, k = 0;

    snprintf(path, sizeof(path), "%s/%s", bin_dir(), prog);
    ck_assert_msg(access(path, X_OK) == 0, "no program %s", path);
    argv[n++] = path;
    while (args[k] != NULL) {
        ck_assert_uint_lt(n + 1, sizeof(argv) / sizeof(argv[0]));
        argv[n++] = args[k++];
    }
    argv[n] = NULL;
    run_argv(r, (char *const *)argv, NULL);
}

/* Checks a run that made CSV records: exit 0, then in every record the
 * program and mode, result equal to expected, check ok, and a kernel
 * time that is a positive number. */
static void assert_record_ok(const struct run *r, const char *bench,
                             const char *mode, long long expected)
{
    struct record recs[8];
    int count;

    ck_assert_msg(r->status == 0, "%s %s exited %d: %s", bench, mode,
                  r->status, r->err);
    count = records_parse(r->out, recs, 8);
    ck_assert_int_ge(count, 1);
    for (int i = 0; i < count; i++) {
        const struct record *x = &recs[i];

        ck_assert_str_eq(x->col[COL_BENCH], bench);
        ck_assert_str_eq(x->col[COL_LANG], "c");
        ck_assert_str_eq(x->col[COL_MODE], mode);
        ck_assert_int_eq(atoll(x->col[COL_EXPECTED]), expected);
        ck_assert_msg(strcmp(x->col[COL_RESULT], x->col[COL_EXPECTED]) == 0,
                      "%s %s: result %s, expected %s", bench, mode,
                      x->col[COL_RESULT], x->col[COL_EXPECTED]);
        ck_assert_str_eq(x->col[COL_CHECK], "ok");
        ck_assert_msg(atof(x->col[COL_KERNEL]) > 0.0, "kernel_s %s",
                      x->col[COL_KERNEL]);
    }
}

/* _i: 0 seq, 1 threads, 2 procs. */
START_TEST(images_every_mode_matches_the_sequential_checksums)
{
    static const char *const modes[] = { "seq", "threads", "procs" };
    const char *args[] = { "--mode", modes[_i], "--workers", "3",
                           "--images", "9", "--max-side", "160",
                           "--format", "csv", "--repeat", "2", NULL };
    struct run r;

    run_prog(&r, "images", args);
    assert_record_ok(&r, "images", modes[_i], 9);
    run_free(&r);
}
END_TEST

START_TEST(crawl_program_checks_the_site_in_both_modes)
{
    static const char *const modes[] = { "seq", "threads" };
    const char *args[] = { "--mode", modes[_i], "--workers", "5",
                           "--pages", "40", "--delay-ms", "1", "--dead", "1",
                           "--slow", "1", "--missing", "2", "--timeout-ms",
                           "300", "--format", "csv", NULL };
    struct run r;

    run_prog(&r, "crawl", args);
    assert_record_ok(&r, "crawl", modes[_i], 44);
    run_free(&r);
}
END_TEST

START_TEST(bad_options_exit_2_before_running)
{
    static const char *const cases[][8] = {
        { "crawl", "--pages", "0", NULL },
        { "crawl", "--mode", "procs", NULL },
        { "crawl", "--chunk", "5", NULL },
        { "crawl", "--delay-ms", "-1", NULL },
        { "crawl", "--timeout-ms", "0", NULL },
        { "crawl", "--links", "65", NULL },
        { "crawl", "--bogus", NULL },
        { "crawl", "--pages", "12x", NULL },
        { "images", "--images", "0", NULL },
        { "images", "--mode", "gpu", NULL },
        { "images", "--max-side", "8", NULL },
        { "images", "--workers", "0", NULL },
        { "images", "stray", NULL },
    };
    struct run r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_prog(&r, cases[i][0], &cases[i][1]);
        ck_assert_msg(r.status == 2, "%s %s %s: exit %d", cases[i][0],
                      cases[i][1], cases[i][2] ? cases[i][2] : "", r.status);
        ck_assert_msg(r.out[0] == '\0', "%s %s printed: %s", cases[i][0],
                      cases[i][1], r.out);
        run_free(&r);
    }
}
END_TEST

/*
 * images, killed with its whole process group at a random moment (while
 * writing its inputs, while the workers write their outputs, while it
 * checks them, after it is done), must leave nothing in $TMPDIR.  The
 * folder TMPDIR points at is this test's own, so it can require it to be
 * empty.  The program is started in its own process group, as a shell
 * starts a job, and the signal goes to the group, as Ctrl-C does.  No time
 * is asserted: the delays only spread the kills over the run.
 */
/* _i: 0 the C program, 1 its Python twin (which starts more slowly). */
START_TEST(images_leaves_nothing_when_its_group_is_killed)
{
    static const char *const modes[] = { "procs", "threads", "seq" };
    const char *bin = getenv("POOLBENCH_BIN");
    const char *pydir = getenv("POOLBENCH_PYTHON_DIR");
    char tmp[] = "/tmp/poolbench-test-XXXXXX", path[512];
    int runs = tests_slow() ? 15 : 50;
    long max_ms = 400;
    unsigned seed = 17;

    ck_assert_ptr_nonnull(bin);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    if (_i == 0) {
        snprintf(path, sizeof(path), "%s/images", bin);
    } else {
        snprintf(path, sizeof(path), "%s/images.py",
                 pydir ? pydir : "benchmarks/python");
        ck_assert_msg(access(path, R_OK) == 0, "no %s", path);
        runs = 12;
        max_ms = 1500;
    }
    for (int i = 0; i < runs; i++) {
        int sig = i % 2 ? SIGINT : SIGTERM, status;
        long ms = (long)(rand_r(&seed) % (unsigned)max_ms);
        struct timespec delay = { ms / 1000, ms % 1000 * 1000000L };
        int sync[2];
        char byte;
        pid_t pid;

        /* The delay starts once the program runs: the write end is closed
         * by exec (O_CLOEXEC), so read() returns then.  A signal that hit
         * the child between fork and exec would test only this file (and
         * under TSan a forked copy of an instrumented process may pass a
         * deferred signal back to its parent). */
        ck_assert_int_eq(pipe(sync), 0);
        ck_assert_int_eq(fcntl(sync[1], F_SETFD, FD_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);

            close(sync[0]);
            /* Its own group; default dispositions, as in a terminal. */
            setpgid(0, 0);
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
            setenv("TMPDIR", tmp, 1);
            setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
            if (_i == 0)
                execl(path, path, "--mode", modes[i % 3], "--workers", "2",
                      "--images", "8", "--max-side", "384", "--repeat",
                      "2", (char *)NULL);
            else
                execl("/usr/bin/python3", "python3", path, "--mode",
                      modes[i % 3], "--workers", "2", "--images", "6",
                      "--max-side", "256", "--repeat", "2", (char *)NULL);
            _exit(127);
        }
        setpgid(pid, pid);      /* also here: no race with the kill */
        close(sync[1]);
        while (read(sync[0], &byte, 1) < 0 && errno == EINTR)
            continue;
        close(sync[0]);
        nanosleep(&delay, NULL);
        ck_assert_int_eq(kill(-pid, sig), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        /* Python itself, interrupted while it starts up (before the
         * script runs: importing site), exits 1; nothing is made then. */
        ck_assert_msg((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                      (_i == 1 && WIFEXITED(status) &&
                       WEXITSTATUS(status) == 1) ||
                      (WIFSIGNALED(status) && WTERMSIG(status) == sig),
                      "run %d: status %#x", i, status);
        ck_assert_msg(dir_entries(tmp) == 0,
                      "run %d (%s, signal %d after %ld ms) left files in %s",
                      i, modes[i % 3], sig, ms, tmp);
    }
    rmdir(tmp);
}
END_TEST

static Suite *cases_suite(void)
{
    Suite *s = suite_create("cases");
    TCase *crawl = tcase_create("crawl");
    TCase *parse = tcase_create("parse");
    TCase *images = tcase_create("images");
    TCase *progs = tcase_create("programs");
    TCase *signals = tcase_create("signals");

    tcase_add_test(crawl, crawl_seq_finds_exactly_the_site);
    tcase_add_test(crawl, crawl_threads_finds_exactly_the_site);
    tcase_add_test(crawl, crawl_threads_single_page_site);
    tcase_add_loop_test(crawl, crawl_counts_each_error_once_per_page, 0, 2);
    tcase_add_test(crawl, crawl_of_refused_start_is_one_error);
    tcase_add_test(crawl, crawl_rejects_a_bad_start_url);
    tcase_add_test(crawl, fetch_times_out_on_a_silent_server);
    tcase_add_test(crawl, fetch_reports_malformed_answers);
    tcase_add_test(crawl, fetch_reads_a_well_formed_answer);
    tcase_add_test(crawl, server_answers_404_for_unknown_paths);
    tcase_add_test(crawl, server_refuses_other_methods_and_garbage);
    tcase_add_test(crawl, server_stops_with_held_connections);
    tcase_set_timeout(crawl, 30);
    suite_add_tcase(s, crawl);

    tcase_add_test(parse, parser_skips_comments_scripts_and_hrefless_anchors);
    tcase_add_test(parse, parser_survives_truncated_html);
    tcase_add_test(parse, url_resolution_follows_rfc3986);
    tcase_add_test(parse, site_verify_catches_duplicates_and_strangers);
    suite_add_tcase(s, parse);

    tcase_add_test(images, pnm_files_round_trip);
    tcase_add_test(images,
                   pnm_reader_takes_comments_and_small_maxval_and_refuses_junk);
    tcase_add_test(images, grayscale_uses_bt601_weights);
    tcase_add_test(images, box_resize_averages_each_footprint);
    tcase_add_test(images, processed_file_matches_the_reference_checksum);
    tcase_set_timeout(images, 30);
    suite_add_tcase(s, images);

    tcase_add_loop_test(progs,
                        images_every_mode_matches_the_sequential_checksums,
                        0, 3);
    tcase_add_loop_test(progs, crawl_program_checks_the_site_in_both_modes,
                        0, 2);
    tcase_add_test(progs, bad_options_exit_2_before_running);
    tcase_set_timeout(progs, 60);
    suite_add_tcase(s, progs);

    tcase_add_loop_test(signals,
                        images_leaves_nothing_when_its_group_is_killed, 0,
                        2);
    tcase_set_timeout(signals, 180);
    suite_add_tcase(s, signals);
    return s;
}

int main(void)
{
    return tests_run(cases_suite());
}
