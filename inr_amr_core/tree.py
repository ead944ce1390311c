"""A linear 2^d-tree (quadtree in 2D, octree in 3D) over a coarse root grid.

Only the leaves are stored, as arrays: ``levels[i]`` and integer ``coords[i]`` in units of the
cell size at that level (so ``coords[i, a]`` runs over ``[0, root_grid[a] * 2**levels[i])``).
Everything else (vertices, DOFs, point location, interpolation, breadth-first order) is computed
from those arrays with vectorised numpy, never with per-leaf Python loops.

Conventions shared with :mod:`inr_amr_core.vtk`: axis 0 is x; the 2^d children and corners of a
cell are numbered with bit ``a`` giving the offset along axis ``a`` (x fastest), which is VTK's
child order; root cells are numbered x fastest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .sampling import splitmix64

__all__ = ["MAX_KEY_BITS", "BreadthFirstNodes", "LinearTree", "morton_encode"]

#: bits available for packed integer keys (root index + Morton code, or packed vertex coordinates)
MAX_KEY_BITS = 62


def morton_encode(coords: np.ndarray, bits: int) -> np.ndarray:
    """Interleave the low ``bits`` bits of each column (axis 0 least significant): ``(N, d)`` -> ``(N,)``."""
    coords = np.asarray(coords, dtype=np.int64)
    n, d = coords.shape
    out = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        for a in range(d):
            out |= ((coords[:, a] >> b) & 1) << (b * d + a)
    return out


def corner_offsets(d: int) -> np.ndarray:
    """``(2**d, d)`` 0/1 offsets, corner/child ``c`` having bit ``a`` as its offset along axis ``a``."""
    c = np.arange(2**d)
    return ((c[:, None] >> np.arange(d)[None, :]) & 1).astype(np.int64)


@dataclass
class BreadthFirstNodes:
    """Every node of every root tree (leaves and refined ones) in per-tree breadth-first order.

    Attributes
    ----------
    root : (M,) int64
        Root cell (x-fastest linear index) of each node; the array is sorted by it.
    level : (M,) int64
        Depth of each node.
    is_refined : (M,) bool
        True for nodes with children (the descriptor bits).
    leaf_index : (M,) int64
        Index into the tree's leaves for leaf nodes, -1 for refined nodes.
    children_start : (M,) int64
        For refined nodes, the index of the first of their 2^d consecutive children; -1 for leaves.
    tree_start : (R + 1,) int64
        Node offsets per root cell (a root cell without leaves, e.g. another worker's, has none).
    tree_depth : (R,) int64
        Deepest level of each tree.
    """

    root: np.ndarray
    level: np.ndarray
    is_refined: np.ndarray
    leaf_index: np.ndarray
    children_start: np.ndarray
    tree_start: np.ndarray
    tree_depth: np.ndarray
    n_children: int = 4

    def aggregate(self, leaf_values: np.ndarray) -> np.ndarray:
        """Values for every node: leaves take ``leaf_values``, refined nodes the mean of their children."""
        values = np.empty(self.root.size, dtype=np.float64)
        is_leaf = self.leaf_index >= 0
        values[is_leaf] = np.asarray(leaf_values, dtype=np.float64)[self.leaf_index[is_leaf]]
        refined = np.flatnonzero(self.is_refined)
        # deepest refined nodes first, so each parent sees finished children
        order = refined[np.argsort(-self.level[refined], kind="stable")]
        n_child = self.n_children
        for lvl in np.unique(self.level[order])[::-1]:
            nodes = order[self.level[order] == lvl]
            kids = self.children_start[nodes][:, None] + np.arange(n_child)[None, :]
            values[nodes] = values[kids].mean(axis=1)
        return values


class LinearTree:
    """Leaves of a forest of 2^d-trees covering an axis-aligned box.

    Parameters
    ----------
    root_grid : sequence of int
        Number of root cells per axis, e.g. ``(1, 1)`` or ``(2, 2, 2)``.
    bounds : array_like
        ``(d, 2)`` lower/upper bound per axis.
    levels, coords : numpy.ndarray, optional
        Leaves; default is the root grid itself (every root cell a leaf at level 0).

    Examples
    --------
    >>> t = LinearTree.uniform((1, 1), [[0, 1], [0, 1]], level=2)
    >>> t.n_leaves, t.dofs()
    (16, 25)
    >>> t2, origin, is_child = t.refine(np.array([0]))
    >>> t2.n_leaves, t2.dofs(), t2.conforming_dofs()
    (19, 30, 28)
    """

    def __init__(
        self,
        root_grid: Sequence[int],
        bounds: np.ndarray | Sequence[Sequence[float]],
        levels: np.ndarray | None = None,
        coords: np.ndarray | None = None,
    ) -> None:
        self.root_grid = tuple(int(n) for n in root_grid)
        self.d = len(self.root_grid)
        if self.d not in (1, 2, 3):
            raise ValueError(f"trees are 1D, 2D or 3D; got a {self.d}D root grid")
        if any(n < 1 for n in self.root_grid):
            raise ValueError(f"root grid must have at least one cell per axis, got {self.root_grid}")
        self.bounds = np.asarray(bounds, dtype=np.float64).reshape(self.d, 2)
        if not np.all(self.bounds[:, 1] > self.bounds[:, 0]):
            raise ValueError(f"bounds must satisfy lower < upper on every axis, got {self.bounds.tolist()}")
        if levels is None:
            grids = np.meshgrid(*[np.arange(n) for n in self.root_grid], indexing="ij")
            coords = np.stack([g.ravel(order="F") for g in grids], axis=1)
            levels = np.zeros(coords.shape[0], dtype=np.int64)
        self.levels = np.asarray(levels, dtype=np.int64)
        self.coords = np.asarray(coords, dtype=np.int64).reshape(-1, self.d)
        if self.levels.shape[0] != self.coords.shape[0]:
            raise ValueError("levels and coords must describe the same number of leaves")

    # ------------------------------------------------------------------ construction
    @classmethod
    def uniform(
        cls, root_grid: Sequence[int], bounds: np.ndarray | Sequence[Sequence[float]], level: int = 0
    ) -> LinearTree:
        """Every root cell refined ``level`` times."""
        tree = cls(root_grid, bounds)
        for _ in range(level):
            tree = tree.refine(np.arange(tree.n_leaves))[0]
        return tree

    def refine(self, leaves: np.ndarray) -> tuple[LinearTree, np.ndarray, np.ndarray]:
        """Split the given leaves (indices or boolean mask) into 2^d children each.

        Returns
        -------
        tree : LinearTree
            Unrefined leaves first (original order), then the children, 2^d per refined leaf in the
            order of ``leaves`` (child ``c`` has offset bit ``a`` along axis ``a``).
        origin : (N',) int64
            For every new leaf, the index of the leaf it is or came from.
        is_child : (N',) bool
            True for newly created children.
        """
        idx = np.asarray(leaves)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = np.unique(idx.astype(np.int64)) if idx.size else idx.astype(np.int64)
        keep = np.ones(self.n_leaves, dtype=bool)
        keep[idx] = False
        kept = np.flatnonzero(keep)
        offs = corner_offsets(self.d)
        child_coords = (2 * self.coords[idx][:, None, :] + offs[None, :, :]).reshape(-1, self.d)
        child_levels = np.repeat(self.levels[idx] + 1, 2**self.d)
        tree = LinearTree(
            self.root_grid,
            self.bounds,
            np.concatenate([self.levels[kept], child_levels]),
            np.concatenate([self.coords[kept], child_coords]),
        )
        origin = np.concatenate([kept, np.repeat(idx, 2**self.d)])
        is_child = np.concatenate([np.zeros(kept.size, bool), np.ones(child_levels.size, bool)])
        return tree, origin, is_child

    def subset(self, leaves: np.ndarray) -> LinearTree:
        """A tree holding only some leaves (used to split work by root cells)."""
        return LinearTree(self.root_grid, self.bounds, self.levels[leaves], self.coords[leaves])

    # ------------------------------------------------------------------ geometry
    @property
    def n_leaves(self) -> int:
        return int(self.levels.shape[0])

    @property
    def max_level(self) -> int:
        return int(self.levels.max()) if self.n_leaves else 0

    @property
    def n_roots(self) -> int:
        return int(np.prod(self.root_grid))

    def cell_size(self, levels: np.ndarray | None = None) -> np.ndarray:
        """Physical size of cells at the given levels (default: every leaf): ``(N, d)``."""
        lv = self.levels if levels is None else np.asarray(levels)
        root = (self.bounds[:, 1] - self.bounds[:, 0]) / np.asarray(self.root_grid)
        return root[None, :] / (2.0**lv)[:, None]

    def leaf_bounds(self, leaves: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the leaves: two ``(N, d)`` arrays."""
        sel = slice(None) if leaves is None else leaves
        size = self.cell_size(self.levels[sel])
        lower = self.bounds[:, 0][None, :] + self.coords[sel] * size
        return lower, lower + size

    def leaf_centers(self, leaves: np.ndarray | None = None) -> np.ndarray:
        lower, upper = self.leaf_bounds(leaves)
        return 0.5 * (lower + upper)

    def root_index(self, leaves: np.ndarray | None = None) -> np.ndarray:
        """Root cell of each leaf, x fastest (VTK's root order)."""
        sel = slice(None) if leaves is None else leaves
        rc = self.coords[sel] >> self.levels[sel][:, None]
        out = np.zeros(rc.shape[0], dtype=np.int64)
        stride = 1
        for a in range(self.d):
            out += rc[:, a] * stride
            stride *= self.root_grid[a]
        return out

    def element_ids(self, leaves: np.ndarray | None = None) -> np.ndarray:
        """A 64-bit hash identifying each leaf by (level, coords): the key of its random samples."""
        sel = slice(None) if leaves is None else leaves
        h = splitmix64(self.levels[sel].astype(np.uint64))
        for a in range(self.d):
            h = splitmix64(h ^ self.coords[sel][:, a].astype(np.uint64))
        return h

    # ------------------------------------------------------------------ elements by key
    def element_keys(self, key_level: int, leaves: np.ndarray | None = None) -> np.ndarray:
        """An exact int64 key per leaf: its lower corner packed at ``key_level``, then its level (5 bits).

        Unlike :meth:`element_ids` (a hash, for random samples), two elements have the same key only if
        they are the same element; keys of elements at levels up to ``key_level`` are comparable.
        """
        sel = slice(None) if leaves is None else leaves
        levels = self.levels[sel]
        if levels.size and (int(levels.max()) > key_level or key_level >= 32):
            raise ValueError(f"element keys at level {key_level} cannot hold levels up to {int(levels.max())}")
        lower = self.coords[sel] << (key_level - levels)[:, None]
        packed = self.pack_vertices(lower, key_level)
        if sum(self._vertex_bits(key_level)) + 5 > MAX_KEY_BITS + 1:
            raise ValueError(f"tree too deep for 64-bit element keys (level {key_level}, root grid {self.root_grid})")
        return (packed << 5) | levels

    def elements(self, levels: np.ndarray, coords: np.ndarray) -> LinearTree:
        """A tree holding the given elements as its leaves (for testing elements that are not leaves yet)."""
        return LinearTree(self.root_grid, self.bounds, np.asarray(levels, np.int64), np.asarray(coords, np.int64))

    @staticmethod
    def children(levels: np.ndarray, coords: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Levels and coordinates of the 2^d children of each element, children of one element together."""
        offs = corner_offsets(d)
        child_coords = (2 * np.asarray(coords, np.int64)[:, None, :] + offs[None, :, :]).reshape(-1, d)
        return np.repeat(np.asarray(levels, np.int64) + 1, 2**d), child_coords

    def refined_by(self, levels: np.ndarray, coords: np.ndarray) -> LinearTree:
        """This tree after refining the given elements, listed parents before children.

        Each element must be a leaf of the tree at the moment it is refined (so a child may follow its
        parent in the list), e.g. a prefix of a refinement order.
        """
        levels = np.asarray(levels, np.int64)
        coords = np.asarray(coords, np.int64).reshape(-1, self.d)
        tree: LinearTree = self
        if levels.size == 0:
            return tree
        key_level = max(int(levels.max()) + 1, self.max_level)
        for lvl in np.unique(levels):  # a parent is always refined in an earlier pass than its children
            sel = levels == lvl
            keys = tree.element_keys(key_level)
            order = np.argsort(keys)
            wanted = tree.elements(levels[sel], coords[sel]).element_keys(key_level)
            pos = np.searchsorted(keys, wanted, sorter=order)
            pos = np.minimum(pos, keys.size - 1)
            found = order[pos]
            if not np.array_equal(keys[found], wanted):
                raise ValueError("refined_by: an element to refine is not a leaf (is its parent listed first?)")
            tree = tree.refine(found)[0]
        return tree

    def vertex_keys(self, key_level: int) -> np.ndarray:
        """The distinct mesh vertices as sorted keys packed at ``key_level`` (their count is :meth:`dofs`)."""
        return np.unique(self.pack_vertices(self.corner_coords(key_level), key_level).ravel())

    def prefix_vertices(
        self, levels: np.ndarray, coords: np.ndarray, key_level: int, base: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """DOFs after refining each prefix of an ordered list of elements, and the vertices the list adds.

        Returns ``(dofs, keys, position)``: ``dofs[j]`` after refining the first ``j`` elements; each new
        vertex key once, with the position of the first element that adds it (so refining the first ``j``
        elements adds the keys whose position is below ``j``). Refining an element adds the points of its
        half-step lattice (its children's corners) that are not vertices yet, and the vertices of the tree
        never disappear, so every prefix follows from one sort. ``base``: this tree's :meth:`vertex_keys`
        at ``key_level``, when the caller has them.
        """
        levels = np.asarray(levels, np.int64)
        coords = np.asarray(coords, np.int64).reshape(-1, self.d)
        if base is None:
            base = self.vertex_keys(key_level)
        out = np.full(levels.size + 1, base.size, dtype=np.int64)
        if levels.size == 0:
            return out, np.empty(0, np.int64), np.empty(0, np.int64)
        lat = np.stack(np.meshgrid(*[np.arange(3)] * self.d, indexing="ij"), -1).reshape(-1, self.d)
        shift = (key_level - levels - 1)[:, None, None]
        points = ((2 * coords)[:, None, :] + lat[None, :, :]) << shift
        keys = self.pack_vertices(points, key_level).ravel()
        position = np.repeat(np.arange(levels.size), lat.shape[0])
        new = ~np.isin(keys, base, assume_unique=False)
        keys, position = keys[new], position[new]
        order = np.lexsort((position, keys))
        keys, position = keys[order], position[order]
        first = np.ones(keys.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        added = np.bincount(position[first], minlength=levels.size)
        out[1:] += np.cumsum(added)
        return out, keys[first], position[first]

    # ------------------------------------------------------------------ vertices / DOFs
    def _key_level(self, key_level: int | None) -> int:
        k = self.max_level if key_level is None else int(key_level)
        if k < self.max_level:
            raise ValueError(f"key level {k} is below the tree's depth {self.max_level}")
        return k

    def _vertex_bits(self, k: int) -> list[int]:
        bits = [int(n << k).bit_length() for n in self.root_grid]
        if sum(bits) > MAX_KEY_BITS:
            raise ValueError(f"tree too deep for 64-bit vertex keys (level {k}, root grid {self.root_grid})")
        return bits

    def corner_coords(self, key_level: int | None = None, leaves: np.ndarray | None = None) -> np.ndarray:
        """Integer corner coordinates at ``key_level``: ``(N, 2^d, d)`` int64."""
        k = self._key_level(key_level)
        sel = slice(None) if leaves is None else leaves
        shift = (k - self.levels[sel])[:, None, None]
        return (self.coords[sel][:, None, :] + corner_offsets(self.d)[None, :, :]) << shift

    def pack_vertices(self, fine: np.ndarray, key_level: int) -> np.ndarray:
        """Pack integer vertex coordinates at ``key_level`` into one int64 key per vertex."""
        bits = self._vertex_bits(key_level)
        fine = np.asarray(fine, dtype=np.int64)
        key = np.zeros(fine.shape[:-1], dtype=np.int64)
        shift = 0
        for a in range(self.d):
            key |= fine[..., a] << shift
            shift += bits[a]
        return key

    def unpack_vertices(self, keys: np.ndarray, key_level: int) -> np.ndarray:
        bits = self._vertex_bits(key_level)
        out = np.empty((np.size(keys), self.d), dtype=np.int64)
        shift = 0
        for a in range(self.d):
            out[:, a] = (np.asarray(keys) >> shift) & ((1 << bits[a]) - 1)
            shift += bits[a]
        return out

    def vertices(self, key_level: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Distinct mesh vertices.

        Returns
        -------
        keys : (V,) int64
            Sorted packed vertex keys at ``key_level`` (default: the tree's depth).
        corner_index : (N, 2^d) int64
            For each leaf corner, its index into ``keys``.
        """
        k = self._key_level(key_level)
        keys = self.pack_vertices(self.corner_coords(k), k)
        uniq, inverse = np.unique(keys.ravel(), return_inverse=True)
        return uniq, inverse.reshape(self.n_leaves, 2**self.d)

    def vertex_points(self, keys: np.ndarray, key_level: int) -> np.ndarray:
        """Physical coordinates of packed vertex keys: ``(V, d)`` float64."""
        fine = self.unpack_vertices(keys, key_level)
        step = (self.bounds[:, 1] - self.bounds[:, 0]) / (np.asarray(self.root_grid) * 2.0**key_level)
        pts = self.bounds[:, 0][None, :] + fine * step[None, :]
        return np.minimum(pts, self.bounds[:, 1][None, :])

    def dofs(self) -> int:
        """Distinct mesh vertices, hanging ones included (the paper's DOF count)."""
        return int(self.vertex_keys(self.max_level).size)

    def dofs_after_refining(self, leaves: np.ndarray) -> int:
        """DOFs the mesh would have after refining ``leaves``, without building the new tree."""
        idx = np.asarray(leaves, dtype=np.int64)
        k = max(self.max_level, int(self.levels[idx].max()) + 1 if idx.size else 0)
        keys = self.pack_vertices(self.corner_coords(k), k).ravel()
        if idx.size:
            # children's corners: the (3^d) points of the refined cell's half-step lattice
            lat = np.stack(np.meshgrid(*[np.arange(3)] * self.d, indexing="ij"), -1).reshape(-1, self.d)
            shift = (k - self.levels[idx] - 1)[:, None, None]
            extra = ((2 * self.coords[idx])[:, None, :] + lat[None, :, :]) << shift
            keys = np.concatenate([keys, self.pack_vertices(extra, k).ravel()])
        return int(np.unique(keys).size)

    def hanging_vertices(
        self, keys: np.ndarray | None = None, key_level: int | None = None, chunk: int = 1 << 20
    ) -> np.ndarray:
        """Boolean mask: vertex lies inside an edge or face of a coarser neighbouring leaf.

        A vertex is hanging when some leaf containing it does not have it as a corner; only vertices
        finer than the coarsest level can be.
        """
        k = self._key_level(key_level)
        if keys is None:
            keys = self.vertices(k)[0]
        fine = self.unpack_vertices(keys, k)
        hanging = np.zeros(fine.shape[0], dtype=bool)
        if self.n_leaves == 0 or self.levels.min() == self.max_level:
            return hanging
        # level of the coarsest grid each vertex lies on; only those finer than the coarsest leaf matter
        tz = np.full(fine.shape[0], k, dtype=np.int64)
        for a in range(self.d):
            col = fine[:, a]
            low = np.where(col == 0, k, _trailing_zeros(col, k))
            tz = np.minimum(tz, low)
        own_level = k - tz
        cand = np.flatnonzero(own_level > self.levels.min())
        extent = np.asarray(self.root_grid, dtype=np.int64) << k
        offs = corner_offsets(self.d)
        for start in range(0, cand.size, chunk):
            c = cand[start : start + chunk]
            lowest = np.full(c.size, np.iinfo(np.int64).max)
            for o in offs:
                cell = fine[c] - 1 + o[None, :]
                inside = np.all((cell >= 0) & (cell < extent[None, :]), axis=1)
                leaf = self._locate_fine(np.clip(cell, 0, extent[None, :] - 1), k)
                lv = np.where(inside, self.levels[leaf], np.iinfo(np.int64).max)
                lowest = np.minimum(lowest, lv)
            hanging[c] = lowest < own_level[c]
        return hanging

    def conforming_dofs(self) -> int:
        """DOFs excluding hanging vertices.

        Counted from the corner incidences alone: each of the orthants around a vertex lies in exactly
        one leaf, a leaf that has the vertex as a corner covers exactly one of them, and a leaf that
        contains it otherwise covers several. So a vertex is not hanging exactly when it is a corner
        of as many leaves as it has orthants inside the domain (two per axis along which it is
        interior, one along which it is on the boundary). The same count as :meth:`hanging_vertices`
        gives, without locating any neighbour.
        """
        k = self.max_level
        keys, corners = np.unique(self.pack_vertices(self.corner_coords(k), k).ravel(), return_counts=True)
        fine = self.unpack_vertices(keys, k)
        extent = np.asarray(self.root_grid, dtype=np.int64) << k
        interior_axes = np.count_nonzero((fine > 0) & (fine < extent[None, :]), axis=1)
        return int(np.count_nonzero(corners == (1 << interior_axes)))

    # ------------------------------------------------------------------ point location
    @cached_property
    def _locator(self) -> tuple[int, np.ndarray, np.ndarray]:
        k = self.max_level
        if self.d * k + int(self.n_roots - 1).bit_length() > MAX_KEY_BITS:
            raise ValueError(f"tree too deep for 64-bit location keys (level {k}, {self.n_roots} roots)")
        local = self.coords - ((self.coords >> self.levels[:, None]) << self.levels[:, None])
        local = local << (k - self.levels)[:, None]
        start = (self.root_index() << (self.d * k)) | morton_encode(local, k)
        order = np.argsort(start, kind="stable")
        return k, start[order], order

    def _locate_fine(self, fine_cells: np.ndarray, k: int) -> np.ndarray:
        """Leaf containing each fine cell (integer coords at level ``k`` = the tree depth)."""
        kk, starts, order = self._locator
        if k != kk:
            fine_cells = fine_cells >> (k - kk) if k > kk else fine_cells << (kk - k)
        root = fine_cells >> kk
        rlin = np.zeros(fine_cells.shape[0], dtype=np.int64)
        stride = 1
        for a in range(self.d):
            rlin += root[:, a] * stride
            stride *= self.root_grid[a]
        key = (rlin << (self.d * kk)) | morton_encode(fine_cells - (root << kk), kk)
        pos = np.searchsorted(starts, key, side="right") - 1
        return order[pos]

    def locate(self, points: np.ndarray) -> np.ndarray:
        """Index of the leaf containing each point (upper domain faces included); -1 outside."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, self.d)
        k = self.max_level
        extent = np.asarray(self.root_grid, dtype=np.int64) << k
        rel = (pts - self.bounds[:, 0]) / (self.bounds[:, 1] - self.bounds[:, 0])
        inside = np.all((rel >= 0.0) & (rel <= 1.0), axis=1)
        fine = np.clip(np.floor(np.where(inside[:, None], rel, 0.0) * extent).astype(np.int64), 0, extent - 1)
        leaf = self._locate_fine(fine, k)
        return np.where(inside, leaf, -1)

    def interpolate(
        self, points: np.ndarray, vertex_values: np.ndarray, corner_index: np.ndarray, chunk: int = 1 << 20
    ) -> np.ndarray:
        """Multilinear interpolant of vertex values inside the leaf containing each point.

        Each leaf interpolates its own 2^d corner values (the paper's definition: hanging vertices
        carry the INR's value, not a constrained one). Points outside the domain give NaN.

        Parameters
        ----------
        points : (M, d) array
        vertex_values : (V,) array
            One value per vertex, indexed like ``keys`` of :meth:`vertices`.
        corner_index : (N, 2^d) int array
            From :meth:`vertices`.
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, self.d)
        out = np.empty(pts.shape[0], dtype=np.float64)
        offs = corner_offsets(self.d)
        vals = np.asarray(vertex_values, dtype=np.float64)
        for s in range(0, pts.shape[0], chunk):
            p = pts[s : s + chunk]
            leaf = self.locate(p)
            ok = leaf >= 0
            lf = np.where(ok, leaf, 0)
            lower, upper = self.leaf_bounds(lf)
            u = np.clip((p - lower) / (upper - lower), 0.0, 1.0)
            corner_vals = vals[corner_index[lf]]  # (m, 2^d)
            w = np.prod(np.where(offs[None, :, :] == 1, u[:, None, :], 1.0 - u[:, None, :]), axis=2)
            res = np.einsum("mc,mc->m", w, corner_vals)
            out[s : s + chunk] = np.where(ok, res, np.nan)
        return out

    # ------------------------------------------------------------------ breadth-first order
    def breadth_first(self) -> BreadthFirstNodes:
        """All nodes (leaves and their ancestors) of every root tree, in per-tree breadth-first order.

        Within a tree, nodes are ordered by level, then by their path of child indices from the
        root (a Morton code with x in the lowest bit of each digit), which is the order
        ``vtkHyperTree.BuildFromBreadthFirstOrderDescriptor`` expects.
        """
        d = self.d
        nchild = 2**d
        depth = self.max_level
        root_of_leaf = self.root_index()
        local = self.coords - ((self.coords >> self.levels[:, None]) << self.levels[:, None])
        per_level_root, per_level_code, per_level_leaf = [], [], []
        up_root = np.empty(0, np.int64)
        up_code = np.empty(0, np.int64)
        for lvl in range(depth, -1, -1):
            at = np.flatnonzero(self.levels == lvl)
            roots = np.concatenate([root_of_leaf[at], up_root])
            codes = np.concatenate([morton_encode(local[at], lvl), up_code])
            leaf_idx = np.concatenate([at, np.full(up_root.size, -1, np.int64)])
            if roots.size:
                key = roots << (d * lvl) | codes if d * lvl + int(self.n_roots).bit_length() <= MAX_KEY_BITS else None
                order = np.lexsort((codes, roots)) if key is None else np.argsort(key, kind="stable")
                roots, codes, leaf_idx = roots[order], codes[order], leaf_idx[order]
            per_level_root.append(roots)
            per_level_code.append(codes)
            per_level_leaf.append(leaf_idx)
            if lvl > 0 and roots.size:
                # parents of everything at this level; children of one parent are contiguous
                pr, pc = roots, codes >> d
                first = np.ones(pr.size, dtype=bool)
                first[1:] = (pr[1:] != pr[:-1]) | (pc[1:] != pc[:-1])
                up_root, up_code = pr[first], pc[first]
            else:
                up_root = np.empty(0, np.int64)
                up_code = np.empty(0, np.int64)
        per_level_root.reverse()
        per_level_code.reverse()
        per_level_leaf.reverse()
        level = np.concatenate([np.full(r.size, l, np.int64) for l, r in enumerate(per_level_root)])
        root = np.concatenate(per_level_root)
        code = np.concatenate(per_level_code)
        leaf_index = np.concatenate(per_level_leaf)
        order = np.lexsort((code, level, root))
        root, level, code, leaf_index = root[order], level[order], code[order], leaf_index[order]
        is_refined = leaf_index < 0
        counts = np.bincount(root, minlength=self.n_roots)  # zero for root cells without leaves
        tree_start = np.concatenate([[0], np.cumsum(counts)])
        tree_depth = np.zeros(self.n_roots, np.int64)
        np.maximum.at(tree_depth, root, level)
        # children of refined node n: the nodes of the same tree at level+1 with code >> d == code(n);
        # they are contiguous, and refined nodes at a level are in the same order as their child blocks
        children_start = np.full(root.size, -1, np.int64)
        pos = np.flatnonzero(is_refined)
        if pos.size:
            # within a tree, blocks at level l+1 follow the refined nodes at level l in order
            # global rank of each refined node among refined nodes of (tree, level):
            key_tl = root[pos] * (depth + 2) + level[pos]
            first_of_group = np.r_[True, key_tl[1:] != key_tl[:-1]]
            group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(pos.size), 0))
            rank = np.arange(pos.size) - group_start
            # start of level (l+1) inside each tree
            lvl_key_all = root * (depth + 2) + level
            next_level_start = np.searchsorted(lvl_key_all, key_tl + 1, side="left")
            children_start[pos] = next_level_start + rank * nchild
        return BreadthFirstNodes(
            root=root,
            level=level,
            is_refined=is_refined,
            leaf_index=leaf_index,
            children_start=children_start,
            tree_start=tree_start,
            tree_depth=tree_depth,
            n_children=nchild,
        )


def _trailing_zeros(x: np.ndarray, cap: int) -> np.ndarray:
    """Number of trailing zero bits of positive integers (capped)."""
    x = np.asarray(x, dtype=np.int64)
    low = x & -x
    with np.errstate(divide="ignore"):
        tz = np.where(low > 0, np.log2(np.maximum(low, 1)).round().astype(np.int64), cap)
    return np.minimum(tz, cap)
