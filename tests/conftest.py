"""Fixtures: one line each, over the shared reference INR, the embedded demo INRs and small INRs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, HOS, ct_like_inr, random_mlp


@pytest.fixture(scope="session", autouse=True)
def native_build_folder(tmp_path_factory):
    """The C kernel is built for this test session in a folder of its own (not the user's cache)."""
    folder = tmp_path_factory.mktemp("native")
    folder.chmod(0o700)
    old = os.environ.get("INR_AMR_NATIVE_DIR")
    os.environ["INR_AMR_NATIVE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("INR_AMR_NATIVE_DIR", None)
    else:
        os.environ["INR_AMR_NATIVE_DIR"] = old


@pytest.fixture(scope="session")
def hos_path() -> Path:
    if not HOS.is_file():
        pytest.fail(f"the shared checkpoint {HOS} is missing (tests need ../shared from the repository root)")
    return HOS


@pytest.fixture(scope="session")
def hos(hos_path):
    from inr_amr_core import load_inr

    return load_inr(hos_path)


@pytest.fixture(scope="session")
def ct_path() -> Path:
    """The embedded simulated dynamic-CT INR."""
    return DATA / "ct_compression.pt"


@pytest.fixture
def small_tanh_inr():
    """2 -> 16x3 tanh -> 1 on [0, 1]^2: smooth, so pruning with eps -> 0 is exact everywhere."""
    from inr_amr_core import INR, Activation

    w, b = random_mlp([2, 16, 16, 16, 1], seed=3, scale=1.5)
    return INR(w, b, [Activation("tanh")] * 3 + [Activation("identity")])


@pytest.fixture
def ct_inr():
    return ct_like_inr()


@pytest.fixture(scope="module")
def ct4d(tmp_path_factory) -> Path:
    """A small 4D INR in the CT layout, made with the project's own code."""
    from inr_amr_core import save_ct_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "small_ct.pt"
    return save_ct_checkpoint(ct_like_inr(width=32, layers=3, features=16, seed=1), path)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session", autouse=True)
def session_mesh_cache(tmp_path_factory):
    """Module- and session-scoped fixtures are set up before a test's own cache: give them one too."""
    saved = os.environ.get("INR_AMR_CACHE")
    os.environ["INR_AMR_CACHE"] = str(tmp_path_factory.mktemp("session-mesh-cache"))
    yield
    if saved is None:
        os.environ.pop("INR_AMR_CACHE", None)
    else:
        os.environ["INR_AMR_CACHE"] = saved


@pytest.fixture(autouse=True)
def private_mesh_cache(tmp_path_factory, monkeypatch):
    """Every test (and every pvpython it starts) uses a disk cache of its own, never the user's."""
    folder = tmp_path_factory.mktemp("mesh-cache")
    monkeypatch.setenv("INR_AMR_CACHE", str(folder))
    return folder
