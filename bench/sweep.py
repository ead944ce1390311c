"""Robust defaults: Uniform, Basic and Pruning under only a DOF budget, on networks of every shape.

    .venv/bin/python bench/sweep.py [--zoo DIR] [--output bench/results/sweep.json] [--markdown docs/sweep.md]

Networks: the zoo of 2D INRs of the paper's function (inr_amr_apps.zoo: widths 16 to 512, depths 2 to
8, ReLU, tanh, SiLU and sine; trained into --zoo when missing, about 20 minutes on two cores), the
reference code's hos, this project's 2D INR, and the 3D INRs (the simulated dynamic CT and the log
pile at t = 1, the lattice when shipped). Budgets: 10,000 DOFs in 2D, 200,000 in 3D, and nothing
else: every other setting is the default. The goal of each row: Pruning's RMSE at or below Uniform's
at the first uniform level with at least as many DOFs as the budget (129^2 = 16,641 in 2D, 65^3 =
274,625 in 3D). "Basic (ID samples)" scores elements by their interpolation error at as many points
as the Pruning test draws (the hybrid the issue asks about: Pruning's samples, Basic's score).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import inr_amr_core as ia  # noqa: E402
from inr_amr_apps.zoo import ZOO, trained  # noqa: E402

DATA = ROOT / "inr_amr_apps" / "data"
HOS = ROOT.parent / "shared" / "inrs" / "hos_lists.ckpt"
BUDGET = {2: 10_000, 3: 200_000}
UNIFORM_LEVEL = {2: 7, 3: 6}  # the first uniform level with at least the budget's DOFs


def networks(zoo_dir: Path) -> list[tuple[str, Callable[[], tuple[ia.INR, float | None]]]]:
    """``(name, load)`` of every network; ``load()`` gives ``(INR, time or None)``, training a zoo network
    the first time it is asked for (so ``--only`` trains nothing it does not run)."""
    out: list[tuple[str, Callable[[], tuple[ia.INR, float | None]]]] = []
    for net in ZOO:
        out.append((net.name, lambda net=net: (trained(net, zoo_dir, progress=None)[0], None)))
    out.append(("hos (reference code)", lambda: (ia.load_inr(HOS), None)))
    out.append(("sin_corner_2d (embedded)", lambda: (ia.load_inr(DATA / "sin_corner_2d.pt"), None)))
    for name in ("ct_compression", "logpile", "lattice_compression", "truss_compression"):
        if (DATA / f"{name}.pt").is_file():
            out.append((f"{name} (3D, t = 1)", lambda name=name: (ia.load_inr(DATA / f"{name}.pt"), 1.0)))
    return out


def run_network(name: str, inr: ia.INR, time_value: float | None) -> dict:
    fixed = {"t": time_value} if time_value is not None else None
    space = ia.SpaceSlice.from_inr(inr, fixed_inputs=fixed)
    d = space.dim
    ref = ia.ReferenceSample.draw(inr, space, 262_144, 0)
    common = dict(device="cpu", conforming_dofs=False, reference=ref)
    if time_value is not None:
        common["time"] = time_value
    row: dict = {"network": name, "architecture": inr.describe(), "d": d, "budget": BUDGET[d]}
    t0 = time.perf_counter()
    uni = ia.refine(
        inr,
        method="uniform",
        strategy="thresholds",
        uniform_refinements=UNIFORM_LEVEL[d],
        max_iterations=0,
        max_dofs=None,
        **common,
    )
    row["uniform_next_level"] = {
        "dofs": uni.dofs,
        "rmse": uni.iterations[-1]["rmse"],
        "seconds": time.perf_counter() - t0,
    }
    for label, kw in (
        ("uniform", dict(method="uniform")),
        ("basic", dict(method="basic")),
        ("basic (ID samples)", dict(method="basic", error_samples=256)),
        ("pruning", dict(method="pruning")),
    ):
        t0 = time.perf_counter()
        res = ia.refine(inr, max_dofs=BUDGET[d], **kw, **common)
        row[label] = {
            "dofs": res.dofs,
            "rmse": res.iterations[-1]["rmse"],
            "seconds": time.perf_counter() - t0,
            "stop": res.stop_reason,
            "tests": sum(r["tested"] for r in res.iterations),
            "max_tested_level": res.max_tested_level,
            "max_level": res.tree.max_level,
        }
    row["pruning_meets_goal"] = row["pruning"]["rmse"] <= row["uniform_next_level"]["rmse"]
    row["pruning_over_basic_rmse"] = row["pruning"]["rmse"] / row["basic"]["rmse"]
    return row


def markdown(rows: list[dict]) -> str:
    lines = [
        "| network | architecture | budget | Uniform, next level (DOFs: RMSE) | Uniform | Basic | "
        "Basic (ID samples) | Pruning | Pruning meets the goal | Pruning / Basic RMSE |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(r: dict) -> str:
        return f"{r['dofs']:,} DOFs, {r['rmse']:.2e}, {r['seconds']:.1f} s"

    for r in rows:
        u = r["uniform_next_level"]
        lines.append(
            f"| {r['network']} | {r['architecture']} | {r['budget']:,} | {u['dofs']:,}: {u['rmse']:.2e} | "
            f"{cell(r['uniform'])} | {cell(r['basic'])} | {cell(r['basic (ID samples)'])} | "
            f"{cell(r['pruning'])} | {'yes' if r['pruning_meets_goal'] else '**no**'} | "
            f"{r['pruning_over_basic_rmse']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--zoo", default=str(HERE / "results" / "zoo"), help="trained zoo networks (trained if missing)")
    p.add_argument("--output", default=str(HERE / "results" / "sweep.json"))
    p.add_argument("--markdown", default=str(HERE / "results" / "sweep.md"))
    p.add_argument("--only", help="comma-separated substrings of network names to run")
    args = p.parse_args(argv)
    rows = []
    for name, load in networks(Path(args.zoo)):
        if args.only and not any(k in name for k in args.only.split(",")):
            continue
        inr, t = load()
        row = run_network(name, inr, t)
        rows.append(row)
        print(
            f"{name:28} uniform {row['uniform_next_level']['rmse']:.2e}  basic {row['basic']['rmse']:.2e}  "
            f"basic(ID) {row['basic (ID samples)']['rmse']:.2e}  pruning {row['pruning']['rmse']:.2e} "
            f"({row['pruning']['seconds']:.1f} s)  goal {'met' if row['pruning_meets_goal'] else 'MISSED'}",
            flush=True,
        )
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(rows, indent=1))
    Path(args.markdown).write_text(markdown(rows))
    print(f"wrote {args.output} and {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
