"""Least-recently-used trimming shared by the in-memory caches (the session's meshes, the reader's grids)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["trim_lru"]


def trim_lru(entries: OrderedDict, size: Callable[[Any], int], max_entries: int, max_bytes: int) -> None:
    """Drop the least recently used of ``entries`` (the first ones) until at most ``max_entries`` remain and
    their ``size`` sums to at most ``max_bytes``; the memory limit never drops the most recent one.

    Examples
    --------
    >>> cache = OrderedDict(a=5, b=5, c=5)
    >>> trim_lru(cache, lambda v: v, max_entries=3, max_bytes=10)
    >>> list(cache)
    ['b', 'c']
    >>> trim_lru(cache, lambda v: v, max_entries=3, max_bytes=0)
    >>> list(cache)
    ['c']
    """
    while len(entries) > max_entries:
        entries.popitem(last=False)
    total = sum(size(v) for v in entries.values())
    while len(entries) > 1 and total > max_bytes:
        total -= size(entries.popitem(last=False)[1])
