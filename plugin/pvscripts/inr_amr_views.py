"""ParaView views of INR Checkpoint Reader outputs (import inside pvpython / pvbatch / the GUI).

Kept out of ``plugin/`` itself so that ParaView's plugin search path does not take it for a plugin.
"""

from __future__ import annotations

import contextlib
import time as time_module

from paraview.simple import (
    ColorBy,
    CreateRenderView,
    GetColorTransferFunction,
    GetScalarBar,
    Render,
    SaveScreenshot,
    Show,
    Slice,
)

AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
UP = {"x": (0.0, 0.0, 1.0), "y": (0.0, 0.0, 1.0), "z": (0.0, 1.0, 0.0)}


def finish(code: int = 0) -> None:
    """Exit without ParaView's OpenGL teardown.

    Under Xvfb, Mesa sometimes fails while destroying GLX contexts at interpreter exit (GLXBadContext),
    turning a finished run into a non-zero exit status; everything has been written by then.
    """
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def reader_proxy(filename: str, **properties):
    """An INR Checkpoint Reader with the given properties (paraview.simple names, e.g. MaxDOFs=10000)."""
    import paraview.simple as ps

    factory = getattr(ps, "INRCheckpointReader", None)
    if factory is None:
        raise RuntimeError("the INR Checkpoint Reader is not loaded: start with `inr-amr pvbatch` or LoadPlugin() it")
    return factory(FileName=filename, **properties)


def htg_slice(source, axis: str = "x", position: float = 0.0):
    """A slice of the HyperTreeGrid through ``axis = position`` (uses the HTG slicer, as HTGs need)."""
    sl = Slice(Input=source)
    # an axis-aligned cut of an HTG is itself a (2D) HTG: its cells are exactly the cut AMR cells
    sl.HyperTreeGridSlicer = "Axis Aligned Plane"
    origin = [0.0, 0.0, 0.0]
    origin["xyz".index(axis)] = position
    sl.HyperTreeGridSlicer.Origin = origin
    sl.HyperTreeGridSlicer.Normal = list(AXES[axis])
    return sl


def show_with_edges(source, view, array: str = "value", scalar_bar: bool = True):
    """Show ``source`` in ``view`` as a surface with mesh edges, coloured by the cell array ``array``."""
    disp = Show(source, view)
    disp.Representation = "Surface With Edges"
    ColorBy(disp, ("CELLS", array))
    disp.RescaleTransferFunctionToDataRange(False, True)
    if scalar_bar:
        disp.SetScalarBarVisibility(view, True)
    return disp


def look_along(view, axis: str | None) -> None:
    """Point the camera at the origin along ``axis`` ('x', 'y', 'z'; None: down z onto the xy plane)."""
    view.CameraFocalPoint = [0.0, 0.0, 0.0]
    view.CameraPosition = [5.0 * c for c in AXES[axis or "z"]]
    view.CameraViewUp = list(UP[axis or "z"])
    view.ResetCamera()


def white_view(size=(900, 800), time: float | None = None):
    """A render view for saved images: white background, orientation axes, at ``time`` if given."""
    view = CreateRenderView()
    view.ViewSize = list(size)
    view.OrientationAxesVisibility = 1
    view.Background = [1.0, 1.0, 1.0]
    with contextlib.suppress(AttributeError):
        view.UseColorPaletteForBackground = 0
    if time is not None:
        view.ViewTime = time  # before Show(), which updates the pipeline at the view's time
    return view


def add_title(view, title: str) -> None:
    """A dark title centred at the top of ``view``."""
    from paraview.simple import Text

    text = Text(Text=title)
    tdisp = Show(text, view)
    tdisp.FontSize = 14
    tdisp.Color = [0.1, 0.1, 0.1]
    tdisp.WindowLocation = "Upper Center"


def render_with_edges(
    source,
    path: str,
    *,
    array: str = "value",
    axis: str | None = None,
    time: float | None = None,
    size=(900, 800),
    title: str | None = None,
    value_range=None,
    colormap: str = "Viridis (matplotlib)",
):
    """Render ``source`` as a surface with mesh edges coloured by a cell array; save a PNG.

    Parameters
    ----------
    axis : {'x', 'y', 'z'} or None
        Look along this axis (slices); None looks at the xy plane (2D meshes).
    time : float, optional
        Time to show.
    value_range : (float, float), optional
        Fixed colour range (default: the data range).

    Returns
    -------
    float
        Seconds from the start of this call to the written image (includes any refinement still pending).
    """
    t0 = time_module.perf_counter()
    view = white_view(size, time)
    disp = show_with_edges(source, view, array)
    disp.EdgeColor = [0.15, 0.15, 0.15]
    disp.LineWidth = 0.6
    lut = GetColorTransferFunction(array)
    lut.ApplyPreset(colormap, True)
    if value_range is not None:  # (show_with_edges fitted it to the data range)
        lut.RescaleTransferFunction(float(value_range[0]), float(value_range[1]))
    bar = GetScalarBar(lut, view)
    bar.Title = array
    bar.ComponentTitle = ""
    bar.TitleColor = [0.1, 0.1, 0.1]
    bar.LabelColor = [0.1, 0.1, 0.1]
    view.CameraParallelProjection = 1
    look_along(view, axis)
    if title:
        add_title(view, title)
    Render(view)
    SaveScreenshot(path, view, ImageResolution=list(size))
    return time_module.perf_counter() - t0


def render_isosurface(
    source,
    path: str,
    value: float,
    *,
    array: str = "value",
    time: float | None = None,
    size=(1000, 900),
    title: str | None = None,
    colour=(0.85, 0.62, 0.35),
):
    """Contour the HTG's cell array at ``value`` and render the surface in an oblique view; save a PNG.

    Returns
    -------
    (float, int)
        Seconds from the start of this call to the written image, and the isosurface's point count.
    """
    from paraview import servermanager as sm
    from paraview.simple import Contour

    t0 = time_module.perf_counter()
    contour = Contour(Input=source, ContourBy=["CELLS", array], Isosurfaces=[float(value)])
    contour.UpdatePipeline(time if time is not None else 0.0)
    n_points = sm.Fetch(contour).GetNumberOfPoints()
    view = white_view(size, time)
    disp = Show(contour, view)
    ColorBy(disp, None)
    disp.DiffuseColor = list(colour)
    disp.AmbientColor = list(colour)
    disp.Specular = 0.3
    view.CameraFocalPoint = [0.0, 0.0, 0.0]
    view.CameraPosition = [3.2, -4.2, 2.6]
    view.CameraViewUp = [0.0, 0.0, 1.0]
    view.ResetCamera()
    if title:
        add_title(view, title)
    Render(view)
    SaveScreenshot(path, view, ImageResolution=list(size))
    return time_module.perf_counter() - t0, int(n_points)
