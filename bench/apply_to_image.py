"""Time from Apply to image in ParaView (pvbatch), against plain uniform sampling, in one run.

    .venv/bin/python -m inr_amr_apps.xdisplay .venv/bin/inr-amr pvbatch bench/apply_to_image.py [OUT.json]

Each timing covers creating the reader (or changing the time), the refinement, building the
vtkHyperTreeGrid, the HTG slice where there is one, and rendering and saving a 900x800 screenshot.
Rows: hos (2D) with the defaults; the CT INR with the defaults (budget strategy, Pruning, 50,000
DOFs) at t = 1, a new time step, back to the cached one, and a new session served from the disk cache;
the CT INR with the previous defaults (the thresholds loop, T 1e-3, P 0.075, 3 uniform refinements, 2
iterations); and the user's alternative: the INR sampled on a 65^3 grid. The disk cache is a fresh
temporary folder, so nothing is served from earlier runs.
"""

import os
import sys
import tempfile
import time

os.environ["INR_AMR_CACHE"] = tempfile.mkdtemp(prefix="inr-amr-bench-cache-")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugin", "pvscripts"))

from inr_amr_views import finish, htg_slice, look_along, reader_proxy, show_with_edges  # noqa: E402
from paraview.simple import CreateRenderView, Render, SaveScreenshot  # noqa: E402

from inr_amr_core.fileio import write_json  # noqa: E402

ROOT = os.path.dirname(HERE)
HOS = os.path.join(ROOT, "..", "shared", "inrs", "hos_lists.ckpt")
CT = os.path.join(ROOT, "inr_amr_apps", "data", "ct_compression.pt")
PREVIOUS_DEFAULTS = dict(
    Strategy="Thresholds", Threshold=1e-3, Proportion=0.075, UniformRefinements=3, MaxIterations=2, IDMethod="Exact"
)


def view_of(source, view_time=None):
    view = CreateRenderView()
    view.ViewSize = [900, 800]
    if view_time is not None:
        view.ViewTime = view_time  # before Show(), which updates the pipeline at the view's time
    show_with_edges(source, view, scalar_bar=False)
    return view


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(out_path):
    tmp = tempfile.mkdtemp()
    res = {}

    def hos_image():
        r = reader_proxy(HOS, MaxDOFs=10000)
        v = view_of(r)
        look_along(v, None)
        Render(v)
        SaveScreenshot(os.path.join(tmp, "hos.png"), v)
        res["hos_leaves"] = r.GetDataInformation().GetNumberOfCells()

    res["hos_apply_to_image_s"] = timed(hos_image)

    state = {}

    def ct_first(props, name, key):
        def go():
            r = reader_proxy(CT, NumberOfTimeSteps=3, **props)
            s = htg_slice(r, "y", 0.0)
            v = view_of(s, view_time=1.0)
            look_along(v, "y")
            Render(v)
            SaveScreenshot(os.path.join(tmp, name), v)
            state[key] = (r, v)
            res[f"{key}_leaves"] = r.GetDataInformation().GetNumberOfCells()

        return go

    def ct_step(key, t, name):
        def go():
            view = state[key][1]
            view.ViewTime = t
            Render(view)
            SaveScreenshot(os.path.join(tmp, name), view)

        return go

    res["ct_first_step_apply_to_image_s"] = timed(ct_first({"PrecomputeTimeSteps": 0}, "ct_t1.png", "ct"))
    res["ct_new_step_s"] = timed(ct_step("ct", -1.0, "ct_tm1.png"))
    res["ct_cached_step_s"] = timed(ct_step("ct", 1.0, "ct_t1_again.png"))
    r = state["ct"][0]
    r.UpdatePropertyInformation()
    res["ct_refinements"] = int(r.GetProperty("Refinements").GetData())
    res["ct_cache_hits"] = int(r.GetProperty("CacheHits").GetData())
    # a new session (another reader, as after restarting ParaView): the mesh comes from the disk cache
    res["ct_new_session_disk_cache_s"] = timed(ct_first({"PrecomputeTimeSteps": 0}, "ct_t1_disk.png", "ct_disk"))
    res["ct_previous_defaults_first_step_s"] = timed(ct_first(PREVIOUS_DEFAULTS, "ct_prev.png", "ct_prev"))

    # the user's alternative: the INR on a 65^3 grid at t = 1 (evaluation only, no rendering)
    import numpy as np

    from inr_amr_core import load_inr

    inr = load_inr(CT)
    axis = np.linspace(-1.0, 1.0, 65)
    t0 = time.perf_counter()
    g = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    inr.evaluate(np.column_stack([np.ones(len(g)), g[:, 2], g[:, 1], g[:, 0]]))
    res["ct_uniform_sampling_65_s"] = time.perf_counter() - t0
    res["ct_uniform_sampling_65_points"] = len(g)
    for k, v in res.items():
        print(f"{k:<34} {v:.2f}" if isinstance(v, float) else f"{k:<34} {v}")
    if out_path:
        write_json(out_path, res, indent=1)
    return 0


if __name__ == "__main__":
    finish(main(sys.argv[1] if len(sys.argv) > 1 else None))
