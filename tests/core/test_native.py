"""The C pivoting kernel against the batched torch pivoting, box by box, and its build and fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from inr_amr_core import native
from inr_amr_core.pruning import pivoted_cholesky


def factors(rng, boxes=40, rows=58, width=96):
    """Sketch-like factors of activations with a spread of numerical ranks (2 to 60)."""
    out = np.empty((boxes, rows, width))
    for b in range(boxes):
        k = int(rng.integers(2, 61))
        u = rng.standard_normal((rows, k))
        v = rng.standard_normal((k, width)) * np.exp(-np.arange(k) / 8.0)[:, None]
        out[b] = u @ v + 1e-5 * rng.standard_normal((rows, width))
    return out


def torch_pivoting(data, gram, caps, steps, eps, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("INR_AMR_NATIVE", "off")
        t = torch.from_numpy(data)
        res = pivoted_cholesky(
            t if gram else None,
            steps,
            eps,
            max_rank=torch.from_numpy(caps),
            with_interpolation=False,
            factor=None if gram else t,
        )
    return res


@pytest.fixture(scope="module")
def kernel():
    assert native.available(), "the C pivoting kernel did not build"


@pytest.mark.parametrize("gram", [False, True])
def test_kernel_matches_torch_pivoting(kernel, rng, gram, monkeypatch):
    """Ranks, pivots and capped flags equal the torch version's; R rows and norms to rounding."""
    y = factors(rng)
    data = np.einsum("bmi,bmj->bij", y, y) if gram else y
    caps = rng.integers(0, 50, y.shape[0])
    steps = int(caps.max())
    rows, piv, diag, rank, capped = native.pivoted_cholesky_boxes(data, gram, caps, steps, 1e-3)
    ref = torch_pivoting(data, gram, caps, y.shape[1], 1e-3, monkeypatch)
    np.testing.assert_array_equal(rank, ref.rank.numpy())
    np.testing.assert_array_equal(capped, ref.capped.numpy())
    assert capped.any() and (~capped).any()  # both kinds of stop are exercised
    k = ref.pivots.shape[1]
    np.testing.assert_array_equal(piv[:, :k], ref.pivots.numpy())
    np.testing.assert_allclose(diag[:, :k], ref.r_diag.numpy(), rtol=1e-9, atol=1e-12 * diag.max())
    np.testing.assert_allclose(rows[:, :k], ref.r_rows.numpy(), rtol=1e-8, atol=1e-10 * diag.max())
    assert not rows[:, k:].any() and not piv[:, k:].any()  # past every rank: zero


def test_each_box_is_the_same_bits_alone_in_a_batch_or_on_threads(kernel, rng):
    y = factors(rng, boxes=24)
    caps = np.full(24, 48)
    batch = native.pivoted_cholesky_boxes(y, False, caps, 48, 1e-3, threads=1)
    threaded = native.pivoted_cholesky_boxes(y, False, caps, 48, 1e-3, threads=2)
    for a, b in zip(batch, threaded):
        np.testing.assert_array_equal(a, b)
    for i in (0, 7, 23):
        alone = native.pivoted_cholesky_boxes(y[i : i + 1], False, caps[i : i + 1], 48, 1e-3)
        for a, b in zip(batch, alone):
            np.testing.assert_array_equal(a[i], b[0])


def test_non_finite_and_zero_boxes_stop_at_rank_zero(kernel, rng, monkeypatch):
    y = factors(rng, boxes=3, width=16)
    y[1, 4, 3] = np.nan
    y[2] = 0.0
    caps = np.full(3, 10)
    _, _, _, rank, capped = native.pivoted_cholesky_boxes(y, False, caps, 10, 1e-3)
    ref = torch_pivoting(y, False, caps, 10, 1e-3, monkeypatch)
    np.testing.assert_array_equal(rank, ref.rank.numpy())
    assert rank[0] > 0 and rank[1] == 0 and rank[2] == 0 and not capped[1:].any()


def test_avx2_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(native, "_cpu_flags", lambda: {"sse2"})
    assert "-mavx2" not in native.compile_flags()
    monkeypatch.setattr(native, "_cpu_flags", lambda: {"sse2", "avx2"})
    assert "-mavx2" in native.compile_flags()
    assert "-ffp-contract=off" in native.compile_flags()  # no fused multiply-adds: the same bits either way


@pytest.mark.parametrize("width", [96, 100, 37])
def test_the_vector_path_gives_the_bits_of_the_plain_loops(kernel, rng, tmp_path, monkeypatch, width):
    """The AVX2 build (Gram rows and row updates in registers) against a build without AVX2 (plain loops),
    on factors of both precisions and on Gram matrices: every output bitwise equal. Widths: whole 32-column
    blocks (96), blocks and a tail (100), a tail only (37). The builds without OpenMP split a batch between
    Python threads, the OpenMP one between its own: the same bits, on one thread or two."""
    if "avx2" not in native._cpu_flags():
        pytest.skip("this CPU has no AVX2: the plain loops are the only build")
    builds = {}
    for label, flags in (
        ("plain", native.BASE_FLAGS),
        ("avx2", (*native.BASE_FLAGS, "-mavx2")),
        ("openmp", native.compile_flags(openmp=True)),
    ):
        builds[label] = native.build(tmp_path / f"{label}.so", flags)
    y = factors(rng, boxes=16, rows=70, width=width)
    caps = np.minimum(rng.integers(5, 60, 16), width)
    steps = int(caps.max())
    inputs = {
        "float32": (y.astype(np.float32), False),
        "float64": (y.astype(np.float32).astype(np.float64), False),
        "gram": (np.einsum("bmi,bmj->bij", y, y), True),
    }
    assert builds["openmp"].inr_amr_openmp() == 1 and builds["avx2"].inr_amr_openmp() == 0
    monkeypatch.setattr(native, "_MIN_SPLIT_WORK", 1)  # (split even this small batch)
    out = {}
    for label, lib in builds.items():
        monkeypatch.setattr(native, "_library", lib)
        monkeypatch.setattr(native, "_tried", True)
        for kind, (data, gram) in inputs.items():
            out[label, kind] = native.pivoted_cholesky_boxes(data, gram, caps, steps, 1e-3)
            for threads in (2, 3):
                split = native.pivoted_cholesky_boxes(data, gram, caps, steps, 1e-3, threads=threads)
                for a, b in zip(out[label, kind], split):
                    np.testing.assert_array_equal(a, b)
    assert out["plain", "float32"][3].max() > 16  # enough steps to exercise the row updates' blocks
    for kind in inputs:
        for other in ("avx2", "openmp"):
            for a, b in zip(out["plain", kind], out[other, kind]):
                np.testing.assert_array_equal(a, b)
    for a, b in zip(out["avx2", "float32"], out["avx2", "float64"]):
        np.testing.assert_array_equal(a, b)


def test_openmp_and_python_thread_splits_give_the_same_bits(kernel, rng, tmp_path, monkeypatch):
    """Builds without AVX2, with and without OpenMP: a batch split between OpenMP threads (the kernel's
    loop) or between Python threads gives the serial call's bits, on 2 and 3 threads."""
    builds = {}
    for label, flags in (("serial", native.BASE_FLAGS), ("openmp", (*native.BASE_FLAGS, "-fopenmp"))):
        builds[label] = native.build(tmp_path / f"{label}.so", flags)
    assert builds["openmp"].inr_amr_openmp() == 1 and builds["serial"].inr_amr_openmp() == 0
    y = factors(rng, boxes=24, rows=64, width=70)
    caps = np.minimum(rng.integers(5, 60, 24), 64)
    steps = int(caps.max())
    monkeypatch.setattr(native, "_MIN_SPLIT_WORK", 1)  # (split even this small batch)
    monkeypatch.setattr(native, "_tried", True)
    for data in (y.astype(np.float32), y):  # (the two entry points)
        monkeypatch.setattr(native, "_library", builds["serial"])
        reference = native.pivoted_cholesky_boxes(data, False, caps, steps, 1e-3)
        r_ref = native.interpolation_matrices(reference[0], reference[1], reference[3])
        for lib in builds.values():
            monkeypatch.setattr(native, "_library", lib)
            for threads in (2, 3):
                split = native.pivoted_cholesky_boxes(data, False, caps, steps, 1e-3, threads=threads)
                for a, b in zip(reference, split):
                    np.testing.assert_array_equal(a, b)
                t = native.interpolation_matrices(split[0], split[1], split[3], threads=threads)
                np.testing.assert_array_equal(t, r_ref)


SCRIPT = """
import numpy as np
from inr_amr_core import native, prune_on_boxes
print("available", native.available())
import helpers
inr = helpers.ct_like_inr(width=16, layers=2, features=8, seed=0)
res = prune_on_boxes(inr, np.zeros((3, 4)) - 1, np.zeros((3, 4)) + 1, id_samples=32, error_samples=4)
print("ranks", res.ranks.tolist())
"""


@pytest.mark.parametrize("env", [{"CC": "false"}, {"INR_AMR_NATIVE": "off"}])
def test_without_a_compiler_pruning_falls_back_to_torch(tmp_path, env):
    """A compiler that fails (or the switch) leaves the kernel out; pruning still works, same ranks."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = dict(
        os.environ,
        INR_AMR_NATIVE_DIR=str(tmp_path),
        INR_AMR_CACHE="off",  # (the mesh cache's switch does not touch the kernel)
        PYTHONPATH=tests + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    (tmp_path / "pivot-0000000000000000.so").write_bytes(b"another version's build")
    runs = {}
    for label, extra in (("fallback", env), ("kernel", {})):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env={**base, **extra}, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        runs[label] = out.stdout.splitlines()
    assert runs["fallback"][0] == "available False"
    assert runs["kernel"][0] == "available True"
    assert runs["fallback"][1] == runs["kernel"][1]
    built = sorted(p.name for p in tmp_path.iterdir())
    assert len(built) == 2 and all(n.startswith("pivot-") and n.endswith(".so") for n in built)  # no temporary file
    assert "pivot-0000000000000000.so" in built  # another version's build is left to whoever uses it


def test_a_compiler_without_openmp_gets_the_build_without_it(tmp_path):
    """A compiler that rejects -fopenmp: the kernel is built without it (and says so), and pruning gives
    the ranks of the OpenMP build (the splits themselves are compared in the test above)."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cc = tmp_path / "cc-without-openmp"
    cc.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = -fopenmp ] && exit 1; done\nexec cc "$@"\n')
    cc.chmod(0o755)
    script = "import logging; logging.basicConfig(level=logging.INFO)\n" + SCRIPT
    script += "print('openmp', native.library().inr_amr_openmp())\n"
    runs = {}
    for label, extra in (("without", {"CC": str(cc)}), ("with", {})):
        env = dict(
            os.environ,
            INR_AMR_NATIVE_DIR=str(tmp_path / label),
            INR_AMR_CACHE="off",
            PYTHONPATH=tests + os.pathsep + os.environ.get("PYTHONPATH", ""),
            **extra,
        )
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        runs[label] = out.stdout.splitlines()
        assert ("built without OpenMP" in out.stderr) == (label == "without"), out.stderr
    assert runs["without"][0] == runs["with"][0] == "available True"
    assert runs["without"][2] == "openmp 0" and runs["with"][2] == "openmp 1"
    assert runs["without"][1] == runs["with"][1]


def test_interpolation_matrices_match_torch(kernel, rng, monkeypatch):
    """T = R11^-1 R from the kernel's R rows: to rounding the torch solve's, pivot columns exact unit vectors."""
    from inr_amr_core.pruning import _interpolation_matrices

    y = factors(rng, boxes=30)
    caps = rng.integers(0, 40, y.shape[0])
    rows, piv, _, rank, _ = native.pivoted_cholesky_boxes(y, False, caps, int(caps.max()), 1e-3)
    k = int(rank.max())
    args = (torch.from_numpy(rows[:, :k].copy()), torch.from_numpy(piv[:, :k].copy()), torch.from_numpy(rank))
    t = native.interpolation_matrices(*(a.numpy() for a in args))
    with monkeypatch.context() as m:
        m.setenv("INR_AMR_NATIVE", "off")
        ref = _interpolation_matrices(*args).numpy()
    np.testing.assert_allclose(t, ref, rtol=1e-7, atol=1e-9)
    for b in range(y.shape[0]):
        n = rank[b]
        np.testing.assert_array_equal(t[b][:n][:, piv[b, :n]], np.eye(n))
        assert not t[b][n:].any()
    # the result reproduces each box's factor from its kept columns: Y ~ Y[:, I] T
    b = int(np.argmax(rank))
    n = rank[b]
    approx = y[b][:, piv[b, :n]] @ t[b][:n]
    assert np.linalg.norm(approx - y[b]) <= 1e-2 * np.linalg.norm(y[b])


def test_float32_factors_give_the_bits_of_their_float64_copy(kernel, rng):
    """Products of two float32 numbers are exact in float64: the float32 entry point is the float64 one."""
    y32 = factors(rng, boxes=12).astype(np.float32)
    caps = np.full(12, 40)
    single = native.pivoted_cholesky_boxes(y32, False, caps, 40, 1e-3)
    double = native.pivoted_cholesky_boxes(y32.astype(np.float64), False, caps, 40, 1e-3)
    for a, b in zip(single, double):
        np.testing.assert_array_equal(a, b)


def test_pruning_enters_the_kernel(kernel, monkeypatch):
    """The pruning path really calls the kernel (not the torch version twice), for both IDs."""
    import helpers
    from inr_amr_core import prune_on_boxes, pruning

    calls = []
    real = pruning.pivoted_cholesky_boxes
    monkeypatch.setattr(pruning, "pivoted_cholesky_boxes", lambda *a, **k: calls.append(a[0].dtype) or real(*a, **k))
    inr = helpers.ct_like_inr(width=16, layers=2, features=8, seed=0)
    for method in ("exact", "sketch"):
        prune_on_boxes(inr, -np.ones((3, 4)), np.ones((3, 4)), id_samples=32, error_samples=4, id_method=method)
    assert calls and all(d == np.float32 for d in calls)  # the activations themselves, no float64 copy


def test_a_folder_others_can_write_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with pytest.raises(OSError, match="not owned by this user alone"):
        native._check_owned(folder)
    folder.chmod(0o700)
    native._check_owned(folder)
