#!/usr/bin/env bash
# mpi-hosts.sh - a cluster of N "hosts" on this one machine, made of Linux
# network namespaces, so that Open MPI ranks can be run, tested and measured
# across a host boundary without a second machine.
#
#   scripts/mpi-hosts.sh check
#       says whether this machine lets us make namespace hosts (root, ip,
#       network namespaces); exit 0 yes, 3 no (and why, on stderr).
#   scripts/mpi-hosts.sh up N [--slots S] [--dir DIR]
#       makes N hosts and prints the rig's folder (a new mktemp folder, or
#       DIR, which must not exist yet).  The folder holds:
#         hostfile   one line per host: "10.231.0.K slots=S"
#         agent      the rsh agent mpirun starts its daemons with
#         names      every namespace the rig made (read by down)
#         tmp/       TMPDIR of everything run on the rig: Open MPI's
#                    session folders, removed with the rig
#   scripts/mpi-hosts.sh run DIR [--timeout SECS] [--] MPIRUN-ARGS...
#       runs mpirun on host 1 (the "head node") with the rig's hostfile,
#       agent and networks, plus MPIRUN-ARGS (-np 2 PROGRAM ..., as for
#       mpirun).  Exit status: mpirun's; 124 when --timeout expired.
#   scripts/mpi-hosts.sh crash DIR K
#       kills every process on host K (1..N), as if the machine died.
#   scripts/mpi-hosts.sh down DIR
#       kills what still runs on the rig's hosts and removes exactly what up
#       made: its namespaces (by the names it recorded) and its folder.
#   scripts/mpi-hosts.sh bench [--hosts H] [--n N] [--variant V]
#                              [--repeat K] [--format text|csv]
#       makes its own rig, runs the MPI sum on H ranks (default 2) twice -
#       all on one host (shared memory), then one rank per host (TCP) -
#       with --transfer, so each repetition gives a sum record and a
#       transfer record (bytes moved, seconds, see benchmarks/mpi/README.md),
#       and takes the rig down again.
#
# HOW THE HOSTS ARE MADE
#
# A network namespace is a private copy of the network stack: its own
# interfaces, addresses, routes and ports.  A process in it sees nothing
# else, so two processes in two namespaces can only talk through a link we
# give them, like two machines on a cable.  The rig is:
#
#     namespace SW (the switch): a bridge br0, one port per host
#         |  a veth pair per host: a virtual cable, one end in SW on br0,
#         |  the other end, eth0, in the host's namespace
#     namespace H1: eth0 10.231.0.1/24      (runs mpirun: the head node)
#     namespace H2: eth0 10.231.0.2/24
#     ...
#
# Every interface and address lives inside the rig's own namespaces; this
# machine's own interfaces, routes and firewall are never touched, and no
# packet can leave the rig (no host has a route anywhere else).  Two rigs
# at once (two test runs in parallel) share nothing, so both can use the
# same 10.231.0.0/24.  Each process started on a host also gets the host's
# own host name (a UTS namespace, see SET_HOSTNAME).  The rest is shared:
# the file system, the CPUs and the process table, which is what lets one
# build tree serve every host and lets `ip netns pids` find a host's
# processes.
#
# Names are "pbmpi<pid>x<random>-sw", "...-h1" ..., unique per run, and are
# written to DIR/names *before* each namespace is made, so down removes
# everything even after up was interrupted half-way.  up takes down what it
# made itself when it fails or is interrupted (trap).
#
# HOW MPIRUN REACHES THE HOSTS
#
# On a real cluster mpirun starts a daemon (orted) on every other machine
# with `ssh HOST orted ...`.  Here the agent stands in for ssh: called as
# `agent HOST COMMAND...`, it looks HOST up in the rig's table and runs
# `ip netns exec NS unshare --uts ... /bin/sh -c "COMMAND..."` (sh, as
# sshd would give it the command).  mpirun itself runs in H1, not in this machine's own
# namespace: the daemons must connect back to it, and H1 is the only
# place they can reach without giving this machine an address on the rig.
# Open MPI sees H1's address in the hostfile as its own and starts H1's
# ranks itself, as mpirun on node1 of a real cluster would.
#
# The MCA parameters given to mpirun (see run_cmd below):
#   plm_rsh_agent         the agent, instead of ssh
#   plm_rsh_no_tree_spawn mpirun starts every daemon itself (by default
#                         the daemons start each other in a tree, which
#                         works here too but is harder to follow)
#   --leave-session-attached  the daemons stay children of their agent
#                         instead of detaching (--daemonize): a daemon
#                         that fails at start is then seen by mpirun,
#                         which stops with its message.  Detached, a
#                         daemon that died before reporting back left
#                         mpirun waiting for it for ever (seen here on a
#                         busy machine, now and then with 3 hosts).
#   oob_tcp_if_include,   mpirun's control messages and the ranks' data go
#   btl_tcp_if_include    over the rig's subnet only
#   pml ob1, btl          ranks on one host use shared memory (vader),
#   self,vader,tcp        ranks on different hosts TCP: as on a cluster.
#                         pml ob1 keeps UCX out, whose shared-memory
#                         transports would not see a namespace boundary.
#
# What this does not do: limit the bandwidth or add latency to the links
# (tc netem could), or give each host its own CPUs.  Crossing a host here
# costs what the kernel's TCP stack costs between two processes on one
# machine: a lower bound for a real network.
set -u
export LC_ALL=C

prog=${0##*/}
SUBNET=10.231.0.0/24
PREFIX=10.231.0
MAX_HOSTS=200           # addresses .1 to .200 of the /24
# A script for `sh -c SCRIPT NAME COMMAND...` in a new UTS namespace
# (unshare --uts): gives the host its own host name, NAME, then runs
# COMMAND.  Open MPI names its files after the host name (its session
# folder in /tmp, its shared-memory segments in /dev/shm), which the
# hosts share: with one name, the daemons and ranks of different hosts
# would take each other's files.
# shellcheck disable=SC2016  # expanded by that sh, not here
SET_HOSTNAME='printf %s "$0" >/proc/sys/kernel/hostname && exec "$@"'

usage() {
    cat <<EOF
usage: $prog check
       $prog up N [--slots S] [--dir DIR]
       $prog run DIR [--timeout SECS] [--] MPIRUN-ARGS...
       $prog crash DIR K
       $prog down DIR
       $prog bench [--hosts H] [--n N] [--variant V] [--repeat K]
             [--format text|csv]
EOF
}
die_usage() {
    echo "$prog: $*" >&2
    usage >&2
    exit 2
}
die() {
    echo "$prog: $*" >&2
    exit 1
}

# cannot WHY: this machine does not allow namespace hosts.  Exit 3, so
# that a test can tell "not possible here" from "broken".
cannot() {
    echo "$prog: cannot make namespace hosts here: $*" >&2
    exit 3
}

IP='' UNSHARE=''
# need_ip: finds ip(8) and unshare(1) and checks that we are root.
need_ip() {
    IP=$(command -v ip) || IP=
    [ -n "$IP" ] ||
        cannot "no 'ip' command (Debian package iproute2)"
    UNSHARE=$(command -v unshare) || UNSHARE=
    [ -n "$UNSHARE" ] ||
        cannot "no 'unshare' command (Debian package util-linux)"
    [ "$EUID" -eq 0 ] ||
        cannot "not root (making network namespaces needs CAP_SYS_ADMIN" \
            "and CAP_NET_ADMIN)"
}

# check: tries to make and remove one namespace, with a link in it.
check() {
    local ns="pbmpi$$x${RANDOM}-probe" err
    need_ip
    if ! err=$("$IP" netns add "$ns" 2>&1); then
        cannot "ip netns add refused: ${err:-no reason given}"
    fi
    if ! err=$("$IP" -n "$ns" link add br0 type bridge 2>&1); then
        "$IP" netns del "$ns" 2>/dev/null
        cannot "no bridge inside a namespace: $err"
    fi
    if ! err=$("$IP" -n "$ns" link add v0 type veth peer name v1 2>&1); then
        "$IP" netns del "$ns" 2>/dev/null
        cannot "no veth pair inside a namespace: $err"
    fi
    if ! err=$("$IP" netns exec "$ns" "$UNSHARE" --uts /bin/sh -c \
        "$SET_HOSTNAME" "$ns" true 2>&1); then
        "$IP" netns del "$ns" 2>/dev/null
        cannot "no host name of its own in a namespace (unshare --uts): $err"
    fi
    "$IP" netns del "$ns" || die "could not remove the probe namespace $ns"
}

# is_rig DIR: DIR was made by up (holds our names file and marker).
is_rig() {
    [ -f "$1/names" ] && [ -f "$1/rig" ] && [ "$(cat "$1/rig")" = pbmpi ]
}

# ns_exists NAME
ns_exists() {
    [ -e "/run/netns/$1" ]
}

# kill_ns NAME: kills every process in the namespace, and waits (bounded)
# until none is left.  SIGKILL, because a host that goes away gives its
# processes no chance to clean up either.
kill_ns() {
    local ns=$1 pids tries
    for ((tries = 0; tries < 50; tries++)); do
        pids=$("$IP" netns pids "$ns" 2>/dev/null) || return 0
        [ -z "$pids" ] && return 0
        # shellcheck disable=SC2086  # one pid per word
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    echo "$prog: processes still in $ns after 5 s: $pids" >&2
    return 1
}

# teardown DIR: removes every namespace named in DIR/names (the switch
# last, so that no host is left cabled to nothing), then the folder.
teardown() {
    local dir=$1 ns kind rc=0 host_list=() switch_list=()
    while read -r kind ns _; do
        case $kind in
        host) host_list+=("$ns") ;;
        switch) switch_list+=("$ns") ;;
        esac
    done <"$dir/names"
    for ns in "${host_list[@]}" "${switch_list[@]}"; do
        ns_exists "$ns" || continue
        kill_ns "$ns" || rc=1
        "$IP" netns del "$ns" || rc=1
        ! ns_exists "$ns" || {
            echo "$prog: namespace $ns is still there" >&2
            rc=1
        }
    done
    if [ $rc -eq 0 ]; then
        # tmp/ holds only what Open MPI made there for the rig's runs.
        rm -rf "$dir/tmp"
        rm -f "$dir/names" "$dir/rig" "$dir/hostfile" "$dir/agent" \
            "$dir/hosts.one" "$dir/out"
        rmdir "$dir" || rc=1
    fi
    return $rc
}

# up N SLOTS DIR: makes the rig; prints DIR on success.
up() {
    local n=$1 slots=$2 dir=$3 token sw k ns addr
    need_ip
    if [ -n "$dir" ]; then
        mkdir -m 700 "$dir" || die "cannot make $dir (it must not exist)"
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/pb-mpihosts.XXXXXX") ||
            die "mktemp failed"
    fi
    echo pbmpi >"$dir/rig"
    : >"$dir/names"
    mkdir "$dir/tmp" || die "cannot make $dir/tmp"
    # From here on, any failure or interruption takes down what was made.
    # shellcheck disable=SC2064  # $dir is fixed now
    trap "teardown '$dir'; exit 130" INT TERM HUP
    token="pbmpi$$x$RANDOM"
    sw="$token-sw"
    fail() {
        echo "$prog: up: $*" >&2
        teardown "$dir"
        exit 1
    }
    # Each error message from ip is shown as it is: it says what failed.
    echo "switch $sw" >>"$dir/names"
    "$IP" netns add "$sw" || fail "could not make namespace $sw"
    if ! "$IP" -n "$sw" link add br0 type bridge ||
        ! "$IP" -n "$sw" link set br0 up; then
        fail "could not make the bridge"
    fi
    for ((k = 1; k <= n; k++)); do
        ns="$token-h$k"
        addr="$PREFIX.$k"
        echo "host $ns $addr" >>"$dir/names"
        "$IP" netns add "$ns" || fail "could not make namespace $ns"
        # Made in SW with its peer put straight into the host: the cable
        # never exists in this machine's own namespace.
        if ! "$IP" -n "$sw" link add "h$k" type veth peer name eth0 \
                netns "$ns" ||
            ! "$IP" -n "$sw" link set "h$k" master br0 up ||
            ! "$IP" -n "$ns" addr add "$addr/24" dev eth0 ||
            ! "$IP" -n "$ns" link set eth0 up ||
            ! "$IP" -n "$ns" link set lo up; then
            fail "could not cable host $k ($ns)"
        fi
        echo "$addr slots=$slots" >>"$dir/hostfile"
    done
    write_agent "$dir"
    trap - INT TERM HUP
    printf '%s\n' "$dir"
}

# write_agent DIR: the rsh agent, with the rig's table of hosts in it.
# shellcheck disable=SC2016  # the $ in single quotes are the agent's
write_agent() {
    local dir=$1 kind ns addr
    {
        echo '#!/bin/sh'
        echo "# rsh agent of the rig in $dir, written by $prog:"
        echo '# agent [OPTIONS] HOST COMMAND... runs COMMAND in the'
        echo "# namespace of HOST, as \`ssh HOST COMMAND...\` would."
        echo 'while [ $# -gt 0 ]; do'
        echo '    case $1 in -*) shift ;; *) break ;; esac'
        echo 'done'
        echo 'host=$1'
        echo 'shift'
        echo 'case $host in'
        while read -r kind ns addr; do
            [ "$kind" = host ] || continue
            echo "$addr) ns=$ns ;;"
        done <"$dir/names"
        echo '*) echo "agent: no host $host in this rig" >&2; exit 255 ;;'
        echo 'esac'
        echo "$IP netns exec \"\$ns\" $UNSHARE --uts /bin/sh -c \\"
        echo "    '$SET_HOSTNAME' \"\$ns\" /bin/sh -c \"\$*\""
        # A daemon killed by a signal: its host died (mpi-hosts.sh crash).
        # mpirun would only say that a daemon "failed to start".
        echo 'status=$?'
        echo 'if [ $status -gt 128 ]; then'
        echo '    echo "mpi-hosts agent: host $host ($ns): the daemon was" \'
        echo '        "killed by signal $((status - 128)): the host died" >&2'
        echo 'fi'
        echo 'exit $status'
    } >"$dir/agent"
    chmod 755 "$dir/agent"
}

# host_ns DIR K: the namespace of host K.
host_ns() {
    local kind ns addr
    while read -r kind ns addr; do
        [ "$kind" = host ] && [ "$addr" = "$PREFIX.$2" ] &&
            printf '%s\n' "$ns" && return 0
    done <"$1/names"
    return 1
}

# run_cmd DIR HOSTFILE TIMEOUT ARGS...: mpirun on host 1.
run_cmd() {
    local dir=$1 hostfile=$2 secs=$3 head mpirun
    shift 3
    mpirun=$(command -v mpirun) ||
        die "mpirun not found: apt-get install openmpi-bin (scripts/setup.sh)"
    head=$(host_ns "$dir" 1) || die "$dir: no host 1"
    ns_exists "$head" || die "$dir: namespace $head is gone"
    # TMPDIR: Open MPI puts its session folders (named after the host)
    # there, on every host, since the daemons inherit mpirun's
    # environment through the agent; down removes them with the rig.
    local argv=(env TMPDIR="$dir/tmp"
                "$IP" netns exec "$head" "$UNSHARE" --uts /bin/sh -c
                "$SET_HOSTNAME" "$head" "$mpirun")
    [ "$EUID" -eq 0 ] && argv+=(--allow-run-as-root)
    # shellcheck disable=SC2054  # self,vader,tcp is one argument
    argv+=(--hostfile "$hostfile"
          --mca plm_rsh_agent "$dir/agent"
          --mca plm_rsh_no_tree_spawn 1 --leave-session-attached
          --mca oob_tcp_if_include "$SUBNET"
          --mca btl_tcp_if_include "$SUBNET"
          --mca pml ob1 --mca btl self,vader,tcp
          "$@")
    if [ "$secs" != 0 ]; then
        # timeout runs mpirun in a process group of its own and kills
        # the group, then, 5 s later, with SIGKILL if it is still there.
        argv=(timeout -k 5 "$secs" "${argv[@]}")
    fi
    local start=$SECONDS rc ns kind
    "${argv[@]}"
    rc=$?
    # Past the time limit: mpirun may have been killed before it could
    # stop its ranks (a rank on host 1 is its own child; the other hosts'
    # daemons notice that mpirun is gone and stop theirs).  The rig is
    # this run's: kill what is left on every host.
    if [ "$secs" != 0 ] && [ $((SECONDS - start)) -ge "$secs" ] &&
        { [ $rc -eq 124 ] || [ $rc -eq 137 ]; }; then
        echo "$prog: run: mpirun did not end within $secs s: stopped," \
            "and what was left on the rig's hosts killed" >&2
        while read -r kind ns _; do
            [ "$kind" = host ] && kill_ns "$ns"
        done <"$dir/names"
    fi
    return $rc
}

# bench: the same ranks placed two ways, on a rig of its own.
bench() {
    local hosts=2 n=10000000 variants=static,dynamic,local repeat=3
    local format=text
    while [ $# -gt 0 ]; do
        case $1 in
        --hosts | --n | --variant | --repeat | --format)
            [ $# -ge 2 ] || die_usage "$1 needs a value" ;;&
        --hosts) hosts=$2; shift 2 ;;
        --n) n=$2; shift 2 ;;
        --variant) variants=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --format) format=$2; shift 2 ;;
        *) die_usage "bench: unknown option: $1" ;;
        esac
    done
    [[ $hosts =~ ^[0-9]{1,2}$ ]] && [ "$hosts" -ge 2 ] && [ "$hosts" -le 16 ] ||
        die_usage "--hosts wants 2 to 16, not '$hosts'"
    [[ $variants =~ ^(static|dynamic|local)(,(static|dynamic|local))*$ ]] ||
        die_usage "--variant wants static, dynamic, local or a list" \
            "of them (static,local), not '$variants'"
    case $format in text | csv) ;;
    *) die_usage "--format is text or csv, not '$format'" ;;
    esac
    # --n and --repeat are checked by the program itself.
    local here bindir sum dir rc=0 placement hostfile variant header=1
    here=$(cd "$(dirname "$0")" && pwd)
    bindir=${POOLBENCH_BIN:-${here%/scripts}/build/release/bin}
    sum=$bindir/mpi/sum
    [ -x "$sum" ] ||
        die "no $sum: run make with Open MPI installed (scripts/setup.sh)"
    dir=$(up "$hosts" 1 "") || exit $?
    # shellcheck disable=SC2064  # $dir is fixed now
    trap "teardown '$dir'; exit 130" INT TERM HUP
    # One host with a slot per rank: Open MPI puts every rank there and
    # they talk through shared memory.  The rig's hostfile: one rank per
    # host, talking TCP.
    echo "$PREFIX.1 slots=$hosts" >"$dir/hosts.one"
    for variant in ${variants//,/ }; do
        for placement in one each; do
            hostfile=$dir/hostfile
            [ $placement = one ] && hostfile=$dir/hosts.one
            if [ "$format" = text ]; then
                if [ $placement = one ]; then
                    echo "== sum $variant: $hosts ranks on one host" \
                        "(shared memory)"
                else
                    echo "== sum $variant: $hosts ranks on $hosts hosts" \
                        "(TCP)"
                fi
            fi
            run_cmd "$dir" "$hostfile" 600 -np "$hosts" "$sum" --n "$n" \
                --variant "$variant" --repeat "$repeat" --format "$format" \
                --transfer >"$dir/out" || rc=1
            # One CSV header for all the runs.
            if [ "$format" = csv ] && [ $header = 0 ]; then
                tail -n +2 "$dir/out"
            else
                cat "$dir/out"
            fi
            header=0
        done
    done
    trap - INT TERM HUP
    teardown "$dir" || rc=1
    return $rc
}

[ $# -ge 1 ] || die_usage "no command given"
command_name=$1
shift
case $command_name in
check)
    [ $# -eq 0 ] || die_usage "check takes no arguments"
    check ;;
up)
    n='' slots=1 dir=''
    while [ $# -gt 0 ]; do
        case $1 in
        --slots | --dir) [ $# -ge 2 ] || die_usage "$1 needs a value" ;;&
        --slots) slots=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        -*) die_usage "up: unknown option: $1" ;;
        *) [ -z "$n" ] || die_usage "up: one N only"; n=$1; shift ;;
        esac
    done
    [[ $n =~ ^[0-9]{1,3}$ ]] && [ "$n" -ge 1 ] && [ "$n" -le $MAX_HOSTS ] ||
        die_usage "up wants a number of hosts from 1 to $MAX_HOSTS," \
            "not '$n'"
    [[ $slots =~ ^[1-9][0-9]{0,3}$ ]] ||
        die_usage "--slots wants a positive count, not '$slots'"
    up "$n" "$slots" "$dir" ;;
run)
    [ $# -ge 1 ] || die_usage "run needs the rig's folder"
    dir=$1 secs=0
    shift
    is_rig "$dir" || die "$dir is not a rig made by '$prog up'"
    need_ip
    if [ "${1:-}" = --timeout ]; then
        [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]{0,5}$ ]] ||
            die_usage "--timeout wants a number of seconds"
        secs=$2
        shift 2
    fi
    [ "${1:-}" = -- ] && shift
    [ $# -ge 1 ] || die_usage "run: no mpirun arguments (-np R PROGRAM...)"
    run_cmd "$dir" "$dir/hostfile" "$secs" "$@" ;;
crash)
    [ $# -eq 2 ] || die_usage "crash wants the rig's folder and a host"
    is_rig "$1" || die "$1 is not a rig made by '$prog up'"
    need_ip
    ns=$(host_ns "$1" "$2") || die "$1: no host '$2'"
    kill_ns "$ns" ;;
down)
    [ $# -eq 1 ] || die_usage "down wants the rig's folder"
    is_rig "$1" || die "$1 is not a rig made by '$prog up'"
    need_ip
    teardown "$1" ;;
bench)
    need_ip
    bench "$@" ;;
-h | --help) usage ;;
*) die_usage "unknown command: $command_name" ;;
esac
