#!/usr/bin/python3
"""Statistics, charts and report.md for a run of the benchmark suite.

    scripts/report.py analyze RUN_DIR
    scripts/report.py compare RUN_A RUN_B OUT_DIR

`analyze` reads what scripts/bench.sh left in RUN_DIR/raw/<workload>/:
for every hyperfine call (one "group" of commands in one round) the
command template (.cmd), hyperfine's export (.json, .csv) and the records
the programs appended with --out (.records.csv).  It pairs each record with
the command that wrote it, drops the warm-up runs' records, pools the
rounds, and writes

    summary.csv         one row per configuration: medians, quartiles,
                        speedups (the input of `compare`)
    data/*.dat          the series the gnuplot scripts draw
    charts/*.png, .svg  by scripts/lines.gp, overhead.gp
    report.md           tables, charts, Karp-Flatt serial fractions and a few
                        sentences generated from the figures

Statistics.  A configuration's kernel time is the median of all its
in-process records (rounds x runs x --repeat), its spread the interquartile
range (IQR, quartiles by linear interpolation) and the min-max range.  The
speedup of p workers is T_seq / T_p with medians, against the sequential
baseline of the same language and size (C modes against C seq, Python
modes against Python seq); its error bar divides the baseline median by the
third and the first quartile of T_p.  Efficiency is speedup / p.  The
Karp-Flatt metric e = (1/S - 1/p) / (1 - 1/p) is the serial fraction that
Amdahl's law would need to explain the measured speedup S on p workers.

Open MPI.  The MPI programs run through scripts/mpi-run.sh (mode "mpi",
workers = ranks).  A record whose variant ends in "+oversub" ran more ranks
than CPUs: the suffix is taken off the variant, so that the point joins its
series, and kept as a flag that rings the point on the charts and marks
its table row.  Their kernel times exclude mpirun's start-up, which
bench.sh measures apart into RUN_DIR/mpi-startup.csv (records with bench
"mpirun": variant "launch" for the launcher alone, "startup" for an empty
MPI program); the report tabulates it, and weighs it against the kernel
time saved to say from which sequential time distributing pays.

Every output file is written under a temporary name and renamed.  Only the
Python standard library is used (Debian's /usr/bin/python3).
"""

import csv
import json
import math
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FIELDS = ['bench', 'lang', 'mode', 'variant', 'workers', 'n', 'chunk',
          'tasks', 'rep', 'setup_s', 'kernel_s', 'result', 'expected',
          'check']
KEY = ('bench', 'lang', 'mode', 'variant', 'workers', 'n', 'chunk', 'tasks')
CPU_BOUND = ('primes', 'sum', 'images')
# Percent of the CPUs used by other processes above which the report warns
# that its figures are not to be trusted: on 2 CPUs, 20% is another program
# taking almost half a core.
BUSY_WARN = 20
MODE_NAME = {'seq': 'sequential', 'threads': 'threads', 'procs': 'processes',
             'mpi': 'MPI ranks'}
MODE_ORDER = {'seq': 0, 'threads': 1, 'procs': 2, 'mpi': 3}
LANG_NAME = {'c': 'C', 'python': 'Python'}
# Chart colours (colour-blind safe, from the Okabe-Ito palette) by series.
# The palette has eight colours and the threads, processes and their
# variants take six; the MPI series add a dark purple, a dark yellow (the
# palette's yellow, F0E442, does not show on white) and a grey, and a
# square marker and dash-dot line (POINT, DASH_MPI) so that they are told
# apart without colour as well.
COLOR = {('c', 'threads'): '#0072B2', ('c', 'procs'): '#D55E00',
         ('python', 'threads'): '#56B4E9', ('python', 'procs'): '#E69F00',
         ('c', 'threads', 'gil'): '#CC79A7', ('c', 'procs', 'copy'): '#009E73',
         ('c', 'mpi', 'static'): '#6A3D9A', ('c', 'mpi', 'dynamic'): '#A08000',
         ('c', 'mpi', 'local'): '#606060'}
# gnuplot point types: 7 a filled circle, 5 a filled square; dash type 4
# is dash-dot.
POINT = {'mpi': 5}
DASH_MPI = 4


class Fail(Exception):
    """An error worth one line on stderr and exit status 1."""


# ---- small helpers ---------------------------------------------------------

def write_atomic(path, text):
    tmp = '%s.part.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def quantile(sorted_v, q):
    """Quantile by linear interpolation between order statistics (the
    default of R and numpy)."""
    if not sorted_v:
        return float('nan')
    pos = (len(sorted_v) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_v) - 1)
    return sorted_v[lo] + (sorted_v[hi] - sorted_v[lo]) * (pos - lo)


def stats(values):
    v = sorted(values)
    return {'n': len(v), 'median': quantile(v, 0.5), 'q1': quantile(v, 0.25),
            'q3': quantile(v, 0.75), 'min': v[0] if v else float('nan'),
            'max': v[-1] if v else float('nan')}


def read_kv(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip('\n')
                for sep in ('=', ': '):
                    if sep in line:
                        k, v = line.split(sep, 1)
                        out[k.strip()] = v.strip()
                        break
    return out


def ms(s):
    return s * 1e3


def fmt_ms(s):
    """Seconds as milliseconds with 3 significant digits."""
    v = ms(s)
    if v != v:
        return '-'
    if v >= 100:
        return '%.0f' % v
    if v >= 10:
        return '%.1f' % v
    if v >= 1:
        return '%.2f' % v
    return '%.3f' % v


def fmt_us(s):
    """Seconds per task as ns or us."""
    if s < 1e-6:
        return '%.1f ns' % (s * 1e9)
    return '%.2f us' % (s * 1e6) if s < 1e-4 else '%.0f us' % (s * 1e6)


def fmt_x(v, digits=2):
    return '-' if v is None or v != v else '%.*fx' % (digits, v)


def fmt_pct(v):
    return '-' if v is None or v != v else '%.0f%%' % (100 * v)


def parse_command(cmd):
    """What a command line asks for: bench, lang, mode, workers, variant
    (only when the command names one), chunk."""
    argv = shlex.split(cmd)
    lang = 'c'
    prog = argv[0]
    rest = argv[1:]
    mpi_ranks = None
    if os.path.basename(prog) == 'mpi-run.sh':
        # scripts/mpi-run.sh [-n R] [--hostfile F] [--dry-run] PROGRAM ...
        while rest and rest[0].startswith('-'):
            a = rest.pop(0)
            if a in ('-n', '-np', '--np', '--hostfile') and rest:
                v = rest.pop(0)
                if a != '--hostfile':
                    mpi_ranks = v
            elif a.startswith('--np='):
                mpi_ranks = a.split('=', 1)[1]
            elif a == '--':
                break
        prog = rest[0] if rest else 'mpi-run.sh'
        rest = rest[1:]
    elif prog.endswith('python3') or prog.endswith('python') or \
            (rest and rest[0].endswith('.py')):
        lang = 'python'
        prog = rest[0]
        rest = rest[1:]
    out = {'bench': os.path.basename(prog).replace('.py', ''), 'lang': lang,
           'mode': None, 'workers': None, 'variant': None, 'chunk': None}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == '--gil':
            out['variant'] = 'gil'
        elif a == '--copy':
            out['variant'] = 'copy'
        elif a in ('--mode', '--workers', '--variant', '--chunk') and \
                i + 1 < len(rest):
            out[a[2:]] = rest[i + 1]
            i += 1
        i += 1
    if os.path.basename(argv[0]) == 'mpi-run.sh':
        # The ranks are the workers, whatever --workers says (the programs
        # accept it only when it agrees).
        out['mode'] = 'mpi'
        if mpi_ranks is not None:
            out['workers'] = mpi_ranks
    return out


def base_variant(variant):
    """A record's variant without the "+oversub" mark: "static+oversub"
    is the static split on more ranks than CPUs."""
    return variant.split('+', 1)[0]


def record_matches(rec, cmd):
    if cmd['mode'] not in (None, 'all') and rec['mode'] != cmd['mode']:
        return False
    # A seq record says workers 1 whatever --workers said.
    if rec['mode'] != 'seq' and cmd['workers'] is not None and \
            rec['workers'] != cmd['workers']:
        return False
    if cmd['variant'] is not None and \
            base_variant(rec['variant']) != cmd['variant']:
        return False
    if cmd['chunk'] not in (None, '0') and rec['chunk'] != cmd['chunk']:
        return False
    return True


# ---- loading a run -----------------------------------------------------------

class Config:
    """One configuration (a KEY) with its samples."""

    def __init__(self, key):
        self.key = key
        self.kernel = []
        self.setup = []
        self.wall = []
        self.by_round = {}
        self.cmd = None
        self.stat = None
        self.wall_stat = None
        # More MPI ranks than CPUs ("+oversub" records).
        self.oversub = False

    def __getattr__(self, name):
        if name in KEY:
            return self.key[KEY.index(name)]
        raise AttributeError(name)

    @property
    def w(self):
        return int(self.workers)


def load_run(run):
    suite = read_kv(os.path.join(run, 'suite.txt'))
    machine = read_kv(os.path.join(run, 'machine.txt'))
    if not suite:
        raise Fail('%s: no suite.txt; not a run folder' % run)
    configs = {}
    sampling = {}
    raw = os.path.join(run, 'raw')
    for wl in sorted(os.listdir(raw)) if os.path.isdir(raw) else []:
        d = os.path.join(raw, wl)
        for name in sorted(os.listdir(d)):
            if not name.endswith('.cmd'):
                continue
            base = os.path.join(d, name[:-4])
            rnd = int(name.split('-', 1)[0][1:])
            with open(base + '.cmd') as f:
                meta = f.read().rstrip('\n').split('|')
            # gid|params|command|warm-up runs|measured runs
            warmup, runs = int(meta[3]), int(meta[4])
            sampling.setdefault(wl, set()).add((warmup, runs))
            with open(base + '.json') as f:
                results = json.load(f)['results']
            with open(base + '.records.csv') as f:
                recs = [dict(zip(FIELDS, row)) for row in csv.reader(f)
                        if row]
            pos = 0
            for res in results:
                cmd = parse_command(res['command'])
                start = pos
                while pos < len(recs) and record_matches(recs[pos], cmd):
                    pos += 1
                block = recs[start:pos]
                execs = warmup + runs
                if not block or len(block) % execs:
                    raise Fail('%s: %d records for "%s", not a multiple of '
                               '%d runs' % (base, len(block),
                                            res['command'], execs))
                per_exec = len(block) // execs
                kept = block[warmup * per_exec:]
                keys = set()
                for rec in kept:
                    if rec['check'] != 'ok':
                        raise Fail('%s: a record failed its check: %s'
                                   % (base, ','.join(rec[f] for f in FIELDS)))
                    oversub = rec['variant'] != base_variant(rec['variant'])
                    rec = dict(rec, variant=base_variant(rec['variant']))
                    key = tuple(rec[f] for f in KEY)
                    keys.add(key)
                    c = configs.setdefault(key, Config(key))
                    c.oversub = c.oversub or oversub
                    k = float(rec['kernel_s'])
                    c.kernel.append(k)
                    c.setup.append(float(rec['setup_s']))
                    c.by_round.setdefault(rnd, []).append(k)
                    c.cmd = res['command']
                if len(keys) == 1 and cmd['mode'] != 'all':
                    # One configuration per process: hyperfine's time is its
                    # whole-process time.
                    configs[keys.pop()].wall.extend(res['times'])
            if pos != len(recs):
                raise Fail('%s: %d records match no command (first: %s)'
                           % (base, len(recs) - pos, ','.join(
                               recs[pos][f] for f in FIELDS)))
    for c in configs.values():
        c.stat = stats(c.kernel)
        c.wall_stat = stats(c.wall) if c.wall else None
    return suite, machine, configs, sampling


def load_startup(run):
    """mpirun's start-up as bench.sh measured it (mpi-startup.csv):
    {(ranks, 'launch'|'startup'): {'stat': stats, 'oversub': bool}}."""
    path = os.path.join(run, 'mpi-startup.csv')
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for row in csv.reader(f):
            if not row or row[0] == 'bench':
                continue
            rec = dict(zip(FIELDS, row))
            if rec['check'] != 'ok':
                raise Fail('%s: a start-up measurement failed: %s'
                           % (path, ','.join(row)))
            v = base_variant(rec['variant'])
            e = out.setdefault((int(rec['workers']), v),
                               {'times': [], 'oversub': False})
            e['times'].append(float(rec['kernel_s']))
            e['oversub'] = e['oversub'] or v != rec['variant']
    for e in out.values():
        e['stat'] = stats(e['times'])
    return out


# ---- derived figures ---------------------------------------------------------

def baseline(configs, bench, lang, n):
    for c in configs.values():
        if c.bench == bench and c.lang == lang and c.n == n and \
                c.mode == 'seq':
            return c
    return None


def derive(configs):
    """Speedup, efficiency and Karp-Flatt for every parallel configuration
    with a sequential baseline of the same bench, language and size."""
    for c in configs.values():
        c.base = None
        c.speedup = c.s_lo = c.s_hi = c.eff = c.kf = None
        c.wall_speedup = None
        if c.bench == 'overhead':
            continue
        b = baseline(configs, c.bench, c.lang, c.n)
        if b is None:
            continue
        c.base = b
        t = b.stat['median']
        c.speedup = t / c.stat['median']
        c.s_lo = t / c.stat['q3']
        c.s_hi = t / c.stat['q1']
        p = c.w
        c.eff = c.speedup / p
        if p > 1:
            c.kf = (1 / c.speedup - 1 / p) / (1 - 1 / p)
        if c.wall_stat and b.wall_stat:
            c.wall_speedup = b.wall_stat['median'] / c.wall_stat['median']


def series(configs, bench, lang, mode, variant=None):
    out = [c for c in configs.values() if c.bench == bench and
           c.lang == lang and c.mode == mode and
           (variant is None or c.variant == variant)]
    return sorted(out, key=lambda c: (c.w, int(c.chunk)))


def label(lang, mode, variant='-'):
    s = '%s %s' % (LANG_NAME.get(lang, lang), MODE_NAME.get(mode, mode))
    if variant not in ('-', '', None):
        s += ' (%s)' % ('one global lock: --gil' if variant == 'gil'
                        else variant)
    return s


# ---- charts ----------------------------------------------------------------

def machine_line(machine):
    return '%s: %s, %s usable CPUs' % (
        machine.get('host', '?'), machine.get('cpu model', '?'),
        machine.get('usable cpus', '?'))


def write_dat(path, blocks):
    """blocks: [(title, [row tuple, ...])]; one gnuplot index per block,
    its first line the title (columnheader)."""
    parts = []
    for title, rows in blocks:
        lines = ['"%s"' % title.replace('"', "'")]
        for r in rows:
            lines.append(' '.join('%.9g' % v if isinstance(v, float)
                                  else str(v) for v in r))
        parts.append('\n'.join(lines))
    write_atomic(path, '\n\n\n'.join(parts) + '\n')


def gnuplot(run, script, name, variables):
    """Runs scripts/<script> to make charts/<name>.png and .svg (each drawn
    under a temporary name and renamed)."""
    charts = os.path.join(run, 'charts')
    png = os.path.join(charts, name + '.png')
    svg = os.path.join(charts, name + '.svg')
    tmp_png = '%s.part.%d' % (png, os.getpid())
    tmp_svg = '%s.part.%d' % (svg, os.getpid())
    variables = dict(variables, png=tmp_png, svg=tmp_svg)
    args = []
    for k, v in variables.items():
        if isinstance(v, str):
            # "\n" stays an escape that gnuplot turns into a new line.
            v = '"%s"' % v.replace('"', "'")
        args.append('%s=%s' % (k, v))
    cmd = [os.environ.get('GNUPLOT', 'gnuplot'), '-e', '; '.join(args),
           os.path.join(HERE, script)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(tmp_png):
        raise Fail('gnuplot %s for %s failed:\n%s' % (script, name,
                                                      p.stderr.strip()))
    os.replace(tmp_png, png)
    os.replace(tmp_svg, svg)
    return name


def line_chart(run, name, blocks, styles, **v):
    """blocks: [(title, rows of x y ylo yhi)]; styles: [(colour, dash)]."""
    dat = os.path.join(run, 'data', name + '.dat')
    write_dat(dat, blocks)
    v.setdefault('ideal', 'none')
    v.setdefault('logx', 2)
    v.setdefault('logy', 0)
    v.setdefault('ncpu', 0)
    v.setdefault('xlabel', 'workers (threads or processes)')
    # Ring the flagged points (a fifth column of 1) when there are any.
    v.setdefault('marked', int(any(
        len(r) > 4 and r[4] for _, rows in blocks for r in rows)))
    return gnuplot(run, 'lines.gp', name, dict(
        v, datafile=dat, nseries=len(blocks),
        colors=' '.join(s[0] for s in styles),
        dashes=' '.join(str(s[1]) for s in styles),
        points=' '.join(str(s[2] if len(s) > 2 else 7) for s in styles)))


def speedup_blocks(configs, bench, kinds, what):
    blocks, styles = [], []
    for lang, mode, variant in kinds:
        pts = [c for c in series(configs, bench, lang, mode, variant)
               if c.speedup is not None]
        if not pts:
            continue
        # The fifth column flags an oversubscribed point (lines.gp rings
        # it).
        if what == 'speedup':
            rows = [(c.w, c.speedup, c.s_lo, c.s_hi, int(c.oversub))
                    for c in pts]
        else:
            rows = [(c.w, c.eff, c.s_lo / c.w, c.s_hi / c.w,
                     int(c.oversub)) for c in pts]
        blocks.append((label(lang, mode, variant), rows))
        styles.append((COLOR.get((lang, mode, variant),
                                 COLOR.get((lang, mode), '#000000')),
                       DASH_MPI if mode == 'mpi' else
                       1 if lang == 'c' else 2,
                       POINT.get(mode, 7)))
    return blocks, styles


def sizes_text(configs, bench):
    parts = []
    for lang in ('c', 'python'):
        b = [c for c in configs.values() if c.bench == bench and
             c.lang == lang and c.mode == 'seq']
        if b:
            parts.append('%s n=%s' % (LANG_NAME[lang], b[0].n))
    return ', '.join(parts)


def charts_for(run, bench, configs, machine, suite):
    """Makes the charts of one workload; returns [(name, caption)]."""
    ncpu = int(suite.get('ncpu', '0') or 0)
    mline = machine_line(machine)
    made = []
    if bench in CPU_BOUND:
        # Every parallel (language, mode, variant) measured, C first; the
        # --gil threads have a chart of their own.
        kinds = sorted({(c.lang, c.mode, c.variant) for c in configs.values()
                        if c.bench == bench and c.mode != 'seq' and
                        c.variant != 'gil'},
                       key=lambda k: (k[0] != 'c', MODE_ORDER.get(k[1], 9),
                                      k[2]))
        mpi = any(k[1] == 'mpi' for k in kinds)
        for what, ylabel, ideal in (
                ('speedup', 'speedup over sequential (x)', 'x'),
                ('efficiency', 'parallel efficiency (speedup / workers)',
                 '1')):
            blocks, styles = speedup_blocks(configs, bench, kinds, what)
            if not blocks:
                continue
            name = '%s-%s' % (what, bench)
            # With the MPI series there are too many entries for a legend
            # inside the plot: it would hide points; it goes below.
            made.append((line_chart(
                run, name, blocks, styles, ideal=ideal, ncpu=ncpu,
                ylabel=ylabel, keypos='below' if mpi else 'top left',
                xlabel='workers (threads, processes%s)' % (
                    ' or MPI ranks' if mpi else ''),
                title='%s: %s vs workers (%s)\\n%s' % (
                    bench, what, sizes_text(configs, bench), mline)),
                '%s of %s against the sequential baseline of the same '
                'language%s' % (what, bench, mpi_caption(configs, bench)
                                 if mpi else '')))
        if bench == 'primes':
            gil_kinds = [('c', 'threads', '-'), ('c', 'threads', 'gil'),
                         ('python', 'threads', None),
                         ('python', 'procs', None)]
            blocks, styles = speedup_blocks(configs, bench, gil_kinds,
                                            'speedup')
            if any(t.startswith('C threads (one') for t, _ in blocks):
                made.append((line_chart(
                    run, 'gil', blocks, styles, ideal='x', ncpu=ncpu,
                    ylabel='speedup over sequential (x)',
                    title='The GIL: threads holding one global lock do not '
                          'scale (primes; %s)\\n%s' % (
                              sizes_text(configs, bench), mline)),
                    'the GIL: C threads taking one global lock per task '
                    '(--gil) beside Python threads and processes'))
    elif bench == 'io':
        blocks, styles = [], []
        ideal_rows = {}
        for lang, mode in (('c', 'threads'), ('c', 'procs'),
                           ('python', 'threads'), ('python', 'procs')):
            pts = series(configs, 'io', lang, mode)
            if not pts:
                continue
            rows = []
            for c in pts:
                t = int(c.tasks) if c.tasks.isdigit() else int(c.n)
                rows.append((c.w, t / c.stat['median'], t / c.stat['q3'],
                             t / c.stat['q1']))
                d = float(suite.get('io_delay_ms', '0')) / 1e3
                if d > 0:
                    ideal_t = math.ceil(t / c.w) * d
                    ideal_rows[c.w] = (c.w, t / ideal_t, t / ideal_t,
                                       t / ideal_t)
            blocks.append((label(lang, mode), rows))
            styles.append((COLOR[(lang, mode)], 1 if lang == 'c' else 2))
        if ideal_rows:
            blocks.append(('ideal: tasks / (ceil(T/W) x delay)',
                           [ideal_rows[k] for k in sorted(ideal_rows)]))
            styles.append(('#000000', 3))
        if blocks:
            made.append((line_chart(
                run, 'io-throughput', blocks, styles, logy=1, ncpu=ncpu,
                keypos='bottom right',
                ylabel='throughput (tasks per second)',
                title='io: %s tasks sleeping %s ms each, throughput vs '
                      'workers\\n%s' % (suite.get('io_tasks', '?'),
                                        suite.get('io_delay_ms', '?'),
                                        mline)),
                'io throughput against the ideal ceil(T/W) x delay'))
    elif bench == 'chunks':
        blocks, styles = [], []
        for lang, mode in (('c', 'threads'), ('c', 'procs'),
                           ('python', 'threads'), ('python', 'procs')):
            pts = sorted(series(configs, 'chunks', lang, mode),
                         key=lambda c: int(c.chunk))
            if not pts:
                continue
            if all(c.speedup is not None for c in pts):
                rows = [(int(c.chunk), c.speedup, c.s_lo, c.s_hi)
                        for c in pts]
            else:
                rows = [(int(c.chunk), ms(c.stat['median']),
                         ms(c.stat['q1']), ms(c.stat['q3'])) for c in pts]
            blocks.append(('%s, %d workers' % (label(lang, mode), pts[0].w),
                           rows))
            styles.append((COLOR[(lang, mode)], 1 if lang == 'c' else 2))
        if blocks:
            have_base = any(c.speedup is not None for c in configs.values()
                            if c.bench == 'chunks')
            made.append((line_chart(
                run, 'chunks', blocks, styles,
                xlabel='chunk size (items per task)',
                ylabel=('speedup over sequential (x)' if have_base
                        else 'kernel time (ms)'),
                title='Chunk size sweep: primes, %s\\n%s' % (
                    sizes_text(configs, 'chunks') or 'n=' + suite.get(
                        'chunks_n', '?'), mline)),
                'the chunk-size sweep'))
    elif bench == 'overhead':
        made += overhead_chart(run, configs, mline)
    if bench in ('crawl', 'images'):
        made += cases_chart(run, bench, configs, suite, mline)
    return made


def mpi_caption(configs, bench):
    return ('; MPI ranks from kernel times, without mpirun\'s start-up '
            '(table "mpirun start-up")%s' % (
                '; ringed: more ranks than CPUs (oversubscribed)' if any(
                    c.oversub for c in configs.values() if c.bench == bench)
                else ''))


def cases_chart(run, bench, configs, suite, mline):
    """crawl and images: scripts/cases.gp draws throughput from the kept
    records, one CSV line per kernel time in the programs' own format."""
    lines = []
    for c in configs.values():
        if c.bench == bench:
            lines += [','.join(list(c.key) + ['0', '0', '%.9f' % k, '-', '-',
                                              'ok']) for k in c.kernel]
    if not lines:
        return []
    dat = os.path.join(run, 'data', bench + '-records.csv')
    write_atomic(dat, '\n'.join(lines) + '\n')
    if bench == 'crawl':
        title = ('crawl: %s pages, server delay %s ms: pages per second vs '
                 'workers\\n%s' % (suite.get('crawl_pages', '?'),
                                    suite.get('crawl_delay_ms', '?'), mline))
        caption = ('crawl: pages per second against the ideal '
                   'min(W, pages) x 1000 / delay')
    else:
        title = ('images: %s images, grayscale + 256x256 box resize: images '
                 'per second vs workers\\n%s' % (suite.get('images_n', '?'),
                                                  mline))
        caption = 'images: images per second by mode and workers'
    name = gnuplot(run, 'cases.gp', bench + '-throughput', {
        'records': dat, 'chart': bench,
        'ncpu': int(suite.get('ncpu', '0') or 0), 'title': title})
    return [(name, caption)]


def overhead_rows(configs):
    """[(implementation label, {variant: config})] in a fixed order."""
    order = ['seq', 'tp', 'textbook', 'omp', 'glib', 'pp',
             'threadpool-executor', 'mp-pool', 'process-pool-executor',
             'thread-per-task', 'fork-per-task']
    impls = {}
    for c in configs.values():
        if c.bench == 'overhead':
            impls.setdefault((c.lang, c.mode), {})[c.variant] = c
    keys = sorted(impls, key=lambda k: (k[0] != 'c', order.index(k[1])
                                        if k[1] in order else 99, k[1]))
    return [(k, impls[k]) for k in keys]


def overhead_chart(run, configs, mline):
    rows = overhead_rows(configs)
    if not rows:
        return []
    variants = []
    for _, by in rows:
        for v in by:
            if v not in variants:
                variants.append(v)
    pref = ['bulk', 'map', 'roundtrip']
    variants.sort(key=lambda v: pref.index(v) if v in pref else 9)
    lines = ['# implementation ' + ' '.join(
        '%s %s_lo %s_hi' % (v, v, v) for v in variants)]
    for (lang, impl), by in rows:
        cols = []
        for v in variants:
            c = by.get(v)
            if c is None:
                cols += ['NaN', 'NaN', 'NaN']
            else:
                t = int(c.n)
                cols += ['%.6g' % (c.stat[s] / t * 1e6)
                         for s in ('median', 'q1', 'q3')]
        name = impl if lang == 'c' else 'py:' + impl
        lines.append('"%s" %s' % (name, ' '.join(cols)))
    dat = os.path.join(run, 'data', 'overhead.dat')
    write_atomic(dat, '\n'.join(lines) + '\n')
    name = gnuplot(run, 'overhead.gp', 'overhead', {
        'datafile': dat, 'nvariants': len(variants),
        'variants': ' '.join(variants),
        'title': 'Per-task overhead of every implementation (empty tasks, '
                 'median and IQR)\\n%s' % mline})
    return [(name, 'per-task overhead of every implementation, log scale')]


# ---- report.md ---------------------------------------------------------------

def table(headers, rows, align=None):
    align = align or ['r'] * len(headers)
    out = ['| ' + ' | '.join(headers) + ' |',
           '|' + '|'.join(':---' if a == 'l' else '---:' for a in align) +
           '|']
    for r in rows:
        out.append('| ' + ' | '.join(str(x) for x in r) + ' |')
    return '\n'.join(out)


def spread(c):
    s = c.stat
    return '%s-%s' % (fmt_ms(s['q1']), fmt_ms(s['q3']))


def rng(c):
    s = c.stat
    return '%s-%s' % (fmt_ms(s['min']), fmt_ms(s['max']))


def perf_table(configs, bench):
    cs = [c for c in configs.values() if c.bench == bench]
    cs.sort(key=lambda c: (c.lang != 'c', c.mode != 'seq', c.mode,
                           c.variant, int(c.chunk) if bench == 'chunks'
                           else 0, c.w))
    headers = ['lang', 'mode', 'variant', 'workers']
    if bench == 'chunks':
        headers.append('chunk')
    headers += ['n', 'tasks', 'kernel median (ms)', 'IQR (ms)',
                'min-max (ms)', 'samples', 'speedup', 'speedup IQR',
                'efficiency', 'Karp-Flatt e', 'whole process (ms)',
                'whole-process speedup']
    rows = []
    for c in cs:
        r = [LANG_NAME[c.lang], c.mode,
             c.variant + (' (oversubscribed)' if c.oversub else ''), c.w]
        if bench == 'chunks':
            r.append(c.chunk)
        r += [c.n, c.tasks, fmt_ms(c.stat['median']), spread(c), rng(c),
              c.stat['n'],
              fmt_x(c.speedup) if c.mode != 'seq' else '1 (baseline)',
              ('%.2f-%.2f' % (c.s_lo, c.s_hi)) if c.speedup and
              c.mode != 'seq' else '-',
              fmt_pct(c.eff) if c.mode != 'seq' else '-',
              '%.3f' % c.kf if c.kf is not None else '-',
              fmt_ms(c.wall_stat['median']) if c.wall_stat else '-',
              fmt_x(c.wall_speedup) if c.wall_speedup and
              c.mode != 'seq' else '-']
        rows.append(r)
    return table(headers, rows, ['l', 'l', 'l'] + ['r'] * (len(headers) - 3))


def workers_text(w):
    return '%d worker%s' % (w, '' if w == 1 else 's')


def best(cs):
    cs = [c for c in cs if c.speedup is not None]
    return max(cs, key=lambda c: c.speedup) if cs else None


def overlap(a, b):
    """Whether two configurations' kernel-time IQRs overlap: then the
    difference between them is within the noise of this run."""
    return not (a.stat['q3'] < b.stat['q1'] or b.stat['q3'] < a.stat['q1'])


def sentences_cpu(configs, bench, ncpu):
    out = []
    for lang in ('c', 'python'):
        seq = [c for c in configs.values() if c.bench == bench and
               c.lang == lang and c.mode == 'seq']
        if not seq:
            continue
        t = best(series(configs, bench, lang, 'threads', '-')) or \
            best(series(configs, bench, lang, 'threads'))
        procs = [c for c in series(configs, bench, lang, 'procs')]
        p = best(procs)
        L = LANG_NAME[lang]
        if t and p:
            # Compare the two at the CPU count, where both should peak;
            # else each at its best.
            t_at = [c for c in series(configs, bench, lang, 'threads',
                                      t.variant) if c.w == ncpu]
            p_at = [c for c in series(configs, bench, lang, 'procs',
                                      p.variant) if c.w == ncpu]
            where = ''
            if t_at and p_at and t_at[0].speedup and p_at[0].speedup:
                t, p = t_at[0], p_at[0]
                where = ' with %s (the CPU count)' % workers_text(ncpu)
            win, lose = (t, p) if t.speedup >= p.speedup else (p, t)
            if win.speedup < 1.05:
                out.append('!%s: neither threads (%s with %s) nor processes '
                           '(%s with %s) beat the sequential run of %s.' % (
                               L, fmt_x(t.speedup), workers_text(t.w),
                               fmt_x(p.speedup), workers_text(p.w), bench))
            elif where:
                s = ('%s%s: %s win %s, %s (efficiency %s), against %s for '
                     '%s' % (L, where, MODE_NAME[win.mode], bench,
                             fmt_x(win.speedup), fmt_pct(win.eff),
                             fmt_x(lose.speedup), MODE_NAME[lose.mode]))
            else:
                s = ('%s: %s win %s, %s with %s (efficiency %s), '
                     'against %s for %s with %s' % (
                         L, MODE_NAME[win.mode], bench, fmt_x(win.speedup),
                         workers_text(win.w), fmt_pct(win.eff),
                         fmt_x(lose.speedup), MODE_NAME[lose.mode],
                         workers_text(lose.w)))
            if win.speedup >= 1.05:
                if overlap(win, lose):
                    s += ('; their spreads overlap, so on this machine the '
                          'two are level within the noise')
                else:
                    s += ', %.0f%% faster' % (
                        100 * (win.speedup / lose.speedup - 1))
                out.append('!' + s + '.')
        for c in (t, p):
            if c and c.w > 1 and c.kf is not None:
                lim = 1 / c.kf if c.kf > 0.001 else None
                out.append(
                    '%s %s at %d workers: Karp-Flatt serial fraction '
                    'e = %.3f%s.' % (
                        L, MODE_NAME[c.mode], c.w, c.kf,
                        ' (Amdahl: at most %.1fx on any number of workers '
                        'if e held)' % lim if lim else ''))
        if bench == 'primes' and lang == 'python' and t and \
                t.speedup < 1.3:
            out.append('!Python threads stay at %s with %s: the GIL lets '
                       'one thread run Python code at a time.' % (
                           fmt_x(t.speedup), workers_text(t.w)))
        over = [c for c in series(configs, bench, lang, 'threads', '-') +
                procs if c.w > ncpu > 0 and c.speedup is not None]
        if over:
            o = max(over, key=lambda c: c.w)
            at = [c for c in series(configs, bench, lang, o.mode)
                  if c.w == ncpu and c.variant == o.variant]
            if at:
                out.append('%s %s with %d workers on %d CPUs: %s, against '
                           '%s with %d; more workers than CPUs do not help '
                           'CPU-bound work.' % (
                               L, MODE_NAME[o.mode], o.w, ncpu,
                               fmt_x(o.speedup), fmt_x(at[0].speedup),
                               ncpu))
    if bench == 'primes':
        gs = [c for c in series(configs, 'primes', 'c', 'threads', 'gil')
              if c.speedup is not None]
        at = [c for c in gs if c.w == ncpu] or gs[-1:]
        if at:
            g = at[0]
            if g.speedup < 1.3:
                out.append('!C threads that hold one global lock per task '
                           '(--gil) reach only %s with %s, as Python '
                           'threads do: the lock, not the language, '
                           'serialises them.' % (fmt_x(g.speedup),
                                                 workers_text(g.w)))
            else:
                out.append('!C threads that hold one global lock per task '
                           '(--gil) reach %s with %s: in this run the lock '
                           'did not serialise them as the GIL does Python '
                           'threads.' % (fmt_x(g.speedup),
                                         workers_text(g.w)))
    if bench == 'sum':
        cp = best(series(configs, 'sum', 'c', 'procs', 'copy'))
        sh = [c for c in series(configs, 'sum', 'c', 'procs')
              if c.variant != 'copy']
        sh = best(sh)
        if cp and sh:
            out.append('C processes that receive a copy of the array '
                       '(--copy) reach %s, against %s when they share it.'
                       % (fmt_x(cp.speedup), fmt_x(sh.speedup)))
    return out


def ranks_text(r):
    return '%d rank%s' % (r, '' if r == 1 else 's')


def sentences_mpi(configs, bench, ncpu, startup):
    """The MPI ranks against threads and processes, what mpirun's start-up
    costs and from which sequential time distributing pays, and (sum) what
    moving the data costs."""
    out = []
    cs = [c for c in configs.values() if c.bench == bench and
          c.mode == 'mpi' and c.speedup is not None]
    if not cs:
        return out
    # The best split at the CPU count, where every mode should peak; else
    # the best that is not oversubscribed; else the best of all.
    pool = [c for c in cs if c.w == ncpu] or \
        [c for c in cs if not c.oversub] or cs
    m = max(pool, key=lambda c: c.speedup)
    s = ('!C MPI ranks: %s with %s (%s split), efficiency %s' % (
        fmt_x(m.speedup), ranks_text(m.w), m.variant, fmt_pct(m.eff)))
    others = []
    for mode in ('threads', 'procs'):
        at = [c for c in series(configs, bench, 'c', mode, '-')
              if c.w == m.w and c.speedup is not None]
        if at:
            others.append('%s for %s' % (fmt_x(at[0].speedup),
                                         MODE_NAME[mode]))
    if others:
        s += ', against %s with as many workers' % ' and '.join(others)
    out.append(s + ' (kernel times: mpirun\'s start-up is not in them).')
    su = startup.get((m.w, 'startup'))
    if su and m.base:
        u = su['stat']['median']
        tseq = m.base.stat['median']
        s = ('Starting and stopping %s of an MPI program takes %s ms '
             '(median, table "mpirun start-up")' % (ranks_text(m.w),
                                                     fmt_ms(u)))
        if m.speedup > 1:
            # Sequential time T against U + T/S: MPI pays when
            # T (1 - 1/S) > U.
            even = u / (1 - 1 / m.speedup)
            s += ('; at %s, distributing pays once the sequential work '
                  'exceeds U / (1 - 1/S) = %s ms, and this run\'s '
                  'sequential kernel took %s ms: %s' % (
                      fmt_x(m.speedup), fmt_ms(even), fmt_ms(tseq),
                      'here it pays' if tseq > even else
                      'here the start-up outweighs the time saved'))
        else:
            s += '; without a speedup, distributing cannot pay it back'
        if m.wall_speedup:
            s += (' (whole-process speedup, start-up included: %s)'
                  % fmt_x(m.wall_speedup))
        out.append(s + '.')
    over = [c for c in cs if c.oversub and c.variant == m.variant]
    if over:
        o = max(over, key=lambda c: c.w)
        out.append('With %s on %d CPUs (oversubscribed, ringed on the '
                   'charts) the %s split reaches %s, against %s with %s: '
                   'ranks beyond the CPUs take turns on them.' % (
                       ranks_text(o.w), ncpu, o.variant, fmt_x(o.speedup),
                       fmt_x(m.speedup), ranks_text(m.w)))
    if bench == 'sum':
        at = {c.variant: c for c in cs if c.w == m.w}
        if 'local' in at and len(at) > 1:
            loc = at['local'].stat['median']
            moved = ['%s %s ms (%.1f times as long)' % (
                v, fmt_ms(at[v].stat['median']),
                at[v].stat['median'] / loc) for v in ('static', 'dynamic')
                if v in at]
            out.append('!Data movement (sum, %s): local, where every rank '
                       'makes its own values and nothing moves, takes %s ms; '
                       'sending the array from rank 0: %s.' % (
                           ranks_text(m.w), fmt_ms(loc), ', '.join(moved)))
    return out


def startup_table(startup):
    rows = []
    for r in sorted({k[0] for k in startup}):
        la, st = startup.get((r, 'launch')), startup.get((r, 'startup'))
        over = any(e and e['oversub'] for e in (la, st))
        row = ['%d%s' % (r, ' (oversubscribed)' if over else '')]
        for e in (la, st):
            row += [fmt_ms(e['stat']['median']),
                    '%s-%s' % (fmt_ms(e['stat']['q1']),
                               fmt_ms(e['stat']['q3']))] if e else ['-', '-']
        row.append(fmt_ms(st['stat']['median'] - la['stat']['median'])
                   if la and st else '-')
        row.append(max(e['stat']['n'] for e in (la, st) if e))
        rows.append(row)
    return table(['ranks', 'launch median (ms)', 'launch IQR (ms)',
                  'startup median (ms)', 'startup IQR (ms)',
                  'startup - launch (ms)', 'samples'], rows,
                 ['l'] + ['r'] * 6)


def sentences_chunks(configs):
    out = []
    for lang in ('c', 'python'):
        for mode in ('threads', 'procs'):
            pts = series(configs, 'chunks', lang, mode)
            if len(pts) < 2:
                continue
            who = '%s %s' % (LANG_NAME[lang], MODE_NAME[mode])
            if len({c.tasks for c in pts}) == 1:
                # The records' tasks column shows the chunk size was not
                # applied: say so rather than rank noise.
                out.append('%s: the chunk size changes nothing, every run '
                           'submits %s tasks whatever the chunk size (the '
                           'tasks column); differences are noise.' % (
                               who, pts[0].tasks))
                continue
            b = min(pts, key=lambda c: c.stat['median'])
            w = max(pts, key=lambda c: c.stat['median'])
            s = ('!%s: the best chunk size is %s items (%s ms, %s tasks%s), '
                 'the worst %s items (%s ms, %s tasks), %.1f times slower'
                 % (who, b.chunk, fmt_ms(b.stat['median']), b.tasks,
                    ', speedup ' + fmt_x(b.speedup) if b.speedup else '',
                    w.chunk, fmt_ms(w.stat['median']), w.tasks,
                    w.stat['median'] / b.stat['median']))
            out.append(s + '.')
    return out


def sentences_io(configs, suite):
    out = []
    d = float(suite.get('io_delay_ms', '0')) / 1e3
    for lang in ('c', 'python'):
        # Who wins: each mode at its best worker count.
        peak = {}
        for mode in ('threads', 'procs'):
            pts = series(configs, 'io', lang, mode)
            if pts:
                peak[mode] = max(pts, key=lambda c: int(c.tasks) /
                                 c.stat['median'])
        if len(peak) == 2:
            t, p = peak['threads'], peak['procs']
            win, lose = (t, p) if t.stat['median'] <= p.stat['median'] \
                else (p, t)
            s = ('!%s: %s win io, %.0f tasks/s with %s, against %.0f for '
                 '%s with %s' % (
                     LANG_NAME[lang], MODE_NAME[win.mode],
                     int(win.tasks) / win.stat['median'],
                     workers_text(win.w),
                     int(lose.tasks) / lose.stat['median'],
                     MODE_NAME[lose.mode], workers_text(lose.w)))
            if overlap(win, lose):
                s += '; within the noise of this run'
            else:
                s += ', %.0f%% more' % (100 * (lose.stat['median'] /
                                               win.stat['median'] - 1))
            out.append(s + '.')
    for lang in ('c', 'python'):
        for mode in ('threads', 'procs'):
            pts = series(configs, 'io', lang, mode)
            if not pts or d <= 0:
                continue
            c = max(pts, key=lambda c: int(c.tasks) / c.stat['median'])
            t = int(c.tasks)
            ideal = math.ceil(t / c.w) * d
            seq = baseline(configs, 'io', lang, c.n)
            s = ('%s %s peak at %d workers: %.0f tasks/s, %s of the ideal '
                 '(%.0f ms for %d tasks)' % (
                     LANG_NAME[lang], MODE_NAME[mode], c.w,
                     t / c.stat['median'], fmt_pct(ideal / c.stat['median']),
                     ideal * 1e3, t))
            if seq:
                s += ', %s the sequential run' % fmt_x(
                    seq.stat['median'] / c.stat['median'], 1)
            out.append(s + '.')
    return out


def sentences_overhead(configs):
    out = []
    rows = overhead_rows(configs)
    for v in ('bulk', 'roundtrip', 'map'):
        # seq (map's plain loop) is the reference, not a contender.
        cs = [(k, by[v]) for k, by in rows if v in by and k[1] != 'seq']
        if len(cs) < 2:
            continue
        per = sorted(((c.stat['median'] / int(c.n), k) for k, c in cs))
        lo, hi = per[0], per[-1]
        unit = 'item' if v == 'map' else 'task'

        def name(k):
            return ('py:' if k[0] == 'python' else '') + k[1]
        s = ('!%s: the cheapest is %s at %s per %s; the dearest, %s, costs '
             '%s, %.0f times more' % (v, name(lo[1]), fmt_us(lo[0]), unit,
                                      name(hi[1]), fmt_us(hi[0]),
                                      hi[0] / lo[0]))
        tp = [c for k, c in cs if k == ('c', 'tp')]
        if tp and lo[1] != ('c', 'tp'):
            s += '; our thread pool (tp): %s' % fmt_us(
                tp[0].stat['median'] / int(tp[0].n))
        out.append(s + '.')
    return out


def drift_lines(configs):
    out = []
    for c in sorted(configs.values(), key=lambda c: (c.bench, c.lang)):
        # overhead's seq is map's plain loop, not a baseline run.
        if c.mode != 'seq' or c.bench == 'overhead' or len(c.by_round) < 2:
            continue
        meds = [stats(c.by_round[r])['median'] for r in sorted(c.by_round)]
        lo, hi = min(meds), max(meds)
        out.append('| %s | %s | %s | %s |' % (
            c.bench, LANG_NAME[c.lang],
            ', '.join(fmt_ms(m) for m in meds),
            fmt_pct((hi - lo) / lo) if lo > 0 else '-'))
    if not out:
        return ''
    return '\n'.join(['| bench | lang | sequential median per round (ms) | '
                      'max/min - 1 |', '|:---|:---|:---|---:|'] + out)


def overhead_table(configs):
    rows = []
    for (lang, impl), by in overhead_rows(configs):
        for v in sorted(by):
            c = by[v]
            t = int(c.n)
            rows.append([LANG_NAME[lang], impl, v, c.w, t,
                         '%.3f' % (c.stat['median'] / t * 1e6),
                         '%.3f-%.3f' % (c.stat['q1'] / t * 1e6,
                                        c.stat['q3'] / t * 1e6),
                         fmt_ms(c.stat['median']), c.stat['n']])
    return table(['lang', 'implementation', 'variant', 'workers', 'tasks',
                  'per task median (us)', 'per task IQR (us)',
                  'kernel median (ms)', 'samples'], rows,
                 ['l', 'l', 'l'] + ['r'] * 6)


TITLES = {'primes': 'primes: CPU-bound (count primes by trial division)',
          'crawl': 'crawl: I/O-bound (a breadth-first crawl over HTTP on '
                   '127.0.0.1)',
          'images': 'images: CPU-bound (grayscale and 256x256 box resize '
                    'of image files)',
          'sum': 'sum: memory-bound (add up an array of 64-bit values)',
          'io': 'io: I/O-bound (tasks that sleep)',
          'overhead': 'overhead: the cost of one task',
          'chunks': 'chunks: the chunk-size sweep (primes)'}


def sampling_table(suite, sampling):
    reps = dict(kv.split(':') for kv in suite.get('repeat', '').split(',')
                if ':' in kv)
    rows = []
    for wl in suite.get('workloads', '').split(','):
        for warm, runs in sorted(sampling.get(wl, ())):
            rows.append([wl, suite.get('rounds', '?'), warm, runs,
                         reps.get(wl, '?')])
    return table(['workload', 'rounds', 'warm-up runs per round',
                  'measured runs per round', 'kernel repetitions per run'],
                 rows, ['l', 'r', 'r', 'r', 'r'])


def write_report(run, suite, machine, configs, charts, sampling, startup):
    ncpu = int(suite.get('ncpu', '0') or 0)
    L = []
    L.append('# Benchmark run %s' % suite.get(
        'name', os.path.basename(os.path.abspath(run))))
    L.append('')
    L.append('Made by `scripts/bench.sh`%s on %s.' % (
        ' --quick' if suite.get('quick') == '1' else '', machine_line(machine)))
    L.append('')
    L.append('## Machine')
    L.append('')
    L.append('```')
    with open(os.path.join(run, 'machine.txt')) as f:
        L.append(f.read().rstrip())
    L.append('```')
    L.append('')
    L.append('## How it was measured')
    L.append('')
    L.append(
        'Each workload ran in several rounds; a round runs every command '
        'under hyperfine (warm-up runs, then measured runs), and each run '
        'times the kernel one or more times in-process (`--repeat`), as the '
        'table below says. Rounds alternate the order of the commands '
        '(forward, then backward), so that a slow drift of the machine hits '
        'every mode alike; the rounds are pooled. '
        'Times in the tables are the programs\' own kernel times '
        '(CLOCK_MONOTONIC around the parallel section, set-up excluded): '
        'median, interquartile range (IQR) and min-max. "Whole process" is '
        'hyperfine\'s median wall time of the whole program (start-up and '
        'set-up included). Speedup = T(seq) / T(p) with medians, against '
        'the sequential run of the same language and size; its IQR column '
        'divides T(seq) by the quartiles of T(p). Karp-Flatt '
        'e = (1/S - 1/p) / (1 - 1/p) is the serial fraction that Amdahl\'s '
        'law needs to explain speedup S on p workers: near 0 is perfect '
        'scaling; a value rising with p points at overhead rather than '
        'serial code. Usable CPUs: %s. Raw data: `raw/` (hyperfine JSON and '
        'CSV, program records), `summary.csv`, `data/`.' % ncpu)
    L.append('')
    L.append(sampling_table(suite, sampling))
    L.append('')
    busy = {}
    for wl in suite.get('workloads', '').split(','):
        f = os.path.join(run, 'raw', wl, 'background-busy.txt')
        if wl and os.path.exists(f):
            with open(f) as fh:
                v = fh.read().strip()
            if v.isdigit():
                busy[wl] = int(v)
    if busy:
        L.append('Background load: the share of the CPUs that other '
                 'processes used during one idle second before each '
                 'workload: %s.' % ', '.join(
                     '%s %d%%' % kv for kv in busy.items()))
        L.append('')
        if max(busy.values()) > BUSY_WARN:
            L.append('**Warning: the machine was busy** (up to %d%% of '
                     'its CPUs used by other processes): these figures '
                     'measure that load as much as the programs; do not '
                     'draw conclusions from them. Re-run on a quiet '
                     'machine.' % max(busy.values()))
            L.append('')
            warn_line = L[-2]
        else:
            warn_line = None
    else:
        warn_line = None
    d = drift_lines(configs)
    if d:
        L.append('Drift check: the sequential baseline\'s median in each '
                 'round (the rounds ran minutes apart):')
        L.append('')
        L.append(d)
        L.append('')
    L.append('## Summary')
    L.append('')
    summary_at = len(L)
    allsent = []
    for bench in suite.get('workloads', '').split(','):
        if not bench:
            continue
        cs = [c for c in configs.values() if c.bench == bench]
        if not cs:
            continue
        L.append('## %s' % TITLES.get(bench, bench))
        L.append('')
        if bench in CPU_BOUND or bench == 'chunks':
            sents = sentences_cpu(configs, bench, ncpu) + \
                sentences_mpi(configs, bench, ncpu, startup) \
                if bench in CPU_BOUND else []
        elif bench == 'io':
            sents = sentences_io(configs, suite)
        elif bench == 'overhead':
            sents = sentences_overhead(configs)
        else:
            sents = []
        if bench == 'chunks':
            sents += sentences_chunks(configs)
        allsent += ['**%s**: %s' % (bench, s[1:]) for s in sents
                    if s.startswith('!')]
        for s in sents:
            L.append('- ' + s.lstrip('!'))
        if sents:
            L.append('')
        for name, caption in charts.get(bench, []):
            L.append('![%s](charts/%s.png)' % (caption, name))
            L.append('')
            L.append('*%s* ([SVG](charts/%s.svg))' % (caption, name))
            L.append('')
        L.append('<!-- table:%s -->' % bench)
        L.append('Table: %s' % bench)
        L.append('')
        L.append(overhead_table(configs) if bench == 'overhead'
                 else perf_table(configs, bench))
        L.append('')
    if startup:
        L.append('## mpirun start-up: what MPI costs before any compute')
        L.append('')
        L.append('The MPI programs\' kernel times start when every rank is '
                 'ready, so they leave out what `mpirun` costs; '
                 '`scripts/mpi-run.sh --startup` measures that apart: '
                 '*launch* is `mpirun -np R true` (starting and reaping R '
                 'processes that are not MPI programs: the launcher alone), '
                 '*startup* is `mpirun -np R primes --n 2` (an MPI program '
                 'with nothing to compute: launch plus MPI_Init\'s wire-up '
                 'and MPI_Finalize). Hyperfine\'s whole-process times for '
                 'the MPI rows in the tables above include it. Each figure '
                 'is the wall time of a whole `mpirun` command, measured %s '
                 'times.' % suite.get('mpi_startup_repeat', 'several'))
        L.append('')
        L.append('<!-- table:mpirun -->')
        L.append('Table: mpirun start-up (median)')
        L.append('')
        L.append(startup_table(startup))
        L.append('')
    L[summary_at:summary_at] = (
        [warn_line, ''] if warn_line else []) + \
        ['- ' + s for s in allsent] + ['']
    write_atomic(os.path.join(run, 'report.md'), '\n'.join(L) + '\n')


def write_summary(run, configs):
    cols = list(KEY) + ['samples', 'kernel_median_s', 'kernel_q1_s',
                        'kernel_q3_s', 'kernel_min_s', 'kernel_max_s',
                        'wall_median_s', 'speedup', 'speedup_lo',
                        'speedup_hi', 'efficiency', 'karp_flatt',
                        'oversubscribed']
    lines = [','.join(cols)]
    for c in sorted(configs.values(), key=lambda c: c.key):
        s = c.stat
        vals = list(c.key) + [
            str(s['n'])] + ['%.9f' % s[k] for k in
                            ('median', 'q1', 'q3', 'min', 'max')] + [
            '%.9f' % c.wall_stat['median'] if c.wall_stat else '',
            '%.4f' % c.speedup if c.speedup else '',
            '%.4f' % c.s_lo if c.speedup else '',
            '%.4f' % c.s_hi if c.speedup else '',
            '%.4f' % c.eff if c.eff else '',
            '%.4f' % c.kf if c.kf is not None else '',
            '1' if c.oversub else '0']
        lines.append(','.join(vals))
    write_atomic(os.path.join(run, 'summary.csv'), '\n'.join(lines) + '\n')


def analyze(run):
    suite, machine, configs, sampling = load_run(run)
    if not configs:
        raise Fail('%s: no records' % run)
    derive(configs)
    for sub in ('data', 'charts'):
        os.makedirs(os.path.join(run, sub), exist_ok=True)
    write_summary(run, configs)
    charts = {}
    for bench in suite.get('workloads', '').split(','):
        if bench:
            charts[bench] = charts_for(run, bench, configs, machine, suite)
    write_report(run, suite, machine, configs, charts, sampling,
                 load_startup(run))
    names = [n for v in charts.values() for n, _ in v]
    write_atomic(os.path.join(run, 'charts.txt'), '\n'.join(names) + '\n')
    print('report: %d configurations, %d charts, %s' % (
        len(configs), len(names), os.path.join(run, 'report.md')))


# ---- compare -----------------------------------------------------------------

def read_summary(run):
    path = os.path.join(run, 'summary.csv')
    if not os.path.exists(path):
        raise Fail('%s: no summary.csv; not a complete run folder' % run)
    with open(path) as f:
        return {tuple(r[k] for k in KEY): r for r in csv.DictReader(f)}


def compare(a, b, out):
    sa, sb = read_summary(a), read_summary(b)
    ma = read_kv(os.path.join(a, 'machine.txt'))
    mb = read_kv(os.path.join(b, 'machine.txt'))
    # Same configuration first; then, for runs made with different sizes,
    # the same workload, language, mode, variant and workers.
    pairs = [(k, k) for k in sorted(set(sa) & set(sb))]
    exact = len(pairs)
    loose_b = {}
    for k in sorted(set(sb) - set(sa)):
        loose_b.setdefault(k[:5], k)
    for k in sorted(set(sa) - set(sb)):
        if k[:5] in loose_b:
            pairs.append((k, loose_b.pop(k[:5])))
    if not pairs:
        raise Fail('no configuration in common between %s and %s' % (a, b))
    name_a = os.path.basename(os.path.abspath(a))
    name_b = os.path.basename(os.path.abspath(b))
    rows, dat = [], []
    for i, (ka, kb) in enumerate(pairs):
        ra, rb = sa[ka], sb[kb]
        ta, tb = float(ra['kernel_median_s']), float(rb['kernel_median_s'])
        ratio = tb / ta
        # The ratio's range from the two IQRs: worst and best case.
        lo = float(rb['kernel_q1_s']) / float(ra['kernel_q3_s'])
        hi = float(rb['kernel_q3_s']) / float(ra['kernel_q1_s'])
        sig = '' if lo <= 1 <= hi else ' *'
        lab = '%s %s %s%s w%s%s%s' % (
            ka[0], 'py' if ka[1] == 'python' else 'C', ka[2],
            '' if ka[3] == '-' else '/' + ka[3], ka[4],
            ' c' + ka[6] if ka[0] == 'chunks' else '',
            '' if ka == kb else ' (n %s/%s)' % (ka[5], kb[5]))
        rows.append([lab, fmt_ms(ta), fmt_ms(tb), '%.3f' % ratio,
                     '%.3f-%.3f' % (lo, hi),
                     fmt_x(float(ra['speedup'])) if ra.get('speedup')
                     else '-',
                     fmt_x(float(rb['speedup'])) if rb.get('speedup')
                     else '-',
                     sig.strip()])
        dat.append('%d "%s" %.6g %.6g %.6g' % (i, lab, ratio, lo, hi))
    os.makedirs(out, exist_ok=True)
    os.makedirs(os.path.join(out, 'charts'), exist_ok=True)
    os.makedirs(os.path.join(out, 'data'), exist_ok=True)
    datfile = os.path.join(out, 'data', 'compare.dat')
    write_atomic(datfile, '\n'.join(dat) + '\n')
    gnuplot(out, 'compare.gp', 'compare', {
        'datafile': datfile, 'npoints': len(dat),
        'title': 'Kernel time ratio %s / %s (below 1: B is faster)\\n'
                 'A: %s; B: %s' % (name_b, name_a, machine_line(ma),
                                   machine_line(mb))})
    headers = ['configuration', 'A median (ms)', 'B median (ms)',
               'B/A', 'B/A range (IQRs)', 'A speedup', 'B speedup',
               'differs']
    text = table(headers, rows, ['l'] + ['r'] * 7)
    faster = sum(1 for r in rows if r[7] and float(r[3]) < 1)
    slower = sum(1 for r in rows if r[7] and float(r[3]) > 1)
    md = ['# Comparison: B = %s against A = %s' % (name_b, name_a), '',
          '- A: `%s` (%s)' % (a, machine_line(ma)),
          '- B: `%s` (%s)' % (b, machine_line(mb)), '',
          '%d configurations in common%s; B is faster on %d and slower on '
          '%d where even the IQR ranges leave no doubt (marked *), level '
          'within the noise elsewhere.' % (
              len(rows), '' if exact == len(rows) else
              ' (%d of them with different sizes "(n A/B)", matched on '
              'workload, language, mode, variant and workers)' % (
                  len(rows) - exact), faster, slower), '',
          '![ratios](charts/compare.png)', '',
          '<!-- table:compare -->', text, '']
    write_atomic(os.path.join(out, 'compare.md'), '\n'.join(md))
    print('\n'.join(md[:6]))
    print(text)


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == 'analyze':
            analyze(argv[2])
        elif len(argv) == 5 and argv[1] == 'compare':
            compare(argv[2], argv[3], argv[4])
        else:
            sys.stderr.write('usage: report.py analyze RUN_DIR\n'
                             '       report.py compare RUN_A RUN_B OUT_DIR\n')
            return 2
    except Fail as e:
        sys.stderr.write('report: %s\n' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
