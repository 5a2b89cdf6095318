"""poolbench.charts: at most 6 series per chart, ticks that read as
numbers, the ideal line straight (same kind of scale on both axes),
medians on the charts equal to the report's, a footer naming machine,
date and commit, flagged points marked, and every chart drawn as a valid
PNG and SVG that write_outputs' checker accepts."""

import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from poolbench import analyse, charts, check_run  # noqa: E402
from runfixture import cfg, make_run, scaling  # noqa: E402


ABLATED = ['tp-no-poll', 'tp-no-recycle', 'tp-two-trips', 'tp-wake-always',
           'tp-no-cascade', 'textbook']


def big_sum_run():
    """sum with 11 series, 7 of them not MPI (the old speedup-sum chart
    drew 9 on one chart)."""
    seq = 0.01
    cs = [cfg('sum', lang, 'seq', 1, seq) for lang in ('c', 'python')]
    w = {1: 1.0, 2: 1.8, 4: 1.9}
    for lang, mode, v in (('c', 'threads', '-'), ('c', 'procs', 'shm'),
                          ('c', 'procs', 'copy'), ('python', 'threads', '-'),
                          ('python', 'procs', 'shm'),
                          ('python', 'procs', 'copy'), ('c', 'threads', 'gil'),
                          ('c', 'mpi', 'static'),
                          ('c', 'mpi', 'dynamic'), ('c', 'mpi', 'local')):
        cs += scaling('sum', lang, seq, w, mode, v)
    return cs


class Ticks(unittest.TestCase):
    def test_log_ticks_read_as_numbers(self):
        for lo, hi in ((0.0009, 0.003), (0.04, 2.5), (0.8, 70), (1, 4000)):
            ticks = charts.nice_log_ticks(lo, hi)
            self.assertGreaterEqual(len(ticks), 3, (lo, hi))
            for t in ticks:
                label = charts.fmt_num(t)
                self.assertLessEqual(len(label.replace('.', '')
                                     .lstrip('0')), 4, label)
                self.assertTrue(lo <= t <= hi)
        self.assertNotIn('0.000976562', charts.tics_cmd(
            'y', charts.nice_log_ticks(0.0009, 0.003)))

    def test_linear_ticks_are_round(self):
        self.assertEqual(charts.nice_lin_ticks(0, 110),
                         [0, 20, 40, 60, 80, 100])

    def test_time_ticks_carry_their_unit(self):
        labels = [lab for lab, _ in charts.time_ticks(1e-9, 1e-3)]
        self.assertEqual(labels, ['1 ns', '10 ns', '100 ns', '1 µs',
                                  '10 µs', '100 µs', '1 ms'])


class Drawing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pb-test-charts.')
        cls.calls = []
        real = charts.gnuplot

        def spy(run_dir, script, name, variables):
            cls.calls.append((script, name, dict(variables)))
            return real(run_dir, script, name, variables)
        charts.gnuplot = spy
        try:
            cs = big_sum_run()
            cs[3] = cfg('sum', 'c', 'threads', 2, 0.01 / 2.5)  # superlinear
            cs += [cfg('overhead', 'c', 'tp', 2, 0.001, variant=v, n=1000)
                   for v in ('bulk', 'roundtrip')]
            # The ablation step's implementations, each trick off in turn.
            cs += [cfg('overhead', 'c', m, 2, 0.001 * k, variant=v, n=1000)
                   for k, m in enumerate(ABLATED, 2)
                   for v in ('bulk', 'roundtrip')]
            # The process pool's, each remedy off in turn.
            cs += [cfg('overhead', 'c', m, 2, 0.004 * k, variant=v, n=1000)
                   for k, m in enumerate(('pp', 'pp-no-ring', 'pp-no-poll'),
                                         1)
                   for v in ('bulk', 'roundtrip')]
            cls.run_dir = make_run(os.path.join(cls.tmp, 'run'), cs)
            cls.flags = analyse.write_outputs(cls.run_dir)
            cls.model = analyse.build_model(cls.run_dir)
        finally:
            charts.gnuplot = real

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_no_chart_has_more_than_six_series(self):
        plans = self.model['workloads']['sum']['charts']
        self.assertTrue(plans)
        for ch in plans:
            self.assertLessEqual(len(ch['keys']), charts.MAX_SERIES,
                                 ch['name'])
        names = {ch['name'] for ch in plans}
        self.assertIn('speedup-sum-c', names)
        self.assertIn('speedup-sum-python', names)
        self.assertIn('speedup-sum-mpi', names)

    def test_speedup_is_log_log_and_efficiency_has_a_flat_ideal(self):
        for script, name, v in self.calls:
            if name.startswith('speedup-'):
                self.assertEqual((v['logx'], v['logy']), (1, 1), name)
                self.assertEqual(v['ref'], 'diag')
            if name.startswith('efficiency-'):
                self.assertEqual(v['logy'], 0)
                self.assertEqual((v['ref'], v['refk']), ('const', 100.0))

    def test_axes_are_labelled_with_units_and_what_varies(self):
        for script, name, v in self.calls:
            if script == 'lines.gp':
                self.assertIn('workers', v['xlabel'])
                self.assertRegex(v['ylabel'], r'\((x|%)')

    def test_footer_names_machine_date_and_commit(self):
        for _, name, v in self.calls:
            self.assertIn('testhost', v['footer'])
            self.assertIn('2026-12-07', v['footer'])
            self.assertIn('commit abc1234', v['footer'])

    def test_chart_points_are_the_report_medians(self):
        dat = os.path.join(self.run_dir, 'data', 'speedup-sum-c.dat')
        with open(dat) as f:
            dat = f.read()
        block = dat.split('\n\n\n')[0].split('\n')
        self.assertEqual(block[0], '"C threads"')
        c = [c for c in self.model['configs'] if c['workload'] == 'sum' and
             c['lang'] == 'c' and c['mode'] == 'threads' and
             c['workers'] == 2][0]
        row = [r for r in block[1:] if r.startswith('2 ')][0].split()
        self.assertAlmostEqual(float(row[1]), c['speedup']['est'], 6)
        self.assertAlmostEqual(float(row[2]), c['speedup']['lo'], 6)
        with open(os.path.join(self.run_dir, 'report.md')) as f:
            self.assertIn(analyse.fmt_ci_x(c['speedup'])[:5], f.read())

    def test_flagged_points_are_marked_with_their_number(self):
        self.assertTrue(self.flags)
        self.assertTrue(self.flags[0].startswith('[1] '))
        dat = os.path.join(self.run_dir, 'data', 'speedup-sum-c.dat')
        with open(dat) as f:
            self.assertIn('1 "[1]"', f.read())
        v = [v for _, n, v in self.calls if n == 'speedup-sum-c'][0]
        self.assertEqual(v['nflagged'], 1)
        self.assertIn('[1] efficiency above 100%', v['footnote'])

    def test_every_legend_entry_is_in_the_svg(self):
        svg = os.path.join(self.run_dir, 'charts', 'speedup-sum-c.svg')
        with open(svg) as f:
            svg = f.read()
        for t in ('C threads', 'C processes (shm)', 'C processes (copy)',
                  'ideal (speedup = workers)', 'flagged [n]: read with care'):
            self.assertIn(t, svg)

    def test_the_run_checker_accepts_the_folder(self):
        self.assertEqual(check_run.check(self.run_dir), [])

    def test_the_checker_refuses_it_as_a_dirty_reference_only(self):
        self.assertEqual(check_run.check(self.run_dir, reference=True), [])
        dirty = os.path.join(self.tmp, 'reference')
        shutil.copytree(self.run_dir, dirty)
        mj = os.path.join(dirty, 'machine.json')
        with open(mj) as f:
            text = f.read()
        with open(mj, 'w') as f:
            f.write(text.replace('"dirty": false', '"dirty": true'))
        problems = check_run.check(dirty)
        self.assertEqual(len(problems), 1)
        self.assertIn('clean commit', problems[0])
        self.assertEqual(check_run.check(dirty, reference=False)[0],
                         problems[0])

    def test_the_checker_catches_a_broken_chart_and_a_missing_table(self):
        broken = os.path.join(self.tmp, 'broken')
        shutil.copytree(self.run_dir, broken)
        with open(os.path.join(broken, 'charts', 'speedup-sum-c.png'),
                  'wb') as f:
            f.write(b'not a png')
        with open(os.path.join(broken, 'report.md')) as f:
            md = f.read()
        with open(os.path.join(broken, 'report.md'), 'w') as f:
            f.write(md.replace('<!-- table:overhead -->', ''))
        problems = '\n'.join(check_run.check(broken))
        self.assertIn('charts/speedup-sum-c.png', problems)
        self.assertIn('no table for overhead', problems)

    def test_overhead_chart_is_drawn_per_language(self):
        names = [n for _, n, _ in self.calls]
        self.assertIn('overhead-c', names)
        self.assertNotIn('overhead-python', names)
        v = [v for _, n, v in self.calls if n == 'overhead-c'][0]
        self.assertTrue(re.search(r'"1 ms"|"100 µs"|"1 µs"', v['ytics_cmd']))

    def test_ablation_chart_has_every_trick_off_in_order(self):
        v = [v for _, n, v in self.calls if n == 'ablation'][0]
        self.assertEqual(v['variants'], 'bulk roundtrip')
        with open(v['datafile']) as f:
            names = re.findall(r'^"([^"]+)"', f.read(), re.M)
        self.assertEqual(names, ['all tricks', 'no polling', 'no recycling',
                                 '2 lock trips', 'wake always',
                                 'no passing on', 'textbook'])
        self.assertIn('log scale', v['ylabel'])
        plans = self.model['workloads']['overhead']['charts']
        self.assertIn('ablation', [ch['name'] for ch in plans])

    def test_process_pool_ablation_chart_has_every_remedy_off(self):
        v = [v for _, n, v in self.calls if n == 'ablation-pp'][0]
        with open(v['datafile']) as f:
            names = re.findall(r'^"([^"]+)"', f.read(), re.M)
        self.assertEqual(names, ['all remedies', 'no poll', 'no ring'])
        self.assertIn('remedy', v['xlabel'])

    def test_overhead_chart_leaves_the_ablated_pools_out(self):
        v = [v for _, n, v in self.calls if n == 'overhead-c'][0]
        with open(v['datafile']) as f:
            text = f.read()
        self.assertIn('"textbook"', text)
        self.assertNotIn('tp-no-poll', text)
        self.assertNotIn('pp-no-ring', text)
        self.assertIn('"pp"', text)


if __name__ == '__main__':
    unittest.main()
