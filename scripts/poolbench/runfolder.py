"""Atomic files and run folders.

Nothing a reader can see is ever half-written:
  - every file goes through write_atomic(): written under a temporary name
    in the same folder, then renamed over the real name (rename(2) is
    atomic within one file system), so a reader sees the old file or the
    new one;
  - a run is built in results/.tmp-NAME.PID and renamed to results/NAME
    only when it is complete (publish());
  - results/latest is a symbolic link replaced by a rename, so it always
    points at a complete run.
"""
import json
import os
import shutil
import socket
import time


def write_atomic(path, data):
    """Writes data (str or bytes) to path through a temporary name."""
    if isinstance(data, str):
        data = data.encode()
    part = '%s.part.%d' % (path, os.getpid())
    with open(part, 'wb') as f:
        f.write(data)
    os.replace(part, path)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=1, sort_keys=False) + '\n')


def write_jsonl(path, rows):
    write_atomic(path, ''.join(json.dumps(r, sort_keys=False) + '\n'
                               for r in rows))


def default_name(results_dir, now=None):
    """DATE-TIME-HOST (UTC); a second run in the same minute gets -2, -3..."""
    host = socket.gethostname().split('.')[0] or 'host'
    stamp = time.strftime('%Y-%m-%d-%H%M', time.gmtime(now))
    name = '%s-%s' % (stamp, host)
    i = 2
    while _taken(results_dir, name):
        name = '%s-%s-%d' % (stamp, host, i)
        i += 1
    return name


def _taken(results_dir, name):
    if os.path.lexists(os.path.join(results_dir, name)):
        return True
    try:
        return any(e.startswith('.tmp-%s.' % name)
                   for e in os.listdir(results_dir))
    except OSError:
        return False


class RunFolder:
    """One run's folder: built under a temporary name, published whole."""

    def __init__(self, results_dir, out=None, force=False):
        self.results_dir = os.path.abspath(results_dir)
        if out is None:
            out = os.path.join(self.results_dir,
                               default_name(self.results_dir))
        out = os.path.abspath(out)
        self.parent = os.path.dirname(out)
        self.name = os.path.basename(out)
        self.out = out
        self.force = force
        self.tmp = os.path.join(self.parent,
                                '.tmp-%s.%d' % (self.name, os.getpid()))

    def exists_problem(self):
        """A message when the folder exists and --force was not given."""
        if os.path.lexists(self.out) and not self.force:
            return ('%s exists; pick another --out or add --force to '
                    'replace it' % self.out)
        return None

    def create(self):
        os.makedirs(self.parent, exist_ok=True)
        os.makedirs(os.path.join(self.tmp, 'raw'))

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def publish(self):
        """Renames the finished folder into place (replacing an old one
        by renames too), then points latest at it when it lives in the
        results folder.  Returns the final path."""
        if os.path.lexists(self.out):
            old = os.path.join(self.parent,
                               '.old-%s.%d' % (self.name, os.getpid()))
            os.rename(self.out, old)
            os.rename(self.tmp, self.out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.tmp, self.out)
        if os.path.realpath(self.parent) == \
                os.path.realpath(self.results_dir):
            swap_latest(self.results_dir, self.name)
        return self.out

    def discard(self, keep_failed=False):
        """Removes the half-built folder, or keeps it as .failed-NAME.
        Returns the kept path or None."""
        if not os.path.isdir(self.tmp):
            return None
        if keep_failed:
            kept = os.path.join(self.parent, '.failed-%s' % self.name)
            shutil.rmtree(kept, ignore_errors=True)
            os.rename(self.tmp, kept)
            return kept
        shutil.rmtree(self.tmp, ignore_errors=True)
        return None


def swap_latest(results_dir, name):
    """results/latest -> name, replaced in one rename(2): a reader sees
    the old run or the new one, never a missing or dangling link."""
    link = os.path.join(results_dir, '.latest.%d' % os.getpid())
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(name, link)
    os.replace(link, os.path.join(results_dir, 'latest'))
