"""Speed choices measured once per machine and remembered across processes (like FFTW's wisdom).

The chunk size of INR evaluation (:func:`inr_amr_core.inr.fastest_chunk`) and, inside ParaView, torch's
thread count (:func:`inr_amr_core.inr.fastest_cpu_threads`) are measured the first time an
architecture is seen: about a second on the CT network, which a new ParaView session would otherwise
pay before its first picture. The choices are kept in ``tuning.json`` in the cache folder
(:func:`inr_amr_core.diskcache.cache_dir`; ``INR_AMR_CACHE=off`` keeps nothing), keyed by what they
depend on: the kind of choice, the layer shapes and device, torch's version, the CPU count, and
whether the process runs inside ParaView (whose OpenMP runtime changes the best thread count). They
change the speed only, never a value (every candidate gives bitwise the same values, tested), so a
stale entry costs speed at worst; an unreadable file is ignored and rewritten.

>>> remembered("chunk", ("cpu", 4))      # doctest: +SKIP
>>> remember("chunk", ("cpu", 4), 2048)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from .diskcache import cache_dir
from .fileio import write_json

__all__ = ["remember", "remembered", "tuning_file"]

#: the version of how choices are measured; entries of another are measured again (and dropped on the next
#: write). 2: chunk choices from repeated timings with a 65,536-point candidate (the thread counts, measured
#: as before, are measured again too)
_FORMAT = 2


def tuning_file() -> Path | None:
    """Where the choices are kept (None when the cache is off)."""
    folder = cache_dir()
    return None if folder is None else folder / "tuning.json"


def _entry_key(kind: str, key: Any) -> str:
    import torch

    context = {
        "format": _FORMAT,
        "kind": kind,
        "key": key,
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "paraview": "paraview" in sys.modules,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }
    return json.dumps(context, sort_keys=True, default=str)


def _format_of(entry_key: str) -> Any:
    """The measurement format an entry's key names (None if it names none)."""
    try:
        context = json.loads(entry_key)
    except ValueError:
        return None
    return context.get("format") if isinstance(context, dict) else None


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered(kind: str, key: Any) -> int | None:
    """The choice stored for ``(kind, key)`` in this context, or None."""
    path = tuning_file()
    if path is None:
        return None
    value = _read(path).get(_entry_key(kind, key))
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def remember(kind: str, key: Any, value: int) -> None:
    """Store a choice (atomically; a cache folder that cannot be written is left alone)."""
    path = tuning_file()
    if path is None:
        return
    data = {k: v for k, v in _read(path).items() if _format_of(k) == _FORMAT}
    data[_entry_key(kind, key)] = int(value)
    with contextlib.suppress(OSError):
        write_json(path, data)
