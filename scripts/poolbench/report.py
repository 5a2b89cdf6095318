"""report.md and summary.json, written from the run's model (analyse.py).

report.md, in order: what ran where and how long it took; "Read with care"
(every flag with its likely cause, or a line saying there is none); the
machine; the calibration (sizes chosen, time measured for each); how it was
measured; the summary (the headline sentences); the drift table; one
section per workload (sentences, charts, table); mpirun's start-up.
Every number in it is formatted from the model; no sentence is written
here: they come from sentences.py with the model.

summary.json: per configuration its labels, sample count, median,
quartiles, min, max, derived figures and the raw kernel samples (compare.py
tests those), plus the flags.
"""

import json
import os

from .analyse import (DRIFT_LIMIT, BUSY_LIMIT, ONE_WORKER_BAND,
                      SHORT_FRACTION, LANG_NAME, fmt_time, write_atomic)
from . import stats

SCHEMA = 1


def fmt_ms(s):
    """Seconds as milliseconds with 3 significant digits."""
    if s is None:
        return '-'
    v = s * 1e3
    if v >= 100:
        return '%.0f' % v
    if v >= 10:
        return '%.1f' % v
    if v >= 1:
        return '%.2f' % v
    return '%.3g' % v


def fmt_x_ci(ci):
    return '-' if not ci else '%.2fx (%.2f-%.2f)' % (ci['est'], ci['lo'],
                                                     ci['hi'])


def fmt_pct_ci(ci):
    return '-' if not ci else '%.0f%% (%.0f-%.0f)' % (
        100 * ci['est'], 100 * ci['lo'], 100 * ci['hi'])


def fmt_duration(s):
    if s is None:
        return 'unknown'
    s = int(round(s))
    return '%d min %02d s' % (s // 60, s % 60) if s >= 60 else '%d s' % s


def fmt_bytes(b):
    if not b:
        return '-'
    for unit, scale in (('GiB', 2 ** 30), ('MiB', 2 ** 20), ('KiB', 2 ** 10)):
        if b >= scale:
            return '%.1f %s' % (b / scale, unit)
    return '%d B' % b


def table(headers, rows, align=None):
    """A table as data (headers, rows of cells, 'l'/'r' alignment):
    md_table writes it as Markdown, html.py as HTML."""
    return {'headers': list(headers), 'rows': [list(r) for r in rows],
            'align': list(align or ['l'] * len(headers))}


def md_table(t):
    out = ['| ' + ' | '.join(t['headers']) + ' |',
           '|' + '|'.join(':---' if a == 'l' else '---:'
                          for a in t['align']) + '|']
    for r in t['rows']:
        out.append('| ' + ' | '.join(str(v) for v in r) + ' |')
    return '\n'.join(out)


def size_text(c):
    p = c.get('params') or {}
    if p:
        return ', '.join('%s=%s' % kv for kv in sorted(p.items()))
    return str(c.get('n'))


def flags_text(c):
    return ' '.join('[%d]' % n for n in c['flags']) or ''


def machine_table(model):
    m = model['machine']
    rows = [
        ('host', m.get('host')), ('CPU', m.get('cpu_model')),
        ('usable CPUs', m.get('usable_cpus')),
        ('online CPUs', m.get('online_cpus')),
        ('memory', fmt_bytes(m.get('memory_bytes'))),
        ('last-level cache', fmt_bytes(m.get('llc_bytes'))),
        ('kernel', m.get('kernel')), ('OS', m.get('os')),
        ('compiler', m.get('compiler')), ('compile flags', m.get('cflags')),
        ('hyperfine', m.get('hyperfine')), ('gnuplot', m.get('gnuplot')),
        ('Python', m.get('python')), ('numpy', m.get('numpy')),
        ('load average (1, 5, 15 min)', ', '.join(
            '%.2f' % v for v in m.get('load_avg') or []) or None),
        ('commit', '%s%s' % (m.get('commit') or '?',
                             ' (with uncommitted changes: no commit '
                             'reproduces this run)' if m.get('dirty')
                             else ''))]
    return table(['', ''], [(k, '`%s`' % v if k == 'compile flags' else v)
                            for k, v in rows if v not in (None, '')])


def calibration_table(model):
    entries = model['calibration'].get('entries', [])
    if not entries:
        return None
    rows = []
    for e in entries:
        # overhead's seq is map's plain loop, not the kernel an entry
        # sized: no sequential median to show for it.
        seq = [c for c in model['configs'] if
               c['workload'] == e.get('workload') and
               c['lang'] == e.get('lang') and c['mode'] == 'seq' and
               c['workload'] != 'overhead']
        rows.append([
            e.get('workload'), LANG_NAME.get(e.get('lang'), e.get('lang')),
            ', '.join('%s=%s' % kv for kv in sorted(
                (e.get('params') or {}).items())) or '-',
            e.get('repeat', 1),
            fmt_time(e.get('seq_kernel_s')) if e.get('seq_kernel_s')
            is not None else '-',
            fmt_time(seq[0]['stat']['median']) if seq else '-',
            e.get('source', '-'), e.get('note') or ''])
    return table(['workload', 'lang', 'size', 'repetitions per sample',
                  'sequential kernel at calibration', 'sequential median '
                  'in this run', 'source', 'why'], rows,
                 ['l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'])


def drift_table(model):
    if not model['drift']:
        return None
    rows = []
    for d in model['drift']:
        rows.append([d['workload'], LANG_NAME.get(d['lang'], d['lang']),
                     ', '.join(fmt_ms(m) for m in d['round_medians']),
                     '%.0f%%%s' % (100 * d['drift'], ''.join(
                         ' [%d]' % f['n'] for f in model['flags']
                         if f['kind'] == 'drift' and
                         d['config'] in f['configs']))
                     if d['drift'] is not None else '-'])
    return table(['workload', 'lang', 'sequential median per round (ms)',
                  'max/min - 1'], rows, ['l', 'l', 'l', 'r'])


def perf_table(model, wl):
    cs = [c for c in model['configs'] if c['workload'] == wl]
    tp = any(c['throughput'] for c in cs)
    gb = any(c['gbps'] for c in cs)
    wall = any(c['wall'] for c in cs)
    chunk = wl == 'chunks'
    headers = ['lang', 'mode', 'variant', 'workers'] + \
        (['chunk'] if chunk else []) + \
        ['size', 'tasks', 'median (ms)', 'IQR (ms)', 'min-max (ms)',
         'samples', 'speedup (95% CI)', 'efficiency (95% CI)',
         'Karp-Flatt e'] + \
        (['%s/s' % {'crawl': 'pages', 'images': 'images'}.get(wl, 'tasks')]
         if tp else []) + (['GB/s'] if gb else []) + \
        (['whole process (ms)'] if wall else []) + ['flags']
    rows = []
    for c in cs:
        s = c['stat']
        row = [LANG_NAME.get(c['lang'], c['lang']), c['mode'],
               c['variant'] + (' (oversubscribed)' if c['oversub'] else ''),
               c['workers']] + ([c['chunk']] if chunk else []) + [
            size_text(c), c['tasks'] if c['tasks'] is not None else '-',
            fmt_ms(s['median']), '%s-%s' % (fmt_ms(s['q1']), fmt_ms(s['q3'])),
            '%s-%s' % (fmt_ms(s['min']), fmt_ms(s['max'])), s['n'],
            'baseline' if c['mode'] == 'seq' else fmt_x_ci(c['speedup']),
            '-' if c['mode'] == 'seq' else fmt_pct_ci(c['efficiency']),
            '%.3f' % c['karp_flatt'] if c['karp_flatt'] is not None else '-']
        if tp:
            row.append('%.0f' % c['throughput'] if c['throughput'] else '-')
        if gb:
            row.append('%.2f' % c['gbps'] if c['gbps'] else '-')
        if wall:
            row.append(fmt_ms(c['wall']['median']) if c['wall'] else '-')
        row.append(flags_text(c))
        rows.append(row)
    n_left = 3
    return table(headers, rows, ['l'] * n_left +
                 ['r'] * (len(headers) - n_left - 1) + ['l'])


def overhead_table(model):
    cs = [c for c in model['configs'] if c['workload'] == 'overhead']
    rows = []
    for c in cs:
        q = c['per_task_samples'] or []
        rows.append([LANG_NAME.get(c['lang'], c['lang']), c['mode'],
                     c['variant'], c['workers'], c['n'],
                     fmt_time(c['per_task_s']),
                     '%s-%s' % (fmt_time(stats.quantile(q, 0.25)),
                                fmt_time(stats.quantile(q, 0.75)))
                     if q else '-', fmt_ms(c['stat']['median']),
                     c['stat']['n'], flags_text(c)])
    return table(['lang', 'implementation', 'variant', 'workers',
                  'tasks (items for map)', 'per task, median',
                  'per task, IQR', 'kernel median (ms)', 'samples',
                  'flags'], rows, ['l', 'l', 'l'] + ['r'] * 6 + ['l'])


def startup_table(model):
    by = {}
    for e in model['startup']:
        by.setdefault(e['ranks'], {})[e['what']] = e
    rows = []
    for r in sorted(by):
        la, em = by[r].get('launcher'), by[r].get('empty')
        over = any(e and e['oversub'] for e in (la, em))
        row = ['%d%s' % (r, ' (oversubscribed)' if over else '')]
        for e in (la, em):
            row += [fmt_ms(e['stat']['median']), '%s-%s' % (
                fmt_ms(e['stat']['q1']), fmt_ms(e['stat']['q3']))] \
                if e else ['-', '-']
        row.append(fmt_ms(em['stat']['median'] - la['stat']['median'])
                   if la and em else '-')
        row.append(max(e['stat']['n'] for e in (la, em) if e))
        rows.append(row)
    return table(['ranks', 'launcher median (ms)', 'launcher IQR (ms)',
                  'empty program median (ms)', 'empty program IQR (ms)',
                  'MPI_Init + Finalize (ms)', 'samples'], rows,
                 ['l'] + ['r'] * 6)


METHOD = (
    'Each workload ran in %(rounds)s rounds; a round runs every command '
    'once under hyperfine, in an interleaved order, so that a slow drift of '
    'the machine hits every configuration alike; the rounds are pooled. '
    'Times are the programs\' own kernel times (CLOCK_MONOTONIC around the '
    'parallel section; set-up excluded), one sample per in-process '
    'repetition: tables give the median, the interquartile range (IQR), '
    'min-max and the sample count. Speedup = median T(seq) / median T(p), '
    'against the sequential run of the same workload and language; its '
    '95%% confidence interval comes from a bootstrap (%(resamples)d '
    'resamples of both the sequential and the parallel samples, fixed seed, '
    'so the same run always gives the same report), written "1.97x '
    '(1.93-2.01)" and drawn as error bars. Efficiency = speedup / workers, '
    'with the same interval. Karp-Flatt e = (1/S - 1/p) / (1 - 1/p) is the '
    'serial fraction that would explain speedup S on p workers under '
    'Amdahl\'s law. "Whole process" is hyperfine\'s median wall time of '
    'the whole program. A sentence below says "X beat Y" only when their '
    '95%% intervals do not overlap; otherwise it says they are '
    'indistinguishable.')

FLAG_RULES = (
    'Flags: efficiency above 100%% with the interval above 100%%; a '
    '1-worker run whose interval lies outside %.1f-%.1fx of the sequential '
    'run; a sequential baseline whose per-round medians differ by more '
    'than %.0f%%; other processes using more than %.0f%% of the CPUs while '
    'a workload ran; a calibrated sequential kernel (median x repetitions) '
    'under %.0f%% of the target time.' % (
        ONE_WORKER_BAND[0], ONE_WORKER_BAND[1], 100 * DRIFT_LIMIT,
        100 * BUSY_LIMIT, 100 * SHORT_FRACTION))


def build_report(model):
    """report.md's text."""
    run, m = model['run'], model['machine']
    L = []
    L.append('# Benchmark run %s' % run.get('name', '?'))
    L.append('')
    cmd = ' '.join(run.get('command') or ['scripts/bench'])
    L.append('Made by `%s` on %s (%s, %s usable CPUs), started %s; the '
             'run took **%s**. Commit %s%s.' % (
                 cmd, m.get('host', '?'), m.get('cpu_model', '?'),
                 m.get('usable_cpus', model['ncpu']),
                 (run.get('started_utc') or '?').replace('T', ' '),
                 fmt_duration(run.get('duration_s')),
                 m.get('commit', '?'),
                 ' **with uncommitted changes**' if m.get('dirty') else ''))
    if run.get('quick'):
        L.append('')
        L.append('This is a `--quick` run: small sizes for a fast check of '
                 'the pipeline; its figures are not measurements to quote.')
    if run.get('skipped'):
        L.append('')
        L.append('Skipped: %s.' % '; '.join(
            '%s (%s)' % kv for kv in sorted(run['skipped'].items())))
    L.append('')
    L.append('## Read with care')
    L.append('')
    if model['flags']:
        L.append('%d flag%s: figures that may be noise rather than a '
                 'result. Each is marked [n] in its table and ringed on its '
                 'chart.' % (len(model['flags']),
                             '' if len(model['flags']) == 1 else 's'))
        L.append('')
        for f in model['flags']:
            L.append('- **[%d]** %s Likely cause: %s' % (f['n'], f['text'],
                                                        f['cause']))
    else:
        L.append('No flags: no efficiency above 100%, no 1-worker run off '
                 'the sequential one, no drifting baseline, no background '
                 'load, no kernel shorter than its target.')
    L.append('')
    L.append('## Machine')
    L.append('')
    L.append(md_table(machine_table(model)))
    L.append('')
    cal = calibration_table(model)
    L.append('## Calibration')
    L.append('')
    if cal:
        L.append('The sizes were chosen for this machine before measuring: '
                 'each sequential kernel (times its repetitions per sample) '
                 'should last at least the target time, %s.'
                 % fmt_time(model['target_s']) if model['target_s'] else
                 'The sizes this run used:')
        L.append('')
        L.append(md_table(cal))
    else:
        L.append('This run kept no calibration (calibration.json is '
                 'missing or empty).')
    L.append('')
    L.append('## How it was measured')
    L.append('')
    from .stats import BOOTSTRAP_RESAMPLES
    L.append(METHOD % {'rounds': run.get('rounds', 'several'),
                       'resamples': BOOTSTRAP_RESAMPLES})
    L.append('')
    L.append(FLAG_RULES)
    L.append('')
    bg = model['background']
    if bg:
        L.append('Background load (other processes\' share of the CPUs '
                 'while each workload ran): %s.' % ', '.join(
                     '%s %.0f%%' % (wl, 100 * (v or {}).get(
                         'busy_fraction', 0)) for wl, v in sorted(bg.items())))
        L.append('')
    L.append('## Summary')
    L.append('')
    if model['summary']:
        for s in model['summary']:
            L.append('- ' + s)
    else:
        L.append('No comparison could be computed from this run.')
    L.append('')
    d = drift_table(model)
    if d:
        L.append('## Drift')
        L.append('')
        L.append('The sequential baseline\'s median in each round (rounds '
                 'run minutes apart); more than %.0f%% is flagged.'
                 % (100 * DRIFT_LIMIT))
        L.append('')
        L.append(md_table(d))
        L.append('')
    for wl in model['workload_order']:
        w = model['workloads'][wl]
        L.append('## %s: %s%s' % (wl, w['kind'] + ' ' if w['kind'] and
                                  w['kind'] != 'overhead' else '',
                                  '(%s)' % w['title']))
        L.append('')
        for s in w['sentences']:
            L.append('- ' + s['text'])
        if w['sentences']:
            L.append('')
        for ch in w['charts']:
            if not ch.get('drawn', True):
                continue
            L.append('![%s](charts/%s.png)' % (ch['caption'], ch['name']))
            L.append('')
            L.append('*%s* ([SVG](charts/%s.svg), [data](data/%s.dat))'
                     % (ch['caption'], ch['name'], ch['name']))
            L.append('')
        L.append('<!-- table:%s -->' % wl)
        L.append('Table: %s' % wl)
        L.append('')
        L.append(md_table(overhead_table(model) if wl == 'overhead'
                          else perf_table(model, wl)))
        L.append('')
    if model['startup']:
        L.append('## mpirun start-up: what MPI costs before any compute')
        L.append('')
        L.append('The MPI kernel times start when every rank is ready, so '
                 'they leave out what `mpirun` costs; this table measures '
                 'it apart: *launcher* is `mpirun -np R true` (starting and '
                 'reaping R processes), *empty program* an MPI program with '
                 'nothing to compute (launch plus MPI_Init\'s wire-up and '
                 'MPI_Finalize). Wall times of whole `mpirun` commands.')
        L.append('')
        L.append('<!-- table:mpirun -->')
        L.append(md_table(startup_table(model)))
        L.append('')
    from . import hosts, timelines
    L += hosts.markdown(model)
    L += timelines.markdown(model)
    L.append('## Files')
    L.append('')
    L.append('`samples.jsonl` every kernel sample with its labels; '
             '`walls.jsonl` hyperfine\'s whole-process times; '
             '`summary.json` the figures above per configuration, with '
             'their samples; `data/` each chart\'s points; `raw/` '
             'hyperfine\'s exports and the programs\' records; `log.txt` '
             'everything the tools printed.')
    return '\n'.join(L) + '\n'


def write_report(model, run_dir):
    write_atomic(os.path.join(run_dir, 'report.md'), build_report(model))


def summary_doc(model):
    cfgs = []
    for c in model['configs']:
        d = {k: c[k] for k in ('workload', 'lang', 'mode', 'variant',
                               'workers', 'chunk', 'oversub', 'n', 'tasks',
                               'params', 'speedup', 'efficiency',
                               'karp_flatt', 'per_task_s', 'throughput',
                               'gbps', 'flags')}
        d['n_samples'] = c['stat']['n']
        for k in ('median', 'q1', 'q3', 'min', 'max'):
            d[k] = c['stat'][k]
        d['wall_median'] = c['wall']['median'] if c['wall'] else None
        d['samples'] = c['samples']
        d['baseline_samples'] = model['configs'][c['baseline']]['samples'] \
            if c['baseline'] is not None else None
        cfgs.append(d)
    return {'schema': SCHEMA, 'run': model['run'].get('name'),
            'run_info': model['run'], 'machine': model['machine'],
            'ncpu': model['ncpu'], 'target_s': model['target_s'],
            'configs': cfgs, 'flags': model['flags'],
            'summary': model['summary'],
            'hosts': hosts_summary(model),
            'timelines': timelines_summary(model)}


def hosts_summary(model):
    from . import hosts
    return hosts.summary(model)


def timelines_summary(model):
    from . import timelines
    return timelines.summary(model)


def write_summary(model, run_dir):
    write_atomic(os.path.join(run_dir, 'summary.json'),
                 json.dumps(summary_doc(model), indent=1) + '\n')
