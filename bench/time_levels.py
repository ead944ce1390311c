"""The finest time slab, A/B: the cost of every time step of a series and the RMSE of its mesh, in-process.

    .venv/bin/python bench/time_levels.py [OUT.json] [--levels 4,2] [--inrs ct,logpile,moving]

For each INR and each ``time_levels`` value, a fresh :class:`RefinementSession` (no disk cache) with
the reader's defaults refines the 11 default time steps in order, as Play asks for them, and each
step's mesh also gets its leaf values (what the reader puts in the HyperTreeGrid): seconds per step,
and the RMSE of each step's mesh at 100,000 random points at its own time. ``auto`` is the default
(level 2 for these steps). The INRs are those of ``bench/timeseries.py``: the CT phantom, the log pile,
and the CT INR translating everywhere (the worst case for sharing across time).
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


def play(path: str, levels: int | None) -> dict:
    session = RefinementSession(disk_cache=None)
    session.open(path)
    inr = ia.load_inr(path)
    steps = SeriesSettings().values(*inr.domain[inr.input_names.index("t")])
    seconds, rmse = [], []
    for t in steps:
        settings = RefinementSettings(time=t, time_levels=levels)
        t0 = time.perf_counter()
        result, _ = session.result(settings)
        result.leaf_values()
        seconds.append(time.perf_counter() - t0)
        reference = ia.ReferenceSample.draw(inr, ia.SpaceSlice.from_inr(inr, fixed_inputs={"t": t}), 100_000, 0)
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
    parser.add_argument("--inrs", default="ct,logpile,moving")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp()
    paths = {"ct": str(DATA / "ct_compression.pt"), "logpile": str(DATA / "logpile.pt")}
    rows = []
    for name in args.inrs.split(","):
        path = paths[name] if name in paths else moving_checkpoint(folder)
        for text in args.levels.split(","):
            row = {"inr": name, **play(path, None if text == "auto" else int(text))}
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
