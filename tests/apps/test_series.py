"""``inr-amr refine --times``: a time series on disk that ParaView scrubs through."""

from __future__ import annotations

import json

import pytest

from helpers import ct_like_inr, run, run_cli
from inr_amr_apps.series import parse_piece, parse_times, steps_of_piece, write_series
from inr_amr_core import refine, save_ct_checkpoint
from inr_amr_core.settings import RefinementSettings, SettingsError


def test_times_and_pieces_parse():
    assert parse_times("-1:1:5") == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert parse_times("0.25, 0.5") == [0.25, 0.5]
    with pytest.raises(SettingsError, match="START:STOP:N"):
        parse_times("0:1:0")
    assert parse_piece("1/3") == (1, 3) and parse_piece(None) == (0, 1)
    with pytest.raises(SettingsError, match="0 <= I < N"):
        parse_piece("3/3")
    assert [list(steps_of_piece(7, i, 3)) for i in range(3)] == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_series_sizes_its_time_slabs_to_its_steps(tmp_path):
    """Auto time levels come from the whole series (33 steps over [-1, 1]: slabs of 1/8 hold 2 spacings),
    also in the piece that refines only the last step, whose mesh is a fresh run's at those levels."""
    inr = ct_like_inr(width=16, layers=2, features=8)
    times = parse_times("-1:1:33")
    settings = RefinementSettings(max_dofs=600, uniform_refinements=1, device="cpu", conforming_dofs=False)
    (last,) = write_series(inr, settings, times, tmp_path / "s.pvd", piece=(8, 9))
    assert last.settings.time_levels == 4
    fresh = refine(inr, settings.replace(time=1.0, time_levels=4))
    assert last.tree.n_leaves == fresh.tree.n_leaves
    assert (last.tree.element_ids() == fresh.tree.element_ids()).all()


@pytest.mark.paraview
def test_a_series_written_in_pieces_scrubs_in_paraview(tmp_path):
    ckpt = save_ct_checkpoint(ct_like_inr(width=16, layers=2, features=8), tmp_path / "ct.pt")
    pvd = tmp_path / "out" / "series.pvd"
    for piece in ("0/2", "1/2"):  # two processes, each its block of steps
        out = run_cli(
            "refine",
            ckpt,
            "--times=-1:1:5",
            "--max-dofs",
            "1500",
            "--uniform-refinements",
            "1",
            "-o",
            pvd,
            "--piece",
            piece,
            "--report",
            tmp_path / f"r{piece[0]}.json",
            "-q",
        )
        assert out.returncode == 0, out.stderr
    reports = [json.loads((tmp_path / f"r{i}.json").read_text()) for i in (0, 1)]
    assert sorted(int(k) for r in reports for k in r["steps"]) == [0, 1, 2, 3, 4]
    script = tmp_path / "scrub.py"
    script.write_text(f"""
from paraview import servermanager as sm
from paraview.simple import OpenDataFile
r = OpenDataFile({str(pvd)!r})
r.UpdatePipelineInformation()
for t in r.TimestepValues:
    r.UpdatePipeline(t)
    d = sm.Fetch(r)
    print("STEP", t, d.GetClassName(), d.GetNumberOfLeaves())
""")
    proc = run(["pvpython", script])
    steps = [line.split() for line in proc.stdout.splitlines() if line.startswith("STEP")]
    assert [float(s[1]) for s in steps] == [-1.0, -0.5, 0.0, 0.5, 1.0], proc.stdout + proc.stderr[-2000:]
    leaves = {i: r["steps"][str(i)]["leaves"] for r in reports for i in map(int, r["steps"])}
    assert all(s[2] == "vtkHyperTreeGrid" and int(s[3]) == leaves[i] for i, s in enumerate(steps))
