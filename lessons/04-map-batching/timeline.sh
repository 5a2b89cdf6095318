#!/bin/sh
# Lesson 4, "Predict the picture": one command that runs the chunks
# benchmark twice on 2 worker threads, with chunks of 64 numbers and with
# one chunk per worker (100000), records both runs (--trace) and draws them
# one above the other on one time axis (scripts/poolbench/timeline.py).
#
#   lessons/04-map-batching/timeline.sh [OUT.svg]     from the top folder
#
# Writes OUT.svg and OUT.png (default chunks-timeline.svg and .png, in the
# current folder).  The programs come from $POOLBENCH_BIN, else
# build/release/bin (run `make` first).
set -eu

bin=${POOLBENCH_BIN:-build/release/bin}
out=${1:-chunks-timeline.svg}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for chunk in 64 100000; do
    "$bin/chunks" --mode threads --workers 2 --n 200000 \
        --min-chunk "$chunk" --max-chunk "$chunk" --format csv \
        --trace "$dir/$chunk.json" --trace-label "chunk size $chunk" \
        >/dev/null
done
PYTHONPATH=scripts python3 -m poolbench.timeline "$dir/64.json" \
    "$dir/100000.json" -o "$out" --title "chunks: 2 workers, N = 200000"
rm -f "${out%.svg}.dat"
