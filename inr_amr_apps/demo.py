"""``inr-amr demo``: the main job on the embedded simulated dynamic-CT INR, through pvbatch.

Writes, under one folder: an adaptive .htg per time step (t = -1, 0, 1), slice screenshots with mesh
edges at x = 0 and y = 0 for each, an error-vs-DOFs plot of Uniform, Basic and Pruning at t = 1, and
a JSON report; then prints where they are. Rendering needs an X server: without ``$DISPLAY`` the job
runs under ``xvfb-run``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

from .launch import paraview_environment, pvbatch_command
from .resources import data_file, pvscript

__all__ = ["DEFAULT_CHECKPOINT", "add_commands", "demo_settings", "run_demo"]

DEFAULT_CHECKPOINT = "ct_compression.pt"


def demo_settings(quick: bool = False) -> dict:
    """Reader properties for the time steps and settings of the three-method comparison.

    The paper's CT heuristics (P 0.075, eps 1e-3, 3 uniform refinements, error_samples 32 / 256) with
    T = tau = 1e-3 (this project's floored relative error); two adaptive iterations per time step
    and three for the comparison keep the job to a few minutes on two cores.
    """
    reader = dict(
        Method="Pruning",
        Threshold=1e-3,
        Proportion=0.075,
        Epsilon=1e-3,
        IDSamples=256,
        ErrorSamples=32,
        UniformRefinements=3,
        MaxIterations=2,
        MaxDOFs=400_000,
        NumberOfTimeSteps=3,
    )
    compare = {
        "settings": dict(
            threshold=1e-3,
            proportion=0.075,
            eps=1e-3,
            tau=1e-3,
            id_samples=256,
            error_samples=32,
            uniform_refinements=3,
            max_iterations=2 if quick else 3,
            max_dofs=400_000,
            device="auto",
        ),
        "per_method": {"basic": {"error_samples": 256}},
        "rmse_samples": 65_536 if quick else 262_144,
    }
    return {"reader": reader, "times": [-1.0, 0.0, 1.0], "compare": compare}


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
        json.dumps(demo_settings(quick)),
    ]
    print(f"inr-amr demo: {ckpt.name} -> {Path(output).resolve()}", flush=True)
    return subprocess.call(cmd, env=paraview_environment())


def _cmd(args: argparse.Namespace) -> int:
    return run_demo(args.checkpoint, args.output, args.quick)


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="the main job: Pruning AMR of the embedded 4D CT INR through pvbatch")
    p.add_argument("--checkpoint", help="a 4D INR (default: the embedded simulated dynamic-CT INR)")
    p.add_argument("-o", "--output", default="inr-amr-output", help="output folder (default ./inr-amr-output)")
    p.add_argument("--quick", action="store_true", help="fewer iterations and RMSE points")
    p.set_defaults(func=_cmd)
