"""Render .htg files (2D: the mesh; 3D: an axis slice) with mesh edges (pvbatch; used by `inr-amr reproduce`).

Usage: pvbatch render_htg.py JOBS.json, with {"jobs": [{"htg", "png", "axis", "title"}...], "range": [lo, hi]}.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inr_amr_views import finish, htg_slice, render_with_edges
from paraview.simple import OpenDataFile


def main(path):
    with open(path) as fh:
        spec = json.load(fh)
    for job in spec["jobs"]:
        src = OpenDataFile(job["htg"])
        shown = htg_slice(src, job["axis"], 0.0) if job["axis"] else src
        render_with_edges(shown, job["png"], axis=job["axis"], title=job["title"], value_range=spec.get("range"))
        print("wrote", job["png"], flush=True)
    return 0


if __name__ == "__main__":
    finish(main(sys.argv[1]))
