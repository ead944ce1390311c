"""Total error of a mesh: RMSE between the INR and the mesh interpolant at many random points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .domain import SpaceSlice
from .finite import check_finite
from .inr import INR
from .sampling import SampleStream
from .tree import LinearTree
from .vertices import VertexCache

__all__ = ["ReferenceSample", "total_rmse"]


@dataclass
class ReferenceSample:
    """Uniform random points over the refined box and the INR's values there (drawn once, reused).

    Attributes
    ----------
    points : (M, d) float64
        In tree coordinates.
    values : (M,) float64
        The INR at those points.
    seed : int
    """

    points: np.ndarray
    values: np.ndarray
    seed: int

    @classmethod
    def draw(
        cls, inr: INR, space: SpaceSlice, n: int, seed: int = 0, component: int = 0, chunk_size: int | None = None
    ) -> ReferenceSample:
        """Draw ``n`` points with a fixed seed and evaluate the INR there (NaN or Inf: NonFiniteError)."""
        b = np.asarray(space.bounds, dtype=np.float64)
        pts = SampleStream(seed).points_in_domain(b[:, 0], b[:, 1], int(n), "rmse")
        inputs = space.to_inputs(pts)
        vals = inr.evaluate(inputs, component=component, chunk_size=chunk_size)
        check_finite(vals, "the total-RMSE reference sample", inputs, inr.input_names)
        return cls(pts, vals, int(seed))


def total_rmse(tree: LinearTree, cache: VertexCache, reference: ReferenceSample) -> float:
    """RMSE of the mesh's multilinear interpolant (INR values at vertices) at the reference points."""
    keys, corner_index = tree.vertices(cache.key_level)
    values = cache.lookup(tree, keys)
    interp = tree.interpolate(reference.points, values, corner_index)
    return float(np.sqrt(np.mean((interp - reference.values) ** 2)))
