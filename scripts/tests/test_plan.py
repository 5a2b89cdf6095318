"""The running half's pieces on their own, without starting a process:
worker lists, round order, calibration rules (with a modelled program),
reading records, samples and wall times with their labels, atomic files.
"""
import json
import math
import os
import shutil
import tempfile
import unittest

from poolbench import calibrate, plan, runfolder, runner

MIB = 1 << 20


class Opts:
    """What the calibrator reads of the command line."""

    def __init__(self, **kw):
        self.target_s = 0.5
        self.quick = False
        self.repeat = None
        for o in calibrate.OPTION.values():
            setattr(self, o, None)
        for o in ('io_tasks', 'io_delay_ms', 'crawl_pages',
                  'crawl_delay_ms'):
            setattr(self, o, None)
        self.__dict__.update(kw)


def model(wl, lang, args):
    """A program whose sequential kernel lasts 1e-9 n^1.5 s (primes,
    chunks), 0.01 s per image, 0.02 s per 2^25 values (sum)."""
    a = dict(zip(args[::2], args[1::2]))
    if wl == 'images':
        k = 0.01 * int(a['--images'])
    elif wl == 'sum':
        k = 0.02 * int(a['--n']) / (1 << 25)
    elif wl == 'overhead':
        k = 1e-5 * int(a['--tasks'])
    else:
        k = 1e-9 * int(a['--n']) ** 1.5
    reps = int(a.get('--repeat', 1))
    return [{'kernel_s': k, 'setup_s': 0.1 if i == 0 else 0.0}
            for i in range(reps)]


def calibrator(opts=None, llc=32 * MIB, memory=16 << 30, measure=model,
               io_workers=(1, 4, 16, 64)):
    return calibrate.Calibrator(opts or Opts(), 2, llc, memory, measure,
                                list(io_workers), lambda wl, lang: True)


class WorkerLists(unittest.TestCase):
    def test_two_cpus_get_one_two_four(self):
        self.assertEqual(plan.default_workers(2), [1, 2, 4])

    def test_a_cpu_count_that_is_no_power_of_two_is_in_the_list(self):
        self.assertIn(6, plan.default_workers(6))
        self.assertIn(12, plan.default_workers(6))

    def test_a_big_machine_keeps_one_the_cpus_and_twice_them_in_six(self):
        w = plan.default_workers(64)
        self.assertLessEqual(len(w), 6)
        for v in (1, 64, 128):
            self.assertIn(v, w)
        self.assertEqual(w, sorted(w))

    def test_io_goes_to_sixty_four(self):
        self.assertEqual(plan.default_workers(2, 'io'), [1, 4, 16, 64])


class RoundOrder(unittest.TestCase):
    def groups(self):
        return [plan.Group('a', 'w', 'c', ['x'], [('mode', ['t', 'p']),
                                                ('workers', [1, 2, 4])]),
                plan.Group('b', 'w', 'c', ['y'])]

    def test_odd_rounds_run_forward(self):
        g = plan.round_groups(self.groups(), 3)
        self.assertEqual([x.gid for x in g], ['a', 'b'])
        self.assertEqual(g[0].lists[1], ('workers', [1, 2, 4]))

    def test_even_rounds_reverse_groups_and_values(self):
        g = plan.round_groups(self.groups(), 2)
        self.assertEqual([x.gid for x in g], ['b', 'a'])
        self.assertEqual(g[1].lists, [('mode', ['p', 't']),
                                      ('workers', [4, 2, 1])])

    def test_combinations_follow_hyperfine_order(self):
        g = self.groups()[0]
        self.assertEqual([tuple(c.values()) for c in g.combinations()][:3],
                         [('t', '1'), ('t', '2'), ('t', '4')])

    def test_template_keeps_placeholders_readable(self):
        g = plan.Group('a', 'w', 'c', ['/b/p', '--workers', '{workers}',
                                       '--out', '@OUT@', 'a b'])
        self.assertEqual(g.template('F'),
                         "/b/p --workers {workers} --out F 'a b'")


class Calibration(unittest.TestCase):
    def test_primes_grows_until_the_kernel_passes_the_target(self):
        s = calibrator().grown('primes', 'c')
        self.assertGreaterEqual(s.seq_kernel_s, 1.1 * 0.5)
        sizes = [n for n, _ in s.trials]
        self.assertEqual(sizes, sorted(sizes))
        self.assertTrue(all(t < 0.55 for _, t in s.trials[:-1]))
        # 1e-9 n^1.5 = 0.55 at n = 6.7e5: the first size past the target,
        # not a blind extrapolation far beyond it.
        self.assertLess(s.params['n'], 1.5 * (0.55 / 1e-9) ** (1 / 1.5))
        self.assertEqual(s.source, 'calibrated')

    def test_an_explicit_size_wins_and_is_timed_once(self):
        s = calibrator(Opts(primes_n=1000)).grown('primes', 'c')
        self.assertEqual(s.params['n'], 1000)
        self.assertEqual(s.source, 'option')
        self.assertEqual(len(s.trials), 1)

    def test_images_grow_linearly(self):
        s = calibrator().grown('images', 'c')
        self.assertGreaterEqual(s.seq_kernel_s, 0.55)
        self.assertEqual(s.params['max_side'], 1024)

    def test_chunks_sweep_is_capped_in_tasks(self):
        s = calibrator().grown('chunks', 'python')
        n, mc = s.params['n'], s.params['min_chunk']
        self.assertLessEqual(n // mc, plan.MAX_CHUNK_TASKS['python'])

    def test_sum_is_eight_times_the_cache(self):
        s = calibrator(llc=64 * MIB).sum('sum', 'c')
        self.assertEqual(s.params['n'] * 8, 512 * MIB)
        self.assertGreaterEqual(s.repeat * s.seq_kernel_s, 0.5)

    def test_sum_is_at_least_256_mib(self):
        s = calibrator(llc=2 * MIB).sum('sum', 'c')
        self.assertEqual(s.params['n'] * 8, 256 * MIB)

    def test_sum_is_at_most_a_quarter_of_memory(self):
        s = calibrator(llc=64 * MIB, memory=1 << 30).sum('sum', 'c')
        self.assertEqual(s.params['n'] * 8, 256 * MIB)
        self.assertIn('quarter of memory', s.note)

    def test_io_is_count_times_delay_evenly_divided(self):
        s = calibrator().io('io', 'c')
        self.assertEqual(s.params['delay_ms'], 5)
        self.assertEqual(s.params['tasks'] % 64, 0)
        self.assertGreaterEqual(s.seq_kernel_s, 0.5)
        self.assertEqual(s.source, 'fixed')

    def test_overhead_lasts_about_the_target_within_bounds(self):
        by = {s.variant: s for s in calibrator().overhead('c')}
        self.assertEqual(set(by), {'bulk', 'roundtrip', 'map'})
        self.assertAlmostEqual(by['bulk'].seq_kernel_s, 0.5, delta=0.05)
        self.assertLessEqual(by['map'].params['tasks'], 10 ** 7)

    def test_a_dry_run_measures_nothing(self):
        c = calibrator(measure=None)
        sizes = c.sizes(plan.WORKLOADS)
        self.assertEqual(sizes[('primes', 'c')].params['n'], 'calibrated')

    def test_every_entry_follows_the_contract(self):
        for s in calibrator().sizes(plan.WORKLOADS).values():
            e = s.entry()
            for k in ('workload', 'lang', 'params', 'repeat',
                      'seq_kernel_s', 'source', 'note'):
                self.assertIn(k, e)
            json.dumps(e)


class Records(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='poolbench-plan-test.')

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, text):
        path = os.path.join(self.dir, 'r.csv')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_a_header_row_names_the_columns(self):
        recs = runner.read_records(self.write(
            'kernel_s,bench,mode,workers,extra\n0.5,primes,seq,1,x\n'))
        self.assertEqual(recs, [{'kernel_s': 0.5, 'bench': 'primes',
                                 'mode': 'seq', 'workers': 1,
                                 'extra': 'x'}])

    def test_without_a_header_the_contract_order_holds(self):
        recs = runner.read_records(self.write(
            'primes,c,threads,-,2,100,50,2,0,0.001,0.25,9,9,ok\n'))
        r = recs[0]
        self.assertEqual((r['bench'], r['mode'], r['workers'], r['kernel_s'],
                          r['result'], r['check']),
                         ('primes', 'threads', 2, 0.25, 9, 'ok'))

    def test_a_dash_is_none(self):
        recs = runner.read_records(self.write(
            'crawl,c,seq,-,1,10,10,1,0,0,0.1,-,-,ok\n'))
        self.assertIsNone(recs[0]['result'])

    def group(self, **kw):
        g = plan.Group('c-mpi', 'primes', 'c', ['x'],
                       [('variant', ['static']), ('workers', [1, 4])],
                       {'mode': 'mpi'}, {'n': 100}, repeat=2, mpi=True)
        g.warmup, g.ncpu = 1, 2
        g.__dict__.update(kw)
        return g

    def test_warm_up_records_are_dropped_per_configuration(self):
        rec = {'bench': 'primes', 'lang': 'c', 'mode': 'mpi',
               'variant': 'static+oversub', 'workers': 4, 'n': 100,
               'chunk': 1, 'tasks': 4, 'kernel_s': 0.1, 'check': 'ok'}
        recs = [dict(rec, rep=i % 2) for i in range(6)]
        samples = runner.Runner.samples(self.group(), 3, recs)
        self.assertEqual(len(samples), 4)
        s = samples[0]
        self.assertEqual((s['variant'], s['oversub'], s['round'],
                          s['params']), ('static', True, 3, {'n': 100}))

    def test_walls_take_their_labels_from_hyperfines_parameters(self):
        export = {'results': [
            {'parameters': {'variant': 'static', 'workers': '4'},
             'times': [0.5, 0.6], 'exit_codes': [0, 0]}]}
        walls = runner.Runner.walls(self.group(), 1, export)
        self.assertEqual(len(walls), 2)
        w = walls[0]
        self.assertEqual((w['mode'], w['variant'], w['workers'], w['oversub'],
                          w['wall_s'], w['round']),
                         ('mpi', 'static', 4, True, 0.5, 1))


class Files(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='poolbench-plan-test.')

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_write_atomic_leaves_no_temporary(self):
        p = os.path.join(self.dir, 'a.txt')
        runfolder.write_atomic(p, 'one')
        runfolder.write_atomic(p, b'two')
        self.assertEqual(os.listdir(self.dir), ['a.txt'])
        with open(p) as f:
            self.assertEqual(f.read(), 'two')

    def test_publish_renames_and_points_latest(self):
        rf = runfolder.RunFolder(self.dir, os.path.join(self.dir, 'run'))
        rf.create()
        self.assertTrue(os.path.basename(rf.tmp).startswith('.tmp-run.'))
        rf.publish()
        self.assertEqual(sorted(os.listdir(self.dir)), ['latest', 'run'])
        self.assertEqual(os.readlink(os.path.join(self.dir, 'latest')),
                         'run')

    def test_force_replaces_an_existing_run(self):
        os.makedirs(os.path.join(self.dir, 'run', 'old-file'))
        rf = runfolder.RunFolder(self.dir, os.path.join(self.dir, 'run'))
        self.assertIn('--force', rf.exists_problem())
        rf = runfolder.RunFolder(self.dir, os.path.join(self.dir, 'run'),
                                 force=True)
        self.assertIsNone(rf.exists_problem())
        rf.create()
        rf.publish()
        self.assertEqual(os.listdir(os.path.join(self.dir, 'run')), ['raw'])
        self.assertEqual(sorted(os.listdir(self.dir)), ['latest', 'run'])

    def test_a_second_run_in_the_same_minute_gets_a_suffix(self):
        first = runfolder.default_name(self.dir, 0)
        os.makedirs(os.path.join(self.dir, first))
        second = runfolder.default_name(self.dir, 0)
        self.assertEqual(second, first + '-2')


class Estimates(unittest.TestCase):
    def test_the_plan_estimates_every_step(self):
        sizes = calibrator().sizes(plan.WORKLOADS)
        ctx = two_cpus()
        steps = plan.make_steps(ctx, sizes, plan.WORKLOADS, 3,
                                lambda wl: 0, lambda wl: 1)
        self.assertEqual(len(steps), 3 * len(plan.WORKLOADS) + 2)
        self.assertTrue(all(s.estimate_s > 0 for s in steps))
        self.assertFalse(any(math.isnan(s.estimate_s) for s in steps))
        self.assertEqual(steps[-2].kind, 'mpi-startup')
        self.assertEqual(steps[-1].kind, 'report')

    def test_overhead_runs_an_ablation_group_per_c_variant(self):
        sizes = calibrator().sizes(['overhead'])
        ctx = two_cpus()
        groups = {g.gid: g for g in plan.groups_overhead(ctx, sizes)}
        for v in ('bulk', 'roundtrip'):
            g = groups['c-ablation-' + v]
            self.assertEqual(g.workload, 'overhead')
            self.assertEqual(g.labels['mode'], 'ablation')
            self.assertEqual(g.labels['variant'], v)
            argv = g.argv
            self.assertEqual(argv[argv.index('--mode') + 1], 'ablation')
            self.assertEqual(argv[argv.index('--tasks') + 1],
                             argv_of(groups['c-' + v], '--tasks'))
            self.assertGreater(g.estimate(), 0)
        self.assertNotIn('c-ablation-map', groups)
        self.assertFalse(any('ablation' in k for k in groups
                             if k.startswith('py')))

    def test_io_repeats_more_on_more_workers(self):
        # 128 sleeps: once sequentially, on W workers ceil(128 / W) sleeps
        # a run, so W runs a process to sleep as long; the remedies on the
        # most workers as many as their pool's own run.
        sizes = calibrator().sizes(['io'])
        groups = {g.gid: g for g in plan.groups_io(two_cpus(), sizes)}
        self.assertEqual(argv_of(groups['c-seq'], '--tasks'), '128')
        self.assertEqual(groups['c-seq'].repeat, 1)
        for w in (1, 4, 16, 64):
            for p in ('c', 'py'):
                g = groups['%s-par-%d' % (p, w)]
                self.assertEqual(g.repeat, w)
                self.assertEqual(argv_of(g, '--repeat'), str(w))
                self.assertEqual(argv_of(g, '--workers'), str(w))
                self.assertEqual(g.labels['workers'], w)
        for v in ('procs-cascade', 'procs-one-at-a-time',
                  'procs-send-answers', 'threads-no-cascade',
                  'threads-bare'):
            self.assertEqual(argv_of(groups['c-' + v], '--repeat'), '64')
        self.assertGreater(groups['c-par-64'].estimate(), 64 * 0.010)
        self.assertNotIn('c-par', groups)
        # 96 sleeps on 64 workers: 2 a run, 48 runs.
        s = sizes[('io', 'c')]
        s.params = dict(s.params, tasks=96)
        self.assertEqual(plan.io_repeat(s, 64), 48)


    def test_crawl_repeats_more_on_more_workers_up_to_a_cap(self):
        # 64 pages: once sequentially; on W workers W runs a process, at
        # most 8, since a breadth-first crawl's speedup stops near the
        # site's depth.
        sizes = calibrator().sizes(['crawl'])
        groups = {g.gid: g for g in plan.groups_crawl(two_cpus(), sizes)}
        self.assertEqual(groups['c-seq'].repeat, 1)
        self.assertNotIn('c-par', groups)
        for w, r in ((1, 1), (4, 4), (16, 8), (64, 8)):
            for p in ('c', 'py'):
                g = groups['%s-par-%d' % (p, w)]
                self.assertEqual(g.repeat, r)
                self.assertEqual(argv_of(g, '--repeat'), str(r))
                self.assertEqual(argv_of(g, '--workers'), str(w))
                self.assertEqual(g.labels['workers'], w)
        self.assertEqual(groups['c-par-4'].lists, [('mode', ['threads'])])
        self.assertEqual(groups['py-par-4'].lists,
                         [('mode', ['threads', 'procs'])])
        self.assertGreater(groups['py-par-64'].estimate(), 8 * 0.010)

class TimelinesStep(unittest.TestCase):
    def test_a_timelines_step_follows_the_rounds(self):
        sizes = calibrator().sizes(['primes', 'chunks', 'io'])
        ctx = two_cpus()
        ctx.timelines = True
        steps = plan.make_steps(ctx, sizes, ['primes', 'chunks', 'io'], 2,
                                lambda wl: 0, lambda wl: 1)
        kinds = [s.kind for s in steps]
        self.assertEqual(kinds[-3:], ['mpi-startup', 'timelines', 'report'])
        self.assertGreater(steps[-2].estimate_s, 0)

    def test_each_pair_traces_two_commands_into_its_files(self):
        from poolbench import timelines
        sizes = calibrator().sizes(['primes', 'chunks', 'io'])
        sp = timelines.specs(two_cpus(), sizes, ['primes', 'chunks', 'io'])
        self.assertEqual([s['name'] for s in sp], [
            'timeline-primes-gil', 'timeline-chunks', 'timeline-io',
            'timeline-killed'])
        for s in sp:
            self.assertEqual(len(s['runs']), 2)
            for r in s['runs']:
                self.assertIn('@TRACE@', r['argv'])
        gil = sp[0]['runs']
        self.assertEqual(gil[1]['argv'], gil[0]['argv'] + ['--gil'])
        killed = sp[3]['runs']
        self.assertEqual(killed[1]['argv'],
                         killed[0]['argv'] + ['--kill-worker'])

    def test_the_chunk_pair_takes_the_sweeps_best_chunk_size(self):
        from poolbench import timelines
        samples = [{'workload': 'chunks', 'lang': 'c', 'mode': 'threads',
                    'chunk': c, 'kernel_s': t}
                   for c, t in ((1, 9.0), (1000, 1.0), (250000, 2.0))]
        self.assertEqual(timelines.best_chunk(samples), 1000)
        self.assertIsNone(timelines.best_chunk([]))
        sizes = calibrator().sizes(['chunks'])
        sp = timelines.specs(two_cpus(), sizes, ['chunks'], samples)
        runs = sp[0]['runs']
        self.assertEqual(runs[0]['argv'][-2:], ['--chunk', '1'])
        self.assertEqual(runs[1]['argv'][-2:], ['--chunk', '1000'])
        self.assertIn('primes', runs[0]['argv'][0])


class ChunksEstimate(unittest.TestCase):
    def test_python_threads_pay_a_task_per_item_at_every_chunk_size(self):
        # ThreadPoolExecutor.map ignores chunksize: the sweep's estimate
        # must count n tasks per chunk size, not n / chunk.
        sizes = calibrator().sizes(['chunks'])
        ctx = two_cpus()
        s = sizes[('chunks', 'python')]
        n, mc = s.params['n'], s.params['min_chunk']
        groups = {x.gid: x for x in plan.groups_chunks(ctx, sizes)}
        short = plan.chunk_sizes(n, 2, mc, plan.PY_THREADS_FACTOR)
        threads = groups['py-threads'].est_run({'mode': 'threads'})
        procs = groups['py-procs'].est_run({'mode': 'procs'})
        self.assertGreaterEqual(
            threads, len(short) * n * plan.CHUNK_TASK_S[('python', 'threads')])
        self.assertLess(procs, threads)

    def test_a_group_without_lists_is_estimated_as_its_mode(self):
        # py-threads fixes --mode threads in its argv, not in a list: its
        # estimate must still pay n tasks per chunk size, not a
        # sequential run (the default run's plan said 13 s, it took 36).
        sizes = calibrator().sizes(['chunks'])
        s = sizes[('chunks', 'python')]
        n, mc = s.params['n'], s.params['min_chunk']
        g = {x.gid: x for x in plan.groups_chunks(two_cpus(), sizes)}
        short = plan.chunk_sizes(n, 2, mc, plan.PY_THREADS_FACTOR)
        self.assertGreaterEqual(
            g['py-threads'].estimate(),
            len(short) * n * plan.CHUNK_TASK_S[('python', 'threads')])

    def test_the_budget_cut_leaves_python_threads_one_size(self):
        sizes = calibrator().sizes(['chunks'])
        ctx = two_cpus()
        full = {x.gid: x for x in plan.groups_chunks(ctx, sizes)}
        ctx.py_threads_one_chunk = True
        cut = {x.gid: x for x in plan.groups_chunks(ctx, sizes)}
        mc = sizes[('chunks', 'python')].params['min_chunk']
        self.assertEqual(argv_of(cut['py-threads'], '--max-chunk'), str(mc))
        self.assertLess(cut['py-threads'].estimate(),
                        full['py-threads'].estimate())
        self.assertEqual(cut['py-procs'].argv, full['py-procs'].argv)

    def test_python_threads_sweep_only_its_ends(self):
        # Its chunk size changes nothing, so two or three sizes show it.
        sizes = calibrator().sizes(['chunks'])
        ctx = two_cpus()
        groups = {x.gid: x for x in plan.groups_chunks(ctx, sizes)}
        self.assertEqual(argv_of(groups['py-threads'], '--factor'),
                         str(plan.PY_THREADS_FACTOR))
        self.assertNotIn('--factor', groups['py-procs'].argv)
        self.assertNotIn('--factor', groups['c-par'].argv)

    def test_chunk_sizes_end_on_one_chunk_per_worker(self):
        self.assertEqual(plan.chunk_sizes(100, 2, 1), [1, 4, 16, 50])
        self.assertEqual(plan.chunk_sizes(100, 2, 1, 1000), [1, 50])
        self.assertEqual(plan.chunk_sizes(10, 2, 5), [5])


def two_cpus():
    """The plan's context on a 2-CPU machine with MPI and Python."""
    return plan.Context(
        bin='/b', python='/p', pydir='/d', ncpu=2, workers=[1, 2, 4],
        py_workers=[1, 2, 4], io_workers=[1, 4, 16, 64],
        mpi_ranks=[1, 2], have_mpi=lambda wl: True, mpi_run='/m',
        mpi_used=True, mpi_startup_repeat=5, background_s=1.0)


def argv_of(group, opt):
    return group.argv[group.argv.index(opt) + 1]


if __name__ == '__main__':
    unittest.main()
