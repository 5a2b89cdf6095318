"""From a run folder to the run's MODEL, and from the model to every output.

    write_outputs(run_dir) -> list of "Read with care" lines

reads what the runner left in the folder (run.json, machine.json,
calibration.json, samples.jsonl, walls.jsonl, background.json,
mpi-startup.jsonl: see SUITE-CONTRACT in the project notes and
results/README.md), builds one model of the run -- plain dicts and lists,
nothing else -- and hands that model to each writer: charts.py (data/*.dat,
charts/*.svg and .png), report.py (report.md, summary.json), html.py
(report.html, with the charts' SVG inlined).  No output is
read back to make another: the report's numbers and the charts' points are
the same numbers because they come from the same dicts.

The model (build_model):
  run, machine, calibration, background  the folder's JSON, as read
  configs   one dict per configuration: its labels (workload, lang, mode,
            variant, workers, chunk, oversub), size (n, tasks, params),
            kernel samples (pooled over rounds, and per round), their
            describe() figures, and the derived figures: speedup and
            efficiency with 95% bootstrap intervals, Karp-Flatt, per-task
            cost, throughput, GB/s, whole-process time; and its flags
  flags     every anomaly, numbered: what, where, the number, likely cause
  drift     the sequential baselines' medians per round
  startup   mpirun's start-up times per rank count
  workloads per workload: its kind (CPU-, memory-, latency-bound), the
            sentences that describe it (sentences.py) and its charts
"""

import json
import math
import os

from . import stats

# What bounds each workload: the reader needs it to know what a speedup
# means (a memory-bound loop is held back by the memory bus, not the CPUs).
KIND = {'primes': 'CPU-bound', 'chunks': 'CPU-bound', 'images': 'CPU-bound',
        'sum': 'memory-bound', 'io': 'latency-bound',
        'crawl': 'latency-bound', 'overhead': 'overhead'}
TITLE = {'primes': 'count primes by trial division',
         'sum': 'add up an array of 64-bit values',
         'io': 'tasks that sleep',
         'overhead': 'the cost of one task',
         'chunks': 'the chunk-size sweep (primes)',
         'crawl': 'a breadth-first crawl over HTTP on 127.0.0.1',
         'images': 'grayscale and box resize of image files'}
# The order workloads and modes appear in.
WORKLOAD_ORDER = ['primes', 'sum', 'io', 'overhead', 'chunks', 'crawl',
                  'images']
MODE_ORDER = {'seq': 0, 'threads': 1, 'procs': 2, 'mpi': 3}
LANG_NAME = {'c': 'C', 'python': 'Python'}
MODE_NAME = {'seq': 'sequential', 'threads': 'threads',
             'procs': 'processes', 'mpi': 'MPI ranks'}
# sum adds 64-bit integers: 8 bytes read per value.
SUM_BYTES_PER_VALUE = 8

# Flag thresholds (issue 11), in one place so the report can state them.
ONE_WORKER_BAND = (0.9, 1.1)
DRIFT_LIMIT = 0.15
BUSY_LIMIT = 0.10
# A calibrated kernel is sized to last at least the target; the machine's
# own drift (10-20% over minutes on a shared VM) can put a run's median a
# little under it, so the flag fires below 90% of the target.
SHORT_FRACTION = 0.9


class RunError(Exception):
    """The folder is not a usable run (missing or malformed file)."""


# ---- reading ---------------------------------------------------------------

def _read_json(path, default=None):
    if not os.path.exists(path):
        if default is not None:
            return default
        raise RunError('%s: missing' % path)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RunError('%s: %s' % (path, e))


def _read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise RunError('%s:%d: %s' % (path, i, e))
    return out


def config_key(rec):
    """A configuration: workload, language, mode, variant, workers, and the
    chunk size for the chunk sweep (its one varying parameter)."""
    wl = rec.get('workload')
    return (wl, rec.get('lang'), rec.get('mode'), rec.get('variant') or '-',
            int(rec.get('workers') or 1),
            int(rec.get('chunk') or 0) if wl == 'chunks' else 0)


def label(c, with_workers=False):
    """How a configuration is named in sentences and legends."""
    s = '%s %s' % (LANG_NAME.get(c['lang'], c['lang']),
                   MODE_NAME.get(c['mode'], c['mode']))
    v = c['variant']
    if v not in ('-', '') and not (c['workload'] in ('images', 'crawl')):
        s += ' (%s)' % ('one global lock, --gil' if v == 'gil' else v)
    if with_workers:
        s += ' with %s' % workers_text(c['workers'], c['mode'])
    return s


def workers_text(w, mode='threads'):
    unit = 'rank' if mode == 'mpi' else 'worker'
    return '%d %s%s' % (w, unit, '' if w == 1 else 's')


# ---- the model -------------------------------------------------------------

def build_model(run_dir):
    run = _read_json(os.path.join(run_dir, 'run.json'))
    machine = _read_json(os.path.join(run_dir, 'machine.json'))
    calibration = _read_json(os.path.join(run_dir, 'calibration.json'),
                             {'entries': []})
    background = _read_json(os.path.join(run_dir, 'background.json'), {})
    samples = _read_jsonl(os.path.join(run_dir, 'samples.jsonl'))
    walls = _read_jsonl(os.path.join(run_dir, 'walls.jsonl'))
    startup = _read_jsonl(os.path.join(run_dir, 'mpi-startup.jsonl'))
    if not samples:
        raise RunError('%s: no samples (samples.jsonl missing or empty)'
                       % run_dir)
    ncpu = int(run.get('ncpu') or machine.get('usable_cpus') or 0)
    target = float(calibration.get('target_s') or run.get('target_s') or 0)
    model = {'dir': os.path.abspath(run_dir), 'run': run,
             'machine': machine, 'calibration': calibration,
             'background': background, 'ncpu': ncpu, 'target_s': target}
    # The hosts step's samples (issue 19) have a model part of their own
    # (hosts.py): they are no configuration of a workload's tables.
    from . import hosts
    model['hosts'] = hosts.build(samples, run)
    samples = [s for s in samples if s.get('workload') != 'hosts']
    model['configs'] = _configs(samples, walls)
    _derive(model['configs'])
    model['drift'] = _drift(model['configs'])
    model['startup'] = _startup(startup)
    model['flags'] = []
    _flag(model)
    order = [w for w in WORKLOAD_ORDER
             if any(c['workload'] == w for c in model['configs'])]
    order += sorted({c['workload'] for c in model['configs']} - set(order))
    model['workload_order'] = order
    # Sentences and the chart plan: imported here, not at the top, because
    # both read the model's helpers in this module.
    from . import sentences, charts
    model['workloads'] = {}
    for wl in order:
        model['workloads'][wl] = {
            'name': wl, 'kind': KIND.get(wl, ''),
            'title': TITLE.get(wl, wl),
            'sentences': sentences.for_workload(model, wl),
            'charts': charts.plan(model, wl)}
    # The timelines step's traces (issue 16): pictures with sentences of
    # their own, no configuration either.
    from . import timelines
    model['timelines'] = timelines.build(run_dir)
    model['summary'] = sentences.summary(model)
    if model['hosts'] and model['hosts']['sentences']:
        model['summary'].append(model['hosts']['sentences'][0])
    return model


def _configs(samples, walls):
    by = {}
    for rec in samples:
        if rec.get('check', 'ok') != 'ok':
            raise RunError('a record failed its self-check: %s'
                           % json.dumps(rec))
        k = config_key(rec)
        c = by.get(k)
        if c is None:
            c = by[k] = {
                'workload': k[0], 'lang': k[1], 'mode': k[2],
                'variant': k[3], 'workers': k[4], 'chunk': k[5],
                'oversub': False, 'n': rec.get('n'),
                'tasks': rec.get('tasks'), 'params': rec.get('params') or {},
                'samples': [], 'rounds': {}, 'setup': [], 'walls': [],
                'user_s': [], 'sys_s': [], 'round_cpu': {}, 'sizes': [],
                'reps': []}
        c['oversub'] = c['oversub'] or bool(rec.get('oversub'))
        k_s = float(rec['kernel_s'])
        c['samples'].append(k_s)
        c['sizes'].append(rec.get('n') or 0)
        c['reps'].append(int(rec.get('rep') or 0))
        c['rounds'].setdefault(int(rec.get('round') or 1), []).append(k_s)
        if rec.get('setup_s') is not None:
            c['setup'].append(float(rec['setup_s']))
        for f in ('user_s', 'sys_s'):
            if rec.get(f) is not None:
                c[f].append(float(rec[f]))
        if rec.get('user_s') is not None and rec.get('sys_s') is not None:
            c['round_cpu'].setdefault(int(rec.get('round') or 1), []).append(
                (float(rec['user_s']), float(rec['sys_s'])))
    for w in walls:
        if w.get('exit_code', 0) != 0 or w.get('wall_s') is None:
            continue
        if w.get('workload') in ('chunks', 'overhead'):
            # One process runs many configurations: its wall time is not
            # any one configuration's.
            continue
        c = by.get(config_key(w))
        if c is not None:
            c['walls'].append(float(w['wall_s']))
    configs = sorted(by.values(), key=_sort_key)
    for i, c in enumerate(configs):
        c['id'] = i
        c['stat'] = stats.describe(c['samples'])
        c['wall'] = stats.describe(c['walls']) if c['walls'] else None
        c['flags'] = []
    return configs


def _sort_key(c):
    return (WORKLOAD_ORDER.index(c['workload'])
            if c['workload'] in WORKLOAD_ORDER else 99, c['workload'],
            0 if c['lang'] == 'c' else 1, MODE_ORDER.get(c['mode'], 4),
            c['mode'], c['variant'], c['workers'], c['chunk'])


def baseline(configs, c):
    """The sequential configuration a configuration is measured against:
    same workload and language (a run has one size per language); None for
    overhead (its seq is a plain loop, a reference, not a baseline)."""
    if c['workload'] == 'overhead':
        return None
    seqs = [b for b in configs if b['workload'] == c['workload'] and
            b['lang'] == c['lang'] and b['mode'] == 'seq']
    same = [b for b in seqs if b['variant'] == c['variant']]
    return (same or seqs or [None])[0]


def _derive(configs):
    for c in configs:
        c['baseline'] = None
        c['speedup'] = c['efficiency'] = c['karp_flatt'] = None
        c['wall_speedup'] = None
        med = c['stat']['median']
        n = c['n'] or 0
        tasks = c['tasks'] or 0
        # Per-task cost: kernel time over the tasks (overhead: over n, the
        # tasks or map items it ran, each sample over its own: overhead
        # sizes each implementation's count to its speed, so a count may
        # differ between processes).
        per = (n if c['workload'] == 'overhead' else tasks) or 0
        if c['workload'] == 'overhead' and all(c['sizes']):
            c['per_task_samples'] = [s / k for s, k in zip(c['samples'],
                                                           c['sizes'])]
            c['per_task_s'] = stats.median(c['per_task_samples'])
        else:
            c['per_task_s'] = med / per if per and med > 0 else None
            c['per_task_samples'] = [s / per for s in c['samples']] \
                if per else None
        c['throughput'] = n / med if c['workload'] in (
            'io', 'crawl', 'images') and n and med > 0 else None
        c['gbps'] = SUM_BYTES_PER_VALUE * n / med / 1e9 \
            if c['workload'] == 'sum' and n and med > 0 else None
        if c['mode'] == 'seq':
            continue
        b = baseline(configs, c)
        if b is None or med <= 0:
            continue
        c['baseline'] = b['id']
        est, lo, hi = stats.ratio_ci(b['samples'], c['samples'])
        p = c['workers']
        c['speedup'] = {'est': est, 'lo': lo, 'hi': hi}
        c['efficiency'] = {'est': est / p, 'lo': lo / p, 'hi': hi / p}
        if p > 1 and est > 0:
            c['karp_flatt'] = (1 / est - 1 / p) / (1 - 1 / p)
        if c['wall'] and b['wall']:
            c['wall_speedup'] = b['wall']['median'] / c['wall']['median']


def _drift(configs):
    out = []
    for c in configs:
        if c['mode'] != 'seq' or c['workload'] == 'overhead' or \
                len(c['rounds']) < 2:
            continue
        rounds = sorted(c['rounds'])
        meds = [stats.median(c['rounds'][r]) for r in rounds]
        lo, hi = min(meds), max(meds)
        d = {'config': c['id'], 'workload': c['workload'],
             'lang': c['lang'], 'round_medians': meds,
             'drift': (hi - lo) / lo if lo > 0 else None}
        # The process's CPU time in each round, user and system: which of
        # them grew says where the time went (see _drift_cause).
        if all(c['round_cpu'].get(r) for r in rounds):
            d['round_user_s'] = [stats.median([u for u, _ in
                                               c['round_cpu'][r]])
                                 for r in rounds]
            d['round_sys_s'] = [stats.median([s for _, s in
                                              c['round_cpu'][r]])
                                for r in rounds]
        out.append(d)
    return out


def _drift_cause(d):
    """The likely cause of a drifting baseline, from the CPU time its
    process spent in each round: the slowest round against the fastest.
    System time that grew by more than the kernel did while user time held
    is the operating system's work (page faults, file writes and their
    write-back, memory the hypervisor hands back lazily); user time that
    grew with the kernel is the CPU itself running slower."""
    meds = d['round_medians']
    fast, slow = meds.index(min(meds)), meds.index(max(meds))
    grew = meds[slow] - meds[fast]
    user, sys_ = d.get('round_user_s'), d.get('round_sys_s')
    if user and sys_ and grew > 0:
        du, ds = user[slow] - user[fast], sys_[slow] - sys_[fast]
        if ds > 0.5 * grew and du < 0.5 * grew:
            return ('the kernel spent more time in the operating system, '
                    'not in its own code: system time %s in the slow round '
                    'against %s, user time %s against %s; page faults, file '
                    'writes and their write-back, or memory the hypervisor '
                    'hands back lazily; every speedup against this baseline '
                    'carries that uncertainty.' % (
                        fmt_time(sys_[slow]), fmt_time(sys_[fast]),
                        fmt_time(user[slow]), fmt_time(user[fast])))
        if du > 0.5 * grew:
            return ('the same work took more user time (%s against %s): '
                    'the CPU itself ran slower (frequency scaling, other '
                    'tenants of the host, thermal limits); every speedup '
                    'against this baseline carries that uncertainty.' % (
                        fmt_time(user[slow]), fmt_time(user[fast])))
    return ('the machine\'s speed changed while the run went on '
            '(frequency scaling, other tenants of the host, thermal '
            'limits), or the process waited (its CPU time did not grow '
            'with it); every speedup against this baseline carries '
            'that uncertainty, and a kernel this short shows it more.'
            if user and sys_ else
            'the machine\'s speed changed while the run went on '
            '(frequency scaling, other tenants of the host, thermal '
            'limits); every speedup against this baseline carries '
            'that uncertainty, and a kernel this short shows it more.')


def _startup(entries):
    by = {}
    for e in entries:
        k = (int(e['ranks']), e.get('what', 'empty'))
        d = by.setdefault(k, {'ranks': k[0], 'what': k[1], 'samples': [],
                              'oversub': False})
        d['samples'].append(float(e['seconds']))
        d['oversub'] = d['oversub'] or bool(e.get('oversub'))
    out = []
    for k in sorted(by):
        d = by[k]
        d['stat'] = stats.describe(d['samples'])
        out.append(d)
    return out


# ---- flags -----------------------------------------------------------------

def _add_flag(model, kind, workload, text, cause, configs=()):
    n = len(model['flags']) + 1
    f = {'n': n, 'kind': kind, 'workload': workload, 'text': text,
         'cause': cause, 'configs': [c['id'] for c in configs]}
    model['flags'].append(f)
    for c in configs:
        c['flags'].append(n)
    return f


def fmt_x(v, digits=2):
    return '%.*fx' % (digits, v)


def fmt_ci_x(ci):
    """A speedup with its interval: "1.97x (1.93-2.01)"."""
    return '%s (%.2f-%.2f)' % (fmt_x(ci['est']), ci['lo'], ci['hi'])


def fmt_ci_pct(ci):
    return '%.0f%% (%.0f-%.0f%%)' % (100 * ci['est'], 100 * ci['lo'],
                                     100 * ci['hi'])


def fmt_time(s):
    """Seconds for a sentence: "144 ms", "5.61 ms", "2.10 s", "271 ns"."""
    if s is None:
        return '-'
    if s >= 10:
        return '%.1f s' % s
    if s >= 1:
        return '%.2f s' % s
    for scale, unit in ((1e-3, 'ms'), (1e-6, 'us'), (1e-9, 'ns')):
        if s >= scale or unit == 'ns':
            v = s / scale
            return ('%.0f %s' if v >= 100 else '%.1f %s' if v >= 10
                    else '%.2f %s') % (v, unit)


def _flag(model):
    configs = model['configs']
    ncpu = model['ncpu']
    for c in configs:
        eff = c['efficiency']
        # One worker above 1x is the one-worker flag's case, below.
        if eff and eff['lo'] > 1.0 and c['workers'] > 1:
            b = configs[c['baseline']]
            _add_flag(
                model, 'superlinear', c['workload'],
                '%s: efficiency %s, above 100%% beyond its 95%% interval '
                '(speedup %s on %d CPUs).' % (
                    label(c, True), fmt_ci_pct(eff), fmt_ci_x(c['speedup']),
                    ncpu),
                'more than ideal means the sequential baseline (median %s) '
                'paid for something the parallel run did not: first-touch '
                'page faults, cold caches or file reads, a slower clock '
                'while it ran (see the drift table); or the workers\' '
                'caches together held data one cache could not.'
                % fmt_time(b['stat']['median']), [c])
        if c['workers'] == 1 and c['speedup'] and \
                c['workload'] not in ('chunks', 'overhead'):
            s = c['speedup']
            lo, hi = ONE_WORKER_BAND
            if s['hi'] < lo:
                _add_flag(
                    model, 'one-worker', c['workload'],
                    '%s runs at %s of the sequential run, below %.1fx '
                    'beyond its 95%% interval.' % (label(c, True),
                                                   fmt_ci_x(s), lo),
                    'with one worker there is nothing to overlap: this is '
                    'the cost of the pool itself (dispatch, copies of the '
                    'data, process start-up inside the kernel).', [c])
            elif s['lo'] > hi:
                _add_flag(
                    model, 'one-worker', c['workload'],
                    '%s runs at %s of the sequential run, above %.1fx '
                    'beyond its 95%% interval.' % (label(c, True),
                                                   fmt_ci_x(s), hi),
                    'one worker cannot beat the plain loop by parallelism: '
                    'the baseline was held back (first touch of memory, '
                    'cold caches, clock drift between them).', [c])
    for d in model['drift']:
        if d['drift'] is not None and d['drift'] > DRIFT_LIMIT:
            c = configs[d['config']]
            _add_flag(
                model, 'drift', c['workload'],
                '%s %s: the sequential baseline\'s median moved %.0f%% '
                'between rounds (%s).' % (
                    c['workload'], LANG_NAME.get(c['lang'], c['lang']),
                    100 * d['drift'],
                    ', '.join(fmt_time(m) for m in d['round_medians'])),
                _drift_cause(d), [c])
    # One flag for the whole run's background load, naming each workload
    # that ran on a busy machine: the cause is the same for all of them.
    busy = [(wl, (model['background'][wl] or {}).get('busy_fraction'))
            for wl in sorted(model['background'], key=lambda w: (
                WORKLOAD_ORDER.index(w) if w in WORKLOAD_ORDER else 99, w))]
    busy = [(wl, b) for wl, b in busy if b is not None and b > BUSY_LIMIT]
    if busy:
        _add_flag(
            model, 'background', ', '.join(wl for wl, _ in busy),
            'Other processes kept the CPUs busy while workloads ran: '
            '%s.' % ', '.join(
                '%s %.0f%%' % (wl, 100 * b) for wl, b in busy),
            'the machine was not quiet: the workers shared the CPUs '
            'with someone else, so times are longer and noisier than '
            'the programs alone would give.',
            [c for c in configs if c['mode'] == 'seq' and
             c['workload'] in {wl for wl, _ in busy}])
    target = model['target_s']
    for e in model['calibration'].get('entries', []):
        # io and crawl are sized by count and delay, overhead by task
        # count: only the CPU- and memory-bound kernels aim at the target.
        if not target or e.get('source') == 'fixed' or \
                KIND.get(e.get('workload')) not in ('CPU-bound',
                                                    'memory-bound'):
            continue
        seq = [c for c in configs if c['workload'] == e.get('workload') and
               c['lang'] == e.get('lang') and c['mode'] == 'seq']
        if not seq:
            continue
        c = seq[0]
        rep = int(e.get('repeat') or 1)
        per_sample = c['stat']['median'] * rep
        if per_sample < SHORT_FRACTION * target:
            why = {'option': 'its size was given on the command line',
                   'quick': 'a --quick run uses small sizes on purpose',
                   }.get(e.get('source'),
                         'calibration chose a size that fell short when '
                         'measured (the machine was faster then, or the '
                         'size hit a limit)')
            # The suite's own budget cut, which calibration.json records.
            if 'halved to fit --budget-s' in (e.get('note') or ''):
                why = ('--budget-s halved its in-process repetitions so '
                       'that the run fits its time (calibration.json '
                       'says so); more time, or a larger --budget-s, '
                       'gives it back its full length')
            _add_flag(
                model, 'short', c['workload'],
                '%s %s: the sequential kernel lasted %s%s, under the '
                'target of %s.' % (
                    c['workload'], LANG_NAME.get(c['lang'], c['lang']),
                    fmt_time(c['stat']['median']),
                    ' x %d repetitions' % rep if rep > 1 else '',
                    fmt_time(target)),
                '%s; a short kernel is at the mercy of timer resolution, '
                'scheduling and the clock\'s drift.' % why, [c])


# ---- writing ---------------------------------------------------------------

def write_atomic(path, data):
    """The runner's write_atomic (poolbench.runfolder); the local fallback
    does the same (write a temporary file, rename it over the name)."""
    try:
        from .runfolder import write_atomic as w
    except ImportError:
        w = None
    if w is not None:
        return w(path, data)
    tmp = '%s.part.%d' % (path, os.getpid())
    with open(tmp, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
    os.replace(tmp, path)


def flag_lines(model):
    """One line per flag, as the terminal and the report's list show it."""
    return ['[%d] %s' % (f['n'], f['text']) for f in model['flags']]


def write_outputs(run_dir):
    """Reads the run folder, writes report.md, report.html, summary.json,
    data/*.dat and charts/*.svg+png, and returns the "Read with care" lines
    (empty when nothing is flagged)."""
    from . import charts, html, report
    model = build_model(run_dir)
    for sub in ('data', 'charts'):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    charts.write_all(model, run_dir)
    report.write_summary(model, run_dir)
    report.write_report(model, run_dir)
    html.write_html(model, run_dir)
    return flag_lines(model)


def finite(v):
    return v is not None and not (isinstance(v, float) and
                                  (math.isnan(v) or math.isinf(v)))
