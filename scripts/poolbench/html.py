"""report.html: the run as one self-contained page, from the same model as
report.md (analyse.py) -- never from the Markdown.

Self-contained: the charts are gnuplot's SVG files inlined (their ids
prefixed so that the charts do not share definitions), the style sheet is
in the page, nothing is fetched from the network, and the page works
opened straight from disk.  A few lines of plain JavaScript switch each
workload's charts between speedup and efficiency (without JavaScript both
show), and stamp on <html> how many charts rendered with a non-zero size
and any error seen (data-charts, data-errors), which the browser test
reads.  Wide screens put each workload's charts beside its table; print
and narrow screens stack them.
"""

import html
import os
import re

from . import report as rep
from .analyse import write_atomic

CSS = """
:root { --fg: #1a1a1a; --muted: #555; --line: #d0d0d0; --flag: #b00000;
        --accent: #0b5394; }
* { box-sizing: border-box; }
body { font: 16px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial,
       sans-serif; color: var(--fg); margin: 0 auto; padding: 1.2em 2em;
       max-width: 1900px; }
h1 { font-size: 1.8em; margin: 0.2em 0; }
h2 { font-size: 1.35em; border-bottom: 2px solid var(--line);
     padding-bottom: 0.2em; margin-top: 1.8em; }
h3 { font-size: 1.1em; margin: 1em 0 0.4em; }
a { color: var(--accent); }
.lead { color: var(--muted); margin-top: 0; }
nav { font-size: 0.95em; margin: 0.6em 0 1em; }
nav a { margin-right: 1em; white-space: nowrap; }
.flags { border: 2px solid var(--flag); border-radius: 6px;
         padding: 0.4em 1.2em 0.8em; background: #fff6f6; }
.flags h2 { color: var(--flag); border: none; margin-top: 0.4em; }
.flags.none { border-color: #2e7d32; background: #f3fbf3; }
.flags.none h2 { color: #2e7d32; }
.flagno { color: var(--flag); font-weight: bold; }
.facts { display: grid; grid-template-columns: minmax(0, 1fr);
         gap: 0 2.5em; }
@media (min-width: 2400px) {
  .facts { grid-template-columns: minmax(0, 1fr) minmax(0, 3fr); }
}
.facts td:first-child { white-space: nowrap; }
.tablewrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.4em 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25em 0.6em;
         vertical-align: top; }
th { background: #f2f2f2; text-align: left; position: sticky; top: 0; }
td.r, th.r { text-align: right; white-space: nowrap; }
tr.flagged td { background: #fff0f0; }
.workload { display: grid; grid-template-columns: minmax(0, 1fr);
            gap: 1em 2em; align-items: start; }
@media (min-width: 1600px) {
  .workload { grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); }
}
figure { margin: 0 0 1.2em; }
figure svg { width: 100%; height: auto; display: block;
             border: 1px solid #eee; }
figcaption { font-size: 0.88em; color: var(--muted); }
.switch { margin: 0.3em 0 0.6em; }
.switch button { font: inherit; font-size: 0.9em; padding: 0.2em 0.9em;
                 border: 1px solid var(--accent); background: #fff;
                 color: var(--accent); cursor: pointer; }
.switch button[aria-pressed="true"] { background: var(--accent);
                                      color: #fff; }
ul.sentences li { margin: 0.25em 0; }
footer { margin-top: 3em; color: var(--muted); font-size: 0.9em; }
code { font-size: 0.9em; background: #f4f4f4; padding: 0 0.2em; }
@media print {
  body { padding: 0; max-width: none; font-size: 11pt; }
  nav, .switch { display: none; }
  figure { break-inside: avoid; }
  .workload { display: block; }
  th { position: static; }
  figure.hidden { display: block !important; }
}
.hidden { display: none; }
"""

# Plain JavaScript, no framework: the speedup/efficiency switch and the
# self-check the browser test reads.
SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message));
    document.documentElement.setAttribute('data-errors', errors.join(' | '));
  });
  document.querySelectorAll('.switch').forEach(function (bar) {
    var section = bar.parentNode;
    var buttons = bar.querySelectorAll('button');
    function show(kind) {
      section.querySelectorAll('figure[data-kind]').forEach(function (f) {
        var other = f.getAttribute('data-kind') !== kind &&
          (f.getAttribute('data-kind') === 'speedup' ||
           f.getAttribute('data-kind') === 'efficiency');
        f.classList.toggle('hidden', other);
      });
      buttons.forEach(function (b) {
        b.setAttribute('aria-pressed', b.value === kind ? 'true' : 'false');
      });
    }
    buttons.forEach(function (b) {
      b.addEventListener('click', function () { show(b.value); });
    });
    bar.hidden = false;
    show('speedup');
  });
  window.addEventListener('load', function () {
    var svgs = document.querySelectorAll('figure svg');
    var ok = 0;
    svgs.forEach(function (s) {
      var f = s.closest('figure');
      var was = f.classList.contains('hidden');
      f.classList.remove('hidden');
      var r = s.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) { ok++; }
      if (was) { f.classList.add('hidden'); }
    });
    document.documentElement.setAttribute('data-charts',
                                          ok + '/' + svgs.length);
    document.documentElement.setAttribute('data-errors', errors.join(' | '));
  });
})();
"""


def esc(s):
    return html.escape(str(s), quote=True)


def inline(text):
    """The little Markdown the model's strings carry (`code`, **bold**)
    as HTML, everything else escaped."""
    s = esc(text)
    s = re.sub(r'`([^`]+)`', r'<code>\1</code>', s)
    s = re.sub(r'\*\*([^*]+)\*\*', r'<strong>\1</strong>', s)
    s = re.sub(r'\[(\d+)\]', r'<span class="flagno">[\1]</span>', s)
    return s


def html_table(t, flag_col=None):
    """A table (report.table's data) as HTML; a row whose flag_col cell
    names a flag ("[n]") is tinted."""
    out = ['<div class="tablewrap"><table>']
    if any(t['headers']):
        out.append('<thead><tr>')
        for h, a in zip(t['headers'], t['align']):
            out.append('<th class="%s">%s</th>' % (a, esc(h)))
        out.append('</tr></thead>')
    out.append('<tbody>')
    for r in t['rows']:
        flagged = flag_col is not None and \
            re.search(r'\[\d+\]', str(r[flag_col]))
        out.append('<tr%s>' % (' class="flagged"' if flagged else ''))
        for v, a in zip(r, t['align']):
            out.append('<td class="%s">%s</td>' % (a, inline(v)))
        out.append('</tr>')
    out.append('</tbody></table></div>')
    return ''.join(out)


def svg_inline(path, prefix):
    """gnuplot's SVG file as an element to inline: without its XML
    declaration, with every id (and every reference to one) prefixed."""
    with open(path, encoding='utf-8') as f:
        s = f.read()
    s = re.sub(r'<\?xml[^>]*\?>', '', s)
    s = re.sub(r'<!DOCTYPE[^>]*>', '', s)
    ids = set(re.findall(r'\bid=["\']([^"\']+)["\']', s))
    for i in sorted(ids, key=len, reverse=True):
        q = re.escape(i)
        s = re.sub(r'(\bid=["\'])%s(["\'])' % q, r'\g<1>%s-%s\2' % (prefix, i),
                   s)
        s = re.sub(r'(["\'(]#)%s(["\')])' % q, r'\g<1>%s-%s\2' % (prefix, i),
                   s)
    s = s.replace('<svg ', '<svg role="img" ', 1)
    return s.strip()


def figure(run_dir, ch, n):
    path = os.path.join(run_dir, 'charts', ch['name'] + '.svg')
    if not os.path.exists(path):
        return ''
    return ('<figure data-kind="%s" id="fig-%s">%s<figcaption>%s '
            '(<a href="charts/%s.svg">SVG</a>, <a href="charts/%s.png">'
            'PNG</a>, <a href="data/%s.dat">data</a>)</figcaption></figure>'
            % (esc(ch['kind']), esc(ch['name']),
               svg_inline(path, 'c%d' % n), esc(ch['caption']),
               esc(ch['name']), esc(ch['name']), esc(ch['name'])))


def build_html(model, run_dir):
    run, m = model['run'], model['machine']
    name = run.get('name', '?')
    H = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, '
         'initial-scale=1">',
         '<title>Benchmark run %s</title>' % esc(name),
         '<style>%s</style></head><body>' % CSS]
    H.append('<header><h1>Benchmark run %s</h1>' % esc(name))
    H.append('<p class="lead">%s on %s (%s, %s usable CPUs), started %s; '
             'the run took <strong>%s</strong>. Commit %s%s.</p>' % (
                 '<code>%s</code>' % esc(' '.join(run.get('command') or
                                                  ['scripts/bench'])),
                 esc(m.get('host', '?')), esc(m.get('cpu_model', '?')),
                 esc(m.get('usable_cpus', model['ncpu'])),
                 esc((run.get('started_utc') or '?').replace('T', ' ')),
                 esc(rep.fmt_duration(run.get('duration_s'))),
                 esc(m.get('commit', '?')),
                 ' <strong>with uncommitted changes</strong>'
                 if m.get('dirty') else ''))
    if run.get('quick'):
        H.append('<p class="lead">A <code>--quick</code> run: small sizes '
                 'for a fast check of the pipeline; its figures are not '
                 'measurements to quote.</p>')
    H.append('</header><nav>')
    links = [('flags', 'Read with care'), ('machine', 'Machine and '
             'calibration'), ('summary', 'Summary')]
    links += [('wl-' + wl, wl) for wl in model['workload_order']]
    if model['startup']:
        links.append(('mpirun', 'mpirun start-up'))
    if model.get('hosts'):
        links.append(('hosts', 'across hosts'))
    if model.get('timelines'):
        links.append(('timelines', 'timelines'))
    links.append(('files', 'Files'))
    H.append(' '.join('<a href="#%s">%s</a>' % (esc(a), esc(t))
                      for a, t in links))
    H.append('</nav>')
    if model['flags']:
        H.append('<section id="flags" class="flags"><h2>Read with care: '
                 '%d flag%s</h2><p>Figures that may be noise rather than a '
                 'result; each is marked [n] in its table and ringed in red '
                 'on its chart.</p><ol>' % (
                     len(model['flags']),
                     '' if len(model['flags']) == 1 else 's'))
        for f in model['flags']:
            H.append('<li value="%d">%s <em>Likely cause:</em> %s</li>'
                     % (f['n'], inline(f['text']), esc(f['cause'])))
        H.append('</ol></section>')
    else:
        H.append('<section id="flags" class="flags none"><h2>Read with '
                 'care: no flags</h2><p>No efficiency above 100%, no '
                 '1-worker run off the sequential one, no drifting '
                 'baseline, no background load, no kernel shorter than its '
                 'target.</p></section>')
    H.append('<section id="machine" class="facts"><div><h2>Machine</h2>')
    H.append(html_table(rep.machine_table(model)))
    H.append('</div><div><h2>Calibration</h2>')
    cal = rep.calibration_table(model)
    if cal:
        H.append('<p>Sizes chosen for this machine before measuring: each '
                 'sequential kernel (times its repetitions) should last at '
                 'least %s.</p>' % esc(rep.fmt_time(model['target_s'])))
        H.append(html_table(cal))
    else:
        H.append('<p>This run kept no calibration.</p>')
    H.append('</div></section>')
    H.append('<section id="summary"><h2>Summary</h2><ul class="sentences">')
    for s in model['summary'] or ['No comparison could be computed.']:
        H.append('<li>%s</li>' % inline(s))
    H.append('</ul>')
    from .stats import BOOTSTRAP_RESAMPLES
    H.append('<details><summary>How it was measured</summary><p>%s</p>'
             '<p>%s</p></details>' % (
                 esc(rep.METHOD % {'rounds': run.get('rounds', 'several'),
                                   'resamples': BOOTSTRAP_RESAMPLES}),
                 esc(rep.FLAG_RULES)))
    d = rep.drift_table(model)
    if d:
        H.append('<h3>Drift: the sequential median in each round</h3>')
        H.append(html_table(d, flag_col=3))
    H.append('</section>')
    n = 0
    for wl in model['workload_order']:
        w = model['workloads'][wl]
        H.append('<section id="wl-%s"><h2>%s: %s(%s)</h2>' % (
            esc(wl), esc(wl), esc(w['kind'] + ' ') if w['kind'] and
            w['kind'] != 'overhead' else '', esc(w['title'])))
        drawn = [ch for ch in w['charts'] if ch.get('drawn', True)]
        kinds = {ch['kind'] for ch in drawn}
        if {'speedup', 'efficiency'} <= kinds:
            H.append('<div class="switch" hidden><button type="button" '
                     'value="speedup">speedup</button><button type="button" '
                     'value="efficiency">efficiency</button></div>')
        H.append('<div class="workload"><div class="charts">')
        for ch in drawn:
            n += 1
            H.append(figure(run_dir, ch, n))
        H.append('</div><div>')
        if w['sentences']:
            H.append('<ul class="sentences">%s</ul>' % ''.join(
                '<li>%s</li>' % inline(s['text']) for s in w['sentences']))
        t = rep.overhead_table(model) if wl == 'overhead' else \
            rep.perf_table(model, wl)
        H.append(html_table(t, flag_col=len(t['headers']) - 1))
        H.append('</div></div></section>')
    if model['startup']:
        H.append('<section id="mpirun"><h2>mpirun start-up</h2><p>What '
                 '<code>mpirun</code> costs before any compute, which the '
                 'MPI kernel times leave out: <em>launcher</em> is '
                 '<code>mpirun -np R true</code>, <em>empty program</em> an '
                 'MPI program with nothing to compute.</p>')
        H.append(html_table(rep.startup_table(model)))
        H.append('</section>')
    from . import hosts, timelines
    H += hosts.html(model, run_dir, n + 1)
    H += timelines.html(model, run_dir, n + 2)
    H.append('<section id="files"><h2>Files</h2><ul>')
    for f, what in (('report.md', 'this report in Markdown'),
                    ('summary.json', 'every configuration\'s figures and '
                     'samples'),
                    ('samples.jsonl', 'every kernel sample with its labels'),
                    ('walls.jsonl', 'hyperfine\'s whole-process times'),
                    ('calibration.json', 'the calibration'),
                    ('run.json', 'the run\'s settings'),
                    ('machine.json', 'the machine'),
                    ('log.txt', 'everything the tools printed'),
                    ('raw/', 'hyperfine\'s exports and the programs\' '
                     'records'), ('data/', 'each chart\'s points')):
        if os.path.exists(os.path.join(run_dir, f)) or f == 'report.md':
            H.append('<li><a href="%s">%s</a>: %s</li>' % (esc(f), esc(f),
                                                           esc(what)))
    H.append('</ul></section>')
    from .charts import footer
    H.append('<footer>%s</footer>' % esc(footer(model)))
    H.append('<script>%s</script></body></html>' % SCRIPT)
    return '\n'.join(H) + '\n'


def write_html(model, run_dir):
    write_atomic(os.path.join(run_dir, 'report.html'),
                 build_html(model, run_dir))
