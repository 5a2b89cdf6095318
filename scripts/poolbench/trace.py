"""Per-task traces (docs/trace-format.md): load one, check it against the
document, and sum it up.

A trace is what a benchmark run with --trace FILE writes: the Chrome Trace
Event Format (JSON object form) that Perfetto and chrome://tracing open as
they are.  This module is the format's single reader in the suite: the
C tests call its checker on the files the benchmarks write, and
poolbench.timeline draws from what parse() returns, so a file the checker
accepts is a file the charts can draw.

    python3 -m poolbench.trace check FILE [--tasks N] [--workers N]

exits 0 when FILE is a valid trace (and prints its summary), 1 when it is
not (one line per problem), 2 on a bad command line.

What the checker holds a trace to (each rule in docs/trace-format.md):
- valid JSON, an object with traceEvents, displayTimeUnit "ns" and
  otherData with tool, benchmark, mode, pool, workers, dropped, commit,
  label;
- every event on pid 1, with a ph this format uses (M, X, C, i);
- one thread_name for each track 0..workers (0 named "caller") and one
  process_name;
- every task or chunk (an X event of cat "task" or "chunk") on a track
  0..workers, with ts >= 0, dur >= 0, queued_us <= ts, its args complete,
  failed true exactly when status is not 0, and an id no other task or
  chunk has; no two of them overlap on one track;
- with --tasks N: the tasks and chunks present plus the dropped ones
  make N, and every id is below N; with --workers N: otherData says N.
"""

import argparse
import json
import sys

TOOL = 'poolbench'
POOLS = ('threads', 'processes', 'none')
PHASES = ('M', 'X', 'C', 'i')
CATS = ('task', 'chunk')
META_KEYS = ('tool', 'benchmark', 'mode', 'pool', 'workers', 'dropped',
             'commit', 'label')
# Two slices on one track may touch; they overlap when one starts more
# than this before the previous one ends.  A writer that prints
# microseconds with 3 decimals (nanoseconds) rounds each end by at most
# 0.0005 us, two ends by 0.001.
OVERLAP_SLACK_US = 0.001
# The checker stops listing problems after this many: the first ones say
# what the writer does wrong, the next thousand only repeat it.
MAX_PROBLEMS = 20


class TraceError(Exception):
    """A trace that cannot be read or is not in the format; str() is the
    list of problems, one a line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(self.problems))


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def load(path):
    """The JSON document in PATH.  Raises TraceError when the file cannot
    be read or is not JSON (the message names the line and column)."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise TraceError(['%s: cannot read: %s' % (path, e.strerror)])
    except UnicodeDecodeError as e:
        raise TraceError(['%s: not UTF-8 text: %s' % (path, e)])
    try:
        return json.loads(text)
    except ValueError as e:
        raise TraceError(['%s: not valid JSON: %s' % (path, e)])


def _where(i, ev):
    name = ev.get('name') if isinstance(ev, dict) else None
    ph = ev.get('ph') if isinstance(ev, dict) else None
    return 'event %d (%s%s)' % (i, ph or '?',
                                ' "%s"' % name if name else '')


def validate(doc, tasks=None, workers=None):
    """The problems of a loaded trace against docs/trace-format.md, as
    sentences (empty: valid).  TASKS, WORKERS: what the run should have
    (None: not checked)."""
    out = []

    def problem(msg):
        out.append(msg)

    if not isinstance(doc, dict):
        return ['the top level is not a JSON object (this format uses the '
                'object form: {"traceEvents": [...], ...})']
    evs = doc.get('traceEvents')
    if not isinstance(evs, list):
        problem('traceEvents is missing or not a list')
        evs = []
    if doc.get('displayTimeUnit') != 'ns':
        problem('displayTimeUnit is %r, not "ns"'
                % (doc.get('displayTimeUnit'),))
    meta = doc.get('otherData')
    if not isinstance(meta, dict):
        problem('otherData is missing or not an object')
        meta = {}
    for k in META_KEYS:
        if k not in meta:
            problem('otherData has no "%s"' % k)
    if 'tool' in meta and meta['tool'] != TOOL:
        problem('otherData.tool is %r, not "%s"' % (meta['tool'], TOOL))
    for k in ('benchmark', 'mode', 'commit', 'label'):
        if k in meta and not isinstance(meta[k], str):
            problem('otherData.%s is not a string' % k)
    if 'pool' in meta and meta['pool'] not in POOLS:
        problem('otherData.pool is %r, not one of %s'
                % (meta['pool'], ', '.join(POOLS)))
    nw = meta.get('workers')
    if 'workers' in meta and not (_is_int(nw) and nw >= 0):
        problem('otherData.workers is %r, not a whole number >= 0' % (nw,))
        nw = None
    dropped = meta.get('dropped')
    if 'dropped' in meta and not (_is_int(dropped) and dropped >= 0):
        problem('otherData.dropped is %r, not a whole number >= 0'
                % (dropped,))
        dropped = None
    if workers is not None and _is_int(nw) and nw != workers:
        problem('otherData.workers is %d, the run had %d workers'
                % (nw, workers))

    names = {}          # tid -> thread_name
    nproc = 0
    ids = {}            # id -> index of the event that has it
    slices = {}         # tid -> [(start, end, i)]
    ntasks = 0
    for i, ev in enumerate(evs):
        if len(out) >= MAX_PROBLEMS:
            break
        if not isinstance(ev, dict):
            problem('event %d is not an object' % i)
            continue
        w = _where(i, ev)
        ph = ev.get('ph')
        if ph not in PHASES:
            problem('%s: ph %r is not one this format uses (%s)'
                    % (w, ph, ', '.join(PHASES)))
            continue
        if ev.get('pid') != 1:
            problem('%s: pid is %r, not 1 (the whole pool is pid 1)'
                    % (w, ev.get('pid')))
        tid = ev.get('tid')
        args = ev.get('args')
        if not isinstance(args, dict):
            problem('%s: no args object' % w)
            continue
        if ph in ('X', 'i', 'M') and ev.get('name') != 'process_name':
            if not _is_int(tid):
                problem('%s: tid %r is not a whole number' % (w, tid))
                continue
            if _is_int(nw) and not 0 <= tid <= nw:
                problem('%s: tid %d is outside 0..%d (0 the caller, 1..%d '
                        'the workers)' % (w, tid, nw, nw))
        if ph != 'M':
            ts = ev.get('ts')
            if not _is_num(ts) or ts < 0:
                problem('%s: ts %r is not a number >= 0 (microseconds)'
                        % (w, ts))
                continue
        if ph == 'M':
            if ev.get('name') == 'process_name':
                nproc += 1
                if not isinstance(args.get('name'), str):
                    problem('%s: process_name has no args.name' % w)
            elif ev.get('name') == 'thread_name':
                if tid in names:
                    problem('%s: a second thread_name for tid %d'
                            % (w, tid))
                if not isinstance(args.get('name'), str):
                    problem('%s: thread_name has no args.name' % w)
                names[tid] = args.get('name')
                if tid == 0 and args.get('name') != 'caller':
                    problem('%s: tid 0 is named %r, not "caller"'
                            % (w, args.get('name')))
            else:
                problem('%s: metadata other than process_name and '
                        'thread_name' % w)
        elif ph == 'C':
            if ev.get('name') != 'queue':
                problem('%s: the only counter is "queue"' % w)
            q = args.get('queued')
            if not (_is_int(q) and q >= 0):
                problem('%s: args.queued %r is not a whole number >= 0'
                        % (w, q))
        elif ph == 'X':
            cat = ev.get('cat')
            if cat not in CATS:
                problem('%s: cat %r is not "task" or "chunk"' % (w, cat))
                continue
            ntasks += 1
            dur = ev.get('dur')
            if not _is_num(dur) or dur < 0:
                problem('%s: dur %r is not a number >= 0 (its end is '
                        'before its start)' % (w, dur))
                continue
            if _is_int(tid) and (not _is_int(nw) or 0 <= tid <= nw):
                slices.setdefault(tid, []).append(
                    (ev['ts'], ev['ts'] + dur, i))
            task_id = args.get('id')
            if not (_is_int(task_id) and task_id >= 0):
                problem('%s: args.id %r is not a whole number >= 0'
                        % (w, task_id))
            elif task_id in ids:
                problem('%s: id %d appears twice (also event %d)'
                        % (w, task_id, ids[task_id]))
            else:
                ids[task_id] = i
                if tasks is not None and task_id >= tasks:
                    problem('%s: id %d is not below the run\'s %d tasks'
                            % (w, task_id, tasks))
            q = args.get('queued_us')
            if not _is_num(q) or q < 0:
                problem('%s: args.queued_us %r is not a number >= 0'
                        % (w, q))
            elif q > ev['ts'] + OVERLAP_SLACK_US:
                problem('%s: queued at %g us, after its start at %g us'
                        % (w, q, ev['ts']))
            b = args.get('began_us')
            if b is not None:
                if not _is_num(b) or b > ev['ts'] + OVERLAP_SLACK_US:
                    problem('%s: args.began_us %r is not a time at or '
                            'before its start, %g us' % (w, b, ev['ts']))
                elif _is_num(q) and b < q - OVERLAP_SLACK_US:
                    problem('%s: began at %g us, before it was queued at '
                            '%g us' % (w, b, q))
                elif slices.get(tid):
                    # The worker was taken from when it began the task.
                    s0, e0, i0 = slices[tid].pop()
                    slices[tid].append((min(b, s0), e0, i0))
            st = args.get('status')
            failed = args.get('failed')
            if not (_is_int(st) and st >= 0):
                problem('%s: args.status %r is not 0 or an error number'
                        % (w, st))
            if not isinstance(failed, bool):
                problem('%s: args.failed %r is not true or false'
                        % (w, failed))
            elif _is_int(st) and failed != (st != 0):
                problem('%s: args.failed is %s but status is %d'
                        % (w, 'true' if failed else 'false', st))
            if not _is_int(args.get('os_tid_or_pid')):
                problem('%s: args.os_tid_or_pid %r is not a whole number'
                        % (w, args.get('os_tid_or_pid')))
            if cat == 'chunk':
                for k in ('first', 'count'):
                    if not (_is_int(args.get(k)) and args[k] >= 0):
                        problem('%s: a chunk needs args.%s, a whole number '
                                '>= 0' % (w, k))

    if len(out) < MAX_PROBLEMS and _is_int(nw):
        missing = [t for t in range(nw + 1) if t not in names]
        if missing:
            problem('no thread_name for track%s %s (every track 0..%d '
                    'needs one, even when it ran nothing)'
                    % ('s' if len(missing) > 1 else '',
                       ', '.join(map(str, missing[:10])) +
                       (' ...' if len(missing) > 10 else ''), nw))
        if nproc != 1:
            problem('%d process_name events, not 1' % nproc)
    for tid, sl in sorted(slices.items()):
        sl.sort()
        for (s0, e0, i0), (s1, e1, i1) in zip(sl, sl[1:]):
            if s1 < e0 - OVERLAP_SLACK_US and len(out) < MAX_PROBLEMS:
                problem('event %d starts at %g us on track %d, before '
                        'event %d ends at %g us (a worker runs one task at '
                        'a time)' % (i1, s1, tid, i0, e0))
    if tasks is not None and _is_int(dropped) and len(out) < MAX_PROBLEMS:
        if ntasks + dropped != tasks:
            problem('%d tasks or chunks%s, the run had %d'
                    % (ntasks, ' and %d dropped' % dropped if dropped
                       else '', tasks))
    if len(out) >= MAX_PROBLEMS:
        out = out[:MAX_PROBLEMS] + ['(more problems not listed)']
    return out


def parse(doc):
    """The parts of a valid trace the summary and the charts use:
    {meta, workers, names: {tid: name}, tasks: [dict], queue: [(ts, n)],
    instants: [dict]}; each task {id, tid, start, end, queued, name, cat,
    failed, status, began, first, count, note} with times in microseconds
    (began: when the worker began it, before start when it first waited
    for a lock inside itself; else start), sorted
    by track then start."""
    meta = doc['otherData']
    names, tasks, queue, instants = {}, [], [], []
    for ev in doc['traceEvents']:
        ph, args = ev['ph'], ev.get('args', {})
        if ph == 'M' and ev['name'] == 'thread_name':
            names[ev['tid']] = args['name']
        elif ph == 'X':
            tasks.append({'id': args['id'], 'tid': ev['tid'],
                          'start': float(ev['ts']),
                          'end': float(ev['ts']) + float(ev['dur']),
                          'queued': float(args['queued_us']),
                          'name': ev.get('name', ''), 'cat': ev['cat'],
                          'failed': args['failed'],
                          'status': args['status'],
                          'began': float(args.get('began_us', ev['ts'])),
                          'first': args.get('first'),
                          'count': args.get('count'),
                          'note': args.get('note')})
        elif ph == 'C':
            queue.append((float(ev['ts']), args['queued']))
        elif ph == 'i':
            instants.append({'name': ev.get('name', ''), 'tid': ev['tid'],
                             'ts': float(ev['ts']), 'args': args})
    tasks.sort(key=lambda t: (t['tid'], t['start'], t['id']))
    queue.sort(key=lambda q: q[0])      # stable: ties keep file order
    return {'meta': meta, 'workers': meta['workers'], 'names': names,
            'tasks': tasks, 'queue': queue, 'instants': instants}


def read(path, tasks=None, workers=None):
    """parse() of the trace in PATH; raises TraceError with every problem
    when it is not valid."""
    doc = load(path)
    problems = validate(doc, tasks, workers)
    if problems:
        raise TraceError(['%s: %s' % (path, p) for p in problems])
    return parse(doc)


def summary(tr):
    """The figures of a parsed trace, in microseconds:
    {tasks, failed, dropped, workers, t0, t1, makespan_us,
     tracks: {tid: {tasks, busy_us, busy_fraction, gaps, idle_us,
                    longest_gap_us}},
     longest_wait_us, longest_wait_id}.
    t0 is when the first task was queued (or started, if earlier), t1 when
    the last one ended; makespan_us = t1 - t0.  A track's gaps are the
    idle stretches between its slices and from t0 to its first slice and
    its last slice to t1 (shorter than OVERLAP_SLACK_US not counted); its
    busy fraction is busy time over the makespan.  The wait of a task is
    its start minus its queued time."""
    ts = tr['tasks']
    out = {'tasks': len(ts), 'failed': sum(t['failed'] for t in ts),
           'dropped': tr['meta']['dropped'], 'workers': tr['workers'],
           'tracks': {}, 'longest_wait_us': 0.0, 'longest_wait_id': None}
    if not ts:
        out.update(t0=0.0, t1=0.0, makespan_us=0.0)
        return out
    t0 = min(min(t['queued'] for t in ts), min(t['start'] for t in ts))
    t1 = max(t['end'] for t in ts)
    span = t1 - t0
    out.update(t0=t0, t1=t1, makespan_us=span)
    for tid in range(tr['workers'] + 1):
        mine = [t for t in ts if t['tid'] == tid]
        busy = sum(t['end'] - t['start'] for t in mine)
        gaps, at = [], t0
        for t in mine:
            if t['start'] - at > OVERLAP_SLACK_US:
                gaps.append(t['start'] - at)
            at = max(at, t['end'])
        if t1 - at > OVERLAP_SLACK_US:
            gaps.append(t1 - at)
        out['tracks'][tid] = {
            'tasks': len(mine), 'busy_us': busy,
            'busy_fraction': busy / span if span > 0 else 0.0,
            'gaps': len(gaps), 'idle_us': sum(gaps),
            'longest_gap_us': max(gaps) if gaps else 0.0}
    w = max(ts, key=lambda t: (t['start'] - t['queued'], -t['id']))
    out['longest_wait_us'] = w['start'] - w['queued']
    out['longest_wait_id'] = w['id']
    return out


def make_doc(meta, tasks, queue=(), instants=()):
    """A trace document in this format from plain lists (the tests'
    synthetic traces; a Python benchmark's writer).  META: the otherData
    keys; TASKS: dicts {id, tid, start, end, queued} in microseconds, and
    optionally cat ("task"), status (0), name, first, count, os_id, note,
    began;
    QUEUE: (ts, queued) pairs; INSTANTS: dicts {name, tid, ts, args}."""
    meta = dict(meta, tool=TOOL)
    evs = [{'ph': 'M', 'name': 'process_name', 'pid': 1, 'tid': 0,
            'args': {'name': 'poolbench %s (%s)'
                     % (meta.get('benchmark', '?'), meta.get('label', ''))}}]
    for tid in range(meta['workers'] + 1):
        evs.append({'ph': 'M', 'name': 'thread_name', 'pid': 1, 'tid': tid,
                    'args': {'name': 'worker %d' % tid if tid else
                             'caller'}})
    for t in tasks:
        cat = t.get('cat', 'task')
        args = {'id': t['id'], 'queued_us': t['queued'],
                'status': t.get('status', 0),
                'failed': t.get('status', 0) != 0,
                'os_tid_or_pid': t.get('os_id', 1000 + t['tid'])}
        if cat == 'chunk' or 'first' in t:
            args['first'], args['count'] = t['first'], t['count']
        if t.get('note'):
            args['note'] = t['note']
        if t.get('began') is not None:
            args['began_us'] = t['began']
        name = t.get('name') or (
            'chunk %d (items %d-%d)' % (t['id'], t['first'],
                                        t['first'] + t['count'] - 1)
            if cat == 'chunk' else 'task %d' % t['id'])
        evs.append({'ph': 'X', 'name': name, 'cat': cat, 'pid': 1,
                    'tid': t['tid'], 'ts': t['start'],
                    'dur': t['end'] - t['start'], 'args': args})
    for ts, n in queue:
        evs.append({'ph': 'C', 'name': 'queue', 'pid': 1, 'ts': ts,
                    'args': {'queued': n}})
    for i in instants:
        evs.append({'ph': 'i', 'name': i['name'], 'pid': 1, 'tid': i['tid'],
                    'ts': i['ts'], 's': 't', 'args': i.get('args', {})})
    return {'traceEvents': evs, 'displayTimeUnit': 'ns', 'otherData': meta}


def fmt_us(us):
    """A duration for people: 850 ns, 12.3 us, 4.56 ms, 1.23 s."""
    for scale, unit in ((1e6, 's'), (1e3, 'ms'), (1.0, 'us')):
        if us >= scale:
            return '%.3g %s' % (us / scale, unit)
    return '%.3g ns' % (us * 1e3)


def summary_text(tr):
    """summary() as lines for a terminal."""
    s = summary(tr)
    m = tr['meta']
    lines = ['%s, %s: %d tasks or chunks (%d failed, %d dropped), '
             '%d workers, makespan %s, longest wait %s (id %s)'
             % (m['benchmark'], m['label'] or m['mode'], s['tasks'],
                s['failed'], s['dropped'], s['workers'],
                fmt_us(s['makespan_us']), fmt_us(s['longest_wait_us']),
                s['longest_wait_id'])]
    for tid, t in sorted(s['tracks'].items()):
        lines.append('  %-12s %6d tasks  busy %5.1f%%  %5d gaps, longest %s'
                     % (tr['names'].get(tid, str(tid)), t['tasks'],
                        100 * t['busy_fraction'], t['gaps'],
                        fmt_us(t['longest_gap_us'])))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='python3 -m poolbench.trace',
        description='Check a per-task trace against docs/trace-format.md.')
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('check', help='exit 0 when FILE is a valid trace, '
                       '1 when it is not')
    c.add_argument('file', metavar='FILE')
    c.add_argument('--tasks', type=int, metavar='N',
                   help='the run had N tasks or chunks')
    c.add_argument('--workers', type=int, metavar='N',
                   help='the run had N workers')
    c.add_argument('-q', '--quiet', action='store_true',
                   help='print problems only, no summary')
    a = ap.parse_args(argv)     # exits 2 on a bad command line
    for k in ('tasks', 'workers'):
        if getattr(a, k) is not None and getattr(a, k) < 0:
            ap.error('--%s must be >= 0' % k)
    try:
        tr = read(a.file, a.tasks, a.workers)
    except TraceError as e:
        print('%s: invalid trace' % a.file, file=sys.stderr)
        for p in e.problems:
            print('  ' + p, file=sys.stderr)
        return 1
    if not a.quiet:
        print('%s: valid trace' % a.file)
        print('\n'.join(summary_text(tr)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
