"""The suite's command line: options, the run from start to end, exit codes.

    scripts/bench [options]            a run (make bench, make bench-quick)
    scripts/bench --report-only DIR    redo the outputs of a run
    scripts/bench compare A B [...]    compare two runs (poolbench.compare)

Exit status: 0 done; 1 a benchmark or a tool failed (shown); 2 bad usage;
130/143 interrupted by SIGINT/SIGTERM (nothing left running, no partial
run kept).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback

from . import calibrate, machine, plan, progress, runfolder, runner

PROG = 'bench'
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(HERE)

SIZE_OPTS = [
    ('primes-n', 'N', 'primes below N, C'),
    ('py-primes-n', 'N', 'primes below N, Python'),
    ('sum-n', 'N', '64-bit values to sum, C'),
    ('py-sum-n', 'N', 'values to sum, Python'),
    ('io-tasks', 'T', 'io tasks'),
    ('io-delay-ms', 'D', 'io sleep per task, ms'),
    ('crawl-pages', 'N', 'pages in the crawl\'s site'),
    ('crawl-delay-ms', 'D', 'crawl server delay per response, ms'),
    ('images-n', 'M', 'images to convert, C'),
    ('py-images-n', 'M', 'images to convert, Python'),
    ('overhead-tasks', 'T', 'overhead bulk tasks, C (round trips T/20, map '
     'items 100 T)'),
    ('py-overhead-tasks', 'T', 'overhead tasks, Python'),
    ('chunks-n', 'N', 'primes bound of the chunk sweep, C'),
    ('py-chunks-n', 'N', 'primes bound of the chunk sweep, Python'),
]
COUNT_OPTS = ['rounds', 'runs', 'repeat', 'mpi-startup-repeat']
LIST_OPTS = ['workers', 'io-workers', 'mpi-ranks']
VALUE_OPTS = ['workloads', 'out', 'bin', 'python', 'py-dir', 'report-only',
              'warmup', 'target-s', 'budget-s'] + COUNT_OPTS + LIST_OPTS + \
    [o for o, _, _ in SIZE_OPTS]
FLAG_OPTS = ['quick', 'no-python', 'no-mpi', 'no-timelines', 'dry-run',
             'force',
             'keep-failed', 'verbose']

DEFAULTS = {'rounds': 3, 'runs': 2, 'warmup': 0, 'target_s': 0.5,
            'budget_s': 330.0, 'mpi_startup_repeat': 5}
QUICK = {'rounds': 2, 'runs': 1, 'warmup': 0, 'target_s': 0.05,
         'budget_s': 150.0, 'mpi_startup_repeat': 3}


class Usage(Exception):
    pass


class Options:
    def __init__(self):
        for o in VALUE_OPTS + FLAG_OPTS:
            setattr(self, o.replace('-', '_'), None)
        for o in FLAG_OPTS:
            setattr(self, o.replace('-', '_'), False)
        self.given = set()

    def finish(self):
        table = QUICK if self.quick else DEFAULTS
        for k, v in table.items():
            if getattr(self, k) is None:
                setattr(self, k, v)


def usage_text():
    ncpu = machine.usable_cpus()
    sizes = '\n'.join('  --%-20s%s' % ('%s %s' % (o, m), h)
                      for o, m, h in SIZE_OPTS)
    return """\
usage: scripts/bench [options]       (make bench / make bench-quick)
       scripts/bench --report-only DIR  (redo charts and report.md of a run)
       scripts/bench compare RUN_A RUN_B [--out DIR]  (compare two runs)

Sizes every workload for this machine (calibration), runs the benchmark
programs under hyperfine -- sequential, threaded and forked over a range of
worker counts, in C and Python, and primes and sum on Open MPI ranks when it
is installed -- in interleaved rounds, and writes one run folder with the
samples, charts and report.md.  The terminal shows one line per step with
the time left; everything else goes to the run's log.txt.

Selection:
  --quick               small target and lists: the whole pipeline in well
                        under a minute (what CI runs)
  --workloads LIST      comma list of %(all)s (default: all)
  --workers LIST        worker counts for the CPU-bound workloads
                        (default: 1,2,4,... to twice the CPUs, at most 6
                        values; here: %(w)s)
  --io-workers LIST     worker counts for io and crawl (here: %(io)s)
  --no-python           skip the Python twins (benchmarks/python/*.py)
  --mpi-ranks LIST      MPI ranks for primes and sum; more than the CPUs is
                        oversubscribed (default: as --workers; --quick: 1,2)
  --no-mpi              leave out the Open MPI runs
  --no-timelines        leave out the per-task timelines (traces/ and the
                        Gantt charts of primes, chunks and io)
Sizes (default: calibrated, see --target-s; an option here wins):
  --target-s S          the sequential kernel lasts at least S seconds
                        [0.5; --quick 0.05]
%(sizes)s
Sampling and time:
  --rounds K            interleaved rounds per workload [3; --quick 2]
  --runs N              hyperfine runs per command per round [2; --quick 1]
  --warmup N            hyperfine warm-up runs per command per round [0]
  --repeat R            in-process kernel repetitions per run [calibrated
                        for sum; overhead 3; else 1]
  --mpi-startup-repeat K  times each mpirun start-up is measured [5]
  --budget-s S          cut repetitions and lists (each cut noted in
                        run.json) so the run should fit S seconds
                        [330; --quick 150]
Output:
  --out DIR             the run folder (default results/DATE-TIME-HOST)
  --force               replace DIR if it exists
  --keep-failed         keep a failed run (not an interrupted one) as
                        .failed-NAME beside DIR, to inspect
  --bin DIR             benchmark programs (default: build/release/bin,
                        built first with make; or $POOLBENCH_BIN)
  --python PATH         Python for the twins [/usr/bin/python3]
  --py-dir DIR          the Python twins [benchmarks/python]
  --dry-run             print the steps and commands, run nothing
  --report-only DIR     re-make charts and report.md of an existing run
  --verbose             show hyperfine's and the programs' output too
  -h, --help            this text

Environment: POOLBENCH_BIN (as --bin), POOLBENCH_RESULTS (where runs and
the latest link go; default results/), HYPERFINE, GNUPLOT and MPIRUN (the
tools), MPIRUN_ARGS (extra mpirun options, see scripts/mpi-run.sh).

Exit status: 0 done; 1 a benchmark or a tool failed (shown); 2 bad usage;
130/143 interrupted (nothing left running, no partial run kept).
""" % {'all': ','.join(plan.WORKLOADS),
       'w': ','.join(map(str, plan.default_workers(ncpu))),
       'io': ','.join(map(str, plan.default_workers(ncpu, 'io'))),
       'sizes': sizes}


def parse(argv):
    o = Options()
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ('-h', '--help'):
            sys.stdout.write(usage_text())
            sys.exit(0)
        val = None
        if a.startswith('--') and '=' in a:
            a, val = a.split('=', 1)
        name = a[2:] if a.startswith('--') else None
        if name in FLAG_OPTS and val is None:
            setattr(o, name.replace('-', '_'), True)
            o.given.add(name)
            continue
        if name not in VALUE_OPTS:
            raise Usage('unknown option: %s' % a)
        if val is None:
            if not args or args[0] == '':
                raise Usage('%s needs a value' % a)
            val = args.pop(0)
        if val == '':
            raise Usage('%s needs a value' % a)
        o.given.add(name)
        setattr(o, name.replace('-', '_'), convert(name, val))
    o.finish()
    return o


def convert(name, val):
    if name == 'workloads':
        ws = val.split(',')
        for w in ws:
            if w not in plan.WORKLOADS:
                raise Usage("--workloads: unknown workload '%s' (known: %s)"
                            % (w, ','.join(plan.WORKLOADS)))
        return list(dict.fromkeys(ws))
    if name in LIST_OPTS:
        parts = val.split(',')
        if not all(p.isdigit() and 0 < int(p) <= 100000 and p[0] != '0'
                   for p in parts):
            raise Usage('--%s: not a comma list of counts: %s' % (name, val))
        return list(dict.fromkeys(int(p) for p in parts))
    if name == 'warmup':
        if not val.isdigit() or int(val) > 999:
            raise Usage('--warmup: not a count: %s' % val)
        return int(val)
    if name in ('target-s', 'budget-s'):
        try:
            x = float(val)
        except ValueError:
            x = -1
        if not 0 < x < 1e6:
            raise Usage('--%s: not a positive number of seconds: %s'
                        % (name, val))
        return x
    if name in COUNT_OPTS or name in [s for s, _, _ in SIZE_OPTS]:
        if not val.isdigit() or int(val) < 1 or len(val) > 10:
            raise Usage('--%s: not a positive count: %s' % (name, val))
        return int(val)
    return val


def die(msg, code=1):
    sys.stderr.write('%s: %s\n' % (PROG, msg))
    sys.exit(code)


def need(cmd, pkg):
    if shutil.which(cmd):
        return
    sys.stderr.write('%s: %s is missing; install it with: scripts/setup.sh\n'
                     '%s:   (or, as root: apt-get install -y %s)\n'
                     % (PROG, os.path.basename(cmd), PROG, pkg))
    sys.exit(1)


def write_outputs(run_dir):
    """The reporting half (poolbench.analyse): statistics, charts,
    report.md; returns the "read with care" flags."""
    try:
        from . import analyse
    except ImportError as e:
        if e.name != __package__ + '.analyse':
            raise
        sys.stderr.write('%s: warning: poolbench.analyse is missing: no '
                         'report written\n' % PROG)
        return []
    return analyse.write_outputs(run_dir) or []


def check_run(run_dir):
    checker = os.path.join(HERE, 'check-run.sh')
    return checker if os.path.exists(checker) else None


def print_flags(flags, out=sys.stdout):
    if flags:
        out.write('%s: read with care:\n' % PROG)
        for f in flags:
            out.write('%s:   %s\n' % (PROG, f))
        out.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == 'compare':
        from . import compare
        return compare.main(argv[1:])
    try:
        o = parse(argv)
    except Usage as e:
        sys.stderr.write('%s: %s\nusage: scripts/bench [--quick] '
                         '[--workloads LIST] [--workers LIST] ... (see '
                         '--help)\n' % (PROG, e))
        return 2
    hyperfine = os.environ.get('HYPERFINE') or 'hyperfine'
    gnuplot = os.environ.get('GNUPLOT') or 'gnuplot'
    os.environ['GNUPLOT'] = gnuplot
    need(gnuplot, 'gnuplot-nox')

    if o.report_only:
        if not os.path.isdir(o.report_only):
            die('--report-only: no such run folder: %s' % o.report_only)
        print_flags(write_outputs(o.report_only))
        checker = check_run(o.report_only)
        if checker:
            os.execv(checker, [checker, o.report_only])
        return 0

    need(hyperfine, 'hyperfine')
    return Suite(o, hyperfine, gnuplot).main()


def ignore_signals():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def hosts_samples(recs, hosts):
    """The hosts step's samples: workload "hosts", the base variant, and
    from the record's variant suffixes: hosts (1, or N of "+Nhosts"),
    across_hosts, what ("sum", or "moved" for "+moved": bytes = n,
    gbps = n / kernel_s / 1e9) and oversub."""
    out = []
    for rec in recs:
        parts = (rec.get('variant') or '-').split('+')
        nh = [int(p[:-5]) for p in parts[1:]
              if p.endswith('hosts') and p[:-5].isdigit()]
        moved = 'moved' in parts[1:]
        k = rec.get('kernel_s')
        s = {'workload': 'hosts', 'lang': rec.get('lang') or 'c',
             'mode': rec.get('mode') or 'mpi', 'variant': parts[0],
             'oversub': 'oversub' in parts[1:],
             'hosts': nh[0] if nh else 1, 'across_hosts': bool(nh),
             'what': 'moved' if moved else 'sum'}
        for f in ('workers', 'n', 'chunk', 'tasks', 'rep'):
            s[f] = rec.get(f)
        s['round'] = 1
        for f in ('kernel_s', 'setup_s', 'user_s', 'sys_s', 'result',
                  'expected', 'check'):
            s[f] = rec.get(f)
        s['bytes'] = rec.get('n') if moved else None
        s['gbps'] = rec['n'] / k / 1e9 if moved and k and rec.get('n') \
            else None
        s['params'] = {'n': hosts['n'], 'hosts': hosts['hosts']}
        out.append(s)
    return out


class Suite:
    def __init__(self, o, hyperfine, gnuplot):
        self.o = o
        self.hyperfine = hyperfine
        self.gnuplot = gnuplot
        self.progress = progress.Progress(PROG, verbose=o.verbose)
        self.ncpu = machine.usable_cpus()
        self.folder = None
        self.runner = None
        self.samples = []
        self.walls = []
        self.background = {}
        self.cuts = []
        self.py_threads_one_chunk = False  # a --budget-s cut
        self.skipped = {}
        self.step_seconds = {}

    # ---- set-up ---------------------------------------------------------
    def programs(self):
        o = self.o
        bin_dir = o.bin or os.environ.get('POOLBENCH_BIN')
        if not bin_dir:
            bin_dir = os.path.join(ROOT, 'build', 'release', 'bin')
            if not os.environ.get('MAKELEVEL') and not o.dry_run:
                self.progress.say('building (make) ...')
                if subprocess.run(['make', '-s', '-C', ROOT, 'all'],
                                  stdout=subprocess.DEVNULL).returncode:
                    die('make failed')
        if not os.path.isdir(bin_dir):
            die('no benchmark programs in %s (run make)' % bin_dir)
        self.bin = os.path.abspath(bin_dir)
        self.python = o.python or '/usr/bin/python3'
        self.pydir = os.path.abspath(o.py_dir or os.path.join(
            ROOT, 'benchmarks', 'python'))
        if not o.no_python and not os.access(self.python, os.X_OK):
            die('--python: %s is not executable' % self.python)
        self.mpirun = os.environ.get('MPIRUN') or 'mpirun'
        os.environ['POOLBENCH_BIN'] = self.bin

    def have(self, wl, lang):
        if lang == 'c':
            return os.access(os.path.join(self.bin, wl), os.X_OK)
        return not self.o.no_python and os.path.isfile(
            os.path.join(self.pydir, wl + '.py'))

    def have_mpirun(self):
        return bool(shutil.which(self.mpirun))

    def have_mpi(self, wl):
        return (not self.o.no_mpi and self.have_mpirun() and
                os.access(os.path.join(self.bin, 'mpi', wl), os.X_OK))

    def lists(self):
        o = self.o
        if o.quick:
            self.workers = o.workers or [1, 2, 2 * self.ncpu]
            self.io_workers = o.io_workers or [1, 4, 16]
        else:
            self.workers = o.workers or plan.default_workers(self.ncpu)
            self.io_workers = o.io_workers or plan.default_workers(
                self.ncpu, 'io')
        self.workers = list(dict.fromkeys(self.workers))
        self.io_workers = list(dict.fromkeys(self.io_workers))
        self.mpi_ranks = o.mpi_ranks or o.workers or (
            [1, 2] if o.quick else self.workers)
        self.py_workers = list(self.workers)

    def choose_workloads(self):
        wanted = self.o.workloads or plan.WORKLOADS
        self.workloads = []
        for wl in wanted:
            if self.have(wl, 'c') or self.have(wl, 'python'):
                self.workloads.append(wl)
            else:
                self.skipped[wl] = 'no program (not in %s or %s)' % (
                    self.bin, self.pydir)
        if self.skipped:
            self.progress.warn('no program for: %s (not in %s or %s); '
                               'skipped' % (','.join(self.skipped), self.bin,
                                            self.pydir))
        if not self.workloads:
            die('nothing to run: no benchmark program found in %s' % self.bin)
        mpi_wl = [w for w in self.workloads if w in ('primes', 'sum')
                  and self.have(w, 'c')]
        self.mpi_used = any(self.have_mpi(w) for w in mpi_wl)
        if not self.o.no_mpi and mpi_wl and not self.mpi_used:
            if not self.have_mpirun():
                self.progress.warn(
                    'note: %s not found: the Open MPI runs are left out '
                    '(install Open MPI with scripts/setup.sh, then make)'
                    % self.mpirun)
            else:
                self.progress.warn(
                    'note: no MPI programs in %s/mpi (make builds them when '
                    'mpicc is there): the Open MPI runs are left out'
                    % self.bin)

    def rig(self):
        return os.environ.get('POOLBENCH_MPI_HOSTS') or \
            os.path.join(HERE, 'mpi-hosts.sh')

    def choose_hosts(self):
        """The hosts step (plan.HOSTS): with the C sum, its MPI program and
        a rig this machine allows (`mpi-hosts.sh check`: 0 yes, 3 no and
        why on stderr, anything else a failure).  Skipped with the reason
        in run.json otherwise."""
        self.hosts = None
        if 'sum' not in self.workloads:
            return
        why = None
        if self.o.no_mpi:
            why = '--no-mpi'
        elif not self.have_mpi('sum'):
            why = 'no Open MPI (%s or %s/mpi/sum missing)' % (
                self.mpirun, self.bin)
        elif not os.access(self.rig(), os.X_OK):
            why = 'no rig script %s' % self.rig()
        else:
            p = subprocess.run([self.rig(), 'check'], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            err = ' '.join(p.stderr.split())
            if p.returncode == 3:
                why = 'the machine does not allow namespace hosts: %s' % (
                    err or 'mpi-hosts.sh check said no')
            elif p.returncode != 0:
                die('%s check failed (exit %d): %s' % (
                    self.rig(), p.returncode, err or 'no message'))
        if why:
            self.skipped['hosts'] = why
            # Without Open MPI the note above already said so.
            if not self.o.no_mpi and self.have_mpi('sum'):
                self.progress.warn('note: the hosts step is left out: %s'
                                   % why)
            return
        self.hosts = dict(plan.HOSTS_QUICK if self.o.quick else plan.HOSTS)

    def context(self):
        return plan.Context(
            bin=self.bin, python=self.python, pydir=self.pydir,
            ncpu=self.ncpu, workers=self.workers, io_workers=self.io_workers,
            py_workers=self.py_workers,
            mpi_ranks=self.mpi_ranks, have_mpi=self.have_mpi,
            mpi_run=os.path.join(HERE, 'mpi-run.sh'), mpi_used=self.mpi_used,
            mpi_startup_repeat=self.o.mpi_startup_repeat,
            hosts=self.hosts, timelines=not self.o.no_timelines,
            py_threads_one_chunk=self.py_threads_one_chunk,
            background_s=self.background_s())

    def background_s(self):
        return 0.25 if self.o.quick else 1.0

    def warmup_for(self, wl):
        return self.o.warmup

    def runs_for(self, wl):
        # overhead and chunks time many kernels per run already (every
        # implementation, every chunk size): one run per round.
        if 'runs' not in self.o.given and wl in ('overhead', 'chunks'):
            return 1
        return self.o.runs

    def steps(self, sizes):
        return plan.make_steps(self.context(), sizes, self.workloads,
                               self.o.rounds, self.warmup_for, self.runs_for)

    # ---- fitting the budget --------------------------------------------
    def fit(self, sizes, spent):
        """Cuts what the user did not set until the plan's estimate fits
        --budget-s (less the time spent calibrating).  Returns the steps."""
        o = self.o
        budget = o.budget_s - spent
        steps = self.steps(sizes)

        def total():
            return sum(s.estimate_s for s in steps)

        def cut_runs():
            if 'runs' in o.given or o.runs <= 1:
                return None
            was, o.runs = o.runs, 1
            return 'runs per command and round %d -> 1' % was

        def cut_oversub_mpi():
            if 'mpi-ranks' in o.given or 'workers' in o.given or \
                    not self.mpi_used:
                return None
            keep = [r for r in self.mpi_ranks if r <= self.ncpu]
            if keep == self.mpi_ranks:
                return None
            self.mpi_ranks = keep
            return 'oversubscribed MPI ranks left out (ranks %s)' % ','.join(
                map(str, keep))

        def cut_python_workers():
            if 'workers' in o.given or o.no_python:
                return None
            keep = [w for w in self.py_workers if w <= self.ncpu]
            if keep == self.py_workers or not keep:
                return None
            self.py_workers = keep
            return 'Python twins: worker counts above the CPUs left out ' \
                '(workers %s)' % ','.join(map(str, keep))

        def cut_repeat():
            # Last: the kernels of a process then add up to less than the
            # target (calibration.json says so, and the report flags it).
            if 'repeat' in o.given:
                return None
            # Not overhead's: its figure is the median of 3 repetitions,
            # the first of which warms caches and allocator up; with 2, the
            # median is their mean and the cold one counts half (the
            # reference run of 0ac3faf said 1.08 us for a 250 ns task).
            cut = False
            for s in sizes.values():
                if s.repeat > 2 and s.workload == 'sum':
                    s.repeat = max(2, s.repeat // 2)
                    s.note += '; repetitions halved to fit --budget-s'
                    cut = True
            return 'in-process repetitions of sum halved' if cut else None

        def cut_py_chunk_sweep():
            # Python's threads pay a task per item at every chunk size
            # (ThreadPoolExecutor ignores chunksize): 10 s or more a size.
            if o.no_python or 'chunks' not in self.workloads or \
                    'chunks-n' in o.given or 'py-chunks-n' in o.given or \
                    self.py_threads_one_chunk:
                return None
            self.py_threads_one_chunk = True
            return 'chunks: Python threads at the smallest chunk size only'

        def cut_hosts():
            # The hosts step (its estimate is in total()): two
            # repetitions instead of three, its mpirun starts stay.
            h = self.hosts
            if not h or 'repeat' in o.given or h['repeat'] <= 2:
                return None
            h['repeat'] = 2
            return 'hosts step: repetitions 3 -> 2'

        def cut_rounds():
            if 'rounds' in o.given or o.rounds <= 2:
                return None
            o.rounds -= 1
            return 'rounds %d -> %d' % (o.rounds + 1, o.rounds)

        for cut in (cut_runs, cut_oversub_mpi, cut_python_workers,
                    cut_hosts, cut_rounds, cut_py_chunk_sweep, cut_repeat):
            before = total()
            if before <= budget:
                break
            what = cut()
            if what:
                steps = self.steps(sizes)
                self.cuts.append({'cut': what, 'estimate_before_s':
                                  round(before + spent, 1),
                                  'estimate_after_s': round(total() + spent,
                                                            1)})
                self.progress.say('to fit --budget-s %g: %s (estimate %s -> '
                                  '%s)' % (o.budget_s, what,
                                           progress.clock(before + spent),
                                           progress.clock(total() + spent)))
        if total() > budget:
            self.progress.warn('the estimate, %s, is over --budget-s %g '
                               'even after the cuts' % (
                                   progress.clock(total() + spent),
                                   o.budget_s))
        return steps

    # ---- the run ---------------------------------------------------------
    def main(self):
        o = self.o
        self.programs()
        self.lists()
        results_dir = os.environ.get('POOLBENCH_RESULTS') or \
            os.path.join(ROOT, 'results')
        self.folder = runfolder.RunFolder(results_dir, o.out, o.force)
        problem = self.folder.exists_problem()
        if problem:
            die(problem)
        self.choose_workloads()
        self.choose_hosts()
        if o.dry_run:
            return self.dry_run()
        self.runner = runner.Runner(self.progress, o.verbose)
        self.runner.install_signals()
        code = 0
        try:
            self.folder.create()
            self.progress.log_file = open(self.folder.path('log.txt'), 'a')
            self.run()
        except runner.Interrupted as e:
            ignore_signals()
            sys.stderr.write('\n%s: %s: stopping\n' % (PROG, e.why))
            if self.runner:
                self.runner.stop()
            self.folder.discard()
            sys.stderr.write('%s: interrupted; no benchmark left running, '
                             'partial run removed\n' % PROG)
            code = e.code
        except runner.Failure as e:
            ignore_signals()        # a Ctrl-C now would stop the clean-up
            self.runner.stop()
            sys.stderr.write('%s: %s\n' % (PROG, e))
            self.fail()
            code = 1
        except BaseException:
            ignore_signals()
            self.runner.stop()
            self.fail()
            raise
        finally:
            if self.progress.log_file:
                self.progress.log_file.close()
                self.progress.log_file = None
        return code

    def fail(self):
        kept = self.folder.discard(self.o.keep_failed)
        if kept:
            sys.stderr.write('%s: the failed run is in %s\n' % (PROG, kept))
        else:
            sys.stderr.write('%s: run not kept (nothing under %s changed)\n'
                             % (PROG, self.folder.parent))

    def dry_run(self):
        o = self.o
        cal = calibrate.Calibrator(o, self.ncpu, machine.llc_bytes(),
                                   machine.memory_bytes(), None,
                                   self.io_workers, self.have)
        sizes = cal.sizes(self.workloads)
        steps = self.fit(sizes, 0.0)
        total = sum(s.estimate_s for s in steps)
        print('%s: dry run: %d steps, run folder would be %s; about %s '
              '(sizes still to calibrate for a %g s kernel)' % (
                  PROG, len(steps), self.folder.out, progress.clock(total),
                  o.target_s))
        for i, st in enumerate(steps, 1):
            print('step %d of %d: %s (about %s)' % (
                i, len(steps), st.label, progress.clock(st.estimate_s)))
            for g in st.groups:
                print('  %s %s %s' % (
                    self.hyperfine, ' '.join(g.hyperfine_args()),
                    plan.quote(g.template('r%d-%s.records.csv' % (
                        st.round, g.gid)))))
            if st.kind == 'mpi-startup':
                for r in self.mpi_ranks:
                    print('  %s -n %d --startup --repeat %d --format csv '
                          '--out mpi-startup.csv' % (
                              os.path.join(HERE, 'mpi-run.sh'), r,
                              o.mpi_startup_repeat))
            if st.kind == 'hosts':
                print('  POOLBENCH_BIN=%s %s %s' % (
                    self.bin, self.rig(), ' '.join(plan.hosts_args(
                        self.hosts))))
        return 0

    def measure_fn(self):
        cal_dir = self.folder.path('raw', 'calibration')
        os.makedirs(cal_dir, exist_ok=True)

        def measure(wl, lang, args):
            prog = [os.path.join(self.bin, wl)] if lang == 'c' else \
                [self.python, os.path.join(self.pydir, wl + '.py')]
            n = len(os.listdir(cal_dir)) + 1
            out = os.path.join(cal_dir, '%02d-%s-%s.records.csv' % (
                n, wl, lang))
            return self.runner.measure(prog + args, out)
        return measure

    def run(self):
        o = self.o
        p = self.progress
        started_utc = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        t0 = time.monotonic()
        facts = machine.facts(ROOT, self.bin, self.hyperfine, self.gnuplot,
                              self.python)
        runfolder.write_json(self.folder.path('machine.json'), facts)
        p.say('%d usable CPUs; run folder %s (built in %s)' % (
            self.ncpu, self.folder.out, self.folder.tmp))
        if facts.get('dirty'):
            p.warn('note: the work tree has uncommitted changes (commit %s); '
                   'machine.json says so' % facts.get('commit'))
        p.say('calibrating sizes for a %g s sequential kernel ...'
              % o.target_s)
        cal = calibrate.Calibrator(o, self.ncpu, facts['llc_bytes'],
                                   facts['memory_bytes'], self.measure_fn(),
                                   self.io_workers, self.have, p.say)
        sizes = self.sizes = cal.sizes(self.workloads)
        for s in sizes.values():
            p.log('calibrated: %s' % json.dumps(s.entry()))
        runfolder.write_json(self.folder.path('calibration.json'), {
            'target_s': o.target_s,
            'entries': [s.entry() for s in sizes.values()]})
        spent = time.monotonic() - t0
        p.say('calibrated in %s (calibration.json)' % progress.clock(spent))
        steps = self.fit(sizes, spent)
        if self.cuts:
            runfolder.write_json(self.folder.path('calibration.json'), {
                'target_s': o.target_s,
                'entries': [s.entry() for s in sizes.values()]})
        p.plan([(s.label, s.estimate_s) for s in steps])
        p.say('%d steps, about %s; workers %s, io workers %s%s; %d rounds '
              'x (%d warm-up + %d runs) per command' % (
                  len(steps), progress.clock(sum(s.estimate_s for s in steps)),
                  ','.join(map(str, self.workers)),
                  ','.join(map(str, self.io_workers)),
                  '; MPI ranks ' + ','.join(map(str, self.mpi_ranks))
                  if self.mpi_used else '', o.rounds, o.warmup, o.runs))
        marks = {}
        for i, st in enumerate(steps):
            if i:
                self.step_seconds[i - 1] = round(time.monotonic() - begun, 1)
            begun = time.monotonic()
            p.begin(i)
            if st.kind == 'round':
                self.run_round(st, marks)
            elif st.kind == 'mpi-startup':
                self.mpi_startup()
            elif st.kind == 'hosts':
                self.hosts_step()
            elif st.kind == 'timelines':
                self.timelines_step()
            else:
                self.finish_run(started_utc, t0, steps)
        p.finish()

    def run_round(self, st, marks):
        wl = st.workload
        raw = self.folder.path('raw', wl)
        os.makedirs(raw, exist_ok=True)
        bg = runner.Background()
        if st.round == 1:
            idle = bg.idle(self.background_s())
            runfolder.write_atomic(os.path.join(raw, 'background-busy.txt'),
                                   '%d\n' % round(100 * (idle or 0)))
            self.progress.log('before %s, other processes kept the CPUs '
                              '%d%% busy' % (wl, round(100 * (idle or 0))))
            self.background[wl] = {'idle_busy_fraction': idle}
            marks[wl] = (bg.start(), time.monotonic())
        for g in st.groups:
            s, w = self.runner.run_group(self.hyperfine, g, st.round, raw)
            self.samples += s
            self.walls += w
        runfolder.write_jsonl(self.folder.path('samples.jsonl'), self.samples)
        runfolder.write_jsonl(self.folder.path('walls.jsonl'), self.walls)
        if st.round == self.o.rounds:
            mark, since = marks[wl]
            busy = bg.busy(mark)
            self.background[wl].update(
                busy_fraction=busy, seconds=round(time.monotonic() - since, 1))
            if busy is not None and busy > 0.10:
                self.progress.warn('warning: other processes kept the CPUs '
                                   '%d%% busy while %s ran' % (
                                       round(100 * busy), wl))
            runfolder.write_json(self.folder.path('background.json'),
                                 self.background)

    def mpi_startup(self):
        raw = self.folder.path('raw', 'mpi-startup')
        os.makedirs(raw, exist_ok=True)
        rows = []
        for r in self.mpi_ranks:
            out = os.path.join(raw, 'np%d.records.csv' % r)
            argv = [os.path.join(HERE, 'mpi-run.sh'), '-n', str(r),
                    '--startup', '--repeat', str(self.o.mpi_startup_repeat),
                    '--format', 'csv']
            for rec in self.runner.measure(argv, out):
                v = rec.get('variant') or ''
                oversub = v.endswith('+oversub')
                v = v.replace('+oversub', '')
                what = {'launch': 'launcher', 'startup': 'empty'}.get(v, v)
                rows.append({'ranks': r, 'what': what,
                             'seconds': rec.get('kernel_s'),
                             'oversub': oversub})
            times = {}
            for row in rows:
                if row['ranks'] == r:
                    times.setdefault(row['what'], []).append(row['seconds'])
            self.progress.log('  %d ranks: %s' % (r, '; '.join(
                '%s %s s' % (k, ' '.join('%.3f' % x for x in v))
                for k, v in sorted(times.items()))))
        runfolder.write_jsonl(self.folder.path('mpi-startup.jsonl'), rows)

    def timelines_step(self):
        """The traced runs (poolbench.timelines), sized now that the
        chunk sweep's samples name its best chunk size."""
        from . import timelines
        sp = timelines.specs(self.context(), self.sizes, self.workloads,
                             self.samples)
        timelines.run(sp, self.folder, self.runner, self.progress)

    def hosts_step(self):
        """Runs the rig's bench (its CSV on stdout into raw/hosts/), one
        sample per record, labelled from the record: variant "static+2hosts
        +moved" is base variant static, across 2 hosts, the transfer."""
        raw = self.folder.path('raw', 'hosts')
        os.makedirs(raw, exist_ok=True)
        out = os.path.join(raw, 'bench.records.csv')
        argv = ['/bin/sh', '-c', 'out=$1; shift; exec "$@" >"$out"', 'sh',
                out, self.rig()] + plan.hosts_args(self.hosts)
        tail = []
        rc = self.runner.run(argv, tail=tail)
        if rc == 3:
            why = ' '.join(' '.join(tail[-3:]).split()) or \
                'mpi-hosts.sh bench: not permitted'
            self.skipped['hosts'] = why
            self.progress.warn('note: the hosts step was not permitted: %s'
                               % why)
            return
        recs = runner.read_records(out)
        bad = [r for r in recs if r.get('check') not in (None, 'ok')]
        if rc != 0 or bad or not recs:
            raise runner.Failure('FAILED (exit %d): %s\n%s' % (
                rc, ' '.join(argv[5:]), '\n'.join(
                    '    ' + t for t in tail[-15:]) or '    (no output)'))
        self.samples += hosts_samples(recs, self.hosts)
        runfolder.write_jsonl(self.folder.path('samples.jsonl'), self.samples)

    def check(self, run_dir):
        """The run checker's problems with the folder (poolbench.check_run,
        else scripts/check-run.sh); [] when it is complete."""
        try:
            from . import check_run as checker
        except ImportError:
            checker = None
        if checker is not None and hasattr(checker, 'check'):
            return checker.check(run_dir, False)
        script = check_run(run_dir)
        tail = []
        if script and self.runner.run([script, run_dir], tail=tail) != 0:
            return tail or ['check-run.sh failed']
        return []

    def run_json(self, started_utc, t0, steps, final=False):
        o = self.o
        return {
            'schema': 1, 'name': self.folder.name, 'started_utc': started_utc,
            'finished_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
            if final else None,
            'duration_s': round(time.monotonic() - t0, 1),
            'command': ['scripts/bench'] + sys.argv[1:],
            'quick': o.quick, 'target_s': o.target_s, 'ncpu': self.ncpu,
            'rounds': o.rounds, 'runs': o.runs, 'warmup': o.warmup,
            'workloads': self.workloads, 'skipped': self.skipped,
            'workers': self.workers, 'io_workers': self.io_workers,
            'py_workers': self.py_workers,
            'mpi_ranks': self.mpi_ranks if self.mpi_used else [],
            'python': not o.no_python, 'mpi': self.mpi_used,
            'verbose': o.verbose, 'budget_s': o.budget_s,
            'estimate_s': round(sum(s.estimate_s for s in steps), 1),
            'cuts': self.cuts, 'bin': self.bin,
            'steps': [{'label': s.label, 'estimate_s': round(s.estimate_s, 1),
                       'seconds': self.step_seconds.get(i)}
                      for i, s in enumerate(steps)],
        }

    def finish_run(self, started_utc, t0, steps):
        """The last step: run.json, REPORT's outputs, the run checker,
        then publish and point latest at it."""
        tmp = self.folder.tmp
        runfolder.write_json(os.path.join(tmp, 'run.json'),
                             self.run_json(started_utc, t0, steps))
        try:
            flags = write_outputs(tmp)
        except Exception as e:
            self.progress.log(traceback.format_exc())
            raise runner.Failure(
                'the report step failed: %s: %s (traceback in log.txt; '
                'with --keep-failed the run is kept, to retry with '
                '--report-only)' % (type(e).__name__, e))
        problems = self.check(tmp)
        if problems:
            raise runner.Failure('the run folder failed its own check:\n'
                                 + '\n'.join('    ' + t for t in problems))
        runfolder.write_json(os.path.join(tmp, 'run.json'),
                             self.run_json(started_utc, t0, steps, True))
        self.progress.finish()
        # A signal between the renames would leave the old run moved away:
        # hold them off until latest points at the new one.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {
            signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        try:
            self.progress.log('done in %s' % progress.clock(
                time.monotonic() - t0))
            self.progress.log_file.close()
            self.progress.log_file = None
            out = self.folder.publish()
            # Published: a signal now has nothing left to undo.
            ignore_signals()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self.progress.say('done in %s' % progress.clock(time.monotonic() - t0))
        print_flags(flags)
        self.progress.say('report: %s' % os.path.join(out, 'report.md'))
        # The page to open (poolbench.html writes it with the report).
        self.progress.say('open: xdg-open %s' % os.path.join(
            out, 'report.html'))
