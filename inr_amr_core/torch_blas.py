"""torch's matrix products on torch's own BLAS, also inside processes that link another one (ParaView).

ParaView's executables link the system BLAS (Debian: OpenBLAS with its own pthreads), so it is in the
process's global symbol scope before torch is imported, and torch's calls to ``sgemm_`` / ``dgemm_``,
which its own library also defines (its MKL), bind to it. Every matrix product of an INR then runs on
OpenBLAS's thread pool, whose workers spin for a while after each call and starve torch's OpenMP
threads: measured in pvbatch on a 2-core machine, a float64 2048^2 product took the same time at torch's
1 and 2 threads (OpenBLAS's two threads either way), 2 torch threads were 3x slower than 1 on a forward
pass, and the reader's first CT mesh took 5.2 s against 3.6-4.0 s with torch's own BLAS.

Two remedies, for the two ways ParaView starts:

* ``inr-amr paraview | pvpython | pvbatch`` put :func:`torch_cpu_library` first in ``LD_PRELOAD``, so
  that every caller binds to torch's BLAS, as in plain Python;
* a ParaView started otherwise (a bare ``paraview`` with Load Plugin): :func:`bind_torch_to_its_own_blas`,
  called by the reader before torch is imported, loads torch's library with ``RTLD_DEEPBIND``, so that
  its own calls resolve inside it first (the rest of ParaView keeps the system BLAS).

Nothing here imports torch. Inside ParaView the values are then plain Python's (MKL's rounding instead
of OpenBLAS's: the main job's meshes kept every leaf, their values moved by less than 1e-7).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["bind_torch_to_its_own_blas", "blas_provider", "other_preloads", "torch_cpu_library"]


def torch_cpu_library() -> str | None:
    """The path of torch's CPU library (``libtorch_cpu.so``), found without importing torch; None off
    Linux or where torch is not installed."""
    if not sys.platform.startswith("linux"):
        return None
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "lib" / "libtorch_cpu.so"
    return str(path) if path.is_file() else None


def other_preloads(preload: str) -> list[str]:
    """The entries of an ``LD_PRELOAD`` value that are not a torch CPU library (what a launcher keeps
    behind its own, and an X server keeps at all)."""
    return [p for p in preload.split(":") if p and Path(p).name != "libtorch_cpu.so"]


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def blas_provider(symbol: str = "sgemm_") -> str | None:
    """The file whose ``symbol`` the process's global scope holds first (what a library loaded without
    ``RTLD_DEEPBIND`` binds to), or None if none defines it."""
    process = ctypes.CDLL(None)
    try:
        address = ctypes.cast(getattr(process, symbol), ctypes.c_void_p)
    except AttributeError:
        return None
    info = _DlInfo()
    if not process.dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


def bind_torch_to_its_own_blas() -> bool:
    """Before torch is imported, load its library so that its products use its own BLAS; return whether
    that was done.

    Nothing is done where torch is already imported (too late), is not found, or where the global scope
    has no other BLAS first (plain Python, a launched ParaView): then torch binds to its own anyway.
    """
    lib = torch_cpu_library()
    if lib is None or "torch" in sys.modules or not hasattr(os, "RTLD_DEEPBIND"):
        return False
    provider = blas_provider()
    if provider is None or os.path.realpath(provider) == os.path.realpath(lib):
        return False
    try:
        ctypes.CDLL(lib, mode=os.RTLD_NOW | os.RTLD_GLOBAL | os.RTLD_DEEPBIND)
    except OSError:  # (a library that cannot load here: torch's own import will say why, or work as before)
        return False
    return True
