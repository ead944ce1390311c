"""How many cells an ideal adaptive mesh would need on an INR: bounds from its interpolation errors.

    .venv/bin/python bench/oracle.py [--inr truss_compression] [--phantom octet_truss] [--points N] [OUT.json]

At ``N`` seeded uniform random points of the domain (t fixed), the error of the multilinear interpolant
of the uniform level-``L`` cell that holds the point (INR values at its corners) is computed for L = 4
to 9. An adaptive mesh gives each region one level; its squared RMSE is the mean, over the points, of
the chosen level's squared error, and it has about ``8^L`` cells per unit of volume at level L. Two
bounds on the cells it needs for a target RMSE (the optimal allocation of levels, found by a
Lagrange multiplier sweep):

* one level per level-``G`` cell (``G`` = 4, 5): every point of a coarse cell gets the same level, a
  pessimistic bound (a real tree can vary inside it);
* one level per point: an optimistic bound (points are placed at whichever level happens to err least).

Targets: uniform level 7's and level 8's RMSE (129^3 and 257^3 points), with adaptive levels up to 8.
The same is done with the phantom the INR was trained on (``inr_amr_apps.phantoms``), which shows what
the geometry allows with no fitting error. A table is printed and the figures are written as JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from inr_amr_apps import phantoms  # noqa: E402
from inr_amr_core import load_inr  # noqa: E402
from inr_amr_core.domain import SpaceSlice  # noqa: E402
from inr_amr_core.fileio import write_json  # noqa: E402
from inr_amr_core.sampling import SampleStream  # noqa: E402

DATA = HERE.parent / "inr_amr_apps" / "data"
LEVELS = range(4, 10)
CORNERS = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])


def level_errors(evaluate, lo: np.ndarray, hi: np.ndarray, points: np.ndarray) -> dict[int, np.ndarray]:
    """Interpolation error at each point of the uniform level-L grid's cell holding it, per level."""
    f = evaluate(points)
    out = {}
    for level in LEVELS:
        h = (hi - lo) / 2**level
        cell = np.minimum(np.floor((points - lo) / h), 2**level - 1)
        u = (points - lo) / h - cell
        corners = lo + (cell[:, None, :] + CORNERS[None]) * h
        values = evaluate(corners.reshape(-1, 3)).reshape(-1, 8)
        weights = np.prod(np.where(CORNERS[None] == 1, u[:, None, :], 1 - u[:, None, :]), axis=2)
        out[level] = (weights * values).sum(axis=1) - f
    return out


def cells_needed(errors: dict[int, np.ndarray], groups: np.ndarray | None, top: int, target: float) -> float | None:
    """Fewest cells (per the unit volume's 8^L at level L) of a level choice per group with RMSE <= target."""
    levels = [lv for lv in LEVELS if lv <= top]
    n = next(iter(errors.values())).size
    if groups is None:
        groups = np.arange(n)
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sq = np.stack([np.bincount(inverse, weights=errors[lv] ** 2) for lv in levels], axis=1) / n
    cost = np.array([8.0**lv for lv in levels])[None, :] * (counts[:, None] / n)
    best = None
    for lam in np.geomspace(1e-4, 1e16, 600):
        choice = np.argmin(cost / lam + sq, axis=1)
        rows = np.arange(choice.size)
        if sq[rows, choice].sum() <= target**2 * (1 + 1e-12):
            cells = float(cost[rows, choice].sum())
            best = cells if best is None else min(best, cells)
    return best


def analyse(name: str, evaluate, bounds, n_points: int) -> dict:
    lo, hi = np.asarray(bounds, dtype=np.float64).T
    points = SampleStream(1).points_in_domain(lo, hi, n_points, "rmse")
    t0 = time.perf_counter()
    errors = level_errors(evaluate, lo, hi, points)
    rmse = {lv: float(np.sqrt(np.mean(e**2))) for lv, e in errors.items()}
    row: dict = {"points": n_points, "uniform_rmse": rmse, "bounds": {}}
    for target_level in (7, 8):
        for group_level in (4, 5, None):
            if group_level is None:
                groups = None
            else:
                g = np.minimum(np.floor((points - lo) / ((hi - lo) / 2**group_level)), 2**group_level - 1)
                groups = (g[:, 0] * 2**group_level + g[:, 1]) * 2**group_level + g[:, 2]
            cells = cells_needed(errors, groups, 8, rmse[target_level])
            key = f"level{target_level}_rmse_by_{'point' if group_level is None else f'level{group_level}_cell'}"
            row["bounds"][key] = {
                "cells": cells,
                "fewer_than_uniform": None if cells is None else 8.0**target_level / cells,
            }
    row["seconds"] = time.perf_counter() - t0
    print(f"{name}: uniform RMSE " + ", ".join(f"{2**lv + 1}^3 {rmse[lv]:.5f}" for lv in LEVELS), flush=True)
    for key, b in row["bounds"].items():
        cells, fewer = b["cells"], b["fewer_than_uniform"]
        ratio = "not reachable" if cells is None else f"{cells:.3g} cells, {fewer:.1f}x fewer"
        print(f"  {key:32} {ratio}", flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", nargs="?", default=str(HERE / "results" / "oracle.json"))
    p.add_argument("--inr", default="truss_compression")
    p.add_argument("--phantom", default="octet_truss")
    p.add_argument("--time", type=float, default=0.0)
    p.add_argument("--points", type=int, default=200_000)
    args = p.parse_args(argv)
    inr = load_inr(DATA / f"{args.inr}.pt")
    space = SpaceSlice.from_inr(inr, fixed_inputs={"t": args.time})
    phantom = getattr(phantoms, args.phantom)

    def on_phantom(pts: np.ndarray) -> np.ndarray:
        return phantom(space.to_inputs(pts))

    def on_inr(pts: np.ndarray) -> np.ndarray:
        return inr.evaluate(space.to_inputs(pts))[:, 0]

    res = {
        "time": args.time,
        args.inr: analyse(args.inr, on_inr, space.bounds, args.points),
        args.phantom: analyse(args.phantom, on_phantom, space.bounds, args.points),
    }
    write_json(args.output, res, indent=1)
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
