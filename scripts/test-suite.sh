#!/usr/bin/env bash
# Tests the benchmark suite itself (scripts/bench.sh, report.py, the gnuplot
# scripts, check-run.sh, compare.sh) end to end, against scripts/
# mockbench.py instead of the real programs: the mock speaks the same record
# contract but only sleeps, so the whole pipeline runs in seconds and the
# test does not depend on the machine's speed.  It checks the promises
# bench.sh makes: bad options exit 2; a missing tool is named with its
# install command; a benchmark failing its check stops the suite showing
# the command and leaves no run; Ctrl-C (SIGINT) and SIGTERM leave no
# process and no half-built folder; a complete run has every chart and
# table, and results/latest points at it; check-run.sh notices a broken
# chart or a missing table; compare.sh compares two runs; with Open MPI (a
# mock mpirun, MPIRUN=mockbench.py as "mpirun") the MPI ranks are run,
# matched to their records, charted with oversubscribed points flagged, and
# mpirun's start-up is tabulated; without it the suite says so and goes on.
#
#   scripts/test-suite.sh         prints "ok N - ..." per check, exit 0 if all
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scratch=$(mktemp -d /tmp/poolbench-suite-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$scratch/bin" "$scratch/py" "$scratch/results"
for p in primes sum io overhead chunks; do
    ln -s "$here/mockbench.py" "$scratch/bin/$p"
    ln -s "$here/mockbench.py" "$scratch/py/$p.py"
done
export POOLBENCH_RESULTS=$scratch/results
unset POOLBENCH_BIN MAKELEVEL
small=(--bin "$scratch/bin" --py-dir "$scratch/py" --quick
       --primes-n 20000 --py-primes-n 20000 --sum-n 20000 --py-sum-n 20000
       --chunks-n 20000 --py-chunks-n 20000 --io-tasks 8 --io-delay-ms 1
       --overhead-tasks 100 --py-overhead-tasks 100)

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
    [ -f "$scratch/err" ] && sed 's/^/#   /' "$scratch/err" | tail -n 15
}
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
is_png() { file -b "$1" | grep -q '^PNG image data, [0-9]* x [0-9]*'; }
bench() { "$here/bench.sh" "$@" >"$scratch/out" 2>"$scratch/err"; }
no_mock_left() { ! pgrep -f "$scratch/" >/dev/null; }
no_partial() { ! ls -A "$scratch/results" | grep -q '^\.'; }

# ---- bad usage -----------------------------------------------------------
bench --no-such-option; rc=$?
check "unknown option exits 2" [ $rc -eq 2 ]
check "unknown option is named" \
    grep -q 'unknown option: --no-such-option' "$scratch/err"
bench --workers 0,2; check "--workers 0 exits 2" [ $? -eq 2 ]
bench --workloads primes,nonsense; check "unknown workload exits 2" [ $? -eq 2 ]
bench --rounds; check "option without value exits 2" [ $? -eq 2 ]
bench --help; check "--help exits 0 with the options" \
    grep -q -- '--workloads LIST' "$scratch/out"

# ---- missing tools ---------------------------------------------------------
HYPERFINE=/nonexistent/hyperfine bench "${small[@]}"; rc=$?
check "missing hyperfine exits 1" [ $rc -eq 1 ]
check "missing hyperfine names the install command" \
    grep -q 'apt-get install -y hyperfine' "$scratch/err"
GNUPLOT=/nonexistent/gnuplot bench "${small[@]}"
check "missing gnuplot names the install command" \
    grep -q 'apt-get install -y gnuplot-nox' "$scratch/err"

# ---- dry run ---------------------------------------------------------------
bench "${small[@]}" --dry-run --workloads primes
check "--dry-run lists steps and hyperfine parameter lists" \
    grep -q -- '-L mode procs,threads -L workers 4,2,1' "$scratch/out"
check "--dry-run writes nothing" [ -z "$(ls -A "$scratch/results")" ]

# ---- a complete run ----------------------------------------------------------
bench "${small[@]}" --out "$scratch/results/run-a"; rc=$?
check "a quick run succeeds" [ $rc -eq 0 ]
check "the run folder is in place" [ -f "$scratch/results/run-a/report.md" ]
check "results/latest points at it" \
    [ "$(readlink "$scratch/results/latest")" = run-a ]
check "no temporary folder or file is left" no_partial
check "check-run passes" "$here/check-run.sh" "$scratch/results/run-a"
check "step k of n is printed" grep -q 'step 1 of 11: primes' "$scratch/out"
for c in speedup-primes efficiency-primes gil speedup-sum efficiency-sum \
    io-throughput overhead chunks; do
    check "chart $c is a PNG" is_png "$scratch/results/run-a/charts/$c.png"
done
check "hyperfine's JSON export is kept" \
    grep -q '"parameters"' "$scratch/results/run-a/raw/primes/r1-c-par.json"
check "hyperfine's CSV export is kept" \
    [ -s "$scratch/results/run-a/raw/primes/r1-c-par.csv" ]
check "machine.txt names the CPU count" \
    grep -q '^usable cpus: [0-9]' "$scratch/results/run-a/machine.txt"
# The mock reports modelled kernel times: C threads take exactly half the
# sequential time on 2 workers, Python threads as long.  The statistics
# must find exactly that (speedup column of summary.csv), and the report
# must say who wins.
speed() {
    awk -F, -v b="$1" -v l="$2" -v m="$3" -v w="$4" \
        '$1 == b && $2 == l && $3 == m && $4 == "-" && $5 == w { print $16 }' \
        "$scratch/results/run-a/summary.csv"
}
check "C threads at 2 workers: speedup 2" \
    [ "$(speed primes c threads 2)" = 2.0000 ]
check "C threads at 4 workers on the mock's 2 CPUs: speedup 2" \
    [ "$(speed primes c threads 4)" = 2.0000 ]
check "Python threads at 2 workers: speedup 1" \
    [ "$(speed primes python threads 2)" = 1.0000 ]
check "Karp-Flatt of a perfect speedup is 0" \
    awk -F, '$1 == "primes" && $2 == "c" && $3 == "threads" && $4 == "-" &&
             $5 == 2 { found = 1; exit !($20 == 0) } END { exit !found }' \
        "$scratch/results/run-a/summary.csv"
check "the report names the winner of primes" \
    grep -q 'win primes' "$scratch/results/run-a/report.md"
# Warm-up records are dropped: with --warmup 1 --runs 2 --rounds 2 and one
# record per run, every configuration keeps 2 x 2 samples.
bench "${small[@]}" --workloads primes --no-python --warmup 1 --runs 2 \
    --out "$scratch/results/run-w"
check "warm-up records are not counted" \
    awk -F, 'NR > 1 && $9 != 4 { bad = 1 } END { exit bad }' \
        "$scratch/results/run-w/summary.csv"

# ---- check-run notices damage ----------------------------------------------
cp -r "$scratch/results/run-a" "$scratch/broken"
: >"$scratch/broken/charts/gil.png"
"$here/check-run.sh" "$scratch/broken" 2>"$scratch/err"
check "check-run fails on an empty PNG" [ $? -eq 1 ]
cp -r "$scratch/results/run-a" "$scratch/broken2"
sed -i 's/<!-- table:io -->//' "$scratch/broken2/report.md"
"$here/check-run.sh" "$scratch/broken2" 2>"$scratch/err"
check "check-run fails on a missing table" [ $? -eq 1 ]

# ---- compare -----------------------------------------------------------------
bench "${small[@]}" --workloads primes,io --out "$scratch/results/run-b"
"$here/compare.sh" "$scratch/results/run-a" "$scratch/results/run-b" \
    --out "$scratch/cmp" >"$scratch/out" 2>"$scratch/err"
check "compare.sh succeeds" [ $? -eq 0 ]
check "compare.sh prints ratios" grep -q 'B/A' "$scratch/out"
check "compare.sh plots them" is_png "$scratch/cmp/charts/compare.png"
check "latest moved to the newer run" \
    [ "$(readlink "$scratch/results/latest")" = run-b ]

# ---- Open MPI, through a mock mpirun -------------------------------------------
# A bin folder with MPI programs, and mockbench.py as mpirun.  Ranks: 1, 2
# and one more than this machine's CPUs, which mpi-run.sh must
# oversubscribe (it counts slots with nproc).
mkdir -p "$scratch/mbin/mpi"
for p in primes sum; do
    ln -s "$here/mockbench.py" "$scratch/mbin/$p"
    ln -s "$here/mockbench.py" "$scratch/mbin/mpi/$p"
done
ln -s "$here/mockbench.py" "$scratch/mpirun"
over=$(( $(nproc) + 1 ))
mpi=("${small[@]}" --bin "$scratch/mbin" --workloads primes,sum --no-python
     --mpi-ranks "1,2,$over")
MPIRUN=$scratch/mpirun bench "${mpi[@]}" --dry-run
check "--dry-run lists the MPI runs through mpi-run.sh" \
    grep -q -- "-L variant static,dynamic -L np 1,2,$over '.*/mpi-run.sh -n {np} primes --variant {variant} --workers {np}" \
        "$scratch/out"
MPIRUN=$scratch/mpirun bench "${mpi[@]}" --dry-run --no-mpi; rc=$?
check "--no-mpi leaves them out" \
    eval '[ $rc -eq 0 ] && grep -q "primes --mode seq" "$scratch/out" &&
          ! grep -q mpi-run.sh "$scratch/out"'
MPIRUN=/nonexistent/mpirun bench "${mpi[@]}" --dry-run; rc=$?
check "without mpirun the suite says so and goes on" \
    eval '[ $rc -eq 0 ] && grep -q "mpirun not found: the Open MPI runs" \
        "$scratch/err" && ! grep -q mpi-run.sh "$scratch/out"'
MPIRUN=$scratch/mpirun bench "${mpi[@]}" --out "$scratch/results/run-m"
check "a run with MPI ranks succeeds" [ $? -eq 0 ]
m_sum=$scratch/results/run-m/summary.csv
mrow() {   # bench variant ranks column
    awk -F, -v b="$1" -v v="$2" -v w="$3" -v col="$4" \
        '$1 == b && $2 == "c" && $3 == "mpi" && $4 == v && $5 == w \
         { print $col }' "$m_sum"
}
check "MPI records are matched to their commands, each variant" \
    eval '[ -n "$(mrow primes static 2 1)" ] &&
          [ -n "$(mrow primes dynamic 2 1)" ] &&
          [ -n "$(mrow sum local 2 1)" ]'
check "MPI ranks at 2: speedup 2 against C sequential" \
    [ "$(mrow primes static 2 16)" = 2.0000 ]
check "oversubscribed ranks are flagged, the others not" \
    eval '[ "$(mrow primes static "$over" 21)" = 1 ] &&
          [ "$(mrow primes static 2 21)" = 0 ]'
check "the speedup chart has the MPI series and rings oversubscribed points" \
    eval 'grep -q "^\"C MPI ranks (static)\"" \
              "$scratch/results/run-m/data/speedup-primes.dat" &&
          grep -q "^$over .* 1\$" \
              "$scratch/results/run-m/data/speedup-primes.dat"'
check "mpirun start-up is measured for every rank count" \
    eval '[ "$(cut -d, -f1,4,5 "$scratch/results/run-m/mpi-startup.csv" |
              sed "s/+oversub//" | sort -u | wc -l)" = 6 ]'
check "the report tabulates mpirun start-up" \
    grep -q '^<!-- table:mpirun -->' "$scratch/results/run-m/report.md"
check "check-run passes on the MPI run" \
    "$here/check-run.sh" "$scratch/results/run-m"
cp -r "$scratch/results/run-m" "$scratch/broken3"
sed -i '/^mpirun,c,mpi,startup,2,/d' "$scratch/broken3/mpi-startup.csv"
"$here/check-run.sh" "$scratch/broken3" 2>"$scratch/err"
check "check-run fails on a missing start-up time" [ $? -eq 1 ]
check "report.py reads mpi-run.sh's options, hostfile and all" \
    eval '[ "$(PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c "
import sys; sys.path.insert(0, sys.argv[1]); import report
c = report.parse_command(sys.argv[2])
print(c[\"bench\"], c[\"mode\"], c[\"workers\"], c[\"variant\"])" "$here" \
        "/x/mpi-run.sh -n 3 --hostfile h primes --variant dynamic --n 9")" \
        = "primes mpi 3 dynamic" ]'

# ---- a benchmark failing its check -------------------------------------------
MOCKBENCH_FAIL=primes:threads:2 bench "${small[@]}" --workloads primes \
    --out "$scratch/results/run-f"; rc=$?
check "a failed check stops the suite with exit 1" [ $rc -eq 1 ]
check "the failing command is shown" \
    grep -q 'FAILED (exit 1): .*primes --mode threads --workers 2' \
        "$scratch/err"
check "its message is shown" grep -q 'wrong result' "$scratch/err"
check "no run folder is left" [ ! -e "$scratch/results/run-f" ]
check "nothing half-built is left" no_partial

# ---- interruption ----------------------------------------------------------
for sig in INT TERM; do
    # A shell starts background jobs with SIGINT ignored, and bash cannot
    # trap a signal ignored on entry; a terminal's Ctrl-C reaches a
    # foreground bench.sh with SIGINT at its default.  Restore that.
    MOCKBENCH_SLEEP=30 /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$here/bench.sh" "${small[@]}" \
        --workloads primes --out "$scratch/results/run-$sig" \
        >/dev/null 2>"$scratch/err" &
    pid=$!
    for _ in $(seq 100); do
        pgrep -f "$scratch/bin/primes" >/dev/null && break
        sleep 0.1
    done
    kill -"$sig" "$pid"
    wait "$pid"; rc=$?
    want=130; [ $sig = TERM ] && want=143
    check "SIG$sig exits $want" [ $rc -eq $want ]
    check "SIG$sig leaves no benchmark process" no_mock_left
    check "SIG$sig leaves no run folder" [ ! -e "$scratch/results/run-$sig" ]
    check "SIG$sig leaves nothing half-built" no_partial
done

echo "suite tests: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
