"""Walk a vtkHyperTreeGrid's leaves with VTK's own geometry cursor (an independent view of the HTG).

Used by the unit tests and, inside pvpython, by tests/pv/reader_checks.py.
"""
from __future__ import annotations

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkHyperTreeGridNonOrientedGeometryCursor


def leaf_records(htg, arrays=("value",), skip_masked: bool = False) -> np.ndarray:
    """``(N, 6 + len(arrays))``: each leaf's bounds (xmin, xmax, ymin, ymax, zmin, zmax) then its values."""
    data = [htg.GetCellData().GetArray(a) for a in arrays]
    cursor = vtkHyperTreeGridNonOrientedGeometryCursor()
    rows = []

    def walk(c):
        if skip_masked and c.IsMasked():
            return
        if c.IsLeaf():
            b = [0.0] * 6
            c.GetBounds(b)
            idx = c.GetGlobalNodeIndex()
            rows.append(b + [d.GetValue(idx) for d in data])
            return
        for i in range(c.GetNumberOfChildren()):
            c.ToChild(i)
            walk(c)
            c.ToParent()

    for tree in range(htg.GetMaxNumberOfTrees()):
        htg.InitializeNonOrientedGeometryCursor(cursor, tree)
        if cursor.HasTree():
            walk(cursor)
    return np.array(rows, dtype=float).reshape(-1, 6 + len(arrays))
