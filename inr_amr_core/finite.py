"""Non-finite INR values: where a run samples the INR, NaN or Inf stops it with a clear error.

A mesh built on NaN values would look like a mesh (a leaf value is a leaf value), so every place
where refinement evaluates the INR checks what it got with :func:`check_finite`, a single
``np.isfinite`` pass over an array that is there anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NonFiniteError", "check_finite", "describe_point"]


def describe_point(point: Sequence[float] | np.ndarray, names: Sequence[str] | None = None) -> str:
    """``x=0.25, y=0.5`` (or ``(0.25, 0.5)`` without names)."""
    coords = [float(v) for v in np.asarray(point, dtype=np.float64).ravel()]
    if names is not None and len(names) == len(coords):
        return ", ".join(f"{n}={v:.6g}" for n, v in zip(names, coords))
    return "(" + ", ".join(f"{v:.6g}" for v in coords) + ")"


class NonFiniteError(ValueError):
    """The INR evaluated to NaN or Inf where a run sampled it.

    Attributes
    ----------
    count, total : int
        Non-finite values among the values checked.
    where : str
        What was being evaluated (``'vertex values'``, ``'leaf values'``, ...).
    point : str
        One offending input coordinate, as text (``x=0.5, y=0.25``); empty if unknown.
    """

    def __init__(self, count: int, total: int, where: str, point: str = "") -> None:
        self.count = int(count)
        self.total = int(total)
        self.where = where
        self.point = point
        at = f", e.g. at {point}" if point else ""
        super().__init__(
            f"the INR evaluates to NaN or Inf at {self.count} of {self.total} points ({where}){at}; "
            "the mesh would be meaningless, so the run stopped. The checkpoint's weights or parameters "
            "overflow float32 there (check the file, its output scale and activation parameters), or the "
            "bounds reach outside the domain the INR was trained on"
        )


def check_finite(
    values: np.ndarray,
    where: str,
    points: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Return ``values`` if every entry is finite, else raise :class:`NonFiniteError`.

    Parameters
    ----------
    values : array
        ``(N,)`` or ``(N, k)`` values; a row counts once however many of its entries are bad.
    where : str
        What was evaluated, for the message.
    points : (N, n_inputs) array, optional
        The INR's inputs at the rows of ``values``: the first bad row's coordinate goes in the message.
    names : sequence of str, optional
        The INR's input names, to label that coordinate.
    """
    arr = np.asarray(values)
    ok = np.isfinite(arr)
    if ok.all():
        return values
    rows = ok.reshape(ok.shape[0], -1).all(axis=1) if arr.ndim else ok.reshape(1)
    bad = np.flatnonzero(~rows)
    point = ""
    if points is not None and bad.size:
        pts = np.asarray(points)
        if pts.ndim == 2 and pts.shape[0] == rows.shape[0]:
            point = describe_point(pts[bad[0]], names)
    raise NonFiniteError(int(bad.size), int(rows.shape[0]), where, point)
