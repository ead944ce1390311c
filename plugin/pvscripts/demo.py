"""The main job (run by ``inr-amr demo`` in pvbatch): Pruning AMR of a 4D INR through the ParaView reader.

For each time step it writes the adaptive vtkHyperTreeGrid (.htg) and slice screenshots with mesh
edges (x = 0 and y = 0); then it compares Uniform, Basic and Pruning at the last time step (total
RMSE against DOFs, the paper's Figure 3) and writes a JSON report. Everything goes to one folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inr_amr_views import finish, htg_slice, reader_proxy, render_with_edges
from paraview import servermanager as sm

from inr_amr_apps.experiments import compare_methods
from inr_amr_apps.plotting import plot_error_vs_dofs
from inr_amr_core import RefinementSettings, load_inr
from inr_amr_core.fileio import write_json
from inr_amr_core.vtk import write_htg


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--settings", required=True, help="JSON: reader properties and comparison settings")
    args = p.parse_args(argv)
    cfg = json.loads(args.settings)
    os.makedirs(args.output, exist_ok=True)
    files, steps = [], []
    t_start = time.perf_counter()
    reader = reader_proxy(args.checkpoint, **cfg["reader"])
    times = cfg["times"]
    value_range = None
    meshes = {}
    for t in times:
        t0 = time.perf_counter()
        reader.UpdatePipeline(t)
        seconds = time.perf_counter() - t0
        htg = sm.Fetch(reader)
        tag = f"t{t:+.1f}".replace("+", "p").replace("-", "m").replace(".", "_")
        path = write_htg(htg, os.path.join(args.output, f"ct_pruning_{tag}.htg"))
        files.append(str(path))
        rng = htg.GetCellData().GetArray("value").GetRange()
        value_range = rng if value_range is None else (min(value_range[0], rng[0]), max(value_range[1], rng[1]))
        meshes[t] = (tag, htg.GetNumberOfLeaves())
        steps.append({"time": t, "leaves": htg.GetNumberOfLeaves(), "refine_seconds": seconds, "htg": str(path)})
        print(f"t = {t:+.1f}: {htg.GetNumberOfLeaves()} leaves in {seconds:.1f} s -> {path}", flush=True)
    for step in steps:
        t = step["time"]
        tag = meshes[t][0]
        for axis in ("x", "y"):
            png = os.path.join(args.output, f"slice_{axis}0_{tag}.png")
            secs = render_with_edges(
                htg_slice(reader, axis, 0.0),
                png,
                axis=axis,
                time=t,
                value_range=value_range,
                title=f"Pruning AMR, {axis} = 0, t = {t:+.1f} ({step['leaves']} leaves)",
            )
            step[f"slice_{axis}_png"] = png
            step[f"slice_{axis}_seconds"] = secs
            files.append(png)
            print(f"wrote {png}", flush=True)
    # the three methods at the last time step, on shared reference points
    inr = load_inr(args.checkpoint)
    cmp_cfg = cfg["compare"]
    base = RefinementSettings(**cmp_cfg["settings"])
    per_method = {
        m: base.replace(method=m, time=times[-1], **cmp_cfg.get("per_method", {}).get(m, {}))
        for m in ("uniform", "basic", "pruning")
    }
    t0 = time.perf_counter()
    comparison = compare_methods(inr, per_method, rmse_samples=cmp_cfg["rmse_samples"])
    compare_seconds = time.perf_counter() - t0
    plot = plot_error_vs_dofs(
        comparison.curves(),
        os.path.join(args.output, "error_vs_dofs.png"),
        title=f"{os.path.basename(args.checkpoint)} at t = {times[-1]:+.1f}: RMSE vs DOFs",
    )
    files.append(str(plot))
    for m, rows in comparison.table().items():
        last = rows[-1]
        print(f"{m:>8}: {last['dofs']} DOFs, RMSE {last['rmse']:.3g} after {last['iteration']} iterations", flush=True)
    report = {
        "checkpoint": os.path.abspath(args.checkpoint),
        "architecture": inr.describe(),
        "reader_properties": cfg["reader"],
        "time_steps": steps,
        "comparison": {**comparison.report(), "seconds_total": compare_seconds, "plot": str(plot)},
        "seconds_total": time.perf_counter() - t_start,
    }
    files.append(str(write_json(os.path.join(args.output, "report.json"), report)))
    print("\nThe main job wrote:")
    for f in files:
        print(f"  {f}")
    return 0


if __name__ == "__main__":
    finish(main())
