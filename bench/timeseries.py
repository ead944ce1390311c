"""Scrubbing a 4D INR in ParaView (pvbatch): the first time step, the next ones, a far one, a revisit.

    .venv/bin/python -m inr_amr_apps.xdisplay .venv/bin/inr-amr pvbatch bench/timeseries.py \
        [OUT.json] [PROPERTY=VALUE ...] [--inrs=ct_compression,logpile,ct_moving] [--no-play]

For each INR the reader is created with its default properties (the budget strategy, 50,000 DOFs,
the default time steps), with background precompute off so that every step is computed while the
clock runs, and the pipeline is updated to data at: the first time step, the next two (what the time
slider or Play asks for next), the last one (a jump across the whole range), and the first one again
(a revisit: the memory cache). Then a fresh reader with a fresh disk cache plays every step in order
(what Play asks for): each step's seconds, and their mean over the steps after the first. Every row of
one INR is measured in one process, side by side. ``PROPERTY=VALUE`` sets a reader property on both
readers (for an A/B run, e.g. ``TimeLevels=4``); ``--inrs`` picks INRs, ``--no-play`` skips Play.

INRs: the embedded CT phantom (a specimen compressed between plates: the air and most of the cube are
still), the log pile (noise everywhere), and a worst case made here in which everything moves: the CT
INR with its Fourier features turned so that the whole field translates along the diagonal,
``f'(t, x) = f(t, x + 0.3 t (1, 1, 1))``. The disk cache is a fresh temporary folder.
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugin", "pvscripts"))

from inr_amr_views import finish, reader_proxy  # noqa: E402
from paraview import servermanager  # noqa: E402

from inr_amr_core.fileio import write_json  # noqa: E402

ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "inr_amr_apps", "data")
#: translation speed of the moving INR along each spatial axis (domain units per unit of t)
SPEED = 0.3


def moving_checkpoint(folder: str) -> str:
    """The CT checkpoint with ``f'(t, z, y, x) = f(t, z + c t, y + c t, x + c t)``: its Fourier matrix's
    time row gains ``c`` times the spatial rows (inputs are ordered t, z, y, x)."""
    import torch

    ckpt = torch.load(os.path.join(DATA, "ct_compression.pt"), weights_only=True)
    gauss = ckpt["nn_model"]["module.gauss"].clone()
    gauss[0] += SPEED * (gauss[1] + gauss[2] + gauss[3])
    ckpt["nn_model"]["module.gauss"] = gauss
    path = os.path.join(folder, "ct_moving.pt")
    torch.save(ckpt, path)
    return path


def fresh_reader(path: str, properties: dict):
    """A reader with its own empty disk cache (so that nothing an earlier reader computed is found)."""
    os.environ["INR_AMR_CACHE"] = tempfile.mkdtemp(prefix="inr-amr-bench-cache-")
    return reader_proxy(path, PrecomputeTimeSteps=0, **properties)


def scrub(path: str, properties: dict, play_all: bool = True) -> dict:
    reader = fresh_reader(path, properties)
    reader.UpdatePipelineInformation()
    times = list(reader.TimestepValues)
    rows = {"time_steps": times}
    plan = [("first", times[0]), ("next", times[1]), ("next_2", times[2]), ("last", times[-1]), ("revisit", times[0])]
    for name, t in plan:
        t0 = time.perf_counter()
        reader.UpdatePipeline(t)
        rows[f"{name}_s"] = time.perf_counter() - t0
        rows[f"{name}_t"] = t
        rows[f"{name}_leaves"] = servermanager.Fetch(reader).GetNumberOfLeaves()  # (after the clock)
    for name in ("next", "next_2", "last"):
        rows[f"{name}_over_first"] = rows[f"{name}_s"] / rows["first_s"]
    if not play_all:
        return rows
    player = fresh_reader(path, properties)
    player.UpdatePipelineInformation()
    play = []
    for t in times:
        t0 = time.perf_counter()
        player.UpdatePipeline(t)
        play.append(time.perf_counter() - t0)
    rows["play_s"] = play
    rows["play_mean_after_first_over_first"] = sum(play[1:]) / max(len(play) - 1, 1) / play[0]
    return rows


def parse_properties(args: list[str]) -> dict:
    """``NAME=VALUE`` arguments as reader properties (numbers where they parse)."""
    out = {}
    for arg in args:
        name, _, value = arg.partition("=")
        try:
            out[name] = int(value)
        except ValueError:
            out[name] = float(value)
    return out


#: the INRs measured by default (``--inrs`` picks some of them)
INRS = ("ct_compression", "logpile", "ct_moving")


def main(out_path, properties, names=INRS, play_all=True):
    folder = tempfile.mkdtemp()
    inrs = {
        "ct_compression": lambda: os.path.join(DATA, "ct_compression.pt"),
        "logpile": lambda: os.path.join(DATA, "logpile.pt"),
        "ct_moving": lambda: moving_checkpoint(folder),
    }
    res = {}
    for name in names:
        res[name] = scrub(inrs[name](), properties, play_all)
        r = res[name]
        line = (
            f"{name:<16} first {r['first_s']:6.2f} s  next {r['next_s']:6.2f} s ({r['next_over_first']:.2f}x)  "
            f"next+1 {r['next_2_s']:6.2f} s ({r['next_2_over_first']:.2f}x)  "
        )
        if play_all:
            line += (
                f"last {r['last_s']:6.2f} s ({r['last_over_first']:.2f}x)  revisit {r['revisit_s']:.2f} s  play: first "
                f"{r['play_s'][0]:.2f} s, mean of the rest {r['play_mean_after_first_over_first']:.2f}x, "
                f"all {sum(r['play_s']):.1f} s"
            )
        else:
            line += f"revisit {r['revisit_s']:.2f} s"
        print(line, flush=True)
    if out_path:
        write_json(out_path, {"reader_properties": properties, "play": play_all, **res}, indent=1)
    return 0


if __name__ == "__main__":
    options = [a for a in sys.argv[1:] if a.startswith("--")]
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = positional.pop(0) if positional and "=" not in positional[0] else None
    chosen = next((o.split("=", 1)[1].split(",") for o in options if o.startswith("--inrs=")), None)
    finish(main(out, parse_properties(positional), tuple(chosen or INRS), "--no-play" not in options))
