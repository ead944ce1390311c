"""Which INR inputs the tree refines, which are held fixed, and over what box.

A 4D INR (x, y, z, t) is refined in 3D at a fixed t (the paper's approach); any input can be fixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .inr import INR

__all__ = ["TIME_NAMES", "SpaceSlice", "detect_time_input"]

#: input names recognised as time
TIME_NAMES = ("t", "time")
_SPACE_ORDER = ("x", "y", "z")


def detect_time_input(inr: INR) -> str | None:
    """Name of the input that is time (``t`` or ``time``), if any."""
    for name in inr.input_names:
        if name.lower() in TIME_NAMES:
            return name
    return None


@dataclass(frozen=True)
class SpaceSlice:
    """Maps tree coordinates to INR inputs.

    Attributes
    ----------
    input_names : tuple of str
        The INR's inputs, in its order.
    space_axes : tuple of int
        ``space_axes[a]`` is the INR input that tree axis ``a`` varies.
    fixed : tuple of (int, float)
        Inputs held constant, e.g. ``((0, 0.5),)`` for ``t = 0.5`` in a (t, z, y, x) INR.
    bounds : (d, 2) tuple
        Box refined by the tree, per tree axis.
    """

    input_names: tuple[str, ...]
    space_axes: tuple[int, ...]
    fixed: tuple[tuple[int, float], ...]
    bounds: tuple[tuple[float, float], ...]

    @classmethod
    def from_inr(
        cls,
        inr: INR,
        space_inputs: Sequence[str] | None = None,
        fixed_inputs: Mapping[str, float] | None = None,
        bounds: Sequence[Sequence[float] | None] | None = None,
    ) -> SpaceSlice:
        """Choose the refined inputs and fixed values, with defaults detected from the INR.

        Parameters
        ----------
        space_inputs : sequence of str, optional
            Inputs the tree refines, in tree-axis order. Default: ``x, y, z`` among the inputs (in that
            order), else every input that is not time and not fixed.
        fixed_inputs : mapping, optional
            Values for the other inputs; time defaults to the middle of its range.
        bounds : sequence of (lo, hi) or None, optional
            Refined box per tree axis (default, and for axes given as None: the INR's domain).

        Raises
        ------
        ValueError
            Unknown input names, an input both refined and fixed, values outside the domain,
            or more than three refined inputs.
        """
        names = list(inr.input_names)
        fixed_inputs = dict(fixed_inputs or {})
        for n in fixed_inputs:
            if n not in names:
                raise ValueError(f"fixed input {n!r} is not an input of this INR (inputs: {', '.join(names)})")
        if space_inputs is None:
            time = detect_time_input(inr)
            lowered = {n.lower(): n for n in names}
            xyz = [lowered[a] for a in _SPACE_ORDER if a in lowered and lowered[a] not in fixed_inputs]
            if xyz:
                space_inputs = xyz
            else:
                space_inputs = [n for n in names if n != time and n not in fixed_inputs]
        space_inputs = list(space_inputs)
        for n in space_inputs:
            if n not in names:
                raise ValueError(f"space input {n!r} is not an input of this INR (inputs: {', '.join(names)})")
            if n in fixed_inputs:
                raise ValueError(f"input {n!r} cannot be both refined and fixed")
        if len(set(space_inputs)) != len(space_inputs):
            raise ValueError(f"space inputs must be distinct, got {space_inputs}")
        if not 1 <= len(space_inputs) <= 3:
            raise ValueError(
                f"the tree refines 1 to 3 inputs; got {len(space_inputs)} ({', '.join(space_inputs)}): "
                "fix the others (e.g. fixed_inputs={'t': 0.0})"
            )
        fixed = []
        for i, n in enumerate(names):
            if n in space_inputs:
                continue
            lo, hi = inr.domain[i]
            value = float(fixed_inputs.get(n, 0.5 * (lo + hi)))
            if not (lo <= value <= hi):
                raise ValueError(f"fixed value {n} = {value} lies outside the domain [{lo}, {hi}]")
            fixed.append((i, value))
        axes = tuple(names.index(n) for n in space_inputs)
        if bounds is None:
            bounds = [None] * len(axes)
        if len(bounds) < len(axes) or any(b is not None for b in list(bounds)[len(axes) :]):
            raise ValueError(f"{len(bounds)} bounds given for {len(axes)} refined inputs ({', '.join(space_inputs)})")
        # an axis without bounds (None) takes the INR's domain
        bounds = tuple((float(b[0]), float(b[1])) if b is not None else inr.domain[i] for b, i in zip(bounds, axes))
        for n, (lo, hi) in zip(space_inputs, bounds):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ValueError(f"bounds of {n!r} must be finite with lo < hi, got [{lo}, {hi}]")
        return cls(tuple(names), axes, tuple(fixed), bounds)

    @property
    def dim(self) -> int:
        return len(self.space_axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(self.input_names[i] for i in self.space_axes)

    @property
    def fixed_values(self) -> dict[str, float]:
        return {self.input_names[i]: v for i, v in self.fixed}

    def to_inputs(self, points: np.ndarray) -> np.ndarray:
        """Tree coordinates ``(N, d)`` -> INR inputs ``(N, n_inputs)`` (float64)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, self.dim)
        out = np.empty((pts.shape[0], len(self.input_names)), dtype=np.float64)
        for a, i in enumerate(self.space_axes):
            out[:, i] = pts[:, a]
        for i, v in self.fixed:
            out[:, i] = v
        return out

    def with_fixed(self, **values: float) -> SpaceSlice:
        """The same slice at other fixed values (e.g. another time step)."""
        fixed = dict(self.fixed)
        for name, v in values.items():
            i = self.input_names.index(name)
            if i not in fixed:
                raise ValueError(f"{name!r} is not a fixed input of this slice")
            fixed[i] = float(v)
        return SpaceSlice(self.input_names, self.space_axes, tuple(sorted(fixed.items())), self.bounds)

    def describe(self) -> str:
        axes = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in zip(self.axis_names, self.bounds))
        fixed = ", ".join(f"{n} = {v:g}" for n, v in self.fixed_values.items())
        return axes + (f" at {fixed}" if fixed else "")
