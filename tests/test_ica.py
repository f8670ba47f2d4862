"""Li's ICA: the plots' data, the ICQ against coefficients() and JACoP, and bad input."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import colocalize
from colocalize import ColocalizeWarning, li_ica
from test_vansteensel import jacop_pair

matplotlib.use("Agg")

# JACoP (fabricecordelieres/IJ-Plugin_JACoP, commit 291f24ce97afc7547e9cdb3aadc7c64ab9d62aac,
# ImageColocalizer.ICA) compiled against ImageJ 1.53t and run headless on the whole of Coloc 2's
# colocsample1b green/red (JACoP has no mask there): its logged ICQ. JACoP counts a zero product
# as negative, Coloc 2 and colocalize as positive; the test checks no product is zero here.
JACOP_SAMPLE_ICQ = 0.34518726122918286
# ... and on test_vansteensel.jacop_pair().
JACOP_PAIR_ICQ = 0.34739583333333335


def test_jacop_icq_on_coloc2_sample(coloc2_dir):
    green = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    red = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    res = li_ica(green, red)
    assert np.count_nonzero(res.product == 0) == 0  # so JACoP's convention gives the same count
    assert res.icq == pytest.approx(JACOP_SAMPLE_ICQ, abs=1e-15)
    assert res.n_pixels == green.size


def test_jacop_icq_on_synthetic_pair():
    a, b = jacop_pair()
    res = li_ica(a, b)
    assert np.count_nonzero(res.product == 0) == 0
    assert res.icq == pytest.approx(JACOP_PAIR_ICQ, abs=1e-15)


def test_icq_equals_coefficients_on_coloc2_sample_with_mask(coloc2_dir):
    green = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    red = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    mask = tifffile.imread(coloc2_dir / "colocsample1b-mask.tif") > 0
    res = li_ica(green, red, mask=mask)
    assert res.icq == colocalize.coefficients(green, red, mask=mask).icq
    assert res.n_pixels == int(mask.sum())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(12, 15), (3, 8, 9)])
def test_data_and_icq_match_definition_and_coefficients(dtype, shape):
    rng = np.random.default_rng(4)
    a = (rng.random(shape) * 50).astype(dtype)
    b = (0.5 * a + rng.random(shape) * 30).astype(dtype)
    mask = rng.random(shape) > 0.25
    for m in (None, mask):
        res = li_ica(a, b, mask=m)
        u = (a if m is None else a[m]).astype(float).ravel()
        v = (b if m is None else b[m]).astype(float).ravel()
        expected = (u - u.mean()) * (v - v.mean())  # ~0 for pixels near the means
        atol = 1e-12 * np.abs(expected).max()
        np.testing.assert_allclose(res.product, expected, rtol=1e-12, atol=atol)
        np.testing.assert_array_equal(res.intensity0, u)
        np.testing.assert_array_equal(res.intensity1, v)
        assert res.mean0 == pytest.approx(u.mean(), rel=1e-14)
        assert res.icq == colocalize.coefficients(a, b, mask=m).icq
        assert type(res.icq) is float
        assert type(res.mean0) is float


def test_zero_product_counts_as_positive_like_coloc2():
    a = np.array([[1.0, 2.0, 3.0]])  # the middle pixel sits on the mean: its product is 0
    b = np.array([[3.0, 1.0, 2.0]])
    res = li_ica(a, b)
    assert res.product.tolist() == [-1.0, 0.0, 0.0]
    assert res.icq == pytest.approx(2 / 3 - 0.5, abs=1e-15)
    assert res.icq == colocalize.coefficients(a, b).icq


@given(
    arrays(np.uint8, (4, 6), elements=st.integers(0, 9)),
    arrays(np.uint8, (4, 6), elements=st.integers(0, 9)),
)
@settings(max_examples=60)
def test_icq_is_symmetric_and_in_range(a, b):
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    forward, backward = li_ica(a, b), li_ica(b, a)
    assert forward.icq == backward.icq
    assert -0.5 <= forward.icq <= 0.5
    np.testing.assert_array_equal(forward.product, backward.product)
    assert li_ica(a, a).icq == 0.5


def test_constant_channel_is_nan_with_warning():
    a, _ = jacop_pair()
    with pytest.warns(ColocalizeWarning, match="image1 is constant"):
        res = li_ica(a, np.full_like(a, 0.1, dtype=float))
    assert math.isnan(res.icq)
    assert np.count_nonzero(res.product) == 0  # no rounding noise from the mean


def test_empty_mask_is_nan_with_warning():
    a, b = jacop_pair()
    with pytest.warns(ColocalizeWarning, match="no pixel"):
        res = li_ica(a, b, mask=np.zeros(a.shape, bool))
    assert math.isnan(res.icq)
    assert res.n_pixels == 0
    assert res.product.size == 0
    assert res.histograms(nbins=8).counts0.sum() == 0


def test_histograms_count_every_pixel():
    a, b = jacop_pair()
    res = li_ica(a, b)
    hist = res.histograms(nbins=32)
    assert hist.counts0.shape == (32, 32)
    assert int(hist.counts0.sum()) == int(hist.counts1.sum()) == a.size
    assert hist.product_edges[0] == -hist.product_edges[-1] == -np.abs(res.product).max()
    assert (hist.edges0[0], hist.edges0[-1]) == (a.min(), a.max())
    # pixels right of zero in the ICA plot are the ICQ's positive products
    positive = hist.counts0[hist.product_edges[:-1] >= 0].sum()
    assert positive == np.count_nonzero(res.product >= 0)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_bad_nbins_is_a_clear_error(bad):
    a, b = jacop_pair()
    with pytest.raises(ValueError, match="nbins must be a positive integer"):
        li_ica(a, b).histograms(nbins=bad)


def test_bad_inputs_are_clear_errors():
    a, b = jacop_pair()
    with pytest.raises(ValueError, match="image1 has shape"):
        li_ica(a, b[:-1])
    with pytest.raises(ValueError, match="NaN"):
        li_ica(np.where(a > 500, np.nan, 1.0), b)
    with pytest.raises(ValueError, match="mask has shape"):
        li_ica(a, b, mask=np.ones(5, bool))


def test_inputs_are_not_modified_and_results_do_not_alias_them():
    a = np.arange(20.0).reshape(4, 5)
    b = a[::-1].copy()
    copies = (a.copy(), b.copy())
    res = li_ica(a, b)
    res.intensity0[:] = -1
    np.testing.assert_array_equal(a, copies[0])
    np.testing.assert_array_equal(b, copies[1])


def test_ica_plot_two_panels():
    import matplotlib.pyplot as plt

    from colocalize.plot import ica_plot

    a, b = jacop_pair()
    res = li_ica(a, b)
    ax0, ax1 = ica_plot(res, nbins=64)
    try:
        assert ax0.get_ylabel() == "image0 intensity"
        assert ax1.get_ylabel() == "image1 intensity"
        assert f"ICQ = {res.icq:.3f}" in ax0.get_title()
        assert ax0.collections[0].get_array().sum() == a.size  # every pixel binned
        _, pair = plt.subplots(1, 2)
        assert ica_plot(res, pair) == (pair[0], pair[1])
        with pytest.raises(ValueError, match="two matplotlib Axes"):
            ica_plot(res, [pair[0]])
        with pytest.raises(TypeError, match="LiICA"):
            ica_plot(colocalize.van_steensel_ccf(a, b, max_shift=5))
    finally:
        plt.close("all")
