"""ParaView plugin entry: open an INR checkpoint as an adaptive vtkHyperTreeGrid ("INR Checkpoint Reader").

This file only sets paths and imports; the reader is ``inr_amr_paraview.proxy.reader`` (the folder this
file is in is the package ``inr_amr_paraview``). Load it with Tools > Manage Plugins > Load New, with
``LoadPlugin(".../inr_amr_plugin.py", ns=globals())`` in pvpython / pvbatch, or start ParaView with
``inr-amr paraview``.
"""

import inspect
import os
import sys

# Debian's ParaView 5.11 imports inspect.getargspec, removed in Python 3.11 (harmless elsewhere)
if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec

# this file's folder (absent when the module is embedded in the compiled plugin, which has no file:
# then the installed package, or the launcher's sitecustomize, provides inr_amr_paraview)
if "__file__" in globals():
    _site = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
    if _site not in sys.path:
        sys.path.append(_site)
    import inr_amr_paths

    inr_amr_paths.register()

try:
    from inr_amr_paraview.proxy.reader import INRCheckpointReader  # noqa: F401  (what ParaView registers)
except ImportError as _exc:
    raise ImportError(
        f"INR Checkpoint Reader: cannot import the ParaView layer ({_exc}). Install inr-amr "
        "(pip install .) or start ParaView with 'inr-amr paraview'."
    ) from _exc

paraview_plugin_name = "INRAMR"
paraview_plugin_version = "0.1.0"
