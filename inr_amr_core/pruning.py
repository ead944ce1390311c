"""Interpolative decomposition (ID) pruning of an INR restricted to boxes, batched over many boxes.

For a box E, ``ID_samples`` points are drawn in E and every hidden layer's activations
``Z_l`` (``ID_samples x width_l``) are decomposed by column-pivoted QR: ``Z_l ~= Z_l[:, I_l] T_l``
with rank ``k_l`` the number of pivots whose ``|R[j, j] / R[0, 0]| >= eps``. The pruned network keeps
neurons ``I_l`` of every hidden layer: ``W'_l = W_l[I_l, :] @ T_{l-1}^T``, ``b'_l = b_l[I_l]``, and the
output layer becomes ``W_L @ T_{L-1}^T`` (Chee et al. 2022; Algorithm 1 of the Pruning AMR paper).

How the pivoted QR is computed, for thousands of boxes at once: the R factor of a column-pivoted QR
of ``Z`` is the factor of a diagonally pivoted Cholesky decomposition of the Gram matrix
``G = Z^T Z`` (both pick, at every step, the column with the largest residual norm, and the residual
norms are the Schur complement's diagonal). ``G`` is formed in float64 from the float32 activations
(products of float32 numbers are exact in float64) by a batched matmul; on the CPU the forward pass,
the float64 copy and the Gram product run on blocks of boxes small enough to stay in cache. The
pivoting then runs left-looking, one pivot per step for every box of the chunk at once, costing
``O(k^2 w)`` per box instead of ``O(n w k)`` for Householder QR. Residual norms
are accurate to about ``1e-8 * R[0, 0]``, far below any useful ``eps`` and below the float32 noise of
the activations themselves; the tests compare ranks and pivots with ``scipy.linalg.qr(pivoting=True)``.

A box's pivoting stops as soon as its kept neurons exceed the budget ``P x sum(widths)``: the refine
decision is then known, so neither the remaining layers nor the pruned-network error are computed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from .inr import INR, resolve_device
from .native import available as native_available
from .native import interpolation_matrices as native_interpolation
from .native import pivoted_cholesky_boxes
from .sampling import SampleStream

__all__ = [
    "IDResult",
    "LiveNeuronGuess",
    "PruneResult",
    "budget_exceed_count",
    "exceeds_proportion",
    "interpolative_decomposition",
    "prune_on_box",
    "prune_on_boxes",
    "pruned_network",
]


# ------------------------------------------------------------------------------------ batched ID
@dataclass
class IDResult:
    """Interpolative decompositions of a batch of matrices ``Z_b ~= Z_b[:, I_b] T_b``.

    Attributes
    ----------
    rank : (B,) int64 tensor
        ``k_b``: pivots with ``|R[j, j]| >= eps |R[0, 0]|`` (capped by ``max_rank``).
    pivots : (B, K) int64 tensor
        Selected columns in pivot order (``K = max(rank)``); entries past ``rank[b]`` are padding.
    r_diag : (B, K) float64 tensor
        ``|R[j, j]|`` of the pivoted QR (0 past ``rank[b]``).
    interpolation : (B, K, w) float64 tensor
        ``T_b`` in the original column order (rows past ``rank[b]`` are zero), so that
        ``Z_b ~= Z_b[:, pivots[b, :k]] @ interpolation[b, :k]``.
    capped : (B,) bool tensor
        True where pivoting stopped because ``max_rank`` was reached (the true rank is larger).
    """

    rank: torch.Tensor
    pivots: torch.Tensor
    r_diag: torch.Tensor
    interpolation: torch.Tensor | None
    capped: torch.Tensor
    r_rows: torch.Tensor | None = None

    def interpolation_for(self, rows: torch.Tensor) -> torch.Tensor:
        """Interpolation matrices of some batch entries (computed now if they were skipped)."""
        if self.interpolation is not None:
            return self.interpolation[rows]
        assert self.r_rows is not None, "a decomposition without interpolation keeps its R rows"
        return _interpolation_matrices(self.r_rows[rows], self.pivots[rows], self.rank[rows])


class Workspace:
    """Reusable buffers: on this kind of machine a fresh multi-megabyte allocation (page faults)
    costs more than the arithmetic done in it, so chunks of boxes reuse the same memory."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        numel = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.dtype != dtype or buf.numel() < numel:
            buf = torch.empty(max(numel, 1), dtype=dtype, device=self.device)
            self._buffers[name] = buf
        return buf[:numel].view(shape)


def interpolative_decomposition(
    z: torch.Tensor,
    eps: float,
    max_rank: torch.Tensor | int | None = None,
    with_interpolation: bool = True,
    workspace: Workspace | None = None,
    drop_zero_columns: bool = True,
) -> IDResult:
    """Column-pivoted-QR interpolative decomposition of a batch of matrices.

    Parameters
    ----------
    z : torch.Tensor
        ``(B, n, w)`` (any float dtype; decomposed in float64).
    eps : float
        Relative threshold: column ``j`` of the pivot order is kept while ``|R[j,j]| >= eps |R[0,0]|``.
    max_rank : int or (B,) tensor, optional
        Stop pivoting a matrix once this many columns are kept (its ``capped`` flag is set when its
        next pivot would still pass ``eps``).
    with_interpolation : bool, default True
        Also compute the interpolation matrices (skip when only ranks are needed).
    workspace : Workspace, optional
        Buffers to reuse across calls.
    drop_zero_columns : bool, default True
        Decompose without the columns that are zero in every matrix (same result, less work).

    Returns
    -------
    IDResult

    Notes
    -----
    Left-looking diagonally pivoted Cholesky of ``G = Z^T Z``: step ``j`` takes the column ``p`` with
    the largest residual norm ``d_p`` (exactly the pivot of column-pivoted QR), sets
    ``R[j, :] = (G[p, :] - R[:j, p]^T R[:j, :]) / sqrt(d_p)`` and ``d -= R[j, :]^2``. After the one
    Gram product, a step costs ``O(j w)`` per matrix, so stopping at the rank budget is cheap.

    Examples
    --------
    >>> z = torch.randn(3, 50, 8, dtype=torch.float64)
    >>> z[:, :, 7] = z[:, :, 0] + 2 * z[:, :, 1]          # one dependent column
    >>> interpolative_decomposition(z, 1e-8).rank.tolist()
    [7, 7, 7]
    """
    if z.ndim != 3:
        raise ValueError(f"expected a batch of matrices (B, n, w), got shape {tuple(z.shape)}")
    bsz, n, w = z.shape
    dev = z.device
    # Columns that are zero in every matrix of the batch (dead ReLU neurons, common in trained
    # networks) can never be pivots and have zero interpolation weights: decompose without them,
    # which cuts the Gram product by (live / w)^2, then put them back as zero columns.
    if drop_zero_columns and bsz and n and w:
        live = (z != 0).any(dim=1).any(dim=0)
        if bool(live.any()) and not bool(live.all()):  # (an all-zero batch is trivial as it is)
            cols = live.nonzero().squeeze(1)
            part = interpolative_decomposition(
                z.index_select(2, cols), eps, max_rank, with_interpolation, workspace, False
            )
            return _widen_columns(part, cols, w)
    ws = workspace or Workspace(dev)
    z64 = ws.get("z64", tuple(z.shape), torch.float64)
    z64.copy_(z)
    grams = ws.get("gram", (bsz, w, w), torch.float64)
    torch.bmm(z64.transpose(1, 2), z64, out=grams)  # G = Z^T Z, exact products of float32 numbers
    return pivoted_cholesky(grams, min(n, w), eps, max_rank, with_interpolation, ws)


def pivoted_cholesky(
    grams: torch.Tensor | None,
    max_steps: int,
    eps: float,
    max_rank: torch.Tensor | int | None = None,
    with_interpolation: bool = True,
    workspace: Workspace | None = None,
    factor: torch.Tensor | None = None,
    keep_rows: bool = True,
) -> IDResult:
    """The interpolative decompositions of matrices ``Z_b`` given their Gram matrices, or the matrices.

    Parameters
    ----------
    grams : torch.Tensor or None
        ``(B, w, w)`` float64 ``Z_b^T Z_b`` (left unchanged).
    max_steps : int
        Upper bound of the rank, ``min(rows, w)`` of the ``Z_b``.
    eps, max_rank, with_interpolation, workspace
        As in :func:`interpolative_decomposition`.
    factor : torch.Tensor, optional
        ``(B, m, w)`` float64 ``Z_b`` themselves, instead of ``grams``: each step forms only the Gram
        row it needs, ``Z_b^T z_p`` (``m w`` multiply-adds instead of the whole Gram matrix's ``m w^2``;
        for short matrices, the sketches, the cheaper way when the rank stays well below ``w``).
    keep_rows : bool, default True
        Keep the R rows in the result (what :meth:`IDResult.interpolation_for` needs later); a caller
        that needs only ranks and pivots saves their copy.

    Returns
    -------
    IDResult
    """
    data = factor if factor is not None else grams
    assert data is not None
    f64, dev, bsz, w = data.dtype, data.device, data.shape[0], data.shape[2]
    kmax_all = min(max_steps, w)
    if max_rank is None:
        cap = torch.full((bsz,), kmax_all, dtype=torch.int64, device=dev)
    else:
        cap = torch.as_tensor(max_rank, dtype=torch.int64, device=dev).expand(bsz).clone().clamp(0, kmax_all)
    steps = int(cap.max().item()) if bsz else 0
    single = f64 == torch.float32 and factor is not None  # (activations or sketches, for the C kernel)
    if dev.type == "cpu" and (f64 == torch.float64 or single) and bsz and native_available():
        rows_buffer = (workspace or Workspace(dev)).get("r_rows", (bsz, steps, w), torch.float64)
        out = pivoted_cholesky_boxes(
            data.numpy(), factor is None, cap.numpy(), steps, eps, torch.get_num_threads(), rows_buffer.numpy()
        )
        r_rows_n, pivots_n, r_diag_n, rank_n, capped_n = (torch.from_numpy(a) for a in out)
        k = int(rank_n.max().item())
        pivots_n, r_diag_n = pivots_n[:, :k], r_diag_n[:, :k]
        interp = _interpolation_matrices(r_rows_n[:, :k], pivots_n, rank_n) if with_interpolation else None
        # (the rows live in the workspace, which the next call reuses: a result that keeps them keeps a copy)
        kept_rows = r_rows_n[:, :k].clone() if keep_rows else None
        return IDResult(
            rank=rank_n, pivots=pivots_n, r_diag=r_diag_n, interpolation=interp, capped=capped_n, r_rows=kept_rows
        )
    if single:  # the kernel was switched off since the factors were made: the torch version needs float64
        assert factor is not None
        factor = factor.double()
        f64 = factor.dtype
    if factor is not None:
        diag = (factor * factor).sum(dim=1)
    else:
        assert grams is not None
        diag = torch.diagonal(grams, dim1=1, dim2=2).clone()
    ws = workspace or Workspace(dev)
    top = diag.max(dim=1).values if w else torch.zeros(bsz, dtype=f64, device=dev)
    thresh = (eps * eps) * top
    # the outputs, for every box
    r_rows_all = ws.get("r_rows", (bsz, steps, w), f64)  # rows are written before they are read
    pivots_all = torch.zeros(bsz, steps, dtype=torch.int64, device=dev)
    r_diag_all = torch.zeros(bsz, steps, dtype=f64, device=dev)
    rank_all = torch.zeros(bsz, dtype=torch.int64, device=dev)
    capped_all = torch.zeros(bsz, dtype=torch.bool, device=dev)
    # the state of the boxes still pivoting (``boxes``): the others are dropped from it as they finish,
    # once they are half of it, so the later steps of a batch of mixed ranks work on the few that go on
    boxes = torch.arange(bsz, device=dev)
    # squared residual column norms (updated in place); a chosen column's is set to -inf, so that the
    # next pivot is the largest among the others (boxes that stop never start again, so what their
    # entries become does not matter)
    resid = diag
    r_rows, pivots, r_diag, rank, capped = r_rows_all, pivots_all, r_diag_all, rank_all, capped_all
    active = top > 0
    neg_inf = torch.tensor(-math.inf, dtype=f64, device=dev)
    zero = torch.zeros((), dtype=f64, device=dev)

    def flush() -> None:
        if r_rows is r_rows_all:  # nothing was compacted: the outputs are the state
            return
        r_rows_all[boxes, :j] = r_rows[:, :j]
        pivots_all[boxes] = pivots
        r_diag_all[boxes] = r_diag
        rank_all[boxes] = rank
        capped_all[boxes] = capped

    j = 0
    while True:
        val, p = resid.max(dim=1)
        passes = active & (val >= thresh) & (val > 0)
        reached_cap = passes & (rank >= cap)
        capped |= reached_cap
        active = passes & ~reached_cap
        n_active = int(active.sum())
        if j >= steps or n_active == 0:
            break
        if n_active <= boxes.numel() // 2 and boxes.numel() >= 16:
            flush()
            keep = active.nonzero().squeeze(1)
            r_rows = r_rows[keep]  # a copy: the outputs stay
            boxes, resid, cap, thresh = boxes[keep], resid[keep], cap[keep], thresh[keep]
            pivots, r_diag, rank = pivots[keep], r_diag[keep], rank[keep]
            capped, active, val, p = capped[keep], active[keep], val[keep], p[keep]
            if factor is not None:
                factor = factor[keep]
        if factor is not None:  # G[p, :] = z_p^T Z
            z_p = factor.gather(2, p[:, None, None].expand(-1, factor.shape[1], 1)).transpose(1, 2)
            grow = torch.bmm(z_p, factor).squeeze(1)
        else:
            assert grams is not None
            grow = grams[boxes, p, :]  # (boxes, w): G[p, :]
        if j:
            prev = r_rows[:, :j, :]
            coef = prev.gather(2, p[:, None, None].expand(-1, j, 1)).transpose(1, 2)  # (B, 1, j): R[:j, p]
            grow.sub_(torch.bmm(coef, prev).squeeze(1))  # (grow is this step's own copy)
        piv_norm = torch.sqrt(torch.where(active, val, 1.0))
        row = r_rows[:, j, :]  # (a stopped box's rows past its rank are zeroed at the end)
        torch.div(grow, piv_norm[:, None], out=row)
        row.scatter_(1, p[:, None], piv_norm[:, None])  # the pivot's own entry is exactly its norm
        resid -= row * row
        resid.scatter_(1, p[:, None], neg_inf.expand(p.shape[0], 1))
        pivots[:, j] = torch.where(active, p, 0)
        r_diag[:, j] = torch.where(active, piv_norm, zero)
        rank += active
        j += 1
    flush()
    k = int(rank_all.max().item()) if bsz else 0
    pivots, r_diag = pivots_all[:, :k], r_diag_all[:, :k]
    # rows past a box's rank were never written once it left the working set: zero, as documented
    valid = torch.arange(k, device=dev)[None, :] < rank_all[:, None]
    r_rows = torch.where(valid[:, :, None], r_rows_all[:, :k, :], zero)
    interp = _interpolation_matrices(r_rows, pivots, rank_all) if with_interpolation else None
    return IDResult(rank=rank_all, pivots=pivots, r_diag=r_diag, interpolation=interp, capped=capped_all, r_rows=r_rows)


def _widen_columns(part: IDResult, cols: torch.Tensor, width: int) -> IDResult:
    """The decomposition of matrices whose columns ``cols`` are ``part``'s and whose others are zero."""
    bsz = part.rank.shape[0]
    r_rows = None
    if part.r_rows is not None:
        r_rows = part.r_rows.new_zeros(bsz, part.r_rows.shape[1], width)
        r_rows[:, :, cols] = part.r_rows
    interp = None
    if part.interpolation is not None:
        interp = part.interpolation.new_zeros(bsz, part.interpolation.shape[1], width)
        interp[:, :, cols] = part.interpolation
    padding = torch.arange(part.pivots.shape[1], device=cols.device)[None, :] >= part.rank[:, None]
    pivots = torch.where(padding, 0, cols[part.pivots]) if cols.numel() else part.pivots
    return IDResult(
        rank=part.rank, pivots=pivots, r_diag=part.r_diag, interpolation=interp, capped=part.capped, r_rows=r_rows
    )


class _LayerWeights(NamedTuple):
    """One layer's weights and biases for the neurons evaluated now (``cols``; None: all of them),
    and for the ReLU neurons believed dead (``dead_cols``; None when none are skipped)."""

    w: torch.Tensor
    b: torch.Tensor
    cols: torch.Tensor | None = None
    w_dead: torch.Tensor | None = None
    b_dead: torch.Tensor | None = None
    dead_cols: torch.Tensor | None = None


class LiveNeuronGuess:
    """Which ReLU neurons of each hidden layer have been seen alive, remembered across calls.

    A guess only: :func:`prune_on_boxes` still evaluates the neurons believed dead on every block of
    boxes, so the results never depend on it, only the cost. It belongs to one run (or session) and
    one INR, and is passed explicitly (``live_neurons=``); nothing is stored on the INR object.
    """

    def __init__(self) -> None:
        self.layers: dict[int, torch.Tensor] = {}


class _LiveNeurons:
    """Hidden-layer forward passes that skip ReLU neurons found dead on the boxes seen so far.

    A dead neuron's activations are exactly zero, so it can never be a pivot and its interpolation
    weights are zero: leaving it out of the decomposition (and out of the next layer's inputs) changes
    nothing but the cost. The neurons believed dead are still evaluated on every block of boxes, and
    any that turns out alive there joins the live set, so the result is exact whatever the boxes.
    """

    def __init__(self, model: INR, guess: LiveNeuronGuess) -> None:
        self.model = model
        # layer -> sorted indices of the neurons believed live, shared with later calls (the next
        # refinement iterations) through ``guess`` (a guess only: every block is still checked)
        self.live: dict[int, torch.Tensor] = guess.layers

    def weights(self, layer: int, in_cols: torch.Tensor | None) -> _LayerWeights:
        """The layer's weights split by the current guess; ``in_cols`` are the previous layer's neurons
        the input holds (None: all of them)."""
        w, b = self.model.weights[layer], self.model.biases[layer]
        if in_cols is not None:
            w = w[:, in_cols]
        live = self.live.get(layer)
        if self.model.activations[layer].name != "relu" or live is None or live.numel() == w.shape[0]:
            return _LayerWeights(w, b)
        dead = torch.ones(w.shape[0], dtype=torch.bool, device=w.device)
        dead[live] = False
        dead_cols = dead.nonzero().squeeze(1)
        return _LayerWeights(w[live], b[live], live, w[dead_cols], b[dead_cols], dead_cols)

    def evaluate(self, layer: int, h: torch.Tensor, lw: _LayerWeights, out: torch.Tensor, ws: Workspace) -> bool:
        """Write the activations of the neurons ``lw.cols`` at the rows ``h`` into ``out``.

        Returns False when the live set changed on these rows (a neuron believed dead is alive, or
        the layer was seen for the first time): ``out`` is then incomplete and the caller must start
        the layer again with new weights.
        """
        act = self.model.activations[layer]
        act.apply_(torch.addmm(lw.b, h, lw.w.T, out=out))
        if act.name != "relu" or not h.shape[0]:
            return True
        if layer not in self.live:  # first block ever: keep the neurons alive in it
            found = (out.amax(dim=0) != 0).nonzero().squeeze(1)
            self.live[layer] = found
            return found.numel() == out.shape[1]
        if lw.dead_cols is None or lw.w_dead is None or lw.b_dead is None or lw.cols is None:
            return True
        pre = torch.addmm(lw.b_dead, h, lw.w_dead.T, out=ws.get("dead", (h.shape[0], lw.dead_cols.numel()), h.dtype))
        # one whole-tensor reduction (fast) settles the usual case; NaN counts as alive
        if bool(pre.max() <= 0):
            return True
        woke = ~(pre.amax(dim=0) <= 0)
        if not bool(woke.any()):
            return True
        self.live[layer] = torch.sort(torch.cat([lw.cols, lw.dead_cols[woke]])).values
        return False

    def layer(
        self,
        layer: int,
        h: torch.Tensor,
        in_cols: torch.Tensor | None,
        samples: int,
        block: int,
        ws: Workspace,
        sketch: torch.Tensor | None = None,
        native: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Activations and what pivoting needs, ``block`` boxes at a time.

        ``h`` holds ``samples`` rows per box. Exact ID: the Gram matrices ``Z^T Z`` of the activations,
        or (``native``: the C kernel pivots, forming only the Gram rows it needs, in float64 from
        float32 factors) the float32 activations ``Z`` themselves, without a copy.
        Sketched ID (``sketch``, an ``(s, samples)`` float32 Gaussian matrix): the sketches
        ``Y = sketch @ Z`` themselves, ``s`` rows instead of ``samples`` (pivoting forms the few Gram
        rows it needs from them). On the CPU, blocks small enough to stay in cache keep the copies and
        the products from going out to main memory. Returns ``(activations (rows, k), columns or None,
        grams (boxes, k, k) or sketches (boxes, s, k))``.
        """
        nbox = h.shape[0] // samples
        while True:
            lw = self.weights(layer, in_cols)
            width = lw.w.shape[0]
            out = ws.get(f"act{layer % 2}", (h.shape[0], width), torch.float32)
            pivot_data = _pivot_buffer(out.view(nbox, samples, width), ws, sketch, native)
            for s in range(0, nbox, block):
                e = min(nbox, s + block)
                rows = slice(s * samples, e * samples)
                if not self.evaluate(layer, h[rows], lw, out[rows], ws):
                    break  # the live set changed: start the layer again
                _fill_pivot_data(out[rows].view(e - s, samples, width), ws, sketch, native, pivot_data[s:e])
            else:
                return out, lw.cols, pivot_data


def _pivot_buffer(z: torch.Tensor, ws: Workspace, sketch: torch.Tensor | None, native: bool) -> torch.Tensor:
    """Where what pivoting needs from the ``(boxes, samples, w)`` activations ``z`` goes: the sketches
    (float32 for the C kernel, else float64), ``z`` itself (the C kernel's exact ID), or the float64 Gram
    matrices."""
    nbox, _, width = z.shape
    if sketch is not None:
        dtype = torch.float32 if native else torch.float64
        return ws.get(f"sketch{dtype}", (nbox, sketch.shape[0], width), dtype)
    if native:
        return z
    return ws.get("grams", (nbox, width, width), torch.float64)


def _fill_pivot_data(
    z: torch.Tensor, ws: Workspace, sketch: torch.Tensor | None, native: bool, out: torch.Tensor
) -> None:
    """Write into ``out`` (from :func:`_pivot_buffer`) what pivoting needs from the activations ``z``."""
    if sketch is not None:
        # float32 products of the float32 activations (each box's one GEMM of the same shape whatever the
        # block or chunk, so its bits do not depend on them: tested), kept in float64 without the kernel
        if native:
            torch.matmul(sketch, z, out=out)
            return
        y32 = ws.get("sketch32", (z.shape[0], sketch.shape[0], z.shape[2]), torch.float32)
        torch.matmul(sketch, z, out=y32)
        out.copy_(y32)
        return
    if native:
        return  # (``out`` is ``z`` itself)
    # neuron-major float64 copy: BLAS forms Z^T Z faster from it than from the row-major one
    z64t = ws.get("z64t", (z.shape[0], z.shape[2], z.shape[1]), torch.float64)
    z64t.copy_(z.transpose(1, 2))
    torch.bmm(z64t, z64t.transpose(1, 2), out=out)  # exact products of float32 numbers


def _layer_after_stored(
    model: INR,
    layer: int,
    h: torch.Tensor,
    stored: torch.Tensor,
    ws: Workspace,
    sketch: torch.Tensor | None,
    native: bool,
) -> tuple[torch.Tensor, None, torch.Tensor]:
    """One layer of a second stage: the activations of each box's new rows (``h``: the previous layer's
    at those rows), after its ``stored`` ``(boxes, f, w)`` first rows, and what pivoting needs from all
    of them (as :meth:`_LiveNeurons.layer` gives it for all rows at once). Returns ``(new rows'
    activations, None, pivot data)``; a row's activations do not depend on the rows evaluated with it,
    so the decomposition is the one of evaluating every row together (tested)."""
    w, b = model.weights[layer], model.biases[layer]
    nbox, f, width = stored.shape
    new = ws.get(f"act{layer % 2}", (h.shape[0], width), torch.float32)
    model.activations[layer].apply_(torch.addmm(b, h, w.T, out=new))
    z = ws.get("assembled", (nbox, f + h.shape[0] // max(nbox, 1), width), torch.float32)
    z[:, :f] = stored
    z[:, f:] = new.view(nbox, -1, width)
    pivot_data = _pivot_buffer(z, ws, sketch, native)
    _fill_pivot_data(z, ws, sketch, native, pivot_data)
    return new, None, pivot_data


def _interpolation_matrices(r_rows: torch.Tensor, pivots: torch.Tensor, rank: torch.Tensor) -> torch.Tensor:
    """``T = R11^{-1} R[:k, :]`` per matrix (original column order), zero rows past each rank (float64)."""
    r_rows = r_rows.double()
    bsz, k, w = r_rows.shape
    if k == 0:
        return r_rows.new_zeros(bsz, 0, w)
    dev = r_rows.device
    if dev.type == "cpu" and bsz and native_available():
        t_np = native_interpolation(r_rows.numpy(), pivots.numpy(), rank.numpy(), torch.get_num_threads())
        return torch.from_numpy(t_np)
    idx = torch.arange(k, device=dev)
    valid = idx[None, :] < rank[:, None]  # (B, k)
    r11 = torch.gather(r_rows, 2, pivots[:, None, :].expand(bsz, k, k))  # rows i, pivot columns j
    both = valid[:, :, None] & valid[:, None, :]
    eye = torch.eye(k, dtype=r_rows.dtype, device=dev).expand(bsz, k, k)
    r11 = torch.where(both, torch.triu(r11), eye)
    rhs = torch.where(valid[:, :, None], r_rows, torch.zeros((), dtype=r_rows.dtype, device=dev))
    t = torch.linalg.solve_triangular(r11, rhs, upper=True)
    # selected columns are exactly unit vectors (remove round-off so a kept neuron is kept exactly)
    sel = torch.zeros_like(t)
    sel.scatter_(2, pivots[:, :, None], 1.0)
    t = torch.where(valid[:, :, None], t, torch.zeros((), dtype=t.dtype, device=dev))
    is_pivot_col = torch.zeros(bsz, w, dtype=torch.bool, device=dev)
    is_pivot_col.scatter_(1, torch.where(valid, pivots, pivots[:, :1].expand_as(pivots)), True)
    is_pivot_col &= rank[:, None] > 0
    t = torch.where(is_pivot_col[:, None, :], sel * valid[:, :, None], t)
    return t


# ------------------------------------------------------------------------------------ pruning
_EFFICIENT_CHUNK_MB = 128.0
_CACHE_BLOCK_BYTES = 4 * 2**20
#: sketch rows beyond the rank budget (Halko, Martinsson & Tropp's p: 5 to 10 suffice in practice)
SKETCH_OVERSAMPLE = 10


def gaussian_sketch(rows: int, cols: int, seed: int, device: torch.device) -> torch.Tensor:
    """The ``(rows, cols)`` float64 Gaussian sketching matrix of a run (scaled by ``1/sqrt(rows)``), from ``seed``.

    Drawn with its own generator (the global RNG is untouched) in float64 on the CPU, then moved, so
    every device and every chunking sees the same matrix.
    """
    gen = torch.Generator().manual_seed((int(seed) * 1_000_003 + 0x5EED) & 0x7FFFFFFFFFFFFFFF)
    g = torch.randn(rows, cols, generator=gen, dtype=torch.float64) / math.sqrt(rows)
    return g.to(device=device)


def budget_exceed_count(proportion: float | None, total_width: int) -> int | None:
    """Smallest number of kept neurons whose proportion exceeds ``P`` (None when there is no P).

    The one place where "kept / total > P" is decided: the small tolerance makes ``P * total`` that is
    a whole number up to rounding (0.075 x 1280 = 96) count as that number.
    """
    if proportion is None:
        return None
    return math.floor(proportion * total_width + 1e-9) + 1


def exceeds_proportion(kept: np.ndarray, proportion: float, total_width: int) -> np.ndarray:
    """``kept / total_width > proportion`` for whole neuron counts (see :func:`budget_exceed_count`)."""
    limit = budget_exceed_count(proportion, total_width)
    return np.asarray(kept) >= limit


@dataclass
class PruneResult:
    """Per-box outcome of ID pruning.

    Attributes
    ----------
    kept : (B,) int64
        Kept neurons over all hidden layers. Where ``truncated``, a lower bound that already exceeds
        the budget ``P x total_width``.
    total_width : int
        Hidden neurons of the network.
    proportion : (B,) float64
        ``kept / total_width``.
    error : (B,) float64
        Relative error of the pruned network against the full one at ``error_samples`` points
        (NaN where ``truncated``: the decision to refine did not need it).
    ranks : (B, L) int64
        Neurons kept per hidden layer (-1 for layers not reached because of truncation).
    truncated : (B,) bool
        The rank budget was exceeded before all layers were decomposed.
    """

    kept: np.ndarray
    total_width: int
    proportion: np.ndarray
    error: np.ndarray
    ranks: np.ndarray
    truncated: np.ndarray
    seconds: dict = field(default_factory=dict)


def _pruned_forward(inr: INR, x: torch.Tensor, ids: Sequence[IDResult], rows: Sequence[torch.Tensor]) -> torch.Tensor:
    """Evaluate each box's pruned network at its own points: ``x`` is ``(B, m, n_in)``.

    Neurons are selected with ``W_l[I_l]`` and the interpolation ``T_l`` maps the kept activations
    back to the layer's full width, which is ``W'_{l+1} = W_{l+1}[I_{l+1}] T_l^T`` applied lazily:
    padded neurons (past a box's rank) have zero rows in ``T`` and so contribute nothing.
    """
    h = inr.encode(x)
    n_hidden = len(inr.weights) - 1
    for l in range(n_hidden):
        res, r = ids[l], rows[l]
        piv = res.pivots[r]
        w_sel = inr.weights[l][piv]  # (B, K, in)
        b_sel = inr.biases[l][piv]  # (B, K)
        a = inr.activations[l](torch.baddbmm(b_sel[:, None, :], h, w_sel.transpose(1, 2)))
        h = a @ res.interpolation_for(r).to(a.dtype)
    out = inr.activations[-1](h @ inr.weights[-1].T + inr.biases[-1])
    return out * inr.output_scale


def paper_relative_error(full: np.ndarray, pruned: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """``mean(|f - g| / max(|f|, floor))`` over the last axis."""
    return np.mean(np.abs(full - pruned) / np.maximum(np.abs(full), floor), axis=-1)


def prune_on_boxes(
    inr: INR,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    to_inputs: Callable[[np.ndarray], np.ndarray] | None = None,
    element_ids: np.ndarray | None = None,
    eps: float = 1e-3,
    id_samples: int = 256,
    error_samples: int = 32,
    max_proportion: float | None = None,
    stream: SampleStream | None = None,
    component: int = 0,
    relative_error: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    device: str | torch.device | None = None,
    memory_limit_mb: float = 512.0,
    progress: Callable[[int, int], None] | None = None,
    live_neurons: LiveNeuronGuess | None = None,
    id_method: str = "exact",
    rank_cap: int | None = None,
    oversample: int = SKETCH_OVERSAMPLE,
    layer_rank: int | None = None,
    first_samples: int | None = None,
) -> PruneResult:
    """ID-prune the INR on many boxes at once and measure each pruned network.

    Parameters
    ----------
    inr : INR
    lower, upper : (B, d) arrays
        Box corners in the tree's coordinates.
    to_inputs : callable, optional
        Maps ``(N, d)`` tree coordinates to ``(N, n_inputs)`` INR inputs (fixing e.g. ``t``);
        identity by default.
    element_ids : (B,) uint64, optional
        Keys of the boxes' random samples (default ``0..B-1``).
    eps : float, default 1e-3
        ID tolerance (paper's epsilon).
    id_samples, error_samples : int, default 256 and 32
        Points per box for the ID and for the pruned-network error.
    max_proportion : float, optional
        ``P``: stop a box as soon as its kept proportion exceeds it (its error is then not computed).
    stream : SampleStream, optional
        Seeded sample source (default seed 0).
    component : int, default 0
        Output component whose relative error is measured.
    relative_error : callable, optional
        ``(full (B, m), pruned (B, m)) -> (B,)``; default the paper's mean relative error.
    device : {'auto', 'cpu', 'cuda'}, optional
    memory_limit_mb : float, default 512
        Bounds the activations held at once (boxes are processed in chunks).
    progress : callable, optional
        ``progress(done_boxes, total_boxes)`` after each chunk.
    live_neurons : LiveNeuronGuess, optional
        The ReLU neurons seen alive by earlier calls on the same INR (a run passes one to all its
        iterations); it only saves work, the results are the same without it.
    id_method : {'exact', 'sketch'}, default 'exact'
        ``exact``: pivot on the float64 Gram matrices of the activations (the pivots and ranks of
        column-pivoted QR). ``sketch``: a randomized ID (Liberty et al. 2007; Halko, Martinsson &
        Tropp 2011): the column-pivoted QR of ``Y = G Z`` for one Gaussian ``(s, ID_samples)`` matrix
        ``G`` (seeded by the stream, applied in float32), with ``s`` a few rows more than the most
        neurons a box may keep (``P x width``, or ``rank_cap``), gives the pivots and the interpolation
        matrix ``T = R11^-1 R12`` of ``Y``, an ID of ``Z`` itself: ranks stay exact up to that budget,
        and the work shrinks by about ``s / ID_samples``.
    rank_cap : int, optional
        Without ``max_proportion``: the most neurons per box a sketch must resolve (default: all).
    oversample : int, default 10
        Sketch rows beyond the rank budget.
    layer_rank : int, optional
        Prune every hidden layer to at most this many neurons (the ID truncated there) and measure
        the error of that network on every box: no box stops early.
    first_samples : int, optional
        Sequential tests (with ``max_proportion``): decompose first on each box's first ``first_samples``
        ID samples (a prefix of its ``id_samples``, so the same points); a box whose ID there already
        keeps more than P keeps that result (truncated), the others are decomposed on all ``id_samples``.
        The second stage reuses the first stage's activations of the shared points, except on ReLU
        networks (whose skipped dead neurons may differ between the stages), where it evaluates them
        again; either way each box gets the results of :func:`prune_on_boxes` on its first samples, or
        on all of them.

    Returns
    -------
    PruneResult
    """
    dev = resolve_device(device) if device is not None else inr.device
    model = inr.on(dev)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    nbox = lower.shape[0]
    ids_all = np.arange(nbox, dtype=np.uint64) if element_ids is None else np.asarray(element_ids, np.uint64)
    stream = stream or SampleStream(0)
    to_inputs = to_inputs or (lambda p: p)
    rel = relative_error or paper_relative_error
    widths = model.hidden_widths
    total = sum(widths)
    exceed = budget_exceed_count(max_proportion, total)
    n_hidden = len(widths)
    wmax = max(widths, default=1)
    if id_method not in ("exact", "sketch"):
        raise ValueError(f"id_method must be 'exact' or 'sketch', got {id_method!r}")
    first = None if first_samples is None or not 0 < first_samples < id_samples else int(first_samples)
    if first is not None and (exceed is None or layer_rank is not None):
        raise ValueError("first_samples (sequential tests) needs max_proportion and no layer_rank")
    # reusing the first stage's activations needs the same neurons in both stages (no ReLU skipping)
    reuse = first is not None and all(a.name != "relu" for a in model.activations[:-1])

    def sketch_for(samples: int) -> torch.Tensor | None:
        if id_method != "sketch":
            return None
        budget = exceed if exceed is not None else (rank_cap if rank_cap is not None else wmax)
        if layer_rank is not None:
            budget = layer_rank
        rows_needed = min(samples, int(budget) + int(oversample))
        if rows_needed >= samples:  # (the sketch would cost more than it saves)
            return None
        return gaussian_sketch(rows_needed, samples, stream.seed, dev).float()

    sketch = sketch_for(id_samples)
    sketch_first = sketch_for(first) if first is not None else None
    # the exact ID through the C kernel pivots on the activations themselves (no Gram products)
    native = dev.type == "cpu" and native_available()
    # activations (float32, two layers), Gram matrices (sketched: the sketches) and R rows; on a GPU the
    # float64 copy too
    pivot_rows = sketch.shape[0] if sketch is not None else (id_samples if native else wmax)
    per_box_bytes = id_samples * wmax * (2 * 4 + (8 if dev.type == "cuda" else 0)) + 2 * pivot_rows * wmax * 8
    if reuse:  # (the first stage's activations of every layer, a layer's gathered and assembled rows, and
        # without the kernel their float64 copy, made for all boxes at once)
        per_box_bytes += (first or 0) * (sum(widths) + wmax) * 4 + id_samples * wmax * (4 + (0 if native else 8))
    # CPU blocks whose float32 activations and float64 copy fit in cache (see _LiveNeurons.layer)
    cache_block = max(1, int(_CACHE_BLOCK_BYTES // (id_samples * wmax * 12)))
    # chunks bounded by the memory limit, and kept small enough (~64 MB) that buffers are reused
    # instead of freshly page-faulted on every allocation
    # on a GPU, fewer and larger chunks amortise kernel launches; the memory limit bounds them
    target_mb = memory_limit_mb if dev.type == "cuda" else min(memory_limit_mb, _EFFICIENT_CHUNK_MB)
    chunk = max(1, int(target_mb * 2**20 // max(per_box_bytes, 1)))
    kept_all = np.zeros(nbox, dtype=np.int64)
    error = np.full(nbox, np.nan)
    ranks = np.full((nbox, n_hidden), -1, dtype=np.int64)
    truncated = np.zeros(nbox, dtype=bool)
    secs = {"sample": 0.0, "forward": 0.0, "decompose": 0.0, "error": 0.0}
    ws = Workspace(dev)
    live = _LiveNeurons(model, live_neurons if live_neurons is not None else LiveNeuronGuess())

    def layers(
        x: torch.Tensor,
        nb: int,
        samples: int,
        sketch_m: torch.Tensor | None,
        stored: list[torch.Tensor] | None = None,
        stored_boxes: torch.Tensor | None = None,
        keep: bool = False,
    ) -> tuple[
        torch.Tensor, torch.Tensor, list[IDResult], list[torch.Tensor], torch.Tensor, list[torch.Tensor], float, float
    ]:
        """Decompose every hidden layer of ``nb`` boxes whose ID rows are ``samples`` per box.

        ``x``: the INR inputs of the rows to evaluate, box by box. With ``stored`` (one ``(n, f, w)``
        tensor per layer: the activations of the first ``f`` rows of a first stage's boxes, box ``i`` of
        this stage being ``stored_boxes[i]`` there), ``x`` holds
        only the other ``samples - f`` rows of each box; each layer's decomposition sees the stored rows
        then the new ones, as if all ``samples`` had been evaluated together. ``keep``: also return each
        layer's activations ``(nb, samples, w)`` for such a later stage (unset for boxes no longer alive there).
        """
        kept = torch.zeros(nb, dtype=torch.int64, device=dev)
        alive = torch.ones(nb, dtype=torch.bool, device=dev)
        results: list[IDResult] = []
        rows: list[torch.Tensor] = []  # which boxes each layer's IDResult covers
        chunk_ranks = torch.full((nb, n_hidden), -1, dtype=torch.int64, device=dev)
        acts: list[torch.Tensor] = []
        new_rows = samples if stored is None else samples - stored[0].shape[1]
        # layer by layer, only for boxes still within budget: a box that already exceeds P
        # costs neither the rest of the forward pass nor the rest of the decompositions
        h = model.encode(x)
        h_boxes = torch.arange(nb, device=dev)  # box index of each row block of h
        in_cols = None  # neurons of the previous layer that h holds (None: all of them)
        t_fwd = t_dec = 0.0
        for l in range(n_hidden):
            ta = time.perf_counter()
            a_idx = alive.nonzero().squeeze(1)
            if a_idx.numel() == 0:
                break
            if a_idx.numel() != h_boxes.numel():
                h = h.view(h_boxes.numel(), new_rows, -1)[alive[h_boxes]].view(-1, h.shape[-1])
                h_boxes = a_idx
            if stored is None or stored_boxes is None:
                block = a_idx.numel() if dev.type == "cuda" else cache_block
                h, cols, pivot_data = live.layer(l, h, in_cols, samples, block, ws, sketch_m, native)
            else:
                h, cols, pivot_data = _layer_after_stored(
                    model, l, h, stored[l][stored_boxes[a_idx]], ws, sketch_m, native
                )
            if keep:  # (rows of boxes no longer alive are left unset: a later stage never reads them)
                kept_acts = torch.empty((nb, samples, h.shape[-1]), dtype=h.dtype, device=dev)
                kept_acts[a_idx] = h.view(a_idx.numel(), samples, -1)
                acts.append(kept_acts)
            in_cols = cols
            tb = time.perf_counter()
            cap = None if exceed is None else (exceed - kept[a_idx]).clamp(min=0)
            if cap is None and sketch_m is not None and rank_cap is not None:
                cap = torch.full((a_idx.numel(),), int(rank_cap), dtype=torch.int64, device=dev)
            if layer_rank is not None:
                cap = torch.full((a_idx.numel(),), int(layer_rank), dtype=torch.int64, device=dev)
            steps = samples if sketch_m is None else sketch_m.shape[0]
            grams, factor = (None, pivot_data) if sketch_m is not None or native else (pivot_data, None)
            res = pivoted_cholesky(
                grams,
                steps,
                eps,
                max_rank=cap,
                with_interpolation=False,
                workspace=ws,
                factor=factor,
                keep_rows=error_samples > 0,  # (only the pruned network's error needs them)
            )
            if cols is not None:
                res = _widen_columns(res, cols, model.weights[l].shape[0])
            kept[a_idx] += res.rank
            chunk_ranks[a_idx, l] = res.rank
            if layer_rank is not None:
                over = torch.zeros_like(res.capped)  # truncated, not over: every box goes on
            else:
                over = res.capped if exceed is None else (kept[a_idx] >= exceed) | res.capped
            alive[a_idx[over]] = False
            # map from box (within chunk) to its row in this layer's result
            row_of = torch.full((nb,), -1, dtype=torch.int64, device=dev)
            row_of[a_idx] = torch.arange(a_idx.numel(), device=dev)
            results.append(res)
            rows.append(row_of)
            t_fwd += tb - ta
            t_dec += time.perf_counter() - tb
        return kept, alive, results, rows, chunk_ranks, acts, t_fwd, t_dec

    def error_test(
        s: int, boxes: torch.Tensor, alive: torch.Tensor, results: list[IDResult], rows: list[torch.Tensor]
    ) -> None:
        """The pruned networks' error of the chunk's ``boxes`` (those of a :func:`layers` call) still alive."""
        done = alive.nonzero().squeeze(1)
        if error_samples == 0 or done.numel() == 0:
            return
        sel = (s + boxes[done]).cpu().numpy()
        ept = stream.points_in_boxes(ids_all[sel], lower[sel], upper[sel], error_samples, "error")
        xe = torch.from_numpy(to_inputs(ept.reshape(-1, ept.shape[-1])).astype(np.float32)).to(dev)
        full = model.forward(xe)[:, component].reshape(done.numel(), error_samples)
        xe = xe.reshape(done.numel(), error_samples, -1)
        pruned = _pruned_forward(model, xe, results, [r[done] for r in rows])[..., component]
        error[sel] = rel(full.double().cpu().numpy(), pruned.double().cpu().numpy())

    def inputs(points: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(to_inputs(points.reshape(-1, points.shape[-1])).astype(np.float32)).to(dev)

    with torch.no_grad():
        for s in range(0, nbox, chunk):
            e = min(nbox, s + chunk)
            t0 = time.perf_counter()
            pts = stream.points_in_boxes(ids_all[s:e], lower[s:e], upper[s:e], id_samples, "id")
            nb = e - s
            t_sample = t_fwd = t_dec = t_err = 0.0
            if first is None:
                x = inputs(pts)
                t_sample += time.perf_counter() - t0
                kept, alive, results, rows, chunk_ranks, _, t_fwd, t_dec = layers(x, nb, id_samples, sketch)
                t3 = time.perf_counter()
                error_test(s, torch.arange(nb, device=dev), alive, results, rows)
                t_err += time.perf_counter() - t3
            else:
                # sequential: the first ``first`` samples of every box (a prefix of its samples), then all of
                # them for the boxes that did not exceed P there
                x1 = inputs(pts[:, :first])
                t_sample += time.perf_counter() - t0
                kept, alive1, _, _, chunk_ranks, acts1, t_fwd, t_dec = layers(x1, nb, first, sketch_first, keep=reuse)
                alive = torch.zeros_like(alive1)
                # boxes alive at the end of the first stage were alive at every layer, so their first rows'
                # activations are all stored; a box stopped by its sample count without exceeding P (the
                # rank of ``first`` rows is at most ``first``) has not, and is evaluated again
                again = ~alive1 & (kept < int(exceed or 0))
                groups = [(alive1, reuse), (again, False)] if reuse else [(alive1 | again, False)]
                for members, reusing in groups:
                    rest = members.nonzero().squeeze(1)
                    if rest.numel() == 0:
                        continue
                    ta = time.perf_counter()
                    rest_np = rest.cpu().numpy()
                    x2 = inputs(pts[rest_np, first:] if reusing else pts[rest_np])
                    t_sample += time.perf_counter() - ta
                    stored = acts1 if reusing else None
                    kept2, alive2, results, rows, ranks2, _, f2, d2 = layers(
                        x2, rest.numel(), id_samples, sketch, stored, rest
                    )
                    kept[rest], alive[rest], chunk_ranks[rest] = kept2, alive2, ranks2
                    t_fwd, t_dec = t_fwd + f2, t_dec + d2
                    t3 = time.perf_counter()
                    error_test(s, rest, alive2, results, rows)
                    t_err += time.perf_counter() - t3
            kept_all[s:e] = kept.cpu().numpy()
            truncated[s:e] = ~alive.cpu().numpy()
            ranks[s:e] = chunk_ranks.cpu().numpy()
            secs["sample"] += t_sample
            secs["forward"] += t_fwd
            secs["decompose"] += t_dec
            secs["error"] += t_err
            if progress is not None:
                progress(e, nbox)
    return PruneResult(
        kept=kept_all,
        total_width=total,
        proportion=kept_all / max(total, 1),
        error=error,
        ranks=ranks,
        truncated=truncated,
        seconds=secs,
    )


def pruned_network(inr: INR, ids: Sequence[IDResult], box: int = 0) -> INR:
    """Build box ``box``'s pruned network as a standalone (smaller) :class:`INR`.

    ``W'_l = W_l[I_l, :] @ T_{l-1}^T``, ``b'_l = b_l[I_l]``, output ``W_L @ T_{L-1}^T``.
    """
    weights, biases = [], []
    t_prev = None
    for l, res in enumerate(ids):
        k = int(res.rank[box])
        piv = res.pivots[box, :k]
        w = inr.weights[l][piv].double()
        if t_prev is not None:
            w = w @ t_prev.T
        weights.append(w)
        biases.append(inr.biases[l][piv])
        assert res.interpolation is not None, "pruned_network needs decompositions with interpolation matrices"
        t_prev = res.interpolation[box, :k].to(w.device)
    w_out = inr.weights[-1].double()
    if t_prev is not None:
        w_out = w_out @ t_prev.T
    weights.append(w_out)
    biases.append(inr.biases[-1])
    return INR(
        weights,
        biases,
        list(inr.activations),
        inr.encoding,
        inr.input_names,
        inr.domain,
        inr.output_scale,
        inr.output_names,
        {**inr.metadata, "pruned": True},
    )


def prune_on_box(
    inr: INR,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    eps: float = 1e-3,
    id_samples: int = 256,
    stream: SampleStream | None = None,
    element_id: int = 0,
    to_inputs: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[INR, list[IDResult]]:
    """ID-prune the INR on one box and return the pruned network itself.

    Returns
    -------
    pruned : INR
        The smaller network (hidden widths = kept neurons per layer).
    ids : list of IDResult
        The decomposition of each hidden layer (batch of one).

    Examples
    --------
    >>> pruned, ids = prune_on_box(inr, [0, 0], [0.1, 0.1], eps=1e-3)   # doctest: +SKIP
    >>> pruned.hidden_widths                                             # doctest: +SKIP
    (9, 7, 6, 5)
    """
    stream = stream or SampleStream(0)
    to_inputs = to_inputs or (lambda p: p)
    lo = np.asarray(lower, dtype=np.float64)[None, :]
    hi = np.asarray(upper, dtype=np.float64)[None, :]
    pts = stream.points_in_boxes(np.array([element_id], np.uint64), lo, hi, id_samples, "id")[0]
    with torch.no_grad():
        x = torch.from_numpy(to_inputs(pts).astype(np.float32)).to(inr.device)
        _, acts = inr.forward(x, hidden=True)
        ids = [interpolative_decomposition(a[None], eps) for a in acts]
    return pruned_network(inr, ids), ids
