#!/usr/bin/env bash
# CI check of the lessons' grading: every lesson's reference solution must
# get full marks (built with -Werror), and every untouched starter must not,
# since a test that the starter passes tests nothing about the exercise.
#
#   lessons/check-grading.sh [NN...]     none = every lesson with a tests.c
#
# It also checks that each lesson has its README.md and a solution/ that
# holds every file named in lesson.conf's SOURCES, and lists, as a warning,
# the tests that a starter passes.  Exits 0 when all is well, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)

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

problems=0
problem() {
    echo "check-grading: $*"
    problems=$((problems + 1))
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

    out=$("$here/grade.sh" "$name" 2>&1)
    line=$(grep -E "^   $name: [0-9]+/[0-9]+$" <<<"$out" | tail -n 1)
    score=${line##*: }
    e=${score%/*} p=${score#*/}
    if [ -z "$line" ]; then
        problem "$name: grading the starter printed no score"
        sed 's/^/    /' <<<"$out"
    elif [ "$e" = "$p" ]; then
        problem "$name: the untouched starter scores full marks ($score)"
    else
        echo "check-grading: $name: starter $score"
        passed=$(grep -E '^  PASS ' <<<"$out" | grep -v ' \[race\]$' |
                 awk '{ print $3 }')
        for t in $passed; do
            echo "check-grading:   warning: the starter passes $t"
        done
    fi
done

if [ $problems -gt 0 ]; then
    echo "check-grading: $problems problem(s)"
    exit 1
fi
echo "check-grading: all ${#lessons[@]} lessons OK"
