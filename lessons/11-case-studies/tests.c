/*
 * tests.c - graded tests for lesson 11 (fr_crawl in frontier.c).
 *
 * A fake web stands in for the network: page i's links are fixed tables,
 * a fetch sleeps a few milliseconds (the server's delay) and counts itself
 * (how many fetches of each page, how many at once, on which thread).  So
 * the tests see what the crawler did without timing anything: every page
 * fetched once, nothing unreachable or out of range fetched, the order
 * breadth-first, errors recorded, fetches overlapping on the pool.
 */
#include "frontier.h"
#include "grading.h"
#include "threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 512

struct web {
    int npages;
    int nlinks[MAX_PAGES];
    int links[MAX_PAGES][FR_MAX_LINKS];
    int fail[MAX_PAGES];            /* the error its fetch returns */
    long delay_ms;
    pthread_t caller;               /* the thread that called fr_crawl */
    atomic_int fetches[MAX_PAGES];
    atomic_int out_of_range;        /* fetches of ids not in 0..npages-1 */
    atomic_int on_caller;           /* fetches run by the calling thread */
    atomic_int inflight, max_inflight;
};

static void fake_fetch(void *ctx, int id, struct fr_page *out)
{
    struct web *w = ctx;
    int now, max;

    memset(out, 0, sizeof(*out));
    out->id = id;
    if (id < 0 || id >= w->npages) {
        atomic_fetch_add(&w->out_of_range, 1);
        out->error = EINVAL;
        return;
    }
    atomic_fetch_add(&w->fetches[id], 1);
    if (pthread_equal(pthread_self(), w->caller))
        atomic_fetch_add(&w->on_caller, 1);
    now = atomic_fetch_add(&w->inflight, 1) + 1;
    max = atomic_load(&w->max_inflight);
    while (now > max &&
           !atomic_compare_exchange_weak(&w->max_inflight, &max, now))
        continue;
    if (w->delay_ms > 0)
        grade_msleep(w->delay_ms);
    atomic_fetch_sub(&w->inflight, 1);
    out->error = w->fail[id];
    if (out->error != 0)
        return;
    out->nlinks = (size_t)w->nlinks[id];
    memcpy(out->links, w->links[id], sizeof(out->links));
}

static void add_link(struct web *w, int from, int to)
{
    ck_assert_int_lt(w->nlinks[from], FR_MAX_LINKS);
    w->links[from][w->nlinks[from]++] = to;
}

/*
 * A web of `reachable` pages in a binary tree (i links to 2i+1 and 2i+2),
 * each also linking back to its parent and to page 0 (so every page is
 * met several times), then `unreachable` pages nobody links to, which link
 * into the tree.
 */
static struct web *make_web(int reachable, int unreachable, long delay_ms)
{
    struct web *w = calloc(1, sizeof(*w));

    ck_assert_ptr_nonnull(w);
    ck_assert_int_le(reachable + unreachable, MAX_PAGES);
    w->npages = reachable + unreachable;
    w->delay_ms = delay_ms;
    w->caller = pthread_self();
    for (int i = 0; i < reachable; i++) {
        if (2 * i + 1 < reachable)
            add_link(w, i, 2 * i + 1);
        if (2 * i + 2 < reachable)
            add_link(w, i, 2 * i + 2);
        add_link(w, i, (i - 1) / 2);
        add_link(w, i, 0);
    }
    for (int i = reachable; i < w->npages; i++)
        add_link(w, i, i % reachable);
    return w;
}

/* The pages a correct crawl fetches, in exact breadth-first order when
 * fetched one at a time; returns their number. */
static int reference_bfs(const struct web *w, int start, int *order)
{
    bool seen[MAX_PAGES] = { false };
    int head = 0, tail = 0;

    seen[start] = true;
    order[tail++] = start;
    while (head < tail) {
        int p = order[head++];

        if (w->fail[p] != 0)
            continue;
        for (int k = 0; k < w->nlinks[p]; k++) {
            int to = w->links[p][k];

            if (to >= 0 && to < w->npages && !seen[to]) {
                seen[to] = true;
                order[tail++] = to;
            }
        }
    }
    return tail;
}

static struct tp_pool *make_pool(unsigned workers)
{
    struct tp_options o = TP_OPTIONS_INIT;
    struct tp_pool *p;

    o.workers = workers;
    ck_assert_int_eq(tp_pool_create(&o, &p), 0);
    return p;
}

/* Crawls w from page 0 and checks that exactly the reference pages were
 * fetched, once each, with their errors recorded. */
static void crawl_and_check(struct web *w, struct tp_pool *pool,
                            struct fr_page *visited, size_t *n)
{
    int order[MAX_PAGES], expect = reference_bfs(w, 0, order);
    bool want[MAX_PAGES] = { false };

    ck_assert_int_eq(fr_crawl(pool, fake_fetch, w, 0, w->npages, visited,
                              n), 0);
    ck_assert_int_eq(atomic_load(&w->out_of_range), 0);
    for (int k = 0; k < expect; k++)
        want[order[k]] = true;
    for (int i = 0; i < w->npages; i++) {
        int f = atomic_load(&w->fetches[i]);

        ck_assert_msg(f == (want[i] ? 1 : 0),
                      "page %d fetched %d times (%s)", i, f,
                      want[i] ? "reachable: once" : "unreachable: never");
    }
    ck_assert_msg(*n == (size_t)expect, "%zu pages recorded, not %d", *n,
                  expect);
    for (size_t k = 0; k < *n; k++) {
        int id = visited[k].id;

        ck_assert_msg(id >= 0 && id < w->npages && want[id],
                      "record %zu is page %d", k, id);
        ck_assert_msg(visited[k].error == w->fail[id],
                      "page %d recorded with error %d, not %d", id,
                      visited[k].error, w->fail[id]);
    }
}

START_TEST(seq_fetches_every_reachable_page_once)
{
    struct web *w = make_web(63, 10, 0);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    crawl_and_check(w, NULL, visited, &n);
    free(w);
}
END_TEST

START_TEST(seq_order_is_breadth_first)
{
    struct web *w = make_web(40, 0, 0);
    struct fr_page visited[MAX_PAGES];
    int order[MAX_PAGES], expect;
    size_t n;

    /* Extra links, so that breadth-first differs from other orders. */
    add_link(w, 1, 39);
    add_link(w, 2, 20);
    add_link(w, 5, 1);
    expect = reference_bfs(w, 0, order);
    ck_assert_int_eq(fr_crawl(NULL, fake_fetch, w, 0, w->npages, visited,
                              &n), 0);
    ck_assert_uint_eq(n, (size_t)expect);
    for (int k = 0; k < expect; k++)
        ck_assert_msg(visited[k].id == order[k],
                      "fetch %d was page %d; breadth-first says page %d", k,
                      visited[k].id, order[k]);
    free(w);
}
END_TEST

START_TEST(links_out_of_range_are_ignored)
{
    struct web *w = make_web(20, 0, 0);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    add_link(w, 0, -1);
    add_link(w, 3, 20);
    add_link(w, 7, 1000000);
    crawl_and_check(w, NULL, visited, &n);
    free(w);
}
END_TEST

START_TEST(failed_pages_are_recorded_and_the_crawl_goes_on)
{
    struct web *w = make_web(100, 0, 1);
    struct tp_pool *pool = make_pool(4);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    w->fail[1] = ECONNREFUSED;      /* and its subtree is cut off */
    w->fail[6] = ETIMEDOUT;
    w->fail[50] = ECONNREFUSED;
    crawl_and_check(w, pool, visited, &n);
    tp_pool_destroy(pool);
    free(w);
}
END_TEST

START_TEST(pool_fetches_every_reachable_page_once)
{
    struct web *w = make_web((int)grade_scaled(300), 20, 1);
    struct tp_pool *pool = make_pool(6);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    crawl_and_check(w, pool, visited, &n);
    tp_pool_destroy(pool);
    free(w);
}
END_TEST

/* The point of the pool: fetches wait side by side.  Page 0 links to 12
 * pages that each take 20 ms; with 4 workers, a crawler that submits them
 * all has several fetches in flight at once; one that waits for each
 * before submitting the next never has more than one. */
START_TEST(pool_fetches_overlap)
{
    struct web *w = make_web(1, 12, 20);
    struct tp_pool *pool = make_pool(4);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    for (int i = 1; i <= 12; i++)
        add_link(w, 0, i);
    crawl_and_check(w, pool, visited, &n);
    ck_assert_msg(atomic_load(&w->max_inflight) >= 2,
                  "at most %d fetch in flight at once: the fetches do not "
                  "overlap", atomic_load(&w->max_inflight));
    ck_assert_msg(atomic_load(&w->max_inflight) <= 4,
                  "%d fetches at once on 4 workers",
                  atomic_load(&w->max_inflight));
    tp_pool_destroy(pool);
    free(w);
}
END_TEST

START_TEST(pool_fetches_run_on_the_workers)
{
    struct web *w = make_web(30, 0, 0);
    struct tp_pool *pool = make_pool(3);
    struct fr_page visited[MAX_PAGES];
    size_t n;

    crawl_and_check(w, pool, visited, &n);
    ck_assert_msg(atomic_load(&w->on_caller) == 0,
                  "%d fetches ran in the calling thread, not on the pool",
                  atomic_load(&w->on_caller));
    tp_pool_destroy(pool);
    free(w);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST(seq_fetches_every_reachable_page_once, 3, 0),
    GRADE_TEST(seq_order_is_breadth_first, 2, 0),
    GRADE_TEST(links_out_of_range_are_ignored, 1, 0),
    GRADE_TEST(failed_pages_are_recorded_and_the_crawl_goes_on, 2, 1),
    GRADE_TEST(pool_fetches_every_reachable_page_once, 3, 2),
    GRADE_TEST(pool_fetches_overlap, 3, 1),
    GRADE_TEST(pool_fetches_run_on_the_workers, 2, 1),
};
GRADE_MAIN(tests)
