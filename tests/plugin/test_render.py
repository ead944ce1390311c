"""Rendering under Xvfb: a pvbatch screenshot, the ParaView GUI scripted, and Qt event playback of Load New."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import INR_AMR, ROOT, assert_nontrivial, plain_env

pytestmark = pytest.mark.paraview

PVSCRIPTS = ROOT / "plugin" / "pvscripts"


def xvfb() -> list[str]:
    """Run the rest of the command line on a private X server (inr_amr_apps.xdisplay, not xvfb-run -a)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (apt-get install xvfb): rendering needs an X server")
    return [sys.executable, "-m", "inr_amr_apps.xdisplay"]


def test_pvbatch_screenshot_2d(tmp_path, hos_path):
    png, timing = tmp_path / "hos.png", tmp_path / "t.json"
    proc = subprocess.run(
        [
            *xvfb(),
            str(INR_AMR),
            "pvbatch",
            str(PVSCRIPTS / "screenshot.py"),
            str(hos_path),
            str(png),
            "--prop",
            "MaxDOFs=10000",
            "--timing",
            str(timing),
            "--title",
            "hos",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    stats = assert_nontrivial(png)
    assert stats["width"] == 900
    print("hos apply-to-image seconds:", json.loads(timing.read_text())["apply_to_image_seconds"])


def test_pvbatch_screenshot_slice_3d(tmp_path, ct4d):
    png, timing = tmp_path / "ct.png", tmp_path / "t.json"
    proc = subprocess.run(
        [
            *xvfb(),
            str(INR_AMR),
            "pvbatch",
            str(PVSCRIPTS / "screenshot.py"),
            str(ct4d),
            str(png),
            "--axis",
            "x",
            "--time",
            "1",
            "--prop",
            "Method=Basic",
            "--prop",
            "Tau=0.02",
            "--prop",
            "MaxDOFs=30000",
            "--timing",
            str(timing),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert_nontrivial(png)
    assert json.loads(timing.read_text())["refinements"] == 1


def _gui_env(tmp_path, ckpt, autoload: bool) -> dict:
    # without autoload, a bare ParaView: the packages and the 3.11 workaround, but no plugin until Load New
    env = dict(os.environ) if autoload else plain_env(site=True)
    env.update(
        INR_AMR_PVSCRIPTS=str(PVSCRIPTS),
        INR_AMR_CKPT=str(ckpt),
        INR_AMR_PNG=str(tmp_path / "gui.png"),
        INR_AMR_OUT=str(tmp_path / "gui.json"),
        XDG_RUNTIME_DIR=str(tmp_path),
    )
    return env


def _check_gui_output(tmp_path, proc):
    out = tmp_path / "gui.json"
    assert out.exists(), f"the GUI script did not finish:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    data = json.loads(out.read_text())
    assert data["reader_registered"] and data["slice_cells"] > 10
    assert_nontrivial(tmp_path / "gui.png", min_dark=0.001)
    return data


def test_gui_opens_checkpoint_and_saves_slice(tmp_path, ct4d):
    script = Path(__file__).parent / "pv" / "gui_slice.py"
    proc = subprocess.run(
        [*xvfb(), str(INR_AMR), "paraview", "--dr", f"--script={script}", "--exit"],
        capture_output=True,
        text=True,
        timeout=600,
        env=_gui_env(tmp_path, ct4d, autoload=True),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_gui_output(tmp_path, proc)


def test_gui_load_new_by_qt_event_playback(tmp_path, ct4d):
    """Tools > Manage Plugins > Load New, played back as Qt events; the reader exists only after it."""
    events = (Path(__file__).parent / "pv" / "load_new.xml.in").read_text()
    events = events.replace("@PLUGIN@", str(ROOT / "plugin" / "inr_amr_plugin.py"))
    events = events.replace("@SCRIPT@", str(Path(__file__).parent / "pv" / "gui_slice.py"))
    (tmp_path / "events.xml").write_text(events)
    paraview = shutil.which("paraview")
    assert paraview, "paraview is not installed"
    proc = subprocess.run(
        [*xvfb(), paraview, "--dr", f"--test-script={tmp_path / 'events.xml'}", "--exit"],
        capture_output=True,
        text=True,
        timeout=600,
        env=_gui_env(tmp_path, ct4d, autoload=False),
    )
    assert "Couldn't find object" not in proc.stdout + proc.stderr, proc.stdout[-3000:]
    _check_gui_output(tmp_path, proc)


def test_demo_main_job_writes_everything_it_lists(tmp_path, ct4d):
    """The README's main job (`inr-amr demo`), on a small 4D INR so that it takes seconds."""
    out = tmp_path / "demo"
    proc = subprocess.run(
        [str(INR_AMR), "demo", "--quick", "--checkpoint", str(ct4d), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tail = re.split(r"The main job took \d+ s and wrote:", proc.stdout)
    assert len(tail) == 2, proc.stdout[-3000:]
    listed = [Path(line.strip()) for line in tail[1].splitlines() if line.strip()]
    assert listed and all(p.is_file() for p in listed)
    names = {p.name for p in listed}
    for t in ("tm1_0", "tp0_0", "tp1_0"):
        assert {f"volume_{t}.htg", f"isosurface_{t}.png", f"slab_{t}.htg", f"slice_x0_{t}.png"} <= names
        assert_nontrivial(out / f"slice_x0_{t}.png", min_dark=0.001)
        assert_nontrivial(out / f"isosurface_{t}.png", min_dark=0.001)
    assert {"error_vs_dofs.png", "report.json"} <= names
    for stage in ("stage 1/3", "stage 2/3", "stage 3/3", "[volume t = -1.0]", "[slab t = +1.0]", "[compare pruning]"):
        assert stage in proc.stdout, f"no progress from {stage!r}"
    report = json.loads((out / "report.json").read_text())
    assert [s["time"] for s in report["volume"]["steps"]] == [-1.0, 0.0, 1.0]
    assert all(s["isosurface_points"] > 0 for s in report["volume"]["steps"])
    # the slab's cells are finer than the volume's: that is what it is for
    assert min(s["max_level"] for s in report["slab"]["steps"]) >= 2
    assert set(report["comparison"]["iterations"]) == {"uniform", "basic", "pruning"}
