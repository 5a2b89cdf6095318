"""The shared harness of the Python twins of the benchmark programs.

The C programs in benchmarks/ share benchmarks/lib/bench.c; these scripts
share this module, which keeps the same contract (benchmarks/README.md,
"Records"): the same common options (--mode, --workers, --chunk, --repeat,
--format, --out, -h/--help, --version, --list), the same number syntax
("2e7"), the same records in text, CSV, JSON (one document with its
context) and JSON lines, with the same wall and CPU times, the same exit
codes (0 ok, 1 a failed check or run, 2 a bad command
line, before anything runs), and the same known answers: the table of
pi(N), the sum workload's values and their closed-form total.  The suite
charts C and Python side by side, so any difference here would be a lie on
a chart.

Run with Debian's /usr/bin/python3 (numpy comes from python3-numpy).
"""

import argparse
import datetime
import math
import os
import platform
import resource
import subprocess
import sys
import time

CSV_HEADER = ("bench,lang,mode,variant,workers,n,chunk,tasks,rep,"
              "setup_s,kernel_s,result,expected,check,user_s,sys_s")
FIELDS = CSV_HEADER.split(",")

# The unit of every field, for the JSON context (as in bench.c).
UNITS = {
    "bench": "name", "lang": "name", "mode": "name", "variant": "name",
    "workers": "threads, processes or MPI ranks",
    "n": "items: the problem size (see the program's --help)",
    "chunk": "items per task", "tasks": "tasks",
    "rep": "repetition, from 0",
    "setup_s": "s, CLOCK_MONOTONIC", "kernel_s": "s, CLOCK_MONOTONIC",
    "result": "the program's answer (see its --help)",
    "expected": "the known answer, null if none",
    "check": "ok | FAIL",
    "user_s": "s of user CPU time, process and children",
    "sys_s": "s of system CPU time, process and children",
}
MAX_WORKERS = 1024      # as BENCH_MAX_WORKERS in bench.h
MAX_REPEAT = 100000
LLONG_MAX = 2**63 - 1


def now():
    """CLOCK_MONOTONIC in seconds, the clock the C programs use."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def cpus():
    """Online CPUs, as sysconf(_SC_NPROCESSORS_ONLN) in C."""
    return max(1, os.sysconf("SC_NPROCESSORS_ONLN"))


def usable_cpus():
    """The CPUs this process may run on (its affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return cpus()


def _live_descendants():
    """(user, sys) seconds of this process's live descendants (the
    workers of a pool), from /proc/PID/stat as bench.c reads them:
    getrusage counts a child only once it has been waited for."""
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    procs = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0.0, 0.0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) < 13:
            continue
        procs[int(name)] = (int(fields[1]), int(fields[11]) * tick,
                            int(fields[12]) * tick)
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in procs.items():
            if pid not in mine and ppid in mine:
                mine.add(pid)
                changed = True
    mine.discard(os.getpid())
    return (sum(procs[p][1] for p in mine), sum(procs[p][2] for p in mine))


def cpu_times(self_first):
    """User and system CPU seconds of this process (all threads) and its
    children, waited for or live.  /proc is read first at the start of a
    kernel and last at its end (self_first), so reading it is not
    counted."""
    user = system = 0.0
    if not self_first:
        user, system = _live_descendants()
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        user += ru.ru_utime
        system += ru.ru_stime
    if self_first:
        u, s = _live_descendants()
        user += u
        system += s
    return user, system


_version = None


def version():
    """`git describe --always` of this checkout, "-dirty" when tracked
    files changed, as the C programs are built with; or "unknown"."""
    global _version
    if _version is None:
        here = os.path.dirname(os.path.abspath(__file__))
        env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")

        def git(*args):
            return subprocess.run(
                ("git", "-C", here) + args, capture_output=True, text=True,
                env=env, check=True).stdout.strip()
        try:
            described = git("describe", "--always")
            commit = git("rev-parse", "HEAD")
            dirty = git("status", "--porcelain", "--untracked-files=no")
            _version = (described + ("-dirty" if dirty else ""), commit)
        except (OSError, subprocess.CalledProcessError):
            _version = ("unknown", "unknown")
    return _version


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def median(values):
    v = sorted(values)
    if not v:
        return 0.0
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def parse_count(text):
    """Digits with an optional power-of-ten exponent, as bench_parse_count:
    "2e7" is 20000000.  No sign, no spaces, no fractions."""
    digits, sep, exp = text.replace("E", "e", 1).partition("e")
    for part in (digits, exp) if sep else (digits,):
        if not (part.isascii() and part.isdigit()):
            raise ValueError(text)
    if sep and int(exp) > 18:
        raise OverflowError(text)
    value = int(digits) * 10 ** (int(exp) if sep else 0)
    if value > LLONG_MAX:
        raise OverflowError(text)
    return value


def int_option(name, low, high):
    """An argparse type: a count within [low, high], else exit 2."""
    def convert(text):
        try:
            value = parse_count(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a non-negative integer") from None
        except OverflowError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text} is out of range {low}..{high}")
        return value
    convert.__name__ = name
    return convert


class Bench:
    """The parsed command line and the run's records.

    spec: name, summary, modes (first is the default), default_workers
    (0: the online CPUs), and options, a list of
    (name, kind, default, help, extra) where kind is "flag", "int"
    (extra = (low, high, metavar)) or "choice" (extra = the choices).
    After parse(), the program's options are attributes with dashes turned
    into underscores: b.delay_ms, b.gil...
    """

    def __init__(self, name, summary, modes, options=(), default_workers=0,
                 argv=None):
        self.name = name
        self.modes = modes
        self.emitted = 0
        self.failed = 0
        self.kernels = []
        self.conf = None
        self.mixed = False
        workers = default_workers or cpus()
        self.options = options
        self.date = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        self.json_open = False
        self.cpu0 = cpu_times(False)
        p = argparse.ArgumentParser(
            prog=name, description=summary, add_help=False,
            allow_abbrev=False,
            epilog="Records: " + CSV_HEADER + " (times in seconds; every "
                   "field is described in benchmarks/README.md).  Exit "
                   "status: 0 ok, 1 a failed check or run, 2 a bad option.")
        p.add_argument("--mode", choices=modes, default=modes[0])
        p.add_argument("--workers", type=int_option("workers", 1,
                                                    MAX_WORKERS),
                       default=workers, metavar="W")
        p.add_argument("--chunk", type=int_option("chunk", 0, LLONG_MAX),
                       default=0, metavar="C",
                       help="items per task, 0 = automatic")
        p.add_argument("--repeat", type=int_option("repeat", 1, MAX_REPEAT),
                       default=1, metavar="R")
        p.add_argument("--format", choices=("text", "csv", "json", "jsonl"),
                       default="text",
                       help="csv: a header row, then one line a record; "
                            "json: one document, context and records; "
                            "jsonl: one record a line")
        p.add_argument("--out", metavar="FILE",
                       help="also append the records to FILE as CSV "
                            "(header row first when FILE is new or empty)")
        p.add_argument("-h", "--help", action="help",
                       help="show this help and exit")
        bench = self

        class Version(argparse.Action):
            def __call__(self, parser, namespace, values, option=None):
                print(f"{name} (poolbench) {version()[0]}\ncommit "
                      f"{version()[1]}, run by {_interpreter()}")
                parser.exit()

        class List(argparse.Action):
            def __call__(self, parser, namespace, values, option=None):
                for m in modes:
                    print("mode", m)
                for opt_name, kind, _, _, extra in bench.options:
                    if kind == "choice":
                        for value in extra:
                            print(opt_name, value)
                parser.exit()
        p.add_argument("--version", action=Version, nargs=0,
                       help="show the version (the git commit) and exit")
        p.add_argument("--list", action=List, nargs=0,
                       help="list the modes and the values of the other "
                            "choices, one a line, and exit")
        for opt_name, kind, default, text, extra in options:
            flag = "--" + opt_name
            if kind == "flag":
                p.add_argument(flag, action="store_true", help=text)
            elif kind == "int":
                low, high, metavar = extra
                p.add_argument(flag, type=int_option(opt_name, low, high),
                               default=default, metavar=metavar,
                               help=f"{text} ({low}..{high}, "
                                    f"default {default})")
            else:
                p.add_argument(flag, choices=extra, default=default,
                               help=text)
        self.parser = p
        args = p.parse_args(argv)
        for key, value in vars(args).items():
            setattr(self, key, value)
        self.out_fd = None
        self.out_header = False
        if self.out is not None:
            if self.out == "":
                p.error("--out: empty file name")
            try:
                self.out_fd = os.open(
                    self.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                    os.O_CLOEXEC, 0o644)
                # New or empty: the header row goes with the first record.
                self.out_header = os.fstat(self.out_fd).st_size == 0
            except OSError as e:
                p.error(f"--out: cannot open '{self.out}': {e.strerror}")

    def usage_error(self, message):
        """A program's own command-line check failed: exit 2 now."""
        self.parser.error(message)

    def kernel_start(self):
        """Starts the kernel's clocks, as bench_kernel_start: reads the
        CPU times and returns now() for the caller's wall clock."""
        self.cpu0 = cpu_times(False)
        return now()

    def record(self, rep, **fields):
        """A record with the run's defaults, as bench_record_init; call
        it right after the kernel: user_s and sys_s, unless given, are the
        CPU time since kernel_start() (or since the last record)."""
        user, system = cpu_times(True)
        r = dict(mode=self.mode, variant="-",
                 workers=1 if self.mode == "seq" else self.workers,
                 n=0, chunk=self.chunk, tasks=0, rep=rep, setup_s=0.0,
                 kernel_s=0.0, result=None, expected=None,
                 user_s=max(0.0, user - self.cpu0[0]),
                 sys_s=max(0.0, system - self.cpu0[1]))
        r.update(fields)
        self.cpu0 = (user, system)
        return r

    def _values(self, r, json):
        none = "null" if json else "-"
        res = none if r["result"] is None else str(int(r["result"]))
        exp = none if r["expected"] is None else str(int(r["expected"]))
        ok = r["expected"] is None or r["result"] == r["expected"]
        return res, exp, ok

    def _csv(self, r):
        res, exp, ok = self._values(r, False)
        return (f"{self.name},python,{r['mode']},{r['variant'] or '-'},"
                f"{r['workers']},{r['n']},{r['chunk']},{r['tasks']},"
                f"{r['rep']},{r['setup_s']:.9f},{r['kernel_s']:.9f},"
                f"{res},{exp},{'ok' if ok else 'FAIL'},"
                f"{r['user_s']:.6f},{r['sys_s']:.6f}\n")

    def _json(self, r):
        res, exp, ok = self._values(r, True)
        return (f'{{"bench": "{self.name}", "lang": "python", '
                f'"mode": "{r["mode"]}", "variant": "{r["variant"] or "-"}",'
                f' "workers": {r["workers"]}, "n": {r["n"]}, '
                f'"chunk": {r["chunk"]}, "tasks": {r["tasks"]}, '
                f'"rep": {r["rep"]}, "setup_s": {r["setup_s"]:.9f}, '
                f'"kernel_s": {r["kernel_s"]:.9f}, "result": {res}, '
                f'"expected": {exp}, "check": "{"ok" if ok else "FAIL"}", '
                f'"user_s": {r["user_s"]:.6f}, "sys_s": {r["sys_s"]:.6f}}}')

    def _begin_json(self):
        """The JSON document's start: the context, then "records": [."""
        import json
        un = os.uname()
        context = {
            "program": self.name, "lang": "python",
            "version": version()[0], "commit": version()[1],
            "date": self.date, "host": un.nodename,
            "os": f"{un.sysname} {un.release} {un.machine}",
            "cpu_model": _cpu_model(), "cpus_online": cpus(),
            "cpus_usable": usable_cpus(), "compiler": _interpreter(),
            "cflags": "", "command": sys.argv, "units": UNITS,
        }
        text = json.dumps({"context": context}, indent=2)
        sys.stdout.write(text[:text.rfind("}")].rstrip() +
                         ',\n  "records": [')
        self.json_open = True

    def _text(self, r):
        res, exp, ok = self._values(r, False)
        variant = r["variant"] or "-"
        mode = r["mode"] + ("" if variant == "-" else "/" + variant)
        return (f"{self.name} python {mode}: workers {r['workers']}, "
                f"n {r['n']}, chunk {r['chunk']}, tasks {r['tasks']}, "
                f"rep {r['rep']}: kernel {r['kernel_s']:.6f} s "
                f"(setup {r['setup_s']:.6f} s, cpu user {r['user_s']:.3f} s "
                f"sys {r['sys_s']:.3f} s), result {res}, "
                f"expected {exp}: {'ok' if ok else 'FAIL'}\n")

    def emit(self, r):
        """Prints r, appends it to --out; returns 0, or 1 when the check
        failed or --out could not be written (then stop repeating)."""
        status = 0
        if self.format == "csv" and self.emitted == 0:
            sys.stdout.write(CSV_HEADER + "\n")
        if self.format == "json" and not self.json_open:
            self._begin_json()
        line = {"csv": self._csv, "json": self._json, "jsonl": self._json,
                "text": self._text}[self.format](r)
        if self.format == "json":
            line = ("," if self.emitted else "") + "\n    " + line
        elif self.format == "jsonl":
            line += "\n"
        sys.stdout.write(line)
        sys.stdout.flush()
        conf = (r["mode"], r["variant"], r["workers"], r["n"], r["chunk"])
        if self.conf is None:
            self.conf = conf
        elif conf != self.conf:
            self.mixed = True
        self.kernels.append(r["kernel_s"])
        self.emitted += 1
        if self.out_fd is not None:
            data = ((CSV_HEADER + "\n" if self.out_header else "") +
                    self._csv(r)).encode()
            self.out_header = False
            try:
                # One write(2) on an O_APPEND descriptor: whole lines only.
                if os.write(self.out_fd, data) != len(data):
                    raise OSError(0, "short write")
            except OSError as e:
                self.error(self.out, e.strerror)
                status = 1
        _, _, ok = self._values(r, False)
        if not ok:
            variant = r["variant"] or "-"
            mode = r["mode"] + ("" if variant == "-" else "/" + variant)
            print(f"{self.name}: {mode}: wrong result {r['result']}, "
                  f"expected {r['expected']}", file=sys.stderr)
            self.failed += 1
            status = 1
        return status

    def text(self, message):
        """Prints a line for humans, in text format only."""
        if self.format == "text":
            print(message, flush=True)

    def error(self, what, reason):
        """A failure that stops the run: reported, exit status 1."""
        print(f"{self.name}: {what}: {reason}", file=sys.stderr)
        self.failed += 1

    def finish(self):
        """Prints the median in text format; returns the exit status."""
        if self.format == "text" and self.emitted > 1 and not self.mixed:
            print(f"{self.name}: median kernel {median(self.kernels):.6f} s "
                  f"over {self.emitted} records")
        if self.format == "json":
            if not self.json_open:
                self._begin_json()
            sys.stdout.write("\n  ]\n}\n")
            self.json_open = False
        sys.stdout.flush()
        if self.out_fd is not None:
            os.close(self.out_fd)
        return 1 if self.failed else 0


def _interpreter():
    return (f"{platform.python_implementation()} "
            f"{platform.python_version()} ({platform.python_compiler()})")


# ---- primes: the tutorial's is_prime and the known answers ---------------

PRIMES_MAX = 2000000000     # as WL_PRIMES_MAX

# pi(N) for N = 10^k, 2*10^k, 5*10^k: the table of workloads.c.
KNOWN_PI = {
    10: 4, 20: 8, 50: 15, 100: 25, 200: 46, 500: 95, 1000: 168,
    2000: 303, 5000: 669, 10000: 1229, 20000: 2262, 50000: 5133,
    100000: 9592, 200000: 17984, 500000: 41538, 1000000: 78498,
    2000000: 148933, 5000000: 348513, 10000000: 664579,
    20000000: 1270607, 50000000: 3001134, 100000000: 5761455,
    200000000: 11078937, 500000000: 26355867, 1000000000: 50847534,
    2000000000: 98222287,
}


def is_prime(n):
    """The tutorial's is_prime (section 3), unchanged."""
    if n < 2:
        return False
    for i in range(2, int(math.sqrt(n)) + 1):
        if n % i == 0:
            return False
    return True


def primes_sieve(n):
    """The number of primes below n by a sieve of Eratosthenes over the odd
    numbers: index j stands for 2j + 1, as in workloads.c."""
    if n <= 2:
        return 0
    m = n // 2                      # odd numbers below n
    odd = bytearray([1]) * m
    odd[0] = 0                      # 1 is not prime
    for j in range(1, m):
        p = 2 * j + 1
        if p * p >= n:
            break
        if odd[j]:
            start = (p * p - 1) // 2
            odd[start::p] = bytes(len(range(start, m, p)))
    return 1 + sum(odd)             # 1 for the prime 2


def primes_expected(n):
    """The number of primes below n: the table, else a sieve."""
    return KNOWN_PI[n] if n in KNOWN_PI else primes_sieve(n)


# ---- sum: the array's values and their exact total ----------------------

def value(i):
    """Value number i of the sum workload, as wl_value() in workloads.h."""
    return (i * 40503) & 0xFFFF


def sum_expected(n):
    """The exact total of value(i) for i < n, by the closed form."""
    period = 65536
    full, rest = divmod(n, period)
    return full * (period * (period - 1) // 2) + \
        sum(value(i) for i in range(n - rest, n))


def split(n, chunk):
    """[0, n) cut into (start, stop) pairs of chunk numbers."""
    return [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
