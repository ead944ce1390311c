"""Work shared across the time steps of a 4D INR: each element is scored at the centre of a time slab.

The budget strategy's mesh at time ``t`` is defined element by element. The time range is cut into
dyadic slabs: level 0 is the whole range, level ``j`` has ``2^j`` slabs. For an element ``E``, the
chain of slabs containing ``t`` is examined from the coarsest: ``E`` is *stationary* over a slab
when the INR at ``PROBES`` seeded points of ``E`` changes by at most ``time_tolerance`` times the
field's RMS between the slab's ends and its centre. ``E`` is scored (tested) at ``t*(E, t)``, the
centre of the first slab of the chain over which it is stationary, or of the finest one (level
``time_levels``) if none is. Everything else (vertex values, leaf values, the RMSE) is the INR at
``t`` itself.

So an element whose field does not change over the whole time range (air, the still parts of a
specimen) has one score for every ``t``, measured once; one that changes is scored anew only when
``t`` enters another fine slab. The mesh at ``t`` depends on ``t`` and the settings alone, never on
which steps were computed before or in what order; and a run at another time reuses every test whose
``t*`` it shares (:class:`ScoreCache`). The finest level is by default the one whose slabs span at
least two spacings of the time steps being shown (:func:`auto_time_levels`): finer slabs would hold
one step each, and an element that changes would then be scored anew at every step, which is what
the slabs are there to avoid. ``time_levels = 0`` scores every element at ``t`` itself, and
so does a run whose test needs no more INR evaluations than an element's probes
(:func:`inr_amr_core.run.shares_across_time`: Uniform, Basic with its 32 samples), for which repeating
the test at every step is cheaper than finding its slab.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .domain import SpaceSlice
from .inr import INR
from .sampling import SampleStream
from .tree import LinearTree
from .vertices import VertexCache

__all__ = ["MAX_TIME_LEVELS", "PROBES", "STEPS_PER_SLAB", "ScoreCache", "TimeAxis", "auto_time_levels", "time_stars"]

#: points per element at which stationarity is checked
PROBES = 8
#: the finest slabs of ``auto_time_levels`` span at least this many spacings of the time steps
STEPS_PER_SLAB = 2
#: the finest slab level the settings allow
MAX_TIME_LEVELS = 12


def auto_time_levels(steps: Sequence[float], lo: float, hi: float) -> int:
    """The finest slab level for time steps ``steps`` over ``[lo, hi]``: the finest whose slabs span at
    least ``STEPS_PER_SLAB`` times the steps' (median) spacing, so that neighbouring steps share them.

    With one slab level finer, most slabs would hold a single step, and an element whose field changes
    would be tested anew at every step. Measured with the reader's 11 default steps (docs/results.md,
    "The finest time slab sized to the time steps"): level 2 against 4, the second step of Play costs
    0.24-0.26x the first instead of 0.41-0.67x, and the meshes' RMSE stays within 1.5% on the CT INR
    and the log pile and within 5% on an INR that translates everywhere. Fewer than two distinct steps
    give 0 (no sharing).

    Examples
    --------
    >>> auto_time_levels([-1 + 0.2 * i for i in range(11)], -1.0, 1.0)  # slabs of 0.5 hold 2.5 steps
    2
    >>> auto_time_levels([i / 699 for i in range(700)], 0.0, 1.0)
    8
    """
    diffs = np.diff(np.unique(np.asarray(steps, dtype=np.float64)))
    if diffs.size == 0 or not hi > lo:
        return 0
    slabs = (hi - lo) / (STEPS_PER_SLAB * float(np.median(diffs)))
    if slabs < 2:
        return 0
    return min(MAX_TIME_LEVELS, math.floor(math.log2(slabs) + 1e-9))


@dataclass(frozen=True)
class TimeAxis:
    """The time input of a run: where it sits among the inputs, its range, and the slab settings."""

    index: int
    lo: float
    hi: float
    levels: int
    tolerance: float
    scale: float  # the field's RMS over space and time: stationarity is measured against it

    def slab(self, t: float, level: int) -> tuple[float, float, float]:
        """``(start, end, centre)`` of the level-``level`` slab containing ``t`` (the last one is closed)."""
        n = 2**level
        width = (self.hi - self.lo) / n
        k = min(n - 1, max(0, math.floor((t - self.lo) / width)))
        a = self.lo + k * width
        return a, a + width, a + 0.5 * width


@dataclass
class ScoreCache:
    """What runs of the same settings share across time steps and budgets (a session keeps one).

    Attributes
    ----------
    measured : dict
        ``fixed inputs -> ElementTable`` of the scores tests measured with those inputs held fixed (the
        time ``t*`` among them).
    probes : dict
        ``time -> (element keys, values)`` of the stationarity probes evaluated so far.
    vertices : dict
        ``t* -> VertexCache``: corner values tests at ``t*`` needed (Basic).
    field_scales : dict
        ``(space-time slice, seed, component) -> the field's RMS`` there (the stationarity scale, which
        every time step shares).
    """

    measured: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    vertices: dict = field(default_factory=dict)
    field_scales: dict = field(default_factory=dict)

    def probe_values(
        self,
        inr: INR,
        space: SpaceSlice,
        axis: TimeAxis,
        elements: LinearTree,
        idx: np.ndarray,
        keys: np.ndarray,
        t: float,
        stream: SampleStream,
        component: int,
    ) -> np.ndarray:
        """``(n, PROBES)`` INR values at each element's probe points at time ``t`` (evaluated once)."""
        known_keys, known_vals = self.probes.get(t, (np.empty(0, np.int64), np.empty((0, PROBES))))
        pos = np.searchsorted(known_keys, keys)
        pos_c = np.minimum(pos, max(known_keys.size - 1, 0))
        hit = (known_keys[pos_c] == keys) if known_keys.size else np.zeros(keys.size, bool)
        out = np.empty((keys.size, PROBES))
        out[hit] = known_vals[pos_c[hit]]
        miss = np.flatnonzero(~hit)
        if miss.size:
            lower, upper = elements.leaf_bounds(idx[miss])
            pts = stream.points_in_boxes(elements.element_ids(idx[miss]), lower, upper, PROBES, "time")
            inputs = space.with_fixed(**{space.input_names[axis.index]: t}).to_inputs(pts.reshape(-1, elements.d))
            vals = inr.evaluate(inputs, component=component).reshape(miss.size, PROBES)
            out[miss] = vals
            merged_keys = np.concatenate([known_keys, keys[miss]])
            merged_vals = np.concatenate([known_vals, vals])
            order = np.argsort(merged_keys, kind="stable")
            self.probes[t] = (merged_keys[order], merged_vals[order])
        return out

    def vertex_cache(self, inr: INR, space: SpaceSlice, key_level: int, component: int) -> VertexCache:
        """The vertex values at the time ``space`` is fixed at (one cache per time)."""
        key = (space.fixed, key_level, component)
        if key not in self.vertices:
            self.vertices[key] = VertexCache(inr, space, key_level, component)
        return self.vertices[key]


def time_stars(
    cache: ScoreCache,
    inr: INR,
    space: SpaceSlice,
    axis: TimeAxis,
    t: float,
    elements: LinearTree,
    idx: np.ndarray,
    keys: np.ndarray,
    stream: SampleStream,
    component: int,
) -> np.ndarray:
    """``t*(E, t)`` of each element: the centre of the coarsest slab containing ``t`` it is stationary over."""
    out = np.empty(idx.size)
    remaining = np.arange(idx.size)
    limit = axis.tolerance * axis.scale
    for level in range(axis.levels + 1):
        a, b, c = axis.slab(t, level)
        if level == axis.levels or remaining.size == 0:
            out[remaining] = c
            break
        r_idx, r_keys = idx[remaining], keys[remaining]
        fa = cache.probe_values(inr, space, axis, elements, r_idx, r_keys, a, stream, component)
        fb = cache.probe_values(inr, space, axis, elements, r_idx, r_keys, b, stream, component)
        fc = cache.probe_values(inr, space, axis, elements, r_idx, r_keys, c, stream, component)
        change = np.maximum(np.abs(fa - fc).max(axis=1), np.abs(fb - fc).max(axis=1))
        still = change <= limit
        out[remaining[still]] = c
        remaining = remaining[~still]
    return out
