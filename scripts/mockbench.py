#!/usr/bin/python3
"""A stand-in for the benchmark programs, for the suite's self-test
(scripts/tests/test_pipeline.py).

It speaks the record contract of benchmarks/lib/bench.h (the common
options, --format csv, --out appending CSV lines after a header row when
the file is new, exit 2 on a bad option, exit 1 on a failed check) but
computes nothing: it sleeps for a modelled kernel time and reports that
model (not the measured sleep) as kernel_s, so the suite's whole pipeline
is testable in seconds and its statistics are exact: C threads and
processes scale perfectly up to 2 workers, Python threads and --gil
threads not at all.  The modelled kernels grow with the size as the real
ones do (primes and chunks as n^1.5, sum, images, io, crawl linearly), so
the calibration can be tested.  Symbolic links name it primes, sum, io,
overhead, chunks, crawl, images (or NAME.py for a Python twin); the name
picks the workload.

Named mpirun, it stands in for Open MPI's launcher (MPIRUN=that link, for
scripts/mpi-run.sh): it reads -np R, skips the other mpirun options, and
runs the program once with MOCKBENCH_RANKS=R in its environment, and
MOCKBENCH_OVERSUB=1 when --oversubscribe was given.  A program started so
plays an MPI program (benchmarks/mpi/): mode "mpi", workers = R (a
different --workers is a bad option, exit 2, as in the real ones),
--variant static|dynamic|local, and "+oversub" on the variant when
oversubscribed.  MPI ranks scale perfectly up to 2, like C threads.

Named mpi-hosts, it stands in for scripts/mpi-hosts.sh (the suite's
POOLBENCH_MPI_HOSTS): `check` exits MOCKBENCH_HOSTS_CHECK (default 0; 3
with a reason on stderr as the real one says "not permitted"), `bench
--hosts H --n N --repeat K --variant V,... --format csv` prints the real
one's CSV: per variant, H ranks on one host (variant V) then across H
hosts (V+Hhosts), each repetition a sum record and a "+moved" record
(bytes sent in n).  Modelled: shared memory 2 GB/s, TCP 0.4 GB/s; local
moves nothing.  MOCKBENCH_HOSTS_BENCH=3 makes bench exit 3 (not permitted).

MOCKBENCH_FAIL=bench:mode:workers makes that configuration report a wrong
result (check FAIL, exit 1), to test that the suite stops on it.
MOCKBENCH_SLEEP=S makes every kernel of a parallel mode take S seconds, to
test interruption (the sequential runs that calibration times stay short).
--trace FILE writes a made-up trace (docs/trace-format.md): the run's
modelled kernel cut into at most 64 tasks dealt round-robin to the
workers, one at a time under --gil (the others waiting for the lock),
the middle one failed (ECHILD) with --kill-worker; --trace-label T names
it.  MOCKBENCH_TRACE_FAIL=1 makes a
traced run exit 1 without a trace, to test that the suite leaves that
timeline out and goes on.
MOCKBENCH_NO_HEADER=1 writes --out files without the header row (the
older format), and MOCKBENCH_SCALE=F multiplies every modelled kernel.
"""
import json
import math
import os
import sys
import time

COLUMNS = ['bench', 'lang', 'mode', 'variant', 'workers', 'n', 'chunk',
           'tasks', 'rep', 'setup_s', 'kernel_s', 'result', 'expected',
           'check', 'user_s', 'sys_s']
C_IMPLS = ['tp', 'textbook', 'thread-per-task', 'fork-per-task']
PY_IMPLS = ['threadpool-executor', 'mp-pool', 'process-pool-executor']
# overhead --mode ablation: the thread pool with each speed trick off.
ABLATION_IMPLS = ['tp', 'textbook', 'tp-no-poll', 'tp-no-recycle',
                  'tp-two-trips', 'tp-wake-always', 'tp-no-cascade']
# Made-up per-task costs in seconds: only their order matters.
COST = {'tp': 2e-6, 'textbook': 4e-6, 'thread-per-task': 30e-6,
        'fork-per-task': 300e-6, 'threadpool-executor': 20e-6,
        'mp-pool': 60e-6, 'process-pool-executor': 150e-6, 'seq': 1e-7,
        'tp-no-poll': 3e-6, 'tp-no-recycle': 2.5e-6, 'tp-two-trips': 2.2e-6,
        'tp-wake-always': 2.8e-6, 'tp-no-cascade': 2.4e-6}
# Per-option defaults (the real programs' are larger).
OPTS = {'mode': 'seq', 'workers': '2', 'chunk': '0', 'repeat': '1',
        'format': 'text', 'out': None, 'n': '1000', 'tasks': '16',
        'delay-ms': '1', 'variant': 'bulk', 'images': '4',
        'max-side': '256', 'pages': '16', 'min-chunk': '1',
        'max-chunk': '0', 'factor': '4', 'trace': None, 'trace-label': ''}
NUMERIC = ('workers', 'chunk', 'repeat', 'n', 'tasks', 'delay-ms', 'images',
           'max-side', 'pages', 'min-chunk', 'max-chunk', 'factor')


def usage(name, msg):
    sys.stderr.write('%s: %s\nusage: %s [--mode M] [--workers W] '
                     '[--chunk C] [--repeat R] [--format F] [--out FILE] '
                     '...\n' % (name, msg, name))
    sys.exit(2)


def mpirun():
    """mpirun [OPTIONS] -np R PROGRAM [ARGS]: runs PROGRAM once."""
    args = sys.argv[1:]
    env = dict(os.environ)
    with_value = ('--hostfile', '--mca', '--bind-to', '--map-by')
    while args and args[0] != '-np':
        a = args.pop(0)
        if a == '--oversubscribe':
            env['MOCKBENCH_OVERSUB'] = '1'
        elif a in with_value:
            args = args[2 if a == '--mca' else 1:]
        elif not a.startswith('-'):
            sys.stderr.write('mpirun (mock): no -np before %s\n' % a)
            return 2
    if len(args) < 3 or not args[1].isdigit():
        sys.stderr.write('mpirun (mock): usage: mpirun -np R PROGRAM\n')
        return 2
    env['MOCKBENCH_RANKS'] = args[1]
    try:
        os.execvpe(args[2], args[2:], env)
    except OSError as e:
        sys.stderr.write('mpirun (mock): %s: %s\n' % (args[2], e))
        return 127


def speed(name, lang, mode, workers, flags):
    if mode == 'seq':
        return 1
    if 'gil' in flags or (lang == 'python' and mode == 'threads'):
        return 1
    return min(workers, 2)


def mpi_hosts():
    """mpi-hosts check | bench [OPTIONS]: see the module's comment."""
    args = sys.argv[1:]
    if args[:1] == ['check']:
        code = int(os.environ.get('MOCKBENCH_HOSTS_CHECK') or 0)
        if code:
            sys.stderr.write('mpi-hosts.sh (mock): not permitted here\n')
        return code
    if args[:1] != ['bench']:
        sys.stderr.write('mpi-hosts.sh (mock): check or bench\n')
        return 2
    if os.environ.get('MOCKBENCH_HOSTS_BENCH') == '3':
        sys.stderr.write('mpi-hosts.sh (mock): bench not permitted\n')
        return 3
    o = {'--hosts': '2', '--n': '10000000', '--repeat': '3',
         '--variant': 'static,dynamic,local', '--format': 'text'}
    for k, v in zip(args[1::2], args[2::2]):
        if k not in o:
            sys.stderr.write('mpi-hosts.sh (mock): unknown option %s\n' % k)
            return 2
        o[k] = v
    h, n, rep = int(o['--hosts']), int(float(o['--n'])), int(o['--repeat'])
    print(','.join(COLUMNS))
    for v in o['--variant'].split(','):
        for across in (False, True):
            tag = v + ('+%dhosts' % h if across else '')
            sent = 0 if v == 'local' else 8 * n * (h - 1) // h
            rate = 0.4e9 if across else 2e9
            moved_s = sent / rate
            for r in range(rep):
                k = moved_s + 8 * n / h / 4e9
                print('sum,c,mpi,%s,%d,%d,%d,%d,%d,0.01,%.9f,%d,%d,ok,0,0' % (
                    tag, h, n, n // h, h, r, k, n, n))
                print('sum,c,mpi,%s+moved,%d,%d,%d,%d,%d,0,%.9f,%d,%d,ok,'
                      '0,0' % (tag, h, sent, n // h, h - 1 if sent else 0,
                               r, moved_s, sent, sent))
    return 0


def write_trace(path, name, mode, workers, kernel_s, gil, label='',
                killed=False):
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    from poolbench import trace
    ntasks = min(64, 4 * workers)
    each = kernel_s * 1e6 / ntasks * (1 if gil else workers)
    tasks, free = [], [0.0] * (workers + 1)
    for i in range(ntasks):
        tid = 1 + i % workers
        # Under --gil a worker begins its next task at once and waits in
        # it for the one lock (began), as primes --gil does.
        start = max(free[tid], max(free) if gil else 0.0)
        tasks.append({'id': i, 'tid': tid, 'queued': 0.0, 'start': start,
                      'end': start + each,
                      'began': free[tid] if gil else None,
                      'status': 10 if killed and i == ntasks // 2 else 0})
        free[tid] = start + each
    doc = trace.make_doc({'benchmark': name, 'mode': mode,
                          'pool': 'processes' if mode == 'procs' else 'threads',
                          'workers': workers,
                          'dropped': 0, 'label': label or mode,
                          'commit': 'mock'},
                         tasks)
    with open(path, 'w') as f:
        json.dump(doc, f)


def main():
    base = os.path.basename(sys.argv[0])
    if base == 'mpirun':
        return mpirun()
    if base == 'mpi-hosts':
        return mpi_hosts()
    ranks = os.environ.get('MOCKBENCH_RANKS')
    lang = 'python' if base.endswith('.py') else 'c'
    name = base[:-3] if base.endswith('.py') else base
    o = dict(OPTS)
    if ranks:
        o.update(mode='mpi', workers=ranks, variant='static')
    flags = set()
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ('--gil', '--copy', '--no-prefault', '--cascade',
                 '--no-cascade', '--kill-worker', '--bare',
                 '--one-at-a-time', '--send-answers'):
            flags.add(a[2:])
            i += 1
            continue
        if not a.startswith('--') or a[2:] not in o:
            usage(name, 'unknown option: %s' % a)
        if i + 1 >= len(args):
            usage(name, '%s needs a value' % a)
        o[a[2:]] = args[i + 1]
        i += 2
    for k in NUMERIC:
        if not o[k].isdigit():
            usage(name, '--%s: not a number: %s' % (k, o[k]))
    w = int(o['workers'])
    if not 1 <= w <= 1024:
        usage(name, '--workers out of range: %d' % w)
    if ranks and o['workers'] != ranks:
        usage(name, '--workers %s: mpirun started %s ranks' % (
            o['workers'], ranks))
    if ranks and (o['mode'] != 'mpi' or
                  o['variant'] not in ('static', 'dynamic', 'local')):
        usage(name, 'an MPI program: --mode mpi, --variant '
              'static|dynamic|local')
    modes = [o['mode']]
    if name == 'overhead' and o['mode'] == 'all':
        modes = PY_IMPLS if lang == 'python' else C_IMPLS
    elif name == 'overhead' and o['mode'] == 'ablation':
        modes = ABLATION_IMPLS
    sleep = os.environ.get('MOCKBENCH_SLEEP')
    scale = float(os.environ.get('MOCKBENCH_SCALE', '1'))
    n = int(o['n'])
    chunks = [0]
    if name == 'chunks' and o['mode'] != 'seq':
        c, top = int(o['min-chunk']), max(1, n // w)
        chunks = []
        while c <= top:
            chunks.append(c)
            c *= int(o['factor'])
    rows = []
    setup = 0.0
    if name == 'sum':
        setup = n * 1e-9          # filling the array, once per process
        time.sleep(setup * scale)
    for rep in range(int(o['repeat'])):
        for m in modes:
            for ch in chunks:
                ww = 1 if m == 'seq' else w
                size = n
                chunk = ch or int(o['chunk']) or max(1, n // (4 * ww))
                variant = ('gil' if 'gil' in flags
                           else 'copy' if 'copy' in flags
                           else 'shm-no-prefault' if 'no-prefault' in flags
                           else 'cascade' if 'cascade' in flags
                           else 'no-cascade' if 'no-cascade' in flags
                           else 'bare' if 'bare' in flags
                           else 'one-at-a-time' if 'one-at-a-time' in flags
                           else 'send-answers' if 'send-answers' in flags
                           else 'shm' if name == 'sum' and m == 'procs'
                           else o['variant'] if name == 'overhead' or ranks
                           else '-')
                if ranks and os.environ.get('MOCKBENCH_OVERSUB'):
                    variant += '+oversub'
                res = exp = n // 7
                sp = speed(name, lang, m, ww, flags)
                if name in ('io', 'crawl'):
                    size = int(o['tasks'] if name == 'io' else o['pages'])
                    k = math.ceil(size / ww) * int(o['delay-ms']) / 1e3
                    res = exp = size
                elif name == 'overhead':
                    size = int(o['tasks'])
                    # A round trip pays two wake-ups; a map item is a
                    # share of a batch.
                    k = size * COST[m] * {'roundtrip': 10, 'map': 0.01}.get(
                        o['variant'], 1)
                    res = exp = size
                elif name == 'sum':
                    k = n * 1e-9 / sp
                elif name == 'images':
                    size = int(o['images'])
                    k = size * 2e-3 * (int(o['max-side']) / 256) ** 2 / sp
                    res = exp = size
                else:
                    k = 1e-7 * n * math.sqrt(n / 1e5) / sp
                    if name == 'chunks' and m != 'seq':
                        k += 1e-6 * (n / ch) / sp
                if sleep and m != 'seq':
                    k = float(sleep)
                else:
                    k *= scale
                if os.environ.get('MOCKBENCH_FAIL') == '%s:%s:%d' % (
                        name, m, ww):
                    res = exp + 1
                time.sleep(k)
                rows.append([name, lang, m, variant, str(ww), str(size),
                             str(chunk), str(max(1, size // chunk)),
                             str(rep), '%.9f' % (setup if rep == 0 else 0),
                             '%.9f' % k, str(res), str(exp),
                             'ok' if res == exp else 'FAIL',
                             '%.6f' % k, '0.000000'])
    if o['trace']:
        if os.environ.get('MOCKBENCH_TRACE_FAIL'):
            sys.stderr.write('%s: cannot write the trace\n' % name)
            return 1
        write_trace(o['trace'], name, o['mode'], w, float(rows[-1][10]),
                    'gil' in flags, o['trace-label'], 'kill-worker' in flags)
    if o['format'] == 'csv':
        print(','.join(COLUMNS))
    for r in rows:
        print(','.join(r))
    if o['out']:
        fd = os.open(o['out'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        head = ''
        if os.fstat(fd).st_size == 0 and not os.environ.get(
                'MOCKBENCH_NO_HEADER'):
            head = ','.join(COLUMNS) + '\n'
        cols = len(COLUMNS) if not os.environ.get('MOCKBENCH_NO_HEADER') \
            else 14
        os.write(fd, (head + ''.join(','.join(r[:cols]) + '\n'
                                     for r in rows)).encode())
        os.close(fd)
    for r in rows:
        if r[13] == 'FAIL':
            sys.stderr.write('%s: wrong result %s, expected %s\n'
                             % (name, r[11], r[12]))
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
