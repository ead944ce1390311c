"""Render an INR checkpoint (2D: the mesh; 3D: a slice) with mesh edges to a PNG, and time it.

Usage (the launcher loads the plugin):
    python -m inr_amr_apps.xdisplay inr-amr pvbatch plugin/pvscripts/screenshot.py CHECKPOINT OUT.png
        [--axis x] [--position 0] [--time 1] [--prop Name=Value ...] [--timing OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inr_amr_views import finish, htg_slice, reader_proxy, render_with_edges


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--axis", choices=("x", "y", "z"), help="slice normal (3D outputs)")
    p.add_argument("--position", type=float, default=0.0)
    p.add_argument("--time", type=float)
    p.add_argument("--prop", action="append", default=[], help="reader property Name=Value (repeatable)")
    p.add_argument("--timing", help="write timings as JSON")
    p.add_argument("--title")
    args = p.parse_args(argv)
    props = {k: _value(v) for k, v in (item.split("=", 1) for item in args.prop)}
    t0 = time.perf_counter()
    reader = reader_proxy(args.checkpoint, **props)
    source = htg_slice(reader, args.axis, args.position) if args.axis else reader
    render_seconds = render_with_edges(source, args.output, axis=args.axis, time=args.time, title=args.title)
    total = time.perf_counter() - t0
    if args.timing:
        reader.UpdatePropertyInformation()
        with open(args.timing, "w") as fh:
            json.dump(
                {
                    "apply_to_image_seconds": total,
                    "render_seconds": render_seconds,
                    "refinements": int(reader.GetProperty("Refinements").GetData()),
                },
                fh,
            )
    print(f"wrote {args.output} ({total:.2f} s from Apply to image)")
    return 0


if __name__ == "__main__":
    finish(main())
