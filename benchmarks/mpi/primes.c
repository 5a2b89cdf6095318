/*
 * primes (Open MPI) - count the primes below N by trial division, split
 * across MPI ranks instead of threads or forked processes.
 *
 *     mpirun -np 2 build/release/bin/mpi/primes --n 1e7 --variant dynamic
 *     scripts/mpi-run.sh -n 2 primes --n 1e7      (adds the flags it needs)
 *
 * It is the same workload as benchmarks/primes.c, with the same kernel
 * (wl_count_primes from benchmarks/lib/workloads.c), the same check against
 * known values of pi(N) and the same records (mode "mpi", workers = ranks),
 * so its numbers can be charted beside the threads and the processes.
 *
 * WHAT IS DIFFERENT FROM A PROCESS POOL
 *
 * A process pool forks its workers from one parent on one machine; they can
 * share memory with it.  MPI ranks are started by mpirun, possibly on
 * several machines, and share nothing: everything a rank learns from
 * another travels in a message.  Here little has to travel: a rank needs
 * only the bounds of its numbers, and sends back one count.  That is why
 * this workload distributes well, and why sum.c, which has to ship its
 * data, does not.
 *
 * TWO WAYS TO SPLIT THE WORK (--variant)
 *
 * The range [0, N) is cut into chunks of C numbers (--chunk; automatic:
 * 64 per rank, as benchmarks/primes.c makes 64 per worker).  Chunks are
 * not equally expensive: trial division tries up to sqrt(p) divisors for
 * a prime p, so chunks near N cost more.
 *
 *   static   rank r takes chunks r, r + R, r + 2R, ... (round robin).
 *            No messages at all until the end: every rank can work out
 *            its own share.  Dealing round robin rather than in R big
 *            blocks spreads the expensive chunks over all ranks; with
 *            --chunk ceil(N/R) you get the big blocks and can see the
 *            imbalance for yourself.
 *
 *   dynamic  a manager (rank 0) hands out chunks on request, so a rank
 *            that is faster, less loaded, or got cheaper chunks simply
 *            asks more often: the message-passing version of a pool's
 *            task queue.  Workers send an empty TAG_ASK message; the
 *            manager answers with a TAG_WORK message holding [a, b), or
 *            an empty range meaning "no more".  Two details make it
 *            efficient:
 *              - a worker asks for its next chunk *before* counting the
 *                current one, so the answer is usually waiting when it
 *                finishes (the round trip is hidden behind the work);
 *              - the manager works too: it counts its own chunks in
 *                slices and answers any waiting request between slices
 *                (MPI_Iprobe), instead of sitting in MPI_Recv.  Open
 *                MPI's MPI_Recv polls at full speed, so an idle manager
 *                would burn a CPU that a worker could use.
 *
 * In both variants every rank ends holding a partial count, and
 * MPI_Reduce adds them up on rank 0: one collective call, which MPI runs
 * as a tree, so it costs log2(R) message latencies, not R.
 *
 * WHAT IS TIMED
 *
 * kernel_s runs on rank 0 from the end of an MPI_Barrier (all ranks ready)
 * to the end of the MPI_Reduce (the total is on rank 0): the work, the
 * messages and the reduction.  It does not include mpirun starting the
 * ranks or MPI_Init connecting them; setup_s reports rank 0's MPI_Init
 * (in the first record, as the other programs report creating their pool),
 * and scripts/mpi-run.sh --startup measures the whole start and stop.  A
 * variant ending in "+oversub" means more ranks than CPUs on a machine.
 */
#include "mpibench.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "workloads.h"

/* Chunks per rank when --chunk is 0: as benchmarks/primes.c does for its
 * workers, so that both deal the same chunks for the same worker count. */
#define CHUNKS_PER_RANK 64

/* Message tags: a worker's request for work, the manager's answer. */
enum { TAG_ASK = 1, TAG_WORK = 2 };

/* Slices per chunk for the manager's own work: it looks for requests
 * between slices, so a worker waits at most about 1/16 of a chunk for an
 * answer (and, thanks to asking ahead, usually not at all). */
#define MANAGER_SLICES 16

static long long n = 2000000;   /* as benchmarks/primes.c: the tutorial's */
static const char *variant = "static";
static const char *const variants[] = { "static", "dynamic", NULL };

static const struct bench_opt opts[] = {
    { .name = "n", .type = BENCH_OPT_INT, .num = &n, .min = 0,
      .max = (long long)WL_PRIMES_MAX, .metavar = "N",
      .help = "count the primes below N" },
    { .name = "variant", .type = BENCH_OPT_CHOICE, .choice = &variant,
      .choices = variants, .metavar = "static|dynamic",
      .help = "round-robin chunks, or a manager handing them out" },
    { 0 }
};
static const char *const modes[] = { "mpi", NULL };
static const struct bench_spec spec = {
    .name = "primes",
    .summary = "count primes below N by trial division on MPI ranks",
    .modes = modes,
    .opts = opts,
};

/* The manager's queue of chunks: [next, n) is still to be dealt. */
struct deal {
    uint64_t n, chunk, next;
    long long tasks;            /* chunks dealt so far */
    int stopped;                /* workers told "no more" */
};

/* Takes the next chunk into [*a, *b); false when none is left. */
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

/* Receives one request from any worker and answers it with a chunk, or with
 * an empty range when none is left. */
static void answer_one(struct deal *d)
{
    MPI_Status st;
    uint64_t range[2] = { 0, 0 };

    MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD,
             &st);
    if (!deal_take(d, &range[0], &range[1]))
        d->stopped++;
    MPI_Send(range, 2, MPI_UINT64_T, st.MPI_SOURCE, TAG_WORK,
             MPI_COMM_WORLD);
}

/* Answers every request that has already arrived, without waiting. */
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

/* Rank 0 in the dynamic variant: deals chunks to the other size - 1 ranks
 * and counts chunks of its own in between.  Returns its own count; the
 * number of chunks dealt (its own included) goes to *tasks. */
static uint64_t manage(uint64_t limit, uint64_t chunk, int size,
                       long long *tasks)
{
    struct deal d = { .n = limit, .chunk = chunk };
    uint64_t count = 0, a, b;
    uint64_t slice = chunk / MANAGER_SLICES > 0 ? chunk / MANAGER_SLICES : 1;

    for (;;) {
        answer_waiting(&d);
        if (!deal_take(&d, &a, &b))
            break;
        for (uint64_t s = a; s < b; s += slice) {
            count += wl_count_primes(s, b - s > slice ? s + slice : b);
            answer_waiting(&d);
        }
    }
    /* Every worker has exactly one request outstanding or on its way:
     * answer each with "no more". */
    while (d.stopped < size - 1)
        answer_one(&d);
    *tasks = d.tasks;
    return count;
}

/* A worker in the dynamic variant: asks ahead, counts, until told to stop.
 * Every request gets exactly one answer, so no message is left over. */
static uint64_t work(void)
{
    uint64_t count = 0, range[2];

    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
    for (;;) {
        MPI_Recv(range, 2, MPI_UINT64_T, 0, TAG_WORK, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        if (range[0] == range[1])
            return count;
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
        count += wl_count_primes(range[0], range[1]);
    }
}

/* The static variant: this rank's round-robin share of the chunks.  No
 * overflow: limit <= WL_PRIMES_MAX and chunk <= limit (see main). */
static uint64_t share(uint64_t limit, uint64_t chunk, int rank, int size)
{
    uint64_t count = 0;

    for (uint64_t a = (uint64_t)rank * chunk; a < limit;
         a += (uint64_t)size * chunk)
        count += wl_count_primes(a, limit - a > chunk ? a + chunk : limit);
    return count;
}

int main(int argc, char **argv)
{
    struct mpib m;
    long long params[2];
    uint64_t limit, chunk, expected = 0;
    bool dynamic;
    char vbuf[48];
    int rc, err = 0;

    rc = mpib_start(&m, &spec, &argc, &argv);
    if (rc != BENCH_CONTINUE)
        return rc;
    params[0] = n;
    params[1] = strcmp(variant, "dynamic") == 0;
    mpib_share(params, 2);
    limit = (uint64_t)params[0];
    dynamic = params[1] != 0;
    chunk = m.chunk > 0 ? (uint64_t)m.chunk
                        : mpib_auto_chunk(limit, m.size, CHUNKS_PER_RANK);
    if (chunk > limit)
        chunk = limit > 0 ? limit : 1;

    /* The expected count, before anything is timed: from the table of
     * pi(N), or from a sieve (a different algorithm) for other N. */
    if (m.rank == 0)
        err = wl_primes_expected(limit, &expected);
    MPI_Bcast(&err, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (err != 0) {
        if (m.rank == 0)
            bench_error(&m.b, "computing the expected count", err);
        return mpib_finish(&m);
    }

    for (long rep = 0; rep < m.repeat; rep++) {
        struct bench_record r;
        uint64_t mine, total = 0;
        long long tasks = (long long)((limit + chunk - 1) / chunk);
        double t0;

        MPI_Barrier(MPI_COMM_WORLD);
        t0 = bench_now();
        if (!dynamic)
            mine = share(limit, chunk, m.rank, m.size);
        else if (m.rank == 0)
            mine = manage(limit, chunk, m.size, &tasks);
        else
            mine = work();
        MPI_Reduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, 0,
                   MPI_COMM_WORLD);

        if (m.rank == 0) {
            bench_record_init(&m.b, &r, rep);
            r.kernel_s = bench_now() - t0;
            r.variant = mpib_variant(&m, variant, vbuf, sizeof(vbuf));
            r.workers = m.size;
            r.n = (long long)limit;
            r.chunk = (long long)chunk;
            r.tasks = tasks;
            r.setup_s = rep == 0 ? m.init_s : 0.0;
            r.result = (int64_t)total;
            r.expected = (int64_t)expected;
        }
        if (!mpib_emit(&m, &r))
            break;
    }
    return mpib_finish(&m);
}
