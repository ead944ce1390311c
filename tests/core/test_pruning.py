"""Batched ID pruning against scipy's column-pivoted QR and against dense evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from inr_amr_core import SampleStream, native, pruning
from inr_amr_core.pruning import (
    LiveNeuronGuess,
    budget_exceed_count,
    exceeds_proportion,
    interpolative_decomposition,
    paper_relative_error,
    prune_on_box,
    prune_on_boxes,
)


@pytest.fixture(params=["c", "torch"], autouse=True)
def pivoting(request, monkeypatch):
    """Every test runs with both pivoting implementations: the C kernel (which must build here) and the
    batched torch one (where no compiler works)."""
    if request.param == "torch":
        monkeypatch.setenv("INR_AMR_NATIVE", "off")
    else:
        assert native.available(), "the C pivoting kernel did not build"
    return request.param


def scipy_id(z, eps):
    """Reference: rank k = #{j : |R[j,j]| >= eps |R[0,0]|}, pivots, T = R11^-1 [R11 R12] (scipy)."""
    _, r, piv = sl.qr(z, mode="economic", pivoting=True)
    dg = np.abs(np.diag(r))
    k = int(np.sum(dg >= eps * dg[0])) if dg[0] > 0 else 0
    t = np.zeros((k, z.shape[1]))
    if k:
        t[:, piv] = sl.solve_triangular(r[:k, :k], r[:k, :], lower=False)
    return k, piv[:k], dg, t


def decaying(rng, n, w, decades, gap=None):
    u, _ = np.linalg.qr(rng.standard_normal((n, w)))
    v, _ = np.linalg.qr(rng.standard_normal((w, w)))
    s = 10.0 ** (-np.linspace(0, decades, w))
    if gap is not None:  # a clean gap in the spectrum: the rank is unambiguous
        s[gap:] *= 1e-4
    return u @ np.diag(s) @ v.T


def agreement(mats, eps):
    res = interpolative_decomposition(torch.tensor(np.array(mats)), eps)
    same_rank = same_piv = 0
    for b, z in enumerate(mats):
        k, piv, dg, _t = scipy_id(z, eps)
        kk = int(res.rank[b])
        same_rank += kk == k
        same_piv += kk == k and np.array_equal(piv, res.pivots[b, :kk].numpy())
        # the R diagonal is the same whatever the tie-breaking (up to float64 noise)
        np.testing.assert_allclose(res.r_diag[b, :kk].numpy(), dg[:kk], rtol=1e-6, atol=1e-9 * dg[0])
    return same_rank / len(mats), same_piv / len(mats), res


def test_random_matrices_match_scipy(rng, record_property):
    mats = [decaying(rng, 96, 40, 6) for _ in range(40)]
    rank_rate, piv_rate, res = agreement(mats, 1e-3)
    record_property("random_rank_agreement", rank_rate)
    record_property("random_pivot_agreement", piv_rate)
    print(f"random matrices: rank agreement {rank_rate:.0%}, pivot agreement {piv_rate:.0%}")
    assert rank_rate >= 0.95 and piv_rate >= 0.95
    # interpolation matrices reconstruct Z to the eps level
    for b, z in enumerate(mats):
        k = int(res.rank[b])
        t = res.interpolation[b, :k].numpy()
        err = np.linalg.norm(z - z[:, res.pivots[b, :k].numpy()] @ t, 2) / np.linalg.norm(z, 2)
        assert err < 20 * 1e-3


def test_well_separated_spectra_match_exactly(rng):
    mats = [decaying(rng, 80, 30, 2, gap=g) for g in (3, 7, 11, 19, 25) for _ in range(4)]
    rank_rate, piv_rate, res = agreement(mats, 1e-3)
    assert rank_rate == 1.0 and piv_rate == 1.0
    for b, z in enumerate(mats):
        _, _, _, t = scipy_id(z, 1e-3)
        np.testing.assert_allclose(res.interpolation[b, : t.shape[0]].numpy(), t, atol=1e-8)


def test_real_activations_match_scipy(hos, record_property):
    """Hidden activations of the real hos INR on boxes of several sizes."""
    stream = SampleStream(7)
    rng = np.random.default_rng(0)
    sizes = np.repeat([1.0, 0.25, 0.05, 0.01], 15)
    lo = rng.random((sizes.size, 2)) * (1 - sizes[:, None])
    pts = stream.points_in_boxes(np.arange(sizes.size, dtype=np.uint64), lo, lo + sizes[:, None], 256, "id")
    with torch.no_grad():
        _, acts = hos.forward(torch.tensor(pts, dtype=torch.float32), hidden=True)
    total = exact = 0
    for layer in acts:
        mats = [a.double().numpy() for a in layer]
        rank_rate, piv_rate, _ = agreement(mats, 1e-3)
        total += len(mats)
        exact += piv_rate * len(mats)
        assert rank_rate >= 0.9
    rate = exact / total
    record_property("hos_activation_agreement", rate)
    print(f"hos activations: rank and pivots identical to scipy for {rate:.1%} of {total} matrices")
    assert rate >= 0.9


def test_zero_columns_match_scipy(rng):
    """Dead neurons (columns zero in every matrix) are skipped internally; results equal scipy's."""
    mats = np.array([decaying(rng, 80, 30, 2, gap=g) for g in (3, 7, 11, 19) for _ in range(3)])
    dead = [0, 4, 5, 17, 29]
    mats[:, :, dead] = 0.0
    mats[0, :, 9] = 0.0  # zero in one matrix only: stays in the batch
    rank_rate, piv_rate, res = agreement(list(mats), 1e-3)
    assert rank_rate == 1.0 and piv_rate == 1.0
    for b in range(len(mats)):
        assert not np.isin(res.pivots[b, : int(res.rank[b])].numpy(), dead).any()
    for b, z in enumerate(mats):
        _, _, _, t = scipy_id(z, 1e-3)
        np.testing.assert_allclose(res.interpolation[b, : t.shape[0]].numpy(), t, atol=1e-8)
    # capped pivoting and the lazily computed interpolation agree with the undropped path
    kept = interpolative_decomposition(torch.tensor(mats), 1e-3, max_rank=5, with_interpolation=False)
    plain = interpolative_decomposition(torch.tensor(mats), 1e-3, max_rank=5, drop_zero_columns=False)
    assert torch.equal(kept.rank, plain.rank) and torch.equal(kept.capped, plain.capped)
    assert torch.equal(kept.pivots, plain.pivots)
    rows = torch.arange(len(mats))
    torch.testing.assert_close(kept.interpolation_for(rows), plain.interpolation, atol=1e-10, rtol=0)
    everything_zero = interpolative_decomposition(torch.zeros(3, 10, 6), 1e-3)
    assert everything_zero.rank.tolist() == [0, 0, 0] and everything_zero.interpolation.shape == (3, 0, 6)


def test_rank_cap_and_capped_flag(rng):
    mats = np.array([decaying(rng, 64, 20, 1) for _ in range(5)])
    full = interpolative_decomposition(torch.tensor(mats), 1e-6)
    capped = interpolative_decomposition(torch.tensor(mats), 1e-6, max_rank=4)
    assert torch.all(capped.rank == 4) and torch.all(capped.capped)
    assert torch.equal(capped.pivots, full.pivots[:, :4])
    zero = interpolative_decomposition(torch.zeros(2, 10, 5), 1e-3)
    assert zero.rank.tolist() == [0, 0]


def test_boxes_leaving_the_batch_change_nothing(rng):
    """Pivoting drops finished boxes from its working set (ranks 1 to 30 here, so it shrinks several
    times): every box's pivots and R rows are bitwise the ones it gets decomposed alone, and its rank
    is scipy's."""
    gaps = rng.permutation(np.repeat(np.arange(1, 31), 3))
    mats = np.array([decaying(rng, 64, 32, 2, gap=int(g)) for g in gaps])
    batch = interpolative_decomposition(torch.tensor(mats), 1e-3, max_rank=torch.tensor(gaps + 1))
    for b, z in enumerate(mats):
        alone = interpolative_decomposition(torch.tensor(z[None]), 1e-3, max_rank=int(gaps[b] + 1))
        k = int(alone.rank[0])
        assert k == gaps[b] == int(batch.rank[b]) and not bool(batch.capped[b])
        assert torch.equal(batch.pivots[b, :k], alone.pivots[0, :k])
        assert torch.equal(batch.r_rows[b, :k], alone.r_rows[0, :k])
        assert not batch.interpolation[b, k:].any() and not batch.r_rows[b, k:].any()
        # (the triangular solves are padded to the batch's largest rank: equal up to rounding)
        torch.testing.assert_close(batch.interpolation[b, :k], alone.interpolation[0, :k], rtol=1e-12, atol=1e-12)
        assert k == scipy_id(z, 1e-3)[0]


def test_eps_to_zero_reproduces_network_at_its_samples(hos):
    """With eps -> 0 every layer's ID is exact on the samples, so the pruned INR equals the INR there."""
    stream = SampleStream(1)
    for lo, hi in [([0, 0], [1, 1]), ([0.3, 0.6], [0.35, 0.65])]:
        pruned, _ids = prune_on_box(hos, lo, hi, eps=1e-9, id_samples=256, stream=stream)
        pts = stream.points_in_boxes(np.array([0], np.uint64), np.array([lo], float), np.array([hi], float), 256, "id")[
            0
        ]
        np.testing.assert_allclose(pruned.evaluate(pts), hos.evaluate(pts), atol=1e-5)


def test_eps_to_zero_smooth_network_everywhere(small_tanh_inr):
    pruned, _ = prune_on_box(small_tanh_inr, [0, 0], [1, 1], eps=1e-12, id_samples=256)
    x = np.random.default_rng(3).random((2000, 2))
    np.testing.assert_allclose(pruned.evaluate(x), small_tanh_inr.evaluate(x), atol=1e-5)


def test_pruned_network_shapes_and_dense_error(hos):
    lo, hi = [0.1, 0.1], [0.3, 0.3]  # a box where pruning costs accuracy (error far above float32 noise)
    pruned, ids = prune_on_box(hos, lo, hi, eps=1e-3)
    assert pruned.hidden_widths == tuple(int(r.rank[0]) for r in ids)
    assert sum(pruned.hidden_widths) < sum(hos.hidden_widths)
    # layer formula W'_l = W_l[I_l] T_{l-1}^T checked directly for layer 1
    t0 = ids[0].interpolation[0, : ids[0].rank[0]].numpy()
    i1 = ids[1].pivots[0, : ids[1].rank[0]].numpy()
    np.testing.assert_allclose(pruned.weights[1].numpy(), hos.weights[1].numpy()[i1] @ t0.T, rtol=1e-5, atol=1e-6)
    # the batched error equals the relative error of the explicit pruned network
    stream = SampleStream(0)
    res = prune_on_boxes(hos, np.array([lo]), np.array([hi]), eps=1e-3, error_samples=64, stream=stream)
    pts = stream.points_in_boxes(np.array([0], np.uint64), np.array([lo]), np.array([hi]), 64, "error")[0]
    dense = paper_relative_error(hos.evaluate(pts)[:, 0][None], pruned.evaluate(pts)[:, 0][None])[0]
    assert dense > 1e-3
    assert res.error[0] == pytest.approx(dense, rel=1e-3)  # float32 in two operation orders
    assert res.proportion[0] == pytest.approx(sum(pruned.hidden_widths) / 128)


def test_budget_truncation_is_exact(hos, rng):
    """Early stopping at P x width gives the same decisions as decomposing everything."""
    lo = rng.random((300, 2)) * 0.9
    hi = lo + rng.choice([0.1, 0.03, 0.01], 300)[:, None]
    p = 0.09
    fast = prune_on_boxes(hos, lo, hi, eps=1e-3, max_proportion=p)
    full = prune_on_boxes(hos, lo, hi, eps=1e-3)
    assert np.array_equal(fast.truncated, full.proportion > p + 1e-12)
    keep = ~fast.truncated
    np.testing.assert_array_equal(fast.proportion[keep], full.proportion[keep])
    np.testing.assert_allclose(fast.error[keep], full.error[keep], rtol=1e-6, atol=1e-12)
    assert np.all(np.isnan(fast.error[fast.truncated]))
    assert budget_exceed_count(0.09, 128) == 12 and budget_exceed_count(0.125, 128) == 17


def test_results_do_not_depend_on_chunking(hos, rng, monkeypatch):
    lo = rng.random((200, 2)) * 0.9
    hi = lo + 0.05
    a = prune_on_boxes(hos, lo, hi, max_proportion=0.09)
    b = prune_on_boxes(hos, lo, hi, max_proportion=0.09, memory_limit_mb=0.5)
    monkeypatch.setattr(pruning, "_CACHE_BLOCK_BYTES", 1)  # one box per cache block
    c = prune_on_boxes(hos, lo, hi, max_proportion=0.09)
    monkeypatch.setattr(pruning, "_CACHE_BLOCK_BYTES", 2**40)  # one block per chunk, as on a GPU
    d = prune_on_boxes(hos, lo, hi, max_proportion=0.09)
    for other in (b, c, d):
        np.testing.assert_array_equal(a.proportion, other.proportion)
        np.testing.assert_array_equal(a.ranks, other.ranks)
        # float32 products may round differently in other batch sizes; nothing more than that
        np.testing.assert_allclose(a.error, other.error, rtol=1e-4, atol=1e-7)


def test_ct_architecture_batched_matches_explicit(ct_inr):
    """Fourier features, SiLU and an output scale: the batched path equals per-box explicit pruning."""
    from inr_amr_core import SpaceSlice

    space = SpaceSlice.from_inr(ct_inr, fixed_inputs={"t": 0.5})
    rng = np.random.default_rng(5)
    lo = rng.uniform(-1, 0.5, (6, 3))
    hi = lo + 0.2  # boxes where the ID keeps well under all neurons
    ids = np.arange(6, dtype=np.uint64) + 100
    stream = SampleStream(9)
    res = prune_on_boxes(
        ct_inr, lo, hi, to_inputs=space.to_inputs, element_ids=ids, eps=1e-3, error_samples=40, stream=stream
    )
    for b in range(6):
        pruned, _ = prune_on_box(
            ct_inr, lo[b], hi[b], eps=1e-3, stream=stream, element_id=int(ids[b]), to_inputs=space.to_inputs
        )
        pts = space.to_inputs(stream.points_in_boxes(ids[b : b + 1], lo[b : b + 1], hi[b : b + 1], 40, "error")[0])
        dense = paper_relative_error(ct_inr.evaluate(pts)[:, 0][None], pruned.evaluate(pts)[:, 0][None])[0]
        assert dense > 1e-4
        assert res.error[b] == pytest.approx(dense, rel=1e-3)
        assert res.proportion[b] == pytest.approx(sum(pruned.hidden_widths) / sum(ct_inr.hidden_widths))


@pytest.mark.parametrize("block_bytes", [None, 1])
def test_relu_neurons_dead_on_early_boxes_still_count_later(block_bytes, monkeypatch):
    """The live-neuron shortcut must not hide a neuron that is dead on the first chunk but alive later.

    Layer-0 neuron 0 fires only for x > 0.9; the first boxes lie in x < 0.5, the last ones in x > 0.9.
    Ranks are checked box by box against scipy's pivoted QR of the activations on the same samples.
    With ``block_bytes`` 1 every box is its own cache block, so the neuron wakes in the middle of a
    chunk whose earlier blocks were already done without it.
    """
    if block_bytes is not None:
        monkeypatch.setattr(pruning, "_CACHE_BLOCK_BYTES", block_bytes)
    from inr_amr_core import INR, Activation

    g = torch.Generator().manual_seed(3)
    w0 = torch.randn(8, 2, generator=g)
    b0 = torch.randn(8, generator=g) * 0.1
    w0[0] = torch.tensor([10.0, 0.0])
    b0[0] = -9.0
    w0[1] = torch.tensor([-1.0, -1.0])  # dead everywhere on [0, 1]^2
    b0[1] = -0.5
    inr = INR(
        [w0, torch.randn(8, 8, generator=g), torch.randn(1, 8, generator=g)],
        [b0, torch.randn(8, generator=g) * 0.1, torch.zeros(1)],
        [Activation("relu"), Activation("relu"), Activation("identity")],
    )
    lo = np.array([[0.05 * i, 0.1] for i in range(8)] + [[0.92, 0.1 * i] for i in range(8)])
    hi = lo + 0.05
    stream = SampleStream(4)
    ids = np.arange(len(lo), dtype=np.uint64)
    for limit in (512.0, 0.05):  # one chunk, then one box per chunk (the guess is learned on x < 0.5)
        guess = LiveNeuronGuess()
        res = prune_on_boxes(
            inr, lo, hi, eps=1e-3, stream=stream, element_ids=ids, memory_limit_mb=limit, live_neurons=guess
        )
        pts = stream.points_in_boxes(ids, lo, hi, 256, "id")
        with torch.no_grad():
            _, acts = inr.forward(torch.tensor(pts, dtype=torch.float32), hidden=True)
        for b in range(len(lo)):
            expected = [scipy_id(layer[b].double().numpy(), 1e-3)[0] for layer in acts]
            assert res.ranks[b].tolist() == expected, (limit, b)
        # neuron 0 is alive (a pivot) on the x > 0.9 boxes only
        assert acts[0][8:, :, 0].abs().max() > 0 and acts[0][:8, :, 0].abs().max() == 0
    live = guess.layers[0].tolist()
    assert 0 in live and 1 not in live  # widened by the late boxes; the dead neuron never joined
    assert not [k for k in vars(inr) if k.startswith("_")], "nothing may be cached on the INR object"


# ------------------------------------------------------------------------------------ sketched ID
def run_sketch(rows: int, samples: int, seed: int) -> np.ndarray:
    """The run's Gaussian sketch, drawn here from its documented definition (own generator, float64,
    scaled by 1/sqrt(rows)), not by the code under test."""
    gen = torch.Generator().manual_seed((seed * 1_000_003 + 0x5EED) & 0x7FFFFFFFFFFFFFFF)
    return (torch.randn(rows, samples, generator=gen, dtype=torch.float64) / np.sqrt(rows)).numpy()


def sketched_reference_ranks(acts, sketch, eps, cap):
    """Per box and layer, the rank of scipy's pivoted QR of ``sketch @ Z`` at eps, counted up to ``cap``
    (-1 past the first layer that needs more, which ends the box's test), and whether a layer did."""
    boxes = acts[0].shape[0]
    ranks = np.full((boxes, len(acts)), -1)
    over = np.zeros(boxes, bool)
    for b in range(boxes):
        for layer, z in enumerate(acts):
            k, *_ = scipy_id(sketch @ z[b].double().numpy(), eps)
            ranks[b, layer] = min(k, cap)
            if k > cap:
                over[b] = True
                break
    return ranks, over


@pytest.fixture(scope="module")
def ct_real(ct_path):
    from inr_amr_core import SpaceSlice, load_inr

    inr = load_inr(ct_path)
    return inr, SpaceSlice.from_inr(inr, fixed_inputs={"t": 1.0})


def ct_boxes(n: int, seed: int):
    """Boxes of the refinement's sizes (levels 2-5) across the CT INR's domain."""
    rng = np.random.default_rng(seed)
    size = 2.0 / 2.0 ** rng.integers(2, 6, n)
    lo = -1 + rng.random((n, 3)) * (2 - size[:, None])
    return lo, lo + size[:, None]


def sketched(inr, space, lo, hi, ids, stream, **kw):
    """:func:`prune_on_boxes` with the sketched ID on boxes of the space's coordinates."""
    return prune_on_boxes(
        inr, lo, hi, to_inputs=space.to_inputs, element_ids=ids, stream=stream, id_method="sketch", **kw
    )


def test_sketched_ranks_match_scipy_on_the_sketch(ct_real):
    """The budget strategy's test (sketched ID, rank cap 48) on the real CT INR: every layer's rank is
    that of scipy's column-pivoted QR of the same Gaussian sketch of the activations."""
    inr, space = ct_real
    lo, hi = ct_boxes(24, 0)
    ids = np.arange(24, dtype=np.uint64) + 7
    stream = SampleStream(3)
    cap = 48
    res = sketched(inr, space, lo, hi, ids, stream, error_samples=0, rank_cap=cap)
    pts = stream.points_in_boxes(ids, lo, hi, 256, "id")
    with torch.no_grad():
        _, acts = inr.forward(torch.tensor(space.to_inputs(pts.reshape(-1, 3)), dtype=torch.float32), hidden=True)
    acts = [a.view(24, 256, -1) for a in acts]
    expected, over = sketched_reference_ranks(acts, run_sketch(cap + pruning.SKETCH_OVERSAMPLE, 256, 3), 1e-3, cap)
    reached = expected >= 0
    assert np.array_equal(res.ranks >= 0, reached), "a box stopped at another layer than the reference"
    same = res.ranks[reached] == expected[reached]
    print(f"sketched ranks identical to scipy's on the sketch for {same.mean():.1%} of {same.size} layers")
    # float32 activations: a rank may differ by one where a pivot sits within rounding of eps
    assert same.mean() >= 0.95 and np.abs(res.ranks[reached] - expected[reached]).max() <= 1
    assert np.array_equal(res.truncated, over)
    assert 0 < res.truncated.mean() < 1, "the boxes must include capped and uncapped ones"


def test_sketched_id_prunes_like_scipy_on_the_sketch(ct_real):
    """With T (error samples), the randomized ID: the pruned network's error at the error samples equals
    a dense evaluation of the network whose pivots and interpolation matrices ``R11^-1 R12`` are those
    of scipy's pivoted QR of the sketch of each layer's activations."""
    inr, space = ct_real
    lo, hi = ct_boxes(6, 1)
    lo, hi = lo * 0.2, lo * 0.2 + 0.05  # small boxes: few kept neurons, every layer reached
    ids = np.arange(6, dtype=np.uint64)
    stream = SampleStream(5)
    res = sketched(inr, space, lo, hi, ids, stream, error_samples=32, max_proportion=0.075)
    rows = pruning.budget_exceed_count(0.075, sum(inr.hidden_widths)) + pruning.SKETCH_OVERSAMPLE
    sketch = run_sketch(rows, 256, 5)
    pts = space.to_inputs(stream.points_in_boxes(ids, lo, hi, 256, "id").reshape(-1, 3))
    ept = space.to_inputs(stream.points_in_boxes(ids, lo, hi, 32, "error").reshape(-1, 3))
    w = [x.double().numpy() for x in inr.weights]
    b = [x.double().numpy() for x in inr.biases]
    silu = lambda v: v / (1 + np.exp(-v))
    assert not res.truncated.any()
    for box in range(6):
        h = inr.encode(torch.tensor(pts[box * 256 : (box + 1) * 256], dtype=torch.float32)).double().numpy()
        he = inr.encode(torch.tensor(ept[box * 32 : (box + 1) * 32], dtype=torch.float32)).double().numpy()
        g, kept = he, 0
        for layer in range(len(w) - 1):
            z = silu(h @ w[layer].T + b[layer])
            k, piv, _, t = scipy_id(sketch @ z, 1e-3)
            g = silu(g @ w[layer][piv].T + b[layer][piv]) @ t  # the pruned layer on the error samples
            h, kept = z, kept + k
        f = inr.evaluate(ept[box * 32 : (box + 1) * 32])[:, 0]
        pruned = (g @ w[-1].T + b[-1])[:, 0] * inr.output_scale
        assert res.kept[box] == kept
        assert res.error[box] == pytest.approx(paper_relative_error(f[None], pruned[None])[0], rel=1e-3)


def test_sketched_results_do_not_depend_on_chunking(ct_real, monkeypatch):
    inr, space = ct_real
    lo, hi = ct_boxes(40, 2)
    kw = dict(to_inputs=space.to_inputs, error_samples=0, id_method="sketch", rank_cap=48)
    a = prune_on_boxes(inr, lo, hi, **kw)
    b = prune_on_boxes(inr, lo, hi, memory_limit_mb=1.0, **kw)
    monkeypatch.setattr(pruning, "_CACHE_BLOCK_BYTES", 1)
    c = prune_on_boxes(inr, lo, hi, **kw)
    order = np.random.default_rng(0).permutation(40)
    d = prune_on_boxes(inr, lo[order], hi[order], element_ids=np.arange(40, dtype=np.uint64)[order], **kw)
    for other in (b, c):
        np.testing.assert_array_equal(a.ranks, other.ranks)
    np.testing.assert_array_equal(a.ranks[order], d.ranks)


# ------------------------------------------------------------------------------------ sequential tests
def two_stage_reference(inr, lo, hi, first, **kw):
    """Sequential tests spelled out as two independent calls: the first ``first`` samples of every box, then
    all samples for the boxes that did not exceed P there (their first samples are the same points)."""
    p = kw["max_proportion"]
    stage1 = prune_on_boxes(inr, lo, hi, **{**kw, "id_samples": first, "error_samples": 0})
    rest = np.flatnonzero(~(stage1.truncated & exceeds_proportion(stage1.kept, p, stage1.total_width)))
    ids = kw.pop("element_ids", np.arange(lo.shape[0], dtype=np.uint64))
    stage2 = prune_on_boxes(inr, lo[rest], hi[rest], element_ids=ids[rest], **kw)
    for name in ("kept", "proportion", "error", "ranks", "truncated"):
        getattr(stage1, name)[rest] = getattr(stage2, name)
    return stage1, rest


@pytest.mark.parametrize("id_method", ["exact", "sketch"])
def test_sequential_tests_reuse_the_first_stage_exactly(ct_real, id_method):
    """One call with ``first_samples`` (the second stage reuses the first stage's activations) gives each box
    what the two separate calls give: the same ranks, kept counts and truncations, errors to float32."""
    inr, space = ct_real
    lo, hi = ct_boxes(60, 5)
    kw = dict(to_inputs=space.to_inputs, eps=1e-3, id_samples=64, error_samples=16, max_proportion=0.03)
    kw["id_method"] = id_method
    seq = prune_on_boxes(inr, lo, hi, first_samples=32, **kw)
    ref, rest = two_stage_reference(inr, lo, hi, 32, **kw)
    assert 0 < rest.size < lo.shape[0]  # both outcomes of the first stage are exercised
    np.testing.assert_array_equal(seq.ranks, ref.ranks)
    np.testing.assert_array_equal(seq.kept, ref.kept)
    np.testing.assert_array_equal(seq.truncated, ref.truncated)
    np.testing.assert_allclose(seq.error, ref.error, rtol=1e-4, atol=1e-7)
    assert np.isfinite(seq.error[rest][~seq.truncated[rest]]).all()


def test_sequential_tests_evaluate_again_a_box_its_first_samples_could_not_decide(ct_real):
    """A box whose first stage stops at its sample count (the rank of 16 rows is at most 16) without
    exceeding P is not decided there: it is decomposed on all its samples, as the two separate calls do."""
    inr, space = ct_real
    lo, hi = ct_boxes(40, 7)
    kw = dict(to_inputs=space.to_inputs, eps=1e-9, id_samples=64, error_samples=8, max_proportion=0.05)
    stage1 = prune_on_boxes(inr, lo, hi, **{**kw, "id_samples": 16, "error_samples": 0})
    undecided = stage1.truncated & ~exceeds_proportion(stage1.kept, 0.05, stage1.total_width)
    assert undecided.any()  # the case is exercised
    seq = prune_on_boxes(inr, lo, hi, first_samples=16, **kw)
    ref, _ = two_stage_reference(inr, lo, hi, 16, **kw)
    np.testing.assert_array_equal(seq.ranks, ref.ranks)
    np.testing.assert_array_equal(seq.truncated, ref.truncated)
    np.testing.assert_allclose(seq.error, ref.error, rtol=1e-4, atol=1e-7)


def test_sequential_tests_on_relu_evaluate_again(hos, rng):
    """A ReLU network (dead neurons skipped per stage) evaluates the shared samples again: the same results."""
    lo = rng.random((120, 2)) * 0.9
    hi = lo + rng.choice([0.1, 0.03, 0.01], 120)[:, None]
    kw = dict(eps=1e-3, id_samples=128, error_samples=16, max_proportion=0.09)
    seq = prune_on_boxes(hos, lo, hi, first_samples=64, **kw)
    ref, rest = two_stage_reference(hos, lo, hi, 64, **kw)
    assert 0 < rest.size < lo.shape[0]
    np.testing.assert_array_equal(seq.ranks, ref.ranks)
    np.testing.assert_array_equal(seq.truncated, ref.truncated)
    # the two calls each start a live-neuron guess of their own, so their float32 activations sum over other
    # columns: the pruned errors agree to float32 rounding of a difference of outputs (as across chunkings)
    np.testing.assert_allclose(seq.error, ref.error, rtol=1e-3, atol=1e-6)
