"""The suite end to end, against scripts/mockbench.py instead of the real
programs.

The mock speaks the programs' record contract but only sleeps for a
modelled kernel time, so the whole pipeline -- calibration, hyperfine
rounds, samples, statistics, charts, report, run checker, compare -- runs
in seconds and its figures are exact.  These tests pin down the promises
scripts/bench makes: bad usage exits 2 and says what is wrong; a missing
tool is named with its install command; a benchmark failing its check
stops the suite naming the command and its message and leaves no run;
SIGINT, SIGTERM, and SIGTERM to `make` leave no process and no half-built
folder; a complete run has every file of the run-folder contract, labels
on every sample, and results/latest points at it; the sizes are
calibrated and an explicit size wins; the terminal stays quiet; Open MPI
runs through a mock mpirun.  No test asserts a timing.

    /usr/bin/python3 -m unittest discover -s scripts/tests -t scripts -v
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(HERE, 'bench')
MOCK = os.path.join(HERE, 'mockbench.py')
CHECK_RUN = os.path.join(HERE, 'check-run.sh')
COMPARE = os.path.join(HERE, 'compare.sh')
WORKLOADS = ['primes', 'sum', 'io', 'overhead', 'chunks', 'crawl', 'images']

SCRATCH = None


def setUpModule():
    global SCRATCH
    SCRATCH = tempfile.mkdtemp(prefix='poolbench-suite-test.')
    for d in ('bin', 'py', 'results', 'mbin/mpi'):
        os.makedirs(os.path.join(SCRATCH, d))
    for p in WORKLOADS:
        os.symlink(MOCK, os.path.join(SCRATCH, 'bin', p))
        os.symlink(MOCK, os.path.join(SCRATCH, 'py', p + '.py'))
    for p in ('primes', 'sum'):
        os.symlink(MOCK, os.path.join(SCRATCH, 'mbin', p))
        os.symlink(MOCK, os.path.join(SCRATCH, 'mbin', 'mpi', p))
    os.symlink(MOCK, os.path.join(SCRATCH, 'mpirun'))
    # The hosts step's rig (scripts/mpi-hosts.sh): the mock, always, so no
    # test makes network namespaces.
    os.symlink(MOCK, os.path.join(SCRATCH, 'mpi-hosts'))


def tearDownModule():
    shutil.rmtree(SCRATCH, ignore_errors=True)


def scratch(*parts):
    return os.path.join(SCRATCH, *parts)


def small(results='results'):
    """Options for a fast run on the mock: a tiny target, few values."""
    return ['--bin', scratch('bin'), '--py-dir', scratch('py'), '--quick',
            '--target-s', '0.01', '--io-delay-ms', '1', '--crawl-delay-ms',
            '1', '--overhead-tasks', '100', '--py-overhead-tasks', '20']


def env_for(results='results', **extra):
    env = dict(os.environ)
    for k in ('POOLBENCH_BIN', 'MAKELEVEL', 'MAKEFLAGS', 'MFLAGS',
              'MOCKBENCH_FAIL', 'MOCKBENCH_SLEEP', 'HYPERFINE', 'GNUPLOT',
              'MPIRUN'):
        env.pop(k, None)
    env['POOLBENCH_RESULTS'] = scratch(results)
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    env['POOLBENCH_MPI_HOSTS'] = scratch('mpi-hosts')
    for k in ('MOCKBENCH_HOSTS_CHECK', 'MOCKBENCH_HOSTS_BENCH'):
        env.pop(k, None)
    env.update(extra)
    return env


def bench(*args, results='results', **env):
    p = subprocess.run([BENCH] + list(args), env=env_for(results, **env),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def mock_processes():
    """Processes whose command line mentions the scratch folder."""
    found = []
    for e in os.listdir('/proc'):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % e, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if SCRATCH in cmd:
            found.append((int(e), cmd))
    return found


def wait_gone(seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = mock_processes()
        if not left:
            return []
        time.sleep(0.1)
    return mock_processes()


def hidden_entries(results='results'):
    d = scratch(results)
    return [e for e in os.listdir(d) if e.startswith('.')] \
        if os.path.isdir(d) else []


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def is_png(path):
    try:
        with open(path, 'rb') as f:
            head = f.read(24)
    except OSError:
        return False
    return head[:8] == b'\x89PNG\r\n\x1a\n' and len(head) == 24


def summary_config(run, **labels):
    doc = read_json(os.path.join(run, 'summary.json'))
    for c in doc['configs']:
        if all(c.get(k) == v for k, v in labels.items()):
            return c
    return None


class BadUsage(unittest.TestCase):
    def test_unknown_option_exits_2_and_is_named(self):
        rc, _, err = bench('--no-such-option')
        self.assertEqual(rc, 2)
        self.assertIn('unknown option: --no-such-option', err)

    def test_worker_count_zero_exits_2(self):
        rc, _, err = bench('--workers', '0,2')
        self.assertEqual(rc, 2)
        self.assertIn('--workers: not a comma list of counts', err)

    def test_unknown_workload_exits_2(self):
        rc, _, err = bench('--workloads', 'primes,nonsense')
        self.assertEqual(rc, 2)
        self.assertIn("unknown workload 'nonsense'", err)

    def test_option_without_value_exits_2(self):
        rc, _, err = bench('--rounds')
        self.assertEqual(rc, 2)
        self.assertIn('--rounds needs a value', err)

    def test_bad_target_exits_2(self):
        rc, _, err = bench('--target-s', 'soon')
        self.assertEqual(rc, 2)
        self.assertIn('--target-s', err)

    def test_help_exits_0_with_the_options(self):
        rc, out, _ = bench('--help')
        self.assertEqual(rc, 0)
        for opt in ('--workloads LIST', '--target-s S', '--budget-s S',
                    '--primes-n N', '--report-only DIR', '--verbose'):
            self.assertIn(opt, out)


class MissingTools(unittest.TestCase):
    def test_missing_hyperfine_exits_1_naming_the_install_command(self):
        rc, _, err = bench(*small(), HYPERFINE='/nonexistent/hyperfine')
        self.assertEqual(rc, 1)
        self.assertIn('apt-get install -y hyperfine', err)

    def test_missing_gnuplot_names_the_install_command(self):
        rc, _, err = bench(*small(), GNUPLOT='/nonexistent/gnuplot')
        self.assertEqual(rc, 1)
        self.assertIn('apt-get install -y gnuplot-nox', err)

    def test_missing_programs_folder_fails(self):
        rc, _, err = bench('--bin', scratch('nowhere'), '--quick')
        self.assertEqual(rc, 1)
        self.assertIn('no benchmark programs in', err)


class DryRun(unittest.TestCase):
    def test_dry_run_lists_steps_and_reversed_parameter_lists(self):
        rc, out, _ = bench(*small(), '--dry-run', '--workloads', 'primes',
                           results='results-dry')
        self.assertEqual(rc, 0)
        self.assertIn('step 1 of', out)
        self.assertIn('-L mode threads,procs -L workers 1,2,4', out)
        self.assertIn('-L mode procs,threads -L workers 4,2,1', out)
        self.assertFalse(os.listdir(scratch('results-dry'))
                         if os.path.isdir(scratch('results-dry')) else [])

    def test_dry_run_shows_an_explicit_size_and_the_estimate(self):
        rc, out, _ = bench(*small(), '--dry-run', '--workloads', 'primes',
                           '--primes-n', '12345', results='results-dry')
        self.assertEqual(rc, 0)
        self.assertIn('--n 12345', out)
        self.assertRegex(out, r'about \d+:\d\d')


class CompleteRun(unittest.TestCase):
    """One run of every workload on the mock, checked from every side."""

    @classmethod
    def setUpClass(cls):
        cls.rundir = scratch('results', 'run-a')
        cls.rc, cls.out, cls.err = bench(*small(), '--out', cls.rundir)

    def test_succeeds(self):
        self.assertEqual(self.rc, 0, self.err[-2000:])

    def test_the_run_folder_is_in_place(self):
        for f in ('run.json', 'machine.json', 'calibration.json',
                  'samples.jsonl', 'walls.jsonl', 'background.json',
                  'log.txt', 'report.md', 'summary.json'):
            self.assertTrue(os.path.isfile(os.path.join(self.rundir, f)), f)

    def test_latest_points_at_it(self):
        self.assertEqual(os.readlink(scratch('results', 'latest')), 'run-a')

    def test_no_temporary_folder_or_file_is_left(self):
        self.assertEqual(hidden_entries(), [])
        for dirpath, _, files in os.walk(self.rundir):
            for f in files:
                self.assertNotIn('.part', f, os.path.join(dirpath, f))

    def test_check_run_passes(self):
        p = subprocess.run([CHECK_RUN, self.rundir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_one_line_per_step_with_the_time_left(self):
        self.assertRegex(self.out, r'\[ ?1/\d+\] 0:\d\d elapsed, about '
                         r'\d+:\d\d left: primes, round 1 of 2')

    def test_the_terminal_is_quiet(self):
        self.assertNotIn('times faster than', self.out + self.err)
        self.assertNotIn('Benchmark 1', self.out + self.err)
        self.assertLess(len(self.out.splitlines()), 40)

    def test_hyperfine_output_goes_to_the_log(self):
        with open(os.path.join(self.rundir, 'log.txt')) as f:
            log = f.read()
        self.assertIn('Benchmark 1', log)

    def test_the_report_path_ends_the_output(self):
        self.assertIn(os.path.join(self.rundir, 'report.md'), self.out)
        self.assertTrue(self.out.rstrip().endswith(
            'xdg-open ' + os.path.join(self.rundir, 'report.html')))

    def test_charts_are_pngs(self):
        charts = os.path.join(self.rundir, 'charts')
        pngs = [f for f in os.listdir(charts) if f.endswith('.png')]
        self.assertTrue(pngs)
        for f in pngs:
            self.assertTrue(is_png(os.path.join(charts, f)), f)
        for wl in ('primes', 'sum', 'io', 'overhead', 'chunks'):
            self.assertTrue(any(wl in f for f in pngs), wl)

    def test_hyperfine_json_export_is_kept_with_parameters(self):
        with open(os.path.join(self.rundir, 'raw', 'primes',
                               'r1-c-par.json')) as f:
            self.assertIn('"parameters"', f.read())

    def test_every_sample_carries_its_labels(self):
        samples = read_jsonl(os.path.join(self.rundir, 'samples.jsonl'))
        self.assertTrue(samples)
        for s in samples:
            for k in ('workload', 'lang', 'mode', 'variant', 'oversub',
                      'workers', 'n', 'chunk', 'tasks', 'rep', 'round',
                      'kernel_s', 'setup_s', 'check', 'params'):
                self.assertIn(k, s)
            self.assertEqual(s['check'], 'ok')
        self.assertEqual({s['workload'] for s in samples}, set(WORKLOADS))
        self.assertEqual({s['round'] for s in samples}, {1, 2})

    def test_every_wall_time_carries_hyperfines_parameters(self):
        walls = read_jsonl(os.path.join(self.rundir, 'walls.jsonl'))
        par = [w for w in walls if w['workload'] == 'primes'
               and w['lang'] == 'c' and w['mode'] == 'threads'
               and w['variant'] == '-']
        self.assertEqual(sorted({w['workers'] for w in par}), [1, 2, 4])
        for w in walls:
            self.assertIn('wall_s', w)
            self.assertEqual(w['exit_code'], 0)

    def test_machine_json_names_cpus_commit_and_dirtiness(self):
        m = read_json(os.path.join(self.rundir, 'machine.json'))
        self.assertGreaterEqual(m['usable_cpus'], 1)
        self.assertRegex(m['commit'], r'^([0-9a-f]{4,}|unknown)$')
        self.assertIn(m['dirty'], (True, False, None))
        self.assertIn('llc_bytes', m)

    def test_run_json_follows_the_contract(self):
        r = read_json(os.path.join(self.rundir, 'run.json'))
        self.assertEqual(r['schema'], 1)
        self.assertEqual(r['name'], 'run-a')
        self.assertTrue(r['quick'])
        self.assertEqual(r['target_s'], 0.01)
        self.assertEqual(r['rounds'], 2)
        self.assertEqual(r['workloads'], WORKLOADS)
        self.assertGreater(r['duration_s'], 0)
        self.assertTrue(r['finished_utc'])
        self.assertIsInstance(r['cuts'], list)

    def test_background_load_is_measured_per_workload(self):
        bg = read_json(os.path.join(self.rundir, 'background.json'))
        self.assertEqual(set(bg), set(WORKLOADS))
        for v in bg.values():
            self.assertTrue(0 <= v['busy_fraction'] <= 1)
        self.assertTrue(os.path.isfile(os.path.join(
            self.rundir, 'raw', 'primes', 'background-busy.txt')))

    def test_calibration_reaches_the_target(self):
        cal = read_json(os.path.join(self.rundir, 'calibration.json'))
        self.assertEqual(cal['target_s'], 0.01)
        by = {(e['workload'], e['lang'], e.get('variant')): e
              for e in cal['entries']}
        for wl in ('primes', 'chunks', 'images'):
            for lang in ('c', 'python'):
                e = by[(wl, lang, None)]
                self.assertGreaterEqual(e['seq_kernel_s'], 0.01)
                self.assertIn(e['source'], ('calibrated', 'quick'))
        trials = by[('primes', 'c', None)]['trials']
        self.assertGreaterEqual(trials[-1]['kernel_s'], 0.01)
        self.assertTrue(all(t["kernel_s"] < 0.011 for t in trials[:-1]))
        sum_c = by[('sum', 'c', None)]
        self.assertGreaterEqual(sum_c['repeat'] * sum_c['seq_kernel_s'],
                                0.01)
        self.assertEqual(by[('overhead', 'c', 'bulk')]['source'], 'option')

    def test_samples_use_the_calibrated_sizes(self):
        cal = read_json(os.path.join(self.rundir, 'calibration.json'))
        n = [e for e in cal['entries'] if e['workload'] == 'primes'
             and e['lang'] == 'c'][0]['params']['n']
        samples = read_jsonl(os.path.join(self.rundir, 'samples.jsonl'))
        self.assertEqual({s['n'] for s in samples if s['workload'] ==
                          'primes' and s['lang'] == 'c'}, {n})

    def test_speedups_follow_the_mocks_model(self):
        def speedup(**labels):
            c = summary_config(self.rundir, workload='primes', variant='-',
                               **labels)
            return round(c['speedup']['est'], 2)
        self.assertEqual(speedup(lang='c', mode='threads', workers=2), 2.0)
        self.assertEqual(speedup(lang='c', mode='threads', workers=4), 2.0)
        self.assertEqual(speedup(lang='python', mode='threads', workers=2),
                         1.0)

    def test_karp_flatt_of_a_perfect_speedup_is_0(self):
        c = summary_config(self.rundir, workload='primes', lang='c',
                           mode='procs', variant='-', workers=2)
        self.assertAlmostEqual(c['karp_flatt'], 0.0, places=6)


class Timelines(unittest.TestCase):
    """The timelines step (issue 16) on the mock's made-up traces."""

    @classmethod
    def setUpClass(cls):
        cls.rundir = scratch('results', 'run-a')   # CompleteRun's run
        if not os.path.isdir(cls.rundir):
            bench(*small(), '--out', cls.rundir)

    def test_each_pair_is_traced_checked_and_drawn(self):
        doc = read_json(os.path.join(self.rundir, 'timelines.json'))
        names = [e['name'] for e in doc['timelines']]
        self.assertEqual(names, ['timeline-primes-gil', 'timeline-chunks',
                                 'timeline-io', 'timeline-killed'])
        sys.path.insert(0, HERE)
        from poolbench import trace
        for e in doc['timelines']:
            self.assertIsNone(e['skipped'])
            self.assertEqual(len(e['files']), 2)
            for f in e['files']:
                trace.read(os.path.join(self.rundir, f))
            self.assertTrue(is_png(os.path.join(self.rundir, 'charts',
                                                e['name'] + '.png')))

    def test_the_report_shows_them_with_their_figures(self):
        with open(os.path.join(self.rundir, 'report.md')) as f:
            md = f.read()
        self.assertIn('## Timelines: the pools at work', md)
        self.assertIn('charts/timeline-primes-gil.png', md)
        # The mock's --gil tasks take turns: 1 track at work, not 2.
        self.assertRegex(md, r'--gil threads: \d+ tasks or chunks in .*'
                             r'on average 1\.00 tracks at work')
        self.assertRegex(md, r'- threads: \d+ tasks or chunks in .*'
                             r'on average 2\.00 tracks at work')

    def test_a_failed_trace_leaves_its_chart_out_and_the_run_goes_on(self):
        run = scratch('results', 'run-trace-fail')
        rc, _, err = bench(*small(), '--workloads', 'primes', '--no-mpi',
                           '--out', run, MOCKBENCH_TRACE_FAIL='1')
        self.assertEqual(rc, 0, err[-2000:])
        self.assertIn('timeline timeline-primes-gil left out', err)
        with open(os.path.join(run, 'report.md')) as f:
            self.assertIn('Not drawn: threads: exit 1', f.read())

    def test_no_timelines_leaves_them_out(self):
        run = scratch('results', 'run-no-timelines')
        rc, _, err = bench(*small(), '--workloads', 'primes', '--no-mpi',
                           '--no-timelines', '--out', run)
        self.assertEqual(rc, 0, err[-2000:])
        self.assertFalse(os.path.exists(os.path.join(run, 'traces')))
        self.assertFalse(os.path.exists(os.path.join(run,
                                                     'timelines.json')))


class Sampling(unittest.TestCase):
    def test_warmup_records_are_not_counted(self):
        run = scratch('results', 'run-w')
        rc, _, err = bench(*small(), '--workloads', 'primes', '--no-python',
                           '--warmup', '1', '--runs', '2', '--rounds', '2',
                           '--out', run)
        self.assertEqual(rc, 0, err)
        samples = read_jsonl(os.path.join(run, 'samples.jsonl'))
        count = {}
        for s in samples:
            k = (s['mode'], s['variant'], s['workers'])
            count[k] = count.get(k, 0) + 1
        self.assertEqual(set(count.values()), {4})

    def test_calibration_grows_the_size_step_by_step(self):
        # The mock's primes lasts 0.01 s at the first size tried and grows
        # as n^1.5, as trial division does: the search must measure its
        # way up, never settle below the target, and stop at the first
        # size that reaches it.
        run = scratch('results', 'run-cal')
        rc, _, err = bench(*small(), '--workloads', 'primes', '--no-python',
                           '--target-s', '0.08', '--rounds', '1', '--out',
                           run)
        self.assertEqual(rc, 0, err)
        cal = read_json(os.path.join(run, 'calibration.json'))
        e = cal['entries'][0]
        trials = e['trials']
        self.assertGreater(len(trials), 1)
        sizes = [t['size'] for t in trials]
        self.assertEqual(sizes, sorted(set(sizes)))
        self.assertTrue(all(t["kernel_s"] < 0.088 for t in trials[:-1]))
        self.assertGreaterEqual(trials[-1]["kernel_s"], 0.088)
        self.assertEqual(e['params']['n'], sizes[-1])
        self.assertEqual(e['source'], 'quick')

    def test_records_without_a_header_row_are_read(self):
        run = scratch('results', 'run-h')
        rc, _, err = bench(*small(), '--workloads', 'io', '--no-python',
                           '--out', run, MOCKBENCH_NO_HEADER='1')
        self.assertEqual(rc, 0, err)
        samples = read_jsonl(os.path.join(run, 'samples.jsonl'))
        self.assertTrue(samples)
        self.assertTrue(all(s['kernel_s'] > 0 for s in samples))

    def test_an_explicit_size_wins_over_calibration(self):
        run = scratch('results', 'run-o')
        rc, _, err = bench(*small(), '--workloads', 'primes,sum',
                           '--no-python', '--primes-n', '54321', '--sum-n',
                           '4000', '--repeat', '2', '--out', run)
        self.assertEqual(rc, 0, err)
        cal = read_json(os.path.join(run, 'calibration.json'))
        by = {e['workload']: e for e in cal['entries']}
        self.assertEqual(by['primes']['params']['n'], 54321)
        self.assertEqual(by['primes']['source'], 'option')
        self.assertEqual(by['sum']['params']['n'], 4000)
        self.assertEqual(by['sum']['repeat'], 2)
        samples = read_jsonl(os.path.join(run, 'samples.jsonl'))
        self.assertEqual({s['n'] for s in samples
                          if s['workload'] == 'primes'}, {54321})

    def test_a_budget_too_small_cuts_and_says_what(self):
        run = scratch('results', 'run-c')
        rc, out, err = bench('--bin', scratch('bin'), '--py-dir',
                             scratch('py'), '--target-s', '0.01',
                             '--workloads', 'primes', '--no-python',
                             '--budget-s', '0.5', '--out', run)
        self.assertEqual(rc, 0, err)
        r = read_json(os.path.join(run, 'run.json'))
        cuts = [c['cut'] for c in r['cuts']]
        self.assertIn('runs per command and round 2 -> 1', cuts)
        self.assertIn('rounds 3 -> 2', cuts)
        self.assertEqual(r['rounds'], 2)
        self.assertIn('to fit --budget-s', out)

    def test_verbose_shows_hyperfines_output(self):
        run = scratch('results', 'run-v')
        rc, out, err = bench(*small(), '--workloads', 'io', '--no-python',
                             '--verbose', '--out', run)
        self.assertEqual(rc, 0, err)
        self.assertIn('Benchmark 1', out)


class Publishing(unittest.TestCase):
    def test_an_existing_folder_needs_force(self):
        run = scratch('results', 'run-f1')
        os.makedirs(run)
        rc, _, err = bench(*small(), '--workloads', 'io', '--out', run)
        self.assertEqual(rc, 1)
        self.assertIn('--force', err)
        rc, _, err = bench(*small(), '--workloads', 'io', '--no-python',
                           '--out', run, '--force')
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(run, 'run.json')))

    def test_a_folder_outside_results_leaves_latest_alone(self):
        before = os.readlink(scratch('results', 'latest')) \
            if os.path.islink(scratch('results', 'latest')) else None
        run = scratch('elsewhere', 'run-x')
        rc, _, err = bench(*small(), '--workloads', 'io', '--no-python',
                           '--out', run)
        self.assertEqual(rc, 0, err)
        after = os.readlink(scratch('results', 'latest')) \
            if os.path.islink(scratch('results', 'latest')) else None
        self.assertEqual(before, after)

    def test_report_only_redoes_the_report(self):
        run = scratch('results', 'run-r')
        rc, _, err = bench(*small(), '--workloads', 'io', '--no-python',
                           '--out', run)
        self.assertEqual(rc, 0, err)
        os.unlink(os.path.join(run, 'report.md'))
        rc, out, err = bench('--report-only', run)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(run, 'report.md')))

    def test_report_only_of_a_missing_folder_fails(self):
        rc, _, err = bench('--report-only', scratch('nothing-here'))
        self.assertEqual(rc, 1)
        self.assertIn('no such run folder', err)


class CheckRunNoticesDamage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rundir = scratch('results', 'run-d')
        cls.rc, _, cls.err = bench(*small(), '--workloads', 'primes,io',
                                   '--out', cls.rundir)

    def damaged(self, name):
        copy = scratch(name)
        shutil.copytree(self.rundir, copy, symlinks=True)
        return copy

    def check(self, run):
        return subprocess.run([CHECK_RUN, run], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE).returncode

    def test_the_run_is_complete(self):
        self.assertEqual(self.rc, 0, self.err)
        self.assertEqual(self.check(self.rundir), 0)

    def test_an_empty_png_fails(self):
        run = self.damaged('broken-png')
        charts = os.path.join(run, 'charts')
        png = sorted(f for f in os.listdir(charts) if f.endswith('.png'))[0]
        open(os.path.join(charts, png), 'w').close()
        self.assertEqual(self.check(run), 1)

    def test_a_missing_table_fails(self):
        run = self.damaged('broken-table')
        path = os.path.join(run, 'report.md')
        with open(path) as f:
            text = f.read()
        self.assertIn('<!-- table:io -->', text)
        with open(path, 'w') as f:
            f.write(text.replace('<!-- table:io -->', ''))
        self.assertEqual(self.check(run), 1)


class Compare(unittest.TestCase):
    def test_compare_two_runs(self):
        a = scratch('results', 'cmp-a')
        b = scratch('results', 'cmp-b')
        for run in (a, b):
            rc, _, err = bench(*small(), '--workloads', 'primes,io',
                               '--out', run)
            self.assertEqual(rc, 0, err)
        self.assertEqual(os.readlink(scratch('results', 'latest')), 'cmp-b')
        p = subprocess.run([COMPARE, a, b, '--out', scratch('cmp')],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        charts = os.path.join(scratch('cmp'), 'charts')
        self.assertTrue(any(is_png(os.path.join(charts, f))
                            for f in os.listdir(charts)))
        p2 = subprocess.run([BENCH, 'compare', a, b, '--out',
                             scratch('cmp2')], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for())
        self.assertEqual(p2.returncode, 0, p2.stderr.decode())


class OpenMPI(unittest.TestCase):
    """A bin folder with MPI programs and mockbench.py as mpirun.  Ranks
    1, 2 and one more than this machine's CPUs, which mpi-run.sh must
    oversubscribe."""

    @classmethod
    def setUpClass(cls):
        cls.over = (os.cpu_count() or 1) + 1
        try:
            cls.over = len(os.sched_getaffinity(0)) + 1
        except AttributeError:
            pass
        cls.args = small() + ['--bin', scratch('mbin'), '--workloads',
                              'primes,sum', '--no-python', '--mpi-ranks',
                              '1,2,%d' % cls.over]
        cls.rundir = scratch('results', 'run-m')
        cls.rc, cls.out, cls.err = bench(*cls.args, '--out', cls.rundir,
                                         MPIRUN=scratch('mpirun'))

    def test_dry_run_lists_the_mpi_runs_through_mpi_run_sh(self):
        rc, out, _ = bench(*self.args, '--dry-run', MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0)
        self.assertIn('-L variant static,dynamic -L workers 1,2,%d'
                      % self.over, out)
        self.assertIn('mpi-run.sh -n {workers} primes --variant {variant} '
                      '--workers {workers}', out)

    def test_no_mpi_leaves_them_out(self):
        rc, out, _ = bench(*self.args, '--dry-run', '--no-mpi',
                           MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0)
        self.assertIn('primes --mode seq', out)
        self.assertNotIn('mpi-run.sh', out)

    def test_without_mpirun_the_suite_says_so_and_goes_on(self):
        rc, out, err = bench(*self.args, '--dry-run',
                             MPIRUN='/nonexistent/mpirun')
        self.assertEqual(rc, 0)
        self.assertIn('mpirun not found: the Open MPI runs', err)
        self.assertNotIn('mpi-run.sh', out)

    def test_a_run_with_mpi_ranks_succeeds(self):
        self.assertEqual(self.rc, 0, self.err[-2000:])

    def test_mpi_samples_carry_each_variant(self):
        samples = read_jsonl(os.path.join(self.rundir, 'samples.jsonl'))
        mpi = {(s['workload'], s['variant'], s['workers'])
               for s in samples if s['mode'] == 'mpi'}
        for key in (('primes', 'static', 2), ('primes', 'dynamic', 2),
                    ('sum', 'local', 2)):
            self.assertIn(key, mpi)

    def test_oversubscribed_ranks_are_marked_the_others_not(self):
        samples = read_jsonl(os.path.join(self.rundir, 'samples.jsonl'))
        mpi = [s for s in samples if s['mode'] == 'mpi']
        self.assertTrue(all(s['oversub'] == (s['workers'] > self.over - 1)
                            for s in mpi))
        self.assertTrue(any(s['oversub'] for s in mpi))
        walls = read_jsonl(os.path.join(self.rundir, 'walls.jsonl'))
        self.assertTrue(any(w['oversub'] for w in walls
                            if w['mode'] == 'mpi'))

    def test_mpi_ranks_at_2_speed_up_2(self):
        c = summary_config(self.rundir, workload='primes', lang='c',
                           mode='mpi', variant='static', workers=2)
        self.assertEqual(round(c['speedup']['est'], 2), 2.0)

    def test_mpirun_startup_is_measured_for_every_rank_count(self):
        rows = read_jsonl(os.path.join(self.rundir, 'mpi-startup.jsonl'))
        self.assertEqual({(r['ranks'], r['what']) for r in rows},
                         {(n, w) for n in (1, 2, self.over)
                          for w in ('launcher', 'empty')})
        self.assertTrue(all(r['oversub'] == (r['ranks'] == self.over)
                            for r in rows))

    def test_the_report_tabulates_mpirun_startup(self):
        with open(os.path.join(self.rundir, 'report.md')) as f:
            self.assertIn('<!-- table:mpirun -->', f.read())

    def test_the_speedup_chart_data_has_the_mpi_series(self):
        data = os.path.join(self.rundir, 'data')
        text = ''.join(open(os.path.join(data, f)).read()
                       for f in os.listdir(data) if 'speedup-primes' in f)
        self.assertIn('MPI ranks (static)', text)
        self.assertIn('MPI ranks (dynamic)', text)

    def test_check_run_fails_on_a_missing_startup_time(self):
        copy = scratch('broken-startup')
        shutil.copytree(self.rundir, copy, symlinks=True)
        path = os.path.join(copy, 'mpi-startup.jsonl')
        rows = [r for r in read_jsonl(path)
                if not (r['ranks'] == 2 and r['what'] == 'empty')]
        with open(path, 'w') as f:
            f.write(''.join(json.dumps(r) + '\n' for r in rows))
        p = subprocess.run([CHECK_RUN, copy], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 1, p.stdout.decode())

    def test_check_run_passes_on_the_mpi_run(self):
        p = subprocess.run([CHECK_RUN, self.rundir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())


class HostsStep(unittest.TestCase):
    """The hosts step (issue 19) on the mock rig: mockbench.py named
    mpi-hosts plays scripts/mpi-hosts.sh (check, bench --format csv)."""

    @classmethod
    def setUpClass(cls):
        cls.args = small() + ['--bin', scratch('mbin'), '--workloads', 'sum',
                              '--no-python', '--mpi-ranks', '2']
        cls.rundir = scratch('results', 'run-hosts')
        cls.rc, cls.out, cls.err = bench(*cls.args, '--out', cls.rundir,
                                         MPIRUN=scratch('mpirun'))

    def hosts_samples(self):
        return [s for s in read_jsonl(os.path.join(self.rundir,
                                                   'samples.jsonl'))
                if s['workload'] == 'hosts']

    def test_a_run_with_the_hosts_step_succeeds_and_checks(self):
        self.assertEqual(self.rc, 0, self.err[-2000:])
        p = subprocess.run([CHECK_RUN, self.rundir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_samples_say_one_host_or_across_hosts_from_the_records(self):
        got = {(s['variant'], s['hosts'], s['across_hosts'], s['what'])
               for s in self.hosts_samples()}
        self.assertEqual(got, {('static', 1, False, 'sum'),
                               ('static', 1, False, 'moved'),
                               ('static', 2, True, 'sum'),
                               ('static', 2, True, 'moved')})

    def test_moved_samples_carry_bytes_and_gb_per_s(self):
        for s in self.hosts_samples():
            if s['what'] == 'moved':
                # The mock: 10^6 values of 8 bytes, half sent to rank 1.
                self.assertEqual(s['bytes'], 4000000)
                self.assertAlmostEqual(s['gbps'],
                                       s['bytes'] / s['kernel_s'] / 1e9)
            else:
                self.assertIsNone(s['bytes'])

    def test_quick_runs_static_at_a_million_values(self):
        self.assertEqual({s['params']['n'] for s in self.hosts_samples()},
                         {10 ** 6})

    def test_the_report_has_the_chart_table_and_sentences(self):
        with open(os.path.join(self.rundir, 'report.md')) as f:
            md = f.read()
        self.assertIn('## Crossing a host boundary', md)
        self.assertIn('](charts/hosts.png)', md)
        self.assertIn('<!-- table:hosts -->', md)
        # The mock moves 2 GB/s in shared memory, 0.4 GB/s over TCP.
        self.assertIn('ran at 0.40 GB/s (one sample), 5.0 times slower '
                      '(one sample each)', md)
        self.assertTrue(is_png(os.path.join(self.rundir, 'charts',
                                            'hosts.png')))
        with open(os.path.join(self.rundir, 'report.html')) as f:
            self.assertIn('id="fig-hosts"', f.read())

    def test_the_step_is_in_run_json_with_its_estimate(self):
        run = read_json(os.path.join(self.rundir, 'run.json'))
        steps = [s for s in run['steps'] if 'namespace hosts' in s['label']]
        self.assertEqual(len(steps), 1)
        self.assertGreater(steps[0]['estimate_s'], 0)
        self.assertNotIn('hosts', run['skipped'])

    def test_dry_run_shows_the_rig_command(self):
        rc, out, _ = bench(*self.args, '--dry-run', MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0)
        self.assertIn('mpi-hosts bench --hosts 2 --n 1000000 --repeat 1 '
                      '--variant static --format csv', out)

    def test_a_full_plan_runs_every_variant_and_budget_cuts_repetitions(self):
        full = [a for a in self.args if a != '--quick']
        rc, out, err = bench(*full, '--dry-run', MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0, err)
        self.assertIn('bench --hosts 2 --n 10000000 --repeat 3 --variant '
                      'static,dynamic,local --format csv', out)
        rc, out, err = bench(*full, '--dry-run', '--budget-s', '1',
                             MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0, err)
        self.assertIn('hosts step: repetitions 3 -> 2', out + err)
        self.assertIn('--repeat 2 --variant static,dynamic,local', out)

    def test_no_mpi_skips_it_with_the_reason(self):
        rc, out, _ = bench(*self.args, '--dry-run', '--no-mpi',
                           MPIRUN=scratch('mpirun'))
        self.assertEqual(rc, 0)
        self.assertNotIn('mpi-hosts', out)

    def test_a_rig_check_saying_no_skips_it_with_the_reason(self):
        d = scratch('results', 'run-hosts-no')
        rc, _, err = bench(*self.args, '--out', d, MPIRUN=scratch('mpirun'),
                           MOCKBENCH_HOSTS_CHECK='3')
        self.assertEqual(rc, 0, err[-2000:])
        self.assertIn('not permitted here', err)
        run = read_json(os.path.join(d, 'run.json'))
        self.assertIn('not permitted here', run['skipped']['hosts'])
        with open(os.path.join(d, 'report.md')) as f:
            self.assertIn('Not measured: the machine does not allow', f.read())
        p = subprocess.run([CHECK_RUN, d], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_a_rig_bench_not_permitted_skips_it(self):
        d = scratch('results', 'run-hosts-bench3')
        rc, _, err = bench(*self.args, '--out', d, MPIRUN=scratch('mpirun'),
                           MOCKBENCH_HOSTS_BENCH='3')
        self.assertEqual(rc, 0, err[-2000:])
        run = read_json(os.path.join(d, 'run.json'))
        self.assertIn('bench not permitted', run['skipped']['hosts'])

    def test_a_failing_rig_check_fails_the_run(self):
        rc, _, err = bench(*self.args, '--dry-run', MPIRUN=scratch('mpirun'),
                           MOCKBENCH_HOSTS_CHECK='1')
        self.assertEqual(rc, 1)
        self.assertIn('check failed (exit 1)', err)

    def test_check_run_fails_without_the_hosts_chart(self):
        copy = scratch('broken-hosts')
        shutil.copytree(self.rundir, copy, symlinks=True)
        os.unlink(os.path.join(copy, 'charts', 'hosts.png'))
        p = subprocess.run([CHECK_RUN, copy], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 1, p.stdout.decode())
        self.assertIn('charts/hosts.png', p.stdout.decode())


class FailingBenchmark(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc, cls.out, cls.err = bench(
            *small(), '--workloads', 'primes', '--out',
            scratch('results-f', 'run-f'), results='results-f',
            MOCKBENCH_FAIL='primes:threads:2')

    def test_a_failed_check_stops_the_suite_with_exit_1(self):
        self.assertEqual(self.rc, 1)

    def test_the_failing_command_is_shown(self):
        self.assertRegex(self.err, r'FAILED \(exit 1\): .*primes --mode '
                         r'threads --workers 2')

    def test_its_message_is_shown(self):
        self.assertIn('wrong result', self.err)

    def test_no_run_folder_and_nothing_half_built_is_left(self):
        self.assertFalse(os.path.exists(scratch('results-f', 'run-f')))
        self.assertEqual(hidden_entries('results-f'), [])

    def test_keep_failed_keeps_it_beside(self):
        rc, _, err = bench(*small(), '--workloads', 'primes', '--keep-failed',
                           '--out', scratch('results-k', 'run-k'),
                           results='results-k',
                           MOCKBENCH_FAIL='primes:threads:2')
        self.assertEqual(rc, 1)
        self.assertTrue(os.path.isdir(scratch('results-k', '.failed-run-k')))
        self.assertIn('.failed-run-k', err)

    def test_a_failure_during_calibration_is_shown_too(self):
        rc, _, err = bench(*small(), '--workloads', 'primes', '--no-python',
                           results='results-f',
                           MOCKBENCH_FAIL='primes:seq:1')
        self.assertEqual(rc, 1)
        self.assertIn('FAILED (exit 1)', err)
        self.assertIn('wrong result', err)
        self.assertEqual(hidden_entries('results-f'), [])


def start_suite(argv, env):
    """Starts argv as a terminal would a foreground job: SIGINT at its
    default (a shell starts background jobs with it ignored), and SIGHUP
    too (the tests may run under nohup, which the suite respects)."""
    def restore():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            preexec_fn=restore,
                            start_new_session=True)


def start_nohup(argv, env):
    """Starts argv as `nohup` would: SIGHUP ignored."""
    def ignore_hup():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=ignore_hup,
                            start_new_session=True)


def wait_for_mock(seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any('hyperfine' in cmd for _, cmd in mock_processes()):
            return True
        time.sleep(0.05)
    return False


class Interruption(unittest.TestCase):
    def interrupt(self, sig, want):
        results = 'results-%s' % sig.name
        run = scratch(results, 'run')
        env = env_for(results, MOCKBENCH_SLEEP='30')
        # A sleep long enough for the signal to find hyperfine running,
        # calibration included: an explicit size skips the search.
        p = start_suite([BENCH] + small() + [
            '--workloads', 'primes', '--primes-n', '1000',
            '--py-primes-n', '1000', '--out', run], env)
        self.assertTrue(wait_for_mock(), 'the suite never started hyperfine')
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, want, err.decode())
        self.assertEqual(wait_gone(), [])
        self.assertFalse(os.path.exists(run))
        self.assertEqual(hidden_entries(results), [])
        self.assertIn('partial run removed', err.decode())

    def test_sigint_exits_130_leaving_nothing(self):
        self.interrupt(signal.SIGINT, 130)

    def test_sigterm_exits_143_leaving_nothing(self):
        self.interrupt(signal.SIGTERM, 143)

    def test_sigterm_to_make_stops_everything(self):
        """`make bench-quick`'s own recipe, with the mock: SIGTERM to make's
        pid (what a CI runner does) must stop the suite, its hyperfine and
        the mock, remove the half-built folder and leave latest alone."""
        results = 'results-make'
        os.makedirs(scratch(results, 'old'))
        os.symlink('old', scratch(results, 'latest'))
        env = env_for(results, MOCKBENCH_SLEEP='30')
        args = ' '.join(small() + ['--workloads', 'primes', '--primes-n',
                                   '1000', '--py-primes-n', '1000'])
        p = start_suite(['make', '-s', '-C', ROOT, 'bench-quick',
                         'BENCH_DEPS=', 'BENCH_ARGS=' + args], env)
        self.assertTrue(wait_for_mock(), 'make never started the suite')
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
        self.assertEqual(wait_gone(), [])
        self.assertEqual(sorted(os.listdir(scratch(results))),
                         ['latest', 'old'])
        self.assertEqual(os.readlink(scratch(results, 'latest')), 'old')

    def test_the_suite_stops_when_make_dies(self):
        """A make killed with SIGKILL forwards nothing: the suite notices
        it was orphaned and stops as for SIGTERM.  (A Python parent plays
        make here: MAKELEVEL in the environment is what the suite sees.)"""
        results = 'results-orphan'
        env = env_for(results, MOCKBENCH_SLEEP='30', MAKELEVEL='1')
        argv = [BENCH] + small() + ['--workloads', 'primes', '--primes-n',
                                    '1000', '--py-primes-n', '1000']
        parent = start_suite([sys.executable, '-c',
                              'import subprocess, sys; '
                              'subprocess.run(sys.argv[1:])'] + argv, env)
        self.assertTrue(wait_for_mock(), 'the suite never started')
        parent.kill()
        try:
            _, err = parent.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            parent.stderr.close()
            err = b'(no end of output)'
        self.assertEqual(wait_gone(20), [], err.decode())
        self.assertEqual(hidden_entries(results), [])
        self.assertFalse(os.path.exists(scratch(results, 'latest')))


    def test_a_suite_under_nohup_outlives_its_parent(self):
        """`nohup scripts/bench &` and log out: the suite goes on."""
        results = 'results-nohup'
        env = env_for(results, MOCKBENCH_SLEEP='30')
        argv = [BENCH] + small() + ['--workloads', 'primes', '--primes-n',
                                    '1000', '--py-primes-n', '1000']
        parent = start_nohup([sys.executable, '-c',
                              'import subprocess, sys; '
                              'subprocess.Popen(sys.argv[1:]).wait()']
                             + argv, env)
        self.assertTrue(wait_for_mock(), 'the suite never started')
        parent.kill()
        parent.wait(timeout=30)
        time.sleep(1.5)
        suites = [pid for pid, cmd in mock_processes()
                  if BENCH + ' ' in cmd]
        self.assertEqual(len(suites), 1)
        os.kill(suites[0], signal.SIGTERM)
        self.assertEqual(wait_gone(20), [])
        self.assertEqual(hidden_entries(results), [])


if __name__ == '__main__':
    unittest.main()
