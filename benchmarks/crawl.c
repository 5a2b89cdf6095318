/*
 * crawl - the tutorial's web crawler case study (section 7.1), for real:
 * a breadth-first crawl of a generated site served over HTTP on 127.0.0.1,
 * sequentially or on a thread pool of W workers.
 *
 *     crawl --mode seq --pages 100 --delay-ms 20      about 100 x 20 ms
 *     crawl --mode threads --workers 10 --pages 100   about 10 times faster
 *     crawl --mode threads --dead 2 --slow 1 --missing 3 --timeout-ms 300
 *     crawl --mode threads --pages 20 --show          print every page
 *
 * The program starts its own server (benchmarks/cases/httpd.c) in a thread,
 * on an ephemeral port, serving a site of --pages pages (cases/site.c), and
 * waits --delay-ms before every response, the way a distant server would.
 * The crawler (cases/crawler.c) then fetches page 0 and follows links
 * breadth-first without visiting a page twice.  Each fetch is a real TCP
 * connection and a real HTTP/1.1 GET; nothing is mocked.
 *
 * WHY A THREAD POOL FITS.  A fetch spends almost all its time waiting for
 * the server: the CPU work (building a request, parsing a page) takes tens
 * of microseconds, the wait takes the delay.  W threads can wait at the
 * same time, so pages per second grow with W until the site runs out of
 * pages to fetch in parallel.  The ideal is W pages per delay:
 * W x 1000 / D pages per second, printed beside the measurement.  A crawl
 * cannot quite reach it: breadth-first discovery starts from one page, and
 * the first rounds have fewer pages known than workers.
 *
 * Faults: --dead K links to a port where nothing listens, --slow K to pages
 * the server never answers (so --timeout-ms fires), --missing K to pages
 * that answer 404.  Each becomes one error record, as in the tutorial's
 * {'url': ..., 'error': ...}; none stops the crawl.
 *
 * The record: n = pages in the site, chunk = 1 (one page per task),
 * tasks = URLs fetched (pages and faults), variant = "delayDms" so that a
 * chart can draw the ideal from the data.  Pages per second = tasks /
 * kernel_s.  expected = pages + faults; result = the records that match
 * the site (each page once, with its title and number of links; each fault
 * once, with its error) minus every record that does not and every page
 * the server had to serve twice.  So result == expected exactly when the
 * crawl found the whole site, nothing else, each URL once.
 */
#include "bench.h"
#include "crawler.h"
#include "httpd.h"
#include "site.h"
#include "threadpool.h"
#include "trace_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints one page the way the tutorial prints scrape_page's dict. */
static void show_page(const struct bench *b, const struct crawl_page *pg)
{
    if (pg->status == CRAWL_OK)
        bench_text(b, "  {'url': '%s', 'title': '%s', 'links': %zu}\n",
                   pg->url, pg->title != NULL ? pg->title : "None",
                   pg->nlinks);
    else
        bench_text(b, "  {'url': '%s', 'error': '%s'}\n", pg->url,
                   pg->error);
}

static void summarize(const struct bench *b, const struct crawl_result *res,
                      double kernel_s, long long delay, long workers,
                      long long pages)
{
    size_t kinds[CRAWL_BAD_URL + 1] = { 0 };
    double ideal = delay > 0 ? (double)(workers < pages ? workers : pages) *
                                   1000.0 / (double)delay
                             : 0.0;

    for (size_t i = 0; i < res->npages; i++)
        kinds[res->pages[i].status]++;
    bench_text(b, "  %zu pages, %zu errors (%zu refused, %zu timed out, "
               "%zu HTTP, %zu other) in %.3f s: %.1f pages/s",
               res->ok, res->errors, kinds[CRAWL_REFUSED],
               kinds[CRAWL_TIMEOUT], kinds[CRAWL_HTTP],
               kinds[CRAWL_BAD_RESPONSE] + kinds[CRAWL_NET] +
                   kinds[CRAWL_BAD_URL],
               kernel_s, kernel_s > 0 ? (double)res->npages / kernel_s : 0.0);
    if (delay > 0)
        bench_text(b, "; ideal %ld x 1000 / %lld ms = %.1f pages/s\n",
                   workers < pages ? workers : (long)pages, delay, ideal);
    else
        bench_text(b, "\n");
}

int main(int argc, char **argv)
{
    /* 200 pages with a 20 ms delay: 4 s sequentially, well under a second
     * on the tutorial's 10 workers.  The 2 s timeout is far above any
     * delay a run here uses, as the tutorial's timeout=5 is for the web. */
    long long pages = 200, links = 4, delay = 20, timeout = 2000;
    long long dead = 0, slow = 0, missing = 0, seed = 1;
    bool show = false;
    const struct bench_opt opts[] = {
        { .name = "pages", .type = BENCH_OPT_INT, .num = &pages, .min = 1,
          .max = 100000, .metavar = "N", .help = "pages in the site" },
        { .name = "links", .type = BENCH_OPT_INT, .num = &links, .min = 0,
          .max = SITE_MAX_LINKS, .metavar = "L",
          .help = "random links per page, besides two to its children" },
        { .name = "delay-ms", .type = BENCH_OPT_INT, .num = &delay,
          .min = 0, .max = 10000, .metavar = "MS",
          .help = "server delay before every response" },
        { .name = "timeout-ms", .type = BENCH_OPT_INT, .num = &timeout,
          .min = 1, .max = 600000, .metavar = "MS",
          .help = "per-page timeout (connect, send and receive)" },
        { .name = "dead", .type = BENCH_OPT_INT, .num = &dead, .min = 0,
          .max = 1000, .metavar = "K",
          .help = "links to a refused port (connection errors)" },
        { .name = "slow", .type = BENCH_OPT_INT, .num = &slow, .min = 0,
          .max = 1000, .metavar = "K",
          .help = "links the server never answers (timeouts)" },
        { .name = "missing", .type = BENCH_OPT_INT, .num = &missing,
          .min = 0, .max = 1000, .metavar = "K",
          .help = "links to pages that answer 404" },
        { .name = "seed", .type = BENCH_OPT_INT, .num = &seed, .min = 0,
          .max = 1000000000, .metavar = "S", .help = "seed of the links" },
        { .name = "show", .type = BENCH_OPT_FLAG, .flag = &show,
          .help = "print every page record (text format)" },
        { 0 }
    };
    static const char *const modes[] = { "threads", "seq", NULL };
    const struct bench_spec spec = {
        .name = "crawl",
        .summary = "breadth-first crawl of a generated site on a local "
                   "HTTP server",
        .modes = modes,
        .opts = opts,
        /* The tutorial's crawler: ThreadPoolExecutor(max_workers=10). */
        .default_workers = 10,
    };
    struct site_opts so = SITE_OPTS_INIT;
    struct crawl_opts co = CRAWL_OPTS_INIT;
    struct tp_options topt;
    struct tp_pool *pool = NULL;
    struct site *site = NULL;
    struct bench b;
    unsigned dead_port = 0;
    int dead_fd = -1, err, rc;
    bool seq;
    double t0, setup_s;
    char variant[32];

    rc = bench_parse(&b, &spec, argc, argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    if (b.chunk > 1)
        return bench_usage_error(&b, "--chunk: crawl fetches one page per "
                                 "task");
    seq = strcmp(b.mode, "seq") == 0;
    snprintf(variant, sizeof(variant), "delay%lldms", delay);

    t0 = bench_now();
    so.pages = (unsigned)pages;
    so.links = (unsigned)links;
    so.dead = (unsigned)dead;
    so.slow = (unsigned)slow;
    so.missing = (unsigned)missing;
    so.seed = (uint64_t)seed;
    err = site_create(&so, &site);
    if (err == 0)
        err = httpd_dead_port(&dead_fd, &dead_port);
    if (err == 0 && !seq) {
        bench_tp_options(&b, &topt);
        err = tp_pool_create(&topt, &pool);
    }
    setup_s = bench_now() - t0;
    if (err != 0) {
        bench_error(&b, "setting up", err);
        goto done;
    }
    co.timeout_ms = (unsigned)timeout;
    co.pool = pool;
    co.max_pages = (size_t)(pages + dead + slow + missing) * 2;

    for (long rep = 0; rep < b.repeat; rep++) {
        struct httpd_opts ho = HTTPD_OPTS_INIT;
        struct httpd_stats st;
        struct site_report sr;
        struct crawl_result res;
        struct bench_record r;
        struct httpd *srv;
        unsigned port;
        char start[64];

        bench_record_init(&b, &r, rep);
        t0 = bench_now();
        ho.site = site;
        ho.delay_ms = (unsigned)delay;
        ho.dead_port = dead_port;
        if ((err = httpd_start(&ho, &srv)) != 0) {
            bench_error(&b, "starting the server", err);
            break;
        }
        r.setup_s = bench_now() - t0 + (rep == 0 ? setup_s : 0.0);
        port = httpd_port(srv);
        snprintf(start, sizeof(start), "http://127.0.0.1:%u/page/0.html",
                 port);

        bench_kernel_start(&r);
        err = crawl_run(start, &co, &res);
        bench_kernel_stop(&r);

        rc = httpd_stop(srv, &st);
        if (err == 0)
            err = rc;
        if (err == 0)
            err = site_verify(site, port, dead_port, &res, &sr);
        if (err != 0) {
            crawl_result_release(&res);
            bench_error(&b, "crawling", err);
            break;
        }
        r.variant = variant;
        r.n = pages;
        r.chunk = 1;
        r.tasks = (long long)res.npages;
        r.expected = pages + dead + slow + missing;
        r.result = (int64_t)(sr.pages_ok + sr.faults_ok) -
                   (int64_t)sr.wrong - (int64_t)(st.ok - st.pages_served);
        if (show)
            for (size_t i = 0; i < res.npages; i++)
                show_page(&b, &res.pages[i]);
        rc = bench_emit(&b, &r);
        summarize(&b, &res, r.kernel_s, delay, seq ? 1 : b.workers, pages);
        crawl_result_release(&res);
        if (rc != 0)
            break;
    }

done:
    if (pool != NULL)
        bench_trace_tp(&b, pool);
    tp_pool_destroy(pool);
    if (dead_fd >= 0)
        close(dead_fd);
    site_destroy(site);
    return bench_finish(&b);
}
