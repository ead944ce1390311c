"""The criteria against independent per-element computations."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from helpers import ROOT
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
    batched = PruningCriterion.from_settings(settings).test(context(hos, tree, relative_error), leaves)
    naive_cls = naive_criterion_class()
    naive = naive_cls(
        settings.threshold, settings.proportion, settings.eps, settings.id_samples, settings.error_samples
    ).test(context(hos, tree, relative_error), leaves)
    assert tree.n_leaves > 100 and 0 < batched.refine.sum() < tree.n_leaves  # both decisions occur
    np.testing.assert_array_equal(batched.refine, naive.refine)
    exact = ~np.isnan(batched.diagnostics["pruned_error"])  # (elements stopped at the P budget skip it)
    np.testing.assert_allclose(
        batched.diagnostics["pruned_error"][exact], naive.diagnostics["pruned_error"][exact], rtol=1e-2, atol=1e-6
    )  # float32 pruned forward vs float64
