"""Run inside the ParaView GUI (paraview --script=gui_slice.py --exit): open a checkpoint, show a
slice with mesh edges coloured by the INR value, save a screenshot. Config comes from the environment."""

import json
import os
import sys
import time

from paraview.simple import *

sys.path.insert(0, os.environ["INR_AMR_PVSCRIPTS"])
from inr_amr_views import htg_slice, look_along, show_with_edges

out = {"started": True}
t0 = time.perf_counter()
reader = INRCheckpointReader(FileName=os.environ["INR_AMR_CKPT"])
reader.Method = "Basic"
reader.Tau = 0.02
reader.MaxDOFs = 20000
sl = htg_slice(reader, "y", 0.0)
view = GetActiveViewOrCreate("RenderView")
show_with_edges(sl, view, scalar_bar=False)
Hide3DWidgets(proxy=sl)
out["reader_registered"] = True
look_along(view, "y")
Render(view)
SaveScreenshot(os.environ["INR_AMR_PNG"], view, ImageResolution=[800, 700])
out["seconds"] = time.perf_counter() - t0
out["slice_cells"] = sl.GetDataInformation().GetNumberOfCells()
with open(os.environ["INR_AMR_OUT"], "w") as fh:
    json.dump(out, fh)
