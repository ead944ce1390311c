"""Applied at interpreter start by ``inr-amr paraview|pvpython|pvbatch`` (this folder is put on PYTHONPATH).

Debian's ParaView 5.11 loads Python plugins through ``paraview.detail.pythonalgorithm``, which imports
``inspect.getargspec``, removed in Python 3.11; the plugin file cannot fix it because that module is
imported before the plugin. ``getfullargspec`` returns a superset with the same ``.args``.

It also makes the ParaView layer importable from a checkout (:mod:`inr_amr_paths`), which the
compiled plugin and every MPI rank need.
"""

import inspect
import os
import sys

if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec

import inr_amr_paths

inr_amr_paths.register()

# chain to the sitecustomize this file shadows (Debian ships one), if any
_here = os.path.dirname(os.path.abspath(__file__))
for _entry in sys.path:
    if not _entry or os.path.abspath(_entry) == _here:
        continue
    _candidate = os.path.join(_entry, "sitecustomize.py")
    if os.path.isfile(_candidate):
        with open(_candidate, encoding="utf-8") as _fh:
            exec(compile(_fh.read(), _candidate, "exec"), {"__name__": "sitecustomize_chained", "__file__": _candidate})
        break
