#!/usr/bin/env bash
# Compares two runs of the benchmark suite: before and after a change, or
# two machines.
#
#   scripts/compare.sh RUN_A RUN_B [--out DIR]
#
# For every configuration the two runs share (same workload, language,
# mode, variant, workers and size; when the sizes differ, the same apart
# from size) it prints the two median kernel times, their ratio B/A and the
# range of that ratio allowed by the two interquartile ranges, marking with
# * the configurations where even that range excludes 1; and it plots the
# ratios (compare.png and .svg, log scale).  The output folder (default
# results/compare-A-vs-B) is built under a temporary name and renamed when
# complete.  Exit status: 0 done, 1 a run folder is unusable, 2 bad usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() { echo "usage: scripts/compare.sh RUN_A RUN_B [--out DIR]"; }
args=() out=""
while [ $# -gt 0 ]; do
    case $1 in
    -h|--help) usage; exit 0 ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -*) echo "compare: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
    esac
done
[ ${#args[@]} -eq 2 ] || { usage >&2; exit 2; }
a=${args[0]} b=${args[1]}
for r in "$a" "$b"; do
    if [ ! -f "$r/summary.csv" ]; then
        echo "compare: $r is not a complete run (no summary.csv)" >&2
        exit 1
    fi
done
command -v gnuplot >/dev/null 2>&1 || {
    echo "compare: gnuplot is missing; install it with: scripts/setup.sh" \
        "(or: apt-get install -y gnuplot-nox)" >&2; exit 1; }
name_a=$(basename "$(cd "$a" && pwd -P)")
name_b=$(basename "$(cd "$b" && pwd -P)")
: "${out:=$here/../results/compare-$name_a-vs-$name_b}"
mkdir -p "$(dirname "$out")"
parent=$(cd "$(dirname "$out")" && pwd)
out=$parent/$(basename "$out")
tmp=$parent/.tmp-$(basename "$out").$$
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
/usr/bin/python3 "$here/report.py" compare "$a" "$b" "$tmp"
rm -rf "$out"
mv -T "$tmp" "$out"
echo
echo "compare: $out/compare.md, chart $out/charts/compare.png"
