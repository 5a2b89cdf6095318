#!/usr/bin/env bash
# Grades the lessons' exercises, the way `make grade` does in the MIT xv6 labs.
#
#   lessons/grade.sh [options] [NN...]     NN = 02 or 02-thread-pool
#
# With no NN it grades the lesson whose folder you are in, or, anywhere
# else, every lesson.  It runs from any folder: from a lesson folder,
# ../grade.sh; from the top folder, lessons/grade.sh.
#
#   --solution    grade each lesson's reference solution/ instead of the
#                 starter code in the lesson folder
#   --dir DIR     grade a student's copy: DIR/NN-topic/ if it is there (a
#                 copy of the whole lessons/ folder), else DIR itself (a copy
#                 of one lesson's folder).  The tests always come from this
#                 tree, never from DIR.
#   --no-race     skip the race check (quicker; its points count as lost)
#   --no-asan     build the normal run without AddressSanitizer, UBSan and
#                 LeakSanitizer (quicker; a leak or a memory error is then
#                 not noticed)
#   --csv         print only "who,lesson,earned,possible" lines; who is the
#                 folder graded (--dir's, or the lessons folder), or
#                 "solution"
#   --werror      compile with -Werror (check-grading.sh, for solutions)
#   --until-loss  stop grading a lesson at its first lost point (for
#                 check-grading.sh, which only needs to know that a mutant
#                 loses points; the score printed is then a lower bound)
#   --test NAME   grade only this test of the lesson (repeatable), e.g. to
#                 see one failure again; the total counts only these tests
#   --keep        keep the build folder and print where it is
#
# For each lesson it copies the student's files (lesson.conf's SOURCES) and
# the lesson's own files (tests.c, SUPPORT) into a temporary folder, builds
# them with lessons/grading.c (and pools/*.c when USE_POOLS=yes) and with
# AddressSanitizer, UBSan and LeakSanitizer (unless lesson.conf says
# ASAN=no), runs every graded test, and then, when RACE_CHECK is tsan or
# helgrind, runs each test that has race points again in a ThreadSanitizer
# build or under helgrind.
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

mode=work dir='' race=1 csv=0 werror=0 keep=0 asan=1 until_loss=0
lessons=() only=()
while [ $# -gt 0 ]; do
    case $1 in
    --solution) mode=solution ;;
    --dir) [ $# -ge 2 ] || usage 2; mode=dir; dir=$2; shift ;;
    --dir=*) mode=dir; dir=${1#--dir=} ;;
    --no-race) race=0 ;;
    --csv) csv=1 ;;
    --werror) werror=1 ;;
    --asan) asan=1 ;;       # the default; kept for old scripts
    --no-asan) asan=0 ;;
    --until-loss) until_loss=1 ;;
    --test) [ $# -ge 2 ] || usage 2; only+=(--only "$2"); shift ;;
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
# Run from inside a lesson folder (or a file's folder below it) with no
# lesson named: that lesson.
if [ ${#lessons[@]} -eq 0 ]; then
    case $PWD/ in "$here"/[0-9][0-9]-*/*)
        l=${PWD#"$here"/}
        lessons=("${l%%/*}") ;;
    esac
fi
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
cache=${GRADE_CACHE:-$work/cache}
mkdir -p "$cache" || exit 2
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

# Prints the sanitizer's (or helgrind's) report in file $1, for the
# student: every block of it (both sides of a race, where a leaked block
# was allocated), each stack cut to its first frames, addresses and the
# build folder ($2) removed, frames in the student's own files ($3, a list)
# marked, and one sentence on the likely cause.  Nothing if no report.
show_report() {
    local file=$1 srcdir=$2 mine=$3 text cause
    [ $csv = 0 ] && [ -s "$file" ] || return 0
    text=$(awk -v mine="$mine" '
        BEGIN { n = split(mine, m, " ") }
        /WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|Possible data race|lock order|unlocked a not-locked|pthread_[a-z_]+ error|Thread #[0-9]+: Bug/ { on = 1 }
        !on { next }
        /^SUMMARY:/ { print; exit }
        /^ *#[0-9]+ / {
            if (skip || ++frames > 6) next
            if ($0 ~ /libsanitizer|interceptor|vg_replace|libcheck|srunner_|tcase_run|libc_start|start_thread|clone3?[ (]|<null>/) next
            line = $0
            for (i = 1; i <= n; i++)
                if (index(line, m[i] ":") > 0) { line = line "   <-- your code"; break }
            print line
            next
        }
        /^ *$/ { next }
        # Where a mutex or a thread was created says little; skip it.
        { frames = 0; skip = /(Mutex|Thread) .*created/
          if (skip) next
          if (++blocks > 40) exit; print }
    ' "$file" | sed -E -e 's/^==[0-9]+== ?//' -e "s|$srcdir/||g" \
                    -e "s|$here/||g" -e 's/ at 0x[0-9a-f]+//g' \
                    -e 's/ \([^ ]*\+0x[0-9a-f]+\)//' \
                    -e 's/^( *#[0-9]+ )0x[0-9a-f]+ in /\1/' \
                    -e 's/ \(pid=[0-9]+\)//' -e 's/ 0x[0-9a-f]{6,}//g' |
        head -n 60)
    [ -n "$text" ] || text=$(grep -E -m 1 'SUMMARY: ' "$file")
    [ -n "$text" ] || return 0
    case $text in
    *'data race'*)
        cause="two threads used the same memory, at least one writing, without holding the same mutex: find the two 'your code' lines and the lock each should hold" ;;
    *'lock-order-inversion'*|*'lock order'*)
        cause="two threads took the same two mutexes in opposite orders: one day each will hold one and wait for the other" ;;
    *'unlock of an unlocked mutex'*|*'unlocked a not-locked'*)
        cause="a mutex was unlocked twice, or by a thread that did not lock it" ;;
    *'destroy of a locked mutex'*)
        cause="a mutex was destroyed while locked: an error path that returns without unlocking?" ;;
    *'heap-use-after-free'*)
        cause="memory was used after free(): who still holds a pointer to it?" ;;
    *'LeakSanitizer'*)
        cause="memory allocated at the 'your code' line is never freed: follow it to every way it can end (done, error, shutdown) and free it there" ;;
    *'double-free'*)
        cause="the same block was freed twice" ;;
    *'runtime error'*)
        cause="undefined behaviour at the line shown (an overflow, a bad shift, a misaligned or NULL pointer)" ;;
    *'signal-unsafe'*|*'async-signal'*)
        cause="a function that is not async-signal-safe was called where only those are allowed" ;;
    *) cause="" ;;
    esac
    sed 's/^/        | /' <<<"$text"
    [ -z "$cause" ] || echo "        likely cause: $cause"
}

# Prints the test program's output ($1), adding under each failed test the
# sanitizer report from its part of the stderr file $2 (grading.c writes a
# line "== grade: NAME" to stderr before each test).
show_results() {
    local out=$1 err=$2 srcdir=$3 mine=$4 line t pending=''
    [ $csv = 1 ] && return 0
    while IFS= read -r line; do
        case $line in 'score: '*) continue ;; esac
        if [ -n "$pending" ]; then
            printf '%s\n' "$line"
            awk -v t="$pending" '$0 == "== grade: " t { on = 1; next }
                                 /^== grade: / { on = 0 } on' "$err" \
                >"$err.one"
            show_report "$err.one" "$srcdir" "$mine"
            pending=''
            continue
        fi
        printf '%s\n' "$line"
        case $line in '  FAIL '*)
            read -r _ _ t _ <<<"$line"
            pending=$t ;;
        esac
    done <<<"$out"
}

# --- grading one lesson ---------------------------------------------------
grand_earned=0 grand_possible=0 all_full=1

grade_one() {
    local lesson=$1 name=${1##*/}
    local TITLE='' SOURCES='' SUPPORT='' USE_POOLS=no LIBS='' LESSON_CFLAGS=''
    local RACE_CHECK=tsan ASAN=yes RESOURCE_CHECK=yes MAX_TIMEOUT=30
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
    work) from=$lesson ;;
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
    # Builds the test program.  The student's files are compiled every
    # time; the others (tests.c, grading.c, SUPPORT, pools/) only once per
    # set of flags and headers, kept in $cache (GRADE_CACHE, which
    # check-grading.sh shares between the many gradings of one run).
    build() { # build OUTPUT EXTRA_FLAGS...
        local o=$1 f obj key flags lobjs=() rc=0
        shift
        # shellcheck disable=SC2206 # the flags are words
        flags=("${cflags[@]}" "$@" $LESSON_CFLAGS "${incs[@]}" $check_cflags)
        mkdir -p "$o.o"
        : >"$o.log"
        for f in "${objs[@]}"; do
            # The student's: a SOURCES file in the build folder (pools/
            # may hold a file of the same name, e.g. future.c).
            if [ "${f%/*}" = "$src" ] &&
               case " $SOURCES " in *" ${f##*/} "*) true ;; *) false ;; esac
            then
                obj=$o.o/${f##*/}.o
                "$CC" "${flags[@]}" -c -o "$obj" "$f" >>"$o.log" 2>&1 ||
                    rc=1
                lobjs+=("$obj")
                continue
            fi
            key=$({ printf '%s\n' "$CC" "${flags[@]}"; cat "$f" "$src"/*.h \
                    "$here/grading.h";
                    [ "$USE_POOLS" = yes ] && cat "$root"/pools/*.h; } |
                  cksum | tr ' ' -)
            obj=$cache/${f##*/}.$key.o
            # One compiler per object, when gradings share the cache.
            if [ ! -f "$obj" ]; then
                {
                    flock 9 2>/dev/null
                    [ -f "$obj" ] ||
                        { "$CC" "${flags[@]}" -c -o "$obj.$$" "$f" &&
                          mv -f "$obj.$$" "$obj"; } >>"$o.log" 2>&1 ||
                        rc=1
                } 9>"$obj.lock"
            fi
            lobjs+=("$obj")
        done
        [ $rc = 0 ] || return 1
        # shellcheck disable=SC2086
        "$CC" "${cflags[@]}" "$@" -o "$o" "${lobjs[@]}" $check_libs \
            -lm -lrt $LIBS >>"$o.log" 2>&1
    }

    prog=$b/tests
    local normal_flags=() lesson_asan=$asan
    [ "$ASAN" = no ] && lesson_asan=0
    # shellcheck disable=SC2054 # the comma belongs to the flag
    [ $lesson_asan = 1 ] && normal_flags=(-fsanitize=address,undefined
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
    if [ ${#only[@]} -gt 0 ]; then
        local want i keep=''
        for ((i = 1; i < ${#only[@]}; i += 2)); do
            want=$(grep -E "^${only[i]} " <<<"$listing") || {
                echo "grade.sh: $name has no test called ${only[i]}" >&2
                return 2; }
            keep+=$want$'\n'
        done
        listing=${keep%$'\n'}
    fi
    while read -r _ pts rpts _; do
        possible=$((possible + pts))
        [ "$RACE_CHECK" != none ] && possible=$((possible + rpts))
    done <<<"$listing"

    local until=''
    [ $until_loss = 1 ] && until=1
    out=$(env POOLBENCH_SLOW= CK_TIMEOUT_MULTIPLIER="$mult" \
              GRADE_UNTIL_LOSS="$until" GRADE_MAX_TIMEOUT="$MAX_TIMEOUT" \
              GRADE_RESOURCE_CHECK="$([ "$RESOURCE_CHECK" = no ] && echo 0)" \
              ASAN_OPTIONS="detect_leaks=1 exitcode=66 ${ASAN_OPTIONS:-}" \
              UBSAN_OPTIONS="print_stacktrace=1 exitcode=66 ${UBSAN_OPTIONS:-}" \
              "$prog" "${only[@]}" 2>"$b/stderr")
    rc=$?
    line=$(grep -E '^score: [0-9]+/[0-9]+$' <<<"$out" | tail -n 1)
    show_results "$out" "$b/stderr" "$b/src" "$SOURCES"
    if [ -n "$line" ]; then
        line=${line#score: }
        earned=${line%/*}
    else
        say "   the test program died (status $rc) before its score:"
        [ $csv = 1 ] || tail -n 5 "$b/stderr" | sed 's/^/   | /'
    fi

    if [ $until_loss = 1 ] && [ "${line#*/}" != "$earned" ]; then
        say "   (--until-loss: stopped at the first lost point)"
    elif [ "$RACE_CHECK" != none ]; then
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
    tr '\n' ' ' <"$1/tests.c" |
        grep -o -E 'GRADE_TEST(_TIMEOUT)?\([[:space:]]*[a-z0-9_]+,[[:space:]]*[0-9]+,[[:space:]]*[0-9]+' |
        sed -E 's/^[^(]*\([[:space:]]*//; s/,[[:space:]]*/ /g'
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
                GRADE_UNTIL_LOSS= GRADE_MAX_TIMEOUT="$MAX_TIMEOUT" \
                GRADE_RESOURCE_CHECK="$([ "$RESOURCE_CHECK" = no ] && echo 0)" \
                TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
                "${wrap[@]}" "$race_prog" --race --only "$t" \
                2>"$b/race-$t.err")
        show_results "$o" "$b/race-$t.err" "$b/src" "$SOURCES"
        if grep -q -E '^score: ([0-9]+)/\1$' <<<"$o" && \
           grep -q -E "^  PASS " <<<"$o"; then
            race_earned=$((race_earned + r))
        elif [ $until_loss = 1 ]; then
            say "   (--until-loss: stopped at the first lost point)"
            return 0
        fi
    done <<<"$listing"
}

finish() {
    local name=$1 e=$2 p=$3 who
    grand_earned=$((grand_earned + e))
    grand_possible=$((grand_possible + p))
    [ "$e" -eq "$p" ] && [ "$p" -gt 0 ] || all_full=0
    if [ $csv = 1 ]; then
        case $mode in dir) who=$dir ;; work) who=$here ;; *) who=$mode ;; esac
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
