"""INR evaluation speed settings: they change how fast the INR evaluates, never its values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import ct_like_inr
from inr_amr_core import inr as inr_module


@pytest.fixture
def restore_threads(monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(inr_module, "_CPU_THREADS_CHOSEN", {})
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
    # measured once per process: a later call (even after the user changed the count) keeps the count
    torch.set_num_threads(2)
    assert inr_module.fastest_cpu_threads(model) == 2
    assert inr_module._CPU_THREADS_CHOSEN["cpu"] == chosen


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
    steps.update({2: 1.0, 1: 5.0})
    torch.set_num_threads(2)
    assert inr_module.fastest_cpu_threads(model, repeats=2) == 2


def test_paraview_processes_wait_passively_unless_told_otherwise():
    from inr_amr_apps.launch import paraview_environment

    assert paraview_environment({})["OMP_WAIT_POLICY"] == "PASSIVE"
    assert paraview_environment({"OMP_WAIT_POLICY": "ACTIVE"})["OMP_WAIT_POLICY"] == "ACTIVE"
