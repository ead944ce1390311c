"""The main job's settings: what `inr-amr demo` asks the reader for (its run is tested in tests/plugin)."""

from __future__ import annotations

from inr_amr_apps.demo import DEFAULT_CHECKPOINT, DEFAULT_ISO, DEMO_METHOD, SLAB_ROOTS, demo_settings
from inr_amr_apps.resources import data_file
from inr_amr_core.checkpoint import load_inr
from inr_amr_core.settings import RefinementSettings


def test_the_default_checkpoint_is_the_shipped_4d_small_truss():
    inr = load_inr(data_file(DEFAULT_CHECKPOINT))
    assert DEFAULT_CHECKPOINT == "small_truss_compression.pt"
    assert inr.input_names[0] == "t" and len(inr.input_names) == 4
    assert DEFAULT_ISO is None  # the middle of the first step's value range


def test_volume_and_slab_reach_cells_1_256_of_the_domain_by_the_demo_method():
    cfg = demo_settings(iso=DEFAULT_ISO)
    methods = ["Pruning", "Basic", "Uniform"]  # the reader's Method enumeration
    volume, slab = cfg["volume"]["reader"], cfg["slab"]["reader"]
    assert methods[volume["Method"]] == methods[slab["Method"]] == DEMO_METHOD == cfg["volume"]["method"]
    assert volume["MaxLevel"] == 8 and volume["MaxDOFs"] == 1_000_000  # one root cell: 2^8 cells across
    assert slab["RootGrid"] == [1, SLAB_ROOTS, SLAB_ROOTS] and SLAB_ROOTS * 2**3 == 256
    assert cfg["volume"]["iso"] == DEFAULT_ISO and cfg["times"] == [-1.0, 0.0, 1.0]
    quick = demo_settings(quick=True)
    assert quick["volume"]["reader"]["MaxDOFs"] < 100_000 and quick["volume"]["iso"] is None
    RefinementSettings(**{**cfg["compare"]["settings"], "time": 1.0})  # a valid comparison
