"""INR values at mesh vertices, each vertex evaluated once across all refinement iterations."""

from __future__ import annotations

import numpy as np

from .domain import SpaceSlice
from .finite import check_finite
from .inr import INR
from .tree import LinearTree

__all__ = ["VertexCache"]


class VertexCache:
    """Values of one INR output at packed vertex keys (see :meth:`LinearTree.pack_vertices`).

    Parameters
    ----------
    inr : INR
    space : SpaceSlice
    key_level : int
        Fixed level at which vertex keys are packed; must be at least the deepest level reached.
    component : int, default 0
    """

    def __init__(
        self, inr: INR, space: SpaceSlice, key_level: int, component: int = 0, chunk_size: int | None = None
    ) -> None:
        self.inr = inr
        self.space = space
        self.key_level = int(key_level)
        self.component = int(component)
        self.chunk_size = chunk_size  # None: the fastest chunk for the device (measured once)
        self.keys = np.empty(0, dtype=np.int64)
        self.values = np.empty(0, dtype=np.float64)
        self.evaluations = 0

    def lookup(self, tree: LinearTree, keys: np.ndarray) -> np.ndarray:
        """Values at ``keys`` (any shape), evaluating the INR only at vertices not seen before.

        Raises
        ------
        NonFiniteError
            If the INR gives NaN or Inf at a new vertex (nothing is cached then).
        """
        flat = np.asarray(keys, dtype=np.int64).ravel()
        uniq = np.unique(flat)
        pos = np.searchsorted(self.keys, uniq)
        known = (
            (pos < self.keys.size) & (self.keys[np.minimum(pos, max(self.keys.size - 1, 0))] == uniq)
            if self.keys.size
            else np.zeros(uniq.size, bool)
        )
        missing = uniq[~known]
        if missing.size:
            pts = self.space.to_inputs(tree.vertex_points(missing, self.key_level))
            vals = self.inr.evaluate(pts, component=self.component, chunk_size=self.chunk_size)
            check_finite(vals, "mesh vertices", pts, self.inr.input_names)
            self.evaluations += missing.size
            merged_keys = np.concatenate([self.keys, missing])
            merged_values = np.concatenate([self.values, vals])
            order = np.argsort(merged_keys, kind="stable")
            self.keys, self.values = merged_keys[order], merged_values[order]
        return self.values[np.searchsorted(self.keys, flat)].reshape(np.shape(keys))

    def mesh_values(self, tree: LinearTree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tree's vertices: ``(keys, values, corner_index)`` for :meth:`LinearTree.interpolate`."""
        keys, corner_index = tree.vertices(self.key_level)
        return keys, self.lookup(tree, keys), corner_index
