"""INR evaluation speed settings: they change how fast the INR evaluates, never its values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from helpers import ct_like_inr
from inr_amr_core import FourierFeatures, load_inr, tuning
from inr_amr_core import inr as inr_module


@pytest.fixture
def restore_threads(monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(inr_module, "_CPU_THREADS_CHOSEN", {})
    monkeypatch.setattr(inr_module, "_DEFAULT_CPU_THREADS", [2])
    yield
    torch.set_num_threads(threads)


def test_fastest_cpu_threads_picks_a_measured_count_and_keeps_the_values(restore_threads):
    torch.set_num_threads(2)
    model = ct_like_inr(width=64, layers=3, features=16)
    x = np.random.default_rng(0).uniform(-1, 1, (20_000, 4))
    before = model.evaluate(x)
    chosen = inr_module.fastest_cpu_threads(model, repeats=1)
    assert chosen in (1, 2)
    assert torch.get_num_threads() == chosen
    assert np.array_equal(model.evaluate(x), before)  # bitwise: the count changes speed only
    # measured once per process and architecture: a later call sets the count it chose, measuring nothing
    torch.set_num_threads(2)
    measured = inr_module._measure_threads
    inr_module._measure_threads = None  # type: ignore[assignment]  # would fail if called
    try:
        assert inr_module.fastest_cpu_threads(model) == chosen
        assert torch.get_num_threads() == chosen
    finally:
        inr_module._measure_threads = measured


def test_fastest_cpu_threads_chooses_the_faster_count(restore_threads, monkeypatch):
    torch.set_num_threads(2)
    model = ct_like_inr(width=16, layers=2, features=8)
    steps = {2: 5.0, 1: 1.0}  # seconds a timed pass "takes" at each count: one thread is faster here
    state = {"t": 0.0}

    def fake_clock():
        state["t"] += steps[torch.get_num_threads()] / 2  # two clock reads per timed pass
        return state["t"]

    monkeypatch.setattr(inr_module.time, "perf_counter", fake_clock)
    assert inr_module.fastest_cpu_threads(model, repeats=2) == 1
    assert torch.get_num_threads() == 1
    monkeypatch.setattr(inr_module, "_CPU_THREADS_CHOSEN", {})
    tuning.tuning_file().unlink()  # (another machine: nothing remembered)
    steps.update({2: 1.0, 1: 5.0})
    torch.set_num_threads(2)
    assert inr_module.fastest_cpu_threads(model, repeats=2) == 2


def test_each_architecture_gets_its_own_thread_count(restore_threads, monkeypatch):
    small, large = ct_like_inr(width=16, layers=2, features=8), ct_like_inr(width=64, layers=3, features=16)
    choice = {16: 1, 64: 2}  # what a measurement would find for each network's width
    monkeypatch.setattr(inr_module, "_measure_threads", lambda inr, counts, repeats: choice[inr.weights[0].shape[0]])
    assert inr_module.fastest_cpu_threads(small) == 1 and torch.get_num_threads() == 1
    assert inr_module.fastest_cpu_threads(large) == 2 and torch.get_num_threads() == 2  # measured against 2, not 1
    assert inr_module.fastest_cpu_threads(small) == 1 and torch.get_num_threads() == 1


def _forget_in_process(monkeypatch):
    monkeypatch.setattr(inr_module, "_FASTEST_CHUNK", {})
    monkeypatch.setattr(inr_module, "_CPU_THREADS_CHOSEN", {})


def test_speed_choices_are_remembered_across_processes(restore_threads, monkeypatch):
    torch.set_num_threads(2)
    _forget_in_process(monkeypatch)
    model = ct_like_inr(width=16, layers=2, features=8)
    chunk = inr_module.fastest_chunk(model)
    threads = inr_module.fastest_cpu_threads(model, repeats=1)
    assert tuning.tuning_file().is_file()
    # a new process: nothing in memory, and measuring would fail
    _forget_in_process(monkeypatch)
    monkeypatch.setattr(inr_module, "_best_forward_seconds", None)
    monkeypatch.setattr(inr_module, "_measure_threads", None)
    torch.set_num_threads(2)
    assert inr_module.fastest_chunk(model) == chunk
    assert inr_module.fastest_cpu_threads(model) == threads and torch.get_num_threads() == threads
    # another architecture is measured (and fails here: nothing was remembered for it)
    with pytest.raises(TypeError):
        inr_module.fastest_chunk(ct_like_inr(width=32, layers=2, features=8))


@pytest.mark.parametrize("which", ["hos", "ct"])
def test_every_chunk_gives_bitwise_the_same_values(which, hos, ct_path):
    """The chunk is chosen per machine, so it must never change a value (or a mesh): a point gets the
    same bits whatever the chunk and its place in it, tails of any length included."""
    model = hos if which == "hos" else load_inr(ct_path)
    x = np.random.default_rng(1).uniform(-1, 1, (66_001, model.n_inputs))  # 65,536 leaves a tail of 465
    reference = model.evaluate(x, chunk_size=len(x))
    for chunk in (*inr_module._CHUNK_CANDIDATES["cpu"], 3001):
        assert np.array_equal(model.evaluate(x, chunk_size=chunk), reference), chunk
    few = x[:131]
    for chunk in (1, 7, 64, 100):
        assert np.array_equal(model.evaluate(few, chunk_size=chunk), reference[:131]), chunk


def test_the_chunk_search_takes_the_fastest_and_stops_once_candidates_get_slow(monkeypatch):
    """Rates rise then fall with the chunk: the search keeps the fastest and stops timing at the first
    candidate well below it (timed twice, so that one slow timing does not end it), or before one that
    would take long to time (a wide network would spend seconds on the largest chunks)."""
    mpts = {256: 1.0, 512: 2.0, 1024: 3.0, 2048: 2.5, 4096: 1.9, 16384: 5.0, 65536: 9.0}
    slow_once: set[int] = set()  # candidates whose first timing a burst of other work slows to a third
    timed = []

    def fake_seconds(inr, x, chunk, repeats, at_least=0.0):
        timed.append(chunk)
        assert at_least > 0  # each candidate is timed over a minimum span, not one short pass
        burst = 3.0 if chunk in slow_once else 1.0
        slow_once.discard(chunk)
        return burst * x.shape[0] / (mpts[chunk] * 1e6)

    def search() -> int:
        timed.clear()
        monkeypatch.setattr(inr_module, "_FASTEST_CHUNK", {})
        return inr_module.fastest_chunk(ct_like_inr(width=16, layers=2, features=8))

    monkeypatch.setattr(inr_module, "_best_forward_seconds", fake_seconds)
    monkeypatch.setenv("INR_AMR_CACHE", "off")
    assert search() == 1024
    assert timed == [256, 512, 1024, 2048, 4096, 4096]  # 4096 runs at 0.63x the best twice: the search stops
    # a small network whose rate keeps rising gets the largest candidate, even when a burst slows one timing
    mpts.update({2048: 4.0, 4096: 4.5})
    slow_once.add(2048)
    assert search() == 65536
    assert timed == [256, 512, 1024, 2048, 2048, 4096, 16384, 65536]
    # a slow network: timing 65,536 points twice at the best rate so far (16,384's 0.25 Mpts/s) would take
    # 0.52 s, so it is not tried
    for c in mpts:
        mpts[c] *= 0.05
    assert search() == 16384
    assert timed == [256, 512, 1024, 2048, 4096, 16384]


def test_a_candidate_is_timed_over_repeated_passes(monkeypatch):
    """Each timing repeats the pass until the minimum span has gone by and gives the mean per pass."""
    model = ct_like_inr(width=16, layers=2, features=8)
    clock = {"t": 0.0, "passes": 0}

    def fake_forward(x):
        clock["t"] += 0.005  # every pass of this one-chunk input takes 5 ms
        clock["passes"] += 1

    monkeypatch.setattr(model, "forward", fake_forward)
    monkeypatch.setattr(inr_module.time, "perf_counter", lambda: clock["t"])
    x = torch.zeros(4096, model.n_inputs)
    assert inr_module._best_forward_seconds(model, x, 4096, 2, at_least=0.02) == pytest.approx(0.005)
    assert clock["passes"] == 8  # four passes reach 20 ms, twice
    clock["passes"] = 0
    assert inr_module._best_forward_seconds(model, x, 1024, 1) == pytest.approx(0.02)  # no span: one pass
    assert clock["passes"] == 4  # of four chunks


def test_remembered_choices_depend_on_their_context(monkeypatch):
    tuning.remember("chunk", ["cpu", 4], 2048)
    assert tuning.remembered("chunk", ["cpu", 4]) == 2048
    assert tuning.remembered("chunk", ["cpu", 5]) is None and tuning.remembered("threads", ["cpu", 4]) is None
    monkeypatch.setitem(__import__("sys").modules, "paraview", object())  # inside ParaView: another runtime
    assert tuning.remembered("chunk", ["cpu", 4]) is None


def test_an_unreadable_tuning_file_is_measured_again_and_rewritten(monkeypatch):
    path = tuning.tuning_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    for junk in ("{not json", "[1, 2]", '{"x": "y"}'):
        path.write_text(junk)
        assert tuning.remembered("chunk", ["cpu", 4]) is None
    tuning.remember("chunk", ["cpu", 4], 512)
    assert tuning.remembered("chunk", ["cpu", 4]) == 512
    _forget_in_process(monkeypatch)
    path.write_text("{not json")
    model = ct_like_inr(width=16, layers=2, features=8)
    assert inr_module.fastest_chunk(model) in inr_module._CHUNK_CANDIDATES["cpu"]


def test_entries_of_an_older_measurement_format_are_dropped_on_the_next_write():
    path = tuning.tuning_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.dumps({"format": tuning._FORMAT - 1, "kind": "chunk", "key": ["cpu", 4]}, sort_keys=True)
    path.write_text(json.dumps({old: 4096, "not json": 1}))
    assert tuning.remembered("chunk", ["cpu", 4]) is None  # measured again, not taken from the older format
    tuning.remember("chunk", ["cpu", 4], 1024)
    assert list(json.loads(path.read_text()).values()) == [1024]


def test_nothing_is_remembered_with_the_cache_off(monkeypatch):
    monkeypatch.setenv("INR_AMR_CACHE", "off")
    assert tuning.tuning_file() is None
    tuning.remember("chunk", ["cpu", 4], 512)
    assert tuning.remembered("chunk", ["cpu", 4]) is None
    _forget_in_process(monkeypatch)
    assert inr_module.fastest_chunk(ct_like_inr(width=16, layers=2, features=8)) > 0


@pytest.mark.parametrize("shape", [(1, 4), (333, 4), (5, 70, 4)])
def test_fourier_features_are_the_concatenated_cosines_and_sines(shape):
    """The encoding written into one tensor's halves: bitwise the concatenation of cos and sin of
    2 pi x B, cosines first, for a batch of points and for boxes of points."""
    g = torch.Generator().manual_seed(3)
    matrix = torch.randn(4, 96, generator=g) * 2.5
    x = torch.rand(shape, generator=g) * 2 - 1
    proj = (2.0 * math.pi) * (x @ matrix)
    expected = torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)
    assert torch.equal(FourierFeatures(matrix)(x), expected)
    # with autograd recording (INR.forward supports it): the same values, and the analytic gradient,
    # d/dx sum(cos(2 pi x B) + sin(2 pi x B)) = 2 pi (cos - sin)(2 pi x B) B^T
    xg = x.clone().requires_grad_(True)
    encoded = FourierFeatures(matrix)(xg)
    assert torch.equal(encoded.detach(), expected)
    encoded.sum().backward()
    analytic = (2.0 * math.pi) * (torch.cos(proj) - torch.sin(proj)) @ matrix.T
    torch.testing.assert_close(xg.grad, analytic, rtol=1e-4, atol=1e-3)


def test_an_inr_is_differentiable_with_respect_to_its_inputs():
    model = ct_like_inr(width=16, layers=2, features=8, seed=1)
    x = torch.rand(5, 4, requires_grad=True)
    model.forward(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape and torch.isfinite(x.grad).all()
