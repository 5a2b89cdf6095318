/*
 * test_headers_cxx.cc - the pools' headers, used from C++ (Check).
 *
 * A C++ program can include threadpool.h and procpool.h together and call
 * the libraries (built by a C compiler): the headers wrap their
 * declarations in extern "C" and use nothing that only C has.  Were the
 * guards missing, this file would still compile but fail to link (C++
 * would look for mangled names).  The calls below are a smoke test, not a
 * second test suite: the C tests pin down the behaviour.
 */
#include "threadpool.h"
#include "procpool.h"

#include <check.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

/* Task and item functions, given to the C library as plain pointers. */
int answer_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

int square_item(void *ctx, size_t i, const void *in, void *out)
{
    static_cast<std::atomic<long> *>(ctx)->fetch_add(1);
    long x = *static_cast<const long *>(in);

    *static_cast<long *>(out) = x * x;
    return i == 7 ? EDOM : 0;
}

} /* namespace */

START_TEST(thread_pool_runs_a_task_and_a_map_from_cxx)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_tuning tuning = TP_TUNING_INIT;
    struct tp_map_options defaults = TP_MAP_OPTIONS_INIT;
    struct tp_pool *pool = nullptr;
    struct tp_future *f = nullptr;
    std::atomic<long> calls{0};
    std::vector<long> in(10), out(10);
    size_t bad = 0;
    int value = 42;
    void *result = nullptr;

    opt.workers = 2;
    tuning.no_recycle = true;
    opt.tuning = &tuning;
    ck_assert_int_eq(tp_pool_create(&opt, &pool), 0);
    ck_assert_int_eq(tp_map(pool, square_item, &calls, 0, &defaults, &bad),
                     0);
    ck_assert_int_eq(tp_submit(pool, answer_task, &value, &f), 0);
    ck_assert_int_eq(tp_future_get(f, &result), 0);
    ck_assert_ptr_eq(result, &value);
    ck_assert_int_eq(tp_future_wait(f, TP_WAIT_FOREVER), 0);
    tp_future_free(f);
    for (size_t i = 0; i < in.size(); i++)
        in[i] = static_cast<long>(i);
    /* C++ has no compound literals: a named options struct, filled as
     * C would, in declaration order (C++20's rule). */
    struct tp_map_options mo = { .in = in.data(), .in_size = sizeof(long),
                                 .out = out.data(), .out_size = sizeof(long),
                                 .chunk_size = 1 };
    ck_assert_int_eq(tp_map(pool, square_item, &calls, in.size(), &mo, &bad),
                     EDOM);
    ck_assert_uint_eq(bad, 7);
    ck_assert_int_eq(calls.load(), 10);
    ck_assert_int_eq(out[9], 81);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(process_pool_header_works_from_cxx)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_tuning tuning = PP_TUNING_INIT;
    struct pp_map_options mo = PP_MAP_OPTIONS_INIT;
    struct pp_dict *d = nullptr;
    int64_t v = 0;

    /* The shared dictionary needs no worker process: a call into the
     * library that a C++ program links against. */
    ck_assert_uint_eq(opt.workers, 0);
    ck_assert_ptr_null(opt.tuning);
    ck_assert_int_eq(tuning.spin_ns, 0);
    ck_assert_uint_eq(mo.chunk_size, 0);
    ck_assert_uint_eq(pp_results_failed(nullptr), PP_NO_INDEX);
    ck_assert(PP_NO_INDEX == SIZE_MAX && TP_NO_INDEX == SIZE_MAX);
    ck_assert(PP_WAIT_FOREVER == TP_WAIT_FOREVER);
    ck_assert_int_eq(pp_dict_create(16, &d), 0);
    ck_assert_int_eq(pp_dict_set(d, "answer", 42), 0);
    ck_assert_int_eq(pp_dict_get(d, "answer", &v), 0);
    ck_assert_int_eq(v, 42);
    pp_dict_destroy(d);
}
END_TEST

int main()
{
    Suite *s = suite_create("headers_cxx");
    TCase *tc = tcase_create("basic");

    tcase_add_test(tc, thread_pool_runs_a_task_and_a_map_from_cxx);
    tcase_add_test(tc, process_pool_header_works_from_cxx);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
