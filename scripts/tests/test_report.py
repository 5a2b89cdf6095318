"""The report generator (poolbench.analyse, sentences, report) on small
synthetic runs (runfixture.py): every sentence says what its numbers show
-- threads beating processes and the reverse, more workers than CPUs
helping and not, memory-bound and CPU-bound work -- every flag fires when
its condition holds and only then, and the report has its sections."""

import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from poolbench import analyse, report  # noqa: E402
from runfixture import cfg, make_run, scaling  # noqa: E402


class RunCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='pb-test-report.')
        self.count = 0

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def model(self, configs, **kw):
        self.count += 1
        path = make_run(os.path.join(self.tmp, 'run%d' % self.count),
                        configs, **kw)
        return analyse.build_model(path)

    def sentences(self, model, wl, kind=None):
        return [s for s in model['workloads'][wl]['sentences']
                if kind is None or s['kind'] == kind]

    def config(self, model, wl, lang, mode, workers, variant='-'):
        for c in model['configs']:
            if (c['workload'], c['lang'], c['mode'], c['workers'],
                    c['variant']) == (wl, lang, mode, workers, variant):
                return c
        self.fail('no configuration %s' % ((wl, lang, mode, workers),))

    def assertStates(self, text, c):
        """The sentence gives c's speedup and its interval as the model
        has them."""
        self.assertIn(analyse.fmt_ci_x(c['speedup']), text)


def primes(t2, p2, t4=None, p4=None, lang='c'):
    """primes in one language: seq, then threads by workers, then
    processes by workers (without t4: [seq, t1, t2, p1, p2])."""
    seq = 1.0
    cs = [cfg('primes', lang, 'seq', 1, seq)]
    t = {1: 1.0, 2: t2}
    p = {1: 1.0, 2: p2}
    if t4:
        t[4] = t4
    if p4:
        p[4] = p4
    cs += scaling('primes', lang, seq, t, 'threads')
    cs += scaling('primes', lang, seq, p, 'procs')
    return cs


class Versus(RunCase):
    def test_threads_beat_processes_when_intervals_separate(self):
        m = self.model(primes(1.95, 1.6))
        s = self.sentences(m, 'primes', 'versus-threads')
        self.assertEqual(len(s), 1)
        self.assertIn('threads beat processes', s[0]['text'])
        self.assertIn('with 2 workers (the CPU count)', s[0]['text'])
        self.assertStates(s[0]['text'], self.config(m, 'primes', 'c',
                                                    'threads', 2))
        self.assertStates(s[0]['text'], self.config(m, 'primes', 'c',
                                                    'procs', 2))
        self.assertIn('1.95x', s[0]['text'])

    def test_processes_beat_threads_when_intervals_separate(self):
        m = self.model(primes(1.3, 1.9))
        s = self.sentences(m, 'primes', 'versus-procs')
        self.assertEqual(len(s), 1)
        self.assertIn('processes beat threads', s[0]['text'])
        self.assertFalse(self.sentences(m, 'primes', 'versus-threads'))

    def test_rates_are_named_in_the_order_of_the_speedups(self):
        # images has a throughput; processes win here, so they are named
        # first, their speedup and their images/s alike.
        cs = [cfg('images', 'c', 'seq', 1, 1.0)]
        cs += scaling('images', 'c', 1.0, {1: 1.0, 2: 1.3}, 'threads')
        cs += scaling('images', 'c', 1.0, {1: 1.0, 2: 1.9}, 'procs')
        m = self.model(cs)
        s = self.sentences(m, 'images', 'versus-procs')
        self.assertEqual(len(s), 1)
        win = self.config(m, 'images', 'c', 'procs', 2)
        lose = self.config(m, 'images', 'c', 'threads', 2)
        self.assertIn('(%.0f against %.0f images/s)' % (
            win['throughput'], lose['throughput']), s[0]['text'])
        self.assertGreater(win['throughput'], lose['throughput'])

    def test_overlapping_intervals_are_indistinguishable(self):
        m = self.model(primes(1.90, 1.89))
        s = self.sentences(m, 'primes', 'versus-level')
        self.assertEqual(len(s), 1)
        self.assertIn('indistinguishable', s[0]['text'])
        self.assertNotIn(' beat ', s[0]['text'])

    def test_neither_beating_the_sequential_run_is_said_so(self):
        m = self.model(primes(0.8, 0.7))
        s = self.sentences(m, 'primes', 'versus-neither')
        self.assertEqual(len(s), 1)
        self.assertIn('neither threads', s[0]['text'])

    def test_headline_sentences_reach_the_summary(self):
        m = self.model(primes(1.95, 1.6))
        self.assertTrue(any('threads beat processes' in s
                            for s in m['summary']))


class Oversubscription(RunCase):
    def test_more_workers_than_cpus_help_when_interval_is_above(self):
        m = self.model(primes(1.5, 1.5, t4=1.9))
        s = self.sentences(m, 'primes', 'oversub-helps')
        self.assertEqual(len(s), 1)
        self.assertIn('C threads with 4 workers on 2 CPUs', s[0]['text'])
        self.assertIn('helped', s[0]['text'])
        self.assertStates(s[0]['text'], self.config(m, 'primes', 'c',
                                                    'threads', 4))

    def test_more_workers_than_cpus_cost_time_when_interval_is_below(self):
        m = self.model(primes(1.9, 1.5, t4=1.5))
        s = self.sentences(m, 'primes', 'oversub-hurts')
        self.assertEqual(len(s), 1)
        self.assertIn('cost time', s[0]['text'])
        self.assertNotIn('helped', s[0]['text'])

    def test_no_difference_when_intervals_overlap(self):
        m = self.model(primes(1.9, 1.5, t4=1.91))
        s = self.sentences(m, 'primes', 'oversub-level')
        self.assertEqual(len(s), 1)
        self.assertIn('no measurable difference', s[0]['text'])

    def test_no_unconditional_claim_about_cpu_bound_work(self):
        # The old report said "more workers than CPUs do not help
        # CPU-bound work" whatever the numbers showed.
        m = self.model(primes(1.5, 1.5, t4=1.9, p4=1.9))
        text = report.build_report(m)
        self.assertNotIn('do not help CPU-bound', text)
        self.assertEqual(len(self.sentences(m, 'primes', 'oversub-helps')),
                         2)


class Kinds(RunCase):
    def sum_run(self):
        seq = 0.01
        cs = [cfg('sum', 'c', 'seq', 1, seq, n=10 ** 7)]
        cs += scaling('sum', 'c', seq, {1: 1.0, 2: 1.6}, 'threads',
                      n=10 ** 7)
        cs += scaling('sum', 'c', seq, {1: 1.0, 2: 1.5}, 'procs', 'shm',
                      n=10 ** 7)
        cs += scaling('sum', 'c', seq, {1: 0.1, 2: 0.15}, 'procs', 'copy',
                      n=10 ** 7)
        return cs

    def test_memory_bound_work_is_read_in_gb_per_s(self):
        m = self.model(self.sum_run())
        s = self.sentences(m, 'sum', 'bandwidth')
        self.assertEqual(len(s), 1)
        # 8 bytes x 10^7 values in 10 ms = 8.0 GB/s; threads at 1.6x: 12.8.
        self.assertIn('sum is memory-bound', s[0]['text'])
        self.assertIn('8.0 GB/s', s[0]['text'])
        self.assertIn('12.8 GB/s', s[0]['text'])
        text = report.build_report(m)
        self.assertIn('## sum: memory-bound', text)
        self.assertIn('| GB/s |', text)
        self.assertNotIn('CPU-bound', text)

    def test_each_runs_samples_within_ten_percent_are_counted(self):
        seq = 0.01
        # threads: 2 of 9 samples 20% off their median; the sequential
        # loop and the processes: every sample within 10%.
        cs = [cfg('sum', 'c', 'seq', 1, seq, n=10 ** 7, noise=0.0),
              cfg('sum', 'c', 'threads', 2, None, n=10 ** 7,
                  samples=[0.006] * 7 + [0.0072, 0.0048]),
              cfg('sum', 'c', 'procs', 2, None, 'shm', n=10 ** 7,
                  samples=[0.0065, 0.0066, 0.0064] * 3)]
        s = self.sentences(self.model(cs), 'sum', 'steadiness')
        self.assertEqual(len(s), 1)
        self.assertIn('the sequential loop 21 of 21', s[0]['text'])
        self.assertIn('C threads with 2 workers 7 of 9', s[0]['text'])
        self.assertIn('C processes (shm) with 2 workers 9 of 9',
                      s[0]['text'])
        # cfg deals explicit samples to rounds 1, 2, 3 in turn: threads'
        # rounds are [6, 6, 6.0], [6, 6, 7.2], [6, 6, 4.8] (ms).
        self.assertIn("within 10% of their round's median, which leaves "
                      "out how the machine drifted between rounds: 21, 7 "
                      "and 9.", s[0]['text'])
        self.assertNotIn("machine's", s[0]['text'])
        self.assertIn('Fewer within 10% than the sequential loop, which '
                      'uses no pool: C threads with 2 workers.', s[0]['text'])
        # The sequential loop strays more: the spread is the machine's.
        cs[0] = cfg('sum', 'c', 'seq', 1, None, n=10 ** 7,
                    samples=[0.01, 0.01, 0.0125])
        s = self.sentences(self.model(cs), 'sum', 'steadiness')
        self.assertIn('the sequential loop 2 of 3', s[0]['text'])
        self.assertIn("No pool had fewer within 10% than the sequential "
                      "loop, which uses none: the spread is the machine's.",
                      s[0]['text'])
        self.assertNotIn('Fewer', s[0]['text'])

    def test_the_fastest_run_is_not_a_remedy_switched_off(self):
        # The no-prefault run drifted faster than all others: the
        # sentence still names the fastest of the runs it compares.
        cs = self.sum_run() + scaling('sum', 'c', 0.01, {2: 1.9}, 'procs',
                                      'shm-no-prefault', n=10 ** 7)
        text = self.sentences(self.model(cs), 'sum', 'bandwidth')[0]['text']
        self.assertNotIn('no-prefault', text)
        self.assertIn('12.8 GB/s', text)

    def test_copying_processes_against_shared_memory(self):
        m = self.model(self.sum_run())
        s = self.sentences(m, 'sum', 'copy-slower')
        self.assertEqual(len(s), 1)
        self.assertIn('--copy', s[0]['text'])

    def test_cpu_bound_work_has_no_bandwidth(self):
        m = self.model(primes(1.95, 1.6))
        self.assertFalse(self.sentences(m, 'primes', 'bandwidth'))
        text = report.build_report(m)
        self.assertIn('## primes: CPU-bound', text)
        self.assertNotIn('GB/s', text)
        self.assertNotIn('memory-bound', text)

    def test_gil_is_named_only_for_cpu_bound_python_threads(self):
        cs = primes(1.9, 1.9, lang='python') + \
            [cfg('sum', 'python', 'seq', 1, 0.01)] + \
            scaling('sum', 'python', 0.01, {2: 1.0}, 'threads')
        cs[1:3] = scaling('primes', 'python', 1.0, {1: 1.0, 2: 1.0},
                          'threads')
        m = self.model(cs)
        self.assertEqual(len(self.sentences(m, 'primes', 'gil-python')), 1)
        self.assertFalse(self.sentences(m, 'sum', 'gil-python'))

    def test_gil_sentence_absent_when_python_threads_speed_up(self):
        m = self.model(primes(1.9, 1.9, lang='python'))
        self.assertFalse(self.sentences(m, 'primes', 'gil-python'))


class Flags(RunCase):
    def kinds(self, m):
        return sorted(f['kind'] for f in m['flags'])

    def test_a_clean_run_has_no_flag_and_says_so(self):
        m = self.model(primes(1.9, 1.8))
        self.assertEqual(m['flags'], [])
        self.assertIn('No flags', report.build_report(m))

    def test_superlinear_efficiency_is_flagged_with_its_cause(self):
        m = self.model(primes(2.4, 1.8))
        self.assertEqual(self.kinds(m), ['superlinear'])
        f = m['flags'][0]
        self.assertIn('efficiency 120%', f['text'])
        self.assertIn('baseline', f['cause'])
        c = self.config(m, 'primes', 'c', 'threads', 2)
        self.assertEqual(c['flags'], [1])

    def test_efficiency_above_100_within_the_interval_is_not_flagged(self):
        cs = primes(1.9, 1.8)
        cs[2] = cfg('primes', 'c', 'threads', 2, 1 / 2.02, noise=4)
        m = self.model(cs)
        c = self.config(m, 'primes', 'c', 'threads', 2)
        self.assertGreater(c['efficiency']['est'], 1)
        self.assertLess(c['efficiency']['lo'], 1)
        self.assertEqual(m['flags'], [])

    def test_one_worker_off_the_sequential_run_is_flagged(self):
        cs = primes(1.9, 1.8)
        cs[1] = cfg('primes', 'c', 'threads', 1, 1 / 1.3)
        cs[3] = cfg('primes', 'c', 'procs', 1, 1 / 0.7)
        m = self.model(cs)
        self.assertEqual(self.kinds(m), ['one-worker', 'one-worker'])
        texts = ' '.join(f['text'] for f in m['flags'])
        self.assertIn('above 1.1x', texts)
        self.assertIn('below 0.9x', texts)

    def test_drifting_baseline_is_flagged(self):
        cs = primes(1.9, 1.8)
        cs[0] = cfg('primes', 'c', 'seq', 1, 1.0, rounds=[1.0, 1.2, 1.0])
        m = self.model(cs)
        self.assertEqual(self.kinds(m), ['drift'])
        self.assertIn('moved 20%', m['flags'][0]['text'])
        self.assertIn('20% [1]', report.build_report(m))

    def drift_flag(self, cpu):
        cs = primes(1.9, 1.8)
        cs[0] = cfg('primes', 'c', 'seq', 1, None, rounds=[1.0, 1.4, 1.0],
                    cpu=cpu)
        flags = [f for f in self.model(cs)['flags'] if f['kind'] == 'drift']
        self.assertEqual(len(flags), 1)
        return flags[0]['cause']

    def test_drift_in_system_time_names_the_operating_system(self):
        cause = self.drift_flag(lambda r, k: (0.9, k - 0.9))
        self.assertIn('operating system', cause)
        self.assertNotIn('CPU itself', cause)

    def test_drift_in_user_time_names_the_cpu(self):
        cause = self.drift_flag(lambda r, k: (k - 0.05, 0.05))
        self.assertIn('CPU itself ran slower', cause)

    def test_drift_without_cpu_times_keeps_the_general_cause(self):
        cause = self.drift_flag(None)
        self.assertIn('machine\'s speed changed', cause)

    def test_drift_under_the_limit_is_not_flagged(self):
        cs = primes(1.9, 1.8)
        cs[0] = cfg('primes', 'c', 'seq', 1, 1.0, rounds=[1.0, 1.1, 1.0])
        self.assertEqual(self.model(cs)['flags'], [])

    def test_background_load_is_flagged(self):
        m = self.model(primes(1.9, 1.8),
                       background={'primes': {'busy_fraction': 0.25}})
        self.assertEqual(self.kinds(m), ['background'])
        self.assertIn('25%', m['flags'][0]['text'])

    def test_kernel_shorter_than_target_is_flagged(self):
        cal = [{'workload': 'primes', 'lang': 'c', 'params': {'n': 1000},
                'repeat': 1, 'seq_kernel_s': 0.5, 'source': 'calibrated'}]
        m = self.model(primes(1.9, 1.8), target_s=2.0, calibration=cal)
        self.assertEqual(self.kinds(m), ['short'])
        self.assertIn('under the target of 2.00 s', m['flags'][0]['text'])
        m = self.model(primes(1.9, 1.8), target_s=1.0, calibration=cal)
        self.assertEqual(m['flags'], [])

    def test_a_kernel_the_budget_shortened_says_so(self):
        # The suite's own cut, recorded in calibration.json's note, is the
        # cause; not a calibration that fell short.
        cal = [{'workload': 'primes', 'lang': 'c', 'params': {'n': 1000},
                'repeat': 1, 'seq_kernel_s': 0.5, 'source': 'calibrated',
                'note': '24 repetitions; repetitions halved to fit '
                        '--budget-s'}]
        m = self.model(primes(1.9, 1.8), target_s=2.0, calibration=cal)
        self.assertEqual(self.kinds(m), ['short'])
        self.assertIn('--budget-s halved', m['flags'][0]['cause'])
        self.assertNotIn('calibration chose', m['flags'][0]['cause'])

    def test_flags_are_listed_at_the_top_and_marked_in_the_table(self):
        m = self.model(primes(2.4, 1.8))
        text = report.build_report(m)
        top = text.index('## Read with care')
        self.assertLess(top, text.index('## Machine'))
        self.assertIn('- **[1]**', text[top:text.index('## Machine')])
        self.assertRegex(text, r'\| C \| threads \| - \| 2 \|.*\| \[1\] \|')


class Overhead(RunCase):
    def run_model(self):
        cs = []
        for mode, per in (('tp', 200e-9), ('tp-no-poll', 400e-9),
                          ('tp-two-trips', 201e-9), ('omp', 150e-9),
                          ('textbook', 1e-6), ('pp', 800e-9),
                          ('pp-no-ring', 2.4e-6)):
            cs.append(cfg('overhead', 'c', mode, 2, per * 10000,
                          variant='bulk', tasks=10000))
        return self.model(cs)

    def test_a_trick_switched_off_is_not_an_implementation(self):
        text = ' '.join(s['text'] for s in self.sentences(
            self.run_model(), 'overhead') if s['text'].startswith('bulk:'))
        self.assertIn('cheapest is omp', text)
        self.assertIn('dearest, textbook', text)
        self.assertNotIn('tp-no-poll', text)
        self.assertNotIn('tp-two-trips', text)
        self.assertNotIn('pp-no-ring', text)

    def test_the_process_pools_remedies_get_their_own_sentence(self):
        text = ' '.join(s['text'] for s in self.sentences(
            self.run_model(), 'overhead') if 'remedy' in s['text'])
        self.assertIn('bulk, our process pool at ', text)
        self.assertIn('no ring 3.00x', text)
        self.assertNotIn('no poll', text)

    def test_ablation_sentence_gives_each_trick_its_ratio(self):
        text = ' '.join(s['text'] for s in self.sentences(
            self.run_model(), 'overhead') if 'speed trick' in s['text'])
        self.assertIn('no poll 2.00x', text)
        # 1.005x with a +-2% spread: no clear change.
        self.assertRegex(text, r'two trips 1\.0\dx \([0-9.-]+, no clear')
        self.assertNotIn('no poll 2.00x (2.00-2.00, no clear', text)


class Remedies(RunCase):
    def run_model(self):
        cs = [cfg('overhead', 'c', m, 2, per * 1000, variant=v, n=1000,
                  tasks=1000)
              for v in ('bulk', 'roundtrip')
              for m, per in (('pp', 1e-6), ('pp-no-ring', 3e-6),
                             ('pp-no-poll', 1.004e-6))]
        # sum: 7 repetitions a process; the first pass 2x slower without
        # the prefault, the later ones alike.
        first = lambda k: [(r, 0.02 * k if i % 7 == 0 else 0.02)
                           for r in (1, 2) for i in range(7)]
        cs.append(cfg('sum', 'c', 'seq', 1, 0.04))
        on = cfg('sum', 'c', 'procs', 2, 0.02, variant='shm',
                 reps_per_process=7)
        on['samples'] = first(1)
        off = cfg('sum', 'c', 'procs', 2, 0.02, variant='shm-no-prefault',
                  reps_per_process=7)
        off['samples'] = first(2)
        cs += [on, off]
        cs += [cfg('io', 'c', 'seq', 1, 0.64, n=128),
               cfg('io', 'c', 'procs', 64, 0.0125, n=128),
               cfg('io', 'c', 'procs', 64, 0.0150, variant='cascade',
                   n=128),
               cfg('io', 'c', 'procs', 64, 0.0131,
                   variant='one-at-a-time', n=128),
               cfg('io', 'c', 'procs', 64, 0.0128,
                   variant='send-answers', n=128),
               cfg('io', 'c', 'threads', 64, 0.0112, n=128),
               cfg('io', 'c', 'threads', 64, 0.0140, variant='no-cascade',
                   n=128),
               cfg('io', 'c', 'threads', 64, 0.0106, variant='bare',
                   n=128)]
        return self.model(cs)

    def remedy(self, model, start):
        ss = [s['text'] for s in self.sentences(model, 'overhead')
              if s['text'].startswith(start)]
        self.assertEqual(len(ss), 1, start)
        return ss[0]

    def test_each_remedy_is_time_with_it_over_time_without(self):
        m = self.run_model()
        self.assertIn('0.33x', self.remedy(m, 'answer ring (bulk)'))
        self.assertIn('it saves time', self.remedy(m, 'answer ring (bulk)'))
        self.assertIn('no clear difference',
                      self.remedy(m, 'doorbell poll (round trip)'))

    def test_prefault_counts_only_the_first_pass(self):
        text = self.remedy(self.run_model(), 'prefault')
        self.assertIn('0.50x', text)
        self.assertIn('first pass', text)

    def test_an_opt_in_remedy_that_costs_time_says_so(self):
        m = self.run_model()
        self.assertIn('costs time', self.remedy(m, 'wake-up cascade'))
        self.assertIn('saves time', self.remedy(m, 'wake-ups passed on'))

    def test_next_task_in_hand_is_default_against_one_at_a_time(self):
        # io procs: 12.5 ms by default, 13.1 ms one task at a time.
        text = self.remedy(self.run_model(), 'next task in hand')
        self.assertIn('(io, 64 processes)', text)
        self.assertIn('12.5 ms with it, 13.1 ms without', text)
        self.assertIn('saves time', text)

    def test_answers_taken_from_the_rings_against_answers_sent(self):
        # io procs: 12.5 ms by default, 12.8 ms with every answer sent.
        text = self.remedy(self.run_model(), 'answers taken from the rings')
        self.assertIn('(io, 64 processes)', text)
        self.assertIn('12.5 ms with it, 12.8 ms without', text)

    def test_remedy_variants_stay_out_of_the_speedup_sentences(self):
        m = self.run_model()
        text = ' '.join(s['text'] for s in self.sentences(m, 'sum') +
                        self.sentences(m, 'io'))
        self.assertNotIn('no-prefault', text)
        self.assertNotIn('cascade', text)
        self.assertNotIn('one-at-a-time', text)
        self.assertNotIn('send-answers', text)
        # The floor has its place in the wake-up sentence only.
        self.assertNotIn('bare', ' '.join(
            s['text'] for s in self.sentences(m, 'io')
            if 'beyond the ideal' not in s['text']))

    def test_io_says_how_long_the_pools_took_beyond_the_ideal(self):
        text = [t['text'] for t in self.sentences(self.run_model(), 'io')
                if 'beyond the ideal' in t['text']][0]
        # seq: 128 sleeps in 640 ms, 5 ms each; 64 workers: 2 sleeps, 10
        # ms; threads took 11.2 ms, processes 12.5 ms.
        self.assertIn('128 tasks on 64 workers', text)
        self.assertIn('threads 1.20 ms (median', text)
        self.assertIn('processes 2.50 ms (median', text)
        # io --bare: 10.6 ms, the machine's floor, named as such.
        self.assertIn("the machine's floor (bare threads woken by one "
                      "system call, no pool) 600 us (median", text)
        self.assertIn('The ideal, 10.0 ms, is 2 sleeps', text)
        # Each with its interquartile range, not min to max.
        self.assertEqual(text.count('(median; IQR '), 3)

    def test_the_chart_draws_a_bar_per_remedy(self):
        m = self.run_model()
        self.assertIn('remedies', [ch['name'] for ch in
                                   m['workloads']['overhead']['charts']])
        analyse.write_outputs(m['dir'])
        with open(os.path.join(m['dir'], 'data', 'remedies.dat')) as f:
            rows = [r for r in f if r.startswith('"')]
        self.assertEqual(len(rows), 9)
        with open(os.path.join(m['dir'], 'charts', 'remedies.png'),
                  'rb') as f:
            self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


class Report(RunCase):
    def test_sections_duration_and_calibration_near_the_top(self):
        cal = [{'workload': 'primes', 'lang': 'c', 'params': {'n': 1000},
                'repeat': 1, 'seq_kernel_s': 0.98, 'source': 'calibrated',
                'note': 'sized for 0.5 s'}]
        m = self.model(primes(1.9, 1.8), calibration=cal, duration_s=333)
        text = report.build_report(m)
        self.assertIn('the run took **5 min 33 s**', text)
        for s in ('## Read with care', '## Machine', '## Calibration',
                  '## How it was measured', '## Summary'):
            self.assertIn(s, text)
        self.assertLess(text.index('## Calibration'),
                        text.index('## Summary'))
        self.assertIn('| primes | C | n=1000 | 1 | 980 ms | 1.00 s | '
                      'calibrated | sized for 0.5 s |', text)

    def test_speedups_are_written_with_their_interval(self):
        m = self.model(primes(1.9, 1.8))
        text = report.build_report(m)
        self.assertRegex(text, r'\| 1\.90x \(\d\.\d\d-\d\.\d\d\) \| 95% '
                               r'\(\d+-\d+\) \|')

    def test_dirty_commit_is_stated(self):
        m = self.model(primes(1.9, 1.8), dirty=True)
        self.assertIn('with uncommitted changes', report.build_report(m))

    def test_every_number_in_a_sentence_comes_from_the_model(self):
        m = self.model(primes(1.95, 1.6, t4=1.9, p4=1.7) +
                       primes(1.0, 1.7, lang='python'))
        shown = set()
        for c in m['configs']:
            if c['speedup']:
                shown.add(analyse.fmt_ci_x(c['speedup']))
        for wl in m['workloads'].values():
            for s in wl['sentences']:
                for x in re.findall(r'\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)',
                                    s['text']):
                    self.assertIn(x, shown, s['text'])

    def test_mpi_startup_break_even_follows_from_its_numbers(self):
        cs = primes(1.9, 1.8) + scaling('primes', 'c', 1.0, {1: 1.0, 2: 1.9},
                                        'mpi', 'dynamic')
        st = [{'ranks': 2, 'what': 'empty', 'seconds': 0.3,
               'oversub': False}] * 3 + \
            [{'ranks': 2, 'what': 'launcher', 'seconds': 0.1,
              'oversub': False}] * 3
        m = self.model(cs, startup=st)
        s = self.sentences(m, 'primes', 'mpi-startup')
        self.assertEqual(len(s), 1)
        # U / (1 - 1/S) = 0.3 / (1 - 1/1.9) = 633 ms > 1 s? no: pays.
        self.assertIn('= 633 ms', s[0]['text'])
        self.assertIn('here it pays', s[0]['text'])
        self.assertIn('<!-- table:mpirun -->', report.build_report(m))


if __name__ == '__main__':
    unittest.main()
