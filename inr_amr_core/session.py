"""A checkpoint opened for interactive use: loaded once, refined per time value, results cached.

This is what the ParaView reader keeps between pipeline updates: scrubbing back to a time step
already refined with the same parameters returns the cached result instantly; changing any
parameter or the file clears the cache.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .amr import RESUMABLE, RefinementResult, refine, time_input_name
from .checkpoint import load_inr
from .inr import INR, resolve_device
from .settings import LoadSettings, RefinementSettings

__all__ = ["RefinementSession", "share_of_roots"]

log = logging.getLogger(__name__)


def _same_but_budgets(a: RefinementSettings, b: RefinementSettings) -> bool:
    da, db = a.to_dict(), b.to_dict()
    return all(da[k] == db[k] for k in da if k not in RESUMABLE)


def share_of_roots(n_roots: int, piece: int, n_pieces: int) -> np.ndarray:
    """Root cells one of ``n_pieces`` parallel workers refines (round robin, so work is balanced)."""
    if n_pieces < 1 or not 0 <= piece < n_pieces:
        raise ValueError(f"piece {piece} of {n_pieces} is not a valid piece request")
    return np.arange(piece, n_roots, n_pieces, dtype=np.int64)


class RefinementSession:
    """Holds one checkpoint and caches refinement results per (time, settings, share).

    Parameters
    ----------
    max_cached : int, default 32
        Results kept (least recently used ones are dropped first).

    Examples
    --------
    >>> s = RefinementSession()
    >>> s.open("../shared/inrs/hos_lists.ckpt")                      # doctest: +SKIP
    >>> result, hit = s.result(RefinementSettings(max_iterations=3))  # doctest: +SKIP
    """

    def __init__(self, max_cached: int = 32) -> None:
        self.max_cached = int(max_cached)
        self._path: Path | None = None
        self._load = LoadSettings()
        self._stamp: tuple | None = None
        self._inr: INR | None = None
        self._on_device: dict[str, INR] = {}  # copies of the INR on other devices, made once
        self._cache: OrderedDict = OrderedDict()
        self._cancelled: dict = {}
        self.hits = 0
        self.misses = 0

    # -------------------------------------------------------------- checkpoint
    def open(self, path: str | os.PathLike | None, load: LoadSettings | None = None) -> bool:
        """Select a checkpoint and how to read it (loading is deferred); True if this changed anything."""
        new = Path(path) if path else None
        load = load or LoadSettings()
        if new == self._path and load == self._load:
            return False
        self._path, self._load = new, load
        self._inr = None
        self._stamp = None
        self.clear()
        return True

    @property
    def path(self) -> Path | None:
        return self._path

    def _file_stamp(self) -> tuple:
        assert self._path is not None
        st = self._path.stat()
        return (str(self._path.resolve()), st.st_mtime_ns, st.st_size)

    @property
    def inr(self) -> INR:
        """The loaded INR (reloaded if the file changed on disk). Raises CheckpointError."""
        if self._path is None:
            raise ValueError("no checkpoint file selected")
        stamp = self._file_stamp() if self._path.exists() else None
        if self._inr is None or stamp != self._stamp:
            self.clear()
            self._on_device.clear()
            self._inr = load_inr(self._path, **self._load.keywords())
            self._stamp = stamp
        return self._inr

    def inr_on(self, device: str) -> INR:
        """The loaded INR on a device (``'auto'``, ``'cpu'``, ``'cuda'``), copied there once."""
        inr = self.inr
        dev = str(resolve_device(device))
        if dev not in self._on_device:
            self._on_device[dev] = inr.on(dev)
        return self._on_device[dev]

    def time_values(self, count: int, time_input: str = "") -> list[float]:
        """``count`` evenly spaced values over the time input's range ([] if the INR has no time)."""
        inr = self.inr
        name = time_input_name(inr, time_input)
        if name is None or count < 1:
            return []
        lo, hi = inr.domain[inr.input_names.index(name)]
        if count == 1:
            return [float(hi)]
        return [float(v) for v in np.linspace(lo, hi, int(count))]

    # -------------------------------------------------------------- results
    def clear(self) -> None:
        """Forget every cached result."""
        self._cache.clear()
        self._cancelled.clear()

    def _resumable(self, settings: RefinementSettings, roots: Sequence[int] | None) -> RefinementResult | None:
        """A cached budget run that differs from ``settings`` only in its budgets (the latest one)."""
        if settings.strategy != "budget":
            return None
        share = None if roots is None else tuple(int(r) for r in roots)
        candidates = [r for (stamp, _, rr), r in self._cache.items() if stamp == self._stamp and rr == share]
        cancelled = self._cancelled.get((self._stamp, share))
        if cancelled is not None:
            candidates.append(cancelled)
        for previous in reversed(candidates):
            if previous.budget_state is not None and _same_but_budgets(previous.settings, settings):
                return previous
        return None

    def _key(self, settings: RefinementSettings, roots: Sequence[int] | None) -> tuple:
        # settings are frozen and hashable: the time is one of them
        return (self._stamp, settings, None if roots is None else tuple(int(r) for r in roots))

    def result(
        self,
        settings: RefinementSettings,
        roots: Sequence[int] | None = None,
        progress: Callable[[float, str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> tuple[RefinementResult, bool]:
        """The refinement for these settings (cached); returns ``(result, cache_hit)``."""
        inr = self.inr_on(settings.device)
        key = self._key(settings, roots)
        if key in self._cache:
            self._cache.move_to_end(key)
            self.hits += 1
            return self._cache[key], True
        self.misses += 1
        previous = self._resumable(settings, roots)
        res = refine(inr, settings, roots=roots, progress=progress, cancel=cancel, resume=previous)
        if res.stop_reason == "cancelled":
            # not what these settings give: kept only as the start of the next run (its tests stay valid)
            self._cancelled[(self._stamp, None if roots is None else tuple(int(r) for r in roots))] = res
            return res, False
        self._cache[key] = res
        while len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        return res, False
