"""GPU checks and timings (run on a CUDA machine): the figures quoted from a GPU in docs/results.md.

    python bench/gpu_checks.py OUT_DIR      (with ../shared/inrs/hos_lists.ckpt reachable, or HOS=path)

1. hos, paper 2D settings: the same mesh on CPU and CUDA, and both times.
2. The CT-architecture decision cost on the GPU (bench/run.py's random INR and elements).
3. The simulated CT at t = 1 with the paper's settings (research code's relative error), 400k-DOF
   budget (Uniform 2.5M), RMSE at 1,048,576 points.
4. The same CT with this project's floored relative error, T swept (P 0.075).
5. The log pile with the paper's settings.
Each part is written to OUT_DIR/gpu_checks.json as soon as it is done.
"""

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import inr_amr_core as ia  # noqa: E402
from inr_amr_apps.experiments import compare_methods  # noqa: E402
from inr_amr_core.metrics import ReferenceSample  # noqa: E402
from inr_amr_core.pruning import prune_on_boxes  # noqa: E402

DATA = os.path.join(os.path.dirname(HERE), "inr_amr_apps", "data")
HOS = os.environ.get("HOS", os.path.join(os.path.dirname(HERE), "..", "shared", "inrs", "hos_lists.ckpt"))


def main(out_dir):
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    path = os.path.join(out_dir, "gpu_checks.json")

    def save():
        with open(path, "w") as fh:
            json.dump(out, fh, indent=1)

    hos = ia.load_inr(HOS)
    s = ia.RefinementSettings(method="pruning", conforming_dofs=False)
    res = {}
    for dev in ("cpu", "cuda"):
        ia.refine(hos, s.replace(device=dev), max_iterations=3)
        t = time.perf_counter()
        r = ia.refine(hos, s.replace(device=dev))
        res[dev] = (time.perf_counter() - t, r)
    keys = [set(zip(r.tree.levels.tolist(), map(tuple, r.tree.coords.tolist()))) for _, r in res.values()]
    out["hos_seconds"] = {d: v[0] for d, v in res.items()}
    out["hos_same_leaves_cpu_cuda"] = keys[0] == keys[1]
    save()

    import run as bench

    inr = bench.ct_architecture_inr().to("cuda")
    space = ia.SpaceSlice.from_inr(inr, fixed_inputs={"t": 1.0})
    for level in (3, 5):
        tree = ia.LinearTree.uniform((1, 1, 1), space.bounds, level)
        sel = np.random.default_rng(level).choice(tree.n_leaves, min(4096, tree.n_leaves), replace=False)
        lo, hi = tree.leaf_bounds(sel)
        ids = tree.element_ids(sel)
        stream = ia.SampleStream(0)
        pts = np.concatenate(
            [stream.points_in_boxes(ids, lo, hi, 256, "id"), stream.points_in_boxes(ids, lo, hi, 32, "error")], 1
        )
        x = space.to_inputs(pts.reshape(-1, 3))

        def fwd():
            inr.evaluate(x, chunk_size=1 << 20)
            torch.cuda.synchronize()

        def decide():
            prune_on_boxes(inr, lo, hi, to_inputs=space.to_inputs, element_ids=ids, max_proportion=0.075, stream=stream)
            torch.cuda.synchronize()

        fwd(), decide()
        t = time.perf_counter()
        fwd()
        tf = time.perf_counter() - t
        t = time.perf_counter()
        decide()
        td = time.perf_counter() - t
        out[f"ct_level{level}"] = {
            "elements": len(sel),
            "forward288_us": 1e6 * tf / len(sel),
            "decision_us": 1e6 * td / len(sel),
            "ratio": td / tf,
        }
        save()

    ct = ia.load_inr(os.path.join(DATA, "ct_compression.pt"))
    base = ia.RefinementSettings(
        threshold=1e-4,
        tau=1e-4,
        proportion=0.075,
        eps=1e-3,
        uniform_refinements=3,
        max_iterations=5,
        relative_error="reference",
        device="cuda",
        max_dofs=400_000,
        conforming_dofs=False,
        time=1.0,
    )
    t = time.perf_counter()
    cmp = compare_methods(
        ct,
        {"uniform": base.replace(max_dofs=2_500_000), "basic": base.replace(error_samples=256), "pruning": base},
        rmse_samples=1_048_576,
    )
    out["ct_paper_seconds"] = time.perf_counter() - t
    out["ct_paper_table"] = cmp.table()
    save()

    space = ia.SpaceSlice.from_inr(ct, fixed_inputs={"t": 1.0})
    ref = ReferenceSample.draw(ct.to("cuda"), space, 1_048_576, 0)
    floored = base.replace(method="pruning", relative_error="floored")
    for T in (3e-4, 1e-3, 3e-3, 1e-2):
        t = time.perf_counter()
        r = ia.refine(ct, floored.replace(threshold=T), reference=ref)
        out[f"ct_pruning_floored_T{T:g}"] = {
            "seconds": time.perf_counter() - t,
            "stop": r.stop_reason,
            "rows": [(x["dofs"], x["rmse"]) for x in r.iterations],
        }
        save()

    lp = ia.load_inr(os.path.join(DATA, "logpile.pt"))
    b = base.replace(threshold=1e-3, tau=1e-3, proportion=0.1, eps=1e-2)
    t = time.perf_counter()
    cmp = compare_methods(
        lp, {"uniform": b, "pruning": b, "basic": b.replace(error_samples=256)}, rmse_samples=1_048_576
    )
    out["logpile_paper_seconds"] = time.perf_counter() - t
    out["logpile_paper_table"] = cmp.table()
    save()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
