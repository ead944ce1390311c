"""The thresholds strategy: the paper's Algorithm 1, exactly.

Every iteration tests the leaves not yet done; those beyond the criterion's thresholds (T or P for
Pruning, tau for Basic; Uniform: all) are refined, the others are done for good. It stops after
``max_iterations``, when nothing is left to refine, or when the DOF budget would be exceeded (then
the most urgent flagged elements that fit are refined: largest error/T or proportion/P first;
Uniform refines all or none).

``untested_levels = k`` departs from Algorithm 1 (and says so in the settings): elements at the
finest k levels are refined on, as if flagged, without being tested.
"""

from __future__ import annotations

import logging
import time as time_module

import numpy as np

from .result import RefinementResult
from .run import Run, iteration_row
from .tree import LinearTree

__all__ = ["refine_thresholds"]

log = logging.getLogger(__name__)


def refine_thresholds(run: Run) -> RefinementResult:
    """Run Algorithm 1 on a prepared run."""
    settings, tracker, ctx, criterion = run.settings, run.progress, run.context, run.criterion
    tree = run.initial
    deepest = settings.uniform_refinements + settings.max_iterations
    untested_from = deepest - settings.untested_levels  # leaves below this level are tested
    n = tree.n_leaves
    done = np.zeros(n, bool)
    tested_it = np.full(n, -1, np.int64)
    diag = {name: np.full(n, np.nan) for name in criterion.diagnostic_names}
    dofs = tree.dofs()
    iterations = [iteration_row(0, tree, run, 0, 0, 0, {}, dofs)]
    total = max(1, settings.max_iterations + 1)
    tracker.report(1.0 / total, f"initial mesh: {tree.n_leaves} leaves, {dofs} DOFs")
    stop = "max_iterations"
    for it in range(1, settings.max_iterations + 1):
        tracker.fraction, tracker.next_fraction = it / total, (it + 1) / total
        tracker.step = f"iteration {it}: testing"
        active = np.flatnonzero(~done)
        if active.size == 0:
            stop = "converged"
            break
        secs: dict = {}
        t0 = time_module.perf_counter()
        ctx.tree = tree
        testable = active[tree.levels[active] < untested_from]
        flagged_untested = active[tree.levels[active] >= untested_from]
        outcome = criterion.test(ctx, testable)
        secs["test"] = time_module.perf_counter() - t0
        secs.update({f"test_{k}": v for k, v in outcome.seconds.items()})
        tested_it[testable] = it
        for name, values in outcome.diagnostics.items():
            diag[name][testable] = values
        done[testable[~outcome.refine]] = True
        flagged = np.concatenate([testable[outcome.refine], flagged_untested])
        priority = np.concatenate([outcome.priority[outcome.refine], np.full(flagged_untested.size, np.inf)])
        if flagged.size == 0:
            iterations.append(iteration_row(it, tree, run, testable.size, 0, 0, secs, dofs))
            stop = "converged"
            break
        t1 = time_module.perf_counter()
        to_refine = flagged
        budget_hit = False
        if run.max_dofs is not None and tree.dofs_after_refining(flagged) > run.max_dofs:
            budget_hit = True
            if settings.method == "uniform":
                to_refine = flagged[:0]
            else:
                order = flagged[np.argsort(-priority, kind="stable")]
                to_refine = order[: _largest_prefix_within(tree, order, run.max_dofs)]
        secs["budget"] = time_module.perf_counter() - t1
        if to_refine.size == 0:  # not even the most urgent element fits: the mesh stays as it is
            stop = "max_dofs"
            break
        t2 = time_module.perf_counter()
        new_tree, origin, is_child = tree.refine(to_refine)
        done = np.where(is_child, False, done[origin])
        tested_it = np.where(is_child, -1, tested_it[origin])
        diag = {k: np.where(is_child, np.nan, v[origin]) for k, v in diag.items()}
        tree = new_tree
        secs["refine"] = time_module.perf_counter() - t2
        t3 = time_module.perf_counter()
        dofs = tree.dofs()
        secs["dofs"] = time_module.perf_counter() - t3
        iterations.append(iteration_row(it, tree, run, testable.size, flagged.size, to_refine.size, secs, dofs))
        tracker.report((it + 1) / total, f"iteration {it}: {tree.n_leaves} leaves, {dofs} DOFs")
        log.info(
            "iteration %d: tested %d, refined %d, %d leaves, %d DOFs",
            it,
            testable.size,
            to_refine.size,
            tree.n_leaves,
            dofs,
        )
        if budget_hit:
            stop = "max_dofs"
            break
    return RefinementResult(
        tree=tree,
        space=run.space,
        settings=settings,
        done=done,
        diagnostics=diag,
        tested_iteration=tested_it,
        iterations=iterations,
        stop_reason=stop,
        inr=run.model,
        vertex_cache=run.cache,
    )


def _largest_prefix_within(tree: LinearTree, order: np.ndarray, max_dofs: int) -> int:
    """Largest m such that refining ``order[:m]`` keeps the DOFs within budget (binary search)."""
    lo, hi = 0, order.size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tree.dofs_after_refining(order[:mid]) <= max_dofs:
            lo = mid
        else:
            hi = mid - 1
    return lo
