"""The main job (run by ``inr-amr demo`` in pvbatch): adaptive meshes of a 4D INR through the ParaView reader.

Three stages, each printing its progress:

1. volume: the whole domain refined within a DOF budget at each time step; the .htg, and an isosurface
   of the material (Contour on the HTG) rendered for each step;
2. slab: a thin slab around the slice plane refined to the INR's detail (its own bounds and root grid,
   so its cells reach hundreds across the object within the budget); the .htg and the slice with its
   mesh edges for each step;
3. comparison: Uniform, Basic and Pruning on the slab at the last time step, total RMSE against DOFs
   on shared reference points (the paper's Figure 3).

Everything goes to one folder, with a JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inr_amr_views import finish, htg_slice, reader_proxy, render_isosurface, render_with_edges
from paraview import servermanager as sm

from inr_amr_apps.cli import ProgressLine
from inr_amr_apps.experiments import compare_methods
from inr_amr_apps.plotting import plot_error_vs_dofs
from inr_amr_core import RefinementSettings, load_inr
from inr_amr_core.fileio import write_json
from inr_amr_core.vtk import write_htg


def say(text: str) -> None:
    print(text, flush=True)


def watch(reader, label: str):
    """Print the reader's progress (ParaView's progress events) while it refines; returns a remover."""
    line = ProgressLine(f"[{label}] ", stream=sys.stdout, interval=2.0, heartbeat=5.0)
    algo = reader.GetClientSideObject()
    tag = algo.AddObserver("ProgressEvent", lambda obj, _e: line(obj.GetProgress(), "refining"))
    return lambda: algo.RemoveObserver(tag)


def time_tag(t: float) -> str:
    return f"t{t:+.1f}".replace("+", "p").replace("-", "m").replace(".", "_")


def refine_steps(reader, label: str, times, out_dir: str, prefix: str) -> list[dict]:
    """Update the reader at each time; write each step's .htg; return one record per step."""
    steps = []
    for t in times:
        t0 = time.perf_counter()
        stop = watch(reader, f"{label} t = {t:+.1f}")
        reader.UpdatePipeline(t)
        stop()
        seconds = time.perf_counter() - t0
        htg = sm.Fetch(reader)
        if htg.GetNumberOfLeaves() == 0:
            reader.UpdatePropertyInformation()
            raise SystemExit(
                f"{label} t = {t:+.1f}: the reader made no mesh: {reader.GetProperty('LastError').GetData()}"
            )
        fd = htg.GetFieldData()
        path = write_htg(htg, os.path.join(out_dir, f"{prefix}_{time_tag(t)}.htg"))
        value = htg.GetCellData().GetArray("value")
        level = htg.GetCellData().GetArray("level")
        record = {
            "time": t,
            "leaves": htg.GetNumberOfLeaves(),
            "dofs": int(fd.GetArray("dofs").GetValue(0)),
            "stop_reason": fd.GetAbstractArray("stop_reason").GetValue(0),
            "max_level": int(level.GetRange()[1]) if level is not None else None,
            "value_range": list(value.GetRange()),
            "refine_seconds": seconds,
            "htg": str(path),
        }
        steps.append(record)
        say(
            f"{label} t = {t:+.1f}: {record['leaves']} leaves, {record['dofs']} DOFs, finest level "
            f"{record['max_level']} ({record['stop_reason']}) in {seconds:.1f} s -> {path}"
        )
    return steps


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--settings", required=True, help="JSON: reader properties and comparison settings")
    args = p.parse_args(argv)
    cfg = json.loads(args.settings)
    out = args.output
    os.makedirs(out, exist_ok=True)
    files: list[str] = []
    t_start = time.perf_counter()
    times = cfg["times"]
    name = os.path.basename(args.checkpoint)
    report: dict = {"checkpoint": os.path.abspath(args.checkpoint), "times": times}

    # ------------------------------------------------------------------ 1. the whole volume, isosurfaces
    vol_cfg = cfg["volume"]
    say(f"stage 1/3: the whole domain of {name}, {vol_cfg['reader']['MaxDOFs']} DOFs per time step")
    volume = reader_proxy(args.checkpoint, **vol_cfg["reader"])
    steps = refine_steps(volume, "volume", times, out, "volume")
    iso = vol_cfg["iso"]
    if iso is None:  # the middle of the first step's values (the default INR's too: 0.048 on the small truss)
        iso = 0.5 * sum(steps[0]["value_range"])
    for step in steps:
        t = step["time"]
        png = os.path.join(out, f"isosurface_{time_tag(t)}.png")
        secs, n_points = render_isosurface(
            volume,
            png,
            iso,
            time=t,
            title=f"{vol_cfg.get('method', 'Pruning')} AMR, value = {iso:.3g} isosurface, t = {t:+.1f} "
            f"({step['leaves']} leaves, finest level {step['max_level']})",
        )
        step.update(isosurface_png=png, isosurface_points=n_points, isosurface_seconds=secs)
        files += [step["htg"], png]
        say(f"volume t = {t:+.1f}: isosurface of {n_points} points in {secs:.1f} s -> {png}")
    report["volume"] = {"reader_properties": vol_cfg["reader"], "iso": iso, "steps": steps}

    # ------------------------------------------------------------------ 2. the slab: sharp slices
    slab_cfg = cfg["slab"]
    axis, position = slab_cfg["axis"], slab_cfg["position"]
    say(f"stage 2/3: a slab around {axis} = {position:g}, {slab_cfg['reader']['MaxDOFs']} DOFs per time step")
    slab = reader_proxy(args.checkpoint, **slab_cfg["reader"])
    slab_steps = refine_steps(slab, "slab", times, out, "slab")
    value_range = (
        min(s["value_range"][0] for s in slab_steps),
        max(s["value_range"][1] for s in slab_steps),
    )
    for step in slab_steps:
        t = step["time"]
        png = os.path.join(out, f"slice_{axis}0_{time_tag(t)}.png")
        step["slice_seconds"] = render_with_edges(
            htg_slice(slab, axis, position),
            png,
            axis=axis,
            time=t,
            value_range=value_range,
            size=(1000, 900),
            title=f"{slab_cfg.get('method', 'Pruning')} AMR, {axis} = {position:g}, t = {t:+.1f} "
            f"(finest level {step['max_level']})",
        )
        step["slice_png"] = png
        files += [step["htg"], png]
        say(f"slab t = {t:+.1f}: slice in {step['slice_seconds']:.1f} s -> {png}")
    report["slab"] = {"reader_properties": slab_cfg["reader"], "steps": slab_steps}

    # ------------------------------------------------------------------ 3. Uniform, Basic, Pruning
    cmp_cfg = cfg["compare"]
    inr = load_inr(args.checkpoint)
    base = RefinementSettings(**{**cmp_cfg["settings"], "time": times[-1]})
    say(
        f"stage 3/3: Uniform, Basic and Pruning on the slab at t = {times[-1]:+.1f}, up to "
        f"{base.max_dofs} DOFs, RMSE on {cmp_cfg['rmse_samples']} shared points"
    )
    t0 = time.perf_counter()
    comparison = compare_methods(
        inr,
        base,
        rmse_samples=cmp_cfg["rmse_samples"],
        progress=lambda m: ProgressLine(f"[compare {m}] ", stream=sys.stdout, interval=2.0, heartbeat=5.0),
    )
    compare_seconds = time.perf_counter() - t0
    plot = plot_error_vs_dofs(
        comparison.curves(),
        os.path.join(out, "error_vs_dofs.png"),
        title=f"{name}, slab at t = {times[-1]:+.1f}: RMSE vs DOFs",
    )
    files.append(str(plot))
    for m, rows in comparison.table().items():
        last = rows[-1]
        say(f"{m:>8}: {last['dofs']} DOFs, RMSE {last['rmse']:.3g} after {last['iteration']} rounds")
    report["architecture"] = inr.describe()
    report["comparison"] = {**comparison.report(), "seconds_total": compare_seconds, "plot": str(plot)}
    report["seconds_total"] = time.perf_counter() - t_start
    files.append(str(write_json(os.path.join(out, "report.json"), report)))
    say(f"\nThe main job took {report['seconds_total']:.0f} s and wrote:")
    for f in files:
        say(f"  {f}")
    return 0


if __name__ == "__main__":
    finish(main())
