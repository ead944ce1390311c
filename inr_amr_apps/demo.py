"""``inr-amr demo``: the main job on the embedded micro-CT small octet truss INR, through pvbatch.

Writes, under one folder, for t = -1, 0 and 1: an adaptive .htg of the whole domain refined to the
struts' scale (level 8) and an isosurface of the truss rendered from it; an adaptive .htg of a thin
slab around x = 0 refined to the INR's detail and its slice with mesh edges; then an error-vs-DOFs
plot of Uniform, Basic and Pruning on the slab, and a JSON report. Every stage prints its progress.
Rendering needs an X server: without ``$DISPLAY`` the job runs on a private Xvfb
(:mod:`inr_amr_apps.xdisplay`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

from inr_amr_core.settings import METHODS

from .launch import paraview_environment, pvbatch_command
from .resources import data_file, pvscript

__all__ = [
    "DEFAULT_CHECKPOINT",
    "DEFAULT_ISO",
    "DEMO_METHOD",
    "SLAB_ROOTS",
    "add_commands",
    "demo_settings",
    "run_demo",
]

#: the small truss specimen in a wide field of view: the INR where adaptive refinement pays (Basic needs
#: 16x fewer DOFs than 257^3 sampling for its RMSE), fitted best of the lattice and truss INRs (0.00066)
DEFAULT_CHECKPOINT = "small_truss_compression.pt"

#: the method of the volume and slab stages: on this network Pruning's score is blind to the struts (its
#: ranks cap in the first layer on air and struts alike, docs/results.md), Basic's interpolation error
#: finds them; the comparison stage runs all three
DEMO_METHOD = "Basic"

#: the isosurface's value (None: the middle of the first step's value range, 0.048 on the small truss: about
#: half its struts' attenuation 0.1, where its struts come out whole with no air blotch crossing it)
DEFAULT_ISO: float | None = None

#: the slab's root grid across (y, z): its root cells are cubes 2 / SLAB_ROOTS wide, one across x
SLAB_ROOTS = 32


def demo_settings(quick: bool = False, iso: float | None = None) -> dict:
    """Reader properties of the three stages and the settings of the comparison.

    The whole domain: Basic within 1,000,000 DOFs down to level 8 (cells 1/256 of the domain, about
    a third of a strut's thickness), where the octet truss's struts come out continuous; on the large
    truss within 400,000 DOFs (level 7) or by Pruning they came out as fragments (measured,
    docs/results.md). The slab: Basic within 90,000 DOFs, one root cell thick (1/16 of the domain) and
    32 root cells across, so three levels of refinement give cells 1/256 of the domain wide (Basic goes
    one or two levels further on the struts: 1/1024 of the domain on the small truss). ``quick``
    shrinks every budget (for the tests); ``iso`` is the isosurface's value (None: the middle of the
    first step's value range).
    """
    half = 1.0 / SLAB_ROOTS
    slab_box = [-half, half, -1.0, 1.0, -1.0, 1.0]
    common = dict(NumberOfTimeSteps=3, PrecomputeTimeSteps=0)  # the job asks for every step itself
    method = METHODS.index(DEMO_METHOD.lower())  # (the reader's Method enumeration)
    volume = dict(
        MaxDOFs=20_000 if quick else 1_000_000,
        Method=method,
        MaxLevel=8,
        **common,
    )
    slab = dict(
        MaxDOFs=15_000 if quick else 90_000,
        Bounds=slab_box,
        RootGrid=[1, SLAB_ROOTS, SLAB_ROOTS],
        UniformRefinements=0,  # the root cells are already 1/32 of the domain
        Method=method,
        **common,
    )
    compare = {
        "settings": dict(
            bounds=((-half, half), (-1.0, 1.0), (-1.0, 1.0)),
            root_grid=(1, SLAB_ROOTS, SLAB_ROOTS),
            uniform_refinements=0,
            max_dofs=8_000 if quick else 60_000,
            device="auto",
        ),
        "rmse_samples": 65_536 if quick else 262_144,
    }
    return {
        "times": [-1.0, 0.0, 1.0],
        "volume": {"reader": volume, "iso": iso, "method": DEMO_METHOD},
        "slab": {"reader": slab, "axis": "x", "position": 0.0, "method": DEMO_METHOD},
        "compare": compare,
    }


def run_demo(
    checkpoint: str | os.PathLike | None = None, output: str | os.PathLike = "inr-amr-output", quick: bool = False
) -> int:
    """Run the main job in pvbatch; returns its exit status."""
    ckpt = Path(checkpoint) if checkpoint else data_file(DEFAULT_CHECKPOINT)
    pvbatch = pvbatch_command()
    script = pvscript("demo.py")
    cmd = [
        *pvbatch,
        str(script),
        "--checkpoint",
        str(ckpt.resolve()),
        "--output",
        str(Path(output).resolve()),
        "--settings",
        json.dumps(demo_settings(quick, iso=DEFAULT_ISO if checkpoint is None else None)),
    ]
    print(f"inr-amr demo: {ckpt.name} -> {Path(output).resolve()}", flush=True)
    return subprocess.call(cmd, env=paraview_environment())


def _cmd(args: argparse.Namespace) -> int:
    return run_demo(args.checkpoint, args.output, args.quick)


def add_commands(sub) -> None:
    p = sub.add_parser(
        "demo", help="the main job: adaptive meshes of the embedded 4D micro-CT small truss INR through pvbatch"
    )
    p.add_argument("--checkpoint", help="a 4D INR (default: the embedded micro-CT small octet truss INR)")
    p.add_argument("-o", "--output", default="inr-amr-output", help="output folder (default ./inr-amr-output)")
    p.add_argument("--quick", action="store_true", help="small budgets and fewer RMSE points (a smoke test)")
    p.set_defaults(func=_cmd)
