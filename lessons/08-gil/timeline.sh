#!/bin/sh
# Lesson 8, "Predict the picture": one command that counts the primes
# below two million on 2 worker threads, once freely and once under the
# benchmark's GIL (--gil), records both runs (--trace) and draws them one
# above the other on one time axis (scripts/poolbench/timeline.py).
#
#   lessons/08-gil/timeline.sh [OUT.svg]       from the top folder
#
# Writes OUT.svg and OUT.png (default gil-timeline.svg and .png, in the
# current folder).  The programs come from $POOLBENCH_BIN, else
# build/release/bin (run `make` first).
set -eu

bin=${POOLBENCH_BIN:-build/release/bin}
out=${1:-gil-timeline.svg}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin/primes" --mode threads --workers 2 --n 2000000 --format csv \
    --trace "$dir/free.json" --trace-label "threads" >/dev/null
"$bin/primes" --mode threads --workers 2 --n 2000000 --gil --format csv \
    --trace "$dir/gil.json" --trace-label "--gil threads" >/dev/null
PYTHONPATH=scripts python3 -m poolbench.timeline "$dir/free.json" \
    "$dir/gil.json" -o "$out" --title "primes below 2000000: 2 worker threads"
rm -f "${out%.svg}.dat"
