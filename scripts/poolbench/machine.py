"""Facts about the machine a run was made on (machine.json).

Everything here is read-only: /proc, /sys, `--version` of the tools, and
read-only git queries (rev-parse, status --porcelain) for the commit and
whether the work tree had uncommitted changes -- a run made from a dirty
tree cannot be reproduced from any commit, and the run checker refuses
it as the reference.
"""
import glob
import os
import platform
import socket
import subprocess
import time


def usable_cpus():
    """The CPUs this process may use: the affinity mask, capped by a
    cgroup v2 CPU quota (what a container's "2 CPUs" really is)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        with open('/sys/fs/cgroup/cpu.max') as f:
            quota, period = f.read().split()[:2]
        if quota != 'max' and int(period) > 0:
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


def online_cpus():
    try:
        return os.sysconf('SC_NPROCESSORS_ONLN')
    except (ValueError, OSError):
        return os.cpu_count() or 1


def memory_bytes():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _size(text):
    text = text.strip().upper()
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}.get(text[-1:], 1)
    return int(text.rstrip('KMG')) * mult


def llc_bytes():
    """The last-level cache of CPU 0, from sysfs (the highest level that
    holds data), else getconf; 0 when unknown.  sysfs is preferred: some
    VMs report a whole socket's L3 to getconf but the slice a core really
    shares in sysfs."""
    best = (0, 0)
    for d in glob.glob('/sys/devices/system/cpu/cpu0/cache/index*'):
        try:
            with open(d + '/type') as f:
                if f.read().strip() == 'Instruction':
                    continue
            with open(d + '/level') as f:
                level = int(f.read())
            with open(d + '/size') as f:
                size = _size(f.read())
        except (OSError, ValueError):
            continue
        best = max(best, (level, size))
    if best[1]:
        return best[1]
    for name in ('LEVEL3_CACHE_SIZE', 'LEVEL2_CACHE_SIZE'):
        out = _run(['getconf', name])
        if out and out.isdigit() and int(out) > 0:
            return int(out)
    return 0


def _run(argv, cwd=None):
    """stdout of a short query, stripped; '' when it fails.  git must not
    take the index lock to refresh its stat cache (GIT_OPTIONAL_LOCKS=0):
    a query must never make someone's commit beside us fail."""
    env = dict(os.environ, GIT_OPTIONAL_LOCKS='0')
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ''
    return p.stdout.decode(errors='replace').strip() if p.returncode == 0 \
        else ''


def git_state(root):
    """(short commit or 'unknown', dirty: bool or None)."""
    commit = _run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'])
    if not commit:
        return 'unknown', None
    status = _run(['git', '-C', root, 'status', '--porcelain',
                   '--untracked-files=no'])
    return commit, bool(status)


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def os_name():
    try:
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    return line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def load_avg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def compile_flags(root, bin_dir):
    """The flags the benchmark programs were compiled with, as make would
    compile primes.c now (make -n: prints, builds nothing)."""
    objroot = os.path.dirname(os.path.dirname(bin_dir))
    out = _run(['make', '-s', '-n', '-B', '-C', root, 'O=' + objroot,
                os.path.join(os.path.dirname(bin_dir),
                             'obj/benchmarks/primes.o')])
    for line in out.splitlines():
        if ' -c ' in line:
            return line.replace(' -MMD -MP', '').split(' -c -o ')[0]
    return None


def facts(root, bin_dir, hyperfine, gnuplot, python):
    commit, dirty = git_state(root)
    return {
        'host': socket.gethostname().split('.')[0],
        'date_utc': time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
        'cpu_model': cpu_model(),
        'usable_cpus': usable_cpus(),
        'online_cpus': online_cpus(),
        'memory_bytes': memory_bytes(),
        'llc_bytes': llc_bytes(),
        'kernel': ' '.join(platform.uname()[i] for i in (0, 2, 4)),
        'os': os_name(),
        'compiler': (_run(['cc', '--version']).splitlines() or [None])[0],
        'cflags': compile_flags(root, bin_dir) if bin_dir else None,
        'hyperfine': _run([hyperfine, '--version']) or None,
        'gnuplot': _run([gnuplot, '--version']) or None,
        'python': _run([python, '--version']) or None,
        'numpy': _run([python, '-c',
                       'import numpy; print(numpy.__version__)']) or None,
        'load_avg': load_avg(),
        'commit': commit,
        'dirty': dirty,
    }
