"""The vtkHyperTreeGrid / vtkUnstructuredGrid adapter, checked by walking the real VTK objects."""

from __future__ import annotations

import os

import numpy as np
import pytest
import vtk
from vtkmodules.util import numpy_support

from helpers import ct_like_inr, leaf_records, node_records
from inr_amr_core import refine
from inr_amr_core.vtk import (
    HyperTreeGridCache,
    result_to_hypertreegrid,
    result_to_unstructured_grid,
    tree_to_hypertreegrid,
    write_htg,
    write_vtu,
)


def walk_leaves(htg, array="value"):
    """(bounds, value, level array) of every leaf, found with VTK's own geometry cursor."""
    return [(tuple(r[:6]), r[6], r[7]) for r in leaf_records(htg, (array, "level"))]


def check_htg_against_result(htg, res, inr):
    leaves = walk_leaves(htg, inr.output_names[0])
    d = res.tree.d
    assert len(leaves) == res.tree.n_leaves == htg.GetNumberOfLeaves()
    b = np.array([l[0] for l in leaves])
    lo, hi = b[:, 0::2][:, :d], b[:, 1::2][:, :d]
    ours_lo, ours_hi = res.tree.leaf_bounds()
    key = lambda l, h: set(map(tuple, np.round(np.hstack([l, h]), 10)))
    assert key(lo, hi) == key(ours_lo, ours_hi)
    centres = 0.5 * (lo + hi)
    direct = inr.evaluate(res.space.to_inputs(centres))[:, 0]
    np.testing.assert_allclose([l[1] for l in leaves], direct, rtol=1e-6, atol=1e-7)
    sizes = (hi - lo)[:, 0]
    root = (res.tree.bounds[0, 1] - res.tree.bounds[0, 0]) / res.tree.root_grid[0]
    np.testing.assert_allclose(sizes, root / 2.0 ** np.array([l[2] for l in leaves]))


def test_hos_htg_leaves_and_values(hos):
    res = refine(hos, method="pruning", max_dofs=3000, device="cpu")
    htg = result_to_hypertreegrid(res)
    assert htg.GetDimension() == 2
    check_htg_against_result(htg, res, hos)
    cd = htg.GetCellData()
    names = {cd.GetArrayName(i) for i in range(cd.GetNumberOfArrays())}
    assert {"value", "level", "kept_proportion", "pruned_error", "tested_iteration"} <= names


def test_3d_multi_root_htg():
    inr = ct_like_inr(width=16, layers=2, features=8)
    res = refine(
        inr,
        method="basic",
        tau=0.05,
        time=-0.5,
        root_grid=(2, 1, 3),
        uniform_refinements=1,
        max_iterations=2,
        max_dofs=None,
        device="cpu",
        strategy="thresholds",
    )
    assert res.tree.levels.min() != res.tree.levels.max()  # genuinely adaptive
    htg = result_to_hypertreegrid(res)
    assert htg.GetDimension() == 3
    check_htg_against_result(htg, res, inr)


@pytest.mark.parametrize("split", [False, True])
def test_partial_roots_build_only_their_trees(split):
    inr = ct_like_inr(width=8, layers=2, features=4)
    res = refine(
        inr,
        method="uniform",
        root_grid=(2, 2, 1),
        uniform_refinements=1,
        max_iterations=0,
        device="cpu",
        strategy="thresholds",
    )
    htg = tree_to_hypertreegrid(res.tree, {"value": res.leaf_values()}, roots=[1, 2], split_roots=split)
    assert htg.GetNumberOfLeaves() == 2 * 8
    lo = np.array([l[0][0::2] for l in walk_leaves(htg)])
    # the leaves are those of root cells 1 = (1, 0, 0) and 2 = (0, 1, 0)
    assert set(map(tuple, np.floor(lo[:, :2] + 1 + 1e-9).astype(int))) == {(1, 0), (0, 1)}


def test_refined_cells_hold_mean_of_children(hos):
    res = refine(hos, method="uniform", uniform_refinements=1, max_iterations=0, device="cpu", strategy="thresholds")
    htg = tree_to_hypertreegrid(res.tree, {"value": res.leaf_values()}, split_roots=False)
    vals = numpy_support.vtk_to_numpy(htg.GetCellData().GetArray("value"))
    assert vals.size == 5  # root + 4 children
    assert vals[0] == pytest.approx(vals[1:].mean())
    # by default the level-1 cells become the HTG's root trees (VTK's contour needs several trees)
    split = tree_to_hypertreegrid(res.tree, {"value": res.leaf_values()})
    assert split.GetMaxNumberOfTrees() == 4 and split.GetNumberOfLeaves() == 4
    assert numpy_support.vtk_to_numpy(split.GetCellData().GetArray("level")).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("d", [2, 3])
def test_refined_cells_hold_the_volume_mean_of_their_leaves(d):
    """Every node VTK's cursor finds holds the volume-weighted mean of the leaves inside its box."""
    from inr_amr_core.tree import LinearTree

    rng = np.random.default_rng(7 + d)
    tree = LinearTree.uniform((2,) + (1,) * (d - 1), [[0.0, 1.0]] * d, level=1)
    for _ in range(3):
        tree = tree.refine(np.flatnonzero(rng.random(tree.n_leaves) < 0.35))[0]
    values = rng.random(tree.n_leaves)
    htg = tree_to_hypertreegrid(tree, {"value": values}, split_roots=False)
    nodes = node_records(htg, "value")
    leaves = nodes[nodes[:, 7] == 1]
    assert len(leaves) == tree.n_leaves
    lo, hi = leaves[:, 0:6:2][:, :d], leaves[:, 1:6:2][:, :d]
    volume = np.prod(hi - lo, axis=1)
    checked = 0
    for row in nodes[nodes[:, 7] == 0]:
        nlo, nhi = row[0:6:2][:d], row[1:6:2][:d]
        inside = np.all((lo >= nlo - 1e-12) & (hi <= nhi + 1e-12), axis=1)
        assert np.isclose(volume[inside].sum(), np.prod(nhi - nlo))  # the node's leaves tile it
        assert row[6] == pytest.approx(np.sum(volume[inside] * leaves[inside, 6]) / volume[inside].sum())
        checked += 1
    assert checked > 10


def test_single_root_contour_works(ct_inr):
    import vtk as _vtk

    res = refine(
        ct_inr, method="uniform", uniform_refinements=2, max_iterations=0, time=1.0, device="cpu", strategy="thresholds"
    )
    htg = result_to_hypertreegrid(res)
    vals = res.leaf_values()
    contour = _vtk.vtkHyperTreeGridContour()
    contour.SetInputData(htg)
    contour.SetValue(0, 0.5 * (vals.min() + vals.max()))
    contour.SetInputArrayToProcess(0, 0, 0, _vtk.vtkDataObject.FIELD_ASSOCIATION_CELLS, "value")
    contour.Update()
    assert contour.GetOutput().GetNumberOfPoints() > 0


def test_write_and_read_back(tmp_path, hos):
    res = refine(hos, method="pruning", max_dofs=800, device="cpu")
    path = write_htg(result_to_hypertreegrid(res), tmp_path / "out" / "hos.htg")
    reader = vtk.vtkXMLHyperTreeGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    back = reader.GetOutput()
    assert back.GetNumberOfLeaves() == res.tree.n_leaves
    check_htg_against_result(back, res, hos)
    assert oct(os.stat(path).st_mode & 0o777) != "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["hos.htg"]  # no temporary file left behind

    vtu = write_vtu(result_to_unstructured_grid(res), tmp_path / "hos.vtu")
    r2 = vtk.vtkXMLUnstructuredGridReader()
    r2.SetFileName(str(vtu))
    r2.Update()
    ug = r2.GetOutput()
    assert ug.GetNumberOfCells() == res.tree.n_leaves
    assert ug.GetNumberOfPoints() == res.dofs
    pts = numpy_support.vtk_to_numpy(ug.GetPoints().GetData())[:, :2]
    np.testing.assert_allclose(
        numpy_support.vtk_to_numpy(ug.GetPointData().GetArray("value")), hos.evaluate(pts)[:, 0], rtol=1e-6, atol=1e-7
    )


def test_failed_write_leaves_nothing(tmp_path):
    """Writers go through atomic_write: a failure half-way leaves the previous file untouched."""
    from inr_amr_core.fileio import atomic_write

    target = tmp_path / "x.htg"
    target.write_text("previous content")

    def half_then_fail(tmp):
        with open(tmp, "w") as fh:
            fh.write("<VTKFile partial")
        raise OSError("disk full (simulated)")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["x.htg"]


def test_grid_cache_keeps_the_recent_grids_within_its_limits(hos):
    """Least recently used out first, by count and by the grids' own memory; the latest always stays."""
    grids = [result_to_hypertreegrid(refine(hos, max_dofs=n)) for n in (500, 1000, 2000)]
    sizes = [g.GetActualMemorySize() * 1024 for g in grids]
    cache = HyperTreeGridCache(max_entries=2)
    for i, g in enumerate(grids):
        cache.put(i, g, note=i)
    assert len(cache) == 2 and cache.get(0) is None
    assert cache.get(1)[0] is grids[1] and cache.get(2) == (grids[2], 2)
    assert cache.memory_used() == sizes[1] + sizes[2]
    # room for the two smaller grids only: the largest evicts them both, and is kept although over the limit
    cache = HyperTreeGridCache(memory_mb=(sizes[0] + sizes[1]) / 2**20)
    cache.put(0, grids[0])
    cache.put(1, grids[1])
    assert len(cache) == 2
    cache.get(0)  # now the most recent of the two
    cache.put(2, grids[2])
    assert len(cache) == 1 and cache.get(2)[0] is grids[2]
    cache = HyperTreeGridCache(memory_mb=(sizes[0] + sizes[2]) / 2**20)
    cache.put(0, grids[0])
    cache.put(1, grids[1])
    cache.get(0)
    cache.put(2, grids[2])  # 1 was used least recently: it goes, 0 stays
    assert cache.get(1) is None and cache.get(0)[0] is grids[0]
    cache.clear()
    assert len(cache) == 0 and cache.memory_used() == 0
