"""The interactive session: memory and disk caches, resuming, background precompute."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from helpers import ct_like_inr
from inr_amr_core import refine, save_ct_checkpoint
from inr_amr_core.diskcache import CachedMesh, MeshCache
from inr_amr_core.session import RefinementSession
from inr_amr_core.settings import RefinementSettings

SETTINGS = RefinementSettings(method="basic", max_dofs=2500, uniform_refinements=1, device="cpu", conforming_dofs=False)


def leaf_set(mesh) -> set:
    return set(zip(mesh.tree.levels.tolist(), map(tuple, mesh.tree.coords.tolist())))


@pytest.fixture
def checkpoint(tmp_path):
    return save_ct_checkpoint(ct_like_inr(width=24, layers=2, features=8, seed=7), tmp_path / "small.pt")


def test_a_new_session_finds_the_mesh_on_disk(tmp_path, checkpoint):
    disk = MeshCache(tmp_path / "cache")
    first = RefinementSession(disk_cache=disk)
    first.open(checkpoint)
    computed, source = first.mesh(SETTINGS.replace(time=0.25))
    assert source == "computed" and len(disk.entries()) == 1
    again, source = first.mesh(SETTINGS.replace(time=0.25))
    assert source == "memory" and again is computed
    second = RefinementSession(disk_cache=disk)  # a new ParaView session
    second.open(checkpoint)
    cached, source = second.mesh(SETTINGS.replace(time=0.25))
    assert source == "disk" and isinstance(cached, CachedMesh)
    assert leaf_set(cached) == leaf_set(computed) and cached.stop_reason == computed.stop_reason
    np.testing.assert_array_equal(cached.arrays["value"], computed.leaf_values())
    # another checkpoint in the same file: another key, the old mesh is not shown
    shutil.copy(checkpoint, tmp_path / "backup.pt")
    save_ct_checkpoint(ct_like_inr(width=24, layers=2, features=8, seed=8), checkpoint)
    third = RefinementSession(disk_cache=disk)
    third.open(checkpoint)
    assert third.mesh(SETTINGS.replace(time=0.25))[1] == "computed"


def test_the_disk_cache_keeps_within_its_size(tmp_path, checkpoint):
    disk = MeshCache(tmp_path / "cache", max_bytes=1)
    s = RefinementSession(disk_cache=disk)
    s.open(checkpoint)
    for t in (-1.0, 0.0, 1.0):
        s.mesh(SETTINGS.replace(time=t))
    assert len(disk.entries()) <= 1  # only the newest fits
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_lower_memory_limit_evicts_the_least_recently_used_at_once(checkpoint):
    from inr_amr_core.session import result_bytes

    s = RefinementSession(disk_cache=None)
    s.open(checkpoint)
    results = [s.result(SETTINGS.replace(time=t))[0] for t in (-1.0, 0.0, 1.0)]
    s.result(SETTINGS.replace(time=-1.0))  # now the most recent
    sizes = [result_bytes(r) for r in results]
    s.limit_memory((sizes[0] + sizes[2]) / 2**20)
    assert s.memory_used() == sizes[0] + sizes[2]  # t = 0 was used least recently
    assert s.cached(SETTINGS.replace(time=0.0)) is None and s.cached(SETTINGS.replace(time=-1.0)) is results[0]
    s.limit_memory(0.0)  # the most recent always stays
    assert s.memory_used() == sizes[0]


def test_a_larger_budget_continues_the_cached_run(checkpoint):
    s = RefinementSession(disk_cache=None)
    s.open(checkpoint)
    _small, _ = s.result(SETTINGS.replace(time=0.0, max_dofs=1000))
    large, hit = s.result(SETTINGS.replace(time=0.0, max_dofs=4000))
    fresh = refine(s.inr, SETTINGS.replace(time=0.0, max_dofs=4000))
    assert not hit and leaf_set(large) == leaf_set(fresh)
    count = lambda r: sum(row["tested"] for row in r.iterations)
    assert count(large) < count(fresh)


def test_background_precompute_gives_the_same_meshes_and_yields_to_requests(checkpoint):
    s = RefinementSession(disk_cache=None)
    s.open(checkpoint)
    times = [-1.0, -0.5, 0.0, 0.5, 1.0]
    s.prefetch([SETTINGS.replace(time=t) for t in times[1:]])
    _shown, _ = s.result(SETTINGS.replace(time=times[0]))  # the user's request goes first
    s.wait_prefetch(120)
    for t in times:
        cached = s.cached(SETTINGS.replace(time=t))
        assert cached is not None, t
        assert leaf_set(cached) == leaf_set(refine(s.inr, SETTINGS.replace(time=t))), t
    assert s.prefetched >= len(times) - 1 or s.hits > 0
    # a change of settings drops what was queued
    s.prefetch([SETTINGS.replace(time=t, max_dofs=3000) for t in times])
    s.stop_prefetch()
    assert sum(s.cached(SETTINGS.replace(time=t, max_dofs=3000)) is not None for t in times) < len(times)
