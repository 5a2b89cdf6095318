"""poolbench.compare: like with like.  Same sizes compare kernel times;
different sizes only size-free figures (and say so); a difference is
reported only where Mann-Whitney U finds it significant and it is larger
than both runs' noise; nothing comparable is refused with exit 3."""

import io
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from poolbench import compare  # noqa: E402
from poolbench.check_run import png_ok, svg_ok  # noqa: E402
from runfixture import cfg, make_run, scaling  # noqa: E402


def primes_run(seq=1.0, t2=1.9, p2=1.8, n=1000, noise=1.0):
    return [cfg('primes', 'c', 'seq', 1, seq, n=n, noise=noise)] + \
        scaling('primes', 'c', seq, {1: 1.0, 2: t2}, 'threads', n=n,
                noise=noise) + \
        scaling('primes', 'c', seq, {1: 1.0, 2: p2}, 'procs', n=n,
                noise=noise)


class Compare(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='pb-test-compare.')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_pair(self, a, b, **kw):
        pa = make_run(os.path.join(self.tmp, 'a'), a, **kw)
        pb = make_run(os.path.join(self.tmp, 'b'), b, **kw)
        out = os.path.join(self.tmp, 'cmp')
        text = io.StringIO()
        folder, cmp = compare.compare(pa, pb, out, stream=text)
        return cmp, text.getvalue(), folder

    def rows(self, cmp):
        return {r['label']: r for r in cmp['rows']}

    def test_a_real_difference_is_reported_with_its_test(self):
        cmp, text, _ = self.run_pair(primes_run(t2=1.9),
                                     primes_run(t2=2.5))
        r = self.rows(cmp)['primes C threads w2']
        self.assertEqual(r['figure'], 'kernel time')
        self.assertEqual(r['verdict'], 'better')
        self.assertLess(r['p'], 0.05)
        self.assertIn('Mann-Whitney U', text)
        self.assertIn('B is better on 1 and worse on 0', text)
        self.assertEqual(self.rows(cmp)['primes C procs w2']['verdict'],
                         'same')

    def test_a_change_within_the_noise_is_not_a_difference(self):
        # 3% slower, samples spread +-10%: significant or not, it is
        # within both runs' IQR, so no difference is shown.
        cmp, _, _ = self.run_pair(primes_run(noise=5),
                                  primes_run(seq=1.03, t2=1.9 / 1.03,
                                             p2=1.8 / 1.03, noise=5))
        self.assertTrue(all(r['verdict'] == 'same' for r in cmp['rows']))

    def test_worse_is_reported_as_worse(self):
        cmp, text, _ = self.run_pair(primes_run(t2=1.9),
                                     primes_run(t2=1.4))
        self.assertEqual(self.rows(cmp)['primes C threads w2']['verdict'],
                         'worse')
        self.assertIn('B worse', text)

    def test_different_sizes_compare_only_size_free_figures(self):
        cmp, text, folder = self.run_pair(primes_run(n=1000, t2=1.9),
                                          primes_run(n=5000, seq=9.0,
                                                     t2=1.9))
        self.assertEqual(cmp['sizes_differ'], ['primes'])
        rows = self.rows(cmp)
        self.assertEqual(rows['primes C threads w2']['figure'], 'speedup')
        # Same speedup at a different size: no difference.
        self.assertEqual(rows['primes C threads w2']['verdict'], 'same')
        # The sequential run of primes has no size-free figure.
        self.assertNotIn('primes C seq w1', rows)
        self.assertEqual(cmp['skipped'], [['primes', 'c', 'seq', '-', 1, 0]])
        self.assertIn('size-free figures only', text)
        with open(os.path.join(folder, 'compare.md')) as f:
            md = f.read()
        self.assertIn('Sizes differ for primes', md)
        self.assertIn('Not compared (sizes differ and no size-free '
                      'figure): primes C seq w1', md)
        self.assertNotIn('leave no doubt', md)

    def test_sum_sequential_runs_of_different_sizes_compare_gb_per_s(self):
        a = [cfg('sum', 'c', 'seq', 1, 0.01, n=10 ** 6)]
        b = [cfg('sum', 'c', 'seq', 1, 0.02, n=2 * 10 ** 6)]
        cmp, _, _ = self.run_pair(a, b)
        r = self.rows(cmp)['sum C seq w1']
        self.assertEqual(r['figure'], 'GB/s')
        self.assertAlmostEqual(r['a_median'], 0.8)
        self.assertEqual(r['verdict'], 'same')

    def test_overhead_of_different_task_counts_compares_per_task_cost(self):
        a = [cfg('overhead', 'c', 'tp', 2, 0.001, variant='bulk', n=1000)]
        b = [cfg('overhead', 'c', 'tp', 2, 0.004, variant='bulk', n=2000)]
        cmp, _, _ = self.run_pair(a, b)
        r = self.rows(cmp)['overhead C tp (bulk) w2']
        self.assertEqual(r['figure'], 'time per task')
        self.assertEqual(r['verdict'], 'worse')
        self.assertAlmostEqual(r['change'], 1.0)

    def test_chart_has_one_panel_per_workload_with_both_runs(self):
        _, _, folder = self.run_pair(primes_run(), primes_run(t2=2.5))
        base = os.path.join(folder, 'charts', 'compare-primes')
        self.assertTrue(png_ok(base + '.png'))
        self.assertTrue(svg_ok(base + '.svg'))
        with open(os.path.join(folder, 'data', 'compare-primes.dat')) as f:
            dat = f.read()
        for t in ('"A: C threads"', '"B: C threads"', '"A: C processes"',
                  '"B: C processes"'):
            self.assertIn(t, dat)
        with open(os.path.join(folder, 'compare.json')) as f:
            self.assertIn('rows', json.load(f))
        with open(os.path.join(folder, 'compare.html')) as f:
            page = f.read()
        self.assertIn('id="fig-compare-primes"', page)
        self.assertEqual(page.count('<svg '), 1)
        self.assertNotRegex(page, r'<(img|link)\b')
        self.assertIn('primes C threads w2', page)

    def test_identical_runs_show_no_difference(self):
        cmp, _, _ = self.run_pair(primes_run(), primes_run())
        self.assertTrue(cmp['rows'])
        self.assertTrue(all(r['verdict'] == 'same' for r in cmp['rows']))


class Main(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='pb-test-compare.')
        self.err = io.StringIO()
        self.out = io.StringIO()
        self.saved = sys.stderr, sys.stdout
        sys.stderr, sys.stdout = self.err, self.out

    def tearDown(self):
        sys.stderr, sys.stdout = self.saved
        shutil.rmtree(self.tmp)

    def test_nothing_comparable_exits_3_with_a_reason(self):
        a = make_run(os.path.join(self.tmp, 'a'), primes_run())
        b = make_run(os.path.join(self.tmp, 'b'),
                     [cfg('images', 'c', 'seq', 1, 0.1)])
        self.assertEqual(compare.main([a, b, '--out',
                                       os.path.join(self.tmp, 'o')]), 3)
        self.assertIn('nothing to compare', self.err.getvalue())
        self.assertIn('no configuration in common', self.err.getvalue())
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'o')))

    def test_only_size_bound_figures_in_common_exits_3(self):
        a = make_run(os.path.join(self.tmp, 'a'),
                     [cfg('primes', 'c', 'seq', 1, 1.0, n=10)])
        b = make_run(os.path.join(self.tmp, 'b'),
                     [cfg('primes', 'c', 'seq', 1, 2.0, n=20)])
        self.assertEqual(compare.main([a, b]), 3)
        self.assertIn('different sizes', self.err.getvalue())

    def test_bad_usage_exits_2(self):
        self.assertEqual(compare.main(['only-one']), 2)
        self.assertEqual(compare.main(['a', 'b', '--bogus']), 2)
        self.assertEqual(compare.main(['a', 'b', '--out']), 2)

    def test_missing_run_folder_exits_1(self):
        a = make_run(os.path.join(self.tmp, 'a'), primes_run())
        self.assertEqual(compare.main([a, os.path.join(self.tmp, 'no')]), 1)
        self.assertIn('no such run folder', self.err.getvalue())

    def test_default_output_folder_beside_run_b(self):
        a = make_run(os.path.join(self.tmp, 'a'), primes_run())
        b = make_run(os.path.join(self.tmp, 'b'), primes_run())
        self.assertEqual(compare.main([a, b]), 0)
        self.assertTrue(os.path.exists(os.path.join(
            self.tmp, 'compare-a-vs-b', 'compare.md')))


if __name__ == '__main__':
    unittest.main()
