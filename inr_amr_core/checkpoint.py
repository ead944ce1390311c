"""Safe checkpoint loading: layout detection, conversion to :class:`~inr_amr_core.inr.INR`, clear errors.

No code from a checkpoint is ever executed: files are read with ``torch.load(weights_only=True)``
and only the torch activation and container classes in :data:`ALLOWED_TORCH_CLASSES` are allowed.
Before anything is allocated, the file is checked without running it:

- special files (folders, pipes, devices) are refused before they are opened;
- the pickle is read by a scanner whose every class is a harmless stand-in, which lists the classes
  the file needs (any outside the allow list: refused, with its name) and the tensor storages it
  declares; each declared size is checked against what the archive holds (the size of its
  ``data/`` record, or the bytes that follow a legacy file's header) and against a memory budget
  (``max_bytes``, see :func:`load_inr`);
- a zip archive's CRCs are verified, so a damaged copy is refused rather than read as other weights.

After loading, every tensor must be real and dense (complex, boolean, sparse or quantized tensors
are refused; integer ones are converted to float32, and the conversion is recorded in the INR's
metadata under ``converted_dtypes``), each layout's keys must be of the right types, a file must
hold the keys of one layout only, and the INR must evaluate to finite values at probe points
spread over its domain. Every refusal is a :class:`CheckpointError` naming the file, the problem
and a fix.

Layouts (detected automatically; ``layout=`` forces one):

``native``
    The project's own self-describing format (:func:`save_inr`).
``lists``
    The reference code's ``weights_list`` / ``bias_list`` / ``act_list`` dictionary (one activation
    per layer, the output layer's included).
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

import _compat_pickle
import io
import json
import logging
import math
import os
import pickle
import re
import stat
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from .fileio import atomic_write
from .finite import NonFiniteError, check_finite
from .inr import INR, SUPPORTED_ACTIVATIONS, Activation, FourierFeatures

__all__ = [
    "ALLOWED_TORCH_CLASSES",
    "DEFAULT_MAX_BYTES",
    "LAYOUTS",
    "MAX_BYTES_ENV",
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

#: memory budget of one checkpoint's tensors when neither ``max_bytes`` nor the environment sets one
DEFAULT_MAX_BYTES = 2 * 2**30
#: environment variable overriding :data:`DEFAULT_MAX_BYTES` (bytes, or a number with K/M/G/T)
MAX_BYTES_ENV = "INR_AMR_MAX_CHECKPOINT_BYTES"

_F32_MAX = float(torch.finfo(torch.float32).max)
_TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of torch's legacy (non-zip) format

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


_RESAVE = "The file is probably damaged or truncated: copy it again, or save it again with torch.save"
_LAYOUT_HELP = "See the README section 'Checkpoint layouts' for what each layout holds"


def _detail(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (at most 200 characters)."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


# ---------------------------------------------------------------------------------------- budget
def _parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", text)
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def _max_bytes(value: int | None, path: Path) -> int:
    if value is not None:
        return int(value)
    env = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_BYTES
    try:
        return _parse_bytes(env)
    except ValueError:
        raise CheckpointError(
            path,
            f"the environment variable {MAX_BYTES_ENV}={env!r} is not a size in bytes",
            f"Set it to a byte count such as 4294967296 or 4G, or unset it (default {DEFAULT_MAX_BYTES:,} bytes)",
        ) from None


def _too_big(path: Path, what: str, nbytes: int, max_bytes: int) -> CheckpointError:
    return CheckpointError(
        path,
        f"{what} {nbytes:,} bytes, more than the memory budget of {max_bytes:,} bytes",
        f"If the file is genuine, raise the budget: load_inr(..., max_bytes=N) or the environment "
        f"variable {MAX_BYTES_ENV} (e.g. {MAX_BYTES_ENV}=8G)",
    )


# ---------------------------------------------------------------------------------------- the file
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_file(path: Path) -> str:
    """Return 'zip' or 'legacy' for torch files; raise CheckpointError otherwise (never opens a special file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CheckpointError(path, "no such file", "Check the path") from None
    except (OSError, ValueError) as exc:  # a symlink loop, a name too long, a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CheckpointError(path, f"cannot be opened ({reason})", "Check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(path, "is a folder, not a checkpoint file", "Give the checkpoint file inside it")
    for test, what in _SPECIAL_FILES:
        if test(st.st_mode):
            raise CheckpointError(
                path, f"is {what}, not a regular file", "Give a .pt/.pth/.ckpt file saved with torch.save"
            )
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(path, "is not a regular file", "Give a .pt/.pth/.ckpt file saved with torch.save")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by something else since stat()
                raise CheckpointError(path, "is not a regular file", "Give the checkpoint file itself")
            head = os.read(fd, 8)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read ({exc.strerror})", "Check the file's permissions") from None
    if len(head) == 0:
        raise CheckpointError(path, "is empty", "The file was probably truncated while being written; save it again")
    if head.startswith(b"PK"):
        if not _is_zip(path):
            raise CheckpointError(path, "is a damaged zip archive", "The file is probably truncated; copy it again")
        return "zip"
    if head[:1] == b"\x80":  # a pickle protocol marker: torch's legacy (pre-1.6) format, or a plain pickle
        if _is_tar(path):
            raise CheckpointError(
                path,
                "is a tar archive (torch's pre-1.0 format), which is not read",
                "Load it with an old torch and save it again with a current one",
            )
        return "legacy"
    raise CheckpointError(
        path,
        "is not a PyTorch checkpoint (expected a zip archive written by torch.save)",
        "Give a .pt/.pth/.ckpt file saved with torch.save",
    )


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except Exception:  # noqa: BLE001  (zipfile raises BadZipFile for some damaged end records)
        return False


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except Exception:  # noqa: BLE001  (not a readable tar: that is the answer)
        return False


# ---------------------------------------------------------------------------------------- the scanner
# Element sizes of torch's storage classes (``torch.FloatStorage`` -> 4); unknown ones count 16 bytes,
# the largest element torch has, so that a size check never under-counts.
_ELEMENT_SIZES = {
    "Double": 8,
    "Float": 4,
    "Half": 2,
    "BFloat16": 2,
    "Long": 8,
    "Int": 4,
    "Short": 2,
    "Char": 1,
    "Byte": 1,
    "Bool": 1,
    "ComplexFloat": 8,
    "ComplexDouble": 16,
    "QInt8": 1,
    "QUInt8": 1,
    "QInt32": 4,
    "QUInt4x2": 1,
    "QUInt2x4": 1,
    "Untyped": 1,
}
_REBUILD_TENSOR = {"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3"}


def _element_size(global_name: str) -> int:
    base = global_name.rsplit(".", 1)[-1]
    base = base[: -len("Storage")] if base.endswith("Storage") else base
    return _ELEMENT_SIZES.get(base, 16)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Stub:
    """Stands in for every class and function a pickle names: builds nothing, runs nothing."""

    _global = ""
    _scan: _PickleScan | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> _Stub:
        if cls._scan is not None:
            cls._scan.called(cls._global, args)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Stub:
        return _Stub()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def add(self, value: Any) -> None:
        pass


@dataclass
class _StorageRef:
    key: str
    element_size: int
    numel: int


@dataclass
class _PickleScan:
    """What a pickle needs (globals) and declares (tensor storages and the tensors viewing them)."""

    globals: list[str] = field(default_factory=list)
    storages: dict[str, _StorageRef] = field(default_factory=dict)
    views: list[tuple[_StorageRef, Any, Any, Any]] = field(default_factory=list)
    stubs: dict[str, type] = field(default_factory=dict)
    legacy_modules: bool = False

    def stub(self, module: str, name: str) -> type:
        full = f"{module}.{name}"
        if full not in self.globals:
            self.globals.append(full)
        if full not in self.stubs:
            self.stubs[full] = type(name, (_Stub,), {"_global": full, "_scan": self})
        return self.stubs[full]

    def called(self, name: str, args: tuple) -> None:
        if name in _REBUILD_TENSOR and len(args) >= 4 and isinstance(args[0], _StorageRef):
            self.views.append((args[0], args[1], args[2], args[3]))

    def storage(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and len(pid) >= 2 and _text(pid[0]) == "module":
            self.legacy_modules = True  # legacy format: a module class saved with its source code
            return pid[1]
        if not (isinstance(pid, tuple) and len(pid) >= 5 and _text(pid[0]) == "storage"):
            return _Stub()
        stype, key, numel = pid[1], _text(pid[2]), pid[4]
        if key is None or not _is_count(numel):
            return _Stub()  # torch refuses it when it loads
        name = stype._global if isinstance(stype, type) and issubclass(stype, _Stub) else ""
        ref = _StorageRef(key, _element_size(name), int(numel))
        old = self.storages.get(key)
        if old is None or old.numel * old.element_size < ref.numel * ref.element_size:
            self.storages[key] = ref
        return ref

    @property
    def declared_bytes(self) -> int:
        return sum(s.numel * s.element_size for s in self.storages.values())


class _ScanUnpickler(pickle._Unpickler):
    """Python's own (pure-Python) unpickler with stand-ins for every class.

    Not the C one: its memo is an array that a damaged BINPUT index resizes to gigabytes, whereas the
    Python one keeps a dictionary, reads no more than the data holds, and can be interrupted.
    """

    def __init__(self, file: BinaryIO | _Capped, scan: _PickleScan) -> None:
        super().__init__(file)
        self._scan = scan

    def find_class(self, module: str, name: str) -> Any:
        # the names Python 3 would use for a protocol-2 pickle (``__builtin__.set`` -> ``builtins.set``)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        return self._scan.stub(str(module), str(name))

    def persistent_load(self, pid: Any) -> Any:
        return self._scan.storage(pid)


def _allowed_globals() -> set[str] | None:
    """torch's weights-only allow list plus ours; None if this torch does not expose it."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        return set(_get_allowed_globals()) | _ALLOWED_NAMES
    except Exception:  # noqa: BLE001  (another torch version: its own loader still refuses them)
        return None


def _refuse_globals(path: Path, needed: Sequence[str]) -> None:
    """Refuse a file whose pickle needs any class outside the allow list (nothing was run)."""
    allowed = _allowed_globals()
    if allowed is None:
        return
    refused = sorted({g for g in needed if g not in allowed})
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
            "pickles whole torch modules (" + ", ".join(modules) + "), which would need code to be run",
            "Save model.state_dict() instead and describe the activations in a JSON sidecar (see README)",
        )
    raise CheckpointError(
        path,
        "refused: unpickling it would need arbitrary code (" + ", ".join(refused) + "); it was not run",
        "Only weights, plain containers and torch.nn activations are read. Re-save the tensors in a dict",
    )


class _Capped:
    """A file read no further than its size: a damaged length field cannot ask for gigabytes."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh, self.size = fh, size

    def read(self, n: int = -1) -> bytes:
        left = max(0, self.size - self.fh.tell())
        return self.fh.read(left if n is None or n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self.fh.readline(max(0, self.size - self.fh.tell()))


def _scan_pickle(data: BinaryIO | _Capped, path: Path, scan: _PickleScan, what: str) -> Any:
    try:
        return _ScanUnpickler(data, scan).load()
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001  (any failure of a pickle that ran no code: a damaged file)
        _refuse_globals(path, scan.globals)
        raise CheckpointError(path, f"is damaged: {what} cannot be read ({_detail(exc)})", _RESAVE) from None


def _check_views(path: Path, scan: _PickleScan, max_bytes: int) -> None:
    """Every tensor must lie inside its storage, and all of them (as dense float32) within the budget.

    The second check catches a small storage viewed with zero strides as a huge tensor: cheap to
    load, but a dense copy of it (what an INR keeps) would not fit.
    """
    dense = 0
    for ref, offset, size, stride in scan.views:
        if not (_is_count(offset) and isinstance(size, tuple) and isinstance(stride, tuple)):
            continue  # torch refuses malformed ones itself
        if len(size) != len(stride) or not all(_is_count(s) for s in (*size, *stride)):
            continue
        if any(s == 0 for s in size):
            continue
        dense += 4 * math.prod(size)
        extent = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1
        if extent > ref.numel:
            raise CheckpointError(
                path,
                f"is damaged: a tensor of shape {tuple(size)} needs {extent:,} elements of tensor data "
                f"{ref.key!r}, which holds {ref.numel:,}",
                _RESAVE,
            )
    if dense > max_bytes:
        raise _too_big(path, "its tensors, as dense float32 arrays, take", dense, max_bytes)


def _scan_zip(path: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if not infos:
                raise CheckpointError(path, "is an empty zip archive", "Give a file saved with torch.save")
            for info in infos:
                if info.file_size > max_bytes:
                    raise _too_big(path, f"archive member {info.filename!r} expands to", info.file_size, max_bytes)
            total = sum(i.file_size for i in infos)
            if total > max_bytes:
                raise _too_big(path, "the archive expands to", total, max_bytes)
            bad = zf.testzip()
            if bad is not None:
                raise CheckpointError(path, f"is damaged: archive member {bad!r} fails its CRC check", _RESAVE)
            prefix = infos[0].filename.split("/", 1)[0]
            records = {i.filename: i.file_size for i in infos}
            pkl = f"{prefix}/data.pkl"
            if pkl not in records:
                raise CheckpointError(
                    path,
                    f"is a zip archive without {pkl!r}: not a file written by torch.save",
                    "Give a .pt/.pth/.ckpt file saved with torch.save",
                )
            data = zf.read(pkl)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001  (zipfile's many ways of meeting a damaged archive)
        raise CheckpointError(path, f"is a damaged zip archive ({_detail(exc)})", _RESAVE) from None
    scan = _PickleScan()
    _scan_pickle(io.BytesIO(data), path, scan, "its data.pkl")
    _refuse_globals(path, scan.globals)
    for key, ref in scan.storages.items():
        record = f"{prefix}/data/{key}"
        nbytes = ref.numel * ref.element_size
        if record not in records:
            raise CheckpointError(path, f"is damaged: tensor data {key!r} is missing from the archive", _RESAVE)
        if nbytes > records[record]:
            raise CheckpointError(
                path,
                f"is damaged: tensor data {key!r} is declared as {nbytes:,} bytes but the archive holds "
                f"{records[record]:,}",
                _RESAVE,
            )
    if scan.declared_bytes > max_bytes:
        raise _too_big(path, "its tensors take", scan.declared_bytes, max_bytes)
    _check_views(path, scan, max_bytes)


def _scan_legacy(path: Path, max_bytes: int) -> None:
    """torch's legacy format: magic number, protocol, system info, the object, its storage keys, the data."""
    scan = _PickleScan()
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below; the file object is read pickle by pickle)
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read ({exc.strerror})", "Check the file's permissions") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:  # the whole file is read into tensors
            raise _too_big(path, "the file is", size, max_bytes)
        capped = _Capped(fh, size)
        magic = _scan_pickle(capped, path, scan, "its first pickle")
        if not (isinstance(magic, int) and magic == _TORCH_MAGIC_NUMBER):
            _refuse_globals(path, scan.globals)
            raise CheckpointError(
                path,
                "is a plain pickle, not a checkpoint written by torch.save",
                "Save the weights with torch.save (a dict of tensors)",
            )
        for what in ("its protocol version", "its system information", "its main pickle", "its storage keys"):
            _scan_pickle(capped, path, scan, what)
        after = size - fh.tell()
    _refuse_globals(path, scan.globals)
    if scan.legacy_modules:
        raise CheckpointError(
            path,
            "holds torch modules (such as ModuleList or ParameterList) in torch's legacy (pre-1.6) format, "
            "which torch's safe loader does not read",
            "Save it again with a current torch (torch.save writes the zip format), or save plain lists of tensors",
        )
    declared = scan.declared_bytes
    if declared > max_bytes:
        raise _too_big(path, "its tensors take", declared, max_bytes)
    needed = declared + 8 * len(scan.storages)  # each storage: an 8-byte element count, then its bytes
    if needed > after:
        raise CheckpointError(
            path,
            f"is damaged: it declares {declared:,} bytes of tensor data but only {after:,} bytes follow its header",
            _RESAVE,
        )
    _check_views(path, scan, max_bytes)


def _torch_load(path: Path, max_bytes: int) -> Any:
    kind = _check_file(path)
    if kind == "zip":
        _scan_zip(path, max_bytes)
    else:
        _scan_legacy(path, max_bytes)
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
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*(?:\n(?!\n)[^\n]*)*)", msg)
        first = (detail.group(1) if detail else msg.strip().split("\n", 1)[0] or "UnpicklingError").strip()
        raise CheckpointError(path, f"cannot be unpickled safely ({first[:200]})", _RESAVE) from None
    except Exception as exc:  # noqa: BLE001  (torch's loader on a damaged file: any error means 'damaged')
        raise CheckpointError(path, f"is a damaged or unsupported torch file ({_detail(exc)})", _RESAVE) from None


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
        if p.exists() and not p.is_file():
            raise CheckpointError(p, "sidecar is not a regular file", "Give a JSON file")
        if p.is_file() and p.stat().st_size > 2**20:
            raise CheckpointError(p, "sidecar is larger than 1 MiB", "A sidecar is a small JSON object")
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise CheckpointError(p, "sidecar JSON file not found", "Write one next to the checkpoint") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, CheckpointError):
            raise
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
@dataclass
class _Ctx:
    """One load: the file, the caller's / sidecar's description, and notes for the metadata."""

    path: Path
    spec: Mapping = field(default_factory=dict)
    sidecar: Path | None = None
    converted: list[str] = field(default_factory=list)

    def error(self, problem: str, fix: str = _LAYOUT_HELP) -> CheckpointError:
        return CheckpointError(self.path, problem, fix)

    def spec_error(self, problem: str, fix: str) -> CheckpointError:
        where = f"sidecar {self.sidecar}: " if self.sidecar is not None else ""
        return CheckpointError(self.path, where + problem, fix)


def _as_tensor(value: Any, ctx: _Ctx, key: str) -> torch.Tensor:
    """A real, dense float32 tensor, or a refusal saying why (integer tensors are converted and noted)."""
    if not isinstance(value, torch.Tensor):
        raise ctx.error(f"key {key!r} should hold a tensor but holds {_kind(value)}")
    t = value.detach()
    if t.is_meta:
        raise ctx.error(f"key {key!r} holds a tensor without data (device 'meta')", "Save the tensor's values")
    if t.layout != torch.strided or t.is_quantized or t.is_nested:
        what = "quantized" if t.is_quantized else ("nested" if t.is_nested else str(t.layout).replace("torch.", ""))
        raise ctx.error(f"key {key!r} holds a {what} tensor", "Save dense float tensors (tensor.to_dense().float())")
    if t.is_complex():
        raise ctx.error(
            f"key {key!r} holds complex numbers ({t.dtype}); an INR's weights are real, and dropping the "
            "imaginary part would give another network",
            "Save real tensors (for instance torch.view_as_real, if the network is real-valued in disguise)",
        )
    if t.dtype == torch.bool:
        raise ctx.error(f"key {key!r} holds booleans, not weights", "Save float tensors")
    if not t.is_floating_point():
        ctx.converted.append(f"{key}: {t.dtype} -> float32")
        log.warning("%s: key %r holds %s; converted to float32", ctx.path, key, t.dtype)
        return t.to(torch.float32)
    if t.dtype == torch.float32:
        return t
    out = t.to(torch.float32)
    if t.dtype == torch.float64 and not torch.isfinite(out).all() and torch.isfinite(t).all():
        top = float(t.abs().max())
        raise ctx.error(
            f"key {key!r} holds values up to {top:.3g}, beyond float32's range ({_F32_MAX:.3g})",
            "Rescale the network, or check that the file is not damaged",
        )
    return out


def _as_list(value: Any, ctx: _Ctx, key: str) -> list:
    """The items of a list, tuple, ModuleList or ParameterList (a damaged container is refused)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, _TORCH_CONTAINERS):
        try:
            return list(value)
        except Exception as exc:  # noqa: BLE001  (a container whose pickled state is damaged)
            raise ctx.error(f"key {key!r} is a damaged {type(value).__name__} ({_detail(exc)})", _RESAVE) from None
    raise ctx.error(f"key {key!r} should hold a list but holds {_kind(value)}")


def _value(obj: Mapping, key: str, default: Any) -> Any:
    """``obj[key]``, or ``default`` where it is absent or None (never ``obj.get(key) or default``: a
    tensor's truth value is an error)."""
    value = obj.get(key)
    return default if value is None else value


def _real(value: Any, what: str) -> float:
    """A finite real number from an int, a float or a one-element real tensor; ValueError otherwise."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex() and not value.is_meta:
        value = value.detach().reshape(-1)[0].item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} should be a number but is {_kind(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{what} is {out}, not a finite number")
    return out


def _names(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{what} should be a list of names but is {_kind(value)}")


def _domain(value: Any, what: str) -> tuple[tuple[float, float], ...]:
    if isinstance(value, (list, tuple)):
        out = []
        for i, d in enumerate(value):
            if not (isinstance(d, (list, tuple)) and len(d) == 2):
                raise ValueError(f"{what}[{i}] should be a pair [lo, hi] but is {d!r:.60}")
            out.append((_real(d[0], f"{what}[{i}][0]"), _real(d[1], f"{what}[{i}][1]")))
        return tuple(out)
    raise ValueError(f"{what} should be a list of [lo, hi] pairs but is {_kind(value)}")


def _activation_from_module(module: Any, ctx: _Ctx, where: str) -> Activation:
    for cls, (name, attrs) in _TORCH_ACTIVATIONS.items():
        if type(module) is cls:
            state = getattr(module, "__dict__", {})  # plain attributes: no torch code runs on a damaged module
            if cls is torch.nn.GELU and state.get("approximate", "none") != "none":
                return _unsupported(ctx, where, f"GELU(approximate={state.get('approximate')!r})")
            params = {}
            for a in attrs:
                if a not in state:
                    raise ctx.error(f"{where}: {cls.__name__} lacks its attribute {a!r}", _RESAVE)
                try:
                    params[a] = _real(state[a], f"{where}: {cls.__name__}.{a}")
                except ValueError as exc:
                    raise ctx.error(str(exc), _RESAVE) from None
            try:
                return Activation(name, params)
            except ValueError as exc:
                raise ctx.error(f"{where}: {exc}", _RESAVE) from None
    if isinstance(module, str):
        try:
            return Activation(module)
        except ValueError as exc:
            raise ctx.error(f"{where}: {exc}", f"Supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}") from None
    return _unsupported(ctx, where, type(module).__name__)


def _unsupported(ctx: _Ctx, where: str, what: str) -> Activation:
    raise ctx.error(
        f"{where}: unsupported activation {what}", f"Supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}"
    )


def _activations_from_spec(ctx: _Ctx, n_layers: int) -> list[Activation] | None:
    """Activations from a sidecar / caller spec; None if it declares none."""
    spec = ctx.spec
    give = f"Give {n_layers - 1} hidden activations (the output defaults to identity) or {n_layers} in all"
    out_name = spec.get("output_activation", "identity")
    if not isinstance(out_name, str):
        raise ctx.spec_error(f"output_activation should be a name but is {_kind(out_name)}", 'Such as "identity"')
    raw = spec.get("activations")
    if raw is not None:
        if isinstance(raw, str):
            names = [s.strip() for s in raw.split(",")]
        elif isinstance(raw, (list, tuple)) and all(isinstance(n_, str) for n_ in raw):
            names = list(raw)
        else:
            raise ctx.spec_error(f"activations should be a list of names but is {_kind(raw)}", give)
        if len(names) == n_layers - 1:
            names.append(out_name)
        if len(names) != n_layers:
            raise ctx.spec_error(f"{len(names)} activations given for {n_layers} layers", give)
    elif spec.get("activation") is not None:
        one = spec["activation"]
        if not isinstance(one, str):
            raise ctx.spec_error(f"activation should be a name but is {_kind(one)}", 'Such as "relu"')
        names = [one] * (n_layers - 1) + [out_name]
    else:
        return None
    params = spec.get("activation_params") or {}
    params_fix = 'Give a dict such as {"w0": 30}, or a list of one dict per layer'
    if isinstance(params, Mapping):
        # one parameter dict applies to the layers whose activation accepts it (w0 to sine layers only)
        per_layer = [dict(params) if _accepts(n_, params) else {} for n_ in names]
    elif isinstance(params, (list, tuple)) and all(isinstance(p, Mapping) for p in params):
        per_layer = [dict(p) for p in params]
        if len(per_layer) != n_layers:
            raise ctx.spec_error(f"activation_params has {len(per_layer)} entries for {n_layers} layers", params_fix)
    else:
        raise ctx.spec_error(f"activation_params should be a dict but is {_kind(params)}", params_fix)
    try:
        return [Activation(n_, p) for n_, p in zip(names, per_layer)]
    except ValueError as exc:
        fix = (
            "Fix activation_params (finite numbers that float32 can hold, e.g. w0 = 30)"
            if "parameter" in str(exc)
            else f"Supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}"
        )
        raise ctx.spec_error(str(exc), fix) from None


def _accepts(name: str, params: Mapping) -> bool:
    """Whether activation ``name`` takes parameters of these names (their values are checked later)."""
    try:
        return set(params) <= set(Activation(name).params)
    except ValueError:
        return False


def _numbered(state: Mapping[str, Any], pattern: str) -> list[tuple[int, str]]:
    rx = re.compile(pattern)
    found = []
    for key in state:
        m = rx.fullmatch(str(key)) if isinstance(key, str) else None
        if m:
            found.append((int(m.group(1)), key))
    return sorted(found)


def _keys_preview(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = [str(k)[:60] for k in obj]
        more = f" ... ({len(keys)} keys)" if len(keys) > 12 else ""
        return "[" + ", ".join(keys[:12]) + more + "]"
    return f"a {type(obj).__name__}"


# ---------------------------------------------------------------------------------------- layouts
_LAYER_INDEX = r"(\d{1,6})"  # layer numbers (a bounded count of digits: int() of a huge one would fail)


def _layout_candidates(obj: Any) -> list[str]:
    """Every layout whose keys ``obj`` holds (``sequential`` only when no other one matches)."""
    if not isinstance(obj, Mapping):
        return []
    found = []
    fmt = obj.get("format")
    if isinstance(fmt, str) and fmt == NATIVE_FORMAT:
        found.append("native")
    if "weights_list" in obj or "bias_list" in obj:
        found.append("lists")
    if "nn_model" in obj:
        found.append("ct4d")
    if any(isinstance(k, str) and re.fullmatch(r"Layers\.\d+\.weight", k) for k in obj):
        found.append("dict")
    if not found and _sequential_prefix(obj) is not None:
        found.append("sequential")
    return found


def _sequential_prefix(obj: Mapping) -> str | None:
    prefixes = set()
    for k in obj:
        m = re.fullmatch(r"(.*?)" + _LAYER_INDEX + r"\.weight", k) if isinstance(k, str) else None
        if m and isinstance(obj[k], torch.Tensor):
            prefixes.add(m.group(1))
    return prefixes.pop() if len(prefixes) == 1 else None


_WRAPPERS = ("state_dict", "model_state_dict", "model", "net")


def _unwrap(obj: Any, path: Path) -> Any:
    """Accept common wrappers such as {'state_dict': {...}} or {'model_state_dict': {...}}."""
    if not isinstance(obj, Mapping) or _layout_candidates(obj):
        return obj
    inner = [k for k in _WRAPPERS if isinstance(obj.get(k), Mapping) and _layout_candidates(obj[k])]
    if len(inner) > 1:
        raise CheckpointError(
            path,
            f"holds several networks ({', '.join(inner)}); which one is meant is ambiguous",
            "Save the one network to read on its own",
        )
    return obj[inner[0]] if inner else obj


def _from_native(obj: Mapping, ctx: _Ctx) -> dict:
    version = obj.get("version")
    if not (type(version) is int and version == NATIVE_VERSION):
        raise ctx.error(
            f"native format version {version!r:.40} is not supported (this build reads version {NATIVE_VERSION})",
            "Upgrade inr-amr or re-convert the file",
        )
    layers = obj.get("layers")
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ctx.error("native file has no 'layers' list", "Re-convert the file with inr-amr convert")
    weights, biases, acts = [], [], []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not {"weight", "bias", "activation"} <= set(layer):
            raise ctx.error(f"native layer {i} must hold 'weight', 'bias' and 'activation'", _RESAVE)
        weights.append(_as_tensor(layer["weight"], ctx, f"layers[{i}].weight"))
        biases.append(_as_tensor(layer["bias"], ctx, f"layers[{i}].bias"))
        name, params = layer["activation"], _value(layer, "activation_params", {})
        if not isinstance(name, str) or not isinstance(params, Mapping):
            raise ctx.error(f"layer {i}: activation should be a name and its parameters a dict", _RESAVE)
        try:
            acts.append(Activation(name, dict(params)))
        except ValueError as exc:
            raise ctx.error(f"layer {i}: {exc}", _RESAVE) from None
    enc = _value(obj, "encoding", {"type": "none"})
    if not isinstance(enc, Mapping) or not isinstance(enc.get("type"), (str, type(None))):
        raise ctx.error(f"native 'encoding' should be a dictionary with a 'type' but is {_kind(enc)}", _RESAVE)
    encoding = None
    if enc.get("type") == "fourier":
        encoding = FourierFeatures(_as_tensor(enc.get("matrix"), ctx, "encoding.matrix"))
    elif enc.get("type") not in (None, "none"):
        raise ctx.error(f"unknown input encoding {enc.get('type')!r:.40}", "Supported: none, fourier")
    meta = _value(obj, "metadata", {})
    if not isinstance(meta, Mapping):
        raise ctx.error(f"native 'metadata' should be a dictionary but is {_kind(meta)}", _RESAVE)
    try:
        fields = dict(
            input_names=_names(_value(obj, "input_names", ()), "input_names"),
            domain=_domain(_value(obj, "domain", ()), "domain"),
            output_scale=_real(_value(obj, "output_scale", 1.0), "output_scale"),
            output_names=_names(_value(obj, "output_names", ()), "output_names"),
        )
    except ValueError as exc:
        raise ctx.error(f"native file: {exc}", _RESAVE) from None
    return dict(
        weights=weights,
        biases=biases,
        activations=acts,
        encoding=encoding,
        metadata={k: v for k, v in meta.items() if isinstance(k, str) and isinstance(v, (str, int, float, bool))},
        **fields,
    )


def _from_lists(obj: Mapping, ctx: _Ctx) -> dict:
    w_list = _as_list(obj["weights_list"], ctx, "weights_list")
    b_list = _as_list(obj["bias_list"], ctx, "bias_list")
    weights = [_as_tensor(w, ctx, f"weights_list[{i}]") for i, w in enumerate(w_list)]
    biases = [_as_tensor(b, ctx, f"bias_list[{i}]") for i, b in enumerate(b_list)]
    if not weights:
        raise ctx.error("weights_list is empty", "A network needs at least one layer; " + _RESAVE.lower())
    if len(weights) != len(biases):
        raise ctx.error(f"weights_list has {len(weights)} entries but bias_list has {len(biases)}", _RESAVE)
    acts = _activations_from_spec(ctx, len(weights))
    if acts is None:
        if "act_list" not in obj:
            raise ctx.error(
                "'lists' layout without act_list stores no activations",
                "Pass activations (e.g. --activations relu) or write a JSON sidecar",
            )
        stored = _as_list(obj["act_list"], ctx, "act_list")
        if len(stored) != len(weights):
            raise ctx.error(
                f"act_list has {len(stored)} activations for {len(weights)} layers (one per layer is "
                "expected, the output layer's included)",
                "Store one activation per layer (torch.nn.Identity() for a linear output), or pass the "
                "activations explicitly (--activations / a JSON sidecar)",
            )
        acts = [_activation_from_module(a, ctx, f"act_list[{i}]") for i, a in enumerate(stored)]
    return dict(weights=weights, biases=biases, activations=acts, encoding=_gauss(obj.get("gauss"), ctx, "gauss"))


def _gauss(value: Any, ctx: _Ctx, key: str) -> FourierFeatures | None:
    if value is None:
        return None
    b = _as_tensor(value, ctx, key)
    if b.numel() == 0 and b.ndim <= 1:  # the reference code stores an empty tensor for "no encoding"
        return None
    if b.ndim != 2 or b.numel() == 0:
        raise ctx.error(f"{key!r} must be a (n_inputs, n_frequencies) matrix, got shape {tuple(b.shape)}", _RESAVE)
    return FourierFeatures(b)


def _from_dict(obj: Mapping, ctx: _Ctx) -> dict:
    idx_w = _numbered(obj, r"Layers\." + _LAYER_INDEX + r"\.weight")
    idx_b = dict(_numbered(obj, r"Layers\." + _LAYER_INDEX + r"\.bias"))
    if [i for i, _ in idx_w] != list(range(len(idx_w))):
        raise ctx.error(f"'dict' layout layers are not numbered 0..n-1: {[i for i, _ in idx_w][:20]}", _RESAVE)
    _refuse_orphan_biases(obj, idx_w, r"Layers\." + _LAYER_INDEX + r"\.bias", ctx)
    weights, biases = [], []
    for i, key in idx_w:
        if i not in idx_b:
            raise ctx.error(f"layer {i}: key 'Layers.{i}.bias' is missing", _RESAVE)
        weights.append(_as_tensor(obj[key], ctx, key))
        biases.append(_as_tensor(obj[idx_b[i]], ctx, idx_b[i]))
    acts = _activations_from_spec(ctx, len(weights))
    if acts is None:
        raise ctx.error(
            "'dict' layout stores no activations",
            "Pass them (e.g. --activations relu, or activations='relu') or write a JSON sidecar "
            f'{ctx.path.with_suffix(".json").name} with {{"activation": "relu"}}',
        )
    return dict(weights=weights, biases=biases, activations=acts, encoding=_gauss(obj.get("gauss"), ctx, "gauss"))


_CT_INPUTS = ("t", "z", "y", "x")
_CT_DEFAULT_SCALE = 0.1


def _from_ct4d(obj: Mapping, ctx: _Ctx) -> dict:
    state = obj["nn_model"]
    if not isinstance(state, Mapping):
        raise ctx.error(f"'nn_model' should be a state dict but is {_kind(state)}", _RESAVE)
    prefix = "module." if any(isinstance(k, str) and k.startswith("module.") for k in state) else ""
    gauss_key = f"{prefix}gauss"
    if gauss_key not in state:
        raise ctx.error(f"4D CT layout: key {gauss_key!r} missing from nn_model", f"Keys found: {_keys_preview(state)}")
    found = _numbered(state, re.escape(prefix) + r"fcnn\.nn\." + _LAYER_INDEX + r"\.weight")
    if not found:
        raise ctx.error("4D CT layout: no 'fcnn.nn.{i}.weight' keys in nn_model", f"Keys found: {_keys_preview(state)}")
    numbers = [i for i, _ in found]
    if numbers != list(range(0, 2 * len(found), 2)):
        raise ctx.error(
            f"4D CT layout: the linear layers fcnn.nn.{{i}} should be numbered 0, 2, 4, ... but are {numbers[:20]}",
            "A layer is missing: " + _RESAVE.lower(),
        )
    _refuse_orphan_biases(state, found, re.escape(prefix) + r"fcnn\.nn\." + _LAYER_INDEX + r"\.bias", ctx)
    weights, biases = [], []
    for _i, key in found:
        bkey = key[: -len("weight")] + "bias"
        if bkey not in state:
            raise ctx.error(f"4D CT layout: key {bkey!r} is missing", _RESAVE)
        weights.append(_as_tensor(state[key], ctx, key))
        biases.append(_as_tensor(state[bkey], ctx, bkey))
    acts = _activations_from_spec(ctx, len(weights)) or (
        [Activation("silu")] * (len(weights) - 1) + [Activation("identity")]
    )
    scale_key = next((k for k in ("scale_lac", "output_scale") if k in obj), None)
    meta = {"output_scale_source": scale_key or f"default {_CT_DEFAULT_SCALE} (scale_lac of the reference code)"}
    try:
        scale = _real(obj[scale_key], scale_key) if scale_key else _CT_DEFAULT_SCALE
    except ValueError as exc:
        raise ctx.error(f"4D CT layout: {exc}", _RESAVE) from None
    gauss = _gauss(state[gauss_key], ctx, gauss_key)
    n_in = gauss.n_inputs if gauss is not None else int(weights[0].shape[1]) if weights[0].ndim == 2 else 0
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


def _refuse_orphan_biases(state: Mapping, weights: list[tuple[int, str]], bias_pattern: str, ctx: _Ctx) -> None:
    """A bias whose layer has no weight means a layer went missing: refuse rather than skip it."""
    have = {i for i, _ in weights}
    orphans = [key for i, key in _numbered(state, bias_pattern) if i not in have]
    if orphans:
        raise ctx.error(f"{orphans[0]!r} has no weight beside it (a layer is missing)", _RESAVE)


def _from_sequential(obj: Mapping, ctx: _Ctx) -> dict:
    prefix = _sequential_prefix(obj) or ""
    found = _numbered(obj, re.escape(prefix) + _LAYER_INDEX + r"\.weight")
    if not found:
        raise ctx.error("no '{i}.weight' keys of a Sequential state dict", f"Keys found: {_keys_preview(obj)}")
    _refuse_orphan_biases(obj, found, re.escape(prefix) + _LAYER_INDEX + r"\.bias", ctx)
    weights, biases = [], []
    for _i, key in found:
        bkey = key[: -len("weight")] + "bias"
        w = _as_tensor(obj[key], ctx, key)
        b = _as_tensor(obj[bkey], ctx, bkey) if bkey in obj else torch.zeros(w.shape[0] if w.ndim else 0)
        weights.append(w)
        biases.append(b)
    acts = _activations_from_spec(ctx, len(weights))
    if acts is None:
        raise ctx.error(
            "a plain Sequential state dict stores no activations",
            f"Write a JSON sidecar {ctx.path.with_suffix('.json').name} such as "
            '{"activation": "sine", "activation_params": {"w0": 30}}',
        )
    enc = ctx.spec.get("encoding") or {"type": "none"}
    encoding = None
    if isinstance(enc, Mapping) and enc.get("type") == "fourier":
        key = enc.get("key", "B")
        if not isinstance(key, str) or key not in obj:
            raise ctx.spec_error(
                f"declares a Fourier encoding in key {key!r:.40}, which the state dict lacks",
                f"Keys found: {_keys_preview(obj)}",
            )
        encoding = _gauss(obj[key], ctx, key)
        if encoding is None:
            raise ctx.error(f"the Fourier matrix {key!r} is empty", _RESAVE)
    elif not (isinstance(enc, Mapping) and enc.get("type") in ("none", None)):
        raise ctx.spec_error(f"unknown input encoding {enc!r:.60}", 'Use {"type": "fourier", "key": "B"} or none')
    return dict(weights=weights, biases=biases, activations=acts, encoding=encoding)


_READERS = {
    "native": _from_native,
    "lists": _from_lists,
    "dict": _from_dict,
    "ct4d": _from_ct4d,
    "sequential": _from_sequential,
}


# ---------------------------------------------------------------------------------------- probing
def _probe_points(inr: INR, n_random: int = 48) -> np.ndarray:
    """The domain's corners (up to 64 of them), its centre and seeded random points in it."""
    lo = np.array([d[0] for d in inr.domain], dtype=np.float64)
    hi = np.array([d[1] for d in inr.domain], dtype=np.float64)
    n = lo.size
    corners = np.empty((0, n))
    if n <= 6:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        corners = np.where(bits == 1, hi, lo)
    rand = lo + (hi - lo) * np.random.default_rng(0).random((n_random, n))
    return np.vstack([corners, (lo + hi)[None, :] / 2, rand])


def _probe(inr: INR, path: Path) -> None:
    """Refuse an INR that gives NaN or Inf at the probe points (a file near float32's limits, w0 = 1e308...)."""
    pts = _probe_points(inr)
    try:
        vals = inr.evaluate(pts, chunk_size=pts.shape[0])
    except Exception as exc:  # noqa: BLE001  (a network torch cannot evaluate is refused, whatever the reason)
        raise CheckpointError(path, f"loads but cannot be evaluated ({_detail(exc)})", _LAYOUT_HELP) from None
    try:
        check_finite(vals, "probe points", pts, inr.input_names)
    except NonFiniteError as exc:
        raise CheckpointError(
            path,
            f"evaluates to NaN or Inf at {exc.count} of {exc.total} probe points over its domain (e.g. at {exc.point})",
            "Its weights or parameters overflow float32 there: check that the file is not damaged (weights near "
            f"float32's limit of {_F32_MAX:.3g}?), its output scale and activation parameters such as sine's w0",
        ) from None


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
    max_bytes: int | None = None,
) -> INR:
    """Load an INR checkpoint without executing any code from it.

    Parameters
    ----------
    path : path-like
        A ``.pt`` / ``.pth`` / ``.ckpt`` file in one of :data:`LAYOUTS`.
    layout : str, default 'auto'
        Force a layout instead of detecting it (also settles a file holding keys of several layouts).
    activations : str or sequence of str, optional
        Activations for layouts that store none (``dict``, ``sequential``): one name for every hidden
        layer (``'relu'``), a comma-separated list, or one per layer. Overrides stored ones.
    sidecar : path-like, optional
        JSON sidecar (see :func:`read_sidecar`); by default ``FILE.json`` next to the checkpoint is used
        if present.
    input_names, domain, output_scale : optional
        Override what the file says (or the defaults: ``x, y, z, t`` and ``[0, 1]`` per input).
    max_bytes : int, optional
        Memory budget of the file's tensors: a file declaring more (or an archive expanding to more)
        is refused before anything is allocated. Default: the environment variable
        ``INR_AMR_MAX_CHECKPOINT_BYTES`` (a byte count, or a number with a K/M/G/T suffix such as
        ``8G``) if set, else :data:`DEFAULT_MAX_BYTES` (2 GiB).

    Returns
    -------
    INR
        Evaluating to finite values at probe points over its domain (its corners, centre and 48
        seeded random points). Integer tensors are converted to float32; the metadata's
        ``converted_dtypes`` says which.

    Raises
    ------
    CheckpointError
        With the file, the problem and the fix: missing, special (folder, pipe, device) or non-torch
        file, damaged archive (CRC, truncation, sizes that do not match), unknown or ambiguous layout
        (listing the keys found), keys of the wrong type, layer shape mismatch or zero-width layer,
        complex, boolean or sparse tensors, NaN/Inf weights, activations that do not match the layers,
        unsupported activation, tensors over the memory budget, an INR giving NaN/Inf at the probe
        points, or a pickle that would need arbitrary code (refused, never run). No other exception
        escapes.

    Examples
    --------
    >>> inr = load_inr("../shared/inrs/hos_lists.ckpt")   # doctest: +SKIP
    >>> inr.describe()                                      # doctest: +SKIP
    '2 -> 32x4 relu -> 1'
    """
    p = Path(path)
    try:
        return _load(p, layout, activations, sidecar, input_names, domain, output_scale, max_bytes)
    except CheckpointError:
        raise
    except Exception as exc:  # the promise: a CheckpointError, whatever the file holds
        log.exception("unexpected error while loading %s", p)
        raise CheckpointError(
            p,
            f"could not be read: unexpected {_detail(exc)}",
            "This is a bug in inr-amr's checks; please report it with the file. " + _RESAVE,
        ) from exc


def _load(
    p: Path,
    layout: str,
    activations: str | Sequence[str] | None,
    sidecar: str | os.PathLike | None,
    input_names: Sequence[str] | None,
    domain: Sequence[Sequence[float]] | None,
    output_scale: float | None,
    max_bytes: int | None,
) -> INR:
    budget = _max_bytes(max_bytes, p)
    if layout != "auto" and layout not in _READERS:
        raise CheckpointError(p, f"unknown layout {layout!r}", f"Choose one of {', '.join(LAYOUTS)}")
    obj = _unwrap(_torch_load(p, budget), p)
    spec: dict = {}
    side = Path(sidecar) if sidecar is not None else _default_sidecar(p)
    if side is not None:
        try:
            spec.update(read_sidecar(side))
        except CheckpointError as exc:
            raise CheckpointError(p, f"its sidecar {exc.path}: {exc.problem}", exc.fix) from None
    if activations is not None:
        spec.pop("activation", None)
        if isinstance(activations, str) and "," not in activations:
            spec["activation"] = activations
            spec.pop("activations", None)
        else:
            spec["activations"] = activations
    ctx = _Ctx(p, spec, side)
    candidates = _layout_candidates(obj)
    if layout == "auto":
        if not candidates:
            raise CheckpointError(
                p,
                f"unknown checkpoint layout; keys found: {_keys_preview(obj)}",
                "Supported layouts: " + ", ".join(LAYOUTS) + " (see README: 'Checkpoint layouts')",
            )
        if len(candidates) > 1:
            raise CheckpointError(
                p,
                f"holds the keys of several layouts ({', '.join(candidates)}; keys found: {_keys_preview(obj)}), "
                "so which network is meant is ambiguous",
                "Keep one layout's keys in the file, or choose one with layout= (--layout)",
            )
        layout = candidates[0]
    elif not isinstance(obj, Mapping):
        raise CheckpointError(p, f"holds {_keys_preview(obj)}, not a dictionary of weights", _LAYOUT_HELP)
    try:
        fields = _READERS[layout](obj, ctx)
    except KeyError as exc:
        raise CheckpointError(
            p, f"layout {layout!r}: key {exc} is missing", f"Keys found: {_keys_preview(obj)}"
        ) from None
    try:
        if spec.get("input_names") is not None:
            fields["input_names"] = _names(spec["input_names"], "input_names")
        if spec.get("domain") is not None:
            fields["domain"] = _domain(spec["domain"], "domain")
        if spec.get("output_scale") is not None:
            fields["output_scale"] = _real(spec["output_scale"], "output_scale")
        if spec.get("output_names") is not None:
            fields["output_names"] = _names(spec["output_names"], "output_names")
    except ValueError as exc:
        raise ctx.spec_error(str(exc), "Fix the sidecar (see read_sidecar)") from None
    try:
        if input_names is not None:
            fields["input_names"] = _names(tuple(input_names), "input_names")
        if domain is not None:
            fields["domain"] = _domain(tuple(tuple(d) for d in domain), "domain")
        if output_scale is not None:
            fields["output_scale"] = _real(output_scale, "output_scale")
    except (TypeError, ValueError) as exc:
        raise CheckpointError(p, f"the arguments given: {exc}", "Fix the input names, domain or output scale") from None
    meta = dict(fields.pop("metadata", {}) or {})
    meta.update({"layout": layout, "source": str(p.resolve())})
    if side is not None:
        meta["sidecar"] = str(side)
    if ctx.converted:
        meta["converted_dtypes"] = "; ".join(ctx.converted)
    try:
        inr = INR(**fields, metadata=meta)
    except (TypeError, ValueError) as exc:
        fix = "The network in the file is not valid: save it again from a working model"
        if side is not None:
            fix = f"Check the file and its sidecar {side} (the sidecar's domain, names and scale apply)"
        raise CheckpointError(p, str(exc), fix) from None
    _probe(inr, p)
    return inr


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
