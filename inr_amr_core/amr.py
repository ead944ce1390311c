"""Refinement runs: :func:`refine`, the one entry point of every front end.

It prepares a run (:mod:`.run`) and hands it to a strategy: ``budget`` (:mod:`.budget`, the
default: the elements that need it most first, until a budget is spent) or ``thresholds``
(:mod:`.thresholds`, the paper's Algorithm 1).

>>> from inr_amr_core import load_inr, refine
>>> result = refine(load_inr("../shared/inrs/hos_lists.ckpt"), method="pruning", max_dofs=10_000)  # doctest: +SKIP
>>> result.dofs <= 10_000, result.stop_reason                                                    # doctest: +SKIP
(True, 'max_dofs')
"""

from __future__ import annotations

import threading
import time as time_module
from collections.abc import Callable, Sequence
from typing import Any

from .budget import refine_budget
from .inr import INR
from .metrics import ReferenceSample
from .result import RefinementResult
from .run import (
    PAPER_RMSE_SAMPLES,
    BudgetError,
    RefinementCancelled,
    prepare_run,
    resolve_slice,
    time_input_name,
)
from .settings import METHODS, RefinementSettings, SettingsError
from .thresholds import refine_thresholds

__all__ = [
    "METHODS",
    "PAPER_RMSE_SAMPLES",
    "RESUMABLE",
    "BudgetError",
    "RefinementCancelled",
    "RefinementResult",
    "RefinementSettings",
    "not_resumable_changes",
    "refine",
    "resolve_slice",
    "time_input_name",
]

#: settings a budget run may change when it reuses a previous one's tests (``resume``): its budgets and its time
RESUMABLE = frozenset({"max_dofs", "max_leaves", "time_budget", "rmse_samples", "conforming_dofs", "time"})


def refine(
    inr: INR,
    settings: RefinementSettings | None = None,
    *,
    roots: Sequence[int] | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | threading.Event | None = None,
    reference: ReferenceSample | None = None,
    resume: RefinementResult | None = None,
    **overrides: Any,
) -> RefinementResult:
    """Refine a mesh over the INR's domain by Pruning, Basic or Uniform refinement.

    Parameters
    ----------
    inr : INR
    settings : RefinementSettings, optional
        All parameters; keyword ``overrides`` replace single fields (``method='basic'``, ``max_dofs=50_000``,
        ``time=1.0``).
    roots : sequence of int, optional
        Refine only these root cells (x-fastest index), e.g. one MPI rank's share. Every decision is
        local to an element and its random samples are keyed by the element, so with the thresholds
        strategy the union of the leaves of disjoint shares equals the serial run (when ``max_dofs`` is
        not reached). Budgets are split in proportion to the share.
    progress : callable, optional
        ``progress(fraction, message)``, called often.
    cancel : callable or threading.Event, optional
        Checked between chunks. When it returns True / is set, the budget strategy returns the mesh
        reached so far (``stop_reason == 'cancelled'``, a prefix of the same refinement order); the
        thresholds strategy raises :class:`RefinementCancelled`.
    reference : ReferenceSample, optional
        Pre-drawn points and INR values for the total RMSE (share one across methods to compare them
        on the same points); otherwise drawn when ``settings.rmse_samples`` is non-zero.
    resume : RefinementResult, optional
        A budget-strategy result of the same INR and settings but for its budgets or its time: the
        run reuses every test it measured (a larger budget continues its work, a smaller one needs no
        test, another time step shares the tests of elements whose field did not change, see
        :mod:`inr_amr_core.timeslabs`). Either way the mesh is the one a fresh run gives.

    Returns
    -------
    RefinementResult

    Raises
    ------
    BudgetError
        If the initial uniform mesh already exceeds ``max_dofs`` or ``max_leaves``.
    SettingsError
        Invalid or inconsistent settings (e.g. ``resume`` with other settings than its budgets).
    RefinementCancelled
        Thresholds strategy only.

    Examples
    --------
    >>> small = refine(inr, max_dofs=2_000)                              # doctest: +SKIP
    >>> large = refine(inr, small.settings, max_dofs=8_000, resume=small)  # continues; equals a fresh run
    """
    settings = settings or RefinementSettings()
    if overrides:
        settings = settings.replace(**overrides)
    settings.check_together()
    started = time_module.perf_counter()
    budget = settings.strategy == "budget"
    state = None
    if resume is not None:
        state = _resumable_state(resume, settings)
        inr = resume.inr
    key_level = settings.max_level if budget else settings.uniform_refinements + settings.max_iterations
    # the field's RMS over space and time, shared by the runs that share tests (every time step)
    field_scales = state.cache.field_scales if state is not None else {}
    run = prepare_run(inr, settings, roots, progress, cancel, reference, key_level, field_scales)
    if state is not None:
        # the vertex values at this time computed by earlier runs stay valid
        cache = state.cache.vertex_cache(run.model, run.space, run.key_level, settings.output_component)
        run.cache = run.context.vertex_cache = cache
    result = refine_budget(run, state) if budget else refine_thresholds(run)
    if result.budget_state is not None:
        result.budget_state.cache.field_scales.update(field_scales)
    result.seconds = time_module.perf_counter() - started
    if progress is not None:
        progress(1.0, f"done: {result.tree.n_leaves} leaves, {result.dofs} DOFs ({result.stop_reason})")
    return result


def not_resumable_changes(before: RefinementSettings, now: RefinementSettings) -> list[str]:
    """The settings that differ between two runs other than those a resumed run may change (sorted)."""
    a, b = before.to_dict(), now.to_dict()
    return sorted(k for k in b if b[k] != a[k] and k not in RESUMABLE)


def _resumable_state(previous: RefinementResult, settings: RefinementSettings) -> Any:
    if previous.budget_state is None:
        raise SettingsError("resume needs a result of the budget strategy (the thresholds strategy keeps no order)")
    changed = not_resumable_changes(previous.settings, settings)
    if changed:
        raise SettingsError(f"resume: only the budgets may change, but {', '.join(changed)} differ; start a new run")
    return previous.budget_state
