"""Comparing refinement methods on one INR: the same reference points, one table, one plot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inr_amr_core.amr import PAPER_RMSE_SAMPLES, RefinementResult, refine, resolve_slice
from inr_amr_core.inr import INR
from inr_amr_core.metrics import ReferenceSample
from inr_amr_core.settings import RefinementSettings

__all__ = ["Comparison", "compare_methods", "iteration_rows"]


def iteration_rows(result: RefinementResult) -> list[dict]:
    """The per-iteration table of a run: iteration, leaves, DOFs, conforming DOFs, RMSE, seconds."""
    return [
        {
            "iteration": r["iteration"],
            "leaves": r["leaves"],
            "dofs": r["dofs"],
            "conforming_dofs": r.get("conforming_dofs"),
            "rmse": r.get("rmse"),
            "seconds": round(iteration_seconds(r), 4),
        }
        for r in result.iterations
    ]


def iteration_seconds(row: dict) -> float:
    """Wall time of one iteration (its phases; the ``test_*`` entries are parts of ``test``)."""
    return sum(v for k, v in row.get("seconds", {}).items() if not k.startswith("test_"))


@dataclass
class Comparison:
    """Runs of several methods on the same INR slice, measured on the same reference points."""

    results: dict[str, RefinementResult]
    reference: ReferenceSample
    time: float | None = None

    def table(self) -> dict[str, list[dict]]:
        return {m: iteration_rows(r) for m, r in self.results.items()}

    def curves(self, conforming: bool = False) -> dict[str, list[tuple[float, float]]]:
        key = "conforming_dofs" if conforming else "dofs"
        return {m: [(row[key], row["rmse"]) for row in rows] for m, rows in self.table().items()}

    def report(self) -> dict:
        first = next(iter(self.results.values()))
        return {
            "rmse_points": int(self.reference.points.shape[0]),
            "slice": first.summary()["slice"],
            "settings": {m: r.settings.to_dict() for m, r in self.results.items()},
            "stop_reason": {m: r.stop_reason for m, r in self.results.items()},
            "seconds": {m: r.seconds for m, r in self.results.items()},
            "iterations": self.table(),
        }


def compare_methods(
    inr: INR,
    settings: dict[str, RefinementSettings] | RefinementSettings,
    methods: Sequence[str] = ("uniform", "basic", "pruning"),
    *,
    rmse_samples: int = -1,
    reference: ReferenceSample | None = None,
    progress: Callable[[str], Callable[[float, str], None] | None] | None = None,
) -> Comparison:
    """Refine with each method and measure every iteration's total RMSE on shared points.

    Parameters
    ----------
    settings : RefinementSettings or dict of them
        One settings object for all methods (its ``method`` is replaced), or one per method.
    rmse_samples : int, default -1
        Reference points (-1: the paper's 262,144 in 2D and 1,048,576 in 3D).
    progress : callable, optional
        ``progress(method)`` returns the progress callback for that method's run.
    """
    per_method = {
        m: (settings[m] if isinstance(settings, dict) else settings).replace(method=m, rmse_samples=0) for m in methods
    }
    first = per_method[methods[0]]
    if reference is None:
        space = resolve_slice(inr, first)
        n = PAPER_RMSE_SAMPLES[space.dim] if rmse_samples < 0 else rmse_samples
        reference = ReferenceSample.draw(inr.on(first.device), space, n, first.seed, first.output_component)
    results = {}
    for m in methods:
        cb = progress(m) if progress is not None else None
        results[m] = refine(inr, per_method[m], progress=cb, reference=reference)
    return Comparison(results, reference, first.time)
