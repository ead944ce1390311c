"""Make the ParaView layer and the core importable from a source checkout that is not installed.

Used by ``sitecustomize.py`` (at interpreter start, for the launchers, the GUI and MPI ranks) and by
the plugin's entry file (for Load New / LoadPlugin). An installed package needs none of it.
"""

import importlib.util
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # plugin/, the package folder
PACKAGE = "inr_amr_paraview"


def register() -> None:
    """Import ``plugin/`` as the package ``inr_amr_paraview``, and put the checkout on the path, if needed."""
    if importlib.util.find_spec(PACKAGE) is None:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, os.path.join(PLUGIN_DIR, "__init__.py"), submodule_search_locations=[PLUGIN_DIR]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        spec.loader.exec_module(package)
    root = os.path.dirname(PLUGIN_DIR)
    if importlib.util.find_spec("inr_amr_core") is None and os.path.isdir(os.path.join(root, "inr_amr_core")):
        sys.path.append(root)
