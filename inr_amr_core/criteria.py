"""Refinement criteria: Uniform, Basic (interpolation error, tau) and Pruning (T, P, eps).

Relative error
--------------
The paper measures ``mean(|f(X) - g(X)| / |f(X)|)``, which explodes where the field crosses zero
(and a field that is zero on a whole element, like air around a CT specimen, makes any
approximation infinitely wrong). We keep the paper's definition but floor the denominator:

    error = mean( |f - g| / max(|f|, floor * scale) )

where ``scale`` is the field's RMS over the refined box (estimated once per run from 4,096 seeded
points) and ``floor`` defaults to 1. The error is then relative to the local value wherever the
field is at least its typical magnitude, and relative to that magnitude where the field is smaller
(near zero crossings, in air): a mixed relative/absolute tolerance, like ``numpy.isclose`` with
``rtol = atol / scale = T``. Measured on the simulated CT INR (level-4 elements, t = 1, T = 1e-3):
floor 1 lets 84% of the air elements pass and refines 97% of those in the material; floor 0.01
fails every air element, whose absolute pruning error (median 9e-6) is far below anything visible.

``mode='reference'`` reproduces the research code instead: Pruning uses
``mean|f - g| * mean(1 / |f + 5|)`` (it shifts both outputs by 5) and refines when ``> T``;
Basic uses ``mean|f - g| * mean(1 / |f|)`` and refines when ``>= tau``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from .domain import SpaceSlice
from .inr import INR
from .pruning import LiveNeuronGuess, PruneResult, exceeds_proportion, prune_on_boxes
from .sampling import SampleStream
from .settings import RefinementSettings
from .tree import LinearTree, corner_offsets
from .vertices import VertexCache

__all__ = [
    "CRITERIA",
    "REFERENCE_SHIFT",
    "BasicCriterion",
    "Criterion",
    "Outcome",
    "PruningCriterion",
    "RelativeError",
    "TestContext",
    "UniformCriterion",
    "make_criterion",
    "resolved_id_method",
]

#: the research code's shift of both outputs before dividing
REFERENCE_SHIFT = 5.0
#: neurons per layer the budget strategy's Pruning score resolves (it saturates there): its sketched ID needs
#: only a few more rows than that
BUDGET_RANK_CAP = 48
#: ID samples of a 3D (or higher) test that only scores (``id_samples`` auto): enough rows to resolve every
#: rank up to the cap with the sketch's oversampling (docs/results.md, "Fewer ID samples")
BUDGET_ID_SAMPLES = 64
#: ID samples of the paper's test (``id_samples`` auto otherwise)
PAPER_ID_SAMPLES = 256


def resolved_id_method(settings: RefinementSettings) -> str:
    """The ID a run's Pruning tests use: ``id_method``, with 'auto' made 'exact' for the thresholds strategy
    and 'sketch' for the budget strategy.

    Why: with the C kernel the exact ID costs no more than the sketch on a CPU (the paper's thresholds run
    on the CT INR: exact 12.1-12.8 s, sketched 15.0-15.7 s, the same process), and T and P then decide on
    the paper's own ID; a budget's scores need only ranks up to a cap, where the sketch is as fast and its
    order was better on the lattice and truss INRs at 200,000 DOFs (RMSE 8.85e-3 / 4.53e-3 against the
    exact ID's 9.85e-3 / 4.77e-3; CT and log pile within 1%). ``docs/results.md``, "The ID by strategy".
    """
    if settings.id_method != "auto":
        return settings.id_method
    return "exact" if settings.strategy == "thresholds" else "sketch"


@dataclass(frozen=True)
class RelativeError:
    """Relative error of an approximation ``g`` of ``f`` over sample points (last axis).

    Parameters
    ----------
    mode : {'floored', 'reference'}, default 'floored'
    floor : float, default 1.0
        Denominator floor as a fraction of ``scale`` (floored mode).
    scale : float, default 1.0
        Field magnitude (RMS over the box), set per run.
    """

    mode: str = "floored"
    floor: float = 1.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("floored", "reference"):
            raise ValueError(f"relative error mode must be 'floored' or 'reference', got {self.mode!r}")
        if not self.floor >= 0:
            raise ValueError(f"error floor must be >= 0, got {self.floor}")

    @property
    def denominator_floor(self) -> float:
        return self.floor * self.scale

    def _floored(self, f: np.ndarray, g: np.ndarray) -> np.ndarray:
        den = np.maximum(np.abs(f), self.denominator_floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(f - g) / den
        # 0/0 (exact agreement where the field and floor are both zero) is no error
        return np.mean(np.where(np.abs(f - g) == 0, 0.0, ratio), axis=-1)

    def pruning(self, f: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.mode == "reference":
            return np.mean(np.abs(f - g), axis=-1) * np.mean(1.0 / np.abs(f + REFERENCE_SHIFT), axis=-1)
        return self._floored(f, g)

    def basic(self, f: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.mode == "reference":
            with np.errstate(divide="ignore"):
                return np.mean(np.abs(f - g), axis=-1) * np.mean(1.0 / np.abs(f), axis=-1)
        return self._floored(f, g)

    def exceeds(self, error: np.ndarray, limit: float, basic: bool = False) -> np.ndarray:
        """``error > limit`` (the research code's Basic test is ``>=``)."""
        if basic and self.mode == "reference":
            return error >= limit
        return error > limit


@dataclass
class TestContext:
    """What a criterion needs to test elements."""

    inr: INR
    tree: LinearTree
    space: SpaceSlice
    stream: SampleStream
    relative_error: RelativeError
    vertex_cache: VertexCache
    component: int = 0
    memory_limit_mb: float = 1024.0
    progress: Callable[[int, int], None] | None = None
    live_neurons: LiveNeuronGuess = field(default_factory=LiveNeuronGuess)


@dataclass
class Outcome:
    """Result of testing some elements.

    Attributes
    ----------
    refine : (n,) bool
        Beyond the criterion's thresholds (T, P or tau): refine (thresholds strategy), or not done yet
        (budget strategy: True everywhere when no tolerance is set).
    priority : (n,) float
        Thresholds strategy: how far beyond the thresholds (the most urgent are refined first when the
        DOF budget cuts an iteration short).
    score : (n,) float
        Budget strategy: how much the element needs refining, comparable across elements (larger first).
    diagnostics : dict of (n,) float arrays
    seconds : dict of float
    """

    refine: np.ndarray
    priority: np.ndarray
    score: np.ndarray | None = None
    diagnostics: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def volume_fraction(tree: LinearTree, leaves: np.ndarray) -> np.ndarray:
    """Each element's share of the refined box's volume."""
    return 2.0 ** (-tree.d * tree.levels[leaves].astype(np.float64)) / tree.n_roots


class Criterion:
    """Base class: decide which of the given leaves to refine."""

    name: ClassVar[str] = "criterion"
    #: diagnostic arrays this criterion fills (names of per-leaf arrays, NaN where untested)
    diagnostic_names: ClassVar[tuple[str, ...]] = ()

    #: predicted score of a child from its parent's (for elements the budget strategy does not test);
    #: the default: an error contribution of a smooth field, multilinear interpolation (MSE ~ h^4) times volume
    @staticmethod
    def child_score_ratio(d: int) -> float:
        return 2.0 ** -(d + 4)

    @classmethod
    def from_settings(cls, settings: RefinementSettings, dim: int | None = None) -> Criterion:
        """The criterion configured by a run's settings (``dim``: the refined inputs, where known)."""
        raise NotImplementedError

    def forwards_per_test(self) -> int:
        """INR evaluations one element's test needs."""
        return 0

    def cost_per_test(self) -> int:
        """One element's test's cost in INR evaluations (what the budget strategy's work budget counts)."""
        return self.forwards_per_test()

    def test(self, ctx: TestContext, leaves: np.ndarray) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class UniformCriterion(Criterion):
    """Refine every element every iteration."""

    name = "uniform"

    @classmethod
    def from_settings(cls, settings: RefinementSettings, dim: int | None = None) -> UniformCriterion:
        return cls()

    def test(self, ctx: TestContext, leaves: np.ndarray) -> Outcome:
        n = leaves.size
        # coarser first: the budget strategy refines Uniform level by level, whole levels only
        return Outcome(np.ones(n, bool), np.ones(n), -ctx.tree.levels[leaves].astype(np.float64))


@dataclass
class BasicCriterion(Criterion):
    """Refine where the element's multilinear interpolant misses the INR by more than ``tau``.

    The budget strategy's score is the element's share of the total squared error: its volume
    fraction times the mean squared difference between the INR and the interpolant of its corner
    values at the error samples (absolute, so elements of any size and any network compare).

    Parameters
    ----------
    tau : float or None, default 0.1
        Thresholds strategy: the limit; budget strategy: a tolerance (None: none).
    error_samples : int, default 32
    """

    tau: float | None = 0.1
    error_samples: int = 32
    name = "basic"
    diagnostic_names = ("basic_error",)

    def __post_init__(self) -> None:
        if self.tau is not None and not self.tau > 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")
        if self.error_samples < 1:
            raise ValueError(f"error_samples must be >= 1, got {self.error_samples}")

    @classmethod
    def from_settings(cls, settings: RefinementSettings, dim: int | None = None) -> BasicCriterion:
        return cls(tau=settings.tau, error_samples=settings.error_samples)

    def forwards_per_test(self) -> int:
        return self.error_samples

    def describe(self) -> str:
        tau = "none" if self.tau is None else f"{self.tau:g}"
        return f"basic(tau={tau}, error_samples={self.error_samples})"

    def test(self, ctx: TestContext, leaves: np.ndarray) -> Outcome:
        tree, m = ctx.tree, self.error_samples
        d = tree.d
        offs = corner_offsets(d)
        err = np.empty(leaves.size)
        mse = np.empty(leaves.size)
        # points held at once: leaves_per_chunk * m * (d + a few) doubles
        per_chunk = max(1, int(ctx.memory_limit_mb * 2**20 // (m * (8 * (d + 6)) + 2**d * 16)))
        for s in range(0, leaves.size, per_chunk):
            sel = leaves[s : s + per_chunk]
            corners = tree.pack_vertices(
                tree.corner_coords(ctx.vertex_cache.key_level, sel), ctx.vertex_cache.key_level
            )
            corner_vals = ctx.vertex_cache.lookup(tree, corners)  # (n, 2^d)
            u = ctx.stream.unit_samples(tree.element_ids(sel), m, d, "basic")  # (n, m, d)
            lower, upper = tree.leaf_bounds(sel)
            pts = lower[:, None, :] + u * (upper - lower)[:, None, :]
            f = ctx.inr.evaluate(ctx.space.to_inputs(pts.reshape(-1, d)), component=ctx.component).reshape(sel.size, m)
            w = np.prod(np.where(offs[None, None, :, :] == 1, u[:, :, None, :], 1.0 - u[:, :, None, :]), axis=3)
            interp = np.einsum("nmc,nc->nm", w, corner_vals)
            err[s : s + sel.size] = ctx.relative_error.basic(f, interp)
            mse[s : s + sel.size] = np.mean((f - interp) ** 2, axis=1)
            if ctx.progress is not None:
                ctx.progress(s + sel.size, leaves.size)
        if self.tau is None:
            refine, priority = np.ones(leaves.size, bool), np.ones(leaves.size)
        else:
            refine, priority = ctx.relative_error.exceeds(err, self.tau, basic=True), err / self.tau
        score = volume_fraction(tree, leaves) * mse
        return Outcome(refine, priority, score, {"basic_error": err})


@dataclass
class PruningCriterion(Criterion):
    """Algorithm 1: refine if the ID-pruned INR errs by more than ``T`` or keeps more than ``P``.

    Parameters
    ----------
    threshold : float or None, default 0.1
        ``T``, the relative error of the pruned INR above which an element is refined (budget strategy:
        a tolerance, None for none).
    proportion : float or None, default 0.09
        ``P``, the kept fraction of hidden neurons above which an element is refined (likewise).
    eps : float, default 1e-3
        ID tolerance.
    id_samples, error_samples : int, default 256 and 32
    exact_diagnostics : bool, default False
        Decompose every layer and measure every error even where the budget ``P`` is already
        exceeded (slower; gives complete diagnostic arrays).
    id_method : {'exact', 'sketch'}, default 'exact'
        See :func:`inr_amr_core.pruning.prune_on_boxes`.
    """

    threshold: float | None = 0.1
    proportion: float | None = 0.09
    eps: float = 1e-3
    id_samples: int = 256
    error_samples: int = 32
    exact_diagnostics: bool = False
    id_method: str = "exact"
    sequential: bool = False
    name = "pruning"
    diagnostic_names = ("kept_proportion", "pruned_error")

    def __post_init__(self) -> None:
        if self.threshold is not None and not self.threshold > 0:
            raise ValueError(f"T (threshold) must be > 0, got {self.threshold}")
        if self.proportion is not None and not 0 < self.proportion <= 1:
            raise ValueError(f"P (proportion) must be in (0, 1], got {self.proportion}")
        if not 0 < self.eps < 1:
            raise ValueError(f"eps must be in (0, 1), got {self.eps}")
        if self.id_samples < 1 or self.error_samples < 1:
            raise ValueError("id_samples and error_samples must be >= 1")

    @classmethod
    def from_settings(cls, settings: RefinementSettings, dim: int | None = None) -> PruningCriterion:
        """The criterion of ``settings``; ``id_samples`` auto is 64 where a budget test only scores
        elements of 3 or more dimensions, else the paper's 256.

        Why the dimension: a 3D budget tests elements down to about a level above the budget's uniform
        level and predicts the deeper ones, so its order rests on coarse elements' ranks, and 64 samples
        kept the RMSE within 1.3% of 256 (CT INR and log pile, 50,000 DOFs) at 1.3-1.5x less time; a 2D
        budget tests every element it orders, and 64 samples' rank noise moved the sweep's RMSE by -18%
        to +49% (and put relu_w64_d2 below its goal). P or T need ranks beyond the cap: the paper's count.
        """
        criterion = cls(
            threshold=settings.threshold,
            proportion=settings.proportion,
            eps=settings.eps,
            id_samples=PAPER_ID_SAMPLES if settings.id_samples is None else settings.id_samples,
            error_samples=settings.error_samples,
            exact_diagnostics=settings.exact_diagnostics,
            id_method=resolved_id_method(settings),
            sequential=settings.sequential_tests,
        )
        scores_3d = settings.strategy == "budget" and criterion.scoring_only and dim is not None and dim >= 3
        if settings.id_samples is None and scores_3d:
            return replace(criterion, id_samples=BUDGET_ID_SAMPLES)
        return criterion

    def describe(self) -> str:
        def show(v: float | None) -> str:
            return "none" if v is None else f"{v:g}"

        return (
            f"pruning(T={show(self.threshold)}, P={show(self.proportion)}, eps={self.eps:g}, "
            f"id_samples={self.id_samples}, error_samples={self.error_samples}, id={self.id_method}"
            f"{', sequential' if self.sequential else ''})"
        )

    @staticmethod
    def child_score_ratio(d: int) -> float:
        # a child has 1/2^d of the volume, and its excess (the non-affine share of its features) about half
        return 2.0 ** -(d + 2)

    def score(self, tree: LinearTree, leaves: np.ndarray, ranks: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
        """The budget strategy's score of each element, from the neurons its ID keeps per layer.

        On a small enough element every hidden feature is nearly an affine function of the inputs, so
        the ID keeps ``d + 1`` neurons per layer at tolerance eps; what it keeps beyond that is the
        element's non-affine content, which multilinear interpolation cannot follow. The score is the
        element's volume fraction times the square of that excess, as a fraction of the neurons beyond
        ``d + 1`` the network has: an error contribution (volume x squared amplitude) measured in
        neurons, so it compares across elements and networks without a hand-set T or P. Layers a box
        never reached (it exceeded the rank budget first) count as complex as its most complex layer.
        """
        d = tree.d
        vol = volume_fraction(tree, leaves)
        k = ranks.astype(np.float64)
        k = np.where(ranks < 0, np.max(k, axis=1, keepdims=True), k).clip(min=0)
        w = np.asarray(widths, dtype=np.float64)
        affine = np.minimum(d + 1.0, w)
        excess = np.maximum(k - affine[None, :], 0.0).sum(axis=1) / max(float(np.sum(w - affine)), 1.0)
        return vol * excess**2

    def forwards_per_test(self) -> int:
        return self.id_samples + (0 if self.scoring_only else self.error_samples)

    def cost_per_test(self) -> int:
        # A test with fewer samples is cheaper, but not in proportion: its decompositions cost about as
        # much as they did (CT network: 2.2 ms a test at 64 samples, 3.3 ms at 256). Counting a test as at
        # least a paper-sized one keeps a budget's tested levels, and its time, where the measured cost puts them.
        return max(self.forwards_per_test(), PAPER_ID_SAMPLES)

    @property
    def scoring_only(self) -> bool:
        """No T and no P: the test only scores elements (the budget strategy without tolerances)."""
        return self.threshold is None and self.proportion is None and not self.exact_diagnostics

    def _prune(
        self, ctx: TestContext, leaves: np.ndarray, samples: int, error_samples: int, first_samples: int | None = None
    ) -> PruneResult:
        lower, upper = ctx.tree.leaf_bounds(leaves)
        return prune_on_boxes(
            ctx.inr,
            lower,
            upper,
            to_inputs=ctx.space.to_inputs,
            element_ids=ctx.tree.element_ids(leaves),
            eps=self.eps,
            id_samples=samples,
            error_samples=error_samples,
            max_proportion=None if self.exact_diagnostics else self.proportion,
            stream=ctx.stream,
            component=ctx.component,
            relative_error=ctx.relative_error.pruning,
            memory_limit_mb=ctx.memory_limit_mb,
            progress=ctx.progress,
            live_neurons=ctx.live_neurons,
            id_method=self.id_method,
            rank_cap=None if self.proportion is not None else BUDGET_RANK_CAP,
            first_samples=first_samples,
        )

    def _sequential(self, ctx: TestContext, leaves: np.ndarray, error_samples: int) -> PruneResult:
        """First the ID on the first half of the element's samples: where that already keeps more than P,
        the element is refined (more samples do not lower a rank at the same eps, up to sampling noise);
        the others are tested in full, reusing the first half's activations (the same points). A departure
        from Algorithm 1 (``sequential_tests``)."""
        return self._prune(ctx, leaves, self.id_samples, error_samples, first_samples=max(1, self.id_samples // 2))

    def test(self, ctx: TestContext, leaves: np.ndarray) -> Outcome:
        # the pruned network's error only matters against a T (a budget run without one skips it)
        error_samples = self.error_samples if self.threshold is not None or self.exact_diagnostics else 0
        if self.sequential and self.proportion is not None and not self.exact_diagnostics:
            res = self._sequential(ctx, leaves, error_samples)
        else:
            res = self._prune(ctx, leaves, self.id_samples, error_samples)
        n = leaves.size
        too_many = (
            np.zeros(n, bool)
            if self.proportion is None
            else (exceeds_proportion(res.kept, self.proportion, res.total_width))
        )
        err = np.nan_to_num(res.error, nan=0.0)
        too_wrong = np.zeros(n, bool) if self.threshold is None else ctx.relative_error.exceeds(err, self.threshold)
        refine = too_many | too_wrong
        if self.proportion is None and self.threshold is None:
            refine = np.ones(n, bool)  # no tolerance: nothing is ever done
        parts = [np.zeros(n)]
        if self.proportion is not None:
            parts.append(res.proportion / self.proportion)
        if self.threshold is not None:
            parts.append(err / self.threshold)
        priority = np.fmax.reduce(parts)
        score = self.score(ctx.tree, leaves, res.ranks, ctx.inr.hidden_widths)
        return Outcome(
            refine, priority, score, {"kept_proportion": res.proportion, "pruned_error": res.error}, seconds=res.seconds
        )


#: the criterion of each method
CRITERIA: dict[str, type[Criterion]] = {
    "uniform": UniformCriterion,
    "basic": BasicCriterion,
    "pruning": PruningCriterion,
}


def make_criterion(settings: RefinementSettings, dim: int | None = None) -> Criterion:
    """The criterion of ``settings.method``, configured by ``settings`` (``dim``: the refined inputs)."""
    return CRITERIA[settings.method].from_settings(settings, dim)
