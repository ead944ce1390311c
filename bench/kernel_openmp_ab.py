"""The C kernel's batches split between Python threads against its own OpenMP loop, side by side.

    .venv/bin/python bench/kernel_openmp_ab.py [OUT.json]

Two builds of ``inr_amr_core/pivot_kernel.c``: without OpenMP (each batch split between two Python
threads, as the kernel did until 2026-12-03) and with it (the batch's loop runs on the OpenMP threads
torch computes on). The same three CT runs at t = 1 (the reader's defaults, a 200,000-DOF budget and the
paper's thresholds run) alternate between the builds twice in one process; each row gives the run's
seconds, the kernel's share of them and a hash of the mesh's leaves (the two builds must give the same
meshes). Last, the plain forward floor of the paper run's tests (best of three), as ``speed.py``'s floor
section measures it. Writes ``docs/data/kernel_openmp_ab.json`` by default.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import speed  # noqa: E402

import inr_amr_core as ia  # noqa: E402
from inr_amr_core import native, pruning  # noqa: E402


def builds(folder: str) -> dict[str, ctypes.CDLL]:
    out = {}
    for label, flags in (
        ("python threads", native.compile_flags(openmp=False)),
        ("openmp", native.compile_flags(openmp=True)),
    ):
        out[label] = native.build(Path(folder) / (label.replace(" ", "_") + ".so"), flags)
    return out


def main(out_path: str) -> int:
    libs = builds(tempfile.mkdtemp())
    kernel = {"seconds": 0.0}
    original = pruning.pivoted_cholesky_boxes

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        out = original(*args, **kwargs)
        kernel["seconds"] += time.perf_counter() - t0
        return out

    pruning.pivoted_cholesky_boxes = timed
    inr = ia.load_inr(speed.CT)
    runs = {
        "reader defaults (budget 50,000 DOFs, t = 1)": ia.RefinementSettings(time=1.0, device="cpu"),
        "budget 200,000 DOFs": ia.RefinementSettings(time=1.0, max_dofs=200_000, device="cpu"),
        "paper thresholds run (exact ID)": ia.RefinementSettings(**speed.PAPER_CT),
    }
    ia.refine(inr, runs["reader defaults (budget 50,000 DOFs, t = 1)"])  # (the process's first torch calls)
    out: dict = {"what": __doc__, "runs": []}
    for _ in range(2):
        for label, lib in libs.items():
            native._library, native._tried = lib, True
            for name, settings in runs.items():
                kernel["seconds"] = 0.0
                t0 = time.perf_counter()
                res = ia.refine(inr, settings)
                secs = time.perf_counter() - t0
                digest = hashlib.sha256(res.tree.coords.tobytes() + res.tree.levels.tobytes()).hexdigest()[:12]
                out["runs"].append(
                    {
                        "split": label,
                        "run": name,
                        "seconds": secs,
                        "kernel_seconds": kernel["seconds"],
                        "leaves": res.tree.n_leaves,
                        "dofs": res.dofs,
                        "hash": digest,
                    }
                )
                print(
                    f"{label:15} {name:45} {secs:6.2f} s (kernel {kernel['seconds']:5.2f} s) "
                    f"{res.tree.n_leaves} leaves {digest}",
                    flush=True,
                )
    x = speed.tested_points(ia.refine(inr, runs["paper thresholds run (exact ID)"]))
    floor, _ = speed.best_of(lambda: inr.evaluate(x), 3)
    out["paper_run_forward_floor_seconds"] = floor
    print(f"forward floor of the paper run's tests {floor:.2f} s", flush=True)
    Path(out_path).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    default = HERE.parent / "docs" / "data" / "kernel_openmp_ab.json"
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(default)))
