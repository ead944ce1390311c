"""The naive per-element Pruning test (what the research code does), for benchmarking only.

Per element, in Python: the same ID samples as the batched path, one torch forward, one
``scipy.linalg.qr(pivoting=True)`` per hidden layer, the pruned network built explicitly, and
its error at the same error samples. It makes the same decisions as
:class:`inr_amr_core.criteria.PruningCriterion` (up to pivot ties) and is the baseline that
``bench/run.py`` measures the batched path against.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sl
import torch

from inr_amr_core.criteria import Outcome, PruningCriterion, TestContext


class NaivePruningCriterion(PruningCriterion):
    name = "pruning-naive"

    def test(self, ctx: TestContext, leaves: np.ndarray) -> Outcome:
        inr, tree = ctx.inr, ctx.tree
        lower, upper = tree.leaf_bounds(leaves)
        ids = tree.element_ids(leaves)
        total = sum(inr.hidden_widths)
        prop = np.zeros(leaves.size)
        err = np.zeros(leaves.size)
        for i in range(leaves.size):
            x = ctx.stream.points_in_boxes(ids[i : i + 1], lower[i : i + 1], upper[i : i + 1], self.id_samples, "id")[0]
            with torch.no_grad():
                _, acts = inr.forward(torch.tensor(ctx.space.to_inputs(x), dtype=torch.float32), hidden=True)
            weights, biases, t_prev, kept = [], [], None, 0
            for l, a in enumerate(acts):
                z = a.double().numpy()
                _, r, piv = sl.qr(z, mode="economic", pivoting=True)
                dg = np.abs(np.diag(r))
                k = int(np.sum(dg >= self.eps * dg[0])) if dg[0] > 0 else 0
                t = np.zeros((k, z.shape[1]))
                if k:
                    t[:, piv] = sl.solve_triangular(r[:k, :k], r[:k, :], lower=False)
                w = inr.weights[l][piv[:k]].double().numpy()
                weights.append(w if t_prev is None else w @ t_prev.T)
                biases.append(inr.biases[l][piv[:k]].double().numpy())
                t_prev, kept = t, kept + k
            w_out = inr.weights[-1].double().numpy()
            weights.append(w_out @ t_prev.T if t_prev is not None else w_out)
            biases.append(inr.biases[-1].double().numpy())
            xe = ctx.stream.points_in_boxes(
                ids[i : i + 1], lower[i : i + 1], upper[i : i + 1], self.error_samples, "error"
            )[0]
            xin = torch.tensor(ctx.space.to_inputs(xe), dtype=torch.float32)
            with torch.no_grad():
                full = inr.forward(xin)[:, ctx.component].double().numpy()
                h = inr.encode(xin).double()
                for w, b, act in zip(weights, biases, inr.activations):
                    h = act(h @ torch.from_numpy(w).T + torch.from_numpy(b))
                pruned = (h * inr.output_scale)[:, ctx.component].numpy()
            prop[i] = kept / total
            err[i] = ctx.relative_error.pruning(full[None], pruned[None])[0]
        refine = (prop > self.proportion + 1e-12) | ctx.relative_error.exceeds(err, self.threshold)
        priority = np.fmax(prop / self.proportion, err / self.threshold)
        return Outcome(refine, priority, diagnostics={"kept_proportion": prop, "pruned_error": err})
