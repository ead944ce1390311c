"""Helpers shared by the tests (and by the scripts they run inside pvpython): paths, small INRs built
with plain torch, subprocess environments, and independent views of VTK outputs and images.

Nothing here imports torch, VTK or matplotlib at module level, so pvpython scripts can import it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
HOS = SHARED / "inrs" / "hos_lists.ckpt"
DATA = ROOT / "inr_amr_apps" / "data"
INR_AMR = Path(sys.executable).with_name("inr-amr")
PV_SCRIPTS = ROOT / "tests" / "plugin" / "pv"
PLUGIN = ROOT / "plugin" / "inr_amr_plugin.py"


# ---------------------------------------------------------------------------------------- INRs
def random_mlp(widths, activation="relu", seed=0, scale=1.0):
    """Weights and biases of a random MLP (plain tensors), Kaiming-like scaled."""
    import torch

    g = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for i in range(len(widths) - 1):
        w = torch.randn(widths[i + 1], widths[i], generator=g) * (scale / math.sqrt(widths[i]))
        b = torch.randn(widths[i + 1], generator=g) * 0.1
        weights.append(w)
        biases.append(b)
    return weights, biases


def ct_like_inr(width=32, layers=3, features=16, seed=0):
    """A small INR in the 4D CT architecture (Fourier features, SiLU, output scale), inputs t, z, y, x."""
    import torch

    from inr_amr_core import INR, Activation, FourierFeatures

    g = torch.Generator().manual_seed(seed)
    b_mat = torch.cat([torch.randn(1, features, generator=g) * 0.1, torch.randn(3, features, generator=g) * 0.3])
    w, b = random_mlp([2 * features] + [width] * layers + [1], seed=seed + 1, scale=2.0)
    return INR(
        w,
        b,
        [Activation("silu")] * layers + [Activation("identity")],
        FourierFeatures(b_mat),
        ("t", "z", "y", "x"),
        ((-1.0, 1.0),) * 4,
        0.1,
    )


# ---------------------------------------------------------------------------------------- processes
def overflowing_inr():
    """2 -> 2 relu -> 1, finite (zero) on its domain [0, 1]^2 but NaN beyond x ~ 11 (float32 overflow)."""
    import torch

    from inr_amr_core import INR, Activation

    w0 = torch.tensor([[3e37, 0.0], [3e37, 0.0]])
    w1 = torch.tensor([[1.0, -1.0]])
    return INR([w0, w1], [torch.zeros(2), torch.zeros(1)], [Activation("relu"), Activation("identity")])


def sine_2d_inr(seed=5):
    """A small 2 -> 24x2 sine -> 1 INR on [-1, 1]^2 (any other 2D field, for swapping files)."""
    from inr_amr_core import INR, Activation

    w, b = random_mlp([2, 24, 24, 1], seed=seed, scale=3.0)
    return INR(
        w, b, [Activation("sine", {"w0": 3.0})] * 2 + [Activation("identity")], domain=((-1.0, 1.0), (-1.0, 1.0))
    )


def leaf_rows(centres, values) -> list[tuple[float, ...]]:
    """Leaf centres (rounded) and values as rows sorted by centre: compare two with :func:`same_rows`."""
    rows = np.c_[np.round(np.asarray(centres, dtype=float), 9), np.asarray(values, dtype=float)]
    return sorted(map(tuple, rows.tolist()))


def same_rows(a, b, tol=1e-5) -> bool:
    """True if two :func:`leaf_rows` lists hold the same leaves with values within ``tol``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))


def result_rows(result) -> list[tuple[float, ...]]:
    """:func:`leaf_rows` of a core refinement result (its 2D leaf centres and INR values)."""
    return leaf_rows(result.tree.leaf_centers(), result.leaf_values())


def plain_env(site: bool = False) -> dict:
    """PYTHONPATH for a bare pvpython: the venv's packages and the checkout (no plugin auto-loading)."""
    paths = ([str(ROOT / "plugin" / "site")] if site else []) + [str(ROOT), sysconfig.get_paths()["purelib"]]
    env = {k: v for k, v in os.environ.items() if k not in ("PV_PLUGIN_PATH", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run(cmd, env=None, timeout=600, cwd=None) -> subprocess.CompletedProcess:
    """Run a command, capturing its output (never raising on a non-zero status: the tests check it)."""
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False
    )


def run_cli(*args, cwd=None, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run the installed ``inr-amr`` (the venv's) and return the CompletedProcess."""
    cmd = [INR_AMR, *args] if INR_AMR.exists() else [sys.executable, "-m", "inr_amr_apps.cli", *args]
    return run(cmd, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


# ---------------------------------------------------------------------------------------- VTK outputs
def leaf_records(htg, arrays=("value",), skip_masked: bool = False) -> np.ndarray:
    """``(N, 6 + len(arrays))``: each leaf's bounds (xmin, xmax, ymin, ymax, zmin, zmax) then its values.

    Walks the vtkHyperTreeGrid with VTK's own geometry cursor: an independent view of the HTG.
    """
    from vtkmodules.vtkCommonDataModel import vtkHyperTreeGridNonOrientedGeometryCursor

    data = [htg.GetCellData().GetArray(a) for a in arrays]
    cursor = vtkHyperTreeGridNonOrientedGeometryCursor()
    rows = []

    def walk(c):
        if skip_masked and c.IsMasked():
            return
        if c.IsLeaf():
            b = [0.0] * 6
            c.GetBounds(b)
            idx = c.GetGlobalNodeIndex()
            rows.append(b + [d.GetValue(idx) for d in data])
            return
        for i in range(c.GetNumberOfChildren()):
            c.ToChild(i)
            walk(c)
            c.ToParent()

    for tree in range(htg.GetMaxNumberOfTrees()):
        htg.InitializeNonOrientedGeometryCursor(cursor, tree)
        if cursor.HasTree():
            walk(cursor)
    return np.array(rows, dtype=float).reshape(-1, 6 + len(arrays))


def node_records(htg, array: str) -> np.ndarray:
    """Every node, refined ones included, by VTK's cursor: ``(N, 8)`` rows of bounds, value, is-leaf."""
    from vtkmodules.vtkCommonDataModel import vtkHyperTreeGridNonOrientedGeometryCursor

    data = htg.GetCellData().GetArray(array)
    cursor = vtkHyperTreeGridNonOrientedGeometryCursor()
    rows = []

    def walk(c):
        b = [0.0] * 6
        c.GetBounds(b)
        rows.append([*b, data.GetValue(c.GetGlobalNodeIndex()), float(c.IsLeaf())])
        if not c.IsLeaf():
            for i in range(c.GetNumberOfChildren()):
                c.ToChild(i)
                walk(c)
                c.ToParent()

    for tree in range(htg.GetMaxNumberOfTrees()):
        htg.InitializeNonOrientedGeometryCursor(cursor, tree)
        if cursor.HasTree():
            walk(cursor)
    return np.array(rows, dtype=float).reshape(-1, 8)


# ---------------------------------------------------------------------------------------- images
def image_stats(path: str | Path) -> dict:
    """Colours, foreground and dark (mesh-edge) fractions of a rendered PNG."""
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))[..., :3]
    px = (img.reshape(-1, 3) * 255).round().astype(np.int32)
    keys = px[:, 0] << 16 | px[:, 1] << 8 | px[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    background = values[np.argmax(counts)]
    lum = px.mean(axis=1)
    return {
        "width": img.shape[1],
        "height": img.shape[0],
        "colours": int(values.size),
        "foreground_fraction": float(np.mean(keys != background)),
        "dark_fraction": float(np.mean(lum < 60)),
    }


def assert_nontrivial(
    path: str | Path, min_colours: int = 50, min_foreground: float = 0.15, min_dark: float = 0.002
) -> dict:
    """A rendered PNG shows something: many colours, little background, visible mesh edges."""
    stats = image_stats(path)
    assert stats["colours"] >= min_colours, f"{path}: only {stats['colours']} colours: {stats}"
    assert stats["foreground_fraction"] >= min_foreground, f"{path}: mostly background: {stats}"
    assert stats["dark_fraction"] >= min_dark, f"{path}: no mesh edges visible: {stats}"
    return stats
