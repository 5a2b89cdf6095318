"""Running the benchmarks: hyperfine calls, process groups, signals, and
turning what they wrote into labelled samples.

Every child (hyperfine, a program being calibrated, mpi-run.sh) starts in
a session and process group of its own (start_new_session), so that a
signal to the suite can take down the whole group: hyperfine, the
benchmark program and every worker it forked.  mpirun puts each MPI rank
in a process group of its own, but the ranks stay in the child's session,
so stop() also sweeps the session (every process whose session id is the
child's pid, from /proc).

What the children print goes to the run's log.txt (and to the terminal
with --verbose), never to the terminal by default: hyperfine's "N times
faster than" lines compare whole processes and would contradict the
report's kernel times.

Labels.  Each sample is one record a program wrote itself (it names its
bench, lang, mode, variant, workers, n, chunk); the suite adds only what
it knows for certain -- the round and the size parameters of the group.
Each wall time comes from hyperfine's JSON export with the "parameters"
hyperfine substituted.  No command line is ever read back.
"""
import json
import os
import signal
import subprocess
import threading
import time

from . import runfolder

COLUMNS = ['bench', 'lang', 'mode', 'variant', 'workers', 'n', 'chunk',
           'tasks', 'rep', 'setup_s', 'kernel_s', 'result', 'expected',
           'check']
INTS = ('workers', 'n', 'chunk', 'tasks', 'rep', 'result', 'expected')
FLOATS = ('setup_s', 'kernel_s', 'user_s', 'sys_s')


class Interrupted(Exception):
    """A signal (or the parent's death) stops the run; code is the exit
    status (128 + signal)."""

    def __init__(self, code, why):
        super().__init__(why)
        self.code = code
        self.why = why


class Failure(Exception):
    """A benchmark or tool failed; the message says which and why."""


def read_records(path):
    """The records of a --out file as dicts.  A header row (a line with a
    "kernel_s" field) names the columns, else the contract's columns in
    their order; unknown columns are kept as strings."""
    out = []
    header = COLUMNS
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if not line.strip():
            continue
        fields = line.split(',')
        if 'kernel_s' in fields:
            header = fields
            continue
        rec = {}
        for k, v in zip(header, fields):
            if v in ('-', '') and k in INTS + FLOATS:
                v = None
            elif k in INTS:
                try:
                    v = int(v)
                except ValueError:
                    pass
            elif k in FLOATS:
                try:
                    v = float(v)
                except ValueError:
                    v = None
            rec[k] = v
        out.append(rec)
    return out


def _procs():
    """(pid, ppid, session) of every process, from /proc/PID/stat."""
    for e in os.listdir('/proc'):
        if not e.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % e) as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the ")" that ends the command name: state ppid pgrp
        # session ...
        rest = stat[stat.rfind(')') + 2:].split()
        if len(rest) > 3:
            yield int(e), int(rest[1]), int(rest[3])


def session_pids(sid):
    """Processes whose session id is sid."""
    return [pid for pid, _, sess in _procs() if sess == sid]


def child_pids():
    """This process's own children."""
    me = os.getpid()
    return [pid for pid, ppid, _ in _procs() if ppid == me]


class Runner:
    def __init__(self, progress, verbose=False, env=None):
        self.progress = progress
        self.verbose = verbose
        self.env = env
        self.child = None
        # Under make, a make that dies (SIGKILL forwards nothing) leaves
        # the suite orphaned: watch the parent then.  Not otherwise, and
        # not under nohup (SIGHUP ignored): `nohup scripts/bench &` must
        # outlive the shell that started it.
        self.nohup = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        self.parent = os.getppid() if os.environ.get('MAKELEVEL') and \
            not self.nohup else None

    # ---- signals ---------------------------------------------------------
    def install_signals(self):
        def handler(signum, frame):
            # Further signals would interrupt the clean-up: ignore them.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            raise Interrupted(128 + signum, signal.Signals(signum).name)
        for s in (signal.SIGINT, signal.SIGTERM) + \
                (() if self.nohup else (signal.SIGHUP,)):
            signal.signal(s, handler)

    def check_parent(self):
        """The make that started the suite died: stop as for SIGTERM
        rather than go on and later move results/latest behind the back
        of whoever stopped it."""
        if self.parent is not None and os.getppid() != self.parent:
            raise Interrupted(143, 'parent process gone')

    # ---- one child -------------------------------------------------------
    def run(self, argv, cwd=None, env=None, tail=None):
        """Runs argv in its own session; its output goes to the log (and
        the terminal with --verbose), and its last lines to the list
        `tail` when given.  Returns the exit status."""
        self.progress.log('$ ' + ' '.join(argv))
        self.check_parent()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env or self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.child = proc
        reader = threading.Thread(target=self._copy, args=(proc, tail),
                                  daemon=True)
        reader.start()
        try:
            while True:
                try:
                    proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    self.check_parent()
        finally:
            if proc.returncode is None:
                self._stop(proc)
            self.child = None
        reader.join(2)
        return proc.returncode

    def _copy(self, proc, tail):
        for raw in iter(proc.stdout.readline, b''):
            line = raw.decode(errors='replace').rstrip('\n')
            self.progress.log(line)
            if self.verbose:
                print(line, flush=True)
            if tail is not None:
                tail.append(line)
                del tail[:-40]
        proc.stdout.close()

    def stop(self):
        """TERM to the child's group and session, KILL after a second.
        Then the same to any other child: a signal that arrives between
        fork and the moment self.child is set would otherwise leave one
        running unseen."""
        self._stop(self.child)
        self.child = None
        for pid in child_pids():
            self._stop_pid(pid)

    def _stop_pid(self, pid):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self._signal(pid, sig)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done and not session_pids(pid):
                    return
                time.sleep(0.05)

    def _stop(self, proc):
        if proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self._signal(proc.pid, sig)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                if proc.poll() is not None and not session_pids(proc.pid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def _signal(pid, sig):
        try:
            os.killpg(pid, sig)
        except OSError:
            pass
        for p in session_pids(pid):
            try:
                os.kill(p, sig)
            except OSError:
                pass

    # ---- calibration runs --------------------------------------------------
    def measure(self, argv, out_path):
        """Runs a program once with --out out_path; returns its records,
        raising Failure (with its message) when it fails."""
        if os.path.exists(out_path):
            os.unlink(out_path)
        tail = []
        rc = self.run(argv + ['--out', out_path], tail=tail)
        recs = read_records(out_path)
        bad = [r for r in recs if r.get('check') not in (None, 'ok')]
        if rc != 0 or bad or not recs:
            raise Failure('FAILED (exit %d): %s\n%s' % (
                rc, ' '.join(argv), '\n'.join('    ' + t for t in tail[-15:])
                or '    (no output)'))
        return recs

    # ---- one hyperfine call -------------------------------------------------
    def run_group(self, hyperfine, group, r, raw_dir):
        """Round r of one group.  Returns (samples, walls)."""
        base = os.path.join(raw_dir, 'r%d-%s' % (r, group.gid))
        recs_part = base + '.records.csv.part'
        json_part = base + '.json.part'
        for p in (recs_part, json_part):
            if os.path.exists(p):
                os.unlink(p)
        argv = [hyperfine] + group.hyperfine_args() + \
            ['--style', 'basic', '--export-json', json_part,
             group.template(recs_part)]
        rc = self.run(argv, cwd=raw_dir)
        if rc != 0:
            self.explain_failure(group, raw_dir)
        recs = read_records(recs_part)
        if not recs:
            raise Failure('%s wrote no records to its --out file'
                          % group.template('FILE'))
        bad = [r for r in recs if r.get('check') != 'ok']
        if bad:
            self.explain_failure(group, raw_dir)
        with open(json_part) as f:
            export = json.load(f)
        os.replace(json_part, base + '.json')
        os.replace(recs_part, base + '.records.csv')
        runfolder.write_json(base + '.group.json', {
            'gid': group.gid, 'workload': group.workload,
            'lang': group.lang, 'labels': group.labels,
            'params': group.params, 'lists': group.lists,
            'warmup': group.warmup, 'runs': group.runs,
            'repeat': group.repeat, 'round': r,
            'template': group.template('@OUT@')})
        return (self.samples(group, r, recs),
                self.walls(group, r, export))

    @staticmethod
    def samples(group, r, recs):
        """One sample per record, warm-up runs dropped: hyperfine runs each
        command's warm-up runs before its measured ones, and each run
        writes `repeat` records per configuration, so the first
        warmup x repeat records of each configuration are warm-up."""
        drop = group.warmup * group.repeat
        seen = {}
        out = []
        for rec in recs:
            key = tuple(rec.get(k) for k in ('mode', 'variant', 'workers',
                                              'n', 'chunk'))
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= drop:
                continue
            variant = rec.get('variant') or '-'
            oversub = variant.endswith('+oversub')
            if oversub:
                variant = variant[:-len('+oversub')]
            s = {'workload': rec.get('bench'), 'lang': rec.get('lang'),
                 'mode': rec.get('mode'), 'variant': variant,
                 'oversub': oversub}
            for k in ('workers', 'n', 'chunk', 'tasks', 'rep'):
                s[k] = rec.get(k)
            s['round'] = r
            for k in ('kernel_s', 'setup_s'):
                s[k] = rec.get(k)
            s['user_s'] = rec.get('user_s')
            s['sys_s'] = rec.get('sys_s')
            for k in ('result', 'expected', 'check'):
                s[k] = rec.get(k)
            s['params'] = group.params
            out.append(s)
        return out

    @staticmethod
    def walls(group, r, export):
        out = []
        for res in export.get('results', []):
            p = res.get('parameters') or {}
            labels = {'workload': group.workload, 'lang': group.lang,
                      'mode': 'seq', 'variant': '-', 'workers': 1}
            labels.update(group.labels)
            for k, v in p.items():
                labels[k] = int(v) if k == 'workers' else v
            labels['oversub'] = bool(group.mpi and int(labels['workers'])
                                     > group.ncpu)
            codes = res.get('exit_codes') or [0] * len(res.get('times', []))
            for t, c in zip(res.get('times', []), codes):
                w = dict(labels)
                w['round'] = r
                w['params'] = group.params
                w['wall_s'] = t
                w['exit_code'] = c
                out.append(w)
        return out

    def explain_failure(self, group, raw_dir):
        """Finds which command of a failed group fails by running each once
        more, and raises Failure naming it with its message."""
        self.progress.warn('a benchmark failed; finding the failing '
                           'command ...')
        scratch = os.path.join(raw_dir, 'failed.records.csv')
        for values in group.combinations():
            argv = [a for a in group.command(scratch, values)]
            if os.path.exists(scratch):
                os.unlink(scratch)
            tail = []
            rc = self.run(argv, cwd=raw_dir, tail=tail)
            bad = [x for x in read_records(scratch)
                   if x.get('check') not in (None, 'ok')]
            if rc != 0 or bad:
                shown = [a for a in argv]
                i = shown.index('--out') if '--out' in shown else -1
                if i >= 0:
                    del shown[i:i + 2]
                raise Failure('FAILED (exit %d): %s\n%s' % (
                    rc, ' '.join(shown),
                    '\n'.join('    ' + t for t in tail[-15:])))
        raise Failure('hyperfine failed on %s, but every command passed '
                      'when run again: an intermittent failure'
                      % group.template('FILE'))


class Background:
    """How busy other processes keep the CPUs: /proc/stat's busy time
    (everything but idle and iowait, steal included) minus the CPU time of
    this suite and its children, as a share of all online CPUs' time."""

    def __init__(self):
        self.hz = os.sysconf('SC_CLK_TCK')

    @staticmethod
    def _stat():
        with open('/proc/stat') as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
        return sum(fields), fields[3] + fields[4]

    def _ours(self):
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self):
        try:
            return self._stat(), self._ours()
        except OSError:
            return None

    def busy(self, mark):
        """The other processes' share of the CPUs since start()."""
        if mark is None:
            return None
        try:
            (t0, i0), ours0 = mark
            t1, i1 = self._stat()
        except OSError:
            return None
        total = t1 - t0
        if total <= 0:
            return 0.0
        busy = (total - (i1 - i0)) - (self._ours() - ours0) * self.hz
        return round(min(1.0, max(0.0, busy / total)), 4)

    def idle(self, seconds):
        """The share measured while the suite sits idle for a moment."""
        mark = self.start()
        time.sleep(seconds)
        return self.busy(mark)
