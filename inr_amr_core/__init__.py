"""inr_amr_core: adaptive meshes for implicit neural representations, refined by ID pruning.

The algorithm and its one VTK adapter (:mod:`inr_amr_core.vtk`, the only module that imports vtk);
no ParaView, no command line, no plotting. The public names below are imported on first use, so
``import inr_amr_core.settings`` (the parameter declarations) works without torch.

>>> import inr_amr_core as ia                                                   # doctest: +SKIP
>>> inr = ia.load_inr("../shared/inrs/hos_lists.ckpt")                          # doctest: +SKIP
>>> result = ia.refine(inr, method="pruning", threshold=0.1, proportion=0.09)   # doctest: +SKIP
>>> result.summary()["dofs"]                                                    # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "INR": "inr",
    "Activation": "inr",
    "FourierFeatures": "inr",
    "load_inr": "checkpoint",
    "save_inr": "checkpoint",
    "save_ct_checkpoint": "checkpoint",
    "inspect_checkpoint": "checkpoint",
    "CheckpointError": "checkpoint",
    "refine": "amr",
    "RefinementResult": "amr",
    "RefinementCancelled": "amr",
    "BudgetError": "amr",
    "RefinementSettings": "settings",
    "LoadSettings": "settings",
    "SettingsError": "settings",
    "METHODS": "settings",
    "PruningCriterion": "criteria",
    "BasicCriterion": "criteria",
    "UniformCriterion": "criteria",
    "RelativeError": "criteria",
    "SpaceSlice": "domain",
    "LinearTree": "tree",
    "SampleStream": "sampling",
    "ReferenceSample": "metrics",
    "total_rmse": "metrics",
    "interpolative_decomposition": "pruning",
    "prune_on_box": "pruning",
    "prune_on_boxes": "pruning",
    "RefinementSession": "session",
}

__all__ = [
    "INR",
    "METHODS",
    "Activation",
    "BasicCriterion",
    "BudgetError",
    "CheckpointError",
    "FourierFeatures",
    "LinearTree",
    "LoadSettings",
    "PruningCriterion",
    "ReferenceSample",
    "RefinementCancelled",
    "RefinementResult",
    "RefinementSession",
    "RefinementSettings",
    "RelativeError",
    "SampleStream",
    "SettingsError",
    "SpaceSlice",
    "UniformCriterion",
    "__version__",
    "inspect_checkpoint",
    "interpolative_decomposition",
    "load_inr",
    "prune_on_box",
    "prune_on_boxes",
    "refine",
    "save_ct_checkpoint",
    "save_inr",
    "total_rmse",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inr_amr_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the names as a type checker and an IDE see them
    from .amr import BudgetError, RefinementCancelled, RefinementResult, refine
    from .checkpoint import CheckpointError, inspect_checkpoint, load_inr, save_ct_checkpoint, save_inr
    from .criteria import BasicCriterion, PruningCriterion, RelativeError, UniformCriterion
    from .domain import SpaceSlice
    from .inr import INR, Activation, FourierFeatures
    from .metrics import ReferenceSample, total_rmse
    from .pruning import interpolative_decomposition, prune_on_box, prune_on_boxes
    from .sampling import SampleStream
    from .session import RefinementSession
    from .settings import METHODS, LoadSettings, RefinementSettings, SettingsError
    from .tree import LinearTree
