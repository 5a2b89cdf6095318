/*
 * pp_worker.c - the loop a worker process runs.
 *
 * A worker is a child of the fork server and so a copy of the program as
 * it was when the pool was created.  It owns one end of a socketpair whose
 * other end the parent's collector thread holds.  Its whole life:
 *
 *     read bytes from the socket into a buffer
 *     for every complete task frame in the buffer:
 *         for every item in the frame:
 *             note in the shared status page that the item started
 *             call the task function (its pointer came in the frame)
 *             send one result frame: header, then the result bytes
 *     at EOF (the parent closed its end), or after max_tasks items: _exit(0)
 *
 * The result of each item is sent before the next item starts.  That is
 * what makes crash reports exact: when a worker dies, every item whose
 * result the parent has read is finished, and the first item without a
 * result is the one that killed it; the items after it never started and
 * the parent gives them to another worker.
 *
 * A worker leaves with _exit, never exit: exit would run the atexit
 * handlers and flush the stdio buffers it inherited from the parent, so
 * text the parent had buffered but not yet written would come out twice.
 * It writes with MSG_NOSIGNAL, so a parent that has gone away shows up as
 * EPIPE (and the worker leaves) instead of a SIGPIPE that kills it.
 */
#include "procpool.h"
#include "pp_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
};

static _Noreturn void leave(struct worker *w, int status)
{
    free(w->in);
    free(w->out.buf);
    _exit(status);
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
    if (send_all(w->fd, w->out.buf, w->out.len) != 0)
        leave(w, 0);
    w->done++;
    if (w->cfg->max_tasks != 0 && w->done >= w->cfg->max_tasks)
        leave(w, 0);
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
    w.in_cap = INBUF_START;
    w.out.cap = sizeof(struct pp_result_hdr) + 4096;
    if ((w.in = malloc(w.in_cap)) == NULL ||
        (w.out.buf = malloc(w.out.cap)) == NULL)
        leave(&w, 1);
    /* The fork server blocks every signal; tasks get the creator's mask. */
    pthread_sigmask(SIG_SETMASK, &cfg->mask, NULL);

    for (;;) {
        n = read(fd, w.in + w.in_len, w.in_cap - w.in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            leave(&w, 0);
        w.in_len += (size_t)n;

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
