"""The pivoting kernel in C (``pivot_kernel.c``), compiled on first use and loaded with ctypes.

Why: the batched torch pivoting streams every box's matrix through memory once per step and pays a
dozen operator calls per step, so on the CPU it cost several times the forward passes it decomposes
(``docs/results.md``, "Pivoting in C"). The kernel takes one box at a time, whose matrix stays in cache
through all its steps; the batch is split between threads (ctypes releases the GIL during the call).

Build: the C compiler ``$CC`` (default ``cc``) with ``-O3 -ffp-contract=off`` (no fused multiply-adds,
no reassociation: each box's result is the same bits on any x86-64 build; AVX2 where the CPU has it) and
``-fopenmp`` (a batch's boxes are split between the OpenMP threads torch already runs on; a compiler
without OpenMP gets a build without it, whose batches are split between Python threads, and tries the
OpenMP build again once per process), about 0.3 s, once per machine and source version
(``scripts/setup.sh`` does it), into
``$INR_AMR_NATIVE_DIR``, else ``$XDG_CACHE_HOME/inr-amr/native`` or ``~/.cache/inr-amr/native`` (the
temporary folder where that cannot be written; the mesh cache's ``INR_AMR_CACHE`` does not move it),
named by the source's and the flags' hash and written atomically, so concurrent processes (MPI ranks)
share it (builds of other versions are left alone: another installed copy may use them). Where no
compiler works, where the build does not load, with ``INR_AMR_NATIVE=off``, and on a GPU, pruning uses
the torch version: the same algorithm, whose sums are rounded in another order (a mesh can differ where
an element's decision sits exactly on a threshold).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["available", "build", "interpolation_matrices", "library", "pivoted_cholesky_boxes"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("pivot_kernel.c")
BASE_FLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared")
#: box-level work per thread below which the batch is not split (thread hand-off costs more)
_MIN_SPLIT_WORK = 2_000_000

_lock = threading.Lock()
_library: ctypes.CDLL | None = None
_tried = False
_pool: ThreadPoolExecutor | None = None
_pool_pid = -1


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def compile_flags(openmp: bool = True) -> tuple[str, ...]:
    """The compiler flags: AVX2 where the CPU has it (a library built with it would crash elsewhere; it
    gives the same bits as the baseline build, as nothing is fused or reassociated), and OpenMP unless
    ``openmp`` is False (the build for compilers without it).

    Why OpenMP: torch computes on the process's OpenMP runtime, whose worker threads spin for a while
    after each of its operations. A batch split between Python threads shared the two cores with those
    spinning workers (the kernel ran at two thirds of its speed in a Pruning run); the kernel's own
    parallel loop runs on the same workers instead, where torch's runtime is GNU's (``libgomp.so.1``,
    as in torch's CPU wheels and in ParaView: a process loads one). libgomp keeps a pool per calling
    thread, so a background precompute thread has its own. With another runtime under torch (Intel's,
    LLVM's) the kernel still gives the same bits, on threads of its own.
    """
    return BASE_FLAGS + (("-fopenmp",) if openmp else ()) + (("-mavx2",) if "avx2" in _cpu_flags() else ())


def build_dirs() -> list[Path]:
    """Where the library is built, in order of preference."""
    explicit = os.environ.get("INR_AMR_NATIVE_DIR")
    if explicit:
        return [Path(explicit)]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return [Path(base) / "inr-amr" / "native", Path(tempfile.gettempdir()) / f"inr-amr-{user}" / "native"]


def _check_owned(folder: Path) -> None:
    """Refuse a folder (and so a library in it) that another user could have written: the temporary
    folder's path is predictable."""
    if not hasattr(os, "getuid"):
        return
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise OSError(f"{folder} is not owned by this user alone (or is writable by others)")


def _compile(target: Path, flags: tuple[str, ...]) -> None:
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [*shlex.split(os.environ.get("CC", "cc")), *flags, "-o", tmp, str(SOURCE), "-lm"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        os.replace(tmp, target)  # atomic: another process sees the whole library or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _disabled() -> bool:
    return os.environ.get("INR_AMR_NATIVE", "").lower() in ("off", "0", "no")


def library() -> ctypes.CDLL | None:
    """The loaded kernel, compiling it the first time (None: disabled, or no working compiler)."""
    if _disabled():
        return None
    global _library, _tried
    with _lock:
        if _tried:
            return _library
        _tried = True
        lib, problems, openmp_problems = None, [], []
        for openmp in (True, False):  # (a compiler without OpenMP gets the build without it)
            flags = compile_flags(openmp)
            digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
            for folder in build_dirs():
                target = folder / f"pivot-{digest}.so"
                try:
                    if not target.is_file():
                        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                        _compile(target, flags)
                    _check_owned(folder)
                except subprocess.CalledProcessError as exc:
                    problems.append(f"{exc.cmd[0]} failed: {exc.stderr.decode(errors='replace').strip()[-300:]}")
                    break  # (another folder would not help the compiler)
                except (OSError, subprocess.SubprocessError) as exc:
                    problems.append(str(exc))  # (this folder cannot be used: the next one may)
                    continue
                try:
                    lib = ctypes.CDLL(str(target))
                except OSError as exc:  # (a build that does not load would not load from another folder)
                    problems.append(str(exc))
                break
            if lib is not None:
                break
            openmp_problems = list(problems)
        if lib is None:
            log.warning("the C pivoting kernel is not available (%s); using the torch version", "; ".join(problems))
            return None
        if openmp_problems:  # (the build without OpenMP loaded)
            log.info("the C pivoting kernel is built without OpenMP (%s)", "; ".join(openmp_problems))
        elif problems:  # (a folder could not be used; the next one could)
            log.info("the C pivoting kernel's first build folder was not usable (%s)", "; ".join(problems))
        _library = bind(lib)
        return lib


def build(target: Path, flags: tuple[str, ...]) -> ctypes.CDLL:
    """Compile the kernel with ``flags`` into ``target`` and load it, bound (another build than the one
    :func:`library` uses: tests and benchmarks compare builds with it)."""
    _compile(Path(target), flags)
    return bind(ctypes.CDLL(str(target)))


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the kernel's entry points' argument types on a loaded build of it."""
    i64, ptr, c_int = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    fn = lib.inr_amr_pivoted_cholesky
    fn.argtypes = [ptr, i64, i64, i64, i64, c_int, ptr, i64, ctypes.c_double, ptr, ptr, ptr, ptr, ptr, ptr, c_int]
    fn.restype = None
    fn32 = lib.inr_amr_pivoted_cholesky_f32
    fn32.argtypes = [ptr, i64, i64, i64, i64, ptr, i64, ctypes.c_double, ptr, ptr, ptr, ptr, ptr, ptr, c_int]
    fn32.restype = None
    interp = lib.inr_amr_interpolation
    interp.argtypes = [ptr, ptr, ptr, i64, i64, i64, i64, ptr, c_int]
    interp.restype = None
    lib.inr_amr_openmp.argtypes = []
    lib.inr_amr_openmp.restype = c_int
    return lib


def _thread_pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():  # (a forked child inherits no live workers)
            _pool = ThreadPoolExecutor(max(2, os.cpu_count() or 2), thread_name_prefix="inr-amr-pivot")
            _pool_pid = os.getpid()
        return _pool


def available() -> bool:
    """Whether the C kernel is in use: compiled and loaded, and not switched off by ``INR_AMR_NATIVE=off``
    (read on every call, so a process can compare both implementations)."""
    return library() is not None


def pivoted_cholesky_boxes(
    data: np.ndarray,
    gram: bool,
    caps: np.ndarray,
    steps: int,
    eps: float,
    threads: int = 1,
    r_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pivoted Cholesky of every box: ``(r_rows (B, steps, w), pivots (B, steps), r_diag (B, steps),
    rank (B,), capped (B,))``, as :func:`inr_amr_core.pruning.pivoted_cholesky` defines them.

    ``data`` is ``(B, m, w)`` factors, float64 or float32 (computed in float64 all the same: the same
    bits as on their float64 copy), or ``(B, w, w)`` float64 Gram matrices where ``gram``. ``caps``:
    each box's most pivots (already at most ``min(m, w)``); ``steps``: their maximum. ``r_rows``: an
    optional C-contiguous float64 buffer of the first output's shape to write it into (every entry is
    written).
    """
    lib = library()
    if lib is None:
        raise RuntimeError("the C pivoting kernel is not available")
    single = data.dtype == np.float32 and not gram
    y = np.ascontiguousarray(data, dtype=np.float32 if single else np.float64)
    bsz, m, w = y.shape
    caps = np.ascontiguousarray(caps, dtype=np.int64)
    if (gram and m != w) or caps.shape != (bsz,) or (bsz and (caps.max() > steps or caps.min() < 0)):
        raise ValueError("pivoted_cholesky_boxes: Gram matrices must be square and caps (B,) within [0, steps]")
    if r_rows is None:
        r_rows = np.empty((bsz, steps, w))
    elif r_rows.shape != (bsz, steps, w) or r_rows.dtype != np.float64 or not r_rows.flags.c_contiguous:
        raise ValueError(f"r_rows must be a C-contiguous float64 array of shape {(bsz, steps, w)}")
    pivots = np.empty((bsz, steps), np.int64)
    r_diag = np.empty((bsz, steps))
    rank = np.empty(bsz, np.int64)
    capped = np.empty(bsz, np.uint8)
    fn = lib.inr_amr_pivoted_cholesky_f32 if single else lib.inr_amr_pivoted_cholesky
    shape = (m, w) if single else (m, w, int(gram))  # (the float32 entry point takes factors only)
    eps2 = float(eps) * float(eps)

    def run(first: int, last: int, team: int) -> None:
        resid = np.empty(max(team * (w + m), 1))  # (per thread: residuals, then a pivot's column)
        fn(
            y.ctypes.data,
            first,
            last,
            *shape,
            caps.ctypes.data,
            steps,
            eps2,
            r_rows.ctypes.data,
            pivots.ctypes.data,
            r_diag.ctypes.data,
            rank.ctypes.data,
            capped.ctypes.data,
            resid.ctypes.data,
            team,
        )

    _split(lib, run, bsz, bsz * steps * (m if not gram else 1) * w, threads)
    return r_rows, pivots, r_diag, rank, capped.astype(bool)


def interpolation_matrices(r_rows: np.ndarray, pivots: np.ndarray, rank: np.ndarray, threads: int = 1) -> np.ndarray:
    """The interpolation matrices ``T = R11^-1 R`` ``(B, k, w)`` of decompositions given by their R rows
    ``(B, k, w)`` (zero past each rank), pivots ``(B, k)`` and ranks ``(B,)``, as
    :func:`inr_amr_core.pruning._interpolation_matrices` defines them."""
    lib = library()
    if lib is None:
        raise RuntimeError("the C pivoting kernel is not available")
    r = np.ascontiguousarray(r_rows, dtype=np.float64)
    piv = np.ascontiguousarray(pivots, dtype=np.int64)
    rk = np.ascontiguousarray(rank, dtype=np.int64)
    bsz, k, w = r.shape
    if piv.shape != (bsz, k) or rk.shape != (bsz,) or (bsz and (rk.max() > k or piv.max(initial=0) >= max(w, 1))):
        raise ValueError("interpolation_matrices: pivots (B, k) within the width and ranks (B,) at most k")
    t = np.empty_like(r)
    fn = lib.inr_amr_interpolation

    def run(first: int, last: int, team: int) -> None:
        fn(r.ctypes.data, piv.ctypes.data, rk.ctypes.data, first, last, k, w, t.ctypes.data, team)

    _split(lib, run, bsz, bsz * k * k * w // 2, threads)
    return t


def _split(lib: ctypes.CDLL, run: Callable[[int, int, int], None], boxes: int, work: int, threads: int) -> None:
    """``run(first, last, team)`` over ``[0, boxes)``, split between threads where the work is worth it: by
    the kernel's OpenMP loop (one call, ``team`` threads) where the build has one, else between Python
    threads (one call each, ``team`` 1)."""
    threads = max(1, min(threads, boxes, work // _MIN_SPLIT_WORK))
    if threads == 1 or lib.inr_amr_openmp():
        run(0, boxes, threads)
    else:
        bounds = np.linspace(0, boxes, threads + 1).astype(int)
        list(_thread_pool().map(run, bounds[:-1], bounds[1:], [1] * threads))
