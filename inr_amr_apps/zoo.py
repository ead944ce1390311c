"""A zoo of 2D INRs of the paper's function, for the robustness sweep of the refinement defaults.

The paper's thresholds are network-specific: on a network eight times wider than the paper's, its
P refines nothing. The sweep (``bench/sweep.py``) checks the budget defaults on networks that
differ in width (16 to 512), depth (2 to 8) and activation (ReLU, tanh, SiLU, sine), all fit to
``sin(1/(1/50 + r))`` on ``[0, 1]^2`` by :func:`inr_amr_apps.training.train_inr` with fixed seeds.
Trained networks are cached as native checkpoints, keyed by their recipe.

>>> [n.name for n in ZOO][:3]
['relu_w16_d4', 'relu_w32_d4', 'relu_w64_d4']
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from inr_amr_core.checkpoint import load_inr, save_inr
from inr_amr_core.inr import INR, Activation

from . import phantoms
from .training import train_inr

__all__ = ["ZOO", "ZooNet", "build", "trained"]


@dataclass(frozen=True)
class ZooNet:
    """One network of the zoo: its architecture and its training recipe."""

    activation: str
    width: int
    depth: int
    steps: int
    lr: float
    batch_size: int = 1024
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.activation}_w{self.width}_d{self.depth}"

    @property
    def file_name(self) -> str:
        return f"{self.name}_s{self.steps}_lr{self.lr:g}_b{self.batch_size}_seed{self.seed}.pt"


def _steps(width: int, depth: int) -> int:
    # about the same training time for every network on two cores: fewer steps for the big ones
    work = width * width * max(depth - 1, 1) + 64 * width
    return int(min(12_000, max(2_000, 12_000 * (64 * 64 * 3) / work)))


def _net(activation: str, width: int, depth: int) -> ZooNet:
    lr = {"relu": 2e-3, "tanh": 2e-3, "silu": 2e-3, "sine": 3e-4}[activation] * min(1.0, math.sqrt(64 / width))
    return ZooNet(activation, width, depth, _steps(width, depth), lr)


#: width sweep (ReLU, depth 4), depth sweep (ReLU, width 64), activation sweep (width 64, depth 4)
ZOO: tuple[ZooNet, ...] = (
    *(_net("relu", w, 4) for w in (16, 32, 64, 128, 256, 512)),
    *(_net("relu", 64, d) for d in (2, 3, 5, 6, 7, 8)),
    *(_net(a, 64, 4) for a in ("tanh", "silu", "sine")),
)


def build(net: ZooNet) -> INR:
    """The untrained network: ``2 -> depth x width -> 1`` on ``[0, 1]^2``, seeded initial weights.

    ReLU, tanh and SiLU layers start He/Glorot-uniform; sine layers start as SIREN (w0 = 30 on the
    first layer's pre-activation scale, uniform ``+-sqrt(6 / fan_in) / w0`` after it).
    """
    gen = torch.Generator().manual_seed(net.seed)
    widths = [2] + [net.width] * net.depth + [1]
    weights, biases = [], []
    w0 = 30.0
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        if net.activation == "sine":
            bound = (1.0 / n_in) if i == 0 else math.sqrt(6.0 / n_in) / w0
        else:
            gain = math.sqrt(2.0) if net.activation == "relu" else 1.0
            bound = gain * math.sqrt(3.0 / n_in)
        weights.append((torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound)
        biases.append((torch.rand(n_out, generator=gen) * 2 - 1) / math.sqrt(n_in))
    if net.activation == "sine":
        acts = [Activation("sine", {"w0": w0})] * net.depth
    else:
        acts = [Activation(net.activation)] * net.depth
    return INR(
        weights,
        biases,
        [*acts, Activation("identity")],
        None,
        ("x", "y"),
        ((0.0, 1.0), (0.0, 1.0)),
        1.0,
        metadata={"architecture": net.name},
    )


def trained(net: ZooNet, cache_dir: str | os.PathLike, progress=None) -> tuple[INR, Path]:
    """The trained network, from ``cache_dir`` when it is there, else trained now and saved there."""
    path = Path(cache_dir) / net.file_name
    if path.is_file():
        return load_inr(path), path
    inr, report = train_inr(
        phantoms.sin_corner,
        build(net),
        steps=net.steps,
        batch_size=net.batch_size,
        lr=net.lr,
        seed=net.seed,
        progress=progress,
        name="sin_corner",
    )
    inr.metadata.update({"fit_rmse": report["fit_rmse"], "training_seconds": report["seconds"]})
    return inr, save_inr(inr, path)
