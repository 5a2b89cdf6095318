"""Timeline charts: a per-task trace (poolbench.trace) drawn as a Gantt
chart with gnuplot (scripts/timeline.gp), one trace or two compared.

    python3 -m poolbench.timeline FILE [FILE2] -o OUT.svg [--title T]

writes OUT.svg, OUT.png and OUT.dat (the data gnuplot drew).

What the chart shows: one row per track (the caller on top, then worker
1..N), time since the first task was queued on the x axis in
milliseconds, one box per task or chunk from its start to its end, so
idle time is empty space.  Neighbouring boxes on a row take turns
through a small palette so each box is told apart from the next; a
failed task (its worker killed, or an error status) is hatched red and
has its own legend entry.  When the trace has queue-length samples, a
thin panel under the rows draws how many tasks were waiting.

Two traces (FILE FILE2) are drawn one above the other, each titled with
its trace's label, on the same time range by default: the comparison is
about time ("primes: threads against --gil threads"), so the longer run
shows as the longer one.

Charts keep the rules of poolbench.charts: units on the axes, a legend,
ticks written out, a footer with machine and commit, PNG and SVG.  Two
more rules, because a trace can hold 64 workers or 100 000 tasks:
- rows stay readable: with more than MAX_ROW_LABELS rows only every k-th
  worker is named, and box labels appear only where rows and boxes are
  wide enough to hold them;
- no box narrower than a pixel is drawn on its own: a run of such tasks
  on one row, each starting less than a pixel after the last ended, is
  drawn as one grey box, and the chart's note says how many tasks were
  merged into how many boxes (a 100 000-box SVG draws nothing a reader
  can see and takes minutes to open).  Failed tasks are never merged.
  Should more than MAX_BOXES boxes remain, the same is done for boxes
  narrower than 2, 4 ... pixels, and the note says so.
"""

import argparse
import math
import os
import socket
import subprocess
import sys
import time

from . import charts, machine, trace
from .analyse import write_atomic

SCRIPT = 'timeline.gp'
# Colours of neighbouring boxes (Okabe-Ito, colour-blind safe), without
# the red that marks failed tasks and the grey of merged ones.
PALETTE = ['#0072B2', '#E69F00', '#009E73', '#56B4E9', '#CC79A7']
FAILED = '#D00000'
MERGED = '#808080'
# The PNG is 1280 pixels wide (as every chart of the suite); the plot area
# inside the margins is about 1100 of them.  Narrower than PLOT_PX_WIDTH
# of the time range is narrower than a pixel.
WIDTH = 1280
PLOT_PX_WIDTH = 1100
# Above this many rows, name only every k-th worker: 17 names (the
# caller and 16 workers) fit a 720-pixel chart in a 15-point font, a name
# every ROW_LABEL_PX pixels at least, so a short panel names fewer.
MAX_ROW_LABELS = 17
ROW_LABEL_PX = 28
# A box gets its id written in it when rows are this few and the box is
# wide enough for the digits (LABEL_CHAR_PX per character at 10 points),
# and at most MAX_BOX_LABELS of them per panel.
MAX_LABELLED_ROWS = 16
LABEL_CHAR_PX = 8
MAX_BOX_LABELS = 300
# More boxes than this and the SVG grows past a few MB and opens slowly:
# draw() then merges boxes narrower than 2, 4 ... pixels (a row holds at
# most PLOT_PX_WIDTH / 2 boxes a pixel wide with a pixel between them, so
# 64 rows could hold 35 000).
MAX_BOXES = 20000
# Blocks of the data file, per panel, in this order.
BLOCKS = ('boxes', 'failed', 'merged', 'labels', 'queue', 'instants',
          'waits')


def _ms(us, t0):
    return (us - t0) / 1000.0


def panel_data(tr, t0, px_us):
    """What one trace's panel draws, in ms from T0: {boxes: [(x0, x1, row,
    rgb)], failed: [(x0, x1, row)], merged: [(x0, x1, row, n)], labels:
    [(x, row, text)], queue: [(x, n)], instants: [(x, row, name)], rows,
    ntasks, nmerged}.  PX_US: one pixel of the time axis in microseconds;
    a run of tasks narrower than that is merged (module comment)."""
    nrows = tr['workers'] + 1
    out = {k: [] for k in BLOCKS}
    out.update(rows=nrows, ntasks=len(tr['tasks']), nmerged=0)
    label_ok = nrows <= MAX_LABELLED_ROWS
    by_row = {}
    for t in tr['tasks']:
        by_row.setdefault(t['tid'], []).append(t)
    for row in range(nrows):
        group = None          # [start, end, n] of a run of tiny tasks
        ordinal = 0

        def emit_box(t0_us, t1_us, text):
            nonlocal ordinal
            x0, x1 = _ms(t0_us, t0), _ms(t1_us, t0)
            rgb = int(PALETTE[ordinal % len(PALETTE)][1:], 16)
            ordinal += 1
            out['boxes'].append((x0, x1, row, rgb))
            wide = (t1_us - t0_us) / px_us
            if (label_ok and wide >= LABEL_CHAR_PX * len(text) + 6 and
                    len(out['labels']) < MAX_BOX_LABELS):
                out['labels'].append(((x0 + x1) / 2, row, text))

        def flush():
            nonlocal group
            if group is None:
                return
            s, e, n, first = group
            if n == 1:
                emit_box(s, e, str(first))
            else:
                out['merged'].append((_ms(s, t0), _ms(e, t0), row, n))
                out['nmerged'] += n
            group = None

        for t in by_row.get(row, []):
            if t['start'] - t['began'] >= px_us:
                # Blocked inside the task (a lock): a box of its own.
                out['waits'].append((_ms(t['began'], t0),
                                     _ms(t['start'], t0), row))
            if t['failed']:
                flush()
                x0, x1 = _ms(t['start'], t0), _ms(t['end'], t0)
                out['failed'].append((x0, x1, row))
                text = str(t['id'])
                if (label_ok and len(out['labels']) < MAX_BOX_LABELS and
                        (t['end'] - t['start']) / px_us >=
                        LABEL_CHAR_PX * len(text) + 6):
                    out['labels'].append(((x0 + x1) / 2, row, text))
                continue
            if t['end'] - t['start'] < px_us:
                if group is not None and t['start'] - group[1] < px_us:
                    group[1] = max(group[1], t['end'])
                    group[2] += 1
                else:
                    flush()
                    group = [t['start'], t['end'], 1, t['id']]
                continue
            flush()
            emit_box(t['start'], t['end'], str(t['id']))
        flush()
    out['queue'] = thin_queue(tr['queue'], t0, px_us)
    for i in tr['instants']:
        out['instants'].append((_ms(i['ts'], t0), i['tid'], i['name']))
    return out


def thin_queue(samples, t0, px_us):
    """The queue-length samples as a step line with at most a few points
    per pixel: in each pixel-wide slice of time, its first sample, its
    lowest and highest, and its last, in time order, so peaks and empty
    moments stay visible."""
    out, bucket, cur = [], [], None
    for ts, n in samples:
        b = math.floor((ts - t0) / px_us)
        if b != cur and bucket:
            out += _keep(bucket)
            bucket = []
        cur = b
        bucket.append((ts, n))
    if bucket:
        out += _keep(bucket)
    return [(_ms(ts, t0), n) for ts, n in out]


def _keep(bucket):
    if len(bucket) <= 4:
        return bucket
    keep = {0, len(bucket) - 1,
            min(range(len(bucket)), key=lambda i: bucket[i][1]),
            max(range(len(bucket)), key=lambda i: bucket[i][1])}
    return [bucket[i] for i in sorted(keep)]


def row_tics(nrows, most=MAX_ROW_LABELS):
    """(label, row) for the y axis: every row when MOST names fit, else
    the caller and every k-th worker, k a power of 2 (so the names read
    8, 16, 24 ...), at most MOST names in all."""
    if nrows <= most:
        return [('caller', 0)] + [('worker %d' % w, w)
                                  for w in range(1, nrows)]
    step = 2 ** math.ceil(math.log2((nrows - 1) / max(most - 1, 1)))
    return [('caller', 0)] + [('worker %d' % w, w)
                              for w in range(step, nrows, step)]


def default_footer(trs):
    """The footer when no run model gives one: this machine, the traces'
    commits and dates."""
    commits = []
    for tr in trs:
        c = tr['meta'].get('commit') or '?'
        if c not in commits:
            commits.append(c)
    date = trs[0]['meta'].get('date_utc') or time.strftime(
        '%Y-%m-%d %H:%M UTC', time.gmtime())
    return '%s: %s, %s CPUs | %s | commit %s' % (
        trs[0]['meta'].get('host') or socket.gethostname().split('.')[0],
        machine.cpu_model(), machine.usable_cpus(), date[:20],
        ' and '.join(commits))


def _describe(tr):
    m = tr['meta']
    what = m['label'] or m['mode']
    if m['pool'] == 'none':
        return '%s, %s' % (m['benchmark'], what)
    return '%s, %s, %d workers' % (m['benchmark'], what, m['workers'])


def _what(trs):
    cats = {t['cat'] for tr in trs for t in tr['tasks']}
    return {frozenset(['chunk']): 'chunk',
            frozenset(['task']): 'task'}.get(frozenset(cats), 'task or chunk')


def layout(panels, height):
    """Screen fractions of each panel: [(gantt_bottom, gantt_top,
    queue_bottom, queue_top)]; queue_* are 0 without a queue panel."""
    px = 1.0 / height
    top = 1.0 - 110 * px          # title and legend
    bottom = 75 * px              # note and footer
    block = (top - bottom) / len(panels)
    out = []
    for i, p in enumerate(panels):
        b_top = top - i * block - (34 * px if len(panels) > 1 else 0)
        b_bot = top - (i + 1) * block + 62 * px   # x tics and label
        if p['queue']:
            q_h = max(50 * px, 0.16 * (b_top - b_bot))
            out.append((b_bot + q_h + 14 * px, b_top, b_bot, b_bot + q_h))
        else:
            out.append((b_bot, b_top, 0.0, 0.0))
    return out


def write_data(path, panels):
    """One gnuplot index block per kind per panel (BLOCKS order); an
    empty block holds one line of NaN so every index exists."""
    parts = []
    for p, pd in enumerate(panels, 1):
        for k in BLOCKS:
            lines = ['# panel %d %s' % (p, k)]
            for r in pd[k]:
                lines.append(' '.join(
                    '"%s"' % v.replace('"', "'") if isinstance(v, str) else
                    ('%.9g' % v if isinstance(v, float) else str(v))
                    for v in r))
            if not pd[k]:
                lines.append('NaN NaN NaN NaN')
            parts.append('\n'.join(lines))
    write_atomic(path, '\n\n\n'.join(parts) + '\n')


def draw(trs, png, svg, datafile, title=None, footer=None, same_x=True):
    """Draws parsed traces TRS (1 or 2) as one chart into PNG and SVG,
    with the data gnuplot reads in DATAFILE.  Returns what was drawn:
    {panels: [panel_data...], note, title, variables (what gnuplot was
    given)}.  Raises RuntimeError with
    gnuplot's message when gnuplot fails."""
    if not 1 <= len(trs) <= 2:
        raise ValueError('a timeline draws 1 or 2 traces, not %d'
                         % len(trs))
    sums = [trace.summary(tr) for tr in trs]
    spans = [s['makespan_us'] for s in sums]
    ranges = [max(spans) if same_x else sp for sp in spans]
    # Merge what is narrower than a pixel; if that still leaves more than
    # MAX_BOXES, what is narrower than 2, 4 ... pixels.
    px = 1
    while True:
        panels = []
        for tr, s, rng in zip(trs, sums, ranges):
            rng = rng if rng > 0 else 1.0
            panels.append(panel_data(tr, s['t0'], px * rng / PLOT_PX_WIDTH))
        if sum(len(p['boxes']) for p in panels) <= MAX_BOXES:
            break
        px *= 2
    notes = []
    for tr, pd in zip(trs, panels):
        who = ('%s: ' % (tr['meta']['label'] or tr['meta']['mode'])
               if len(trs) > 1 else '')
        if pd['nmerged']:
            notes.append('%s%d tasks narrower than %s drawn as %d grey '
                         'boxes' % (who, pd['nmerged'],
                                    'a pixel' if px == 1 else
                                    '%d pixels' % px, len(pd['merged'])))
        if tr['meta']['dropped']:
            notes.append('%s%d events lost to full buffers are missing'
                         % (who, tr['meta']['dropped']))
    if len(trs) > 1:
        notes.append('same time axis for both' if same_x else
                     'each on its own time axis')
    if title is None:
        m = trs[0]['meta']
        if len(trs) == 1:
            title = '%s: who ran what, when' % _describe(trs[0])
        else:
            title = '%s: %s against %s' % (
                m['benchmark'], trs[0]['meta']['label'] or
                trs[0]['meta']['mode'], trs[1]['meta']['label'] or
                trs[1]['meta']['mode'])
    rows = sum(p['rows'] for p in panels)
    height = 720 if len(trs) == 1 and rows <= 34 else (
        900 if rows <= 68 else 1080)
    lay = layout(panels, height)
    write_data(datafile, panels)
    v = {'datafile': datafile, 'npanels': len(panels), 'width': WIDTH,
         'height': height, 'title': title,
         'footer': footer or default_footer(trs), 'note': '; '.join(notes),
         'palette0': PALETTE[0], 'keytask': _what(trs),
         'failedcolor': FAILED,
         'mergedcolor': MERGED,
         'anyfailed': int(any(p['failed'] for p in panels)),
         'anymerged': int(any(p['merged'] for p in panels)),
         'anyqueue': int(any(p['queue'] for p in panels)),
         'anyinstants': int(any(p['instants'] for p in panels)),
         'anywaits': int(any(p['waits'] for p in panels))}
    for i, (tr, pd, rng, (gb, gt, qb, qt)) in enumerate(
            zip(trs, panels, ranges, lay), 1):
        xmax = rng / 1000.0 if rng > 0 else 1.0
        xt = charts.nice_lin_ticks(0, xmax)
        pool = tr['meta']['pool']
        qmax = max([n for _, n in pd['queue']] + [1])
        most = min(MAX_ROW_LABELS,
                   max(2, int((gt - gb) * height / ROW_LABEL_PX)))
        rt = row_tics(pd['rows'], most)
        pd['row_tics'] = rt
        v.update({
            'ptitle%d' % i: (tr['meta']['label'] or tr['meta']['mode'])
            if len(trs) > 1 else '',
            'xmax%d' % i: xmax, 'rows%d' % i: pd['rows'],
            'xtics%d' % i: charts.tics_cmd('x', xt),
            'xbare%d' % i: charts.tics_cmd('x', xt, [''] * len(xt)),
            'ytics%d' % i: charts.tics_cmd(
                'y', [r for _, r in rt], [lab for lab, _ in rt]),
            'ylabel%d' % i: {'threads': 'worker threads',
                             'processes': 'worker processes'}.get(
                                 pool, 'caller'),
            'qtics%d' % i: charts.tics_cmd(
                'y', charts.nice_lin_ticks(0, qmax, want=2)),
            'qmax%d' % i: qmax * 1.1,
            'nfailed%d' % i: len(pd['failed']),
            'nmerged%d' % i: len(pd['merged']),
            'nwaits%d' % i: len(pd['waits']),
            'nlabels%d' % i: len(pd['labels']),
            'nqueue%d' % i: len(pd['queue']),
            'ninstants%d' % i: len(pd['instants']),
            'gbot%d' % i: gb, 'gtop%d' % i: gt,
            'qbot%d' % i: qb, 'qtop%d' % i: qt})
    run_gnuplot(png, svg, v)
    return {'panels': panels, 'note': v['note'], 'title': title,
            'variables': v}


def run_gnuplot(png, svg, variables):
    """charts.gnuplot for outputs at any path: each drawn under a
    temporary name and renamed when complete."""
    tmp_png = '%s.part.%d.png' % (png, os.getpid())
    tmp_svg = '%s.part.%d.svg' % (svg, os.getpid())
    variables = dict(variables, png=tmp_png, svg=tmp_svg)
    lines = []
    for k, v in variables.items():
        lines.append('%s = %s' % (k, charts.gp_str(v) if isinstance(v, str)
                                  else repr(v)))
    lines.append('load %s' % charts.gp_str(
        os.path.join(charts.HERE, SCRIPT)))
    p = subprocess.run([os.environ.get('GNUPLOT', 'gnuplot')],
                       input='\n'.join(lines) + '\n', capture_output=True,
                       text=True)
    ok = (p.returncode == 0 and os.path.exists(tmp_png) and
          os.path.exists(tmp_svg))
    if not ok:
        for t in (tmp_png, tmp_svg):
            if os.path.exists(t):
                os.unlink(t)
        raise RuntimeError('gnuplot %s for %s failed:\n%s'
                           % (SCRIPT, svg, p.stderr.strip()))
    os.replace(tmp_png, png)
    os.replace(tmp_svg, svg)


def draw_files(paths, out, title=None, footer=None, same_x=True):
    """Reads the traces in PATHS (each checked, trace.TraceError when one
    is not valid) and draws them: OUT without its .svg or .png ending,
    plus .svg, .png and .dat.  Returns draw()'s result."""
    stem = out[:-4] if out.endswith(('.svg', '.png')) else out
    trs = [trace.read(p) for p in paths]
    return draw(trs, stem + '.png', stem + '.svg', stem + '.dat',
                title=title, footer=footer, same_x=same_x)


def write_run_chart(run_dir, name, paths, title=None, footer=None,
                    same_x=True):
    """The suite's form: data/NAME.dat, charts/NAME.png and .svg in
    RUN_DIR, like every chart of poolbench.charts."""
    trs = [trace.read(p) for p in paths]
    return draw(trs, os.path.join(run_dir, 'charts', name + '.png'),
                os.path.join(run_dir, 'charts', name + '.svg'),
                os.path.join(run_dir, 'data', name + '.dat'),
                title=title, footer=footer, same_x=same_x)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='python3 -m poolbench.timeline',
        description='Draw one per-task trace, or two compared, as a Gantt '
                    'chart (SVG, PNG and the data drawn).')
    ap.add_argument('files', nargs='+', metavar='FILE',
                    help='a trace written with --trace FILE (two: drawn '
                         'one above the other)')
    ap.add_argument('-o', '--output', required=True, metavar='OUT.svg',
                    help='writes OUT.svg, OUT.png and OUT.dat')
    ap.add_argument('--title', help='the chart\'s title')
    ap.add_argument('--own-time-axis', action='store_true',
                    help='with two traces: each on its own time range '
                         '(default: the same range for both)')
    a = ap.parse_args(argv)
    if len(a.files) > 2:
        ap.error('at most two traces')
    try:
        r = draw_files(a.files, a.output, title=a.title,
                       same_x=not a.own_time_axis)
    except trace.TraceError as e:
        print('invalid trace:\n  ' + '\n  '.join(e.problems),
              file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    stem = a.output[:-4] if a.output.endswith(('.svg', '.png')) \
        else a.output
    print('%s.svg, %s.png: %s%s' % (stem, stem, r['title'],
                                    ' (%s)' % r['note'] if r['note'] else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
