"""Safe checkpoint loading: layout detection, conversion to :class:`~inr_amr_core.inr.INR`, clear errors.

No code from a checkpoint is ever executed: files are read with ``torch.load(weights_only=True)``
and only the torch activation and container classes in :data:`ALLOWED_TORCH_CLASSES` are allowed.
Before unpickling, the file's globals are listed (without running anything) so that a file needing
any other class is refused with its name.

Layouts (detected automatically; ``layout=`` forces one):

``native``
    The project's own self-describing format (:func:`save_inr`).
``lists``
    The reference code's ``weights_list`` / ``bias_list`` / ``act_list`` dictionary.
``dict``
    The reference code's ``Layers.{i}.weight/bias`` state dict (activations from the caller).
``ct4d``
    The 4D CT layout: ``nn_model`` with ``module.gauss`` Fourier features and
    ``module.fcnn.nn.{2i}.*``; SiLU hidden layers, output times ``scale_lac``; inputs t, z, y, x.
``sequential``
    A ``torch.nn.Sequential`` state dict of Linear layers (``0.weight``, ``2.weight``, ...)
    plus a JSON sidecar declaring activations, encoding, input names, domain and output scale.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .fileio import atomic_write
from .inr import INR, SUPPORTED_ACTIVATIONS, Activation, FourierFeatures

__all__ = [
    "ALLOWED_TORCH_CLASSES",
    "LAYOUTS",
    "CheckpointError",
    "inspect_checkpoint",
    "load_inr",
    "read_sidecar",
    "save_ct_checkpoint",
    "save_inr",
]

log = logging.getLogger(__name__)

LAYOUTS: tuple[str, ...] = ("native", "lists", "dict", "ct4d", "sequential")
NATIVE_FORMAT = "inr-amr"
NATIVE_VERSION = 1

# torch.nn activation class -> (our activation name, attributes carried over as parameters)
_TORCH_ACTIVATIONS: dict[type, tuple[str, tuple[str, ...]]] = {
    torch.nn.ReLU: ("relu", ()),
    torch.nn.LeakyReLU: ("leaky_relu", ("negative_slope",)),
    torch.nn.Tanh: ("tanh", ()),
    torch.nn.SiLU: ("silu", ()),
    torch.nn.Sigmoid: ("sigmoid", ()),
    torch.nn.Identity: ("identity", ()),
    torch.nn.GELU: ("gelu", ()),
    torch.nn.ELU: ("elu", ("alpha",)),
    torch.nn.Softplus: ("softplus", ("beta", "threshold")),
}
_TORCH_CONTAINERS = (torch.nn.ModuleList, torch.nn.ParameterList)

#: The only torch classes a checkpoint may reference beyond plain tensors and Python containers.
ALLOWED_TORCH_CLASSES: tuple[type, ...] = tuple(_TORCH_ACTIVATIONS) + _TORCH_CONTAINERS


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_ALLOWED_NAMES = {_qualname(c) for c in ALLOWED_TORCH_CLASSES}


class CheckpointError(ValueError):
    """A checkpoint could not be turned into an INR. The message names the file, the problem and a fix."""

    def __init__(self, path: str | os.PathLike | None, problem: str, fix: str = "") -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}" + (f". {fix}" if fix else ""))


# ---------------------------------------------------------------------------------------- reading
def _check_file(path: Path) -> str:
    """Return 'zip' or 'legacy' for torch files; raise CheckpointError otherwise."""
    if not path.exists():
        raise CheckpointError(path, "no such file", "Check the path")
    if not path.is_file():
        raise CheckpointError(path, "is not a regular file", "Give the checkpoint file itself, not a folder")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read ({exc.strerror})", "Check the file's permissions") from exc
    if len(head) == 0:
        raise CheckpointError(path, "is empty", "The file was probably truncated while being written")
    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(path, "is a damaged zip archive", "The file is probably truncated; copy it again")
        return "zip"
    if head[:1] == b"\x80":  # a pickle protocol marker: torch's legacy (pre-1.6) format
        return "legacy"
    raise CheckpointError(
        path,
        "is not a PyTorch checkpoint (expected a zip archive written by torch.save)",
        "Give a .pt/.pth/.ckpt file saved with torch.save",
    )


def _refuse_unsafe_globals(path: Path) -> None:
    """List the classes the pickle needs, without running it, and refuse any outside the allow list."""
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as exc:  # a malformed archive: report, never guess
        raise CheckpointError(
            path,
            f"is a malformed torch archive ({type(exc).__name__}: {exc})",
            "The file is probably damaged; save it again",
        ) from exc
    refused = [g for g in needed if g not in _ALLOWED_NAMES]
    if not refused:
        return
    activations = [g for g in refused if g.startswith("torch.nn.modules.activation.")]
    if activations:
        names = ", ".join(sorted({g.rsplit(".", 1)[1] for g in activations}))
        raise CheckpointError(
            path,
            f"uses an unsupported activation ({names})",
            f"Supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}",
        )
    modules = [g for g in refused if g.startswith("torch.nn.modules.")]
    if modules and len(modules) == len(refused):
        raise CheckpointError(
            path,
            "pickles whole torch modules (" + ", ".join(sorted(modules)) + "), which would need code to be run",
            "Save model.state_dict() instead and describe the activations in a JSON sidecar (see README)",
        )
    raise CheckpointError(
        path,
        "refused: unpickling it would need arbitrary code (" + ", ".join(sorted(refused)) + "); it was not run",
        "Only weights, plain containers and torch.nn activations are read. Re-save the tensors in a dict",
    )


def _torch_load(path: Path) -> Any:
    kind = _check_file(path)
    if kind == "zip":
        _refuse_unsafe_globals(path)
    try:
        with torch.serialization.safe_globals(list(ALLOWED_TORCH_CLASSES)):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", msg)
        if match:
            raise CheckpointError(
                path,
                f"refused: unpickling it would need arbitrary code ({match.group(1)}); it was not run",
                "Only weights, plain containers and torch.nn activations are read",
            ) from None
        raise CheckpointError(
            path, f"cannot be unpickled safely ({msg.splitlines()[0][:200]})", "The file is damaged or not a checkpoint"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise CheckpointError(
            path,
            f"is a damaged or unsupported torch file ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''})",
            "The file is probably truncated; save it again",
        ) from None


# ---------------------------------------------------------------------------------------- sidecar
_SIDECAR_KEYS = {
    "activation",
    "activations",
    "activation_params",
    "output_activation",
    "encoding",
    "input_names",
    "domain",
    "output_scale",
    "output_names",
    "description",
}


def read_sidecar(path: str | os.PathLike) -> dict:
    """Read and check a JSON sidecar describing what a state dict does not store.

    Parameters
    ----------
    path : path-like
        A JSON object with any of: ``activation`` (one name for every hidden layer) or
        ``activations`` (one per layer, hidden and output), ``activation_params`` (dict, or list of
        dicts per layer, e.g. ``{"w0": 30}`` for SIREN), ``output_activation`` (default identity),
        ``encoding`` (``{"type": "fourier", "key": "B"}`` naming the state-dict tensor), ``input_names``,
        ``domain`` (list of ``[lo, hi]``), ``output_scale``, ``output_names``, ``description``.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise CheckpointError(p, "sidecar JSON file not found", "Write one next to the checkpoint") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(p, f"sidecar is not valid JSON ({exc})", "Fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise CheckpointError(p, "sidecar must be a JSON object", 'For example {"activation": "relu"}')
    unknown = sorted(set(data) - _SIDECAR_KEYS)
    if unknown:
        raise CheckpointError(p, f"unknown sidecar key(s) {unknown}", f"Allowed keys: {sorted(_SIDECAR_KEYS)}")
    return data


def _default_sidecar(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".json"), Path(str(path) + ".json")):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------------------- helpers
def _as_tensor(value: Any, path: Path, key: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float32)
    raise CheckpointError(path, f"key {key!r} should hold a tensor but holds {type(value).__name__}")


def _activation_from_module(module: Any, path: Path, where: str) -> Activation:
    for cls, (name, attrs) in _TORCH_ACTIVATIONS.items():
        if type(module) is cls:
            if cls is torch.nn.GELU and getattr(module, "approximate", "none") != "none":
                return _unsupported(path, where, "GELU(approximate='tanh')")
            return Activation(name, {a: float(getattr(module, a)) for a in attrs})
    if isinstance(module, str):
        try:
            return Activation(module)
        except ValueError as exc:
            raise CheckpointError(path, f"{where}: {exc}") from None
    return _unsupported(path, where, type(module).__name__)


def _unsupported(path: Path, where: str, what: str) -> Activation:
    raise CheckpointError(
        path, f"{where}: unsupported activation {what}", f"Supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}"
    )


def _activations_from_spec(spec: Mapping, n_layers: int, path: Path) -> list[Activation] | None:
    """Activations from a sidecar / caller spec; None if it declares none."""
    params = spec.get("activation_params") or {}
    try:
        if spec.get("activations") is not None:
            names = list(spec["activations"])
            if isinstance(spec["activations"], str):
                names = [s.strip() for s in spec["activations"].split(",")]
            if len(names) == n_layers - 1:
                names.append(spec.get("output_activation", "identity"))
            if len(names) != n_layers:
                raise CheckpointError(
                    path,
                    f"{len(names)} activations given for {n_layers} layers",
                    f"Give {n_layers - 1} hidden activations (the output defaults to identity) or {n_layers} in all",
                )
        elif spec.get("activation") is not None:
            names = [spec["activation"]] * (n_layers - 1) + [spec.get("output_activation", "identity")]
        else:
            return None
        if isinstance(params, Mapping):
            # one parameter dict applies to the layers whose activation accepts it (w0 to sine layers only)
            per_layer = [dict(params) if _accepts(n_, params) else {} for n_ in names]
        else:
            per_layer = list(params)
            if len(per_layer) != n_layers:
                raise CheckpointError(path, f"activation_params has {len(per_layer)} entries for {n_layers} layers")
        return [Activation(str(n_), dict(p)) for n_, p in zip(names, per_layer)]
    except ValueError as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(path, str(exc)) from None


def _accepts(name: str, params: Mapping) -> bool:
    try:
        Activation(name, dict(params))
        return True
    except ValueError:
        return False


def _numbered(state: Mapping[str, Any], pattern: str) -> list[tuple[int, str]]:
    rx = re.compile(pattern)
    found = []
    for key in state:
        m = rx.fullmatch(str(key))
        if m:
            found.append((int(m.group(1)), str(key)))
    return sorted(found)


def _keys_preview(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = [str(k) for k in obj]
        more = f" ... ({len(keys)} keys)" if len(keys) > 12 else ""
        return "[" + ", ".join(keys[:12]) + more + "]"
    return f"a {type(obj).__name__}"


# ---------------------------------------------------------------------------------------- layouts
def _detect_layout(obj: Any) -> str | None:
    if not isinstance(obj, Mapping):
        return None
    if obj.get("format") == NATIVE_FORMAT:
        return "native"
    if "weights_list" in obj and "bias_list" in obj:
        return "lists"
    if "nn_model" in obj:
        return "ct4d"
    if any(re.fullmatch(r"Layers\.\d+\.weight", str(k)) for k in obj):
        return "dict"
    if _sequential_prefix(obj) is not None:
        return "sequential"
    return None


def _sequential_prefix(obj: Mapping) -> str | None:
    prefixes = set()
    for k in obj:
        m = re.fullmatch(r"(.*?)(\d+)\.weight", str(k))
        if m and isinstance(obj[k], torch.Tensor):
            prefixes.add(m.group(1))
    return prefixes.pop() if len(prefixes) == 1 else None


def _unwrap(obj: Any) -> Any:
    """Accept common wrappers such as {'state_dict': {...}} or {'model_state_dict': {...}}."""
    if isinstance(obj, Mapping) and _detect_layout(obj) is None:
        for key in ("state_dict", "model_state_dict", "model", "net"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and _detect_layout(inner) is not None:
                return inner
    return obj


def _from_native(obj: Mapping, path: Path, spec: Mapping) -> dict:
    version = obj.get("version")
    if version != NATIVE_VERSION:
        raise CheckpointError(
            path,
            f"native format version {version!r} is not supported (this build reads version {NATIVE_VERSION})",
            "Upgrade inr-amr or re-convert the file",
        )
    layers = obj.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CheckpointError(path, "native file has no 'layers' list")
    weights, biases, acts = [], [], []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not {"weight", "bias", "activation"} <= set(layer):
            raise CheckpointError(path, f"native layer {i} must hold 'weight', 'bias' and 'activation'")
        weights.append(_as_tensor(layer["weight"], path, f"layers[{i}].weight"))
        biases.append(_as_tensor(layer["bias"], path, f"layers[{i}].bias"))
        try:
            acts.append(Activation(str(layer["activation"]), dict(layer.get("activation_params") or {})))
        except ValueError as exc:
            raise CheckpointError(path, f"layer {i}: {exc}") from None
    enc = obj.get("encoding") or {"type": "none"}
    encoding = None
    if enc.get("type") == "fourier":
        encoding = FourierFeatures(_as_tensor(enc.get("matrix"), path, "encoding.matrix"))
    elif enc.get("type") not in (None, "none"):
        raise CheckpointError(path, f"unknown input encoding {enc.get('type')!r}", "Supported: none, fourier")
    return dict(
        weights=weights,
        biases=biases,
        activations=acts,
        encoding=encoding,
        input_names=tuple(obj.get("input_names") or ()),
        domain=tuple(tuple(d) for d in (obj.get("domain") or ())),
        output_scale=float(obj.get("output_scale", 1.0)),
        output_names=tuple(obj.get("output_names") or ()),
        metadata=dict(obj.get("metadata") or {}),
    )


def _from_lists(obj: Mapping, path: Path, spec: Mapping) -> dict:
    w_list, b_list = obj["weights_list"], obj["bias_list"]
    weights = [_as_tensor(w, path, f"weights_list[{i}]") for i, w in enumerate(w_list)]
    biases = [_as_tensor(b, path, f"bias_list[{i}]") for i, b in enumerate(b_list)]
    if len(weights) != len(biases):
        raise CheckpointError(path, f"weights_list has {len(weights)} entries but bias_list has {len(biases)}")
    acts = _activations_from_spec(spec, len(weights), path)
    if acts is None:
        if "act_list" not in obj:
            raise CheckpointError(
                path,
                "'lists' layout without act_list stores no activations",
                "Pass activations (e.g. --activations relu) or write a JSON sidecar",
            )
        acts = [_activation_from_module(a, path, f"act_list[{i}]") for i, a in enumerate(obj["act_list"])]
        if len(acts) == len(weights) - 1:
            acts.append(Activation("identity"))
        if len(acts) != len(weights):
            raise CheckpointError(path, f"act_list has {len(acts)} activations for {len(weights)} layers")
    return dict(weights=weights, biases=biases, activations=acts, encoding=_gauss(obj.get("gauss"), path))


def _gauss(value: Any, path: Path) -> FourierFeatures | None:
    if value is None:
        return None
    b = _as_tensor(value, path, "gauss")
    if b.numel() == 0:
        return None
    if b.ndim != 2:
        raise CheckpointError(path, f"'gauss' must be a (n_inputs, n_frequencies) matrix, got shape {tuple(b.shape)}")
    return FourierFeatures(b)


def _from_dict(obj: Mapping, path: Path, spec: Mapping) -> dict:
    idx_w = _numbered(obj, r"Layers\.(\d+)\.weight")
    idx_b = dict(_numbered(obj, r"Layers\.(\d+)\.bias"))
    if [i for i, _ in idx_w] != list(range(len(idx_w))):
        raise CheckpointError(path, f"'dict' layout layers are not numbered 0..n-1: {[i for i, _ in idx_w]}")
    weights, biases = [], []
    for i, key in idx_w:
        if i not in idx_b:
            raise CheckpointError(path, f"layer {i}: key 'Layers.{i}.bias' is missing")
        weights.append(_as_tensor(obj[key], path, key))
        biases.append(_as_tensor(obj[idx_b[i]], path, idx_b[i]))
    acts = _activations_from_spec(spec, len(weights), path)
    if acts is None:
        raise CheckpointError(
            path,
            "'dict' layout stores no activations",
            "Pass them (e.g. --activations relu, or activations='relu') or write a JSON sidecar "
            f'{path.with_suffix(".json").name} with {{"activation": "relu"}}',
        )
    return dict(weights=weights, biases=biases, activations=acts, encoding=_gauss(obj.get("gauss"), path))


_CT_INPUTS = ("t", "z", "y", "x")
_CT_DEFAULT_SCALE = 0.1


def _from_ct4d(obj: Mapping, path: Path, spec: Mapping) -> dict:
    state = obj["nn_model"]
    if not isinstance(state, Mapping):
        raise CheckpointError(path, f"'nn_model' should be a state dict but is {type(state).__name__}")
    prefix = "module." if any(str(k).startswith("module.") for k in state) else ""
    gauss_key = f"{prefix}gauss"
    if gauss_key not in state:
        raise CheckpointError(
            path, f"4D CT layout: key {gauss_key!r} missing from nn_model", f"Keys found: {_keys_preview(state)}"
        )
    found = _numbered(state, re.escape(prefix) + r"fcnn\.nn\.(\d+)\.weight")
    if not found:
        raise CheckpointError(
            path, "4D CT layout: no 'fcnn.nn.{i}.weight' keys in nn_model", f"Keys found: {_keys_preview(state)}"
        )
    weights, biases = [], []
    for _i, key in found:
        bkey = key[: -len("weight")] + "bias"
        if bkey not in state:
            raise CheckpointError(path, f"4D CT layout: key {bkey!r} is missing")
        weights.append(_as_tensor(state[key], path, key))
        biases.append(_as_tensor(state[bkey], path, bkey))
    acts = _activations_from_spec(spec, len(weights), path) or (
        [Activation("silu")] * (len(weights) - 1) + [Activation("identity")]
    )
    scale_key = next((k for k in ("scale_lac", "output_scale") if k in obj), None)
    meta = {"output_scale_source": scale_key or f"default {_CT_DEFAULT_SCALE} (scale_lac of the reference code)"}
    scale = float(obj[scale_key]) if scale_key else _CT_DEFAULT_SCALE
    gauss = _gauss(state[gauss_key], path)
    n_in = gauss.n_inputs if gauss is not None else int(weights[0].shape[1])
    return dict(
        weights=weights,
        biases=biases,
        activations=acts,
        encoding=gauss,
        input_names=_CT_INPUTS if n_in == 4 else (),
        domain=tuple((-1.0, 1.0) for _ in range(n_in)),
        output_scale=scale,
        metadata=meta,
    )


def _from_sequential(obj: Mapping, path: Path, spec: Mapping) -> dict:
    prefix = _sequential_prefix(obj) or ""
    found = _numbered(obj, re.escape(prefix) + r"(\d+)\.weight")
    weights, biases = [], []
    for _i, key in found:
        bkey = key[: -len("weight")] + "bias"
        w = _as_tensor(obj[key], path, key)
        b = _as_tensor(obj[bkey], path, bkey) if bkey in obj else torch.zeros(w.shape[0])
        weights.append(w)
        biases.append(b)
    acts = _activations_from_spec(spec, len(weights), path)
    if acts is None:
        raise CheckpointError(
            path,
            "a plain Sequential state dict stores no activations",
            f"Write a JSON sidecar {path.with_suffix('.json').name} such as "
            '{"activation": "sine", "activation_params": {"w0": 30}}',
        )
    enc = spec.get("encoding") or {"type": "none"}
    encoding = None
    if isinstance(enc, Mapping) and enc.get("type") == "fourier":
        key = enc.get("key", "B")
        if key not in obj:
            raise CheckpointError(
                path,
                f"sidecar declares a Fourier encoding in key {key!r}, which the state dict lacks",
                f"Keys found: {_keys_preview(obj)}",
            )
        encoding = FourierFeatures(_as_tensor(obj[key], path, key))
    elif not (isinstance(enc, Mapping) and enc.get("type") in ("none", None)):
        raise CheckpointError(path, f"unknown input encoding {enc!r}", 'Use {"type": "fourier", "key": "B"} or none')
    return dict(weights=weights, biases=biases, activations=acts, encoding=encoding)


_READERS = {
    "native": _from_native,
    "lists": _from_lists,
    "dict": _from_dict,
    "ct4d": _from_ct4d,
    "sequential": _from_sequential,
}


# ---------------------------------------------------------------------------------------- public API
def load_inr(
    path: str | os.PathLike,
    *,
    layout: str = "auto",
    activations: str | Sequence[str] | None = None,
    sidecar: str | os.PathLike | None = None,
    input_names: Sequence[str] | None = None,
    domain: Sequence[Sequence[float]] | None = None,
    output_scale: float | None = None,
) -> INR:
    """Load an INR checkpoint without executing any code from it.

    Parameters
    ----------
    path : path-like
        A ``.pt`` / ``.pth`` / ``.ckpt`` file in one of :data:`LAYOUTS`.
    layout : str, default 'auto'
        Force a layout instead of detecting it.
    activations : str or sequence of str, optional
        Activations for layouts that store none (``dict``, ``sequential``): one name for every hidden
        layer (``'relu'``), a comma-separated list, or one per layer. Overrides stored ones.
    sidecar : path-like, optional
        JSON sidecar (see :func:`read_sidecar`); by default ``FILE.json`` next to the checkpoint is used
        if present.
    input_names, domain, output_scale : optional
        Override what the file says (or the defaults: ``x, y, z, t`` and ``[0, 1]`` per input).

    Returns
    -------
    INR

    Raises
    ------
    CheckpointError
        With the file, the problem and the fix: missing or non-torch file, unknown layout (listing the
        keys found), layer shape mismatch, NaN/Inf weights, unsupported activation, or a pickle that
        would need arbitrary code (refused, never run).

    Examples
    --------
    >>> inr = load_inr("../shared/inrs/hos_lists.ckpt")   # doctest: +SKIP
    >>> inr.describe()                                      # doctest: +SKIP
    '2 -> 32x4 relu -> 1'
    """
    p = Path(path)
    obj = _unwrap(_torch_load(p))
    spec: dict = {}
    side = Path(sidecar) if sidecar is not None else _default_sidecar(p)
    if side is not None:
        spec.update(read_sidecar(side))
    if activations is not None:
        spec.pop("activation", None)
        if isinstance(activations, str) and "," not in activations:
            spec["activation"] = activations
            spec.pop("activations", None)
        else:
            spec["activations"] = activations
    detected = _detect_layout(obj)
    if layout == "auto":
        if detected is None:
            raise CheckpointError(
                p,
                f"unknown checkpoint layout; keys found: {_keys_preview(obj)}",
                "Supported layouts: " + ", ".join(LAYOUTS) + " (see README: 'Checkpoint layouts')",
            )
        layout = detected
    elif layout not in _READERS:
        raise CheckpointError(p, f"unknown layout {layout!r}", f"Choose one of {', '.join(LAYOUTS)}")
    elif not isinstance(obj, Mapping):
        raise CheckpointError(p, f"holds {_keys_preview(obj)}, not a dictionary of weights")
    try:
        fields = _READERS[layout](obj, p, spec)
    except KeyError as exc:
        raise CheckpointError(
            p, f"layout {layout!r}: key {exc} is missing", f"Keys found: {_keys_preview(obj)}"
        ) from None
    if spec.get("input_names") is not None:
        fields["input_names"] = tuple(spec["input_names"])
    if spec.get("domain") is not None:
        fields["domain"] = tuple(tuple(d) for d in spec["domain"])
    if spec.get("output_scale") is not None:
        fields["output_scale"] = float(spec["output_scale"])
    if spec.get("output_names") is not None:
        fields["output_names"] = tuple(spec["output_names"])
    if input_names is not None:
        fields["input_names"] = tuple(input_names)
    if domain is not None:
        fields["domain"] = tuple(tuple(float(v) for v in d) for d in domain)
    if output_scale is not None:
        fields["output_scale"] = float(output_scale)
    meta = dict(fields.pop("metadata", {}) or {})
    meta.update({"layout": layout, "source": str(p.resolve())})
    if side is not None:
        meta["sidecar"] = str(side)
    try:
        return INR(**fields, metadata=meta)
    except ValueError as exc:
        raise CheckpointError(p, str(exc)) from None


def inspect_checkpoint(path: str | os.PathLike, **kwargs: Any) -> dict:
    """Describe a checkpoint (what ``inr-amr info`` prints) as a JSON-friendly dict."""
    inr = load_inr(path, **kwargs)
    return {
        "file": str(Path(path)),
        "size_bytes": Path(path).stat().st_size,
        "layout": inr.metadata.get("layout"),
        "architecture": inr.describe(),
        "inputs": [{"name": n, "domain": list(d)} for n, d in zip(inr.input_names, inr.domain)],
        "outputs": list(inr.output_names),
        "hidden_widths": list(inr.hidden_widths),
        "activations": [a.describe() for a in inr.activations],
        "encoding": (
            {"type": "fourier", "inputs": inr.encoding.n_inputs, "features": inr.encoding.n_outputs}
            if inr.encoding is not None
            else {"type": "none"}
        ),
        "output_scale": inr.output_scale,
        "parameters": inr.n_parameters,
        "metadata": {k: v for k, v in inr.metadata.items() if isinstance(v, (str, int, float, bool))},
    }


# ---------------------------------------------------------------------------------------- writing
def _native_dict(inr: INR) -> dict:
    return {
        "format": NATIVE_FORMAT,
        "version": NATIVE_VERSION,
        "layers": [
            {
                "weight": w.detach().cpu().clone(),
                "bias": b.detach().cpu().clone(),
                "activation": a.name,
                "activation_params": dict(a.params),
            }
            for w, b, a in zip(inr.weights, inr.biases, inr.activations)
        ],
        "encoding": (
            {"type": "fourier", "matrix": inr.encoding.matrix.detach().cpu().clone()}
            if inr.encoding is not None
            else {"type": "none"}
        ),
        "input_names": list(inr.input_names),
        "domain": [list(d) for d in inr.domain],
        "output_scale": float(inr.output_scale),
        "output_names": list(inr.output_names),
        "metadata": {k: v for k, v in inr.metadata.items() if isinstance(v, (str, int, float, bool))},
    }


def save_inr(inr: INR, path: str | os.PathLike) -> Path:
    """Write ``inr`` in the project's self-describing format (tensors and plain values only), atomically.

    The file loads with ``torch.load(weights_only=True)`` and needs no sidecar.
    """
    return atomic_write(path, lambda tmp: torch.save(_native_dict(inr), tmp))


def save_ct_checkpoint(inr: INR, path: str | os.PathLike, extra: Mapping | None = None) -> Path:
    """Write a Fourier-feature INR in the 4D CT layout (``nn_model`` / ``module.gauss`` / ``module.fcnn.nn``).

    The INR must take inputs ``t, z, y, x``, use SiLU hidden layers and a linear output; the output
    scale is stored as ``scale_lac``.
    """
    if inr.encoding is None:
        raise ValueError("the 4D CT layout needs a Fourier-feature encoding")
    if tuple(inr.input_names) != _CT_INPUTS:
        raise ValueError(f"the 4D CT layout takes inputs {_CT_INPUTS}, this INR takes {inr.input_names}")
    if any(a.name != "silu" for a in inr.activations[:-1]) or inr.activations[-1].name != "identity":
        raise ValueError("the 4D CT layout has SiLU hidden layers and a linear output")
    state = {"module.gauss": inr.encoding.matrix.detach().cpu().clone()}
    for i, (w, b) in enumerate(zip(inr.weights, inr.biases)):
        state[f"module.fcnn.nn.{2 * i}.weight"] = w.detach().cpu().clone()
        state[f"module.fcnn.nn.{2 * i}.bias"] = b.detach().cpu().clone()
    payload = {"nn_model": state, "scale_lac": float(inr.output_scale)}
    if extra:
        payload.update(dict(extra))
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))
