/*
 * pp_shm.c - memory shared between a parent and its worker processes:
 * plain regions (pp_shm_*) and the shared dictionary (pp_dict_*).
 *
 * How sharing works.  fork() gives the child a copy of every page, so a
 * worker writing to an ordinary array changes only its own copy.  A page
 * mapped with MAP_SHARED is different: parent and children map the same
 * physical page, so a write by one is seen by all.  We map these regions
 * with mmap(MAP_SHARED | MAP_ANONYMOUS) before the pool forks its fork
 * server; every worker is a fork of that server, so every worker has the
 * region at the same address as the parent.  That is why a region must be
 * created before the pool (pp_map_shm checks it), and why a pointer into
 * a region means the same thing in every process.  An anonymous mapping
 * needs no file and no file descriptor, so nothing can leak.
 *
 * The dictionary is the tutorial's Manager().dict() without the manager
 * process: Python keeps the dict in a server process and every access is a
 * message to it; here the table itself is in shared memory and a process
 * takes a lock and reads it directly, so an access costs a lock, not a
 * round trip.  The table is open addressing with linear probing over
 * fixed-size entries (a string key of up to PP_DICT_KEY_MAX bytes and an
 * int64_t), twice as many slots as the capacity so probes stay short.
 *
 * Surviving a process that dies holding the lock.  The lock is a
 * pthread mutex with PTHREAD_PROCESS_SHARED (it lives in the shared page
 * and works across processes) and PTHREAD_MUTEX_ROBUST: when its owner
 * dies, the kernel notices (glibc registers a "robust list" of held
 * mutexes with it) and hands the lock to the next waiter with EOWNERDEAD
 * instead of leaving it locked forever.  The new owner must repair what
 * the dead one may have half done, then call pthread_mutex_consistent.
 * We make repair cheap by ordering every change so that a half-done one is
 * invisible: a new entry's key and value are written first and its state
 * becomes USED last, in one aligned store; a value changes in one aligned
 * 64-bit store; a removal is one store of the state.  The only thing that
 * can be stale is the count of entries, which the repair recounts.
 *
 * Not done: the dictionary does not grow (a shared mapping cannot move:
 * other processes have it at this address), and values are integers only.
 *
 * _DEFAULT_SOURCE: MAP_ANONYMOUS is not in POSIX.1-2008 (it is in
 * POSIX.1-2024), and glibc hides it under strict POSIX.
 */
#define _DEFAULT_SOURCE

#include "procpool.h"
#include "pp_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int pp_shared_alloc(size_t size, void **out)
{
    void *p;

    if (size == 0 || out == NULL)
        return EINVAL;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED)
        return errno == EINVAL ? EINVAL : ENOMEM;
    *out = p;
    return 0;
}

void pp_shared_free(void *p, size_t size)
{
    if (p != NULL)
        munmap(p, size);
}

/* ---- Regions ---------------------------------------------------------- */

struct pp_shm {
    void *base;
    size_t size;
    int64_t created_ns;
};

int pp_shm_create(size_t size, struct pp_shm **out)
{
    struct pp_shm *shm;
    int rc;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    if (size == 0)
        return EINVAL;
    if ((shm = calloc(1, sizeof(*shm))) == NULL)
        return ENOMEM;
    if ((rc = pp_shared_alloc(size, &shm->base)) != 0)
        goto fail;
    shm->size = size;
    shm->created_ns = pp_now_ns();
    *out = shm;
    return 0;
fail:
    free(shm);
    return rc;
}

void *pp_shm_base(const struct pp_shm *shm)
{
    return shm != NULL ? shm->base : NULL;
}

size_t pp_shm_size(const struct pp_shm *shm)
{
    return shm != NULL ? shm->size : 0;
}

int64_t pp_shm_created_ns(const struct pp_shm *shm)
{
    return shm->created_ns;
}

void pp_shm_destroy(struct pp_shm *shm)
{
    if (shm == NULL)
        return;
    pp_shared_free(shm->base, shm->size);
    free(shm);
}

/* ---- Dictionary ------------------------------------------------------- */

enum { ENTRY_EMPTY, ENTRY_USED, ENTRY_REMOVED };

struct entry {
    _Atomic int state;             /* ENTRY_*; written last on insert */
    char key[PP_DICT_KEY_MAX + 1]; /* NUL-terminated */
    _Atomic int64_t value;
};

/* The shared part.  Every field is protected by mu. */
struct table {
    pthread_mutex_t mu;  /* process-shared, robust, recursive */
    uint64_t recoveries; /* EOWNERDEAD events */
    size_t count;        /* USED entries; recounted on recovery */
    size_t capacity;     /* most USED entries allowed */
    size_t mask;         /* slots - 1; slots is a power of two */
    struct entry e[];
};

/* The parent's handle on it: where the mapping is and how big. */
struct pp_dict {
    struct table *t;
    size_t map_size;
};

/* Largest capacity, from the header: 2^21 slots of 80 bytes is 160 MiB. */
#define DICT_CAPACITY_MAX ((size_t)1 << 20)

int pp_dict_create(size_t capacity, struct pp_dict **out)
{
    pthread_mutexattr_t attr;
    struct pp_dict *d = NULL;
    size_t slots = 2;
    int rc, attr_ok = 0;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    if (capacity == 0 || capacity > DICT_CAPACITY_MAX)
        return EINVAL;
    while (slots < 2 * capacity)
        slots *= 2;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return ENOMEM;
    d->map_size = sizeof(struct table) + slots * sizeof(struct entry);
    if ((rc = pp_shared_alloc(d->map_size, (void **)&d->t)) != 0)
        goto fail;
    d->t->capacity = capacity;
    d->t->mask = slots - 1;
    if ((rc = pthread_mutexattr_init(&attr)) != 0)
        goto fail;
    attr_ok = 1;
    if ((rc = pthread_mutexattr_setpshared(&attr,
                                           PTHREAD_PROCESS_SHARED)) != 0 ||
        (rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) != 0 ||
        (rc = pthread_mutexattr_settype(&attr,
                                        PTHREAD_MUTEX_RECURSIVE)) != 0 ||
        (rc = pthread_mutex_init(&d->t->mu, &attr)) != 0)
        goto fail;
    pthread_mutexattr_destroy(&attr);
    *out = d;
    return 0;
fail:
    if (attr_ok)
        pthread_mutexattr_destroy(&attr);
    if (d->t != NULL)
        pp_shared_free(d->t, d->map_size);
    free(d);
    return rc;
}

void pp_dict_destroy(struct pp_dict *d)
{
    if (d == NULL)
        return;
    pthread_mutex_destroy(&d->t->mu);
    pp_shared_free(d->t, d->map_size);
    free(d);
}

/* After a holder died: recount, the one derived field.  Caller holds mu. */
static void repair(struct table *t)
{
    size_t i, n = 0;

    for (i = 0; i <= t->mask; i++)
        if (atomic_load_explicit(&t->e[i].state, memory_order_relaxed) ==
            ENTRY_USED)
            n++;
    t->count = n;
    t->recoveries++;
}

/*
 * Takes the lock, repairing the table if its last holder died.  Returns 0,
 * EOWNERDEAD (taken and repaired) or ENOTRECOVERABLE (someone gave up on
 * it before us; cannot happen with this file's code, which always repairs).
 */
static int table_lock(struct table *t)
{
    int rc = pthread_mutex_lock(&t->mu);

    if (rc == EOWNERDEAD) {
        repair(t);
        pthread_mutex_consistent(&t->mu);
    }
    return rc;
}

/* 0 and the key's length, or EINVAL. */
static int key_check(const char *key, size_t *len)
{
    size_t n;

    if (key == NULL)
        return EINVAL;
    n = strnlen(key, PP_DICT_KEY_MAX + 1);
    if (n == 0 || n > PP_DICT_KEY_MAX)
        return EINVAL;
    *len = n;
    return 0;
}

/* FNV-1a, 64 bits (Fowler, Noll, Vo): simple and good enough here. */
static uint64_t hash(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211u;
    }
    return h;
}

/*
 * Finds key.  Returns its entry, or NULL with *free_slot set to where it
 * would go (the first REMOVED or EMPTY slot seen; NULL if there is none).
 * Caller holds mu.
 */
static struct entry *find(struct table *t, const char *key, size_t len,
                          struct entry **free_slot)
{
    size_t i = (size_t)hash(key, len) & t->mask, probes;
    struct entry *spare = NULL;

    for (probes = 0; probes <= t->mask; probes++, i = (i + 1) & t->mask) {
        struct entry *e = &t->e[i];
        int st = atomic_load_explicit(&e->state, memory_order_relaxed);

        if (st == ENTRY_USED) {
            if (memcmp(e->key, key, len + 1) == 0)
                return e;
        } else {
            if (spare == NULL)
                spare = e;
            if (st == ENTRY_EMPTY)
                break;
        }
    }
    *free_slot = spare;
    return NULL;
}

/*
 * Finds key, or makes an entry for it holding `value` from the start.
 * Returns 0 and the entry, with *added true if it is new; or ENOSPC.
 * The new entry's value is written before the entry is published, never
 * after: a process killed between the two stores leaves no entry at all,
 * where one killed after publishing a placeholder would leave a value
 * nobody set.  Caller holds mu.
 */
static int find_or_add(struct table *t, const char *key, size_t len,
                       int64_t value, struct entry **out, bool *added)
{
    struct entry *e, *spare = NULL;

    *added = false;
    if ((e = find(t, key, len, &spare)) == NULL) {
        if (t->count >= t->capacity || spare == NULL)
            return ENOSPC;
        e = spare;
        memset(e->key, 0, sizeof(e->key));
        memcpy(e->key, key, len);
        atomic_store_explicit(&e->value, value, memory_order_relaxed);
        /* Last: the entry exists only from this store on (see the top). */
        atomic_store_explicit(&e->state, ENTRY_USED, memory_order_release);
        t->count++;
        *added = true;
    }
    *out = e;
    return 0;
}

int pp_dict_set(struct pp_dict *d, const char *key, int64_t value)
{
    struct entry *e;
    size_t len;
    bool added;
    int rc;

    if (d == NULL || (rc = key_check(key, &len)) != 0)
        return EINVAL;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return rc;
    rc = find_or_add(d->t, key, len, value, &e, &added);
    if (rc == 0 && !added)
        atomic_store_explicit(&e->value, value, memory_order_relaxed);
    pthread_mutex_unlock(&d->t->mu);
    return rc;
}

int pp_dict_get(struct pp_dict *d, const char *key, int64_t *value)
{
    struct entry *e, *spare;
    size_t len;
    int rc;

    if (d == NULL || value == NULL || key_check(key, &len) != 0)
        return EINVAL;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return rc;
    rc = ENOENT;
    if ((e = find(d->t, key, len, &spare)) != NULL) {
        *value = atomic_load_explicit(&e->value, memory_order_relaxed);
        rc = 0;
    }
    pthread_mutex_unlock(&d->t->mu);
    return rc;
}

int pp_dict_add(struct pp_dict *d, const char *key, int64_t delta,
                int64_t *result)
{
    struct entry *e;
    int64_t v;
    size_t len;
    bool added;
    int rc;

    if (d == NULL || key_check(key, &len) != 0)
        return EINVAL;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return rc;
    /* A missing key starts at 0, so it is born holding delta. */
    if ((rc = find_or_add(d->t, key, len, delta, &e, &added)) == 0) {
        v = delta;
        if (!added) {
            /* Wraps like the hardware does instead of overflowing (UB). */
            v = (int64_t)((uint64_t)atomic_load_explicit(
                              &e->value, memory_order_relaxed) +
                          (uint64_t)delta);
            atomic_store_explicit(&e->value, v, memory_order_relaxed);
        }
        if (result != NULL)
            *result = v;
    }
    pthread_mutex_unlock(&d->t->mu);
    return rc;
}

int pp_dict_remove(struct pp_dict *d, const char *key)
{
    struct entry *e, *spare;
    size_t len;
    int rc;

    if (d == NULL || key_check(key, &len) != 0)
        return EINVAL;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return rc;
    rc = ENOENT;
    if ((e = find(d->t, key, len, &spare)) != NULL) {
        atomic_store_explicit(&e->state, ENTRY_REMOVED, memory_order_release);
        d->t->count--;
        rc = 0;
    }
    pthread_mutex_unlock(&d->t->mu);
    return rc;
}

int pp_dict_lock(struct pp_dict *d)
{
    if (d == NULL)
        return EINVAL;
    return table_lock(d->t);
}

void pp_dict_unlock(struct pp_dict *d)
{
    if (d != NULL)
        pthread_mutex_unlock(&d->t->mu);
}

size_t pp_dict_count(struct pp_dict *d)
{
    size_t n;
    int rc;

    if (d == NULL)
        return 0;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return 0;
    n = d->t->count;
    pthread_mutex_unlock(&d->t->mu);
    return n;
}

int pp_dict_foreach(struct pp_dict *d,
                    void (*fn)(const char *key, int64_t value, void *arg),
                    void *arg)
{
    size_t i;
    int rc;

    if (d == NULL || fn == NULL)
        return EINVAL;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return rc;
    for (i = 0; i <= d->t->mask; i++) {
        struct entry *e = &d->t->e[i];

        if (atomic_load_explicit(&e->state, memory_order_acquire) ==
            ENTRY_USED)
            fn(e->key, atomic_load_explicit(&e->value, memory_order_relaxed),
               arg);
    }
    pthread_mutex_unlock(&d->t->mu);
    return 0;
}

uint64_t pp_dict_recoveries(struct pp_dict *d)
{
    uint64_t n;
    int rc;

    if (d == NULL)
        return 0;
    if ((rc = table_lock(d->t)) != 0 && rc != EOWNERDEAD)
        return 0;
    n = d->t->recoveries;
    pthread_mutex_unlock(&d->t->mu);
    return n;
}
