"""The quiet terminal: one line per step, with the time so far and an
estimate of the time left.

What hyperfine and the programs print goes to the run's log.txt only
(the runner writes it there); with --verbose it is shown as well.  The
estimate starts from the plan (runs x calibrated kernel times) and is
refined as steps finish: the time left is the plan's estimate of the
steps to come, scaled by how long the finished steps took against their
estimates.
"""
import sys
import time


def clock(seconds):
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60,
                                 seconds % 60)
    return '%d:%02d' % (seconds // 60, seconds % 60)


class Progress:
    def __init__(self, prog='bench', out=sys.stdout, err=sys.stderr,
                 verbose=False):
        self.prog = prog
        self.out = out
        self.err = err
        self.verbose = verbose
        self.log_file = None     # set once the run folder exists
        self.start = time.monotonic()
        self.steps = []          # [label, estimate_s]
        self.done_est = 0.0
        self.done_real = 0.0
        self.current = None      # (index, started)

    def _write(self, stream, line):
        stream.write(line + '\n')
        stream.flush()
        self.log(line)

    def log(self, line):
        """A line for log.txt only (unless --verbose)."""
        if self.log_file:
            self.log_file.write(line + '\n')
            self.log_file.flush()

    def say(self, text):
        self._write(self.out, '%s: %s' % (self.prog, text))

    def warn(self, text):
        self._write(self.err, '%s: %s' % (self.prog, text))

    def plan(self, steps):
        """steps: [(label, estimated seconds)], in order."""
        self.steps = [list(s) for s in steps]

    def elapsed(self):
        return time.monotonic() - self.start

    def left(self, from_index):
        rest = sum(est for _, est in self.steps[from_index:])
        if self.done_est > 5:
            rest *= min(4.0, max(0.25, self.done_real / self.done_est))
        return rest

    def begin(self, index):
        self.finish()
        label, est = self.steps[index]
        self.current = (index, time.monotonic())
        width = len(str(len(self.steps)))
        self._write(self.out, '%s: [%*d/%d] %s elapsed, about %s left: %s'
                    % (self.prog, width, index + 1, len(self.steps),
                       clock(self.elapsed()), clock(self.left(index)),
                       label))

    def finish(self):
        if self.current is None:
            return
        index, started = self.current
        self.done_est += self.steps[index][1]
        self.done_real += time.monotonic() - started
        self.current = None
