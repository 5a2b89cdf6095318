#!/usr/bin/env bash
# mpi-run.sh - runs an Open MPI benchmark program (benchmarks/mpi/) the way
# the suite and the lessons need it, and measures what mpirun itself costs.
#
#   scripts/mpi-run.sh [-n R] [--hostfile FILE] PROGRAM [PROGRAM-OPTIONS...]
#       runs `mpirun -np R PROGRAM ...`: PROGRAM is primes or sum (found in
#       $POOLBENCH_BIN/mpi/, else build/release/bin/mpi/) or a path.
#   scripts/mpi-run.sh [-n R] [--hostfile FILE] --startup [--repeat K]
#                      [--format text|csv|json] [--out FILE]
#       measures mpirun's own start-up and tear-down, apart from any compute,
#       and prints records in the benchmark record format (bench=mpirun):
#         variant launch   `mpirun -np R true`: start and reap R processes
#                          that are not MPI programs (the launcher alone)
#         variant startup  `mpirun -np R primes --n 2`: an MPI program with
#                          nothing to compute, so MPI_Init's wire-up and
#                          MPI_Finalize are in it as well
#       kernel_s is the wall time of the whole mpirun command; workers and
#       tasks are R.  Subtracting this from a whole benchmark run is what
#       tells you when distributing pays for itself.
#
# What it adds to a bare mpirun:
#   - finds mpirun (the MPIRUN variable, else PATH) and says plainly what to
#     install when it is missing (exit 127, the shell's "command not found");
#   - as root, adds --allow-run-as-root (Open MPI refuses root otherwise);
#   - when R exceeds the slots (this machine's CPUs, or the sum of slots= in
#     the hostfile), adds --oversubscribe and prints a note on stderr: the
#     ranks then take turns on the CPUs and their times measure sharing, not
#     speed-up.  The programs also mark such records: their variant gets a
#     "+oversub" suffix (benchmarks/mpi/README.md), and so do the --startup
#     records here.
#   - MPIRUN_ARGS (split on spaces) is passed to mpirun before -np, for
#     anything else: MPIRUN_ARGS="--mca btl tcp,self" for instance.
#
# Exit status: the program's (0 ok, 1 a failed check, 2 a bad command line),
# 2 for a bad command line here, 127 when mpirun or the program is missing.
set -u
export LC_ALL=C     # EPOCHREALTIME's decimal point must be a dot

prog=${0##*/}
usage() {
    cat <<EOF
usage: $prog [-n R] [--hostfile FILE] [--dry-run] PROGRAM [OPTIONS...]
       $prog [-n R] [--hostfile FILE] --startup [--repeat K]
             [--format text|csv|json] [--out FILE]
EOF
}
die_usage() {
    echo "$prog: $*" >&2
    usage >&2
    exit 2
}

# Everything up to finding mpirun uses bash builtins only, so that the
# "not installed" message comes out even when PATH holds nothing useful.
np='' hostfile='' startup=0 dry=0 repeat=3 format=text out='' own=''
while [ $# -gt 0 ]; do
    case $1 in
    -n | -np | --np)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        np=$2; shift 2 ;;
    --np=*) np=${1#*=}; shift ;;
    --hostfile)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        hostfile=$2; shift 2 ;;
    --hostfile=*) hostfile=${1#*=}; shift ;;
    --startup) startup=1; shift ;;
    --repeat)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        repeat=$2; own+=" --repeat"; shift 2 ;;
    --repeat=*) repeat=${1#*=}; own+=" --repeat"; shift ;;
    --format)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        format=$2; own+=" --format"; shift 2 ;;
    --format=*) format=${1#*=}; own+=" --format"; shift ;;
    --out)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        out=$2; own+=" --out"; shift 2 ;;
    --out=*) out=${1#*=}; own+=" --out"; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die_usage "unknown option: $1" ;;
    *) break ;;
    esac
done

[ -z "$np" ] || [[ $np =~ ^[1-9][0-9]{0,3}$ ]] ||
    die_usage "-n wants a number of ranks from 1 to 9999, not '$np'"
[[ $repeat =~ ^[1-9][0-9]{0,5}$ ]] ||
    die_usage "--repeat wants a positive count, not '$repeat'"
case $format in text | csv | json) ;;
*) die_usage "--format is text, csv or json, not '$format'" ;;
esac
if [ $startup = 1 ]; then
    [ $# -eq 0 ] || die_usage "--startup takes no program: $*"
else
    [ $# -ge 1 ] || die_usage "no program given"
    [ -z "$own" ] ||
        die_usage "${own# }: only for --startup; give the program's options" \
            "after its name"
fi
if [ -n "$hostfile" ] && [ ! -r "$hostfile" ]; then
    die_usage "cannot read hostfile '$hostfile'"
fi

mpirun=${MPIRUN:-}
if [ -z "$mpirun" ]; then
    mpirun=$(command -v mpirun) || mpirun=
fi
if [ -z "$mpirun" ] || [ ! -x "$mpirun" ]; then
    {
        echo "$prog: mpirun not found${MPIRUN:+ (MPIRUN=$MPIRUN)}."
        echo "  The MPI benchmarks need Open MPI: run scripts/setup.sh, or"
        echo "  apt-get install openmpi-bin libopenmpi-dev, then make again"
        echo "  so that build/release/bin/mpi/ is built."
    } >&2
    exit 127
fi

here=$(cd "$(dirname "$0")" && pwd)
root=${here%/scripts}
bindir=${POOLBENCH_BIN:-$root/build/release/bin}

# find_program NAME: prints the path of an MPI benchmark program.
find_program() {
    case $1 in
    */*) [ -x "$1" ] && printf '%s\n' "$1" && return 0 ;;
    *) [ -x "$bindir/mpi/$1" ] && printf '%s\n' "$bindir/mpi/$1" && return 0 ;;
    esac
    {
        echo "$prog: no MPI program '$1' (looked in $bindir/mpi/)."
        echo "  Build it with make (the Makefile builds benchmarks/mpi/*.c"
        echo "  with mpicc, in the plain build only, when mpicc is there)."
    } >&2
    return 1
}

# The slots mpirun will count: the hostfile's slots= when every line names
# them, else this machine's CPUs.  Open MPI counts cores rather than
# hardware threads by default; nproc counts hardware threads, so on a
# machine with SMT this says "oversubscribed" later than mpirun would, and
# mpirun's own error then says so.
slots=
if [ -n "$hostfile" ]; then
    total=0
    while read -r line; do
        line=${line%%#*}
        [[ $line =~ ^[[:space:]]*$ ]] && continue
        if [[ $line =~ (^|[[:space:]])slots[[:space:]]*=[[:space:]]*([0-9]+) ]]
        then
            total=$((total + BASH_REMATCH[2]))
        else
            total=
            break
        fi
    done <"$hostfile"
    slots=$total
else
    slots=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
fi
if [ -z "$np" ]; then
    [ -n "$slots" ] ||
        die_usage "the hostfile does not give slots= on every line;" \
            "say how many ranks with -n"
    np=$slots
fi

args=()
if [ -n "${MPIRUN_ARGS:-}" ]; then
    read -r -a extra <<<"$MPIRUN_ARGS"
    args+=("${extra[@]}")
fi
[ "$EUID" -eq 0 ] && args+=(--allow-run-as-root)
[ -n "$hostfile" ] && args+=(--hostfile "$hostfile")
oversub=
if [ -n "$slots" ] && [ "$np" -gt "$slots" ]; then
    args+=(--oversubscribe)
    oversub=+oversub
    echo "$prog: note: $np ranks on $slots slots: oversubscribed; the" \
        "ranks share CPUs, so their times measure sharing, not speed-up" >&2
fi

if [ $startup = 0 ]; then
    exe=$(find_program "$1") || exit 127
    shift
    cmd=("$mpirun" "${args[@]}" -np "$np" "$exe" "$@")
    if [ $dry = 1 ]; then
        printf '%q ' "${cmd[@]}"
        echo
        exit 0
    fi
    exec "${cmd[@]}"
fi

# --startup: time whole mpirun commands.  EPOCHREALTIME (bash 5) is the wall
# clock in microseconds; a start-up of a few hundred milliseconds is far
# above its resolution.
primes=$(find_program primes) || exit 127
true_cmd=$(command -v true) || true_cmd=/bin/true

# usec T: a time as EPOCHREALTIME gives it ("1700000000.123456") in whole
# microseconds.
usec() {
    echo $((10#${1%.*} * 1000000 + 10#${1#*.}))
}

header_done=0
emit() { # variant rep seconds(usec) status
    local variant=$1 rep=$2 us=$3 status=$4 check=ok secs
    [ "$status" -eq 0 ] || check=FAIL
    secs=$(printf '%d.%06d000' $((us / 1000000)) $((us % 1000000)))
    local csv="mpirun,c,mpi,$variant,$np,0,0,$np,$rep,0.000000000,$secs"
    csv+=",-,-,$check"
    case $format in
    csv)
        if [ $header_done = 0 ]; then
            echo "bench,lang,mode,variant,workers,n,chunk,tasks,rep,$(
                )setup_s,kernel_s,result,expected,check"
            header_done=1
        fi
        echo "$csv" ;;
    json)
        printf '{"bench": "mpirun", "lang": "c", "mode": "mpi", '
        printf '"variant": "%s", "workers": %d, "n": 0, "chunk": 0, ' \
            "$variant" "$np"
        printf '"tasks": %d, "rep": %d, "setup_s": 0.000000000, ' \
            "$np" "$rep"
        printf '"kernel_s": %s, "result": null, ' "$secs"
        printf '"expected": null, "check": "%s"}\n' "$check" ;;
    text)
        printf 'mpirun -np %d %-8s rep %d: %s s%s\n' "$np" \
            "${variant%+oversub}" "$rep" "$secs" \
            "${oversub:+ (oversubscribed)}${check/ok/}" ;;
    esac
    if [ -n "$out" ]; then
        printf '%s\n' "$csv" >>"$out" || {
            echo "$prog: cannot append to $out" >&2
            exit 1
        }
    fi
}

rc=0
for ((rep = 0; rep < repeat; rep++)); do
    for variant in launch startup; do
        if [ $variant = launch ]; then
            cmd=("$mpirun" "${args[@]}" -np "$np" "$true_cmd")
        else
            cmd=("$mpirun" "${args[@]}" -np "$np" "$primes" --n 2
                 --format csv)
        fi
        if [ $dry = 1 ]; then
            printf '%q ' "${cmd[@]}"
            echo
            continue
        fi
        t0=$EPOCHREALTIME
        "${cmd[@]}" >/dev/null
        status=$?
        t1=$EPOCHREALTIME
        [ $status -eq 0 ] || rc=1
        emit "$variant$oversub" "$rep" $(($(usec "$t1") - $(usec "$t0"))) \
            $status
    done
    [ $dry = 1 ] && break
done
exit $rc
