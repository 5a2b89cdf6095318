/*
 * pp_collector.c - the process pool's collector thread: it hands jobs to
 * the workers as task frames, reads their result frames back, ends each
 * item and runs the callbacks.  (procpool.c queues the work; pp_slots.c
 * deals with workers being born and dying.)
 *
 * Frames.  A job (a run of items of one call) is handed to a worker by
 * writing a task frame (a fixed header, then the argument bytes) into the
 * worker's socket; a frame carries up to chunk_size items.  The worker
 * runs each item and writes back one result frame per item (a header with
 * the task's return code and length, then the result bytes) into its
 * answer ring in shared memory, where the collector takes it, or which it
 * sends through the socket when the collector sleeps (pp_worker.c).  Both
 * directions are length-prefixed byte streams, read into a buffer and cut
 * into frames as they complete, so a frame may arrive in many pieces or
 * many frames in one read.  Large data does not travel: pp_map_shm sends
 * only the index of each item (in the header) and the worker finds the
 * item in a shared region, mapped at the same address in every process.
 *
 * Prefetch.  Several frames are sent ahead to each worker: a worker that
 * finishes an item finds the next one already in its socket, and the
 * collector, woken once, reads many results in one go.  That is how a
 * short task costs a few microseconds instead of a round trip.
 *
 * Bookkeeping for crashes.  Per worker, the collector keeps the frames
 * sent and not fully answered, oldest first (the slot's ring of pieces).
 * Workers answer in order, so the first unanswered item is the one running
 * now; pp_slots.c uses that to blame the right item when a worker dies.
 *
 * The loop.  The collector polls one wake-up socket (submitters write a
 * byte to it), the fork server's control socket and every worker socket.
 * Each time round it takes the answers left in the workers' rings,
 * dispatches queued jobs, flushes output, sends the server its requests,
 * and sleeps until something is readable or the next time limit falls
 * due, first marking itself asleep so that workers send instead
 * (going_to_sleep).  Worker sockets are read before the server's
 * messages, so a DIED finds every answer its worker wrote already taken.
 *
 * Locks.  The worker slots (in-flight rings, output buffers) are under
 * pool->lock, because a submitting thread that finds a worker with room
 * writes the frame itself; only the collector changes a slot's state and
 * socket, and only it reads results (into a buffer of its own, without
 * the lock).  Callbacks run in the collector with no lock held.
 */
#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* First size of a worker's input buffer (results) and output buffer. */
#define BUF_START (64 * 1024)

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
void pp_item_end(struct pp_pool *pool, struct call *c, size_t index,
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
void pp_publish(struct pp_pool *pool, struct pp_handle *list)
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
        pp_handle_unref(h);
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

/*
 * Ends items [first, first + count) of c, which will not run, with error
 * (ECANCELED, or ENOMEM).  Caller holds pool->lock.
 */
void pp_items_cancel(struct pp_pool *pool, struct call *c, size_t first,
                     size_t count, int error, struct pp_handle **done)
{
    size_t i;

    for (i = 0; i < count; i++)
        pp_item_end(pool, c, first + i,
                    pp_outcome_make(PP_END_CANCELLED, error, 0), NULL, 0,
                    done);
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
size_t pp_star_size(const struct pp_arg *t, size_t argc)
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
            payload += pp_star_size(c->star + (first + i) * c->item_size,
                                    c->item_size);
    if (s->out_pos > 0 && s->out_pos == s->out_len)
        s->out_pos = s->out_len = s->out_frames = 0;
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
    h.map = c->map;
    h.queued_ns = c->queued_ns;
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
    s->out_frames++;
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
 *
 * What the second limit costs: a short map of empty tasks goes out in
 * shrinking batches (a quarter of the queue per worker, then a quarter of
 * what is left, ...), and each batch waits for a wake-up of this thread
 * and of the worker, which ran dry long before.  A 300-item map took some
 * 18 trips through the collector: 1.3-1.6 us an item, against 0.25-0.33
 * for 9300 items, and 0.5 us with queued / workers instead (measured with
 * benchmarks/overhead --tasks T).  We keep the balance: a map's items can
 * differ in length, which empty tasks do not show.
 *
 * One in hand.  When the queue holds two items or more per worker, each
 * worker may hold two: one to run and the next in hand, as in double
 * buffering.  Without it, a worker that ends its item waits for this
 * thread to read the answer and send the next one, and in io's case (128
 * sleeps on 64 workers) that thread has to get a CPU among 64 processes
 * that all woke at once: a worker waited 0.5 ms (median) between its two
 * sleeps.  With it, io ran in 11.5 ms against 12.2 (threads 11.3, bare
 * threads with no pool 10.8; medians of 40, interleaved).  The price: a
 * worker may hold an item that another, idle, could have run, at most
 * one item's time at the end of a map.  prefetch = 1 switches it off
 * (io --one-at-a-time measures it).
 */
void pp_dispatch(struct pp_pool *pool)
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
    if (depth < 2 && pool->queued >= 2 * (size_t)nrun)
        depth = 2;              /* one in hand */
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
            if (j->call->h != NULL)
                atomic_store_explicit(&j->call->h->slot, (int)i,
                                      memory_order_relaxed);
            if (j->call->h != NULL && j->call->h->direct && s->n == 0 &&
                !pool->closing) {
                s->direct = j->call->h;
                if (!pool->no_handoff)
                    atomic_store(&pool->wcfg.status[i].reader, 1);
            } else if (!s->watched)
                pool->need_watch = true;
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
static bool flush_out(struct slot *s)
{
    bool rung = false;
    ssize_t n;

    while (s->out_pos < s->out_len && !s->eof) {
        n = send(s->fd, s->out + s->out_pos, s->out_len - s->out_pos,
                 MSG_NOSIGNAL);
        if (n > 0) {
            s->out_pos += (size_t)n;
            rung = true;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return rung;
        } else {
            s->eof = true; /* it is dying: wait for DIED */
            return rung;
        }
    }
    if (s->out_pos == s->out_len)
        s->out_pos = s->out_len = s->out_frames = 0;
    return rung;
}

/*
 * The shared-memory hand-off: frames that find their worker with nothing
 * else in flight (a lone apply, or the two sleeps each of 64 idle workers
 * is given in io) go into the worker's inbox instead of the socket, one
 * send and one recv fewer (pp_worker.c's wait_input; pp_handle.c's direct
 * path says what it buys).  When every frame in flight is in s->out,
 * unsent, the worker has answered, and so read, every byte sent before
 * them.  For io's map that saves 64 sends and 64 reads (strace), though
 * no time that shows: 1.95 against 1.94 ms beyond ideal + oversleep
 * (medians of 160, interleaved), since a send to a worker asleep on its
 * doorbell wakes nobody.  True if they went.  Caller holds pool->lock.
 */
static bool hand_over(struct pp_pool *pool, struct slot *s)
{
    struct pp_status *st = &pool->wcfg.status[s - pool->slots];

    if (pool->no_handoff || s->out_frames != s->n || s->out_pos != 0 ||
        s->out_len == 0 ||
        s->out_len > PP_INBOX_SIZE || atomic_load(&st->inbox_len) != 0)
        return false;
    memcpy(st->inbox, s->out, s->out_len);
    atomic_store_explicit(&st->inbox_len, (uint32_t)s->out_len,
                          memory_order_release);
    s->out_pos = s->out_len = s->out_frames = 0;
    return true;
}

/*
 * Flushes every live worker's output and rings the doorbells of the
 * workers it sent to.  Returns true if some is left over (a full socket:
 * the collector must poll for POLLOUT).  Caller holds pool->lock.
 *
 * The cascade (opt-in: struct pp_tuning's cascade).  A map of 64 sleeping
 * tasks on 64 idle workers sends 64 frames, and this thread wakes each
 * worker after its send: 64 wake-ups one after another, before the last
 * task can start.  The workers sleep on a doorbell in shared memory, not
 * in read() (see pp_worker.c), so a send by itself wakes nobody.  With
 * the cascade this thread wakes only the first worker it sends to and
 * marks each other sleeping one PP_OWED; a woken worker wakes two owed
 * ones before it starts its task, each of which wakes two more, log2(64)
 * = 6 steps instead of 64.  Measured on 2 cores it lost (the probe of
 * io's case: the last of 64 tasks started 1.2-1.6 ms after the map began
 * either way, and the cascade's extra wake-ups delayed the ends): the
 * wake-ups cost the same CPU on whichever core, and there are only 2.
 * Waking them all with one system call (every worker asleep on one
 * shared futex word, each with a bit of its own: FUTEX_WAIT_BITSET) lost
 * too: the last of 64 started 0.2-0.3 ms sooner, but then their sleeps
 * ended closer together and waited longer for a CPU, and the map took
 * 1.44 ms beyond ideal + oversleep against 1.29 (64 sleeps of 10 ms,
 * medians of 100 interleaved).  The thread pool gained from its change
 * to a semaphore (threadpool.c) because that saved work, a second
 * wake-up per worker, not only waiting.
 * Where the rest of io's time goes (its traces, 128 sleeps of 5 ms on 64
 * workers, medians of 15 maps beside the thread pool's): the last of the
 * first 64 starts 1.0-1.2 ms after the map began (threads 0.9-1.0), a 5
 * ms sleep ends 0.17 ms late (threads 0.10), as 64 processes wake at once
 * to run on 2 CPUs, and the caller has the map's results 60-70 us after
 * the last sleep ends (threads 17 us): the last worker wakes this thread,
 * which ends the items and wakes the caller.  A worker waited 0.5 ms
 * (median) between its two sleeps, for this thread to read its answer
 * and hand it the next, until it had the next in hand (pp_dispatch).
 */
bool pp_flush_all(struct pp_pool *pool)
{
    struct slot *s;
    bool left = false, rung, cascade = pool->cascade;
    unsigned i, first = pool->nworkers;

    for (i = 0; i < pool->nworkers; i++) {
        s = &pool->slots[i];
        if (s->state != SLOT_RUNNING || s->eof)
            continue;
        rung = hand_over(pool, s);
        if (!rung && flush_out(s)) {
            atomic_fetch_add(&pool->wcfg.status[i].sends, 1);
            rung = true;
        }
        if (rung) {
            /* The first is woken at once: the cascade runs meanwhile. */
            pp_bell_ring(&pool->wcfg.status[i],
                         !cascade || first == pool->nworkers);
            if (first == pool->nworkers)
                first = i;
        }
        if (!s->eof && s->out_pos < s->out_len)
            left = true;
    }
    /* If the cascade died out before the last marks: start it again. */
    for (i = first; cascade && i < pool->nworkers; i++)
        if (pp_bell_owed_wake(&pool->wcfg.status[i]))
            break;
    return left;
}

/* ---- Receiving ------------------------------------------------------- */

/*
 * Cuts s->in into result frames and ends their items.  A frame that does
 * not match what was sent means the worker's socket was written by
 * something else (a task scribbling on descriptors): the worker is killed
 * and the rest is dropped.  Caller holds pool->lock.
 */
void pp_slot_take(struct pp_pool *pool, struct slot *s,
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
            pp_slot_kill(s);
            s->eof = true;
            pos = s->in_len;
            break;
        }
        if (s->in_len - pos < sizeof(r) + r.len)
            break;
        o = pp_outcome_make(PP_END_OK, 0, s->pid);
        if (r.flags & PP_RES_OUT_FAILED) {
            o.end = PP_END_TOOBIG;
            o.error = r.code;
        } else if (r.code != 0) {
            o.end = PP_END_ERROR;
            o.error = r.code;
        }
        pool->stats.messages++;
        pool->stats.bytes_copied += r.len;
        pp_item_end(pool, p->call, p->first + p->done, o,
                    s->in + pos + sizeof(r), r.len, done);
        pos += sizeof(r) + r.len;
        s->answered++;
        if (++p->done == p->count) {
            s->head = (s->head + 1) % pool->prefetch;
            s->n--;
            pp_lease_end(pool, s);
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
 * Caller holds pool->lock: the collector reads, and so does a caller
 * waiting for its one apply in that worker (pp_handle_wait).
 */
bool pp_slot_read(struct slot *s, bool all)
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
        if (n > 0) {
            s->in_len += (size_t)n;
            s->rcvd += (uint64_t)n;
        }
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else
            return true;
    } while (all);
    return false;
}

/* ---- The collector --------------------------------------------------- */

/* terminate: cancel the queue, kill the workers.  Caller holds lock. */
/*
 * Whether to poll s's socket.  Not while the worker holds nothing: it has
 * nothing to say (its death comes from the fork server), and leaving it
 * out spares the collector a wake-up for the answer of an apply whose
 * caller reads it itself (pp_handle.c, "The direct path"): then the slot
 * is leased to that caller until the answer is in, the caller gives up,
 * or the pool closes.  Whoever puts work into a socket left out sets
 * need_watch, so that the collector is woken to watch it.  Collector
 * only, holding pool->lock.
 */
static bool watch(struct pp_pool *pool, struct slot *s)
{
    if (s->out_pos < s->out_len)
        return true;
    if (s->n == 0)
        return false;
    if (s->direct != NULL && s->n == 1 && !pool->closing)
        return false;
    pp_lease_end(pool, s);
    return true;
}

void pp_lease_end(struct pp_pool *pool, struct slot *s)
{
    struct pp_status *st = &pool->wcfg.status[s - pool->slots];

    s->direct = NULL;
    if (atomic_load(&st->reader) == 0)
        return;
    /*
     * The worker stores `produced`, then looks at `reader`; we store
     * `reader`, then look at `produced`: one of us sees the other's store,
     * so an answer it kept back for the reader is never stranded.
     */
    atomic_store(&st->reader, 0);
    if (atomic_load(&st->produced) != atomic_load(&st->claimed))
        pp_bell_ring(st, true);
}

/*
 * Has s's worker left answers in its ring that the collector may take?
 * Not while a caller reads it (the lease), nor while bytes the worker
 * claimed to send are still on their way through the socket: those come
 * first, and the socket wakes the collector for them.  Caller holds
 * pool->lock.
 */
static bool ring_waiting(struct pp_pool *pool, struct slot *s)
{
    struct pp_status *st = &pool->wcfg.status[s - pool->slots];

    if (pool->wcfg.always_send)
        return false; /* struct pp_tuning's switch: the socket only */
    return s->state == SLOT_RUNNING && !s->eof && s->direct == NULL &&
           atomic_load(&st->claimed) == s->rcvd &&
           atomic_load(&st->produced) != s->rcvd;
}

/* Takes the answers the workers left in their rings.  Lock held. */
static void take_rings(struct pp_pool *pool, struct pp_handle **done)
{
    struct slot *s;

    for (s = pool->slots; s < pool->slots + pool->nworkers; s++)
        if (ring_waiting(pool, s) && pp_ring_claim(pool, s))
            pp_slot_take(pool, s, done);
}

/*
 * The collector is about to sleep in poll(): it marks itself asleep, so
 * that workers send their answers, and then looks once more for answers
 * left in the rings (pp_worker.c's tell says why in that order).  True if
 * there are some: then it must not sleep.  Caller holds pool->lock.
 */
static bool going_to_sleep(struct pp_pool *pool)
{
    unsigned i;

    atomic_store(pool->wcfg.collector_asleep, 1);
    for (i = 0; i < pool->nworkers; i++)
        if (ring_waiting(pool, &pool->slots[i]))
            return false;
    return true;
}

static void terminate_now(struct pp_pool *pool, struct pp_handle **done)
{
    struct job *j;
    unsigned i;

    while (pool->qhead != NULL) {
        j = queue_pop(pool);
        pool->queued -= j->count;
        pp_items_cancel(pool, j->call, j->first, j->count, ECANCELED, done);
        if (j->retry)
            free(j);
    }
    for (i = 0; i < pool->nworkers; i++) {
        if (pool->slots[i].state == SLOT_RUNNING)
            pp_slot_kill(&pool->slots[i]);
        else if (pool->slots[i].state == SLOT_WANTED)
            pool->slots[i].state = SLOT_EMPTY;
    }
    pool->terminated = true;
}


void *pp_collector_main(void *arg)
{
    struct pp_pool *pool = arg;
    struct pp_handle *done;
    struct slot *s;
    unsigned i, np, nrun;
    int timeout, t, rc;
    bool ctl_out, stopping, gone;
    char drain[64];

    rc = pp_slots_start(pool);
    for (;;) {
        done = NULL;
        pthread_mutex_lock(&pool->lock);
        stopping = pool->terminating || pool->quit ||
                   pool->start_error != 0;
        pthread_mutex_unlock(&pool->lock);
        if (pool->ctl < 0 && rc == 0 && !stopping &&
            pp_now_ns() >= pool->server_retry_at &&
            pp_slots_start(pool) != 0)
            pool->server_retry_at = pp_now_ns() + PP_SPAWN_RETRY_NS;
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
        pool->need_watch = false;
        take_rings(pool, &done);
        pp_dispatch(pool);
        pp_flush_all(pool);
        ctl_out = pp_server_requests(pool);
        timeout = pp_time_check(pool);
        if (pp_server_requests(pool))
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
            s->watched = watch(pool, s);
            if (!s->watched)
                continue;
            pool->pfd[np].fd = s->fd;
            pool->pfd[np++].events =
                POLLIN | (s->out_pos < s->out_len ? POLLOUT : 0);
        }
        if (!going_to_sleep(pool))
            timeout = 0;
        pthread_mutex_unlock(&pool->lock);
        pp_publish(pool, done);
        done = NULL;

        t = poll(pool->pfd, np, timeout);
        atomic_store(pool->wcfg.collector_asleep, 0);
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
            /* Take the answers and refill this worker at once. */
            pthread_mutex_lock(&pool->lock);
            if (pool->pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                gone = pp_slot_read(s, false);
            if (gone)
                s->eof = true;
            pp_slot_take(pool, s, &done);
            pp_dispatch(pool);
            pp_flush_all(pool);
            pthread_mutex_unlock(&pool->lock);
            pp_publish(pool, done);
            done = NULL;
        }
        /* Last, so a DIED finds the answers read above already taken. */
        if (pool->ctl >= 0 && pool->pfd[1].fd == pool->ctl &&
            pool->pfd[1].revents != 0)
            pp_server_replies(pool);
    }
    pp_slots_stop(pool);
    return NULL;
}
