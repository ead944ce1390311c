"""The INR as plain layers: input encoding -> (W, b, activation)* -> output scale.

Every checkpoint layout is converted into an :class:`INR`, so the rest of the package
never sees torch modules, pickles or layout-specific key names.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np
import torch

from .tuning import remember, remembered

__all__ = [
    "INR",
    "SUPPORTED_ACTIVATIONS",
    "Activation",
    "FourierFeatures",
    "fastest_chunk",
    "fastest_cpu_threads",
    "resolve_device",
]


def _sine(w0: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: torch.sin(w0 * x)


# name -> (factory taking the parameter dict, default parameters)
_ACTIVATION_FACTORIES: dict[str, tuple[Callable[[dict], Callable], dict]] = {
    "identity": (lambda p: lambda x: x, {}),
    "relu": (lambda p: torch.relu, {}),
    "leaky_relu": (
        lambda p: lambda x: torch.nn.functional.leaky_relu(x, p["negative_slope"]),
        {"negative_slope": 0.01},
    ),
    "tanh": (lambda p: torch.tanh, {}),
    "silu": (lambda p: torch.nn.functional.silu, {}),
    "sigmoid": (lambda p: torch.sigmoid, {}),
    "gelu": (lambda p: torch.nn.functional.gelu, {}),
    "elu": (lambda p: lambda x: torch.nn.functional.elu(x, p["alpha"]), {"alpha": 1.0}),
    "softplus": (
        lambda p: lambda x: torch.nn.functional.softplus(x, p["beta"], p["threshold"]),
        {"beta": 1.0, "threshold": 20.0},
    ),
    "sine": (lambda p: _sine(p["w0"]), {"w0": 30.0}),
}

#: Names accepted by :class:`Activation` (``swish`` is an alias of ``silu``).
SUPPORTED_ACTIVATIONS: tuple[str, ...] = tuple(sorted(_ACTIVATION_FACTORIES))
_ALIASES = {"swish": "silu", "linear": "identity", "none": "identity", "sin": "sine", "siren": "sine"}


_F32_MAX = float(torch.finfo(torch.float32).max)


def _parameter(name: str, key: str, value: object) -> float:
    """An activation parameter as a float: a finite real number that float32 can hold, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"activation {name!r} parameter {key} should be a number, got {value!r:.40}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"activation {name!r} parameter {key} = {out} is not a finite number")
    if abs(out) > _F32_MAX:
        raise ValueError(
            f"activation {name!r} parameter {key} = {out:g} is beyond float32's range (|{key}| <= {_F32_MAX:.3g})"
        )
    return out


def _real_float32(value: object, what: str) -> torch.Tensor:
    """A float32 copy of a real tensor; complex values are refused (casting would drop the imaginary part)."""
    t = torch.as_tensor(value).detach()
    if t.is_complex():
        raise ValueError(f"{what} is complex ({t.dtype}); an INR's weights are real")
    return t.to(torch.float32)


@dataclass(frozen=True)
class Activation:
    """A pointwise activation, described by name and parameters (never by a pickled object).

    Parameters
    ----------
    name : str
        One of :data:`SUPPORTED_ACTIVATIONS` (case-insensitive; ``swish`` means ``silu``).
    params : dict, optional
        Parameters such as ``{"w0": 30.0}`` for ``sine`` or ``{"negative_slope": 0.2}``
        for ``leaky_relu``. Missing ones take their defaults.

    Examples
    --------
    >>> Activation("sine", {"w0": 30.0}).name
    'sine'
    """

    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        name = _ALIASES.get(self.name.lower(), self.name.lower())
        if name not in _ACTIVATION_FACTORIES:
            raise ValueError(f"unsupported activation {self.name!r}; supported: {', '.join(SUPPORTED_ACTIVATIONS)}")
        defaults = _ACTIVATION_FACTORIES[name][1]
        unknown = set(self.params) - set(defaults)
        if unknown:
            raise ValueError(
                f"activation {name!r} takes parameters {sorted(defaults) or 'none'}, got {sorted(unknown)}"
            )
        merged = {**defaults, **{k: _parameter(name, k, v) for k, v in self.params.items()}}
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", merged)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    @property
    def function(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The torch function applying this activation."""
        return _ACTIVATION_FACTORIES[self.name][0](self.params)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)

    def apply_(self, x: torch.Tensor) -> torch.Tensor:
        """Apply in place where torch allows it (saves an allocation per layer); returns ``x``."""
        name, p = self.name, self.params
        if name == "identity":
            return x
        if name == "relu":
            return x.relu_()
        if name == "tanh":
            return x.tanh_()
        if name == "sigmoid":
            return x.sigmoid_()
        if name == "silu":
            return torch.nn.functional.silu(x, inplace=True)
        if name == "leaky_relu":
            return torch.nn.functional.leaky_relu_(x, p["negative_slope"])
        if name == "elu":
            return torch.nn.functional.elu_(x, p["alpha"])
        if name == "sine":
            return x.mul_(p["w0"]).sin_()
        return x.copy_(self.function(x))

    def describe(self) -> str:
        """Short text such as ``sine(w0=30)``."""
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})"

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params)}


@dataclass
class FourierFeatures:
    """Gaussian random Fourier features: ``[cos(2 pi x B), sin(2 pi x B)]``.

    Parameters
    ----------
    matrix : torch.Tensor
        ``B`` of shape ``(n_inputs, n_frequencies)``; the encoding has ``2 * n_frequencies``
        outputs, cosines first (the layout of the 4D CT INRs).
    """

    matrix: torch.Tensor

    @property
    def n_inputs(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_outputs(self) -> int:
        return 2 * int(self.matrix.shape[1])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        proj = x @ self.matrix
        if proj.requires_grad:  # (autograd records no out= operations)
            proj = (2.0 * math.pi) * proj
            return torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)
        proj.mul_(2.0 * math.pi)
        # written into the two halves of one tensor: the same values as concatenating the two, without
        # the concatenation's copy (a third of the encoding's time on the CT INR's 512 features)
        f = proj.shape[-1]
        out = torch.empty((*proj.shape[:-1], 2 * f), dtype=proj.dtype, device=proj.device)
        torch.cos(proj, out=out[..., :f])
        torch.sin(proj, out=out[..., f:])
        return out


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Map ``'auto'`` / ``'cpu'`` / ``'cuda'`` (or ``None`` = auto) to a torch device.

    Raises
    ------
    ValueError
        If ``'cuda'`` is requested but no CUDA device is available.
    """
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device; use 'cpu' or 'auto'")
    return dev


#: rows a matrix product computes together: a BLAS computes the rows of a block's tail (a count that is not a
#: multiple of its kernel's row block) by another code path, whose float32 sums round differently (measured:
#: 4,099 CT points gave other bits in their last 3 rows in chunks of 4,096 than of 16,384), so
#: :meth:`INR.evaluate` pads every chunk to a multiple of this (a multiple of the kernels' 8 and 16 rows)
ROW_BLOCK = 64
#: chunk sizes tried by :func:`fastest_chunk`, smallest first (every one gives bitwise the same values, as
#: :meth:`INR.evaluate` pads each chunk to whole row blocks, tested; so the choice changes the speed, never
#: the mesh). A small network (hos: 2 -> 32 x 4) runs fastest in large chunks, where the per-call overhead is
#: paid less often (16,384 here; 65,536 is slower again); a wide one (the CT network) in small ones, whose
#: activations stay in cache.
_CHUNK_CANDIDATES = {"cpu": (256, 512, 1024, 2048, 4096, 16384, 65536), "cuda": (4096, 16384, 65536, 262144)}
#: each candidate is timed over at least this long (a pass of a small network over 4,096 points takes
#: under a millisecond, too short to time on a shared machine)
_CHUNK_TIMING_SECONDS = 0.02
#: candidates are tried in increasing size and the search stops at the first one this much slower than
#: the best so far (the rate rises while the per-call overhead shrinks, then falls once the activations
#: leave the cache; the larger ones would cost a wide network seconds to time)
_CHUNK_STOP_RATIO = 0.7
#: and it stops before a candidate whose timing would take longer than this at the best rate so far: a
#: wide network's largest chunks are never its fastest, and timing them would cost a first picture seconds
_CHUNK_TIMING_CAP = 0.25
_FASTEST_CHUNK: dict[tuple, int] = {}


def _architecture_key(inr: INR) -> tuple:
    """What an evaluation's speed depends on: the device and the layer shapes."""
    return (
        inr.device.type,
        inr.n_inputs,
        tuple(tuple(w.shape) for w in inr.weights),
        None if inr.encoding is None else tuple(inr.encoding.matrix.shape),
    )


def fastest_chunk(inr: INR) -> int:
    """The chunk size at which ``inr``'s architecture evaluates fastest on its device.

    Measured once per machine and architecture (each candidate, smallest first, forwards 4,096 random
    points or one chunk if larger, repeated for at least 20 ms, best of two; the search stops at the
    first candidate 0.7x as fast as the best so far, or before one that would take over 0.25 s to time:
    about 0.5 s for the CT network) and remembered in a process-wide table keyed by the
    device and the layer shapes, like a BLAS autotuner, and across processes in the cache folder
    (:mod:`inr_amr_core.tuning`); nothing is stored on the INR. Small batches of a wide network run
    faster than large ones on a CPU (the activations stay in cache): for the 5 x 256 CT
    network, 1,024 points run about three times faster than 65,536.
    """
    dev = inr.device
    key = _architecture_key(inr)
    if key in _FASTEST_CHUNK:
        return _FASTEST_CHUNK[key]
    known = remembered("chunk", key)
    if known is not None:
        _FASTEST_CHUNK[key] = known
        return known
    candidates = _CHUNK_CANDIDATES.get(dev.type, _CHUNK_CANDIDATES["cpu"])
    gen = torch.Generator().manual_seed(0)
    best, best_rate = candidates[0], 0.0
    repeats = 2

    def points_per_second(x: torch.Tensor, chunk: int) -> float:
        return x.shape[0] / max(_best_forward_seconds(inr, x, chunk, repeats, _CHUNK_TIMING_SECONDS), 1e-9)

    for c in candidates:
        n = max(c, 4096)
        if best_rate > 0 and repeats * n / best_rate > _CHUNK_TIMING_CAP:
            break
        x = torch.rand(n, inr.n_inputs, generator=gen).to(dev)
        rate = points_per_second(x, c)
        if rate < _CHUNK_STOP_RATIO * best_rate:
            # timed again before it ends the search: the choice is remembered, so one burst of the
            # machine's other work must not decide it
            rate = max(rate, points_per_second(x, c))
        if rate > best_rate:
            best, best_rate = c, rate
        elif rate < _CHUNK_STOP_RATIO * best_rate:
            break
    _FASTEST_CHUNK[key] = best
    remember("chunk", key, best)
    return best


def _best_forward_seconds(inr: INR, x: torch.Tensor, chunk: int, repeats: int, at_least: float = 0.0) -> float:
    """Seconds of a forward pass of ``x`` in chunks of ``chunk`` points: the best of ``repeats`` timings.

    Each timing repeats the pass until ``at_least`` seconds have gone by and gives the mean per pass.
    """
    dev = x.device
    best = math.inf
    with torch.no_grad():
        for _ in range(repeats):
            passes = 0
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            while True:
                for s in range(0, x.shape[0], chunk):
                    inr.forward(x[s : s + chunk])
                passes += 1
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                elapsed = time.perf_counter() - t0
                if elapsed >= at_least:
                    break
            best = min(best, elapsed / passes)
    return best


_CPU_THREADS_CHOSEN: dict[tuple, int] = {}
#: torch's thread count before the first choice (the count the choices are measured against)
_DEFAULT_CPU_THREADS: list[int] = []


def fastest_cpu_threads(inr: INR, repeats: int = 3) -> int:
    """Set torch's CPU thread count to the faster for ``inr`` of torch's default and one thread; return it.

    Where torch's matrix products run on the system BLAS that ParaView links (torch imported before
    the reader in a ParaView started without the launcher: :mod:`inr_amr_core.torch_blas`), that BLAS's
    own spinning threads compete with torch's: measured on a 2-core machine, a forward pass of the CT
    network with 2 threads took 3x as long as with 1. So a ParaView front end measures once per machine and
    architecture (like :func:`fastest_chunk`, remembered across processes the same way): ``repeats``
    timed passes of 8,192 random points at each count, the best of each kept; a later call for the
    same architecture only sets the count.
    The thread count changes the speed only: every count gives the same values on this project's
    CPUs (the chunk candidates' note), so never the mesh. The ParaView reader calls it; plain Python
    and the CLI leave torch's threads as the user set them.
    """
    if inr.device.type != "cpu":
        return torch.get_num_threads()
    if not _DEFAULT_CPU_THREADS:
        _DEFAULT_CPU_THREADS.append(torch.get_num_threads())
    default = _DEFAULT_CPU_THREADS[0]
    key = _architecture_key(inr)
    if key not in _CPU_THREADS_CHOSEN:
        known = remembered("threads", (key, default))
        if known is None:
            known = default if default <= 1 else _measure_threads(inr, (default, 1), repeats)
            remember("threads", (key, default), known)
        _CPU_THREADS_CHOSEN[key] = known
    chosen = _CPU_THREADS_CHOSEN[key]
    if torch.get_num_threads() != chosen:  # (called on every pipeline update: usually nothing to do)
        torch.set_num_threads(chosen)
    return chosen


def _measure_threads(inr: INR, counts: tuple[int, ...], repeats: int) -> int:
    """The count among ``counts`` at which ``inr`` forwards 8,192 points fastest (best of ``repeats``)."""
    chunk = fastest_chunk(inr)
    x = torch.rand(8192, inr.n_inputs, generator=torch.Generator().manual_seed(0))
    best, best_seconds = counts[0], math.inf
    for threads in counts:
        torch.set_num_threads(threads)
        with torch.no_grad():
            inr.forward(x[:chunk])  # the pool starts at the new size before it is timed
        seconds = _best_forward_seconds(inr, x, chunk, repeats)
        if seconds < best_seconds:
            best, best_seconds = threads, seconds
    return best


@dataclass
class INR:
    """A multilayer perceptron mapping coordinates to field values.

    ``y = output_scale * L_n(...L_1(encode(x)))`` with ``L_i(h) = act_i(h W_i^T + b_i)``.
    The layers before the last are the *hidden* layers: those are what pruning acts on.

    Parameters
    ----------
    weights, biases : sequence of torch.Tensor
        ``W_i`` of shape ``(out, in)`` and ``b_i`` of shape ``(out,)``.
    activations : sequence of Activation
        One per layer, the last one for the output layer (usually identity).
    encoding : FourierFeatures or None, default None
        Applied to the inputs before the first layer.
    input_names : sequence of str, optional
        Names of the inputs in the order the network takes them (default ``x, y, z, t`` prefix).
    domain : sequence of (float, float), optional
        Per-input bounds (default ``[0, 1]`` each).
    output_scale : float, default 1.0
        Multiplies the network's output.
    output_names : sequence of str, optional
        Names of the output components (default ``value`` or ``value_0, value_1, ...``).
    metadata : dict, optional
        Free-form provenance (layout detected, source file, training notes).

    Examples
    --------
    >>> import torch
    >>> inr = INR([torch.ones(4, 2), torch.ones(1, 4)], [torch.zeros(4), torch.zeros(1)],
    ...           [Activation("relu"), Activation("identity")])
    >>> inr.evaluate([[1.0, 2.0]]).tolist()
    [[12.0]]
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    activations: list[Activation]
    encoding: FourierFeatures | None = None
    input_names: tuple[str, ...] = ()
    domain: tuple[tuple[float, float], ...] = ()
    output_scale: float = 1.0
    output_names: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = [_real_float32(w, f"layer {i}: weight").contiguous() for i, w in enumerate(self.weights)]
        biases = [_real_float32(b, f"layer {i}: bias") for i, b in enumerate(self.biases)]
        for i, b in enumerate(biases):
            if sum(int(n) != 1 for n in b.shape) > 1:
                raise ValueError(f"layer {i}: bias must be a vector, got shape {tuple(b.shape)}")
        self.biases = [b.reshape(-1).contiguous() for b in biases]
        self.activations = [a if isinstance(a, Activation) else Activation(str(a)) for a in self.activations]
        if self.encoding is not None:
            self.encoding = FourierFeatures(_real_float32(self.encoding.matrix, "input encoding matrix"))
        self.validate()
        n_in = self.n_inputs
        if not self.input_names:
            self.input_names = tuple(("x", "y", "z", "t")[:n_in]) if n_in <= 4 else tuple(f"x{i}" for i in range(n_in))
        self.input_names = tuple(str(n) for n in self.input_names)
        if not self.domain:
            self.domain = tuple((0.0, 1.0) for _ in range(n_in))
        self.domain = tuple((float(lo), float(hi)) for lo, hi in self.domain)
        if not self.output_names:
            n_out = self.n_outputs
            self.output_names = ("value",) if n_out == 1 else tuple(f"value_{i}" for i in range(n_out))
        self.output_names = tuple(str(n) for n in self.output_names)
        self.output_scale = float(self.output_scale)
        self._check_descriptors()

    # ------------------------------------------------------------------ structure
    def validate(self) -> None:
        """Check shapes and finiteness; raise ``ValueError`` naming the offending layer."""
        if not self.weights:
            raise ValueError("an INR needs at least one layer")
        if not (len(self.weights) == len(self.biases) == len(self.activations)):
            raise ValueError(
                f"got {len(self.weights)} weight matrices, {len(self.biases)} bias vectors and "
                f"{len(self.activations)} activations; expected the same number of each"
            )
        if self.encoding is not None and (self.encoding.matrix.ndim != 2 or self.encoding.matrix.numel() == 0):
            raise ValueError(
                "input encoding matrix must be a non-empty (n_inputs, n_frequencies) matrix, got shape "
                f"{tuple(self.encoding.matrix.shape)}"
            )
        expected_in = self.encoding.n_outputs if self.encoding is not None else None
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2:
                raise ValueError(f"layer {i}: weight must be a matrix (out, in), got shape {tuple(w.shape)}")
            if w.shape[0] == 0 or w.shape[1] == 0:
                raise ValueError(
                    f"layer {i} has zero width (weight shape {tuple(w.shape)}); every layer needs at least "
                    "one input and one output"
                )
            if b.ndim != 1:
                raise ValueError(f"layer {i}: bias must be a vector, got shape {tuple(b.shape)}")
            if b.shape[0] != w.shape[0]:
                raise ValueError(f"layer {i}: bias has {b.shape[0]} entries but the weight has {w.shape[0]} outputs")
            if expected_in is not None and w.shape[1] != expected_in:
                source = "the input encoding" if i == 0 else f"layer {i - 1}"
                raise ValueError(f"layer {i}: weight expects {w.shape[1]} inputs but {source} gives {expected_in}")
            if not (torch.isfinite(w).all() and torch.isfinite(b).all()):
                raise ValueError(f"layer {i}: weights or bias contain NaN or Inf")
            expected_in = w.shape[0]
        if self.encoding is not None and not torch.isfinite(self.encoding.matrix).all():
            raise ValueError("input encoding matrix contains NaN or Inf")
        if not math.isfinite(float(self.output_scale)):
            raise ValueError("output_scale must be finite")
        if abs(float(self.output_scale)) > _F32_MAX:
            raise ValueError(f"output_scale {float(self.output_scale):g} is beyond float32's range ({_F32_MAX:.3g})")

    def _check_descriptors(self) -> None:
        if len(self.input_names) != self.n_inputs:
            raise ValueError(f"{len(self.input_names)} input names given for {self.n_inputs} inputs")
        if len(set(self.input_names)) != len(self.input_names):
            raise ValueError(f"input names must be distinct, got {self.input_names}")
        if len(self.domain) != self.n_inputs:
            raise ValueError(f"domain has {len(self.domain)} intervals for {self.n_inputs} inputs")
        for name, (lo, hi) in zip(self.input_names, self.domain):
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise ValueError(f"domain of input {name!r} must be a finite interval lo < hi, got [{lo}, {hi}]")
            if max(abs(lo), abs(hi)) > _F32_MAX:
                raise ValueError(f"domain of input {name!r} reaches beyond float32's range: [{lo:g}, {hi:g}]")
        if len(self.output_names) != self.n_outputs:
            raise ValueError(f"{len(self.output_names)} output names given for {self.n_outputs} outputs")

    @property
    def n_inputs(self) -> int:
        if self.encoding is not None:
            return self.encoding.n_inputs
        return int(self.weights[0].shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.weights[-1].shape[0])

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """Widths of the hidden layers (every layer but the last): the neurons pruning counts."""
        return tuple(int(w.shape[0]) for w in self.weights[:-1])

    @property
    def macs_per_point(self) -> int:
        """Multiply-adds of one evaluation (the encoding and every layer): the cost unit of a test."""
        macs = sum(int(w.shape[0]) * int(w.shape[1]) for w in self.weights)
        if self.encoding is not None:
            macs += int(self.encoding.matrix.numel())
        return macs

    @property
    def n_parameters(self) -> int:
        n = sum(w.numel() + b.numel() for w, b in zip(self.weights, self.biases))
        if self.encoding is not None:
            n += self.encoding.matrix.numel()
        return int(n)

    def describe(self) -> str:
        """One line such as ``2 -> 32x4 relu -> 1``."""
        widths = self.hidden_widths
        acts = {a.describe() for a in self.activations[:-1]}
        enc = f"fourier({self.encoding.n_outputs}) -> " if self.encoding is not None else ""
        if widths and len(set(widths)) == 1:
            body = f"{widths[0]}x{len(widths)}"
        else:
            body = "-".join(str(w) for w in widths) or "(no hidden layer)"
        act = "/".join(sorted(acts)) if acts else ""
        out_act = self.activations[-1].describe()
        tail = f" -> {self.n_outputs}" + (f" {out_act}" if out_act != "identity" else "")
        return f"{self.n_inputs} -> {enc}{body} {act}{tail}".replace("  ", " ")

    def __repr__(self) -> str:
        # the dataclass default prints every weight tensor
        inputs = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in zip(self.input_names, self.domain))
        return f"INR({self.describe()}; {inputs}; {self.n_parameters:,} parameters)"

    def to(self, device: str | torch.device) -> INR:
        """A copy with all tensors on ``device``."""
        dev = resolve_device(device)
        return INR(
            [w.to(dev) for w in self.weights],
            [b.to(dev) for b in self.biases],
            list(self.activations),
            FourierFeatures(self.encoding.matrix.to(dev)) if self.encoding is not None else None,
            self.input_names,
            self.domain,
            self.output_scale,
            self.output_names,
            dict(self.metadata),
        )

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    # ------------------------------------------------------------------ evaluation
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the input encoding (identity when there is none)."""
        return self.encoding(x) if self.encoding is not None else x

    @overload
    def forward(self, x: torch.Tensor, hidden: Literal[False] = False) -> torch.Tensor: ...

    @overload
    def forward(self, x: torch.Tensor, hidden: Literal[True]) -> tuple[torch.Tensor, list[torch.Tensor]]: ...

    def forward(self, x: torch.Tensor, hidden: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Evaluate on a tensor already on the right device (no chunking).

        Parameters
        ----------
        x : torch.Tensor
            ``(..., n_inputs)`` float32.
        hidden : bool, default False
            Also return every hidden layer's activations (what pruning decomposes).
        """
        h = self.encode(x)
        acts: list[torch.Tensor] = []
        last = len(self.weights) - 1
        in_place = not torch.is_grad_enabled()
        for i, (w, b, act) in enumerate(zip(self.weights, self.biases, self.activations)):
            pre = torch.addmm(b, h.reshape(-1, h.shape[-1]), w.T).reshape(*h.shape[:-1], w.shape[0])
            h = act.apply_(pre) if in_place else act(pre)
            if hidden and i < last:
                acts.append(h)
        y = h * self.output_scale if self.output_scale != 1.0 else h
        return (y, acts) if hidden else y

    def evaluate(
        self,
        points: np.ndarray | Sequence[Sequence[float]] | torch.Tensor,
        *,
        device: str | torch.device | None = None,
        chunk_size: int | None = None,
        component: int | None = None,
    ) -> np.ndarray:
        """Evaluate the INR at many points, in chunks, returning float64 numpy values.

        Parameters
        ----------
        points : array_like
            ``(N, n_inputs)`` in the INR's input order.
        device : {'auto', 'cpu', 'cuda'} or None
            Where to compute; ``None`` uses the device the weights are on.
        chunk_size : int, optional
            Points per forward pass. Default: the fastest for this device and architecture, measured
            once per machine (:func:`fastest_chunk`; at most 65,536 points on a CPU, 262,144 on a GPU).
            Each chunk is padded to a multiple of :data:`ROW_BLOCK` rows, so that every point gets
            bitwise the same value whatever the chunk and its place in it.
        component : int, optional
            Return only this output component as a 1D array.

        Returns
        -------
        numpy.ndarray
            ``(N, n_outputs)``, or ``(N,)`` when ``component`` is given.
        """
        model = self if device is None else self.on(device)
        pts = torch.as_tensor(np.asarray(points, dtype=np.float32) if not isinstance(points, torch.Tensor) else points)
        if pts.ndim != 2 or pts.shape[1] != self.n_inputs:
            raise ValueError(f"points must have shape (N, {self.n_inputs}), got {tuple(pts.shape)}")
        n = pts.shape[0]
        out = np.empty((n, self.n_outputs), dtype=np.float64)
        dev = model.device
        chunk = int(chunk_size) if chunk_size is not None else fastest_chunk(model)
        chunk = max(1, chunk)
        with torch.no_grad():
            for start in range(0, n, chunk):
                part = pts[start : start + chunk].to(dev, torch.float32)
                m = part.shape[0]
                if m % ROW_BLOCK:
                    part = torch.cat([part, part.new_zeros(ROW_BLOCK - m % ROW_BLOCK, part.shape[1])])
                out[start : start + m] = model.forward(part)[:m].double().cpu().numpy()
        return out[:, component] if component is not None else out

    def on(self, device: str | torch.device) -> INR:
        """This INR if it already lives on ``device``, else a copy there (nothing is cached on ``self``)."""
        dev = resolve_device(device)
        if dev == self.device or (dev.type == self.device.type and dev.index is None):
            return self
        return self.to(dev)

    def as_torch_module(self) -> torch.nn.Module:
        """A ``torch.nn.Module`` computing the same function (for training or export)."""
        return _INRModule(self)


class _INRModule(torch.nn.Module):
    def __init__(self, inr: INR) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(w.clone()) for w in inr.weights])
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(b.clone()) for b in inr.biases])
        self.activations = list(inr.activations)
        self.register_buffer("fourier", inr.encoding.matrix.clone() if inr.encoding is not None else None)
        self.output_scale = inr.output_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        fourier = self.fourier
        if isinstance(fourier, torch.Tensor):
            proj = (2.0 * math.pi) * (x @ fourier)
            h = torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)
        for w, b, act in zip(self.weights, self.biases, self.activations):
            h = act(h @ w.T + b)
        return h * self.output_scale
