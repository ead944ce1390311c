"""Run inside the ParaView GUI by docs/tools/gui_screenshot.sh: open the embedded CT INR, show a slice
at y = 0 with mesh edges, select the reader so the Properties panel shows its parameters."""

import os
import sys

from paraview.simple import *

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(os.environ["INR_AMR_SCENE"]))))
sys.path.insert(0, os.path.join(ROOT, "plugin", "pvscripts"))
from inr_amr_views import htg_slice, look_along, show_with_edges

reader = INRCheckpointReader(
    registrationName="ct_compression.pt", FileName=os.path.join(ROOT, "inr_amr_core", "data", "ct_compression.pt")
)
reader.Threshold = 3e-4
reader.Proportion = 0.075
reader.MaxIterations = 3
reader.MaxDOFs = 40000
scene = GetAnimationScene()
scene.UpdateAnimationUsingDataTimeSteps()
scene.AnimationTime = 1.0
sl = htg_slice(reader, "y", 0.0)
view = GetActiveViewOrCreate("RenderView")
show_with_edges(sl, view)
Hide3DWidgets(proxy=sl)
view.OrientationAxesVisibility = 1
look_along(view, "y")
SetActiveSource(reader)
Render(view)
with open(os.environ["INR_AMR_READY"], "w") as fh:
    fh.write("ready\n")
