"""The "INR Checkpoint Reader" proxy: properties in, ``inr_amr_core`` calls, a vtkHyperTreeGrid out.

No algorithm lives here. The properties and their setters are generated from the parameter
schema (:mod:`inr_amr_core.settings`, through :mod:`.properties`): each setter compares the new
value with the current one, replaces that field of the reader's settings object, clears the
cached results, then calls ``Modified()``, as ParaView's Python plugin examples do.
"""

from __future__ import annotations

import logging
import math
import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
from paraview.util.vtkAlgorithm import smproxy
from vtkmodules.util.vtkAlgorithm import VTKPythonAlgorithmBase
from vtkmodules.vtkCommonCore import vtkOutputWindow
from vtkmodules.vtkCommonDataModel import vtkDataObject, vtkHyperTreeGrid
from vtkmodules.vtkCommonExecutionModel import vtkAlgorithm, vtkStreamingDemandDrivenPipeline

from inr_amr_core.settings import LoadSettings, RefinementSettings, SeriesSettings, SettingsError
from inr_amr_core.torch_blas import bind_torch_to_its_own_blas

from .properties import BINDINGS, Binding, property_xmls

bind_torch_to_its_own_blas()  # (before torch is imported: a ParaView started without the launcher)

try:  # torch or the core's dependencies missing: the reader still registers, and says why it cannot read
    from inr_amr_core.amr import time_input_name
    from inr_amr_core.diskcache import CachedMesh
    from inr_amr_core.inr import fastest_cpu_threads
    from inr_amr_core.run import RefinementCancelled, settings_for_time_steps
    from inr_amr_core.session import RefinementSession, share_of_roots
    from inr_amr_core.vtk import HyperTreeGridCache, cached_to_hypertreegrid, result_to_hypertreegrid

    IMPORT_ERROR = None
    #: errors whose message says everything (no traceback in the output window): bad input of every kind
    #: (CheckpointError, SettingsError, BudgetError, NonFiniteError are ValueErrors) and a cancelled run
    _EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, RefinementCancelled)
except ImportError as _exc:
    IMPORT_ERROR = (
        f"INR Checkpoint Reader: cannot import inr_amr_core ({_exc}). Start ParaView with "
        "'inr-amr paraview' (or 'inr-amr pvpython'), or put the project's virtual environment "
        "on PYTHONPATH; see the README section 'Other ParaView versions'."
    )
    _EXPECTED_ERRORS = (ValueError,)

__all__ = ["INRCheckpointReader"]

log = logging.getLogger("inr_amr_plugin")
if os.environ.get("INR_AMR_LOG"):
    # one line per pipeline update (rank, piece, leaves, cache hit): for diagnosing parallel runs
    _handler = logging.FileHandler(os.environ["INR_AMR_LOG"])
    _handler.setFormatter(logging.Formatter("%(asctime)s pid=%(process)d %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)


class INRCheckpointReader(VTKPythonAlgorithmBase):
    """Refines a mesh over an INR checkpoint's domain and outputs it as a vtkHyperTreeGrid."""

    # every property, generated from the schema (ParaView's proxy decorator reads this list)
    _pvsm_property_xmls = property_xmls()

    def __init__(self) -> None:
        VTKPythonAlgorithmBase.__init__(self, nInputPorts=0, nOutputPorts=1, outputType="vtkHyperTreeGrid")
        self._session = RefinementSession() if IMPORT_ERROR is None else None
        # the grids shown: a revisited time step (or a property switched back) is a shallow copy, not a rebuild
        self._grids = HyperTreeGridCache() if IMPORT_ERROR is None else None
        self._file = ""
        self.settings = RefinementSettings()
        self.load = LoadSettings()
        self.series = SeriesSettings()
        self._last_error = ""
        self._apply_cache_memory()

    # ------------------------------------------------------------------ properties
    def SetFileName(self, name: str) -> None:
        if (name or "") != self._file:
            self._file = name or ""
            self._reopen()
            self.Modified()

    def _reopen(self) -> None:
        if self._session is not None:
            self._session.open(self._file or None, self.load)
        if self._grids is not None:
            self._grids.clear()

    def _apply_cache_memory(self) -> None:
        """Cache Memory: two thirds for the session's meshes, a third for the grids (evicting at once)."""
        if self._session is not None and self._grids is not None:
            self._session.limit_memory(self.series.cache_memory_mb * 2 / 3)
            self._grids.limit_memory(self.series.cache_memory_mb / 3)

    def _set_parameter(self, binding: Binding, values: tuple[Any, ...]) -> None:
        """The generated setters: compare, replace the field, clear what depends on it, Modified()."""
        spec = binding.spec
        try:
            value = spec.check(spec.kind.from_paraview(values))
            current: Any = getattr(self, binding.owner)
            if getattr(current, spec.name) == value:
                return
            setattr(self, binding.owner, current.replace(**{spec.name: value}))
        except SettingsError as exc:  # an out-of-range value: say so, keep the previous one
            self._error(str(exc))
            return
        if binding.owner == "load":
            self._reopen()
        elif binding.owner == "series":
            self._apply_cache_memory()
        # results are cached by their settings (and time): a changed budget continues a cached run of the
        # same settings, and switching a property back shows its result again without recomputation
        self.Modified()

    def GetTimestepValues(self) -> list[float]:
        return self._timesteps()

    def GetCacheHits(self) -> int:
        if self._session is None or self._grids is None:
            return 0
        return self._session.hits + self._session.disk_hits + self._grids.hits

    def GetRefinements(self) -> int:
        return self._session.misses if self._session is not None else 0

    def GetLastError(self) -> str:
        return self._last_error

    # ------------------------------------------------------------------ helpers
    def _error(self, message: str) -> None:
        self._last_error = message
        vtkOutputWindow.GetInstance().DisplayErrorText(f"INR Checkpoint Reader: {message}\n")

    def _time_range(self) -> tuple[str, float, float] | None:
        """The time input and its range, or None (no time input)."""
        assert self._session is not None
        inr = self._session.inr
        name = time_input_name(inr, self.settings.time_input)
        if name is None:
            return None
        lo, hi = inr.domain[inr.input_names.index(name)]
        return name, lo, hi

    def _precompute_around(self, settings: RefinementSettings, time: float, roots: list | None) -> None:
        """Queue the neighbouring time steps for the background (the next ones first)."""
        count = self.series.precompute_steps
        if count <= 0 or self._session is None:
            return
        steps = self._timesteps()
        if time not in steps:
            return
        i = steps.index(time)
        order = [j for k in range(1, count + 1) for j in (i + k, i - k) if 0 <= j < len(steps)][:count]
        self._session.prefetch([settings.replace(time=steps[j]) for j in order], roots)

    def _timesteps(self) -> list[float]:
        if self._session is None or not self._file:
            return []
        try:
            found = self._time_range()
        except Exception as exc:  # noqa: BLE001  (reported again by RequestData; the time slider stays empty)
            self._last_error = str(exc)
            return []
        return [] if found is None else self.series.values(found[1], found[2], self._session.inr.metadata)

    # ------------------------------------------------------------------ pipeline
    def RequestInformation(self, request, inInfo, outInfo):
        info = outInfo.GetInformationObject(0)
        info.Remove(vtkStreamingDemandDrivenPipeline.TIME_STEPS())
        info.Remove(vtkStreamingDemandDrivenPipeline.TIME_RANGE())
        steps = self._timesteps()
        if steps:
            info.Set(vtkStreamingDemandDrivenPipeline.TIME_STEPS(), steps, len(steps))
            info.Set(vtkStreamingDemandDrivenPipeline.TIME_RANGE(), [steps[0], steps[-1]], 2)
        info.Set(vtkAlgorithm.CAN_HANDLE_PIECE_REQUEST(), 1)
        return 1

    def RequestData(self, request, inInfo, outInfo):
        output = vtkHyperTreeGrid.GetData(outInfo)
        info = outInfo.GetInformationObject(0)
        self._last_error = ""
        if IMPORT_ERROR is not None or self._session is None:
            self._error(IMPORT_ERROR or "the core is not available")
            return 1
        if not self._file:
            self._error("no FileName set")
            return 1
        sddp = vtkStreamingDemandDrivenPipeline
        piece = info.Get(sddp.UPDATE_PIECE_NUMBER()) if info.Has(sddp.UPDATE_PIECE_NUMBER()) else 0
        pieces = info.Get(sddp.UPDATE_NUMBER_OF_PIECES()) if info.Has(sddp.UPDATE_NUMBER_OF_PIECES()) else 1
        try:
            settings = self.settings
            found = self._time_range()
            time = None
            if found is not None and info.Has(sddp.UPDATE_TIME_STEP()):
                _, lo, hi = found
                time = min(max(float(info.Get(sddp.UPDATE_TIME_STEP())), lo), hi)
                # auto time levels: slabs sized to the time steps the slider offers
                settings = settings_for_time_steps(self._session.inr, settings.replace(time=time), self._timesteps())
            roots = None
            if pieces > 1:
                n_roots = math.prod(settings.root_grid or (1,))
                roots = share_of_roots(n_roots, piece, pieces).tolist()
            # ParaView's OpenMP runtime can make torch's threads slower than one (measured once per process)
            fastest_cpu_threads(self._session.inr_on(settings.device))
            self.SetProgressText("INR refinement")
            progress: Callable[[float, str], None] = lambda f, m: self.UpdateProgress(min(f, 0.95))
            key = (self._session.stamp, self.load, settings, None if roots is None else tuple(roots))
            assert self._grids is not None
            found_grid = self._grids.get(key)
            if found_grid is not None:
                htg, (leaves, dofs, digest) = found_grid
                source = "grid"
            else:
                mesh, source = self._session.mesh(
                    settings, roots, progress=progress, cancel=lambda: bool(self.GetAbortExecute())
                )
                if isinstance(mesh, CachedMesh):
                    htg = cached_to_hypertreegrid(mesh, roots=roots)
                else:
                    htg = result_to_hypertreegrid(mesh, roots=roots)
                leaves, dofs = mesh.tree.n_leaves, mesh.dofs
                digest = int(np.bitwise_xor.reduce(mesh.tree.element_ids())) if leaves and log.handlers else 0
                if mesh.stop_reason != "cancelled":  # a cancelled run is not what these settings give
                    self._grids.put(key, htg, note=(leaves, dofs, digest))
            if log.handlers:
                log.info(
                    "piece=%d/%d time=%s leaves=%d dofs=%d xor=%016x source=%s",
                    piece,
                    pieces,
                    time,
                    leaves,
                    dofs,
                    digest,
                    source,
                )
            output.ShallowCopy(htg)
            if time is not None:
                output.GetInformation().Set(vtkDataObject.DATA_TIME_STEP(), time)
                self._precompute_around(settings, time, roots)
        except Exception as exc:  # noqa: BLE001  (any failure: a clear message and an empty output, never a crash)
            output.Initialize()
            detail = "" if isinstance(exc, _EXPECTED_ERRORS) else "\n" + traceback.format_exc()
            self._error(f"{exc}{detail}")
        self.UpdateProgress(1.0)
        return 1


def _make_setter(binding: Binding) -> Callable[..., None]:
    def setter(self: INRCheckpointReader, *values: Any) -> None:
        self._set_parameter(binding, values)

    setter.__name__ = binding.command
    setter.__doc__ = binding.spec.help()
    return setter


for _binding in BINDINGS:
    setattr(INRCheckpointReader, _binding.command, _make_setter(_binding))

# registered after the setters exist: the decorator reads the class as it is now
INRCheckpointReader = smproxy.reader(  # type: ignore[misc]
    name="INRCheckpointReader",
    label="INR Checkpoint Reader",
    extensions="pt pth ckpt",
    file_description="INR checkpoint (PyTorch)",
    support_reload=False,
)(INRCheckpointReader)
