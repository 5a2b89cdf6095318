/*
 * sum (Open MPI) - add up an array of N 64-bit values on MPI ranks, to see
 * what it costs when the data has to travel to the workers.
 *
 *     mpirun -np 2 build/release/bin/mpi/sum --n 1e7 --variant static
 *     scripts/mpi-run.sh -n 2 sum --variant local
 *
 * The same workload as benchmarks/sum.c: value i is wl_value(i), the
 * kernel is wl_sum_range(), and the total is checked exactly against the
 * closed form wl_sum_expected(N) (benchmarks/lib/workloads.h).  Records
 * say mode "mpi", workers = ranks.
 *
 * WHY THIS IS THE INTERESTING ONE
 *
 * Threads share the array: a thread sums its part where it lies.  A
 * process pool can put the array in shared memory and do the same.  MPI
 * ranks share nothing - they may be on different machines - so a rank can
 * only sum values that were sent to it.  Adding two numbers takes far
 * less time than moving one of them (the add runs at the speed of memory,
 * a message at the speed of a copy through shared memory or, between
 * machines, of the network), so shipping the data costs more than summing
 * it where it is.  The three variants show that:
 *
 *   static   rank 0 holds the whole array and MPI_Scatterv deals it out:
 *            rank r gets chunks r, r + R, r + 2R, ... of C values, one
 *            scatter per round of R chunks.  Automatic C = ceil(N/R): one
 *            round, one block per rank, the usual MPI idiom.
 *   dynamic  rank 0 is a manager that sends a chunk of C values (automatic:
 *            N / (16 R)) to whichever rank asks, and sums chunks of its
 *            own in between; a zero-length message means "no more".  The
 *            worker asks for its next chunk before summing the current
 *            one and receives it with MPI_Irecv into a second buffer, so
 *            the copy overlaps the add (double buffering).
 *   local    no data moves: each rank fills (in the set-up, not timed) and
 *            sums its own block, as a real distributed program keeps data
 *            where it is computed on.  Only one number per rank travels,
 *            in the MPI_Reduce.
 *
 * Every variant ends with MPI_Reduce adding the partial sums on rank 0.
 * In text format rank 0 also prints how many bytes went to other ranks in
 * the kernel and at what rate.
 *
 * WHAT WAS MOVED (--transfer)
 *
 * With --transfer every repetition prints a second record, whose variant
 * is the first one's with "+moved" at the end ("static+moved",
 * "static+2hosts+moved"): it describes the data that travelled, so that
 * bytes per second can be charted beside the kernel time without working
 * the amount out from the command line:
 *
 *   n         the bytes rank 0 sent to other ranks (counted as it sends)
 *   tasks     the messages that carried data
 *   kernel_s  the seconds from the start of the kernel until the last of
 *             those bytes had arrived (the latest rank; every rank starts
 *             its clock at the same barrier).  For static that is the
 *             scatter; dynamic's data arrives all through the kernel.
 *   result    the bytes the other ranks received (counted as they
 *             receive), expected: n, so the check says no byte was lost
 *
 * Bytes per second is n / kernel_s.  Moving data is the cost that grows
 * most from one machine (a copy through shared memory) to several (TCP
 * over a network): scripts/mpi-hosts.sh bench measures both.
 *
 * WHAT IS TIMED
 *
 * kernel_s runs on rank 0 from the end of an MPI_Barrier to the end of the
 * MPI_Reduce: the sends, the sums and the reduction.  setup_s (first record
 * only) is rank 0's MPI_Init plus allocating and filling the arrays and
 * the receive buffers, up to a barrier that waits for the slowest rank.
 * The receive buffers are written once in the set-up, so that the kernel
 * pays for copying, not for the kernel's first touch of fresh pages.  A
 * variant ending in "+oversub" means more ranks than CPUs on a machine.
 */
#include "mpibench.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "workloads.h"

/* Chunks per rank for the dynamic variant when --chunk is 0: fewer than
 * primes uses, since every chunk here is a message carrying data. */
#define CHUNKS_PER_RANK 16

/* The manager's own chunks are summed in this many slices, with a look for
 * waiting requests after each (see primes.c). */
#define MANAGER_SLICES 16

/* Message tags: a worker's request for work, the manager's answer. */
enum { TAG_ASK = 1, TAG_WORK = 2 };

/* N is capped so that every message count fits MPI's int counts (a chunk
 * is at most N values) with room to spare: 10^9 values are 8 GB. */
#define MAX_N 1000000000LL

static long long n = 50000000;   /* as benchmarks/sum.c: 400 MB */
static const char *variant = "static";
static const char *const variants[] = { "static", "dynamic", "local", NULL };
static bool transfer;

static const struct bench_opt opts[] = {
    { .name = "n", .type = BENCH_OPT_INT, .num = &n, .min = 0,
      .max = MAX_N, .metavar = "N", .help = "the number of 64-bit values" },
    { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &variant,
      .choices = variants, .metavar = "static|dynamic|local",
      .help = "scatter from rank 0, deal chunks on request, or no moving" },
    { .name = "transfer", .type = BENCH_OPT_FLAG, .flag = &transfer,
      .help = "also print a record of the bytes moved (variant ...+moved)" },
    { 0 }
};
static const char *const modes[] = { "mpi", NULL };
static const struct bench_spec spec = {
    .name = "sum",
    .summary = "sum N 64-bit values on MPI ranks",
    .modes = modes,
    .opts = opts,
};

enum variant { STATIC, DYNAMIC, LOCAL };

/* The data that travelled in one repetition, as this rank saw it. */
struct moved {
    uint64_t sent;              /* rank 0: values sent to other ranks */
    long long messages;         /* rank 0: messages that carried values */
    uint64_t got;               /* other ranks: values received */
    double arrived;             /* other ranks: bench_now() at the last */
};

/* What one rank holds for the run. */
struct part {
    int64_t *all;               /* rank 0, static and dynamic: the array */
    int64_t *buf[2];            /* receive buffers (one for static) */
    int64_t *mine;              /* local: this rank's block */
    uint64_t lo, hi;            /* local: the block is [lo, hi) */
};

/* ---- static: scatter in rounds ------------------------------------- */

/*
 * Round k deals chunks kR .. kR + R - 1: rank r gets [kRC + rC, ...) of at
 * most C values.  Rank 0 keeps its own chunk in place (MPI_IN_PLACE).
 * Returns this rank's sum; *mv counts what was sent (rank 0) or received.
 * No overflow: N <= MAX_N and R * C <= 1024 * MAX_N, far below 2^64.
 */
static int64_t scatter_sum(const struct part *p, uint64_t limit,
                           uint64_t chunk, int rank, int size,
                           int *counts, int *displs, struct moved *mv)
{
    int64_t sum = 0;

    for (uint64_t start = 0; start < limit;
         start += (uint64_t)size * chunk) {
        uint64_t left = limit - start;
        int64_t *base = p->all ? p->all + start : NULL;

        for (int r = 0; r < size; r++) {
            uint64_t off = (uint64_t)r * chunk;

            off = off < left ? off : left;
            counts[r] = (int)(left - off < chunk ? left - off : chunk);
            displs[r] = (int)off;
        }
        if (rank == 0) {
            MPI_Scatterv(base, counts, displs, MPI_INT64_T, MPI_IN_PLACE,
                         counts[0], MPI_INT64_T, 0, MPI_COMM_WORLD);
            sum += wl_sum_range(base, (size_t)counts[0]);
            for (int r = 1; r < size; r++) {
                mv->sent += (uint64_t)counts[r];
                mv->messages += counts[r] > 0;
            }
        } else {
            MPI_Scatterv(NULL, NULL, NULL, MPI_INT64_T, p->buf[0],
                         counts[rank], MPI_INT64_T, 0, MPI_COMM_WORLD);
            if (counts[rank] > 0) {
                mv->got += (uint64_t)counts[rank];
                mv->arrived = bench_now();
            }
            sum += wl_sum_range(p->buf[0], (size_t)counts[rank]);
        }
    }
    return sum;
}

/* ---- dynamic: a manager deals chunks of data on request --------------- */

struct deal {
    const int64_t *all;
    uint64_t n, chunk, next;
    long long tasks;            /* chunks dealt, the manager's included */
    struct moved *mv;           /* what went to the workers */
    int stopped;                /* workers told "no more" */
};

static bool deal_take(struct deal *d, uint64_t *a, uint64_t *b)
{
    if (d->next >= d->n)
        return false;
    *a = d->next;
    *b = d->n - d->next > d->chunk ? d->next + d->chunk : d->n;
    d->next = *b;
    d->tasks++;
    return true;
}

/* Receives one request and answers it with a chunk of values, or with an
 * empty message when none is left. */
static void answer_one(struct deal *d)
{
    MPI_Status st;
    uint64_t a = 0, b = 0;

    MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD,
             &st);
    if (deal_take(d, &a, &b)) {
        d->mv->sent += b - a;
        d->mv->messages++;
    } else
        d->stopped++;
    MPI_Send(b > a ? d->all + a : NULL, (int)(b - a), MPI_INT64_T,
             st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
}

static void answer_waiting(struct deal *d)
{
    int flag;

    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag,
                   MPI_STATUS_IGNORE);
        if (!flag)
            return;
        answer_one(d);
    }
}

static int64_t manage(const int64_t *all, uint64_t limit, uint64_t chunk,
                      int size, long long *tasks, struct moved *mv)
{
    struct deal d = { .all = all, .n = limit, .chunk = chunk, .mv = mv };
    uint64_t slice = chunk / MANAGER_SLICES > 0 ? chunk / MANAGER_SLICES : 1;
    uint64_t a, b;
    int64_t sum = 0;

    for (;;) {
        answer_waiting(&d);
        if (!deal_take(&d, &a, &b))
            break;
        for (uint64_t s = a; s < b; s += slice) {
            sum += wl_sum_range(all + s, b - s > slice ? slice : b - s);
            answer_waiting(&d);
        }
    }
    while (d.stopped < size - 1)
        answer_one(&d);
    *tasks = d.tasks;
    return sum;
}

/* A worker: ask, then receive the next chunk into one buffer while summing
 * the other.  Every request gets exactly one answer, and the last answer
 * is the empty one, so no receive is left pending. */
static int64_t work(const struct part *p, uint64_t chunk, struct moved *mv)
{
    MPI_Request req;
    MPI_Status st;
    int64_t sum = 0;
    int cur = 0, got;

    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
    MPI_Irecv(p->buf[cur], (int)chunk, MPI_INT64_T, 0, TAG_WORK,
              MPI_COMM_WORLD, &req);
    for (;;) {
        MPI_Wait(&req, &st);
        MPI_Get_count(&st, MPI_INT64_T, &got);
        if (got == 0)
            return sum;
        mv->got += (uint64_t)got;
        mv->arrived = bench_now();
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
        MPI_Irecv(p->buf[!cur], (int)chunk, MPI_INT64_T, 0, TAG_WORK,
                  MPI_COMM_WORLD, &req);
        sum += wl_sum_range(p->buf[cur], (size_t)got);
        cur = !cur;
    }
}

/* ---- set-up --------------------------------------------------------- */

/* malloc and write every page, so that the kernel never takes the page
 * faults of fresh memory.  NULL for 0 values is not an error. */
static int alloc_touched(int64_t **out, uint64_t values)
{
    *out = NULL;
    if (values == 0)
        return 0;
    if (values > SIZE_MAX / sizeof(int64_t) ||
        (*out = malloc(values * sizeof(int64_t))) == NULL)
        return ENOMEM;
    memset(*out, 0, values * sizeof(int64_t));
    return 0;
}

/* Allocates and fills what this rank needs.  Returns 0 or ENOMEM. */
static int setup(struct part *p, enum variant v, uint64_t limit,
                 uint64_t chunk, int rank, int size)
{
    int err = 0;

    memset(p, 0, sizeof(*p));
    if (v == LOCAL) {
        /* Blocks differ by at most one value: [rN/R, (r+1)N/R).  No
         * overflow: N <= 10^9 and R <= 1024 keep r * N below 2^41. */
        p->lo = limit * (uint64_t)rank / (uint64_t)size;
        p->hi = limit * (uint64_t)(rank + 1) / (uint64_t)size;
        if ((err = alloc_touched(&p->mine, p->hi - p->lo)) != 0)
            return err;
        for (uint64_t i = p->lo; i < p->hi; i++)
            p->mine[i - p->lo] = wl_value(i);
        return 0;
    }
    if (rank == 0) {
        if ((err = alloc_touched(&p->all, limit)) != 0)
            return err;
        wl_fill(p->all, 0, (size_t)limit);
        return 0;
    }
    if ((err = alloc_touched(&p->buf[0], chunk)) != 0)
        return err;
    if (v == DYNAMIC)
        err = alloc_touched(&p->buf[1], chunk);
    return err;
}

static void release(struct part *p)
{
    free(p->all);
    free(p->buf[0]);
    free(p->buf[1]);
    free(p->mine);
}

/*
 * --transfer: gathers on rank 0 what every rank saw of the data that
 * travelled in repetition rep (kernel started at t0 on each rank) and
 * prints it as a record of its own (see "WHAT WAS MOVED" above).
 * Collective, after the timed section.  Returns false when the run must
 * stop, as mpib_emit() does.
 */
static bool emit_moved(struct mpib *m, const struct moved *mv, double t0,
                       const char *variant, uint64_t chunk, long rep)
{
    struct bench_record r;
    uint64_t got = 0;
    double span = mv->got > 0 ? mv->arrived - t0 : 0.0, latest = 0.0;
    char vbuf[64];

    MPI_Reduce(&mv->got, &got, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&span, &latest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (m->rank == 0) {
        bench_record_init(&m->b, &r, rep);
        snprintf(vbuf, sizeof(vbuf), "%s+moved", variant);
        r.variant = vbuf;
        r.workers = m->size;
        r.n = (long long)(mv->sent * sizeof(int64_t));
        r.chunk = (long long)chunk;
        r.tasks = mv->messages;
        r.kernel_s = latest;
        r.result = (int64_t)(got * sizeof(int64_t));
        r.expected = r.n;
    }
    return mpib_emit(m, &r);
}

int main(int argc, char **argv)
{
    struct mpib m;
    struct part p = { 0 };
    long long params[3];
    uint64_t limit, chunk;
    int *counts = NULL, *displs = NULL;
    enum variant v;
    bool show_moved;
    char vbuf[48];
    double t0, setup_s;
    int rc, err;

    rc = mpib_start(&m, &spec, &argc, &argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    params[0] = n;
    params[1] = strcmp(variant, "dynamic") == 0 ? DYNAMIC
                : strcmp(variant, "local") == 0 ? LOCAL : STATIC;
    params[2] = transfer;
    mpib_share(params, 3);
    limit = (uint64_t)params[0];
    v = (enum variant)params[1];
    show_moved = params[2] != 0;
    if (m.chunk > 0)
        chunk = (uint64_t)m.chunk;
    else if (v == DYNAMIC)
        chunk = mpib_auto_chunk(limit, m.size, CHUNKS_PER_RANK);
    else
        chunk = mpib_auto_chunk(limit, m.size, 1);
    if (chunk > limit)
        chunk = limit > 0 ? limit : 1;
    if (v == LOCAL && limit > 0)    /* fixed blocks: report the largest */
        chunk = (limit + (uint64_t)m.size - 1) / (uint64_t)m.size;

    t0 = bench_now();
    err = setup(&p, v, limit, chunk, m.rank, m.size);
    if (err == 0 && v == STATIC) {
        counts = malloc((size_t)m.size * sizeof(*counts));
        displs = malloc((size_t)m.size * sizeof(*displs));
        if (counts == NULL || displs == NULL)
            err = ENOMEM;
    }
    if ((err = mpib_agree(err)) != 0) {
        if (m.rank == 0)
            bench_error(&m.b, "allocating the arrays", err);
        goto done;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    setup_s = m.init_s + (bench_now() - t0);

    for (long rep = 0; rep < m.repeat; rep++) {
        struct bench_record r;
        int64_t mine = 0, total = 0;
        long long tasks = v == DYNAMIC
                              ? 0
                              : (long long)((limit + chunk - 1) / chunk);
        struct moved mv = { 0 };
        double kernel_s;

        MPI_Barrier(MPI_COMM_WORLD);
        t0 = bench_now();
        if (v == LOCAL)
            mine = wl_sum_range(p.mine, (size_t)(p.hi - p.lo));
        else if (v == STATIC)
            mine = scatter_sum(&p, limit, chunk, m.rank, m.size, counts,
                               displs, &mv);
        else if (m.rank == 0)
            mine = manage(p.all, limit, chunk, m.size, &tasks, &mv);
        else
            mine = work(&p, chunk, &mv);
        MPI_Reduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, 0,
                   MPI_COMM_WORLD);
        kernel_s = bench_now() - t0;

        if (m.rank == 0) {
            if (v == LOCAL)
                tasks = m.size;
            bench_record_init(&m.b, &r, rep);
            r.kernel_s = kernel_s;
            r.variant = mpib_variant(&m, variant, vbuf, sizeof(vbuf));
            r.workers = m.size;
            r.n = (long long)limit;
            r.chunk = (long long)chunk;
            r.tasks = tasks;
            r.setup_s = rep == 0 ? setup_s : 0.0;
            r.result = total;
            r.expected = wl_sum_expected(limit);
            bench_text(&m.b, "sum: moved %.1f MB to other ranks in %.6f s "
                       "(%.2f GB/s)\n", (double)mv.sent * 8 / 1e6, kernel_s,
                       kernel_s > 0 ? (double)mv.sent * 8 / 1e9 / kernel_s
                                    : 0.0);
        }
        if (!mpib_emit(&m, &r))
            break;
        if (show_moved && !emit_moved(&m, &mv, t0, vbuf, chunk, rep))
            break;
    }

done:
    free(counts);
    free(displs);
    release(&p);
    return mpib_finish(&m);
}
