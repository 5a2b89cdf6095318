"""Tiny synthetic run folders for the report, chart and compare tests.

make_run(path, configs, ...) writes what the runner would (run.json,
machine.json, calibration.json, samples.jsonl, walls.jsonl,
background.json, mpi-startup.jsonl) from a compact description: each
configuration is cfg(workload, lang, mode, workers, median, ...), whose
samples are median times fixed spreads (SPREAD), spread over the rounds.
Everything is deterministic, so the statistics are too.
"""

import json
import os

# Relative offsets of the samples around the median: a symmetric spread
# of +-2% (noise=1) whose median is exactly the median asked for.
SPREAD = [-0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.02]


def cfg(workload, lang, mode, workers, median, variant='-', noise=1.0,
        n=1000, chunk=0, tasks=None, rounds=None, samples=None, cpu=None,
        reps_per_process=None):
    """One configuration.  rounds: per-round medians instead of one median
    (for drift); samples: explicit kernel times; cpu: a function of a
    sample's (round, kernel_s) giving its (user_s, sys_s)."""
    if samples is None:
        if rounds is None:
            rounds = [median] * 3
        samples = []
        for r, m in enumerate(rounds, 1):
            samples += [(r, m * (1 + noise * d)) for d in SPREAD]
    else:
        samples = [(1 + i % 3, s) for i, s in enumerate(samples)]
    return {'workload': workload, 'lang': lang, 'mode': mode,
            'variant': variant, 'workers': workers, 'n': n, 'chunk': chunk,
            'tasks': tasks if tasks is not None else
            (1 if mode == 'seq' else 4 * workers), 'samples': samples,
            'cpu': cpu, 'reps_per_process': reps_per_process}


def make_run(path, configs, ncpu=2, dirty=False, target_s=0.5,
             calibration=None, background=None, startup=None, name=None,
             duration_s=123.0):
    os.makedirs(path, exist_ok=True)
    wls = []
    for c in configs:
        if c['workload'] not in wls:
            wls.append(c['workload'])
    run = {'schema': 1, 'name': name or os.path.basename(path),
           'started_utc': '2026-12-07T01:00:00Z',
           'finished_utc': '2026-12-07T01:02:03Z', 'duration_s': duration_s,
           'command': ['scripts/bench'], 'quick': False,
           'target_s': target_s, 'ncpu': ncpu, 'rounds': 3,
           'workloads': wls, 'skipped': {}, 'workers': [1, 2, 4],
           'io_workers': [1, 4, 16],
           'mpi_ranks': sorted({e['ranks'] for e in startup or []}),
           'python': True,
           'mpi': bool(startup), 'verbose': False}
    machine = {'host': 'testhost', 'date_utc': '2026-12-07 01:00 UTC',
               'cpu_model': 'Test CPU', 'usable_cpus': ncpu,
               'online_cpus': ncpu, 'memory_bytes': 8 << 30,
               'llc_bytes': 32 << 20, 'kernel': 'Linux', 'os': 'Debian',
               'compiler': 'cc', 'cflags': '-O2', 'hyperfine': 'hyperfine',
               'gnuplot': 'gnuplot', 'python': 'Python 3', 'numpy': None,
               'load_avg': [0.1, 0.1, 0.1], 'commit': 'abc1234',
               'dirty': dirty}
    cal = {'target_s': target_s, 'entries': calibration or []}
    with open(os.path.join(path, 'run.json'), 'w') as f:
        json.dump(run, f)
    with open(os.path.join(path, 'machine.json'), 'w') as f:
        json.dump(machine, f)
    with open(os.path.join(path, 'calibration.json'), 'w') as f:
        json.dump(cal, f)
    with open(os.path.join(path, 'background.json'), 'w') as f:
        json.dump(background or {w: {'busy_fraction': 0.01} for w in wls}, f)
    with open(os.path.join(path, 'samples.jsonl'), 'w') as f:
        for c in configs:
            for i, (rnd, s) in enumerate(c['samples']):
                # Repetitions of one process: every sample its own process
                # unless reps_per_process says how many each one ran.
                rep = i % c['reps_per_process'] if c.get(
                    'reps_per_process') else i
                user, sys_ = c['cpu'](rnd, s) if c.get('cpu') else (None,
                                                                    None)
                f.write(json.dumps({
                    'workload': c['workload'], 'lang': c['lang'],
                    'mode': c['mode'], 'variant': c['variant'],
                    'oversub': c['mode'] == 'mpi' and c['workers'] > ncpu,
                    'workers': c['workers'], 'n': c['n'],
                    'chunk': c['chunk'], 'tasks': c['tasks'], 'rep': rep,
                    'round': rnd, 'kernel_s': s, 'setup_s': 0.0,
                    'user_s': user, 'sys_s': sys_, 'result': 1,
                    'expected': 1, 'check': 'ok',
                    'params': {'n': c['n']}}) + '\n')
    with open(os.path.join(path, 'walls.jsonl'), 'w') as f:
        for c in configs:
            f.write(json.dumps({
                'workload': c['workload'], 'lang': c['lang'],
                'mode': c['mode'], 'variant': c['variant'],
                'workers': c['workers'], 'round': 1,
                'params': {'n': c['n']},
                'wall_s': c['samples'][0][1] + 0.01, 'exit_code': 0}) + '\n')
    if startup:
        with open(os.path.join(path, 'mpi-startup.jsonl'), 'w') as f:
            for e in startup:
                f.write(json.dumps(e) + '\n')
    return path


def scaling(workload, lang, seq, speedups, mode, variant='-', noise=1.0,
            n=1000):
    """Configurations of one mode: {workers: speedup} against seq."""
    return [cfg(workload, lang, mode, w, seq / s, variant=variant,
                noise=noise, n=n) for w, s in sorted(speedups.items())]
