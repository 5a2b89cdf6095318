#!/usr/bin/env bash
# Grades the lessons' exercises, the way `make grade` does in the MIT xv6 labs.
#
#   lessons/grade.sh [options] [NN...]     NN = 02 or 02-thread-pool; none = all
#
#   --solution    grade each lesson's reference solution/ instead of the
#                 starter code in the lesson folder
#   --dir DIR     grade a student's copy: DIR/NN-topic/ if it is there (a
#                 copy of the whole lessons/ folder), else DIR itself (a copy
#                 of one lesson's folder).  The tests always come from this
#                 tree, never from DIR.
#   --no-race     skip the race check (quicker; its points count as lost)
#   --csv         print only "who,lesson,earned,possible" lines
#   --werror      compile with -Werror (check-grading.sh, for solutions)
#   --asan        build the normal run with AddressSanitizer and UBSan, so
#                 that a memory error or a leak fails the test that makes it
#   --keep        keep the build folder and print where it is
#
# For each lesson it copies the student's files (lesson.conf's SOURCES) and
# the lesson's own files (tests.c, SUPPORT) into a temporary folder, builds
# them with lessons/grading.c (and pools/*.c when USE_POOLS=yes), runs every
# graded test, and then, when RACE_CHECK is tsan or helgrind, runs each test
# that has race points again in a ThreadSanitizer build or under helgrind.
# Nothing is written into the lesson folders.
#
# Exit status: 0 when every lesson graded got full marks, 1 when one did not
# (a build failure scores 0), 2 on a usage or set-up error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

usage() { # usage EXIT_STATUS
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit "$1"
}

mode=starter dir='' race=1 csv=0 werror=0 keep=0 asan=0
lessons=()
while [ $# -gt 0 ]; do
    case $1 in
    --solution) mode=solution ;;
    --dir) [ $# -ge 2 ] || usage 2; mode=dir; dir=$2; shift ;;
    --dir=*) mode=dir; dir=${1#--dir=} ;;
    --no-race) race=0 ;;
    --csv) csv=1 ;;
    --werror) werror=1 ;;
    --asan) asan=1 ;;
    --keep) keep=1 ;;
    -h|--help) usage 0 ;;
    -*) echo "grade.sh: unknown option $1" >&2; usage 2 ;;
    *) lessons+=("$1") ;;
    esac
    shift
done
if [ "$mode" = dir ] && [ ! -d "$dir" ]; then
    echo "grade.sh: --dir $dir: no such folder" >&2
    exit 2
fi
[ "$mode" = dir ] && dir=$(cd "$dir" && pwd)

# Human output goes to stdout, or nowhere with --csv.
say() { [ $csv = 1 ] || printf '%s\n' "$*"; }

# --- the lessons to grade -------------------------------------------------
folders=()
if [ ${#lessons[@]} -eq 0 ]; then
    for d in "$here"/[0-9][0-9]-*/; do
        [ -f "$d/tests.c" ] && folders+=("${d%/}")
    done
else
    for l in "${lessons[@]}"; do
        l=${l%/}
        l=${l##*/}
        match=()
        for d in "$here"/"$l" "$here"/"$l"-*; do
            [ -d "$d" ] && [ -f "$d/tests.c" ] && match+=("$d")
        done
        if [ ${#match[@]} -ne 1 ]; then
            echo "grade.sh: no lesson (or more than one) matches '$l'" >&2
            exit 2
        fi
        folders+=("${match[0]}")
    done
fi
if [ ${#folders[@]} -eq 0 ]; then
    echo "grade.sh: no lessons with a tests.c under $here" >&2
    exit 2
fi

# --- tools ----------------------------------------------------------------
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "grade.sh: no C compiler ($CC); run scripts/setup.sh" >&2
    exit 2
fi
if ! pkg-config --exists check 2>/dev/null; then
    echo "grade.sh: Check is not installed; run scripts/setup.sh" >&2
    exit 2
fi
# Check's own knobs that would run only some tests, or none in a child.
unset CK_RUN_CASE CK_RUN_SUITE CK_INCLUDE_TAGS CK_EXCLUDE_TAGS CK_FORK
check_cflags=$(pkg-config --cflags check)
check_libs=$(pkg-config --libs check)

# The house flags (STYLE.md), at -O1: quick to build, and what TSan wants.
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -pthread -g -O1
        -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wmissing-prototypes
        -Wold-style-definition -Wvla -Wwrite-strings -Wformat=2 -fno-common)
[ $werror = 1 ] && cflags+=(-Werror)

# Check's timeouts: as the caller's CK_TIMEOUT_MULTIPLIER says (default 1),
# and 5 times that under the race check, which runs code 5 to 15 times
# slower (ThreadSanitizer's own estimate) but only one test at a time.
mult=${CK_TIMEOUT_MULTIPLIER:-1}
race_mult=$(awk -v m="$mult" 'BEGIN { if (!(m > 0)) m = 1; print m * 5 }')

work=$(mktemp -d "${TMPDIR:-/tmp}/poolbench-grade.XXXXXX") || exit 2
if [ $keep = 1 ]; then
    echo "grade.sh: build folder $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

# ThreadSanitizer needs the compiler's runtime, and on some kernels it only
# starts with address-space randomisation turned off (setarch -R): find out
# once what works here.
tsan_state=unknown tsan_wrap=()
tsan_probe() {
    [ $tsan_state = unknown ] || return 0
    printf 'int main(void) { return 0; }\n' >"$work/tsan.c"
    if ! "$CC" -fsanitize=thread -o "$work/tsan" "$work/tsan.c" \
        >/dev/null 2>&1; then
        tsan_state=missing
    elif "$work/tsan" >/dev/null 2>&1; then
        tsan_state=ok
    elif setarch "$(uname -m)" -R "$work/tsan" >/dev/null 2>&1; then
        tsan_state=ok tsan_wrap=(setarch "$(uname -m)" -R)
    else
        tsan_state=broken
    fi
}

# Prints the first lines of the sanitizer's or helgrind's report in $1.
show_report() {
    local text
    text=$(grep -E -m 1 -A 8 \
        'WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|Possible data race|lock order|unlocked a not-locked|pthread_[a-z_]+ error|Thread #[0-9]+: Bug' \
        "$1" | sed -E -e 's/^==[0-9]+== ?//' -e "s|$2/||g" \
                      -e 's/ \([^ ]*\+0x[0-9a-f]+\)$//' \
                      -e 's/^( *#[0-9]+ )0x[0-9a-f]+ in /\1/' |
        grep -v -E '^ *$|interceptor|libsanitizer|vg_replace' | head -n 5)
    [ -n "$text" ] || text=$(grep -E -m 1 'SUMMARY: ' "$1")
    [ -n "$text" ] && [ $csv = 0 ] && sed 's/^/        | /' <<<"$text"
    return 0
}

# --- grading one lesson ---------------------------------------------------
grand_earned=0 grand_possible=0 all_full=1

grade_one() {
    local lesson=$1 name=${1##*/}
    local TITLE='' SOURCES='' SUPPORT='' USE_POOLS=no LIBS='' LESSON_CFLAGS=''
    local RACE_CHECK=tsan
    local from b src f prog listing possible=0 earned=0 out rc line
    local pts rpts

    if [ -f "$lesson/lesson.conf" ]; then
        # shellcheck source=/dev/null
        . "$lesson/lesson.conf"
    fi
    case $RACE_CHECK in tsan|helgrind|none) ;; *)
        echo "grade.sh: $name/lesson.conf: RACE_CHECK=$RACE_CHECK" \
             "(tsan, helgrind or none)" >&2
        return 2 ;;
    esac

    case $mode in
    starter) from=$lesson ;;
    solution) from=$lesson/solution ;;
    dir) if [ -d "$dir/$name" ]; then from=$dir/$name; else from=$dir; fi ;;
    esac

    say ""
    # The header names the folder graded: the student's work in the lesson
    # folder, the solution, or a --dir copy.
    say "== $name: ${TITLE:-$name} (${from#"$root"/})"

    b=$work/$name
    src=$b/src
    mkdir -p "$src"
    cp "$lesson/tests.c" "$src/"
    for f in $SUPPORT $SOURCES; do
        if [ ! -f "$lesson/$f" ]; then
            echo "grade.sh: $name/lesson.conf names $f, which is missing" >&2
            return 2
        fi
        cp "$lesson/$f" "$src/"
    done
    # The student's files replace the starter's.  A missing one keeps the
    # starter's version (and says so) rather than failing the whole lesson.
    for f in $SOURCES; do
        if [ -f "$from/$f" ]; then
            [ "$from" = "$lesson" ] || cp "$from/$f" "$src/"
        else
            say "   note: $f is not in $from; grading the starter's $f"
        fi
    done

    local objs=("$src/tests.c" "$here/grading.c")
    for f in $SUPPORT $SOURCES; do
        case $f in *.c) objs+=("$src/$f") ;; esac
    done
    local incs=(-I "$src" -I "$here")
    if [ "$USE_POOLS" = yes ]; then
        incs+=(-I "$root/pools")
        for f in "$root"/pools/*.c; do
            [ -f "$f" ] && objs+=("$f")
        done
    fi
    build() { # build OUTPUT EXTRA_FLAGS...
        local o=$1
        shift
        # shellcheck disable=SC2086
        "$CC" "${cflags[@]}" "$@" $LESSON_CFLAGS "${incs[@]}" $check_cflags \
            -o "$o" "${objs[@]}" $check_libs -lm -lrt $LIBS \
            >"$o.log" 2>&1
    }

    prog=$b/tests
    local normal_flags=()
    # shellcheck disable=SC2054 # the comma belongs to the flag
    [ $asan = 1 ] && normal_flags=(-fsanitize=address,undefined
                                   -fno-sanitize-recover=all
                                   -fno-omit-frame-pointer)
    if ! build "$prog" "${normal_flags[@]}"; then
        say "   BUILD FAILED (score 0):"
        [ $csv = 1 ] || sed 's/^/   | /' "$prog.log" | head -n 40
        # The possible points come from the solution, which must build.
        possible=$(possible_points "$lesson" "$RACE_CHECK")
        finish "$name" 0 "${possible:-0}"
        return 0
    fi
    if [ -s "$prog.log" ] && [ $csv = 0 ]; then
        echo "   compiler warnings:"
        sed 's/^/   | /' "$prog.log" | head -n 40
    fi

    listing=$("$prog" --list) || { echo "grade.sh: $prog --list failed" >&2
                                   return 2; }
    while read -r _ pts rpts _; do
        possible=$((possible + pts))
        [ "$RACE_CHECK" != none ] && possible=$((possible + rpts))
    done <<<"$listing"

    out=$(env POOLBENCH_SLOW= CK_TIMEOUT_MULTIPLIER="$mult" \
              ASAN_OPTIONS="detect_leaks=1 exitcode=66 ${ASAN_OPTIONS:-}" \
              UBSAN_OPTIONS="print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
              "$prog" 2>"$b/stderr")
    rc=$?
    line=$(grep -E '^score: [0-9]+/[0-9]+$' <<<"$out" | tail -n 1)
    [ $csv = 1 ] || grep -v '^score: ' <<<"$out"
    if [ -n "$line" ]; then
        line=${line#score: }
        earned=${line%/*}
    else
        say "   the test program died (status $rc) before its score:"
        [ $csv = 1 ] || tail -n 5 "$b/stderr" | sed 's/^/   | /'
    fi

    # With --asan, show the first sanitizer report, if any.
    [ $asan = 1 ] && show_report "$b/stderr" "$b/src"
    if [ "$RACE_CHECK" != none ]; then
        race_pass "$name" "$prog" "$listing" "$out"
        earned=$((earned + race_earned))
    fi
    finish "$name" "$earned" "$possible"
}

# The points a lesson is worth, read from its tests.c table; used only when
# the graded code does not build, so there is no program to ask.
possible_points() {
    grade_listing "$1" |
        awk -v rc="$2" '{ s += $2; if (rc != "none") s += $3 } END { print s + 0 }'
}

# Counts the tests in tests.c's table without building the exercise: a
# table line is GRADE_TEST(name, points, race_points...).
grade_listing() {
    sed -n -E 's/^[[:space:]]*GRADE_TEST(_TIMEOUT)?\(([a-z0-9_]+), *([0-9]+), *([0-9]+).*/\2 \3 \4/p' \
        "$1/tests.c"
}

# Runs each test that has race points again, under ThreadSanitizer or
# helgrind; sets race_earned.
race_pass() {
    local name=$1 prog=$2 listing=$3 out=$4 race_prog wrap=() t p r _x o
    race_earned=0
    local b=$work/$name

    if [ $race = 0 ]; then
        say "   race check skipped (--no-race): its points are not awarded"
        return 0
    fi
    if [ "$RACE_CHECK" = tsan ]; then
        tsan_probe
        if [ $tsan_state != ok ]; then
            say "   race check: ThreadSanitizer is $tsan_state on this" \
                "machine; race points not awarded"
            return 0
        fi
        race_prog=$b/tests-tsan
        if ! build "$race_prog" -fsanitize=thread -fno-omit-frame-pointer; then
            say "   race check: the ThreadSanitizer build failed:"
            [ $csv = 1 ] || sed 's/^/   | /' "$race_prog.log" | head -n 20
            return 0
        fi
        wrap=("${tsan_wrap[@]}")
    else
        if ! command -v valgrind >/dev/null 2>&1; then
            say "   race check: valgrind is not installed; race points" \
                "not awarded"
            return 0
        fi
        race_prog=$prog
        wrap=(valgrind -q --tool=helgrind --error-exitcode=66
              --child-silent-after-fork=no)
    fi

    while read -r t p r _x; do
        [ "$r" -gt 0 ] || continue
        if ! grep -q -E "^  PASS .* $t\$" <<<"$out"; then
            say "$(printf '  SKIP %3d/%-3d %s [race] (fails without it)' \
                0 "$r" "$t")"
            continue
        fi
        o=$(env POOLBENCH_SLOW=1 CK_TIMEOUT_MULTIPLIER="$race_mult" \
                TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
                "${wrap[@]}" "$race_prog" --race --only "$t" \
                2>"$b/race-$t.err")
        [ $csv = 1 ] || grep -v '^score: ' <<<"$o"
        if grep -q -E '^score: ([0-9]+)/\1$' <<<"$o" && \
           grep -q -E "^  PASS " <<<"$o"; then
            race_earned=$((race_earned + r))
        else
            show_report "$b/race-$t.err" "$b/src"
        fi
    done <<<"$listing"
}

finish() {
    local name=$1 e=$2 p=$3 who
    grand_earned=$((grand_earned + e))
    grand_possible=$((grand_possible + p))
    [ "$e" -eq "$p" ] && [ "$p" -gt 0 ] || all_full=0
    if [ $csv = 1 ]; then
        case $mode in dir) who=$dir ;; *) who=$mode ;; esac
        printf '%s,%s,%d,%d\n' "$who" "$name" "$e" "$p"
    else
        echo "   $name: $e/$p"
    fi
}

status=0
for l in "${folders[@]}"; do
    grade_one "$l" || status=2
done
if [ ${#folders[@]} -gt 1 ]; then
    say ""
    say "TOTAL: $grand_earned/$grand_possible"
fi
[ $status -ne 0 ] && exit $status
[ $all_full = 1 ] && exit 0
exit 1
