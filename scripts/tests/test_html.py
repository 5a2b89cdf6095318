"""report.html: one self-contained page per run (poolbench.html), checked
as text everywhere and rendered in headless Chromium where it is
installed (Debian's chromium package; the test skips with the install
command when it is absent): every chart renders with a non-zero size, the
page raises no error, and a screenshot is taken (kept when
POOLBENCH_SCREENSHOT names a file, to look at)."""

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from poolbench import analyse, check_run, compare  # noqa: E402
from runfixture import cfg, make_run, scaling  # noqa: E402

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'results',
                         'reference', 'report.html')


def chromium():
    for name in (os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser',
                 'google-chrome'):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def fixture_run(path):
    seq = 1.0
    cs = [cfg('primes', 'c', 'seq', 1, seq)]
    cs += scaling('primes', 'c', seq, {1: 1.0, 2: 2.3, 4: 1.9}, 'threads')
    cs += scaling('primes', 'c', seq, {1: 1.0, 2: 1.8, 4: 1.8}, 'procs')
    cs += scaling('primes', 'c', seq, {1: 1.0, 2: 1.9}, 'mpi', 'static')
    cs += [cfg('primes', 'python', 'seq', 1, seq)]
    cs += scaling('primes', 'python', seq, {1: 1.0, 2: 1.0}, 'threads')
    cs += [cfg('overhead', 'c', 'tp', 2, 0.001, variant=v, n=1000)
           for v in ('bulk', 'roundtrip')]
    st = [{'ranks': 2, 'what': w, 'seconds': s, 'oversub': False}
          for w, s in (('empty', 0.3), ('launcher', 0.1))] * 3
    return make_run(path, cs, startup=st)


class Page(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pb-test-html.')
        cls.run_dir = fixture_run(os.path.join(cls.tmp, 'run'))
        analyse.write_outputs(cls.run_dir)
        cls.page = os.path.join(cls.run_dir, 'report.html')
        with open(cls.page, encoding='utf-8') as f:
            cls.text = f.read()
        cls.model = analyse.build_model(cls.run_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_page_is_self_contained(self):
        self.assertNotRegex(self.text, r'<(img|link|iframe)\b')
        self.assertNotRegex(self.text, r'src=|https?://(?!www\.w3\.org)')
        drawn = [ch for w in self.model['workloads'].values()
                 for ch in w['charts']]
        self.assertEqual(self.text.count('<svg '), len(drawn))
        self.assertNotIn('<?xml', self.text)

    def test_inlined_charts_do_not_share_ids(self):
        ids = re.findall(r'\bid=["\']([^"\']+)["\']', self.text)
        defs = [i for i in ids if i.split('-', 1)[-1].startswith('gpPt')]
        self.assertTrue(defs)
        self.assertEqual(len(defs), len(set(defs)))
        for ref in re.findall(r'href=["\']#([^"\']+)["\']', self.text):
            self.assertIn(ref, ids)

    def test_flags_machine_and_calibration_come_first(self):
        i = self.text.index
        self.assertLess(i('id="flags"'), i('id="machine"'))
        self.assertLess(i('id="machine"'), i('id="summary"'))
        self.assertLess(i('Calibration'), i('id="wl-primes"'))
        self.assertIn('the run took <strong>2 min 03 s</strong>', self.text)
        self.assertIn('efficiency above 100%', self.text.replace(
            'efficiency 115%', 'efficiency above 100%'))

    def test_links_to_the_raw_data(self):
        for f in ('summary.json', 'samples.jsonl', 'report.md',
                  'data/speedup-primes.dat'):
            self.assertIn('href="%s"' % f, self.text)

    def test_same_figures_as_the_markdown(self):
        with open(os.path.join(self.run_dir, 'report.md')) as f:
            md = f.read()
        for c in self.model['configs']:
            if c['speedup']:
                x = analyse.fmt_ci_x(c['speedup'])
                self.assertIn(x.split(' ')[0], md)
                self.assertIn(x.split(' ')[0], self.text)

    def test_the_run_checker_wants_the_page(self):
        self.assertEqual(check_run.check(self.run_dir), [])
        os.rename(self.page, self.page + '.away')
        try:
            self.assertIn('missing or empty: report.html',
                          check_run.check(self.run_dir))
        finally:
            os.rename(self.page + '.away', self.page)


@unittest.skipUnless(chromium(), 'headless browser test skipped: no '
                     'chromium (scripts/setup.sh --browser installs it)')
class Browser(unittest.TestCase):
    def render(self, page):
        """Chromium's DOM after load (with the page's self-check stamped
        on <html>) and its log; a screenshot beside it."""
        tmp = tempfile.mkdtemp(prefix='pb-test-chromium.')
        self.addCleanup(shutil.rmtree, tmp)
        base = [chromium(), '--headless', '--no-sandbox', '--disable-gpu',
                '--no-first-run', '--disable-dev-shm-usage',
                '--user-data-dir=' + os.path.join(tmp, 'profile'),
                '--enable-logging=stderr', '--v=0',
                '--virtual-time-budget=10000']
        url = 'file://' + os.path.abspath(page)
        dom = subprocess.run(base + ['--dump-dom', url], capture_output=True,
                             text=True, timeout=180)
        shot = os.environ.get('POOLBENCH_SCREENSHOT') or \
            os.path.join(tmp, 'page.png')
        subprocess.run(base + ['--window-size=1600,2400',
                               '--screenshot=' + shot, url],
                       capture_output=True, text=True, timeout=180)
        return dom, shot

    def check(self, page):
        dom, shot = self.render(page)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        m = re.search(r'data-charts="(\d+)/(\d+)"', dom.stdout)
        self.assertIsNotNone(m, 'the page\'s self-check did not run')
        self.assertGreater(int(m.group(2)), 0)
        self.assertEqual(m.group(1), m.group(2), 'charts with no size')
        self.assertRegex(dom.stdout, r'data-errors=""')
        console = [ln for ln in dom.stderr.splitlines()
                   if 'CONSOLE' in ln or 'Uncaught' in ln]
        self.assertEqual(console, [])
        self.assertTrue(check_run.png_ok(shot), 'no screenshot')

    def test_fixture_page_renders_every_chart_without_errors(self):
        tmp = tempfile.mkdtemp(prefix='pb-test-html.')
        self.addCleanup(shutil.rmtree, tmp)
        run = fixture_run(os.path.join(tmp, 'run'))
        analyse.write_outputs(run)
        self.check(os.path.join(run, 'report.html'))

    def test_compare_page_renders_every_chart_without_errors(self):
        tmp = tempfile.mkdtemp(prefix='pb-test-html.')
        self.addCleanup(shutil.rmtree, tmp)
        a = fixture_run(os.path.join(tmp, 'a'))
        b = fixture_run(os.path.join(tmp, 'b'))
        out, _ = compare.compare(a, b, os.path.join(tmp, 'cmp'),
                                 stream=io.StringIO())
        self.check(os.path.join(out, 'compare.html'))

    @unittest.skipUnless(os.path.exists(REFERENCE), 'no reference page')
    def test_reference_page_renders_every_chart_without_errors(self):
        self.check(REFERENCE)


if __name__ == '__main__':
    unittest.main()
