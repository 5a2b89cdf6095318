"""Sizes for this machine, chosen before anything is measured.

A fixed size is tuned for one machine: on a 64-core server the kernels of
a 2-core laptop's sizes last microseconds, and a timer, a scheduler tick
or the pool's own start-up then weigh as much as the work.  So the suite
sizes every workload here, by timing short runs of the real programs (their
records give kernel_s) and growing the size until the sequential kernel
lasts at least the target (--target-s, 0.5 s by default; the search asks
for 10% more, so that later runs, a little faster, still reach it):

  primes, chunks, images   the sequential kernel of C and of each Python
        twin (each gets its own size).  Trial division costs more than
        linearly in n (about n^1.5), so a size is never extrapolated in one
        jump: each step aims a little past the target assuming the steeper
        growth, measures again, and stops at the first size that reaches it.
  chunks  also gets the smallest chunk of its sweep raised so that a sweep
        never submits more than MAX_CHUNK_TASKS tasks (chunk 1 of a
        half-second kernel would spend seconds on nothing but task costs).
  sum   is memory-bound: what matters is that the array does not fit in
        the caches, so it is at least 8 x the last-level cache and 256 MiB
        (at most a quarter of memory); one pass takes some tens of ms, so
        each process runs enough in-process repetitions (--repeat) for its
        kernels to add up to the target.
  io, crawl  sleep instead of computing, so their time is arithmetic, not
        the machine's speed: a fixed delay per task (5 ms for io, 10 ms per
        crawl response: long against scheduling jitter, short enough for
        many tasks) and a count of tasks that makes the sequential run last
        the target, rounded up to a multiple of the largest worker count so
        that every worker count divides the work evenly.
  overhead  measures a per-task cost, a figure free of size: its counts are
        scaled from a timed probe so that one repetition of every
        implementation lasts about the target, within a floor and the
        issue's counts (10^5 bulk tasks, 5000 round trips, 10^7 map items).

An explicit size option (--primes-n, --sum-n, ...) wins over all of this;
the calibration still times it once, for the estimate.  --quick uses a
small target and small arrays.  Every size lands in calibration.json with
the time measured for it and why it was chosen.
"""
import math
import statistics

from . import plan

MIB = 1 << 20
# The search stops at the first size whose kernel lasts MARGIN x target.
MARGIN = 1.1

# Where the search starts: sizes whose kernel lasts a few ms anywhere.
START = {('primes', 'c'): 100000, ('primes', 'python'): 10000,
         ('chunks', 'c'): 100000, ('chunks', 'python'): 10000,
         ('images', 'c'): 2, ('images', 'python'): 1}
LIMIT = {'primes': 1000000000, 'chunks': 1000000000, 'images': 10000}
# How the kernel time grows with the size (t ~ n^k), for the next guess.
GROWTH = {'primes': 1.5, 'chunks': 1.5, 'images': 1.0}
OPTION = {('primes', 'c'): 'primes_n', ('primes', 'python'): 'py_primes_n',
          ('chunks', 'c'): 'chunks_n', ('chunks', 'python'): 'py_chunks_n',
          ('images', 'c'): 'images_n', ('images', 'python'): 'py_images_n',
          ('sum', 'c'): 'sum_n', ('sum', 'python'): 'py_sum_n',
          ('overhead', 'c'): 'overhead_tasks',
          ('overhead', 'python'): 'py_overhead_tasks'}
SIZE_ARG = {'primes': ('n', '--n'), 'chunks': ('n', '--n'),
            'images': ('images', '--images'), 'sum': ('n', '--n')}


class Size:
    """One workload's size in one language: what the plan runs."""

    def __init__(self, workload, lang, params, repeat=1, seq_kernel_s=0.0,
                 setup_s=0.0, source='calibrated', note='', variant=None):
        self.workload = workload
        self.lang = lang
        self.params = params
        self.repeat = repeat
        self.seq_kernel_s = seq_kernel_s
        self.setup_s = setup_s
        self.source = source
        self.note = note
        self.variant = variant
        self.trials = []        # [(size, kernel_s)] of the search

    def entry(self):
        e = {'workload': self.workload, 'lang': self.lang,
             'params': self.params, 'repeat': self.repeat,
             'seq_kernel_s': round(self.seq_kernel_s, 6),
             'setup_s': round(self.setup_s, 6), 'source': self.source,
             'note': self.note}
        if self.variant:
            e['variant'] = self.variant
        if self.trials:
            e['trials'] = [{'size': n, 'kernel_s': round(t, 6)}
                           for n, t in self.trials]
        return e


def describe(s):
    """'C n=2700000 (0.56 s)': one size for the terminal."""
    params = ' '.join('%s=%s' % kv for kv in s.params.items()
                      if kv[0] not in ('max_side', 'min_chunk'))
    rep = ' x %d' % s.repeat if s.repeat > 1 else ''
    return '%s%s %s%s (%.3g s%s)' % (
        'C' if s.lang == 'c' else 'Python',
        ' ' + s.variant if s.variant else '', params, rep, s.seq_kernel_s,
        '' if s.source in ('calibrated', 'fixed') else ', ' + s.source)


class Calibrator:
    """measure(workload, lang, args) runs the program once with args
    (plus --out) and returns its records; None in a dry run, where every
    size that would be calibrated reads 'calibrated'."""

    def __init__(self, opts, ncpu, llc, memory, measure, io_workers,
                 have, say=lambda s: None):
        self.o = opts
        self.target = opts.target_s
        self.quick = opts.quick
        self.ncpu = ncpu
        self.llc = llc
        self.memory = memory
        self.measure = measure
        self.io_top = max(io_workers)
        self.have = have            # have(workload, lang) -> bool
        self.say = say
        self.dry = measure is None

    def option(self, wl, lang):
        key = OPTION.get((wl, lang))
        return getattr(self.o, key, None) if key else None

    def sizes(self, workloads):
        """{(workload, lang[, variant]): Size} for every program that
        exists."""
        out = {}
        for wl in workloads:
            mine = []
            for lang in ('c', 'python'):
                if not self.have(wl, lang):
                    continue
                if wl == 'overhead':
                    for s in self.overhead(lang):
                        out[(wl, lang, s.variant)] = s
                        mine.append(s)
                    continue
                rule = {'sum': self.sum, 'io': self.io,
                        'crawl': self.crawl}.get(wl, self.grown)
                out[(wl, lang)] = s = rule(wl, lang)
                mine.append(s)
            if mine and not self.dry:
                self.say('sized %s: %s' % (wl, '; '.join(
                    describe(s) for s in mine)))
        return out

    # ---- one run of a program --------------------------------------
    def run(self, wl, lang, args):
        recs = self.measure(wl, lang, args)
        kernel = [r['kernel_s'] for r in recs if r.get('kernel_s') is not None]
        setup = sum(r.get('setup_s') or 0.0 for r in recs)
        return kernel, setup

    # ---- CPU-bound: grow until the sequential kernel lasts the target --
    def grown(self, wl, lang):
        key, flag = SIZE_ARG[wl]
        extra = self.extra_args(wl)
        n = self.option(wl, lang)
        repeat = self.o.repeat or 1
        if n is not None:
            s = Size(wl, lang, {key: n}, repeat, source='option',
                     note='--%s' % OPTION[(wl, lang)].replace('_', '-'))
            if not self.dry:
                k, setup = self.run(wl, lang, ['--mode', 'seq', flag, str(n)]
                                    + extra)
                s.seq_kernel_s, s.setup_s = statistics.median(k), setup
                s.trials.append((n, s.seq_kernel_s))
            else:
                s.seq_kernel_s = self.target
            return self.finish_params(s, wl, lang)
        if self.dry:
            # For the dry run's estimate: the kernel as calibrated, and
            # images' set-up (writing the input files) as measured on the
            # project's 2-core machine, about 1.4 times its kernel.
            s = Size(wl, lang, {key: 'calibrated'}, repeat,
                     seq_kernel_s=1.15 * self.target,
                     setup_s=1.4 * self.target if wl == 'images' else 0.0)
            return self.finish_params(s, wl, lang)
        n = START[(wl, lang)]
        trials = []
        while True:
            k, setup = self.run(wl, lang, ['--mode', 'seq', flag, str(n)]
                                + extra)
            t = statistics.median(k)
            trials.append((n, t))
            # 10% to spare: a size that only just reaches the target on
            # one run falls short on half of the later ones.
            if t >= MARGIN * self.target or n >= LIMIT[wl]:
                break
            # Aim 25% past the target assuming t ~ n^growth; at least 10%
            # more, at most 30 times more, per step.
            factor = (1.25 * self.target / max(t, 1e-6)) ** (1 / GROWTH[wl])
            n = min(LIMIT[wl], max(n + 1, int(math.ceil(
                n * min(30.0, max(1.1, factor))))))
        s = Size(wl, lang, {key: n}, repeat, t, setup,
                 'quick' if self.quick else 'calibrated',
                 'sequential kernel %.3f s >= %g x target %.3g s after %d '
                 'trial runs' % (t, MARGIN, self.target, len(trials)))
        s.trials = trials
        if t < self.target:
            s.note = 'largest size the program takes (%s); kernel %.3f s' \
                % (n, t)
        return self.finish_params(s, wl, lang)

    def extra_args(self, wl):
        if wl == 'images':
            return ['--max-side', str(self.max_side())]
        return []

    def max_side(self):
        return 256 if self.quick else 1024

    def finish_params(self, s, wl, lang):
        if wl == 'images':
            s.params['max_side'] = self.max_side()
        if wl == 'chunks':
            n = s.params['n']
            if isinstance(n, int):
                # The smallest power of 4 that keeps the sweep's tasks at
                # most MAX_CHUNK_TASKS.
                from .plan import MAX_CHUNK_TASKS
                mc = 1
                while n // mc > MAX_CHUNK_TASKS[lang]:
                    mc *= 4
                s.params['min_chunk'] = mc
                if mc > 1:
                    s.note += '; sweep starts at chunk %d (at most %d ' \
                        'tasks)' % (mc, MAX_CHUNK_TASKS[lang])
            else:
                s.params['min_chunk'] = 'calibrated'
        return s

    # ---- sum: an array far larger than the caches ----------------------
    def sum(self, wl, lang):
        n = self.option(wl, lang)
        if n is not None:
            source, note = 'option', '--%s' % OPTION[(wl, lang)].replace(
                '_', '-')
        elif self.quick:
            n, source = 2000000, 'quick'
            note = '--quick: 16 MiB, not past the caches'
        else:
            want = max(8 * self.llc, 256 * MIB)
            why = ('8 x LLC %d MiB' % (self.llc // MIB)
                   if 8 * self.llc >= 256 * MIB else '256 MiB floor (8 x LLC'
                   ' %d MiB is less)' % (self.llc // MIB))
            if self.memory and want > self.memory // 4:
                want = self.memory // 4
                why += ', capped at a quarter of memory'
            n, source = want // 8, 'calibrated'
            note = '%d MiB array: %s' % (n * 8 // MIB, why)
        s = Size(wl, lang, {'n': n}, self.o.repeat or 1, source=source,
                 note=note)
        if self.dry:
            # Filling 256 MiB takes about 0.15 s in C and 1.7 s in numpy on
            # the project's 2-core machine; a pass about 20 ms.
            s.seq_kernel_s = self.target / 20
            s.repeat = self.o.repeat or 20
            s.setup_s = (0.15 if lang == 'c' else 1.7) * n * 8 / (256 * MIB)
            return s
        k, setup = self.run(wl, lang, ['--mode', 'seq', '--n', str(n),
                                       '--repeat', '3'])
        # The first pass may still pay for page faults: the median of 3.
        t = statistics.median(k)
        s.seq_kernel_s, s.setup_s = t, setup
        s.trials.append((n, t))
        if not self.o.repeat:
            s.repeat = max(1, min(1000, math.ceil(self.target / max(t, 1e-6))))
            s.note += '; %d repetitions x %.4f s per process' % (s.repeat, t)
        return s

    # ---- io and crawl: count x delay ----------------------------------
    def sleeper(self, wl, count_key, count_opt, delay_opt, delay_default):
        delay = getattr(self.o, delay_opt, None)
        count = getattr(self.o, count_opt, None)
        source = 'option' if (delay or count) else (
            'quick' if self.quick else 'fixed')
        if delay is None:
            delay = 2 if self.quick else delay_default
        if count is None:
            count = math.ceil(self.target * 1000 / delay)
            count = math.ceil(count / self.io_top) * self.io_top
        note = ('%d x %d ms = %.2f s sequentially; sleeps, so the machine\'s '
                'speed does not matter' % (count, delay, count * delay / 1e3))
        return Size(wl, 'c', {count_key: count, 'delay_ms': delay},
                    self.o.repeat or 1, count * delay / 1e3, 0.0, source,
                    note)

    def io(self, wl, lang):
        s = self.sleeper('io', 'tasks', 'io_tasks', 'io_delay_ms', 5)
        s.lang = lang
        s.note += ('; on W workers a run is W times shorter and repeats '
                   'about W times a process (plan.io_repeat)')
        return s

    def crawl(self, wl, lang):
        s = self.sleeper('crawl', 'pages', 'crawl_pages', 'crawl_delay_ms',
                         10)
        s.lang = lang
        s.note += ('; on W workers it repeats about W times a process, at '
                   'most %d (plan.crawl_repeat)' % plan.CRAWL_REPEAT_MAX)
        return s

    # ---- overhead: sized so all implementations take the target -------
    def overhead(self, lang):
        """One Size per variant.  A per-task cost is free of size, so the
        count only has to be large enough for a steady state and small
        enough that one repetition of every implementation lasts about the
        target: timed at a probe count, scaled linearly (the cost is per
        task), kept between a floor and the issue's counts (10^5 bulk
        tasks, 5000 round trips, 10^7 map items)."""
        given = self.option('overhead', lang)
        repeat = self.o.repeat or (2 if self.quick else 3)
        if lang == 'c':
            # (variant, probe, floor, ceiling); with --overhead-tasks T:
            # round trips T/20 (at least 100), map items 100 T.
            plan = [('bulk', 10000, 1000, 100000),
                    ('roundtrip', 500, 100, 5000),
                    ('map', 1000000, 100000, 10000000)]
            quick = {'bulk': 300, 'roundtrip': 100, 'map': 30000}
            if given is not None:
                fixed = {'bulk': given,
                         'roundtrip': min(given, max(100, given // 20)),
                         'map': given * 100}
        else:
            plan = [(v, 50, 20, 300) for v in ('bulk', 'roundtrip', 'map')]
            quick = {v: 20 for v, _, _, _ in plan}
            if given is not None:
                fixed = {v: given for v, _, _, _ in plan}
        out = []
        for v, probe, low, high in plan:
            s = Size('overhead', lang, {}, repeat, variant=v,
                     note='per-task cost is free of size; the median of %d '
                     'repetitions is the steady state' % repeat)
            if given is not None:
                s.source, t = 'option', fixed[v]
            elif self.quick:
                s.source, t = 'quick', quick[v]
            else:
                s.source, t = 'calibrated', None
            if self.dry:
                s.params['tasks'] = t if t is not None else 'calibrated'
                s.seq_kernel_s = self.target
                out.append(s)
                continue
            n = t if t is not None else probe
            k, setup = self.run('overhead', lang, [
                '--mode', 'all', '--variant', v, '--workers',
                str(self.ncpu), '--tasks', str(n), '--repeat', '1'])
            k = sum(k)
            s.trials.append((n, k))
            if t is None:
                t = probe * self.target / max(k, 1e-6)
                t = int(float('%.2g' % min(high, max(low, t))))
                k = k * t / probe
                s.note += '; every implementation once: about %.3f s' % k
            s.params['tasks'] = t
            s.seq_kernel_s, s.setup_s = k, setup
            out.append(s)
        return out
