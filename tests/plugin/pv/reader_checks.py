"""Runs inside pvpython / pvbatch: exercises the INR Checkpoint Reader and writes JSON findings.

Usage: pvpython reader_checks.py CONFIG.json OUT.json
CONFIG: {"load": "py" | "so" | "auto", "plugin": path, "hos": path, "ct4d": path, "fast": bool}
"""

import inspect
import json
import os
import sys
import time

if not hasattr(inspect, "getargspec"):  # what the launcher's sitecustomize does, for the plain LoadPlugin route
    inspect.getargspec = inspect.getfullargspec

import numpy as np
from paraview import servermanager as sm
from paraview.simple import *
from vtkmodules.util import numpy_support

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # tests/
from helpers import leaf_records

with open(sys.argv[1]) as fh:
    cfg = json.load(fh)
out = {}

if cfg["load"] in ("py", "so"):
    LoadPlugin(cfg["plugin"], remote=False, ns=globals())
import paraview.simple as ps

Reader = globals().get("INRCheckpointReader") or getattr(ps, "INRCheckpointReader", None)
out["reader_registered"] = Reader is not None

from inr_amr_core import load_inr, refine


def leaves_of(htg, array="value"):
    return leaf_records(htg, (array,))


def counters(r):
    r.UpdatePropertyInformation()
    return int(r.GetProperty("CacheHits").GetData()), int(r.GetProperty("Refinements").GetData())


# ---------------------------------------------------------------- 2D: the real hos checkpoint
t0 = time.perf_counter()
r = Reader(FileName=cfg["hos"])
r.MaxDOFs = 10000  # the defaults otherwise: the budget strategy, Pruning, sketched ID
r.UpdatePipeline()
out["hos_seconds_apply_to_data"] = time.perf_counter() - t0
htg = sm.Fetch(r)
out["hos_class"] = htg.GetClassName()
out["hos_leaves"] = htg.GetNumberOfLeaves()
hos = load_inr(cfg["hos"])
expected = refine(hos, max_dofs=10000)
out["hos_expected_leaves"] = expected.tree.n_leaves
L = leaves_of(htg)
centres = np.c_[(L[:, 0] + L[:, 1]) / 2, (L[:, 2] + L[:, 3]) / 2]
out["hos_max_value_error"] = float(np.abs(L[:, 6] - hos.evaluate(centres)[:, 0]).max())
cd = htg.GetCellData()
out["hos_arrays"] = sorted(cd.GetArrayName(i) for i in range(cd.GetNumberOfArrays()))
out["hos_timesteps"] = list(r.TimestepValues) if r.TimestepValues else []

# thresholds and HTG filters on the 2D output
thr = Threshold(Input=r, Scalars=["CELLS", "level"], LowerThreshold=6, UpperThreshold=100)
thr.UpdatePipeline()
thr_out = sm.Fetch(thr)
out["hos_threshold_class"] = thr_out.GetClassName()


out["hos_threshold_cells"] = len(leaf_records(thr_out, (), skip_masked=True))
out["hos_fine_leaves"] = int(np.count_nonzero(expected.tree.levels >= 6))

# ---------------------------------------------------------------- 4D: time steps, slice, contour, cache
ct = load_inr(cfg["ct4d"])
r4 = Reader(FileName=cfg["ct4d"])
r4.Strategy = "Thresholds"  # the paper's Algorithm 1
r4.Method = "Basic"
r4.Tau = 0.02
r4.UniformRefinements = 2
r4.MaxIterations = 2
r4.NumberOfTimeSteps = 5
r4.MaxDOFs = 50000
r4.UpdatePipelineInformation()
out["ct_timesteps"] = list(r4.TimestepValues)
timings = {}
t0 = time.perf_counter()
r4.UpdatePipeline(-1.0)
timings["first_step"] = time.perf_counter() - t0
h_first = sm.Fetch(r4)
leaves_first = leaves_of(h_first)
out["ct_leaves_t-1"] = int(h_first.GetNumberOfLeaves())
t0 = time.perf_counter()
r4.UpdatePipeline(1.0)
timings["second_step"] = time.perf_counter() - t0
h_last = sm.Fetch(r4)
leaves_last = leaves_of(h_last)
out["ct_leaves_t1"] = int(h_last.GetNumberOfLeaves())
out["ct_mesh_changes"] = bool(
    leaves_first.shape != leaves_last.shape
    or not np.allclose(np.sort(leaves_first[:, :6], 0), np.sort(leaves_last[:, :6], 0))
)
hits_before, ref_before = counters(r4)
t0 = time.perf_counter()
r4.UpdatePipeline(-1.0)
timings["cached_step"] = time.perf_counter() - t0
hits_after, ref_after = counters(r4)
out["ct_cache_hit"] = hits_after == hits_before + 1 and ref_after == ref_before
leaves_revisit = leaves_of(sm.Fetch(r4))
out["ct_revisit_same_as_first"] = bool(
    leaves_revisit.shape == leaves_first.shape and np.array_equal(np.sort(leaves_revisit, 0), np.sort(leaves_first, 0))
)
out["timings"] = timings
# values at t = 1: cell centres against direct evaluation (inputs t, z, y, x)
c = np.c_[
    (leaves_last[:, 0] + leaves_last[:, 1]) / 2,
    (leaves_last[:, 2] + leaves_last[:, 3]) / 2,
    (leaves_last[:, 4] + leaves_last[:, 5]) / 2,
]
direct = ct.evaluate(np.c_[np.ones(len(c)), c[:, 2], c[:, 1], c[:, 0]])[:, 0]
out["ct_max_value_error"] = float(np.abs(leaves_last[:, 6] - direct).max())

# a parameter change invalidates the cache
r4.Tau = 0.05
r4.UpdatePipeline(1.0)
_, ref_changed = counters(r4)
out["ct_param_change_refines"] = ref_changed == ref_after + 1

# slice through the HTG at x = 0.1 (HyperTreeGridSlicer: SliceType is ignored for HTGs)
r4.Tau = 0.02
r4.UpdatePipeline(1.0)
sl = Slice(Input=r4)
sl.HyperTreeGridSlicer = "Plane"
sl.HyperTreeGridSlicer.Origin = [0.1, 0.0, 0.0]
sl.HyperTreeGridSlicer.Normal = [1.0, 0.0, 0.0]
sl.UpdatePipeline(1.0)
poly = sm.Fetch(sl)
out["slice_cells"] = poly.GetNumberOfCells()
pts = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()) if poly.GetNumberOfPoints() else np.zeros((0, 3))
out["slice_max_abs_x_offset"] = float(np.abs(pts[:, 0] - 0.1).max()) if len(pts) else None
vals = numpy_support.vtk_to_numpy(poly.GetCellData().GetArray("value")) if poly.GetNumberOfCells() else []
# each slice polygon carries the value of the leaf it cuts: compare with the leaf containing its centroid
errs = []
for i in range(min(poly.GetNumberOfCells(), 300)):
    ids = poly.GetCell(i).GetPointIds()
    cen = np.mean([pts[ids.GetId(k)] for k in range(ids.GetNumberOfIds())], axis=0)
    inside = np.flatnonzero(
        (leaves_last[:, 0] <= cen[0] + 1e-9)
        & (cen[0] - 1e-9 <= leaves_last[:, 1])
        & (leaves_last[:, 2] <= cen[1])
        & (cen[1] <= leaves_last[:, 3])
        & (leaves_last[:, 4] <= cen[2])
        & (cen[2] <= leaves_last[:, 5])
    )
    if inside.size:
        errs.append(np.min(np.abs(leaves_last[inside, 6] - vals[i])))
out["slice_value_max_error"] = float(max(errs)) if errs else None

# contour of the cell data
lo_v, hi_v = float(leaves_last[:, 6].min()), float(leaves_last[:, 6].max())
iso = 0.5 * (lo_v + hi_v)
co = Contour(Input=r4, ContourBy=["CELLS", "value"], Isosurfaces=[iso])
co.UpdatePipeline(1.0)
cpoly = sm.Fetch(co)
out["contour_points"] = cpoly.GetNumberOfPoints()
if cpoly.GetNumberOfPoints():
    cp = numpy_support.vtk_to_numpy(cpoly.GetPoints().GetData())
    fv = ct.evaluate(np.c_[np.ones(len(cp)), cp[:, 2], cp[:, 1], cp[:, 0]])[:, 0]
    out["contour_value_spread"] = float(np.median(np.abs(fv - iso)) / (hi_v - lo_v))

# ---------------------------------------------------------------- bad input: message, empty output, no crash
bad = Reader(FileName=cfg["bad"])
bad.UpdatePipeline()
bad.UpdatePropertyInformation()
out["bad_leaves"] = sm.Fetch(bad).GetNumberOfLeaves()
out["bad_error"] = bad.GetProperty("LastError").GetData()
out["survived"] = True
with open(sys.argv[2], "w") as fh:
    json.dump(out, fh, indent=1)
