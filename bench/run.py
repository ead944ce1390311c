"""Speed benchmarks of the core, measured side by side in one run. Prints a table, writes JSON.

    .venv/bin/python bench/run.py [--quick] [--output bench/results/bench.json]

(a) The paper's 2D Pruning run on ../shared/inrs/hos_lists.ckpt (T 0.1, P 0.09, eps 1e-3,
    ID_samples 256, error_samples 32, 2 uniform refinements, max_it 9, max_dofs 10,000): the batched
    path against a naive per-element path (scipy QR one element at a time, the same samples; see
    bench/naive_pruning.py), and the wall time of the whole `inr-amr refine ... -o out.htg` command.
(b) A random-weight INR with the CT architecture (Fourier 4 -> 128 features, 5 x 256 SiLU): the cost
    of one element's refinement decision (256 ID samples + 32 error samples) against the cost of
    its 288 forward evaluations, on the elements of the paper's 3D start (3 uniform refinements) and
    on smaller ones.

Targets (issue 2): (a) >= 20x faster than naive and the whole command under 5 s; (b) <= 2.5x.
Timings are best-of-N wall times on this machine; ratios are taken within the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from naive_pruning import NaivePruningCriterion  # noqa: E402

import inr_amr_core as ia  # noqa: E402
from inr_amr_core.pruning import prune_on_boxes  # noqa: E402

HOS = (ROOT / ".." / "shared" / "inrs" / "hos_lists.ckpt").resolve()
PAPER_2D = dict(
    strategy="thresholds",
    id_method="exact",
    method="pruning",
    threshold=0.1,
    proportion=0.09,
    eps=1e-3,
    id_samples=256,
    error_samples=32,
    uniform_refinements=2,
    max_iterations=9,
    max_dofs=10_000,
    device="cpu",
    conforming_dofs=False,
)


def best_of(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def run_with_criterion(inr, settings, criterion):
    """A refinement whose Pruning criterion is ``criterion`` (the naive one), everything else unchanged."""
    from inr_amr_core import criteria

    original = criteria.CRITERIA["pruning"]
    criteria.CRITERIA["pruning"] = type("Fixed", (original,), {"from_settings": classmethod(lambda cls, s: criterion)})
    try:
        return ia.refine(inr, settings)
    finally:
        criteria.CRITERIA["pruning"] = original


def bench_hos(repeats: int) -> dict:
    inr = ia.load_inr(HOS)
    settings = ia.RefinementSettings(**PAPER_2D)
    naive_criterion = NaivePruningCriterion(0.1, 0.09, 1e-3, 256, 32)
    t_batched, batched = best_of(lambda: ia.refine(inr, settings), repeats)
    t_naive, naive = best_of(lambda: run_with_criterion(inr, settings, naive_criterion), 1)
    same_mesh_until = 0
    for a, b in zip(batched.iterations, naive.iterations):
        if a["dofs"] != b["dofs"]:
            break
        same_mesh_until = a["iteration"]
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(sys.executable).with_name("inr-amr")
        cmd = [
            str(exe),
            "refine",
            str(HOS),
            "-T",
            "0.1",
            "-P",
            "0.09",
            "--eps",
            "1e-3",
            "--id-samples",
            "256",
            "--error-samples",
            "32",
            "--uniform-refinements",
            "2",
            "--max-it",
            "9",
            "--max-dofs",
            "10000",
            "--strategy",
            "thresholds",
            "--id-method",
            "exact",
            "--device",
            "cpu",
            "-o",
            os.path.join(tmp, "hos.htg"),
            "-q",
        ]
        walls = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, numpy, scipy"], check=True)
        import_floor = time.perf_counter() - t0
    tested = sum(r["tested"] for r in batched.iterations)
    return {
        "elements_tested": tested,
        "batched_seconds": t_batched,
        "naive_seconds": t_naive,
        "speedup": t_naive / t_batched,
        "batched_us_per_element": 1e6 * t_batched / tested,
        "naive_us_per_element": 1e6 * t_naive / tested,
        "final_dofs_batched": batched.dofs,
        "final_dofs_naive": naive.dofs,
        "identical_meshes_through_iteration": same_mesh_until,
        "cli_refine_wall_seconds": min(walls),
        "python_torch_import_seconds": import_floor,
    }


def ct_architecture_inr(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b = torch.cat([torch.randn(1, 128, generator=g) * 0.1, torch.randn(3, 128, generator=g) * 0.3])
    widths = [256] * 6 + [1]
    weights = [torch.randn(widths[i + 1], widths[i], generator=g) * math.sqrt(2.0 / widths[i]) for i in range(6)]
    biases = [torch.randn(widths[i + 1], generator=g) * 0.1 for i in range(6)]
    return ia.INR(
        weights,
        biases,
        [ia.Activation("silu")] * 5 + [ia.Activation("identity")],
        ia.FourierFeatures(b),
        ("t", "z", "y", "x"),
        ((-1.0, 1.0),) * 4,
        0.1,
    )


def bench_ct(repeats: int, quick: bool) -> dict:
    inr = ct_architecture_inr()
    space = ia.SpaceSlice.from_inr(inr, fixed_inputs={"t": 1.0})
    out = {}
    for level, label in ((3, "3 uniform refinements (512 elements)"), (5, "level-5 elements")):
        tree = ia.LinearTree.uniform((1, 1, 1), space.bounds, level)
        n = 512 if not quick else 128
        sel = np.random.default_rng(level).choice(tree.n_leaves, min(n, tree.n_leaves), replace=False)
        lo, hi = tree.leaf_bounds(sel)
        ids = tree.element_ids(sel)
        stream = ia.SampleStream(0)
        pts = np.concatenate(
            [stream.points_in_boxes(ids, lo, hi, 256, "id"), stream.points_in_boxes(ids, lo, hi, 32, "error")], axis=1
        )
        x = space.to_inputs(pts.reshape(-1, 3))
        t_fwd, _ = best_of(lambda: inr.evaluate(x, chunk_size=65536), repeats)
        t_dec, res = best_of(
            lambda: prune_on_boxes(
                inr,
                lo,
                hi,
                to_inputs=space.to_inputs,
                element_ids=ids,
                eps=1e-3,
                id_samples=256,
                error_samples=32,
                max_proportion=0.075,
                stream=stream,
            ),
            repeats,
        )
        t_full, _ = best_of(
            lambda: prune_on_boxes(
                inr,
                lo,
                hi,
                to_inputs=space.to_inputs,
                element_ids=ids,
                eps=1e-3,
                id_samples=256,
                error_samples=32,
                max_proportion=None,
                stream=stream,
            ),
            repeats,
        )
        out[f"level_{level}"] = {
            "description": label,
            "elements": len(sel),
            "forward_288_ms_per_element": 1e3 * t_fwd / len(sel),
            "decision_ms_per_element": 1e3 * t_dec / len(sel),
            "ratio": t_dec / t_fwd,
            "decision_all_layers_ms_per_element": 1e3 * t_full / len(sel),
            "ratio_all_layers": t_full / t_fwd,
            "mean_kept_proportion": float(np.mean(res.proportion)),
            "stopped_early_fraction": float(np.mean(res.truncated)),
        }
    # the naive per-element decision (scipy QR per layer), on a few elements, for scale
    tree = ia.LinearTree.uniform((1, 1, 1), space.bounds, 3)
    sel = np.arange(8 if quick else 24)
    crit = NaivePruningCriterion(1e-4, 0.075, 1e-3, 256, 32)
    from inr_amr_core.criteria import RelativeError, TestContext
    from inr_amr_core.vertices import VertexCache

    ctx = TestContext(inr, tree, space, ia.SampleStream(0), RelativeError(), VertexCache(inr, space, 8))
    t_naive, _ = best_of(lambda: crit.test(ctx, sel), 1)
    out["naive_decision_ms_per_element"] = 1e3 * t_naive / len(sel)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats and elements")
    p.add_argument("--output", default=str(HERE / "results" / "bench.json"))
    args = p.parse_args(argv)
    repeats = 1 if args.quick else 3
    hos = bench_hos(repeats)
    ct = bench_ct(repeats, args.quick)
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
        },
        "hos_pruning": hos,
        "ct_architecture": ct,
        "targets": {"hos_speedup_min": 20.0, "cli_refine_max_seconds": 5.0, "ct_ratio_max": 2.5},
    }
    print("\n(a) hos, paper 2D settings (Pruning)")
    print(f"  {'path':<34}{'seconds':>10}{'us/element':>12}")
    print(f"  {'naive per element (scipy QR)':<34}{hos['naive_seconds']:>10.2f}{hos['naive_us_per_element']:>12.0f}")
    print(f"  {'batched (inr_amr_core)':<34}{hos['batched_seconds']:>10.2f}{hos['batched_us_per_element']:>12.0f}")
    print(
        f"  speed-up {hos['speedup']:.1f}x over {hos['elements_tested']} element tests; final DOFs "
        f"{hos['final_dofs_batched']} vs {hos['final_dofs_naive']} (same meshes through iteration "
        f"{hos['identical_meshes_through_iteration']})"
    )
    print(
        f"  whole `inr-amr refine -o hos.htg`: {hos['cli_refine_wall_seconds']:.2f} s "
        f"(of which starting Python with torch: {hos['python_torch_import_seconds']:.2f} s)"
    )
    print("\n(b) CT architecture, random weights: one element's decision vs its 288 forward evaluations")
    print(f"  {'elements':<40}{'fwd ms':>8}{'decide ms':>11}{'ratio':>7}{'all-layer ratio':>17}")
    for key in ("level_3", "level_5"):
        r = ct[key]
        print(
            f"  {r['description']:<40}{r['forward_288_ms_per_element']:>8.2f}{r['decision_ms_per_element']:>11.2f}"
            f"{r['ratio']:>7.2f}{r['ratio_all_layers']:>17.2f}"
        )
    print(f"  naive per-element decision (scipy QR): {ct['naive_decision_ms_per_element']:.1f} ms")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
