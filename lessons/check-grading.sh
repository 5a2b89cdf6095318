#!/usr/bin/env bash
# CI check of the lessons' grading: every lesson's reference solution must
# get full marks (built with -Werror); every untouched starter must score no
# more than a fifth of the points, since a test that the starter passes
# tests nothing about the exercise; and every mutant must lose points.
#
#   lessons/check-grading.sh [--no-mutants] [-j N] [NN...]
#
# NN: the lessons to check (none = every lesson).  -j N: grade N things at
# once (default 3: most of a grading run is waiting on sleeps and
# timeouts, so 3 keep a 2-core machine busy without starving the tests).
#
# A mutant is the solution with one bug of the kind students make, kept as
# lessons/NN-topic/mutants/NAME.patch: a first line "# what the student
# did", a second "# caught by: TEST" naming the test expected to fail,
# then a unified diff against solution/ (applied with patch -p1).  Each is
# graded as a student's folder: first that test alone (quick), and if it
# passes, every test (grade.sh --dir --until-loss), since losing any point
# is enough.  A mutant that keeps full marks means the tests miss a bug.
#
# It also checks that each lesson has its README.md, a solution/ that holds
# every file named in lesson.conf's SOURCES, and at least 5 mutants, and
# lists, as a warning, the tests that a starter passes.  Exits 0 when all
# is well, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)

mutants=1 jobs=3
while [ $# -gt 0 ]; do
    case $1 in
    --no-mutants) mutants=0 ;;
    -j) jobs=${2:?-j needs a number}; shift ;;
    -j*) jobs=${1#-j} ;;
    *) break ;;
    esac
    shift
done
lessons=()
if [ $# -gt 0 ]; then
    for l in "$@"; do
        for d in "$here/$l" "$here/$l"-*; do
            [ -f "$d/tests.c" ] && lessons+=("$d")
        done
    done
else
    for d in "$here"/[0-9][0-9]-*/; do
        [ -f "$d/tests.c" ] && lessons+=("${d%/}")
    done
fi
if [ ${#lessons[@]} -eq 0 ]; then
    echo "check-grading: no lessons found" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/poolbench-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# The objects that do not change between gradings (tests.c, grading.c,
# pools/) are compiled once for the whole run.
export GRADE_CACHE=$work/cache
mkdir -p "$GRADE_CACHE"

# Every check runs as a background job writing to its own file; problems
# are counted as lines of $work/problems (jobs are subshells).
problem() {
    echo "check-grading: $*"
    echo x >>"$work/problems"
}
njobs=0
spawn() { # spawn FUNCTION ARGS...: runs it in the background, -j at a time
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    njobs=$((njobs + 1))
    "$@" >"$work/job.$(printf %04d $njobs)" 2>&1 &
}

# Grades one mutant (lesson folder, its name, the patch, SOURCES) as a
# student's folder and counts a problem if it keeps full marks.
check_mutant() {
    local d=$1 name=$2 m=$3 sources=$4 mdir f out line e p what hint t0 by
    mdir=$work/$name-${m##*/}
    mdir=${mdir%.patch}
    rm -rf "$mdir"
    mkdir -p "$mdir"
    for f in $sources; do
        cp "$d/solution/$f" "$mdir/"
    done
    if ! patch -s -p1 -d "$mdir" <"$m" >"$mdir.log" 2>&1; then
        problem "$name: mutant ${m##*/} does not apply:"
        sed 's/^/    /' "$mdir.log"
        return
    fi
    what=$(sed -n '1s/^# *//p' "$m")
    hint=$(sed -n '2s/^# caught by: *\([a-z0-9_]*\).*/\1/p' "$m")
    t0=$SECONDS
    if [ -n "$hint" ]; then
        out=$("$here/grade.sh" --csv --until-loss --test "$hint" \
                  --dir "$mdir" "$name" 2>&1)
        line=$(grep -E ",$name,[0-9]+,[0-9]+$" <<<"$out" | tail -n 1)
        IFS=, read -r _ _ e p <<<"$line"
        if [ -n "$line" ] && [ "$e" != "$p" ]; then
            echo "check-grading: $name: mutant ${m##*/} caught by $hint" \
                 "($((SECONDS - t0)) s)"
            return
        fi
        echo "check-grading:   warning: $name: mutant ${m##*/} passes" \
             "$hint, its 'caught by' test; grading every test"
    else
        echo "check-grading:   warning: $name: mutant ${m##*/} has no" \
             "'# caught by: TEST' line"
    fi
    out=$("$here/grade.sh" --until-loss --dir "$mdir" "$name" 2>&1)
    line=$(grep -E "^   $name: [0-9]+/[0-9]+$" <<<"$out" | tail -n 1)
    line=${line##*: }
    e=${line%/*} p=${line#*/}
    by=$(grep -m 1 -E '^  FAIL ' <<<"$out" | awk '{ print $3 }')
    if [ -z "$line" ]; then
        problem "$name: grading mutant ${m##*/} printed no score:"
        sed 's/^/    /' <<<"$out"
    elif [ "$e" = "$p" ]; then
        problem "$name: mutant ${m##*/} keeps full marks ($e/$p): $what"
    else
        echo "check-grading: $name: mutant ${m##*/} caught by" \
             "${by:-?} ($((SECONDS - t0)) s)"
    fi
}

# The reference solution must get full marks, built with -Werror.
check_solution() {
    local name=$1 sol line e p
    sol=$("$here/grade.sh" --csv --werror --solution "$name" 2>&1)
    line=$(grep -E ",$name,[0-9]+,[0-9]+$" <<<"$sol" | tail -n 1)
    IFS=, read -r _ _ e p <<<"$line"
    if [ -z "$line" ] || [ "$e" != "$p" ] || [ "${p:-0}" -eq 0 ]; then
        problem "$name: the solution scores ${e:-?}/${p:-?}, not full marks"
        # Show why, with the human-readable report.
        "$here/grade.sh" --werror --solution "$name" 2>&1 |
            grep -v '^  PASS' | sed 's/^/    /'
    else
        echo "check-grading: $name: solution $e/$p"
    fi
}

# The untouched starter must score no more than a fifth of the points.
check_starter() {
    local name=$1 out line score e p passed t
    out=$("$here/grade.sh" "$name" 2>&1)
    line=$(grep -E "^   $name: [0-9]+/[0-9]+$" <<<"$out" | tail -n 1)
    score=${line##*: }
    e=${score%/*} p=${score#*/}
    if [ -z "$line" ]; then
        problem "$name: grading the starter printed no score"
        sed 's/^/    /' <<<"$out"
    elif [ $((e * 5)) -gt "$p" ]; then
        problem "$name: the untouched starter scores $score, more than a" \
                "fifth of the points"
    else
        echo "check-grading: $name: starter $score"
        passed=$(grep -E '^  PASS ' <<<"$out" | grep -v ' \[race\]$' |
                 awk '{ print $3 }')
        for t in $passed; do
            echo "check-grading:   warning: the starter passes $t"
        done
    fi
}

for d in "${lessons[@]}"; do
    name=${d##*/}
    SOURCES=
    # shellcheck source=/dev/null
    [ -f "$d/lesson.conf" ] && . "$d/lesson.conf"
    [ -f "$d/README.md" ] || problem "$name: no README.md"
    [ -n "$SOURCES" ] || problem "$name: lesson.conf names no SOURCES"
    for f in $SOURCES; do
        [ -f "$d/solution/$f" ] || problem "$name: solution/$f is missing"
        grep -q 'EXERCISE' "$d/$f" 2>/dev/null ||
            problem "$name: starter $f marks no /* EXERCISE */ gap"
    done

    spawn check_solution "$name"
    spawn check_starter "$name"
    [ $mutants = 1 ] || continue
    n=0
    for m in "$d"/mutants/*.patch; do
        [ -f "$m" ] || continue
        n=$((n + 1))
        spawn check_mutant "$d" "$name" "$m" "$SOURCES"
    done
    [ $n -ge 5 ] || problem "$name: $n mutants in mutants/, fewer than 5"
done

wait
cat "$work"/job.*
problems=0
[ -f "$work/problems" ] && problems=$(wc -l <"$work/problems")
if [ "$problems" -gt 0 ]; then
    echo "check-grading: $problems problem(s) ($SECONDS s)"
    exit 1
fi
echo "check-grading: all ${#lessons[@]} lessons OK ($SECONDS s)"
