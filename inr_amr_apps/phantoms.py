"""Analytic fields ("phantoms") that the demo INRs are trained on (numpy only, vectorised).

Every phantom takes points as an ``(N, k)`` float array **in the INR's input order** and returns
``(N,)`` float64 values. The CT phantoms also expose their sharp geometry as boolean masks
(``*_regions``) so that tests can check what is where without looking at smoothed values.

``sin_corner``
    The paper's 2D benchmark ``sin(1 / (alpha + r))`` on ``[0, 1]^2`` (Section 4.1); inputs ``(x, y)``.
``compressed_cube``
    A simulated dynamic CT scan (Section 4.2): a cube with a cylindrical hole, compressed on four
    sides by plates as ``t`` goes from -1 to 1; inputs ``(t, z, y, x)`` in ``[-1, 1]``.
``lattice``
    A simulated micro-CT scan of a gyroid sheet lattice (walls 0.02 thick) with pores, compressed
    between plates as ``t`` goes from -1 to 1 (a collapse band densifies, its walls buckle);
    inputs ``(t, z, y, x)`` in ``[-1, 1]``.
``octet_truss``
    A simulated micro-CT scan of an octet truss (struts 0.02 thick, about 3% of the specimen) with
    broken struts, compressed as ``t`` goes from -1 to 1 by the same motion as ``lattice``: mostly
    empty space, the case adaptive refinement is for; inputs ``(t, z, y, x)`` in ``[-1, 1]``.
``log_pile``
    An experimental-looking dynamic CT scan (Section 4.3): a woodpile of cylindrical logs in
    alternating layers, clipped to a vertical cylinder, compressed in time, with smooth
    reconstruction noise around it; inputs ``(t, z, y, x)`` in ``[-1, 1]``.

The attenuation values are linear attenuation coefficients of realistic size (0.10 for the
material), so an INR with output scale 0.1 has raw outputs of order 1.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CUBE",
    "LATTICE",
    "LOG_PILE",
    "SMALL_TRUSS",
    "TRUSS",
    "compressed_cube",
    "compressed_cube_regions",
    "compressed_cube_sdf",
    "compression",
    "lattice",
    "lattice_plates",
    "lattice_pores",
    "lattice_regions",
    "lattice_sdf",
    "lattice_undeformed",
    "log_pile",
    "log_pile_layer_heights",
    "log_pile_noise",
    "log_pile_regions",
    "log_pile_sdf",
    "octet_truss",
    "sin_corner",
    "small_octet_truss",
    "small_truss_strut_points",
    "truss_current",
    "truss_regions",
    "truss_sdf",
    "truss_strut_points",
    "truss_voids",
]


# ------------------------------------------------------------------------------------ helpers
def _points(points: np.ndarray, k: int, name: str) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != k:
        raise ValueError(f"{name} takes points of shape (N, {k}), got {p.shape}")
    return p


def _logistic(u: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-u))`` without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _smoothstep(u: np.ndarray) -> np.ndarray:
    """0 for ``u <= 0``, 1 for ``u >= 1``, ``3u^2 - 2u^3`` between (C1)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def compression(t: np.ndarray | float) -> np.ndarray:
    """Compression progress ``s = (t + 1) / 2`` clipped to ``[0, 1]``: 0 at ``t = -1``, 1 at ``t = 1``.

    Examples
    --------
    >>> compression(np.array([-1.0, 0.0, 1.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return np.clip((np.asarray(t, dtype=np.float64) + 1.0) * 0.5, 0.0, 1.0)


# ------------------------------------------------------------------------------------ 2D benchmark
def sin_corner(points: np.ndarray, alpha: float = 1.0 / 50.0) -> np.ndarray:
    """The paper's 2D benchmark ``f = sin(1 / (alpha + r))``, ``r = sqrt(x^2 + y^2)``, on ``[0, 1]^2``.

    The oscillations get faster towards the corner ``(0, 0)`` (Mitchell 2013, Section 2.8).

    Parameters
    ----------
    points : (N, 2) array_like
        ``(x, y)``.
    alpha : float, default 1/50
        The paper's value.

    Returns
    -------
    (N,) float64 in ``[-1, 1]``.

    Examples
    --------
    >>> float(sin_corner([[0.0, 0.0]])[0]) == np.sin(50.0)
    True
    """
    p = _points(points, 2, "sin_corner")
    r = np.hypot(p[:, 0], p[:, 1])
    return np.sin(1.0 / (alpha + r))


# ------------------------------------------------------------------------------------ compressed cube
#: Geometry and values of :func:`compressed_cube` (lengths in the ``[-1, 1]`` units of the inputs).
CUBE = {
    "half_width": 0.5,  # cube half-width at t = -1
    "hole_radius": 0.2,  # radius of the cylindrical hole along z at t = -1
    "lateral_strain": 0.2,  # x and y half-widths (and the hole) shrink by 20% at t = 1
    "bulge": 0.1,  # top/bottom faces dome outward in z by up to 10% at t = 1
    "plate_thickness": 0.1,
    "plate_half_length": 0.6,  # plates are 1.2 long in the other horizontal direction and in z
    "cube_value": 0.10,
    "plate_value": 0.06,
    "edge_width": 0.015,  # logistic width of the smoothed edges
}


def _cube_parts(p: np.ndarray) -> dict[str, np.ndarray]:
    """Approximate signed distances (negative inside) of the cube's parts, in current coordinates."""
    t, z, y, x = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    c = CUBE
    s = compression(t)
    lateral = 1.0 - c["lateral_strain"] * s  # x, y scale factor of the deformation
    a = c["half_width"] * lateral  # current x, y half-width
    # reference (undeformed) horizontal coordinates, for the dome of the top and bottom faces
    xr = np.clip(x / lateral, -c["half_width"], c["half_width"]) / c["half_width"]
    yr = np.clip(y / lateral, -c["half_width"], c["half_width"]) / c["half_width"]
    dome = (1.0 - xr * xr) * (1.0 - yr * yr)
    hz = c["half_width"] * (1.0 + c["bulge"] * s * dome)  # current z half-height above (x, y)
    d_x = np.abs(x) - a
    d_y = np.abs(y) - a
    d_z = np.abs(z) - hz
    d_outer = np.maximum(np.maximum(d_x, d_y), d_z)
    d_hole = c["hole_radius"] * lateral - np.hypot(x, y)  # > 0 inside the hole
    d_cube = np.maximum(d_outer, d_hole)
    # plates: their inner faces touch the cube faces |x| = a (both +x and -x via |x|), same for y
    half_t, half_l = 0.5 * c["plate_thickness"], c["plate_half_length"]
    centre = a + half_t
    d_px = np.maximum(np.maximum(np.abs(np.abs(x) - centre) - half_t, np.abs(y) - half_l), np.abs(z) - half_l)
    d_py = np.maximum(np.maximum(np.abs(np.abs(y) - centre) - half_t, np.abs(x) - half_l), np.abs(z) - half_l)
    return {"cube": d_cube, "outer": d_outer, "hole": d_hole, "plates": np.minimum(d_px, d_py)}


def compressed_cube_sdf(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate signed distances (negative inside) to the cube material and to the plates.

    Parameters
    ----------
    points : (N, 4) array_like
        ``(t, z, y, x)`` in ``[-1, 1]``.

    Returns
    -------
    d_cube, d_plates : (N,) float64

    Examples
    --------
    >>> d_cube, d_plates = compressed_cube_sdf([[-1.0, 0.0, 0.0, 0.35]])
    >>> bool(d_cube[0] < 0 < d_plates[0])
    True
    """
    d = _cube_parts(_points(points, 4, "compressed_cube_sdf"))
    return d["cube"], d["plates"]


def compressed_cube(points: np.ndarray) -> np.ndarray:
    """Simulated dynamic CT: a holed cube compressed on four sides by plates (paper Section 4.2).

    Inputs ``(t, z, y, x)``, all in ``[-1, 1]``. With ``s = (t + 1) / 2`` (0 at ``t = -1``, 1 at
    ``t = 1``) the motion is kinematic:

    * the cube (half-width 0.5 at ``t = -1``) is squeezed in x and y: its half-widths are
      ``0.5 (1 - 0.2 s)``, so 0.4 at ``t = 1``;
    * its top and bottom faces dome outward in z: half-height ``0.5 (1 + 0.1 s phi)`` with
      ``phi = (1 - X^2/0.25)(1 - Y^2/0.25)`` in undeformed coordinates (0.55 at the centre at ``t = 1``);
    * the cylindrical hole along z through its centre (radius 0.2) shrinks with it (radius 0.16 at ``t = 1``);
    * four plates (0.1 thick, 1.2 long in the other horizontal direction and in z, centred at
      ``z = 0``) touch the four faces ``+x, -x, +y, -y`` and move inward with them. Seen from above
      they form a frame at ``t = -1`` and a '#' at ``t = 1`` (their ends pass each other).

    Values are linear attenuation coefficients: cube material 0.10, plates 0.06, air 0. Edges are
    smoothed by a logistic of the signed distance of width 0.015
    (``0.10 sigma(-d_cube / 0.015) + 0.06 sigma(-d_plates / 0.015)``), so the values lie in ``[0, 0.1]``.

    Parameters
    ----------
    points : (N, 4) array_like
        ``(t, z, y, x)``.

    Returns
    -------
    (N,) float64

    Examples
    --------
    >>> v = compressed_cube([[-1.0, 0.0, 0.0, 0.35], [-1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.45]])
    >>> np.round(v, 2).tolist()   # cube wall, hole, +x plate at t = 1
    [0.1, 0.0, 0.06]
    """
    d = _cube_parts(_points(points, 4, "compressed_cube"))
    w = CUBE["edge_width"]
    return CUBE["cube_value"] * _logistic(-d["cube"] / w) + CUBE["plate_value"] * _logistic(-d["plates"] / w)


def compressed_cube_regions(points: np.ndarray) -> dict[str, np.ndarray]:
    """Sharp geometry of :func:`compressed_cube` as boolean masks.

    Returns
    -------
    dict
        ``'cube'`` (cube material), ``'hole'`` (inside the hole and within the cube's outer
        boundary), ``'plates'`` (any of the four plates) and ``'air'`` (neither cube nor plates:
        the hole is air too).

    Examples
    --------
    >>> r = compressed_cube_regions([[-1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.45]])
    >>> r["hole"].tolist(), r["plates"].tolist()
    ([True, False], [False, True])
    """
    d = _cube_parts(_points(points, 4, "compressed_cube_regions"))
    cube = d["cube"] <= 0.0
    plates = (d["plates"] <= 0.0) & ~cube
    hole = (d["outer"] <= 0.0) & (d["hole"] > 0.0)
    return {"cube": cube, "hole": hole, "plates": plates, "air": ~cube & ~plates}


# ------------------------------------------------------------------------------------ log pile
#: Geometry, values and noise of :func:`log_pile`.
LOG_PILE = {
    "n_layers": 6,
    "logs_per_layer": 6,
    "log_spacing": 0.25,  # horizontal distance between parallel logs: centres at +-0.125, +-0.375, +-0.625
    "log_radius": 0.085,
    "bottom": -0.375,  # height of the bottom layer's axes (the pile stands on it)
    "layer_spacing": (0.15, 0.12),  # axis-to-axis distance of adjacent layers at t = -1 and t = 1
    "flatten": (0.10, 0.05),  # at t = 1 the vertical radius shrinks by 10%, the horizontal one grows 5%
    "sag": 0.04,  # at t = 1 the top layer's logs sag 0.04 at the middle (less lower down)
    "clip_radius": 0.75,  # the pile is clipped to the vertical cylinder x^2 + y^2 <= 0.75^2
    "log_value": 0.10,
    "edge_width": 0.015,
    "noise_rms": 0.005,  # RMS of the noise before masking (peaks about 0.02)
    "noise_modes": 48,
    "noise_seed": 20240501,
    "noise_clearance": 0.03,  # the noise ramps from 0 on the object's surface to full over this distance
    "noise_fade": 0.4,  # and fades as exp(-(distance / 0.4)^2) away from the object
}


def log_pile_layer_heights(t: np.ndarray | float) -> np.ndarray:
    """Heights of the layers' log axes (before sagging) at times ``t``: shape ``t.shape + (n_layers,)``.

    The bottom layer stays at ``z = -0.375``; the layer spacing shrinks linearly from 0.15 at
    ``t = -1`` to 0.12 at ``t = 1``. Even layers (0, 2, 4) hold logs along x, odd ones along y.

    Examples
    --------
    >>> np.round(log_pile_layer_heights(-1.0), 3).tolist()
    [-0.375, -0.225, -0.075, 0.075, 0.225, 0.375]
    """
    lp = LOG_PILE
    s = compression(t)
    spacing = lp["layer_spacing"][0] + (lp["layer_spacing"][1] - lp["layer_spacing"][0]) * s
    k = np.arange(lp["n_layers"], dtype=np.float64)
    return lp["bottom"] + np.multiply.outer(spacing, k)


def _log_pile_parts(p: np.ndarray) -> dict[str, np.ndarray]:
    t, z, y, x = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    lp = LOG_PILE
    s = compression(t)
    n_layers, n_logs, spacing = lp["n_layers"], lp["logs_per_layer"], lp["log_spacing"]
    r_h = lp["log_radius"] * (1.0 + lp["flatten"][1] * s)  # (N,)
    r_v = lp["log_radius"] * (1.0 - lp["flatten"][0] * s)
    heights = log_pile_layer_heights(t)  # (N, L)
    k = np.arange(n_layers)
    along_x = (k % 2) == 0  # (L,)
    # the coordinate across the logs (h) and along them (u), per layer
    h = np.where(along_x, y[:, None], x[:, None])  # (N, L)
    u = np.where(along_x, x[:, None], y[:, None])
    first = -0.5 * (n_logs - 1) * spacing
    j = np.clip(np.rint((h - first) / spacing), 0, n_logs - 1)  # nearest log of each layer
    dh = h - (first + j * spacing)
    rc = lp["clip_radius"]
    sag = lp["sag"] * s[:, None] * (k / (n_layers - 1))[None, :] * (1.0 - np.clip(u / rc, -1.0, 1.0) ** 2)
    dz = z[:, None] - (heights - sag)
    q = np.sqrt((dh / r_h[:, None]) ** 2 + (dz / r_v[:, None]) ** 2)
    d_layers = (q - 1.0) * np.minimum(r_h, r_v)[:, None]  # (N, L), approximate signed distance
    nearest = np.argmin(d_layers, axis=1)
    d_logs = d_layers[np.arange(p.shape[0]), nearest]
    d_clip = np.hypot(x, y) - rc
    d = np.maximum(d_logs, d_clip)
    return {"d": d, "along_x": along_x[nearest]}


def log_pile_sdf(points: np.ndarray) -> np.ndarray:
    """Approximate signed distance (negative inside) to the logs of :func:`log_pile`.

    Examples
    --------
    >>> bool(log_pile_sdf([[-1.0, -0.375, 0.125, 0.0]])[0] < 0)   # on a log's axis
    True
    """
    return _log_pile_parts(_points(points, 4, "log_pile_sdf"))["d"]


def _noise_modes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies (cycles per unit; t slower), phases and amplitudes of the fixed-seed noise."""
    lp = LOG_PILE
    rng = np.random.default_rng(lp["noise_seed"])
    n = lp["noise_modes"]
    freq = rng.normal(0.0, 1.0, size=(n, 4)) * np.array([0.5, 2.0, 2.0, 2.0])  # (t, z, y, x)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n)
    amp = rng.uniform(0.5, 1.0, size=n)
    amp *= lp["noise_rms"] / np.sqrt(0.5 * np.sum(amp**2))  # RMS of a sum of cosines
    return freq, phase, amp


_NOISE = _noise_modes()


def _masked_noise(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    lp = LOG_PILE
    freq, phase, amp = _NOISE
    outside = np.maximum(d, 0.0)
    window = _smoothstep(outside / lp["noise_clearance"]) * np.exp(-((outside / lp["noise_fade"]) ** 2))
    out = np.zeros(p.shape[0], dtype=np.float64)
    live = window > 0.0
    if live.any():
        # float32 phases: plenty for a 0.005-RMS noise, and several times faster than float64 cosines
        arg = (p[live].astype(np.float32) @ (2.0 * np.pi * freq.T).astype(np.float32)) + phase.astype(np.float32)
        out[live] = (np.cos(arg) @ amp.astype(np.float32)).astype(np.float64) * window[live]
    return out


def log_pile_noise(points: np.ndarray) -> np.ndarray:
    """The reconstruction-noise term of :func:`log_pile` alone (exactly 0 inside the logs).

    A fixed-seed sum of 48 random Fourier modes in ``(t, z, y, x)`` (spatial frequencies about
    2 cycles per unit, slower in t) with RMS 0.005, multiplied by a window that is 0 inside and on
    the logs, reaches 1 at distance 0.03 from them and fades as ``exp(-(d / 0.4)^2)`` further away.

    Examples
    --------
    >>> float(abs(log_pile_noise([[-1.0, -0.375, 0.125, 0.0]])[0]))   # inside a log
    0.0
    """
    p = _points(points, 4, "log_pile_noise")
    return _masked_noise(p, _log_pile_parts(p)["d"])


def log_pile(points: np.ndarray) -> np.ndarray:
    """An experimental-looking dynamic CT scan of a log pile (paper Section 4.3).

    Inputs ``(t, z, y, x)``, all in ``[-1, 1]``; ``s = (t + 1) / 2``.

    * Six layers of six parallel cylindrical logs (radius 0.085, 0.25 apart: axes at
      ``+-0.125, +-0.375, +-0.625``); logs run along x in even layers (0, 2, 4) and along y in odd
      ones, so adjacent layers cross at 90 degrees.
    * The layers' axes are at ``z = -0.375 + k * spacing`` with the spacing shrinking from 0.15
      at ``t = -1`` (adjacent layers overlap slightly: the pile is fused) to 0.12 at ``t = 1``.
    * Compression also flattens the logs (vertical radius -10%, horizontal +5% at ``t = 1``) and
      makes them sag: the axis of layer k drops by ``0.04 s (k/5) (1 - (u/0.75)^2)`` along its
      length ``u``.
    * The pile is clipped to the vertical cylinder ``x^2 + y^2 <= 0.75^2``: z-slices look circular.
    * Values: logs 0.10 (logistic edges of width 0.015); around the object, smooth
      reconstruction noise (:func:`log_pile_noise`, RMS 0.005, peaks about 0.02), exactly 0 inside
      the logs and fading away from them. Values lie in about ``[-0.025, 0.1]``.

    Parameters
    ----------
    points : (N, 4) array_like
        ``(t, z, y, x)``.

    Returns
    -------
    (N,) float64

    Examples
    --------
    >>> v = log_pile([[-1.0, -0.375, 0.125, 0.0], [-1.0, -0.375, 0.0, 0.0]])
    >>> round(float(v[0]), 3), abs(float(v[1])) < 0.03    # on a log axis; between two logs
    (0.1, True)
    """
    p = _points(points, 4, "log_pile")
    d = _log_pile_parts(p)["d"]
    return LOG_PILE["log_value"] * _logistic(-d / LOG_PILE["edge_width"]) + _masked_noise(p, d)


def log_pile_regions(points: np.ndarray) -> dict[str, np.ndarray]:
    """Sharp geometry of :func:`log_pile` as boolean masks.

    Returns
    -------
    dict
        ``'log'`` (inside any log, within the clipping cylinder), ``'log_x'`` / ``'log_y'`` (inside a
        log running along x / along y), ``'air'`` (not in a log; the noise lives there).

    Examples
    --------
    >>> r = log_pile_regions([[-1.0, -0.375, 0.125, 0.0], [-1.0, -0.225, 0.0, 0.125]])
    >>> r["log_x"].tolist(), r["log_y"].tolist()
    ([True, False], [False, True])
    """
    parts = _log_pile_parts(_points(points, 4, "log_pile_regions"))
    log = parts["d"] <= 0.0
    return {"log": log, "log_x": log & parts["along_x"], "log_y": log & ~parts["along_x"], "air": ~log}


# ------------------------------------------------------------------------------------ lattice
#: Geometry, motion and values of :func:`lattice` (lengths in the ``[-1, 1]`` units of the inputs).
LATTICE = {
    "period": 0.4,  # gyroid unit cell at t = -1 (4 cells across the specimen's width)
    "half_thickness": 0.01,  # the walls are 0.02 thick (1% of the domain), in current coordinates
    "half_width": 0.8,  # the specimen is |X|, |Y| <= 0.8 in undeformed coordinates
    "bottom": -0.7,  # top face of the fixed bottom plate
    "top": 0.7,  # bottom face of the top plate at t = -1; it moves down to 0.7 - 1.4 * strain
    "strain": 0.25,  # nominal compression at t = 1: the specimen's height 1.4 shrinks to 1.05
    "band_centre": 0.0,  # height (current z) of the collapse band
    "band_width": 0.1,  # sech^2 half-width of the band
    "band_stretch": 1.5,  # extra dZ/dz in the band's middle at t = 1 (grows as s^2): local strain 61%
    "buckle_amplitude": 0.04,  # lateral buckling displacement in the band at t = 1 (grows as s^2)
    "buckle_wavelength": 0.4,
    "plate_thickness": 0.1,
    "plate_half_width": 0.9,
    # spherical voids (x, y, z, radius) in undeformed coordinates; the centres are moved onto the
    # nearest wall when the module is imported, so each one cuts a round hole through a wall. The
    # last, large one is a region where a wall is missing.
    "pores": (
        (0.30, -0.25, 0.35, 0.05),
        (-0.45, 0.10, -0.30, 0.06),
        (0.05, 0.50, -0.45, 0.045),
        (0.55, 0.45, 0.10, 0.05),
        (-0.15, -0.55, -0.05, 0.055),
        (-0.35, -0.20, 0.30, 0.12),
    ),
    "material_value": 0.10,
    "plate_value": 0.06,
    "edge_width": 0.003,  # logistic width of the edges
}


def _specimen_faces(t: np.ndarray | float, c: dict) -> tuple[np.ndarray, np.ndarray]:
    """Heights of a compressed specimen's bottom (fixed) and top (moving down) faces at ``t``."""
    s = compression(t)
    height = (c["top"] - c["bottom"]) * (1.0 - c["strain"] * s)
    return np.full_like(s, c["bottom"]), c["bottom"] + height


def lattice_plates(t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Heights of the specimen's bottom and top faces (the plates' inner faces) at times ``t``.

    The bottom plate is fixed at ``z = -0.7``; the top plate moves down linearly in ``s = (t + 1) / 2``
    from ``z = 0.7`` to ``0.35`` (25% nominal compression).

    Examples
    --------
    >>> bottom, top = lattice_plates(np.array([-1.0, 0.0, 1.0]))
    >>> bottom.tolist(), np.round(top, 3).tolist()
    ([-0.7, -0.7, -0.7], [0.7, 0.525, 0.35])
    """
    return _specimen_faces(t, LATTICE)


def _sech2(u: np.ndarray) -> np.ndarray:
    return 1.0 / np.cosh(np.clip(u, -300.0, 300.0)) ** 2


def _lattice_map(p: np.ndarray, c: dict | None = None) -> dict[str, np.ndarray]:
    """Undeformed coordinates ``X, Y, Z`` of current points and the Jacobian of that map.

    The inverse motion is a composition of closed forms: ``Z = F(z, t)`` (monotone in z), then
    ``Y = y - dy(x, z)``, then ``X = x - dx(Y, z)``. ``c`` holds the motion's constants (default
    :data:`LATTICE`; :data:`TRUSS` uses the same motion).
    """
    c = LATTICE if c is None else c
    t, z, y, x = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    s = compression(t)
    bottom, top = _specimen_faces(t, c)
    h0 = c["top"] - c["bottom"]
    zb, wb = c["band_centre"], c["band_width"]
    b = c["band_stretch"] * s * s
    tb = np.tanh((bottom - zb) / wb)
    # dZ/dz = 1 + a + b sech^2((z - zb) / wb), with a such that Z(top) = c["top"]
    a = (h0 - b * wb * (np.tanh((top - zb) / wb) - tb)) / (top - bottom) - 1.0
    u = (z - zb) / wb
    big_z = bottom + (1.0 + a) * (z - bottom) + b * wb * (np.tanh(u) - tb)
    dz_dz = 1.0 + a + b * _sech2(u)
    # buckling: lateral shears that grow as s^2 inside the band
    k = 2.0 * np.pi / c["buckle_wavelength"]
    env = c["buckle_amplitude"] * s * s * _sech2(u)
    env_z = env * (-2.0 * np.tanh(u) / wb)  # d env / dz
    big_y = y - 0.5 * env * np.sin(k * x)
    dy_x, dy_z = -0.5 * env * k * np.cos(k * x), -0.5 * env_z * np.sin(k * x)  # dY/dx, dY/dz
    big_x = x - env * np.sin(k * big_y)
    dx_dy = -env * k * np.cos(k * big_y)  # dX/dY at fixed z
    dx_z = -env_z * np.sin(k * big_y)  # dX/dz at fixed Y
    # Jacobian rows: dX/d(x, y, z), dY/d(x, y, z), dZ/dz
    jac = {
        "Xx": 1.0 + dx_dy * dy_x,
        "Xy": dx_dy,
        "Xz": dx_dy * dy_z + dx_z,
        "Yx": dy_x,
        "Yz": dy_z,
        "Zz": dz_dz,
    }
    return {"X": big_x, "Y": big_y, "Z": big_z, "bottom": bottom, "top": top, "dZdz": dz_dz, "shear": env, **jac}


def _current_distance(f: np.ndarray, fx: np.ndarray, fy: np.ndarray, fz: np.ndarray, m: dict) -> np.ndarray:
    """``f / |grad_x f|``: a level function of undeformed coordinates as a distance in current ones.

    ``(fx, fy, fz)`` is the gradient of ``f`` in undeformed coordinates; the chain rule through the
    map's Jacobian gives the gradient in current coordinates (first-order distance to ``f = 0``).
    """
    gx = fx * m["Xx"] + fy * m["Yx"]
    gy = fx * m["Xy"] + fy
    gz = fx * m["Xz"] + fy * m["Yz"] + fz * m["Zz"]
    return f / np.maximum(np.sqrt(gx * gx + gy * gy + gz * gz), 1e-9)


def _sides_distance(m: dict, half_width: float) -> np.ndarray:
    """Distance (current coordinates) to the specimen's sides ``|X|, |Y| <= half_width`` (undeformed)."""
    big_x, big_y = m["X"], m["Y"]
    zero = np.zeros_like(big_x)
    d_side_x = _current_distance(np.abs(big_x) - half_width, np.sign(big_x), zero, zero, m)
    d_side_y = _current_distance(np.abs(big_y) - half_width, zero, np.sign(big_y), zero, m)
    return np.maximum(d_side_x, d_side_y)


def _spheres_distance(m: dict, spheres: np.ndarray) -> np.ndarray:
    """Distance (current coordinates) to the nearest of the undeformed spheres (rows x, y, z, radius)."""
    big_x, big_y, big_z = m["X"], m["Y"], m["Z"]
    d = np.full_like(big_x, np.inf)
    for cx, cy, cz, r in spheres:
        ex, ey, ez = big_x - cx, big_y - cy, big_z - cz
        rho = np.maximum(np.sqrt(ex * ex + ey * ey + ez * ez), 1e-12)
        d = np.minimum(d, _current_distance(rho - r, ex / rho, ey / rho, ez / rho, m))
    return d


def _gyroid(big_x: np.ndarray, big_y: np.ndarray, big_z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The gyroid function ``g = sin X cos Y + sin Y cos Z + sin Z cos X`` (scaled) and its gradient."""
    k = 2.0 * np.pi / LATTICE["period"]
    sx, cx = np.sin(k * big_x), np.cos(k * big_x)
    sy, cy = np.sin(k * big_y), np.cos(k * big_y)
    sz, cz = np.sin(k * big_z), np.cos(k * big_z)
    g = sx * cy + sy * cz + sz * cx
    return g, k * (cx * cy - sz * sx), k * (cy * cz - sx * sy), k * (cz * cx - sy * sz)


def _on_gyroid(centre: np.ndarray) -> np.ndarray:
    """The point of the gyroid's zero set nearest ``centre`` (a few Newton steps along the gradient)."""
    q = np.asarray(centre, dtype=np.float64).copy()
    for _ in range(100):  # damped: steps of at most 0.01, so it stays near the start
        g, gx, gy, gz = _gyroid(q[0:1], q[1:2], q[2:3])
        grad = np.array([gx[0], gy[0], gz[0]])
        step = g[0] * grad / max(float(grad @ grad), 1e-12)
        q -= step * min(1.0, 0.01 / max(float(np.linalg.norm(step)), 1e-300))
    return q


#: the pores' centres on the walls (x, y, z; undeformed coordinates) and radii
_PORES = np.array([[*_on_gyroid(np.array(row[:3])), row[3]] for row in LATTICE["pores"]])


def lattice_pores() -> np.ndarray:
    """The pores of :func:`lattice`: rows ``(x, y, z, radius)``, centres on walls, undeformed coordinates.

    The centres are those of ``LATTICE["pores"]`` moved (by at most a few hundredths) onto the
    nearest point of the gyroid's middle surface ``g = 0``.

    Examples
    --------
    >>> pores = lattice_pores()
    >>> pores.shape, float(pores[:, 3].max())
    ((6, 4), 0.12)
    """
    return _PORES.copy()


def _lattice_parts(p: np.ndarray) -> dict[str, np.ndarray]:
    """Approximate signed distances (negative inside), in current coordinates, of the lattice's parts."""
    c = LATTICE
    m = _lattice_map(p)
    g, gx, gy, gz = _gyroid(m["X"], m["Y"], m["Z"])
    d_sheet = _current_distance(np.abs(g), gx, gy, gz, m) - c["half_thickness"]
    # the specimen: |X|, |Y| <= half_width (undeformed), between the plates (current z)
    z = p[:, 1]
    d_box = np.maximum(_sides_distance(m, c["half_width"]), np.maximum(z - m["top"], m["bottom"] - z))
    d_pore = _spheres_distance(m, _PORES)  # pores: spheres in undeformed coordinates
    d_lattice = np.maximum(np.maximum(d_sheet, d_box), -d_pore)
    # plates (current coordinates): [bottom - thickness, bottom] and [top, top + thickness]
    th, phw = c["plate_thickness"], c["plate_half_width"]
    d_lateral = np.maximum(np.abs(p[:, 2]), np.abs(p[:, 3])) - phw
    d_low = np.maximum(np.abs(z - (m["bottom"] - 0.5 * th)) - 0.5 * th, d_lateral)
    d_high = np.maximum(np.abs(z - (m["top"] + 0.5 * th)) - 0.5 * th, d_lateral)
    return {
        "lattice": d_lattice,
        "sheet": d_sheet,
        "box": d_box,
        "pore": d_pore,
        "plates": np.minimum(d_low, d_high),
    }


def lattice_undeformed(points: np.ndarray) -> np.ndarray:
    """Undeformed (``t = -1``) coordinates ``(Z, Y, X)`` of current points ``(t, z, y, x)``.

    The motion is the identity at ``t = -1``. With ``s = (t + 1) / 2`` the vertical map has
    ``dZ/dz = 1 + a(s) + 1.5 s^2 sech^2(z / 0.1)``: a collapse band around ``z = 0`` where the
    layers densify (local strain 61% at ``t = 1``) on top of a small uniform strain (``a`` makes
    the top plate's face map to ``Z = 0.7``); then two lateral shears, ``Y = y - 0.02 s^2 sech^2(z / 0.1)
    sin(2 pi x / 0.4)`` and ``X = x - 0.04 s^2 sech^2(z / 0.1) sin(2 pi Y / 0.4)``: the walls in the
    band buckle sideways.

    Returns
    -------
    (N, 3) float64
        ``(Z, Y, X)`` in the input order.

    Examples
    --------
    >>> np.round(lattice_undeformed([[-1.0, 0.3, 0.2, 0.1]]), 12).tolist()   # identity at t = -1
    [[0.3, 0.2, 0.1]]
    >>> round(float(lattice_undeformed([[1.0, 0.35, 0.0, 0.0]])[0, 0]), 12)   # the top face
    0.7
    """
    m = _lattice_map(_points(points, 4, "lattice_undeformed"))
    return np.stack([m["Z"], m["Y"], m["X"]], axis=1)


def lattice_sdf(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate signed distances (negative inside) to the lattice material and to the plates.

    Parameters
    ----------
    points : (N, 4) array_like
        ``(t, z, y, x)`` in ``[-1, 1]``.

    Returns
    -------
    d_lattice, d_plates : (N,) float64

    Examples
    --------
    >>> d_lattice, d_plates = lattice_sdf([[-1.0, -0.75, 0.0, 0.0]])   # in the bottom plate
    >>> bool(d_plates[0] < 0 < d_lattice[0])
    True
    """
    d = _lattice_parts(_points(points, 4, "lattice_sdf"))
    return d["lattice"], d["plates"]


def lattice(points: np.ndarray) -> np.ndarray:
    """Simulated micro-CT of a gyroid sheet lattice under compression, with pores.

    Inputs ``(t, z, y, x)``, all in ``[-1, 1]``; ``s = (t + 1) / 2``.

    * The material is a gyroid sheet: in undeformed coordinates ``(X, Y, Z)`` the points where
      ``|g| / |grad g| <= 0.01`` with ``g = sin kX cos kY + sin kY cos kZ + sin kZ cos kX``,
      ``k = 2 pi / 0.4`` (4 unit cells across the specimen). The distance is measured in current
      coordinates (the gradient goes through the motion's Jacobian), so the walls stay 0.02 thick
      (1% of the domain) while they move, bend and crowd together. The distance is first order:
      the thickness is within 5% of 0.02 almost everywhere, up to 25% more in a few places.
    * The specimen is ``|X|, |Y| <= 0.8``, between two plates (0.1 thick, ``|x|, |y| <= 0.9``,
      attenuation 0.06): the bottom one fixed with its face at ``z = -0.7``, the top one moving down
      from ``z = 0.7`` at ``t = -1`` to ``0.35`` at ``t = 1`` (:func:`lattice_plates`).
    * The motion is not affine (:func:`lattice_undeformed`): a collapse band around ``z = 0``
      where the layers densify (local strain up to 61%) and the walls buckle sideways (lateral
      displacement up to 0.04), growing as ``s^2``, over a small uniform strain elsewhere.
    * Six spherical pores (radii 0.045-0.06, centred on walls) cut round holes through walls; a
      larger one (radius 0.12) is a region where a wall is missing. They move with the material.
    * Values: lattice 0.10, plates 0.06, air 0, with logistic edges of width 0.003
      (``0.10 sigma(-d_lattice / 0.003) + 0.06 sigma(-d_plates / 0.003)``), in ``[0, 0.1]``.

    Parameters
    ----------
    points : (N, 4) array_like
        ``(t, z, y, x)``.

    Returns
    -------
    (N,) float64

    Examples
    --------
    >>> v = lattice([[-1.0, 0.0, 0.0, 0.0], [-1.0, 0.1, 0.0, 0.0], [-1.0, -0.75, 0.0, 0.0]])
    >>> np.round(v, 2).tolist()   # on a wall, in a cell, in the bottom plate
    [0.1, 0.0, 0.06]
    """
    d = _lattice_parts(_points(points, 4, "lattice"))
    w = LATTICE["edge_width"]
    return LATTICE["material_value"] * _logistic(-d["lattice"] / w) + LATTICE["plate_value"] * _logistic(
        -d["plates"] / w
    )


def lattice_regions(points: np.ndarray) -> dict[str, np.ndarray]:
    """Sharp geometry of :func:`lattice` as boolean masks.

    Returns
    -------
    dict
        ``'lattice'`` (wall material), ``'plates'``, ``'pores'`` (inside a pore and on a wall, within
        the specimen: material that is missing), ``'specimen'`` (inside the specimen's box, walls or
        not) and ``'air'`` (neither lattice nor plates).

    Examples
    --------
    >>> r = lattice_regions([[-1.0, 0.0, 0.0, 0.0], [-1.0, -0.75, 0.0, 0.0]])
    >>> r["lattice"].tolist(), r["plates"].tolist()
    ([True, False], [False, True])
    """
    d = _lattice_parts(_points(points, 4, "lattice_regions"))
    mat = d["lattice"] <= 0.0
    plates = (d["plates"] <= 0.0) & ~mat
    specimen = d["box"] <= 0.0
    pores = specimen & (d["sheet"] <= 0.0) & (d["pore"] < 0.0)
    return {"lattice": mat, "plates": plates, "pores": pores, "specimen": specimen, "air": ~mat & ~plates}


# ------------------------------------------------------------------------------------ octet truss
TRUSS = {
    "cell": 0.5,  # octet unit cell at t = -1 (3 cells across the specimen)
    "origin": -0.75,  # a node at (X, Y, Z) = (-0.75, -0.75, -0.75)
    "half_thickness": 0.01,  # strut radius: the struts are 0.02 thick (1% of the domain), in current coordinates
    "half_width": 0.76,  # the specimen is |X|, |Y| <= 0.75 plus a strut radius, undeformed coordinates
    "bottom": -0.75,  # bottom face of the specimen (fixed)
    "top": 0.75,  # top face at t = -1; it moves down to 0.75 - 1.5 * strain
    "strain": 0.25,
    "band_centre": 0.0,
    "band_width": 0.1,
    "band_stretch": 1.5,
    "buckle_amplitude": 0.04,
    "buckle_wavelength": 0.5,
    # spherical voids (x, y, z, radius) in undeformed coordinates, moved onto the nearest strut's axis
    # (_voids_on_struts): each one cuts a strut (a broken strut); the last one removes a node
    "voids": (
        (-0.62, -0.62, -0.25, 0.04),
        (0.37, 0.13, 0.27, 0.04),
        (0.12, -0.38, -0.5, 0.04),
        (-0.38, 0.38, 0.5, 0.04),
        (0.25, 0.25, -0.25, 0.07),
    ),
    "material_value": 0.10,
    "edge_width": 0.003,
}

#: a smaller specimen of the truss, with a finer cell, in the same field of view: 2 cells of 0.4 across
#: and 2 high, so the specimen fills about a fifteenth of the domain and the struts cross few of the
#: level-5 cells, where a mesh per level-5 cell could save 33x at 257^3's RMSE, not 7x (``bench/oracle.py``
#: on the phantoms, 200,000 points, t = 0; 2 cells of 0.5: 20x)
SMALL_TRUSS = {
    **TRUSS,
    "cell": 0.4,
    "origin": -0.4,  # a node at (X, Y, Z) = (-0.4, -0.4, -0.4)
    "half_width": 0.41,  # |X|, |Y| <= 0.4 plus a strut radius
    "bottom": -0.4,
    "top": 0.4,  # it moves down to 0.4 - 0.8 * strain
    "buckle_wavelength": 0.4,
    "voids": (
        (-0.3, -0.3, -0.2, 0.04),
        (0.1, -0.1, 0.2, 0.04),
        (0.1, 0.3, -0.2, 0.04),
        (-0.2, 0.2, 0.0, 0.06),
    ),
}


def _octet_segments() -> tuple[np.ndarray, np.ndarray]:
    """The 36 struts of one octet cell, in units of the cell: 24 on its faces, 12 inside it.

    Every face has struts from its centre to its four corners (shared with the neighbouring cell),
    and the face centres of adjacent faces are joined (the cell's inner octahedron). The truss is
    symmetric about every cell face, so for a point in a cell the nearest strut is one of these.
    """
    starts, ends = [], []
    centres = []
    for axis in range(3):
        for side in (0.0, 1.0):
            c = np.full(3, 0.5)
            c[axis] = side
            centres.append(c)
            others = [a for a in range(3) if a != axis]
            for u in (0.0, 1.0):
                for v in (0.0, 1.0):
                    corner = np.empty(3)
                    corner[axis], corner[others[0]], corner[others[1]] = side, u, v
                    starts.append(c)
                    ends.append(corner)
    for i in range(len(centres)):
        for j in range(i + 1, len(centres)):
            if np.isclose(np.linalg.norm(centres[i] - centres[j]), np.sqrt(0.5)):
                starts.append(centres[i])
                ends.append(centres[j])
    return np.array(starts), np.array(ends)


_OCTET_A, _OCTET_B = _octet_segments()


def _nearest_on_struts(q: np.ndarray, c: dict) -> tuple[np.ndarray, np.ndarray]:
    """Distance from undeformed points ``q`` (N, 3: X, Y, Z) to the infinite truss's strut axes, and
    the nearest axis points (the truss of configuration ``c``)."""
    a = c["cell"]
    local = (q - c["origin"]) / a
    cell = np.floor(local)
    f = local - cell  # in [0, 1)^3
    best = np.full(q.shape[0], np.inf)
    foot = np.zeros_like(q)
    ab = _OCTET_B - _OCTET_A
    inv_len2 = 1.0 / np.sum(ab * ab, axis=1)
    for k in range(ab.shape[0]):  # a loop over the 36 struts, vectorised over points: 2x faster than (N, 36, 3)
        rel = f - _OCTET_A[k]
        lam = np.clip((rel @ ab[k]) * inv_len2[k], 0.0, 1.0)
        off = rel - lam[:, None] * ab[k]
        d2 = np.einsum("ij,ij->i", off, off)
        closer = d2 < best
        best[closer] = d2[closer]
        foot[closer] = _OCTET_A[k] + lam[closer, None] * ab[k]
    return np.sqrt(best) * a, (foot + cell) * a + c["origin"]


def _voids_on_struts(c: dict) -> np.ndarray:
    """``c``'s voids with their centres moved onto the nearest strut axis: rows ``(x, y, z, radius)``."""
    centres = np.array([row[:3] for row in c["voids"]], dtype=np.float64)
    radii = np.array([row[3] for row in c["voids"]], dtype=np.float64)
    return np.column_stack([_nearest_on_struts(centres, c)[1], radii])


def truss_current(undeformed: np.ndarray, t: np.ndarray, c: dict = TRUSS) -> np.ndarray:
    """Current positions ``(t, z, y, x)`` of undeformed truss points ``(X, Y, Z)`` at times ``t``.

    The inverse of the motion :func:`octet_truss` uses: ``z`` solves ``Z(z, t) = Z`` (Newton; ``Z`` is
    monotone in ``z``), then the two shears are undone in closed form.

    Examples
    --------
    >>> p = truss_current(np.array([[0.1, 0.2, 0.3]]), np.array([1.0]))
    >>> np.round(_lattice_map(p, TRUSS)["X"], 9).tolist()
    [0.1]
    """
    q = np.asarray(undeformed, dtype=np.float64)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), q.shape[:1])
    big_x, big_y, big_z = q[:, 0], q[:, 1], q[:, 2]
    bottom, top = _specimen_faces(t, c)
    z = bottom + (big_z - c["bottom"]) * (top - bottom) / (c["top"] - c["bottom"])
    zeros = np.zeros_like(z)
    for _ in range(30):
        m = _lattice_map(np.stack([t, z, zeros, zeros], axis=1), c)
        z = z - (m["Z"] - big_z) / m["dZdz"]
    env = _lattice_map(np.stack([t, z, zeros, zeros], axis=1), c)["shear"]  # the shears' size at this z
    k = 2.0 * np.pi / c["buckle_wavelength"]
    x = big_x + env * np.sin(k * big_y)
    y = big_y + 0.5 * env * np.sin(k * x)
    return np.stack([t, z, y, x], axis=1)


def truss_strut_points(rng: np.random.Generator, n: int, spread: float = 0.015, c: dict = TRUSS) -> np.ndarray:
    """``n`` random current points ``(t, z, y, x)`` near the struts of :func:`octet_truss` (or of the
    specimen ``c``, e.g. :data:`SMALL_TRUSS`).

    A random strut of a random cell of the specimen, a uniform point on its axis, a Gaussian offset of
    standard deviation ``spread`` per axis (undeformed), a uniform ``t``, moved by the motion.

    Examples
    --------
    >>> p = truss_strut_points(np.random.default_rng(0), 1000)
    >>> p.shape, bool((np.abs(truss_sdf(p)) < 0.1).mean() > 0.95)
    ((1000, 4), True)
    """
    cells = round((2 * c["half_width"] - 2 * c["half_thickness"]) / c["cell"])
    cell = rng.integers(0, cells, size=(n, 3)).astype(np.float64)
    k = rng.integers(0, _OCTET_A.shape[0], size=n)
    lam = rng.uniform(0.0, 1.0, size=(n, 1))
    axis = _OCTET_A[k] + lam * (_OCTET_B[k] - _OCTET_A[k])
    q = (cell + axis) * c["cell"] + c["origin"] + spread * rng.standard_normal((n, 3))
    t = rng.uniform(-1.0, 1.0, size=n)
    return np.clip(truss_current(q, t, c), -1.0, 1.0)


def small_truss_strut_points(rng: np.random.Generator, n: int, spread: float = 0.015) -> np.ndarray:
    """:func:`truss_strut_points` of :func:`small_octet_truss` (its training sampler's near points).

    Examples
    --------
    >>> p = small_truss_strut_points(np.random.default_rng(0), 1000)
    >>> p.shape, bool((np.abs(truss_sdf(p, SMALL_TRUSS)) < 0.1).mean() > 0.95)
    ((1000, 4), True)
    """
    return truss_strut_points(rng, n, spread, SMALL_TRUSS)


def truss_voids(c: dict = TRUSS) -> np.ndarray:
    """The voids of :func:`octet_truss` (or of the specimen ``c``): rows ``(x, y, z, radius)``, centres
    on strut axes, undeformed.

    Examples
    --------
    >>> v = truss_voids()
    >>> v.shape, float(v[:, 3].max())
    ((5, 4), 0.07)
    >>> truss_voids(SMALL_TRUSS).shape
    (4, 4)
    """
    return _voids_on_struts(c)


def _truss_parts(p: np.ndarray, c: dict = TRUSS) -> dict[str, np.ndarray]:
    """Approximate signed distances (negative inside), in current coordinates, of the truss's parts."""
    m = _lattice_map(p, c)
    q = np.stack([m["X"], m["Y"], m["Z"]], axis=1)
    dist, near = _nearest_on_struts(q, c)
    g = (q - near) / np.maximum(dist, 1e-12)[:, None]  # the distance's gradient (undeformed)
    d_struts = _current_distance(dist, g[:, 0], g[:, 1], g[:, 2], m) - c["half_thickness"]
    z, r = p[:, 1], c["half_thickness"]
    d_box = np.maximum(_sides_distance(m, c["half_width"]), np.maximum(z - m["top"] - r, m["bottom"] - r - z))
    d_void = _spheres_distance(m, _voids_on_struts(c))
    return {
        "truss": np.maximum(np.maximum(d_struts, d_box), -d_void),
        "struts": d_struts,
        "box": d_box,
        "void": d_void,
    }


def truss_sdf(points: np.ndarray, c: dict = TRUSS) -> np.ndarray:
    """Approximate signed distance (negative inside) to the truss material (of the specimen ``c``), in
    current coordinates.

    Examples
    --------
    >>> bool(truss_sdf([[-1.0, -0.75, -0.75, -0.75]])[0] < 0)   # a corner node
    True
    >>> bool(truss_sdf([[-1.0, -0.75, -0.75, -0.75]], SMALL_TRUSS)[0] < 0)   # outside the small one
    False
    """
    return _truss_parts(_points(points, 4, "truss_sdf"), c)["truss"]


def _truss_image(points: np.ndarray, c: dict, name: str) -> np.ndarray:
    d = _truss_parts(_points(points, 4, name), c)["truss"]
    return c["material_value"] * _logistic(-d / c["edge_width"])


def octet_truss(points: np.ndarray) -> np.ndarray:
    """Simulated micro-CT of an octet truss lattice under compression, with broken struts.

    Inputs ``(t, z, y, x)``, all in ``[-1, 1]``. Mostly empty space: the struts fill about 3% of the
    specimen, so an adaptive mesh can be fine on them and coarse elsewhere.

    * The material is an octet truss (face-centred cubic nodes joined to their 12 nearest neighbours)
      of cell 0.5 in undeformed coordinates, 3 cells across ``|X|, |Y| <= 0.75`` and 3 high between
      ``Z = -0.75`` and ``0.75``; struts 0.02 thick (1% of the domain) in current coordinates.
    * Compressed by 25% over t in [-1, 1] between radiolucent platens (not in the image): the same
      motion as :func:`lattice` (:func:`lattice_undeformed`, with this specimen's faces), a collapse
      band around ``z = 0`` where the struts crowd together and buckle sideways.
    * Five spherical voids (radius 0.04, one 0.07) centred on strut axes break struts and a node.
    * Values: truss 0.10, air 0, logistic edges of width 0.003, in ``[0, 0.1]``.

    Examples
    --------
    >>> v = octet_truss([[-1.0, -0.75, -0.75, -0.75], [-1.0, -0.6, -0.6, -0.6]])
    >>> np.round(v, 2).tolist()   # a node, then the middle of a cell's corner region
    [0.1, 0.0]
    """
    return _truss_image(points, TRUSS, "octet_truss")


def small_octet_truss(points: np.ndarray) -> np.ndarray:
    """:func:`octet_truss`'s truss as a small specimen in the same field of view (:data:`SMALL_TRUSS`).

    The same struts (0.02 thick), edges, values and motion, but a cell of 0.4, 2 cells across
    ``|X|, |Y| <= 0.4`` and 2 high between ``Z = -0.4`` and ``0.4`` (the top face moves down to 0.2 at
    t = 1), with four voids (radius 0.04, one 0.06) that break struts and a node: a specimen that fills
    about a fifteenth of the domain, the air around it as in a micro-CT scan's wide field of view.

    Examples
    --------
    >>> v = small_octet_truss([[-1.0, -0.4, -0.4, -0.4], [-1.0, -0.75, -0.75, -0.75]])
    >>> np.round(v, 2).tolist()   # a corner node, then where the large specimen has one: air
    [0.1, 0.0]
    """
    return _truss_image(points, SMALL_TRUSS, "small_octet_truss")


def truss_regions(points: np.ndarray, c: dict = TRUSS) -> dict[str, np.ndarray]:
    """Sharp geometry of :func:`octet_truss` (or of the specimen ``c``): ``'truss'``, ``'voids'``
    (strut material a void removed), ``'specimen'`` and ``'air'`` masks.

    Examples
    --------
    >>> r = truss_regions([[-1.0, -0.75, -0.75, -0.75], [-1.0, -0.6, -0.6, -0.6]])
    >>> r["truss"].tolist(), r["specimen"].tolist()
    ([True, False], [True, True])
    """
    d = _truss_parts(_points(points, 4, "truss_regions"), c)
    mat = d["truss"] <= 0.0
    specimen = d["box"] <= 0.0
    voids = specimen & (d["struts"] <= 0.0) & (d["void"] < 0.0)
    return {"truss": mat, "voids": voids, "specimen": specimen, "air": ~mat}
