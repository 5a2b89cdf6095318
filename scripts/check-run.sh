#!/usr/bin/env bash
# Checks that a run folder of the benchmark suite is complete: CI runs it
# after `make bench-quick`, and scripts/bench.sh runs it on every run before
# publishing it.
#
#   scripts/check-run.sh [RUN_DIR]     (default: results/latest)
#
# What it expects is derived from what the run measured (suite.txt's
# workloads and summary.csv's rows), never from the list of charts the
# report step says it drew, so a chart that silently failed to appear is
# caught: for primes and sum a speedup and an efficiency chart, for primes
# with --gil rows the GIL chart, io-throughput for io, overhead for
# overhead, chunks for chunks.  Each chart must be a PNG that `file`
# recognises with non-zero size and an SVG that ends its <svg> element, and
# report.md must show it; report.md must hold a table for every workload
# (the "<!-- table:NAME -->" marker followed by a Markdown table) and the
# summary; machine.txt must name the CPU, the CPU count and the tools.
# When the suite ran Open MPI (suite.txt: mpi=1), primes and sum must have
# MPI rows, their speedup charts an MPI series, mpi-startup.csv a launch
# and a startup measurement for every rank count, and report.md the
# "<!-- table:mpirun -->" start-up table.
# Exit status: 0 complete, 1 something is missing (each problem listed),
# 2 bad usage.
set -u

case ${1:-} in
-h|--help) sed -n '2,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-*) echo "check-run: unknown option: $1" >&2
    echo "usage: scripts/check-run.sh [RUN_DIR]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: scripts/check-run.sh [RUN_DIR]" >&2; exit 2; }
run=${1:-$(dirname "$0")/../results/latest}
[ -d "$run" ] || { echo "check-run: no such run folder: $run" >&2; exit 1; }

problems=0
problem() { echo "check-run: $run: $*" >&2; problems=$((problems + 1)); }

for f in machine.txt suite.txt summary.csv report.md; do
    [ -s "$run/$f" ] || problem "missing or empty: $f"
done
for key in 'cpu model' 'usable cpus' memory kernel compiler 'compile flags' \
    hyperfine gnuplot 'load average'; do
    grep -q "^$key: ." "$run/machine.txt" 2>/dev/null ||
        problem "machine.txt does not give: $key"
done
if find "$run" -name '*.part*' | grep -q .; then
    problem "half-written files: $(find "$run" -name '*.part*' | head -n 3)"
fi

workloads=$(sed -n 's/^workloads=//p' "$run/suite.txt" 2>/dev/null)
[ -n "$workloads" ] || problem "suite.txt names no workload"
has_rows() {   # bench lang mode variant ('' = any)
    awk -F, -v b="$1" -v l="$2" -v v="$3" \
        'NR > 1 && $1 == b && (l == "" || $2 == l) && (v == "" || $4 == v) \
         { found = 1 } END { exit !found }' "$run/summary.csv" 2>/dev/null
}
has_mode() {   # bench mode
    awk -F, -v b="$1" -v m="$2" 'NR > 1 && $1 == b && $3 == m \
         { found = 1 } END { exit !found }' "$run/summary.csv" 2>/dev/null
}
has_table() {  # NAME: the marker, then a Markdown table with a row
    awk -v m="<!-- table:$1 -->" '
        $0 == m { armed = 1; next }
        armed && head && sep && /^\| .* \|$/ { ok = 1; exit }
        armed && head && /^\|[-:|]+\|$/ { sep = 1; next }
        armed && /^\| .* \|$/ { head = 1; next }
        armed && /^## / { exit }
        END { exit !ok }' "$run/report.md" 2>/dev/null
}
mpi=$(sed -n 's/^mpi=//p' "$run/suite.txt" 2>/dev/null)
charts=()
IFS=, read -ra wls <<<"$workloads"
for wl in "${wls[@]}"; do
    has_rows "$wl" "" "" || { problem "no results for workload $wl"; continue; }
    case $wl in
    primes|sum) charts+=("speedup-$wl" "efficiency-$wl")
        [ "$wl" = primes ] && has_rows primes c gil && charts+=(gil) ;;
    io) charts+=(io-throughput) ;;
    overhead) charts+=(overhead) ;;
    chunks) charts+=(chunks) ;;
    crawl) charts+=(crawl-throughput) ;;
    images) charts+=(speedup-images efficiency-images images-throughput) ;;
    esac
    has_table "$wl" || problem "report.md has no table for $wl"
    if [ "$mpi" = 1 ] && { [ "$wl" = primes ] || [ "$wl" = sum ]; }; then
        has_mode "$wl" mpi || problem "no MPI results for $wl"
        grep -q '^"C MPI ranks' "$run/data/speedup-$wl.dat" 2>/dev/null ||
            problem "the speedup chart of $wl has no MPI series"
    fi
done
ranks=""
if [ "$mpi" = 1 ]; then
    ranks=$(sed -n 's/^mpi_ranks=//p' "$run/suite.txt")
    IFS=, read -ra rl <<<"$ranks"
    for r in "${rl[@]}"; do
        for v in launch startup; do
            awk -F, -v r="$r" -v v="$v" '$1 == "mpirun" && $5 == r &&
                    ($4 == v || $4 == v "+oversub") && $14 == "ok" \
                    { found = 1 } END { exit !found }' \
                "$run/mpi-startup.csv" 2>/dev/null ||
                problem "mpi-startup.csv has no $v time for $r ranks"
        done
    done
    has_table mpirun || problem "report.md has no mpirun start-up table"
fi
grep -q '^## Summary' "$run/report.md" 2>/dev/null ||
    problem "report.md has no summary"

for c in "${charts[@]}"; do
    png=$run/charts/$c.png svg=$run/charts/$c.svg
    if [ ! -s "$png" ]; then
        problem "missing or empty chart: charts/$c.png"
    elif ! file -b "$png" | grep -q '^PNG image data, [0-9]* x [0-9]*'; then
        problem "not a PNG: charts/$c.png ($(file -b "$png"))"
    fi
    if [ ! -s "$svg" ] || ! tail -c 200 "$svg" | grep -q '</svg>'; then
        problem "missing or incomplete SVG: charts/$c.svg"
    fi
    grep -q "](charts/$c.png)" "$run/report.md" 2>/dev/null ||
        problem "report.md does not show charts/$c.png"
done

if [ $problems -gt 0 ]; then
    echo "check-run: $run: $problems problem(s)" >&2
    exit 1
fi
echo "check-run: $run: complete (${#charts[@]} charts, tables for" \
    "$workloads${ranks:+; mpirun start-up for $ranks ranks})"
