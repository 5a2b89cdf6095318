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
 * The pieces live in their own files: url.c (URLs), html.c (the title
 * and links of a page), http.c (fetching one page, crawl_fetch).
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
    cr->seen[i] = crawl_dup_n(url, strlen(url));
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

    if (!crawl_starts_nocase(url, "http://") || !url_split(url, &u) ||
        strcmp(u.host, cr->start_host) != 0 ||
        cr->seen_n >= cr->o->max_pages)
        return 0;
    rc = seen_add(cr, url);
    if (rc != 0)
        return rc == EEXIST ? 0 : rc;
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->url = crawl_dup_n(url, strlen(url))) == NULL) {
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
