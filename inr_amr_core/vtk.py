"""The only module of the core that imports VTK: trees and refinement results to VTK datasets.

``vtkHyperTreeGrid`` is built in bulk: one breadth-first descriptor bit array (MSB-first, as
``vtkBitArray`` stores bits) for all root trees, one ``BuildFromBreadthFirstOrderDescriptor`` call per
root tree, and cell arrays copied from numpy in the same per-tree breadth-first order. Refined
(non-leaf) cells carry the mean of their children, so coarse levels of detail stay meaningful.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkBitArray, vtkDoubleArray, vtkIntArray, vtkPoints, vtkStringArray
from vtkmodules.vtkCommonDataModel import (
    VTK_LINE,
    VTK_PIXEL,
    VTK_VOXEL,
    vtkCellArray,
    vtkHyperTreeGrid,
    vtkHyperTreeGridNonOrientedCursor,
    vtkUnstructuredGrid,
)

from .fileio import json_default
from .lru import trim_lru
from .tree import BreadthFirstNodes, LinearTree

if TYPE_CHECKING:
    from .diskcache import CachedMesh
    from .result import RefinementResult

__all__ = [
    "SUMMARY_FIELD",
    "HyperTreeGridCache",
    "result_to_hypertreegrid",
    "result_to_unstructured_grid",
    "tree_to_hypertreegrid",
    "write_htg",
    "write_vtu",
]

#: name of the field-data string array holding the run's JSON summary
SUMMARY_FIELD = "inr_amr_summary"
_CELL_TYPES = {1: VTK_LINE, 2: VTK_PIXEL, 3: VTK_VOXEL}


def _coordinates(lo: float, hi: float, n: int) -> vtkDoubleArray:
    arr = vtkDoubleArray()
    values = np.linspace(lo, hi, n + 1)
    arr.SetNumberOfTuples(values.size)
    for i, v in enumerate(values):
        arr.SetValue(i, float(v))
    return arr


def _zero_coordinate() -> vtkDoubleArray:
    arr = vtkDoubleArray()
    arr.SetNumberOfTuples(1)
    arr.SetValue(0, 0.0)
    return arr


def tree_to_hypertreegrid(
    tree: LinearTree,
    leaf_arrays: Mapping[str, np.ndarray] | None = None,
    *,
    roots: Sequence[int] | None = None,
    active_scalars: str | None = None,
    split_roots: bool = True,
) -> vtkHyperTreeGrid:
    """Build a ``vtkHyperTreeGrid`` whose leaves are the tree's leaves.

    When every leaf is below the root level, the HTG's root cells are the tree's level-1 cells
    (``split_roots``): the same geometry and leaves, but 2^d times more root trees. VTK 9.2's
    HyperTreeGrid contour (and dual grid) produce nothing inside a lone root tree, and the paper's
    meshes start from a single element. The ``level`` array always counts from the tree's roots.

    Parameters
    ----------
    tree : LinearTree
    leaf_arrays : mapping of str to (N,) array, optional
        Cell arrays given per leaf (in the tree's leaf order); refined cells get the mean of
        their children (NaN-aware: a refined cell is NaN only if all its children are).
    roots : sequence of int, optional
        Build only these root trees (the others stay empty), e.g. one MPI rank's share; default
        every root cell that holds leaves.
    active_scalars : str, optional
        Array to make the active scalars (default: the first one).

    Returns
    -------
    vtkHyperTreeGrid
    """
    level_offset = 0
    if split_roots and tree.n_leaves and tree.levels.min() >= 1:
        if roots is not None:  # root cells of the split grid that lie in the requested ones
            fine = LinearTree(tuple(2 * n for n in tree.root_grid), tree.bounds)
            parent = fine.coords >> 1
            lin = np.zeros(len(parent), np.int64)
            stride = 1
            for a in range(tree.d):
                lin += parent[:, a] * stride
                stride *= tree.root_grid[a]
            roots = fine.root_index(np.flatnonzero(np.isin(lin, np.asarray(roots, np.int64)))).tolist()
        tree = LinearTree(tuple(2 * n for n in tree.root_grid), tree.bounds, tree.levels - 1, tree.coords)
        level_offset = 1
    d = tree.d
    htg = vtkHyperTreeGrid()
    dims = [n + 1 for n in tree.root_grid] + [1] * (3 - d)
    htg.SetDimensions(*dims)
    htg.SetBranchFactor(2)
    coords = [_coordinates(tree.bounds[a, 0], tree.bounds[a, 1], tree.root_grid[a]) for a in range(d)]
    coords += [_zero_coordinate() for _ in range(3 - d)]
    htg.SetXCoordinates(coords[0])
    htg.SetYCoordinates(coords[1])
    htg.SetZCoordinates(coords[2])
    leaf_arrays = dict(leaf_arrays or {})
    if tree.n_leaves == 0:
        return htg
    nodes = tree.breadth_first()
    nchild = 2**d
    # descriptor bits of every tree, each tree's deepest level left out (it is all leaves)
    per_tree_levels = nodes.tree_depth[nodes.root]
    in_descriptor = nodes.level < per_tree_levels
    bits = nodes.is_refined[in_descriptor]
    bit_start = np.concatenate([[0], np.cumsum(np.bincount(nodes.root[in_descriptor], minlength=tree.n_roots))])
    packed = np.packbits(bits.astype(np.uint8))  # MSB-first, vtkBitArray's layout
    descriptor = vtkBitArray()
    # the array uses the packed bytes in place (no copy); keep them alive as long as it is used
    descriptor.SetVoidArray(packed, int(bits.size), 1)
    present = np.flatnonzero(np.diff(nodes.tree_start) > 0)
    build_roots = present if roots is None else np.intersect1d(np.asarray(roots, np.int64), present)
    keep = np.isin(nodes.root, build_roots)
    cursor = vtkHyperTreeGridNonOrientedCursor()
    offset = 0
    for r in build_roots.tolist():
        htg.InitializeNonOrientedCursor(cursor, int(r), True)
        cursor.SetGlobalIndexStart(offset)
        n_nodes = int(nodes.tree_start[r + 1] - nodes.tree_start[r])
        cursor.GetTree().BuildFromBreadthFirstOrderDescriptor(
            descriptor, int(bit_start[r + 1] - bit_start[r]), int(bit_start[r])
        )
        offset += n_nodes
    del descriptor, packed  # the trees are built; the descriptor is no longer referenced
    cd = htg.GetCellData()
    first = None
    for name, values in leaf_arrays.items():
        values = np.asarray(values)
        if values.shape[0] != tree.n_leaves:
            raise ValueError(f"array {name!r} has {values.shape[0]} values for {tree.n_leaves} leaves")
        if values.dtype.kind in "iub":
            node_vals = np.zeros(nodes.root.size, dtype=np.float64)
            leaf = nodes.leaf_index >= 0
            node_vals[leaf] = values[nodes.leaf_index[leaf]]
            node_vals[~leaf] = -1 if values.dtype.kind != "b" else 0
            node_vals = node_vals.astype(values.dtype if values.dtype.kind != "b" else np.uint8)
        else:
            node_vals = _aggregate_nan(nodes, values.astype(np.float64), nchild)
        arr = numpy_support.numpy_to_vtk(np.ascontiguousarray(node_vals[keep]), deep=1)
        arr.SetName(name)
        cd.AddArray(arr)
        first = first or name
    # level of every cell (refined ones included)
    level = numpy_support.numpy_to_vtk(
        np.ascontiguousarray((nodes.level[keep] + level_offset).astype(np.uint8)), deep=1
    )
    level.SetName("level")
    cd.AddArray(level)
    target = active_scalars or first
    if target is not None:
        cd.SetActiveScalars(target)
    return htg


def _aggregate_nan(nodes: BreadthFirstNodes, values: np.ndarray, nchild: int) -> np.ndarray:
    if not np.isnan(values).any():
        return nodes.aggregate(values)
    filled = nodes.aggregate(np.nan_to_num(values, nan=0.0))
    counts = nodes.aggregate((~np.isnan(values)).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, filled / np.where(counts > 0, counts, 1.0), np.nan)
    leaf = nodes.leaf_index >= 0
    out[leaf] = values[nodes.leaf_index[leaf]]
    return out


def _summary_array(summary: Mapping) -> vtkStringArray:
    arr = vtkStringArray()
    arr.SetName(SUMMARY_FIELD)
    arr.InsertNextValue(json.dumps(summary, default=json_default))
    return arr


def result_to_hypertreegrid(
    result: RefinementResult,
    *,
    diagnostics: bool = True,
    roots: Sequence[int] | None = None,
    leaf_values: np.ndarray | None = None,
) -> vtkHyperTreeGrid:
    """A :class:`~inr_amr_core.amr.RefinementResult` as a ``vtkHyperTreeGrid``.

    Cell arrays: the INR output (named after it, e.g. ``value``) at leaf centres, ``level``, and
    per leaf the diagnostics of its last test (``kept_proportion`` and ``pruned_error`` for Pruning,
    ``basic_error`` for Basic; NaN where untested) and ``tested_iteration`` (-1 where untested).
    Field data ``inr_amr_summary`` holds the run's JSON summary.
    """
    htg = tree_to_hypertreegrid(result.tree, result.cell_arrays(leaf_values, diagnostics), roots=roots)
    add_run_fields(htg, result.summary())
    return htg


def cached_to_hypertreegrid(mesh: CachedMesh, *, roots: Sequence[int] | None = None) -> vtkHyperTreeGrid:
    """A mesh read back from the disk cache as a ``vtkHyperTreeGrid`` (the same arrays and field data)."""
    htg = tree_to_hypertreegrid(mesh.tree, mesh.arrays, roots=roots)
    add_run_fields(htg, mesh.summary)
    return htg


def add_run_fields(data: Any, summary: Mapping) -> None:
    """Field data a user reads in ParaView's Information tab: how the run stopped, its DOFs and leaves,
    and the whole JSON summary."""
    fd = data.GetFieldData()
    fd.AddArray(_summary_array(summary))
    stop = vtkStringArray()
    stop.SetName("stop_reason")
    stop.InsertNextValue(str(summary.get("stop_reason", "")))
    fd.AddArray(stop)
    for name, value in (("dofs", int(summary.get("dofs", 0))), ("leaves", int(summary.get("leaves", 0)))):
        arr = vtkIntArray() if value < 2**31 else vtkDoubleArray()
        arr.SetName(name)
        arr.InsertNextValue(value)
        fd.AddArray(arr)


class HyperTreeGridCache:
    """The HyperTreeGrids a reader built, by the key of their mesh: showing one again (a revisited time step,
    a property switched back) is a shallow copy instead of a rebuild from the mesh.

    At 1,000,000 DOFs the rebuild took 0.36 s per revisit in pvbatch (docs/results.md, "Scrubbing through
    time"). The least recently used grid goes first when there are more than ``max_entries`` or their
    memory (VTK's ``GetActualMemorySize``) exceeds ``memory_mb``; the most recent one always stays. The reader
    gives it a third of its Cache Memory property.

    Parameters
    ----------
    memory_mb : float, default 1024
        Memory the cached grids may hold together.
    max_entries : int, default 16
        Grids kept at most.

    Examples
    --------
    >>> from vtkmodules.vtkCommonDataModel import vtkHyperTreeGrid
    >>> cache = HyperTreeGridCache(memory_mb=64)
    >>> grid = vtkHyperTreeGrid()
    >>> cache.put(("settings", 0.5), grid, note={"leaves": 0})
    >>> cache.get(("settings", 0.5))[0] is grid
    True
    >>> cache.get(("settings", 1.0)) is None
    True
    """

    def __init__(self, memory_mb: float = 1024.0, max_entries: int = 16) -> None:
        self.memory_bytes = int(memory_mb * 2**20)
        self.max_entries = max_entries
        self._grids: OrderedDict[Hashable, tuple[vtkHyperTreeGrid, Any, int]] = OrderedDict()
        self.hits = 0

    def get(self, key: Hashable) -> tuple[vtkHyperTreeGrid, Any] | None:
        """``(grid, note)`` stored under ``key``, or None."""
        found = self._grids.get(key)
        if found is None:
            return None
        self._grids.move_to_end(key)
        self.hits += 1
        return found[0], found[1]

    def put(self, key: Hashable, grid: vtkHyperTreeGrid, note: Any = None) -> None:
        """Keep ``grid`` (and ``note``, anything the caller wants back with it) under ``key``."""
        self._grids[key] = (grid, note, int(grid.GetActualMemorySize()) * 1024)
        self._grids.move_to_end(key)
        self._evict()

    def limit_memory(self, memory_mb: float) -> None:
        """Keep the grids within ``memory_mb`` from now on (the least recently used go first)."""
        self.memory_bytes = int(memory_mb * 2**20)
        self._evict()

    def _evict(self) -> None:
        trim_lru(self._grids, lambda entry: entry[2], self.max_entries, self.memory_bytes)

    def memory_used(self) -> int:
        """Bytes the cached grids hold."""
        return sum(size for _, _, size in self._grids.values())

    def clear(self) -> None:
        """Forget every grid (the checkpoint or how it is loaded changed)."""
        self._grids.clear()

    def __len__(self) -> int:
        return len(self._grids)


def result_to_unstructured_grid(result: RefinementResult) -> vtkUnstructuredGrid:
    """The mesh as pixels / voxels with the INR sampled at every vertex (point data).

    This is the paper's discretisation: its multilinear interpolant is the mesh's field.
    """
    tree = result.tree
    keys, values, corner_index = result.mesh_values()
    pts = result.vertex_points(keys)
    pts3 = np.zeros((pts.shape[0], 3))
    pts3[:, : tree.d] = pts
    points = vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(pts3, deep=1))
    ug = vtkUnstructuredGrid()
    ug.SetPoints(points)
    nc = 2**tree.d
    conn = np.ascontiguousarray(corner_index.astype(np.int64).ravel())
    offsets = np.arange(0, conn.size + 1, nc, dtype=np.int64)
    cells = vtkCellArray()
    cells.SetData(
        numpy_support.numpy_to_vtkIdTypeArray(offsets, deep=1), numpy_support.numpy_to_vtkIdTypeArray(conn, deep=1)
    )
    ug.SetCells(_CELL_TYPES[tree.d], cells)
    comp = result.settings.output_component
    arr = numpy_support.numpy_to_vtk(np.ascontiguousarray(values), deep=1)
    arr.SetName(result.inr.output_names[comp])
    ug.GetPointData().AddArray(arr)
    ug.GetPointData().SetActiveScalars(arr.GetName())
    lvl = numpy_support.numpy_to_vtk(np.ascontiguousarray(tree.levels.astype(np.uint8)), deep=1)
    lvl.SetName("level")
    ug.GetCellData().AddArray(lvl)
    for key, vals in result.diagnostics.items():
        a = numpy_support.numpy_to_vtk(np.ascontiguousarray(vals), deep=1)
        a.SetName(key)
        ug.GetCellData().AddArray(a)
    add_run_fields(ug, result.summary())
    return ug


def _atomic_xml_write(writer: Any, data: Any, path: str | os.PathLike) -> Path:
    from .fileio import atomic_write

    def write(tmp: str) -> None:
        writer.SetFileName(tmp)
        writer.SetInputData(data)
        # inline binary: VTK 9.2's HyperTreeGrid writer produces unreadable files in appended mode
        writer.SetDataModeToBinary()
        writer.SetCompressorTypeToZLib()
        if writer.Write() != 1:
            raise OSError(f"VTK could not write {path}")

    return atomic_write(path, write)


def write_htg(htg: vtkHyperTreeGrid, path: str | os.PathLike) -> Path:
    """Write a ``.htg`` file atomically (a temporary file renamed into place)."""
    from vtkmodules.vtkIOXML import vtkXMLHyperTreeGridWriter

    return _atomic_xml_write(vtkXMLHyperTreeGridWriter(), htg, path)


def write_vtu(ug: vtkUnstructuredGrid, path: str | os.PathLike) -> Path:
    """Write a ``.vtu`` file atomically."""
    from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridWriter

    return _atomic_xml_write(vtkXMLUnstructuredGridWriter(), ug, path)
