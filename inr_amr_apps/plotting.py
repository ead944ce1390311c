"""Error-versus-DOFs plots (matplotlib, headless)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["METHOD_STYLES", "plot_error_vs_dofs"]

METHOD_STYLES = {
    "uniform": dict(color="#555555", marker="s", label="Uniform"),
    "basic": dict(color="#1f77b4", marker="o", label="Basic"),
    "pruning": dict(color="#d62728", marker="^", label="Pruning"),
    "pruning_floored": dict(color="#ff7f0e", marker="v", linestyle="--", label="Pruning (floored error)"),
}


def plot_error_vs_dofs(
    curves: Mapping[str, Sequence[tuple[float, float]]],
    path: str | os.PathLike,
    *,
    title: str = "",
    xlabel: str = "DOFs (mesh vertices)",
    ylabel: str = "total RMSE",
    extra: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Path:
    """Log-log plot of (DOFs, RMSE) per method, written atomically to ``path`` (PNG).

    Parameters
    ----------
    curves : mapping
        Method name -> list of (dofs, rmse) per iteration.
    extra : mapping, optional
        More labelled curves drawn dashed (e.g. the reference code's figures).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inr_amr_core.fileio import atomic_write

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    for name, pts in curves.items():
        pts = [(x, y) for x, y in pts if x and y and y > 0]
        if not pts:
            continue
        style = dict(METHOD_STYLES.get(name, dict(label=name)))
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], linewidth=1.8, markersize=5, **style)
    for name, pts in (extra or {}).items():
        pts = [(x, y) for x, y in pts if x and y and y > 0]
        if pts:
            ax.loglog(
                [p[0] for p in pts],
                [p[1] for p in pts],
                linestyle="--",
                marker=".",
                linewidth=1.0,
                label=name,
                alpha=0.8,
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, format="png")

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)
