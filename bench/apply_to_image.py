"""Time from Apply to image in ParaView (pvbatch): hos, a 4D INR at one time step, and a cached step.

    xvfb-run -a .venv/bin/inr-amr pvbatch bench/apply_to_image.py [OUT.json]

Each timing covers creating the reader (or changing the time), the refinement, building the
vtkHyperTreeGrid, the HTG slice where there is one, and rendering and saving a 900x800 screenshot.
"""

import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugin", "pvscripts"))

from inr_amr_views import finish, htg_slice, look_along, reader_proxy, show_with_edges  # noqa: E402
from paraview.simple import CreateRenderView, Render, SaveScreenshot  # noqa: E402

ROOT = os.path.dirname(HERE)
HOS = os.path.join(ROOT, "..", "shared", "inrs", "hos_lists.ckpt")
CT = os.path.join(ROOT, "inr_amr_core", "data", "ct_compression.pt")


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

    def ct_first():
        r = reader_proxy(
            CT, Threshold=1e-3, Proportion=0.075, UniformRefinements=3, MaxIterations=2, NumberOfTimeSteps=3
        )
        s = htg_slice(r, "y", 0.0)
        v = view_of(s, view_time=1.0)
        look_along(v, "y")
        Render(v)
        SaveScreenshot(os.path.join(tmp, "ct_t1.png"), v)
        state.update(reader=r, view=v)

    def ct_step(t, name):
        def go():
            state["view"].ViewTime = t
            Render(state["view"])
            SaveScreenshot(os.path.join(tmp, name), state["view"])

        return go

    res["ct_first_step_apply_to_image_s"] = timed(ct_first)
    res["ct_new_step_s"] = timed(ct_step(-1.0, "ct_tm1.png"))
    res["ct_cached_step_s"] = timed(ct_step(1.0, "ct_t1_again.png"))
    r = state["reader"]
    r.UpdatePropertyInformation()
    res["ct_refinements"] = int(r.GetProperty("Refinements").GetData())
    res["ct_cache_hits"] = int(r.GetProperty("CacheHits").GetData())
    for k, v in res.items():
        print(f"{k:<34} {v:.2f}" if isinstance(v, float) else f"{k:<34} {v}")
    if out_path:
        with open(out_path, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    finish(main(sys.argv[1] if len(sys.argv) > 1 else None))
