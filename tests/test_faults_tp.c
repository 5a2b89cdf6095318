/*
 * test_faults_tp.c - the thread pool's clean-up paths, by fault injection.
 *
 * Linked with faultinject.c (see faultinject.h), so that any call of
 * malloc, pthread_create and the like can be made to fail.  First, checks
 * of the injector itself; then, for each pool call that can fail, the
 * number of calls it makes is counted and each one is failed in turn.
 */
#include "faultinject.h"
#include "threadpool.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* ---- The injector ---------------------------------------------------- */

static void *no_op(void *arg)
{
    return arg;
}

START_TEST(injector_fails_exactly_the_armed_call)
{
    void *a, *b, *c;
    long before = fi_count(FI_MALLOC);
    int err;

    fi_arm(FI_MALLOC, 1, ENOMEM);
    a = malloc(16);
    errno = 0;
    b = malloc(16);
    err = errno;
    c = malloc(16);
    fi_disarm();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(err, ENOMEM);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_ge(fi_count(FI_MALLOC) - before, 3);
    ck_assert_int_eq(fi_fired(FI_MALLOC), 1);
    free(a);
    free(c);
}
END_TEST

START_TEST(injector_arm_from_fails_until_disarmed)
{
    pthread_t t;

    fi_arm_from(FI_PTHREAD_CREATE, 0, EAGAIN);
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), EAGAIN);
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), EAGAIN);
    fi_disarm();
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(fi_fired(FI_PTHREAD_CREATE), 2);
    fi_reset();
    ck_assert_int_eq(fi_count(FI_PTHREAD_CREATE), 0);
    ck_assert_int_eq(fi_fired(FI_PTHREAD_CREATE), 0);
    ck_assert_str_eq(fi_name(FI_PTHREAD_CREATE), "pthread_create");
}
END_TEST

START_TEST(injector_reaches_the_library)
{
    struct tp_pool *p = NULL;
    long before = fi_count(FI_PTHREAD_CREATE);
    int rc;

    fi_arm_from(FI_PTHREAD_CREATE, 0, EAGAIN);
    rc = tp_pool_create(NULL, &p);
    fi_disarm();
    ck_assert_int_eq(rc, EAGAIN);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(fi_count(FI_PTHREAD_CREATE) - before, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults_tp");
    TCase *inj = tcase_create("injector");
    SRunner *sr;
    int failed;

    tcase_add_test(inj, injector_fails_exactly_the_armed_call);
    tcase_add_test(inj, injector_arm_from_fails_until_disarmed);
    tcase_add_test(inj, injector_reaches_the_library);
    suite_add_tcase(s, inj);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
