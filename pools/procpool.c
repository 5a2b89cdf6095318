/*
 * procpool.c - the parent side of the process pool (see procpool.h for the
 * interface, pp_worker.c for the child side, pp_forkserver.c for how
 * workers are born).
 *
 * The processes.  pp_pool_create starts one thread in the parent, the
 * collector.  The collector forks the fork server, a small single-threaded
 * process, and asks it for N workers.  For each worker the collector makes
 * a socketpair, keeps one end and sends the other to the server with the
 * request (SCM_RIGHTS: a file descriptor travels in a message); the server
 * forks, and the child becomes the worker on that end.  So:
 *
 *     parent: your threads + collector ----- control socket ----- server
 *                |  one socket per worker                           | fork
 *                +------------------------------- worker 0, 1, ... -+
 *
 * How tasks travel.  Submitting (pp_apply_async, pp_map...) appends a job
 * to the queue, under pool->lock.  Jobs are handed to workers by writing a
 * task frame (a fixed header, then the argument bytes) into the worker's
 * socket.  The submitting thread does that itself when a worker has room
 * (one thread hop fewer for a lone apply); otherwise the collector does it
 * when answers come back and make room.  A job is a run of items of one
 * call; a frame carries up to chunk_size of them.  The worker runs each
 * item and writes back one result frame per item (a header with the
 * task's return code and length, then the result bytes).  Both directions
 * are length-prefixed byte streams, read into a buffer and cut into frames
 * as they complete, so a frame may arrive in many pieces or many frames in
 * one read.  Several frames are sent ahead to each worker (prefetch): a
 * worker that finishes an item finds the next one already in its socket,
 * and the collector, woken once, reads many results in one go.  That is
 * how a short task costs a few microseconds instead of a round trip.
 *
 * Large data does not travel: pp_map_shm sends only the index of each item
 * (in the header) and the worker finds the item in a shared region, mapped
 * at the same address in every process (pp_shm.c).
 *
 * Crashes.  The collector keeps, per worker, the list of items sent and not
 * yet answered, in order.  The worker answers each item before it starts
 * the next, so when a worker dies, the first unanswered item is the one that
 * killed it, and the ones after it never started.  (Unless it died between
 * items, say killed from outside while idle: the count of items started,
 * in the shared status page below, tells, and then nobody is blamed.)
 * The server reaps the dead worker and sends its wait status (DIED); the
 * collector then reads whatever answers are still in the socket, ends the
 * culprit with the signal or exit status, puts the unstarted items back at
 * the head of the queue, and asks the server for a replacement.  Nothing
 * else is disturbed, which is the difference with Python's Pool (which can
 * hang) and ProcessPoolExecutor (which breaks for good).
 *
 * Time limits.  A worker notes in a shared page (struct pp_status) how
 * many items it has started and when the current one began.  The
 * collector wakes up when the oldest running item reaches the limit and
 * asks the server to SIGKILL that worker (the server, being the parent,
 * knows the pid has not been reaped and reused).  When DIED comes, the
 * culprit ends with ETIMEDOUT instead of "killed by signal 9".
 *
 * Recycling.  With max_tasks_per_child = K the collector sends each worker
 * at most K items; the worker exits by itself after the K-th answer and is
 * replaced like a crashed one, but with no culprit.
 *
 * Locks.  pool->lock protects the queue, the counters and how calls end;
 * pool->cv is signalled when the pool has started, when a map's last item
 * ends and when nothing is outstanding.  Each handle has its own mutex and
 * condition variable, so waiting on a handle never touches the pool and
 * works after the pool is gone.  The worker slots (in-flight lists, output
 * buffers) are under pool->lock too, because a submitting thread that
 * finds a worker with room writes the frame itself, saving the hop through
 * the collector; only the collector changes a slot's state and socket, and
 * only it reads results (into a buffer of its own, without the lock).
 * Callbacks run in the collector with no lock held.
 *
 * Shutdown.  close waits for the outstanding count to reach zero.
 * terminate asks the server to kill every worker and ends each unfinished
 * item with ECANCELED.  destroy then tells the collector to quit: it closes
 * every worker socket (idle workers see EOF and _exit), closes the control
 * socket (the server waits for its children, then exits), reaps the server
 * and returns; destroy joins it.  Every descriptor here is O_CLOEXEC.
 *
 * What it does not do: it does not exec (so no Windows-style "spawn"), it
 * does not retry a task whose worker crashed (a crash is reported once),
 * and it does not steal back items already sent to a busy worker (use
 * prefetch = 1 when tasks vary a lot in length).
 */
#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A broken invariant is a bug: PB_CHECK (util.h) stops with file and
 * line, in every build. */

/*
 * How long to wait before asking again when the server could not fork
 * (process table or memory full): 100 ms, a guess that is long enough not
 * to spin and short enough that nobody waits noticeably once it clears.
 */
#define SPAWN_RETRY_NS (100 * 1000000LL)
/* First size of a worker's input buffer (results) and output buffer. */
#define BUF_START (64 * 1024)
/* Most items in one frame (the header's count is 32 bits). */
#define FRAME_ITEMS_MAX ((size_t)1 << 30)

/* ---- Data ------------------------------------------------------------ */

/*
 * One call: an apply or a map.  Its items share everything but their
 * index.  Set up before the call is queued, then read-only, except
 * `remaining` (pool->lock).
 */
struct call {
    pp_task_fn *fn;
    enum pp_kind kind;
    const unsigned char *bytes; /* BYTES: item 0's argument */
    const struct pp_arg *star;  /* STAR: item 0's tuple */
    uintptr_t shm_base;         /* SHM: item 0's address */
    size_t item_size;           /* BYTES, SHM: bytes per item; STAR: argc */
    size_t remaining;           /* items not ended yet (pool->lock) */
    struct pp_handle *h;        /* an apply's handle, or NULL */
    struct pp_results *res;     /* a map's results, or NULL */
};

/* Items [first, first + count) of a call, waiting in the queue. */
struct job {
    struct job *next;
    struct call *call;
    size_t first, count;
    bool retry; /* malloc'd when a crash sent items back: freed when sent */
};

/* Items sent to a worker in one frame and not all answered yet. */
struct piece {
    struct call *call;
    size_t first;
    uint32_t count, done;
    uint64_t seq;
};

struct pp_handle {
    struct call call;
    struct job job;
    unsigned char *arg; /* our copy of the argument */
    pp_callback_fn *cb;
    void *cb_arg;
    long spin_ns;                /* pp_options.tuning->spin_ns */
    struct pp_handle *done_next; /* the collector's list of handles to end */
    _Atomic int refs;            /* the caller's and the pool's */
    pthread_mutex_t mu;          /* protects nothing but the wait below */
    pthread_cond_t cv;           /* signalled when done becomes true */
    _Atomic bool done;
    /* Written by the collector before done is set, read-only after. */
    struct pp_outcome outcome;
    void *result;
    size_t result_len;
};

struct item {
    struct pp_outcome o;
    size_t off; /* result bytes at r->arena + off */
    size_t len;
};

struct pp_results {
    size_t count;
    struct item *items;
    unsigned char *arena;
    size_t arena_len, arena_cap;
};

enum slot_state {
    SLOT_EMPTY,    /* no worker, none wanted */
    SLOT_WANTED,   /* a worker is wanted: SPAWN not sent yet */
    SLOT_STARTING, /* SPAWN sent, waiting for SPAWNED */
    SLOT_RUNNING   /* a live worker (perhaps dying: see eof) */
};

/*
 * One worker slot.  Protected by pool->lock, except in/in_len/in_cap (the
 * collector's alone).  Only the collector changes state, fd and pid, so it
 * may read those without the lock.
 */
struct slot {
    enum slot_state state;
    int fd;            /* our end of its socket, or -1 */
    pid_t pid;
    bool eof;          /* its socket is finished: waiting for DIED */
    bool kill_wanted;  /* a KILL request is to be sent */
    bool kill_sent;
    bool timeout_kill; /* ... because item number timeout_item ran long */
    uint64_t timeout_item;
    uint64_t sent;     /* items sent to this worker */
    uint64_t answered; /* results read from it */
    int64_t retry_at;  /* SLOT_WANTED: not before this time */
    struct piece *ring; /* in-flight frames, oldest first */
    unsigned head, n;
    unsigned char *in; /* results read, not yet cut into frames */
    size_t in_len, in_cap;
    unsigned char *out; /* frames not yet written */
    size_t out_pos, out_len, out_cap;
};

struct pp_pool {
    /* Set by pp_pool_create, read-only after. */
    unsigned nworkers;
    unsigned max_tasks;
    unsigned timeout_ms;
    unsigned prefetch;
    long spin_ns;
    int64_t created_ns; /* regions made after this are not in workers */
    struct pp_worker_cfg wcfg;
    size_t status_size;
    int wake_rd, wake_wr; /* submitters write a byte, the collector polls */
    pthread_t collector;

    pthread_mutex_t lock;
    pthread_cond_t cv;
    /* Protected by lock. */
    struct job *qhead, *qtail; /* the queue */
    size_t queued;             /* items in the queue */
    size_t outstanding;        /* items submitted and not ended */
    uint64_t seq;              /* last frame number used */
    bool wake_pending;         /* a wake byte is on its way */
    bool started;              /* the collector finished starting */
    int start_error;
    bool closing;              /* no new work */
    bool terminating;          /* kill everything, cancel everything */
    bool quit;                 /* the collector must leave */
    struct pp_stats stats;
    pid_t *pids;               /* per slot, 0 when none */

    struct slot *slots;        /* nworkers of them: see struct slot */

    /* The collector's own. */
    struct pollfd *pfd;
    int ctl;          /* control socket to the server, or -1 */
    pid_t server;     /* its pid, or 0 */
    bool terminated;  /* terminate's kills and cancels are done */
    int64_t server_retry_at;
};

/* ---- Small helpers --------------------------------------------------- */

static void handle_unref(struct pp_handle *h)
{
    if (atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->arg);
    free(h->result);
    free(h);
}

/* Wakes the collector.  Caller holds pool->lock; write after unlocking. */
static bool wake_needed(struct pp_pool *pool)
{
    if (pool->wake_pending)
        return false;
    pool->wake_pending = true;
    return true;
}

static void wake(struct pp_pool *pool)
{
    ssize_t n;

    do
        n = write(pool->wake_wr, "", 1);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the socket is full of wake-ups already; nothing to add. */
}

/* Makes sure buf can hold need bytes.  Returns 0 or ENOMEM. */
static int grow(unsigned char **buf, size_t *cap, size_t need)
{
    size_t c = *cap > 0 ? *cap : BUF_START;
    unsigned char *p;

    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if ((p = realloc(*buf, c)) == NULL)
        return ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

/* ---- Ending items ---------------------------------------------------- */

/*
 * Ends item `index` of call c with outcome o and result bytes data/len.
 * Handles are only prepared here and put on *done, to be published and
 * their callbacks run once the lock is dropped (publish).  Caller holds
 * pool->lock.
 */
static void end_item(struct pp_pool *pool, struct call *c, size_t index,
                     struct pp_outcome o, const void *data, size_t len,
                     struct pp_handle **done)
{
    struct pp_results *r = c->res;
    struct pp_handle *h = c->h;

    if (len > 0) {
        if (h != NULL) {
            if ((h->result = malloc(len)) != NULL) {
                memcpy(h->result, data, len);
                h->result_len = len;
            }
        } else if (grow(&r->arena, &r->arena_cap, r->arena_len + len) ==
                   0) {
            memcpy(r->arena + r->arena_len, data, len);
            r->items[index].off = r->arena_len;
            r->items[index].len = len;
            r->arena_len += len;
        } else {
            data = NULL;
        }
        if (h != NULL ? h->result == NULL : data == NULL) {
            /* No room in the parent for the result: say so, not lie. */
            o.end = PP_END_TOOBIG;
            o.error = ENOMEM;
        }
    }
    switch (o.end) {
    case PP_END_ERROR:
        pool->stats.failed++;
        break;
    case PP_END_SIGNALED:
    case PP_END_EXITED:
        pool->stats.crashed++;
        break;
    case PP_END_TIMEDOUT:
        pool->stats.timed_out++;
        break;
    case PP_END_CANCELLED:
        pool->stats.cancelled++;
        break;
    default:
        break;
    }
    pool->stats.completed++;
    PB_CHECK(c->remaining != 0);
    c->remaining--;
    if (h != NULL) {
        h->outcome = o;
        h->done_next = *done;
        *done = h;
        return;
    }
    r->items[index].o = o;
    PB_CHECK(pool->outstanding != 0);
    pool->outstanding--;
    if (c->remaining == 0 || pool->outstanding == 0)
        pthread_cond_broadcast(&pool->cv);
}

/*
 * Publishes ended handles: wakes their waiters, runs their callbacks, and
 * only then counts them as no longer outstanding, so that pp_pool_close
 * returns after every callback.  Called by the collector, no lock held.
 */
static void publish(struct pp_pool *pool, struct pp_handle *list)
{
    struct pp_handle *h, *next, *ordered = NULL;
    size_t n = 0;

    /* end_item pushes on the front: turn it round, oldest first. */
    for (h = list; h != NULL; h = next) {
        next = h->done_next;
        h->done_next = ordered;
        ordered = h;
    }
    for (h = ordered; h != NULL; h = next) {
        next = h->done_next;
        pthread_mutex_lock(&h->mu);
        atomic_store(&h->done, true);
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        if (h->cb != NULL)
            h->cb(h, h->cb_arg);
        handle_unref(h);
        n++;
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&pool->lock);
    PB_CHECK(pool->outstanding >= n);
    pool->outstanding -= n;
    if (pool->outstanding == 0)
        pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->lock);
}

static struct pp_outcome outcome_of(enum pp_end end, int error, pid_t pid)
{
    struct pp_outcome o;

    memset(&o, 0, sizeof(o));
    o.end = end;
    o.error = error;
    o.pid = pid;
    return o;
}

/*
 * Ends items [first, first + count) of c, which will not run, with error
 * (ECANCELED, or ENOMEM).  Caller holds pool->lock.
 */
static void cancel_items(struct pp_pool *pool, struct call *c, size_t first,
                         size_t count, int error, struct pp_handle **done)
{
    size_t i;

    for (i = 0; i < count; i++)
        end_item(pool, c, first + i, outcome_of(PP_END_CANCELLED, error, 0),
                 NULL, 0, done);
}

/* Unlinks and returns the queue's first job.  Caller holds pool->lock. */
static struct job *queue_pop(struct pp_pool *pool)
{
    struct job *j = pool->qhead;

    pool->qhead = j->next;
    if (pool->qhead == NULL)
        pool->qtail = NULL;
    j->next = NULL;
    return j;
}

/* ---- Sending --------------------------------------------------------- */

/* Bytes of one starmap item once framed: lengths then strings. */
static size_t star_size(const struct pp_arg *t, size_t argc)
{
    size_t k, n = 4 * argc;

    for (k = 0; k < argc; k++)
        n += t[k].len;
    return n;
}

/*
 * Appends the frame for items [first, first + count) of c to s->out.
 * Returns 0 or ENOMEM.  Caller holds pool->lock.
 */
static int frame_out(struct pp_pool *pool, struct slot *s, struct call *c,
                     size_t first, size_t count, uint64_t seq)
{
    struct pp_task_hdr h;
    size_t payload = 0, i, k, at;
    const struct pp_arg *t;
    uint32_t len;

    if (c->kind == PP_KIND_BYTES)
        payload = count * c->item_size;
    else if (c->kind == PP_KIND_STAR)
        for (i = 0; i < count; i++)
            payload += star_size(c->star + (first + i) * c->item_size,
                                 c->item_size);
    if (s->out_pos > 0 && s->out_pos == s->out_len)
        s->out_pos = s->out_len = 0;
    if (grow(&s->out, &s->out_cap, s->out_len + sizeof(h) + payload) != 0)
        return ENOMEM;
    memset(&h, 0, sizeof(h));
    h.seq = seq;
    memcpy(&h.fn, &c->fn, sizeof(c->fn));
    h.base = c->shm_base;
    h.first = first;
    h.item_size = c->item_size;
    h.kind = c->kind;
    h.count = (uint32_t)count;
    h.payload = (uint32_t)payload;
    at = s->out_len;
    memcpy(s->out + at, &h, sizeof(h));
    at += sizeof(h);
    if (c->kind == PP_KIND_BYTES && payload > 0) {
        memcpy(s->out + at, c->bytes + first * c->item_size, payload);
    } else if (c->kind == PP_KIND_STAR) {
        for (i = 0; i < count; i++) {
            t = c->star + (first + i) * c->item_size;
            for (k = 0; k < c->item_size; k++) {
                len = (uint32_t)t[k].len;
                memcpy(s->out + at, &len, 4);
                at += 4;
            }
            for (k = 0; k < c->item_size; k++) {
                if (t[k].len > 0)
                    memcpy(s->out + at, t[k].data, t[k].len);
                at += t[k].len;
            }
        }
    }
    s->out_len += sizeof(h) + payload;
    pool->stats.messages++;
    pool->stats.bytes_copied += payload;
    return 0;
}

/* Can this slot take work now? */
static bool slot_usable(const struct slot *s)
{
    return s->state == SLOT_RUNNING && !s->eof && !s->kill_wanted &&
           !s->kill_sent;
}

/*
 * Moves jobs from the queue into the sockets' output buffers.  A worker
 * takes another frame while it has fewer than `prefetch` frames in flight
 * and fewer than queued / (2 * workers) items in flight: the second limit,
 * counted in items because a frame may hold many, is what spreads a short
 * queue (a handful of long tasks, or a map cut into 4 frames per worker)
 * over all workers instead of filling the first one.  A worker with
 * nothing in flight always gets a frame.  Caller holds pool->lock.
 */
static void dispatch(struct pp_pool *pool)
{
    unsigned i, nrun = 0;
    size_t take, left, depth;
    struct slot *s;
    struct piece *p;
    struct job *j;

    for (i = 0; i < pool->nworkers; i++)
        if (slot_usable(&pool->slots[i]))
            nrun++;
    if (nrun == 0 || pool->qhead == NULL)
        return;
    depth = pool->queued / (2 * (size_t)nrun);
    for (i = 0; i < pool->nworkers && pool->qhead != NULL; i++) {
        s = &pool->slots[i];
        while (slot_usable(s) && s->n < pool->prefetch &&
               (s->n == 0 || s->sent - s->answered < depth) &&
               pool->qhead != NULL) {
            j = pool->qhead;
            take = j->count;
            if (pool->max_tasks != 0) {
                left = pool->max_tasks - (size_t)s->sent;
                if (left == 0)
                    break;
                if (take > left)
                    take = left;
            }
            if (frame_out(pool, s, j->call, j->first, take, pool->seq + 1))
                return; /* no memory now: try again next cycle */
            p = &s->ring[(s->head + s->n) % pool->prefetch];
            p->call = j->call;
            p->first = j->first;
            p->count = (uint32_t)take;
            p->done = 0;
            p->seq = ++pool->seq;
            s->n++;
            s->sent += take;
            j->first += take;
            j->count -= take;
            pool->queued -= take;
            if (j->count == 0) {
                queue_pop(pool);
                if (j->retry)
                    free(j);
            }
        }
    }
}

/*
 * Writes what it can of s->out without blocking.  Caller holds pool->lock:
 * both the collector and a submitting thread send (see submit).
 */
static void flush_out(struct slot *s)
{
    ssize_t n;

    while (s->out_pos < s->out_len && !s->eof) {
        n = send(s->fd, s->out + s->out_pos, s->out_len - s->out_pos,
                 MSG_NOSIGNAL);
        if (n > 0) {
            s->out_pos += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            s->eof = true; /* it is dying: wait for DIED */
            return;
        }
    }
    if (s->out_pos == s->out_len)
        s->out_pos = s->out_len = 0;
}

/*
 * Flushes every live worker's output.  Returns true if some is left over
 * (a full socket: the collector must poll for POLLOUT).  Caller holds
 * pool->lock.
 */
static bool flush_all(struct pp_pool *pool)
{
    struct slot *s;
    bool left = false;
    unsigned i;

    for (i = 0; i < pool->nworkers; i++) {
        s = &pool->slots[i];
        if (s->state != SLOT_RUNNING || s->eof)
            continue;
        flush_out(s);
        if (!s->eof && s->out_pos < s->out_len)
            left = true;
    }
    return left;
}

/* ---- Receiving ------------------------------------------------------- */

/* Asks the server to kill s's worker.  Caller holds pool->lock. */
static void slot_kill(struct slot *s)
{
    if (s->state == SLOT_RUNNING && !s->kill_sent)
        s->kill_wanted = true;
}

/*
 * Cuts s->in into result frames and ends their items.  A frame that does
 * not match what was sent means the worker's socket was written by
 * something else (a task scribbling on descriptors): the worker is killed
 * and the rest is dropped.  Caller holds pool->lock.
 */
static void take_results(struct pp_pool *pool, struct slot *s,
                         struct pp_handle **done)
{
    struct pp_result_hdr r;
    struct pp_outcome o;
    struct piece *p;
    size_t pos = 0;

    while (s->in_len - pos >= sizeof(r)) {
        memcpy(&r, s->in + pos, sizeof(r));
        p = s->n > 0 ? &s->ring[s->head] : NULL;
        if (p == NULL || r.seq != p->seq || r.item != p->done ||
            r.len > PP_RESULT_MAX) {
            slot_kill(s);
            s->eof = true;
            pos = s->in_len;
            break;
        }
        if (s->in_len - pos < sizeof(r) + r.len)
            break;
        o = outcome_of(PP_END_OK, 0, s->pid);
        if (r.flags & PP_RES_OUT_FAILED) {
            o.end = PP_END_TOOBIG;
            o.error = r.code;
        } else if (r.code != 0) {
            o.end = PP_END_ERROR;
            o.error = r.code;
        }
        pool->stats.messages++;
        pool->stats.bytes_copied += r.len;
        end_item(pool, p->call, p->first + p->done, o,
                 s->in + pos + sizeof(r), r.len, done);
        pos += sizeof(r) + r.len;
        s->answered++;
        if (++p->done == p->count) {
            s->head = (s->head + 1) % pool->prefetch;
            s->n--;
        }
    }
    if (pos > 0) {
        memmove(s->in, s->in + pos, s->in_len - pos);
        s->in_len -= pos;
    }
}

/*
 * Reads what s's socket holds into s->in (all of it if `all`, else one
 * read).  Returns true at EOF or on an error: the worker is gone or going.
 * Collector only, without the lock: s->in is the collector's alone, and
 * s->fd changes only in the collector.
 */
static bool read_slot(struct slot *s, bool all)
{
    struct pp_result_hdr r;
    size_t need = BUF_START;
    ssize_t n;

    do {
        if (s->in_len >= sizeof(r)) {
            memcpy(&r, s->in, sizeof(r));
            if (r.len <= PP_RESULT_MAX)
                need = sizeof(r) + r.len;
        }
        if (s->in_len + BUF_START / 2 > need)
            need = s->in_len + BUF_START / 2;
        if (grow(&s->in, &s->in_cap, need) != 0)
            return false; /* try again later, when memory may be back */
        n = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
        if (n > 0)
            s->in_len += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else
            return true;
    } while (all);
    return false;
}

/* ---- Workers coming and going ---------------------------------------- */

/* Forgets s's worker.  Collector only, holding pool->lock. */
static void slot_reset(struct slot *s, enum slot_state next)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->pid = 0;
    s->state = next;
    s->eof = s->kill_wanted = s->kill_sent = s->timeout_kill = false;
    s->sent = s->answered = 0;
    s->head = s->n = 0;
    s->in_len = s->out_pos = s->out_len = 0;
    s->retry_at = 0;
}

/*
 * s's worker is dead (DIED from the server, or the server itself died and
 * took it along: then status is -1 and the worker counts as killed by
 * SIGKILL).  Reads its last answers, ends the item that killed it, sends
 * the items it never started back to the queue, and asks for a
 * replacement.  Collector only, no lock held.  Called once the server has
 * reaped the worker, so every byte it wrote is in the socket now.
 */
static void worker_died(struct pp_pool *pool, struct slot *s, int status)
{
    struct pp_handle *done = NULL;
    struct job *back = NULL, **tail = &back, *last = NULL, *j;
    struct pp_outcome o;
    struct piece *p;
    uint64_t started;
    unsigned k;

    read_slot(s, true);
    pthread_mutex_lock(&pool->lock);
    take_results(pool, s, &done);
    /*
     * Did it die in a task, or between tasks (killed from outside while
     * idle, or by the server's death)?  The status page says how many
     * items it started; if it answered them all, nobody is to blame and
     * every item sent to it is simply sent again.
     */
    started = atomic_load_explicit(&pool->wcfg.status[s - pool->slots]
                                        .started,
                                   memory_order_acquire);
    if (s->n > 0 && (started > s->answered || pool->terminating)) {
        p = &s->ring[s->head];
        o = outcome_of(PP_END_SIGNALED, EPIPE, s->pid);
        if (pool->terminating) {
            o = outcome_of(PP_END_CANCELLED, ECANCELED, s->pid);
        } else if (s->timeout_kill && s->timeout_item == s->answered + 1) {
            o.end = PP_END_TIMEDOUT;
            o.error = ETIMEDOUT;
        } else if (status == -1) {
            o.signal = SIGKILL;
        } else if (WIFSIGNALED(status)) {
            o.signal = WTERMSIG(status);
        } else {
            o.end = PP_END_EXITED;
            o.exit_status = WEXITSTATUS(status);
        }
        end_item(pool, p->call, p->first + p->done, o, NULL, 0, &done);
        if (++p->done == p->count) {
            s->head = (s->head + 1) % pool->prefetch;
            s->n--;
        }
    }
    if (s->n > 0) {
        /* The rest never started: to the head of the queue again. */
        for (k = 0; k < s->n; k++) {
            p = &s->ring[(s->head + k) % pool->prefetch];
            if (p->done == p->count)
                continue;
            if (pool->terminating || (j = malloc(sizeof(*j))) == NULL) {
                /* Or no memory to queue them again: they end, and say so. */
                cancel_items(pool, p->call, p->first + p->done,
                             p->count - p->done,
                             pool->terminating ? ECANCELED : ENOMEM, &done);
                continue;
            }
            j->call = p->call;
            j->first = p->first + p->done;
            j->count = p->count - p->done;
            j->retry = true;
            j->next = NULL;
            *tail = j;
            tail = &j->next;
            last = j;
            pool->queued += j->count;
        }
        if (back != NULL) {
            /* At the head: they were next in line before the crash. */
            if (pool->qhead == NULL)
                pool->qtail = last;
            last->next = pool->qhead;
            pool->qhead = back;
        }
    } else if (pool->max_tasks != 0 && s->sent >= pool->max_tasks) {
        pool->stats.workers_recycled++;
    }
    pool->stats.workers--;
    pool->pids[s - pool->slots] = 0;
    slot_reset(s, pool->terminating || pool->quit ? SLOT_EMPTY
                                                  : SLOT_WANTED);
    pthread_mutex_unlock(&pool->lock);
    publish(pool, done);
}

static struct slot *slot_of_pid(struct pp_pool *pool, pid_t pid)
{
    unsigned i;

    for (i = 0; i < pool->nworkers; i++)
        if (pool->slots[i].state == SLOT_RUNNING &&
            pool->slots[i].pid == pid)
            return &pool->slots[i];
    return NULL;
}

/*
 * The server is gone (killed from outside: we never stop it before quit,
 * or it could not start).  Its workers die with it (PDEATHSIG).  Reap it,
 * bury its workers, and start a new one; the slots then ask for new
 * workers.  The burial may trust each worker's status page: the kernel
 * sends PDEATHSIG before it lets waitpid see the server dead, and a
 * process with SIGKILL pending runs no more of its own code, so the
 * started-counts read after waitpid are final.  An item a worker had
 * started is the one lost (it was running when the worker was killed);
 * the ones it had not started go to the queue again.  If the pool has not
 * started yet, pp_pool_create fails instead of starting servers that may
 * die the same way for ever.
 */
static void server_lost(struct pp_pool *pool)
{
    unsigned i;
    struct slot *s;

    close(pool->ctl);
    pool->ctl = -1;
    while (waitpid(pool->server, NULL, 0) < 0 && errno == EINTR)
        ;
    pool->server = 0;
    pthread_mutex_lock(&pool->lock);
    /* Died before the pool started: pp_pool_create fails, no retry. */
    if (!pool->started && pool->start_error == 0)
        pool->start_error = EAGAIN;
    pthread_mutex_unlock(&pool->lock);
    for (i = 0; i < pool->nworkers; i++) {
        s = &pool->slots[i];
        if (s->state == SLOT_RUNNING) {
            worker_died(pool, s, -1);
        } else if (s->state == SLOT_STARTING) {
            pthread_mutex_lock(&pool->lock);
            slot_reset(s, SLOT_WANTED);
            pthread_mutex_unlock(&pool->lock);
        }
    }
    pool->server_retry_at = pp_now_ns();
}

/* Reads every message the server has sent.  Collector only. */
static void server_read(struct pp_pool *pool)
{
    struct pp_srv_msg m;
    struct slot *s;
    int rc;

    while ((rc = pp_server_recv(pool->ctl, &m)) == 0) {
        if (m.op == PP_SRV_SPAWNED && m.slot >= 0 &&
            (unsigned)m.slot < pool->nworkers &&
            pool->slots[m.slot].state == SLOT_STARTING) {
            s = &pool->slots[m.slot];
            pthread_mutex_lock(&pool->lock);
            s->state = SLOT_RUNNING;
            s->pid = m.pid;
            pool->pids[m.slot] = m.pid;
            pool->stats.workers_started++;
            pool->stats.workers++;
            if (pool->terminating)
                slot_kill(s);
            pthread_mutex_unlock(&pool->lock);
        } else if (m.op == PP_SRV_FAILED && m.slot >= 0 &&
                   (unsigned)m.slot < pool->nworkers) {
            s = &pool->slots[m.slot];
            pthread_mutex_lock(&pool->lock);
            slot_reset(s, SLOT_WANTED);
            s->retry_at = pp_now_ns() + SPAWN_RETRY_NS;
            if (!pool->started && pool->start_error == 0)
                pool->start_error = m.value != 0 ? m.value : EAGAIN;
            pthread_mutex_unlock(&pool->lock);
        } else if (m.op == PP_SRV_FAILED && m.slot == -1) {
            /* The server could not start; EOF follows (server_lost). */
            pthread_mutex_lock(&pool->lock);
            if (!pool->started && pool->start_error == 0)
                pool->start_error = m.value != 0 ? m.value : EAGAIN;
            pthread_mutex_unlock(&pool->lock);
        } else if (m.op == PP_SRV_DIED &&
                   (s = slot_of_pid(pool, m.pid)) != NULL) {
            worker_died(pool, s, m.value);
        }
    }
    if (rc != EAGAIN)
        server_lost(pool);
}

/*
 * Sends the server what the slots want: new workers and kills.  Stops at
 * EAGAIN (the socket is full; poll for POLLOUT).  Returns true if some
 * request is still waiting.  Collector only, holding pool->lock.
 */
static bool server_write(struct pp_pool *pool)
{
    struct pp_srv_msg m;
    struct slot *s;
    int64_t now = 0;
    unsigned i;
    int sv[2], rc;
    bool waiting = false;

    if (pool->ctl < 0)
        return false;
    for (i = 0; i < pool->nworkers; i++) {
        s = &pool->slots[i];
        memset(&m, 0, sizeof(m));
        if (s->kill_wanted) {
            m.op = PP_SRV_KILL;
            m.pid = s->pid;
            if ((rc = pp_server_send(pool->ctl, &m, -1)) == EAGAIN)
                return true;
            s->kill_wanted = false;
            s->kill_sent = true;
        }
        if (s->state != SLOT_WANTED)
            continue;
        if (s->retry_at != 0) {
            if (now == 0)
                now = pp_now_ns();
            if (now < s->retry_at) {
                waiting = true;
                continue;
            }
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            s->retry_at = pp_now_ns() + SPAWN_RETRY_NS;
            waiting = true;
            continue;
        }
        if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
            close(sv[0]);
            close(sv[1]);
            s->retry_at = pp_now_ns() + SPAWN_RETRY_NS;
            waiting = true;
            continue;
        }
        atomic_store(&pool->wcfg.status[i].started, 0);
        atomic_store(&pool->wcfg.status[i].started_ns, 0);
        atomic_store(&pool->wcfg.status[i].busy, 0);
        m.op = PP_SRV_SPAWN;
        m.slot = (int32_t)i;
        rc = pp_server_send(pool->ctl, &m, sv[1]);
        close(sv[1]);
        if (rc != 0) {
            close(sv[0]);
            if (rc == EAGAIN)
                return true;
            s->retry_at = pp_now_ns() + SPAWN_RETRY_NS;
            waiting = true;
            continue;
        }
        s->fd = sv[0];
        s->state = SLOT_STARTING;
        s->retry_at = 0;
    }
    return waiting;
}

/* ---- Time limits ----------------------------------------------------- */

/*
 * Kills workers whose current item is over the limit and returns how many
 * milliseconds poll may sleep before the next check (-1: forever).
 * Collector only, holding pool->lock.
 */
static int check_time(struct pp_pool *pool)
{
    int64_t limit = (int64_t)pool->timeout_ms * 1000000, now, left,
            next = -1;
    struct pp_status *st;
    struct slot *s;
    uint64_t started;
    unsigned i;

    if (pool->timeout_ms == 0)
        return -1;
    now = pp_now_ns();
    for (i = 0; i < pool->nworkers; i++) {
        s = &pool->slots[i];
        if (s->state != SLOT_RUNNING || s->n == 0 || s->kill_sent ||
            s->kill_wanted)
            continue;
        st = &pool->wcfg.status[i];
        started = atomic_load_explicit(&st->started, memory_order_acquire);
        left = limit;
        if (atomic_load_explicit(&st->busy, memory_order_acquire) &&
            started == s->answered + 1) {
            left = atomic_load_explicit(&st->started_ns,
                                        memory_order_relaxed) +
                   limit - now;
            if (left <= 0 &&
                atomic_load_explicit(&st->started, memory_order_acquire) ==
                    started) {
                s->timeout_kill = true;
                s->timeout_item = started;
                slot_kill(s);
                continue;
            }
        }
        if (next < 0 || left < next)
            next = left;
    }
    if (next < 0)
        return -1;
    return (int)((next + 999999) / 1000000);
}

/* ---- The collector --------------------------------------------------- */

/* terminate: cancel the queue, kill the workers.  Caller holds lock. */
static void terminate_now(struct pp_pool *pool, struct pp_handle **done)
{
    struct job *j;
    unsigned i;

    while (pool->qhead != NULL) {
        j = queue_pop(pool);
        pool->queued -= j->count;
        cancel_items(pool, j->call, j->first, j->count, ECANCELED, done);
        if (j->retry)
            free(j);
    }
    for (i = 0; i < pool->nworkers; i++) {
        if (pool->slots[i].state == SLOT_RUNNING)
            slot_kill(&pool->slots[i]);
        else if (pool->slots[i].state == SLOT_WANTED)
            pool->slots[i].state = SLOT_EMPTY;
    }
    pool->terminated = true;
}

/* Before the loop: the server.  Returns 0 or an errno. */
static int collector_start(struct pp_pool *pool)
{
    unsigned i;
    int rc;

    rc = pp_server_start(&pool->wcfg, pool->nworkers, &pool->server,
                         &pool->ctl);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->nworkers; i++)
        pool->slots[i].state = SLOT_WANTED;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

/* After the loop: close everything and reap the server. */
static void collector_stop(struct pp_pool *pool)
{
    unsigned i;

    for (i = 0; i < pool->nworkers; i++)
        slot_reset(&pool->slots[i], SLOT_EMPTY);
    if (pool->ctl >= 0)
        close(pool->ctl);
    pool->ctl = -1;
    if (pool->server > 0)
        while (waitpid(pool->server, NULL, 0) < 0 && errno == EINTR)
            ;
    pool->server = 0;
}

static void *collector_main(void *arg)
{
    struct pp_pool *pool = arg;
    struct pp_handle *done;
    struct slot *s;
    unsigned i, np, nrun;
    int timeout, t, rc;
    bool ctl_out, stopping, gone;
    char drain[64];

    rc = collector_start(pool);
    for (;;) {
        done = NULL;
        pthread_mutex_lock(&pool->lock);
        stopping = pool->terminating || pool->quit ||
                   pool->start_error != 0;
        pthread_mutex_unlock(&pool->lock);
        if (pool->ctl < 0 && rc == 0 && !stopping &&
            pp_now_ns() >= pool->server_retry_at &&
            collector_start(pool) != 0)
            pool->server_retry_at = pp_now_ns() + SPAWN_RETRY_NS;
        pthread_mutex_lock(&pool->lock);
        if (!pool->started) {
            nrun = 0;
            for (i = 0; i < pool->nworkers; i++)
                nrun += pool->slots[i].state == SLOT_RUNNING;
            if (rc != 0 || pool->start_error != 0 ||
                nrun == pool->nworkers) {
                if (pool->start_error == 0)
                    pool->start_error = rc;
                pool->started = true;
                pthread_cond_broadcast(&pool->cv);
            }
        }
        if ((rc != 0 || pool->start_error != 0) && !pool->quit) {
            /* Failed start: wait, idle, for pp_pool_create to say quit. */
            pthread_cond_wait(&pool->cv, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
            continue;
        }
        if (pool->quit) {
            pthread_mutex_unlock(&pool->lock);
            break;
        }
        if (pool->terminating && !pool->terminated)
            terminate_now(pool, &done);
        pool->wake_pending = false;
        dispatch(pool);
        flush_all(pool);
        ctl_out = server_write(pool);
        timeout = check_time(pool);
        if (server_write(pool))
            ctl_out = true;
        if (ctl_out && (timeout < 0 || timeout > 100))
            timeout = 100; /* a spawn to retry, or the socket to drain */
        if (pool->ctl < 0 && (timeout < 0 || timeout > 100))
            timeout = 100; /* a server to restart */

        np = 0;
        pool->pfd[np].fd = pool->wake_rd;
        pool->pfd[np++].events = POLLIN;
        if (pool->ctl >= 0) {
            pool->pfd[np].fd = pool->ctl;
            pool->pfd[np++].events = POLLIN | (ctl_out ? POLLOUT : 0);
        }
        for (i = 0; i < pool->nworkers; i++) {
            s = &pool->slots[i];
            if (s->state != SLOT_RUNNING || s->eof)
                continue;
            pool->pfd[np].fd = s->fd;
            pool->pfd[np++].events =
                POLLIN | (s->out_pos < s->out_len ? POLLOUT : 0);
        }
        pthread_mutex_unlock(&pool->lock);
        publish(pool, done);
        done = NULL;

        t = poll(pool->pfd, np, timeout);
        if (t < 0 && errno != EINTR)
            PB_CHECK(errno == ENOMEM);
        if (t <= 0)
            continue;
        if (pool->pfd[0].revents != 0)
            while (read(pool->wake_rd, drain, sizeof(drain)) > 0)
                ;
        for (i = 1; i < np; i++) {
            if (pool->pfd[i].revents == 0 || pool->pfd[i].fd == pool->ctl)
                continue;
            for (s = pool->slots; s < pool->slots + pool->nworkers; s++)
                if (s->fd == pool->pfd[i].fd)
                    break;
            PB_CHECK(s != pool->slots + pool->nworkers);
            gone = false;
            if (pool->pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                gone = read_slot(s, false);
            /* Take the answers and refill this worker at once. */
            pthread_mutex_lock(&pool->lock);
            if (gone)
                s->eof = true;
            take_results(pool, s, &done);
            dispatch(pool);
            flush_all(pool);
            pthread_mutex_unlock(&pool->lock);
            publish(pool, done);
            done = NULL;
        }
        /* Last, so a DIED finds the answers read above already taken. */
        if (pool->ctl >= 0 && pool->pfd[1].fd == pool->ctl &&
            pool->pfd[1].revents != 0)
            server_read(pool);
    }
    collector_stop(pool);
    return NULL;
}

/* ---- Lifecycle ------------------------------------------------------- */

static void pool_free(struct pp_pool *pool)
{
    unsigned i;

    if (pool->slots != NULL)
        for (i = 0; i < pool->nworkers; i++) {
            free(pool->slots[i].ring);
            free(pool->slots[i].in);
            free(pool->slots[i].out);
        }
    free(pool->slots);
    free(pool->pfd);
    free(pool->pids);
    if (pool->wcfg.status != NULL)
        pp_shared_free(pool->wcfg.status, pool->status_size);
    if (pool->wake_rd >= 0)
        close(pool->wake_rd);
    if (pool->wake_wr >= 0)
        close(pool->wake_wr);
    free(pool);
}

int pp_pool_create(const struct pp_options *opt, struct pp_pool **out)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    sigset_t all, old;
    unsigned i;
    int rc, sv[2], locks = 0;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    if (opt != NULL)
        o = *opt;
    if (o.workers > PP_WORKERS_MAX || o.prefetch > PP_PREFETCH_MAX)
        return EINVAL;
    if ((pool = calloc(1, sizeof(*pool))) == NULL)
        return ENOMEM;
    pool->wake_rd = pool->wake_wr = pool->ctl = -1;
    pool->nworkers = o.workers != 0 ? o.workers : pp_cpu_count();
    pool->max_tasks = o.max_tasks_per_child;
    pool->timeout_ms = o.task_timeout_ms;
    pool->prefetch = o.prefetch != 0 ? o.prefetch : PP_PREFETCH_DEFAULT;
    if (o.tuning != NULL)
        pool->spin_ns = o.tuning->spin_ns;
    rc = ENOMEM;
    if ((pool->slots = calloc(pool->nworkers, sizeof(*pool->slots))) ==
            NULL ||
        (pool->pfd = calloc(pool->nworkers + 2, sizeof(*pool->pfd))) ==
            NULL ||
        (pool->pids = calloc(pool->nworkers, sizeof(*pool->pids))) == NULL)
        goto fail;
    for (i = 0; i < pool->nworkers; i++) {
        pool->slots[i].fd = -1;
        pool->slots[i].ring = calloc(pool->prefetch, sizeof(struct piece));
        if (pool->slots[i].ring == NULL)
            goto fail;
    }
    pool->status_size = pool->nworkers * sizeof(struct pp_status);
    if ((rc = pp_shared_alloc(pool->status_size,
                              (void **)&pool->wcfg.status)) != 0)
        goto fail;
    pool->wcfg.max_tasks = pool->max_tasks;
    pool->wcfg.timed = pool->timeout_ms != 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = errno;
        goto fail;
    }
    pool->wake_rd = sv[0];
    pool->wake_wr = sv[1];
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0) {
        rc = errno;
        goto fail;
    }
    if ((rc = pthread_mutex_init(&pool->lock, NULL)) != 0)
        goto fail;
    if ((rc = pthread_cond_init(&pool->cv, NULL)) != 0) {
        pthread_mutex_destroy(&pool->lock);
        goto fail;
    }
    locks = 1;
    pool->created_ns = pp_now_ns();

    /*
     * The collector runs with every signal blocked, so the program's
     * signals go to its own threads, and the fork server (forked by the
     * collector) starts with SIGCHLD blocked, as its signalfd needs.  The
     * workers get back the mask of the thread creating the pool.
     */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pool->wcfg.mask = old;
    rc = pthread_create(&pool->collector, NULL, collector_main, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto fail;

    pthread_mutex_lock(&pool->lock);
    while (!pool->started)
        pthread_cond_wait(&pool->cv, &pool->lock);
    rc = pool->start_error;
    if (rc != 0) {
        pool->quit = true;
        pthread_cond_broadcast(&pool->cv);
    }
    pthread_mutex_unlock(&pool->lock);
    if (rc != 0) {
        wake(pool);
        pthread_join(pool->collector, NULL);
        goto fail;
    }
    *out = pool;
    return 0;
fail:
    if (locks) {
        pthread_cond_destroy(&pool->cv);
        pthread_mutex_destroy(&pool->lock);
    }
    pool_free(pool);
    return rc;
}

/* Waits until nothing is outstanding.  Caller holds pool->lock. */
static void drain_wait(struct pp_pool *pool)
{
    while (pool->outstanding > 0)
        pthread_cond_wait(&pool->cv, &pool->lock);
}

int pp_pool_close(struct pp_pool *pool)
{
    if (pool == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    drain_wait(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int pp_pool_terminate(struct pp_pool *pool)
{
    bool w;

    if (pool == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    pool->terminating = true;
    w = wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        wake(pool);
    pthread_mutex_lock(&pool->lock);
    drain_wait(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void pp_pool_destroy(struct pp_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    drain_wait(pool);
    pool->quit = true;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->lock);
    wake(pool);
    pthread_join(pool->collector, NULL);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->lock);
    pool_free(pool);
}

/* ---- Submitting ------------------------------------------------------ */

/*
 * Queues jobs (a list linked through next) holding n items.  Returns 0 or
 * ESHUTDOWN.
 */
static int submit(struct pp_pool *pool, struct job *first, struct job *last,
                  size_t n)
{
    bool w;

    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        return ESHUTDOWN;
    }
    if (pool->qtail != NULL)
        pool->qtail->next = first;
    else
        pool->qhead = first;
    pool->qtail = last;
    pool->queued += n;
    pool->outstanding += n;
    pool->stats.submitted += n;
    /*
     * Send it ourselves if a worker has room: one thread hop fewer than
     * going through the collector, which matters for a lone apply.  The
     * collector still has to hear of it if a socket is full (it polls for
     * POLLOUT) or if there is a time limit to watch.
     */
    dispatch(pool);
    w = flush_all(pool) || pool->timeout_ms != 0 || pool->qhead != NULL;
    if (w)
        w = wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        wake(pool);
    return 0;
}

int pp_apply_async(struct pp_pool *pool, pp_task_fn *fn, const void *arg,
                   size_t len, pp_callback_fn *cb, void *cb_arg,
                   struct pp_handle **out)
{
    pthread_condattr_t ca;
    struct pp_handle *h;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (pool == NULL || fn == NULL || (arg == NULL && len > 0))
        return EINVAL;
    if (len > PP_ARG_MAX)
        return EMSGSIZE;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return ENOMEM;
    if (len > 0 && (h->arg = malloc(len)) == NULL) {
        free(h);
        return ENOMEM;
    }
    if (len > 0)
        memcpy(h->arg, arg, len);
    if ((rc = pthread_mutex_init(&h->mu, NULL)) != 0)
        goto fail_mutex;
    if ((rc = pthread_condattr_init(&ca)) != 0)
        goto fail_cond;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail_cond;
    h->call.fn = fn;
    h->call.kind = PP_KIND_BYTES;
    h->call.bytes = h->arg;
    h->call.item_size = len;
    h->call.remaining = 1;
    h->call.h = h;
    h->job.call = &h->call;
    h->job.count = 1;
    h->cb = cb;
    h->cb_arg = cb_arg;
    h->spin_ns = pool->spin_ns;
    h->outcome.end = PP_END_PENDING;
    atomic_init(&h->refs, out != NULL ? 2 : 1);
    atomic_init(&h->done, false);
    if ((rc = submit(pool, &h->job, &h->job, 1)) != 0) {
        pthread_cond_destroy(&h->cv);
        goto fail_cond;
    }
    if (out != NULL)
        *out = h;
    return 0;
fail_cond:
    pthread_mutex_destroy(&h->mu);
fail_mutex:
    free(h->arg);
    free(h);
    return rc;
}

static struct pp_results *results_new(size_t count)
{
    struct pp_results *r = calloc(1, sizeof(*r));
    size_t i;

    if (r == NULL)
        return NULL;
    r->count = count;
    if (count > 0 && (r->items = calloc(count, sizeof(*r->items))) == NULL) {
        free(r);
        return NULL;
    }
    for (i = 0; i < count; i++)
        r->items[i].o.end = PP_END_PENDING;
    return r;
}

/* The chunk size to use: CPython's rule when 0. */
static size_t chunk_for(const struct pp_pool *pool, size_t count,
                        size_t chunk)
{
    size_t per;

    if (chunk == 0) {
        per = 4 * (size_t)pool->nworkers;
        chunk = count / per + (count % per != 0);
    }
    if (chunk == 0)
        chunk = 1;
    return chunk < FRAME_ITEMS_MAX ? chunk : FRAME_ITEMS_MAX;
}

/*
 * Cuts the items of c into jobs of at most `chunk` items and at most
 * PP_PAYLOAD_MAX payload bytes each (so one frame never passes the limit).
 * With jobs NULL, only counts them.  Returns the number of jobs.
 */
static size_t cut_jobs(struct call *c, size_t count, size_t chunk,
                       struct job *jobs)
{
    size_t njobs = 0, i = 0, k, bytes, sz;

    while (i < count) {
        bytes = 0;
        for (k = 0; k < chunk && i + k < count; k++) {
            if (c->kind == PP_KIND_BYTES)
                sz = c->item_size;
            else if (c->kind == PP_KIND_STAR)
                sz = star_size(c->star + (i + k) * c->item_size,
                               c->item_size);
            else
                sz = 0;
            if (k > 0 && bytes + sz > PP_PAYLOAD_MAX)
                break;
            bytes += sz;
        }
        if (jobs != NULL) {
            jobs[njobs].call = c;
            jobs[njobs].first = i;
            jobs[njobs].count = k;
            if (njobs > 0)
                jobs[njobs - 1].next = &jobs[njobs];
        }
        njobs++;
        i += k;
    }
    return njobs;
}

/*
 * What pp_map, pp_starmap and pp_map_shm share: cuts the items into jobs,
 * queues them, waits until every item has ended, and reports.  Arguments
 * are already checked.
 */
static int run_map(struct pp_pool *pool, struct call *c, size_t count,
                   const struct pp_map_options *opt,
                   struct pp_results **results)
{
    struct pp_results *r;
    struct job *jobs = NULL;
    size_t njobs, chunk, failed;
    int rc;

    if ((r = results_new(count)) == NULL)
        return ENOMEM;
    c->res = r;
    c->remaining = count;
    chunk = chunk_for(pool, count, opt != NULL ? opt->chunk_size : 0);
    njobs = cut_jobs(c, count, chunk, NULL);
    if (njobs > 0) {
        if ((jobs = calloc(njobs, sizeof(*jobs))) == NULL) {
            pp_results_free(r);
            return ENOMEM;
        }
        cut_jobs(c, count, chunk, jobs);
        if ((rc = submit(pool, &jobs[0], &jobs[njobs - 1], count)) != 0) {
            free(jobs);
            pp_results_free(r);
            return rc;
        }
    }
    pthread_mutex_lock(&pool->lock);
    while (c->remaining > 0)
        pthread_cond_wait(&pool->cv, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    free(jobs);

    /* Python's map raises the exception of the lowest failing item. */
    *results = r;
    failed = pp_results_failed(r);
    return failed != PP_NO_INDEX ? r->items[failed].o.error : 0;
}

/* Common checks of the map family; sets the error output. */
static int map_check(struct pp_pool *pool, pp_task_fn *fn,
                     struct pp_results **results)
{
    if (results != NULL)
        *results = NULL;
    if (pool == NULL || fn == NULL || results == NULL)
        return EINVAL;
    return 0;
}

int pp_map(struct pp_pool *pool, pp_task_fn *fn, const void *args,
           size_t item_size, size_t count, const struct pp_map_options *opt,
           struct pp_results **results)
{
    struct call c;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (item_size == 0 || (args == NULL && count > 0))
        return EINVAL;
    if (item_size > PP_ARG_MAX)
        return EMSGSIZE;
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_BYTES;
    c.bytes = args;
    c.item_size = item_size;
    return run_map(pool, &c, count, opt, results);
}

int pp_starmap(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_arg *args, size_t argc, size_t count,
               const struct pp_map_options *opt,
               struct pp_results **results)
{
    struct call c;
    size_t i, k, bytes;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (argc == 0 || argc > PP_STARMAP_ARGS_MAX ||
        (args == NULL && count > 0))
        return EINVAL;
    for (i = 0; i < count; i++) {
        bytes = 0;
        for (k = 0; k < argc; k++) {
            const struct pp_arg *a = &args[i * argc + k];

            if (a->data == NULL && a->len > 0)
                return EINVAL;
            if (a->len > PP_ARG_MAX - bytes)
                return EMSGSIZE;
            bytes += a->len;
        }
    }
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_STAR;
    c.star = args;
    c.item_size = argc;
    return run_map(pool, &c, count, opt, results);
}

int pp_map_shm(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_shm_items *items,
               const struct pp_map_options *opt,
               struct pp_results **results)
{
    struct pp_shm *shm;
    struct call c;
    size_t size, offset, item_size, count;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (items == NULL || items->shm == NULL || items->item_size == 0)
        return EINVAL;
    shm = items->shm;
    offset = items->offset;
    item_size = items->item_size;
    count = items->count;
    /* Made after the pool's fork server: not mapped in the workers. */
    if (pp_shm_created_ns(shm) >= pool->created_ns)
        return EINVAL;
    size = pp_shm_size(shm);
    if (offset > size || count > (size - offset) / item_size)
        return EINVAL;
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_SHM;
    c.shm_base = (uintptr_t)pp_shm_base(shm) + offset;
    c.item_size = item_size;
    return run_map(pool, &c, count, opt, results);
}

/* ---- Handles --------------------------------------------------------- */

int pp_handle_wait(struct pp_handle *h, double timeout_s)
{
    struct timespec ts;
    double whole;
    int rc = 0;

    if (h == NULL || isnan(timeout_s) ||
        (timeout_s < 0 && timeout_s != PP_WAIT_FOREVER))
        return EINVAL;
    if (atomic_load(&h->done))
        return 0;
    if (timeout_s == 0)
        return ETIMEDOUT;
    /*
     * Poll a little before sleeping: a short task's answer often comes
     * within microseconds, and waking a sleeping thread costs more than
     * that on a virtual machine.  Never longer than the timeout.
     */
    if (h->spin_ns > 0) {
        int64_t spin = h->spin_ns, end;

        if (timeout_s > 0 && timeout_s * 1e9 < (double)spin)
            spin = (int64_t)(timeout_s * 1e9);
        end = pp_now_ns() + spin;
        while (!atomic_load(&h->done) && pp_now_ns() < end)
            ;
        if (atomic_load(&h->done))
            return 0;
    }
    pthread_mutex_lock(&h->mu);
    if (timeout_s < 0 || timeout_s > 1e9) {
        while (!atomic_load(&h->done))
            pthread_cond_wait(&h->cv, &h->mu);
    } else {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        timeout_s = modf(timeout_s, &whole);
        ts.tv_sec += (time_t)whole;
        ts.tv_nsec += (long)(timeout_s * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!atomic_load(&h->done) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        rc = atomic_load(&h->done) ? 0 : ETIMEDOUT;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int pp_handle_get(const struct pp_handle *h, const void **data, size_t *len)
{
    if (h == NULL)
        return EINVAL;
    if (!atomic_load(&h->done))
        return EBUSY;
    if (data != NULL)
        *data = h->result;
    if (len != NULL)
        *len = h->result_len;
    return h->outcome.error;
}

int pp_handle_outcome(const struct pp_handle *h, struct pp_outcome *out)
{
    if (h == NULL || out == NULL)
        return EINVAL;
    if (!atomic_load(&h->done))
        return EBUSY;
    *out = h->outcome;
    return 0;
}

bool pp_handle_done(const struct pp_handle *h)
{
    return h != NULL && atomic_load(&h->done);
}

void pp_handle_free(struct pp_handle *h)
{
    if (h != NULL)
        handle_unref(h);
}

/* ---- Results --------------------------------------------------------- */

size_t pp_results_count(const struct pp_results *r)
{
    return r != NULL ? r->count : 0;
}

int pp_results_get(const struct pp_results *r, size_t i, const void **data,
                   size_t *len)
{
    if (r == NULL || i >= r->count)
        return EINVAL;
    if (data != NULL)
        *data = r->items[i].len > 0 ? r->arena + r->items[i].off : NULL;
    if (len != NULL)
        *len = r->items[i].len;
    return r->items[i].o.error;
}

int pp_results_outcome(const struct pp_results *r, size_t i,
                       struct pp_outcome *out)
{
    if (r == NULL || i >= r->count || out == NULL)
        return EINVAL;
    *out = r->items[i].o;
    return 0;
}

size_t pp_results_failed(const struct pp_results *r)
{
    size_t i;

    for (i = 0; r != NULL && i < r->count; i++)
        if (r->items[i].o.error != 0)
            return i;
    return PP_NO_INDEX;
}

void pp_results_free(struct pp_results *r)
{
    if (r == NULL)
        return;
    free(r->items);
    free(r->arena);
    free(r);
}

/* ---- Queries --------------------------------------------------------- */

int pp_pool_stats(struct pp_pool *pool, struct pp_stats *out)
{
    if (pool == NULL || out == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    *out = pool->stats;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int pp_pool_pids(struct pp_pool *pool, pid_t *pids, size_t n, size_t *count)
{
    size_t k = 0;
    unsigned i;

    if (pool == NULL || count == NULL || (pids == NULL && n > 0))
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->nworkers; i++) {
        if (pool->pids[i] == 0)
            continue;
        if (k < n)
            pids[k] = pool->pids[i];
        k++;
    }
    pthread_mutex_unlock(&pool->lock);
    *count = k;
    return 0;
}

unsigned pp_pool_workers(const struct pp_pool *pool)
{
    return pool != NULL ? pool->nworkers : 0;
}

/* Signal names for descriptions (strsignal's text varies by libc). */
static const char *signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        { SIGABRT, "SIGABRT" }, { SIGALRM, "SIGALRM" }, { SIGBUS, "SIGBUS" },
        { SIGFPE, "SIGFPE" },   { SIGHUP, "SIGHUP" },   { SIGILL, "SIGILL" },
        { SIGINT, "SIGINT" },   { SIGKILL, "SIGKILL" }, { SIGPIPE, "SIGPIPE" },
        { SIGQUIT, "SIGQUIT" }, { SIGSEGV, "SIGSEGV" }, { SIGTERM, "SIGTERM" },
        { SIGTRAP, "SIGTRAP" }, { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" },
        { SIGXCPU, "SIGXCPU" }, { SIGSYS, "SIGSYS" },
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "unknown signal";
}

char *pp_outcome_describe(const struct pp_outcome *o, char *buf,
                          size_t size)
{
    char err[128];

    if (buf == NULL || size == 0)
        return buf;
    if (o == NULL) {
        snprintf(buf, size, "no outcome");
        return buf;
    }
    if (strerror_r(o->error, err, sizeof(err)) != 0)
        snprintf(err, sizeof(err), "error %d", o->error);
    switch (o->end) {
    case PP_END_PENDING:
        snprintf(buf, size, "not finished");
        break;
    case PP_END_OK:
        snprintf(buf, size, "ok (worker %d)", (int)o->pid);
        break;
    case PP_END_ERROR:
        snprintf(buf, size, "task returned error %d (%s) in worker %d",
                 o->error, err, (int)o->pid);
        break;
    case PP_END_SIGNALED:
        snprintf(buf, size, "worker %d killed by signal %d (%s)",
                 (int)o->pid, o->signal, signal_name(o->signal));
        break;
    case PP_END_EXITED:
        snprintf(buf, size, "worker %d exited with status %d", (int)o->pid,
                 o->exit_status);
        break;
    case PP_END_TIMEDOUT:
        snprintf(buf, size, "over the time limit: worker %d killed",
                 (int)o->pid);
        break;
    case PP_END_TOOBIG:
        snprintf(buf, size, "result not delivered: %s (worker %d)", err,
                 (int)o->pid);
        break;
    case PP_END_CANCELLED:
        if (o->error == ECANCELED)
            snprintf(buf, size, "cancelled by pp_pool_terminate");
        else
            snprintf(buf, size, "not run: %s", err);
        break;
    }
    return buf;
}
