"""The finest time slab, A/B: the cost of every time step of a series and the RMSE of its mesh, in-process.

    .venv/bin/python bench/time_levels.py [OUT.json] [--levels 4,auto] [--inrs ct,logpile,moving]
    .venv/bin/python bench/time_levels.py [OUT.json] --main-job [--levels 0,1] [--inrs small_truss]

For each INR and each ``time_levels`` value, a fresh :class:`RefinementSession` (no disk cache) with
the reader's defaults refines the 11 default time steps in order, as Play asks for them, and each
step's mesh also gets its leaf values (what the reader puts in the HyperTreeGrid): seconds per step,
and the RMSE of each step's mesh at 100,000 random points at its own time. ``auto`` is the default
(level 2 for these steps). The INRs are those of ``bench/timeseries.py``: the CT phantom, the log pile,
and the CT INR translating everywhere (the worst case for sharing across time). ``--main-job`` uses
the main job's volume settings instead (``inr-amr demo``: Basic within 1,000,000 DOFs down to
level 8, the steps -1, 0 and 1); ``small_truss`` is the main job's INR. RMSE then at 200,000 points.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import inr_amr_core as ia  # noqa: E402
from inr_amr_core.fileio import write_json  # noqa: E402
from inr_amr_core.session import RefinementSession  # noqa: E402
from inr_amr_core.settings import RefinementSettings, SeriesSettings  # noqa: E402

DATA = ROOT / "inr_amr_apps" / "data"


def moving_checkpoint(folder: str) -> str:
    # the same moving INR as bench/timeseries.py (imported lazily: that module is a pvbatch script)
    import torch

    ckpt = torch.load(DATA / "ct_compression.pt", weights_only=True)
    gauss = ckpt["nn_model"]["module.gauss"].clone()
    gauss[0] += 0.3 * (gauss[1] + gauss[2] + gauss[3])  # f'(t, x) = f(t, x + 0.3 t (1, 1, 1))
    ckpt["nn_model"]["module.gauss"] = gauss
    path = str(Path(folder) / "ct_moving.pt")
    torch.save(ckpt, path)
    return path


def play(path: str, levels: int | None, main_job: bool = False) -> dict:
    session = RefinementSession(disk_cache=None)
    session.open(path)
    inr = ia.load_inr(path)
    if main_job:
        from inr_amr_apps.demo import demo_settings

        demo = demo_settings()
        volume = demo["volume"]["reader"]
        steps = demo["times"]
        base = RefinementSettings(
            method=demo["volume"]["method"].lower(), max_dofs=volume["MaxDOFs"], max_level=volume["MaxLevel"]
        )
        n_reference = 200_000
    else:
        steps = SeriesSettings().values(*inr.domain[inr.input_names.index("t")])
        base = RefinementSettings()
        n_reference = 100_000
    seconds, rmse = [], []
    for t in steps:
        settings = base.replace(time=t, time_levels=levels)
        t0 = time.perf_counter()
        result, _ = session.result(settings)
        result.leaf_values()
        seconds.append(time.perf_counter() - t0)
        reference = ia.ReferenceSample.draw(inr, ia.SpaceSlice.from_inr(inr, fixed_inputs={"t": t}), n_reference, 0)
        rmse.append(result.total_rmse(reference=reference))
    return {
        "time_levels": "auto" if levels is None else levels,
        "steps": steps,
        "seconds": seconds,
        "rmse": rmse,
        "next_over_first": seconds[1] / seconds[0],
        "mean_after_first_over_first": sum(seconds[1:]) / (len(seconds) - 1) / seconds[0],
        "total_s": sum(seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", help="write the rows as JSON")
    parser.add_argument("--levels", default="4,auto", help="time_levels values to compare (default 4,auto)")
    parser.add_argument("--inrs", default="ct,logpile,moving", help="of ct, logpile, moving, small_truss")
    parser.add_argument("--main-job", action="store_true", help="the main job's volume settings and steps")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp()
    paths = {
        "ct": str(DATA / "ct_compression.pt"),
        "logpile": str(DATA / "logpile.pt"),
        "small_truss": str(DATA / "small_truss_compression.pt"),
    }
    rows = []
    for name in args.inrs.split(","):
        path = paths[name] if name in paths else moving_checkpoint(folder)
        for text in args.levels.split(","):
            levels = None if text == "auto" else int(text)
            row = {"inr": name, "main_job": args.main_job, **play(path, levels, args.main_job)}
            rows.append(row)
            print(
                f"{name:<8} time_levels {text:>4}: first {row['seconds'][0]:5.2f} s, next "
                f"{row['next_over_first']:.2f}x, mean of the rest {row['mean_after_first_over_first']:.2f}x, "
                f"all {row['total_s']:5.1f} s; RMSE " + " ".join(f"{e:.5f}" for e in row["rmse"]),
                flush=True,
            )
    if args.output:
        write_json(args.output, {"what": __doc__.splitlines()[0], "rows": rows}, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
