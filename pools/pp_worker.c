/*
 * pp_worker.c - the loop a worker process runs.
 *
 * A worker is a child of the fork server and so a copy of the program as
 * it was when the pool was created.  It owns one end of a socketpair whose
 * other end the parent holds.  Its whole life:
 *
 *     map the shared regions in (prefault, below)
 *     wait for the doorbell (polling first), then take the frames handed
 *     over in the inbox, or read bytes from the socket into a buffer
 *     for every complete task frame in the buffer:
 *         for every item in the frame:
 *             note in the shared status page that the item started
 *             call the task function (its pointer came in the frame)
 *             write its result frame into the answer ring
 *             if little work is left in the buffer: tell the parent
 *             (send the ring's bytes if its collector sleeps, see tell)
 *     at EOF (the parent closed its end), or after max_tasks items: _exit(0)
 *
 * The answer ring.  Sending each answer by itself cost a system call per
 * item and, worse, woke the parent's collector per item: a pp_map of
 * empty tasks cost 2.6-4.9 us an item, against 1.0-1.9 us with the ring
 * (benchmarks/overhead, bulk).  So each result frame goes into a ring in
 * shared memory (pp_internal.h), and the worker tells the parent twice per
 * read: when half of the items it brought are left to run (the parent
 * then sends more before this worker runs dry), and when none are.
 * Sending after each of the last 4 items instead made twice as many
 * sends.  Telling sends the ring's bytes through the socket only if the
 * parent's collector sleeps; while it is awake, it takes them from the
 * ring itself (tell, below).  A full ring is sent at once.  The stream the
 * parent reads is the same as before, in bigger pieces, partly copied out
 * of the ring.  A caller waiting for a lone apply copies its answer
 * straight out of the ring too (pp_handle.c's direct path); st->claimed
 * makes sure each byte is taken once, sent or copied.
 *
 * Crash reports stay exact: the result of each item is in shared memory,
 * counted in st->produced, before the next item starts.  When a worker
 * dies, the parent reads its socket to the end and takes the rest from its
 * ring (pp_slots.c), so every item that finished counts, the first item
 * without a result is the one that killed it, and the items after it never
 * started: the parent gives them to another worker.
 *
 * Recording (pp_trace.c), when the pool records: a frame's start and its
 * last item's end are read from the clock, and the frame's event goes into
 * this worker's buffer in shared memory before its last answer is emitted.
 *
 * A worker leaves with _exit, never exit: exit would run the atexit
 * handlers and flush the stdio buffers it inherited from the parent, so
 * text the parent had buffered but not yet written would come out twice.
 * It writes with MSG_NOSIGNAL, so a parent that has gone away shows up as
 * EPIPE (and the worker leaves) instead of a SIGPIPE that kills it.
 */
/* _DEFAULT_SOURCE: madvise, MADV_POPULATE_READ and syscall (futex). */
#define _DEFAULT_SOURCE

#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14's value, for older headers */
#endif

/*
 * How long a worker that has run out of work polls its socket before it
 * sleeps: 10 us, about one wake-up of a sleeping process on this kind of
 * virtual machine, so that polling never costs much more than it can save.
 */
#define PP_WORKER_POLL_NS 10000u

/* First size of the input buffer: holds many small frames per read. */
#define INBUF_START (64 * 1024)
/*
 * Exit status of a worker that received a frame it cannot parse: 125, the
 * status env(1) and timeout(1) use for their own failures, so that it
 * stands apart from the small codes a task might _exit with.
 */
#define EXIT_PROTOCOL 125

int pp_out_write(struct pp_out *out, const void *data, size_t len)
{
    size_t used, cap;
    unsigned char *p;

    if (out == NULL || (data == NULL && len > 0))
        return EINVAL;
    if (out->error != 0)
        return out->error;
    used = out->len - sizeof(struct pp_result_hdr);
    if (len > PP_RESULT_MAX - used) {
        out->error = EMSGSIZE;
        return EMSGSIZE;
    }
    if (out->len + len > out->cap) {
        cap = out->cap;
        while (cap < out->len + len)
            cap *= 2;
        if ((p = realloc(out->buf, cap)) == NULL) {
            out->error = ENOMEM;
            return ENOMEM;
        }
        out->buf = p;
        out->cap = cap;
    }
    if (len > 0)
        memcpy(out->buf + out->len, data, len);
    out->len += len;
    return 0;
}

/* Sends all n bytes.  Returns 0, or -1 when the parent is gone. */
static int send_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    ssize_t w;

    while (n > 0) {
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

struct worker {
    const struct pp_worker_cfg *cfg;
    struct pp_status *st;
    int fd;
    unsigned long done;  /* items finished by this worker */
    struct pp_out out;
    unsigned char *in;   /* input buffer */
    size_t in_len, in_cap;
    unsigned char *ring; /* the answer ring, NULL with no_ring */
    uint64_t produced;   /* answer bytes written (st->produced's value) */
    size_t ahead;        /* items left in the complete frames read */
    size_t half;         /* ahead when half of the last read is left */
    uint32_t sends;      /* st->sends when this worker last read */
    bool full;           /* that read filled the buffer */
    bool quick;          /* the last wait's work came within the poll */
    bool lone;           /* the last read brought one item */
    unsigned slot;
    /* Recording (pp_trace.c): this worker's track, NULL when off, and
     * the event of the frame it runs. */
    struct pb_track *rec;
    struct pb_event ev;
};

static _Noreturn void leave(struct worker *w, int status)
{
    free(w->in);
    free(w->out.buf);
    _exit(status);
}

/*
 * Claims the ring's unsent bytes, from *from up to `produced`, for this
 * worker to send.  A caller reading this worker's ring itself
 * (pp_handle.c), or the collector (pp_collector.c), may take them first:
 * each side claims the bytes it takes by moving st->claimed up to
 * `produced` with a compare-and-swap, so every byte goes exactly once.
 * False if there was nothing left to claim.
 */
static bool claim(struct worker *w, uint64_t *from)
{
    uint64_t c = atomic_load(&w->st->claimed);

    do {
        if (c >= w->produced)
            return false;
    } while (!atomic_compare_exchange_weak(&w->st->claimed, &c, w->produced));
    *from = c;
    return true;
}

/* Sends the ring's bytes from `from` up to `produced`, claimed first;
 * leaves if the parent has gone. */
static void send_ring(struct worker *w, uint64_t from)
{
    size_t at, n;

    while (from < w->produced) {
        at = (size_t)(from % PP_RING_SIZE);
        n = (size_t)(w->produced - from);
        if (n > PP_RING_SIZE - at)
            n = PP_RING_SIZE - at;
        if (send_all(w->fd, w->ring + at, n) != 0)
            leave(w, 0);
        from += n;
    }
}

/* Sends the ring's unsent bytes, if nobody has taken them. */
static void flush(struct worker *w)
{
    uint64_t from;

    if (claim(w, &from))
        send_ring(w, from);
}

/*
 * Makes sure the parent will see the answers in the ring.  If the
 * collector sleeps, this sends them through the socket, which wakes it.
 * If it is awake, they stay in the ring, and it takes them from there
 * before it sleeps again (pp_collector.c's loop): no system call on
 * either side.  One send wakes it for all the workers: the first to find
 * it asleep claims its answers, marks it awake, and sends; the others
 * then leave theirs in their rings.  Each side stores first and looks
 * second (a worker `produced`, then the mark; the collector the mark,
 * then every worker's `produced`), so one of the two sees the other and
 * no answer is left unseen.  Whoever clears the mark has claimed bytes
 * and sends them, so a cleared mark always means a wake-up on its way.
 *
 * What it bought, in io (benchmarks/io, 128 sleeps of 5 ms on 64
 * workers, time beyond ideal + oversleep, 20 rounds of 15 maps,
 * interleaved): 1.41 ms, against 1.69 with every answer sent
 * (pp_tuning.always_send, io --send-answers); round by round it saved
 * 0.31 ms (IQR 0.12-0.47).  The thread pool took 0.96 ms, bare threads
 * with no pool 0.82.  A map made 19 sends of answers instead of 128, and
 * the collector 23 reads instead of 99 (strace -c, 20 maps): 64 workers
 * that wake at once no longer share 2 CPUs with a system call each and
 * the collector's wake-ups.
 */
static void tell(struct worker *w)
{
    _Atomic uint32_t *asleep = w->cfg->collector_asleep;
    uint64_t from;

    if (w->ring == NULL || atomic_load(&w->st->reader))
        return; /* sent already, or a caller reads the ring */
    if (w->cfg->always_send) {
        flush(w); /* struct pp_tuning's switch */
        return;
    }
    if (!atomic_load(asleep))
        return;
    if (claim(w, &from)) {
        atomic_store(asleep, 0);
        send_ring(w, from);
    }
}

/*
 * Delivers one result frame (w->out): into the ring, where the parent
 * finds it even if this process dies before sending it, or, with no_ring
 * or when it is bigger than half the ring, straight through the socket
 * (then `produced` counts it only once it has all been sent, so the bytes
 * the parent may take from the ring after a death are always ring bytes).
 */
static void emit(struct worker *w)
{
    const unsigned char *b = w->out.buf;
    size_t len = w->out.len, at, first;

    if (w->ring == NULL || len > PP_RING_SIZE / 2) {
        flush(w);
        if (send_all(w->fd, b, len) != 0)
            leave(w, 0);
        w->produced += len;
        atomic_store(&w->st->claimed, w->produced);
    } else {
        /* Room: bytes below `claimed` have been taken and may go. */
        if (w->produced + len - atomic_load(&w->st->claimed) > PP_RING_SIZE)
            flush(w);
        at = (size_t)(w->produced % PP_RING_SIZE);
        first = len < PP_RING_SIZE - at ? len : PP_RING_SIZE - at;
        memcpy(w->ring + at, b, first);
        memcpy(w->ring, b + first, len - first);
        w->produced += len;
    }
    atomic_store(&w->st->produced, w->produced);
}

/* Runs item i of the frame h whose payload is p, and sends its result. */
static void run_item(struct worker *w, const struct pp_task_hdr *h,
                     pp_task_fn *fn, struct pp_task *t, uint32_t i)
{
    struct pp_result_hdr r;
    int code;

    t->index = (size_t)(h->first + i);
    w->out.len = sizeof(r);
    w->out.error = 0;
    if (w->cfg->timed)
        atomic_store_explicit(&w->st->started_ns, pp_now_ns(),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&w->st->started, 1, memory_order_relaxed);
    atomic_store_explicit(&w->st->busy, 1, memory_order_release);
    code = fn(t, &w->out);
    atomic_store_explicit(&w->st->busy, 0, memory_order_release);

    memset(&r, 0, sizeof(r));
    r.seq = h->seq;
    r.item = i;
    r.code = code;
    if (w->out.error != 0) {
        r.code = w->out.error;
        r.flags = PP_RES_OUT_FAILED;
        w->out.len = sizeof(r);
    }
    r.len = (uint32_t)(w->out.len - sizeof(r));
    memcpy(w->out.buf, &r, sizeof(r));
    /* The frame's event goes in before its last answer can leave. */
    if (w->rec != NULL) {
        if (w->ev.status == 0)
            w->ev.status = r.code;
        if (i + 1 == h->count) {
            w->ev.end_ns = pb_now_ns();
            pb_track_event(w->rec, &w->ev);
        }
    }
    emit(w);
    w->done++;
    if (w->ahead > 0)
        w->ahead--;
    /*
     * Tell the parent when half the work read is left, so that it sends
     * more before this worker runs dry, and when none is (a lone apply's
     * answer then leaves at once); else let answers gather in the ring.
     */
    if (w->ahead == 0 || w->ahead == w->half)
        tell(w);
    if (w->cfg->max_tasks != 0 && w->done >= w->cfg->max_tasks) {
        flush(w);
        leave(w, 0);
    }
}

/*
 * Is this header one the parent could have sent?  It always is, unless
 * something else wrote into the socket; then the worker leaves rather
 * than run a function pointer it cannot trust.
 */
static bool frame_ok(const struct pp_task_hdr *h)
{
    if (h->payload > PP_PAYLOAD_MAX || h->count == 0 || h->fn == 0)
        return false;
    switch (h->kind) {
    case PP_KIND_BYTES:
        return h->item_size <= PP_ARG_MAX &&
               h->item_size * h->count == h->payload;
    case PP_KIND_SHM:
        return h->payload == 0 && h->base != 0;
    case PP_KIND_STAR:
        return h->item_size >= 1 && h->item_size <= PP_STARMAP_ARGS_MAX;
    default:
        return false;
    }
}

/* Recording: a frame starts; its event is written by its last item. */
static void record_start(struct worker *w, const struct pp_task_hdr *h)
{
    int32_t pid = w->ev.os_id;

    memset(&w->ev, 0, sizeof(w->ev));
    /* Ids in the order frames start, from one counter that every worker
     * shares: dense even when a dead worker's frames are sent again. */
    w->ev.id = atomic_fetch_add(&w->cfg->trace->next_id, 1);
    w->ev.queued_ns = (uint64_t)h->queued_ns;
    w->ev.start_ns = pb_now_ns();
    w->ev.first = h->first;
    w->ev.count = h->count;
    w->ev.map = h->map;
    w->ev.track = w->slot + 1;
    w->ev.os_id = pid;
    w->ev.chunk = h->map != 0;
    atomic_store_explicit(&w->st->frame_id, w->ev.id,
                          memory_order_relaxed);
    atomic_store_explicit(&w->st->frame_ns, w->ev.start_ns,
                          memory_order_relaxed);
}

/* Runs every item of one complete frame. */
static void run_frame(struct worker *w, const struct pp_task_hdr *h,
                      const unsigned char *p)
{
    struct pp_arg argv[PP_STARMAP_ARGS_MAX];
    struct pp_task t;
    pp_task_fn *fn;
    size_t off = 0, argc, k;
    uint32_t i, len;

    memcpy(&fn, &h->fn, sizeof(fn));
    if (w->rec != NULL)
        record_start(w, h);
    for (i = 0; i < h->count; i++) {
        memset(&t, 0, sizeof(t));
        switch (h->kind) {
        case PP_KIND_BYTES:
            if (h->item_size > 0)
                t.arg = p + (size_t)i * h->item_size;
            t.arg_len = (size_t)h->item_size;
            break;
        case PP_KIND_SHM:
            t.item = (unsigned char *)(uintptr_t)h->base +
                     (size_t)(h->first + i) * h->item_size;
            t.arg = t.item;
            t.arg_len = (size_t)h->item_size;
            break;
        case PP_KIND_STAR:
            argc = (size_t)h->item_size;
            if (argc > PP_STARMAP_ARGS_MAX ||
                off + 4 * argc > h->payload)
                leave(w, EXIT_PROTOCOL);
            for (k = 0; k < argc; k++) {
                memcpy(&len, p + off + 4 * k, 4);
                argv[k].len = len;
            }
            off += 4 * argc;
            for (k = 0; k < argc; k++) {
                if (argv[k].len > h->payload - off)
                    leave(w, EXIT_PROTOCOL);
                argv[k].data = argv[k].len > 0 ? p + off : NULL;
                off += argv[k].len;
            }
            t.argc = argc;
            t.argv = argv;
            break;
        default:
            leave(w, EXIT_PROTOCOL);
        }
        run_item(w, h, fn, &t, i);
    }
}

/* The items in the complete frames of buf: the work this worker holds. */
static size_t items_ready(const unsigned char *buf, size_t len)
{
    struct pp_task_hdr h;
    size_t pos = 0, items = 0;

    while (len - pos >= sizeof(h)) {
        memcpy(&h, buf + pos, sizeof(h));
        if (!frame_ok(&h) || len - pos - sizeof(h) < h.payload)
            break;
        items += h.count;
        pos += sizeof(h) + h.payload;
    }
    return items;
}

/* ---- The doorbell ---------------------------------------------------- */

/*
 * A futex on a word of shared memory: FUTEX_WAIT sleeps while the word
 * holds the value given, FUTEX_WAKE wakes a sleeper.  Without the
 * FUTEX_PRIVATE_FLAG, so that it works across processes.
 */
static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
    /* 1 s: the longest a lost cascade could leave work unstarted. */
    struct timespec ts = { 1, 0 };

    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, value, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void pp_bell_ring(struct pp_status *st, bool wake)
{
    uint32_t asleep = PP_ASLEEP;

    atomic_fetch_add_explicit(&st->bell, 1, memory_order_seq_cst);
    if (wake) {
        if (atomic_exchange(&st->sleep, PP_AWAKE) != PP_AWAKE)
            futex_wake(&st->bell);
    } else {
        atomic_compare_exchange_strong(&st->sleep, &asleep, PP_OWED);
    }
}

bool pp_bell_owed_wake(struct pp_status *st)
{
    uint32_t owed = PP_OWED;

    if (!atomic_compare_exchange_strong(&st->sleep, &owed, PP_AWAKE))
        return false;
    futex_wake(&st->bell);
    return true;
}

void pp_ready_wait(struct pp_status *st)
{
    unsigned i;

    /* 10 waits of at most 1 s, each cut short by the worker's wake. */
    for (i = 0; i < 10 && atomic_load(&st->ready) == 0; i++)
        futex_wait(&st->ready, 0);
}

/* A worker just woken passes it on: wakes up to 2 owed workers. */
static void cascade(struct worker *w)
{
    unsigned k, j, n = w->cfg->nslots, woken = 0;

    for (k = 1; k < n && woken < 2; k++) {
        j = (w->slot + k) % n;
        if (pp_bell_owed_wake(&w->cfg->status[j]))
            woken++;
    }
}

/*
 * Waits for the doorbell to move from `seen`.  First it polls: a caller
 * waiting for one answer at a time hands over the next task within
 * microseconds, and a worker caught polling needs no wake-up (tens of
 * microseconds on a virtual machine).  Polling memory, not the socket:
 * recv() a time, measured slower (25 against 17 us a round trip), the
 * calls getting in the way of the caller's send.  pb_poll_step yields the
 * core after a few pauses, so on 2 cores the poller hands its core to
 * whoever needs it.  Then it sleeps on the doorbell, marked PP_ASLEEP, so
 * that the one who rings wakes it (see pp_collector.c's pp_flush_all for
 * the cascade).
 */
static void wait_bell(struct worker *w, uint32_t seen)
{
    uint64_t end = 0, slept;
    unsigned i;

    /*
     * Poll only if work came quickly last time, one item at a time: 64
     * workers that finish 10 ms sleeps together and each poll 50 us on 2
     * cores took 1.6 ms of CPU from the ones still to run (benchmarks/io),
     * and workers polling between the batches of a map took the CPU the
     * parent needed to send the next batch (2.4 us an item against 1.1).
     */
    for (i = 1; !w->cfg->no_poll && w->quick && w->lone; i++) {
        if (atomic_load_explicit(&w->st->bell, memory_order_acquire) != seen)
            return;
        if (pb_poll_expired(i, &end, PP_WORKER_POLL_NS))
            break;
        pb_poll_step(i);
    }
    /*
     * "Quick" is judged by when the work came: within PP_WORKER_POLL_NS
     * of the start of the poll (its `end`), or of the sleep if it did not
     * poll.  Judged by whether the poll caught it, a worker that slept
     * once never polled again, since a caller cannot hand over its next
     * task before it has the answer (round trips paid a wake-up each).
     */
    slept = pb_now_ns();
    if (end == 0)
        end = slept + PP_WORKER_POLL_NS;
    while (atomic_load_explicit(&w->st->bell, memory_order_acquire) == seen) {
        atomic_store(&w->st->sleep, PP_ASLEEP);
        if (atomic_load(&w->st->bell) == seen)
            futex_wait(&w->st->bell, seen);
        atomic_store(&w->st->sleep, PP_AWAKE);
        cascade(w);
    }
    w->quick = pb_now_ns() < end;
}

/*
 * The frame a caller handed over in shared memory (st->inbox), copied
 * into the input buffer.  The parent hands over a frame that way only
 * when this worker has answered everything sent before it, so no bytes of
 * the socket go first and the buffer is empty.  Returns its length, or 0
 * if there is none.
 */
static ssize_t take_inbox(struct worker *w)
{
    uint32_t n = atomic_load_explicit(&w->st->inbox_len,
                                      memory_order_acquire);

    if (n == 0)
        return 0;
    if (n > PP_INBOX_SIZE || w->in_len != 0)
        leave(w, EXIT_PROTOCOL);
    memcpy(w->in + w->in_len, w->st->inbox, n);
    atomic_store_explicit(&w->st->inbox_len, 0, memory_order_release);
    return (ssize_t)n;
}

/*
 * Waits for work and reads it: a frame from the inbox, or what the socket
 * holds.  The socket is read only once the parent has counted a send into
 * it (st->sends), or when the last read filled the buffer (the rest of a
 * send may be waiting); a lone apply handed over in shared memory thus
 * costs this worker no system call at all.  Between looks it tells the
 * parent of what a caller reading its ring left unread when it stopped
 * (st->reader back at 0: that caller rang the doorbell to say so), then
 * waits on the doorbell.  Returns what read returns.
 */
static ssize_t wait_input(struct worker *w)
{
    size_t room = w->in_cap - w->in_len;
    uint32_t seen, sends;
    ssize_t n;

    for (;;) {
        seen = atomic_load_explicit(&w->st->bell, memory_order_acquire);
        if ((n = take_inbox(w)) > 0)
            return n;
        sends = atomic_load_explicit(&w->st->sends, memory_order_acquire);
        if (sends != w->sends || w->full) {
            w->sends = sends;
            n = recv(w->fd, w->in + w->in_len, room, MSG_DONTWAIT);
            if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                w->full = n == (ssize_t)room;
                return n;
            }
            w->full = false;
        }
        tell(w);
        wait_bell(w, seen);
    }
}

/*
 * Prefault: maps into this process, in one madvise per region, every page
 * of the shared regions it inherited, so that a task reading a pp_shm
 * region takes no page fault.  A forked child shares the pages of a
 * MAP_SHARED region but not the page table entries that point at them
 * (fork copies those only for private memory), so without this each
 * worker faults once per 4 KiB page it touches first: 262144 faults for
 * a 1 GiB array, which made the first pass of benchmarks/sum 2-3 times
 * slower than the next.  The regions are the shared anonymous mappings
 * ("/dev/zero (deleted)" in /proc/self/maps): pp_shm regions, pp_dict
 * tables, the pools' status pages.  Huge pages would cut the entries 512
 * times, but shared anonymous memory gets them only where the system
 * enables them (/sys/kernel/mm/transparent_hugepage/shmem_enabled).
 * All but the recording's buffers (`skip`): a worker writes only its own
 * track of them, and mapping all 50 MB of the benchmarks' buffers kept a
 * worker that replaced a killed one from starting for 7 ms.
 */
static void prefault(const void *skip)
{
    unsigned long lo, hi;
    char line[512], perm[8];
    FILE *f;

    if ((f = fopen("/proc/self/maps", "re")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 ||
            perm[0] != 'r' || perm[3] != 's' ||
            strstr(line, "/dev/zero (deleted)") == NULL ||
            ((uintptr_t)skip >= lo && (uintptr_t)skip < hi))
            continue;
        /* Errors (an older kernel) leave the pages to fault as before. */
        madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
    }
    fclose(f);
}

_Noreturn void pp_worker_run(const struct pp_worker_cfg *cfg, int fd,
                             unsigned slot)
{
    struct worker w;
    struct pp_task_hdr h;
    size_t need, pos;
    ssize_t n;
    unsigned char *p;

    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.st = &cfg->status[slot];
    w.fd = fd;
    w.slot = slot;
    if (!cfg->no_ring)
        w.ring = cfg->rings + (size_t)slot * PP_RING_SIZE;
    if (cfg->trace != NULL) {
        w.rec = pb_trace_track(cfg->trace, slot + 1);
        w.ev.os_id = (int32_t)getpid();
    }
    if (!cfg->no_prefault)
        prefault(cfg->trace);
    atomic_store(&w.st->ready, 1);
    syscall(SYS_futex, (uint32_t *)&w.st->ready, FUTEX_WAKE, 1, NULL, NULL,
            0);
    w.in_cap = INBUF_START;
    w.out.cap = sizeof(struct pp_result_hdr) + 4096;
    if ((w.in = malloc(w.in_cap)) == NULL ||
        (w.out.buf = malloc(w.out.cap)) == NULL)
        leave(&w, 1);
    /* The fork server blocks every signal; tasks get the creator's mask. */
    pthread_sigmask(SIG_SETMASK, &cfg->mask, NULL);

    for (;;) {
        n = wait_input(&w);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            flush(&w);
            leave(&w, 0);
        }
        w.in_len += (size_t)n;

        w.ahead = items_ready(w.in, w.in_len);
        w.half = w.ahead / 2;
        w.lone = w.ahead == 1;
        pos = 0;
        while (w.in_len - pos >= sizeof(h)) {
            memcpy(&h, w.in + pos, sizeof(h));
            if (!frame_ok(&h))
                leave(&w, EXIT_PROTOCOL);
            need = sizeof(h) + h.payload;
            if (w.in_len - pos < need)
                break;
            run_frame(&w, &h, w.in + pos + sizeof(h));
            pos += need;
        }
        /* Keep the partial frame at the front; grow to fit a big one. */
        memmove(w.in, w.in + pos, w.in_len - pos);
        w.in_len -= pos;
        if (w.in_len >= sizeof(h)) {
            memcpy(&h, w.in, sizeof(h));
            need = sizeof(h) + h.payload;
            if (need > w.in_cap) {
                if ((p = realloc(w.in, need)) == NULL)
                    leave(&w, 1);
                w.in = p;
                w.in_cap = need;
            }
        }
    }
}
