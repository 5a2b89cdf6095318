"""poolbench.stats: order statistics, the bootstrap interval of a ratio of
medians, and the Mann-Whitney U test, against values worked out by hand or
published (scipy.stats.mannwhitneyu's documented example)."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from poolbench import stats  # noqa: E402


class Quantiles(unittest.TestCase):
    def test_median_of_odd_and_even_counts(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)

    def test_quartiles_interpolate_between_ranks(self):
        d = stats.describe([1, 2, 3, 4, 5])
        self.assertEqual((d['q1'], d['median'], d['q3']), (2, 3, 4))
        self.assertEqual((d['min'], d['max'], d['n']), (1, 5, 5))
        self.assertAlmostEqual(stats.quantile([1, 2, 3, 4], 0.25), 1.75)

    def test_quantile_of_nothing_is_an_error(self):
        with self.assertRaises(ValueError):
            stats.quantile([], 0.5)


class Bootstrap(unittest.TestCase):
    def test_estimate_is_the_ratio_of_medians(self):
        est, lo, hi = stats.ratio_ci([2.0, 2.2, 1.8], [1.0, 1.1, 0.9])
        self.assertAlmostEqual(est, 2.0)
        self.assertLessEqual(lo, est)
        self.assertGreaterEqual(hi, est)

    def test_same_seed_gives_the_same_interval(self):
        a = [1.0 + 0.01 * i for i in range(12)]
        b = [0.5 + 0.02 * i for i in range(12)]
        self.assertEqual(stats.ratio_ci(a, b), stats.ratio_ci(a, b))

    def test_interval_stays_within_the_extreme_ratios(self):
        a = [1.0, 1.5, 2.0, 1.2, 1.7]
        b = [0.5, 0.6, 0.55, 0.7, 0.65]
        est, lo, hi = stats.ratio_ci(a, b)
        self.assertGreaterEqual(lo, min(a) / max(b))
        self.assertLessEqual(hi, max(a) / min(b))

    def test_no_spread_gives_a_point_interval(self):
        self.assertEqual(stats.ratio_ci([2.0] * 5, [1.0] * 5),
                         (2.0, 2.0, 2.0))

    def test_wider_spread_gives_a_wider_interval(self):
        tight = [1.0 + 0.001 * i for i in range(10)]
        wide = [1.0 + 0.1 * i for i in range(10)]
        _, lo1, hi1 = stats.ratio_ci(tight, tight)
        _, lo2, hi2 = stats.ratio_ci(wide, wide)
        self.assertLess(hi1 - lo1, hi2 - lo2)

    def test_empty_side_is_an_error(self):
        with self.assertRaises(ValueError):
            stats.ratio_ci([], [1.0])

    def test_intervals_separate_or_overlap(self):
        self.assertEqual(stats.intervals_separate((2, 3), (1, 1.5)), 1)
        self.assertEqual(stats.intervals_separate((1, 1.5), (2, 3)), -1)
        self.assertEqual(stats.intervals_separate((1, 2.5), (2, 3)), 0)


class MannWhitney(unittest.TestCase):
    def test_scipy_documented_example(self):
        # scipy.stats.mannwhitneyu docs: males against females,
        # method="asymptotic": statistic 17.0, p 0.11134688653314041.
        u, p = stats.mann_whitney_u([19, 22, 16, 29, 24], [20, 11, 17, 12])
        self.assertEqual(u, 17.0)
        self.assertAlmostEqual(p, 0.11134688653314041, places=12)

    def test_complete_separation_by_hand(self):
        # U = 0; mu = 12.5; sigma = sqrt(25 * 11 / 12); z = 12 / sigma
        # (continuity 0.5); p = erfc(z / sqrt 2) = 0.0121858.
        u, p = stats.mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
        self.assertEqual(u, 0)
        self.assertAlmostEqual(p, 0.012185780355, places=9)

    def test_ties_take_mean_ranks_and_shrink_the_variance(self):
        # a = [1, 2, 2], b = [2, 3, 3]: ranks 1, 3, 3 | 3, 5.5, 5.5;
        # R1 = 7, U = 1; ties: (3^3 - 3) + (2^3 - 2) = 30;
        # var = 9/12 * (7 - 30/30) = 4.5; mu = 4.5;
        # z = (|1 - 4.5| - 0.5) / sqrt(4.5) = sqrt 2; p = erfc(1).
        u, p = stats.mann_whitney_u([1, 2, 2], [2, 3, 3])
        self.assertEqual(u, 1)
        self.assertAlmostEqual(p, math.erfc(1), places=12)

    def test_symmetric_in_its_samples(self):
        a, b = [1.1, 2.3, 0.7, 4.0], [3.3, 2.2, 5.1]
        ua, pa = stats.mann_whitney_u(a, b)
        ub, pb = stats.mann_whitney_u(b, a)
        self.assertEqual(ua + ub, len(a) * len(b))
        self.assertAlmostEqual(pa, pb)

    def test_identical_samples_give_p_one(self):
        self.assertEqual(stats.mann_whitney_u([1.0] * 4, [1.0] * 4)[1], 1.0)
        self.assertEqual(stats.mann_whitney_u([1, 2, 3], [1, 2, 3])[1], 1.0)

    def test_three_samples_a_side_never_reach_five_percent(self):
        self.assertGreater(stats.mann_whitney_u([1, 2, 3], [4, 5, 6])[1],
                           0.05)


if __name__ == '__main__':
    unittest.main()
