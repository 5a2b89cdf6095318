/*
 * mpibench.h - what the Open MPI benchmark programs (primes.c, sum.c in
 * this folder) share: starting MPI, reading the command line on one rank,
 * counting the machines, spotting oversubscription, and printing records
 * from rank 0 only.
 *
 * These are functions in a header, not a library, because the Makefile
 * turns every .c file in benchmarks/mpi/ into a program (built with
 * mpicc): a helper .c file here would become a program too.  They are
 * static inline so that a program which does not use one of them gets no
 * "unused function" warning.
 *
 * The rules it keeps, which every MPI program has to think about:
 *
 *  - Only rank 0 reads the command line.  Every rank gets the same argv,
 *    so every rank could parse it, but then a typo would be reported once
 *    per rank, --help printed R times and --out opened by R processes
 *    (possibly on R machines).  Rank 0 parses, then tells the others the
 *    outcome and the few numbers they need with MPI_Bcast.
 *
 *  - Only rank 0 prints records.  The other ranks' stdout is forwarded by
 *    mpirun and would interleave with rank 0's lines.
 *
 *  - All ranks leave together.  A rank that returns early while the others
 *    wait in a collective call hangs the job, so every decision to stop (a
 *    bad command line, a failed check) is broadcast and every rank calls
 *    MPI_Finalize.
 *
 *  - MPI's default error handler, MPI_ERRORS_ARE_FATAL, aborts the whole
 *    job with a message on any failed MPI call, so the MPI calls' return
 *    values are not checked here: there is nothing better to do.
 */
#ifndef BENCH_MPIBENCH_H
#define BENCH_MPIBENCH_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct mpib {
    int rank;                   /* this process's rank in MPI_COMM_WORLD */
    int size;                   /* the number of ranks: the workers */
    double init_s;              /* MPI_Init on rank 0, in seconds */
    bool oversub;               /* some machine runs more ranks than CPUs */
    int hosts;                  /* the machines the ranks run on */
    long long chunk;            /* --chunk, 0 = automatic (every rank) */
    long repeat;                /* --repeat (every rank) */
    struct bench b;             /* the parsed command line: rank 0 only */
};

/* Did the user give --workers (as "--workers W" or "--workers=W")? */
static inline bool workers_given(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--workers") == 0 ||
            strncmp(argv[i], "--workers=", 10) == 0)
            return true;
    return false;
}

/*
 * Where are the ranks?  MPI_COMM_TYPE_SHARED splits the ranks by machine
 * (by shared memory: Open MPI takes the machines from mpirun's map, so the
 * namespace hosts of scripts/mpi-hosts.sh count as machines too).  On each
 * machine, more ranks than online CPUs means that ranks take turns on a
 * CPU, and a time then measures sharing, not speed-up; the first rank of
 * each machine counts it once, which gives the number of machines.  The
 * answers are the same on every rank.
 */
static inline void detect_placement(struct mpib *m)
{
    MPI_Comm node;
    int local, local_rank, mine[2], all[2];

    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0,
                        MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
    mine[0] = local > bench_cpus();
    mine[1] = local_rank == 0;
    MPI_Allreduce(mine, all, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    m->oversub = all[0] > 0;
    m->hosts = all[1];
}

/*
 * Starts MPI and reads the command line (rank 0), then shares the outcome.
 * Returns BENCH_CONTINUE when the program should run; otherwise MPI has
 * already been finalized and the return value is the exit status every
 * rank should return at once (0 after --help, 2 after a bad command line).
 *
 * The program-specific option values are parsed on rank 0 only: broadcast
 * them with mpib_share() after this returns.
 */
static inline int mpib_start(struct mpib *m, const struct bench_spec *spec,
                             int *argc, char ***argv)
{
    double t0 = bench_now();
    long long shared[2];
    int rc = BENCH_CONTINUE;

    memset(m, 0, sizeof(*m));
    MPI_Init(argc, argv);
    m->init_s = bench_now() - t0;
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);

    if (m->rank == 0) {
        rc = bench_parse(&m->b, spec, *argc, *argv);
        /* The number of workers is mpirun's -np, fixed before this program
         * started; a different --workers cannot be obeyed, so it is a bad
         * command line rather than a silent surprise. */
        if (rc == BENCH_CONTINUE && workers_given(*argc, *argv) &&
            m->b.workers != m->size) {
            rc = bench_usage_error(&m->b, "--workers %ld, but mpirun "
                                   "started %d ranks: the ranks are the "
                                   "workers; choose them with mpirun -np "
                                   "(or scripts/mpi-run.sh -n)",
                                   m->b.workers, m->size);
        }
        shared[0] = m->b.chunk;
        shared[1] = m->b.repeat;
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc != BENCH_CONTINUE) {
        MPI_Finalize();
        return rc;
    }
    MPI_Bcast(shared, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    m->chunk = shared[0];
    m->repeat = (long)shared[1];
    detect_placement(m);
    return BENCH_CONTINUE;
}

/* Sends count long longs from rank 0 to every rank: the program's own
 * option values, after mpib_start(). */
static inline void mpib_share(long long *v, int count)
{
    MPI_Bcast(v, count, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
}

/* Collective: every rank passes its own error (0 or an errno value) and
 * gets the largest one any rank had, so that all ranks take the same
 * branch after a step that can fail on one of them (a malloc, say). */
static inline int mpib_agree(int err)
{
    int worst;

    MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

/* The record's variant: "static"; "static+2hosts" when the ranks ran on
 * 2 machines (one machine adds nothing); "+oversub" at the end when some
 * machine ran more ranks than it has CPUs, so that the suite can mark such
 * points on its charts: "static+3hosts+oversub".  buf must hold at least
 * 48 bytes. */
static inline const char *mpib_variant(const struct mpib *m,
                                       const char *variant, char *buf,
                                       size_t size)
{
    char hosts[24] = "";

    if (m->hosts > 1)
        snprintf(hosts, sizeof(hosts), "+%dhosts", m->hosts);
    snprintf(buf, size, "%s%s%s", variant, hosts,
             m->oversub ? "+oversub" : "");
    return buf;
}

/*
 * Rank 0 prints the record; then every rank learns whether to go on.
 * Returns true to go on, false when the check failed (or --out could not
 * be written) and the run must stop.  Collective: every rank calls it once
 * per repetition, with r ignored except on rank 0.
 */
static inline bool mpib_emit(struct mpib *m, const struct bench_record *r)
{
    int stop = 0;

    if (m->rank == 0)
        stop = bench_emit(&m->b, r) != 0;
    MPI_Bcast(&stop, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return !stop;
}

/* Finishes the run: rank 0's exit status (0, or 1 after a failed check) for
 * rank 0, 0 for the others, after MPI_Finalize.  mpirun exits with the
 * first non-zero status of any rank. */
static inline int mpib_finish(struct mpib *m)
{
    int status = m->rank == 0 ? bench_finish(&m->b) : BENCH_EXIT_OK;

    MPI_Finalize();
    return status;
}

/* The automatic chunk: per_rank chunks for each rank, at least 1 item.
 * Many more chunks than ranks let a round-robin (static) deal balance work
 * whose cost grows along the range, as trial division's does, and let a
 * dynamic deal even out the ranks; a few dozen per rank keep the messages
 * of a dynamic deal negligible next to the work. */
static inline uint64_t mpib_auto_chunk(uint64_t items, int size,
                                       unsigned per_rank)
{
    uint64_t parts = (uint64_t)per_rank * (uint64_t)size;
    uint64_t chunk = (items + parts - 1) / parts;

    return chunk > 0 ? chunk : 1;
}

#endif
