"""Runs inside pvbatch (plugin auto-loaded by the launcher): bad input, two readers, cancel, a replaced file.

Usage: inr-amr pvbatch hostile_checks.py CONFIG.json OUT.json
CONFIG: {"bad": {name: path}, "overflow": path, "hos": path, "ct": path, "swap": path, "swap_b": path}
"""

import json
import os
import shutil
import sys

import numpy as np
from paraview import servermanager as sm
from paraview.simple import *
from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # tests/
from helpers import leaf_records, leaf_rows, same_rows

with open(sys.argv[1]) as fh:
    cfg = json.load(fh)
out = {}

# everything the reader says goes to the output window: capture it to check there is no raw traceback
window = vtkStringOutputWindow()
vtkOutputWindow.SetInstance(window)


_seen = {"n": 0}


def said():
    """What the output window received since the last call."""
    text = window.GetOutput() or ""
    new, _seen["n"] = text[_seen["n"] :], len(text)
    return new


def leaves(reader):
    return int(sm.Fetch(reader).GetNumberOfLeaves())


def last_error(reader):
    reader.UpdatePropertyInformation()
    return reader.GetProperty("LastError").GetData() or ""


def digest(reader):
    """Leaf boxes and values, sorted: the same mesh of the same field gives the same list."""
    rows = leaf_records(sm.Fetch(reader))
    return leaf_rows(np.c_[(rows[:, 0] + rows[:, 1]) / 2, (rows[:, 2] + rows[:, 3]) / 2], rows[:, 6])


def main():
    # ---------------------------------------------------------------- 1. bad files, one reader, in turn
    r = INRCheckpointReader(FileName=cfg["hos"], MaxDOFs=3000)
    r.UpdatePipeline()
    out["hos_leaves_first"] = leaves(r)
    said()
    out["bad"] = {}
    for name, path in cfg["bad"].items():
        r.FileName = path
        r.UpdatePipeline()
        text = said()
        out["bad"][name] = {"leaves": leaves(r), "error": last_error(r), "window": text}
    r.FileName = cfg["hos"]
    r.UpdatePipeline()
    out["hos_leaves_after_bad"] = leaves(r)  # the same reader recovers

    # ---------------------------------------------------------------- 2. NaN where refinement samples
    o = INRCheckpointReader(FileName=cfg["overflow"], MaxDOFs=500)
    o.UpdatePipeline()
    out["overflow_own_domain_leaves"] = leaves(o)
    said()
    o.Bounds = [0.0, 20.0, 0.0, 1.0, 0.0, 0.0]  # beyond the domain, where the INR overflows float32
    o.UpdatePipeline()
    out["overflow"] = {"leaves": leaves(o), "error": last_error(o), "window": said()}

    # ---------------------------------------------------------------- 3. two readers in one session
    a = INRCheckpointReader(FileName=cfg["hos"], MaxDOFs=2000)
    b = INRCheckpointReader(FileName=cfg["ct"], MaxDOFs=1500, UniformRefinements=1, NumberOfTimeSteps=3)
    b.UpdatePipelineInformation()
    a.UpdatePipeline()
    b.UpdatePipeline(1.0)
    first = (digest(a), leaves(b))
    a.MaxDOFs = 2500
    a.UpdatePipeline()
    b.UpdatePipeline(-1.0)
    a.MaxDOFs = 2000
    a.UpdatePipeline()
    b.UpdatePipeline(1.0)
    out["two_readers"] = {
        "a_leaves": leaves(a),
        "b_leaves": leaves(b),
        "a_same_again": same_rows(digest(a), first[0]),
        "b_same_again": leaves(b) == first[1],
    }

    # ---------------------------------------------------------------- 4. cancel, then apply again
    c = INRCheckpointReader(FileName=cfg["hos"], MaxDOFs=12000)
    algo = c.GetClientSideObject()
    events = {"n": 0}

    def abort_soon(obj, _event):
        events["n"] += 1
        if events["n"] == 3:
            obj.SetAbortExecute(1)

    tag = algo.AddObserver("ProgressEvent", abort_soon)
    c.UpdatePipeline()
    cancelled = {"leaves": leaves(c), "error": last_error(c), "events": events["n"]}
    algo.RemoveObserver(tag)
    algo.SetAbortExecute(0)
    algo.Modified()  # Apply again: the same properties
    c.UpdatePipeline()
    out["cancel"] = {"cancelled": cancelled, "again": leaves(c), "again_error": last_error(c)}
    said()

    # ---------------------------------------------------------------- 5. the file replaced under a cached result
    s = INRCheckpointReader(FileName=cfg["swap"], MaxDOFs=2000)
    s.UpdatePipeline()
    before = digest(s)
    shutil.copyfile(cfg["swap_b"], cfg["swap"] + ".new")
    os.replace(cfg["swap"] + ".new", cfg["swap"])  # another program writes a new version of the file
    s.MaxDOFs = 2500
    s.UpdatePipeline()
    s.MaxDOFs = 2000  # back to the settings of the cached (now stale) result
    s.UpdatePipeline()
    after = digest(s)
    ReloadFiles(s)
    s.UpdatePipeline()
    reloaded = digest(s)
    out["swap"] = {"before": before, "after": after, "reloaded": reloaded}
    out["survived"] = True


try:
    main()
except Exception:  # noqa: BLE001  (the script's own failure goes into the findings: pvbatch hides stderr)
    import traceback

    out["script_error"] = traceback.format_exc()
with open(sys.argv[2], "w") as fh:
    json.dump(out, fh)
