"""The plan: which commands run, grouped into hyperfine calls, in which
order, and how long they should take.

A Group is one hyperfine call: a command template with {name} placeholders
and hyperfine parameter lists (-L name v1,v2,...) that fill them, plus the
labels every measurement of it carries (workload, lang, fixed mode or
variant, the size parameters).  hyperfine's JSON export names the
parameter values of each command, and the programs' records name their
own configuration, so nothing downstream ever reads a command line back.

Drift.  This machine's speed drifts by 10-20% over minutes, and hyperfine
runs every repetition of one command before the next, so two commands
measured minutes apart can differ by the drift alone.  Each workload runs
in several short rounds, and round r reverses the order of the groups and
of every parameter list when r is even (round 1: A B C, round 2: C B A):
every configuration is sampled early and late, and pooling the rounds puts
the drift into the spread instead of into a ratio.

Adding a workload: write a function groups_NAME(ctx, size) returning its
Groups, add it to BUILDERS, and give calibrate.py a rule for its size.

Time.  est_run(values) is the plan's guess of one process run, from the
calibrated sequential kernel; estimate() adds them up over warm-up and
measured runs, which is what the progress line and the --budget-s cuts
start from.
"""
import itertools
import math
import re
import shlex

WORKLOADS = ['primes', 'sum', 'io', 'overhead', 'chunks', 'crawl', 'images']

# Seconds to start a process, measured roughly on the project's 2-core
# machine: a C program, a Python interpreter (numpy's import for sum is
# about as much again), mpirun with its daemons, one hyperfine call.
START_S = {'c': 0.003, 'python': 0.06, 'mpirun': 0.4, 'hyperfine': 0.05}
# The busiest chunk sweep the suite asks for: more chunks than this and the
# smallest chunk sizes measure nothing but per-task cost for seconds.
MAX_CHUNK_TASKS = {'c': 1 << 16, 'python': 1 << 12}
# What one chunk costs beyond its work, roughly, on the project's machine:
# a thread pool task, a process pool message there and back.
CHUNK_TASK_S = {('c', 'threads'): 2e-6, ('c', 'procs'): 2e-5,
                ('python', 'threads'): 3e-5, ('python', 'procs'): 1e-4}


class Group:
    """One hyperfine call of one round."""

    def __init__(self, gid, workload, lang, argv, lists=(), labels=None,
                 params=None, repeat=1, est_run=None, mpi=False):
        self.gid = gid                   # unique within the workload
        self.workload = workload
        self.lang = lang
        self.argv = list(argv)           # '{name}' placeholders, '@OUT@'
        self.lists = [(k, list(v)) for k, v in lists]
        self.labels = dict(labels or {})  # fixed labels (mode, variant...)
        self.params = dict(params or {})  # the size parameters
        self.repeat = repeat
        self.est_run = est_run or (lambda values: 1.0)
        self.mpi = mpi
        self.warmup = 0
        self.runs = 1
        self.ncpu = 1 << 30             # set by make_steps (oversub)

    def reversed(self):
        g = Group(self.gid, self.workload, self.lang, self.argv,
                  [(k, v[::-1]) for k, v in self.lists], self.labels,
                  self.params, self.repeat, self.est_run, self.mpi)
        g.warmup, g.runs, g.ncpu = self.warmup, self.runs, self.ncpu
        return g

    def combinations(self):
        """Every command's parameter values, in hyperfine's order (the
        last list varies fastest)."""
        names = [k for k, _ in self.lists]
        for values in itertools.product(*[v for _, v in self.lists]):
            yield dict(zip(names, (str(x) for x in values)))

    def command(self, out_path, values=None):
        """The argv of one command (values filled in), or hyperfine's
        template (values None)."""
        argv = []
        for a in self.argv:
            a = a.replace('@OUT@', out_path)
            for k, v in (values or {}).items():
                a = a.replace('{%s}' % k, v)
            argv.append(a)
        return argv

    def template(self, out_path):
        return ' '.join(quote(a) for a in self.command(out_path))

    def hyperfine_args(self):
        args = ['-N', '--warmup', str(self.warmup), '--runs', str(self.runs)]
        for k, v in self.lists:
            args += ['-L', k, ','.join(str(x) for x in v)]
        return args

    def estimate(self):
        # Each command's values with the group's fixed labels under them:
        # a group without lists (mode fixed in its argv) is still
        # estimated as that mode, not as the sequential run.
        fixed = {k: str(v) for k, v in self.labels.items()}
        per = sum(self.est_run(dict(fixed, **v))
                  for v in self.combinations())
        return START_S['hyperfine'] + (self.warmup + self.runs) * per


def quote(arg):
    """Shell-quotes what needs it, leaving {placeholders} readable."""
    if re.fullmatch(r'[\w@%+=:,./{}-]+', arg):
        return arg
    return shlex.quote(arg)


class Step:
    def __init__(self, kind, label, workload=None, round_=None, groups=(),
                 estimate_s=0.0):
        self.kind = kind                # 'round', 'timelines', 'report'...
        self.label = label
        self.workload = workload
        self.round = round_
        self.groups = list(groups)
        self.estimate_s = estimate_s


class Context:
    """What the builders need: options, machine, programs, sizes."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def c(self, name):
        return self.bin + '/' + name

    def py(self, name):
        return [self.python, self.pydir + '/' + name + '.py']


def cpu_scale(ctx, mode, workers, variant='-', lang='c'):
    """The share of the sequential kernel a parallel run of a CPU-bound
    kernel should take: 1/min(W, CPUs) ideally; Python threads and --gil
    threads run one at a time."""
    if mode == 'seq':
        return 1.0
    if variant == 'gil' or (lang == 'python' and mode == 'threads'):
        return 1.05
    return 1.1 / min(int(workers), ctx.ncpu)


def _cpu_est(ctx, size, lang, extra=0.0, variant='-', fixed=None):
    start = START_S[lang] + extra

    def est(values):
        v = dict(fixed or {}, **values)
        mode = v.get('mode', 'seq')
        w = int(v.get('workers', 1))
        per = size.seq_kernel_s * cpu_scale(ctx, mode, w,
                                            v.get('variant', variant), lang)
        procs = 0.002 * w if lang == 'c' else 0.03 * w
        return start + size.setup_s + size.repeat * per + \
            (procs if mode in ('procs', 'mpi') else 0)
    return est


def _mpi_group(ctx, wl, size, variants, extra_args):
    if not ctx.have_mpi(wl):
        return []
    argv = [ctx.mpi_run, '-n', '{workers}', wl, '--variant', '{variant}',
            '--workers', '{workers}'] + extra_args + \
        ['--repeat', str(size.repeat), '--out', '@OUT@']
    return [Group('c-mpi', wl, 'c', argv,
                  [('variant', variants), ('workers', ctx.mpi_ranks)],
                  {'mode': 'mpi'}, size.params, size.repeat,
                  _cpu_est(ctx, size, 'c', START_S['mpirun'],
                           fixed={'mode': 'mpi'}), mpi=True)]


def _seq_par(ctx, wl, lang, size, args, workers, modes=('threads', 'procs'),
             est=None):
    """The usual pair of groups: sequential, then modes x workers."""
    prog = [ctx.c(wl)] if lang == 'c' else ctx.py(wl)
    tail = args + ['--repeat', str(size.repeat), '--out', '@OUT@']
    est = est or _cpu_est(ctx, size, lang)
    p = 'c' if lang == 'c' else 'py'
    return [Group(p + '-seq', wl, lang, prog + ['--mode', 'seq'] + tail, [],
                  {'mode': 'seq', 'workers': 1}, size.params, size.repeat,
                  est),
            Group(p + '-par', wl, lang,
                  prog + ['--mode', '{mode}', '--workers', '{workers}'] + tail,
                  [('mode', list(modes)), ('workers', workers)], {},
                  size.params, size.repeat, est)]


def groups_primes(ctx, sizes):
    out = []
    s = sizes.get(('primes', 'c'))
    if s:
        args = ['--n', str(s.params['n'])]
        out += _seq_par(ctx, 'primes', 'c', s, args, ctx.workers)
        out.append(Group(
            'c-gil', 'primes', 'c',
            [ctx.c('primes'), '--mode', 'threads', '--gil', '--workers',
             '{workers}'] + args + ['--repeat', str(s.repeat), '--out',
                                    '@OUT@'],
            [('workers', ctx.workers)], {'mode': 'threads', 'variant': 'gil'},
            s.params, s.repeat,
            _cpu_est(ctx, s, 'c', variant='gil', fixed={'mode': 'threads'})))
        out += _mpi_group(ctx, 'primes', s, ['static', 'dynamic'], args)
    s = sizes.get(('primes', 'python'))
    if s:
        out += _seq_par(ctx, 'primes', 'python', s,
                        ['--n', str(s.params['n'])], ctx.py_workers)
    return out


def groups_sum(ctx, sizes):
    out = []
    s = sizes.get(('sum', 'c'))
    if s:
        args = ['--n', str(s.params['n'])]
        out += _seq_par(ctx, 'sum', 'c', s, args, ctx.workers)
        out.append(Group(
            'c-copy', 'sum', 'c',
            [ctx.c('sum'), '--mode', 'procs', '--copy', '--workers',
             '{workers}'] + args + ['--repeat', str(s.repeat), '--out',
                                    '@OUT@'],
            [('workers', ctx.workers)], {'mode': 'procs', 'variant': 'copy'},
            s.params, s.repeat,
            _cpu_est(ctx, s, 'c', extra=s.setup_s, fixed={'mode': 'procs'})))
        # The process pool's prefault switched off (issue 13's remedies
        # chart): on as many workers as CPUs, its first passes against
        # those of the procs group.
        out.append(Group(
            'c-no-prefault', 'sum', 'c',
            [ctx.c('sum'), '--mode', 'procs', '--no-prefault', '--workers',
             str(ctx.ncpu)] + args + ['--repeat', str(s.repeat), '--out',
                                      '@OUT@'], [],
            {'mode': 'procs', 'variant': 'shm-no-prefault',
             'workers': ctx.ncpu}, s.params, s.repeat,
            _cpu_est(ctx, s, 'c', fixed={'mode': 'procs'})))
        out += _mpi_group(ctx, 'sum', s, ['static', 'dynamic', 'local'], args)
    s = sizes.get(('sum', 'python'))
    if s:
        out += _seq_par(ctx, 'sum', 'python', s, ['--n', str(s.params['n'])],
                        ctx.py_workers, est=_cpu_est(ctx, s, 'python', 0.1))
    return out


def _sleep_est(ctx, size, lang, count_key, repeat=None):
    """io and crawl: ceil(tasks / W) sleeps of the delay each, repeat
    times (default: the size's repetitions)."""
    count = size.params[count_key]
    delay = size.params['delay_ms'] / 1000.0
    repeat = repeat or size.repeat

    def est(values):
        w = int(values.get('workers', 1))
        mode = values.get('mode', 'seq')
        start = START_S[lang] + (0.002 if lang == 'c' else 0.03) * w \
            * (mode == 'procs')
        return start + repeat * (math.ceil(count / w) * delay + 0.002)
    return est


def _sleeper_groups(ctx, wl, lang, size, args, count_key, modes,
                    repeat_of):
    """io and crawl: the sequential run, then one group a worker count,
    each with its own repetitions, repeat_of(size, workers)."""
    out = _seq_par(ctx, wl, lang, size, args, [],
                   est=_sleep_est(ctx, size, lang, count_key))[:1]
    prog = [ctx.c(wl)] if lang == 'c' else ctx.py(wl)
    p = 'c' if lang == 'c' else 'py'
    for w in ctx.io_workers:
        r = repeat_of(size, w)
        out.append(Group(
            '%s-par-%d' % (p, w), wl, lang,
            prog + ['--mode', '{mode}', '--workers', str(w)] + args +
            ['--repeat', str(r), '--out', '@OUT@'],
            [('mode', modes)], {'workers': w}, size.params, r,
            _sleep_est(ctx, size, lang, count_key, r)))
    return out


def io_repeat(size, workers):
    """io's repetitions on W workers: as many as make a process sleep
    about as long as the sequential run does.  One run of 128 sleeps on
    64 workers lasts 11 ms, so with the sequential run's single
    repetition its figures (the time beyond the ideal, the wake-up
    remedies) would rest on two samples, one a round, each a single draw
    of a noisy machine; 64 repetitions a process give 128."""
    tasks = size.params['tasks']
    return size.repeat * max(1, tasks // math.ceil(tasks / workers))


def groups_io(ctx, sizes):
    out = []
    for lang in ('c', 'python'):
        s = sizes.get(('io', lang))
        if s:
            args = ['--tasks', str(s.params['tasks']), '--delay-ms',
                    str(s.params['delay_ms'])]
            out += _sleeper_groups(ctx, 'io', lang, s, args, 'tasks',
                                   ['threads', 'procs'], io_repeat)
            if lang != 'c':
                continue
            # The remedies switched the other way (issue 13's remedies
            # chart), on the most workers: the process pool's opt-in
            # cascade, its next task in hand off, its answers sent instead
            # of taken from the rings, the thread pool's wake-ups passed on
            # off; and the machine's floor, bare threads and no pool (io
            # --bare).
            w = max(ctx.io_workers)
            r = io_repeat(s, w)
            for mode, flag in (('procs', 'cascade'),
                               ('procs', 'one-at-a-time'),
                               ('procs', 'send-answers'),
                               ('threads', 'no-cascade'),
                               ('threads', 'bare')):
                out.append(Group(
                    'c-%s-%s' % (mode, flag), 'io', 'c',
                    [ctx.c('io'), '--mode', mode, '--' + flag, '--workers',
                     str(w)] + args + ['--repeat', str(r), '--out',
                                       '@OUT@'], [],
                    {'mode': mode, 'variant': flag, 'workers': w},
                    s.params, r, _sleep_est(ctx, s, lang, 'tasks', r)))
    return out


# crawl's repetitions on many workers stop growing here (crawl_repeat).
CRAWL_REPEAT_MAX = 8


def crawl_repeat(size, workers):
    """crawl's repetitions on W workers: as io's (io_repeat), W times the
    sequential run's for W workers, but at most CRAWL_REPEAT_MAX times.  A
    crawl discovers its pages breadth-first from one, so its first rounds
    have fewer pages known than workers, and its speedup stops near the
    site's depth (about 10x for 64 pages, C on 2 cores) however many
    workers there are: W repetitions on 64 workers would make a process
    last about six times as long as the sequential one.  With at most 8,
    each configuration's figures rest on 8 samples or more a round,
    instead of the 2 that one repetition gave."""
    pages = size.params['pages']
    return size.repeat * min(CRAWL_REPEAT_MAX,
                             max(1, pages // math.ceil(pages / workers)))


def groups_crawl(ctx, sizes):
    out = []
    for lang in ('c', 'python'):
        s = sizes.get(('crawl', lang))
        if s:
            args = ['--pages', str(s.params['pages']), '--delay-ms',
                    str(s.params['delay_ms'])]
            # The C crawler has threads only; Python's has processes too.
            out += _sleeper_groups(
                ctx, 'crawl', lang, s, args, 'pages',
                ['threads'] if lang == 'c' else ['threads', 'procs'],
                crawl_repeat)
    return out


def groups_images(ctx, sizes):
    out = []
    for lang in ('c', 'python'):
        s = sizes.get(('images', lang))
        if s:
            args = ['--images', str(s.params['images']), '--max-side',
                    str(s.params['max_side'])]
            out += _seq_par(ctx, 'images', lang, s, args,
                            ctx.workers if lang == 'c' else ctx.py_workers)
    return out


def chunk_sizes(n, workers, min_chunk, factor=4):
    """The sizes chunks.c and chunks.py sweep: min_chunk times factor^k,
    ending on one chunk per worker, ceil(n / workers)."""
    sizes, c = [], min_chunk
    last = max(min_chunk, -(-n // workers))
    while True:
        sizes.append(c)
        if c == last:
            return sizes
        c = last if c > last // factor else c * factor


# chunks.py --factor for Python threads: the ends of the sweep only.
PY_THREADS_FACTOR = 1000


def groups_chunks(ctx, sizes):
    out = []
    for lang in ('c', 'python'):
        s = sizes.get(('chunks', lang))
        if not s:
            continue
        n, mc = s.params['n'], s.params['min_chunk']
        known = isinstance(n, int) and isinstance(mc, int)
        sweep = len(chunk_sizes(n, ctx.ncpu, mc)) if known else 6
        base = _cpu_est(ctx, s, lang)

        # Tasks of the whole sweep: n/C for C = mc, 4 mc, 16 mc, ...,
        # about 4/3 n/mc in all, each paying a task's cost (CHUNK_TASK_S).
        tasks = 4 * n / (3 * mc) if known else 0

        # Python's ThreadPoolExecutor.map ignores chunksize (the lesson of
        # this sweep): every item is a task of its own at every chunk size.
        # So its sweep keeps only the two ends (--factor 1000: the smallest
        # size, then one chunk per worker), which show the flat line as well
        # as six sizes would, at a third of the cost: n tasks per size at
        # about 30 us each was 65 s a round in the reference run.
        short = chunk_sizes(n, ctx.ncpu, mc, PY_THREADS_FACTOR) \
            if known else [1, 2]
        # --budget-s's cut (cli.py): the smallest size only.
        one = getattr(ctx, 'py_threads_one_chunk', False)
        if one:
            short = short[:1]

        def est(values, base=base, sweep=sweep, tasks=tasks, lang=lang,
                short=short):
            mode = values.get('mode', 'seq')
            if mode == 'seq':
                return base(values)
            one = base(dict(values, workers=str(ctx.ncpu))) - START_S[lang]
            if (lang, mode) == ('python', 'threads'):
                size_count, ntasks = len(short), len(short) * n
            else:
                size_count, ntasks = sweep, tasks
            return START_S[lang] + size_count * one * 1.1 + \
                ntasks * CHUNK_TASK_S[(lang, mode)]
        prog = [ctx.c('chunks')] if lang == 'c' else ctx.py('chunks')
        tail = ['--n', str(n), '--repeat', str(s.repeat), '--out', '@OUT@']
        par = ['--workers', str(ctx.ncpu), '--min-chunk', str(mc)]
        p = 'c' if lang == 'c' else 'py'
        out.append(Group(p + '-seq', 'chunks', lang,
                         prog + ['--mode', 'seq'] + tail, [],
                         {'mode': 'seq', 'workers': 1}, s.params, s.repeat,
                         est))
        if lang == 'c':
            out.append(Group('c-par', 'chunks', lang,
                             prog + ['--mode', '{mode}'] + par + tail,
                             [('mode', ['threads', 'procs'])],
                             {'workers': ctx.ncpu}, s.params, s.repeat, est))
            continue
        out.append(Group('py-threads', 'chunks', lang,
                         prog + ['--mode', 'threads'] + par +
                         (['--max-chunk', str(mc)] if one else
                          ['--factor', str(PY_THREADS_FACTOR)]) + tail, [],
                         {'mode': 'threads', 'workers': ctx.ncpu}, s.params,
                         s.repeat, est))
        out.append(Group('py-procs', 'chunks', lang,
                         prog + ['--mode', 'procs'] + par + tail, [],
                         {'mode': 'procs', 'workers': ctx.ncpu}, s.params,
                         s.repeat, est))
    return out


def groups_overhead(ctx, sizes):
    """Per-task cost of each implementation (mode = implementation), one
    group per variant in C (each has its own task count), one group over
    the variants in Python."""
    out = []
    for lang in ('c', 'python'):
        entries = [s for (wl, lg, *_), s in sizes.items()
                   if wl == 'overhead' and lg == lang]
        if not entries:
            continue
        prog = [ctx.c('overhead')] if lang == 'c' else ctx.py('overhead')
        for s in entries:
            v = s.variant

            def est(values, s=s, lang=lang):
                return START_S[lang] + s.setup_s + s.repeat * s.seq_kernel_s
            out.append(Group(
                '%s-%s' % ('c' if lang == 'c' else 'py', v), 'overhead',
                lang, prog + ['--mode', 'all', '--variant', v, '--workers',
                              str(ctx.ncpu), '--tasks', str(s.params['tasks']),
                              '--repeat', str(s.repeat), '--out', '@OUT@'],
                [], {'mode': 'all', 'variant': v, 'workers': ctx.ncpu},
                s.params, s.repeat,
                est))
            if lang == 'c' and v in ABLATION_VARIANTS:
                out.append(ablation_group(ctx, prog, s, est))
    return out


# The ablation step (issue 14): our thread pool with all its speed tricks,
# with each one switched off in turn (struct tp_tuning; the overhead
# program's tp-no-* modes), and the textbook pool, interleaved by
# `overhead --mode ablation`, for bulk and round trip: the chart of what
# each trick buys.  Same task counts as the overhead groups; its records
# name their implementation (tp, tp-no-poll, ..., textbook).
ABLATION_VARIANTS = ('bulk', 'roundtrip')


def ablation_group(ctx, prog, s, est):
    v = s.variant
    return Group(
        'c-ablation-%s' % v, 'overhead', 'c',
        prog + ['--mode', 'ablation', '--variant', v, '--workers',
                str(ctx.ncpu), '--tasks', str(s.params['tasks']),
                '--repeat', str(s.repeat), '--out', '@OUT@'],
        [], {'mode': 'ablation', 'variant': v, 'workers': ctx.ncpu},
        s.params, s.repeat, est)


BUILDERS = {
    'primes': groups_primes, 'sum': groups_sum, 'io': groups_io,
    'overhead': groups_overhead, 'chunks': groups_chunks,
    'crawl': groups_crawl, 'images': groups_images,
}


# The hosts step (issue 19): scripts/mpi-hosts.sh bench runs the MPI sum
# on 2 ranks twice, all on one namespace host (shared memory) and one rank
# per host (TCP), with --transfer, on a rig it makes and takes down.  Not a
# hyperfine group: the rig script is the one command, its CSV records are
# the samples (workload "hosts").  The size is fixed, not the calibrated
# sum size: that one is 8 x the last-level cache (often 256 MiB or more),
# which through TCP at 0.1-0.5 GB/s, 3 variants x 2 placements x 3
# repetitions, would take minutes; 10^7 values (80 MB, the array rank 0
# splits; 40 MB sent to the other rank for static) is past any cache, the
# size the rig's README measured by hand, and keeps the step near 20 s on
# 2 CPUs.  --quick: 10^6 values, static only, one repetition.
HOSTS = {'hosts': 2, 'n': 10 ** 7, 'repeat': 3,
         'variants': ['static', 'dynamic', 'local']}
HOSTS_QUICK = {'hosts': 2, 'n': 10 ** 6, 'repeat': 1, 'variants': ['static']}
# Seconds: making and removing the rig, one mpirun across the rig (its
# daemons start through the agent), one repetition of 10^7 values.
HOSTS_RIG_S, HOSTS_MPIRUN_S, HOSTS_REP_S = 3.0, 1.5, 0.4


def hosts_args(h):
    """The rig script's arguments for one HOSTS-like dict."""
    return ['bench', '--hosts', str(h['hosts']), '--n', str(h['n']),
            '--repeat', str(h['repeat']), '--variant',
            ','.join(h['variants']), '--format', 'csv']


def hosts_estimate(h):
    return HOSTS_RIG_S + 2 * len(h['variants']) * (
        HOSTS_MPIRUN_S + h['repeat'] * HOSTS_REP_S * h['n'] / 1e7)


def round_groups(groups, r):
    """Round r (1-based): the groups forward on odd rounds; on even
    rounds backward, groups and parameter values alike."""
    if r % 2:
        return list(groups)
    return [g.reversed() for g in reversed(groups)]


def make_steps(ctx, sizes, workloads, rounds, warmup, runs):
    """The measuring steps (workload x round), then mpirun's start-up
    when MPI runs, then the report; each with its estimated seconds."""
    steps = []
    for wl in workloads:
        groups = BUILDERS[wl](ctx, sizes)
        for g in groups:
            g.warmup, g.runs, g.ncpu = warmup(wl), runs(wl), ctx.ncpu
        for r in range(1, rounds + 1):
            rg = round_groups(groups, r)
            est = sum(g.estimate() for g in rg) + \
                (ctx.background_s if r == 1 else 0)
            steps.append(Step('round', '%s, round %d of %d%s' % (
                wl, r, rounds, ' (reversed order)' if r % 2 == 0 else ''),
                wl, r, rg, est))
    if ctx.mpi_used:
        ranks = ','.join(str(x) for x in ctx.mpi_ranks)
        steps.append(Step(
            'mpi-startup', 'mpirun start-up, ranks %s' % ranks,
            estimate_s=2 * ctx.mpi_startup_repeat * sum(
                START_S['mpirun'] + 0.05 * r for r in ctx.mpi_ranks)))
    if getattr(ctx, 'timelines', False):
        from . import timelines
        sp = timelines.specs(ctx, sizes, workloads)
        if sp:
            steps.append(Step(
                'timelines', 'timelines: %s' % ', '.join(
                    s['workload'] for s in sp), estimate_s=
                timelines.estimate(sp, sizes)))
    hosts = getattr(ctx, 'hosts', None)
    if hosts:
        steps.append(Step(
            'hosts', 'MPI sum on one host and across %d namespace hosts'
            % hosts['hosts'], 'hosts', estimate_s=hosts_estimate(hosts)))
    steps.append(Step('report', 'statistics, charts and report.md',
                      estimate_s=3.0 + 1.5 * len(workloads)))
    return steps


def default_workers(ncpu, kind='cpu', limit=6):
    """CPU-bound: 1, 2, 4, ... up to twice the CPUs, with the CPU count
    itself; io: powers of 4 up to 64 or twice the CPUs.  At most `limit`
    values: on a big machine the list thins out in the middle, keeping 1,
    the CPU count and twice it."""
    if kind == 'io':
        top = max(64, 2 * ncpu)
        vals, w = [], 1
        while w < top:
            vals.append(w)
            w *= 4
        vals.append(top)
    else:
        top = 2 * ncpu
        vals, w = [], 1
        while w < top:
            vals.append(w)
            w *= 2
        vals += [ncpu, top]
    vals = sorted(set(vals))
    if len(vals) > limit:
        keep = {vals[0], ncpu, vals[-1]}
        middle = [v for v in vals if v not in keep]
        room = limit - len(keep)
        step = len(middle) / room if room > 0 else len(middle) + 1
        keep |= {middle[int(i * step)] for i in range(room)}
        vals = sorted(keep)
    return vals
