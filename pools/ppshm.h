/*
 * ppshm.h - memory that the parent and the process pool's workers share:
 * shared regions (Python's multiprocessing.shared_memory) and the shared
 * dictionary (Python's Manager().dict(), without the manager process).
 *
 *     Python                                  C
 *     SharedMemory(create=True, size=n)       pp_shm_create(n, &shm)
 *     shm.buf                                 pp_shm_base(shm)
 *     shm.close(); shm.unlink()               pp_shm_destroy(shm)
 *     d = Manager().dict()                    pp_dict_create(cap, &d)
 *     d[k] = v;  d[k];  del d[k]              pp_dict_set, _get, _remove
 *     with lock: d[k] += 1                    pp_dict_add(d, k, 1, &new)
 *
 * procpool.h includes this header, so a program that includes procpool.h
 * has it; pp_map_shm (procpool.h) runs a task over a shared region.  The
 * code is pools/pp_shm.c.  Errors: 0 or a positive errno value, results
 * through out-parameters placed last.
 */
#ifndef POOLS_PPSHM_H
#define POOLS_PPSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pp_shm;
struct pp_dict;

/* ---- Shared memory --------------------------------------------------- */

/*
 * Creates a shared region of size bytes, zero-filled, readable and
 * writable by the parent and by the workers of every pool created after
 * it, at the same address in all of them (so pointers into it are valid
 * everywhere).  A region created after a pool is invisible to that pool's
 * workers.  Returns 0 and the region in *out, EINVAL (size 0, out NULL) or
 * ENOMEM.  No file descriptor is used.
 */
int pp_shm_create(size_t size, struct pp_shm **out);

/* The region's first byte and its size. */
void *pp_shm_base(const struct pp_shm *shm);
size_t pp_shm_size(const struct pp_shm *shm);

/*
 * Unmaps the region in the parent.  Destroy the pools that use it first.
 * NULL does nothing.
 */
void pp_shm_destroy(struct pp_shm *shm);

/* ---- Shared dictionary ----------------------------------------------- */

/*
 * Python's Manager().dict(), without the manager process: a fixed-capacity
 * table of string keys (at most PP_DICT_KEY_MAX bytes, no NUL inside) to
 * int64_t values in shared memory, guarded by a process-shared robust
 * mutex.  Every function may be called from the parent (any thread) and
 * from tasks of every pool created after the table.  If a process dies while
 * holding the lock, the next one to take it gets EOWNERDEAD from the
 * kernel, marks the mutex consistent and goes on: the table itself is kept
 * consistent by writing each entry so that a half-done change is never
 * visible, and pp_dict_recoveries counts these events.
 */
#define PP_DICT_KEY_MAX 63

/*
 * Creates a table for up to capacity keys (1 to 1 << 20).  Create it before
 * the pools that use it.  Returns 0, EINVAL or ENOMEM.
 */
int pp_dict_create(size_t capacity, struct pp_dict **out);

/* Unmaps it in the parent (destroy the pools first).  NULL does nothing. */
void pp_dict_destroy(struct pp_dict *d);

/*
 * Sets key to value.  Returns 0, EINVAL (d or key NULL, key empty or longer
 * than PP_DICT_KEY_MAX) or ENOSPC (full, and key is not in it).
 */
int pp_dict_set(struct pp_dict *d, const char *key, int64_t value);

/* Stores key's value in *value.  Returns 0, ENOENT or EINVAL. */
int pp_dict_get(struct pp_dict *d, const char *key, int64_t *value);

/*
 * Adds delta to key's value (a missing key starts at 0), atomically with
 * respect to every process, and stores the new value in *result if it is
 * not NULL: the shared counter of the lessons.  Returns 0, EINVAL or
 * ENOSPC.
 */
int pp_dict_add(struct pp_dict *d, const char *key, int64_t delta,
                int64_t *result);

/* Removes key.  Returns 0, ENOENT or EINVAL. */
int pp_dict_remove(struct pp_dict *d, const char *key);

/*
 * Takes the table's lock, for several operations that must happen as one
 * (the lock is recursive, so the functions above may be called while
 * holding it).  Returns 0, or EOWNERDEAD when the previous holder died
 * holding it: the lock is now yours and consistent, the table is sound,
 * but whatever invariant you kept across several operations may be half
 * done.  Release it with pp_dict_unlock.
 */
int pp_dict_lock(struct pp_dict *d);
void pp_dict_unlock(struct pp_dict *d);

/* Keys in the table now. */
size_t pp_dict_count(struct pp_dict *d);

/*
 * Visits every entry, in no particular order, under the lock: fn(key,
 * value, arg) for each; fn must not change the table.  Returns 0 or EINVAL.
 */
int pp_dict_foreach(struct pp_dict *d,
                    void (*fn)(const char *key, int64_t value, void *arg),
                    void *arg);

/* How many times a dead lock holder was recovered from (EOWNERDEAD). */
uint64_t pp_dict_recoveries(struct pp_dict *d);

#ifdef __cplusplus
}
#endif

#endif /* POOLS_PPSHM_H */
