#!/usr/bin/env bash
# Writes the students' archive of the repository: everything a student
# needs to read, measure, build and grade the lessons, without the
# reference solutions, the mutants, the instructors' tools or git history.
#
#   lessons/make-handout.sh [OUT]      (make handout [OUT=...])
#
# OUT defaults to build/poolbench-handout.tar.gz.  The archive unpacks into
# one folder, poolbench/, where `make` builds the library and programs and
# `lessons/grade.sh NN` grades lesson NN.  The files are the ones git
# tracks (or, outside a git checkout, every file), as they are in the
# working tree now, minus:
#   lessons/*/solution/   the reference solutions
#   lessons/*/mutants/    the solutions with planted bugs (check-grading.sh)
#   lessons/check-grading.sh, lessons/make-handout.sh, lessons/INSTRUCTORS.md
#   .ci/, .git*
# It then unpacks the archive into a temporary folder and checks that no
# solution or mutant is inside and that a lesson grades there (lesson 01,
# one test, without the race check, to be quick).  Exits 0 when the
# archive is good.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/build/poolbench-handout.tar.gz}
case $out in /*) ;; *) out=$PWD/$out ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/poolbench-handout.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cd "$root" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z >"$tmp/all"
else
    find . -type f -print0 | sed -z 's|^\./||' >"$tmp/all"
fi
# Keep files that exist (a file deleted but not yet committed is gone).
tr '\0' '\n' <"$tmp/all" |
    grep -v -E '^lessons/[0-9][0-9]-[^/]+/(solution|mutants)/' |
    grep -v -E '^lessons/(check-grading\.sh|make-handout\.sh|INSTRUCTORS\.md)$' |
    grep -v -E '^\.ci/|^\.git' |
    while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done \
    >"$tmp/list"

mkdir -p "$(dirname "$out")" || exit 1
if ! tar -czf "$out" --transform 's|^|poolbench/|' -T "$tmp/list"; then
    echo "make-handout: tar failed" >&2
    exit 1
fi

# Check what a student gets.
mkdir "$tmp/unpack"
tar -xzf "$out" -C "$tmp/unpack" || exit 1
bad=$(find "$tmp/unpack" \( -name solution -o -name mutants -o -name .git \
      -o -name check-grading.sh \) -print)
if [ -n "$bad" ]; then
    echo "make-handout: the archive holds what students must not get:" >&2
    echo "$bad" >&2
    exit 1
fi
if ! (cd "$tmp/unpack/poolbench/lessons/01-why-pools" &&
      ../grade.sh --no-race --test every_task_runs_exactly_once \
          >"$tmp/grade.out" 2>&1; [ $? -le 1 ]) ||
   ! grep -q -E '^   01-why-pools: [0-9]+/[0-9]+$' "$tmp/grade.out"; then
    echo "make-handout: lesson 01 does not grade in the unpacked archive:" >&2
    cat "$tmp/grade.out" >&2
    exit 1
fi
echo "make-handout: wrote $out ($(wc -l <"$tmp/list") files; lesson 01" \
     "grades in it: $(grep -E '^   01-why-pools:' "$tmp/grade.out" |
                      sed 's/^ *//'))"
