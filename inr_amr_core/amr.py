"""The refinement loop: uniform start, then test untested leaves, refine, repeat.

>>> from inr_amr_core import load_inr, refine
>>> result = refine(load_inr("../shared/inrs/hos_lists.ckpt"), method="pruning",
...                 threshold=0.1, proportion=0.09)                    # doctest: +SKIP
>>> result.iterations[-1]["dofs"] <= 10000                              # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import math
import threading
import time as time_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .criteria import RelativeError, TestContext, make_criterion
from .domain import SpaceSlice, detect_time_input
from .inr import INR, resolve_device
from .metrics import ReferenceSample, total_rmse
from .pruning import LiveNeuronGuess
from .sampling import SampleStream
from .settings import METHODS, RefinementSettings, SettingsError
from .tree import LinearTree
from .vertices import VertexCache

__all__ = [
    "METHODS",
    "BudgetError",
    "RefinementCancelled",
    "RefinementResult",
    "RefinementSettings",
    "refine",
    "resolve_slice",
    "time_input_name",
]

log = logging.getLogger(__name__)

#: total-error sample counts of the paper: (2^9)^2 points in 2D, 2^20 in 3D
PAPER_RMSE_SAMPLES = {1: 4096, 2: 262_144, 3: 1_048_576}


class RefinementCancelled(RuntimeError):
    """Raised when the caller's cancel check returns True; nothing is returned."""


class BudgetError(ValueError):
    """The requested budget cannot be met (for instance the initial mesh already exceeds max_dofs)."""


@dataclass
class RefinementResult:
    """A refined mesh with its INR samples and the run's statistics.

    Attributes
    ----------
    tree : LinearTree
        The final leaves.
    space : SpaceSlice
        Which inputs were refined and which were fixed.
    settings : RefinementSettings
    done : (N,) bool
        Leaves that passed their test (never to be tested again).
    diagnostics : dict of (N,) float arrays
        ``kept_proportion``, ``pruned_error`` (Pruning) or ``basic_error`` (Basic) of the test each
        leaf passed or failed; NaN where the leaf was never tested.
    tested_iteration : (N,) int
        Iteration in which the leaf was tested (-1: never).
    iterations : list of dict
        Per-iteration statistics (iteration 0 is the initial uniform mesh).
    stop_reason : str
        'max_iterations', 'converged' (nothing left to refine), 'max_dofs'.
    """

    tree: LinearTree
    space: SpaceSlice
    settings: RefinementSettings
    done: np.ndarray
    diagnostics: dict
    tested_iteration: np.ndarray
    iterations: list
    stop_reason: str
    inr: INR = field(repr=False)
    vertex_cache: VertexCache = field(repr=False)
    seconds: float = 0.0

    @property
    def n_leaves(self) -> int:
        return self.tree.n_leaves

    @property
    def dofs(self) -> int:
        return int(self.iterations[-1]["dofs"])

    def mesh_values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(vertex_keys, vertex_values, corner_index)`` of the final mesh (INR at every vertex)."""
        return self.vertex_cache.mesh_values(self.tree)

    def vertex_points(self, keys: np.ndarray) -> np.ndarray:
        return self.tree.vertex_points(keys, self.vertex_cache.key_level)

    def leaf_values(self, component: int | None = None) -> np.ndarray:
        """INR at leaf centres (``(N,)`` for one component, ``(N, n_outputs)`` if ``component`` is -1)."""
        comp = self.settings.output_component if component is None else component
        pts = self.space.to_inputs(self.tree.leaf_centers())
        if comp == -1:
            return self.inr.evaluate(pts)
        return self.inr.evaluate(pts, component=comp)

    def interpolate(self, points: np.ndarray) -> np.ndarray:
        """The mesh's piecewise-multilinear interpolant at points in tree coordinates."""
        _, values, corner_index = self.mesh_values()
        return self.tree.interpolate(points, values, corner_index)

    def total_rmse(
        self, n_points: int = -1, seed: int | None = None, reference: ReferenceSample | None = None
    ) -> float:
        """RMSE between the INR and the mesh interpolant at uniform random points (paper's figure of merit)."""
        if reference is None:
            n = PAPER_RMSE_SAMPLES[self.tree.d] if n_points < 0 else n_points
            reference = ReferenceSample.draw(
                self.inr, self.space, n, self.settings.seed if seed is None else seed, self.settings.output_component
            )
        return total_rmse(self.tree, self.vertex_cache, reference)

    def summary(self) -> dict:
        """JSON-friendly summary: settings, slice, per-iteration statistics."""
        last = self.iterations[-1]
        return {
            "method": self.settings.method,
            "settings": self.settings.to_dict(),
            "slice": {
                "axes": list(self.space.axis_names),
                "bounds": [list(b) for b in self.space.bounds],
                "fixed": self.space.fixed_values,
            },
            "inr": {
                "architecture": self.inr.describe(),
                **{k: v for k, v in self.inr.metadata.items() if isinstance(v, (str, int, float, bool))},
            },
            "leaves": self.tree.n_leaves,
            "dofs": last["dofs"],
            "conforming_dofs": last.get("conforming_dofs"),
            "max_level": self.tree.max_level,
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
            "iterations": self.iterations,
        }


class _Progress:
    """Turns chunk progress inside iterations into an overall fraction, and checks cancellation."""

    def __init__(
        self,
        callback: Callable[[float, str], None] | None,
        cancel: Callable[[], bool] | threading.Event | None,
        total_iterations: int,
    ) -> None:
        self.callback = callback
        self.cancel = cancel
        self.total = max(1, total_iterations)
        self.iteration = 0
        self.phase = ""

    def check(self) -> None:
        c = self.cancel
        if c is None:
            return
        flag = c.is_set() if isinstance(c, threading.Event) else bool(c())
        if flag:
            raise RefinementCancelled("refinement cancelled")

    def report(self, within: float, message: str) -> None:
        self.check()
        if self.callback is not None:
            frac = min(1.0, (self.iteration + max(0.0, min(1.0, within))) / self.total)
            self.callback(frac, message)

    def chunk(self, done: int, total: int) -> None:
        self.report(done / max(total, 1), f"iteration {self.iteration}: {self.phase} {done}/{total}")


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
    vals = inr.evaluate(space.to_inputs(pts), component=component)
    rms = float(np.sqrt(np.mean(vals**2)))
    return rms if rms > 0 else 1.0


def refine(
    inr: INR,
    settings: RefinementSettings | None = None,
    *,
    roots: Sequence[int] | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | threading.Event | None = None,
    reference: ReferenceSample | None = None,
    **overrides: Any,
) -> RefinementResult:
    """Refine a mesh over the INR's domain by Pruning, Basic or Uniform refinement.

    Parameters
    ----------
    inr : INR
    settings : RefinementSettings, optional
        All parameters; keyword ``overrides`` replace single fields (``method='basic'``, ``tau=0.05``,
        ``time=1.0``).
    roots : sequence of int, optional
        Refine only these root cells (x-fastest index), e.g. one MPI rank's share. Every decision is
        local to an element and its random samples are keyed by the element, so the union of the
        leaves of disjoint shares equals the serial run (when ``max_dofs`` is not reached; the budget
        is split in proportion to the share).
    progress : callable, optional
        ``progress(fraction, message)``, called often.
    cancel : callable or threading.Event, optional
        Checked between chunks; when it returns True / is set, :class:`RefinementCancelled` is raised.
    reference : ReferenceSample, optional
        Pre-drawn points and INR values for the total RMSE (share one across methods to compare them
        on the same points); otherwise drawn when ``settings.rmse_samples`` is non-zero.

    Returns
    -------
    RefinementResult

    Raises
    ------
    BudgetError
        If the initial uniform mesh already has more than ``max_dofs`` DOFs.
    RefinementCancelled
    """
    settings = settings or RefinementSettings()
    if overrides:
        settings = settings.replace(**overrides)
    t_start = time_module.perf_counter()
    dev = resolve_device(settings.device)
    model = inr.on(dev)
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
    criterion = make_criterion(settings)
    stream = SampleStream(settings.seed)
    rel = RelativeError(
        settings.relative_error,
        settings.error_floor,
        _field_scale(model, space, settings.seed, settings.output_component),
    )
    key_level = settings.uniform_refinements + settings.max_iterations
    tree = LinearTree(root_grid, space.bounds)
    max_dofs = settings.max_dofs
    if roots is not None:
        share = np.unique(np.asarray(roots, dtype=np.int64))
        if share.size and (share.min() < 0 or share.max() >= tree.n_roots):
            raise ValueError(f"root indices must lie in [0, {tree.n_roots})")
        tree = tree.subset(np.isin(tree.root_index(), share))
        if max_dofs is not None and tree.n_roots:
            max_dofs = max(1, math.ceil(max_dofs * share.size / tree.n_roots))
    tracker = _Progress(progress, cancel, settings.max_iterations + 1)
    for _ in range(settings.uniform_refinements):
        tree = tree.refine(np.arange(tree.n_leaves))[0]
    dofs = tree.dofs()
    if max_dofs is not None and dofs > max_dofs:
        raise BudgetError(
            f"the initial mesh ({settings.uniform_refinements} uniform refinements of a "
            f"{'x'.join(map(str, root_grid))} root grid) has {dofs} DOFs, more than max_dofs = "
            f"{max_dofs}; lower uniform_refinements or raise max_dofs"
        )
    cache = VertexCache(model, space, key_level, settings.output_component)
    if settings.rmse_samples and reference is None:
        n = PAPER_RMSE_SAMPLES[d] if settings.rmse_samples < 0 else settings.rmse_samples
        tracker.report(0.0, f"drawing {n} reference points for the total RMSE")
        reference = ReferenceSample.draw(model, space, n, settings.seed, settings.output_component)
    n = tree.n_leaves
    done = np.zeros(n, bool)
    tested_it = np.full(n, -1, np.int64)
    diag = {name: np.full(n, np.nan) for name in criterion.diagnostic_names}
    ctx = TestContext(
        model,
        tree,
        space,
        stream,
        rel,
        cache,
        settings.output_component,
        settings.memory_limit_mb,
        tracker.chunk,
        LiveNeuronGuess(),
    )
    iterations = [_stats(0, tree, settings, 0, 0, 0, {}, cache, reference, dofs)]
    tracker.report(1.0, f"initial mesh: {tree.n_leaves} leaves, {dofs} DOFs")
    stop = "max_iterations"
    for it in range(1, settings.max_iterations + 1):
        tracker.iteration = it
        active = np.flatnonzero(~done)
        if active.size == 0:
            stop = "converged"
            break
        secs: dict = {}
        t0 = time_module.perf_counter()
        tracker.phase = "testing"
        ctx.tree = tree
        outcome = criterion.test(ctx, active)
        secs["test"] = time_module.perf_counter() - t0
        secs.update({f"test_{k}": v for k, v in outcome.seconds.items()})
        tested_it[active] = it
        for name, values in outcome.diagnostics.items():
            diag[name][active] = values
        flagged = active[outcome.refine]
        passed = active[~outcome.refine]
        done[passed] = True
        if flagged.size == 0:
            iterations.append(_stats(it, tree, settings, active.size, 0, 0, secs, cache, reference, dofs))
            stop = "converged"
            break
        t1 = time_module.perf_counter()
        to_refine = flagged
        budget_hit = False
        if max_dofs is not None:
            after = tree.dofs_after_refining(flagged)
            if after > max_dofs:
                budget_hit = True
                if settings.method == "uniform":
                    to_refine = flagged[:0]
                else:
                    order = flagged[np.argsort(-outcome.priority[outcome.refine], kind="stable")]
                    to_refine = order[: _largest_prefix_within(tree, order, max_dofs)]
        secs["budget"] = time_module.perf_counter() - t1
        if to_refine.size == 0:  # not even the most urgent element fits: the mesh stays as it is
            stop = "max_dofs"
            break
        t2 = time_module.perf_counter()
        new_tree, origin, is_child = tree.refine(to_refine)
        done = np.where(is_child, False, done[origin])
        tested_it = np.where(is_child, -1, tested_it[origin])
        diag = {k: np.where(is_child, np.nan, v[origin]) for k, v in diag.items()}
        tree = new_tree
        secs["refine"] = time_module.perf_counter() - t2
        t3 = time_module.perf_counter()
        dofs = tree.dofs()
        secs["dofs"] = time_module.perf_counter() - t3
        iterations.append(
            _stats(it, tree, settings, active.size, flagged.size, to_refine.size, secs, cache, reference, dofs)
        )
        last = iterations[-1]
        tracker.report(1.0, f"iteration {it}: {last['leaves']} leaves, {last['dofs']} DOFs")
        log.info(
            "iteration %d: tested %d, refined %d, %d leaves, %d DOFs",
            it,
            active.size,
            to_refine.size,
            tree.n_leaves,
            dofs,
        )
        if budget_hit:
            stop = "max_dofs"
            break
    result = RefinementResult(
        tree=tree,
        space=space,
        settings=settings,
        done=done,
        diagnostics=diag,
        tested_iteration=tested_it,
        iterations=iterations,
        stop_reason=stop,
        inr=model,
        vertex_cache=cache,
    )
    result.seconds = time_module.perf_counter() - t_start
    if progress is not None:
        progress(1.0, f"done: {tree.n_leaves} leaves, {dofs} DOFs ({stop})")
    return result


def _largest_prefix_within(tree: LinearTree, order: np.ndarray, max_dofs: int) -> int:
    """Largest m such that refining ``order[:m]`` keeps the DOFs within budget (binary search)."""
    lo, hi = 0, order.size  # refining order[:lo] fits; order[:hi+1] ... hi is the upper candidate
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tree.dofs_after_refining(order[:mid]) <= max_dofs:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _stats(
    it: int,
    tree: LinearTree,
    settings: RefinementSettings,
    tested: int,
    flagged: int,
    refined: int,
    secs: dict,
    cache: VertexCache,
    reference: ReferenceSample | None,
    dofs: int,
) -> dict:
    row: dict[str, Any] = {
        "iteration": it,
        "leaves": tree.n_leaves,
        "dofs": int(dofs),
        "max_level": tree.max_level,
        "tested": int(tested),
        "flagged": int(flagged),
        "refined": int(refined),
    }
    if settings.conforming_dofs:
        t = time_module.perf_counter()
        row["conforming_dofs"] = tree.conforming_dofs()
        secs = {**secs, "conforming_dofs": time_module.perf_counter() - t}
    if reference is not None:
        t = time_module.perf_counter()
        row["rmse"] = total_rmse(tree, cache, reference)
        secs = {**secs, "rmse": time_module.perf_counter() - t}
    row["seconds"] = {k: round(v, 6) for k, v in secs.items()}
    return row
