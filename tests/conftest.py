"""Shared fixtures: the real hos checkpoint and small INRs built with plain torch."""
from __future__ import annotations

import math
import os
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
HOS = SHARED / "inrs" / "hos_lists.ckpt"
INR_AMR = Path(sys.executable).with_name("inr-amr")

sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def hos_path() -> Path:
    if not HOS.is_file():
        pytest.fail(f"the shared checkpoint {HOS} is missing (tests need ../shared from the repository root)")
    return HOS


@pytest.fixture(scope="session")
def hos(hos_path):
    from inr_amr_core import load_inr

    return load_inr(hos_path)


def random_mlp(widths, activation="relu", seed=0, scale=1.0):
    """Weights and biases of a random MLP (plain tensors), Kaiming-like scaled."""
    g = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for i in range(len(widths) - 1):
        w = torch.randn(widths[i + 1], widths[i], generator=g) * (scale / math.sqrt(widths[i]))
        b = torch.randn(widths[i + 1], generator=g) * 0.1
        weights.append(w)
        biases.append(b)
    return weights, biases


@pytest.fixture
def small_tanh_inr():
    """2 -> 16x3 tanh -> 1 on [0, 1]^2: smooth, so pruning with eps -> 0 is exact everywhere."""
    from inr_amr_core import INR, Activation

    w, b = random_mlp([2, 16, 16, 16, 1], seed=3, scale=1.5)
    return INR(w, b, [Activation("tanh")] * 3 + [Activation("identity")])


def ct_like_inr(width=32, layers=3, features=16, seed=0):
    """A small INR in the 4D CT architecture (Fourier features, SiLU, output scale), inputs t, z, y, x."""
    from inr_amr_core import INR, Activation, FourierFeatures

    g = torch.Generator().manual_seed(seed)
    b_mat = torch.cat([torch.randn(1, features, generator=g) * 0.1, torch.randn(3, features, generator=g) * 0.3])
    w, b = random_mlp([2 * features] + [width] * layers + [1], seed=seed + 1, scale=2.0)
    return INR(w, b, [Activation("silu")] * layers + [Activation("identity")], FourierFeatures(b_mat),
               ("t", "z", "y", "x"), ((-1.0, 1.0),) * 4, 0.1)


@pytest.fixture
def ct_inr():
    return ct_like_inr()


@pytest.fixture(scope="module")
def ct4d(tmp_path_factory) -> Path:
    """A small 4D INR in the CT layout, made with the project's own code."""
    from inr_amr_core import save_ct_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "small_ct.pt"
    return save_ct_checkpoint(ct_like_inr(width=32, layers=3, features=16, seed=1), path)


def plain_env(site: bool = False) -> dict:
    """PYTHONPATH for a bare pvpython: the venv's packages and the checkout (no plugin auto-loading)."""
    paths = ([str(ROOT / "plugin" / "site")] if site else []) + [str(ROOT), sysconfig.get_paths()["purelib"]]
    env = {k: v for k, v in os.environ.items() if k not in ("PV_PLUGIN_PATH", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run the installed ``inr-amr`` (the venv's) and return the CompletedProcess."""
    import subprocess

    cmd = [str(INR_AMR), *map(str, args)] if INR_AMR.exists() else [sys.executable, "-m", "inr_amr_core.cli", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
