"""A seeded fuzz corpus of hostile and broken checkpoints, built from every shipped checkpoint.

Kinds of case (see :func:`corpus`):

``control``
    The shipped checkpoints as they are (the three embedded demo INRs and the shared hos_lists.ckpt):
    they must load.
``malicious``
    Pickles whose loading would call ``os.system``, ``exec``, ``eval``, ``subprocess.Popen``,
    ``__import__`` or ``open`` (each would create a sentinel file): at top level, nested, inside
    ``act_list``, as a dictionary key; as torch zip files, torch's legacy (non-zip) format, raw
    pickles of every protocol, and hand-written pickle opcodes (also inside a real archive).
``structural``
    A shipped checkpoint's objects with one thing wrong: a key missing, a value of the wrong type,
    a tensor of the wrong shape, zero width, dtype (complex, integer, boolean, float64 beyond
    float32's range), sparse, NaN / Inf / near float32's limit, activation lists that do not match,
    keys of two layouts, and JSON sidecars with bad values (sine w0 = 1e308, ...).
``mutation``
    Byte mutations of the real files: raw flips anywhere (CRCs then fail), edits of the pickle inside
    a re-written archive (valid CRCs), float bytes set to huge or NaN patterns, edits of the legacy format.
``truncation``
    Real files (zip and legacy) cut at seeded lengths.
``resource``
    Declared sizes that do not fit: a storage larger than its record, a forged archive size, an
    expanded (zero-stride) tensor, a legacy file declaring a huge storage, a small budget.
``special``
    A FIFO, /dev/zero, /dev/null, a folder, an empty file, symlinks (to a device, dangling, a loop),
    a sparse file, /proc text, a NUL in the path.

Run as a script, it loads every case in this process with a per-case alarm and writes one JSON line
per case (``python fuzz_corpus.py OUT.jsonl SENTINEL [WORKDIR]``); :mod:`tests.core.test_fuzz` runs it
in a subprocess and checks every line.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import random
import shutil
import signal
import struct
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import DATA, HOS

SOURCES = {
    "hos": HOS,
    "sin_corner_2d": DATA / "sin_corner_2d.pt",
    "ct_compression": DATA / "ct_compression.pt",
    "lattice_compression": DATA / "lattice_compression.pt",
    "logpile": DATA / "logpile.pt",
}
SEED = 20240614
CASE_TIMEOUT_S = 10
MEMORY_LIMIT_BYTES = 8 * 2**30  # address space of the process running the corpus


@dataclass
class Case:
    """One corpus entry: ``build(folder)`` writes the file(s) and returns the path and load keywords."""

    name: str
    kind: str
    build: Callable[[Path], tuple[Path, dict]]
    tags: tuple[str, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------ payloads
class _Call:
    """Pickles as ``func(*args)``: what a malicious checkpoint does (never called here)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)

    def __call__(self, *args: Any) -> None:  # pickle wants a callable; it is never called
        raise AssertionError("never called")


def payloads(sentinel: str) -> dict[str, Any]:
    """Objects whose unpickling would create ``sentinel`` (each through a different function)."""
    import builtins
    import subprocess

    touch = f"open({sentinel!r}, 'w').close()"
    return {
        "os.system": _Call(os.system, f"touch {sentinel}"),
        "exec": _Call(builtins.exec, touch),
        "eval": _Call(builtins.eval, touch),
        "subprocess.Popen": _Call(subprocess.Popen, ["touch", sentinel]),
        "__import__": _Call(_Call(getattr, _Call(builtins.__import__, "os"), "system"), f"touch {sentinel}"),
        "open": _Call(builtins.open, sentinel, "w"),
    }


def handwritten(sentinel: str) -> dict[str, bytes]:
    """Hand-written pickle opcodes, each of which would create ``sentinel``."""
    s = sentinel.encode()
    cmd = b"touch " + s

    def short(b: bytes) -> bytes:  # SHORT_BINUNICODE
        return b"\x8c" + bytes([len(b)]) + b

    touch_py = b"open('" + s + b"', 'w').close()"
    return {
        "proto0_global_reduce": b"cos\nsystem\n(V" + cmd + b"\ntR.",
        "proto0_posix_system": b"cposix\nsystem\n(S'" + cmd + b"'\ntR.",
        "proto0_inst": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "proto1_obj": b"(cos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"o.",
        "proto2_global": b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R.",
        "proto4_stack_global": b"\x80\x04" + short(b"os") + short(b"system") + b"\x93" + short(cmd) + b"\x85R.",
        "proto2_exec": b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", len(touch_py)) + touch_py + b"\x85R.",
        "proto2_eval": b"\x80\x02c__builtin__\neval\nX" + struct.pack("<I", len(touch_py)) + touch_py + b"\x85R.",
        "proto2_import_chain": (
            b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00"
            b"system\x86RX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."
        ),
        "proto2_popen": (
            b"\x80\x02csubprocess\nPopen\n]X\x05\x00\x00\x00touchX" + struct.pack("<I", len(s)) + s + b"\x86\x85R."
        ),
        "proto2_in_dict": (
            b"\x80\x02}X\x0c\x00\x00\x00weights_listcos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85Rs."
        ),
        "proto2_open": b"\x80\x02cbuiltins\nopen\nX" + struct.pack("<I", len(s)) + s + b"X\x01\x00\x00\x00w\x86R.",
    }


# ------------------------------------------------------------------------------------ helpers
def _torch():
    import torch

    return torch


def load_raw(path: Path) -> Any:
    """A shipped checkpoint's objects (torch's weights-only loader; these files are trusted)."""
    torch = _torch()
    from inr_amr_core.checkpoint import ALLOWED_TORCH_CLASSES

    with torch.serialization.safe_globals(list(ALLOWED_TORCH_CLASSES)):
        return torch.load(str(path), map_location="cpu", weights_only=True)


def plain(obj: Any) -> Any:
    """ModuleList / ParameterList as lists, Parameters as tensors (for mutating with plain containers)."""
    torch = _torch()
    if isinstance(obj, dict):
        return type(obj)((k, plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple, torch.nn.ModuleList, torch.nn.ParameterList)):
        return [plain(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    return obj


def locations(obj: Any, prefix: tuple = (), depth: int = 3) -> Iterator[tuple]:
    """Every dictionary entry and list item down to ``depth`` levels, as key paths."""
    if depth == 0:
        return
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    else:
        return
    for k, v in items:
        yield (*prefix, k)
        yield from locations(v, (*prefix, k), depth - 1)


def get_at(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


_DELETE = object()


def replace_at(obj: Any, path: tuple, value: Any) -> Any:
    """A copy of ``obj`` (containers along ``path`` copied, leaves shared) with ``path`` set or deleted."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    out = copy.copy(obj)
    if rest:
        out[head] = replace_at(obj[head], rest, value)
    elif value is _DELETE:
        del out[head]
    else:
        out[head] = value
    return out


def write_zip_member(src: Path, dst: Path, edit: Callable[[str, bytes], bytes]) -> None:
    """Re-write an archive, member by member through ``edit(name, data)`` (valid CRCs, torch's layout)."""
    with zipfile.ZipFile(src) as zs, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zd:
        for item in zs.infolist():
            zd.writestr(item, edit(item.filename, zs.read(item)))


def pkl_name(src: Path) -> str:
    with zipfile.ZipFile(src) as z:
        return next(n for n in z.namelist() if n.endswith("/data.pkl"))


def _save(obj: Any, legacy: bool = False) -> Callable[[Path], tuple[Path, dict]]:
    def build(folder: Path) -> tuple[Path, dict]:
        path = folder / "case.pt"
        if legacy:
            _torch().save(obj, path, _use_new_zipfile_serialization=False)
        else:
            _torch().save(obj, path)
        return path, {}

    return build


def _bytes(data: bytes, name: str = "case.pt", **kwargs: Any) -> Callable[[Path], tuple[Path, dict]]:
    def build(folder: Path) -> tuple[Path, dict]:
        path = folder / name
        path.write_bytes(data)
        return path, dict(kwargs)

    return build


# ------------------------------------------------------------------------------------ the kinds
def malicious_cases(sentinel: str, raws: dict[str, Any]) -> list[Case]:
    torch = _torch()
    cases = []
    hos = plain(raws["hos"])
    ct_state = raws["ct_compression"]["nn_model"]
    for fname, evil in payloads(sentinel).items():
        placements = {
            "top": evil,
            "nested_dict": {"weights_list": hos["weights_list"], "bias_list": hos["bias_list"], "x": {"y": evil}},
            "nested_list": {"weights_list": [*hos["weights_list"][:2], [evil]], "bias_list": hos["bias_list"]},
            "act_list": {**hos, "act_list": [torch.nn.ReLU(), evil, *hos["act_list"][2:]]},
            "dict_key": {**hos, (evil,): 1},
            "ct_scale": {"nn_model": dict(list(ct_state.items())[:4]), "scale_lac": evil},
            "native_metadata": {"format": "inr-amr", "version": 1, "layers": [], "metadata": {"note": evil}},
            "in_module_list": {**raws["hos"], "act_list": torch.nn.ModuleList([torch.nn.ReLU()]), "extra": [evil]},
        }
        for where, obj in placements.items():
            cases.append(Case(f"malicious/{fname}/{where}/zip", "malicious", _save(obj), ("zip",)))
            if where in ("top", "nested_dict", "act_list", "dict_key"):
                cases.append(Case(f"malicious/{fname}/{where}/legacy", "malicious", _save(obj, True), ("legacy",)))
            for proto in range(6) if where in ("top", "nested_dict") else (2, 5):
                cases.append(
                    Case(f"malicious/{fname}/{where}/pickle{proto}", "malicious", _bytes(pickle.dumps(obj, proto)))
                )
    hos_pkl = pkl_name(HOS)
    for name, data in handwritten(sentinel).items():
        cases.append(Case(f"malicious/opcodes/{name}/raw", "malicious", _bytes(data)))

        def in_zip(folder: Path, data: bytes = data) -> tuple[Path, dict]:
            path = folder / "case.ckpt"
            write_zip_member(HOS, path, lambda n, d: data if n == hos_pkl else d)
            return path, {}

        cases.append(Case(f"malicious/opcodes/{name}/in_archive", "malicious", in_zip))
        # after a valid torch legacy header: the magic number, protocol and system-info pickles
        header = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({}, 2)
        cases.append(Case(f"malicious/opcodes/{name}/legacy_body", "malicious", _bytes(header + data)))
    return cases


def _tensor_values(t: Any) -> dict[str, Any]:
    """Wrong versions of a tensor ``t`` (what a damaged or careless export holds)."""
    torch = _torch()
    if t.numel() == 0:  # hos's empty 'gauss': only a few things can be wrong with it
        return {"none": None, "str": "gauss", "matrix_4x0": torch.zeros(4, 0), "ones_2x3": torch.ones(2, 3)}
    two = t.ndim == 2
    nan = t.clone().reshape(-1)
    nan[0] = float("nan")
    inf = t.clone().reshape(-1)
    inf[-1] = float("inf")
    out = {
        "none": None,
        "int": 3,
        "str": "weights",
        "list_of_floats": [1.0, 2.0],
        "dict": {"a": 1},
        "empty": torch.empty(0),
        "scalar": torch.tensor(1.0),
        "extra_dim": t.unsqueeze(0),
        "flat": t.reshape(-1),
        "zero_rows": t[:0],
        "complex": t.to(torch.complex64) + 1j,
        "complex_real": t.to(torch.complex64),
        "int64": (t * 10).round().to(torch.int64),
        "int8": (t * 10).round().clamp(-100, 100).to(torch.int8),
        "bool": t > 0,
        "float64": t.double(),
        "float16": t.half(),
        "bfloat16": t.bfloat16(),
        "nan": nan.reshape(t.shape),
        "inf": inf.reshape(t.shape),
        "near_f32_max": torch.full_like(t, 3.0e38),
        "one_near_f32_max": (t.reshape(-1).clone().index_fill_(0, torch.tensor([0]), 3.3e38)).reshape(t.shape),
        "beyond_f32": t.double() * 1e300 + 1e300,
        "parameter": torch.nn.Parameter(t.clone()),
        "tiny": t * 1e-38,
    }
    if two:
        out.update(
            transposed=t.T.contiguous(),
            zero_cols=t[:, :0],
            sparse=t.to_sparse(),
            one_row=t[:1],
            expanded=t[:1, :1].expand(4096, 4096),
        )
    else:
        out.update(as_row=t.unsqueeze(0), longer=torch.cat([t, t]))
    return out


def _list_values(v: list) -> dict[str, Any]:
    torch = _torch()
    return {
        "drop_last": v[:-1],
        "drop_first": v[1:],
        "empty_list": [],
        "duplicate_last": [*v, v[-1]],
        "reversed": v[::-1],
        "tuple": tuple(v),
        "as_dict": {str(i): x for i, x in enumerate(v)},
        "none": None,
        "tensor": torch.zeros(3, 3),
        "str": "layers",
    }


def _activation_values() -> dict[str, Any]:
    torch = _torch()
    odd = torch.nn.LeakyReLU()
    odd.negative_slope = float("nan")
    wrong = torch.nn.ELU()
    wrong.alpha = "alpha"
    big = torch.nn.ELU()
    big.alpha = 1e39
    return {
        "relu_str": "relu",
        "bogus_str": "bogus",
        "int": 3,
        "none": None,
        "softmax": torch.nn.Softmax(dim=1),
        "leaky_nan_slope": odd,
        "elu_str_alpha": wrong,
        "elu_huge_alpha": big,
        "gelu_tanh": torch.nn.GELU(approximate="tanh"),
        "softplus_beta0": torch.nn.Softplus(beta=0.0),
        "tanh": torch.nn.Tanh(),
        "tensor": torch.zeros(2),
    }


def structural_cases(raws: dict[str, Any], rng: random.Random) -> list[Case]:
    torch = _torch()
    cases: list[Case] = []
    budget = {"hos": 170, "sin_corner_2d": 170, "ct_compression": 55, "logpile": 45, "lattice_compression": 20}
    for src, raw in raws.items():
        obj = plain(raw)
        candidates: list[tuple[str, Any]] = []
        for path in locations(obj):
            value = get_at(obj, path)
            tag = "/".join(str(k) for k in path)
            candidates.append((f"{tag}/delete", replace_at(obj, path, _DELETE)))
            if isinstance(value, torch.Tensor):
                for op, new in _tensor_values(value).items():
                    candidates.append((f"{tag}/{op}", replace_at(obj, path, new)))
            elif isinstance(value, list) and value:
                for op, new in _list_values(value).items():
                    candidates.append((f"{tag}/{op}", replace_at(obj, path, new)))
            elif isinstance(value, torch.nn.Module):
                for op, new in _activation_values().items():
                    candidates.append((f"{tag}/{op}", replace_at(obj, path, new)))
            else:
                for op, new in {
                    "none": None,
                    "str": "x",
                    "nan": float("nan"),
                    "huge": 1e308,
                    "neg": -1,
                    "list": [1, 2, 3],
                    "tensor2": torch.tensor([1.0, 2.0]),
                }.items():
                    candidates.append((f"{tag}/{op}", replace_at(obj, path, new)))
        rng.shuffle(candidates)
        for tag, mutated in candidates[: budget[src]]:
            cases.append(Case(f"structural/{src}/{tag}", "structural", _save(mutated)))
        # whole-object and layout-level mistakes
        whole = {
            "top_list": [obj],
            "top_tensor": torch.zeros(4),
            "top_none": None,
            "top_str": "weights",
            "empty_dict": {},
            "wrapped": {"state_dict": obj, "epoch": 3},
            "wrapped_twice_ambiguous": {"state_dict": obj, "model": obj},
            "with_weights_list": {**obj, "weights_list": [torch.zeros(2, 2)], "bias_list": [torch.zeros(2)]},
            "with_nn_model": {**obj, "nn_model": {"module.gauss": torch.zeros(4, 2)}},
            "with_native_format": {**obj, "format": "inr-amr", "version": 1},
            "with_dict_keys": {**obj, "Layers.0.weight": torch.zeros(2, 2), "Layers.0.bias": torch.zeros(2)},
            "legacy_format": obj,
        }
        whole.update(_zero_width_layers(obj))
        if "act_list" in obj:  # one activation too few (the output's) or too many
            whole["act_list_short"] = {**obj, "act_list": obj["act_list"][:-1]}
            whole["act_list_long"] = {**obj, "act_list": [*obj["act_list"], torch.nn.Identity()]}
        # finite weights near float32's limit: each file loads, and evaluates to Inf / NaN everywhere
        whole["weights_near_f32_max"] = _map_tensors(obj, lambda t: t.sign() * 3.0e38 if t.ndim == 2 else t)
        for tag, mutated in whole.items():
            cases.append(Case(f"structural/{src}/{tag}", "structural", _save(mutated, legacy=tag == "legacy_format")))
    cases += sidecar_cases(plain(raws["hos"]))
    return cases


def _map_tensors(obj: Any, fn: Callable) -> Any:
    torch = _torch()
    if isinstance(obj, dict):
        return type(obj)((k, _map_tensors(v, fn)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_map_tensors(v, fn) for v in obj]
    return fn(obj) if isinstance(obj, torch.Tensor) else obj


def _zero_width_layers(obj: dict) -> dict[str, Any]:
    """A hidden layer of width 0, consistently (its weight rows, its bias and the next layer's columns)."""
    if "weights_list" in obj:
        get = lambda i: (obj["weights_list"][i], obj["bias_list"][i])
        n = len(obj["weights_list"])
    elif "layers" in obj:
        get = lambda i: (obj["layers"][i]["weight"], obj["layers"][i]["bias"])
        n = len(obj["layers"])
    else:
        state = obj["nn_model"]
        get = lambda i: (state[f"module.fcnn.nn.{2 * i}.weight"], state[f"module.fcnn.nn.{2 * i}.bias"])
        n = sum(1 for k in state if k.endswith(".weight"))
    out = {}
    for k in (0, n - 2):
        w, _ = get(k)
        w_next, _ = get(k + 1)
        new = (w[:0], w[:0, 0] if w.ndim == 2 else w[:0], w_next[:, :0])
        mutated = copy.deepcopy(obj) if "nn_model" not in obj else {**obj, "nn_model": dict(obj["nn_model"])}
        if "weights_list" in obj:
            mutated["weights_list"][k], mutated["bias_list"][k], mutated["weights_list"][k + 1] = new
        elif "layers" in obj:
            mutated["layers"][k]["weight"], mutated["layers"][k]["bias"], mutated["layers"][k + 1]["weight"] = new
        else:
            st = mutated["nn_model"]
            st[f"module.fcnn.nn.{2 * k}.weight"], st[f"module.fcnn.nn.{2 * k}.bias"] = new[0], new[1]
            st[f"module.fcnn.nn.{2 * k + 2}.weight"] = new[2]
        out[f"zero_width_layer{k}"] = mutated
    return out


def sidecar_cases(hos: dict) -> list[Case]:
    """A Sequential state dict (the hos weights) with JSON sidecars, good and bad."""
    state = {}
    for i, (w, b) in enumerate(zip(hos["weights_list"], hos["bias_list"])):
        state[f"{2 * i}.weight"] = w
        state[f"{2 * i}.bias"] = b
    sidecars: dict[str, Any] = {
        "relu_ok": {"activation": "relu"},
        "sine_ok": {"activation": "sine", "activation_params": {"w0": 30}},
        "sine_w0_1e308": {"activation": "sine", "activation_params": {"w0": 1e308}},
        "sine_w0_1e38": {"activation": "sine", "activation_params": {"w0": 3e38}},
        "sine_w0_nan": {"activation": "sine", "activation_params": {"w0": float("nan")}},
        "sine_w0_str": {"activation": "sine", "activation_params": {"w0": "thirty"}},
        "params_list_short": {"activation": "sine", "activation_params": [{"w0": 30}]},
        "params_list_of_ints": {"activation": "sine", "activation_params": [1, 2, 3, 4, 5]},
        "params_str": {"activation": "relu", "activation_params": "w0=30"},
        "activations_too_few": {"activations": ["relu", "relu"]},
        "activations_too_many": {"activations": ["relu"] * 7},
        "activations_int": {"activations": 5},
        "activations_list_of_ints": {"activations": [1, 2, 3, 4]},
        "activation_int": {"activation": 5},
        "activation_bogus": {"activation": "swoosh"},
        "output_activation_list": {"activation": "relu", "output_activation": ["identity"]},
        "domain_huge": {"activation": "relu", "domain": [[0, 1e39], [0, 1]]},
        "domain_reversed": {"activation": "relu", "domain": [[1, 0], [0, 1]]},
        "domain_str": {"activation": "relu", "domain": "unit square"},
        "domain_triples": {"activation": "relu", "domain": [[0, 1, 2], [0, 1, 2]]},
        "domain_wide_ok": {"activation": "relu", "domain": [[-1e6, 1e6], [-1e6, 1e6]]},
        "input_names_ints": {"activation": "relu", "input_names": [1, 2]},
        "input_names_one": {"activation": "relu", "input_names": ["x"]},
        "input_names_same": {"activation": "relu", "input_names": ["x", "x"]},
        "output_scale_huge": {"activation": "relu", "output_scale": 1e300},
        "output_scale_str": {"activation": "relu", "output_scale": "big"},
        "output_scale_3e38": {"activation": "relu", "output_scale": 3e38},
        "output_names_int": {"activation": "relu", "output_names": 7},
        "encoding_missing_key": {"activation": "relu", "encoding": {"type": "fourier", "key": "B"}},
        "encoding_bogus": {"activation": "relu", "encoding": {"type": "wavelet"}},
        "encoding_str": {"activation": "relu", "encoding": "fourier"},
        "unknown_key": {"activaton": "relu"},
        "top_list": ["relu"],
        "not_json": "{not json",
        "nan_literal": '{"activation": "sine", "activation_params": {"w0": NaN}}',
        "deep_nesting": "[" * 100000 + "]" * 100000,
        "binary": b"\xff\xfe\x00garbage",
    }
    cases = []
    for tag, side in sidecars.items():

        def build(folder: Path, side: Any = side) -> tuple[Path, dict]:
            path = folder / "seq.pt"
            _torch().save(state, path)
            text = side if isinstance(side, (str, bytes)) else json.dumps(side)
            (folder / "seq.json").write_bytes(text.encode() if isinstance(text, str) else text)
            return path, {}

        cases.append(Case(f"structural/sidecar/{tag}", "structural", build))

    def folder_sidecar(folder: Path) -> tuple[Path, dict]:
        path = folder / "seq.pt"
        _torch().save(state, path)
        (folder / "side").mkdir()
        return path, {"sidecar": folder / "side"}

    def missing_sidecar(folder: Path) -> tuple[Path, dict]:
        path = folder / "seq.pt"
        _torch().save(state, path)
        return path, {"sidecar": folder / "nope.json"}

    cases.append(Case("structural/sidecar/is_a_folder", "structural", folder_sidecar))
    cases.append(Case("structural/sidecar/missing", "structural", missing_sidecar))
    return cases


def mutation_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    flips = {"hos": 150, "sin_corner_2d": 150, "ct_compression": 45, "logpile": 45, "lattice_compression": 15}
    pkl_edits = {"hos": 170, "sin_corner_2d": 170, "ct_compression": 40, "logpile": 40, "lattice_compression": 15}
    float_edits = {"hos": 25, "sin_corner_2d": 25, "ct_compression": 10, "logpile": 10, "lattice_compression": 5}
    for src, path in SOURCES.items():
        data = path.read_bytes()
        for i in range(flips[src]):
            buf = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 8))):
                pos = rng.randrange(len(buf))
                buf[pos] ^= rng.randrange(1, 256)
            cases.append(Case(f"mutation/{src}/flip{i}", "mutation", _bytes(bytes(buf))))
        pkl = pkl_name(path)
        with zipfile.ZipFile(path) as z:
            original = z.read(pkl)
            records = [n for n in z.namelist() if "/data/" in n and z.getinfo(n).file_size >= 4]
        for i in range(pkl_edits[src]):
            mutated = _mutate_bytes(original, rng)

            def build(folder: Path, src_path: Path = path, pkl: str = pkl, mutated: bytes = mutated):
                out = folder / "case.pt"
                write_zip_member(src_path, out, lambda name, d: mutated if name == pkl else d)
                return out, {}

            cases.append(Case(f"mutation/{src}/pickle{i}", "mutation", build))
        for i in range(float_edits[src]):
            record = rng.choice(records)
            pattern = rng.choice((b"\xff\xff\x7f\x7f", b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\xf0\xff\x7f\x7f"))
            count = rng.choice((1, 1, 4, 10_000))
            seed = rng.randrange(2**31)

            def build(folder: Path, src_path=path, record=record, pattern=pattern, count=count, seed=seed):
                out = folder / "case.pt"
                r = random.Random(seed)

                def edit(name: str, d: bytes) -> bytes:
                    if name != record:
                        return d
                    buf = bytearray(d)
                    for _ in range(min(count, len(buf) // 4)):
                        k = r.randrange(len(buf) // 4) * 4
                        buf[k : k + 4] = pattern
                    return bytes(buf)

                write_zip_member(src_path, out, edit)
                return out, {}

            cases.append(Case(f"mutation/{src}/floats{i}", "mutation", build))
    # torch's legacy format, written from the small checkpoints, then flipped
    for src in ("hos", "sin_corner_2d"):
        legacy = _legacy_bytes(SOURCES[src])
        for i in range(45):
            buf = bytearray(legacy)
            for _ in range(rng.choice((1, 2, 4))):
                buf[rng.randrange(len(buf))] ^= rng.randrange(1, 256)
            cases.append(Case(f"mutation/{src}/legacy_flip{i}", "mutation", _bytes(bytes(buf))))
    return cases


def _legacy_bytes(src: Path) -> bytes:
    """A shipped checkpoint in torch's legacy format, loadable: plain lists, activations by name (torch's
    safe loader refuses module classes in that format)."""
    obj = plain(load_raw(src))
    if "act_list" in obj:
        obj["act_list"] = [type(a).__name__.lower() for a in obj["act_list"]]
    buf = io.BytesIO()
    _torch().save(obj, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    op = rng.choice(("flip", "flip", "set", "insert", "delete", "duplicate", "swap", "int_operand"))
    pos = rng.randrange(len(buf))
    if op == "flip":
        buf[pos] ^= 1 << rng.randrange(8)
    elif op == "set":
        buf[pos] = rng.choice((0, 0x7F, 0x80, 0xFF, ord("."), ord("R"), ord("0"), ord("("), ord("t")))
    elif op == "insert":
        buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    elif op == "delete":
        del buf[pos : pos + rng.randrange(1, 8)]
    elif op == "duplicate":
        n = rng.randrange(1, 64)
        buf[pos:pos] = buf[pos : pos + n]
    elif op == "swap":
        other = rng.randrange(len(buf))
        buf[pos], buf[other] = buf[other], buf[pos]
    else:  # the operand of a small-int opcode: shapes, strides, offsets and element counts
        ks = [i for i, b in enumerate(buf[:-1]) if b in (ord("K"), ord("M"))]
        if ks:
            k = rng.choice(ks)
            buf[k + 1] = rng.choice((0, 1, 2, 127, 255))
    return bytes(buf)


def truncation_cases(rng: random.Random) -> list[Case]:
    cases = []
    counts = {"hos": 60, "sin_corner_2d": 60, "ct_compression": 20, "logpile": 20, "lattice_compression": 8}
    for src, path in SOURCES.items():
        data = path.read_bytes()
        for i in range(counts[src]):
            n = rng.choice((rng.randrange(1, 64), rng.randrange(len(data)), len(data) - rng.randrange(1, 64)))
            cases.append(Case(f"truncation/{src}/{i}_at_{n}", "truncation", _bytes(data[:n])))
    for src in ("hos", "sin_corner_2d"):
        legacy = _legacy_bytes(SOURCES[src])
        for i in range(25):
            n = rng.randrange(1, len(legacy))
            cases.append(Case(f"truncation/{src}/legacy{i}_at_{n}", "truncation", _bytes(legacy[:n])))
    return cases


def resource_cases(raws: dict[str, Any]) -> list[Case]:
    torch = _torch()
    cases = []
    pkl = pkl_name(HOS)
    original = zipfile.ZipFile(HOS).read(pkl)
    # hos's first storage: 'BININT1 64' elements; make it 2**40 (BININT) and 2**31 - 1
    at = original.index(b"K@t")
    for numel in (2**31 - 1, 2**40, 1025):
        op = b"J" + struct.pack("<i", numel) if numel < 2**31 else b"\x8a\x06" + numel.to_bytes(6, "little")
        mutated = original[:at] + op + original[at + 2 :]

        def build(folder: Path, mutated: bytes = mutated):
            out = folder / "case.ckpt"
            write_zip_member(HOS, out, lambda n, d: mutated if n == pkl else d)
            return out, {}

        cases.append(Case(f"resource/storage_numel_{numel}", "resource", build))

    def forged_size(folder: Path) -> tuple[Path, dict]:
        """The central directory claims a member expands to 3 GiB (a zip bomb's header)."""
        out = folder / "case.ckpt"
        data = bytearray(HOS.read_bytes())
        cd = data.rfind(b"PK\x01\x02")  # the last central-directory entry
        data[cd + 24 : cd + 28] = struct.pack("<I", 3 * 2**30)
        out.write_bytes(bytes(data))
        return out, {}

    cases.append(Case("resource/forged_member_size", "resource", forged_size))

    def deflated(folder: Path) -> tuple[Path, dict]:
        """A deflated member expanding to 8 MiB, under a 4 MiB budget."""
        out = folder / "case.ckpt"
        with zipfile.ZipFile(HOS) as zs, zipfile.ZipFile(out, "w") as zd:
            for item in zs.infolist():
                zd.writestr(item, zs.read(item))
            zd.writestr(item.filename.split("/")[0] + "/data/99", b"\0" * 8 * 2**20, zipfile.ZIP_DEFLATED)
        return out, {"max_bytes": 4 * 2**20}

    cases.append(Case("resource/deflated_member_over_budget", "resource", deflated))
    big = {"weights_list": [torch.zeros(1, 1).expand(2**16, 2**16)], "bias_list": [torch.zeros(2**16)]}
    cases.append(Case("resource/expanded_view", "resource", _save(big)))
    cases.append(Case("resource/expanded_view_legacy", "resource", _save(big, legacy=True)))

    def small_budget(folder: Path) -> tuple[Path, dict]:
        out = folder / "ct.pt"
        shutil.copyfile(SOURCES["ct_compression"], out)
        return out, {"max_bytes": 100_000}

    cases.append(Case("resource/ct_over_small_budget", "resource", small_budget))

    def env_budget(folder: Path) -> tuple[Path, dict]:
        out = folder / "ct.pt"
        shutil.copyfile(SOURCES["ct_compression"], out)
        return out, {"_env": {"INR_AMR_MAX_CHECKPOINT_BYTES": "64K"}}

    cases.append(Case("resource/ct_over_env_budget", "resource", env_budget))

    def env_garbage(folder: Path) -> tuple[Path, dict]:
        out = folder / "hos.ckpt"
        shutil.copyfile(HOS, out)
        return out, {"_env": {"INR_AMR_MAX_CHECKPOINT_BYTES": "lots"}}

    cases.append(Case("resource/env_budget_not_a_number", "resource", env_garbage))
    # legacy: a storage declaring 2**40 elements (torch would allocate them before reading the data)
    legacy = _legacy_bytes(HOS)
    for numel in (2**40, 10**6):

        def huge_legacy(folder: Path, numel: int = numel) -> tuple[Path, dict]:
            out = folder / "case.pt"
            out.write_bytes(_legacy_with_numel(legacy, numel))
            return out, {}

        cases.append(Case(f"resource/legacy_numel_{numel}", "resource", huge_legacy))
    return cases


def _legacy_with_numel(legacy: bytes, numel: int) -> bytes:
    """Re-write the first storage's declared element count in a legacy-format file (64 -> numel)."""
    marker = b"X\x03\x00\x00\x00cpuq"  # the storage's location, then (memo) its element count
    at = legacy.index(marker) + len(marker) + 1
    assert legacy[at : at + 2] == b"K@", legacy[at - 8 : at + 8]
    op = b"\x8a\x06" + numel.to_bytes(6, "little")
    return legacy[:at] + op + legacy[at + 2 :]


def special_cases() -> list[Case]:
    def fifo(folder: Path) -> tuple[Path, dict]:
        path = folder / "pipe.pt"
        os.mkfifo(path)
        return path, {}

    def folder_pt(folder: Path) -> tuple[Path, dict]:
        path = folder / "model.pt"
        path.mkdir()
        (path / "data.pkl").write_bytes(b"\x80\x02}.")
        return path, {}

    def empty(folder: Path) -> tuple[Path, dict]:
        path = folder / "empty.pt"
        path.write_bytes(b"")
        return path, {}

    def link(target: str, name: str = "link.pt") -> Callable[[Path], tuple[Path, dict]]:
        def build(folder: Path) -> tuple[Path, dict]:
            path = folder / name
            os.symlink(target, path)
            return path, {}

        return build

    def loop(folder: Path) -> tuple[Path, dict]:
        a, b = folder / "a.pt", folder / "b.pt"
        os.symlink(b, a)
        os.symlink(a, b)
        return a, {}

    def sparse_pk(folder: Path) -> tuple[Path, dict]:
        path = folder / "sparse.pt"
        with open(path, "wb") as fh:
            fh.write(b"PK\x03\x04")
            fh.truncate(8 * 2**30)
        return path, {}

    def sparse_pickle(folder: Path) -> tuple[Path, dict]:
        path = folder / "sparse_pickle.pt"
        with open(path, "wb") as fh:
            fh.write(b"\x80\x02")
            fh.truncate(4 * 2**30)
        return path, {}

    def weird_name(folder: Path) -> tuple[Path, dict]:
        path = folder / "we ird\tname\u00e9 .ckpt"
        shutil.copyfile(HOS, path)
        return path, {}

    def text(folder: Path) -> tuple[Path, dict]:
        path = folder / "notes.pt"
        path.write_text("this is not a checkpoint\n")
        return path, {}

    def nul(folder: Path) -> tuple[Path, dict]:
        return Path(str(folder / "a") + "\x00b.pt"), {}

    def long_name(folder: Path) -> tuple[Path, dict]:
        return folder / ("x" * 300 + ".pt"), {}

    cases = [
        Case("special/fifo", "special", fifo),
        Case("special/dev_zero", "special", lambda f: (Path("/dev/zero"), {})),
        Case("special/dev_null", "special", lambda f: (Path("/dev/null"), {})),
        Case("special/dev_urandom", "special", lambda f: (Path("/dev/urandom"), {})),
        Case("special/folder", "special", lambda f: (f, {})),
        Case("special/folder_named_pt", "special", folder_pt),
        Case("special/empty_file", "special", empty),
        Case("special/symlink_to_dev_zero", "special", link("/dev/zero")),
        Case("special/symlink_to_fifo", "special", lambda f: (fifo(f), link(str(f / "pipe.pt"))(f))[1]),
        Case("special/dangling_symlink", "special", link("/nonexistent/file.pt")),
        Case("special/symlink_loop", "special", loop),
        Case("special/sparse_8GiB_zip_magic", "special", sparse_pk),
        Case("special/sparse_4GiB_pickle_magic", "special", sparse_pickle),
        Case("special/proc_text", "special", lambda f: (Path("/proc/self/status"), {})),
        Case("special/text_file", "special", text),
        Case("special/missing", "special", lambda f: (f / "missing.pt", {})),
        Case("special/nul_in_path", "special", nul),
        Case("special/name_too_long", "special", long_name),
        Case("special/weird_name_ok", "special", weird_name),
    ]
    return cases


def control_cases() -> list[Case]:
    def copy_of(src: Path) -> Callable[[Path], tuple[Path, dict]]:
        def build(folder: Path) -> tuple[Path, dict]:
            out = folder / src.name
            shutil.copyfile(src, out)
            return out, {}

        return build

    cases = [Case(f"control/{name}", "control", copy_of(path)) for name, path in SOURCES.items()]
    for name in ("hos", "sin_corner_2d"):
        cases.append(Case(f"control/{name}_legacy_format", "control", _bytes(_legacy_bytes(SOURCES[name]))))
    return cases


def corpus(sentinel: str, seed: int = SEED) -> list[Case]:
    """Every case, in a fixed order (the same seed gives the same corpus)."""
    rng = random.Random(seed)
    raws = {name: load_raw(path) for name, path in SOURCES.items()}
    cases = control_cases()
    cases += malicious_cases(sentinel, raws)
    cases += structural_cases(raws, rng)
    cases += mutation_cases(rng)
    cases += truncation_cases(rng)
    cases += resource_cases(raws)
    cases += special_cases()
    return cases


# ------------------------------------------------------------------------------------ running
class CaseTimeout(BaseException):
    """A case ran past its alarm (a BaseException, so that no ``except Exception`` swallows it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def eval_points(inr) -> Any:
    """A few points: the domain's centre, two corners and eight seeded random points."""
    import numpy as np

    lo = np.array([d[0] for d in inr.domain])
    hi = np.array([d[1] for d in inr.domain])
    rand = lo + (hi - lo) * np.random.default_rng(7).random((8, lo.size))
    return np.vstack([(lo + hi) / 2, lo, hi, rand])


def run_case(case: Case, folder: Path) -> dict:
    import numpy as np

    from inr_amr_core import CheckpointError, load_inr

    record: dict[str, Any] = {"name": case.name, "kind": case.kind}
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    saved_env: dict[str, str | None] = {}
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        path, kwargs = case.build(folder)
        for k, v in kwargs.pop("_env", {}).items():
            saved_env[k] = os.environ.get(k)
            os.environ[k] = v
        record["path"] = str(path)
        try:
            inr = load_inr(path, **kwargs)
        except CheckpointError as exc:
            msg = str(exc)
            record.update(
                outcome="refused",
                message=msg[:600],
                names_file=str(path) in msg,
                has_fix=bool(exc.fix.strip()),
                has_problem=bool(exc.problem.strip()),
                unexpected="could not be read: unexpected" in msg,
            )
        else:
            vals = inr.evaluate(eval_points(inr), chunk_size=64)
            record.update(
                outcome="loaded",
                finite=bool(np.isfinite(vals).all()),
                layout=inr.metadata.get("layout"),
                converted=inr.metadata.get("converted_dtypes", ""),
            )
    except CaseTimeout:
        record.update(outcome="timeout")
    except Exception as exc:  # noqa: BLE001  (what the test is looking for: recorded, then reported)
        record.update(outcome="error", error=f"{type(exc).__name__}: {exc}"[:600])
    finally:
        signal.alarm(0)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    record["seconds"] = round(time.perf_counter() - t0, 4)
    shutil.rmtree(folder, ignore_errors=True)
    return record


def main(argv: list[str]) -> int:
    out, sentinel = Path(argv[0]), argv[1]
    work = Path(argv[2]) if len(argv) > 2 else out.parent / "fuzz-work"
    os.environ.pop("INR_AMR_MAX_CHECKPOINT_BYTES", None)
    import logging
    import resource

    # a case that allocates without bound fails with MemoryError here instead of exhausting the machine
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))

    import torch

    logging.disable(logging.CRITICAL)  # the loader logs conversions; the records say everything
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    cases = corpus(sentinel)
    built = time.perf_counter() - t0
    with open(out, "w") as fh:
        fh.write(json.dumps({"corpus": len(cases), "build_seconds": round(built, 3)}) + "\n")
        for i, case in enumerate(cases):
            fh.write(json.dumps({"start": case.name}) + "\n")
            fh.flush()
            rec = run_case(case, work / f"c{i}")
            rec["sentinel"] = os.path.exists(sentinel)
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
        fh.write(json.dumps({"done": len(cases), "seconds": round(time.perf_counter() - t0, 3)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
