"""Phantom geometry and values, the trained demo checkpoints, and a quick training smoke test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inr_amr_apps.phantoms import (
    LATTICE,
    SMALL_TRUSS,
    TRUSS,
    compressed_cube,
    compressed_cube_regions,
    lattice,
    lattice_plates,
    lattice_pores,
    lattice_regions,
    lattice_sdf,
    lattice_undeformed,
    log_pile,
    log_pile_layer_heights,
    log_pile_noise,
    log_pile_regions,
    octet_truss,
    sin_corner,
    small_octet_truss,
    small_truss_strut_points,
    truss_current,
    truss_regions,
    truss_sdf,
    truss_strut_points,
    truss_voids,
)
from inr_amr_apps.resources import data_dir
from inr_amr_apps.training import DEMOS, ct_architecture, relu_mlp_2d, train_demo, train_inr
from inr_amr_core import load_inr

DATA = data_dir()

#: Upper bounds on the fit RMSE of the shipped checkpoints at 20,000 fresh points: about 1.5x what
#: training reached at 65,536 points (sin2d 0.021, ct 0.00030, logpile 0.0018; see the
#: ``*.train.json`` reports next to the checkpoints; truss 0.00395, small truss 0.00066).
RMSE_BOUND = {
    "sin2d": 0.032,
    "ct": 0.00045,
    "logpile": 0.0027,
    "lattice": 0.0085,
    "truss": 0.006,
    "small_truss": 0.001,
}
EXPECTED_LAYOUT = {"sin2d": "native", **dict.fromkeys(("ct", "logpile", "lattice", "truss", "small_truss"), "ct4d")}


def pts(*rows):
    return np.array(rows, dtype=np.float64)


# ------------------------------------------------------------------------------------ sin_corner
def test_sin_corner_matches_formula(rng):
    p = rng.random((1000, 2))
    r = np.sqrt(p[:, 0] ** 2 + p[:, 1] ** 2)
    np.testing.assert_allclose(sin_corner(p), np.sin(1.0 / (1.0 / 50.0 + r)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sin_corner(p, alpha=0.1), np.sin(1.0 / (0.1 + r)), rtol=0, atol=1e-12)
    assert sin_corner(p).dtype == np.float64 and sin_corner(p).shape == (1000,)
    assert sin_corner(pts([0.0, 0.0]))[0] == pytest.approx(np.sin(50.0))


def test_phantoms_check_shapes():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        sin_corner(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        compressed_cube(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        log_pile(np.zeros(4))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        lattice(np.zeros((3, 3)))


# ------------------------------------------------------------------------------------ compressed cube
def region_of(regions, i):
    return [k for k in ("cube", "plates", "hole") if regions[k][i]] or ["air"]


def test_cube_centre_is_in_the_hole_at_all_times():
    p = pts([-1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 0.3, 0.05, -0.05])
    r = compressed_cube_regions(p)
    assert r["hole"].all() and r["air"].all() and not r["cube"].any()
    assert np.all(compressed_cube(p) < 1e-3)


def test_cube_wall_and_compression():
    # (t, z, y, x): a point in the cube wall at t = -1
    wall = pts([-1, 0, 0, 0.35], [-1, 0.2, -0.3, 0.0], [-1, -0.4, 0.3, -0.3])
    r = compressed_cube_regions(wall)
    assert r["cube"].all()
    assert np.all(compressed_cube(wall) > 0.099)
    # just inside the original +x face: cube at t = -1, outside the cube (in the +x plate) at t = 1
    inside_face = pts([-1, 0, 0.1, 0.48], [1, 0, 0.1, 0.48])
    r = compressed_cube_regions(inside_face)
    assert region_of(r, 0) == ["cube"]
    assert region_of(r, 1) == ["plates"]
    # at t = 1 the half-widths are 0.4 (20% less)
    r = compressed_cube_regions(pts([1, 0, 0.0, 0.39], [1, 0, 0.0, 0.41], [1, 0, 0.39, 0.0], [1, 0, 0.41, 0.0]))
    assert r["cube"].tolist() == [True, False, True, False]


def test_plates_move_inward_and_touch_the_faces():
    # the +x plate is 0.1 thick against the face: [0.5, 0.6] at t = -1, [0.4, 0.5] at t = 1
    for t, face in ((-1.0, 0.5), (0.0, 0.45), (1.0, 0.4)):
        xs = np.array([face - 0.01, face + 0.01, face + 0.09, face + 0.11])
        for axis in (2, 3):  # y and x faces, both signs
            for sign in (1, -1):
                p = np.zeros((4, 4))
                p[:, 0] = t
                p[:, axis] = sign * xs
                r = compressed_cube_regions(p)
                assert [region_of(r, i)[0] for i in range(4)] == ["cube", "plates", "plates", "air"], (t, axis, sign)
    # a point in the t = -1 plate is air at t = 1; a point in the t = 1 plate was cube at t = -1
    r = compressed_cube_regions(pts([-1, 0, 0, 0.55], [1, 0, 0, 0.55], [1, 0, 0, 0.45], [-1, 0, 0, 0.45]))
    assert [region_of(r, i)[0] for i in range(4)] == ["plates", "air", "plates", "cube"]
    # plates span 1.2 in the other horizontal direction and in z
    r = compressed_cube_regions(pts([1, 0.55, 0.55, 0.45], [1, 0.65, 0, 0.45], [1, 0, 0.65, 0.45]))
    assert r["plates"].tolist() == [True, False, False]


def test_hole_shrinks_and_cube_bulges():
    # hole radius 0.2 at t = -1, 0.16 at t = 1
    r = compressed_cube_regions(pts([-1, 0, 0, 0.18], [1, 0, 0, 0.18], [1, 0, 0.1, 0.1]))
    assert r["hole"].tolist() == [True, False, True]
    assert r["cube"].tolist() == [False, True, False]
    # the top face domes outward: above the original top face at t = 1, air at t = -1
    r = compressed_cube_regions(pts([-1, 0.515, 0, 0.3], [1, 0.515, 0, 0.3], [1, 0.515, 0.39, 0.39]))
    assert r["cube"].tolist() == [False, True, False]  # not at the corner, where the dome is flat


def test_cube_regions_partition_and_values(rng):
    p = rng.uniform(-1, 1, (50_000, 4))
    r = compressed_cube_regions(p)
    v = compressed_cube(p)
    assert not (r["cube"] & r["plates"]).any()
    np.testing.assert_array_equal(r["air"], ~(r["cube"] | r["plates"]))
    assert not (r["hole"] & ~r["air"]).any()
    assert v.dtype == np.float64 and v.shape == (50_000,)
    assert v.min() >= 0.0 and v.max() <= 0.1 + 1e-12
    # values follow the sharp geometry except in a thin smoothing layer
    assert np.median(v[r["cube"]]) > 0.099 and np.mean(v[r["cube"]]) > 0.09
    assert 0.05 < np.median(v[r["plates"]]) <= 0.0601  # 0.1 thin: the smoothing shows in its middle
    assert np.median(v[r["air"]]) < 1e-4 and np.mean(v[r["air"]]) < 0.005
    # deep in each region
    far = compressed_cube(pts([0, 0.9, 0.9, 0.9], [1, 0.0, -0.28, 0.0], [-1, 0.0, 0.0, -0.55]))
    np.testing.assert_allclose(far, [0.0, 0.1, 0.06], atol=2.5e-3)


def test_cube_symmetries(rng):
    p = rng.uniform(-1, 1, (2000, 4))
    v = compressed_cube(p)
    swapped = p[:, [0, 1, 3, 2]]
    mirrored = p * np.array([1, -1, -1, -1])
    np.testing.assert_allclose(compressed_cube(swapped), v, atol=1e-12)
    np.testing.assert_allclose(compressed_cube(mirrored), v, atol=1e-12)


# ------------------------------------------------------------------------------------ log pile
def test_points_on_log_axes_are_logs():
    # layer 0 (z = -0.375 at t = -1) runs along x: axes at y = +-0.125, +-0.375, +-0.625
    p = pts([-1, -0.375, 0.125, 0.0], [-1, -0.375, -0.375, 0.3], [-1, -0.375, 0.625, -0.2])
    r = log_pile_regions(p)
    assert r["log_x"].all() and not r["log_y"].any()
    assert np.all(log_pile(p) > 0.099)
    # layer 1 (z = -0.225) runs along y: axes at x = +-0.125, ...
    p = pts([-1, -0.225, 0.0, 0.125], [-1, -0.225, 0.4, -0.375])
    r = log_pile_regions(p)
    assert r["log_y"].all() and not r["log_x"].any()
    # between two logs of a layer: air
    assert not log_pile_regions(pts([-1, -0.375, 0.0, 0.0]))["log"][0]


@pytest.mark.parametrize("layer", range(6))
def test_z_slices_alternate_orientation(layer):
    z = log_pile_layer_heights(-1.0)[layer]
    g = np.linspace(-0.45, 0.45, 61)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    p = np.stack([np.full(yy.size, -1.0), np.full(yy.size, z), yy.ravel(), xx.ravel()], axis=1)
    r = log_pile_regions(p)
    log = r["log"].reshape(61, 61)  # [y index, x index]
    assert 0.2 < log.mean() < 0.9
    key = "log_x" if layer % 2 == 0 else "log_y"
    assert r[key].sum() == r["log"].sum()  # only this layer's orientation at its axis height
    if layer % 2 == 0:  # logs along x: the pattern varies with y only
        assert (log == log[:, :1]).all() and not (log == log[:1, :]).all()
    else:  # logs along y: varies with x only
        assert (log == log[:1, :]).all() and not (log == log[:, :1]).all()


def test_log_pile_is_clipped_to_a_vertical_cylinder(rng):
    p = rng.uniform(-1, 1, (100_000, 4))
    r = log_pile_regions(p)
    rho = np.hypot(p[:, 2], p[:, 3])
    assert rho[r["log"]].max() <= 0.75 + 1e-12
    assert rho[r["log"]].max() > 0.73
    # on a log's axis but outside the cylinder
    assert not log_pile_regions(pts([-1, -0.375, 0.125, 0.8]))["log"][0]


def test_log_pile_compresses_and_sags():
    h0, h1 = log_pile_layer_heights(-1.0), log_pile_layer_heights(1.0)
    assert h0[0] == h1[0] == pytest.approx(-0.375)
    np.testing.assert_allclose(np.diff(h0), 0.15)
    np.testing.assert_allclose(np.diff(h1), 0.12)
    # the top layer (along y) at its t = -1 height: log at t = -1, air at t = 1
    r = log_pile_regions(pts([-1, h0[5], 0.0, 0.125], [1, h0[5], 0.0, 0.125]))
    assert r["log"].tolist() == [True, False]
    # at t = 1 the top layer's axis sags by 0.04 in the middle of the log, not at its clipped end
    sag = 0.04
    r = log_pile_regions(
        pts([1, h1[5] - sag, 0.0, 0.125], [1, h1[5] + 0.06, 0.0, 0.125], [1, h1[5] + 0.06, 0.7, 0.125])
    )
    assert r["log"].tolist() == [True, False, True]


def test_log_pile_noise(rng):
    p = rng.uniform(-1, 1, (100_000, 4))
    r = log_pile_regions(p)
    n = log_pile_noise(p)
    v = log_pile(p)
    assert np.all(n[r["log"]] == 0.0)  # exactly zero inside the object
    air = r["air"]
    assert np.count_nonzero(n[air]) > 0.9 * air.sum()  # present around it
    assert 0.001 < np.sqrt(np.mean(n[air] ** 2)) < 0.01
    assert np.abs(n).max() < 0.03  # about 10-20% of the log value at most
    rho = np.hypot(p[:, 2], p[:, 3])
    near = air & (rho < 0.8) & (np.abs(p[:, 1]) < 0.4)
    far = rho > 1.3
    assert np.abs(n[far]).mean() < 0.3 * np.abs(n[near]).mean()  # fades away from the object
    # deterministic and pointwise (no dependence on the batch it comes in)
    np.testing.assert_allclose(log_pile_noise(p[:100]), n[:100], rtol=0, atol=1e-12)
    np.testing.assert_allclose(log_pile_noise(p[7:8]), n[7:8], rtol=0, atol=1e-12)
    # values: logs 0.10, background around 0
    assert v.min() > -0.03 and v.max() <= 0.1 + 1e-12
    assert np.median(v[r["log"]]) > 0.07  # logs are thin (radius 0.085): edges show
    axes = pts([-1, -0.375, 0.125, 0.0], [1, log_pile_layer_heights(1.0)[2] - 0.016, -0.375, 0.1])
    assert np.all(log_pile(axes) > 0.099)
    assert abs(np.median(v[air])) < 0.005


# ------------------------------------------------------------------------------------ lattice
def line(t, start, direction, half_length, n=4001):
    """``n`` points (t, z, y, x) on a line through ``start`` (z, y, x) along ``direction``, and its parameter."""
    u = np.linspace(-half_length, half_length, n)
    d = np.asarray(direction, dtype=np.float64)
    zyx = np.asarray(start, dtype=np.float64) + u[:, None] * (d / np.linalg.norm(d))
    return np.column_stack([np.full(n, float(t)), zyx]), u


def crossings(u, v, level):
    """Parameters where ``v`` crosses ``level`` (linear interpolation between samples)."""
    above = v > level
    i = np.flatnonzero(above[1:] != above[:-1])
    return u[i] + (level - v[i]) * (u[i + 1] - u[i]) / (v[i + 1] - v[i])


def sdf_normal(p, sdf=lambda q: lattice_sdf(q)[0], h=1e-5):
    """Unit gradients (z, y, x) of a signed distance (the lattice's) at points p (central differences)."""
    grad = np.empty((p.shape[0], 3))
    for j in range(3):
        e = np.zeros(4)
        e[1 + j] = h
        grad[:, j] = (sdf(p + e) - sdf(p - e)) / (2 * h)
    return grad / np.linalg.norm(grad, axis=1, keepdims=True)


def widths_along_normals(field, t, points, normals, material):
    """Thickness (between the half-material crossings) and edge width of the structure ``field`` along
    lines of half-length 0.03 through ``points`` (t, z, y, x) along ``normals``; lines that cross more
    than one structure (another wall, strut, node, pore or void within reach) are skipped."""
    widths, edge_widths = [], []
    for q, n in zip(points, normals):
        pl, u = line(t, q[1:], n, 0.03, n=3001)
        v = field(pl)
        c = crossings(u, v, 0.5 * material)
        if len(c) != 2:
            continue
        widths.append(c[1] - c[0])
        # a logistic edge of width w rises with slope material / (4 w) at its middle
        edge_widths.append(material / (4.0 * np.max(np.abs(np.gradient(v, u)))))
    return np.array(widths), np.array(edge_widths)


def test_lattice_walls_on_an_axis_line():
    # at t = -1 (no motion), on the line z = y = 0, the gyroid is g = sin(2 pi x / 0.4): walls at
    # x = 0, +-0.2, +-0.4, +-0.6 (+-0.8 is the specimen's side); |grad g| = sqrt(3) |dg/dx| there, so
    # a wall 0.02 thick along its normal is 0.02 sqrt(3) wide along x
    p, u = line(-1.0, (0.0, 0.0, 0.0), (0, 0, 1), 0.77, n=77001)
    v = lattice(p)
    half = 0.5 * LATTICE["material_value"]
    c = crossings(u, v, half).reshape(-1, 2)  # (entry, exit) of each wall
    np.testing.assert_allclose(c.mean(axis=1), [-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6], atol=1e-3)
    np.testing.assert_allclose(np.diff(c, axis=1)[:, 0], 0.02 * np.sqrt(3.0), rtol=0.03)
    assert np.all(v[np.abs(u - 0.1) < 0.03] < 1e-5)  # inside a cell: air


@pytest.mark.parametrize("t", [-1.0, 0.0, 1.0])
def test_lattice_walls_are_one_percent_thick_and_sharp(t):
    # lines along the walls' normals through points of the walls' middle surfaces, at every stage
    # of the compression: the walls stay 0.02 thick (1% of the domain) and their edges stay sharp
    rng = np.random.default_rng(7)
    p = np.column_stack([np.full(200_000, t), rng.uniform(-0.6, 0.6, (200_000, 3)) * [0.4, 1, 1]])
    d_sheet = lattice_sdf(p)[0]
    near = p[np.abs(d_sheet + LATTICE["half_thickness"]) < 2e-4][:40]  # on the middle surfaces
    assert len(near) == 40
    normals = sdf_normal(near)
    widths, edge_widths = widths_along_normals(lattice, t, near, normals, LATTICE["material_value"])
    assert len(widths) >= 25
    # the walls' half-thickness is a first-order distance |g| / |grad g|: within 5% almost everywhere
    # (99% of 600 lines), up to 25% thicker in a few places
    assert abs(np.median(widths) - 0.02) < 0.0006
    assert np.mean(np.abs(widths - 0.02) < 0.001) > 0.9
    assert widths.min() > 0.018 and widths.max() < 0.026
    assert max(edge_widths) <= 0.004 and min(edge_widths) >= 0.5 * LATTICE["edge_width"]


def test_lattice_values_and_regions(rng):
    p = rng.uniform(-1, 1, (100_000, 4))
    v = lattice(p)
    r = lattice_regions(p)
    assert v.dtype == np.float64 and v.shape == (100_000,)
    assert v.min() >= 0.0 and 0.095 < v.max() <= 0.1 + 1e-12  # material 0.10, like the other CT phantoms
    assert not (r["lattice"] & r["plates"]).any()
    np.testing.assert_array_equal(r["air"], ~(r["lattice"] | r["plates"]))
    assert not (r["lattice"] & ~r["specimen"]).any()  # the lattice lies inside the specimen
    assert not (r["pores"] & r["lattice"]).any()
    # a sheet lattice: 10-25% of the specimen is wall material
    assert 0.10 < r["lattice"][r["specimen"]].mean() < 0.25
    # values follow the sharp geometry except in thin smoothing layers
    assert np.median(v[r["lattice"]]) > 0.08
    assert 0.059 < np.median(v[r["plates"]]) <= 0.0601
    assert np.median(v[r["air"]]) < 1e-6 and np.mean(v[r["air"]]) < 0.005
    # the specimen: |x|, |y| <= 0.8 at t = -1, between the plates; nothing outside
    early = p[:, 0] < -0.99
    zyx = p[early & r["lattice"], 1:]
    assert np.abs(zyx[:, 1:]).max() <= 0.8 + 1e-9 and np.abs(zyx[:, 0]).max() <= 0.7 + 1e-9
    assert np.abs(zyx[:, 1:]).max() > 0.75
    far = lattice(pts([-1, 0.9, 0, 0], [1, 0.0, 0.95, 0.0], [0, -0.75, 0.85, -0.85], [1, 0.4, 0, 0]))
    np.testing.assert_allclose(far, [0.0, 0.0, 0.06, 0.06], atol=1e-4)


def test_lattice_plates_compress_the_specimen():
    bottom, top = lattice_plates(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(bottom, -0.7)
    np.testing.assert_allclose(top, [0.7, 0.525, 0.35])
    r = lattice_regions(pts([-1, 0.75, 0, 0], [1, 0.75, 0, 0], [1, 0.4, 0, 0], [-1, 0.4, 0, 0], [1, -0.75, 0.3, 0.3]))
    assert r["plates"].tolist() == [True, False, True, False, True]
    # no wall material above the top plate's face, at any time
    rng = np.random.default_rng(3)
    p = rng.uniform(-1, 1, (50_000, 4))
    r = lattice_regions(p)
    above = p[:, 1] > lattice_plates(p[:, 0])[1]
    assert r["lattice"].any() and not (r["lattice"] & above).any()


def test_lattice_compression_is_not_affine_and_densifies_a_band():
    # the motion is the identity at t = -1
    rng = np.random.default_rng(5)
    p = np.column_stack([np.full(1000, -1.0), rng.uniform(-0.7, 0.7, (1000, 3))])
    np.testing.assert_allclose(lattice_undeformed(p), p[:, 1:], atol=1e-12)
    # at t = 1 the top face z = 0.35 maps back to Z = 0.7, the bottom one stays
    q = lattice_undeformed(pts([1, 0.35, 0.3, -0.2], [1, -0.7, 0.1, 0.5]))
    np.testing.assert_allclose(q[:, 0], [0.7, -0.7], atol=1e-12)
    # vertical stretch dZ/dz: about 2.5 in the collapse band's middle (z = 0), about 1.05 away from it
    z = np.array([-0.5, -0.3, 0.0, 0.25])
    h = 1e-6
    lo = lattice_undeformed(np.column_stack([np.ones(4), z - h, np.zeros((4, 2))]))[:, 0]
    hi = lattice_undeformed(np.column_stack([np.ones(4), z + h, np.zeros((4, 2))]))[:, 0]
    stretch = (hi - lo) / (2 * h)
    assert stretch[2] > 2.3 and np.all(stretch[[0, 1, 3]] < 1.15) and np.all(stretch[[0, 1, 3]] > 1.0)
    # the walls buckle sideways in the band (and not far from it)
    g = np.linspace(-0.7, 0.7, 57)
    band = lattice_undeformed(np.column_stack([np.ones(57), np.zeros(57), g, np.full(57, 0.05)]))
    away = lattice_undeformed(np.column_stack([np.ones(57), np.full(57, -0.5), g, np.full(57, 0.05)]))
    assert 0.03 < np.abs(band[:, 2] - 0.05).max() <= 0.04 + 1e-9
    assert np.abs(away[:, 2] - 0.05).max() < 0.002
    # the layers densify: more wall material per volume in the band at t = 1 than at t = -1
    s = rng.uniform(-0.5, 0.5, (40_000, 2))
    zb = rng.uniform(-0.04, 0.04, 40_000)
    frac = [lattice_regions(np.column_stack([np.full(40_000, t), zb, s]))["lattice"].mean() for t in (-1.0, 1.0)]
    assert frac[1] > 1.5 * frac[0]


def test_lattice_structure_changes_with_compression(rng):
    p = rng.uniform(-0.8, 0.8, (50_000, 4))
    first = lattice_regions(np.column_stack([np.full(50_000, -1.0), p[:, 1:]]))["lattice"]
    last = lattice_regions(np.column_stack([np.full(50_000, 1.0), p[:, 1:]]))["lattice"]
    assert (first != last).mean() > 0.1
    # smooth in time: consecutive small steps change few points
    mid = lattice_regions(np.column_stack([np.full(50_000, 0.01), p[:, 1:]]))["lattice"]
    mid0 = lattice_regions(np.column_stack([np.zeros(50_000), p[:, 1:]]))["lattice"]
    assert 0 < (mid != mid0).mean() < 0.01


def test_lattice_pores_cut_holes_through_walls():
    pores = lattice_pores()
    assert pores.shape == (6, 4)
    rng = np.random.default_rng(11)
    for x, y, z, r in pores:
        # at t = -1 the pore's centre lies on a wall's middle surface, yet is air
        centre = pts([-1, z, y, x])
        assert lattice_regions(centre)["pores"][0] and lattice(centre)[0] < 1e-6
        # wall material all around the pore, none inside it
        d = rng.standard_normal((20_000, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        shell = np.column_stack([np.full(20_000, -1.0), [z, y, x] + d * rng.uniform(0, 1.5 * r, (20_000, 1))])
        rho = np.linalg.norm(shell[:, 1:] - [z, y, x], axis=1)
        walls = lattice_regions(shell)["lattice"]
        assert not walls[rho < r - 1e-9].any()
        assert walls[rho > r + 0.005].sum() > 20
    # the pores move with the material: at t = 1 nothing whose undeformed position is in a pore is wall
    p = np.column_stack([np.ones(200_000), rng.uniform(-0.8, 0.8, (200_000, 3))])
    q = lattice_undeformed(p)[:, ::-1]  # (X, Y, Z)
    inside = np.zeros(len(p), dtype=bool)
    for x, y, z, r in pores:
        inside |= np.linalg.norm(q - [x, y, z], axis=1) < r
    r1 = lattice_regions(p)
    assert inside.sum() > 100 and not (r1["lattice"] & inside).any() and (r1["pores"] & inside).sum() > 10


def test_lattice_is_deterministic_and_pointwise(rng):
    p = rng.uniform(-1, 1, (5000, 4))
    v = lattice(p)
    np.testing.assert_array_equal(lattice(p.copy()), v)
    np.testing.assert_allclose(lattice(p[17:18]), v[17:18], rtol=0, atol=1e-15)
    np.testing.assert_allclose(lattice(p[::-1])[::-1], v, rtol=0, atol=1e-15)


# ------------------------------------------------------------------------------------ octet truss
def test_truss_struts_on_a_face_diagonal():
    # at t = -1 (no motion) the face z = -0.75 of the first cell holds struts from its centre
    # (-0.5, -0.5) to its corners: along the line x = y on that face the struts are on the axis, so
    # the material runs unbroken from corner to corner through the centre
    u = np.linspace(-0.75, -0.25, 2001)
    p = np.column_stack([np.full(u.size, -1.0), np.full(u.size, -0.75), u, u])
    v = octet_truss(p)
    assert v.min() > 0.09
    # across it (along x at y = -0.5): one strut 0.02 wide, at x = -0.5
    p, x = line(-1.0, (-0.75, -0.5, -0.5), (0, 0, 1), 0.1, n=20001)
    c = crossings(x, octet_truss(p), 0.5 * TRUSS["material_value"])
    # the strut runs along the face diagonal, so a line along x cuts it at 45 degrees: 0.02 sqrt(2) wide
    assert c.size == 2 and abs(c.mean()) < 1e-3
    assert np.diff(c)[0] == pytest.approx(0.02 * np.sqrt(2.0), rel=0.02)


@pytest.mark.parametrize("node", [(-0.25, -0.25, -0.25), (0.0, 0.0, 0.25), (0.25, -0.5, 0.0)])
def test_truss_nodes_have_twelve_struts(node):
    # an inner node (a cell corner, then two face centres) at t = -1 joins its 12 nearest neighbours:
    # material along the 12 directions (+-1, +-1, 0) / sqrt(2) and their permutations, air along the axes
    # and the cube diagonals (the octet truss's face-centred cubic bonds)
    x, y, z = node
    bonds = {tuple(v) for a in (-1, 1) for b in (-1, 1) for v in ((a, b, 0), (a, 0, b), (0, a, b))}
    axes = {tuple(v) for a in (-1, 1) for v in ((a, 0, 0), (0, a, 0), (0, 0, a))}
    diagonals = {(a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)}
    assert len(bonds) == 12
    for dirs, material in ((bonds, True), (axes, False), (diagonals, False)):
        d = np.array(sorted(dirs), dtype=np.float64)
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        q = np.array([x, y, z]) + 0.1 * d  # (x, y, z), 0.1 from the node
        p = np.column_stack([np.full(len(d), -1.0), q[:, 2], q[:, 1], q[:, 0]])
        assert truss_regions(p)["truss"].tolist() == [material] * len(d), (node, material)


@pytest.mark.parametrize("t", [-1.0, 0.0, 1.0])
def test_truss_struts_are_one_percent_thick_and_sharp(t):
    # lines along the struts' normals through points of their axes' neighbourhood, at every stage of
    # the compression: the struts stay 0.02 thick and their edges stay sharp
    rng = np.random.default_rng(11)
    near = truss_strut_points(rng, 20000, spread=0.0)  # on the axes, at random times
    near[:, 0] = t
    near = near[np.abs(truss_sdf(near) + TRUSS["half_thickness"]) < 1e-3][:200]
    # move off the axis by a quarter of the radius along a random direction to get a normal
    offsets = rng.standard_normal((near.shape[0], 3))
    offsets *= 0.25 * TRUSS["half_thickness"] / np.linalg.norm(offsets, axis=1, keepdims=True)
    probe = near.copy()
    probe[:, 1:] += offsets
    normals = sdf_normal(probe, truss_sdf)
    widths, edge_widths = widths_along_normals(octet_truss, t, probe, normals, TRUSS["material_value"])
    assert len(widths) >= 60
    # the normal off the axis points away from it, so the line crosses the whole diameter
    assert abs(np.median(widths) - 0.02) < 0.0005
    assert np.mean(np.abs(widths - 0.02) < 0.001) > 0.8
    # edges of the phantom's logistic width (0.003) except where a line grazes a node or another strut
    assert np.median(edge_widths) == pytest.approx(TRUSS["edge_width"], rel=0.05)
    assert np.mean(edge_widths <= 0.004) > 0.9


def test_truss_values_and_regions(rng):
    p = rng.uniform(-1, 1, (100_000, 4))
    v = octet_truss(p)
    r = truss_regions(p)
    assert v.dtype == np.float64 and v.shape == (100_000,)
    assert v.min() >= 0.0 and v.max() <= 0.1
    np.testing.assert_array_equal(r["air"], ~r["truss"])
    assert not (r["truss"] & ~r["specimen"]).any()
    assert not (r["voids"] & r["truss"]).any()
    # mostly empty: the struts fill 1-5% of the specimen, the specimen a third to a half of the domain
    assert 0.01 < r["truss"][r["specimen"]].mean() < 0.05
    assert 0.3 < r["specimen"].mean() < 0.5
    assert np.median(v[r["truss"]]) > 0.06  # a strut's core is within 1 edge width of its surface
    assert np.median(v[r["air"]]) < 1e-6 and np.mean(v[r["air"]]) < 0.002
    # nothing outside the specimen: |x|, |y| <= 0.76 and -0.76 <= z <= 0.76 at t = -1
    early = p[:, 0] < -0.99
    zyx = p[early & r["truss"], 1:]
    assert np.abs(zyx).max() <= 0.76 + 1e-9


def lattice_undeformed_truss(p):
    from inr_amr_apps.phantoms import _lattice_map

    m = _lattice_map(p, TRUSS)
    return np.stack([m["X"], m["Y"], m["Z"]], axis=1)


def test_truss_motion_round_trips_and_compresses():
    rng = np.random.default_rng(4)
    q = rng.uniform(-0.75, 0.75, (2000, 3))
    t = rng.uniform(-1, 1, 2000)
    p = truss_current(q, t)
    back = lattice_undeformed_truss(p)
    np.testing.assert_allclose(back, q, atol=1e-10)
    # the identity at t = -1; at t = 1 the top face Z = 0.75 is at z = 0.375, the bottom one stays
    np.testing.assert_allclose(truss_current(q, np.full(2000, -1.0))[:, [3, 2, 1]], q, atol=1e-12)
    ends = truss_current(np.array([[0.0, 0.0, 0.75], [0.0, 0.0, -0.75]]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(ends[:, 1], [0.375, -0.75], atol=1e-9)
    # no material above the moving top face (plus a strut radius), at any time
    p = rng.uniform(-1, 1, (50_000, 4))
    top = -0.75 + 1.5 * (1 - 0.25 * (p[:, 0] + 1) / 2)
    r = truss_regions(p)
    assert r["truss"].any() and not (r["truss"] & (p[:, 1] > top + 0.011)).any()


def test_truss_voids_break_struts():
    voids = truss_voids()
    assert voids.shape == (5, 4)
    for x, y, z, radius in voids:
        # the centre is on a strut's axis (undeformed = current at t = -1) and there is no material there
        centre = np.array([[-1.0, z, y, x]])
        assert truss_regions(centre)["voids"][0] and not truss_regions(centre)["truss"][0]
        # just outside the void, along the axis direction, the strut is there again: sample a shell
        rng = np.random.default_rng(0)
        d = rng.standard_normal((4000, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        shell = np.column_stack([np.full(4000, -1.0), [z, y, x] + (radius + 0.004) * d[:, ::-1]])
        assert truss_regions(shell)["truss"].any()


def test_truss_strut_points_lie_near_struts():
    p = truss_strut_points(np.random.default_rng(0), 5000, spread=0.015)
    assert p.shape == (5000, 4) and np.all(np.abs(p) <= 1.0)
    d = truss_sdf(p)
    assert np.median(np.abs(d)) < 0.02 and np.mean(d < 0.01) > 0.3
    # and cover every stage of the compression
    assert p[:, 0].min() < -0.9 and p[:, 0].max() > 0.9


def test_truss_is_deterministic_and_pointwise(rng):
    p = rng.uniform(-1, 1, (5000, 4))
    v = octet_truss(p)
    np.testing.assert_array_equal(octet_truss(p.copy()), v)
    np.testing.assert_allclose(octet_truss(p[17:18]), v[17:18], rtol=0, atol=1e-15)
    np.testing.assert_allclose(octet_truss(p[::-1])[::-1], v, rtol=0, atol=1e-15)


# ------------------------------------------------------------------------------------ small octet truss
@pytest.mark.parametrize("node", [(0.0, 0.0, 0.0), (0.2, 0.2, 0.0), (-0.4, 0.0, 0.0)])
def test_small_truss_nodes_have_twelve_struts_inside_its_specimen(node, rng):
    # its nodes are the face-centred cubic points -0.4 + 0.2 k (an even sum of k), each joined to its
    # 12 nearest neighbours within |x|, |y|, |z| <= 0.4 at t = -1 (the identity there)
    x, y, z = node
    bonds = np.array(sorted({tuple(v) for a in (-1, 1) for b in (-1, 1) for v in ((a, b, 0), (a, 0, b), (0, a, b))}))
    axes = np.array(sorted({tuple(v) for a in (-1, 1) for v in ((a, 0, 0), (0, a, 0), (0, 0, a))}))
    for dirs, material in ((bonds, True), (axes, False)):
        d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        q = np.array([x, y, z]) + 0.1 * d
        inside = np.abs(q).max(axis=1) <= 0.4
        p = np.column_stack([np.full(len(d), -1.0), q[:, 2], q[:, 1], q[:, 0]])
        got = truss_regions(p, SMALL_TRUSS)["truss"]
        assert got[inside].tolist() == [material] * int(inside.sum()), (node, material)
        assert not got[~inside].any()  # beyond the specimen's faces: air
    # and nothing of the small specimen outside |x|, |y|, |z| <= 0.41 at t = -1
    q = np.column_stack([np.full(200_000, -1.0), rng.uniform(-1, 1, (200_000, 3))])
    zyx = q[truss_regions(q, SMALL_TRUSS)["truss"], 1:]
    assert zyx.size and np.abs(zyx).max() <= 0.41 + 1e-9


def test_small_truss_values_regions_and_voids(rng):
    p = rng.uniform(-1, 1, (100_000, 4))
    v = small_octet_truss(p)
    r = truss_regions(p, SMALL_TRUSS)
    assert v.min() >= 0.0 and v.max() <= 0.1
    # struts fill 2-8% of the specimen (more than the large one's: a finer cell), the specimen a fifteenth
    # of the domain at t = -1 (0.82^2 x 0.82 / 8), less as it shrinks
    assert 0.02 < r["truss"][r["specimen"]].mean() < 0.08
    assert 0.04 < r["specimen"].mean() < 0.07
    assert np.median(v[r["air"]]) < 1e-6 and np.mean(v[r["air"]]) < 0.001
    voids = truss_voids(SMALL_TRUSS)
    assert voids.shape == (4, 4)
    for x, y, z, _radius in voids:
        centre = np.array([[-1.0, z, y, x]])
        assert truss_regions(centre, SMALL_TRUSS)["voids"][0] and not truss_regions(centre, SMALL_TRUSS)["truss"][0]
        assert np.abs([x, y, z]).max() < 0.4  # inside the specimen


@pytest.mark.parametrize("t", [-1.0, 1.0])
def test_small_truss_struts_are_one_percent_thick_and_sharp(t):
    rng = np.random.default_rng(12)
    near = small_truss_strut_points(rng, 20000, spread=0.0)
    near[:, 0] = t
    near = near[np.abs(truss_sdf(near, SMALL_TRUSS) + SMALL_TRUSS["half_thickness"]) < 1e-3][:200]
    offsets = rng.standard_normal((near.shape[0], 3))
    offsets *= 0.25 * SMALL_TRUSS["half_thickness"] / np.linalg.norm(offsets, axis=1, keepdims=True)
    probe = near.copy()
    probe[:, 1:] += offsets
    normals = sdf_normal(probe, lambda q: truss_sdf(q, SMALL_TRUSS))
    widths, edge_widths = widths_along_normals(small_octet_truss, t, probe, normals, SMALL_TRUSS["material_value"])
    assert len(widths) >= 60
    assert abs(np.median(widths) - 0.02) < 0.0005
    assert np.median(edge_widths) == pytest.approx(SMALL_TRUSS["edge_width"], rel=0.05)


def test_small_truss_motion_round_trips():
    # its own motion (buckle wavelength 0.4, its faces), inverted by truss_current: the lateral shears too
    from inr_amr_apps.phantoms import _lattice_map

    rng = np.random.default_rng(6)
    q = rng.uniform(-0.4, 0.4, (2000, 3))
    t = rng.uniform(-1, 1, 2000)
    m = _lattice_map(truss_current(q, t, SMALL_TRUSS), SMALL_TRUSS)
    np.testing.assert_allclose(np.stack([m["X"], m["Y"], m["Z"]], axis=1), q, atol=1e-10)


def test_small_truss_compresses_its_own_height():
    # at t = 1 the top face Z = 0.4 is at z = 0.2 (25% of the height 0.8), the bottom one stays at -0.4
    ends = truss_current(np.array([[0.0, 0.0, 0.4], [0.0, 0.0, -0.4]]), np.array([1.0, 1.0]), SMALL_TRUSS)
    np.testing.assert_allclose(ends[:, 1], [0.2, -0.4], atol=1e-9)
    p = np.random.default_rng(5).uniform(-1, 1, (50_000, 4))
    top = -0.4 + 0.8 * (1 - 0.25 * (p[:, 0] + 1) / 2)
    r = truss_regions(p, SMALL_TRUSS)
    assert r["truss"].any() and not (r["truss"] & (p[:, 1] > top + 0.011)).any()


def test_small_truss_strut_points_lie_near_its_struts():
    p = small_truss_strut_points(np.random.default_rng(0), 5000)
    d = truss_sdf(p, SMALL_TRUSS)
    assert np.median(np.abs(d)) < 0.02 and np.mean(d < 0.01) > 0.3
    assert np.abs(p[:, 1:]).max() < 0.5


# ------------------------------------------------------------------------------------ trained checkpoints
@pytest.mark.parametrize("name", sorted(DEMOS))
def test_trained_checkpoint_loads_and_fits(name):
    spec = DEMOS[name]
    path = DATA / spec.file_name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `python -m inr_amr_apps.training {name}`")
    inr = load_inr(path)
    assert inr.metadata["layout"] == EXPECTED_LAYOUT[name]
    if name == "sin2d":
        assert inr.input_names == ("x", "y") and inr.domain == ((0.0, 1.0), (0.0, 1.0))
        assert inr.describe() == "2 -> 32x4 relu -> 1"
    else:
        assert inr.input_names == ("t", "z", "y", "x") and inr.domain == ((-1.0, 1.0),) * 4
        assert inr.describe() == "4 -> fourier(256) -> 256x5 silu -> 1"
        assert inr.output_scale == pytest.approx(0.1)
    box = np.asarray(inr.domain)
    p = box[:, 0] + (box[:, 1] - box[:, 0]) * np.random.default_rng(2024).random((20_000, len(box)))
    rmse = float(np.sqrt(np.mean((inr.evaluate(p, component=0) - spec.phantom(p)) ** 2)))
    assert rmse < RMSE_BOUND[name], f"{name}: fit RMSE {rmse:.4g} >= bound {RMSE_BOUND[name]}"
    report = json.loads((DATA / f"{spec.file_name}.train.json").read_text())
    assert report["demo"] == name and report["seed"] == 0
    assert report["fit_rmse"] < RMSE_BOUND[name]


# ------------------------------------------------------------------------------------ training smoke tests
def test_training_decreases_the_error_and_leaves_global_rng_alone():
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002  (the legacy global state is what must stay untouched)
    start = relu_mlp_2d(3)
    before = [w.clone() for w in start.weights]
    seen = []
    threads = torch.get_num_threads()
    trained, report = train_inr(
        sin_corner, start, steps=300, batch_size=256, lr=1e-2, seed=5, progress=lambda f, m: seen.append(f), threads=1
    )
    assert torch.get_num_threads() == threads and report["threads"] == 1  # restored afterwards
    assert report["fit_rmse"] < 0.75 * report["initial_rmse"]
    history = [loss for _, loss in report["loss_history"]]
    assert np.mean(history[-10:]) < 0.5 * np.mean(history[:3])
    assert seen and seen[-1] == 1.0 and all(0 < f <= 1 for f in seen)
    assert all(torch.equal(a, b) for a, b in zip(before, start.weights))  # input INR untouched
    assert trained.input_names == ("x", "y") and trained.domain == start.domain
    assert trained.metadata["phantom"] == "sin_corner"
    assert trained.metadata["fit_rmse"] == pytest.approx(report["fit_rmse"])
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]
    # same seed, same result
    again, _ = train_inr(sin_corner, relu_mlp_2d(3), steps=300, batch_size=256, lr=1e-2, seed=5, threads=1)
    assert all(torch.equal(a, b) for a, b in zip(trained.weights, again.weights))


def test_small_ct_network_trains_and_saves(tmp_path):
    from inr_amr_core import save_ct_checkpoint

    inr = ct_architecture(1, features=16, width=32, depth=2)
    trained, report = train_inr(compressed_cube, inr, steps=150, batch_size=512, lr=3e-3, seed=0, threads=1)
    assert report["fit_rmse"] < report["initial_rmse"]
    assert torch.equal(trained.encoding.matrix, inr.encoding.matrix)  # the Fourier features are fixed
    save_ct_checkpoint(trained, tmp_path / "small.pt")
    back = load_inr(tmp_path / "small.pt")
    assert back.metadata["layout"] == "ct4d"
    p = np.random.default_rng(0).uniform(-1, 1, (500, 4))
    np.testing.assert_allclose(back.evaluate(p), trained.evaluate(p), rtol=0, atol=1e-6)


def test_train_demo_writes_checkpoint_and_report(tmp_path):
    info = train_demo("sin2d", tmp_path, steps=20, seed=1)
    ckpt = tmp_path / "sin_corner_2d.pt"
    assert Path(info["checkpoint"]) == ckpt and ckpt.is_file()
    report = json.loads((tmp_path / "sin_corner_2d.pt.train.json").read_text())
    for key in ("phantom", "architecture", "steps", "seed", "fit_rmse", "seconds", "torch_version"):
        assert key in report
    assert report["steps"] == 20 and report["seed"] == 1 and report["phantom"] == "sin_corner"
    inr = load_inr(ckpt)
    assert inr.metadata["layout"] == "native" and inr.metadata["training_steps"] == 20
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(ValueError, match="unknown demo"):
        train_demo("nope", tmp_path)
