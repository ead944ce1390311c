"""The outcome of a refinement run: the mesh, its INR samples, its statistics, and how it stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .domain import SpaceSlice
from .finite import check_finite
from .inr import INR
from .metrics import ReferenceSample, total_rmse
from .run import PAPER_RMSE_SAMPLES
from .settings import RefinementSettings
from .tree import LinearTree
from .vertices import VertexCache

__all__ = ["RefinementResult"]


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
        What ended the run: ``'max_dofs'``, ``'max_leaves'``, ``'time'`` (a budget), ``'converged'``
        (every element within the tolerances, or at the deepest level), ``'max_iterations'``
        (thresholds strategy), ``'cancelled'`` (budget strategy: the mesh reached so far).
    scores : (N,) float
        Budget strategy: each leaf's refinement score (NaN where not scored, e.g. at the deepest level).
    budget_state : BudgetState or None
        Budget strategy: the scores its tests measured, so that a run with a larger budget continues
        the work and one with a smaller budget needs no test (see :func:`inr_amr_core.refine`'s ``resume``).
    max_tested_level : int or None
        Budget strategy: the deepest level whose elements were tested (deeper ones were predicted).
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
    scores: np.ndarray | None = None
    budget_state: Any = field(default=None, repr=False)
    max_tested_level: int | None = None
    _leaf_values: dict = field(default_factory=dict, repr=False)

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
        """INR at leaf centres (``(N,)`` for one component, ``(N, n_outputs)`` if ``component`` is -1).

        Evaluated once: later calls return the same array (the HTG, the VTU and reports share it).
        """
        comp = self.settings.output_component if component is None else component
        if comp not in self._leaf_values:
            pts = self.space.to_inputs(self.tree.leaf_centers())
            out = check_finite(self.inr.evaluate(pts), "leaf centres", pts, self.inr.input_names)
            for c in range(out.shape[1]):
                self._leaf_values[c] = out[:, c]
            self._leaf_values[-1] = out
        return self._leaf_values[comp]

    def cell_arrays(self, leaf_values: np.ndarray | None = None, diagnostics: bool = True) -> dict[str, np.ndarray]:
        """The per-leaf arrays a vtkHyperTreeGrid shows: the INR at leaf centres (named after its output),
        then the diagnostics of each leaf's last test, ``tested_iteration`` and (budget strategy) ``score``."""
        comp = self.settings.output_component
        arrays = {self.inr.output_names[comp]: self.leaf_values() if leaf_values is None else leaf_values}
        if diagnostics:
            arrays.update(self.diagnostics)
            arrays["tested_iteration"] = self.tested_iteration.astype(np.int32)
            if self.scores is not None:
                arrays["score"] = self.scores
        return arrays

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
            "strategy": self.settings.strategy,
            "leaves": self.tree.n_leaves,
            "dofs": last["dofs"],
            "conforming_dofs": last.get("conforming_dofs"),
            "max_level": self.tree.max_level,
            "stop_reason": self.stop_reason,
            "max_tested_level": self.max_tested_level,
            "seconds": self.seconds,
            "iterations": self.iterations,
        }
