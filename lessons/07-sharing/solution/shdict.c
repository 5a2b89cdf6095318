/*
 * shdict.c - lesson 7: a dictionary in shared memory, guarded by a
 * process-shared, robust mutex.
 *
 * Why not malloc()?  After fork() the child has a COPY of the parent's
 * heap: a table allocated with malloc() exists twice, and what the child
 * writes the parent never sees.  That is exactly what happens in Python
 * when a plain dict is handed to pool workers: each worker gets a pickled
 * copy.  Memory mapped with MAP_SHARED is different: fork() gives the
 * child the same physical pages, so a store by one process is seen by all.
 *
 * Why a special mutex?  A default pthread mutex may keep its state where
 * only one process can see it.  PTHREAD_PROCESS_SHARED says "this mutex
 * lives in shared memory and is used by several processes", and it must
 * itself be placed in the shared mapping (here: the first field).
 *
 * Why robust?  If a process dies while it holds an ordinary mutex, the
 * mutex stays locked for ever and every other process hangs: the
 * tutorial's "lock not released" deadlock, across processes, where no
 * try/finally can help because the process is gone.  With
 * PTHREAD_MUTEX_ROBUST the next pthread_mutex_lock() returns EOWNERDEAD
 * instead: it has the lock, and it must decide whether the data is
 * consistent, then call pthread_mutex_consistent() (or the mutex becomes
 * unusable for good once unlocked).
 *
 * When is the data consistent after a death?  Every change is made so that
 * a half-done change is invisible: a new entry's key and value are written
 * first and only then counted (d->len++), and an update calls fn before it
 * changes anything, then stores the new value in one step.  So a process
 * that dies anywhere inside the lock leaves the table either before or
 * after its change, never half-way.
 *
 * What it deliberately does not do: grow (the mapping has a fixed size,
 * chosen at creation, because other processes have already mapped it),
 * delete keys, or find keys fast (a linear scan: fine for the few dozen
 * keys a lesson uses; a real one would hash).
 */

/* MAP_ANONYMOUS: in POSIX.1-2024 but not in 2008, so glibc shows it only
 * with _DEFAULT_SOURCE when _POSIX_C_SOURCE=200809L is set. */
#define _DEFAULT_SOURCE

#include "shdict.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

struct entry {
    char key[SHDICT_KEY_MAX + 1];
    long value;
};

struct shdict {
    pthread_mutex_t lock;   /* process-shared and robust: guards the rest */
    size_t map_size;        /* bytes mapped; constant */
    size_t capacity;        /* entries; constant */
    size_t len;             /* entries in use (lock) */
    struct entry e[];       /* e[0 .. len - 1] (lock) */
};

static int key_ok(const char *key)
{
    return key != NULL && key[0] != '\0' &&
           strlen(key) <= SHDICT_KEY_MAX;
}

int shdict_create(size_t capacity, struct shdict **out)
{
    pthread_mutexattr_t attr;
    struct shdict *d;
    size_t size;
    int rc;

    if (capacity == 0 || capacity > SHDICT_CAPACITY_MAX || out == NULL)
        return EINVAL;
    size = sizeof *d + capacity * sizeof d->e[0];

    /* Shared, not private: the children see the same pages.  Anonymous
     * mappings start zeroed, so len is already 0. */
    d = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
             -1, 0);
    if (d == MAP_FAILED)
        return errno;
    d->map_size = size;
    d->capacity = capacity;

    if ((rc = pthread_mutexattr_init(&attr)) != 0)
        goto fail_unmap;
    if ((rc = pthread_mutexattr_setpshared(&attr,
                                           PTHREAD_PROCESS_SHARED)) != 0 ||
        (rc = pthread_mutexattr_setrobust(&attr,
                                          PTHREAD_MUTEX_ROBUST)) != 0 ||
        (rc = pthread_mutex_init(&d->lock, &attr)) != 0)
        goto fail_attr;
    pthread_mutexattr_destroy(&attr);
    *out = d;
    return 0;

fail_attr:
    pthread_mutexattr_destroy(&attr);
fail_unmap:
    munmap(d, size);
    return rc;
}

void shdict_destroy(struct shdict *d)
{
    if (d == NULL)
        return;
    pthread_mutex_destroy(&d->lock);
    munmap(d, d->map_size);
}

/*
 * Takes the lock.  If its last owner died holding it, we get EOWNERDEAD
 * and the lock: the data is consistent (see the top of the file), so we
 * say so and go on.
 */
static int lock_dict(struct shdict *d)
{
    int rc = pthread_mutex_lock(&d->lock);

    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&d->lock);
    return rc;
}

/* The entry for key, or NULL.  Caller holds d->lock. */
static struct entry *find(struct shdict *d, const char *key)
{
    for (size_t i = 0; i < d->len; i++)
        if (strcmp(d->e[i].key, key) == 0)
            return &d->e[i];
    return NULL;
}

int shdict_update(struct shdict *d, const char *key, shdict_update_fn *fn,
                  void *arg, long *result)
{
    struct entry *e;
    long value;
    int rc;

    if (d == NULL || !key_ok(key) || fn == NULL)
        return EINVAL;
    if ((rc = lock_dict(d)) != 0)
        return rc;
    e = find(d, key);
    if (e == NULL && d->len == d->capacity) {
        rc = ENOSPC;
        goto out;
    }
    /* Compute first, store after: a death inside fn changes nothing. */
    value = fn(e != NULL ? e->value : 0, arg);
    if (e == NULL) {
        /* Fill the new entry in before len counts it. */
        e = &d->e[d->len];
        strcpy(e->key, key);
        e->value = value;
        d->len++;
    } else {
        e->value = value;
    }
    if (result != NULL)
        *result = value;
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static long add_delta(long old, void *arg)
{
    return old + *(const long *)arg;
}

int shdict_add(struct shdict *d, const char *key, long delta, long *result)
{
    return shdict_update(d, key, add_delta, &delta, result);
}

static long replace(long old, void *arg)
{
    (void)old;
    return *(const long *)arg;
}

int shdict_set(struct shdict *d, const char *key, long value)
{
    return shdict_update(d, key, replace, &value, NULL);
}

int shdict_get(struct shdict *d, const char *key, long *value)
{
    struct entry *e;
    int rc;

    if (d == NULL || !key_ok(key) || value == NULL)
        return EINVAL;
    if ((rc = lock_dict(d)) != 0)
        return rc;
    e = find(d, key);
    if (e == NULL)
        rc = ENOENT;
    else
        *value = e->value;
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int shdict_len(struct shdict *d, size_t *len)
{
    int rc;

    if (d == NULL || len == NULL)
        return EINVAL;
    if ((rc = lock_dict(d)) != 0)
        return rc;
    *len = d->len;
    pthread_mutex_unlock(&d->lock);
    return 0;
}
