"""The budget strategy against an independent, one-element-at-a-time definition of its mesh."""

from __future__ import annotations

import heapq
import itertools
import threading

import numpy as np
import pytest

from inr_amr_core import budget, refine
from inr_amr_core.run import prepare_run
from inr_amr_core.settings import RefinementSettings
from inr_amr_core.tree import LinearTree


def leaf_set(result) -> set:
    return set(zip(result.tree.levels.tolist(), map(tuple, result.tree.coords.tolist())))


def naive_budget_mesh(inr, settings: RefinementSettings) -> LinearTree:
    """The definition, run literally: always refine the leaf of largest effective score (ties: coarser
    first, then the smaller element key) while the next refinement fits the DOF budget."""
    run = prepare_run(inr, settings, None, None, None, None, settings.max_level)
    tree, key_level = run.initial, settings.max_level

    def scored(levels, coords, parent_eff):
        elements = tree.elements(levels, coords)
        run.context.tree = elements
        out = run.criterion.test(run.context, np.arange(elements.n_leaves))
        keys = elements.element_keys(key_level)
        return [
            (-min(float(s), parent_eff), int(lv), int(k), bool(r), lv, tuple(c))
            for s, lv, k, r, c in zip(out.score, levels, keys, out.refine, coords.tolist())
        ]

    heap = [item for item in scored(tree.levels, tree.coords, np.inf) if item[3] and item[1] < settings.max_level]
    heapq.heapify(heap)
    while heap:
        neg_eff, _, _, _, lv, c = heapq.heappop(heap)
        idx = np.flatnonzero((tree.levels == lv) & np.all(tree.coords == np.array(c), axis=1))
        if tree.dofs_after_refining(idx) > settings.max_dofs:
            break
        tree = tree.refine(idx)[0]
        ch_levels, ch_coords = LinearTree.children(np.array([lv]), np.array([c]), tree.d)
        for item in scored(ch_levels, ch_coords, -neg_eff):
            if item[3] and item[1] < settings.max_level:
                heapq.heappush(heap, item)
    return tree


@pytest.mark.parametrize("method", ["basic", "pruning"])
def test_the_mesh_is_the_longest_prefix_of_the_refinement_order(hos, method):
    settings = RefinementSettings(
        method=method, max_dofs=1200, max_tested_level=12, device="cpu", id_method="exact", conforming_dofs=False
    )
    result = refine(hos, settings)
    expected = naive_budget_mesh(hos, settings)
    assert result.stop_reason == "max_dofs" and result.dofs <= 1200
    assert leaf_set(result) == set(zip(expected.levels.tolist(), map(tuple, expected.coords.tolist())))


def test_round_sizes_do_not_change_the_mesh(hos, monkeypatch):
    settings = RefinementSettings(method="pruning", max_dofs=3000, max_tested_level=12, device="cpu")
    a = refine(hos, settings)
    monkeypatch.setattr(budget, "_ROUND_GROWTH", 0.1)  # ten times more, smaller rounds
    b = refine(hos, settings)
    assert len(b.iterations) > len(a.iterations) and leaf_set(a) == leaf_set(b)


@pytest.mark.parametrize(("max_dofs", "max_leaves"), [(500, None), (3333, None), (None, 1000), (4000, 2500)])
def test_budgets_are_never_exceeded(hos, max_dofs, max_leaves):
    r = refine(hos, method="basic", max_dofs=max_dofs, max_leaves=max_leaves, device="cpu")
    assert (max_dofs is None or r.dofs <= max_dofs) and (max_leaves is None or r.tree.n_leaves <= max_leaves)
    assert r.dofs == r.tree.dofs()
    assert r.stop_reason == (
        "max_leaves" if max_leaves is not None and (max_dofs is None or max_dofs > 3000) else "max_dofs"
    )
    # one more refinement in order would not have fitted: the budget is spent, not wasted
    assert (max_dofs is not None and r.dofs > 0.97 * max_dofs) or r.tree.n_leaves + 3 > max_leaves


def test_tolerances_stop_early(hos):
    r = refine(hos, method="basic", tau=0.05, max_dofs=50_000, device="cpu")
    assert r.stop_reason == "converged" and r.dofs < 50_000
    assert np.all(r.done[r.tree.levels < r.settings.max_level])  # every leaf within tau
    assert np.nanmax(r.diagnostics["basic_error"]) <= 0.05


def test_same_seed_same_mesh_and_other_seed_other_samples(hos):
    a = refine(hos, max_dofs=2000, device="cpu")
    b = refine(hos, max_dofs=2000, device="cpu")
    c = refine(hos, max_dofs=2000, device="cpu", seed=5)
    assert leaf_set(a) == leaf_set(b)
    assert not np.array_equal(np.nan_to_num(a.scores), np.nan_to_num(c.scores)) or leaf_set(a) != leaf_set(c)


@pytest.mark.parametrize("method", ["basic", "pruning"])
def test_resuming_with_another_budget_equals_a_fresh_run(hos, method):
    kw = dict(method=method, device="cpu")
    small = refine(hos, max_dofs=1500, **kw)
    larger = refine(hos, small.settings.replace(max_dofs=4000), resume=small)
    fresh = refine(hos, max_dofs=4000, **kw)
    assert leaf_set(larger) == leaf_set(fresh)
    tests = lambda r: sum(row["tested"] for row in r.iterations)
    assert tests(larger) < tests(fresh)  # what the first run measured is not measured again
    back = refine(hos, larger.settings.replace(max_dofs=1500), resume=larger)
    assert leaf_set(back) == leaf_set(small) and tests(back) == 0  # a smaller budget: no test at all


def test_resume_refuses_other_settings(hos):
    small = refine(hos, max_dofs=500, device="cpu")
    with pytest.raises(ValueError, match="only the budgets may change, but eps differ"):
        refine(hos, small.settings.replace(eps=1e-2), resume=small)


def test_a_time_budget_or_a_cancel_returns_a_prefix(hos):
    full = refine(hos, method="basic", max_dofs=8000, device="cpu")
    quick = refine(hos, method="basic", max_dofs=8000, time_budget=1e-3, device="cpu")
    assert quick.stop_reason == "time" and quick.dofs < full.dofs
    event = threading.Event()
    calls = {"n": 0}

    def stop_after_some_progress(fraction, message):
        calls["n"] += 1
        if calls["n"] == 5:
            event.set()

    cut = refine(hos, method="basic", max_dofs=8000, device="cpu", cancel=event, progress=stop_after_some_progress)
    assert cut.stop_reason == "cancelled"
    # both are meshes the same order passes through: coarser than the full run's everywhere
    full_leaves = leaf_set(full)
    for r in (quick, cut):
        for lv, c in leaf_set(r):
            assert any(lv2 >= lv and tuple(x >> (lv2 - lv) for x in c2) == c for lv2, c2 in full_leaves)
        assert leaf_set(refine(hos, r.settings.replace(time_budget=None), resume=r)) == full_leaves


def test_untested_levels_take_their_score_from_the_tested_ancestor(hos):
    r = refine(hos, method="pruning", max_dofs=6000, max_tested_level=5, device="cpu")
    deep = r.tree.levels > 5
    assert deep.any() and np.all(r.tested_iteration[deep] == -1) and np.all(np.isfinite(r.scores[deep]))
    assert np.all(r.tested_iteration[(r.tree.levels <= 5) & (r.tree.levels < r.settings.max_level)] >= 0)


@pytest.mark.parametrize("strategy", ["budget", "thresholds"])
def test_progress_never_goes_backwards(hos, strategy):
    seen: list[float] = []
    kw = (
        dict(max_dofs=6000)
        if strategy == "budget"
        else dict(strategy="thresholds", max_iterations=4, threshold=0.1, proportion=0.09)
    )
    refine(hos, progress=lambda f, m: seen.append(f), **kw)
    assert len(seen) >= 8 and seen[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(seen)), seen


def test_conforming_dofs_of_the_final_mesh_and_of_every_round_of_a_curve(hos):
    """Without a reference the rounds' conforming DOFs are not counted (nothing plots them), the final
    mesh's are; with one (an RMSE curve) every round has them. Checked against the tree's own count."""
    plain = refine(hos, method="basic", max_dofs=2000, device="cpu")
    assert plain.iterations[-1]["conforming_dofs"] == plain.tree.conforming_dofs() == plain.summary()["conforming_dofs"]
    assert all("conforming_dofs" not in row for row in plain.iterations[1:-1]) and len(plain.iterations) > 3
    curve = refine(hos, method="basic", max_dofs=2000, device="cpu", rmse_samples=2000)
    assert all("conforming_dofs" in row and "rmse" in row for row in curve.iterations)
    assert curve.iterations[-1]["conforming_dofs"] == plain.iterations[-1]["conforming_dofs"]


def test_auto_id_samples_is_the_run_with_64_given_in_3d_and_256_in_2d(hos, ct_path):
    from inr_amr_core import load_inr

    ct = load_inr(ct_path)
    kw = dict(max_dofs=1200, device="cpu", uniform_refinements=2, time=0.0)
    auto, given, paper = (refine(ct, **kw, id_samples=n) for n in (None, 64, 256))
    assert leaf_set(auto) == leaf_set(given)
    np.testing.assert_array_equal(np.nan_to_num(auto.scores), np.nan_to_num(given.scores))
    assert not np.array_equal(np.nan_to_num(auto.scores), np.nan_to_num(paper.scores))  # other samples
    flat = refine(hos, max_dofs=2000, device="cpu")
    np.testing.assert_array_equal(
        np.nan_to_num(flat.scores), np.nan_to_num(refine(hos, max_dofs=2000, device="cpu", id_samples=256).scores)
    )


def test_the_initial_mesh_is_tested_whatever_the_work_budget_or_max_tested_level(hos, ct_path):
    """Its elements have no tested ancestor to predict their scores from (both runs used to raise)."""
    from inr_amr_core import load_inr

    shallow = refine(hos, max_dofs=2000, device="cpu", max_tested_level=1)  # above the initial level 2
    assert shallow.max_tested_level == 2 and shallow.dofs <= 2000
    tested = refine(hos, max_dofs=2000, device="cpu", max_tested_level=2)
    assert leaf_set(shallow) == leaf_set(tested)
    # a budget whose work allows fewer tests than the initial mesh's 64 elements (3D, 1,200 DOFs)
    small = refine(load_inr(ct_path), max_dofs=1200, device="cpu", uniform_refinements=2, time=0.0)
    assert small.dofs <= 1200 and sum(r["tested"] for r in small.iterations) >= 64
