"""A built (non-editable) wheel, installed into a fresh venv made as the README makes it, works on its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import HOS, ROOT, run


def project_files() -> list[str]:
    """The files a clean checkout has (tracked, plus new ones git does not ignore)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``pip install torch==2.13.0`` and the wheel into ``python3 -m venv --system-site-packages``."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for f in project_files():  # build from a copy: an in-tree build would leave build/ behind
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    built = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", src],
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("inr_amr-*.whl")
    venv = tmp / "venv"
    steps = [
        ["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv],
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "torch==2.13.0"],
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", wheel],
    ]
    for cmd in steps:
        proc = run(cmd, timeout=900)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return venv


def clean_env() -> dict:
    """No path into the checkout: what the installed files provide, and nothing else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PV_PLUGIN_PATH", "VIRTUAL_ENV") and not k.startswith("INR_AMR_")
    }
    # the installed copy builds its own kernel (not one a checkout built into the user's cache)
    folder = Path(tempfile.mkdtemp(prefix="inr-amr-wheel-native-"))
    env["INR_AMR_NATIVE_DIR"] = str(folder)
    return env


def test_wheel_ships_the_data_the_plugin_and_the_pvscripts(installed, tmp_path):
    code = (
        "import json, inr_amr_core, inr_amr_core.native, inr_amr_apps.resources as r; "
        "print(json.dumps({'core': inr_amr_core.__file__, "
        "'data': str(r.data_file('ct_compression.pt')), 'plugin': str(r.plugin_dir() / 'inr_amr_plugin.py'), "
        "'demo': str(r.pvscript('demo.py')), 'site': str(r.plugin_dir() / 'site' / 'sitecustomize.py'), "
        "'kernel': str(inr_amr_core.native.SOURCE)})); print(inr_amr_core.native.available())"
    )
    proc = run([installed / "bin" / "python", "-c", code], env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths_line, kernel_built = proc.stdout.splitlines()
    assert kernel_built == "True", "the installed package could not build its C pivoting kernel"
    paths = json.loads(paths_line)
    for name, path in paths.items():
        assert Path(path).is_file(), name
        assert str(installed) in path and str(ROOT) not in path, f"{name} comes from {path}, not the install"


def test_wheel_info_and_pvbatch(installed, tmp_path):
    exe = installed / "bin" / "inr-amr"
    info = run([exe, "info", HOS, "--json"], env=clean_env(), cwd=tmp_path)
    assert info.returncode == 0, info.stderr[-3000:]
    assert json.loads(info.stdout)["hidden_widths"] == [32, 32, 32, 32]
    script = tmp_path / "tiny.py"
    script.write_text(f"""
from paraview import servermanager as sm
from paraview.simple import *
import inr_amr_core, inr_amr_paraview
r = INRCheckpointReader(FileName={str(HOS)!r}, MaxDOFs=500)
r.UpdatePipeline()
print("LEAVES", sm.Fetch(r).GetNumberOfLeaves())
print("FROM", inr_amr_core.__file__, inr_amr_paraview.__file__)
""")
    proc = run([exe, "pvbatch", script], env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    leaves = int(proc.stdout.split("LEAVES")[1].split()[0])
    assert leaves > 16
    origin = proc.stdout.split("FROM")[1]
    assert str(installed) in origin and str(ROOT) not in origin
    for command in ("demo", "reproduce", "compare", "refine", "train", "convert"):
        assert run([exe, command, "--help"], env=clean_env(), cwd=tmp_path).returncode == 0, command
