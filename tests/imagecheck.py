"""Checks that a rendered PNG shows something: many colours, little background, visible mesh edges."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def image_stats(path: str | Path) -> dict:
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))[..., :3]
    px = (img.reshape(-1, 3) * 255).round().astype(np.int32)
    keys = px[:, 0] << 16 | px[:, 1] << 8 | px[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    background = values[np.argmax(counts)]
    lum = px.mean(axis=1)
    return {
        "width": img.shape[1], "height": img.shape[0],
        "colours": int(values.size),
        "foreground_fraction": float(np.mean(keys != background)),
        "dark_fraction": float(np.mean(lum < 60)),
    }


def assert_nontrivial(path: str | Path, min_colours: int = 50, min_foreground: float = 0.15,
                      min_dark: float = 0.002) -> dict:
    stats = image_stats(path)
    assert stats["colours"] >= min_colours, f"{path}: only {stats['colours']} colours: {stats}"
    assert stats["foreground_fraction"] >= min_foreground, f"{path}: mostly background: {stats}"
    assert stats["dark_fraction"] >= min_dark, f"{path}: no mesh edges visible: {stats}"
    return stats
