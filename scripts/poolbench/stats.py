"""The statistics behind every figure of a run: order statistics, a
bootstrap confidence interval for a ratio of medians, and the Mann-Whitney U
test.  Standard library only; every function is pure and deterministic (the
bootstrap takes a seed), so the same run folder always gives the same
report.

Why these:
- Medians and quartiles, not means: a benchmark's times are skewed (a run
  can only be slowed down, by the scheduler, a page fault, a neighbour), and
  one slow outlier moves a mean but not a median.
- The bootstrap (Efron 1979): the speedup T(seq) / T(p) is a ratio of two
  medians, each from a few samples; there is no simple formula for its
  spread.  Resampling both sides with replacement, many times, and taking
  the 2.5th and 97.5th percentiles of the resampled ratios gives a 95%
  interval without assuming a distribution.
- Mann-Whitney U (1947): do two sets of samples come from the same
  distribution?  It compares ranks, not values, so outliers do not dominate
  it; Google Benchmark's tools/compare.py uses it for the same job.  With the
  sample counts of a run (5 to 30 per side) the normal approximation with a
  tie correction and a continuity correction is accurate enough (it is what
  scipy.stats.mannwhitneyu(method="asymptotic") computes).
"""

import math
import random

# The seed of every bootstrap: a fixed number, so reports are reproducible.
BOOTSTRAP_SEED = 20261207
# 2000 resamples: the percentile interval's end points move by well under
# 1% between seeds at this count (Efron & Tibshirani 1993 suggest >= 1000
# for percentile intervals).
BOOTSTRAP_RESAMPLES = 2000


def quantile(values, q):
    """The q-quantile (0..1) of values by linear interpolation between the
    closest ranks (numpy's default, "type 7")."""
    v = sorted(values)
    if not v:
        raise ValueError('quantile of no values')
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def median(values):
    return quantile(values, 0.5)


def describe(values):
    """n, median, q1, q3, min, max of values (a dict)."""
    v = sorted(values)
    return {'n': len(v), 'median': quantile(v, 0.5),
            'q1': quantile(v, 0.25), 'q3': quantile(v, 0.75),
            'min': v[0], 'max': v[-1]}


def _median_sorted(v):
    n = len(v)
    m = n // 2
    return v[m] if n % 2 else (v[m - 1] + v[m]) / 2


def ratio_ci(num, den, level=0.95, resamples=BOOTSTRAP_RESAMPLES,
             seed=BOOTSTRAP_SEED):
    """The ratio median(num) / median(den) and its bootstrap percentile
    interval: (estimate, low, high).  Both samples are resampled with
    replacement, independently, each time.  Speedup is
    ratio_ci(seq_times, par_times)."""
    if not num or not den:
        raise ValueError('ratio of medians needs samples on both sides')
    est = median(num) / median(den)
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        a = _median_sorted(sorted(rng.choices(num, k=len(num))))
        b = _median_sorted(sorted(rng.choices(den, k=len(den))))
        if b > 0:
            ratios.append(a / b)
    if not ratios:
        return est, est, est
    tail = (1 - level) / 2
    return est, quantile(ratios, tail), quantile(ratios, 1 - tail)


def intervals_separate(a, b):
    """1 when interval a = (lo, hi) lies wholly above b, -1 when wholly
    below, 0 when they overlap."""
    if a[0] > b[1]:
        return 1
    if a[1] < b[0]:
        return -1
    return 0


def mann_whitney_u(a, b):
    """Two-sided Mann-Whitney U test of samples a and b: returns (U, p),
    U being a's statistic (the number of pairs in which a's value is the
    larger, ties counting one half).  p comes from the normal approximation
    with tie and continuity corrections; with no spread at all (every value
    equal) p is 1."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError('Mann-Whitney U needs samples on both sides')
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    n = n1 + n2
    ranks = [0.0] * n
    ties = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        r = (i + j) / 2 + 1          # mean rank of the tied block, 1-based
        for k in range(i, j + 1):
            ranks[k] = r
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, side) in zip(ranks, pooled) if side == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
    z = max(z, 0.0)
    return u1, min(1.0, math.erfc(z / math.sqrt(2)))
