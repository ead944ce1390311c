"""``inr-amr paraview | pvpython | pvbatch``: start ParaView ready to read INR checkpoints.

The launcher puts four things in the environment of the ParaView process:

* ``PYTHONPATH``: this Python's site-packages (torch) and the folder the project's packages are in
  (a source checkout or site-packages);
* the ParaView layer's ``site`` folder, whose ``sitecustomize.py`` applies the Python 3.11 workaround
  that Debian's ParaView 5.11 needs to load any Python plugin (``inspect.getargspec``);
* ``PV_PLUGIN_PATH``: the ParaView layer's folder, so the INR Checkpoint Reader is loaded at start-up;
* ``LD_PRELOAD``: torch's CPU library first, so that torch computes with its own BLAS, not the one
  ParaView links (:mod:`inr_amr_core.torch_blas`).

Every folder is found through the installed packages (:mod:`inr_amr_apps.resources`), so the
launchers work from a checkout and from a wheel alike.

Arguments after the tool name go to ParaView unchanged, e.g. ``inr-amr pvbatch script.py --flag``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import inr_amr_core
from inr_amr_core.torch_blas import other_preloads, torch_cpu_library

from .resources import plugin_dir

__all__ = ["TOOLS", "add_commands", "paraview_environment", "pvbatch_command", "run_paraview_tool"]

TOOLS = ("paraview", "pvpython", "pvbatch")


def paraview_environment(base: dict | None = None) -> dict:
    """The environment for a ParaView process that finds torch, the core and the plugin."""
    env = dict(os.environ if base is None else base)
    plugins = plugin_dir()
    packages = Path(inr_amr_core.__file__).resolve().parent.parent  # where the project's packages are
    paths = [str(plugins / "site"), str(packages), sysconfig.get_paths()["purelib"]]
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(paths + ([old] if old else []))
    old_plugins = env.get("PV_PLUGIN_PATH")
    env["PV_PLUGIN_PATH"] = os.pathsep.join([str(plugins)] + ([old_plugins] if old_plugins else []))
    own_blas = torch_cpu_library()
    if own_blas is not None:
        env["LD_PRELOAD"] = ":".join([own_blas, *other_preloads(env.get("LD_PRELOAD", ""))])
    return env


def pvbatch_command(require_display: bool = True) -> list[str]:
    """The start of a command line running pvbatch where it can render: on a private Xvfb without ``$DISPLAY``.

    The server is started by :mod:`inr_amr_apps.xdisplay` (not ``xvfb-run -a``, whose choice of display
    raced in CI and whose server resets between pvbatch's connections). Raises FileNotFoundError without
    pvbatch, and without both ``$DISPLAY`` and Xvfb when
    ``require_display`` (otherwise pvbatch is run as it is and may fail to render).
    """
    exe = shutil.which("pvbatch")
    if exe is None:
        raise FileNotFoundError("pvbatch is not on PATH; install ParaView (apt-get install paraview python3-paraview)")
    if os.environ.get("DISPLAY"):
        return [exe]
    if shutil.which("Xvfb") is None:
        if require_display:
            raise FileNotFoundError("no $DISPLAY and no Xvfb: install xvfb (apt-get install xvfb) to render")
        return [exe]
    return [sys.executable, "-m", "inr_amr_apps.xdisplay", exe]


def run_paraview_tool(tool: str, args: list[str], *, replace_process: bool = True) -> int:
    """Start ``tool`` (paraview, pvpython or pvbatch) with the project's environment."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
    exe = shutil.which(tool)
    if exe is None:
        raise FileNotFoundError(
            f"{tool} is not on PATH; install ParaView (Debian: apt-get install paraview python3-paraview)"
        )
    env = paraview_environment()
    if replace_process and hasattr(os, "execvpe"):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvpe(exe, [exe, *args], env)
    return subprocess.call([exe, *args], env=env)


def _cmd(args: argparse.Namespace) -> int:
    return run_paraview_tool(args.command, list(args.tool_args))


def add_commands(sub) -> None:
    for tool in TOOLS:
        p = sub.add_parser(
            tool, help=f"start {tool} with the plugin loaded and the project's Python packages", add_help=False
        )
        p.add_argument("tool_args", nargs=argparse.REMAINDER, help=f"arguments passed to {tool}")
        p.set_defaults(func=_cmd)
