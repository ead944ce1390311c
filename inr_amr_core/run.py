"""What every refinement run sets up: the slice, the initial mesh, the criterion, caches and progress.

Both strategies (:mod:`.thresholds`, :mod:`.budget`) start from a :class:`Run`; per-run caches (the
INR's vertex values, the ReLU neurons seen alive) live here, never on the INR object.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time as time_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .criteria import Criterion, RelativeError, TestContext, make_criterion
from .domain import SpaceSlice, detect_time_input
from .finite import check_finite
from .inr import INR, resolve_device
from .metrics import ReferenceSample, total_rmse
from .pruning import LiveNeuronGuess
from .sampling import SampleStream
from .settings import RefinementSettings, SeriesSettings, SettingsError
from .timeslabs import PROBES, TimeAxis, auto_time_levels
from .tree import LinearTree
from .vertices import VertexCache

__all__ = [
    "PAPER_RMSE_SAMPLES",
    "BudgetError",
    "Progress",
    "RefinementCancelled",
    "Run",
    "iteration_row",
    "prepare_run",
    "resolve_slice",
    "time_input_name",
]

#: total-error sample counts of the paper: (2^9)^2 points in 2D, 2^20 in 3D
PAPER_RMSE_SAMPLES = {1: 4096, 2: 262_144, 3: 1_048_576}


class RefinementCancelled(RuntimeError):
    """Raised when the caller's cancel check returns True (the thresholds strategy returns nothing)."""


class BudgetError(ValueError):
    """The requested budget cannot be met (for instance the initial mesh already exceeds max_dofs)."""


class Progress:
    """Turns progress inside a run into an overall fraction, and checks cancellation.

    ``fraction`` is set by the strategy (iterations done, or the share of the budget spent); chunk
    progress inside a step moves it towards ``next_fraction``.
    """

    def __init__(
        self,
        callback: Callable[[float, str], None] | None,
        cancel: Callable[[], bool] | threading.Event | None,
    ) -> None:
        self.callback = callback
        self.cancel = cancel
        self.fraction = 0.0
        self.next_fraction = 0.0
        self.step = ""
        self.shown = 0.0

    def cancelled(self) -> bool:
        c = self.cancel
        if c is None:
            return False
        return c.is_set() if isinstance(c, threading.Event) else bool(c())

    def check(self) -> None:
        if self.cancelled():
            raise RefinementCancelled("refinement cancelled")

    def report(self, fraction: float, message: str) -> None:
        self.check()
        # never backwards: a progress bar that jumps back is worse than one that waits
        self.shown = max(self.shown, min(1.0, max(0.0, fraction)))
        if self.callback is not None:
            self.callback(self.shown, message)

    def chunk(self, done: int, total: int) -> None:
        within = done / max(total, 1)
        self.report(self.fraction + within * (self.next_fraction - self.fraction), f"{self.step} {done}/{total}")


def time_input_name(inr: INR, choice: str = "") -> str | None:
    """The input that is time: ``choice`` if given (``'none'``: no time input), else ``t`` / ``time``."""
    choice = choice.strip()
    if choice.lower() == "none":
        return None
    if choice:
        if choice not in inr.input_names:
            raise SettingsError(
                f"time_input {choice!r} is not an input of this INR (inputs: {', '.join(inr.input_names)})"
            )
        return choice
    return detect_time_input(inr)


def resolve_slice(inr: INR, settings: RefinementSettings) -> SpaceSlice:
    """The :class:`SpaceSlice` a run with these settings refines.

    Time has one route: ``settings.time`` (the CLI's ``--time``, the reader's time slider); with no
    time given, the time input sits at the middle of its range. Naming the time input among the
    fixed inputs is refused, so that no two settings can disagree about it.
    """
    fixed = settings.fixed
    tname = time_input_name(inr, settings.time_input)
    if tname is not None and tname in fixed:
        raise SettingsError(
            f"{tname!r} is the time input: give its value as time={fixed[tname]:g} (--time, or "
            "the time slider in ParaView), not as a fixed input"
        )
    if settings.time is not None:
        if tname is None:
            raise SettingsError(
                f"time {settings.time:g} given but the INR has no time input (inputs: "
                f"{', '.join(inr.input_names)}; set time_input to name one)"
            )
        fixed[tname] = float(settings.time)
    return SpaceSlice.from_inr(inr, settings.space_inputs, fixed, settings.bounds)


def _field_scale(inr: INR, space: SpaceSlice, seed: int, component: int) -> float:
    """RMS of the field over the refined box (4,096 seeded points): the scale of the error floor."""
    stream = SampleStream(seed)
    b = np.asarray(space.bounds)
    pts = stream.points_in_domain(b[:, 0], b[:, 1], 4096, "probe")
    inputs = space.to_inputs(pts)
    vals = inr.evaluate(inputs, component=component)
    check_finite(vals, "the field-scale probe over the refined box", inputs, inr.input_names)
    rms = float(np.sqrt(np.mean(vals**2)))
    return rms if rms > 0 else 1.0


@dataclass
class Run:
    """A prepared refinement run (see :func:`prepare_run`)."""

    settings: RefinementSettings
    model: INR
    space: SpaceSlice
    initial: LinearTree
    criterion: Criterion
    context: TestContext
    cache: VertexCache
    progress: Progress
    reference: ReferenceSample | None
    max_dofs: int | None
    max_leaves: int | None
    key_level: int
    started: float
    #: budget strategy on a 4D INR: the time axis its element scores are shared along (None: no sharing)
    time_axis: TimeAxis | None = None

    @property
    def elapsed(self) -> float:
        return time_module.perf_counter() - self.started


def shares_across_time(criterion: Criterion, time_levels: int) -> bool:
    """Whether sharing tests across time steps can pay for its stationarity probes.

    Finding an element's time slab evaluates ``PROBES`` points at up to ``time_levels + 2`` times;
    a test that costs no more evaluations than that (Uniform's none, Basic's 32) is cheaper to
    repeat at every time step. Measured on the CT INR (200,000 DOFs): the probes took 14.9 s of a
    29 s Basic run (its tests 13.3 s), and 49 of the 54 s of a 274,625-DOF Uniform run.
    """
    return time_levels > 0 and criterion.cost_per_test() > PROBES * (time_levels + 2)


def resolved_time_levels(settings: RefinementSettings, lo: float, hi: float) -> int:
    """``settings.time_levels``, or where it is auto, the level for the default time steps over ``[lo, hi]``
    (front ends that show other steps resolve it for theirs first, with :func:`auto_time_levels`)."""
    if settings.time_levels is not None:
        return settings.time_levels
    return auto_time_levels(SeriesSettings().values(lo, hi), lo, hi)


def settings_for_time_steps(inr: INR, settings: RefinementSettings, steps: Sequence[float]) -> RefinementSettings:
    """``settings`` with an auto ``time_levels`` resolved for the time steps a front end shows (the reader's
    time steps, ``--times``): the same settings, so the same mesh, for every step of the series."""
    name = time_input_name(inr, settings.time_input)
    if settings.time_levels is not None or name is None:
        return settings
    lo, hi = inr.domain[inr.input_names.index(name)]
    return settings.replace(time_levels=auto_time_levels(steps, lo, hi))


def _time_axis(inr: INR, settings: RefinementSettings, space: SpaceSlice, criterion: Criterion) -> TimeAxis | None:
    """The time axis a budget run shares work along: the INR's time input, fixed by this slice."""
    name = time_input_name(inr, settings.time_input)
    if name is None:
        return None
    index = inr.input_names.index(name)
    lo, hi = inr.domain[index]
    levels = resolved_time_levels(settings, lo, hi)
    if not shares_across_time(criterion, levels):
        return None
    if index not in dict(space.fixed):  # time is refined (or not fixed): nothing to share along
        return None
    return TimeAxis(index, lo, hi, levels, settings.time_tolerance, 1.0)


def prepare_run(
    inr: INR,
    settings: RefinementSettings,
    roots: Sequence[int] | None,
    progress: Callable[[float, str], None] | None,
    cancel: Callable[[], bool] | threading.Event | None,
    reference: ReferenceSample | None,
    key_level: int,
    field_scales: dict | None = None,
) -> Run:
    """Resolve the slice and device, build the initial mesh and the criterion, check the budget.

    ``field_scales`` keeps the field's RMS over space and time between runs of the same settings at
    other times (a session's time steps): it does not depend on the time, so it is probed once.
    """
    started = time_module.perf_counter()
    model = inr.on(resolve_device(settings.device))
    space = resolve_slice(inr, settings)
    d = space.dim
    root_grid = settings.root_grid or (1,) * d
    if len(root_grid) > d and all(n == 1 for n in root_grid[d:]):  # (a 3-axis grid such as ParaView's)
        root_grid = root_grid[:d]
    if len(root_grid) != d:
        raise ValueError(f"root grid {root_grid} has {len(root_grid)} axes but {d} inputs are refined")
    if not 0 <= settings.output_component < inr.n_outputs:
        raise ValueError(
            f"output component {settings.output_component} out of range (the INR has {inr.n_outputs} outputs)"
        )
    if settings.uniform_refinements > key_level:
        raise SettingsError(
            f"uniform_refinements ({settings.uniform_refinements}) is deeper than the deepest level {key_level}"
        )
    criterion = make_criterion(settings, d)
    tree = LinearTree(root_grid, space.bounds)
    max_dofs, max_leaves = settings.max_dofs, settings.max_leaves
    if roots is not None:
        share = np.unique(np.asarray(roots, dtype=np.int64))
        if share.size and (share.min() < 0 or share.max() >= tree.n_roots):
            raise ValueError(f"root indices must lie in [0, {tree.n_roots})")
        fraction = share.size / tree.n_roots
        tree = tree.subset(np.isin(tree.root_index(), share))
        if max_dofs is not None:
            max_dofs = max(1, math.ceil(max_dofs * fraction))
        if max_leaves is not None:
            max_leaves = max(1, math.ceil(max_leaves * fraction))
    tracker = Progress(progress, cancel)
    for _ in range(settings.uniform_refinements):
        tree = tree.refine(np.arange(tree.n_leaves))[0]
    dofs = tree.dofs()
    if max_dofs is not None and dofs > max_dofs:
        raise BudgetError(
            f"the initial mesh ({settings.uniform_refinements} uniform refinements of a "
            f"{'x'.join(map(str, root_grid))} root grid) has {dofs} DOFs, more than max_dofs = "
            f"{max_dofs}; lower uniform_refinements or raise max_dofs"
        )
    if max_leaves is not None and tree.n_leaves > max_leaves:
        raise BudgetError(
            f"the initial mesh has {tree.n_leaves} leaves, more than max_leaves = {max_leaves}; lower "
            "uniform_refinements or raise max_leaves"
        )
    axis = _time_axis(inr, settings, space, criterion) if settings.strategy == "budget" else None
    if axis is not None:
        # the relative-error floor and the stationarity test compare against the field's RMS over space
        # and time, so that an element's score does not depend on the time step it was measured for
        full = SpaceSlice(
            space.input_names,
            (*space.space_axes, axis.index),
            tuple(f for f in space.fixed if f[0] != axis.index),
            (*space.bounds, (axis.lo, axis.hi)),
        )
        scale_key = (full, settings.seed, settings.output_component)
        known = field_scales if field_scales is not None else {}
        if scale_key not in known:
            known[scale_key] = _field_scale(model, full, settings.seed, settings.output_component)
        axis = dataclasses.replace(axis, scale=known[scale_key])
        scale = axis.scale
    else:
        scale = _field_scale(model, space, settings.seed, settings.output_component)
    rel = RelativeError(settings.relative_error, settings.error_floor, scale)
    cache = VertexCache(model, space, key_level, settings.output_component)
    if settings.rmse_samples and reference is None:
        n = PAPER_RMSE_SAMPLES[d] if settings.rmse_samples < 0 else settings.rmse_samples
        tracker.report(0.0, f"drawing {n} reference points for the total RMSE")
        reference = ReferenceSample.draw(model, space, n, settings.seed, settings.output_component)
    context = TestContext(
        model,
        tree,
        space,
        SampleStream(settings.seed),
        rel,
        cache,
        settings.output_component,
        settings.memory_limit_mb,
        tracker.chunk,
        LiveNeuronGuess(),
    )
    return Run(
        settings,
        model,
        space,
        tree,
        criterion,
        context,
        cache,
        tracker,
        reference,
        max_dofs,
        max_leaves,
        key_level,
        started,
        axis,
    )


def iteration_row(
    it: int,
    tree: LinearTree,
    run: Run,
    tested: int,
    flagged: int,
    refined: int,
    secs: dict,
    dofs: int,
    conforming: bool = True,
) -> dict[str, Any]:
    """One row of a run's per-iteration statistics (leaves, DOFs, tests, RMSE, seconds by phase); the
    conforming DOFs where the settings ask for them, unless ``conforming`` is False."""
    row: dict[str, Any] = {
        "iteration": it,
        "leaves": tree.n_leaves,
        "dofs": int(dofs),
        "max_level": tree.max_level,
        "tested": int(tested),
        "flagged": int(flagged),
        "refined": int(refined),
    }
    if run.settings.conforming_dofs and conforming:
        t = time_module.perf_counter()
        row["conforming_dofs"] = tree.conforming_dofs()
        secs = {**secs, "conforming_dofs": time_module.perf_counter() - t}
    if run.reference is not None:
        t = time_module.perf_counter()
        row["rmse"] = total_rmse(tree, run.cache, run.reference)
        secs = {**secs, "rmse": time_module.perf_counter() - t}
    row["seconds"] = {k: round(v, 6) for k, v in secs.items()}
    return row
