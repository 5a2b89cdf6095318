"""poolbench.trace and poolbench.timeline on synthetic traces: the checker
accepts traces in the documented format (docs/trace-format.md) and names
what is wrong with each kind of broken one; the summary's figures; the
Gantt chart's data has one row per track, merges tasks narrower than a
pixel instead of drawing 100 000 boxes, marks a killed worker's task as
failed, draws two traces on one time range; both command lines exit
with the documented codes."""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
sys.path.insert(0, SCRIPTS)

from poolbench import timeline, trace  # noqa: E402

ECHILD = 10


def meta(workers, label='threads', pool='threads', dropped=0,
         benchmark='primes', mode='threads'):
    return {'benchmark': benchmark, 'mode': mode, 'pool': pool,
            'workers': workers, 'dropped': dropped, 'commit': 'abc1234',
            'label': label}


def two_workers():
    """tp_map of 8 chunks of 4 items: the caller runs chunks 0 and 3,
    worker 1 chunks 1, 4, 6, worker 2 chunks 2, 5, 7; worker 2 waits
    100 us before its first chunk."""
    rows = {0: [0, 3], 1: [1, 4, 6], 2: [2, 5, 7]}
    tasks = []
    for tid, ids in rows.items():
        at = 100.0 if tid == 2 else 0.0
        for k in ids:
            tasks.append({'id': k, 'tid': tid, 'cat': 'chunk',
                          'first': 4 * k, 'count': 4, 'queued': 0.0,
                          'start': at, 'end': at + 200.0})
            at += 200.0
    queue = [(0.0, 8)] + [(t['start'], 7 - i) for i, t in enumerate(
        sorted(tasks, key=lambda t: (t['start'], t['id'])))]
    return trace.make_doc(meta(2), tasks, queue)


def sleepers(n=64):
    """io with N workers, one 10 ms sleep each, woken one after another
    50 us apart: the last sleeper waits (N-1) * 50 us."""
    tasks = [{'id': k, 'tid': k + 1, 'queued': 0.0, 'start': 50.0 * k,
              'end': 50.0 * k + 10000.0} for k in range(n)]
    queue = [(0.0, n)] + [(50.0 * k, n - k - 1) for k in range(n)]
    return trace.make_doc(meta(n, benchmark='io'), tasks, queue)


def tiny(n=100000, pause_at=50000):
    """N tasks of 0.2 us on 2 workers, 0.05 us apart, and one pause of
    2 ms on both after task PAUSE_AT: far narrower than a pixel."""
    tasks, at = [], [0.0, 0.0]
    for k in range(n):
        w = k % 2
        if k in (pause_at, pause_at + 1):
            at[w] += 2000.0
        tasks.append({'id': k, 'tid': w + 1, 'queued': 0.0,
                      'start': at[w], 'end': at[w] + 0.2})
        at[w] += 0.25
    return trace.make_doc(meta(2, benchmark='overhead'), tasks)


def killed():
    """pp_map of 9 chunks on 3 processes; worker 2 is killed while it
    runs chunk 4 (status ECHILD), replaced by a new process that runs
    chunks 6 and 8."""
    tasks = []
    plan = {1: [0, 3, 7], 2: [1, 4, 6, 8], 3: [2, 5]}
    for tid, ids in plan.items():
        at = 0.0
        for k in ids:
            t = {'id': k, 'tid': tid, 'cat': 'chunk', 'first': 10 * k,
                 'count': 10, 'queued': 0.0, 'start': at,
                 'end': at + 1000.0, 'os_id': 2000 + tid}
            if tid == 2 and k == 4:
                t.update(status=ECHILD, note='killed by signal 9',
                         end=at + 400.0)
            if tid == 2 and k in (6, 8):
                t['os_id'] = 3002
            tasks.append(t)
            at = t['end'] + 10.0
    inst = [{'name': 'worker replaced', 'tid': 2, 'ts': 1415.0,
             'args': {'old_pid': 2002, 'new_pid': 3002}}]
    return trace.make_doc(meta(3, label='processes', pool='processes',
                               mode='procs'), tasks, [(0.0, 9)], inst)


def task_events(doc):
    return [e for e in doc['traceEvents'] if e['ph'] == 'X']


class Checker(unittest.TestCase):
    def test_synthetic_traces_are_valid(self):
        for doc, n, w in ((two_workers(), 8, 2), (sleepers(), 64, 64),
                          (tiny(1000), 1000, 2), (killed(), 9, 3)):
            self.assertEqual(trace.validate(doc, tasks=n, workers=w), [])
            json.loads(json.dumps(doc))

    def test_a_large_trace_is_valid(self):
        self.assertEqual(trace.validate(tiny(), tasks=100000), [])

    def broken(self, change, expect, tasks=None, workers=None, doc=None):
        doc = copy.deepcopy(doc or two_workers())
        change(doc)
        problems = trace.validate(doc, tasks, workers)
        self.assertTrue(problems, 'accepted: %s' % expect)
        self.assertTrue(any(expect in p for p in problems),
                        '%r not in %r' % (expect, problems))
        return problems

    def test_each_kind_of_broken_trace_is_named(self):
        def ev(doc, k):
            return task_events(doc)[k]

        def put(k, key, value, in_args=True):
            def change(doc):
                e = ev(doc, k)
                (e['args'] if in_args else e)[key] = value
            return change

        def drop_meta(key):
            return lambda doc: doc['otherData'].pop(key)
        cases = [
            (drop_meta('dropped'), 'otherData has no "dropped"'),
            (drop_meta('workers'), 'otherData has no "workers"'),
            (lambda d: d.pop('displayTimeUnit'), 'displayTimeUnit'),
            (lambda d: d.pop('traceEvents'), 'traceEvents is missing'),
            (lambda d: d['otherData'].update(tool='other'),
             'otherData.tool'),
            (put(3, 'id', 0), 'id 0 appears twice'),
            (put(3, 'dur', -5.0, False), 'its end is before its start'),
            (put(3, 'ts', 'soon', False), 'ts \'soon\' is not a number'),
            (put(3, 'tid', 3, False), 'tid 3 is outside 0..2'),
            (put(3, 'queued_us', 10000.0), 'after its start'),
            (put(3, 'status', ECHILD), 'args.failed is false but status'),
            (put(3, 'failed', 'no'), 'args.failed \'no\''),
            (put(3, 'first', None), 'a chunk needs args.first'),
            (put(3, 'os_tid_or_pid', None), 'os_tid_or_pid'),
            (put(3, 'cat', 'job', False), 'cat \'job\''),
            (put(3, 'pid', 4242, False), 'pid is 4242, not 1'),
            (put(4, 'ts', 250.0, False), 'a worker runs one task at a time'),
            (lambda d: d['traceEvents'].append({'ph': 'B', 'pid': 1,
                                                'tid': 1, 'ts': 1.0}),
             'ph \'B\''),
            (lambda d: d['traceEvents'].append(
                {'ph': 'C', 'name': 'queue', 'pid': 1, 'ts': 1.0,
                 'args': {'queued': -1}}), 'args.queued -1'),
            (lambda d: d['traceEvents'].pop(2), 'no thread_name for track 1'),
            (lambda d: d['traceEvents'].pop(0), '0 process_name events'),
            (lambda d: d['traceEvents'][1]['args'].update(name='main'),
             'tid 0 is named \'main\''),
        ]
        for change, expect in cases:
            with self.subTest(expect=expect):
                self.broken(change, expect)

    def test_each_task_exactly_once_with_tasks_given(self):
        def drop(doc):
            doc['traceEvents'].remove(task_events(doc)[5])
        self.broken(drop, '7 tasks or chunks, the run had 8', tasks=8)
        doc = two_workers()
        drop(doc)
        doc['otherData']['dropped'] = 1
        self.assertEqual(trace.validate(doc, tasks=8), [])
        self.broken(lambda d: None, 'not below the run\'s 6 tasks', tasks=6)

    def test_workers_must_match_the_run(self):
        self.broken(lambda d: None, 'the run had 4 workers', workers=4)

    def test_a_wait_for_a_lock_is_valid_and_checked(self):
        self.assertEqual(trace.validate(gil()), [])
        d = gil()
        ev = task_events(d)[1]
        ev['args']['began_us'] = ev['ts'] + 500
        self.assertTrue(any('began_us' in p for p in trace.validate(d)))
        d = gil()
        task_events(d)[1]['args']['began_us'] = -5.0
        self.assertTrue(trace.validate(d))

    def test_the_documents_example_is_valid(self):
        path = os.path.join(os.path.dirname(SCRIPTS), 'docs',
                            'trace-format.md')
        with open(path) as f:
            text = f.read()
        block = text.split('<!-- example:begin -->')[1].split(
            '<!-- example:end -->')[0]
        doc = json.loads(block.strip().strip('`').replace('json\n', '', 1))
        self.assertEqual(trace.validate(doc, tasks=4, workers=2), [])
        s = trace.summary(trace.parse(doc))
        self.assertEqual(s['makespan_us'], 99.5)

    def test_top_level_must_be_an_object(self):
        self.assertIn('object form', trace.validate([])[0])

    def test_problems_are_capped(self):
        doc = tiny(1000)
        for e in task_events(doc):
            e['dur'] = -1
        problems = trace.validate(doc)
        self.assertEqual(len(problems), trace.MAX_PROBLEMS + 1)
        self.assertIn('more problems', problems[-1])


class Summary(unittest.TestCase):
    def test_busy_fraction_gaps_and_longest_wait(self):
        s = trace.summary(trace.parse(two_workers()))
        self.assertEqual(s['makespan_us'], 700.0)
        self.assertEqual(s['tracks'][0]['busy_us'], 400.0)
        self.assertAlmostEqual(s['tracks'][1]['busy_fraction'], 600 / 700)
        self.assertEqual(s['tracks'][2]['gaps'], 1)
        self.assertEqual(s['tracks'][2]['longest_gap_us'], 100.0)
        self.assertEqual(s['tracks'][0]['longest_gap_us'], 300.0)
        self.assertEqual((s['longest_wait_us'], s['longest_wait_id']),
                         (500.0, 7))

    def test_last_sleeper_wait(self):
        s = trace.summary(trace.parse(sleepers()))
        self.assertEqual(s['longest_wait_us'], 63 * 50.0)
        self.assertEqual(s['longest_wait_id'], 63)
        self.assertEqual(len(s['tracks']), 65)

    def test_killed_task_counts_as_failed(self):
        s = trace.summary(trace.parse(killed()))
        self.assertEqual((s['tasks'], s['failed']), (9, 1))


def gil(n=4, each=1000.0):
    """primes --gil on 2 workers: the tasks take turns on one lock; each
    worker begins its next task at once and waits inside it for the
    lock (began_us), so one computes while the other waits."""
    tasks, free = [], {1: 0.0, 2: 0.0}
    lock = 0.0
    for k in range(n):
        tid = 1 + k % 2
        began = free[tid]
        start = max(began, lock)
        lock = free[tid] = start + each
        tasks.append({'id': k, 'tid': tid, 'queued': 0.0, 'began': began,
                      'start': start, 'end': start + each})
    return trace.make_doc(meta(2, label='--gil threads'), tasks)


def read_blocks(path):
    """The timeline data file as {(panel, kind): [rows]}, NaN rows
    (an empty block) left out."""
    with open(path) as f:
        text = f.read()
    out = {}
    for block in text.strip('\n').split('\n\n\n'):
        lines = block.split('\n')
        _, _, p, kind = lines[0].split()
        out[(int(p), kind)] = [ln for ln in lines[1:]
                               if not ln.startswith('NaN')]
    return out


class Chart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pb-test-timeline.')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def draw(self, name, *docs, **kw):
        trs = [trace.parse(d) for d in docs]
        stem = os.path.join(self.tmp, name)
        r = timeline.draw(trs, stem + '.png', stem + '.svg', stem + '.dat',
                          **kw)
        with open(stem + '.png', 'rb') as f:
            self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')
        with open(stem + '.svg') as f:
            svg = f.read()
        self.assertIn('</svg>', svg)
        return r, read_blocks(stem + '.dat'), svg

    def test_one_box_per_task_on_its_row(self):
        r, b, svg = self.draw('two', two_workers())
        boxes = [ln.split() for ln in b[(1, 'boxes')]]
        self.assertEqual(len(boxes), 8)
        self.assertEqual(sorted(int(x[2]) for x in boxes),
                         [0, 0, 1, 1, 1, 2, 2, 2])
        self.assertEqual(len(b[(1, 'labels')]), 8)
        self.assertEqual(b[(1, 'merged')], [])
        self.assertEqual(b[(1, 'queue')][0].split(), ['0', '8'])
        for t in ('caller', 'worker 2', 'time since the first task was '
                  'queued (ms)', 'chunk', 'tasks queued',
                  'commit abc1234'):
            self.assertIn(t, svg)
        # Neighbours on a row differ in colour.
        row1 = [x[3] for x in boxes if x[2] == '1']
        self.assertTrue(all(a != b for a, b in zip(row1, row1[1:])))

    def test_a_wait_for_a_lock_is_drawn_hatched_before_its_task(self):
        r, b, svg = self.draw('gil', gil())
        self.assertEqual(len(b[(1, 'boxes')]), 4)
        waits = [ln.split() for ln in b[(1, 'waits')]]
        # Task 1 (worker 2) waits for task 0, task 3 for task 2; task 2
        # (worker 1) waits for task 1.
        self.assertEqual(len(waits), 3)
        self.assertIn('waiting for a lock', svg)
        s = trace.summary(trace.parse(gil()))
        busy = sum(t['busy_us'] for t in s['tracks'].values())
        self.assertAlmostEqual(busy / s['makespan_us'], 1.0)

    def test_64_workers_keep_readable_row_labels(self):
        r, b, svg = self.draw('sleepers', sleepers())
        self.assertEqual(r['panels'][0]['rows'], 65)
        self.assertEqual(len(b[(1, 'boxes')]), 64)
        self.assertEqual({int(ln.split()[2]) for ln in b[(1, 'boxes')]},
                         set(range(1, 65)))
        tics = r['panels'][0]['row_tics']
        self.assertLessEqual(len(tics), timeline.MAX_ROW_LABELS)
        self.assertEqual(tics[0], ('caller', 0))
        self.assertIn(('worker 64', 64), tics)
        self.assertIn('worker 64', svg)
        self.assertNotIn('worker 63', svg)
        self.assertEqual(b[(1, 'labels')], [])

    def test_100k_tiny_tasks_are_merged_and_the_note_says_so(self):
        r, b, svg = self.draw('tiny', tiny())
        merged = [ln.split() for ln in b[(1, 'merged')]]
        # Each worker: a run before the pause and one after it.
        self.assertEqual(len(merged), 4)
        self.assertEqual(sum(int(x[3]) for x in merged), 100000)
        self.assertEqual(b[(1, 'boxes')], [])
        self.assertIn('100000 tasks narrower than a pixel drawn as 4 grey '
                      'boxes', r['note'])
        self.assertIn('tiny tasks, merged', svg)
        self.assertLess(os.path.getsize(os.path.join(self.tmp, 'tiny.svg')),
                        200000)

    def test_too_many_boxes_a_pixel_wide_are_merged_too(self):
        # 64 rows of 500 tasks, each a little under a pixel wide with a
        # gap a little over a pixel: 32 000 boxes unless merged further.
        tasks = [{'id': 500 * (w - 1) + k, 'tid': w, 'queued': 0.0,
                  'start': 7.0 * k, 'end': 7.0 * k + 3.0}
                 for w in range(1, 65) for k in range(500)]
        r, b, _ = self.draw('crowd', trace.make_doc(meta(64), tasks))
        self.assertLessEqual(len(b[(1, 'boxes')]), timeline.MAX_BOXES)
        self.assertEqual(len(b[(1, 'merged')]), 64)
        self.assertIn('32000 tasks narrower than 2 pixels', r['note'])

    def test_an_empty_and_a_sequential_trace_draw(self):
        r, b, _ = self.draw('empty', trace.make_doc(meta(2), []))
        self.assertEqual(b[(1, 'boxes')], [])
        seq = trace.make_doc(
            meta(0, pool='none', mode='seq', label='sequential'),
            [{'id': k, 'tid': 0, 'queued': 0.0, 'start': 10.0 * k,
              'end': 10.0 * k + 9.0} for k in range(20)])
        self.assertEqual(trace.validate(seq, tasks=20, workers=0), [])
        r, b, svg = self.draw('seq', seq)
        self.assertEqual(len(b[(1, 'boxes')]), 20)
        self.assertEqual(r['panels'][0]['row_tics'], [('caller', 0)])

    def test_killed_worker_task_is_failed_and_never_merged(self):
        r, b, svg = self.draw('killed', killed())
        failed = [ln.split() for ln in b[(1, 'failed')]]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0][2], '2')
        self.assertEqual(len(b[(1, 'boxes')]), 8)
        self.assertEqual(len(b[(1, 'instants')]), 1)
        self.assertIn('failed (status not 0)', svg)
        self.assertIn('"4"', '\n'.join(b[(1, 'labels')]))
        self.assertIn('worker replaced', svg)
        self.assertIn('worker processes', svg)

    def test_two_traces_share_the_time_axis(self):
        slow = two_workers()
        for e in task_events(slow):
            e['ts'] *= 3
            e['dur'] *= 3
        slow['otherData']['label'] = '--gil threads'
        r, b, svg = self.draw('pair', two_workers(), slow)
        self.assertEqual(len(r['panels']), 2)
        self.assertEqual(len(b[(1, 'boxes')]), 8)
        self.assertEqual(len(b[(2, 'boxes')]), 8)
        self.assertEqual(r['title'], 'primes: threads against --gil threads')
        self.assertIn('same time axis', r['note'])
        self.assertEqual(r['variables']['xmax1'], r['variables']['xmax2'])
        self.assertIn('--gil threads', svg)
        r, _, _ = self.draw('pair-own', two_workers(), slow, same_x=False)
        self.assertLess(r['variables']['xmax1'], r['variables']['xmax2'])

    def test_dropped_events_are_named_in_the_note(self):
        doc = two_workers()
        doc['otherData']['dropped'] = 3
        r, _, _ = self.draw('dropped', doc)
        self.assertIn('3 events lost to full buffers', r['note'])


class CommandLines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pb-test-timeline-cli.')
        cls.good = os.path.join(cls.tmp, 'good.json')
        cls.gil = os.path.join(cls.tmp, 'gil.json')
        cls.bad = os.path.join(cls.tmp, 'bad.json')
        cls.notjson = os.path.join(cls.tmp, 'notjson.json')
        with open(cls.good, 'w') as f:
            json.dump(two_workers(), f)
        doc = killed()
        doc['otherData']['label'] = 'killed'
        with open(cls.gil, 'w') as f:
            json.dump(doc, f)
        doc = two_workers()
        task_events(doc)[1]['args']['id'] = 0
        with open(cls.bad, 'w') as f:
            json.dump(doc, f)
        with open(cls.notjson, 'w') as f:
            f.write('{"traceEvents": [')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def run_module(self, *argv):
        return subprocess.run([sys.executable, '-m'] + list(argv),
                              cwd=SCRIPTS, capture_output=True, text=True)

    def test_check_exits_0_1_2(self):
        p = self.run_module('poolbench.trace', 'check', self.good,
                            '--tasks', '8', '--workers', '2')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('valid trace', p.stdout)
        p = self.run_module('poolbench.trace', 'check', self.good,
                            '--tasks', '9')
        self.assertEqual(p.returncode, 1)
        self.assertIn('8 tasks or chunks, the run had 9', p.stderr)
        p = self.run_module('poolbench.trace', 'check', self.bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn('appears twice', p.stderr)
        p = self.run_module('poolbench.trace', 'check', self.notjson)
        self.assertEqual(p.returncode, 1)
        self.assertIn('not valid JSON', p.stderr)
        p = self.run_module('poolbench.trace', 'check',
                            os.path.join(self.tmp, 'absent.json'))
        self.assertEqual(p.returncode, 1)
        self.assertIn('cannot read', p.stderr)
        for argv in ((), ('check',), ('check', self.good, '--tasks', 'x'),
                     ('check', self.good, '--workers', '-1'),
                     ('verify', self.good)):
            with self.subTest(argv=argv):
                p = self.run_module('poolbench.trace', *argv)
                self.assertEqual(p.returncode, 2, p.stderr)

    def test_timeline_writes_svg_png_and_data(self):
        out = os.path.join(self.tmp, 'pic.svg')
        p = self.run_module('poolbench.timeline', self.good, self.gil,
                            '-o', out, '--title', 'a test picture')
        self.assertEqual(p.returncode, 0, p.stderr)
        for ext in ('.svg', '.png', '.dat'):
            self.assertGreater(os.path.getsize(out[:-4] + ext), 0)
        with open(out) as f:
            self.assertIn('a test picture', f.read())
        p = self.run_module('poolbench.timeline', self.bad, '-o', out)
        self.assertEqual(p.returncode, 1)
        self.assertIn('appears twice', p.stderr)
        p = self.run_module('poolbench.timeline', self.good, self.good,
                            self.good, '-o', out)
        self.assertEqual(p.returncode, 2)


if __name__ == '__main__':
    unittest.main()
