"""The hosts step's records, model, sentences, table and chart
(poolbench.cli.hosts_samples, poolbench.hosts) on synthetic runs: a
record's variant says where its ranks ran and whether it is the transfer,
every sentence says what its numbers show (slower, faster or
indistinguishable across hosts; a variant that moves nothing), and the
report shows the section, or why the step was skipped."""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from poolbench import analyse, check_run, cli, hosts  # noqa: E402
from runfixture import cfg, make_run  # noqa: E402

HOSTS = {'hosts': 2, 'n': 10 ** 7, 'repeat': 5, 'variants': []}
SPREAD = [-0.02, -0.01, 0.0, 0.01, 0.02]


def record(variant, kernel_s, n=10 ** 7, rep=0):
    return {'bench': 'sum', 'lang': 'c', 'mode': 'mpi', 'variant': variant,
            'workers': 2, 'n': n, 'chunk': n // 2, 'tasks': 2, 'rep': rep,
            'setup_s': 0.0, 'kernel_s': kernel_s, 'result': n,
            'expected': n, 'check': 'ok', 'user_s': 0.0, 'sys_s': 0.0}


def runs(variant, sum_one, sum_two, gbps_one=None, gbps_two=None,
         moved=40000000, noise=1.0):
    """The rig's records of one variant: 5 repetitions on one host and
    across 2 hosts, each a sum and a +moved record (moved bytes at the
    given GB/s; None: nothing moved, as local)."""
    recs = []
    for tag, k, g in (('', sum_one, gbps_one), ('+2hosts', sum_two,
                                                  gbps_two)):
        for rep, d in enumerate(SPREAD):
            recs.append(record(variant + tag, k * (1 + noise * d), rep=rep))
            if g:
                recs.append(record(variant + tag + '+moved',
                                   moved / (g * 1e9) * (1 + noise * d),
                                   n=moved, rep=rep))
            else:
                recs.append(record(variant + tag + '+moved', 0.0, n=0,
                                   rep=rep))
    return recs


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='pb-test-hosts.')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_dir(self, recs, skipped=None):
        path = make_run(os.path.join(self.tmp, 'run'),
                        [cfg('sum', 'c', 'seq', 1, 0.5)])
        with open(os.path.join(path, 'samples.jsonl'), 'a') as f:
            for s in cli.hosts_samples(recs, HOSTS):
                f.write(json.dumps(s) + '\n')
        if skipped:
            p = os.path.join(path, 'run.json')
            with open(p) as f:
                run = json.load(f)
            run['skipped'] = {'hosts': skipped}
            with open(p, 'w') as f:
                json.dump(run, f)
        return path

    def model(self, recs, skipped=None):
        return analyse.build_model(self.run_dir(recs, skipped))


class Labels(Case):
    def test_the_variant_says_hosts_and_transfer(self):
        recs = [record('static+oversub', 0.1),
                record('static+oversub+moved', 0.05, n=40000000),
                record('dynamic+2hosts', 0.3),
                record('dynamic+2hosts+moved', 0.2, n=80000000)]
        got = [(s['variant'], s['hosts'], s['across_hosts'], s['what'],
                s['oversub'], s['bytes'])
               for s in cli.hosts_samples(recs, HOSTS)]
        self.assertEqual(got, [
            ('static', 1, False, 'sum', True, None),
            ('static', 1, False, 'moved', True, 40000000),
            ('dynamic', 2, True, 'sum', False, None),
            ('dynamic', 2, True, 'moved', False, 80000000)])

    def test_gb_per_s_is_bytes_over_kernel_time(self):
        s = cli.hosts_samples([record('static+2hosts+moved', 0.1,
                                      n=40000000)], HOSTS)[0]
        self.assertAlmostEqual(s['gbps'], 0.4)

    def test_nothing_moved_has_no_rate(self):
        s = cli.hosts_samples([record('local+moved', 0.0, n=0)], HOSTS)[0]
        self.assertIsNone(s['gbps'])
        self.assertFalse(s['bytes'])

    def test_hosts_samples_are_no_workload_configuration(self):
        m = self.model(runs('static', 0.03, 0.1, 2.0, 0.4))
        self.assertEqual({c['workload'] for c in m['configs']}, {'sum'})
        self.assertEqual(len(m['hosts']['rows']), 2)


class Sentences(Case):
    def text(self, m):
        return '\n'.join(m['hosts']['sentences'])

    def test_slower_across_hosts_gives_the_rate_and_the_factor(self):
        m = self.model(runs('static', 0.03, 0.1, 2.0, 0.4))
        t = self.text(m)
        self.assertIn('static: moving the data between 2 hosts (40 MB, '
                      'median) ran at 0.40 GB/s', t)
        self.assertRegex(t, r'5\.0 times slower \(95% CI [\d.]+-[\d.]+\) '
                            r'than between ranks on one host, 2\.00 GB/s')
        self.assertRegex(t, r'the sum took 100 ms \([^)]*\) across 2 '
                            r'hosts against 30\.0 ms \([^)]*\) on one '
                            r'host: 3\.3 times \(95% CI [\d.-]+\) as long')

    def test_faster_across_hosts_says_faster(self):
        t = self.text(self.model(runs('static', 0.1, 0.03, 0.4, 2.0)))
        self.assertIn('5.0 times faster', t)
        self.assertIn('as fast', t)

    def test_overlapping_rates_are_indistinguishable(self):
        t = self.text(self.model(runs('static', 0.05, 0.05, 1.0, 1.01,
                                      noise=5)))
        self.assertIn('indistinguishable from between ranks on one host', t)
        self.assertNotIn('slower', t)

    def test_a_variant_that_moves_nothing_says_so(self):
        t = self.text(self.model(runs('local', 0.003, 0.003, noise=5)))
        self.assertIn('local moves no data between ranks', t)
        self.assertNotIn('GB/s', t)

    def test_the_first_sentence_joins_the_summary(self):
        m = self.model(runs('static', 0.03, 0.1, 2.0, 0.4))
        self.assertIn(m['hosts']['sentences'][0], m['summary'])


class Report(Case):
    def test_report_chart_and_table_and_the_checker_agrees(self):
        path = self.run_dir(runs('static', 0.03, 0.1, 2.0, 0.4) +
                            runs('local', 0.003, 0.004))
        analyse.write_outputs(path)
        with open(os.path.join(path, 'report.md')) as f:
            md = f.read()
        self.assertIn('## Crossing a host boundary', md)
        self.assertIn('](charts/hosts.png)', md)
        head, rows = check_run.tables(md)['hosts']
        self.assertEqual([r[:2] for r in rows], [
            ['static', 'one host (shared memory)'],
            ['static', '2 hosts (TCP)'],
            ['local', 'one host (shared memory)'],
            ['local', '2 hosts (TCP)']])
        self.assertEqual(rows[1][head.index('GB/s moved, median (95% CI)')],
                         '0.40 GB/s (0.39-0.41)')
        self.assertEqual(rows[3][head.index('GB/s moved, median (95% CI)')],
                         '-')
        with open(os.path.join(path, 'data', 'hosts.dat')) as f:
            self.assertEqual(len([x for x in f if not x.startswith('#')]), 2)
        with open(os.path.join(path, 'summary.json')) as f:
            self.assertTrue(json.load(f)['hosts']['ran'])
        self.assertEqual(check_run.check(path), [])

    def test_a_skipped_step_says_why(self):
        path = self.run_dir([], skipped='not root')
        analyse.write_outputs(path)
        with open(os.path.join(path, 'report.md')) as f:
            self.assertIn('Not measured: not root.', f.read())
        self.assertEqual(check_run.check(path), [])

    def test_without_the_step_the_report_has_no_section(self):
        path = self.run_dir([])
        analyse.write_outputs(path)
        with open(os.path.join(path, 'report.md')) as f:
            self.assertNotIn('host boundary', f.read())
        self.assertIsNone(hosts.summary(analyse.build_model(path)))


if __name__ == '__main__':
    unittest.main()
