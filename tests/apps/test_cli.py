"""The ``inr-amr`` command, run as a real subprocess."""

from __future__ import annotations

import json

import numpy as np
import vtk

from helpers import DATA, ct_like_inr, run_cli
from inr_amr_core import load_inr, save_ct_checkpoint


def test_info(hos_path):
    out = run_cli("info", hos_path)
    assert out.returncode == 0, out.stderr
    assert "layout:        lists" in out.stdout and "2 -> 32x4 relu -> 1" in out.stdout
    js = json.loads(run_cli("info", hos_path, "--json").stdout)
    assert js["hidden_widths"] == [32, 32, 32, 32]


def test_refine_writes_outputs(tmp_path, hos_path):
    out = run_cli(
        "refine",
        hos_path,
        "--method",
        "pruning",
        "-T",
        "0.1",
        "-P",
        "0.09",
        "--eps",
        "1e-3",
        "--max-it",
        "5",
        "--max-dofs",
        "2000",
        "--rmse-samples",
        "10000",
        "-o",
        tmp_path / "h.htg",
        "--report",
        tmp_path / "h.json",
        "--vtu",
        tmp_path / "h.vtu",
    )
    assert out.returncode == 0, out.stderr
    assert "RMSE" in out.stdout and "wrote htg" in out.stdout
    assert "%" in out.stderr  # the progress line
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["method"] == "pruning" and report["dofs"] <= 2000
    assert all("rmse" in r for r in report["iterations"])
    reader = vtk.vtkXMLHyperTreeGridReader()
    reader.SetFileName(str(tmp_path / "h.htg"))
    reader.Update()
    assert reader.GetOutput().GetNumberOfLeaves() == report["leaves"]


def test_refine_4d_at_time(tmp_path):
    ckpt = save_ct_checkpoint(ct_like_inr(width=16, layers=2, features=8), tmp_path / "ct.pt")
    out = run_cli(
        "refine",
        ckpt,
        "--time",
        "0.5",
        "--method",
        "basic",
        "--tau",
        "0.05",
        "--max-it",
        "2",
        "--uniform-refinements",
        "1",
        "--report",
        tmp_path / "r.json",
        "-q",
    )
    assert out.returncode == 0, out.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["slice"]["axes"] == ["x", "y", "z"] and rep["slice"]["fixed"] == {"t": 0.5}


def test_compare_writes_plot_and_table(tmp_path, hos_path):
    out = run_cli(
        "compare",
        hos_path,
        "--max-it",
        "4",
        "--max-dofs",
        "1500",
        "--rmse-samples",
        "5000",
        "--plot",
        tmp_path / "c.png",
        "--report",
        tmp_path / "c.json",
        "-q",
    )
    assert out.returncode == 0, out.stderr
    rep = json.loads((tmp_path / "c.json").read_text())
    assert set(rep["iterations"]) == {"uniform", "basic", "pruning"}
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_convert_roundtrip(tmp_path, hos_path):
    out = run_cli("convert", hos_path, "-o", tmp_path / "hos.pt")
    assert out.returncode == 0, out.stderr
    a, b = load_inr(hos_path), load_inr(tmp_path / "hos.pt")
    x = np.random.default_rng(0).random((100, 2))
    np.testing.assert_array_equal(a.evaluate(x), b.evaluate(x))
    assert "layout:        native" in run_cli("info", tmp_path / "hos.pt").stdout


def test_errors_are_clear_and_nonzero(tmp_path, hos_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    out = run_cli("refine", bad, "-o", tmp_path / "x.htg")
    assert out.returncode == 2
    assert "not a PyTorch checkpoint" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "x.htg").exists()
    out = run_cli("refine", hos_path, "--time", "0.3")
    assert out.returncode == 2 and "no time input" in out.stderr
    out = run_cli("refine", hos_path, "--uniform-refinements", "6", "--max-dofs", "100")
    assert out.returncode == 2 and "max_dofs" in out.stderr


def test_info_on_embedded_checkpoints():
    embedded = {"sin_corner_2d.pt": "native", "ct_compression.pt": "ct4d", "logpile.pt": "ct4d"}
    four_d = ("lattice_compression.pt", "truss_compression.pt", "small_truss_compression.pt")
    for name, layout in {**embedded, **dict.fromkeys(four_d, "ct4d")}.items():
        out = run_cli("info", DATA / name, "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["layout"] == layout


def test_options_are_generated_from_the_schema(capsys):
    import pytest

    from inr_amr_apps.cli import build_parser, settings_from_args
    from inr_amr_core.settings import RefinementSettings, parameters

    parser = build_parser()
    refine = parser._subparsers._group_actions[0].choices["refine"]
    options = {a.dest: a for a in refine._actions}
    for s in parameters(RefinementSettings):
        if s.cli:
            assert s.cli in options[s.name].option_strings and options[s.name].help == s.help(), s.name
    # nothing given: exactly the schema's defaults
    assert settings_from_args(parser.parse_args(["refine", "x.pt"])) == RefinementSettings()
    args = parser.parse_args(
        [
            "refine",
            "x.pt",
            "-T",
            "0.5",
            "--fix",
            "z=1",
            "--fix",
            "y=0",
            "--root-grid",
            "2,2",
            "--max-dofs",
            "0",
            "--exact-diagnostics",
            "-m",
            "basic",
        ]
    )
    assert settings_from_args(args) == RefinementSettings(
        threshold=0.5,
        fixed_inputs={"z": 1, "y": 0},
        root_grid=(2, 2),
        max_dofs=None,
        exact_diagnostics=True,
        method="basic",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["refine", "x.pt", "-P", "2"])
    assert "proportion (P) must be in (0, 1], got 2" in capsys.readouterr().err


def test_progress_line_in_a_log_prints_each_stage_and_a_heartbeat():
    import io
    import time

    from inr_amr_apps.cli import ProgressLine

    log = io.StringIO()  # not a terminal
    line = ProgressLine("[x] ", stream=log, interval=0.0, heartbeat=0.05)
    for i in range(6):  # one long stage: the same message prefix throughout
        line(i / 10, f"train: step {i}")
        time.sleep(0.03)
    line(0.7, "write: checkpoint")
    line(1.0, "done")
    lines = log.getvalue().splitlines()
    assert lines[0].endswith("train: step 0") and lines[-2].endswith("write: checkpoint") and lines[-1].endswith("done")
    heartbeats = [x for x in lines if "train: step" in x]
    assert 2 <= len(heartbeats) <= 4  # not silent for the whole stage, nor a line per call
