"""ParaView plugin: open an INR checkpoint as an adaptive vtkHyperTreeGrid ("INR Checkpoint Reader").

This file only declares the ParaView proxy (properties, documentation, defaults) and forwards to
``inr_amr_core``; no algorithm lives here. Load it with Tools > Manage Plugins > Load New, with
``LoadPlugin(".../plugin/inr_amr_plugin.py", ns=globals())`` in pvpython / pvbatch, or start ParaView
with ``inr-amr paraview`` (which also applies Debian 5.11's Python 3.11 workaround and finds torch).
"""
from __future__ import annotations

import importlib.util
import inspect
import logging
import math
import os
import sys
import traceback

# Debian's ParaView 5.11 imports inspect.getargspec, removed in Python 3.11 (harmless elsewhere)
if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec

# this file's folder (absent when the module is embedded in the compiled plugin, which has no file)
_HERE = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else None
if _HERE and _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402
from paraview.util.vtkAlgorithm import smdomain, smhint, smproperty, smproxy  # noqa: E402
from vtkmodules.util.vtkAlgorithm import VTKPythonAlgorithmBase  # noqa: E402
from vtkmodules.vtkCommonCore import vtkOutputWindow  # noqa: E402
from vtkmodules.vtkCommonDataModel import vtkDataObject, vtkHyperTreeGrid  # noqa: E402
from vtkmodules.vtkCommonExecutionModel import vtkAlgorithm, vtkStreamingDemandDrivenPipeline  # noqa: E402

if importlib.util.find_spec("inr_amr_core") is None:
    # a source checkout: the core package sits next to plugin/ (this folder's parent)
    _ROOT = os.path.dirname(_HERE) if _HERE else None
    if _ROOT and os.path.isdir(os.path.join(_ROOT, "inr_amr_core")) and _ROOT not in sys.path:
        sys.path.append(_ROOT)

try:
    from inr_amr_core.amr import RefinementSettings
    from inr_amr_core.session import RefinementSession, share_of_roots
    from inr_amr_core.domain import SpaceSlice, detect_time_input
    from inr_amr_core.vtk import result_to_hypertreegrid
    _IMPORT_ERROR = None
except ImportError as _exc:  # torch or the core missing: report it in ParaView, do not crash it
    _IMPORT_ERROR = (f"INR Checkpoint Reader: cannot import inr_amr_core ({_exc}). Start ParaView with "
                     "'inr-amr paraview' (or 'inr-amr pvpython'), or put the project's virtual environment "
                     "on PYTHONPATH; see the README section 'Other ParaView versions'.")

log = logging.getLogger("inr_amr_plugin")
if os.environ.get("INR_AMR_LOG"):
    # one line per pipeline update (rank, piece, leaves, cache hit): for diagnosing parallel runs
    _handler = logging.FileHandler(os.environ["INR_AMR_LOG"])
    _handler.setFormatter(logging.Formatter("%(asctime)s pid=%(process)d %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)

paraview_plugin_name = "INRAMR"
paraview_plugin_version = "0.1.0"

_METHODS = ("pruning", "basic", "uniform")
_DEVICES = ("auto", "cpu", "cuda")
_ERROR_MODES = ("floored", "reference")


def _doc(text: str) -> str:
    return f"<Documentation>{text}</Documentation>"


def _show_for(method: int) -> str:
    return (f'<PropertyWidgetDecorator type="GenericDecorator" mode="visibility" property="Method" '
            f'value="{method}" />')


_GROUPS = """
<PropertyGroup label="Refinement method">
  <Property name="Method"/><Property name="Threshold"/><Property name="Proportion"/>
  <Property name="Epsilon"/><Property name="Tau"/><Property name="IDSamples"/><Property name="ErrorSamples"/>
</PropertyGroup>
<PropertyGroup label="Budget">
  <Property name="UniformRefinements"/><Property name="MaxIterations"/><Property name="MaxDOFs"/>
  <Property name="MemoryLimit"/>
</PropertyGroup>
<PropertyGroup label="Domain and time">
  <Property name="RootGrid"/><Property name="Bounds"/><Property name="SpaceInputs"/><Property name="TimeInput"/>
  <Property name="FixedInputs"/><Property name="NumberOfTimeSteps"/><Property name="OutputComponent"/>
</PropertyGroup>
<PropertyGroup label="Advanced">
  <Property name="Device"/><Property name="Seed"/><Property name="RelativeError"/><Property name="ErrorFloor"/>
  <Property name="Activations"/>
</PropertyGroup>
"""


@smproxy.reader(name="INRCheckpointReader", label="INR Checkpoint Reader",
                extensions="pt pth ckpt", file_description="INR checkpoint (PyTorch)", support_reload=False)
class INRCheckpointReader(VTKPythonAlgorithmBase):
    """Refines a mesh over an INR checkpoint's domain (Pruning, Basic or Uniform) and outputs it as a
    vtkHyperTreeGrid with the INR's value, the level and the refinement diagnostics as cell data."""

    def __init__(self):
        VTKPythonAlgorithmBase.__init__(self, nInputPorts=0, nOutputPorts=1, outputType="vtkHyperTreeGrid")
        self._session = RefinementSession() if _IMPORT_ERROR is None else None
        self._file = ""
        self._p = dict(method=0, threshold=0.1, proportion=0.09, eps=1e-3, tau=0.1, id_samples=256,
                       error_samples=32, uniform_refinements=2, max_iterations=9, max_dofs=200_000,
                       memory_limit=1024.0, root_grid=(1, 1, 1), bounds=(0.0,) * 6, space_inputs="",
                       time_input="", fixed_inputs="", time_steps=11, component=0, device=0, seed=0,
                       error_mode=0, error_floor=1.0, activations="")
        self._last_error = ""

    # ------------------------------------------------------------------ helpers
    def _set(self, key, value):
        """Setters compare, clear the cached results, then mark the proxy modified."""
        if self._p[key] != value:
            self._p[key] = value
            if self._session is not None:
                self._session.clear()
            self.Modified()

    def _error(self, message):
        self._last_error = message
        vtkOutputWindow.GetInstance().DisplayErrorText(f"INR Checkpoint Reader: {message}\n")

    def _time_name(self, inr):
        choice = self._p["time_input"].strip()
        if choice.lower() == "none":
            return None
        if choice:
            if choice not in inr.input_names:
                raise ValueError(f"TimeInput {choice!r} is not an input of this INR ({', '.join(inr.input_names)})")
            return choice
        return detect_time_input(inr)

    def _settings(self, inr):
        p = self._p
        fixed = {}
        for item in filter(None, (s.strip() for s in p["fixed_inputs"].replace(";", ",").split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"FixedInputs: expected NAME=VALUE, got {item!r}")
            fixed[name.strip()] = float(value)
        time_name = self._time_name(inr)
        if time_name is not None:  # RequestData replaces this with the requested time
            fixed.setdefault(time_name, inr.domain[inr.input_names.index(time_name)][1])
        space = SpaceSlice.from_inr(inr, tuple(s.strip() for s in p["space_inputs"].split(",") if s.strip()) or None,
                                    fixed)
        b = p["bounds"]
        bounds = tuple((b[2 * a], b[2 * a + 1]) if b[2 * a + 1] > b[2 * a] else space.bounds[a]
                       for a in range(space.dim))
        return RefinementSettings(
            method=_METHODS[p["method"]], threshold=p["threshold"], proportion=p["proportion"], eps=p["eps"],
            tau=p["tau"], id_samples=p["id_samples"], error_samples=p["error_samples"],
            uniform_refinements=p["uniform_refinements"], max_iterations=p["max_iterations"],
            max_dofs=p["max_dofs"] or None, root_grid=tuple(p["root_grid"][:space.dim]), bounds=bounds,
            space_inputs=space.axis_names, fixed_inputs=fixed, output_component=p["component"],
            relative_error=_ERROR_MODES[p["error_mode"]], error_floor=p["error_floor"],
            seed=p["seed"], device=_DEVICES[p["device"]], memory_limit_mb=p["memory_limit"],
        ), time_name

    def _timesteps(self):
        if self._session is None or not self._file:
            return []
        try:
            inr = self._session.inr
            name = self._time_name(inr)
            if name is None:
                return []
            lo, hi = inr.domain[inr.input_names.index(name)]
            n = max(1, int(self._p["time_steps"]))
            return [float(hi)] if n == 1 else [lo + (hi - lo) * i / (n - 1) for i in range(n)]
        except Exception as exc:  # reported again by RequestData; the time slider just stays empty
            self._last_error = str(exc)
            return []

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
        if _IMPORT_ERROR is not None:
            self._error(_IMPORT_ERROR)
            return 1
        if not self._file:
            self._error("no FileName set")
            return 1
        sddp = vtkStreamingDemandDrivenPipeline
        piece = info.Get(sddp.UPDATE_PIECE_NUMBER()) if info.Has(sddp.UPDATE_PIECE_NUMBER()) else 0
        pieces = info.Get(sddp.UPDATE_NUMBER_OF_PIECES()) if info.Has(sddp.UPDATE_NUMBER_OF_PIECES()) else 1
        try:
            inr = self._session.inr
            settings, time_name = self._settings(inr)
            time = None
            if time_name is not None:
                lo, hi = inr.domain[inr.input_names.index(time_name)]
                time = info.Get(sddp.UPDATE_TIME_STEP()) if info.Has(sddp.UPDATE_TIME_STEP()) else hi
                time = min(max(float(time), lo), hi)
                settings = settings.replace(fixed_inputs={**settings.fixed_inputs, time_name: time})
            roots = None
            if pieces > 1:
                roots = share_of_roots(math.prod(settings.root_grid), piece, pieces).tolist()
            self.SetProgressText("INR refinement")
            result, hit = self._session.result(settings, None, roots,
                                               progress=lambda f, m: self.UpdateProgress(min(f, 0.95)),
                                               cancel=lambda: bool(self.GetAbortExecute()))
            htg = result_to_hypertreegrid(result, roots=roots)
            if log.handlers:
                digest = int(np.bitwise_xor.reduce(result.tree.element_ids())) if result.tree.n_leaves else 0
                log.info("piece=%d/%d time=%s leaves=%d dofs=%d xor=%016x cache_hit=%s seconds=%.3f", piece, pieces,
                         time, result.tree.n_leaves, result.dofs, digest, hit, result.seconds)
            output.ShallowCopy(htg)
            if time is not None:
                output.GetInformation().Set(vtkDataObject.DATA_TIME_STEP(), time)
        except Exception as exc:  # any failure: a clear message and an empty output, never a crash
            output.Initialize()
            kind = type(exc).__name__
            detail = "" if kind in ("CheckpointError", "BudgetError", "ValueError", "RefinementCancelled") \
                else "\n" + traceback.format_exc()
            self._error(f"{exc}{detail}")
        self.UpdateProgress(1.0)
        return 1

    # ------------------------------------------------------------------ properties
    @smproperty.stringvector(name="FileName", panel_visibility="never")
    @smdomain.filelist()
    @smhint.filechooser(extensions="pt pth ckpt", file_description="INR checkpoint (PyTorch)")
    def P00_SetFileName(self, name):
        if name != self._file:
            self._file = name or ""
            if self._session is not None:
                self._session.open(self._file or None, **self._load_options())
            self.Modified()

    def _load_options(self):
        acts = self._p["activations"].strip()
        return {"activations": acts} if acts else {}

    @smproperty.xml("""<IntVectorProperty name="Method" command="P01_SetMethod" number_of_elements="1" default_values="0">
        <EnumerationDomain name="enum"><Entry value="0" text="Pruning"/><Entry value="1" text="Basic"/>
        <Entry value="2" text="Uniform"/></EnumerationDomain>
        <Documentation>Pruning: Algorithm 1 of the Pruning AMR paper (refine where the INR, ID-pruned on the
        element, keeps more than P of its neurons or errs by more than T). Basic: refine where the element's
        multilinear interpolant errs by more than tau. Uniform: refine everything.</Documentation></IntVectorProperty>""")
    def P01_SetMethod(self, value):
        self._set("method", int(value))

    @smproperty.doublevector(name="Threshold", default_values=0.1)
    @smdomain.xml(_doc("T: relative error of the pruned INR above which an element is refined. The main knob "
                       "for the resolution you want (paper: 0.1 in 2D, 1e-4 for CT).") + "<Hints>" + _show_for(0)
                  + "</Hints>")
    def P02_SetThreshold(self, value):
        self._set("threshold", float(value))

    @smproperty.doublevector(name="Proportion", default_values=0.09)
    @smdomain.doublerange(min=0.0, max=1.0)
    @smdomain.xml(_doc("P: fraction of hidden neurons the pruned INR may keep; above it the element is refined "
                       "(paper heuristic 0.15; 0.09 in 2D, 0.075 for CT).") + "<Hints>" + _show_for(0) + "</Hints>")
    def P03_SetProportion(self, value):
        self._set("proportion", float(value))

    @smproperty.doublevector(name="Epsilon", default_values=0.001)
    @smdomain.xml(_doc("eps: tolerance of the interpolative decomposition; neurons are kept while "
                       "|R[j,j]/R[0,0]| >= eps (paper heuristic 1e-3).") + "<Hints>" + _show_for(0) + "</Hints>")
    def P04_SetEpsilon(self, value):
        self._set("eps", float(value))

    @smproperty.doublevector(name="Tau", default_values=0.1)
    @smdomain.xml(_doc("tau: relative interpolation error above which Basic refines an element (paper: 0.1 in 2D).")
                  + "<Hints>" + _show_for(1) + "</Hints>")
    def P05_SetTau(self, value):
        self._set("tau", float(value))

    @smproperty.intvector(name="IDSamples", label="ID Samples", default_values=256)
    @smdomain.intrange(min=1, max=4096)
    @smdomain.xml(_doc("Points per element for the interpolative decomposition (paper: 256, at least the layer "
                       "width).") + "<Hints>" + _show_for(0) + "</Hints>")
    def P06_SetIDSamples(self, value):
        self._set("id_samples", int(value))

    @smproperty.intvector(name="ErrorSamples", default_values=32)
    @smdomain.intrange(min=1, max=4096)
    @smdomain.xml(_doc("Points per element for the error estimate (paper: 32 for Pruning, 256 for Basic in 3D)."))
    def P07_SetErrorSamples(self, value):
        self._set("error_samples", int(value))

    @smproperty.intvector(name="UniformRefinements", default_values=2)
    @smdomain.intrange(min=0, max=8)
    @smdomain.xml(_doc("Uniform refinements of the root grid before the adaptive iterations "
                       "(paper: 2 in 2D, 3 in 3D)."))
    def P08_SetUniformRefinements(self, value):
        self._set("uniform_refinements", int(value))

    @smproperty.intvector(name="MaxIterations", default_values=9)
    @smdomain.intrange(min=0, max=20)
    @smdomain.xml(_doc("max_it: adaptive iterations (paper: 9 in 2D, 5 in 3D)."))
    def P09_SetMaxIterations(self, value):
        self._set("max_iterations", int(value))

    @smproperty.intvector(name="MaxDOFs", label="Max DOFs", default_values=200000)
    @smdomain.xml(_doc("DOF budget (mesh vertices). The mesh never ends above it: when the next refinement would "
                       "exceed it, the most urgent elements that fit are refined and refinement stops. "
                       "0 means no budget (use with care: 3D meshes grow 8x per level)."))
    def P10_SetMaxDOFs(self, value):
        self._set("max_dofs", int(value))

    @smproperty.doublevector(name="MemoryLimit", default_values=1024.0, panel_visibility="advanced")
    @smdomain.xml(_doc("Working memory (MB) for element tests; work is chunked to fit."))
    def P11_SetMemoryLimit(self, value):
        self._set("memory_limit", float(value))

    @smproperty.intvector(name="RootGrid", default_values=[1, 1, 1], panel_visibility="advanced")
    @smdomain.xml(_doc("Root cells per refined axis (the coarse grid the trees grow from); also the unit of work "
                       "split between MPI ranks."))
    def P12_SetRootGrid(self, nx, ny, nz):
        self._set("root_grid", (max(1, int(nx)), max(1, int(ny)), max(1, int(nz))))

    @smproperty.doublevector(name="Bounds", default_values=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], panel_visibility="advanced")
    @smdomain.xml(_doc("Refined box (xmin, xmax, ymin, ymax, zmin, zmax) in the INR's coordinates; an axis with "
                       "min >= max uses the checkpoint's domain (the default)."))
    def P13_SetBounds(self, x0, x1, y0, y1, z0, z1):
        self._set("bounds", (float(x0), float(x1), float(y0), float(y1), float(z0), float(z1)))

    @smproperty.stringvector(name="SpaceInputs", default_values="", panel_visibility="advanced")
    @smdomain.xml(_doc("Inputs refined as x, y, z, comma-separated (default: x, y, z among the INR's inputs)."))
    def P14_SetSpaceInputs(self, value):
        self._set("space_inputs", value or "")

    @smproperty.stringvector(name="TimeInput", default_values="", panel_visibility="advanced")
    @smdomain.xml(_doc("Input driven by ParaView's time (default: the input named t or time; 'none' to disable)."))
    def P15_SetTimeInput(self, value):
        self._set("time_input", value or "")

    @smproperty.stringvector(name="FixedInputs", default_values="", panel_visibility="advanced")
    @smdomain.xml(_doc("Values of other inputs, e.g. 'z=0.25' (inputs neither refined nor time default to the "
                       "middle of their range)."))
    def P16_SetFixedInputs(self, value):
        self._set("fixed_inputs", value or "")

    @smproperty.intvector(name="NumberOfTimeSteps", default_values=11)
    @smdomain.intrange(min=1, max=1000)
    @smdomain.xml(_doc("Time steps advertised over the time input's range (each one is refined when shown and "
                       "cached, so scrubbing back is instant)."))
    def P17_SetNumberOfTimeSteps(self, value):
        if int(value) != self._p["time_steps"]:
            self._p["time_steps"] = int(value)  # the cached results stay valid: they are keyed by time
            self.Modified()

    @smproperty.intvector(name="OutputComponent", default_values=0, panel_visibility="advanced")
    @smdomain.xml(_doc("Output component of a vector-valued INR that drives refinement and is shown."))
    def P18_SetOutputComponent(self, value):
        self._set("component", int(value))

    @smproperty.xml("""<IntVectorProperty name="Device" command="P19_SetDevice" number_of_elements="1" default_values="0"
        panel_visibility="advanced"><EnumerationDomain name="enum"><Entry value="0" text="auto"/>
        <Entry value="1" text="cpu"/><Entry value="2" text="cuda"/></EnumerationDomain>
        <Documentation>Where the INR is evaluated (auto: CUDA if torch sees a GPU).</Documentation></IntVectorProperty>""")
    def P19_SetDevice(self, value):
        self._set("device", int(value))

    @smproperty.intvector(name="Seed", default_values=0, panel_visibility="advanced")
    @smdomain.xml(_doc("Seed of the element samples: the same seed gives the same mesh."))
    def P20_SetSeed(self, value):
        self._set("seed", int(value))

    @smproperty.xml("""<IntVectorProperty name="RelativeError" command="P21_SetRelativeError" number_of_elements="1"
        default_values="0" panel_visibility="advanced"><EnumerationDomain name="enum">
        <Entry value="0" text="floored (paper)"/><Entry value="1" text="reference code (+5 shift)"/></EnumerationDomain>
        <Documentation>floored: mean |f-g| / max(|f|, floor x field RMS), the paper's relative error made safe near
        zero. reference: the research code's shifted variant.</Documentation></IntVectorProperty>""")
    def P21_SetRelativeError(self, value):
        self._set("error_mode", int(value))

    @smproperty.doublevector(name="ErrorFloor", default_values=1.0, panel_visibility="advanced")
    @smdomain.xml(_doc("Denominator floor of the relative error, as a fraction of the field's RMS."))
    def P22_SetErrorFloor(self, value):
        self._set("error_floor", float(value))

    @smproperty.stringvector(name="Activations", default_values="", panel_visibility="advanced")
    @smdomain.xml(_doc("Activations for checkpoints that store none (the 'dict' layout), e.g. 'relu'."))
    def P23_SetActivations(self, value):
        if (value or "") != self._p["activations"]:
            self._p["activations"] = value or ""
            if self._session is not None:
                self._session.open(None)
                self._session.open(self._file or None, **self._load_options())
            self.Modified()

    @smproperty.doublevector(name="TimestepValues", information_only="1", si_class="vtkSITimeStepsProperty")
    def P24_GetTimestepValues(self):
        return self._timesteps()

    # the property groups must follow the properties in the XML; methods are emitted sorted by name
    @smproperty.xml(_GROUPS)
    def Z_property_groups(self):
        """Carries the panel's property groups (never called)."""

    @smproperty.intvector(name="CacheHits", information_only="1")
    def P25_GetCacheHits(self):
        return self._session.hits if self._session is not None else 0

    @smproperty.intvector(name="Refinements", information_only="1")
    def P26_GetRefinements(self):
        return self._session.misses if self._session is not None else 0

    @smproperty.stringvector(name="LastError", information_only="1")
    def P27_GetLastError(self):
        return self._last_error
