"""Costes' significance test (colocalize.costes_significance): p-values, the randomized Pearson
values it returns, progress reports and cooperative cancel, and the histogram figure."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import ndimage, special

import colocalize
from colocalize import ColocalizeWarning, _significance, costes_significance


def _smooth_pair(seed, shape=(64, 64), coloc=True):
    rng = np.random.default_rng(seed)
    s = ndimage.gaussian_filter(rng.random(shape), 2)
    t = s if coloc else ndimage.gaussian_filter(rng.random(shape), 2)
    return s + 0.02 * rng.random(shape), t + 0.02 * rng.random(shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_significance_colocalised(dtype):
    a, b = _smooth_pair(0)
    res = costes_significance(a.astype(dtype), b.astype(dtype), n=40, rng=1)
    assert isinstance(res, colocalize.SignificanceResult)
    assert res.p_value > 0.95
    assert res.p_value_empirical == pytest.approx(1 / 41)
    assert res.observed > 0.9
    assert abs(res.randomized_mean) < 0.3
    assert res.randomized_std > 0
    assert res.n == 40


def test_significance_independent_is_not_significant():
    a, b = _smooth_pair(0, coloc=False)
    res = costes_significance(a, b, n=100, rng=2)
    assert res.p_value < 0.95
    assert res.p_value_empirical > 0.05


def test_significance_reproducible_and_3d():
    rng = np.random.default_rng(7)
    a = ndimage.gaussian_filter(rng.random((8, 24, 24)), 1)
    b = a + 0.05 * rng.random(a.shape)
    first = costes_significance(a, b, psf=2, n=10, rng=3)
    again = costes_significance(a, b, psf=2, n=10, rng=np.random.default_rng(3))
    assert first == again
    assert first.p_value > 0.95


def test_significance_ignores_pixels_outside_mask():
    """Only blocks inside the mask are shuffled (unlike Coloc 2's bounding box, issue 75)."""
    a, b = _smooth_pair(4)
    mask = np.zeros(a.shape, bool)
    mask[8:40, 10:50] = True
    mask[20:30, 10:20] = False
    res = costes_significance(a, b, mask=mask, n=20, rng=5)
    changed = a.copy()
    changed[~mask] = 1000.0
    assert costes_significance(changed, b, mask=mask, n=20, rng=5) == res


def test_significance_validation_and_degenerate():
    a, b = _smooth_pair(1)
    with pytest.raises(ValueError, match="psf"):
        costes_significance(a, b, psf=0)
    with pytest.raises(ValueError, match="n must"):
        costes_significance(a, b, n=1)
    with pytest.warns(ColocalizeWarning, match="constant"):
        res = costes_significance(np.ones_like(a), b, n=5, rng=0)
    assert math.isnan(res.observed)
    tiny = np.zeros(a.shape, bool)
    tiny[:3, :3] = True
    with pytest.warns(ColocalizeWarning, match="blocks"):
        res = costes_significance(a, b, mask=tiny, n=5, rng=0)
    assert math.isnan(res.p_value)
    assert math.isfinite(res.observed)


# ------------------------------------------------------------------------------------------
# The randomized values
# ------------------------------------------------------------------------------------------


def _one_at_a_time(a, b, *, psf, n, seed):
    """Pearson's r of ``n`` block-shuffled, smoothed copies of ``a``, written independently of
    the batched code: one permutation of the ``psf``-pixel squares at a time (image sides are
    multiples of ``psf``: no loose pixels), smoothed in float32 as Coloc 2's Gauss3."""
    rng = np.random.default_rng(seed)
    rows, cols = a.shape[0] // psf, a.shape[1] // psf
    blocks = a.reshape(rows, psf, cols, psf).transpose(0, 2, 1, 3).reshape(-1, psf, psf)
    values = []
    for _ in range(n):
        order = np.argsort(rng.random(len(blocks)))
        shuffled = blocks[order].reshape(rows, cols, psf, psf).transpose(0, 2, 1, 3)
        smooth = ndimage.gaussian_filter(
            shuffled.reshape(a.shape).astype(np.float32),
            psf,
            mode="mirror",
            radius=int(3 * psf + 0.5),
        )
        values.append(np.corrcoef(smooth.ravel().astype(np.float64), b.ravel())[0, 1])
    return np.array(values)


@pytest.mark.parametrize("psf", [2, 3])
def test_randomized_are_the_r_of_block_shuffled_smoothed_images(psf):
    a, b = _smooth_pair(2, shape=(48, 42))
    res = costes_significance(a, b, psf=psf, n=12, rng=4)
    expected = _one_at_a_time(a, b, psf=psf, n=12, seed=4)
    np.testing.assert_allclose(res.randomized, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 36), (6, 20, 18)])
@pytest.mark.parametrize("masked", [False, True])
def test_the_fields_summarise_the_randomized_values(dtype, shape, masked):
    a, b = _smooth_pair(3, shape=shape)
    scale = {np.uint8: 200, np.uint16: 3000}.get(dtype, 1)
    mask = None
    if masked:
        mask = np.zeros(shape, bool)
        mask[..., 4:30, 3:17] = True
    res = costes_significance(
        (a * scale).astype(dtype), (b * scale).astype(dtype), mask=mask, psf=2, n=30, rng=6
    )
    r = res.randomized
    assert r.shape == (30,)
    assert r.dtype == np.float64
    assert not r.flags.writeable
    assert np.all(np.isfinite(r))
    assert res.randomized_mean == pytest.approx(r.mean(), rel=1e-12, abs=1e-15)
    assert res.randomized_std == pytest.approx(r.std(ddof=1), rel=1e-12)
    assert res.p_value_empirical == (1 + np.count_nonzero(r >= res.observed)) / 31
    z = (res.observed - r.mean()) / r.std(ddof=1)
    assert res.p_value == pytest.approx(special.ndtr(z), rel=1e-9, abs=1e-15)
    counts, edges = res.histogram(5)
    assert counts.sum() == 30
    np.testing.assert_array_equal(counts, np.histogram(r, 5)[0])
    assert edges[0] == r.min()
    assert edges[-1] == r.max()


def test_randomized_cannot_be_changed():
    a, b = _smooth_pair(1)
    res = costes_significance(a, b, n=5, rng=0)
    with pytest.raises(ValueError, match="read-only"):
        res.randomized[0] = 1.0


def test_results_are_equal_only_with_equal_randomized_values():
    a, b = _smooth_pair(1)
    res = costes_significance(a, b, n=6, rng=0)
    assert res == costes_significance(a, b, n=6, rng=0)
    assert hash(res) == hash(costes_significance(a, b, n=6, rng=0))
    reordered = dataclasses.replace(res, randomized=res.randomized[::-1].copy())
    assert reordered != res  # same mean, std and p-values, other values
    assert res != costes_significance(a, b, n=6, rng=1)
    assert "randomized=" not in repr(res)  # the values stay out of the repr


def test_degenerate_results_have_no_randomized_values():
    a, b = _smooth_pair(1)
    calls = []
    with pytest.warns(ColocalizeWarning, match="constant"):
        res = costes_significance(np.ones_like(a), b, n=5, rng=0, progress=calls.append)
    assert res.randomized.shape == (0,)
    assert not res.randomized.flags.writeable
    assert res.histogram()[0].size == 0
    assert calls == []  # nothing to report: no randomization ran


# ------------------------------------------------------------------------------------------
# Progress and cancel
# ------------------------------------------------------------------------------------------


@pytest.fixture
def chunks_of_three(monkeypatch):
    """Chunks of three randomizations for the 64x64 test images (real images: 2**22 / pixels)."""
    monkeypatch.setattr(_significance, "_CHUNK_VALUES", 3 * 64 * 64)


def test_progress_counts_every_chunk_and_changes_no_result(chunks_of_three):
    a, b = _smooth_pair(5)  # 64 = 21 * 3 + 1: loose pixels at the far edges, drawn separately
    calls = []
    res = costes_significance(a, b, n=10, rng=3, progress=lambda *args: calls.append(args))
    assert calls == [(0, 10), (3, 10), (6, 10), (9, 10), (10, 10)]
    assert res == costes_significance(a, b, n=10, rng=3)


def test_chunks_change_no_number(chunks_of_three, monkeypatch):
    """The numbers of a seed are fixed by the draw groups (2**25 / pixels randomizations, as in
    the first version), not by the chunks smoothed at a time."""
    a, b = _smooth_pair(5)
    mask = np.zeros(a.shape, bool)
    mask[3:60, 5:50] = True
    chunked = costes_significance(a, b, mask=mask, n=10, rng=3)
    monkeypatch.setattr(_significance, "_CHUNK_VALUES", 1 << 22)
    assert costes_significance(a, b, mask=mask, n=10, rng=3) == chunked


def test_progress_counts_increase_across_draw_groups(chunks_of_three, monkeypatch):
    monkeypatch.setattr(_significance, "_DRAW_VALUES", 4 * 64 * 64)  # groups of 4
    a, b = _smooth_pair(5)
    calls = []
    costes_significance(a, b, n=10, rng=3, progress=lambda done, total: calls.append(done))
    assert calls == [0, 3, 4, 7, 8, 10]


def test_progress_is_called_before_and_after_a_single_chunk():
    a, b = _smooth_pair(5)
    calls = []
    costes_significance(a, b, n=8, rng=3, progress=lambda *args: calls.append(args))
    assert calls == [(0, 8), (8, 8)]


class _Stop(Exception):
    pass


@pytest.mark.parametrize("stop_at", [0, 3, 6])
def test_an_exception_from_progress_cancels_within_one_chunk(chunks_of_three, monkeypatch, stop_at):
    """Raising in ``progress`` is the way to cancel: the exception leaves costes_significance
    unchanged and no further chunk of randomizations is smoothed."""
    smoothed = []
    gaussian = ndimage.gaussian_filter

    def counting(image, *args, **kwargs):
        if image.ndim == 3:  # a chunk of shuffled 2D images
            smoothed.append(len(image))
        return gaussian(image, *args, **kwargs)

    monkeypatch.setattr(ndimage, "gaussian_filter", counting)
    a, b = _smooth_pair(5)
    calls = []

    def progress(done, total):
        calls.append(done)
        if done >= stop_at:
            raise _Stop

    with pytest.raises(_Stop):
        costes_significance(a, b, n=10, rng=3, progress=progress)
    assert calls[-1] == stop_at
    assert sum(smoothed) == stop_at


def test_progress_must_be_callable():
    a, b = _smooth_pair(1)
    with pytest.raises(ValueError, match="progress must be a callable"):
        costes_significance(a, b, n=5, progress=True)


# ------------------------------------------------------------------------------------------
# The figure
# ------------------------------------------------------------------------------------------


def test_significance_histogram_draws_the_bars_and_the_observed_r():
    import matplotlib.pyplot as plt

    from colocalize.plot import significance_histogram

    a, b = _smooth_pair(0)
    res = costes_significance(a, b, n=60, rng=1)
    ax = significance_histogram(res, bins=8)
    try:
        assert ax.get_xlabel() == "Pearson's r"
        assert ax.get_ylabel() == "Randomizations (count)"
        (bars,) = ax.patches
        counts, edges = res.histogram(8)
        np.testing.assert_array_equal(bars.get_data().values, counts)
        np.testing.assert_array_equal(bars.get_data().edges, edges)
        (line,) = ax.lines
        assert list(line.get_xdata()) == [res.observed, res.observed]
        assert line.get_xdata()[0] > edges[-1]  # colocalized: far right of every randomized r
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["randomized r (n = 60)", f"observed r = {res.observed:.4g}"]
        title = ax.get_legend().get_title().get_text()
        assert f"p(r_rand >= r_obs) permutation = {res.p_value_empirical:.4g}" in title
        _, given = plt.subplots()
        assert significance_histogram(res, ax=given) is given
        with pytest.raises(TypeError, match="SignificanceResult"):
            significance_histogram(a)
    finally:
        plt.close("all")


def test_significance_histogram_of_a_degenerate_result_has_labels_and_no_bars():
    import matplotlib.pyplot as plt

    from colocalize.plot import significance_histogram

    a, b = _smooth_pair(1)
    with pytest.warns(ColocalizeWarning):
        res = costes_significance(np.ones_like(a), b, n=5, rng=0)
    ax = significance_histogram(res)
    try:
        assert ax.get_xlabel() == "Pearson's r"
        assert not ax.patches
        assert not ax.lines
    finally:
        plt.close("all")
