"""The parameter schema: one declaration per parameter, checked values, front-end representations."""

from __future__ import annotations

import dataclasses

import pytest

from inr_amr_core.criteria import BasicCriterion, PruningCriterion, UniformCriterion, make_criterion
from inr_amr_core.settings import (
    LoadSettings,
    RefinementSettings,
    SeriesSettings,
    SettingsError,
    parameters,
    spec,
)

ALL = (RefinementSettings, LoadSettings, SeriesSettings)


@pytest.mark.parametrize("cls", ALL)
def test_every_field_is_declared_once_with_doc_and_valid_default(cls):
    fields = [f.name for f in dataclasses.fields(cls)]
    specs = parameters(cls)
    assert [s.name for s in specs] == fields  # every field is a declared parameter, in order
    for s in specs:
        assert s.doc and "\n" not in s.doc and not s.doc.endswith("."), s.name  # one line
        assert s.check(s.default) == s.default, s.name
        assert getattr(cls(), s.name) == s.default
    flags = [f for s in specs for f in (s.cli, s.cli_short) if f]
    assert len(flags) == len(set(flags))
    names = [s.paraview.name for s in specs if s.paraview]
    assert len(names) == len(set(names))


def test_paraview_representation_round_trips():
    for cls in ALL:
        for s in parameters(cls):
            if s.paraview is None:
                continue
            values = s.kind.to_paraview(s.default)
            assert len(values) == s.kind.pv_elements, s.name
            assert s.check(s.kind.from_paraview(values)) == s.default, s.name
    grid = spec("root_grid")
    assert grid.kind.from_paraview([2, 3, 1]) == (2, 3, 1)
    assert grid.kind.from_paraview([1, 1, 1]) is None
    bounds = spec("bounds")
    assert bounds.kind.from_paraview([0, 1, 0, 0, 0, 0]) == ((0.0, 1.0), None, None)  # y, z: the domain
    assert spec("max_dofs").kind.from_paraview([0]) is None


def test_command_line_text_parses_to_the_same_values():
    assert spec("fixed_inputs").kind.parse("z=0.25, y=1") == (("y", 1.0), ("z", 0.25))
    assert spec("bounds").kind.parse("0,1,-1,1") == ((0.0, 1.0), (-1.0, 1.0))
    assert spec("space_inputs").kind.parse("x,t") == ("x", "t")
    assert spec("max_dofs").kind.parse("0") is None and spec("max_dofs").kind.parse("10_000") == 10_000
    ids = spec("id_samples").kind
    assert ids.parse("auto") is None and ids.parse("0") is None and ids.parse("128") == 128
    assert ids.format(None) == "auto" and ids.to_paraview(None) == [0]


def test_errors_name_the_parameter_the_value_and_what_is_expected():
    with pytest.raises(SettingsError, match=r"threshold \(T\) must be > 0, got -1"):
        RefinementSettings(threshold=-1)
    with pytest.raises(SettingsError, match=r"eps \(epsilon\) must be in \(0, 1\), got 1"):
        RefinementSettings(eps=1)
    with pytest.raises(SettingsError, match=r"id_samples \(ID_samples\): invalid value 2.5"):
        RefinementSettings(id_samples=2.5)
    with pytest.raises(SettingsError, match=r"fixed_inputs: invalid value 'z' \(expected NAME=VALUE"):
        RefinementSettings(fixed_inputs="z")
    with pytest.raises(SettingsError, match=r"root_grid: invalid value .*at least one root cell"):
        RefinementSettings(root_grid=(0, 2))
    with pytest.raises(SettingsError, match=r"unknown setting.*tua"):
        RefinementSettings().replace(tua=0.1)


def test_settings_are_canonical_frozen_and_hashable():
    a = RefinementSettings(fixed_inputs={"z": 0.5, "y": 0}, root_grid=[2, 2], bounds=[0, 1, 0, 1])
    b = RefinementSettings(fixed_inputs="y=0,z=0.5", root_grid="2,2", bounds=((0.0, 1.0), (0.0, 1.0)))
    assert a == b and hash(a) == hash(b)
    assert a.fixed == {"y": 0.0, "z": 0.5}
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.tau = 1.0  # type: ignore[misc]
    assert a.replace(tau=0.5).tau == 0.5 and a.tau is None
    assert RefinementSettings().to_dict()["fixed_inputs"] == {}
    assert a.changed() == {
        "fixed_inputs": (("y", 0.0), ("z", 0.5)),
        "root_grid": (2, 2),
        "bounds": ((0.0, 1.0), (0.0, 1.0)),
    }


def test_criteria_are_built_from_the_settings_directly():
    s = RefinementSettings(
        threshold=0.2, proportion=0.3, eps=1e-2, id_samples=64, error_samples=8, exact_diagnostics=True, tau=0.05
    )
    p = make_criterion(s)
    assert isinstance(p, PruningCriterion)
    assert (p.threshold, p.proportion, p.eps, p.id_samples, p.error_samples, p.exact_diagnostics) == (
        0.2,
        0.3,
        1e-2,
        64,
        8,
        True,
    )
    b = make_criterion(s.replace(method="basic"))
    assert isinstance(b, BasicCriterion) and (b.tau, b.error_samples) == (0.05, 8)
    assert isinstance(make_criterion(s.replace(method="uniform")), UniformCriterion)


def test_help_lines_carry_the_symbol_and_the_default():
    assert spec("eps").help().endswith("[paper: epsilon] (default 0.001)")
    assert spec("proportion").help().endswith("0 = none [paper: P] (default none)")
    assert "(default none)" not in spec("time").help() or spec("time").default is None
