/*
 * shdict.h - lesson 7: a dictionary shared between processes.
 *
 * The tutorial shares a dict between pool workers with Manager().dict():
 *
 *     def worker(shared_dict, key, value):
 *         shared_dict[key] = value
 *     ...
 *     pool.starmap(worker, [(shared_dict, 'a', 1), (shared_dict, 'b', 2)])
 *     print(dict(shared_dict))  # {'a': 1, 'b': 2}
 *
 * A Manager is a server process; every access is a message to it and back.
 * Here we build the fast alternative: the table itself lives in memory that
 * every process maps, and a mutex that lives in the same memory, marked
 * process-shared and robust, keeps the processes from trampling on each
 * other.  Keys are short strings, values are longs.
 *
 * Create the dictionary BEFORE fork(): the children inherit the mapping.
 * Every call may be made from any process that inherited it and from any
 * thread.  Calls return 0 or a positive errno value; nothing here prints.
 */
#ifndef LESSON_SHDICT_H
#define LESSON_SHDICT_H

#include <stddef.h>

/* Longest key, in bytes, without the terminating NUL. */
#define SHDICT_KEY_MAX 31
/* Most entries a dictionary may be created with. */
#define SHDICT_CAPACITY_MAX 65536

struct shdict;

/*
 * Creates an empty dictionary for up to `capacity` keys in shared memory.
 * Returns 0 and the dictionary in *out; EINVAL if capacity is 0 or above
 * SHDICT_CAPACITY_MAX or out is NULL; or the error of mmap() or of the
 * mutex set-up.
 */
int shdict_create(size_t capacity, struct shdict **out);

/*
 * Unmaps the dictionary in the calling process.  Call it in the creator
 * once every child that uses it has been reaped (a child that leaves with
 * _exit() needs not call it).  NULL is accepted and does nothing.
 */
void shdict_destroy(struct shdict *d);

/*
 * d[key] = value, inserting the key if it is new.  Returns 0; EINVAL for a
 * NULL argument or a key that is empty or longer than SHDICT_KEY_MAX;
 * ENOSPC if the key is new and the dictionary is full.
 */
int shdict_set(struct shdict *d, const char *key, long value);

/* *value = d[key].  Returns 0; EINVAL as for shdict_set; ENOENT if the key
 * is not there (then *value is left alone). */
int shdict_get(struct shdict *d, const char *key, long *value);

/* Number of keys, in *len.  Returns 0 or EINVAL. */
int shdict_len(struct shdict *d, size_t *len);

/*
 * The atomic read-modify-write that `d[key] += 1` through a Manager is not
 * (there it is a get and a set, two messages, and another process can come
 * in between): d[key] = fn(d[key], arg), with a missing key read as 0,
 * under the dictionary's lock.  The new value goes to *result unless result
 * is NULL.  fn runs in the calling thread with the lock held: it must not
 * call into the dictionary.  If the process dies inside fn, the dictionary
 * is left as it was before the call and the next caller goes on normally.
 * Returns 0; EINVAL as for shdict_set or for a NULL fn; ENOSPC if the key is
 * new and the dictionary is full (fn is then not called).
 */
typedef long shdict_update_fn(long old, void *arg);
int shdict_update(struct shdict *d, const char *key, shdict_update_fn *fn,
                  void *arg, long *result);

/* shdict_update() with fn = old + delta. */
int shdict_add(struct shdict *d, const char *key, long delta, long *result);

#endif
