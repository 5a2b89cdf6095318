"""What each remedy of the process pool buys (issue 13), and the thread
pool's wake-ups passed on by woken workers: one ratio per remedy, time
with it over time without it, from configurations the run measured side
by side.

- the answer ring, the direct path, the shared-memory hand-off and the
  doorbell poll: overhead's --mode ablation runs pp and pp-no-ring,
  pp-no-direct, pp-no-handoff, pp-no-poll in one process (bulk and round
  trip); the ratio is of per-task costs;
- prefault: sum's process pool on shared memory with and without
  --no-prefault, on as many workers as CPUs; only the first pass of each
  process counts, since prefaulting saves each worker a page fault per
  4 KiB page the first time it reads the region and nothing after;
- the wake-up cascade (the process pool's, opt-in), the wake-ups passed
  on by woken workers (the thread pool's, on by default), and the process
  pool's next task in hand and its answers taken from the workers' rings
  (both on by default): io on its largest worker count with --cascade,
  --no-cascade, --one-at-a-time and --send-answers against the pool's
  default; the whole run's time.

Below 1, the remedy saves time; above 1, it costs time (on 2 cores some
do: the pool's defaults are the ones that measured faster here).  Each
ratio has a 95% bootstrap interval over both sides' samples.  With fewer
than two samples a side, a remedy is left out.
"""

from . import stats
from .analyse import fmt_time

# The variants the suite runs only for this ratio, or (bare) for io's
# floor in sentences.wake_up: no line of their own on the speedup charts,
# no part in the speedup sentences.
VARIANTS = ('shm-no-prefault', 'cascade', 'no-cascade', 'one-at-a-time',
            'send-answers', 'bare')


def _one(model, wl, mode, variant, workers=None):
    for c in model['configs']:
        if (c['workload'], c['lang'], c['mode'], c['variant']) == \
                (wl, 'c', mode, variant) and \
                (workers is None or c['workers'] == workers):
            return c
    return None


def _first_pass(c):
    """Kernel times of each process's first repetition."""
    return [s for s, r in zip(c['samples'], c.get('reps') or [])
            if r == 0]


def _ratio(with_, without, what, label):
    if len(with_) < 2 or len(without) < 2:
        return None
    est, lo, hi = stats.ratio_ci(with_, without)
    return {'label': label, 'what': what, 'est': est, 'lo': lo, 'hi': hi,
            'with_s': stats.median(with_), 'without_s': stats.median(without)}


# overhead's pp-no-* modes: what each switches off.
PER_TASK = (('pp-no-ring', 'answer ring'), ('pp-no-direct', 'direct path'),
            ('pp-no-handoff', 'shared-memory hand-off'),
            ('pp-no-poll', 'doorbell poll'))
VARIANT = {'bulk': 'bulk', 'roundtrip': 'round trip'}


def build(model):
    """The remedies this run measured: [{label, what, est, lo, hi,
    with_s, without_s}] (est = time with / time without)."""
    out = []
    for v in ('roundtrip', 'bulk'):
        on = _one(model, 'overhead', 'pp', v)
        for mode, name in PER_TASK:
            off = _one(model, 'overhead', mode, v)
            if on and off and on.get('per_task_samples') and \
                    off.get('per_task_samples'):
                r = _ratio(on['per_task_samples'], off['per_task_samples'],
                           'per task', '%s (%s)' % (name, VARIANT[v]))
                if r:
                    out.append(r)
    ncpu = model['ncpu']
    on = _one(model, 'sum', 'procs', 'shm', ncpu)
    off = _one(model, 'sum', 'procs', 'shm-no-prefault', ncpu)
    if on and off:
        r = _ratio(_first_pass(on), _first_pass(off), 'first pass',
                   'prefault (sum, first pass, %d processes)' % ncpu)
        if r:
            out.append(r)
    for mode, variant, name, default_on in (
            ('procs', 'cascade', 'wake-up cascade', False),
            ('procs', 'one-at-a-time', 'next task in hand', True),
            ('procs', 'send-answers', 'answers taken from the rings', True),
            ('threads', 'no-cascade', 'wake-ups passed on', True)):
        other = [c for c in model['configs'] if c['workload'] == 'io' and
                 c['lang'] == 'c' and c['mode'] == mode and
                 c['variant'] == variant]
        if not other:
            continue
        o = max(other, key=lambda c: c['workers'])
        d = _one(model, 'io', mode, '-', o['workers'])
        if not d:
            continue
        with_, without = (d, o) if default_on else (o, d)
        r = _ratio(with_['samples'], without['samples'], 'whole run',
                   '%s (io, %d %s%s)' % (
                       name, o['workers'],
                       'threads' if mode == 'threads' else 'processes',
                       '' if default_on else '; opt-in'))
        if r:
            out.append(r)
    return out


def sentences(rs):
    out = []
    for r in rs:
        verdict = ('saves time' if r['hi'] < 1 else
                   'costs time' if r['lo'] > 1 else
                   'makes no clear difference')
        out.append('%s: %s with it, %s without (%s): %.2fx (%.2f-%.2f), it '
                   '%s here.' % (r['label'], fmt_time(r['with_s']),
                                 fmt_time(r['without_s']), r['what'],
                                 r['est'], r['lo'], r['hi'], verdict))
    return out
