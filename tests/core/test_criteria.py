"""The criteria against independent per-element computations."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from helpers import ROOT
from inr_amr_core import criteria, pruning
from inr_amr_core.criteria import PruningCriterion, RelativeError
from inr_amr_core.criteria import TestContext as Context  # (not a pytest class)
from inr_amr_core.domain import SpaceSlice
from inr_amr_core.sampling import SampleStream
from inr_amr_core.settings import RefinementSettings
from inr_amr_core.tree import LinearTree
from inr_amr_core.vertices import VertexCache


def naive_criterion_class():
    """``bench/naive_pruning.py``: one element at a time, scipy's pivoted QR, the pruned network built explicitly."""
    spec = importlib.util.spec_from_file_location("naive_pruning", ROOT / "bench" / "naive_pruning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NaivePruningCriterion


def context(inr, tree, relative_error="reference"):
    space = SpaceSlice.from_inr(inr)
    return Context(
        inr, tree, space, SampleStream(0), RelativeError(relative_error, 1.0, 0.3), VertexCache(inr, space, 12)
    )


@pytest.mark.parametrize("relative_error", ["reference", "floored"])
def test_batched_pruning_decisions_equal_the_naive_per_element_path(hos, relative_error):
    """On hos at the paper's settings, over elements of levels 2 to 6 around the detail in the corner."""
    settings = RefinementSettings(strategy="thresholds", threshold=0.1, proportion=0.09, eps=1e-3, id_method="exact")
    tree = LinearTree.uniform((1, 1), [[0.0, 1.0], [0.0, 1.0]], level=2)
    for _ in range(4):  # refine towards the corner (0, 0), where sin(1/(1/50 + r)) oscillates
        lower, _ = tree.leaf_bounds()
        tree = tree.refine(np.flatnonzero(np.all(lower < 0.3, axis=1)))[0]
    leaves = np.arange(tree.n_leaves)
    criterion = PruningCriterion.from_settings(settings)
    assert criterion.id_samples == 256  # (auto: the paper's)
    batched = criterion.test(context(hos, tree, relative_error), leaves)
    naive_cls = naive_criterion_class()
    naive = naive_cls(
        settings.threshold, settings.proportion, settings.eps, criterion.id_samples, settings.error_samples
    ).test(context(hos, tree, relative_error), leaves)
    assert tree.n_leaves > 100 and 0 < batched.refine.sum() < tree.n_leaves  # both decisions occur
    np.testing.assert_array_equal(batched.refine, naive.refine)
    exact = ~np.isnan(batched.diagnostics["pruned_error"])  # (elements stopped at the P budget skip it)
    np.testing.assert_allclose(
        batched.diagnostics["pruned_error"][exact], naive.diagnostics["pruned_error"][exact], rtol=1e-2, atol=1e-6
    )  # float32 pruned forward vs float64


def test_id_samples_auto_is_the_papers_unless_a_3d_test_only_scores():
    auto = RefinementSettings()  # the budget strategy, no T, no P: the test only scores elements
    assert auto.id_samples is None

    def ids(settings, dim=3):
        return PruningCriterion.from_settings(settings, dim).id_samples

    assert ids(auto) == 64 and ids(auto, 4) == 64
    assert ids(auto, 2) == 256 and ids(auto, None) == 256  # 2D: every element is tested, ranks need the samples
    assert ids(auto.replace(proportion=0.09)) == 256  # P needs ranks beyond the cap
    assert ids(auto.replace(threshold=0.1)) == 256
    assert ids(auto.replace(exact_diagnostics=True)) == 256
    assert ids(auto.replace(strategy="thresholds", threshold=0.1, proportion=0.09)) == 256
    assert ids(auto.replace(id_samples=100)) == 100 and ids(auto.replace(id_samples=100), 2) == 100  # given: kept
    # its ranks resolve the score's cap: a 64-row sketch of 48 + 10 rows, ranks up to 48
    assert ids(auto) >= criteria.BUDGET_RANK_CAP + pruning.SKETCH_OVERSAMPLE


def test_id_method_auto_is_exact_for_thresholds_and_sketch_for_budget_scores():
    auto = RefinementSettings()
    assert auto.id_method == "auto"

    def method(settings):
        return PruningCriterion.from_settings(settings, 3).id_method

    assert method(auto) == "sketch"
    assert method(auto.replace(proportion=0.09)) == "sketch"  # a budget with tolerances still orders by scores
    paper = auto.replace(strategy="thresholds", threshold=0.1, proportion=0.09)
    assert method(paper) == "exact"
    assert "id=exact" in PruningCriterion.from_settings(paper, 3).describe()  # reports say which ID ran
    for given in ("sketch", "exact"):  # a chosen method is kept whatever the strategy
        assert method(auto.replace(id_method=given)) == given
        assert method(paper.replace(id_method=given)) == given


def test_a_test_costs_at_least_a_paper_sized_one_in_the_work_budget():
    scoring = PruningCriterion.from_settings(RefinementSettings(), 3)
    assert scoring.forwards_per_test() == 64 and scoring.cost_per_test() == 256
    big = PruningCriterion.from_settings(RefinementSettings(id_samples=512), 3)
    assert big.cost_per_test() == big.forwards_per_test() == 512
