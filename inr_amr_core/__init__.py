"""inr_amr_core: adaptive meshes for implicit neural representations, refined by ID pruning.

The core has no ParaView or VTK dependency (only :mod:`inr_amr_core.vtk` imports vtk).

>>> import inr_amr_core as ia                                                   # doctest: +SKIP
>>> inr = ia.load_inr("../shared/inrs/hos_lists.ckpt")                          # doctest: +SKIP
>>> result = ia.refine(inr, method="pruning", threshold=0.1, proportion=0.09)   # doctest: +SKIP
>>> result.summary()["dofs"]                                                    # doctest: +SKIP
"""
from __future__ import annotations

from .amr import METHODS, BudgetError, RefinementCancelled, RefinementResult, RefinementSettings, refine
from .checkpoint import CheckpointError, inspect_checkpoint, load_inr, save_ct_checkpoint, save_inr
from .criteria import BasicCriterion, PruningCriterion, RelativeError, UniformCriterion
from .domain import SpaceSlice
from .inr import INR, Activation, FourierFeatures
from .metrics import ReferenceSample, total_rmse
from .pruning import interpolative_decomposition, prune_on_box, prune_on_boxes
from .sampling import SampleStream
from .tree import LinearTree

__version__ = "0.1.0"

__all__ = [
    "INR", "Activation", "FourierFeatures", "load_inr", "save_inr", "save_ct_checkpoint", "inspect_checkpoint",
    "CheckpointError", "refine", "RefinementSettings", "RefinementResult", "RefinementCancelled", "BudgetError",
    "METHODS", "PruningCriterion", "BasicCriterion", "UniformCriterion", "RelativeError", "SpaceSlice",
    "LinearTree", "SampleStream", "ReferenceSample", "total_rmse", "interpolative_decomposition",
    "prune_on_box", "prune_on_boxes", "__version__",
]
