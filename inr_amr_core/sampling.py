"""Reproducible random samples per element, independent of order, chunking and MPI partition.

A counter-based generator: the samples of an element are a hash of (seed, purpose, element id,
sample index). The same element therefore always gets the same points, whether it is tested alone,
in a batch of thousands, or on another MPI rank, and no global RNG state is touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SampleStream", "splitmix64"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

#: purposes: each draws from its own stream so that changing one sample count leaves the others unchanged
PURPOSES = {"id": 1, "error": 2, "basic": 3, "rmse": 4, "probe": 5, "time": 6}


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser, vectorised (uint64 in, well-mixed uint64 out)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN  # a new array: the steps below work in place
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
        return z


@dataclass(frozen=True)
class SampleStream:
    """A seeded source of uniform samples in elements.

    Parameters
    ----------
    seed : int
        Any non-negative integer; the same seed gives the same samples.

    Examples
    --------
    >>> s = SampleStream(0)
    >>> u = s.unit_samples(np.array([7, 8], dtype=np.uint64), 4, 2, "id")
    >>> u.shape
    (2, 4, 2)
    >>> bool(np.array_equal(u[1], s.unit_samples(np.array([8], dtype=np.uint64), 4, 2, "id")[0]))
    True
    """

    seed: int = 0

    def _base(self, purpose: str) -> np.uint64:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown sample purpose {purpose!r}")
        with np.errstate(over="ignore"):
            s = splitmix64(np.array([int(self.seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
            return splitmix64(np.array([s ^ np.uint64(PURPOSES[purpose])], dtype=np.uint64))[0]

    def unit_samples(self, element_ids: np.ndarray, n: int, d: int, purpose: str) -> np.ndarray:
        """Uniform samples in ``[0, 1)^d``: ``(len(element_ids), n, d)`` float64."""
        ids = np.asarray(element_ids, dtype=np.uint64).reshape(-1)
        base = self._base(purpose)
        with np.errstate(over="ignore"):
            per_element = splitmix64(ids ^ base)
            counters = np.arange(n * d, dtype=np.uint64) * _GOLDEN
            bits = splitmix64(per_element[:, None] + counters[None, :])
        bits >>= np.uint64(11)
        unit = bits.astype(np.float64)
        unit *= 1.0 / 9007199254740992.0
        return unit.reshape(ids.size, n, d)

    def points_in_boxes(
        self, element_ids: np.ndarray, lower: np.ndarray, upper: np.ndarray, n: int, purpose: str
    ) -> np.ndarray:
        """``n`` uniform points in each box ``[lower_i, upper_i)``: ``(N, n, d)`` float64."""
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        u = self.unit_samples(element_ids, n, lower.shape[1], purpose)
        u *= (upper - lower)[:, None, :]
        u += lower[:, None, :]
        return u

    def points_in_domain(self, lower: np.ndarray, upper: np.ndarray, n: int, purpose: str = "rmse") -> np.ndarray:
        """``n`` uniform points in one box (for the total-error estimate): ``(n, d)`` float64."""
        rng = np.random.Generator(np.random.PCG64(int(splitmix64(np.array([self._base(purpose)]))[0])))
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        return lower + rng.random((n, lower.size)) * (upper - lower)
