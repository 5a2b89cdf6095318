/*
 * pp_slots.c - a worker slot's life, run by the collector thread: asking
 * the fork server for a worker, noticing that it died, blaming the item it
 * held, replacing it, and killing a worker whose task is over the time
 * limit.  (pp_collector.c sends and collects; pp_forkserver.c forks.)
 *
 * A slot goes EMPTY -> WANTED (a worker is needed) -> STARTING (SPAWN sent
 * to the server, with one end of a new socketpair) -> RUNNING (SPAWNED
 * came back) and, when the server reports the worker DIED, back to WANTED.
 *
 * Crashes.  The worker answers each item before it starts the next, so
 * when a worker dies, the first unanswered item is the one that killed it,
 * and the ones after it never started.  (Unless it died between items,
 * say killed from outside while idle: the count of items started, in the
 * shared status page, tells, and then nobody is blamed.)  The server reaps
 * the dead worker and sends its wait status (DIED); the collector then
 * reads whatever answers are still in the socket, ends the culprit with
 * the signal or exit status, puts the unstarted items back at the head of
 * the queue, and asks the server for a replacement.  Nothing else is
 * disturbed, which is the difference with Python's Pool (which can hang)
 * and ProcessPoolExecutor (which breaks for good).
 *
 * Time limits.  A worker notes in the status page (struct pp_status) how
 * many items it has started and when the current one began.  The
 * collector wakes up when the oldest running item reaches the limit and
 * asks the server to SIGKILL that worker (the server, being the parent,
 * knows the pid has not been reaped and reused).  When DIED comes, the
 * culprit ends with ETIMEDOUT instead of "killed by signal 9".
 *
 * Recycling.  With max_tasks_per_child = K the collector sends each worker
 * at most K items; the worker exits by itself after the K-th answer and is
 * replaced like a crashed one, but with no culprit.
 */
#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
    s->out_frames = 0;
    s->rcvd = 0;
    s->direct = NULL;
    s->retry_at = 0;
}

/*
 * Copies the bytes of the answer stream from s->rcvd up to `upto` out of
 * s's worker's ring, after those in s->in, without counting them in yet.
 * Returns how many, or 0 when out of memory.  Caller holds pool->lock.
 */
static size_t ring_copy(struct pp_pool *pool, struct slot *s, uint64_t upto)
{
    const unsigned char *ring;
    size_t n = (size_t)(upto - s->rcvd), at, first;

    if (s->in_len + n > s->in_cap) {
        unsigned char *p = realloc(s->in, s->in_len + n);

        if (p == NULL)
            return 0;
        s->in = p;
        s->in_cap = s->in_len + n;
    }
    ring = pool->wcfg.rings + (size_t)(s - pool->slots) * PP_RING_SIZE;
    at = (size_t)(s->rcvd % PP_RING_SIZE);
    first = n < PP_RING_SIZE - at ? n : PP_RING_SIZE - at;
    memcpy(s->in + s->in_len, ring + at, first);
    memcpy(s->in + s->in_len + first, ring, n - first);
    return n;
}

/*
 * After the socket has been read to its end: the answers the dead worker
 * wrote into its ring but never sent, appended to s->in as if they had
 * come through the socket.  Every byte of its answer stream past what the
 * socket gave (s->rcvd) is in the ring (pp_worker.c's emit), so with them
 * every item it finished counts as answered, and the first unanswered
 * item is still the one it held.  Caller holds pool->lock.
 */
static void ring_tail(struct pp_pool *pool, struct slot *s)
{
    uint64_t produced = atomic_load(
        &pool->wcfg.status[s - pool->slots].produced);
    size_t n;

    if (produced <= s->rcvd || produced - s->rcvd > PP_RING_SIZE)
        return;
    if ((n = ring_copy(pool, s, produced)) == 0)
        return; /* no memory: blame as if there were no ring */
    s->in_len += n;
    s->rcvd = produced;
}

bool pp_ring_claim(struct pp_pool *pool, struct slot *s)
{
    struct pp_status *st = &pool->wcfg.status[s - pool->slots];
    uint64_t c = atomic_load(&st->claimed), p;
    size_t n;

    /* Bytes the worker claimed are in the socket, and come first. */
    if (c != s->rcvd)
        return false;
    p = atomic_load(&st->produced);
    if (p <= c || p - c > PP_RING_SIZE)
        return false;
    /*
     * Copy, then claim: while `claimed` has not moved the worker leaves
     * these bytes alone, so if the claim succeeds the copy is good.
     */
    if ((n = ring_copy(pool, s, p)) == 0 ||
        !atomic_compare_exchange_strong(&st->claimed, &c, p))
        return false;
    s->in_len += n;
    s->rcvd = p;
    return true;
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

    pthread_mutex_lock(&pool->lock);
    pp_slot_read(s, true);
    ring_tail(pool, s);
    pp_slot_take(pool, s, &done);
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
        o = pp_outcome_make(PP_END_SIGNALED, EPIPE, s->pid);
        if (pool->terminating) {
            o = pp_outcome_make(PP_END_CANCELLED, ECANCELED, s->pid);
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
        pp_trace_died(pool, s, p, &o);
        pp_item_end(pool, p->call, p->first + p->done, o, NULL, 0, &done);
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
                pp_items_cancel(pool, p->call, p->first + p->done,
                                p->count - p->done,
                                pool->terminating ? ECANCELED : ENOMEM,
                                &done);
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
    pp_publish(pool, done);
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
void pp_server_replies(struct pp_pool *pool)
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
                pp_slot_kill(s);
            pthread_mutex_unlock(&pool->lock);
        } else if (m.op == PP_SRV_FAILED && m.slot >= 0 &&
                   (unsigned)m.slot < pool->nworkers) {
            s = &pool->slots[m.slot];
            pthread_mutex_lock(&pool->lock);
            slot_reset(s, SLOT_WANTED);
            s->retry_at = pp_now_ns() + PP_SPAWN_RETRY_NS;
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
bool pp_server_requests(struct pp_pool *pool)
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
            s->retry_at = pp_now_ns() + PP_SPAWN_RETRY_NS;
            waiting = true;
            continue;
        }
        if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
            close(sv[0]);
            close(sv[1]);
            s->retry_at = pp_now_ns() + PP_SPAWN_RETRY_NS;
            waiting = true;
            continue;
        }
        atomic_store(&pool->wcfg.status[i].started, 0);
        atomic_store(&pool->wcfg.status[i].started_ns, 0);
        atomic_store(&pool->wcfg.status[i].busy, 0);
        atomic_store(&pool->wcfg.status[i].produced, 0);
        atomic_store(&pool->wcfg.status[i].bell, 0);
        atomic_store(&pool->wcfg.status[i].sends, 0);
        atomic_store(&pool->wcfg.status[i].reader, 0);
        atomic_store(&pool->wcfg.status[i].inbox_len, 0);
        atomic_store(&pool->wcfg.status[i].claimed, 0);
        atomic_store(&pool->wcfg.status[i].sleep, PP_AWAKE);
        atomic_store(&pool->wcfg.status[i].ready, 0);
        m.op = PP_SRV_SPAWN;
        m.slot = (int32_t)i;
        rc = pp_server_send(pool->ctl, &m, sv[1]);
        close(sv[1]);
        if (rc != 0) {
            close(sv[0]);
            if (rc == EAGAIN)
                return true;
            s->retry_at = pp_now_ns() + PP_SPAWN_RETRY_NS;
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
int pp_time_check(struct pp_pool *pool)
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
        /* Answers may wait in the ring: the running item is `started`. */
        if (atomic_load_explicit(&st->busy, memory_order_acquire) &&
            started > s->answered) {
            left = atomic_load_explicit(&st->started_ns,
                                        memory_order_relaxed) +
                   limit - now;
            if (left <= 0 &&
                atomic_load_explicit(&st->started, memory_order_acquire) ==
                    started) {
                s->timeout_kill = true;
                s->timeout_item = started;
                pp_slot_kill(s);
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


/* Before the loop: the server.  Returns 0 or an errno. */
int pp_slots_start(struct pp_pool *pool)
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
void pp_slots_stop(struct pp_pool *pool)
{
    unsigned i;

    /* A worker asleep on its doorbell must wake to read the EOF. */
    for (i = 0; i < pool->nworkers; i++) {
        slot_reset(&pool->slots[i], SLOT_EMPTY);
        atomic_fetch_add(&pool->wcfg.status[i].sends, 1);
        pp_bell_ring(&pool->wcfg.status[i], true);
    }
    if (pool->ctl >= 0)
        close(pool->ctl);
    pool->ctl = -1;
    if (pool->server > 0)
        while (waitpid(pool->server, NULL, 0) < 0 && errno == EINTR)
            ;
    pool->server = 0;
}
