"""The refinement loop: determinism, budgets, criteria semantics, slicing, partitions, progress."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from helpers import ct_like_inr
from inr_amr_core import (
    BudgetError,
    RefinementCancelled,
    RefinementSettings,
    SampleStream,
    SpaceSlice,
    refine,
)
from inr_amr_core.criteria import RelativeError
from inr_amr_core.metrics import ReferenceSample

PAPER_2D = dict(
    strategy="thresholds",
    id_method="exact",
    threshold=0.1,
    proportion=0.09,
    eps=1e-3,
    tau=0.1,
    id_samples=256,
    error_samples=32,
    uniform_refinements=2,
    max_iterations=9,
    max_dofs=10_000,
    device="cpu",
)


def leaf_set(result):
    return set(zip(result.tree.levels.tolist(), map(tuple, result.tree.coords.tolist())))


def test_same_seed_same_mesh(hos):
    a = refine(hos, method="pruning", **{**PAPER_2D, "max_iterations": 5})
    b = refine(hos, method="pruning", **{**PAPER_2D, "max_iterations": 5})
    assert leaf_set(a) == leaf_set(b)
    np.testing.assert_array_equal(a.diagnostics["kept_proportion"], b.diagnostics["kept_proportion"])


def test_seed_changes_samples(hos):
    a = refine(hos, method="pruning", **{**PAPER_2D, "max_iterations": 6})
    c = refine(hos, method="pruning", seed=99, **{**PAPER_2D, "max_iterations": 6})
    assert not np.array_equal(a.diagnostics["kept_proportion"], c.diagnostics["kept_proportion"]) or leaf_set(
        a
    ) != leaf_set(c)


@pytest.mark.parametrize("method", ["uniform", "basic", "pruning"])
def test_budget_is_never_exceeded(hos, method):
    res = refine(hos, method=method, **{**PAPER_2D, "max_dofs": 3000, "tau": 0.01})
    assert all(row["dofs"] <= 3000 for row in res.iterations)
    assert res.tree.dofs() <= 3000
    if method != "uniform":
        assert res.stop_reason == "max_dofs" and res.dofs > 2500  # it used the budget
    else:
        assert res.dofs == 1089  # the next uniform level (4225) would not fit


def test_initial_mesh_over_budget_is_an_error(hos):
    with pytest.raises(BudgetError, match="max_dofs"):
        refine(hos, method="uniform", uniform_refinements=4, max_dofs=100, strategy="thresholds")


def test_uniform_is_uniform(hos):
    res = refine(
        hos,
        method="uniform",
        uniform_refinements=1,
        max_iterations=3,
        max_dofs=None,
        device="cpu",
        strategy="thresholds",
    )
    assert [r["dofs"] for r in res.iterations] == [9, 25, 81, 289]
    assert np.all(res.tree.levels == 4)


def test_only_new_children_are_tested(hos):
    res = refine(hos, method="pruning", **PAPER_2D)
    rows = res.iterations
    for prev, cur in itertools.pairwise(rows[1:]):
        # the leaves tested in an iteration are exactly the children created by the previous one
        assert cur["tested"] == prev["refined"] * 4
    done_or_new = res.done | (res.tested_iteration == -1) | (res.tested_iteration == rows[-1]["iteration"])
    assert np.all(done_or_new)


@pytest.mark.parametrize("k", [1, 2])
def test_untested_levels_fill_the_last_tested_refinement_uniformly(hos, k):
    """``untested_levels = k`` is Algorithm 1 with k fewer tested iterations, after which the children
    its last iteration made are split k more times without a test: built here from that shorter run
    by subdividing its deepest leaves by hand."""
    kw = {**PAPER_2D, "max_iterations": 5, "max_dofs": None, "proportion": 0.12}
    run = refine(hos, method="pruning", untested_levels=k, **kw)
    tested = refine(hos, method="pruning", **{**kw, "max_iterations": 5 - k})
    deepest = kw["uniform_refinements"] + 5 - k
    expected = set()
    for level, coords in leaf_set(tested):
        if level < deepest:
            expected.add((level, coords))
            continue
        for offset in itertools.product(range(2**k), repeat=len(coords)):
            expected.add((level + k, tuple((c << k) + o for c, o in zip(coords, offset))))
    assert any(level == deepest for level, _ in leaf_set(tested))  # (the shorter run refines to its end)
    assert leaf_set(run) == expected
    tests = [row["tested"] for row in run.iterations[1:]]
    assert tests[: 5 - k] == [row["tested"] for row in tested.iterations[1:]] and not any(tests[5 - k :])


def test_basic_decisions_match_independent_computation(hos):
    """Recompute the Basic test of the first adaptive iteration by hand (bilinear interpolant)."""
    res = refine(hos, method="basic", **{**PAPER_2D, "max_iterations": 1})
    first = refine(hos, method="uniform", **{**PAPER_2D, "max_iterations": 0})
    tree = first.tree
    stream = SampleStream(0)
    u = stream.unit_samples(tree.element_ids(), 32, 2, "basic")
    lo, hi = tree.leaf_bounds()
    rel = RelativeError(
        "floored",
        RefinementSettings().error_floor,
        scale=float(
            np.sqrt(np.mean(hos.evaluate(stream.points_in_domain(np.zeros(2), np.ones(2), 4096, "probe"))[:, 0] ** 2))
        ),
    )
    refined_expected = 0
    for i in range(tree.n_leaves):
        corners = np.array([[lo[i, 0], lo[i, 1]], [hi[i, 0], lo[i, 1]], [lo[i, 0], hi[i, 1]], [hi[i, 0], hi[i, 1]]])
        cv = hos.evaluate(corners)[:, 0]
        pts = lo[i] + u[i] * (hi[i] - lo[i])
        interp = RegularGridInterpolator(([lo[i, 0], hi[i, 0]], [lo[i, 1], hi[i, 1]]), cv.reshape(2, 2, order="F"))(pts)
        f = hos.evaluate(pts)[:, 0]
        err = np.mean(np.abs(f - interp) / np.maximum(np.abs(f), rel.denominator_floor))
        assert res.iterations[1]["tested"] == tree.n_leaves
        refined_expected += err > 0.1
    assert res.iterations[1]["refined"] == refined_expected


def test_reference_error_mode(hos):
    ref = RelativeError("reference")
    f = np.array([[1.0, -2.0, 0.5]])
    g = np.array([[1.1, -2.0, 0.4]])
    assert ref.pruning(f, g)[0] == pytest.approx(np.mean(np.abs(f - g)) * np.mean(1 / np.abs(f + 5)))
    assert ref.basic(f, g)[0] == pytest.approx(np.mean(np.abs(f - g)) * np.mean(1 / np.abs(f)))
    floored = RelativeError("floored", floor=0.1, scale=2.0)
    f0 = np.array([[0.0, 1.0]])
    assert floored.pruning(f0, np.array([[0.01, 1.0]]))[0] == pytest.approx(0.01 / 0.2 / 2)
    res = refine(hos, method="pruning", relative_error="reference", **{**PAPER_2D, "max_iterations": 3})
    assert res.iterations[-1]["dofs"] > 25


def test_rmse_matches_dense_interpolation(hos):
    """Uniform mesh: the total RMSE equals scipy's bilinear grid interpolation at the same points."""
    res = refine(
        hos,
        method="uniform",
        uniform_refinements=3,
        max_iterations=0,
        max_dofs=None,
        device="cpu",
        strategy="thresholds",
    )
    ref = ReferenceSample.draw(hos, res.space, 20_000, seed=3)
    xs = np.linspace(0, 1, 9)
    grid = hos.evaluate(np.stack(np.meshgrid(xs, xs, indexing="ij"), -1).reshape(-1, 2))[:, 0].reshape(9, 9)
    dense = RegularGridInterpolator((xs, xs), grid)(ref.points)
    expected = np.sqrt(np.mean((dense - hos.evaluate(ref.points)[:, 0]) ** 2))
    assert res.total_rmse(reference=ref) == pytest.approx(expected, rel=1e-9)


def test_time_slice_and_fixed_inputs():
    inr = ct_like_inr(width=16, layers=2, features=8)
    res = refine(
        inr, method="uniform", time=0.7, uniform_refinements=1, max_iterations=1, device="cpu", strategy="thresholds"
    )
    assert res.space.axis_names == ("x", "y", "z")
    assert res.space.fixed_values == {"t": pytest.approx(0.7)}
    centers = res.tree.leaf_centers()
    full = np.column_stack([np.full(len(centers), 0.7), centers[:, 2], centers[:, 1], centers[:, 0]])
    np.testing.assert_allclose(res.leaf_values(), inr.evaluate(full)[:, 0], rtol=1e-6, atol=1e-7)
    # any input can be fixed: refine (t, x) at fixed y, z
    res2 = refine(
        inr,
        method="uniform",
        space_inputs=("x", "t"),
        fixed_inputs={"y": 0.1, "z": -0.2},
        uniform_refinements=1,
        max_iterations=0,
        device="cpu",
        strategy="thresholds",
    )
    assert res2.tree.d == 2 and res2.space.axis_names == ("x", "t")
    with pytest.raises(ValueError, match="outside the domain"):
        refine(inr, time=3.0, max_iterations=0)


def test_root_partition_union_equals_serial(ct_inr):
    settings = RefinementSettings(
        strategy="thresholds",
        method="pruning",
        threshold=1e-3,
        proportion=0.3,
        root_grid=(2, 2, 1),
        uniform_refinements=1,
        max_iterations=2,
        max_dofs=None,
        device="cpu",
        id_samples=64,
        error_samples=16,
    )
    serial = refine(ct_inr, settings, time=0.0)
    parts = [refine(ct_inr, settings, time=0.0, roots=r) for r in ([0, 3], [1], [2])]
    union = set().union(*(leaf_set(p) for p in parts))
    assert union == leaf_set(serial)
    assert sum(p.tree.n_leaves for p in parts) == serial.tree.n_leaves


def test_progress_and_cancel(hos):
    seen = []
    refine(hos, method="pruning", progress=lambda f, m: seen.append(f), **{**PAPER_2D, "max_iterations": 4})
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(seen))
    event = threading.Event()
    event.set()
    with pytest.raises(RefinementCancelled):
        refine(hos, method="pruning", cancel=event, **PAPER_2D)
    calls = {"n": 0}

    def cancel_later():
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(RefinementCancelled):
        refine(hos, method="basic", cancel=cancel_later, **PAPER_2D)


def test_settings_validation():
    with pytest.raises(ValueError, match="method: invalid value 'magic' \\(choose one of pruning, basic, uniform"):
        RefinementSettings(method="magic")
    with pytest.raises(ValueError, match=r"proportion \(P\) must be in \(0, 1\], got 1.5"):
        RefinementSettings(proportion=1.5)
    with pytest.raises(ValueError, match="tau must be > 0, got -1"):
        RefinementSettings(method="basic", tau=-1)
    with pytest.raises(ValueError, match="space input 'q'"):
        SpaceSlice.from_inr(ct_like_inr(8, 1, 4), space_inputs=("q",))
