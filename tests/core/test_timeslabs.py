"""Work shared across time steps: the mesh at t is defined by t alone (see inr_amr_core.timeslabs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import ct_like_inr
from inr_amr_core import INR, Activation, FourierFeatures, refine
from inr_amr_core.criteria import make_criterion
from inr_amr_core.run import resolved_time_levels, settings_for_time_steps, shares_across_time
from inr_amr_core.settings import RefinementSettings, SeriesSettings, SettingsError, spec
from inr_amr_core.timeslabs import MAX_TIME_LEVELS, PROBES, STEPS_PER_SLAB, TimeAxis, auto_time_levels

#: the finest slab level of a run that is not told the time steps: the one for the reader's 11 defaults
DEFAULT_LEVELS = 2


def leaf_set(result) -> set:
    return set(zip(result.tree.levels.tolist(), map(tuple, result.tree.coords.tolist())))


def count_tests(result) -> int:
    return sum(row["tested"] for row in result.iterations)


def still_inr() -> INR:
    """An INR in (t, z, y, x) whose output does not depend on t (the time features have zero weight)."""
    inr = ct_like_inr(width=24, layers=2, features=8, seed=2)
    w0 = inr.weights[0].clone()
    b = inr.encoding.matrix.clone()
    b[0] = 0.0  # no frequency along t: every feature is constant in time
    return INR(
        [w0, *inr.weights[1:]],
        inr.biases,
        inr.activations,
        FourierFeatures(b),
        inr.input_names,
        inr.domain,
        inr.output_scale,
    )


def moving_inr(speed: float = 0.6) -> INR:
    """Everything moves: f(x, y, z, t) = g(x - speed t, y, z), a travelling pattern."""
    g = torch.Generator().manual_seed(4)
    freqs = torch.randn(3, 12, generator=g) * 0.6
    b = torch.cat([-speed * freqs[:1], freqs[2:3], freqs[1:2], freqs[:1]], dim=0)  # rows t, z, y, x
    w1 = torch.randn(32, 24, generator=g) * 0.4
    w2 = torch.randn(1, 32, generator=g) * 0.3
    return INR(
        [w1, w2],
        [torch.zeros(32), torch.zeros(1)],
        [Activation("silu"), Activation("identity")],
        FourierFeatures(b),
        ("t", "z", "y", "x"),
        ((-1.0, 1.0),) * 4,
        1.0,
    )


#: Basic with more samples than an element's stationarity probes, so that its tests are shared across time
KW = dict(method="basic", error_samples=64, max_dofs=3000, device="cpu", uniform_refinements=1, conforming_dofs=False)


def test_a_still_field_has_one_mesh_and_is_tested_once():
    inr = still_inr()
    first = refine(inr, time=-0.7, **KW)
    later = refine(inr, first.settings.replace(time=0.9), resume=first)
    assert leaf_set(first) == leaf_set(later)
    assert count_tests(later) == 0  # every element stationary over the whole range: its one score is reused
    np.testing.assert_allclose(later.leaf_values(), refine(inr, time=0.9, **KW).leaf_values())


def test_a_moving_field_is_scored_at_the_finest_slab_centre():
    inr = moving_inr()
    for t in (-0.93, 0.1, 0.66):
        axis = TimeAxis(0, -1.0, 1.0, DEFAULT_LEVELS, 1e-2, 1.0)
        centre = axis.slab(t, DEFAULT_LEVELS)[2]
        at_t = refine(inr, time=t, **KW)
        at_centre = refine(inr, time=centre, **KW)
        assert leaf_set(at_t) == leaf_set(at_centre), t  # the structure is the one of the slab's centre ...
        direct = inr.evaluate(at_t.space.to_inputs(at_t.tree.leaf_centers()))[:, 0]
        np.testing.assert_allclose(at_t.leaf_values(), direct, rtol=1e-6, atol=1e-7)  # ... the values are at t
    assert leaf_set(refine(inr, time=-0.93, **KW)) != leaf_set(refine(inr, time=0.66, **KW))


def test_time_levels_zero_scores_at_the_time_itself():
    inr = still_inr()
    a = refine(inr, time=0.1, time_levels=0, **KW)
    b = refine(inr, a.settings.replace(time=0.5), resume=a)
    assert count_tests(b) == count_tests(refine(inr, time=0.5, time_levels=0, **KW)) > 0  # nothing shared


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 1, 0, 2), (2, 3, 1, 0)])
def test_the_mesh_at_a_time_does_not_depend_on_the_steps_visited_before(order):
    inr = ct_like_inr(width=24, layers=2, features=8, seed=5)
    times = (-1.0, -0.35, 0.4, 1.0)
    fresh = {t: leaf_set(refine(inr, time=t, **KW)) for t in times}
    previous = None
    for i in order:
        t = times[i]
        r = refine(inr, previous.settings.replace(time=t), resume=previous) if previous else refine(inr, time=t, **KW)
        assert leaf_set(r) == fresh[t], (order, t)
        previous = r


def test_the_field_scale_is_probed_once_for_every_time_step(monkeypatch):
    """The stationarity scale (the field's RMS over space and time) does not depend on the time step:
    a run resumed at another time takes it from the runs before, and gives a fresh run's mesh."""
    from inr_amr_core import run as run_module

    inr = ct_like_inr(width=24, layers=2, features=8, seed=5)
    fresh = {t: refine(inr, time=t, **KW) for t in (-0.4, 0.6)}
    probed = []
    field_scale = run_module._field_scale
    monkeypatch.setattr(run_module, "_field_scale", lambda *a: probed.append(a) or field_scale(*a))
    first = refine(inr, time=-0.4, **KW)
    later = refine(inr, first.settings.replace(time=0.6), resume=first)
    assert len(probed) == 1
    assert leaf_set(later) == leaf_set(fresh[0.6]) and leaf_set(first) == leaf_set(fresh[-0.4])
    scales = later.budget_state.cache.field_scales
    assert list(scales.values()) == [field_scale(*probed[0])]


def test_only_tests_dearer_than_their_probes_are_shared():
    def shares(**kw):
        settings = RefinementSettings(**kw)
        return shares_across_time(make_criterion(settings), resolved_time_levels(settings, -1.0, 1.0))

    probes = PROBES * (DEFAULT_LEVELS + 2)  # an element's probes at the default time levels
    assert not shares(method="uniform")
    assert not shares(method="basic", error_samples=probes)
    assert shares(method="basic", error_samples=probes + 1)
    assert shares(method="pruning")
    assert not shares(method="pruning", time_levels=0)


def test_a_cheap_test_is_repeated_at_every_time():
    inr = still_inr()
    kw = {**KW, "error_samples": 32}
    first = refine(inr, time=-0.7, **kw)
    later = refine(inr, first.settings.replace(time=0.9), resume=first)
    assert count_tests(later) == count_tests(refine(inr, time=0.9, **kw)) > 0
    assert leaf_set(later) == leaf_set(first)  # a still field: the same mesh, tested again


def brute_force_levels(n_steps: int, lo: float, hi: float) -> int:
    """The finest level j <= 12 whose slab width (hi - lo) / 2^j is at least two step spacings, by trying each."""
    spacing = (hi - lo) / (n_steps - 1)
    best = 0
    for j in range(MAX_TIME_LEVELS + 1):
        if (hi - lo) / 2**j >= STEPS_PER_SLAB * spacing * (1 - 1e-12):
            best = j
    return best


@pytest.mark.parametrize("n_steps", [2, 3, 4, 5, 9, 11, 17, 21, 100, 700, 100_000])
@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (0.0, 0.37)])
def test_auto_time_levels_gives_the_finest_slabs_holding_two_step_spacings(n_steps, lo, hi):
    steps = np.linspace(lo, hi, n_steps)
    assert auto_time_levels(steps, lo, hi) == brute_force_levels(n_steps, lo, hi)
    assert auto_time_levels(steps[::-1], lo, hi) == auto_time_levels(steps, lo, hi)  # the order does not matter


def test_auto_time_levels_of_a_single_step_is_no_sharing():
    assert auto_time_levels([0.3], -1.0, 1.0) == 0
    assert auto_time_levels([], -1.0, 1.0) == 0


def test_the_default_levels_are_those_of_the_default_time_steps():
    steps = SeriesSettings().values(-1.0, 1.0)
    assert resolved_time_levels(RefinementSettings(), -1.0, 1.0) == auto_time_levels(steps, -1.0, 1.0)
    assert brute_force_levels(len(steps), -1.0, 1.0) == DEFAULT_LEVELS
    assert resolved_time_levels(RefinementSettings(time_levels=5), -1.0, 1.0) == 5


def test_auto_time_levels_is_written_auto_and_minus_one_in_paraview():
    kind = spec("time_levels").kind
    assert RefinementSettings().time_levels is None
    assert kind.parse("auto") is None and kind.parse("0") == 0 and kind.parse("3") == 3
    assert kind.to_paraview(None) == [-1] and kind.from_paraview([-1]) is None and kind.from_paraview([4]) == 4
    assert RefinementSettings(time_levels=-1).time_levels is None
    with pytest.raises(SettingsError, match="time_levels"):
        RefinementSettings(time_levels=-2)
    with pytest.raises(SettingsError, match="time_levels"):
        RefinementSettings(time_levels=13)


def test_front_ends_resolve_auto_levels_for_their_time_steps():
    inr = moving_inr()
    auto = RefinementSettings()
    assert settings_for_time_steps(inr, auto, np.linspace(-1, 1, 21)).time_levels == 3
    assert settings_for_time_steps(inr, auto, np.linspace(-1, 1, 700)).time_levels == 8
    assert settings_for_time_steps(inr, RefinementSettings(time_levels=1), np.linspace(-1, 1, 700)).time_levels == 1
    still = ct_like_inr(width=8, layers=1, features=4, seed=1)
    no_time = INR(
        still.weights,
        still.biases,
        still.activations,
        FourierFeatures(still.encoding.matrix[1:]),
        ("z", "y", "x"),
        still.domain[1:],
        still.output_scale,
    )
    assert settings_for_time_steps(no_time, auto, [0.0, 1.0]).time_levels is None  # nothing to resolve


def test_neighbouring_default_steps_share_every_test_even_where_the_field_moves():
    """With the default slabs (level 2 for 11 steps), -1 and -0.8 lie in one finest slab: the second
    step tests nothing, and its mesh is still a fresh run's; at level 4 (the previous default) the
    moving elements are tested again."""
    inr = moving_inr()
    first = refine(inr, time=-1.0, **KW)
    later = refine(inr, first.settings.replace(time=-0.8), resume=first)
    assert count_tests(later) == 0
    assert leaf_set(later) == leaf_set(refine(inr, time=-0.8, **KW))
    fine = refine(inr, time=-1.0, time_levels=4, **KW)
    assert count_tests(refine(inr, fine.settings.replace(time=-0.8), resume=fine)) > 0
