"""A checkpoint opened for interactive use: loaded once, refined per time value, results cached.

This is what the ParaView reader keeps between pipeline updates:

* results are cached by their settings (the time is one of them): scrubbing back to a time step, or
  switching a property back, shows the cached mesh at once;
* a run whose settings differ from a cached one only in budgets or time reuses its tests
  (``refine(resume=...)``): a larger Max DOFs continues the mesh, another time step shares the
  tests of elements whose field did not change;
* meshes also go to a cache on disk (:mod:`inr_amr_core.diskcache`), keyed by the checkpoint's
  content, so a new session shows steps computed before at once;
* :meth:`RefinementSession.prefetch` refines other time steps in a background thread while the
  user looks at one; a request of the user's takes precedence (the background run stops at its
  next chunk, and what it measured is reused), and a change of settings drops what was queued.

The file is re-read when it changes on disk (its modification time and size), and every cache is
then cleared.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .amr import RefinementResult, not_resumable_changes, refine
from .checkpoint import load_inr
from .diskcache import CachedMesh, MeshCache, checkpoint_digest
from .inr import INR, resolve_device
from .lru import trim_lru
from .settings import LoadSettings, RefinementSettings

__all__ = ["RefinementSession", "result_bytes", "share_of_roots"]

log = logging.getLogger(__name__)


def share_of_roots(n_roots: int, piece: int, n_pieces: int) -> np.ndarray:
    """Root cells one of ``n_pieces`` parallel workers refines (round robin, so work is balanced)."""
    if n_pieces < 1 or not 0 <= piece < n_pieces:
        raise ValueError(f"piece {piece} of {n_pieces} is not a valid piece request")
    return np.arange(piece, n_roots, n_pieces, dtype=np.int64)


def result_bytes(result: RefinementResult) -> int:
    """About how much memory a cached result holds (its leaves, its vertex values, its arrays)."""
    tree = result.tree
    leaf = 8 * (1 + tree.d) + 8 * (len(result.diagnostics) + 2)
    return tree.n_leaves * leaf + 16 * result.vertex_cache.keys.size


#: sessions whose background precompute must stop before the interpreter exits
_LIVE_SESSIONS: weakref.WeakSet[RefinementSession] = weakref.WeakSet()


@atexit.register
def _stop_every_prefetch() -> None:
    # A daemon thread still inside torch when the interpreter finalises is unwound by pthread_exit
    # through C++ frames, and the process aborts (seen as SIGABRT when ParaView's GUI exits). Stop the
    # background runs at their next chunk and wait for them first.
    for session in list(_LIVE_SESSIONS):
        session.stop_prefetch(wait=True)


class RefinementSession:
    """Holds one checkpoint and caches refinement results per (settings, share).

    Parameters
    ----------
    max_cached : int, default 32
        Results kept in memory (least recently used ones are dropped first).
    memory_mb : float, default 2048
        Memory the cached results may hold (the background precompute stops adding beyond it).
    disk_cache : MeshCache, None or 'default'
        Where meshes are kept between sessions (``'default'``: :meth:`MeshCache.default`).

    Examples
    --------
    >>> s = RefinementSession()
    >>> s.open("../shared/inrs/hos_lists.ckpt")                     # doctest: +SKIP
    >>> result, hit = s.result(RefinementSettings(max_dofs=5_000))  # doctest: +SKIP
    """

    def __init__(self, max_cached: int = 32, memory_mb: float = 2048.0, disk_cache: Any = "default") -> None:
        self.max_cached = int(max_cached)
        self.memory_bytes = int(memory_mb * 2**20)
        self.disk = MeshCache.default() if disk_cache == "default" else disk_cache
        self._path: Path | None = None
        self._load = LoadSettings()
        self._stamp: tuple | None = None
        self._digest: str | None = None
        self._inr: INR | None = None
        self._on_device: dict[str, INR] = {}  # copies of the INR on other devices, made once
        self._cache: OrderedDict = OrderedDict()
        self._cancelled: dict = {}
        self._lock = threading.RLock()  # guards the caches
        self._compute = threading.Lock()  # one refinement at a time (they share measured tests)
        self._urgent = threading.Event()  # set while a user request waits: the background run yields
        self._prefetch_stop = threading.Event()
        self._prefetch_thread: threading.Thread | None = None
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        _LIVE_SESSIONS.add(self)
        self.prefetched = 0

    # -------------------------------------------------------------- checkpoint
    def open(self, path: str | os.PathLike | None, load: LoadSettings | None = None) -> bool:
        """Select a checkpoint and how to read it (loading is deferred); True if this changed anything."""
        new = Path(path) if path else None
        load = load or LoadSettings()
        if new == self._path and load == self._load:
            return False
        self.stop_prefetch()
        with self._lock:
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
        try:
            stamp = self._file_stamp()
        except OSError:  # absent, unreadable, a name too long, ...: load_inr says what is wrong
            stamp = None
        with self._lock:
            if self._inr is None or stamp != self._stamp:
                self.clear()
                self._on_device.clear()
                self._inr = load_inr(self._path, **self._load.keywords())
                self._stamp = stamp
                self._digest = None
            return self._inr

    @property
    def stamp(self) -> tuple | None:
        """The version of the checkpoint the cached results belong to: ``(path, mtime, size)`` (loads it)."""
        _ = self.inr
        return self._stamp

    @property
    def digest(self) -> str:
        """SHA-256 of the checkpoint's content (computed once per version of the file)."""
        _ = self.inr
        if self._digest is None:
            assert self._path is not None
            self._digest = checkpoint_digest(self._path)
        return self._digest

    def inr_on(self, device: str) -> INR:
        """The loaded INR on a device (``'auto'``, ``'cpu'``, ``'cuda'``), copied there once."""
        inr = self.inr
        dev = str(resolve_device(device))
        if dev not in self._on_device:
            self._on_device[dev] = inr.on(dev)
        return self._on_device[dev]

    # -------------------------------------------------------------- results
    def clear(self) -> None:
        """Forget every cached result in memory (the disk cache keeps its entries)."""
        with self._lock:
            self._cache.clear()
            self._cancelled.clear()

    def _resumable(self, settings: RefinementSettings, roots: Sequence[int] | None) -> RefinementResult | None:
        """A cached budget run that differs from ``settings`` only in its budgets or time (the latest one)."""
        if settings.strategy != "budget":
            return None
        share = None if roots is None else tuple(int(r) for r in roots)
        with self._lock:
            candidates = [r for (stamp, _, rr), r in self._cache.items() if stamp == self._stamp and rr == share]
            cancelled = self._cancelled.get((self._stamp, share))
        if cancelled is not None:
            candidates.append(cancelled)
        for previous in reversed(candidates):
            if previous.budget_state is not None and not not_resumable_changes(previous.settings, settings):
                return previous
        return None

    def _key(self, settings: RefinementSettings, roots: Sequence[int] | None) -> tuple:
        # settings are frozen and hashable: the time is one of them
        return (self._stamp, settings, None if roots is None else tuple(int(r) for r in roots))

    def cached(self, settings: RefinementSettings, roots: Sequence[int] | None = None) -> RefinementResult | None:
        """The result in memory for these settings, if any (no computation)."""
        _ = self.inr
        with self._lock:
            return self._cache.get(self._key(settings, roots))

    def mesh(
        self,
        settings: RefinementSettings,
        roots: Sequence[int] | None = None,
        progress: Callable[[float, str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> tuple[RefinementResult | CachedMesh, str]:
        """The mesh for these settings: ``(result or cached mesh, source)``, source one of ``'memory'``,
        ``'disk'``, ``'computed'``; what is computed also goes to the disk cache."""
        found = self.cached(settings, roots)
        if found is not None:
            self.hits += 1
            return found, "memory"
        disk_key = MeshCache.key(self.digest, settings, roots, self._load) if self.disk is not None else ""
        if self.disk is not None:
            entry = self.disk.get(disk_key)
            if entry is not None:
                self.disk_hits += 1
                return entry, "disk"
        result, hit = self.result(settings, roots, progress, cancel)
        if not hit and self.disk is not None and result.stop_reason != "cancelled":
            self.disk.put(
                disk_key,
                result.tree,
                result.cell_arrays(),
                result.summary(),
            )
        return result, "memory" if hit else "computed"

    def result(
        self,
        settings: RefinementSettings,
        roots: Sequence[int] | None = None,
        progress: Callable[[float, str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> tuple[RefinementResult, bool]:
        """The refinement for these settings (cached); returns ``(result, cache_hit)``.

        A background precompute yields to this call: it stops at its next chunk (what it measured is
        kept for reuse), this refinement runs, and the precompute goes on afterwards.
        """
        inr = self.inr_on(settings.device)
        key = self._key(settings, roots)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.hits += 1
                return self._cache[key], True
        self._urgent.set()
        try:
            with self._compute:
                self._urgent.clear()
                with self._lock:  # the background run may have finished exactly this one meanwhile
                    if key in self._cache:
                        self._cache.move_to_end(key)
                        self.hits += 1
                        return self._cache[key], True
                self.misses += 1
                return self._run(inr, settings, roots, progress, cancel), False
        finally:
            self._urgent.clear()

    def _run(
        self,
        inr: INR,
        settings: RefinementSettings,
        roots: Sequence[int] | None,
        progress: Callable[[float, str], None] | None,
        cancel: Callable[[], bool] | None,
    ) -> RefinementResult:
        previous = self._resumable(settings, roots)
        res = refine(inr, settings, roots=roots, progress=progress, cancel=cancel, resume=previous)
        share = None if roots is None else tuple(int(r) for r in roots)
        with self._lock:
            if res.stop_reason == "cancelled":
                # not what these settings give: kept only as the start of the next run (its tests stay valid)
                self._cancelled[(self._stamp, share)] = res
                return res
            self._cache[self._key(settings, roots)] = res
            self._evict()
        return res

    def limit_memory(self, memory_mb: float) -> None:
        """Keep the cached results within ``memory_mb`` from now on (the least recently used go first)."""
        with self._lock:
            self.memory_bytes = int(memory_mb * 2**20)
            self._evict()

    def _evict(self) -> None:
        trim_lru(self._cache, result_bytes, self.max_cached, self.memory_bytes)

    def memory_used(self) -> int:
        with self._lock:
            return sum(result_bytes(r) for r in self._cache.values())

    # -------------------------------------------------------------- background precompute
    def prefetch(self, settings_list: Sequence[RefinementSettings], roots: Sequence[int] | None = None) -> None:
        """Refine these settings (e.g. the neighbouring time steps) in a background thread, in order.

        Replaces what was queued before. Stops adding results once the cached results hold
        ``memory_mb``; each background run yields to a user request (see :meth:`result`).
        """
        self.stop_prefetch()
        todo = [s for s in settings_list if self.cached(s, roots) is None]
        if not todo:
            return
        stop = threading.Event()
        self._prefetch_stop = stop

        def work() -> None:
            for s in todo:
                # a run cancelled because a user request came first is tried again after it (resuming
                # from what it measured), until it completes or the queue is dropped
                while not stop.is_set() and self.cached(s, roots) is None:
                    if self.memory_used() > self.memory_bytes:
                        return
                    with self._compute:
                        if stop.is_set() or self.cached(s, roots) is not None:
                            break
                        try:
                            res = self._run(
                                self.inr_on(s.device), s, roots, None, lambda: stop.is_set() or self._urgent.is_set()
                            )
                        except Exception as exc:  # noqa: BLE001  (report, and leave the thread quietly)
                            log.warning("background refinement failed: %s", exc)
                            return
                    if res.stop_reason != "cancelled":
                        self.prefetched += 1

        self._prefetch_thread = threading.Thread(target=work, name="inr-amr-prefetch", daemon=True)
        self._prefetch_thread.start()

    def stop_prefetch(self, wait: bool = True) -> None:
        """Drop what was queued for the background; the running step stops at its next chunk."""
        self._prefetch_stop.set()
        thread = self._prefetch_thread
        if wait and thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join()
        self._prefetch_thread = None

    def wait_prefetch(self, timeout: float | None = None) -> None:
        """Wait until the background precompute has finished (for scripts and tests)."""
        thread = self._prefetch_thread
        if thread is not None:
            thread.join(timeout)
