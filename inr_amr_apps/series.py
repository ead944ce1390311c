"""Time series on disk: one ``.htg`` per time step and a ``.pvd`` that ParaView opens as a time series.

``inr-amr refine CKPT --times START:STOP:N -o DIR/NAME.pvd`` refines the N steps (each run reuses the
tests of the previous one where the field did not change, see :mod:`inr_amr_core.timeslabs`), writes
``DIR/NAME_0000.htg`` ... and ``DIR/NAME.pvd``. ``--piece I/N`` (or ``--piece auto`` under mpirun)
splits the steps across processes in contiguous blocks; every process writes the same ``.pvd``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from inr_amr_core.amr import refine
from inr_amr_core.fileio import atomic_write
from inr_amr_core.inr import INR
from inr_amr_core.result import RefinementResult
from inr_amr_core.run import settings_for_time_steps
from inr_amr_core.settings import RefinementSettings, SettingsError

__all__ = ["parse_piece", "parse_times", "step_files", "steps_of_piece", "write_pvd", "write_series"]


def parse_times(text: str) -> list[float]:
    """``START:STOP:N`` (N evenly spaced values, both ends included) or a comma-separated list."""
    text = text.strip()
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            n = int(count)
            if n < 1:
                raise ValueError
            return [float(start)] if n == 1 else [float(v) for v in np.linspace(float(start), float(stop), n)]
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SettingsError(f"--times: expected START:STOP:N (N >= 1) or a list of numbers, got {text!r}") from None


def parse_piece(text: str | None) -> tuple[int, int]:
    """``I/N`` (this process is piece I of N, from 0), ``auto`` (MPI's rank and size), or None (all steps)."""
    if text is None:
        return 0, 1
    if text == "auto":
        for rank, size in (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")):
            if rank in os.environ and size in os.environ:
                return int(os.environ[rank]), int(os.environ[size])
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SettingsError(f"--piece: expected I/N or auto, got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise SettingsError(f"--piece {text}: need 0 <= I < N")
    return i, n


def steps_of_piece(n_steps: int, piece: int, pieces: int) -> range:
    """The contiguous block of steps piece ``piece`` of ``pieces`` refines (neighbouring steps share tests)."""
    per = -(-n_steps // pieces)
    return range(min(n_steps, piece * per), min(n_steps, (piece + 1) * per))


def step_files(pvd: str | os.PathLike, n_steps: int) -> list[Path]:
    """``DIR/NAME_0000.htg`` ... for ``DIR/NAME.pvd``."""
    pvd = Path(pvd)
    return [pvd.with_name(f"{pvd.stem}_{i:04d}.htg") for i in range(n_steps)]


def write_pvd(pvd: str | os.PathLike, times: Sequence[float], files: Sequence[Path]) -> Path:
    """The ``.pvd`` collection of the steps (file names relative to it), written atomically."""
    pvd = Path(pvd)
    rows = "\n".join(f'    <DataSet timestep="{t!r}" part="0" file={quoteattr(f.name)}/>' for t, f in zip(times, files))
    text = (
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
        f"  <Collection>\n{rows}\n  </Collection>\n</VTKFile>\n"
    )
    return atomic_write(pvd, lambda tmp: Path(tmp).write_text(text))


def write_series(
    inr: INR,
    settings: RefinementSettings,
    times: Sequence[float],
    pvd: str | os.PathLike,
    piece: tuple[int, int] = (0, 1),
    progress: Callable[[int, float], Callable[[float, str], None] | None] | None = None,
) -> list[RefinementResult]:
    """Refine this piece's steps, write their ``.htg`` files and the ``.pvd``; returns the results."""
    from inr_amr_core.vtk import result_to_hypertreegrid, write_htg

    if not str(pvd).endswith(".pvd"):
        raise SettingsError(f"--times writes a time series: the output must end in .pvd, got {pvd}")
    files = step_files(pvd, len(times))
    settings = settings_for_time_steps(inr, settings, times)  # every piece resolves auto from all the steps
    results: list[RefinementResult] = []
    previous: RefinementResult | None = None
    for i in steps_of_piece(len(times), *piece):
        s = settings.replace(time=float(times[i]))
        cb = progress(i, float(times[i])) if progress is not None else None
        res = refine(inr, s, progress=cb, resume=previous if s.strategy == "budget" else None)
        write_htg(result_to_hypertreegrid(res), files[i])
        results.append(res)
        previous = res
    write_pvd(pvd, times, files)
    return results
