"""Every checkpoint layout round-trips; every kind of bad file gets its own clear error."""

from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

from helpers import ct_like_inr, random_mlp
from inr_amr_core import INR, Activation, CheckpointError, load_inr, save_ct_checkpoint, save_inr

POINTS = np.random.default_rng(0).random((200, 2))


def torch_reference(weights, biases, acts, x, encoding=None, scale=1.0):
    """Independent evaluation with torch.nn modules."""
    h = torch.tensor(x, dtype=torch.float32)
    if encoding is not None:
        proj = 2 * np.pi * h @ encoding
        h = torch.cat([torch.cos(proj), torch.sin(proj)], -1)
    for w, b, act in zip(weights, biases, acts):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
            h = act(lin(h))
    return (h * scale).detach().numpy()


class Sine(torch.nn.Module):
    def __init__(self, w0):
        super().__init__()
        self.w0 = w0

    def forward(self, x):
        return torch.sin(self.w0 * x)


def test_hos_loads_as_lists(hos_path):
    inr = load_inr(hos_path)
    assert inr.metadata["layout"] == "lists"
    assert inr.hidden_widths == (32, 32, 32, 32)
    assert [a.name for a in inr.activations] == ["relu"] * 4 + ["identity"]
    assert inr.input_names == ("x", "y") and inr.domain == ((0.0, 1.0), (0.0, 1.0))


@pytest.mark.parametrize("containers", ["torch", "plain"])
def test_lists_layout_roundtrip(tmp_path, containers):
    w, b = random_mlp([2, 8, 8, 1], seed=1)
    acts = [torch.nn.Tanh(), torch.nn.SiLU(), torch.nn.Identity()]
    if containers == "torch":
        payload = {
            "weights_list": torch.nn.ParameterList([torch.nn.Parameter(x) for x in w]),
            "bias_list": torch.nn.ParameterList([torch.nn.Parameter(x) for x in b]),
            "act_list": torch.nn.ModuleList(acts),
            "gauss": torch.nn.Parameter(torch.empty(0)),
        }
    else:
        payload = {"weights_list": w, "bias_list": b, "act_list": acts}
    path = tmp_path / "m_lists.ckpt"
    torch.save(payload, path)
    inr = load_inr(path)
    assert [a.name for a in inr.activations] == ["tanh", "silu", "identity"]
    np.testing.assert_allclose(inr.evaluate(POINTS), torch_reference(w, b, acts, POINTS), rtol=1e-5, atol=1e-6)


def test_leaky_relu_parameter_is_kept(tmp_path):
    w, b = random_mlp([2, 8, 1], seed=2)
    acts = [torch.nn.LeakyReLU(0.2), torch.nn.Identity()]
    torch.save({"weights_list": w, "bias_list": b, "act_list": acts}, tmp_path / "l.ckpt")
    inr = load_inr(tmp_path / "l.ckpt")
    assert inr.activations[0].params["negative_slope"] == pytest.approx(0.2)
    np.testing.assert_allclose(inr.evaluate(POINTS), torch_reference(w, b, acts, POINTS), rtol=1e-5, atol=1e-6)


def test_dict_layout_needs_and_takes_activations(tmp_path):
    w, b = random_mlp([2, 8, 8, 1], seed=4)
    state = {}
    for i, (wi, bi) in enumerate(zip(w, b)):
        state[f"Layers.{i}.weight"] = wi
        state[f"Layers.{i}.bias"] = bi
        state[f"weights_list.{i}"] = wi  # the reference code stores duplicates
    path = tmp_path / "m_dict.ckpt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_inr(path)
    assert "stores no activations" in str(err.value) and str(path) in str(err.value)
    inr = load_inr(path, activations="relu")
    acts = [torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.Identity()]
    np.testing.assert_allclose(inr.evaluate(POINTS), torch_reference(w, b, acts, POINTS), rtol=1e-5, atol=1e-6)


def test_ct4d_layout_roundtrip(tmp_path):
    inr = ct_like_inr(width=16, layers=3, features=8)
    path = save_ct_checkpoint(inr, tmp_path / "ct.pt")
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"nn_model", "scale_lac"}
    assert "module.gauss" in raw["nn_model"] and "module.fcnn.nn.6.weight" in raw["nn_model"]
    back = load_inr(path)
    assert back.metadata["layout"] == "ct4d"
    assert back.input_names == ("t", "z", "y", "x")
    x = np.random.default_rng(1).uniform(-1, 1, (100, 4))
    ref = torch_reference(
        inr.weights,
        inr.biases,
        [torch.nn.SiLU()] * 3 + [torch.nn.Identity()],
        x,
        encoding=inr.encoding.matrix,
        scale=0.1,
    )
    np.testing.assert_allclose(back.evaluate(x), ref, rtol=1e-4, atol=1e-6)


def test_ct4d_without_scale_uses_reference_default(tmp_path):
    inr = ct_like_inr(width=8, layers=2, features=4)
    save_ct_checkpoint(inr, tmp_path / "ct.pt")
    raw = torch.load(tmp_path / "ct.pt", weights_only=True)
    del raw["scale_lac"]
    torch.save(raw, tmp_path / "ct2.pt")
    back = load_inr(tmp_path / "ct2.pt")
    assert back.output_scale == pytest.approx(0.1)
    assert "default" in back.metadata["output_scale_source"]


def test_sequential_siren_with_sidecar(tmp_path):
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 16), Sine(30.0), torch.nn.Linear(16, 16), Sine(30.0), torch.nn.Linear(16, 1)
    )
    path = tmp_path / "siren.pth"
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match="sidecar"):
        load_inr(path)
    (tmp_path / "siren.json").write_text(
        json.dumps(
            {
                "activation": "sine",
                "activation_params": {"w0": 30},
                "input_names": ["u", "v"],
                "domain": [[-1, 1], [-1, 1]],
                "output_names": ["intensity"],
            }
        )
    )
    inr = load_inr(path)
    assert inr.metadata["layout"] == "sequential"
    assert [a.describe() for a in inr.activations] == ["sine(w0=30)", "sine(w0=30)", "identity"]
    assert inr.input_names == ("u", "v") and inr.output_names == ("intensity",)
    x = np.random.default_rng(2).uniform(-1, 1, (100, 2))
    with torch.no_grad():
        ref = net(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(inr.evaluate(x), ref, rtol=1e-4, atol=1e-5)


def test_sequential_with_fourier_encoding(tmp_path):
    g = torch.Generator().manual_seed(5)
    bmat = torch.randn(3, 6, generator=g)
    net = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.GELU(), torch.nn.Linear(8, 1))
    state = dict(net.state_dict())
    state = {f"net.{k}": v for k, v in state.items()}
    state["B"] = bmat
    torch.save(state, tmp_path / "f.pt")
    side = tmp_path / "f_config.json"
    side.write_text(json.dumps({"activations": ["gelu"], "encoding": {"type": "fourier", "key": "B"}}))
    inr = load_inr(tmp_path / "f.pt", sidecar=side)
    x = np.random.default_rng(3).random((50, 3))
    ref = torch_reference(
        [net[0].weight, net[2].weight],
        [net[0].bias, net[2].bias],
        [torch.nn.GELU(), torch.nn.Identity()],
        x,
        encoding=bmat,
    )
    np.testing.assert_allclose(inr.evaluate(x), ref, rtol=1e-4, atol=1e-6)


def test_native_roundtrip_and_convert(tmp_path, hos):
    path = save_inr(hos, tmp_path / "hos_native.pt")
    back = load_inr(path)
    assert back.metadata["layout"] == "native"
    x = np.random.default_rng(4).random((300, 2))
    np.testing.assert_array_equal(back.evaluate(x), hos.evaluate(x))
    # loads with the strictest torch settings: plain tensors and containers only
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "inr-amr" and raw["version"] == 1


def test_unwraps_state_dict_wrapper(tmp_path):
    w, b = random_mlp([2, 4, 1])
    torch.save(
        {
            "state_dict": {
                "Layers.0.weight": w[0],
                "Layers.0.bias": b[0],
                "Layers.1.weight": w[1],
                "Layers.1.bias": b[1],
            },
            "epoch": 3,
        },
        tmp_path / "wrapped.ckpt",
    )
    assert load_inr(tmp_path / "wrapped.ckpt", activations="tanh").hidden_widths == (4,)


# ------------------------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_inr(tmp_path / "nope.pt")


def test_not_a_torch_file(tmp_path):
    p = tmp_path / "notes.pt"
    p.write_text("hello, I am text")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as err:
        load_inr(p)
    assert str(p) in str(err.value)


def test_empty_and_truncated(tmp_path, hos_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_inr(tmp_path / "empty.pt")
    data = hos_path.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"damaged|truncated|malformed"):
        load_inr(tmp_path / "cut.ckpt")


def test_unknown_layout_lists_keys(tmp_path):
    torch.save({"encoder": torch.zeros(3), "decoder": torch.zeros(2), "lr": 0.1}, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError) as err:
        load_inr(tmp_path / "odd.pt")
    msg = str(err.value)
    assert "unknown checkpoint layout" in msg and "encoder" in msg and "decoder" in msg


def test_layer_shape_mismatch_names_layer(tmp_path):
    w, b = random_mlp([2, 8, 8, 1])
    w[2] = torch.zeros(1, 5)
    torch.save(
        {"weights_list": w, "bias_list": b, "act_list": [torch.nn.ReLU()] * 2 + [torch.nn.Identity()]},
        tmp_path / "bad.ckpt",
    )
    with pytest.raises(CheckpointError, match=r"layer 2: weight expects 5 inputs but layer 1 gives 8"):
        load_inr(tmp_path / "bad.ckpt")


def test_nan_weights(tmp_path):
    w, b = random_mlp([2, 8, 1])
    w[1][0, 3] = float("nan")
    torch.save(
        {"weights_list": w, "bias_list": b, "act_list": [torch.nn.ReLU(), torch.nn.Identity()]}, tmp_path / "nan.ckpt"
    )
    with pytest.raises(CheckpointError, match="layer 1: weights or bias contain NaN or Inf"):
        load_inr(tmp_path / "nan.ckpt")


def test_unsupported_activation(tmp_path):
    w, b = random_mlp([2, 8, 1])
    torch.save(
        {"weights_list": w, "bias_list": b, "act_list": [torch.nn.Softmax(dim=1), torch.nn.Identity()]},
        tmp_path / "softmax.ckpt",
    )
    with pytest.raises(CheckpointError, match=r"unsupported activation.*Softmax"):
        load_inr(tmp_path / "softmax.ckpt")
    (tmp_path / "x.json").write_text(json.dumps({"activation": "swoosh"}))
    torch.save({"0.weight": w[0], "0.bias": b[0], "2.weight": w[1], "2.bias": b[1]}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="unsupported activation 'swoosh'"):
        load_inr(tmp_path / "x.pt")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/inr_amr_pwned_marker",))


def test_hostile_pickle_is_refused_and_never_run(tmp_path):
    marker = "/tmp/inr_amr_pwned_marker"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "evil.ckpt"
    torch.save({"weights_list": [torch.zeros(2, 2)], "payload": _Evil()}, path)
    with pytest.raises(CheckpointError, match="arbitrary code") as err:
        load_inr(path)
    assert "os.system" in str(err.value) or "posix.system" in str(err.value)
    assert not os.path.exists(marker), "code from the checkpoint was executed"


def test_whole_module_pickle_is_refused(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    torch.save(net, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"pickles whole torch modules.*state_dict"):
        load_inr(tmp_path / "model.pt")


def test_hostile_legacy_pickle(tmp_path):
    """A plain (non-zip) pickle stream with a malicious global: refused by the weights-only unpickler."""
    path = tmp_path / "legacy.pt"
    with open(path, "wb") as fh:
        pickle.dump(_Evil(), fh, protocol=2)
    marker = "/tmp/inr_amr_pwned_marker"
    with pytest.raises(CheckpointError):
        load_inr(path)
    assert not os.path.exists(marker)


def test_bad_sidecar_keys(tmp_path):
    w, b = random_mlp([2, 4, 1])
    torch.save({"0.weight": w[0], "0.bias": b[0], "2.weight": w[1], "2.bias": b[1]}, tmp_path / "s.pt")
    (tmp_path / "s.json").write_text(json.dumps({"activaton": "relu"}))
    with pytest.raises(CheckpointError, match=r"unknown sidecar key.*activaton"):
        load_inr(tmp_path / "s.pt")
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_inr(tmp_path / "s.pt")


def test_bad_archive_member(tmp_path, hos_path):
    """A zip whose pickle member is garbage."""
    bad = tmp_path / "garbage.ckpt"
    with zipfile.ZipFile(hos_path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("data.pkl"):
                data = b"\x80\x02garbage"
            dst.writestr(item, data)
    with pytest.raises(CheckpointError):
        load_inr(bad)


def test_bad_domain_and_names():
    w, b = random_mlp([2, 4, 1])
    with pytest.raises(ValueError, match="domain of input 'x'"):
        INR(w, b, [Activation("relu"), Activation("identity")], domain=((1, 0), (0, 1)))
    with pytest.raises(ValueError, match="input names"):
        INR(w, b, [Activation("relu"), Activation("identity")], input_names=("x",))


# ------------------------------------------------------------------------------------ hostile and broken input
def _lists(path, w, b, acts=None, **extra):
    acts = acts if acts is not None else [torch.nn.ReLU()] * (len(w) - 1) + [torch.nn.Identity()]
    torch.save({"weights_list": w, "bias_list": b, "act_list": acts, **extra}, path)
    return path


def _refusal(path, match, **kwargs):
    """load_inr(path) raises a CheckpointError naming the file, matching ``match``, with a fix."""
    with pytest.raises(CheckpointError, match=match) as err:
        load_inr(path, **kwargs)
    assert str(path) in str(err.value), err.value
    assert err.value.problem and err.value.fix, err.value
    return err.value


@pytest.mark.parametrize("shape", [(0, 2), (8, 0)])
def test_zero_width_layer(tmp_path, shape):
    w, b = random_mlp([2, 8, 1])
    w[0] = torch.zeros(shape)
    b[0] = torch.zeros(shape[0])
    _refusal(_lists(tmp_path / "zero.ckpt", w, b), r"layer 0 has zero width \(weight shape")


@pytest.mark.parametrize(
    "pkl",
    [b"\x80\x02a.", b"\x80\x02(K\x01K\x02e0.", b"\x80\x02h\x05.", b"\x80\x02]q\x00K\x01\x85\x85e.", b"\x80\x02."],
    ids=["append_on_empty_stack", "pop_mark", "missing_memo", "appends_without_mark", "stop_on_empty"],
)
def test_damaged_pickle_is_a_refusal(tmp_path, hos_path, pkl):
    """Damaged pickles that made the unpickler raise IndexError ('pop from empty list', 'list index out
    of range') or KeyError: inside a real archive (valid CRCs) and after a legacy header."""
    archive = tmp_path / "mutated.ckpt"
    with zipfile.ZipFile(hos_path) as src, zipfile.ZipFile(archive, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, pkl if item.filename.endswith("data.pkl") else src.read(item))
    _refusal(archive, r"is damaged: its data\.pkl cannot be read")
    legacy = tmp_path / "mutated_legacy.pt"
    legacy.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({}, 2) + pkl)
    _refusal(legacy, r"is damaged: its main pickle cannot be read")


def test_sidecar_refusals_name_the_checkpoint(tmp_path):
    w, b = random_mlp([2, 4, 1])
    torch.save({"0.weight": w[0], "0.bias": b[0], "2.weight": w[1], "2.bias": b[1]}, tmp_path / "s.pt")
    side = tmp_path / "s.json"
    for text, match in [
        ('{"activaton": "relu"}', "unknown sidecar key"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"activation": 5}', "activation should be a name"),
        ('{"activation": "relu", "domain": "square"}', "domain should be a list"),
        ('{"activation": "relu", "activation_params": [1]}', "activation_params should be a dict"),
    ]:
        side.write_text(text)
        err = _refusal(tmp_path / "s.pt", match)
        assert str(side) in str(err)  # and the sidecar too


def test_nan_everywhere_is_refused_at_load(tmp_path):
    """Finite weights near float32's limit and a sidecar's sine w0 = 1e308 loaded, then gave NaN/Inf."""
    w, b = random_mlp([2, 8, 8, 1])
    w[1] = torch.full((8, 8), 3.0e38)
    err = _refusal(_lists(tmp_path / "huge.ckpt", w, b), r"evaluates to NaN or Inf at \d+ of \d+ probe points")
    assert "e.g. at x=" in str(err)
    w, b = random_mlp([2, 8, 1])
    torch.save({"0.weight": w[0], "0.bias": b[0], "2.weight": w[1], "2.bias": b[1]}, tmp_path / "siren.pt")
    (tmp_path / "siren.json").write_text('{"activation": "sine", "activation_params": {"w0": 1e308}}')
    _refusal(tmp_path / "siren.pt", r"w0 = 1e\+308 is beyond float32's range")
    (tmp_path / "siren.json").write_text('{"activation": "sine", "activation_params": {"w0": 3e38}}')
    _refusal(tmp_path / "siren.pt", "evaluates to NaN or Inf")
    (tmp_path / "siren.json").write_text('{"activation": "sine", "activation_params": {"w0": 30}}')
    assert load_inr(tmp_path / "siren.pt").activations[0].params["w0"] == 30


def test_complex_weights_are_refused_not_cast(tmp_path):
    w, b = random_mlp([2, 8, 1])
    w[0] = w[0].to(torch.complex64)  # imaginary part zero: still refused, the cast would be silent
    _refusal(_lists(tmp_path / "complex.ckpt", w, b), r"key 'weights_list\[0\]' holds complex numbers")
    with pytest.raises(ValueError, match="complex"):
        INR([w[0], w[1]], b, [Activation("relu"), Activation("identity")])


def test_integer_and_boolean_tensors(tmp_path):
    w, b = random_mlp([2, 8, 1])
    w[0] = (w[0] * 10).round().to(torch.int32)
    inr = load_inr(_lists(tmp_path / "int.ckpt", w, b))
    assert inr.metadata["converted_dtypes"] == "weights_list[0]: torch.int32 -> float32"
    assert inr.weights[0].dtype == torch.float32
    np.testing.assert_array_equal(inr.weights[0].numpy(), w[0].numpy().astype(np.float32))
    w[0] = w[0] > 0
    _refusal(_lists(tmp_path / "bool.ckpt", w, b), r"holds booleans")
    w[0] = torch.randn(8, 2).double() * 1e300
    _refusal(_lists(tmp_path / "f64.ckpt", w, b), r"beyond float32's range")


def test_act_list_must_match_the_layers(tmp_path):
    w, b = random_mlp([2, 8, 8, 1])
    _refusal(_lists(tmp_path / "short.ckpt", w, b, [torch.nn.ReLU()] * 2), r"act_list has 2 activations for 3 layers")
    _refusal(_lists(tmp_path / "long.ckpt", w, b, [torch.nn.ReLU()] * 4), r"act_list has 4 activations for 3 layers")
    # explicitly given activations still override (and may leave the output to its identity default)
    assert load_inr(tmp_path / "short.ckpt", activations="relu").hidden_widths == (8, 8)


def test_conflicting_layout_keys(tmp_path, ct4d):
    w, b = random_mlp([2, 8, 1])
    raw = torch.load(ct4d, weights_only=True)
    torch.save({**raw, "weights_list": w, "bias_list": b}, tmp_path / "both.pt")
    _refusal(tmp_path / "both.pt", r"holds the keys of several layouts \(lists, ct4d")
    assert load_inr(tmp_path / "both.pt", layout="ct4d").input_names == ("t", "z", "y", "x")
    torch.save({"state_dict": raw, "model": raw}, tmp_path / "two.pt")
    _refusal(tmp_path / "two.pt", r"holds several networks \(state_dict, model\)")


def test_missing_layer_is_not_skipped(tmp_path, ct4d):
    raw = torch.load(ct4d, weights_only=True)
    del raw["nn_model"]["module.fcnn.nn.2.weight"]
    torch.save(raw, tmp_path / "gap.pt")
    _refusal(tmp_path / "gap.pt", r"should be numbered 0, 2, 4, \.\.\. but are \[0, 4, 6\]")
    w, b = random_mlp([2, 8, 8, 1])
    state = {"0.weight": w[0], "0.bias": b[0], "2.bias": b[1], "4.weight": w[2], "4.bias": b[2]}
    torch.save(state, tmp_path / "seq.pt")
    _refusal(tmp_path / "seq.pt", r"'2\.bias' has no weight beside it", activations="relu")


def test_declared_storage_larger_than_its_record(tmp_path, hos_path):
    with zipfile.ZipFile(hos_path) as src:
        name = next(n for n in src.namelist() if n.endswith("data.pkl"))
        pkl = src.read(name)
    at = pkl.index(b"K@t")  # the first storage: 64 elements (BININT1 64), declared as 2**31 - 1
    bad = pkl[:at] + b"J\xff\xff\xff\x7f" + pkl[at + 2 :]
    with zipfile.ZipFile(hos_path) as src, zipfile.ZipFile(tmp_path / "big.ckpt", "w") as dst:
        for item in src.infolist():
            dst.writestr(item, bad if item.filename == name else src.read(item))
    _refusal(tmp_path / "big.ckpt", r"tensor data '0' is declared as 8,589,934,588 bytes but the archive holds 256")


def test_crc_damage_is_refused(tmp_path, hos_path):
    data = bytearray(hos_path.read_bytes())
    with zipfile.ZipFile(hos_path) as z:
        info = z.getinfo(next(n for n in z.namelist() if n.endswith("/data/1")))
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + 10] ^= 0x40  # one weight's byte, inside the record
    (tmp_path / "flip.ckpt").write_bytes(bytes(data))
    _refusal(tmp_path / "flip.ckpt", r"archive member '.*data/1' fails its CRC check")


def test_special_files_are_refused_without_opening(tmp_path):
    import signal

    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    signal.alarm(10)  # opening a FIFO would block forever
    try:
        _refusal(fifo, "is a named pipe")
    finally:
        signal.alarm(0)
    _refusal(tmp_path, "is a folder")
    with pytest.raises(CheckpointError, match="is a character device"):
        load_inr("/dev/zero")


def test_malicious_activation_in_act_list(tmp_path):
    marker = "/tmp/inr_amr_pwned_marker"
    if os.path.exists(marker):
        os.unlink(marker)
    w, b = random_mlp([2, 8, 1])
    _refusal(_lists(tmp_path / "evil.ckpt", w, b, [_Evil(), torch.nn.Identity()]), "arbitrary code")
    torch.save({"weights_list": w, "bias_list": b, "act_list": [_Evil()] * 2}, tmp_path / "evil.pt",
               _use_new_zipfile_serialization=False)  # fmt: skip
    _refusal(tmp_path / "evil.pt", r"arbitrary code \(posix\.system\)")
    assert not os.path.exists(marker)


def test_only_checkpoint_errors_escape(tmp_path, monkeypatch):
    """The last-resort net: an unexpected error inside the checks becomes a CheckpointError too."""
    from inr_amr_core import checkpoint

    w, b = random_mlp([2, 4, 1])
    path = _lists(tmp_path / "ok.ckpt", w, b)

    def boom(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(checkpoint, "_from_lists", boom)
    monkeypatch.setitem(checkpoint._READERS, "lists", boom)
    err = _refusal(path, r"could not be read: unexpected IndexError")
    assert "report it" in err.fix
