"""Crossing a host boundary (issue 19): the hosts step's part of the model,
its sentences, its table and its chart.

The suite's hosts step (cli.py, plan.HOSTS) ran `scripts/mpi-hosts.sh
bench`: the MPI sum on the same ranks placed two ways, all on one
namespace host (Open MPI moves the data through shared memory) and one
rank per host (through TCP), each repetition giving a sum record and a
transfer record.  samples.jsonl holds them as workload "hosts", labelled
from the records' variants (cli.hosts_samples):

    variant       the base variant: static, dynamic, local
    hosts         1, or the number of hosts the ranks ran on
    across_hosts  false on one host, true across hosts
    what          "sum" (kernel_s is the sum's kernel) or "moved" (the
                  transfer: bytes = bytes rank 0 sent, kernel_s until the
                  last of them arrived, gbps = bytes / kernel_s / 1e9)

Medians come with a 95% bootstrap interval of the median (stats.ratio_ci
of the samples over 1: the same resampling as every speedup's interval),
and each comparison (how many times slower across hosts) with the
bootstrap interval of the ratio of medians.  Charts and tables follow the
rules of charts.py: at most 6 series (here 2), units on every axis, the
legend outside the plots, the footer naming machine, date and commit.
"""

import math
import os

from . import stats
from .analyse import fmt_time, write_atomic

ORDER = ['static', 'dynamic', 'local']
WHAT = {'static': 'rank 0 sends each rank its block of the array',
        'dynamic': 'rank 0 sends chunks to whichever rank asks',
        'local': 'each rank fills its own block: nothing moves'}
COLORS = ('#0072B2', '#D55E00')      # one host, across hosts


def _median_ci(values):
    if not values:
        return None
    est, lo, hi = stats.ratio_ci(values, [1.0])
    return {'est': est, 'lo': lo, 'hi': hi, 'n': len(values)}


def _ratio(num, den):
    if not num or not den or stats.median(den) <= 0:
        return None
    est, lo, hi = stats.ratio_ci(num, den)
    return {'est': est, 'lo': lo, 'hi': hi, 'n': min(len(num), len(den))}


def build(samples, run):
    """The model's "hosts" entry: None when the step neither ran nor was
    skipped, else {ran, skipped, hosts, n, rows, sentences}.  rows: one per
    (variant, placement): kernel (sum's kernel_s median + CI), rate
    (GB/s of the transfer, None when nothing moved), bytes, oversub."""
    skipped = (run.get('skipped') or {}).get('hosts')
    hs = [s for s in samples if s.get('workload') == 'hosts']
    if not hs:
        if skipped:
            return {'ran': False, 'skipped': skipped, 'rows': [],
                    'sentences': [], 'hosts': None, 'n': None}
        return None
    variants = [v for v in ORDER if any(s['variant'] == v for s in hs)]
    variants += sorted({s['variant'] for s in hs} - set(variants))
    nhosts = max(int(s.get('hosts') or 1) for s in hs)
    rows = []
    for v in variants:
        for across in (False, True):
            mine = [s for s in hs if s['variant'] == v and
                    bool(s.get('across_hosts')) == across]
            if not mine:
                continue
            sums = [float(s['kernel_s']) for s in mine
                    if s.get('what') == 'sum']
            moved = [s for s in mine if s.get('what') == 'moved' and
                     s.get('bytes') and s.get('kernel_s')]
            rates = [s['bytes'] / float(s['kernel_s']) / 1e9 for s in moved]
            rows.append({
                'variant': v, 'across': across,
                'hosts': max(int(s.get('hosts') or 1) for s in mine),
                'ranks': mine[0].get('workers'),
                'n': next((s.get('n') for s in mine
                           if s.get('what') == 'sum'), None),
                'oversub': any(s.get('oversub') for s in mine),
                'kernel': _median_ci(sums), 'kernel_samples': sums,
                'rate': _median_ci(rates), 'rate_samples': rates,
                'bytes': stats.median([s['bytes'] for s in moved])
                if moved else 0,
                'moved_s': _median_ci([float(s['kernel_s'])
                                       for s in moved])})
    h = {'ran': True, 'skipped': skipped, 'hosts': nhosts,
         'n': next((r['n'] for r in rows if r['n']), None), 'rows': rows}
    h['sentences'] = sentences(h)
    return h


def pair(h, v):
    one = [r for r in h['rows'] if r['variant'] == v and not r['across']]
    two = [r for r in h['rows'] if r['variant'] == v and r['across']]
    return (one or [None])[0], (two or [None])[0]


def fmt_gbps(ci):
    if not ci:
        return '-'
    d = 2 if ci['est'] < 10 else 1
    if ci['n'] < 2:
        return '%.*f GB/s (one sample)' % (d, ci['est'])
    return '%.*f GB/s (%.*f-%.*f)' % (d, ci['est'], d, ci['lo'], d, ci['hi'])


def fmt_ms_ci(ci):
    if not ci:
        return '-'
    if ci['n'] < 2:
        return '%s (one sample)' % fmt_time(ci['est'])
    return '%s (%s-%s)' % (fmt_time(ci['est']), fmt_time(ci['lo']),
                           fmt_time(ci['hi']))


def fmt_x(ci, word=''):
    """"5.0 times slower (95% CI 4.1-6.2)"."""
    if ci['n'] < 2:
        return '%.1f times%s (one sample each)' % (
            ci['est'], ' ' + word if word else '')
    return '%.1f times%s (95%% CI %.1f-%.1f)' % (
        ci['est'], ' ' + word if word else '', ci['lo'], ci['hi'])


def _overlap(ci):
    """True when a ratio's interval includes 1 (no difference shown)."""
    return ci['lo'] <= 1 <= ci['hi']


def sentences(h):
    """Plain sentences from the numbers, one or two per variant."""
    out = []
    nh = h['hosts']
    for v in [r['variant'] for r in h['rows'] if not r['across']]:
        one, two = pair(h, v)
        if not one or not two:
            continue
        if one['rate'] and two['rate']:
            slower = _ratio(one['rate_samples'], two['rate_samples'])
            if _overlap(slower) and slower['n'] > 1:
                how = 'indistinguishable from between ranks on one host, ' \
                    '%s (the ratio, %s, includes 1)' % (
                        fmt_gbps(one['rate']), fmt_x(slower))
            elif slower['est'] >= 1:
                how = '%s than between ranks on one host, %s' % (
                    fmt_x(slower, 'slower'), fmt_gbps(one['rate']))
            else:
                faster = _ratio(two['rate_samples'], one['rate_samples'])
                how = '%s than between ranks on one host, %s' % (
                    fmt_x(faster, 'faster'), fmt_gbps(one['rate']))
            out.append('%s: moving the data between %d hosts (%s, '
                       'median) ran at %s, %s.' % (
                           v, nh, _bytes(two['bytes']), fmt_gbps(two['rate']),
                           how))
        elif not one['bytes'] and not two['bytes']:
            out.append('%s moves no data between ranks (%s).' % (
                v, WHAT.get(v, 'nothing moved')))
        if one['kernel'] and two['kernel']:
            x = _ratio(two['kernel_samples'], one['kernel_samples'])
            if x is None:
                continue
            if _overlap(x) and x['n'] > 1:
                cmp = 'indistinguishable (the ratio, %s, includes 1)' \
                    % fmt_x(x)
            elif x['est'] >= 1:
                cmp = '%s as long' % fmt_x(x)
            else:
                cmp = '%s as fast' % fmt_x(
                    _ratio(one['kernel_samples'], two['kernel_samples']))
            out.append('%s: the sum took %s across %d hosts against %s on '
                       'one host: %s.' % (v, fmt_ms_ci(two['kernel']), nh,
                                          fmt_ms_ci(one['kernel']), cmp))
    if any(r['oversub'] for r in h['rows']):
        out.append('The program marked some of these runs oversubscribed '
                   '(the table says which): a host ran more ranks than the '
                   'CPUs a rank may use there, so its ranks may have taken '
                   'turns on a CPU.')
    return out


def _bytes(b):
    b = b or 0
    for scale, unit in ((1e9, 'GB'), (1e6, 'MB'), (1e3, 'kB')):
        if b >= scale:
            return '%.3g %s' % (b / scale, unit)
    return '%d bytes' % b


def table(h):
    """(headers, rows, align) as report.table builds them."""
    rows = []
    for r in h['rows']:
        rows.append([
            r['variant'],
            ('%d hosts (TCP)' % r['hosts']) if r['across'] else
            'one host (shared memory)',
            '%s' % (r['ranks'] or '-') + (' (oversubscribed)'
                                          if r['oversub'] else ''),
            fmt_ms_ci(r['kernel']),
            _bytes(r['bytes']) if r['bytes'] else '0',
            fmt_ms_ci(r['moved_s']) if r['bytes'] else '-',
            fmt_gbps(r['rate']),
            r['kernel']['n'] if r['kernel'] else 0])
    return (['variant', 'placement', 'ranks', 'sum kernel, median (95% CI)',
             'bytes moved', 'moved in, median (95% CI)',
             'GB/s moved, median (95% CI)', 'samples'], rows,
            ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'])


CHART = 'hosts'
CAPTION = ('crossing a host boundary: the MPI sum\'s kernel time and the '
           'rate its data moved, ranks on one host against one rank per '
           'host, median with 95% bootstrap interval')


def chart(model, run_dir):
    """charts/hosts.png and .svg (scripts/hosts.gp), data/hosts.dat.
    Returns False when there is nothing to draw."""
    from .charts import footer, gnuplot, nice_lin_ticks, tics_cmd
    h = model.get('hosts')
    if not h or not h['rows']:
        return False
    variants = [r['variant'] for r in h['rows'] if not r['across']]
    lines, kmax, gmax = [], 0.0, 0.0
    for v in variants:
        one, two = pair(h, v)
        row = ['"%s"' % v]
        for r in (one, two):
            k = r and r['kernel']
            row += ['%.6g' % (1e3 * k[f]) for f in ('est', 'lo', 'hi')] \
                if k else ['NaN'] * 3
            kmax = max(kmax, 1e3 * k['hi']) if k else kmax
        for r in (one, two):
            g = r and r['rate']
            row += ['%.6g' % g[f] for f in ('est', 'lo', 'hi')] \
                if g else ['NaN'] * 3
            gmax = max(gmax, g['hi']) if g else gmax
        lines.append(' '.join(row))
    dat = os.path.join(run_dir, 'data', CHART + '.dat')
    write_atomic(dat, '# variant, then median low high of: sum kernel on '
                 'one host (ms), across hosts (ms), GB/s moved on one host, '
                 'across hosts\n' + '\n'.join(lines) + '\n')
    kt = nice_lin_ticks(0.0, max(kmax, 1e-3) * 1.15)
    gt = nice_lin_ticks(0.0, max(gmax, 1e-3) * 1.15)
    nh = h['hosts']
    gnuplot(run_dir, 'hosts.gp', CHART, {
        'datafile': dat,
        'title': 'crossing a host boundary: MPI sum of %s values on %s '
                 'ranks' % (_count(h['n']), h['rows'][0]['ranks'] or nh),
        'one': 'one host (shared memory)',
        'two': '%d hosts, one rank each (TCP)' % nh,
        'colors': ' '.join(COLORS),
        'klabel': 'sum kernel time (ms)',
        'glabel': 'data moved (GB/s)',
        'xlabel': 'variant (how rank 0 shares the array)',
        'kmax': max(kt[-1], kmax * 1.15), 'gmax': max(gt[-1], gmax * 1.15),
        'ktics_cmd': tics_cmd('y', kt), 'gtics_cmd': tics_cmd('y', gt),
        'gnote': 'bars: median; whiskers: 95%% bootstrap interval%s' % (
            '' if all(r['rate'] for r in h['rows']) else
            '; no GB/s bar: the variant moves no data'),
        'footer': footer(model)})
    return True


def _count(n):
    if not n:
        return '?'
    e = int(round(math.log10(n)))
    return '10^%d' % e if 10 ** e == n else '{:,}'.format(n)


def write(model, run_dir):
    """Draws the chart; records whether it was drawn in model['hosts']."""
    h = model.get('hosts')
    if h:
        h['drawn'] = chart(model, run_dir) if h['rows'] else False


def intro(h):
    return ('The same %s MPI ranks summed the same %s values twice: all on '
            'one host, where Open MPI moves data through shared memory, and '
            'one rank per host on %d hosts, where it goes through TCP. The '
            'hosts are Linux network namespaces on this machine '
            '(`scripts/mpi-hosts.sh`): the same CPUs and memory, only the '
            'transport changes, so the difference is what crossing a host '
            'boundary costs before any real network adds its own. Kernel '
            'times leave out mpirun\'s start-up; "moved" is the data rank 0 '
            'sent, timed until the last byte arrived.' % (
                h['rows'][0]['ranks'] or h['hosts'], _count(h['n']),
                h['hosts']))


def markdown(model):
    """report.md's section (a list of lines), [] without the step."""
    from .report import md_table, table as mk_table
    h = model.get('hosts')
    if not h:
        return []
    L = ['## Crossing a host boundary: MPI ranks on one host and across '
         'hosts', '']
    if not h['ran']:
        L += ['Not measured: %s.' % h['skipped'], '']
        return L
    L += [intro(h), '']
    for s in h['sentences']:
        L.append('- ' + s)
    L.append('')
    if h.get('drawn'):
        L += ['![%s](charts/%s.png)' % (CAPTION, CHART), '',
              '*%s* ([SVG](charts/%s.svg), [data](data/%s.dat))' % (
                  CAPTION, CHART, CHART), '']
    L += ['<!-- table:hosts -->', 'Table: hosts', '',
          md_table(mk_table(*table(h))), '']
    return L


def html(model, run_dir, n):
    """report.html's section (a list of strings), [] without the step."""
    from .html import esc, figure, html_table, inline
    from .report import table as mk_table
    h = model.get('hosts')
    if not h:
        return []
    H = ['<section id="hosts"><h2>Crossing a host boundary</h2>']
    if not h['ran']:
        H.append('<p>Not measured: %s.</p></section>' % esc(h['skipped']))
        return H
    H.append('<p>%s</p>' % inline(intro(h)))
    H.append('<div class="workload"><div class="charts">')
    if h.get('drawn'):
        H.append(figure(run_dir, {'name': CHART, 'caption': CAPTION,
                                  'kind': 'hosts'}, n))
    H.append('</div><div>')
    if h['sentences']:
        H.append('<ul class="sentences">%s</ul>' % ''.join(
            '<li>%s</li>' % inline(s) for s in h['sentences']))
    H.append(html_table(mk_table(*table(h))))
    H.append('</div></div></section>')
    return H


def summary(model):
    """summary.json's "hosts": the rows with their samples, or None."""
    h = model.get('hosts')
    if not h:
        return None
    return {k: h[k] for k in ('ran', 'skipped', 'hosts', 'n', 'rows',
                              'sentences')}
