"""The budget strategy: refine the elements that need it most first, until a budget is spent.

The mesh it gives is defined without reference to how the work is batched:

* every element ``E`` gets a score ``s(E)``: from its criterion's test while the tests fit their work
  budget (:data:`TEST_MACS_PER_DOF` multiply-adds per DOF of the budget, level by level from the
  coarsest; or down to ``max_tested_level`` when it is given), and below that predicted from its
  tested ancestor ``A``: ``s(child) = s(A) * r(A)^j`` at ``j`` levels below
  ``A``, with ``r(A) = s(A) / s(parent(A))`` clamped to ``[2^-(d+4), 2^-d]`` (the decay ``A`` itself
  showed: fast in smooth regions, slow near edges). Its *effective* score is ``e(E) = min(s(E),
  e(parent))``;
* all refinable elements (not within the tolerances, above the deepest level) are ordered by
  decreasing ``e``, ties broken by level, then by the element's exact key. Since ``e`` never grows
  from parent to child, a parent always comes before its children, so every prefix of the order is
  a valid refinement of the initial mesh;
* the mesh for a budget is the longest prefix whose DOFs (and leaves) stay within it.

A run computes that prefix in rounds: it takes the next batch of candidates in order, refines them
tentatively, scores their children, adds every child that would come before the batch's last element
(so that what is refined is always an exact prefix), and cuts the round's ordered list where the
budget runs out. The order depends only on scores, which depend only on the elements (their samples
are hashes of the element and the seed), so the same settings give the same mesh whatever the round
sizes. A result keeps every score its tests measured (:class:`BudgetState`); a run given it
(``resume``) replays the order from those scores and tests only elements it has not seen, so a larger
budget continues the work and a smaller one needs no test at all, and both give the mesh a fresh run
with that budget gives. A time budget or a cancellation stops at the end of a round: the mesh is
still a prefix of the order.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time as time_module
from dataclasses import dataclass, field

import numpy as np

from .result import RefinementResult
from .run import RefinementCancelled, Run, iteration_row
from .timeslabs import ScoreCache, time_stars
from .tree import LinearTree

__all__ = ["TEST_MACS_PER_DOF", "BudgetState", "ElementTable", "refine_budget", "test_work_budget"]

log = logging.getLogger(__name__)

#: a round refines about this many times the leaves it starts with (in elements), fewer near the budget
_ROUND_GROWTH = 1.0


@dataclass
class ElementTable:
    """Every element scored in a run, by exact element key (kept sorted)."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    score: np.ndarray = field(default_factory=lambda: np.empty(0))
    effective: np.ndarray = field(default_factory=lambda: np.empty(0))
    done: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    tested_round: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    diagnostics: dict = field(default_factory=dict)
    #: each element's score decay from its parent (predictions below the tested levels use it)
    ratio: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __len__(self) -> int:
        return int(self.keys.size)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key, -1 where unknown."""
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, max(self.keys.size - 1, 0))
        hit = self.keys[pos] == keys if self.keys.size else np.zeros(keys.shape, bool)
        return np.where(hit, pos, -1)

    def add(
        self,
        keys: np.ndarray,
        score: np.ndarray,
        effective: np.ndarray,
        done: np.ndarray,
        tested_round: np.ndarray,
        diagnostics: dict,
    ) -> None:
        names = set(self.diagnostics) | set(diagnostics)
        n_old, n_new = self.keys.size, keys.size
        for name in names:
            old = self.diagnostics.get(name, np.full(n_old, np.nan))
            new = np.asarray(diagnostics.get(name, np.full(n_new, np.nan)), dtype=np.float64)
            self.diagnostics[name] = np.concatenate([old, new])
        self.keys = np.concatenate([self.keys, keys])
        self.score = np.concatenate([self.score, score])
        self.effective = np.concatenate([self.effective, effective])
        self.done = np.concatenate([self.done, done])
        self.tested_round = np.concatenate([self.tested_round, tested_round])
        self.ratio = np.concatenate([self.ratio, np.full(n_new, np.nan)])
        order = np.argsort(self.keys, kind="stable")
        self.keys, self.score, self.effective = self.keys[order], self.score[order], self.effective[order]
        self.done, self.tested_round, self.ratio = self.done[order], self.tested_round[order], self.ratio[order]
        self.diagnostics = {k: v[order] for k, v in self.diagnostics.items()}


@dataclass
class BudgetState:
    """What a budget run leaves behind: the scores its tests measured, to be reused by a later run."""

    initial: LinearTree
    #: measured scores only (tested elements), by time and element key; predictions are redone by every run
    cache: ScoreCache


def _order_keys(effective: np.ndarray, levels: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Indices sorting elements into the refinement order (larger effective score first)."""
    return np.lexsort((keys, levels, -effective))


def _precedes(eff: np.ndarray, lvl: np.ndarray, key: np.ndarray, cut: tuple[float, int, int]) -> np.ndarray:
    """Whether each element comes no later than the element ``cut = (effective, level, key)``."""
    ce, cl, ck = cut
    return (eff > ce) | ((eff == ce) & ((lvl < cl) | ((lvl == cl) & (key <= ck))))


class _Scorer:
    """Scores elements once per run (cached tests, new tests or predictions) and keeps them in a table."""

    def __init__(self, run: Run, cache: ScoreCache, max_tested: int | None) -> None:
        self.run = run
        self.table = ElementTable()  # this run's scores, predictions and effective scores
        self.cache = cache  # every test ever measured for these settings (grows), by time
        self.max_level = run.settings.max_level
        # an explicit deepest tested level, or (None) the test work budget decides level by level
        self.max_tested = run.settings.max_level if max_tested is None else max_tested
        self.work_budget = None if max_tested is not None else test_work_budget(run)
        self.work = 0.0  # multiply-adds of the tests requested so far (cached ones included)
        self.per_test = max(1, run.criterion.cost_per_test()) * run.model.macs_per_point
        self.opened_level = -1
        # the initial mesh's elements have no tested ancestor to predict them from: always tested
        self.initial_level = int(run.initial.levels.max()) if run.initial.n_leaves else 0
        self.max_tested = max(self.max_tested, self.initial_level)
        d = run.initial.d
        self.ratio_range = (2.0 ** -(d + 4), 2.0**-d)
        self.tests = 0
        self.test_seconds = 0.0

    @property
    def seconds_per_test(self) -> float | None:
        return self.test_seconds / self.tests if self.tests else None

    def ensure(self, tree: LinearTree, levels: np.ndarray, coords: np.ndarray, round_no: int) -> np.ndarray:
        """Table rows of the given elements (parents must be in the table), scoring those not seen yet."""
        run = self.run
        elements = tree.elements(levels, coords)
        keys = elements.element_keys(run.key_level)
        rows = self.table.find(keys)
        missing = np.flatnonzero(rows < 0)
        if missing.size:
            missing = missing[np.unique(keys[missing], return_index=True)[1]]
            self._score(elements, missing, keys[missing], round_no)
            rows = self.table.find(keys)
        return rows

    def _score(self, elements: LinearTree, idx: np.ndarray, keys: np.ndarray, round_no: int) -> None:
        run, n = self.run, idx.size
        levels = elements.levels[idx]
        coords = elements.coords[idx]
        score = np.full(n, -np.inf)
        done = levels >= self.max_level  # never refined: no test needed
        tested_round = np.full(n, -1, np.int64)
        diagnostics: dict = {name: np.full(n, np.nan) for name in run.criterion.diagnostic_names}
        testable = np.flatnonzero(~done & (levels <= self.max_tested))
        testable = self._within_work_budget(testable, levels)
        # each element is scored at its own time t* (the run's time, or a time slab's centre)
        axis, ctx = run.time_axis, run.context
        groups: list[tuple[float | None, np.ndarray]] = [(None, testable)]
        if axis is None or testable.size == 0:
            pass
        else:
            t = dict(run.space.fixed)[axis.index]
            stars = time_stars(
                self.cache,
                run.model,
                run.space,
                axis,
                t,
                elements,
                idx[testable],
                keys[testable],
                ctx.stream,
                ctx.component,
            )
            groups = [(float(v), testable[stars == v]) for v in np.unique(stars)]
        for t_star, members in groups:
            # measured scores are keyed by the inputs the tests held fixed (the time t* among them)
            if t_star is None or axis is None:
                fixed = run.space.fixed
            else:
                fixed = run.space.with_fixed(**{run.space.input_names[axis.index]: t_star}).fixed
            measured = self.cache.measured.setdefault(fixed, ElementTable())
            # tests measured before (at this t*, for other budgets or time steps): reused as they are
            cached = measured.find(keys[members])
            hit = cached >= 0
            if np.any(hit):
                sel, rows = members[hit], cached[hit]
                score[sel], done[sel] = measured.score[rows], measured.done[rows]
                tested_round[sel] = measured.tested_round[rows]
                for name in diagnostics:
                    if name in measured.diagnostics:
                        diagnostics[name][sel] = measured.diagnostics[name][rows]
            test = members[~hit]
            if test.size == 0:
                continue
            if t_star is not None:
                assert axis is not None
                space = run.space.with_fixed(**{run.space.input_names[axis.index]: t_star})
                ctx = dataclasses.replace(
                    run.context,
                    space=space,
                    vertex_cache=self.cache.vertex_cache(run.model, space, run.key_level, run.context.component),
                )
            ctx.tree = elements
            t0 = time_module.perf_counter()
            outcome = run.criterion.test(ctx, idx[test])
            self.test_seconds += time_module.perf_counter() - t0
            assert outcome.score is not None
            score[test] = outcome.score
            done[test] = ~outcome.refine
            tested_round[test] = round_no
            for name, values in outcome.diagnostics.items():
                diagnostics[name][test] = values
            self.tests += test.size
            measured.add(
                keys[test],
                score[test],
                score[test],
                done[test],
                tested_round[test],
                {k: v[test] for k, v in diagnostics.items()},
            )
        # effective scores: capped by the parent's; predictions below the tested levels from the parent
        parent_eff = np.full(n, np.inf)
        sel, pkeys = self._parent_keys(elements, levels, coords)
        if sel.size:
            prow = self.table.find(pkeys)
            known = prow >= 0
            parent_eff[sel[known]] = self.table.effective[prow[known]]
            predict = np.flatnonzero(~done[sel] & (levels[sel] > self.max_tested))
            if predict.size:
                pr = prow[predict]
                if np.any(pr < 0):
                    raise RuntimeError("an untested element's parent has no score")
                score[sel[predict]] = self.table.score[pr] * self.table.ratio[pr]
        effective = np.minimum(score, parent_eff)
        self.table.add(keys, score, effective, done, tested_round, diagnostics)
        self._set_ratios(keys, sel, pkeys)

    def _within_work_budget(self, testable: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """The elements whose tests fit the work budget, coarse levels first.

        A level whose requests no longer fit closes, with every deeper level: from then on their
        elements are predicted. Requests of open levels go on being tested until the work reaches
        twice the budget, after which every level closes. The decisions depend only on the sequence
        of requests, which the settings determine, so a resumed run makes the same ones.
        """
        if self.work_budget is None or testable.size == 0:
            return testable
        keep = []
        for lvl in np.unique(levels[testable]):
            sel = testable[levels[testable] == lvl]
            cost = sel.size * self.per_test
            opened = lvl <= self.opened_level
            limit = 2 * self.work_budget if opened else self.work_budget
            if lvl > self.initial_level and (lvl > self.max_tested or self.work + cost > limit):
                self.max_tested = min(self.max_tested, int(lvl) - 1)
                break
            self.work += cost
            self.opened_level = max(self.opened_level, int(lvl))
            keep.append(sel)
        return np.concatenate(keep) if keep else testable[:0]

    def _parent_keys(
        self, elements: LinearTree, levels: np.ndarray, coords: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the elements that have a parent, and their parents' keys."""
        sel = np.flatnonzero(levels > 0)
        pkeys = elements.elements(levels[sel] - 1, coords[sel] >> 1).element_keys(self.run.key_level)
        return sel, pkeys

    def _set_ratios(self, keys: np.ndarray, sel: np.ndarray, pkeys: np.ndarray) -> None:
        """Each new element's decay ratio: its score over its parent's (tested pairs), else its parent's ratio.

        ``sel`` and ``pkeys`` (from :meth:`_parent_keys`) are the new elements that have a parent and the
        parents' keys; the parents' rows are looked up again, as adding the new elements moved them.
        """
        rows = self.table.find(keys)
        lo, hi = self.ratio_range
        ratio = np.full(rows.size, math.sqrt(lo * hi))  # (no parent: the geometric middle of the range)
        if sel.size:
            prow = self.table.find(pkeys)
            ok = prow >= 0
            tested = ok & (self.table.tested_round[rows[sel]] >= 0) & (self.table.tested_round[prow] >= 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                measured = self.table.score[rows[sel]] / self.table.score[prow]
            inherited = np.where(ok, self.table.ratio[np.maximum(prow, 0)], ratio[sel])
            ratio[sel] = np.where(tested & np.isfinite(measured), measured, inherited)
        self.table.ratio[rows] = np.clip(np.nan_to_num(ratio, nan=lo), lo, hi)


#: multiply-adds the tests of a budget run may cost per DOF (or leaf) of its budget: about ten
#: milliseconds of one core per thousand DOFs; a 2D run on a small network tests every element it
#: scores, a 3D run on the 5 x 256 CT network tests down to about one level above the budget's uniform level
TEST_MACS_PER_DOF = 2.0e6


def test_work_budget(run: Run) -> float | None:
    """Multiply-adds the tests of a run may request (None: no size budget, so no bound)."""
    sizes = [b for b in (run.max_dofs, run.max_leaves) if b is not None]
    return TEST_MACS_PER_DOF * min(sizes) if sizes else None


def _round_size(run: Run, tree: LinearTree, dofs: int, seconds_per_test: float | None) -> int:
    """Candidates a round takes: about the leaves it starts with, fewer when a budget is near."""
    d = tree.d
    per_refinement = 2**d - 1  # leaves added; DOFs added are of the same order
    k = max(1, math.ceil(_ROUND_GROWTH * tree.n_leaves / per_refinement))
    if run.settings.time_budget is not None and seconds_per_test:
        # a round tests the 2^d children of each of its elements: keep it within the time left
        left = max(0.0, run.settings.time_budget - run.elapsed)
        k = min(k, max(1, int(left / (seconds_per_test * 2**d))))
    if run.max_dofs is not None:
        k = min(k, max(1, math.ceil(1.25 * (run.max_dofs - dofs) / per_refinement)))
    if run.max_leaves is not None:
        k = min(k, max(1, math.ceil(1.25 * (run.max_leaves - tree.n_leaves) / per_refinement)))
    return k


def refine_budget(run: Run, resume: BudgetState | None = None) -> RefinementResult:
    """Run the budget strategy on a prepared run (reusing the measured scores of ``resume``)."""
    settings, tracker = run.settings, run.progress
    cache = resume.cache if resume is not None else ScoreCache()
    state = BudgetState(run.initial, cache)
    if resume is None:  # the run's vertex values are shared with later runs at this time
        cache.vertices[(run.space.fixed, run.key_level, run.context.component)] = run.cache
    scorer = _Scorer(run, cache, settings.max_tested_level)
    uniform = settings.method == "uniform"
    d = run.initial.d
    tree = run.initial
    # the mesh's vertices, kept up to date round by round (refining only adds vertices), so that neither
    # the budget's cut nor the DOF count has to sort every corner of the mesh again
    vertex_keys = tree.vertex_keys(run.key_level)
    dofs = int(vertex_keys.size)
    iterations = [iteration_row(0, tree, run, 0, 0, 0, {}, dofs)]
    stop = ""
    round_no = 0
    while not stop:
        if tracker.cancelled():
            stop = "cancelled"
            break
        if settings.time_budget is not None and run.elapsed > settings.time_budget:
            stop = "time"
            break
        round_no += 1
        secs: dict = {}
        t0 = time_module.perf_counter()
        tests_before = scorer.tests
        tracker.fraction = tracker.next_fraction = _spent(run, tree, dofs)
        tracker.step = f"round {round_no}: testing"
        try:
            rows = scorer.ensure(tree, tree.levels, tree.coords, round_no)
            table = scorer.table
            cand = np.flatnonzero(~table.done[rows])
            if cand.size == 0:
                stop = "converged"
                break
            eff, lvl, key = table.effective[rows[cand]], tree.levels[cand], table.keys[rows[cand]]
            order = cand[_order_keys(eff, lvl, key)]
            # Uniform: whole levels only (its children are scored in the next round)
            k = order.size if uniform else min(order.size, _round_size(run, tree, dofs, scorer.seconds_per_test))
            last = order[k - 1]
            cut = (float(table.effective[rows[last]]), int(tree.levels[last]), int(table.keys[rows[last]]))
            # the share of the budget spent once this round's k refinements are made (each adds about
            # 2^d - 1 leaves' worth of DOFs)
            grown = tree.n_leaves + k * (2**d - 1)
            tracker.next_fraction = max(tracker.fraction, _spent(run, tree, 0, grown, dofs * grown / tree.n_leaves))
            batch_levels, batch_coords = tree.levels[order[:k]], tree.coords[order[:k]]
            all_levels, all_coords = [batch_levels], [batch_coords]
            while batch_levels.size and not uniform:  # children that come before the cut join the round
                ch_levels, ch_coords = LinearTree.children(batch_levels, batch_coords, d)
                ch_rows = scorer.ensure(tree, ch_levels, ch_coords, round_no)
                ok = ~table.done[ch_rows] & _precedes(table.effective[ch_rows], ch_levels, table.keys[ch_rows], cut)
                batch_levels, batch_coords = ch_levels[ok], ch_coords[ok]
                all_levels.append(batch_levels)
                all_coords.append(batch_coords)
        except RefinementCancelled:
            stop = "cancelled"
            break
        secs["test"] = time_module.perf_counter() - t0
        t1 = time_module.perf_counter()
        levels = np.concatenate(all_levels)
        coords = np.concatenate(all_coords)
        keys = tree.elements(levels, coords).element_keys(run.key_level)
        o = _order_keys(table.effective[table.find(keys)], levels, keys)
        levels, coords = levels[o], coords[o]
        fits, added = _fitting_count(run, tree, levels, coords, uniform, vertex_keys)
        secs["budget"] = time_module.perf_counter() - t1
        t2 = time_module.perf_counter()
        tree = tree.refined_by(levels[:fits], coords[:fits])
        secs["refine"] = time_module.perf_counter() - t2
        t3 = time_module.perf_counter()
        vertex_keys = np.union1d(vertex_keys, added)
        dofs = int(vertex_keys.size)
        secs["dofs"] = time_module.perf_counter() - t3
        # without a reference (no curve to plot) only the final mesh's conforming DOFs are counted
        iterations.append(
            iteration_row(
                round_no,
                tree,
                run,
                scorer.tests - tests_before,
                levels.size,
                fits,
                secs,
                dofs,
                run.reference is not None,
            )
        )
        tracker.report(_spent(run, tree, dofs), f"round {round_no}: {tree.n_leaves} leaves, {dofs} DOFs")
        log.info(
            "round %d: %d refined (%d wanted), %d leaves, %d DOFs", round_no, fits, levels.size, tree.n_leaves, dofs
        )
        if fits < levels.size:
            stop = _binding_budget(run, tree)
    last = iterations[-1]
    if settings.conforming_dofs and "conforming_dofs" not in last:  # (``tree`` is the last row's mesh)
        t = time_module.perf_counter()
        last["conforming_dofs"] = tree.conforming_dofs()
        last["seconds"]["conforming_dofs"] = round(time_module.perf_counter() - t, 6)
    return _result(run, state, scorer.table, tree, iterations, stop, scorer.max_tested)


def _spent(run: Run, tree: LinearTree, dofs: float, leaves: int | None = None, predicted: float = 0.0) -> float:
    """The share of the budget spent (for the progress bar): by ``tree`` with ``dofs``, or by a tree
    of ``leaves`` leaves and ``predicted`` DOFs when those are given."""
    n_leaves = tree.n_leaves if leaves is None else leaves
    parts = [0.0]
    if run.max_dofs is not None:
        parts.append(max(dofs, predicted) / run.max_dofs)
    if run.max_leaves is not None:
        parts.append(n_leaves / run.max_leaves)
    if run.settings.time_budget is not None:
        parts.append(run.elapsed / run.settings.time_budget)
    return min(1.0, max(parts))


def _fitting_count(
    run: Run, tree: LinearTree, levels: np.ndarray, coords: np.ndarray, uniform: bool, vertex_keys: np.ndarray
) -> tuple[int, np.ndarray]:
    """How many of the ordered refinements fit within the DOF and leaf budgets (Uniform: all or none), and
    the vertex keys (at the run's key level) that refining them adds to the mesh's ``vertex_keys``."""
    n = levels.size
    fits = n
    if run.max_leaves is not None:
        room = (run.max_leaves - tree.n_leaves) // (2**tree.d - 1)
        fits = min(fits, max(0, room))
    prefix, keys, position = tree.prefix_vertices(levels[:fits], coords[:fits], run.key_level, vertex_keys)
    if run.max_dofs is not None and fits:
        fits = int(np.searchsorted(prefix, run.max_dofs, side="right")) - 1
    if uniform and fits < n:
        fits = 0
    fits = max(0, fits)
    return fits, keys[position < fits]


def _binding_budget(run: Run, tree: LinearTree) -> str:
    """Which budget stopped the run: the one the next refinement would exceed."""
    if run.max_leaves is not None and tree.n_leaves + 2**tree.d - 1 > run.max_leaves:
        return "max_leaves"
    return "max_dofs"


def _result(
    run: Run, state: BudgetState, table: ElementTable, tree: LinearTree, iterations: list, stop: str, max_tested: int
) -> RefinementResult:
    keys = tree.element_keys(run.key_level)
    rows = table.find(keys)
    known = rows >= 0
    n = tree.n_leaves
    done = np.zeros(n, bool)
    done[known] = table.done[rows[known]]
    tested = np.full(n, -1, np.int64)
    tested[known] = table.tested_round[rows[known]]
    diag = {}
    for name in run.criterion.diagnostic_names:
        col = np.full(n, np.nan)
        if name in table.diagnostics:
            col[known] = table.diagnostics[name][rows[known]]
        diag[name] = col
    scores = np.full(n, np.nan)
    scores[known] = np.where(np.isfinite(table.score[rows[known]]), table.score[rows[known]], np.nan)
    result = RefinementResult(
        tree=tree,
        space=run.space,
        settings=run.settings,
        done=done,
        diagnostics=diag,
        tested_iteration=tested,
        iterations=iterations,
        stop_reason=stop,
        inr=run.model,
        vertex_cache=run.cache,
        scores=scores,
        budget_state=state,
    )
    result.max_tested_level = max_tested
    return result
