"""The reproduction runner's analysis (independent arithmetic) and a quick end-to-end run."""

from __future__ import annotations

import json
import math

import pytest

from helpers import run_cli
from inr_amr_apps.reproduce import best_rmse_within, crossings, dofs_to_reach


def test_dofs_to_reach_interpolates_in_log_log():
    curve = [(100, 1e-1), (1000, 1e-2), (10000, 1e-3)]
    assert dofs_to_reach(curve, 1e-2) == pytest.approx(1000)
    # halfway in log between 1e-1 and 1e-2 is 10^-1.5, reached at 10^2.5 DOFs
    assert dofs_to_reach(curve, 10**-1.5) == pytest.approx(10**2.5)
    assert dofs_to_reach(curve, 1e-4) is None
    assert dofs_to_reach(curve, 1.0) == 100


def test_crossings_pick_common_targets():
    curves = {"a": [(100, 0.1), (1000, 0.01)], "b": [(100, 0.1), (400, 0.01), (800, 0.004)]}
    c = crossings(curves)
    assert c["common_rmse"] == pytest.approx(0.01)  # the worse of the best RMSEs
    assert c["dofs_to_reach_common_rmse"]["a"] == pytest.approx(1000)
    assert c["dofs_to_reach_common_rmse"]["b"] == pytest.approx(400)
    assert c["common_dofs"] == 800  # the smaller of the largest DOF counts
    expected_a = math.exp(
        math.log(0.1)
        + (math.log(800) - math.log(100)) / (math.log(1000) - math.log(100)) * (math.log(0.01) - math.log(0.1))
    )
    assert c["rmse_at_common_dofs"]["a"] == pytest.approx(expected_a)
    assert c["rmse_at_common_dofs"]["b"] == pytest.approx(0.004)
    assert best_rmse_within(curves["b"], 500) == pytest.approx(0.01)


@pytest.mark.slow
def test_reproduce_2d_quick(tmp_path):
    out = run_cli("reproduce", "--experiments", "2d_hos", "--scale", "quick", "-o", tmp_path, timeout=1800)
    assert out.returncode == 0, out.stderr[-4000:]
    res = json.loads((tmp_path / "results.json").read_text())
    rec = res["experiments"]["2d_hos"]
    table = rec["report"]["iterations"]
    assert set(table) == {"uniform", "basic", "pruning"}
    assert all(row["rmse"] > 0 for rows in table.values() for row in rows)
    # Uniform reproduces the reference code's uniform meshes: same DOFs, same true RMSE (to its 2 digits)
    for (dofs, rmse), row in zip(rec["reference_code"]["uniform"], table["uniform"][1:]):
        assert row["dofs"] == dofs
        assert row["rmse"] == pytest.approx(rmse, rel=0.06)
    assert all(r["dofs"] <= 10_000 for r in table["pruning"])
    assert rec["sweeps"]["best_rmse_within_budget"]["pruning"] > 0
    assert (tmp_path / "2d_hos_error_vs_dofs.png").exists()
    assert len(rec["images"]) == 3


def test_versus_uniform():
    from inr_amr_apps.reproduce import versus_uniform

    curves = {"uniform": [(100, 0.1), (10000, 0.001)], "pruning": [(100, 0.1), (1000, 0.001)]}
    v = versus_uniform(curves)["pruning"]
    assert v["dofs"] == 1000 and v["uniform_dofs_for_same_rmse"] == pytest.approx(10000)
    assert v["dof_ratio_uniform_over_method"] == pytest.approx(10)
    assert v["uniform_rmse_at_same_dofs"] == pytest.approx(0.01)
