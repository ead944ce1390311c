"""Files shipped with the packages, found through the packages themselves (``importlib.resources``).

The embedded demo INRs are data of :mod:`inr_amr_apps`; the ParaView plugin, its start-up fix for
Debian's ParaView 5.11 and the pvbatch scripts are the package ``inr_amr_paraview`` (the ``plugin/``
folder of a checkout). Both work the same from a source checkout, an editable install and a wheel.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from pathlib import Path

__all__ = ["DATA_FILES", "PLUGIN_FILE", "data_dir", "data_file", "plugin_dir", "pvscript", "shared_file"]

#: the embedded demo INRs
DATA_FILES = (
    "ct_compression.pt",
    "lattice_compression.pt",
    "logpile.pt",
    "sin_corner_2d.pt",
    "small_truss_compression.pt",
    "truss_compression.pt",
)
PLUGIN_FILE = "inr_amr_plugin.py"
PLUGIN_PACKAGE = "inr_amr_paraview"


def _as_path(traversable: object) -> Path:
    # the packages are installed as plain folders (zip-safe = false), so their files are real paths
    return Path(str(traversable))


def data_dir() -> Path:
    """The folder of the embedded demo INRs (and their training reports)."""
    return _as_path(importlib.resources.files("inr_amr_apps") / "data")


def data_file(name: str) -> Path:
    """Path of an embedded demo INR, e.g. ``data_file("ct_compression.pt")``.

    Raises
    ------
    FileNotFoundError
        If the file is not shipped (naming the ones that are).
    """
    path = data_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"no embedded checkpoint {name!r} (shipped: {', '.join(DATA_FILES)}; regenerate them with `inr-amr train`)"
        )
    return path


def plugin_dir() -> Path:
    """The folder holding ``inr_amr_plugin.py``: ``$INR_AMR_PLUGIN_DIR``, else the installed ParaView layer."""
    env = os.environ.get("INR_AMR_PLUGIN_DIR")
    if env:
        folder = Path(env)
        if not (folder / PLUGIN_FILE).is_file():
            raise FileNotFoundError(f"INR_AMR_PLUGIN_DIR={env} holds no {PLUGIN_FILE}")
        return folder.resolve()
    if importlib.util.find_spec(PLUGIN_PACKAGE) is None:
        raise FileNotFoundError(
            f"the ParaView layer ({PLUGIN_PACKAGE}) is not installed; reinstall inr-amr "
            "(pip install .) or set INR_AMR_PLUGIN_DIR to a checkout's plugin/ folder"
        )
    folder = _as_path(importlib.resources.files(PLUGIN_PACKAGE))
    if not (folder / PLUGIN_FILE).is_file():
        raise FileNotFoundError(f"{folder} holds no {PLUGIN_FILE}; reinstall inr-amr")
    return folder


def pvscript(name: str) -> Path:
    """A script of the ParaView layer's ``pvscripts/`` folder (run by pvbatch)."""
    path = plugin_dir() / "pvscripts" / name
    if not path.is_file():
        raise FileNotFoundError(f"no pvbatch script {name!r} in {path.parent}")
    return path


def shared_file(relative: str) -> Path | None:
    """A file of the project's shared folder (``$INR_AMR_SHARED``, else ``../shared`` beside a checkout).

    Returns None when there is no such file (an installed package has no checkout beside it).
    """
    candidates = []
    if os.environ.get("INR_AMR_SHARED"):
        candidates.append(Path(os.environ["INR_AMR_SHARED"]))
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "inr_amr_core").is_dir() and (checkout / "plugin").is_dir():
        candidates.append(checkout.parent / "shared")
    for folder in candidates:
        path = folder / relative
        if path.is_file():
            return path.resolve()
    return None
