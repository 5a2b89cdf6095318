"""Compare two runs: before and after a change, or two machines.

    scripts/bench compare RUN_A RUN_B [--out DIR]

Like with like: configurations are matched by workload, language, mode,
variant, workers (and chunk size for the chunk sweep).  When the two runs
used the same size for a configuration, its kernel times are compared.
When the sizes differ, a time says nothing about the other run's time, so
only size-free figures are compared: speedup over the run's own sequential
baseline, time per task (overhead), GB/s (sum's sequential loop), tasks
per second (io, crawl, images' sequential runs); a configuration with none
of these is left out, and the output says which and why.

The test: Mann-Whitney U on the pooled samples of the two runs (two-sided,
normal approximation with tie correction: stats.mann_whitney_u), as Google
Benchmark's tools/compare.py does.  For a size-free figure the samples are
transformed one by one (a speedup sample is the run's sequential median
divided by one parallel sample).  A difference is reported only where it
is significant (p < 0.05) and larger than both runs' noise (each side's
IQR relative to its median); everything else is "no difference shown".
With 3 samples a side no difference can reach p < 0.05: the output says
when a configuration has too few samples for the test to decide.

Output: a table on the terminal (differences first), and a folder (default
results/compare-A-vs-B) with compare.md, compare.html (the same, one
self-contained page), compare.json and one chart per workload (both runs'
speedup curves, legend on the right).
Exit status: 0 compared; 1 a run folder is unusable; 2 bad usage; 3 nothing
is comparable (no configuration in common, or none with a figure both runs
can be compared on).
"""

import json
import os
import shutil
import sys

from . import stats
from .analyse import (LANG_NAME, MODE_NAME, RunError, SUM_BYTES_PER_VALUE,
                      build_model, write_atomic)
from .report import summary_doc, table, md_table

ALPHA = 0.05
USAGE = 'usage: scripts/bench compare RUN_A RUN_B [--out DIR]'


class NothingComparable(Exception):
    pass


def load(run_dir):
    """A run's summary document: summary.json, or the model built from
    the folder's samples when there is no summary yet."""
    if not os.path.isdir(run_dir):
        raise RunError('%s: no such run folder' % run_dir)
    path = os.path.join(run_dir, 'summary.json')
    if os.path.exists(path):
        try:
            with open(path) as f:
                doc = json.load(f)
        except ValueError as e:
            raise RunError('%s: %s' % (path, e))
        if doc.get('configs') and 'samples' in doc['configs'][0]:
            return doc
    return summary_doc(build_model(run_dir))


def key(c):
    return (c['workload'], c['lang'], c['mode'], c['variant'],
            c['workers'], c.get('chunk') or 0)


def key_text(k):
    s = '%s %s %s' % (k[0], LANG_NAME.get(k[1], k[1]), k[2])
    if k[3] not in ('-', ''):
        s += ' (%s)' % k[3]
    s += ' w%d' % k[4]
    if k[0] == 'chunks':
        s += ' chunk %d' % k[5]
    return s


def size_of(c):
    return c.get('params') or {'n': c.get('n')}


def figure(a, b):
    """Which figure compares configurations a and b (summary dicts), and
    the two sample lists: (name, unit, higher_is_better, sa, sb) or None."""
    if size_of(a) == size_of(b):
        return ('kernel time', 's', False, a['samples'], b['samples'])
    wl = a['workload']
    if wl == 'overhead' and a.get('n') and b.get('n'):
        return ('time per task', 's', False,
                [s / a['n'] for s in a['samples']],
                [s / b['n'] for s in b['samples']])
    if a.get('baseline_samples') and b.get('baseline_samples'):
        ma = stats.median(a['baseline_samples'])
        mb = stats.median(b['baseline_samples'])
        return ('speedup', 'x', True, [ma / s for s in a['samples'] if s > 0],
                [mb / s for s in b['samples'] if s > 0])
    if a['mode'] == 'seq' and a.get('n') and b.get('n'):
        if wl == 'sum':
            f = SUM_BYTES_PER_VALUE / 1e9
            return ('GB/s', 'GB/s', True,
                    [f * a['n'] / s for s in a['samples'] if s > 0],
                    [f * b['n'] / s for s in b['samples'] if s > 0])
        if wl in ('io', 'crawl', 'images'):
            return ('tasks/s', '/s', True,
                    [a['n'] / s for s in a['samples'] if s > 0],
                    [b['n'] / s for s in b['samples'] if s > 0])
    return None


def rel_iqr(v):
    d = stats.describe(v)
    return (d['q3'] - d['q1']) / d['median'] if d['median'] else 0.0


def compare_docs(da, db):
    """The comparison as plain data: rows (one per matched configuration
    with a figure), skipped (matched but without a size-free figure),
    only_a, only_b, and the workloads whose sizes differ."""
    ca = {key(c): c for c in da['configs']}
    cb = {key(c): c for c in db['configs']}
    common = [k for k in ca if k in cb]
    rows, skipped, differ = [], [], set()
    for k in common:
        a, b = ca[k], cb[k]
        if size_of(a) != size_of(b):
            differ.add(k[0])
        fig = figure(a, b)
        if fig is None:
            skipped.append(k)
            continue
        name, unit, higher, sa, sb = fig
        if not sa or not sb:
            skipped.append(k)
            continue
        ma, mb = stats.median(sa), stats.median(sb)
        u, p = stats.mann_whitney_u(sa, sb)
        change = mb / ma - 1 if ma else 0.0
        noise = max(rel_iqr(sa), rel_iqr(sb))
        if p < ALPHA and abs(change) > noise:
            better = (change > 0) == higher
            verdict = 'better' if better else 'worse'
        else:
            verdict = 'same'
        rows.append({'key': list(k), 'label': key_text(k), 'figure': name,
                     'unit': unit, 'higher_is_better': higher,
                     'a_median': ma, 'b_median': mb, 'change': change,
                     'noise': noise, 'u': u, 'p': p, 'verdict': verdict,
                     'n_a': len(sa), 'n_b': len(sb),
                     'too_few': min(len(sa), len(sb)) < 4,
                     'sizes': [size_of(a), size_of(b)]})
    return {'rows': rows, 'skipped': [list(k) for k in skipped],
            'only_a': [key_text(k) for k in ca if k not in cb],
            'only_b': [key_text(k) for k in cb if k not in ca],
            'sizes_differ': sorted(differ)}


def fmt_fig(v, unit):
    if unit == 's':
        from .analyse import fmt_time
        return fmt_time(v)
    if unit == 'x':
        return '%.2fx' % v
    if unit == 'GB/s':
        return '%.2f GB/s' % v
    return '%.0f%s' % (v, unit)


def run_line(name, doc):
    m = doc.get('machine', {})
    return '%s: %s (%s, %s CPUs), %s, commit %s%s' % (
        name, m.get('host', '?'), m.get('cpu_model', '?'),
        m.get('usable_cpus', doc.get('ncpu', '?')),
        (m.get('date_utc') or '?')[:16], m.get('commit', '?'),
        ' + uncommitted changes' if m.get('dirty') else '')


def conclusion(cmp):
    rows = cmp['rows']
    better = sum(1 for r in rows if r['verdict'] == 'better')
    worse = sum(1 for r in rows if r['verdict'] == 'worse')
    same = len(rows) - better - worse
    few = sum(1 for r in rows if r['too_few'] and r['verdict'] == 'same')
    s = ('%d configuration%s compared: B is better on %d and worse on %d '
         '(Mann-Whitney U, p < %.2f, and a change larger than both runs\' '
         'relative IQR); no difference shown on %d.' % (
             len(rows), '' if len(rows) == 1 else 's', better, worse, ALPHA,
             same))
    if few:
        s += (' %d of those have fewer than 4 samples on a side, too few '
              'for the test to show any difference.' % few)
    return s


def notes(da, db, na, nb, cmp):
    """The comparison's paragraphs, before its charts and table."""
    P = []
    if cmp['sizes_differ']:
        P.append('Sizes differ for %s: those configurations are compared on '
                 'size-free figures only (speedup over the run\'s own '
                 'sequential baseline, time per task, GB/s, tasks/s), not '
                 'on time.' % ', '.join(cmp['sizes_differ']))
    P.append(conclusion(cmp))
    if cmp['skipped']:
        P.append('Not compared (sizes differ and no size-free figure): %s.'
                 % ', '.join(key_text(tuple(k)) for k in cmp['skipped']))
    if cmp['only_a'] or cmp['only_b']:
        P.append('Only in A: %s. Only in B: %s.' % (
            ', '.join(cmp['only_a']) or 'none',
            ', '.join(cmp['only_b']) or 'none'))
    return P


def compare_table(cmp):
    """Differences first (B worse, then better), then the rest."""
    order = {'worse': 0, 'better': 1, 'same': 2}
    rows = sorted(cmp['rows'], key=lambda r: (order[r['verdict']],
                                              r['label']))
    return table(['configuration', 'figure', 'A median', 'B median',
                  'B/A - 1', 'noise (IQR)', 'U', 'p', 'samples A/B',
                  'verdict'],
                 [[r['label'], r['figure'],
                   fmt_fig(r['a_median'], r['unit']),
                   fmt_fig(r['b_median'], r['unit']),
                   '%+.1f%%' % (100 * r['change']),
                   '%.1f%%' % (100 * r['noise']), '%.1f' % r['u'],
                   '%.3f' % r['p'], '%d/%d' % (r['n_a'], r['n_b']),
                   {'better': 'B better', 'worse': 'B worse',
                    'same': 'no difference shown'}[r['verdict']]]
                  for r in rows],
                 ['l', 'l'] + ['r'] * 7 + ['l'])


def build_md(da, db, na, nb, cmp, charts):
    L = ['# Comparison: B = %s against A = %s' % (nb, na), '',
         '- A = %s' % run_line(na, da), '- B = %s' % run_line(nb, db), '']
    for p in notes(da, db, na, nb, cmp):
        L += [p, '']
    for name in charts:
        L.append('![%s](charts/%s.png)' % (name, name))
        L.append('')
    L.append('<!-- table:compare -->')
    L.append(md_table(compare_table(cmp)))
    L.append('')
    return '\n'.join(L)


def build_html(out, da, db, na, nb, cmp, charts):
    """compare.html: the same comparison as one self-contained page."""
    from . import html as h
    H = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, '
         'initial-scale=1">',
         '<title>Comparison: %s against %s</title>' % (h.esc(nb), h.esc(na)),
         '<style>%s</style></head><body>' % h.CSS,
         '<header><h1>Comparison: B = %s against A = %s</h1>' % (
             h.esc(nb), h.esc(na)),
         '<p class="lead">A = %s<br>B = %s</p></header>' % (
             h.esc(run_line(na, da)), h.esc(run_line(nb, db)))]
    for p in notes(da, db, na, nb, cmp):
        H.append('<p>%s</p>' % h.inline(p))
    for i, name in enumerate(charts, 1):
        H.append('<figure id="fig-%s">%s<figcaption>%s (<a href="charts/'
                 '%s.svg">SVG</a>, <a href="data/%s.dat">data</a>)'
                 '</figcaption></figure>' % (
                     h.esc(name), h.svg_inline(os.path.join(
                         out, 'charts', name + '.svg'), 'c%d' % i),
                     h.esc(name), h.esc(name), h.esc(name)))
    H.append(h.html_table(compare_table(cmp)))
    H.append('<p><a href="compare.md">compare.md</a>, '
             '<a href="compare.json">compare.json</a></p>')
    H.append('<script>%s</script></body></html>' % h.SCRIPT)
    return '\n'.join(H) + '\n'


def draw(out, da, db, na, nb):
    """One chart per workload with speedups in both runs: up to 3 series
    (C threads, C processes, Python processes first), each run's curve."""
    from . import charts as ch
    keys_pref = [('c', 'threads'), ('c', 'procs'), ('python', 'procs'),
                 ('python', 'threads'), ('c', 'mpi')]
    names = []
    wls = []
    for c in da['configs']:
        if c['workload'] not in wls and c['workload'] not in (
                'chunks', 'overhead'):
            wls.append(c['workload'])
    for wl in wls:
        def series(doc, lang, mode):
            cs = [c for c in doc['configs'] if c['workload'] == wl and
                  c['lang'] == lang and c['mode'] == mode and c['speedup']
                  and c['variant'] not in ('gil', 'copy')]
            if not cs:
                return []
            v = sorted({c['variant'] for c in cs})[0]
            return sorted([c for c in cs if c['variant'] == v],
                          key=lambda c: c['workers'])
        picked = [k for k in keys_pref if series(da, *k) and series(db, *k)]
        picked = picked[:3]
        if not picked:
            continue
        blocks, styles, xs, ys = [], [], [], []
        for i, (lang, mode) in enumerate(picked):
            for run, doc, dash in (('A', da, 2), ('B', db, 1)):
                rows = []
                for c in series(doc, lang, mode):
                    s = c['speedup']
                    rows.append((c['workers'], s['est'], s['lo'], s['hi'],
                                 0, '-'))
                    xs.append(c['workers'])
                    ys += [s['lo'], s['hi']]
                blocks.append(('%s: %s %s' % (run, LANG_NAME[lang],
                                              MODE_NAME[mode]), rows))
                color = ch.COLOR.get((lang, mode, '-'),
                                     ch.SPARE[i % len(ch.SPARE)])
                styles.append((color, dash, 7 if run == 'B' else 6))
        name = 'compare-%s' % wl
        dat = os.path.join(out, 'data', name + '.dat')
        ch.write_dat(dat, blocks)
        lo, hi = min(ys + [min(xs)]) / 1.25, max(ys + [max(xs)]) * 1.25
        ncpu = da.get('ncpu') or 0
        ch.gnuplot(out, 'lines.gp', name, {
            'datafile': dat, 'nseries': len(blocks),
            'colors': ' '.join(s[0] for s in styles),
            'dashes': ' '.join(str(s[1]) for s in styles),
            'points': ' '.join(str(s[2]) for s in styles),
            'title': '%s: speedup, A = %s (dashed) against B = %s (solid)'
                     % (wl, na, nb),
            'xlabel': 'workers (threads, processes or ranks; log scale)',
            'ylabel': 'speedup over the run\'s own sequential (x, log)',
            'footer': 'A: %s | B: %s' % (run_line(na, da)[:70],
                                         run_line(nb, db)[:70]),
            'footnote': '', 'logx': 1, 'logy': 1,
            'xmin': min(xs) / 1.25, 'xmax': max(xs) * 1.25,
            'ymin': lo, 'ymax': hi,
            'xtics_cmd': ch.tics_cmd('x', sorted(set(xs))),
            'ytics_cmd': ch.tics_cmd('y', ch.nice_log_ticks(lo, hi)),
            'ref': 'diag', 'refk': 1.0,
            'reftitle': 'ideal (speedup = workers)',
            'ncpu': ncpu if min(xs) <= ncpu <= max(xs) else 0,
            'nflagged': 0})
        names.append(name)
    return names


def compare(a, b, out=None, stream=None):
    da, db = load(a), load(b)
    na = os.path.basename(os.path.normpath(os.path.abspath(a)))
    nb = os.path.basename(os.path.normpath(os.path.abspath(b)))
    if na == nb:
        na, nb = 'A:' + na, 'B:' + nb
    cmp = compare_docs(da, db)
    if not cmp['rows']:
        why = ('no configuration in common' if not (cmp['skipped'])
               else 'the %d configurations in common have different sizes '
               'and no size-free figure' % len(cmp['skipped']))
        raise NothingComparable('nothing to compare between %s and %s: %s'
                                % (a, b, why))
    if out is None:
        res = os.path.dirname(os.path.abspath(b))
        out = os.path.join(res, 'compare-%s-vs-%s' % (
            na.replace(':', ''), nb.replace(':', '')))
    tmp = '%s.tmp.%d' % (out.rstrip('/'), os.getpid())
    os.makedirs(os.path.join(tmp, 'charts'))
    os.makedirs(os.path.join(tmp, 'data'))
    try:
        names = draw(tmp, da, db, na, nb)
        md = build_md(da, db, na, nb, cmp, names)
        write_atomic(os.path.join(tmp, 'compare.md'), md)
        write_atomic(os.path.join(tmp, 'compare.html'),
                     build_html(tmp, da, db, na, nb, cmp, names))
        write_atomic(os.path.join(tmp, 'compare.json'),
                     json.dumps(cmp, indent=1) + '\n')
        if os.path.isdir(out) and os.path.exists(
                os.path.join(out, 'compare.md')):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    w = (stream or sys.stdout).write
    w('A = %s\nB = %s\n' % (run_line(na, da), run_line(nb, db)))
    if cmp['sizes_differ']:
        w('Sizes differ for %s: compared on size-free figures only '
          '(speedup, time per task, GB/s, tasks/s).\n'
          % ', '.join(cmp['sizes_differ']))
    w(conclusion(cmp) + '\n')
    for r in cmp['rows']:
        if r['verdict'] != 'same':
            w('  B %s: %-40s %-12s %s -> %s (%+.1f%%, p = %.3f)\n' % (
                r['verdict'], r['label'], r['figure'],
                fmt_fig(r['a_median'], r['unit']),
                fmt_fig(r['b_median'], r['unit']), 100 * r['change'],
                r['p']))
    w('Report: %s\nopen: xdg-open %s\n' % (
        os.path.join(out, 'compare.md'), os.path.join(out, 'compare.html')))
    return out, cmp


def main(argv):
    args, out = [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('-h', '--help'):
            print(USAGE)
            print(__doc__.split('\n\n', 1)[1].split('Exit status')[0].strip())
            print('Exit status: 0 compared; 1 a run folder is unusable; 2 '
                  'bad usage; 3 nothing is comparable.')
            return 0
        if a == '--out':
            if i + 1 >= len(argv):
                sys.stderr.write('compare: --out needs a folder\n%s\n'
                                 % USAGE)
                return 2
            out = argv[i + 1]
            i += 2
            continue
        if a.startswith('--out='):
            out = a.split('=', 1)[1]
        elif a.startswith('-'):
            sys.stderr.write('compare: unknown option: %s\n%s\n' % (a, USAGE))
            return 2
        else:
            args.append(a)
        i += 1
    if len(args) != 2:
        sys.stderr.write('%s\n' % USAGE)
        return 2
    try:
        compare(args[0], args[1], out)
    except RunError as e:
        sys.stderr.write('compare: %s\n' % e)
        return 1
    except NothingComparable as e:
        sys.stderr.write('compare: %s\n' % e)
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
