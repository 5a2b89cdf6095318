"""The timelines step (issue 16): the pools at work, task by task.

A speedup curve says how much; a timeline says why.  After the measuring
rounds the suite runs a few benchmark commands once more, untimed, with
`--trace FILE` (docs/trace-format.md), and draws each pair of traces as
one Gantt chart (poolbench.timeline): workers on the y axis, time on the
x axis, one box per task or chunk, idle time as empty space.  Each chart
answers one question, side by side where a comparison is the point:

- primes: threads against threads under one lock (--gil): do they run at
  once?
- chunks: primes on threads with chunk size 1 against the chunk sweep's
  best chunk size: where does the time of a tiny task go?
- io: 64 sleeping tasks on 64 workers, threads against processes: how
  long does the last sleeper wait to be woken?
- a process map, as it runs and with one worker killed (chunks
  --kill-worker): which chunk is lost, and what happens to the work the
  dead worker held?

The sizes are small on purpose: a trace holds one event per task, and
chunk size 1 over the calibrated size would be tens of thousands of
them, megabytes of JSON for a chart that shows the same picture with a
few thousand.  Each sentence under a chart comes from the traces'
figures (poolbench.trace.summary): the makespan, the average number of
tracks at work (busy time of all tracks over the makespan: 2 for two
workers that never idle, 1 for tasks that take turns) and the longest
wait from queued to started.

Files: traces/NAME-1.json, traces/NAME-2.json (what Perfetto and
chrome://tracing open), timelines.json (what ran, with which labels), the
charts in charts/ and their data in data/, as every chart.
"""

import json
import math
import os

from . import trace
from .analyse import fmt_time

FILE = 'timelines.json'
# Numbers of the chunk-size pair (its chunk-size-1 side is a task each):
# enough to show the hand-offs, few enough for a trace of about 2 MB.
CHUNKS_N = 5000
# The io pair: as many sleepers as workers, each sleeping IO_DELAY_MS.
IO_TASKS = 64
IO_DELAY_MS = 10
# The killed-worker pair: a map of 40 chunks, the worker of the middle
# one killing itself (chunks --kill-worker).
KILLED_N, KILLED_CHUNK = 200000, 5000
# Seconds a traced command takes besides its kernel (start, trace file).
TRACE_START_S = 0.3


def _cal(sizes, wl):
    s = sizes.get((wl, 'c'))
    return s.params if s else {}


def best_chunk(samples):
    """The chunk size whose C threads run of the sweep had the lowest
    median kernel time, or None when the sweep did not run."""
    by = {}
    for r in samples:
        if (r.get('workload'), r.get('lang'), r.get('mode')) == \
                ('chunks', 'c', 'threads') and r.get('chunk'):
            by.setdefault(int(r['chunk']), []).append(float(r['kernel_s']))
    if not by:
        return None
    med = {c: sorted(v)[len(v) // 2] for c, v in by.items()}
    return min(med, key=med.get)


def specs(ctx, sizes, workloads, samples=()):
    """The pairs to trace: dicts {name, workload, title, question, runs:
    [{label, argv}]}, argv with '@TRACE@' for the trace file."""
    w = ctx.ncpu
    out = []
    if 'primes' in workloads:
        n = _cal(sizes, 'primes').get('n')
        if isinstance(n, int):
            base = [ctx.c('primes'), '--mode', 'threads', '--workers',
                    str(w), '--n', str(n), '--repeat', '1', '--trace',
                    '@TRACE@']
            out.append({
                'name': 'timeline-primes-gil', 'workload': 'primes',
                'title': 'primes on %d threads: free, then under one lock '
                         '(--gil)' % w,
                'question': 'do threads that hold one lock, as Python\'s '
                            'GIL makes them, still run at once?',
                'runs': [{'label': 'threads', 'argv': base},
                         {'label': '--gil threads', 'argv': base +
                          ['--gil']}]})
    if 'chunks' in workloads:
        # primes, not chunks: chunks runs its map from inside a task of
        # the pool (so that W workers do the work), which puts the map's
        # own chunks on the caller's row and one long box on a worker's;
        # primes submits one task per chunk, each on its worker's row.
        best = min(best_chunk(samples) or math.ceil(CHUNKS_N / (4 * w)),
                   math.ceil(CHUNKS_N / w))
        base = [ctx.c('primes'), '--mode', 'threads', '--workers', str(w),
                '--n', str(CHUNKS_N), '--repeat', '1', '--trace', '@TRACE@']
        out.append({
            'name': 'timeline-chunks', 'workload': 'chunks',
            'title': 'primes below %d on %d threads: chunk size 1, then %d'
                     % (CHUNKS_N, w, best),
            'question': 'where does the time go when every item is a task '
                        'of its own?',
            'runs': [{'label': 'chunk size 1', 'argv': base +
                      ['--chunk', '1']},
                     {'label': 'chunk size %d (%s)' % (
                         best, 'the sweep\'s best' if best_chunk(samples)
                         else 'a quarter of a worker\'s share'),
                      'argv': base + ['--chunk', str(best)]}]})
    if 'io' in workloads:
        base = [ctx.c('io'), '--workers', str(IO_TASKS), '--tasks',
                str(IO_TASKS), '--delay-ms', str(IO_DELAY_MS), '--repeat',
                '1', '--trace', '@TRACE@']
        out.append({
            'name': 'timeline-io', 'workload': 'io',
            'title': '%d tasks sleeping %d ms on %d workers: threads, then '
                     'processes' % (IO_TASKS, IO_DELAY_MS, IO_TASKS),
            'question': 'how long does the last sleeper wait to be woken?',
            'runs': [{'label': 'threads', 'argv': base[:1] + [
                      '--mode', 'threads'] + base[1:]},
                     {'label': 'processes', 'argv': base[:1] + [
                      '--mode', 'procs'] + base[1:]}]})
    if 'chunks' in workloads:
        base = [ctx.c('chunks'), '--mode', 'procs', '--workers', str(w),
                '--n', str(KILLED_N), '--chunk', str(KILLED_CHUNK),
                '--repeat', '1', '--trace', '@TRACE@']
        out.append({
            'name': 'timeline-killed', 'workload': 'chunks',
            'title': 'a process map of %d chunks on %d workers: as it runs, '
                     'then with one worker killed' % (
                         KILLED_N // KILLED_CHUNK, w),
            'question': 'which chunk does a killed worker lose, and what '
                        'happens to the work it held?',
            'runs': [{'label': 'processes', 'argv': base},
                     {'label': 'one worker killed (chunks --kill-worker)',
                      'argv': base + ['--kill-worker']}]})
    return out


def estimate(sp, sizes):
    """Seconds: each traced command once, its kernel about the calibrated
    sequential one (primes, --gil) or less."""
    t = 0.0
    for s in sp:
        cal = sizes.get((s['workload'], 'c'))
        kernel = cal.seq_kernel_s if cal and cal.seq_kernel_s else 0.5
        if s['workload'] == 'io':
            kernel = IO_DELAY_MS / 1000.0
        elif s['workload'] == 'chunks':
            kernel = 0.2 if s['name'] == 'timeline-chunks' else 0.3
        t += len(s['runs']) * (TRACE_START_S + kernel)
    return t


def run(sp, folder, runner_, progress):
    """Runs every command of every pair, each writing its trace into
    traces/; a command that fails or writes an invalid trace leaves its
    pair out, with the reason (a picture is no measurement: the run goes
    on).  Writes timelines.json."""
    tdir = folder.path('traces')
    os.makedirs(tdir, exist_ok=True)
    done = []
    for s in sp:
        files, why = [], None
        for k, r in enumerate(s['runs'], 1):
            rel = os.path.join('traces', '%s-%d.json' % (s['name'], k))
            path = folder.path(rel)
            argv = [path if a == '@TRACE@' else a for a in r['argv']] + \
                ['--trace-label', r['label']]
            tail = []
            rc = runner_.run(argv, tail=tail)
            if rc != 0:
                why = '%s: exit %d: %s' % (r['label'], rc,
                                           ' '.join(tail[-2:]).strip())
                break
            try:
                trace.read(path)
            except (trace.TraceError, OSError, ValueError) as e:
                why = '%s: invalid trace: %s' % (r['label'], e)
                break
            files.append(rel)
        entry = {k: s[k] for k in ('name', 'workload', 'title', 'question')}
        entry['runs'] = [{'label': r['label'], 'argv': r['argv']}
                         for r in s['runs']]
        entry['files'] = files if why is None else []
        entry['skipped'] = why
        if why:
            progress.warn('note: timeline %s left out: %s' % (s['name'],
                                                              why))
        done.append(entry)
    from .runfolder import write_json
    write_json(folder.path(FILE), {'timelines': done})
    return done


def parallelism(s):
    """Busy time of all tracks over the makespan: the average number of
    tracks at work."""
    busy = sum(t['busy_us'] for t in s['tracks'].values())
    return busy / s['makespan_us'] if s['makespan_us'] > 0 else 0.0


def _run_sentence(label, s):
    text = ('%s: %d %s in %s, on average %.2f tracks at work (their busy '
            'time over the makespan), the longest wait from queued to '
            'started %s' % (
                label, s['tasks'], 'task or chunk' if s['tasks'] == 1 else
                'tasks or chunks', fmt_time(s['makespan_us'] / 1e6),
                parallelism(s), fmt_time(s['longest_wait_us'] / 1e6)))
    if s['failed']:
        text += '; %d failed' % s['failed']
    if s['dropped']:
        text += '; %d events dropped (full buffers)' % s['dropped']
    return text


def build(run_dir):
    """The model's part: the pairs that ran, each with its traces'
    summaries and its sentences; None when the step did not run."""
    path = os.path.join(run_dir, FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        doc = json.load(f)
    out = []
    for e in doc.get('timelines', []):
        e = dict(e)
        e['summaries'], e['sentences'] = [], []
        if not e.get('skipped'):
            try:
                trs = [trace.read(os.path.join(run_dir, p))
                       for p in e['files']]
            except (trace.TraceError, OSError, ValueError) as err:
                e['skipped'] = 'unreadable trace: %s' % err
                trs = []
            for r, tr in zip(e['runs'], trs):
                s = trace.summary(tr)
                e['summaries'].append(s)
                e['sentences'].append(_run_sentence(r['label'], s))
            if len(e['summaries']) == 2:
                a, b = e['summaries']
                if a['makespan_us'] > 0 and b['makespan_us'] > 0:
                    e['sentences'].append(
                        '%s took %.2f times as long as %s.' % (
                            e['runs'][1]['label'],
                            b['makespan_us'] / a['makespan_us'],
                            e['runs'][0]['label']))
        out.append(e)
    return out


def caption(e):
    return '%s: %s One row per worker (the caller on top), one box per ' \
        'task or chunk; empty space is idle time.' % (
            e['title'], e['question'][0].upper() + e['question'][1:])


def write(model, run_dir):
    """Draws each pair that ran; records whether it was drawn."""
    from . import charts, timeline
    for e in model.get('timelines') or []:
        e['drawn'] = False
        if e.get('skipped') or not e['files']:
            continue
        timeline.write_run_chart(
            run_dir, e['name'], [os.path.join(run_dir, p)
                                 for p in e['files']],
            title=e['title'], footer=charts.footer(model), same_x=True)
        e['drawn'] = os.path.exists(os.path.join(run_dir, 'charts',
                                                 e['name'] + '.svg'))


INTRO = ('Each chart below is one untimed run of a benchmark with '
         '`--trace FILE`, drawn task by task: which worker ran which task, '
         'when, and where workers sat idle. The traces are in `traces/`; '
         'Perfetto (ui.perfetto.dev) and chrome://tracing open them as '
         'they are.')


def markdown(model):
    tl = model.get('timelines')
    if not tl:
        return []
    L = ['## Timelines: the pools at work', '', INTRO, '']
    for e in tl:
        L += ['### %s' % e['title'], '']
        if e.get('skipped'):
            L += ['Not drawn: %s.' % e['skipped'], '']
            continue
        for s in e['sentences']:
            L.append('- ' + s)
        L.append('')
        if e.get('drawn'):
            cap = caption(e)
            L += ['![%s](charts/%s.png)' % (cap, e['name']), '',
                  '*%s* ([SVG](charts/%s.svg), [data](data/%s.dat), traces: '
                  '%s)' % (cap, e['name'], e['name'], ', '.join(
                      '[%s](%s)' % (r['label'], p)
                      for r, p in zip(e['runs'], e['files']))), '']
    return L


def html(model, run_dir, n):
    from .html import esc, figure, inline
    tl = model.get('timelines')
    if not tl:
        return []
    H = ['<section id="timelines"><h2>Timelines: the pools at work</h2>',
         '<p>%s</p>' % inline(INTRO)]
    for k, e in enumerate(tl):
        H.append('<h3>%s</h3>' % esc(e['title']))
        if e.get('skipped'):
            H.append('<p>Not drawn: %s.</p>' % esc(e['skipped']))
            continue
        H.append('<ul class="sentences">%s</ul>' % ''.join(
            '<li>%s</li>' % inline(s) for s in e['sentences']))
        if e.get('drawn'):
            H.append(figure(run_dir, {'name': e['name'],
                                      'caption': caption(e),
                                      'kind': 'timeline'}, n + k))
        H.append('<p>Traces: %s</p>' % ', '.join(
            '<a href="%s">%s</a>' % (esc(p), esc(r['label']))
            for r, p in zip(e['runs'], e['files'])))
    H.append('</section>')
    return H


def summary(model):
    """summary.json's "timelines"."""
    tl = model.get('timelines')
    if tl is None:
        return None
    return [{k: e.get(k) for k in ('name', 'title', 'files', 'skipped',
                                   'sentences')} for e in tl]
