"""The linear tree against brute-force geometry (Python loops over leaves, exact fractions)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from inr_amr_core.tree import LinearTree


def random_tree(d, rng, steps=4, root=None, frac=0.3):
    tree = LinearTree.uniform(root or (1,) * d, [[0.0, 1.0]] * d, level=1)
    for _ in range(steps):
        pick = np.flatnonzero(rng.random(tree.n_leaves) < frac)
        tree = tree.refine(pick)[0]
    return tree


def leaf_boxes(tree):
    """Exact leaf boxes as Fractions (independent of the tree's own geometry code)."""
    boxes = []
    for lv, c in zip(tree.levels, tree.coords):
        size = [
            Fraction(tree.bounds[a, 1] - tree.bounds[a, 0]) / (tree.root_grid[a] * 2 ** int(lv)) for a in range(tree.d)
        ]
        lo = [Fraction(tree.bounds[a, 0]) + int(c[a]) * size[a] for a in range(tree.d)]
        boxes.append((lo, [lo[a] + size[a] for a in range(tree.d)]))
    return boxes


def brute_vertices(tree):
    verts = set()
    for lo, hi in leaf_boxes(tree):
        for corner in itertools.product(*[(lo[a], hi[a]) for a in range(tree.d)]):
            verts.add(corner)
    return verts


def brute_hanging(tree, verts):
    """A vertex is hanging if some leaf's closed box contains it without it being a corner."""
    boxes = leaf_boxes(tree)
    hanging = set()
    for v in verts:
        for lo, hi in boxes:
            inside = all(lo[a] <= v[a] <= hi[a] for a in range(tree.d))
            corner = all(v[a] in (lo[a], hi[a]) for a in range(tree.d))
            if inside and not corner:
                hanging.add(v)
                break
    return hanging


@pytest.mark.parametrize("d,root", [(2, (1, 1)), (2, (3, 2)), (3, (1, 1, 1)), (3, (2, 1, 2))])
def test_dofs_and_hanging_match_brute_force(d, root, rng):
    tree = random_tree(d, rng, steps=3 if d == 3 else 4, root=root)
    verts = brute_vertices(tree)
    assert tree.dofs() == len(verts)
    hanging = brute_hanging(tree, verts)
    assert tree.conforming_dofs() == len(verts) - len(hanging)
    assert np.count_nonzero(tree.hanging_vertices()) == len(hanging)


def test_uniform_counts():
    t = LinearTree.uniform((1, 1), [[0, 1], [0, 1]], 3)
    assert t.n_leaves == 64 and t.dofs() == 81 and t.conforming_dofs() == 81
    t3 = LinearTree.uniform((2, 1, 1), [[0, 2], [0, 1], [0, 1]], 2)
    assert t3.n_leaves == 2 * 64 and t3.dofs() == 9 * 5 * 5


@pytest.mark.parametrize("d", [2, 3])
def test_dofs_after_refining_predicts(d, rng):
    tree = random_tree(d, rng, steps=2)
    pick = np.flatnonzero(rng.random(tree.n_leaves) < 0.4)
    assert tree.dofs_after_refining(pick) == tree.refine(pick)[0].dofs()


@pytest.mark.parametrize("d", [2, 3])
def test_prefix_vertices_match_brute_force(d, rng):
    """Every prefix of an ordered list of leaves: the DOF count and the added vertices equal the brute-force
    vertex set of the tree refined by that prefix (exact fractions)."""
    tree = random_tree(d, rng, steps=2, root=(2,) + (1,) * (d - 1))
    order = rng.permutation(tree.n_leaves)[: tree.n_leaves // 2]
    key_level = tree.max_level + 3
    base = tree.vertex_keys(key_level)
    assert base.size == len(brute_vertices(tree))
    dofs, keys, position = tree.prefix_vertices(tree.levels[order], tree.coords[order], key_level, base)
    for j in (0, 1, order.size // 3, order.size):
        refined = tree.refine(np.sort(order[:j]))[0]
        assert dofs[j] == len(brute_vertices(refined))
        np.testing.assert_array_equal(np.union1d(base, keys[position < j]), refined.vertex_keys(key_level))


@pytest.mark.parametrize("d,root", [(2, (2, 3)), (3, (1, 2, 1))])
def test_locate_matches_brute_force(d, root, rng):
    tree = random_tree(d, rng, steps=3, root=root)
    tree.bounds = np.array([[-1.0, 2.0], [0.5, 1.5], [0.0, 4.0]][:d])
    pts = rng.uniform(tree.bounds[:, 0] - 0.1, tree.bounds[:, 1] + 0.1, (500, d))
    lo, hi = tree.leaf_bounds()
    found = tree.locate(pts)
    for p, leaf in zip(pts, found):
        containing = np.flatnonzero(np.all((lo <= p) & (p <= hi), axis=1))
        if containing.size == 0:
            assert leaf == -1
        else:
            assert leaf in containing


def test_locate_upper_faces_inside():
    tree = LinearTree.uniform((2, 2), [[0, 1], [0, 1]], 1)
    assert np.all(tree.locate(np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.3]])) >= 0)


@pytest.mark.parametrize("d", [2, 3])
def test_interpolation_exact_on_multilinear(d, rng):
    tree = random_tree(d, rng, steps=3)
    coef = rng.normal(size=2**d)

    def f(x):  # a general multilinear function: sum over subsets S of c_S prod_{a in S} x_a
        out = np.zeros(x.shape[0])
        for s in range(2**d):
            term = np.full(x.shape[0], coef[s])
            for a in range(d):
                if s >> a & 1:
                    term = term * x[:, a]
            out += term
        return out

    keys, corner_index = tree.vertices()
    values = f(tree.vertex_points(keys, tree.max_level))
    pts = rng.random((2000, d))
    np.testing.assert_allclose(tree.interpolate(pts, values, corner_index), f(pts), rtol=1e-12, atol=1e-12)


def test_interpolation_is_per_leaf_at_hanging_vertices():
    """With the paper's definition each leaf interpolates its own corners, hanging ones included."""
    tree = LinearTree.uniform((1, 1), [[0, 1], [0, 1]], 1).refine(np.array([0]))[0]
    keys, ci = tree.vertices()
    pts = tree.vertex_points(keys, tree.max_level)
    values = np.where(np.isclose(pts[:, 0], 0.5) & np.isclose(pts[:, 1], 0.25), 1.0, 0.0)  # a hanging vertex
    assert tree.interpolate(np.array([[0.45, 0.25]]), values, ci)[0] == pytest.approx(0.8)
    assert tree.interpolate(np.array([[0.55, 0.25]]), values, ci)[0] == pytest.approx(0.0)


@pytest.mark.parametrize("d", [2, 3])
def test_breadth_first_order(d, rng):
    tree = random_tree(d, rng, steps=3, root=(2,) + (1,) * (d - 1))
    nodes = tree.breadth_first()
    # every leaf exactly once
    assert sorted(nodes.leaf_index[nodes.leaf_index >= 0].tolist()) == list(range(tree.n_leaves))
    # per tree: levels non-decreasing; number of nodes at level l+1 = 2^d * refined at level l
    for r in range(tree.n_roots):
        s, e = nodes.tree_start[r], nodes.tree_start[r + 1]
        lv, ref = nodes.level[s:e], nodes.is_refined[s:e]
        assert np.all(np.diff(lv) >= 0) and lv[0] == 0
        for l in range(lv.max()):
            assert np.count_nonzero(lv == l + 1) == 2**d * np.count_nonzero(ref[lv == l])
    # children of every refined node are one level deeper (their geometry and the refined nodes' values
    # are checked against VTK's own cursor in test_vtk.py)
    for n in np.flatnonzero(nodes.is_refined):
        kids = nodes.children_start[n] + np.arange(2**d)
        assert np.all(nodes.level[kids] == nodes.level[n] + 1)


def test_element_ids_unique(rng):
    tree = random_tree(3, rng, steps=3)
    ids = tree.element_ids()
    assert np.unique(ids).size == tree.n_leaves
