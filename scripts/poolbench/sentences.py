"""The report's sentences, generated from the model's numbers.

Every sentence states a comparison that was computed, and says only what
the numbers support: "threads beat processes" only when the two speedups'
95% intervals do not overlap, "indistinguishable" when they do; "more
workers than CPUs helped" only when the higher count's interval lies above
the CPU count's.  Nothing is said because a workload is expected to behave
some way.  Each sentence is a dict: text, kind (what it compares, for the
tests), headline (goes to the report's summary too).
"""

import math

from . import remedies, stats
from .analyse import (KIND, LANG_NAME, MODE_NAME, fmt_ci_x, fmt_time, label,
                      workers_text)

# Variants that are a lesson of their own, not a mode's main form: C
# threads with one global lock, processes that copy the array.
SIDE_VARIANTS = ('gil', 'copy') + remedies.VARIANTS


def _sel(model, wl, lang=None, mode=None, variant=None, workers=None):
    return [c for c in model['configs'] if c['workload'] == wl and
            (lang is None or c['lang'] == lang) and
            (mode is None or c['mode'] == mode) and
            (variant is None or c['variant'] == variant) and
            (workers is None or c['workers'] == workers)]


def main_series(model, wl, lang, mode):
    """The configurations of a mode's main variant, by workers."""
    cs = [c for c in _sel(model, wl, lang, mode)
          if c['variant'] not in SIDE_VARIANTS and c['speedup']]
    if not cs:
        return []
    v = sorted({c['variant'] for c in cs})[0]
    return sorted([c for c in cs if c['variant'] == v],
                  key=lambda c: c['workers'])


def _ci(c):
    return (c['speedup']['lo'], c['speedup']['hi'])


def _s(text, kind, headline=False):
    return {'text': text, 'kind': kind, 'headline': headline}


def _where(w, ncpu, mode='threads'):
    return 'with %s%s' % (workers_text(w, mode),
                          ' (the CPU count)' if w == ncpu else '')


def versus(model, wl, lang, ncpu):
    """Threads against processes, at the CPU count for CPU- and
    memory-bound work (where both should peak), at the largest shared
    worker count for latency-bound work (where more workers than CPUs is
    the point)."""
    t = {c['workers']: c for c in main_series(model, wl, lang, 'threads')}
    p = {c['workers']: c for c in main_series(model, wl, lang, 'procs')}
    common = sorted(set(t) & set(p))
    if not common:
        return []
    if KIND.get(wl) == 'latency-bound':
        w = common[-1]
    else:
        under = [x for x in common if x <= ncpu]
        w = ncpu if ncpu in common else (under or common)[-1]
    a, b = t[w], p[w]
    L = LANG_NAME.get(lang, lang)

    def rates(x, y):
        """x's and y's throughput, in the order their speedups are
        named."""
        if not (x['throughput'] and y['throughput']):
            return ''
        unit = {'crawl': 'pages/s', 'images': 'images/s'}.get(wl, 'tasks/s')
        return ' (%.0f against %.0f %s)' % (x['throughput'],
                                            y['throughput'], unit)
    if a['speedup']['hi'] < 1 and b['speedup']['hi'] < 1:
        return [_s('%s %s: neither threads (%s) nor processes (%s) beat the '
                   'sequential run of %s.' % (
                       L, _where(w, ncpu), fmt_ci_x(a['speedup']),
                       fmt_ci_x(b['speedup']), wl),
                   'versus-neither', True)]
    sep = stats.intervals_separate(_ci(a), _ci(b))
    if sep == 0:
        return [_s('%s %s: threads (%s) and processes (%s) are '
                   'indistinguishable on %s: their 95%% intervals overlap%s.'
                   % (L, _where(w, ncpu), fmt_ci_x(a['speedup']),
                      fmt_ci_x(b['speedup']), wl, rates(a, b)),
                   'versus-level', True)]
    win, lose = (a, b) if sep > 0 else (b, a)
    return [_s('%s %s: %s beat %s on %s, %s against %s%s; the 95%% '
               'intervals do not overlap.' % (
                   L, _where(w, ncpu), MODE_NAME[win['mode']],
                   MODE_NAME[lose['mode']], wl, fmt_ci_x(win['speedup']),
                   fmt_ci_x(lose['speedup']), rates(win, lose)),
               'versus-threads' if win['mode'] == 'threads'
               else 'versus-procs', True)]


def oversubscription(model, wl, lang, mode, ncpu, variant=None):
    """More workers than CPUs against as many workers as CPUs."""
    if variant is None:
        cs = main_series(model, wl, lang, mode)
    else:
        cs = sorted([c for c in _sel(model, wl, lang, mode, variant)
                     if c['speedup']], key=lambda c: c['workers'])
    at = [c for c in cs if c['workers'] == ncpu]
    over = [c for c in cs if c['workers'] > ncpu]
    if not at or not over or ncpu <= 0:
        return []
    a, o = at[0], over[-1]
    who = label(o)
    sep = stats.intervals_separate(_ci(o), _ci(a))
    head = '%s with %s on %d CPUs: %s, against %s with %d' % (
        who, workers_text(o['workers'], mode), ncpu, fmt_ci_x(o['speedup']),
        fmt_ci_x(a['speedup']), ncpu)
    if sep > 0:
        return [_s(head + ': more %s than CPUs helped %s.' % (
            'ranks' if mode == 'mpi' else 'workers', wl), 'oversub-helps')]
    if sep < 0:
        return [_s(head + ': more %s than CPUs cost time on %s (they take '
                   'turns on the CPUs).' % (
                       'ranks' if mode == 'mpi' else 'workers', wl),
                   'oversub-hurts')]
    return [_s(head + ': no measurable difference (the 95% intervals '
               'overlap).', 'oversub-level')]


def gil(model, wl, ncpu):
    """The GIL explains Python threads that do not speed up CPU-bound
    work only; a memory- or latency-bound workload has other limits."""
    out = []
    if KIND.get(wl) != 'CPU-bound':
        return out
    py = [c for c in main_series(model, wl, 'python', 'threads')
          if c['workers'] == ncpu]
    if py and py[0]['speedup']['hi'] < 1.1:
        out.append(_s('Python threads do not speed up %s: %s %s; the GIL '
                      'lets one thread at a time run Python code.' % (
                          wl, fmt_ci_x(py[0]['speedup']),
                          _where(ncpu, ncpu)), 'gil-python', True))
    g = [c for c in _sel(model, wl, 'c', 'threads', 'gil', ncpu)
         if c['speedup']]
    if g:
        s = g[0]['speedup']
        if s['hi'] < 1.1:
            out.append(_s('C threads that take one global lock per task '
                          '(--gil) reach only %s %s, as Python threads do: '
                          'the lock, not the language, serialises them.'
                          % (fmt_ci_x(s), _where(ncpu, ncpu)), 'gil-c',
                          True))
        elif s['lo'] > 1.1:
            out.append(_s('C threads that take one global lock per task '
                          '(--gil) still reach %s %s: their tasks spend '
                          'enough time outside the lock to overlap.'
                          % (fmt_ci_x(s), _where(ncpu, ncpu)), 'gil-c'))
    return out


def copy_vs_shared(model, wl, ncpu):
    cp = {c['workers']: c for c in _sel(model, wl, 'c', 'procs', 'copy')
          if c['speedup']}
    sh = {c['workers']: c for c in main_series(model, wl, 'c', 'procs')}
    common = sorted(set(cp) & set(sh))
    if not common:
        return []
    w = ncpu if ncpu in common else common[-1]
    a, b = cp[w], sh[w]
    sep = stats.intervals_separate(_ci(a), _ci(b))
    head = ('C processes that receive a copy of the array (--copy) reach '
            '%s %s, against %s when they share it' % (
                fmt_ci_x(a['speedup']), _where(w, ncpu),
                fmt_ci_x(b['speedup'])))
    if sep < 0:
        return [_s(head + ': copying costs more than the parallel sum '
                   'saves.', 'copy-slower')]
    if sep > 0:
        return [_s(head + ': in this run the copy came out faster.',
                   'copy-faster')]
    return [_s(head + ': indistinguishable (the 95% intervals overlap).',
               'copy-level')]


def bandwidth(model, wl):
    """Memory-bound work is read in GB/s: the rate the memory delivers."""
    out = []
    for lang in ('c', 'python'):
        seq = _sel(model, wl, lang, 'seq')
        par = [c for c in _sel(model, wl, lang) if c['speedup'] and
               c['gbps'] and c['mode'] != 'mpi' and
               c['variant'] not in SIDE_VARIANTS]
        if not seq or not seq[0]['gbps'] or not par:
            continue
        best = max(par, key=lambda c: c['gbps'])
        out.append(_s(
            '%s is memory-bound: the sequential %s loop reads %.1f GB/s '
            '(median); the fastest parallel run, %s, reads %.1f GB/s '
            '(speedup %s).' % (wl, LANG_NAME[lang], seq[0]['gbps'],
                               label(best, True), best['gbps'],
                               fmt_ci_x(best['speedup'])),
            'bandwidth'))
    return out


def steadiness(model, wl):
    """Memory-bound work: how many samples of each run lie within 10% of
    that run's own median, the sequential loop beside the pools at the
    CPU count.  A pool that faults pages in, or loses its CPU to a
    helper, shows stray samples the sequential loop has not; samples that
    stray in the sequential loop too, which uses no pool, are the
    machine's (issue 13's figure)."""
    ncpu = model['ncpu']
    out = []
    for lang in ('c', 'python'):
        seq = [c for c in _sel(model, wl, lang, 'seq') if c['samples']]
        runs = []
        for mode in ('threads', 'procs'):
            cs = [c for c in main_series(model, wl, lang, mode)
                  if c['workers'] == ncpu]
            runs += cs[:1]
        if not seq or not runs:
            continue

        def near(xs):
            m = stats.median(xs)
            return sum(1 for x in xs if abs(x - m) <= 0.1 * m)

        def steady(c):
            return near(c['samples'])

        parts = ['the sequential loop %d of %d' % (steady(seq[0]),
                                                    len(seq[0]['samples']))]
        parts += ['%s %d of %d' % (label(c, True), steady(c),
                                   len(c['samples'])) for c in runs]
        text = ('How steady the %s samples were, counted within 10%% of '
                'their own median: %s' % (LANG_NAME[lang], ', '.join(parts)))
        every = seq[:1] + runs
        if all(len(c.get('rounds') or {}) > 1 for c in every):
            # Each round's own median leaves the drift between rounds out.
            counts = [str(sum(near(xs) for xs in c['rounds'].values()))
                      for c in every]
            text += ('; within 10%% of their round\'s median, which leaves '
                     'out how the machine drifted between rounds: %s and '
                     '%s' % (', '.join(counts[:-1]), counts[-1]))
        text += '.'
        share = steady(seq[0]) / len(seq[0]['samples'])
        worse = [c for c in runs if steady(c) / len(c['samples']) < share]
        if worse:
            text += (' Fewer within 10%% than the sequential loop, which '
                     'uses no pool: %s.' % ', '.join(label(c, True)
                                                     for c in worse))
        elif share < 1:
            text += (' No pool had fewer within 10% than the sequential '
                     'loop, which uses none: the spread is the '
                     'machine\'s.')
        out.append(_s(text, 'steadiness'))
    return out


def peak(model, wl, lang, mode):
    cs = main_series(model, wl, lang, mode)
    if len(cs) < 2:
        return []
    b = max(cs, key=lambda c: c['speedup']['est'])
    unit = {'crawl': 'pages/s', 'images': 'images/s'}.get(wl, 'tasks/s')
    return [_s('%s reach their highest median speedup with %s: %s%s.' % (
        label(b), workers_text(b['workers']), fmt_ci_x(b['speedup']),
        ', %.0f %s' % (b['throughput'], unit) if b['throughput'] else ''),
        'peak')]


def mpi(model, wl, ncpu):
    cs = [c for c in _sel(model, wl, 'c', 'mpi') if c['speedup']]
    if not cs:
        return []
    out = []
    pool = [c for c in cs if c['workers'] == ncpu] or \
        [c for c in cs if not c['oversub']] or cs
    m = max(pool, key=lambda c: c['speedup']['est'])
    t = [c for c in main_series(model, wl, 'c', 'threads')
         if c['workers'] == m['workers']]
    text = 'C MPI ranks, %s split: %s with %s (kernel times, without ' \
        'mpirun\'s start-up)' % (m['variant'], fmt_ci_x(m['speedup']),
                                 workers_text(m['workers'], 'mpi'))
    if t:
        sep = stats.intervals_separate(_ci(m), _ci(t[0]))
        text += ', against %s for C threads with as many workers: %s' % (
            fmt_ci_x(t[0]['speedup']),
            'the ranks are ahead' if sep > 0 else 'the threads are ahead'
            if sep < 0 else 'indistinguishable, the 95% intervals overlap')
    out.append(_s(text + '.', 'mpi', True))
    su = [e for e in model['startup'] if e['ranks'] == m['workers'] and
          e['what'] == 'empty']
    b = model['configs'][m['baseline']]
    if su:
        u = su[0]['stat']['median']
        s = m['speedup']['est']
        t_seq = b['stat']['median']
        text = ('Starting and stopping an empty MPI program on %s takes %s '
                '(median)' % (workers_text(m['workers'], 'mpi'),
                              fmt_time(u)))
        if s > 1:
            even = u / (1 - 1 / s)
            text += ('; at %s, distributing pays once the sequential work '
                     'exceeds U / (1 - 1/S) = %s, and this run\'s '
                     'sequential kernel took %s: %s.' % (
                         fmt_ci_x(m['speedup']).split(' ')[0],
                         fmt_time(even), fmt_time(t_seq),
                         'here it pays' if t_seq > even else
                         'here the start-up outweighs the time saved'))
        else:
            text += '; without a speedup, distributing cannot pay it back.'
        out.append(_s(text, 'mpi-startup'))
    if wl == 'sum':
        at = {c['variant']: c for c in cs if c['workers'] == m['workers']}
        if 'local' in at and len(at) > 1:
            loc = at['local']['stat']['median']
            moved = ['%s %s (%.1f times as long)' % (
                v, fmt_time(at[v]['stat']['median']),
                at[v]['stat']['median'] / loc)
                for v in sorted(at) if v != 'local']
            out.append(_s('Moving the data (sum, %s): the local split, '
                          'where every rank makes its own values, takes %s '
                          '(median); sending the array from rank 0: %s.'
                          % (workers_text(m['workers'], 'mpi'),
                             fmt_time(loc), ', '.join(moved)),
                          'mpi-data'))
    out += oversubscription(model, wl, 'c', 'mpi', ncpu, m['variant'])
    return out


def chunks(model):
    out = []
    for lang in ('c', 'python'):
        for mode in ('threads', 'procs'):
            cs = [c for c in _sel(model, 'chunks', lang, mode)]
            if len(cs) < 2:
                continue
            who = '%s %s' % (LANG_NAME[lang], MODE_NAME[mode])
            if len({c['tasks'] for c in cs}) == 1:
                out.append(_s(
                    '%s: every chunk size submitted the same %s tasks (the '
                    'tasks column): the chunk size was not applied, and '
                    'the differences between sizes are noise.'
                    % (who, cs[0]['tasks']), 'chunks-inert'))
                continue
            b = min(cs, key=lambda c: c['stat']['median'])
            w = max(cs, key=lambda c: c['stat']['median'])
            text = ('%s: the fastest median is at chunk size %d (%s, %s '
                    'tasks%s), the slowest at %d (%s, %s tasks), %.1f times '
                    'as long' % (
                        who, b['chunk'], fmt_time(b['stat']['median']),
                        b['tasks'], ', speedup ' + fmt_ci_x(b['speedup'])
                        if b['speedup'] else '', w['chunk'],
                        fmt_time(w['stat']['median']), w['tasks'],
                        w['stat']['median'] / b['stat']['median']))
            if b['speedup'] and w['speedup'] and stats.intervals_separate(
                    _ci(b), _ci(w)) == 0:
                text += ('; their 95% intervals overlap, so this sweep '
                         'shows no clear best chunk size')
            out.append(_s(text + '.', 'chunks', True))
    return out


# One of our pools with one speed trick switched off (overhead's tp-*
# modes, struct tp_tuning; pp-no-*, struct pp_tuning): they belong to the
# ablation sentences, not to the list of implementations.
def _trick_off(c):
    from .charts import trick_off
    return c['lang'] == 'c' and trick_off(c['mode'])


def overhead(model):
    out = []
    cs = [c for c in _sel(model, 'overhead') if c['per_task_s']]
    for v in ('bulk', 'roundtrip', 'map'):
        vs = [c for c in cs if c['variant'] == v and c['mode'] != 'seq' and
              not _trick_off(c)]
        if len(vs) < 2:
            continue
        vs.sort(key=lambda c: c['per_task_s'])
        lo, hi = vs[0], vs[-1]
        unit = 'item' if v == 'map' else 'task'

        def name(c):
            return ('Python ' if c['lang'] == 'python' else '') + c['mode']
        text = ('%s: the cheapest is %s at %s per %s (median); the '
                'dearest, %s, costs %s, %.0f times as much' % (
                    v, name(lo), fmt_time(lo['per_task_s']), unit, name(hi),
                    fmt_time(hi['per_task_s']),
                    hi['per_task_s'] / lo['per_task_s']))
        tp = [c for c in vs if c['lang'] == 'c' and c['mode'] == 'tp']
        if tp and tp[0] is not lo:
            text += '; our thread pool (tp): %s' % fmt_time(
                tp[0]['per_task_s'])
        out.append(_s(text + '.', 'overhead', True))
    return out + ablation(cs) + [_s(t, 'overhead') for t in
                                 remedies.sentences(remedies.build(model))]


# Our two pools' ablation modes: the mode with everything on, whose name
# prefixes the modes with one thing off; what the sentence calls them.
ABLATED_POOLS = (('tp', 'thread pool', 'speed trick'),
                 ('pp', 'process pool', 'remedy'))


def ablation(cs):
    """What each speed trick of the thread pool, and each remedy of the
    process pool, buys: the per-task cost with it off over the cost with
    all on, with the
    interval of that ratio.  A ratio whose interval holds 1 is said to
    buy nothing measurable here, which on 2 cores is a result too."""
    out = []
    for v, (pool, who, trick) in [(v, p) for v in ('bulk', 'roundtrip')
                                  for p in ABLATED_POOLS]:
        base = [c for c in cs if c['variant'] == v and c['lang'] == 'c' and
                c['mode'] == pool and c.get('per_task_samples')]
        offs = [c for c in cs if c['variant'] == v and _trick_off(c) and
                c['mode'].startswith(pool + '-') and
                c.get('per_task_samples')]
        if not base or not offs:
            continue
        parts = []
        for c in sorted(offs, key=lambda c: c['mode']):
            est, lo, hi = stats.ratio_ci(c['per_task_samples'],
                                         base[0]['per_task_samples'])
            what = c['mode'][len(pool) + 1:].replace('-', ' ')
            if lo <= 1 <= hi:
                parts.append('%s %.2fx (%.2f-%.2f, no clear change)' %
                             (what, est, lo, hi))
            else:
                parts.append('%s %.2fx (%.2f-%.2f)' % (what, est, lo, hi))
        out.append(_s('%s, our %s at %s per task with every %s on; with '
                      'one off, the cost per task is times that: %s.' % (
                          v, who, fmt_time(base[0]['per_task_s']), trick,
                          '; '.join(parts)), 'overhead'))
    return out


def for_workload(model, wl):
    ncpu = model['ncpu']
    out = []
    if wl == 'overhead':
        return overhead(model)
    if wl == 'chunks':
        return chunks(model)
    langs = [lg for lg in ('c', 'python') if _sel(model, wl, lg)]
    for lang in langs:
        out += versus(model, wl, lang, ncpu)
    if KIND.get(wl) == 'memory-bound':
        out += bandwidth(model, wl)
        out += steadiness(model, wl)
    if KIND.get(wl) == 'latency-bound':
        for lang in langs:
            for mode in ('threads', 'procs'):
                out += peak(model, wl, lang, mode)
    else:
        for lang in langs:
            for mode in ('threads', 'procs'):
                out += oversubscription(model, wl, lang, mode, ncpu)
    out += gil(model, wl, ncpu)
    out += copy_vs_shared(model, wl, ncpu)
    out += mpi(model, wl, ncpu)
    if wl == 'io':
        out += wake_up(model)
    return out


def wake_up(model):
    """io on its most workers: how much longer than the ideal the pools
    took, the ideal being ceil(T / W) sleeps, each as long as the
    sequential run's sleeps were (the timer's oversleep included).  What
    is left is the pool's: waking W sleeping workers and handing them
    their tasks (issue 13's figure).  Beside them the machine's floor
    (io --bare): W bare threads woken by one system call, no pool."""
    seq = _sel(model, 'io', 'c', 'seq')
    if not seq or not seq[0]['n']:
        return []
    per_sleep = seq[0]['stat']['median'] / seq[0]['n']
    parts = []
    for mode, variant, name in (
            ('threads', '-', MODE_NAME.get('threads', 'threads')),
            ('procs', '-', MODE_NAME.get('procs', 'procs')),
            ('threads', 'bare', 'the machine\'s floor (bare threads woken '
             'by one system call, no pool)')):
        cs = [c for c in _sel(model, 'io', 'c', mode, variant) if c['n']]
        if not cs:
            continue
        c = max(cs, key=lambda c: c['workers'])
        if parts and (c['workers'], c['n']) != (w, n):
            continue
        ideal = math.ceil(c['n'] / c['workers']) * per_sleep
        extra = [s - ideal for s in c['samples']]
        # The middle half, not min to max: with 128 samples the extremes
        # are a stray tick of a busy machine, not the pool.
        parts.append('%s %s (median; IQR %s to %s)' % (
            name, fmt_time(stats.median(extra)),
            fmt_time(stats.quantile(extra, 0.25)),
            fmt_time(stats.quantile(extra, 0.75))))
        w, n = c['workers'], c['n']
    if not parts:
        return []
    k = math.ceil(n / w)
    return [_s('C, %d tasks on %d workers, time beyond the ideal: %s. The '
               'ideal, %s, is %d sleep%s as long as the sequential run\'s '
               '(%s, the timer\'s oversleep included); what is left is the '
               'pool waking its sleeping workers and handing them their '
               'tasks, of which the floor is what waking them costs on '
               'this machine with no pool at all.' % (
                   n, w, '; '.join(parts), fmt_time(k * per_sleep),
                   k, '' if k == 1 else 's', fmt_time(per_sleep)),
               'io')]


def summary(model):
    """The headline sentences of every workload, in order."""
    out = []
    for wl in model['workload_order']:
        for s in model['workloads'][wl]['sentences']:
            if s['headline']:
                out.append('**%s**: %s' % (wl, s['text']))
    return out
