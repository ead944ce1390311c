"""The fuzz corpus (tests/fuzz_corpus.py): every hostile or broken checkpoint either loads and evaluates
to finite values, or is refused with a CheckpointError naming the file, the problem and a fix.

The corpus runs in a subprocess (a crash or a hang there cannot take pytest down) with an alarm per
case, and writes one JSON line per case; this test reads them all. Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from helpers import ROOT, overflowing_inr

CORPUS = ROOT / "tests" / "fuzz_corpus.py"
#: the whole corpus, cases and all, must finish well inside the CI budget (it takes ~10 s here)
TOTAL_TIMEOUT_S = 110


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("fuzz")
    out, sentinel = folder / "results.jsonl", folder / "PWNED"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("INR_AMR_MAX_CHECKPOINT_BYTES", None)
    try:
        proc = subprocess.run(
            [sys.executable, str(CORPUS), str(out), str(sentinel), str(folder / "work")],
            capture_output=True,
            text=True,
            timeout=TOTAL_TIMEOUT_S,
            env=env,
            cwd=ROOT,
            check=False,
        )
        stderr, rc = proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stderr, rc = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else "", None
    lines = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return {"lines": lines, "stderr": stderr, "rc": rc, "sentinel": sentinel}


def _records(run: dict) -> list[dict]:
    return [r for r in run["lines"] if "outcome" in r]


def test_corpus_ran_to_the_end(corpus_run):
    lines = corpus_run["lines"]
    assert lines, f"the corpus produced nothing:\n{corpus_run['stderr'][-3000:]}"
    header, records = lines[0], _records(corpus_run)
    started = [r["start"] for r in lines if "start" in r]
    assert corpus_run["rc"] == 0 and "done" in lines[-1], (
        f"the corpus run stopped (status {corpus_run['rc']}) during case {started[-1] if started else '?'}:\n"
        + corpus_run["stderr"][-3000:]
    )
    assert header["corpus"] == len(records) == lines[-1]["done"] >= 1000
    assert len({r["name"] for r in records}) == len(records), "case names must be unique"


def test_every_case_loads_finite_or_is_refused_clearly(corpus_run):
    records = _records(corpus_run)
    problems = []
    for r in records:
        if r["outcome"] == "loaded":
            if not r["finite"]:
                problems.append(f"{r['name']}: loaded but evaluates to NaN/Inf")
        elif r["outcome"] == "refused":
            if not r["names_file"]:
                problems.append(f"{r['name']}: refusal does not name the file: {r['message']}")
            if not (r["has_problem"] and r["has_fix"]):
                problems.append(f"{r['name']}: refusal lacks a problem or a fix: {r['message']}")
            if r["unexpected"]:
                problems.append(f"{r['name']}: refused only by the last-resort net: {r['message']}")
        else:  # 'error' (another exception type escaped) or 'timeout'
            problems.append(f"{r['name']}: {r['outcome']}: {r.get('error', '')}")
    assert not problems, f"{len(problems)} of {len(records)} cases misbehave:\n" + "\n".join(problems[:40])


def test_no_code_from_any_case_ran(corpus_run):
    records = _records(corpus_run)
    assert not corpus_run["sentinel"].exists(), "a malicious payload ran (its sentinel file exists)"
    ran = [r["name"] for r in records if r["sentinel"]]
    assert not ran, f"the sentinel appeared after {ran[:5]}"
    malicious = [r for r in records if r["kind"] == "malicious"]
    assert len(malicious) >= 200
    loaded = [r["name"] for r in malicious if r["outcome"] != "refused"]
    assert not loaded, f"malicious files must be refused, not loaded: {loaded[:5]}"
    by_function = Counter(r["name"].split("/")[1] for r in malicious)
    for function in ("os.system", "exec", "eval", "subprocess.Popen", "__import__", "open", "opcodes"):
        assert by_function[function] > 0, function


def test_corpus_covers_every_kind_and_source(corpus_run):
    records = _records(corpus_run)
    kinds = Counter(r["kind"] for r in records)
    assert kinds["mutation"] + kinds["truncation"] >= 1000
    for kind in ("control", "malicious", "structural", "resource", "special"):
        assert kinds[kind] > 0, kind
    for source in ("hos", "sin_corner_2d", "ct_compression", "logpile", "lattice_compression"):
        assert any(f"/{source}/" in r["name"] for r in records if r["kind"] == "mutation"), source
        assert any(f"/{source}/" in r["name"] for r in records if r["kind"] == "structural"), source
    control = {r["name"]: r["outcome"] for r in records if r["kind"] == "control"}
    assert set(control.values()) == {"loaded"} and len(control) == 7, control
    # the known defects of the earlier corpus, each now a clear refusal
    by_name = {r["name"]: r for r in records}
    expect = {
        "structural/hos/weights_list/1/zero_cols": "zero width",
        "structural/hos/zero_width_layer0": "layer 0 has zero width",
        "structural/hos/act_list_short": "act_list has 4 activations for 5 layers",
        "structural/ct_compression/zero_width_layer4": "layer 4 has zero width",
        "structural/sidecar/sine_w0_1e308": "beyond float32's range",
        "structural/hos/weights_near_f32_max": "evaluates to NaN or Inf at",
        "structural/sin_corner_2d/weights_near_f32_max": "evaluates to NaN or Inf at",
        "structural/ct_compression/weights_near_f32_max": "evaluates to NaN or Inf at",
        "structural/logpile/weights_near_f32_max": "evaluates to NaN or Inf at",
        "structural/ct_compression/with_weights_list": "several layouts",
        "resource/expanded_view": "memory budget",
        "resource/legacy_numel_1099511627776": "memory budget",
        "special/fifo": "named pipe",
    }
    for name, words in expect.items():
        assert by_name[name]["outcome"] == "refused" and words in by_name[name]["message"], by_name[name]
    # whatever the sample drew: these mistakes are refused wherever they are made
    must_refuse = (
        "/complex",  # complex weights were silently cast to real
        "/complex_real",
        "/bool",
        "/sparse",
        "/zero_rows",
        "/zero_cols",
        "/zero_width_layer0",  # a consistent zero-width layer raised 'cannot reshape tensor of 0 elements'
        "/act_list_short",  # an act_list shorter than the layers was accepted
        "/act_list_long",
        "/with_weights_list",  # keys of two layouts
        "/with_nn_model",
        "/with_dict_keys",
        "/wrapped_twice_ambiguous",
        "/sine_w0_1e308",  # a sidecar's w0 = 1e308 gave NaN everywhere
        "/sine_w0_nan",
        "/nan_literal",
        "/beyond_f32",
    )
    checked = Counter()
    for r in records:
        for suffix in must_refuse:
            if r["name"].endswith(suffix):
                checked[suffix] += 1
                assert r["outcome"] == "refused", r
    missing = [s for s in must_refuse if not checked[s]]
    assert not missing, f"the corpus no longer draws {missing}"


def test_corpus_counts(corpus_run):
    """The counts, printed (``pytest -s``): cases, outcomes by kind, refusals by problem."""
    records = _records(corpus_run)
    seconds = corpus_run["lines"][-1].get("seconds")
    by_kind: dict[str, Counter] = {}
    for r in records:
        by_kind.setdefault(r["kind"], Counter())[r["outcome"]] += 1
    problems = Counter(_problem_class(r["message"]) for r in records if r["outcome"] == "refused")
    print(f"\nfuzz corpus: {len(records)} cases in {seconds} s")
    for kind, counts in by_kind.items():
        print(f"  {kind:>11}: {sum(counts.values()):5d}  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("  refusals by problem:")
    for problem, n in problems.most_common():
        print(f"    {n:5d}  {problem}")
    slowest = max(records, key=lambda r: r["seconds"])
    print(f"  slowest case: {slowest['name']} ({slowest['seconds']} s)")
    assert seconds is not None and seconds < TOTAL_TIMEOUT_S


_PROBLEMS = (
    ("zero width", "zero-width layer"),
    ("arbitrary code", "code refused (never run)"),
    ("whole torch modules", "code refused (never run)"),
    ("unsupported activation", "unsupported activation"),
    ("CRC", "damaged archive (CRC)"),
    ("damaged zip", "damaged archive"),
    ("zip archive without", "damaged archive"),
    ("cannot be read (", "damaged pickle"),
    ("unpickled safely", "damaged pickle"),
    ("damaged or unsupported torch file", "damaged pickle"),
    ("declares", "declared size does not fit"),
    ("is declared as", "declared size does not fit"),
    ("needs", "declared size does not fit"),
    ("memory budget", "over the memory budget"),
    ("is missing", "data missing"),
    ("NaN or Inf at", "evaluates to NaN/Inf"),
    ("NaN or Inf", "NaN/Inf weights"),
    ("float32's range", "beyond float32"),
    ("complex", "complex tensor"),
    ("booleans", "wrong dtype"),
    ("sparse", "wrong dtype"),
    ("several layouts", "conflicting layout keys"),
    ("several networks", "conflicting layout keys"),
    ("act_list has", "activations do not match the layers"),
    ("activations given", "activations do not match the layers"),
    ("sidecar", "bad sidecar"),
    ("legacy", "legacy format"),
    ("native", "wrong structure"),
    ("4D CT layout", "wrong structure"),
    ("a layer is missing", "wrong structure"),
    ("not a finite", "NaN/Inf value"),
    ("names given", "descriptors do not match the network"),
    ("intervals for", "descriptors do not match the network"),
    ("version", "unsupported version"),
    ("environment variable", "bad budget setting"),
    ("not a PyTorch checkpoint", "not a torch file"),
    ("unknown checkpoint layout", "unknown layout"),
    ("should hold", "wrong type"),
    ("should be", "wrong type"),
    ("must be", "wrong shape or value"),
    ("expects", "wrong shape or value"),
    ("entries", "wrong shape or value"),
    ("not a regular file", "special file"),
    ("named pipe", "special file"),
    ("device", "special file"),
    ("folder", "special file"),
    ("is empty", "empty file"),
    ("cannot be opened", "bad path"),
    ("no such file", "bad path"),
)


def _problem_class(message: str) -> str:
    text = message.split(": ", 1)[-1]
    for words, label in _PROBLEMS:
        if words in text:
            return label
    return "other: " + text[:60]


# ------------------------------------------------------------------------------------ non-finite values
WIDE = ((0.0, 20.0), (0.0, 1.0))  # bounds reaching beyond the domain, where the INR overflows


def test_refinement_stops_on_nan_with_count_and_place():
    from inr_amr_core import refine
    from inr_amr_core.finite import NonFiniteError

    inr = overflowing_inr()
    assert np.isfinite(inr.evaluate(np.random.default_rng(0).random((100, 2)))).all()
    with pytest.raises(NonFiniteError) as err:
        refine(inr, bounds=WIDE, max_dofs=500, rmse_samples=0)
    msg = str(err.value)
    assert err.value.count > 0 and err.value.total > err.value.count
    assert f"at {err.value.count} of {err.value.total} points" in msg
    x = float(re.search(r"at x=([\d.e+-]+), y=", msg).group(1))
    assert x > 11, msg  # the coordinate named is one where the INR does overflow
    assert not np.isfinite(inr.evaluate([[x, 0.5]])).all()
    assert isinstance(err.value, ValueError)
    refine(inr, max_dofs=200, rmse_samples=0)  # on its own domain the same INR refines


def test_vertex_values_are_checked():
    from inr_amr_core.domain import SpaceSlice
    from inr_amr_core.finite import NonFiniteError
    from inr_amr_core.tree import LinearTree
    from inr_amr_core.vertices import VertexCache

    inr = overflowing_inr()
    space = SpaceSlice.from_inr(inr, None, {}, WIDE)
    tree = LinearTree((4, 1), space.bounds)
    cache = VertexCache(inr, space, key_level=4)
    keys, _ = tree.vertices(4)
    with pytest.raises(NonFiniteError, match=r"mesh vertices.*e\.g\. at x=") as err:
        cache.lookup(tree, keys)
    assert (err.value.count, err.value.total) == (4, 10)  # of the 5 x 2 vertices, those at x = 15 and 20
    assert cache.keys.size == 0, "nothing non-finite is cached"


def test_field_scale_probe_is_checked():
    from inr_amr_core.domain import SpaceSlice
    from inr_amr_core.finite import NonFiniteError
    from inr_amr_core.run import _field_scale

    inr = overflowing_inr()
    with pytest.raises(NonFiniteError, match="field-scale probe"):
        _field_scale(inr, SpaceSlice.from_inr(inr, None, {}, WIDE), 0, 0)


def test_reference_sample_is_checked():
    from inr_amr_core import ReferenceSample
    from inr_amr_core.domain import SpaceSlice
    from inr_amr_core.finite import NonFiniteError

    inr = overflowing_inr()
    with pytest.raises(NonFiniteError, match="total-RMSE reference sample"):
        ReferenceSample.draw(inr, SpaceSlice.from_inr(inr, None, {}, WIDE), 4096, seed=0)


def test_leaf_values_are_checked():
    import dataclasses

    from inr_amr_core import refine
    from inr_amr_core.finite import NonFiniteError

    result = refine(overflowing_inr(), max_dofs=200, rmse_samples=0)
    assert np.isfinite(result.leaf_values()).all()
    # the same mesh over a box where the INR overflows: its leaf values must not be shown
    moved = dataclasses.replace(
        result,
        tree=type(result.tree)(result.tree.root_grid, WIDE).refine(np.arange(1))[0],
        space=dataclasses.replace(result.space, bounds=WIDE),
        _leaf_values={},
    )
    with pytest.raises(NonFiniteError, match="leaf centres"):
        moved.leaf_values()


def test_cli_exits_2_with_one_line(tmp_path):
    from helpers import run_cli
    from inr_amr_core import save_inr

    path = save_inr(overflowing_inr(), tmp_path / "overflow.pt")
    ok = run_cli("refine", path, "--max-dofs", "200", "--rmse-samples", "0", "-o", tmp_path / "ok.htg")
    assert ok.returncode == 0, ok.stderr[-2000:]
    proc = run_cli("refine", path, "--bounds", "0,20,0,1", "--max-dofs", "200", "-o", tmp_path / "bad.htg")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("inr-amr refine: error: the INR evaluates to NaN or Inf at "), lines[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "bad.htg").exists()


# ------------------------------------------------------------------------------------ resource bounds
RSS_SCRIPT = """
import json, resource, sys
import torch
import inr_amr_core as ia

torch.set_num_threads(1)
inr = ia.load_inr(sys.argv[1])
limit = float(sys.argv[2])
common = dict(strategy="thresholds", method="pruning", threshold=1e-4, proportion=0.075, max_iterations=1,
              memory_limit_mb=limit, rmse_samples=0, time=0.0)
ia.refine(inr, uniform_refinements=2, **common)  # warm-up: torch's thread pools, allocator, code paths
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result = ia.refine(inr, uniform_refinements=3, **common)  # 512 elements, all tested at once if memory allowed
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "leaves": result.n_leaves}))
"""


def test_refinement_peak_rss_within_memory_limit(tmp_path, ct_path):
    """Peak RSS of a Pruning run on the CT INR stays within memory_limit_mb above the process's baseline
    (interpreter, torch, the INR and a warm-up run, measured in the same process first). Without the
    limit the same run grows by about 120 MB here."""
    limit = 64
    script = tmp_path / "rss.py"
    script.write_text(RSS_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), str(ct_path), str(limit)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\npeak RSS {out['peak_mb']:.0f} MB, baseline {out['baseline_mb']:.0f} MB, limit {limit} MB")
    assert out["leaves"] > 512
    assert out["peak_mb"] <= out["baseline_mb"] + limit, out


def test_checkpoint_budget_refuses_before_allocating(tmp_path, ct_path):
    import resource

    from inr_amr_core import CheckpointError, load_inr

    with pytest.raises(CheckpointError) as err:
        load_inr(ct_path, max_bytes=200_000)
    msg = str(err.value)
    assert str(ct_path) in msg and "262,144 bytes" in msg and "memory budget of 200,000 bytes" in msg
    assert "INR_AMR_MAX_CHECKPOINT_BYTES" in msg  # the fix says how to raise it
    # a legacy file declaring a 2**40-element storage: torch would allocate 4 TiB before reading
    sys.path.insert(0, str(ROOT / "tests"))
    import fuzz_corpus

    path = tmp_path / "huge.pt"
    path.write_bytes(fuzz_corpus._legacy_with_numel(fuzz_corpus._legacy_bytes(fuzz_corpus.HOS), 2**40))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match=r"its tensors take 4,398,046,\d{3},\d{3} bytes, more than the memory"):
        load_inr(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: nothing was allocated


def test_checkpoint_budget_from_the_environment(monkeypatch, hos_path):
    from inr_amr_core import CheckpointError, load_inr

    monkeypatch.setenv("INR_AMR_MAX_CHECKPOINT_BYTES", "4K")
    with pytest.raises(CheckpointError, match=r"more than the memory budget of 4,096 bytes"):
        load_inr(hos_path)
    assert load_inr(hos_path, max_bytes=2**20).hidden_widths == (32,) * 4  # the keyword wins
    monkeypatch.setenv("INR_AMR_MAX_CHECKPOINT_BYTES", "1M")
    assert load_inr(hos_path).hidden_widths == (32,) * 4
    monkeypatch.setenv("INR_AMR_MAX_CHECKPOINT_BYTES", "lots")
    with pytest.raises(CheckpointError, match="INR_AMR_MAX_CHECKPOINT_BYTES='lots' is not a size"):
        load_inr(hos_path)
