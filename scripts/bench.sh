#!/usr/bin/env bash
# The benchmark suite: `make bench` runs this.
#
# It runs every workload (primes, sum, io, overhead, chunks, crawl, images)
# sequentially, with threads and with processes over a range of worker
# counts, in C and in Python, under hyperfine; keeps hyperfine's
# whole-process times (JSON and CSV) and the programs' own in-process
# records (--out); and ends with charts (scripts/*.gp, PNG and SVG) and a
# report (report.md) written by scripts/report.py.  One run is one folder,
# results/<date>-<time>-<host>/.
#
# Open MPI.  When mpirun and the MPI programs (bin/mpi/primes, bin/mpi/sum)
# are there, primes and sum also run as `mpirun -np R` for R ranks
# (--mpi-ranks) through scripts/mpi-run.sh, which adds --oversubscribe
# where R exceeds the CPUs; those records are marked "+oversub" and the
# charts ring them.  The programs' kernel times exclude mpirun's start-up,
# so a last step measures that apart (mpi-run.sh --startup) into
# mpi-startup.csv, for the report's start-up table.  Without Open MPI the
# suite says so and runs the rest.
#
# How it guards against drift.  This machine's speed drifts by 10-20% over
# minutes, and hyperfine runs every repetition of one command before the
# next, so two commands measured minutes apart can differ by the drift alone.
# The suite therefore runs each workload in several short rounds and
# alternates their order (round 1: A B C, round 2: C B A, ...), then pools
# the rounds: every mode is sampled early and late, and the spread that the
# report shows includes the drift instead of hiding it in a ratio.
#
# What it guarantees.  A run is built in results/.tmp-NAME and renamed to
# results/NAME only when everything (charts and report included) is done;
# every file inside is written under a temporary name and renamed; the
# results/latest link is replaced atomically (rename(2)) at the very end.
# Ctrl-C or SIGTERM kills the running benchmark's whole process group
# (hyperfine, the program and any worker it forked), removes the
# half-built folder and exits 130 or 143.  A benchmark that fails its own
# check (exit 1) stops the suite, showing the failing command and its
# message.  Run with --help for the options; scripts/test-suite.sh tests
# these promises against a mock program (scripts/mockbench.py).
set -euo pipefail
set +m     # no job control: a background child stays a non-leader (setsid)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
prog=bench

usage() {
    cat <<EOF
usage: scripts/bench.sh [options]          (make bench / make bench-quick)
       scripts/bench.sh --report-only DIR  (redo charts and report.md of a run)
       scripts/compare.sh RUN_A RUN_B      (compare two runs)

Runs the benchmark programs under hyperfine, sequential, threaded and
forked over a range of worker counts, in C and Python, and primes and sum
on Open MPI ranks when it is installed, and writes one run folder with
raw data, charts (PNG+SVG) and report.md.

Selection:
  --quick               small sizes and few samples: the whole pipeline in
                        under a minute (what CI runs)
  --workloads LIST      comma list of primes,sum,io,overhead,chunks,
                        crawl,images
                        (default: all of them)
  --workers LIST        worker counts for the CPU-bound workloads
                        (default: 1,2,4,... up to at least 2 x usable CPUs;
                        here: $(default_workers cpu))
  --io-workers LIST     worker counts for io (default: 1,2,4,... up to 64
                        or 2 x CPUs; here: $(default_workers io))
  --no-python           skip the Python twins (benchmarks/python/*.py)
  --mpi-ranks LIST      MPI ranks for primes and sum (mpirun -np R), more
                        than the CPUs is oversubscribed (default: as
                        --workers; --quick: 1,2)
  --no-mpi              leave out the Open MPI runs (skipped anyway, with
                        a note, when Open MPI is not installed)
Sizes (defaults in brackets; --quick uses smaller ones):
  --primes-n N          primes below N, C [$d_primes_n]
  --py-primes-n N       primes below N, Python [$d_py_primes_n]
  --sum-n N             64-bit values to sum, C [$d_sum_n]
  --py-sum-n N          values to sum, Python [$d_py_sum_n]
  --io-tasks T          io tasks [$d_io_tasks]
  --io-delay-ms D       io sleep per task, ms [$d_io_delay]
  --crawl-pages N       pages in the crawl's site [$d_crawl_pages]
  --crawl-delay-ms D    crawl server delay per response, ms [$d_crawl_delay]
  --images-n M          images to convert [$d_images_n]
  --overhead-tasks T    overhead bulk tasks, C [$d_oh_tasks]; round trips
                        T/20 (at least 100), map items 100 T
  --py-overhead-tasks T overhead tasks, Python [$d_py_oh_tasks]
  --chunks-n N          primes bound for the chunk sweep, C [$d_chunks_n]
  --py-chunks-n N       primes bound for the chunk sweep, Python
                        [$d_py_chunks_n]
Sampling:
  --rounds K            interleaved hyperfine rounds per workload [$d_rounds]
  --runs N              hyperfine runs per command per round
                        [$d_runs; overhead and chunks 1]
  --warmup N            hyperfine warm-up runs per command per round
                        [$d_warmup; sum, overhead and chunks 0]
  --repeat R            in-process kernel repetitions per run
                        [sum and images 3; overhead 5 (a pool's first
                        runs pay for fresh memory: the median is the
                        steady state); 1]
  --mpi-startup-repeat K  times each mpirun start-up is measured
                        [$d_mpi_startup_repeat]
Output:
  --out DIR             the run folder (default results/DATE-TIME-HOST);
                        e.g. --out results/reference
  --force               replace DIR if it exists
  --keep-failed         keep a failed run (not an interrupted one) as
                        .failed-NAME beside DIR, to inspect
  --bin DIR             benchmark programs (default: build/release/bin,
                        built first with make; or \$POOLBENCH_BIN)
  --python PATH         Python for the twins [/usr/bin/python3]
  --py-dir DIR          the Python twins [benchmarks/python]
  --dry-run             print the steps and commands, run nothing
  --report-only DIR     re-make charts and report.md of an existing run
  -h, --help            this text

Environment: POOLBENCH_BIN (as --bin), POOLBENCH_RESULTS (where runs and
the latest link go; default results/), HYPERFINE, GNUPLOT and MPIRUN (the
tools), MPIRUN_ARGS (extra mpirun options, see scripts/mpi-run.sh).

Exit status: 0 done; 1 a benchmark or a tool failed (shown); 2 bad usage;
130/143 interrupted (nothing left running, no partial run kept).
EOF
}

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
bad_usage() {
    printf '%s: %s\n' "$prog" "$*" >&2
    echo "usage: scripts/bench.sh [--quick] [--workloads LIST]" \
        "[--workers LIST] ... (see --help)" >&2
    exit 2
}

# ---- the machine -------------------------------------------------------

# Usable CPUs: the affinity mask (nproc) capped by a cgroup v2 CPU quota,
# which is what a container's "2 CPUs" really is.
usable_cpus() {
    local n q p
    n=$(nproc 2>/dev/null || echo 1)
    if [ -r /sys/fs/cgroup/cpu.max ]; then
        read -r q p </sys/fs/cgroup/cpu.max || true
        if [ "${q:-max}" != max ] && [ "${p:-0}" -gt 0 ]; then
            q=$(( (q + p - 1) / p ))
            [ "$q" -lt "$n" ] && n=$q
        fi
    fi
    echo "$n"
}
ncpu=$(usable_cpus)

# 1,2,4,... up to the first power of two >= 2 x CPUs (for io: >= 64 too),
# plus the CPU count itself when it is not a power of two.
default_workers() {
    local top=$((2 * ncpu)) w=1 list=""
    [ "$1" = io ] && [ "$top" -lt 64 ] && top=64
    while :; do
        list+="${list:+,}$w"
        if [ "$w" -lt "$ncpu" ] && [ $((w * 2)) -gt "$ncpu" ]; then
            list+=",$ncpu"
        fi
        [ "$w" -ge "$top" ] && break
        w=$((w * 2))
    done
    echo "$list"
}

# ---- defaults ------------------------------------------------------------
# Sizes measured on the 2-core machine this was written on: a sequential C
# primes kernel of about 0.25 s (long enough to dwarf process start-up and
# the pool's set-up); Python, some 30 times slower per number, gets a
# smaller bound for about 0.35 s.  sum's kernel is short (memory-bound,
# about 12 ms for 10M values) next to filling the array, hence
# several in-process repetitions per run (repeat_for below).  io: 64 tasks
# of 5 ms, 0.32 s sequentially.  chunks sweeps nine chunk sizes from 1 per
# process, and Python's ThreadPoolExecutor submits every item as a task
# whatever the chunk size (about 30 us each), hence Python's small bound.  overhead: fork-per-task costs about 1 ms
# per task in C and 7 ms in Python, so Python gets few tasks.  With these
# the default suite takes about four minutes on 2 cores.
d_primes_n=1000000   d_py_primes_n=200000
d_sum_n=10000000     d_py_sum_n=5000000
d_io_tasks=64        d_io_delay=5
d_crawl_pages=200    d_crawl_delay=10     d_images_n=32
d_oh_tasks=100000    d_py_oh_tasks=300
d_chunks_n=100000    d_py_chunks_n=10000
d_rounds=3 d_runs=2 d_warmup=1
# mpirun's start-up (about 0.35 s for 2 ranks here) is measured this many
# times per rank count, the launcher alone and an empty MPI program.
d_mpi_startup_repeat=5
# --quick: the same pipeline, each number cut down.
q_primes_n=200000    q_py_primes_n=30000
q_sum_n=2000000      q_py_sum_n=1000000
q_io_tasks=16        q_io_delay=2
q_crawl_pages=40     q_crawl_delay=2      q_images_n=6
q_oh_tasks=300       q_py_oh_tasks=50
q_chunks_n=50000     q_py_chunks_n=3000
q_rounds=2 q_runs=1 q_warmup=0
q_mpi_startup_repeat=3

all_workloads=primes,sum,io,overhead,chunks,crawl,images

# ---- options ---------------------------------------------------------------
quick=0 dry=0 force=0 python_on=1 mpi_on=1 report_only="" keep_failed=0
workloads="" workers="" io_workers="" mpi_ranks="" out=""
bin="${POOLBENCH_BIN:-}" pydir=""
py=/usr/bin/python3
declare -A set_opt=()

is_count() { [[ $1 =~ ^[1-9][0-9]{0,9}$ ]]; }
is_list() { [[ $1 =~ ^[1-9][0-9]{0,5}(,[1-9][0-9]{0,5})*$ ]]; }

while [ $# -gt 0 ]; do
    opt=$1 val=""
    case $opt in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; set -- "$opt" "$val" "${@:2}" ;;
    esac
    case $opt in
    -h|--help) usage; exit 0 ;;
    --quick) quick=1; shift; continue ;;
    --no-python) python_on=0; shift; continue ;;
    --no-mpi) mpi_on=0; shift; continue ;;
    --dry-run) dry=1; shift; continue ;;
    --force) force=1; shift; continue ;;
    --keep-failed) keep_failed=1; shift; continue ;;
    --workloads|--workers|--io-workers|--mpi-ranks|--out|--bin|--python|\
    --py-dir|--mpi-startup-repeat|\
    --report-only|\
    --primes-n|--py-primes-n|--sum-n|--py-sum-n|--io-tasks|--io-delay-ms|\
    --crawl-pages|--crawl-delay-ms|--images-n|\
    --overhead-tasks|--py-overhead-tasks|--chunks-n|--py-chunks-n|\
    --rounds|--runs|\
    --warmup|--repeat)
        [ $# -ge 2 ] && [ -n "$2" ] || bad_usage "$opt needs a value"
        val=$2; shift 2 ;;
    *) bad_usage "unknown option: $opt" ;;
    esac
    case $opt in
    --workloads)
        workloads=$val
        IFS=, read -ra wl_check <<<"$val"
        [ ${#wl_check[@]} -gt 0 ] || bad_usage "--workloads: empty list"
        for w in "${wl_check[@]}"; do
            [[ ,$all_workloads, == *,$w,* ]] ||
                bad_usage "--workloads: unknown workload '$w'" \
                    "(known: $all_workloads)"
        done ;;
    --workers|--io-workers|--mpi-ranks)
        is_list "$val" || bad_usage "$opt: not a comma list of counts: $val"
        case $opt in
        --workers) workers=$val ;;
        --io-workers) io_workers=$val ;;
        *) mpi_ranks=$val ;;
        esac ;;
    --out) out=$val ;;
    --bin) bin=$val ;;
    --python) py=$val ;;
    --py-dir) pydir=$val ;;
    --report-only) report_only=$val ;;
    --warmup)
        [[ $val =~ ^[0-9]{1,3}$ ]] || bad_usage "--warmup: not a count: $val"
        set_opt[warmup]=$val ;;
    *)
        is_count "$val" || bad_usage "$opt: not a positive count: $val"
        key=${opt#--}; key=${key//-/_}
        set_opt[$key]=$val ;;
    esac
done

# Sizes: an explicit option wins, then --quick's value, then the default.
pick() {
    local key=$1 d=$2 q=$3
    if [ -n "${set_opt[$key]:-}" ]; then echo "${set_opt[$key]}"
    elif [ $quick = 1 ]; then echo "$q"
    else echo "$d"; fi
}
primes_n=$(pick primes_n $d_primes_n $q_primes_n)
py_primes_n=$(pick py_primes_n $d_py_primes_n $q_py_primes_n)
sum_n=$(pick sum_n $d_sum_n $q_sum_n)
py_sum_n=$(pick py_sum_n $d_py_sum_n $q_py_sum_n)
io_tasks=$(pick io_tasks $d_io_tasks $q_io_tasks)
io_delay=$(pick io_delay_ms $d_io_delay $q_io_delay)
crawl_pages=$(pick crawl_pages $d_crawl_pages $q_crawl_pages)
crawl_delay=$(pick crawl_delay_ms $d_crawl_delay $q_crawl_delay)
images_n=$(pick images_n $d_images_n $q_images_n)
oh_tasks=$(pick overhead_tasks $d_oh_tasks $q_oh_tasks)
# Round trips: a twentieth of the bulk tasks (at least 100, at most all);
# map: a hundred times as many items.
oh_rt_tasks=$(( oh_tasks / 20 > 100 ? oh_tasks / 20 : 100 ))
if [ "$oh_rt_tasks" -gt "$oh_tasks" ]; then oh_rt_tasks=$oh_tasks; fi
oh_map_tasks=$(( oh_tasks * 100 ))
py_oh_tasks=$(pick py_overhead_tasks $d_py_oh_tasks $q_py_oh_tasks)
chunks_n=$(pick chunks_n $d_chunks_n $q_chunks_n)
py_chunks_n=$(pick py_chunks_n $d_py_chunks_n $q_py_chunks_n)
rounds=$(pick rounds $d_rounds $q_rounds)
runs=$(pick runs $d_runs $q_runs)
warmup=$(pick warmup $d_warmup $q_warmup)
mpi_startup_repeat=$(pick mpi_startup_repeat $d_mpi_startup_repeat \
    $q_mpi_startup_repeat)
: "${workloads:=$all_workloads}"
# MPI ranks: --mpi-ranks, else the --workers given, else (--quick) 1 and
# 2 ranks, since every mpirun costs a few tenths of a second of start-up,
# else the default worker counts.
if [ -z "$mpi_ranks" ]; then
    if [ -n "$workers" ]; then mpi_ranks=$workers
    elif [ $quick = 1 ]; then mpi_ranks=1,2
    fi
fi
if [ -z "$workers" ]; then
    workers=$(default_workers cpu)
    [ $quick = 1 ] && workers=1,2,$((2 * ncpu))
fi
: "${mpi_ranks:=$workers}"
if [ -z "$io_workers" ]; then
    io_workers=$(default_workers io)
    [ $quick = 1 ] && io_workers=1,4,16
fi
# A list without repeats, in the order given.
workers=$(tr , '\n' <<<"$workers" | awk '!seen[$0]++' | paste -sd,)
io_workers=$(tr , '\n' <<<"$io_workers" | awk '!seen[$0]++' | paste -sd,)
mpi_ranks=$(tr , '\n' <<<"$mpi_ranks" | awk '!seen[$0]++' | paste -sd,)

# ---- dependencies ----------------------------------------------------------
need() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    printf '%s: %s is missing; install it with: scripts/setup.sh\n' \
        "$prog" "${cmd##*/}" >&2
    printf '%s:   (or, as root: apt-get install -y %s)\n' "$prog" "$pkg" >&2
    exit 1
}
# HYPERFINE and GNUPLOT name other binaries (a newer hyperfine, say).
hyperfine=${HYPERFINE:-hyperfine}
gnuplot=${GNUPLOT:-gnuplot}
export GNUPLOT=$gnuplot
need "$gnuplot" gnuplot-nox
need file file
[ -x /usr/bin/python3 ] || need /usr/bin/python3 python3

report() {
    /usr/bin/python3 "$here/report.py" "$@"
}

if [ -n "$report_only" ]; then
    [ -d "$report_only" ] ||
        die "--report-only: no such run folder: $report_only"
    report analyze "$report_only"
    exec "$here/check-run.sh" "$report_only"
fi

need "$hyperfine" hyperfine

# ---- the programs ------------------------------------------------------------
if [ -z "$bin" ]; then
    bin=$root/build/release/bin
    # Under `make bench` the Makefile has built everything already.
    if [ -z "${MAKELEVEL:-}" ] && [ $dry = 0 ]; then
        echo "$prog: building (make) ..."
        make -s -C "$root" all >/dev/null || die "make failed"
    fi
fi
bin=$(cd "$bin" 2>/dev/null && pwd) ||
    die "no benchmark programs in $bin (run make)"
pydir=${pydir:-$root/benchmarks/python}
if [ $python_on = 1 ] && [ ! -x "$py" ]; then
    die "--python: $py is not executable"
fi

have_c() { [ -x "$bin/$1" ]; }
have_py() { [ $python_on = 1 ] && [ -f "$pydir/$1.py" ]; }
# mpirun as scripts/mpi-run.sh finds it: MPIRUN, else PATH.  mpi-run.sh
# finds the MPI programs through POOLBENCH_BIN.
mpirun=${MPIRUN:-mpirun}
have_mpirun() { command -v "$mpirun" >/dev/null 2>&1; }
have_mpi() { [ $mpi_on = 1 ] && [ -x "$bin/mpi/$1" ] && have_mpirun; }
export POOLBENCH_BIN=$bin
mpi_run=$(printf '%q' "$here/mpi-run.sh")

# ---- the run folder ----------------------------------------------------------
# POOLBENCH_RESULTS: where runs and the latest link go (the self-test
# points it at a scratch folder).
results_dir=${POOLBENCH_RESULTS:-$root/results}
host=$(hostname -s 2>/dev/null || hostname)
stamp=$(date -u +%Y-%m-%d-%H%M)
if [ -z "$out" ]; then
    # A second run in the same minute gets -2, -3, ...
    out=$results_dir/$stamp-$host
    i=2
    while [ -e "$out" ] || compgen -G "$results_dir/.tmp-${out##*/}.*" \
        >/dev/null; do
        out=$results_dir/$stamp-$host-$i
        i=$((i + 1))
    done
fi
out_parent=$(dirname "$out")
out_name=$(basename "$out")
mkdir -p "$out_parent"
out_parent=$(cd "$out_parent" && pwd)
out=$out_parent/$out_name
if [ -e "$out" ] && [ $force = 0 ]; then
    die "$out exists; pick another --out or add --force to replace it"
fi
tmp=$out_parent/.tmp-$out_name.$$

# ---- the commands ----------------------------------------------------------
# A group is one hyperfine call: "ID|PARAMS|COMMAND".  PARAMS is
# "name=v1,v2;name=v1,v2" (hyperfine -L lists, empty for a single command);
# COMMAND has {name} placeholders and @OUT@ for the records file.
q() { printf '%q' "$1"; }
groups_for() {
    local wl=$1 c py_cmd repeat
    repeat=$(repeat_for "$wl")
    c=$(q "$bin/$wl")
    py_cmd="$(q "$py") $(q "$pydir/$wl.py")"
    case $wl in
    primes)
        if have_c primes; then
            echo "c-seq||$c --mode seq --n $primes_n --repeat $repeat" \
                "--out @OUT@"
            echo "c-par|mode=threads,procs;workers=$workers|$c --mode {mode}" \
                "--workers {workers} --n $primes_n --repeat $repeat --out @OUT@"
            echo "c-gil|workers=$workers|$c --mode threads --gil" \
                "--workers {workers} --n $primes_n --repeat $repeat --out @OUT@"
        fi
        if have_mpi primes; then
            echo "c-mpi|variant=static,dynamic;np=$mpi_ranks|$mpi_run" \
                "-n {np} primes --variant {variant} --workers {np}" \
                "--n $primes_n --repeat $repeat --out @OUT@"
        fi
        if have_py primes; then
            echo "py-seq||$py_cmd --mode seq --n $py_primes_n" \
                "--repeat $repeat --out @OUT@"
            echo "py-par|mode=threads,procs;workers=$workers|$py_cmd" \
                "--mode {mode} --workers {workers} --n $py_primes_n" \
                "--repeat $repeat --out @OUT@"
        fi ;;
    sum)
        if have_c sum; then
            echo "c-seq||$c --mode seq --n $sum_n --repeat $repeat --out @OUT@"
            echo "c-par|mode=threads,procs;workers=$workers|$c --mode {mode}" \
                "--workers {workers} --n $sum_n --repeat $repeat --out @OUT@"
            echo "c-copy|workers=$workers|$c --mode procs --copy" \
                "--workers {workers} --n $sum_n --repeat $repeat --out @OUT@"
        fi
        if have_mpi sum; then
            echo "c-mpi|variant=static,dynamic,local;np=$mpi_ranks|$mpi_run" \
                "-n {np} sum --variant {variant} --workers {np}" \
                "--n $sum_n --repeat $repeat --out @OUT@"
        fi
        if have_py sum; then
            echo "py-seq||$py_cmd --mode seq --n $py_sum_n" \
                "--repeat $repeat --out @OUT@"
            echo "py-par|mode=threads,procs;workers=$workers|$py_cmd" \
                "--mode {mode} --workers {workers} --n $py_sum_n" \
                "--repeat $repeat --out @OUT@"
        fi ;;
    io)
        local io_args="--tasks $io_tasks --delay-ms $io_delay"
        if have_c io; then
            echo "c-seq||$c --mode seq $io_args --repeat $repeat --out @OUT@"
            echo "c-par|mode=threads,procs;workers=$io_workers|$c" \
                "--mode {mode} --workers {workers} $io_args" \
                "--repeat $repeat --out @OUT@"
        fi
        if have_py io; then
            echo "py-seq||$py_cmd --mode seq $io_args --repeat $repeat" \
                "--out @OUT@"
            echo "py-par|mode=threads,procs;workers=$io_workers|$py_cmd" \
                "--mode {mode} --workers {workers} $io_args" \
                "--repeat $repeat --out @OUT@"
        fi ;;
    overhead)
        if have_c overhead; then
            # One group per variant, each with its own task count: a
            # round trip costs ~100 times a bulk task (two wake-ups), and
            # map items are ~100 times cheaper still.  The issue's figures
            # are for 10^5 bulk tasks and 10^7 map items.
            local vt v t
            for vt in "bulk $oh_tasks" "roundtrip $oh_rt_tasks" \
                      "map $oh_map_tasks"; do
                read -r v t <<<"$vt"
                echo "c-$v||$c --mode all --variant $v --workers $ncpu" \
                    "--tasks $t --repeat $repeat --out @OUT@"
            done
        fi
        if have_py overhead; then
            echo "py-all|variant=bulk,roundtrip,map|$py_cmd --mode all" \
                "--variant {variant} --workers $ncpu --tasks $py_oh_tasks" \
                "--repeat $repeat --out @OUT@"
        fi ;;
    crawl)
        local crawl_args="--pages $crawl_pages --delay-ms $crawl_delay"
        if have_c crawl; then
            echo "c-seq||$c --mode seq $crawl_args --repeat $repeat" \
                "--out @OUT@"
            echo "c-par|workers=$io_workers|$c --mode threads" \
                "--workers {workers} $crawl_args --repeat $repeat --out @OUT@"
        fi ;;
    images)
        local img_args="--images $images_n"
        [ $quick = 1 ] && img_args+=" --max-side 256"
        if have_c images; then
            echo "c-seq||$c --mode seq $img_args --repeat $repeat --out @OUT@"
            echo "c-par|mode=threads,procs;workers=$workers|$c --mode {mode}" \
                "--workers {workers} $img_args --repeat $repeat --out @OUT@"
        fi ;;
    chunks)
        if have_c chunks; then
            echo "c-seq||$c --mode seq --n $chunks_n --repeat $repeat" \
                "--out @OUT@"
            echo "c-par|mode=threads,procs|$c --mode {mode}" \
                "--workers $ncpu --n $chunks_n --repeat $repeat --out @OUT@"
        fi
        if have_py chunks; then
            echo "py-seq||$py_cmd --mode seq --n $py_chunks_n" \
                "--repeat $repeat --out @OUT@"
            echo "py-par|mode=threads,procs|$py_cmd --mode {mode}" \
                "--workers $ncpu --n $py_chunks_n --repeat $repeat" \
                "--out @OUT@"
        fi ;;
    esac
}

# In-process repetitions per run: --repeat, or a few for the workloads
# whose set-up (filling an array, starting a pool) costs far more than
# their kernel, so that each process start buys several samples.
repeat_for() {
    if [ -n "${set_opt[repeat]:-}" ]; then echo "${set_opt[repeat]}"
    else case $1 in sum|images) echo 3 ;; overhead) echo 5 ;;
                    *) echo 1 ;; esac; fi
}

# Reverses a comma list: round 2 runs the commands in the opposite order.
rev_list() { tr , '\n' <<<"$1" | tac | paste -sd,; }

# Every command of a group in hyperfine's order (the first -L list varies
# fastest), one per line; used to find the command that failed.
expand_group() {
    local params=$1 cmd=$2 lists=() i
    local -a cmds=("$cmd") next
    [ -n "$params" ] && IFS=';' read -ra lists <<<"$params"
    for ((i = ${#lists[@]} - 1; i >= 0; i--)); do
        local name=${lists[i]%%=*} vals v c
        IFS=, read -ra vals <<<"${lists[i]#*=}"
        next=()
        for c in "${cmds[@]}"; do
            for v in "${vals[@]}"; do next+=("${c//\{$name\}/$v}"); done
        done
        cmds=("${next[@]}")
    done
    printf '%s\n' "${cmds[@]}"
}

# ---- running children safely ------------------------------------------------
# Each benchmark runs in its own session and process group (setsid), so a
# signal to the suite can take down that whole group: hyperfine, the
# benchmark program and every worker process the program forked.  Without
# job control the background child is not a group leader, so setsid(1)
# does not fork and $! is the group's id.
#
# The session too: mpirun puts every MPI rank in a process group of its
# own, but the ranks stay in the session that setsid started, whose id is
# also $child; pkill -s reaches them if mpirun is killed before it could
# stop them itself.
child=""
signal_child() {
    kill -"$1" -- "-$child" 2>/dev/null || true
    if command -v pkill >/dev/null 2>&1; then
        pkill -"$1" -s "$child" 2>/dev/null || true
    fi
}
child_alive() {
    kill -0 -- "-$child" 2>/dev/null ||
        { command -v pgrep >/dev/null 2>&1 && pgrep -s "$child" >/dev/null; }
}
kill_child() {
    [ -n "$child" ] || return 0
    signal_child TERM
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        child_alive || break
        sleep 0.1
    done
    signal_child KILL
    wait "$child" 2>/dev/null || true
    child=""
}
on_signal() {
    local sig=$1 code=$2
    trap '' INT TERM
    printf '\n%s: %s: stopping\n' "$prog" "$sig" >&2
    kill_child
    rm -rf "$tmp"
    echo "$prog: interrupted; no benchmark left running," \
        "partial run removed" >&2
    exit "$code"
}
on_exit() {
    local rc=$?
    kill_child
    if [ -d "$tmp" ] && [ $rc -ne 0 ]; then
        if [ $keep_failed = 1 ]; then
            rm -rf "$out_parent/.failed-$out_name"
            mv -T "$tmp" "$out_parent/.failed-$out_name"
            echo "$prog: the failed run is in $out_parent/.failed-$out_name" >&2
        else
            rm -rf "$tmp"
            echo "$prog: run not kept (nothing under $out_parent changed)" >&2
        fi
    fi
}
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM
trap on_exit EXIT

# Runs "$@" in a new process group and waits; returns its status.  The wait
# returns early when a trapped signal arrives, and the trap then runs.
run_child() {
    run_child_in . "$@"
}
run_child_in() {
    local dir=$1
    shift
    (cd "$dir" && exec setsid "$@") &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=""
    return $rc
}

# ---- output helpers ----------------------------------------------------------
log() {
    printf '%s\n' "$*"
    [ -d "$tmp" ] && printf '%s\n' "$*" >>"$tmp/log.txt"
    return 0
}
# Writes stdin to FILE through a temporary name and a rename.
write_file() {
    local f=$1
    cat >"$f.part.$$"
    mv -f "$f.part.$$" "$f"
}

machine_txt() {
    local cpu mem flags objroot gov rev
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    [ -n "$cpu" ] || cpu=$(uname -m)
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    objroot=$(dirname "$(dirname "$bin")")
    flags=$(make -s -n -B -C "$root" O="$objroot" \
        "$(dirname "$bin")/obj/benchmarks/primes.o" 2>/dev/null |
        grep -m 1 -- ' -c ' | sed 's/ -MMD -MP//; s/ -c -o .*//') || true
    echo "host: $host"
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "cpu model: $cpu"
    echo "usable cpus: $ncpu"
    echo "online cpus: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"
    if [ -r /sys/fs/cgroup/cpu.max ]; then
        echo "cgroup cpu.max: $(cat /sys/fs/cgroup/cpu.max)"
    fi
    gov=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
    [ -r $gov ] && echo "cpu governor: $(cat $gov)"
    echo "memory: $mem"
    echo "kernel: $(uname -srm)"
    echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "compiler: $(cc --version 2>/dev/null | head -n 1)"
    echo "compile flags: ${flags:-unknown}"
    echo "hyperfine: $("$hyperfine" --version)"
    echo "gnuplot: $("$gnuplot" --version)"
    echo "python: $("$py" --version 2>&1)"
    echo "numpy: $("$py" -c 'import numpy; print(numpy.__version__)' \
        2>/dev/null || echo none)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    # Read-only git queries: which commit, and whether the tree differs.
    rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] &&
        rev+=" (with uncommitted changes)"
    echo "source: $rev"
}

suite_txt() {
    echo "name=$out_name"
    echo "quick=$quick"
    echo "workloads=$run_workloads"
    echo "skipped=$skipped"
    echo "workers=$workers"
    echo "io_workers=$io_workers"
    echo "ncpu=$ncpu"
    echo "rounds=$rounds"
    echo "runs=$runs"
    echo "warmup=$warmup"
    echo "repeat=$(for w in ${all_workloads//,/ }; do
        printf '%s:%s,' "$w" "$(repeat_for "$w")"; done | sed 's/,$//')"
    echo "primes_n=$primes_n"
    echo "py_primes_n=$py_primes_n"
    echo "sum_n=$sum_n"
    echo "py_sum_n=$py_sum_n"
    echo "io_tasks=$io_tasks"
    echo "io_delay_ms=$io_delay"
    echo "crawl_pages=$crawl_pages"
    echo "crawl_delay_ms=$crawl_delay"
    echo "images_n=$images_n"
    echo "overhead_tasks=$oh_tasks"
    echo "overhead_roundtrip_tasks=$oh_rt_tasks"
    echo "overhead_map_items=$oh_map_tasks"
    echo "py_overhead_tasks=$py_oh_tasks"
    echo "chunks_n=$chunks_n"
    echo "py_chunks_n=$py_chunks_n"
    echo "python=$python_on"
    echo "mpi=$mpi_used"
    echo "mpi_ranks=$mpi_ranks"
    echo "mpi_startup_repeat=$mpi_startup_repeat"
    echo "bin=$bin"
}

# ---- one round ------------------------------------------------------------
# Shows which command of a failed hyperfine call fails, by running each once
# more in the open, and stops the suite.
explain_failure() {
    local params=$1 cmd=$2 c rc
    log "$prog: a benchmark failed; finding the failing command ..."
    while IFS= read -r c; do
        c=${c// --out @OUT@/}
        rc=0
        run_child bash -c "$c" >"$tmp/fail.out" 2>&1 || rc=$?
        if [ $rc -ne 0 ]; then
            {
                echo "$prog: FAILED (exit $rc): $c"
                sed 's/^/    /' "$tmp/fail.out"
            } >&2
            exit 1
        fi
    done < <(expand_group "$params" "$cmd")
    echo "$prog: hyperfine failed on: ${cmd//@OUT@/FILE}" \
        "(with ${params:-no parameters}), but every command passed when" \
        "run again: an intermittent failure" >&2
    exit 1
}

# The hyperfine calls of round R of a workload, one "ID|PARAMS|COMMAND" per
# line: the groups in forward order on odd rounds, and on even rounds
# backward, groups and parameter values alike, so every command runs early
# in one round and late in the next.
round_plan() {
    local wl=$1 r=$2 gid params cmd p lists out
    groups_for "$wl" | { [ $((r % 2)) = 0 ] && tac || cat; } |
    while IFS='|' read -r gid params cmd; do
        out=""
        if [ -n "$params" ]; then
            IFS=';' read -ra lists <<<"$params"
            for p in "${lists[@]}"; do
                if [ $((r % 2)) = 0 ]; then
                    out+="${out:+;}${p%%=*}=$(rev_list "${p#*=}")"
                else
                    out+="${out:+;}$p"
                fi
            done
        fi
        printf '%s|%s|%s\n' "$gid" "$out" "$cmd"
    done
}

# hyperfine's warm-up and measured runs per command and round: --warmup
# and --runs; by default no warm-up run for the workloads whose processes
# already time many kernels each (sum: --repeat; overhead: every
# implementation, interleaved; chunks: every chunk size), so that the
# suite's time goes into measured runs, and one run per round for overhead
# and chunks.
warmup_for() {
    if [ -z "${set_opt[warmup]:-}" ]; then
        case $1 in sum|overhead|chunks) echo 0; return ;; esac
    fi
    echo "$warmup"
}
runs_for() {
    if [ -z "${set_opt[runs]:-}" ]; then
        case $1 in overhead|chunks) echo 1; return ;; esac
    fi
    echo "$runs"
}

# hyperfine's options for one call of workload $1: warm-up, runs, the
# parameter lists $2.
hf_args() {
    local wl=$1 params=$2 p lists=()
    hf=(-N --warmup "$(warmup_for "$wl")" --runs "$(runs_for "$wl")")
    [ -t 1 ] || hf+=(--style basic)
    if [ -n "$params" ]; then
        IFS=';' read -ra lists <<<"$params"
        for p in "${lists[@]}"; do
            hf+=(-L "${p%%=*}" "${p#*=}")
        done
    fi
}

# One round of one workload: each group of its plan through hyperfine.
run_round() {
    local wl=$1 r=$2 dir=$tmp/raw/$1 gid params cmd base
    mkdir -p "$dir"
    while IFS='|' read -r gid params cmd; do
        base=$dir/r$r-$gid
        hf_args "$wl" "$params"
        printf '%s|%s|%s|%s|%s\n' "$gid" "$params" "$cmd" \
            "$(warmup_for "$wl")" "$(runs_for "$wl")" >"$base.cmd"
        rm -f "$base.records.part"
        # hyperfine runs in the raw folder, so that the --out path in every
        # command it prints is short.
        run_child_in "$dir" "$hyperfine" "${hf[@]}" \
            --export-json "$base.json.part" --export-csv "$base.csv.part" \
            "${cmd//@OUT@/r$r-$gid.records.part}" </dev/null ||
            explain_failure "$params" "$cmd"
        [ -s "$base.records.part" ] ||
            die "${cmd//@OUT@/FILE} wrote no records to its --out file"
        if grep -q ',FAIL$' "$base.records.part"; then
            grep ',FAIL$' "$base.records.part" >&2
            explain_failure "$params" "$cmd"
        fi
        mv -f "$base.json.part" "$base.json"
        mv -f "$base.csv.part" "$base.csv"
        mv -f "$base.records.part" "$base.records.csv"
    done < <(round_plan "$wl" "$r")
}

# ---- plan --------------------------------------------------------------------
run_workloads="" skipped=""
IFS=, read -ra wl_list <<<"$workloads"
for wl in "${wl_list[@]}"; do
    if [ -n "$(groups_for "$wl")" ]; then
        run_workloads+="${run_workloads:+,}$wl"
    else
        skipped+="${skipped:+,}$wl"
    fi
done
if [ -n "$skipped" ]; then
    echo "$prog: no program for: $skipped (not in $bin or $pydir); skipped" >&2
fi
[ -n "$run_workloads" ] ||
    die "nothing to run: no benchmark program found in $bin"
IFS=, read -ra wl_list <<<"$run_workloads"
# MPI runs when a workload has MPI commands; then one more step measures
# mpirun's start-up.
mpi_used=0
for wl in "${wl_list[@]}"; do
    grep -q '^c-mpi|' <<<"$(groups_for "$wl")" && mpi_used=1
done
if [ $mpi_on = 1 ] && [ $mpi_used = 0 ] &&
    [[ ,$run_workloads, == *,primes,* || ,$run_workloads, == *,sum,* ]]
then
    if ! have_mpirun; then
        echo "$prog: note: $mpirun not found: the Open MPI runs are left" \
            "out (install Open MPI with scripts/setup.sh, then make)" >&2
    else
        echo "$prog: note: no MPI programs in $bin/mpi (make builds them" \
            "when mpicc is there): the Open MPI runs are left out" >&2
    fi
fi
nsteps=$(( ${#wl_list[@]} * rounds + mpi_used + 1 ))

# The last measuring step: mpirun's own start-up and tear-down for every
# rank count, outside hyperfine (mpi-run.sh --startup times whole mpirun
# commands itself), into mpi-startup.csv.  Not in raw/, whose folders are
# workloads.
startup_cmd() {
    printf '%s\n' "$here/mpi-run.sh" -n "$1" --startup \
        --repeat "$mpi_startup_repeat" --format csv
}

if [ $dry = 1 ]; then
    echo "$prog: dry run: $nsteps steps, run folder would be $out"
    step=0
    for wl in "${wl_list[@]}"; do
        for ((r = 1; r <= rounds; r++)); do
            step=$((step + 1))
            echo "step $step of $nsteps: $wl, round $r of $rounds"
            round_plan "$wl" "$r" | while IFS='|' read -r gid params cmd; do
                hf_args "$wl" "$params"
                echo "  hyperfine ${hf[*]} '${cmd//@OUT@/r$r-$gid.records.csv}'"
            done
        done
    done
    if [ $mpi_used = 1 ]; then
        step=$((step + 1))
        echo "step $step of $nsteps: mpirun start-up, ranks $mpi_ranks"
        IFS=, read -ra np_list <<<"$mpi_ranks"
        for np in "${np_list[@]}"; do
            echo "  $(startup_cmd "$np" | paste -sd ' ')" \
                "--out mpi-startup.csv"
        done
    fi
    echo "step $nsteps of $nsteps: statistics, charts and report.md"
    exit 0
fi

mkdir -p "$tmp/raw" "$tmp/data" "$tmp/charts"
machine_txt | write_file "$tmp/machine.txt"
suite_txt | write_file "$tmp/suite.txt"
start=$(date +%s)
log "$prog: $nsteps steps; run folder $out (built in $tmp)"
log "$prog: $ncpu usable CPUs; workers $workers; io workers $io_workers;" \
    "$rounds rounds x ($warmup warm-up + $runs runs) per command"

# The share of the CPUs that other processes used over one second while the
# suite sat idle, in percent, from /proc/stat's idle and iowait counters.
# A benchmark on a busy machine measures the other load as much as its own
# code: the report warns when this is high.
background_busy() {
    local a b
    a=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        t = y[1] - x[1]; i = y[2] - x[2]
        printf "%.0f\n", (t > 0 ? 100 * (t - i) / t : 0) }'
}

step=0
for wl in "${wl_list[@]}"; do
    mkdir -p "$tmp/raw/$wl"
    busy=$(background_busy)
    echo "$busy" | write_file "$tmp/raw/$wl/background-busy.txt"
    log "$prog: before $wl, other processes kept the CPUs ${busy}% busy"
    for ((r = 1; r <= rounds; r++)); do
        step=$((step + 1))
        order=forward
        [ $((r % 2)) = 0 ] && order=backward
        log ""
        log "==== step $step of $nsteps: $wl, round $r of $rounds" \
            "($order order; $(( $(date +%s) - start )) s so far)"
        run_round "$wl" "$r"
    done
done

if [ $mpi_used = 1 ]; then
    step=$((step + 1))
    log ""
    log "==== step $step of $nsteps: mpirun start-up, ranks $mpi_ranks" \
        "($mpi_startup_repeat times each; $(( $(date +%s) - start )) s so far)"
    IFS=, read -ra np_list <<<"$mpi_ranks"
    rm -f "$tmp/mpi-startup.csv.part"
    for np in "${np_list[@]}"; do
        mapfile -t sc < <(startup_cmd "$np")
        run_child "${sc[@]}" --out "$tmp/mpi-startup.csv.part" \
            >"$tmp/mpi-startup.out" 2>&1 || {
            echo "$prog: FAILED: ${sc[*]}" >&2
            sed 's/^/    /' "$tmp/mpi-startup.out" >&2
            exit 1
        }
        awk -F, -v np="$np" '$1 == "mpirun" && $5 == np {
                t[$4] = t[$4] " " $11 }
            END { for (v in t) printf "  %d ranks, %s:%s s\n", np, v, t[v] }' \
            "$tmp/mpi-startup.csv.part" | sort | while IFS= read -r l; do
            log "$l"; done
    done
    rm -f "$tmp/mpi-startup.out"
    mv -f "$tmp/mpi-startup.csv.part" "$tmp/mpi-startup.csv"
fi

step=$((step + 1))
log ""
log "==== step $step of $nsteps: statistics, charts and report.md"
report analyze "$tmp" || die "report.py failed"
"$here/check-run.sh" "$tmp" || die "the run folder failed its own check"
log "$prog: done in $(( $(date +%s) - start )) s"

# Publish: rename the finished folder into place, then point latest at it.
if [ -e "$out" ]; then
    old=$out_parent/.old-$out_name.$$
    mv -T "$out" "$old"
    mv -T "$tmp" "$out"
    rm -rf "$old"
else
    mv -T "$tmp" "$out"
fi
if [ "$out_parent" = "$(cd "$results_dir" 2>/dev/null && pwd)" ]; then
    # rename(2) replaces the old link in one step: a reader sees the old
    # run or the new one, never a missing or dangling link.
    ln -sfn "$out_name" "$results_dir/.latest.$$"
    mv -T "$results_dir/.latest.$$" "$results_dir/latest"
fi
echo "$prog: report: $out/report.md"
