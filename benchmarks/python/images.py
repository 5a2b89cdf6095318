#!/usr/bin/python3
"""images.py - the tutorial's batch image processing (section 7.2): convert
M images to grayscale, resize each to 256 x 256, save them; sequentially,
on a ThreadPoolExecutor or on a multiprocessing.Pool.

The twin of benchmarks/images.c: same options, same images, same records.
    images.py --mode seq --images 32
    images.py --mode threads --workers 2
    images.py --mode procs --workers 2 --chunk 4      (Pool.map chunksize)
    images.py --mode procs --keep        keep the files, print the folder

The same images, bit for bit: the generator, the grayscale weights
(Pillow's "L", in 16-bit fixed point) and the box resize (double
precision, summed in the same order, rounded once) are those of
benchmarks/cases/image.c, written with numpy, so every output file has the
checksum the C program computes; in text mode both print the same
"reference checksum" for the same --images, --max-side and --seed, which
the tests compare.  The tutorial uses Pillow; Pillow's own resize filters
round differently, and the point here is the same work on both charts.

Set-up (not timed): a folder made with tempfile.mkdtemp (under $TMPDIR),
the M inputs written into it as PPM and PGM files, and the reference: the
pipeline run in memory, giving each output's checksum.  The timed kernel is
the tutorial's process_image for every file: read it, convert, resize,
write a PGM.  Then, untimed, every output is read back and its checksum
compared with the reference.  The outputs are deleted before each
repetition, and the folder at the end (unless --keep), also after Ctrl-C
or SIGTERM: a watcher process removes it once the benchmark and every one
of its workers is gone, so that none can write into it afterwards (see
become_watcher).
"""

import signal

# Ctrl-C or SIGTERM during the imports (numpy's take a moment) would turn
# into an ImportError; held back until main() has its handlers, they end
# the run as a signal should.
FATAL = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
signal.pthread_sigmask(signal.SIG_BLOCK, FATAL)

import ctypes  # noqa: E402 (after the mask, on purpose)
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from multiprocessing import Pool  # noqa: E402

import numpy as np  # noqa: E402

import common  # noqa: E402

MASK = (1 << 64) - 1
OUT_SIDE = 256              # as IMG_OUT_SIDE
FNV_INIT = 0xcbf29ce484222325
FNV_PRIME = 0x100000001b3


def splitmix(x):
    """SplitMix64, as in image.c."""
    x = (x + 0x9e3779b97f4a7c15) & MASK
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & MASK
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & MASK
    return x ^ (x >> 31)


def fnv1a(data, h=FNV_INIT):
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & MASK
    return h


def generate(i, seed, max_side):
    """Test image number i as img_generate: (pixels, channels)."""
    r = splitmix(seed ^ splitmix(i))
    half = max_side // 2
    if i % 7 == 6:
        w = max(max_side // 8, 16)
        h = w * 3 // 4
    else:
        w = half + r % (half + 1)
        h = half + (r >> 20) % (half + 1)
    channels = 1 if i % 5 == 4 else 3
    cx, cy, rad = (r >> 8) % w, (r >> 28) % h, min(w, h) // 3
    # xorshift64 along every row at once: column x of every row together.
    s = np.array([splitmix(r ^ (y << 32)) for y in range(h)], np.uint64)
    noise = np.empty((h, w), np.uint32)
    for x in range(w):
        s ^= s << np.uint64(13)
        s ^= s >> np.uint64(7)
        s ^= s << np.uint64(17)
        noise[:, x] = s & np.uint64(31)
    xs = np.arange(w, dtype=np.int64)[None, :]
    ys = np.arange(h, dtype=np.int64)[:, None]
    inside = (xs - cx) ** 2 + (ys - cy) ** 2 < rad * rad
    red = (xs * 223) // w + noise
    green = (ys * 223) // h + noise
    blue = np.where(inside, 224 + noise, 32 + noise)
    if channels == 1:
        return ((red + green + blue) // 3).astype(np.uint8), 1
    return np.stack([red, green, blue], axis=2).astype(np.uint8), 3


def pnm_header(w, h, channels):
    return f"P{5 if channels == 1 else 6}\n{w} {h}\n255\n".encode()


def write_pnm(path, px, channels):
    h, w = px.shape[:2]
    with open(path, "wb") as f:
        f.write(pnm_header(w, h, channels))
        f.write(px.tobytes())


def read_pnm(path):
    """Reads the PPM or PGM files write_pnm makes (no comments)."""
    with open(path, "rb") as f:
        data = f.read()
    # "P6\nW H\n255\n" then the raster, whose first byte may be a blank.
    magic, size, _, raster = data.split(b"\n", 3)
    w, h = size.split()
    channels = 1 if magic == b"P5" else 3
    px = np.frombuffer(raster, np.uint8, int(w) * int(h) * channels)
    shape = (int(h), int(w)) if channels == 1 else (int(h), int(w), 3)
    return px.reshape(shape), channels


def grayscale(px, channels):
    """Pillow's "L" weights in 16-bit fixed point, as img_grayscale."""
    if channels == 1:
        return px
    rgb = px.astype(np.uint32)
    return ((19595 * rgb[:, :, 0] + 38470 * rgb[:, :, 1] +
             7471 * rgb[:, :, 2] + 32768) >> 16).astype(np.uint8)


def axis(src, dst):
    """The box filter's weights along one axis, as axis_make: output o
    takes weights[o, n] of source sample first[o] + n."""
    stride = math.ceil(src / dst) + 1
    first = np.zeros(dst, np.int64)
    weights = np.zeros((dst, stride))
    for o in range(dst):
        lo, hi = o * src / dst, (o + 1) * src / dst
        k0 = math.floor(lo)
        n, k = 0, k0
        while k < src and k < hi and n < stride:
            a0, a1 = max(lo, k), min(hi, k + 1.0)
            if a1 > a0:
                weights[o, n] = (a1 - a0) / (hi - lo)
                n += 1
            k += 1
        first[o] = k0
    return first, weights


def resize_box(gray, side=OUT_SIDE):
    """Two passes, each summing its weights in order, as img_resize_box
    does, so that the doubles and their rounding are the same.  A weight
    past a footprint is 0, and v + 0.0 is v."""
    h, w = gray.shape
    fx, wx = axis(w, side)
    fy, wy = axis(h, side)
    src = gray.astype(np.float64)
    tmp = np.zeros((h, side))
    for n in range(wx.shape[1]):
        tmp += wx[:, n][None, :] * src[:, np.minimum(fx + n, w - 1)]
    out = np.zeros((side, side))
    for n in range(wy.shape[1]):
        out += wy[:, n][:, None] * tmp[np.minimum(fy + n, h - 1), :]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def checksum(px):
    """FNV-1a of the output file's bytes, as img_checksum."""
    return fnv1a(px.tobytes(), fnv1a(pnm_header(px.shape[1], px.shape[0],
                                                1)))


def process_image(paths):
    """The tutorial's process_image: one file in, one file out."""
    src, dst = paths
    px, channels = read_pnm(src)
    out = resize_box(grayscale(px, channels))
    with open(dst, "wb") as f:
        f.write(pnm_header(OUT_SIDE, OUT_SIDE, 1))
        f.write(out.tobytes())
    return True


def process_chunk(chunk):
    """A thread-pool task: a chunk of images, as images.c's spans."""
    return [process_image(p) for p in chunk]


def file_checksum(path):
    with open(path, "rb") as f:
        return fnv1a(f.read())


PR_SET_PDEATHSIG = 1         # <linux/prctl.h>
PR_SET_CHILD_SUBREAPER = 36


def prctl(option, arg):
    """Linux's prctl(2), through ctypes; False where it is missing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def default_dispositions():
    """Ctrl-C, SIGTERM and SIGHUP end this process at once, as they end a
    C program: no KeyboardInterrupt (unless they were ignored when we
    started, as under nohup: then they stay ignored)."""
    for sig in FATAL:
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


def become_watcher(folder):
    """The watcher of benchmarks/images.c, in Python (its comment there
    says why a signal handler alone cannot clean up after a process pool).

    Called with the fatal signals blocked.  Forks: the child returns and
    runs the benchmark, which a signal simply ends (default_dispositions),
    whatever Python code it is in; the parent only waits, first for the
    benchmark, then, as a child subreaper, for every orphan of it (the
    pool's workers, killed as it dies by PR_SET_PDEATHSIG), removes the
    folder once nothing can write into it, and ends as the benchmark did.

    Why not a KeyboardInterrupt and clean-up in one process, as before:
    raised inside multiprocessing's own code while that holds a lock, it
    left Pool.terminate() waiting for ever (seen once under load)."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        return
    watching = True

    def forward(signum, frame):
        # A signal for the watcher alone (kill PID, timeout(1)) is the
        # benchmark's.  Until it is reaped its pid cannot go to another
        # process, so the forward cannot hit a stranger.
        if watching:
            os.kill(child, signum)

    for sig in FATAL:
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FATAL)
    os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
    watching = False
    _, status = os.waitpid(child, 0)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    shutil.rmtree(folder, ignore_errors=True)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def worker_init(parent):
    """A pool worker dies with the benchmark: SIGKILL when its parent
    goes (if the parent went already, now)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def main():
    b = common.Bench(
        "images", "grayscale + 256x256 box resize of M images",
        ("procs", "seq", "threads"),
        [("images", "int", 32, "number of input images",
          (1, 10000, "M")),
         ("max-side", "int", 1024, "inputs are PX/2 to PX pixels a side",
          (16, 8192, "PX")),
         ("seed", "int", 1, "seed of the images", (0, 1000000000, "S")),
         ("keep", "flag", False,
          "keep the folder of images and print its name", None)],
        default_workers=4)
    count = b.images
    chunk = 1 if b.mode == "seq" or b.chunk == 0 else b.chunk
    tasks = -(-count // chunk)

    t0 = common.now()
    folder = pool = None
    try:
        # The folder is made while the fatal signals still wait (blocked
        # since start-up), and the watcher before anything is written in
        # it; a signal that came meanwhile ends the benchmark once they are
        # let in, and the watcher removes the folder.
        folder = tempfile.mkdtemp(prefix="poolbench-images-")
        if not b.keep:
            become_watcher(folder)
        default_dispositions()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FATAL)
        paths = []
        ref = []
        total = FNV_INIT
        for i in range(count):
            px, channels = generate(i, b.seed, b.max_side)
            src = os.path.join(folder, f"in{i:04d}." +
                               ("pgm" if channels == 1 else "ppm"))
            write_pnm(src, px, channels)
            paths.append((src, os.path.join(folder, f"out{i:04d}.pgm")))
            ref.append(checksum(resize_box(grayscale(px, channels))))
            total = fnv1a(ref[-1].to_bytes(8, "little"), total)
        if b.mode == "threads":
            pool = ThreadPoolExecutor(max_workers=b.workers)
            list(pool.map(int, range(b.workers)))
        elif b.mode == "procs":
            pool = Pool(b.workers, initializer=worker_init,
                        initargs=(os.getpid(),))
        setup_s = common.now() - t0
        b.text(f"images: {count} inputs in {folder}, reference checksum "
               f"{total:016x}")

        for rep in range(b.repeat):
            for _, dst in paths:
                if os.path.exists(dst):
                    os.unlink(dst)
            t0 = b.kernel_start()
            if b.mode == "seq":
                for p in paths:
                    process_image(p)
            elif b.mode == "threads":
                chunks = [paths[k:k + chunk]
                          for k in range(0, count, chunk)]
                list(pool.map(process_chunk, chunks))
            else:
                pool.map(process_image, paths, chunksize=chunk)
            kernel_s = common.now() - t0
            r = b.record(rep, variant="box", n=count, chunk=chunk,
                         tasks=tasks, setup_s=setup_s if rep == 0 else 0.0,
                         kernel_s=kernel_s)
            good = sum(1 for (_, dst), want in zip(paths, ref)
                       if os.path.exists(dst) and
                       file_checksum(dst) == want)
            r.update(result=good, expected=count)
            status = b.emit(r)
            b.text(f"  {count / kernel_s:.1f} images/s")
            if status:
                break
    finally:
        if isinstance(pool, ThreadPoolExecutor):
            pool.shutdown()
        elif pool is not None:
            pool.close()
            pool.join()
        if folder is not None and b.keep:
            print(f"images: kept {folder}", file=sys.stderr)
        elif folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
