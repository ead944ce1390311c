"""Bad input in the real pvbatch: no raw traceback, nothing shown for a refused file or a NaN field,
two readers side by side, cancel then apply again, a checkpoint replaced under a cached result."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from helpers import HOS, INR_AMR, PV_SCRIPTS, ct_like_inr, overflowing_inr, result_rows, run, same_rows, sine_2d_inr

pytestmark = pytest.mark.paraview

#: corpus cases shown to ParaView, a seeded sample of each kind (all ~1,000 run in tests/core/test_fuzz.py)
PER_KIND = 6


def _sample_of_the_corpus(folder, sentinel):
    import fuzz_corpus

    rng = random.Random(11)
    by_kind: dict[str, list] = {}
    for case in fuzz_corpus.corpus(str(sentinel)):
        if "env" in case.name or "nul" in case.name:
            # environment variables are for the loader alone; a NUL cannot pass through a C string property
            continue
        by_kind.setdefault(case.kind, []).append(case)
    files = {}
    for kind, cases in sorted(by_kind.items()):
        for i, case in enumerate(rng.sample(cases, min(PER_KIND, len(cases)))):
            case_folder = folder / f"{kind}{i}"
            case_folder.mkdir(parents=True)
            path, keywords = case.build(case_folder)
            if not keywords:  # sidecars and activation strings are not reader properties
                files[f"{kind}: {case.name}"] = str(path)
    files["missing file"] = str(folder / "no-such.pt")
    return files


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from inr_amr_core import save_ct_checkpoint, save_inr

    tmp = tmp_path_factory.mktemp("hostile")
    sentinel = tmp / "PWNED"
    bad = _sample_of_the_corpus(tmp / "corpus", sentinel)
    swap, swap_b = tmp / "swap.pt", tmp / "b.pt"
    shutil.copyfile(HOS, swap)
    save_inr(sine_2d_inr(), swap_b)
    cfg = {
        "bad": bad,
        "overflow": str(save_inr(overflowing_inr(), tmp / "overflow.pt")),
        "hos": str(HOS),
        "ct": str(save_ct_checkpoint(ct_like_inr(width=16, layers=2, features=8), tmp / "ct.pt")),
        "swap": str(swap),
        "swap_b": str(swap_b),
    }
    (tmp / "cfg.json").write_text(json.dumps(cfg))
    proc = run([INR_AMR, "pvbatch", PV_SCRIPTS / "hostile_checks.py", tmp / "cfg.json", tmp / "out.json"], timeout=900)
    assert (tmp / "out.json").exists(), proc.stdout[-3000:] + proc.stderr[-6000:]
    out = json.loads((tmp / "out.json").read_text())
    assert "script_error" not in out, out["script_error"]
    return {"out": out, "cfg": cfg, "sentinel": sentinel, "stderr": proc.stderr, "tmp": tmp}


def test_no_bad_file_runs_code_crashes_or_shows_a_traceback(hostile_run):
    out, cfg = hostile_run["out"], hostile_run["cfg"]
    assert out["survived"] and not hostile_run["sentinel"].exists()
    assert len(out["bad"]) >= 30 and out["hos_leaves_first"] > 100
    refused = 0
    for name, case in out["bad"].items():
        assert "Traceback" not in case["window"] + case["error"], f"{name}: a raw traceback\n{case['window']}"
        if case["error"]:
            refused += 1
            assert case["leaves"] == 0, f"{name}: refused yet a mesh is shown"
            assert case["error"] in case["window"], f"{name}: the error is not in the output window"
            path = cfg["bad"][name]
            assert path in case["error"] or path.rsplit("/", 1)[-1] in case["error"], f"{name}: {case['error']}"
        else:
            assert case["leaves"] > 0, f"{name}: neither a mesh nor an error"
    assert refused >= 25
    assert "Traceback" not in hostile_run["stderr"]
    assert out["hos_leaves_after_bad"] == out["hos_leaves_first"]  # the same reader recovers


def test_nan_where_refinement_samples_shows_nothing_and_says_so(hostile_run):
    out = hostile_run["out"]
    assert out["overflow_own_domain_leaves"] > 0
    case = out["overflow"]
    assert case["leaves"] == 0
    assert "evaluates to NaN or Inf at" in case["error"] and "e.g. at x=" in case["error"], case["error"]
    assert "Traceback" not in case["window"] and case["error"] in case["window"]


def test_two_readers_in_one_session_each_show_their_own_mesh(hostile_run):
    from inr_amr_core import load_inr, refine

    two = hostile_run["out"]["two_readers"]
    assert two["a_same_again"] and two["b_same_again"]
    assert two["a_leaves"] == refine(load_inr(HOS), max_dofs=2000).tree.n_leaves
    ct = load_inr(hostile_run["cfg"]["ct"])
    # reader b shows 3 time steps, too far apart to share time slabs (auto time levels: 0)
    b_mesh = refine(ct, max_dofs=1500, uniform_refinements=1, time=1.0, time_levels=0)
    assert two["b_leaves"] == b_mesh.tree.n_leaves


def test_cancel_then_apply_again_gives_the_full_mesh(hostile_run):
    from inr_amr_core import load_inr, refine

    cancel = hostile_run["out"]["cancel"]
    full = refine(load_inr(HOS), max_dofs=12000).tree.n_leaves
    assert cancel["cancelled"]["events"] >= 3
    assert cancel["cancelled"]["leaves"] < full  # the run stopped early (a coarser prefix, or nothing)
    assert cancel["again"] == full and cancel["again_error"] == ""


def test_a_replaced_checkpoint_is_never_shown_from_a_stale_cache(hostile_run):
    from inr_amr_core import load_inr, refine

    swap = hostile_run["out"]["swap"]
    new = result_rows(refine(load_inr(hostile_run["cfg"]["swap_b"]), max_dofs=2000))
    old = result_rows(refine(load_inr(HOS), max_dofs=2000))
    assert not same_rows(old, new)
    assert same_rows(swap["before"], old)
    assert same_rows(swap["after"], new), "the reader served the old file's mesh from its cache"
    assert same_rows(swap["reloaded"], new)
