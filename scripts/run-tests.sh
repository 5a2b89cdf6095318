#!/usr/bin/env bash
# Runs each Check test program given on the command line and adds up their
# results, ending with one line "tests: N passed, N failed".
#
# Check runs every test in a child process with a timeout, so a deadlock or a
# crash fails that one test.  Sanitizers and valgrind slow code down, so the
# timeouts are stretched for them (CK_TIMEOUT_MULTIPLIER is Check's own knob)
# and POOLBENCH_SLOW tells the stress tests to scale their counts down.
#
# Environment: VALGRIND=1 runs each program under memcheck; SANITIZE as given
# to make; POOLBENCH_BIN is passed through to the tests.
set -u

wrap=()
case "${SANITIZE:-}" in
"") mult=1 ;;
*thread*) mult=4; export POOLBENCH_SLOW=1
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" ;;
*) mult=3
    export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1 ${UBSAN_OPTIONS:-}" ;;
esac
if [ "${VALGRIND:-}" = 1 ]; then
    mult=20
    export POOLBENCH_SLOW=1
    # Errors in any process (Check forks one per test) turn into exit code
    # 99, which Check reports as a failed test.  Leaks count when definite.
    wrap=(valgrind -q --error-exitcode=99 --leak-check=full
          --errors-for-leak-kinds=definite --show-leak-kinds=definite
          --child-silent-after-fork=no)
fi
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-$mult}

passed=0 failed=0
for t in "$@"; do
    echo "== ${t##*/}"
    out=$("${wrap[@]}" "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    if [ -n "$line" ]; then
        n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
        f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
        e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
        passed=$((passed + n - f - e))
        failed=$((failed + f + e))
    fi
    if [ $rc -ne 0 ] && { [ -z "$line" ] || [ $((f + e)) -eq 0 ]; }; then
        echo "${t##*/}: exited with status $rc"
        failed=$((failed + 1))
    fi
done
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $# -gt 0 ]
