"""The run's charts: which to draw (plan, from the model) and drawing them
(write_all: data/NAME.dat, then gnuplot with scripts/lines.gp or bars.gp
into charts/NAME.png and .svg).

Rules every chart keeps, because people put these on slides:
- at most 6 series (MAX_SERIES) per chart: a workload with more is split
  (C and Python apart; MPI ranks on a chart of their own, beside C
  threads for reference);
- medians everywhere, 95% intervals (speedup, efficiency) or quartiles
  (times) as error bars;
- the ideal line straight: speedup on log-log axes, efficiency on a
  linear y (its ideal, 100%, is flat);
- every axis named with its unit, the x axis naming what varies;
- every tick written out by us (nice_ticks) so it reads as a number;
- the legend outside the plot, one swatch per entry, flagged points ringed
  in red with their flag's number, and a footer naming machine, date and
  commit.
"""

import math
import os
import subprocess

from . import remedies, stats
from .analyse import LANG_NAME, label, write_atomic

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SERIES = 6

# Okabe-Ito colours (colour-blind safe) by series, so a series keeps its
# colour on every chart; Python lighter, MPI ranks darker.
COLOR = {('c', 'threads', '-'): '#0072B2', ('c', 'procs', '-'): '#D55E00',
         ('c', 'procs', 'shm'): '#D55E00', ('c', 'procs', 'copy'): '#009E73',
         ('c', 'threads', 'gil'): '#CC79A7',
         ('python', 'threads', '-'): '#56B4E9',
         ('python', 'procs', '-'): '#E69F00',
         ('python', 'procs', 'shm'): '#E69F00',
         ('c', 'mpi', 'static'): '#6A3D9A', ('c', 'mpi', 'dynamic'): '#A08000',
         ('c', 'mpi', 'local'): '#404040'}
SPARE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#56B4E9', '#E69F00',
         '#6A3D9A', '#A08000']
# gnuplot point types: 7 filled circle, 9 filled triangle, 5 filled square;
# dash types: 1 solid, 2 dashed, 4 dash-dot.
POINT = {'c': 7, 'python': 9, 'mpi': 5}
DASH = {'c': 1, 'python': 2, 'mpi': 4}
FLAG_SHORT = {'superlinear': 'efficiency above 100%',
              'one-worker': '1 worker outside 0.9-1.1x',
              'drift': 'baseline drifted between rounds',
              'background': 'background load',
              'short': 'kernel shorter than the target'}


def _style(key, i):
    lang, mode, _ = key
    kind = 'mpi' if mode == 'mpi' else lang
    return (COLOR.get(key, SPARE[i % len(SPARE)]), DASH[kind], POINT[kind])


def series_keys(model, wl):
    """The (lang, mode, variant) series of a workload that have speedups."""
    keys = []
    for c in model['configs']:
        k = (c['lang'], c['mode'], c['variant'])
        if c['workload'] == wl and c['speedup'] and k not in keys and \
                c['variant'] not in remedies.VARIANTS:
            keys.append(k)
    return keys


def _series_name(key, wl):
    lang, mode, variant = key
    c = {'workload': wl, 'lang': lang, 'mode': mode, 'variant': variant}
    return label(c)


def plan(model, wl):
    """The charts of a workload: [{name, kind, caption, groups...}].  Only
    names and what goes on them; write_all draws them."""
    charts = []
    if wl == 'overhead':
        for lang in ('c', 'python'):
            if any(c['workload'] == wl and c['lang'] == lang and
                   c['per_task_s'] for c in model['configs']):
                charts.append({
                    'name': 'overhead-%s' % lang, 'kind': 'overhead',
                    'lang': lang,
                    'caption': '%s: the cost of one task (one item for '
                               'map) per implementation, median with '
                               'quartiles, log scale' % LANG_NAME[lang]})
        if any(c['workload'] == wl and c['mode'] in ABLATION_LABEL and
               c['mode'] != 'tp' and c['per_task_s']
               for c in model['configs']):
            charts.append({
                'name': 'ablation', 'kind': 'ablation', 'lang': 'c',
                'pool': 'tp',
                'caption': 'what each speed trick of the thread pool buys: '
                           'the cost of one task with every trick, with '
                           'each one switched off in turn, and in the '
                           'textbook pool; median with quartiles, log '
                           'scale'})
        if remedies.build(model):
            charts.append({
                'name': 'remedies', 'kind': 'remedies', 'lang': 'c',
                'caption': 'what each remedy of the process pool (and the '
                           'thread pool\'s wake-ups passed on) buys: time '
                           'with it over time without it, median ratio '
                           'with its 95% interval; below 1 it saves time, '
                           'log scale'})
        if any(c['workload'] == wl and c['mode'].startswith('pp-no-') and
               c['per_task_s'] for c in model['configs']):
            charts.append({
                'name': 'ablation-pp', 'kind': 'ablation', 'lang': 'c',
                'pool': 'pp',
                'caption': 'what each remedy of the process pool buys: the '
                           'cost of one task with every remedy, and with '
                           'each one switched off in turn; median with '
                           'quartiles, log scale'})
        return charts
    keys = series_keys(model, wl)
    if not keys:
        return charts
    if wl == 'chunks':
        charts.append({'name': 'chunks', 'kind': 'chunks', 'keys': keys,
                       'caption': 'chunk size against speedup over the '
                                  'sequential run, median and 95% interval'})
        return charts
    plain = [k for k in keys if k[1] != 'mpi']
    mpi = [k for k in keys if k[1] == 'mpi']
    groups = []
    if len(plain) <= MAX_SERIES:
        groups.append(('', '', plain))
    else:
        for lang in ('c', 'python'):
            ks = [k for k in plain if k[0] == lang]
            for i in range(0, len(ks), MAX_SERIES):
                part = '' if len(ks) <= MAX_SERIES else '-%d' % (
                    i // MAX_SERIES + 1)
                groups.append(('-' + lang + part, LANG_NAME[lang] + ' ',
                               ks[i:i + MAX_SERIES]))
    if mpi:
        ref = [k for k in plain if k == ('c', 'threads', '-')]
        groups.append(('-mpi', 'MPI ', (ref + mpi)[:MAX_SERIES]))
    if wl == 'primes' and ('c', 'threads', 'gil') in keys:
        gk = [k for k in [('c', 'threads', '-'), ('c', 'threads', 'gil'),
                          ('python', 'threads', '-'),
                          ('python', 'procs', '-')] if k in keys]
        groups.append(('-gil', 'the GIL: ', gk))
    for suffix, what, ks in groups:
        if not ks:
            continue
        for kind in ('speedup', 'efficiency'):
            charts.append({
                'name': '%s-%s%s' % (kind, wl, suffix), 'kind': kind,
                'keys': ks,
                'caption': '%s%s of %s over the sequential run of the same '
                           'language, median with 95%% interval%s' % (
                               what, kind, wl,
                               '; MPI from kernel times, without mpirun\'s '
                               'start-up' if suffix == '-mpi' else '')})
    return charts


# ---- ticks ---------------------------------------------------------------

def fmt_num(v):
    """A tick label that reads as a number: 0.5, 2, 64, 1000, 0.05."""
    if v >= 1000 and v == int(v):
        return '%d' % v
    s = '%.6g' % v
    return s


def nice_log_ticks(lo, hi):
    """1-2-5 ticks covering [lo, hi] on a log axis (more when that gives
    fewer than 3)."""
    lo = max(lo, 1e-12)
    for mants in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = []
        e = math.floor(math.log10(lo)) - 1
        while 10 ** e <= hi * 10:
            for m in mants:
                v = round(m * 10 ** e, 12)
                if lo <= v <= hi:
                    ticks.append(v)
            e += 1
        if len(ticks) >= 3:
            break
    if len(ticks) > 12:
        ticks = [t for t in ticks if str(fmt_num(t)).lstrip('0.')[0] == '1']
    return ticks


def nice_lin_ticks(lo, hi, want=6):
    span = hi - lo
    raw = span / want
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw))
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def time_ticks(lo, hi):
    """Decade ticks for seconds with their unit: 1 ns ... 100 ms."""
    out = []
    e = math.floor(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        v = 10 ** e
        if v >= lo / 1.0001:
            for scale, unit in ((1, 's'), (1e-3, 'ms'), (1e-6, 'µs'),
                                (1e-9, 'ns')):
                if v >= scale * 0.999:
                    out.append(('%g %s' % (round(v / scale, 6), unit), v))
                    break
        e += 1
    return out


def tics_cmd(axis, ticks, labels=None):
    labels = labels or [fmt_num(t) for t in ticks]
    return 'set %stics (%s)' % (axis, ', '.join(
        '"%s" %.12g' % (lab, t) for lab, t in zip(labels, ticks)))


# ---- drawing -------------------------------------------------------------

def footer(model):
    m = model['machine']
    commit = m.get('commit') or '?'
    if m.get('dirty'):
        commit += ' + uncommitted changes'
    return '%s: %s, %s CPUs | %s | commit %s | run %s' % (
        m.get('host', '?'), m.get('cpu_model', '?'),
        m.get('usable_cpus', model['ncpu']),
        (m.get('date_utc') or model['run'].get('started_utc') or '?')[:16],
        commit, model['run'].get('name', '?'))


def gp_str(s):
    """A gnuplot single-quoted string (no escapes; ' doubled)."""
    return "'" + str(s).replace("'", "''") + "'"


def gnuplot(run_dir, script, name, variables):
    """Draws charts/NAME.png and .svg with scripts/SCRIPT, each under a
    temporary name renamed when complete.  Raises RuntimeError with
    gnuplot's message on failure."""
    charts = os.path.join(run_dir, 'charts')
    png = os.path.join(charts, name + '.png')
    svg = os.path.join(charts, name + '.svg')
    tmp_png = '%s.part.%d.png' % (png[:-4], os.getpid())
    tmp_svg = '%s.part.%d.svg' % (svg[:-4], os.getpid())
    variables = dict(variables, png=tmp_png, svg=tmp_svg)
    lines = []
    for k, v in variables.items():
        if isinstance(v, bool):
            v = int(v)
        lines.append('%s = %s' % (k, gp_str(v) if isinstance(v, str)
                                  else repr(v)))
    lines.append('load %s' % gp_str(os.path.join(HERE, script)))
    p = subprocess.run([os.environ.get('GNUPLOT', 'gnuplot')],
                       input='\n'.join(lines) + '\n', capture_output=True,
                       text=True)
    if p.returncode != 0 or not os.path.exists(tmp_png):
        for t in (tmp_png, tmp_svg):
            if os.path.exists(t):
                os.unlink(t)
        raise RuntimeError('gnuplot %s for %s failed:\n%s'
                           % (script, name, p.stderr.strip()))
    os.replace(tmp_png, png)
    os.replace(tmp_svg, svg)


def write_dat(path, blocks):
    """blocks: [(title, rows)]: one gnuplot index per block, its first
    line the title."""
    parts = []
    for title, rows in blocks:
        lines = ['"%s"' % title.replace('"', "'")]
        for r in rows:
            lines.append(' '.join(
                '%.9g' % v if isinstance(v, float) else
                ('"%s"' % v if isinstance(v, str) else str(v)) for v in r))
        parts.append('\n'.join(lines))
    write_atomic(path, '\n\n\n'.join(parts) + '\n')


def _flag_note(model, cs):
    """The footnote of a chart: every flag on its points and baselines."""
    nums = set()
    for c in cs:
        nums.update(c['flags'])
        if c['baseline'] is not None:
            nums.update(model['configs'][c['baseline']]['flags'])
    notes = ['[%d] %s' % (f['n'], FLAG_SHORT.get(f['kind'], f['kind']))
             for f in model['flags'] if f['n'] in nums]
    if not notes:
        return ''
    return 'Read with care: ' + '; '.join(notes) + ' (see the report)'


def line_chart(model, run_dir, ch):
    wl = ch['name'].split('-')[1] if ch['kind'] != 'chunks' else 'chunks'
    kind = ch['kind']
    pct = 100.0 if kind == 'efficiency' else 1.0
    blocks, styles, used = [], [], []
    ys, xs = [], []
    for i, key in enumerate(ch['keys']):
        cs = sorted([c for c in model['configs'] if c['workload'] == wl and
                     (c['lang'], c['mode'], c['variant']) == key and
                     c['speedup']],
                    key=lambda c: c['chunk'] if kind == 'chunks'
                    else c['workers'])
        rows = []
        for c in cs:
            fig = c['efficiency'] if kind == 'efficiency' else c['speedup']
            x = c['chunk'] if kind == 'chunks' else c['workers']
            own = [n for n in c['flags']]
            rows.append((x, fig['est'] * pct, fig['lo'] * pct,
                         fig['hi'] * pct, 1 if own else 0,
                         ' '.join('[%d]' % n for n in own) or '-'))
            xs.append(x)
            ys += [fig['lo'] * pct, fig['hi'] * pct]
            used.append(c)
        if rows:
            blocks.append((_series_name(key, wl), rows))
            styles.append(_style(key, i))
    if not blocks:
        return False
    name = ch['name']
    dat = os.path.join(run_dir, 'data', name + '.dat')
    write_dat(dat, blocks)
    xmin, xmax = min(xs), max(xs)
    ncpu = model['ncpu'] if kind != 'chunks' else 0
    xt = sorted(set(xs))
    if kind == 'chunks':
        ylabel = 'speedup over sequential (x, log scale)'
        xlabel = 'chunk size (items per task, log scale)'
        ref, refk, reftitle = 'const', 1.0, 'sequential (1x)'
        logy = 1
    elif kind == 'speedup':
        ylabel = 'speedup over sequential (x, log scale)'
        xlabel = 'workers (%s, log scale)' % (
            'threads or MPI ranks' if 'mpi' in name else
            'threads or processes')
        ref, refk, reftitle = 'diag', 1.0, 'ideal (speedup = workers)'
        ys += [xmin, xmax]
        logy = 1
    else:
        ylabel = 'efficiency = speedup / workers (%)'
        xlabel = 'workers (%s, log scale)' % (
            'threads or MPI ranks' if 'mpi' in name else
            'threads or processes')
        ref, refk, reftitle = 'const', 100.0, 'ideal (100%)'
        logy = 0
    if logy:
        lo, hi = min(ys) / 1.25, max(ys) * 1.25
        yt = nice_log_ticks(lo, hi)
    else:
        lo, hi = 0.0, max(110.0, max(ys) * 1.08)
        yt = nice_lin_ticks(lo, hi)
    nflag = sum(1 for c in used if c['flags'])
    title = '%s: %s' % (wl, {'speedup': 'speedup against workers',
                             'efficiency': 'efficiency against workers',
                             'chunks': 'speedup against chunk size'}[kind])
    if '-' in name[len(kind) + 1 + len(wl):]:
        title += ' (%s)' % {'-c': 'C', '-python': 'Python', '-mpi':
                            'MPI ranks beside C threads', '-gil':
                            'the GIL'}.get(name[len(kind) + 1 + len(wl):],
                                           name)
    gnuplot(run_dir, 'lines.gp', name, {
        'datafile': dat, 'nseries': len(blocks),
        'colors': ' '.join(s[0] for s in styles),
        'dashes': ' '.join(str(s[1]) for s in styles),
        'points': ' '.join(str(s[2]) for s in styles),
        'title': title, 'xlabel': xlabel, 'ylabel': ylabel,
        'footer': footer(model), 'footnote': _flag_note(model, used),
        'logx': 1, 'logy': logy,
        'xmin': xmin / 1.25, 'xmax': xmax * 1.25,
        'ymin': lo, 'ymax': hi,
        'xtics_cmd': tics_cmd('x', xt), 'ytics_cmd': tics_cmd('y', yt),
        'ref': ref, 'refk': refk, 'reftitle': reftitle,
        'ncpu': ncpu if ncpu and xmin <= ncpu <= xmax else 0,
        'nflagged': nflag})
    return True


# The ablation chart's bars, in this order: the thread pool with all its
# tricks (struct tp_tuning), with each one off (overhead's tp-no-* modes),
# the textbook pool.  The labels say what is missing, not a mode name.
ABLATION_LABEL = {'tp': 'all tricks',
                  'tp-no-poll': 'no polling',
                  'tp-no-recycle': 'no recycling',
                  'tp-two-trips': '2 lock trips',
                  'tp-wake-always': 'wake always',
                  'tp-no-cascade': 'no passing on',
                  'textbook': 'textbook'}


def trick_off(mode):
    """One of our pools with a speed trick (tp-*) or remedy (pp-no-*)
    switched off: the ablation charts' bars, not an implementation."""
    return mode.startswith('tp-') or mode.startswith('pp-no-')


def ablated(mode, pool):
    """Whether mode is a bar of pool's ablation chart."""
    if pool == 'tp':
        return mode in ABLATION_LABEL
    return mode == 'pp' or mode.startswith('pp-no-')


def ablation_label(mode):
    """A bar's label: what is missing ("no polling"), not a mode name."""
    if mode in ABLATION_LABEL:
        return ABLATION_LABEL[mode]
    if mode == 'pp':
        return 'all remedies'
    return mode[len('pp-'):].replace('-', ' ')


def overhead_chart(model, run_dir, ch):
    lang = ch['lang']
    ablation = ch['kind'] == 'ablation'
    cs = [c for c in model['configs'] if c['workload'] == 'overhead' and
          c['lang'] == lang and c['per_task_s'] and c['mode'] != 'seq']
    pool = ch.get('pool', 'tp')
    if ablation:
        cs = [c for c in cs if ablated(c['mode'], pool) and
              c['variant'] in ('bulk', 'roundtrip')]
    else:
        # The modes with a trick off belong to the ablation charts.
        cs = [c for c in cs if not trick_off(c['mode'])]
    variants = [v for v in ('bulk', 'roundtrip', 'map')
                if any(c['variant'] == v for c in cs)]
    variants += sorted({c['variant'] for c in cs} - set(variants))
    impls = []
    for c in cs:
        if c['mode'] not in impls:
            impls.append(c['mode'])
    if ablation:
        impls = [m for m in ABLATION_LABEL if m in impls] if pool == 'tp' \
            else ['pp'] * ('pp' in impls) + sorted(m for m in impls
                                                   if m != 'pp')
    rows, vals = [], []
    for impl in impls:
        row = [ablation_label(impl) if ablation else impl]
        for v in variants:
            m = [c for c in cs if c['mode'] == impl and c['variant'] == v]
            if m:
                c = m[0]
                per = c['per_task_s']
                q = c['per_task_samples']
                lo, hi = stats.quantile(q, 0.25), stats.quantile(q, 0.75)
                row += [per, lo, hi]
                vals += [lo, hi]
            else:
                row += ['NaN', 'NaN', 'NaN']
        rows.append(row)
    if not vals:
        return False
    name = ch['name']
    dat = os.path.join(run_dir, 'data', name + '.dat')
    text = '\n'.join(' '.join('"%s"' % v if i == 0 else
                              (v if isinstance(v, str) else '%.6g' % v)
                              for i, v in enumerate(r)) for r in rows)
    write_atomic(dat, '# implementation, then median q1 q3 (seconds per '
                 'task) for: %s\n%s\n' % (' '.join(variants), text))
    lo, hi = min(vals) / 2, max(vals) * 2
    lo_t = 10 ** math.floor(math.log10(lo))
    hi_t = 10 ** math.ceil(math.log10(hi))
    tt = time_ticks(lo_t, hi_t)
    palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7']
    gnuplot(run_dir, 'bars.gp', name, {
        'datafile': dat, 'nvariants': len(variants),
        'variants': ' '.join(variants),
        'colors': ' '.join(palette[i % 4] for i in range(len(variants))),
        'title': 'what each remedy of the process pool buys: the cost '
                 'of one task' if ablation and pool == 'pp' else
                 'what each trick of the thread pool buys: the cost of '
                 'one task' if ablation else
                 'overhead: the cost of one task, %s implementations'
                 % LANG_NAME[lang],
        'ylabel': 'time per task, log scale' if ablation else
                  'time per task (per item for map), log scale',
        'xlabel': '%s switched off (bars: median; whiskers: quartiles)'
                  % ('remedy' if pool == 'pp' else 'trick') if ablation else
                  'implementation (bars: median; whiskers: quartiles)',
        'footer': footer(model), 'ymin': lo_t, 'ymax': hi_t,
        'ytics_cmd': tics_cmd('y', [t for _, t in tt],
                              [lab for lab, _ in tt])})
    return True


def remedies_chart(model, run_dir, ch):
    rs = remedies.build(model)
    if not rs:
        return False
    dat = os.path.join(run_dir, 'data', ch['name'] + '.dat')
    write_atomic(dat, '# remedy, then time with it / time without it: '
                 'median ratio, 95%% interval low, high\n%s\n' % '\n'.join(
                     '"%s" %.6g %.6g %.6g' % (r['label'], r['est'], r['lo'],
                                             r['hi']) for r in rs))
    lo = min(min(r['lo'] for r in rs), 1.0)
    hi = max(max(r['hi'] for r in rs), 1.0)
    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    lo = max([t for t in ticks if t <= lo / 1.2] or [ticks[0]])
    hi = min([t for t in ticks if t >= hi * 1.2] or [ticks[-1]])
    gnuplot(run_dir, 'ratios.gp', ch['name'], {
        'datafile': dat, 'nrows': len(rs),
        'title': 'what each remedy buys: time with it over time without',
        'xlabel': 'time with it / time without (log; left of 1x it saves '
                  'time; whiskers: 95% interval)',
        'footer': footer(model), 'xmin': lo, 'xmax': hi,
        'xtics_cmd': tics_cmd('x', [t for t in ticks if lo <= t <= hi],
                              ['%gx' % t for t in ticks if lo <= t <= hi])})
    return True


def write_all(model, run_dir):
    """Draws every planned chart; records in each plan entry whether it
    was drawn (a chart without data is left out of the report)."""
    for wl in model['workload_order']:
        for ch in model['workloads'][wl]['charts']:
            if ch['kind'] in ('overhead', 'ablation'):
                ch['drawn'] = overhead_chart(model, run_dir, ch)
            elif ch['kind'] == 'remedies':
                ch['drawn'] = remedies_chart(model, run_dir, ch)
            else:
                ch['drawn'] = line_chart(model, run_dir, ch)
    from . import hosts, timelines
    hosts.write(model, run_dir)
    timelines.write(model, run_dir)

