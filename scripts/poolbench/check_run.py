"""The run checker: is a run folder complete, and fit to be the reference?

    scripts/check-run.sh [--reference] [RUN_DIR]     (default results/latest)

What it expects is derived from the run's samples (the model rebuilt from
samples.jsonl, and the chart plan made from it), never from the list of
files the report step wrote, so a chart that silently failed to appear is
caught.  It checks:
- run.json, machine.json, samples.jsonl, summary.json, report.md and
  report.html exist and parse; machine.json names the CPU, the CPU count
  and the commit;
- no half-written file (*.part*) is left;
- every planned chart is a PNG (signature and a non-empty image header)
  and an SVG that closes its <svg> element, and report.md shows it;
- report.md has its sections (Read with care, Machine, Calibration,
  Summary, the run's duration), a table for every workload (the
  "<!-- table:NAME -->" marker, then a Markdown table whose rows have as
  many cells as its header and whose median and sample columns parse as
  numbers), and the mpirun start-up table when there are start-up times;
- when Open MPI ran (run.json "mpi"), primes and sum have MPI rows and
  mpi-startup.jsonl a launcher and an empty-program time per rank count;
- when the hosts step ran (samples of workload "hosts"), report.md and
  report.html have its section, chart and table: both placements (one
  host, across hosts) for every variant, each with a sum median and a
  sample count, and a GB/s figure wherever bytes moved; when it was
  skipped, report.md says why;
- when the timelines step ran (timelines.json), every pair has valid
  traces in traces/, its chart, and its place in report.md, or says why
  it was left out;
- summary.json's figures are finite numbers, one entry per configuration;
- when the folder is results/reference (or --reference is given), the run
  was made from a clean commit: machine.json "dirty" is false.
Exit status: 0 complete, 1 something is missing (each problem listed on
stderr), 2 bad usage.
"""

import json
import math
import os
import re
import struct
import sys

from .analyse import RunError, build_model

USAGE = 'usage: scripts/check-run.sh [--reference] [RUN_DIR]'
SECTIONS = ['## Read with care', '## Machine', '## Calibration',
            '## Summary']


def png_ok(path):
    try:
        with open(path, 'rb') as f:
            head = f.read(24)
    except OSError:
        return False
    if len(head) < 24 or head[:8] != b'\x89PNG\r\n\x1a\n' or \
            head[12:16] != b'IHDR':
        return False
    w, h = struct.unpack('>II', head[16:24])
    return w > 0 and h > 0


def svg_ok(path):
    try:
        with open(path, 'rb') as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 200))
            tail = f.read()
    except OSError:
        return False
    return size > 0 and b'</svg>' in tail


def tables(md):
    """{name: (header cells, [row cells])} for every marked table."""
    out = {}
    lines = md.split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'<!-- table:(\S+) -->$', line)
        if not m:
            continue
        rows = []
        j = i + 1
        while j < len(lines) and not lines[j].startswith('|'):
            if lines[j].startswith('## '):
                break
            j += 1
        while j < len(lines) and lines[j].startswith('|'):
            rows.append([c.strip() for c in lines[j].strip('|').split('|')])
            j += 1
        if len(rows) >= 2:
            out[m.group(1)] = (rows[0], rows[2:])
    return out


def check(run_dir, reference=False):
    problems = []

    def problem(msg):
        problems.append(msg)

    for f in ('run.json', 'machine.json', 'samples.jsonl', 'summary.json',
              'report.md', 'report.html'):
        p = os.path.join(run_dir, f)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            problem('missing or empty: %s' % f)
    for root, _, files in os.walk(run_dir):
        for f in files:
            if '.part' in f:
                problem('half-written file: %s' % os.path.relpath(
                    os.path.join(root, f), run_dir))
    try:
        model = build_model(run_dir)
    except RunError as e:
        problem(str(e))
        return problems
    m = model['machine']
    for k in ('cpu_model', 'usable_cpus', 'commit'):
        if m.get(k) in (None, ''):
            problem('machine.json does not give: %s' % k)
    if reference or os.path.basename(os.path.realpath(run_dir)) == \
            'reference':
        if m.get('dirty') is not False:
            problem('a reference run must come from a clean commit, but '
                    'machine.json says %s' % (
                        'it was made with uncommitted changes (dirty)'
                        if m.get('dirty') else 'nothing about uncommitted '
                        'changes ("dirty" missing)'))
    try:
        with open(os.path.join(run_dir, 'report.md')) as f:
            md = f.read()
    except OSError:
        md = ''
    for s in SECTIONS:
        if not re.search('^%s$' % re.escape(s), md, re.M):
            problem('report.md has no section "%s"' % s[3:])
    if 'the run took' not in md:
        problem('report.md does not say how long the run took')
    try:
        with open(os.path.join(run_dir, 'report.html'),
                  encoding='utf-8') as f:
            page = f.read()
    except OSError:
        page = ''
    tabs = tables(md)
    for wl in model['workload_order']:
        if wl not in tabs:
            problem('report.md has no table for %s' % wl)
            continue
        head, rows = tabs[wl]
        if not rows:
            problem('report.md: the %s table has no rows' % wl)
        for r in rows:
            if len(r) != len(head):
                problem('report.md: a %s row has %d cells, its header %d'
                        % (wl, len(r), len(head)))
                break
            for name, cell in zip(head, r):
                if name in ('median (ms)', 'kernel median (ms)',
                            'samples'):
                    try:
                        v = float(cell)
                        if not math.isfinite(v):
                            raise ValueError
                    except ValueError:
                        problem('report.md: %s table, column "%s": not a '
                                'number: %r' % (wl, name, cell))
        for ch in model['workloads'][wl]['charts']:
            for ext, ok in (('png', png_ok), ('svg', svg_ok)):
                p = os.path.join(run_dir, 'charts', '%s.%s' % (ch['name'],
                                                               ext))
                if not ok(p):
                    problem('missing or invalid chart: charts/%s.%s'
                            % (ch['name'], ext))
            if '](charts/%s.png)' % ch['name'] not in md:
                problem('report.md does not show charts/%s.png' % ch['name'])
            if page and 'id="fig-%s"' % ch['name'] not in page:
                problem('report.html does not show %s' % ch['name'])
    if model['startup'] and 'mpirun' not in tabs:
        problem('report.md has no mpirun start-up table')
    run = model['run']
    if run.get('mpi'):
        # Open MPI ran: primes and sum have MPI rows, and mpirun's
        # start-up was measured (launcher and empty program) for every
        # rank count.
        for wl in ('primes', 'sum'):
            if wl in model['workload_order'] and not any(
                    c['workload'] == wl and c['mode'] == 'mpi'
                    for c in model['configs']):
                problem('no MPI results for %s' % wl)
        have = {(e['ranks'], e['what']) for e in model['startup']}
        for r in run.get('mpi_ranks') or []:
            for what in ('launcher', 'empty'):
                if (int(r), what) not in have:
                    problem('mpi-startup.jsonl has no %s time for %s ranks'
                            % (what, r))
    problems += check_hosts(run_dir, model, md, page, tabs)
    problems += check_timelines(run_dir, model, md)
    try:
        with open(os.path.join(run_dir, 'summary.json')) as f:
            doc = json.load(f)
        if len(doc.get('configs', [])) != len(model['configs']):
            problem('summary.json has %d configurations, the samples %d'
                    % (len(doc.get('configs', [])), len(model['configs'])))
        for c in doc.get('configs', []):
            for k in ('median', 'q1', 'q3', 'min', 'max'):
                v = c.get(k)
                if not isinstance(v, (int, float)) or not math.isfinite(v):
                    problem('summary.json: %s of %s %s %s is not a number'
                            % (k, c.get('workload'), c.get('lang'),
                               c.get('mode')))
    except (OSError, ValueError) as e:
        problem('summary.json: %s' % e)
    return problems


def check_timelines(run_dir, model, md):
    """The timelines step's part (poolbench/timelines.py): every pair
    that ran has valid traces, a chart and its place in report.md; a pair
    left out says why."""
    from . import trace
    out = []
    tl = model.get('timelines')
    if not tl:
        return out
    if '## Timelines: the pools at work' not in md:
        out.append('report.md has no section "Timelines"')
    for e in tl:
        if e.get('skipped'):
            if 'Not drawn: %s.' % e['skipped'] not in md:
                out.append('report.md does not say why %s was left out'
                           % e['name'])
            continue
        for f in e['files']:
            try:
                trace.read(os.path.join(run_dir, f))
            except (trace.TraceError, OSError, ValueError) as err:
                out.append('%s: %s' % (f, err))
        for ext in ('png', 'svg'):
            p = os.path.join(run_dir, 'charts', '%s.%s' % (e['name'], ext))
            if not os.path.exists(p) or os.path.getsize(p) == 0:
                out.append('timeline chart missing or empty: charts/%s.%s'
                           % (e['name'], ext))
        if 'charts/%s.png' % e['name'] not in md:
            out.append('report.md does not show charts/%s.png' % e['name'])
    return out


def check_hosts(run_dir, model, md, page, tabs):
    """The hosts step's part of the report (poolbench/hosts.py)."""
    from . import hosts
    h = model.get('hosts')
    out = []
    if not h:
        return out
    if not h['ran']:
        if 'Not measured: %s.' % h['skipped'] not in md:
            out.append('report.md does not say why the hosts step was '
                       'skipped')
        return out
    if not re.search(r'^## Crossing a host boundary', md, re.M):
        out.append('report.md has no section "Crossing a host boundary"')
    for v in {r['variant'] for r in h['rows']}:
        one, two = hosts.pair(h, v)
        if not one or not two:
            out.append('hosts: %s ran on %s only' % (
                v, 'one host' if one else 'across hosts'))
        for r in (one, two):
            if r and not r['kernel']:
                out.append('hosts: %s %s has no sum record' % (
                    v, 'across hosts' if r['across'] else 'on one host'))
            if r and r['bytes'] and not r['rate']:
                out.append('hosts: %s %s moved bytes but has no GB/s' % (
                    v, 'across hosts' if r['across'] else 'on one host'))
    if 'hosts' not in tabs:
        out.append('report.md has no table for hosts')
    else:
        head, rows = tabs['hosts']
        if len(rows) != len(h['rows']):
            out.append('report.md: the hosts table has %d rows, the '
                       'samples %d' % (len(rows), len(h['rows'])))
        for r in rows:
            if len(r) != len(head):
                out.append('report.md: a hosts row has %d cells, its '
                           'header %d' % (len(r), len(head)))
                break
            cells = dict(zip(head, r))
            if not re.match(r'\d+$', cells.get('samples', '')):
                out.append('report.md: hosts table, samples: not a number: '
                           '%r' % cells.get('samples'))
            if not re.match(r'[\d.]+ (ns|us|ms|s) ', cells.get(
                    'sum kernel, median (95% CI)', '')):
                out.append('report.md: hosts table: no sum median in %r'
                           % r)
    for ext, ok in (('png', png_ok), ('svg', svg_ok)):
        if not ok(os.path.join(run_dir, 'charts', '%s.%s' % (hosts.CHART,
                                                             ext))):
            out.append('missing or invalid chart: charts/%s.%s'
                       % (hosts.CHART, ext))
    if '](charts/%s.png)' % hosts.CHART not in md:
        out.append('report.md does not show charts/%s.png' % hosts.CHART)
    if page and 'id="fig-%s"' % hosts.CHART not in page:
        out.append('report.html does not show %s' % hosts.CHART)
    return out


def main(argv):
    reference = False
    args = []
    for a in argv:
        if a in ('-h', '--help'):
            print(USAGE)
            print(__doc__.split('\n\n', 1)[1].strip())
            return 0
        if a == '--reference':
            reference = True
        elif a.startswith('-'):
            sys.stderr.write('check-run: unknown option: %s\n%s\n'
                             % (a, USAGE))
            return 2
        else:
            args.append(a)
    if len(args) > 1:
        sys.stderr.write(USAGE + '\n')
        return 2
    here = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    run = args[0] if args else os.path.join(here, 'results', 'latest')
    if not os.path.isdir(run):
        sys.stderr.write('check-run: no such run folder: %s\n' % run)
        return 1
    problems = check(run, reference)
    for p in problems:
        sys.stderr.write('check-run: %s: %s\n' % (run, p))
    if problems:
        sys.stderr.write('check-run: %s: %d problem(s)\n'
                         % (run, len(problems)))
        return 1
    print('check-run: %s: complete' % run)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
