"""Coefficients: Coloc 2's asserted values, scikit-image and SciPy parity, properties, errors."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import colocalize
from colocalize import ColocalizeWarning, coefficients, triple_coefficients
from colocalize._coefficients import MEASURES
from conftest import require_module

DTYPES = [np.uint8, np.uint16, np.int32, np.float32, np.float64]
ALL_MEASURED = [f for group in MEASURES.values() for f in group]


@pytest.fixture(scope="module")
def colocsample(coloc2_dir):
    green = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    red = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    mask = tifffile.imread(coloc2_dir / "colocsample1b-mask.tif") > 0
    return green, red, mask


# --- Coloc 2's own published values --------------------------------------------------------
# A number cited with "File.java:N" is one Coloc 2 itself publishes: the assertion on line N of
# its JUnit tests (fiji/Colocalisation_Analysis, commit 82af2de4ad477e723d77a815279ee1c23b285da9,
# folder src/test/java/sc/fiji/coloc/tests/) on the same images (../shared/validation/coloc2),
# checked here with Coloc 2's tolerance or a tighter one. Where Coloc 2 publishes only a loose
# number, a SciPy or by-definition reference computed on the same pixels pins our value tightly.
# The few numbers Coloc 2 does not publish are marked "re-derived" and say where they come from.


def _icq_by_definition(a, b):
    """Li's ICQ as Coloc 2 counts it: the fraction of non-negative products, minus 0.5."""
    af, bf = a.astype(np.float64), b.astype(np.float64)
    return float(np.mean((af - af.mean()) * (bf - bf.mean()) >= 0) - 0.5)


def test_colocsample_unthresholded(colocsample):
    green, red, _ = colocsample
    c = coefficients(green, red)
    # PearsonsCorrelationTest.java:80 (fast) and :116 (classic): 0.75 +- 0.01
    assert c.pearson == pytest.approx(0.75, abs=0.01)
    # LiICQTest.java:55: 0.34 < icq < 0.35
    assert 0.34 < c.icq < 0.35
    # SpearmanRankTest.java:56: 0.546 < rho < 0.547
    assert 0.546 < c.spearman < 0.547
    # tight pins on the same pixels: SciPy and the definition, not numbers of our own
    g, r = green.astype(np.float64).ravel(), red.astype(np.float64).ravel()
    assert c.pearson == pytest.approx(stats.pearsonr(g, r).statistic, rel=1e-12, abs=1e-12)
    assert c.spearman == pytest.approx(stats.spearmanr(g, r).statistic, rel=1e-12, abs=1e-12)
    assert c.icq == pytest.approx(_icq_by_definition(green, red), rel=1e-15, abs=1e-15)
    assert c.n_pixels == green.size


def test_colocsample_unthresholded_rederived(colocsample):
    """Coloc 2's tests assert no Kendall tau, M1 or M2 on this pair: these are re-derived.

    Kendall's tau is SciPy's on the same pixels; M1 and M2 are the definition (sums of integers,
    exact), Coloc 2's ``ThresholdMode.None``: ``sum(a[b > 0]) / sum(a)``. The pinned values are
    coloc-peers.md §1.7's (a numpy re-implementation of Coloc 2, not Coloc 2's output).
    """
    green, red, _ = colocsample
    c = coefficients(green, red)
    g, r = green.astype(np.int64), red.astype(np.int64)
    tau = stats.kendalltau(g.ravel(), r.ravel(), variant="b").statistic
    assert c.kendall_tau == pytest.approx(tau, rel=1e-12, abs=1e-12)
    assert c.m1 == pytest.approx(g[r > 0].sum() / g.sum(), rel=1e-15, abs=1e-15)
    assert c.m2 == pytest.approx(r[g > 0].sum() / r.sum(), rel=1e-15, abs=1e-15)
    assert (c.m1, c.m2) == pytest.approx((0.9945221, 0.9964314), abs=1e-7)


def test_colocsample_masked_thresholded_manders(colocsample):
    """Coloc 2's run of its bisection Costes search on the masked pair gave thresholds 70 and 53
    and these tM1, tM2 (MandersColocalizationTest.java:200-205, commit 5610ed6's message)."""
    green, red, mask = colocsample
    for thresholds in [(70, 53), "costes"]:
        c = coefficients(green, red, mask=mask, thresholds=thresholds, costes_method="bisection")
        assert (c.threshold0, c.threshold1) == (70.0, 53.0)
        # MandersColocalizationTest.java:218-219: 0.705665, 0.724752 +- 1e-6
        assert c.tm1 == pytest.approx(0.705665, abs=1e-6)
        assert c.tm2 == pytest.approx(0.724752, abs=1e-6)
        assert c.n_pixels == 62307


def test_colocsample_costes_thresholds_values(colocsample):
    """Re-derived: Coloc 2's tests assert nothing at the unmasked Costes thresholds.

    Coloc 2's Costes search on this pair gives (8, 6) (classic) and (10, 8) (bisection): see
    test_costes.py. The values are coloc-peers.md §1.7's (a numpy re-implementation of Coloc 2,
    not Coloc 2's output); tM1 and tM2 are also checked against their definition here.
    """
    green, red, _ = colocsample
    g, r = green.astype(np.int64), red.astype(np.int64)
    c = coefficients(green, red, thresholds=(8, 6))
    assert c.tm1 == pytest.approx(0.7290664, abs=1e-6)
    assert c.tm2 == pytest.approx(0.7419663, abs=1e-6)
    assert c.tm1 == pytest.approx(g[r >= 6].sum() / g.sum(), rel=1e-15, abs=1e-15)
    assert c.tm2 == pytest.approx(r[g >= 8].sum() / r.sum(), rel=1e-15, abs=1e-15)
    assert c.pearson_below == pytest.approx(-0.011639, abs=1e-6)
    assert c.pearson_above == pytest.approx(0.675648, abs=1e-6)
    c = coefficients(green, red, thresholds=(10, 8))
    assert c.tm1 == pytest.approx(0.7002744, abs=1e-6)
    assert c.tm2 == pytest.approx(0.7161097, abs=1e-6)


# Manders et al. 1993's patterns, A against each: (Pearson, M1, M2) and the Java lines asserting
# them: PearsonsCorrelationTest.java (Classic, +- 0.01) and MandersColocalizationTest.java
# (+- 1e-4; I's M1 +- 1e-3).
MANDERS = {
    "A": (1.00, 1.0, 1.0),  # PearsonsCorrelationTest.java:165, MandersColocalizationTest.java:73-74
    "B": (0.72, 0.75, 0.75),  # :169, :85-86
    "C": (0.44, 0.5, 0.5),  # :173, :97-98
    "D": (0.16, 0.25, 0.25),  # :177, :109-110
    "E": (-0.12, 0.0, 0.0),  # :181, :121-122
    "F": (0.22, 0.25, 0.3333),  # :185, :133-134
    "G": (0.30, 0.25, 0.50),  # :189, :145-146
    "H": (0.48, 0.25, 1.00),  # :193, :157-158
    "I": (0.23, 0.083, 0.75),  # :197, :169-170
}


@pytest.mark.parametrize("name", sorted(MANDERS))
def test_manders_1993_images(coloc2_dir, name, require):
    require("imagecodecs", "imagecodecs (the 'io' extra) reads the LZW-compressed Manders images")
    a = tifffile.imread(coloc2_dir / "mandersA.tiff")
    x = tifffile.imread(coloc2_dir / f"manders{name}.tiff")
    pearson, m1, m2 = MANDERS[name]
    c = coefficients(a, x)
    assert c.pearson == pytest.approx(pearson, abs=0.01)
    assert c.m1 == pytest.approx(m1, abs=1e-3 if name == "I" else 1e-4)
    assert c.m2 == pytest.approx(m2, abs=1e-4)


def test_uncorrelated_zstacks(coloc2_dir):
    c = coefficients(
        tifffile.imread(coloc2_dir / "greenZstack.tif"),
        tifffile.imread(coloc2_dir / "redZstack.tif"),
    )
    assert c.pearson == pytest.approx(0.0, abs=0.05)  # PearsonsCorrelationTest.java:63 and :98
    assert abs(c.icq) < 0.01  # LiICQTest.java:71
    assert abs(c.spearman) < 0.012  # SpearmanRankTest.java:72


# SpearmanRankTest.statisticsTest's 15 (x, y) pairs (SpearmanRankTest.java:82-98); the images
# syntheticNegCh1/Ch2 hold the same pairs, in this order.
SPEARMAN_PAIRS = [
    (1, 113), (2, 43), (3, 11), (6, 86), (5, 59), (8, 47), (4, 92), (0, 152),
    (6, 23), (4, 9), (7, 33), (3, 69), (2, 75), (9, 135), (3, 30),
]  # fmt: skip


def test_synthetic_negative_spearman(coloc2_dir):
    a = tifffile.imread(coloc2_dir / "syntheticNegCh1.tif")
    b = tifffile.imread(coloc2_dir / "syntheticNegCh2.tif")
    assert a.dtype == np.float32
    np.testing.assert_array_equal(np.stack([a.ravel(), b.ravel()], axis=1), SPEARMAN_PAIRS)
    rho = coefficients(a, b).spearman
    assert -0.178 < rho < -0.173  # SpearmanRankTest.java:137
    assert rho == pytest.approx(-0.1743, abs=0.001)  # SpearmanRankTest.java:109, same pairs
    expected = stats.spearmanr(a.ravel(), b.ravel()).statistic
    assert rho == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        # KendallTauTest.java:47 and :67, tolerance 1e-10 (:108)
        ([4, 10, 3, 1, 9, 2, 6, 7, 8, 5], [5, 8, 6, 2, 10, 3, 9, 4, 7, 1], 23 / 45),
        ([1, 1, 2, 3], [3, 2, 1, 1], -0.8),
    ],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_kendall_reference_vectors(x, y, expected, dtype):
    c = coefficients(np.array(x, dtype=dtype), np.array(y, dtype=dtype))
    assert c.kendall_tau == pytest.approx(expected, abs=1e-10)


def test_kendall_all_ties_is_nan():
    # KendallTauTest.java:53: NaN
    with pytest.warns(ColocalizeWarning, match="constant"):
        c = coefficients(np.ones(4), np.full(4, 2.0))
    assert math.isnan(c.kendall_tau)


# --- parity with scikit-image and SciPy ------------------------------------------------------


def _random_pair(rng, dtype, shape):
    high = 200 if np.dtype(dtype).kind in "iu" else 1.0
    a = rng.random(shape) * high
    b = 0.6 * a + 0.4 * rng.random(shape) * high
    b[rng.random(shape) < 0.2] = 0
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(40, 50), (6, 20, 25), (3, 4, 10, 12)])
def test_matches_scipy_and_skimage(dtype, shape):
    measure = require_module("skimage.measure")
    rng = np.random.default_rng(42)
    a, b = _random_pair(rng, dtype, shape)
    c = coefficients(a, b, thresholds=(0.3 * a.max(), 0.3 * b.max()))
    af, bf = a.astype(float), b.astype(float)
    assert c.pearson == pytest.approx(measure.pearson_corr_coeff(af, bf)[0], rel=1e-10)
    assert c.overlap == pytest.approx(measure.manders_overlap_coeff(af, bf), rel=1e-10)
    assert c.m1 == pytest.approx(measure.manders_coloc_coeff(af, bf > 0), rel=1e-10)
    assert c.m2 == pytest.approx(measure.manders_coloc_coeff(bf, af > 0), rel=1e-10)
    tb = c.threshold1
    assert c.tm1 == pytest.approx(measure.manders_coloc_coeff(af, (bf >= tb) & (bf > 0)), rel=1e-10)
    assert c.spearman == pytest.approx(stats.spearmanr(af.ravel(), bf.ravel())[0], rel=1e-10)
    tau = stats.kendalltau(af.ravel(), bf.ravel(), variant="b").statistic
    assert c.kendall_tau == pytest.approx(tau, rel=1e-10)
    assert c.k1 == pytest.approx(np.sum(af * bf) / np.sum(af * af), rel=1e-10)
    assert c.k2 == pytest.approx(np.sum(af * bf) / np.sum(bf * bf), rel=1e-10)


def test_intersection_coeff_is_m1_of_binary_images():
    measure = require_module("skimage.measure")
    rng = np.random.default_rng(1)
    m0, m1 = rng.random((30, 30)) > 0.5, rng.random((30, 30)) > 0.3
    c = coefficients(m0.astype(float), m1.astype(float))
    assert c.m1 == pytest.approx(measure.intersection_coeff(m0, m1))
    assert c.m2 == pytest.approx(measure.intersection_coeff(m1, m0))


def test_skimage_reference_tuples():
    """scikit-image's own tests: perfect and near-perfect correlation."""
    img1 = np.array([[i + j for j in range(4)] for i in range(4)], dtype=float)
    assert coefficients(img1, img1).pearson == pytest.approx(1.0)
    img2 = np.where(img1 <= 2, 0, img1)
    assert coefficients(img1, img2).pearson == pytest.approx(0.944911182523068)


def test_uint8_does_not_overflow():
    """scikit-image 0.26's manders_overlap_coeff overflows uint8 (1.198); we must not."""
    rng = np.random.default_rng(3)
    a = rng.integers(100, 255, size=(64, 64), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-10, 10, size=a.shape), 0, 255).astype(np.uint8)
    af, bf = a.astype(float), b.astype(float)
    expected = np.sum(af * bf) / math.sqrt(np.sum(af**2) * np.sum(bf**2))
    c = coefficients(a, b)
    assert c.overlap == pytest.approx(expected, rel=1e-12)
    assert c.overlap <= 1.0


# --- definitions on small synthetic data -----------------------------------------------------


def test_thresholded_definitions_by_hand():
    a = np.array([0, 1, 2, 3, 4, 5, 6, 7], dtype=float)
    b = np.array([7, 0, 5, 3, 3, 0, 6, 1], dtype=float)
    ta, tb = 3.0, 3.0
    c = coefficients(a, b, thresholds=(ta, tb))
    assert c.tm1 == pytest.approx(a[(b >= tb) & (b > 0)].sum() / a.sum())
    assert c.tm2 == pytest.approx(b[(a >= ta) & (a > 0)].sum() / b.sum())
    both = (a > ta) & (b > tb)
    assert c.tm1_own == pytest.approx(a[both].sum() / a[a > ta].sum())
    assert c.tm2_own == pytest.approx(b[both].sum() / b[b > tb].sum())
    assert c.fraction_colocalized == pytest.approx(both.mean())
    below = (a < ta) | (b < tb)
    assert c.pearson_below == pytest.approx(np.corrcoef(a[below], b[below])[0, 1])
    above = (a > ta) | (b > tb)
    assert c.pearson_above == pytest.approx(np.corrcoef(a[above], b[above])[0, 1])
    prods = (a - a.mean()) * (b - b.mean())
    assert c.icq == pytest.approx(np.mean(prods >= 0) - 0.5)
    assert (c.threshold0, c.threshold1) == (3.0, 3.0)


def test_icq_counts_zero_product_as_positive():
    # a pixel at a channel's mean gives a zero product: Coloc 2 counts it as positive
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([3.0, 5.0, 1.0])
    # products: 0, 0, -2 -> two of three count as positive (JACoP's convention would give -0.5)
    assert coefficients(a, b).icq == pytest.approx(2 / 3 - 0.5)


def test_mask_broadcasts_over_planes():
    rng = np.random.default_rng(5)
    a, b = _random_pair(rng, np.uint16, (4, 10, 12))
    plane = rng.random((10, 12)) > 0.5
    full = np.broadcast_to(plane, a.shape)
    assert coefficients(a, b, mask=plane) == coefficients(a, b, mask=full)
    assert coefficients(a, b, mask=full) == coefficients(a[full], b[full])


def test_exclude_zero_zero_and_saturated():
    a = np.array([0, 0, 5, 255, 10, 20], dtype=np.uint8)
    b = np.array([0, 3, 0, 30, 10, 255], dtype=np.uint8)
    c = coefficients(a, b, exclude_zero_zero=True)
    assert c.n_pixels == 5
    c = coefficients(a, b, exclude_zero_zero=True, saturated=True)
    assert c.n_pixels == 3
    assert c == coefficients(a[[1, 2, 4]], b[[1, 2, 4]])
    assert coefficients(a, b, saturated=(255, 20)).n_pixels == 4
    with pytest.raises(ValueError, match="dtype maximum"):
        coefficients(a.astype(float), b.astype(float), saturated=True)


def test_inputs_not_modified():
    rng = np.random.default_rng(2)
    a, b = _random_pair(rng, np.float32, (20, 20))
    mask = rng.random((20, 20)) > 0.3
    copies = a.copy(), b.copy(), mask.copy()
    coefficients(a, b, mask=mask, thresholds=(0.2, 0.2), exclude_zero_zero=True)
    np.testing.assert_array_equal(a, copies[0])
    np.testing.assert_array_equal(b, copies[1])
    np.testing.assert_array_equal(mask, copies[2])


def test_result_is_frozen_python_floats():
    c = coefficients(np.arange(10, dtype=np.uint8), np.arange(10, dtype=np.uint8)[::-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.pearson = 0.0  # type: ignore[misc]
    for f in dataclasses.fields(c):
        value = getattr(c, f.name)
        assert type(value) is (int if f.name == "n_pixels" else float), f.name


# --- degenerate input and errors -------------------------------------------------------------


def test_empty_mask_gives_nan_and_warning():
    a = np.arange(16.0).reshape(4, 4)
    with pytest.warns(ColocalizeWarning, match="no pixel"):
        c = coefficients(a, a, mask=np.zeros((4, 4), bool))
    assert c.n_pixels == 0
    assert all(math.isnan(getattr(c, f)) for f in ("pearson", "m1", "overlap", "icq"))


def test_zero_channel_gives_nan_manders():
    with pytest.warns(ColocalizeWarning, match="zero everywhere"):
        c = coefficients(np.zeros(5), np.arange(5.0))
    assert math.isnan(c.m1)
    assert c.m2 == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image1": np.zeros((3, 5))}, "image1 has shape"),
        ({"mask": np.ones((5, 5), bool)}, "mask has shape"),
        ({"image0": np.array([[np.nan] * 4] * 3)}, "NaN"),
        ({"image0": -np.ones((3, 4))}, "negative"),
        ({"thresholds": (1.0,)}, "thresholds has 1"),
        ({"saturated": (1.0, 2.0, 3.0)}, "saturated has 3"),
    ],
)
def test_bad_input_raises_clear_error(kwargs, match):
    args = {"image0": np.ones((3, 4)), "image1": np.arange(12.0).reshape(3, 4)}
    args.update(kwargs)
    image0, image1 = args.pop("image0"), args.pop("image1")
    with pytest.raises(ValueError, match=match):
        coefficients(image0, image1, **args)


@pytest.mark.parametrize(
    ("shape", "mask_shape", "hint"),
    [((3, 4), (4, 3), None), ((2, 3, 4), (4, 3), "last 2 axes, (3, 4), to use it on every plane")],
)
def test_mask_shape_error_offers_per_plane_masks_only_for_stacks(shape, mask_shape, hint):
    """A 2-D image's error used to suggest a mask "of its last 1 axes"."""
    image = np.arange(np.prod(shape), dtype=float).reshape(shape)
    with pytest.raises(ValueError, match="mask has shape") as info:
        coefficients(image, image[::-1], mask=np.ones(mask_shape, bool))
    if hint is None:
        assert "every plane" not in str(info.value)
    else:
        assert hint in str(info.value)


def test_complex_image_rejected():
    with pytest.raises(TypeError, match="image0"):
        coefficients(np.ones(4, complex), np.ones(4))


# --- properties -------------------------------------------------------------------------------

small_images = arrays(np.uint8, st.integers(2, 60), elements=st.integers(0, 255))


def _assert_swapping_channels_swaps_pairs(a, b, t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        ab = coefficients(a, b, thresholds=t)
        ba = coefficients(b, a, thresholds=t[::-1])
    pairs = [("m1", "m2"), ("k1", "k2"), ("tm1", "tm2"), ("tm1_own", "tm2_own")]
    same = ["pearson", "overlap", "spearman", "kendall_tau", "icq", "fraction_colocalized"]
    same += ["pearson_below", "pearson_above"]
    # an exact 0 comes out as 0.0 in one order and +-3e-17 in the other: atol, not only rtol
    for x, y in pairs:
        np.testing.assert_allclose(
            getattr(ab, x), getattr(ba, y), rtol=1e-12, atol=1e-12, equal_nan=True
        )
    for x in same:
        np.testing.assert_allclose(
            getattr(ab, x), getattr(ba, x), rtol=1e-12, atol=1e-12, equal_nan=True
        )
    for x in ["pearson", "spearman", "kendall_tau", "pearson_below", "pearson_above"]:
        value = getattr(ab, x)
        assert math.isnan(value) or -1 - 1e-12 <= value <= 1 + 1e-12
    for x in ["overlap", "m1", "m2", "tm1", "tm2", "tm1_own", "tm2_own", "fraction_colocalized"]:
        value = getattr(ab, x)
        assert math.isnan(value) or 0 <= value <= 1 + 1e-12
    assert math.isnan(ab.icq) or -0.5 <= ab.icq <= 0.5


@settings(max_examples=60, deadline=None)
@given(small_images, st.data())
def test_swapping_channels_swaps_pairs(a, data):
    b = data.draw(arrays(np.uint8, a.shape, elements=st.integers(0, 255)))
    t = (data.draw(st.integers(0, 255)), data.draw(st.integers(0, 255)))
    _assert_swapping_channels_swaps_pairs(a, b, t)


@pytest.mark.parametrize(
    ("a", "b", "t"),
    [
        # Pearson exactly 0: 3.4e-17 one way, 0.0 the other (failed at rtol=1e-12 alone)
        ([0, 2, 3, 1, 3, 0], [111, 37, 74, 37, 74, 37], (237, 209)),
        # pearson_below exactly 0: -7.5e-17 and 0.0
        ([1, 2, 1, 3, 0, 1, 1, 3, 1, 2], [2, 0, 3, 3, 1, 0, 1, 0, 3, 3], (243, 183)),
        # pearson_above exactly 0: 0.0 and 4.6e-17
        ([3, 1, 0, 1, 1, 2, 0, 3, 3], [255, 0, 0, 255, 170, 255, 85, 85, 85], (23, 22)),
    ],
)
def test_swapping_channels_near_zero(a, b, t):
    """Issue 16: the swap property compared 5.1e-18 with -5.1e-18 at rtol=1e-12 and failed."""
    _assert_swapping_channels_swaps_pairs(np.array(a, np.uint8), np.array(b, np.uint8), t)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(3, 40), elements=st.floats(0, 1e3, allow_subnormal=False)),
    st.sampled_from([0.125, 0.5, 2.0, 8.0, 64.0]),
)
def test_scaling_invariance(a, scale):
    # powers of two scale exactly: another factor can round two distinct values to one, which
    # legitimately changes the rank coefficients
    b = np.sqrt(a) + 1.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        c1 = coefficients(a, b)
        c2 = coefficients(a * scale, b)
    for x in ["pearson", "overlap", "m1", "m2", "spearman", "kendall_tau"]:
        np.testing.assert_allclose(
            getattr(c1, x), getattr(c2, x), rtol=1e-9, atol=1e-12, equal_nan=True
        )


# --- triples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_triple_definitions(dtype):
    rng = np.random.default_rng(9)
    a, b = _random_pair(rng, dtype, (30, 30))
    c = (0.5 * a.astype(float) + rng.random((30, 30)) * 10).astype(dtype)
    t = (float(np.median(a)), float(np.median(b)), float(np.median(c)))
    r = triple_coefficients(a, b, c, thresholds=t)
    af, bf, cf = (x.astype(float) for x in (a, b, c))
    ab, bb, cb = af > t[0], bf > t[1], cf > t[2]
    assert r.m0 == pytest.approx(af[bb & cb].sum() / af.sum())
    assert r.m1 == pytest.approx(bf[ab & cb].sum() / bf.sum())
    assert r.m2 == pytest.approx(cf[ab & bb].sum() / cf.sum())
    assert r.fraction_colocalized == pytest.approx(np.mean(ab & bb & cb))
    expected = np.sum(af * bf * cf) / np.cbrt(np.sum(af**3) * np.sum(bf**3) * np.sum(cf**3))
    assert r.overlap == pytest.approx(expected)
    assert 0 <= r.overlap <= 1


def test_triple_overlap_is_one_for_proportional_channels():
    a = np.arange(1, 50, dtype=float)
    assert triple_coefficients(a, 2 * a, 0.5 * a).overlap == pytest.approx(1.0)


def test_public_api_exports():
    for name in ["coefficients", "coefficient_table", "triple_coefficients", "Coefficients"]:
        assert name in colocalize.__all__


# --- measures: pay for what you ask ---------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "measures",
    [
        ("pearson",),
        ("manders", "overlap"),
        ("thresholded_manders", "icq"),
        ("spearman",),
        ("kendall",),
        ("pearson", "kendall"),
    ],
)
def test_measures_subset_equals_full_result_and_is_nan_elsewhere(dtype, measures):
    rng = np.random.default_rng(7)
    a, b = _random_pair(rng, dtype, (30, 40))
    full = coefficients(a, b, thresholds=(0.3, 0.4))
    part = coefficients(a, b, thresholds=(0.3, 0.4), measures=measures)
    assert part.measures == tuple(m for m in MEASURES if m in measures)
    asked = {f for m in measures for f in MEASURES[m]}
    for name in asked:
        assert getattr(part, name) == pytest.approx(getattr(full, name), rel=1e-12, abs=1e-14)
    for name in set(ALL_MEASURED) - asked:
        assert math.isnan(getattr(part, name)), name
    assert part.n_pixels == full.n_pixels
    assert full.measures == tuple(MEASURES)


def test_measures_without_ranks_never_rank(monkeypatch):
    from colocalize import _coefficients, _ranks

    def forbidden(*args, **kwargs):
        raise AssertionError("rank code called for a subset without rank measures")

    monkeypatch.setattr(_coefficients, "kendall_tau_b", forbidden)
    monkeypatch.setattr(_ranks.ChannelCodes, "average_rank", property(forbidden))
    monkeypatch.setattr(_ranks.ChannelCodes, "rank_lookup", forbidden)
    monkeypatch.setattr(_ranks.ChannelCodes, "running_ranks", forbidden)
    monkeypatch.setattr(_coefficients, "wide_cells", forbidden)
    rng = np.random.default_rng(3)
    for dtype in (np.uint8, np.uint16, np.float32, np.uint32, np.int64):
        a, b = _random_pair(rng, dtype, (64, 64))
        c = coefficients(a, b, thresholds=(0.2, 0.2), measures=("pearson", "manders"))
        assert not math.isnan(c.pearson)
        assert math.isnan(c.kendall_tau)
    # floats without ranks are never coded nor reduced to joint cells
    monkeypatch.setattr(_coefficients, "joint_cells", forbidden)
    monkeypatch.setattr(_coefficients, "channel_codes", forbidden)
    a, b = _random_pair(rng, np.float64, (64, 64))
    coefficients(a, b, measures=["overlap", "icq", "thresholded_manders"], thresholds=(0.1, 0.1))
    with pytest.raises(AssertionError, match="rank code"):
        coefficients(a, b, measures="kendall")


@pytest.mark.parametrize("measures", [("spearman",), ("kendall",), ("spearman", "kendall")])
def test_rank_measures_alone_skip_the_non_rank_pass(monkeypatch, require, measures):
    # with the compiled kernels, the rank measures alone ran the fused non-rank pass
    # (pair_sums and four sums, ~6 ms of ~25 on a 2048^2 pair) only to learn whether a
    # channel is constant
    require("numba", "the compiled path")
    from types import SimpleNamespace

    from colocalize import _compiled

    rng = np.random.default_rng(11)
    a = rng.integers(0, 65536, (1024, 1024), dtype=np.uint16)
    b = a // 2 + rng.integers(0, 30000, a.shape, dtype=np.uint16)
    full = coefficients(a, b, thresholds=(1000.0, 2000.0))
    kernels = _compiled.kernels(a.size)
    assert kernels is not None

    def forbidden(*args, **kwargs):
        raise AssertionError("the non-rank pass ran for rank measures alone")

    spy = SimpleNamespace(**{**vars(kernels), "pair_sums": forbidden})
    monkeypatch.setattr(_compiled, "loaded_kernels", lambda size: spy)
    for thresholds in (None, (1000.0, 2000.0)):
        alone = coefficients(a, b, measures=measures, thresholds=thresholds)
        for name in measures:
            field = "kendall_tau" if name == "kendall" else name
            # the full call took numpy's path (kernels not loaded yet): Spearman to 1e-12
            assert getattr(alone, field) == pytest.approx(getattr(full, field), rel=1e-12)
    # a constant channel is still found, and said
    with pytest.warns(ColocalizeWarning, match="image1 is constant"):
        alone = coefficients(a, np.full_like(a, 7), measures=measures)
    assert math.isnan(alone.spearman)
    assert math.isnan(alone.kendall_tau)


def test_rank_coefficients_false_drops_the_rank_measures():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    c = coefficients(a, a[::-1], rank_coefficients=False, measures=("pearson", "spearman"))
    assert c.measures == ("pearson",)
    assert math.isnan(c.spearman)


@pytest.mark.parametrize("bad", ["pearsons", ("pearson", "tau"), (), [3]])
def test_unknown_measures_raise_naming_the_valid_ones(bad):
    a = np.arange(12, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"measures=.*thresholded_manders"):
        coefficients(a, a, measures=bad)


def test_table_measures_columns_and_attrs():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 200, (3, 20, 20), dtype=np.uint8)
    table = colocalize.coefficient_table(img, channel_axis=0, measures=["manders"])
    assert table.attrs["measures"] == ["manders"]
    assert table.m1.notna().all()
    assert table.pearson.isna().all()
    with pytest.raises(ValueError, match="measures="):
        colocalize.coefficient_table(img, channel_axis=0, measures=["nope"])


# --- the fused compiled pass (8/16-bit) against the numpy engine -----------------------------


def _int_pair(rng, dtype, shape):
    high = {np.uint8: 256, np.int8: 128, np.uint16: 65536, np.int16: 32768}.get(dtype, 2)
    a = rng.integers(0, high, shape)
    b = (a // 2 + rng.integers(0, high // 2 + 1, shape)) % high
    b[rng.random(shape) < 0.2] = 0
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize(
    "dtype",
    [np.uint8, np.int8, np.uint16, np.int16, bool, np.int32, np.uint64, np.float32, np.float64],
)
@pytest.mark.parametrize("seed", range(4))
def test_fused_pass_equals_numpy_engine(monkeypatch, dtype, seed):
    from colocalize import _compiled

    require_module("numba", "the 'fast' extra")
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)  # compiled even for small test images
    compiled = _compiled.kernels(1)
    calls = []

    def counted(*args):
        calls.append(1)
        return pair_sums(*args)

    pair_sums = compiled.pair_sums
    monkeypatch.setattr(compiled, "pair_sums", counted)
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
    if np.dtype(dtype).kind == "f":
        a, b = _random_pair(rng, dtype, shape)
    else:
        a, b = _int_pair(rng, dtype, shape)
    mean_a, mean_b = float(np.mean(a)), float(np.mean(b))
    thresholds = [None, (mean_a, mean_b), (0.0, 0.0), (1e30, 2.5)][seed]
    mask = rng.random(shape) > 0.3 if seed % 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        fast = coefficients(a, b, thresholds=thresholds, mask=mask)
        monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
        slow = coefficients(a, b, thresholds=thresholds, mask=mask)
    small_int = np.dtype(dtype).kind in "iub" and np.dtype(dtype).itemsize <= 2
    assert len(calls) == (1 if small_int else 0)
    for f in dataclasses.fields(fast):
        value, expected = getattr(fast, f.name), getattr(slow, f.name)
        if isinstance(value, float):
            assert value == pytest.approx(expected, rel=1e-12, abs=1e-14, nan_ok=True), f.name
        else:
            assert value == expected, f.name


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, bool])
@pytest.mark.parametrize(("low", "span"), [(0, 50), (700, 900), (3, 40000), (20000, 45000)])
def test_channel_codes_equal_unique(dtype, low, span):
    from colocalize._ranks import channel_codes

    info = np.iinfo(np.uint8 if dtype is bool else dtype)
    rng = np.random.default_rng(span)
    values = rng.integers(low, low + span, 5000)
    values = np.clip(values, 0, info.max).astype(dtype)
    c = channel_codes(values)
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    present = c.counts > 0
    np.testing.assert_array_equal(c.exact[present], uniq)
    np.testing.assert_array_equal(c.counts[present], counts)
    np.testing.assert_array_equal(c.exact[c.codes], values)
    np.testing.assert_array_equal(np.flatnonzero(present)[inverse.ravel()], c.codes)


# ------------------------------------------------------------------------------------------
# thresholds="costes" with costes_method, and the convergence flag (issue 15)
# ------------------------------------------------------------------------------------------


def _costes_pair() -> tuple[np.ndarray, np.ndarray]:
    """Anti-correlated dim background plus a correlated bright signal (every search converges)."""
    rng = np.random.default_rng(15)
    a = rng.integers(0, 20, (64, 64))
    b = 19 - a + rng.integers(0, 3, (64, 64))
    signal = rng.integers(60, 200, (64, 64))
    spots = rng.random((64, 64)) < 0.2
    return (
        np.where(spots, signal, a).astype(np.uint8),
        np.where(spots, signal // 2 + rng.integers(0, 5, (64, 64)), b).astype(np.uint8),
    )


@pytest.mark.parametrize("method", ["bisection", "classic", "jacop"])
def test_costes_method_chooses_the_search_and_flags_convergence(method):
    a, b = _costes_pair()
    expected = colocalize.costes_threshold(a, b, method=method)
    c = coefficients(a, b, thresholds="costes", costes_method=method)
    assert (c.threshold0, c.threshold1) == (expected.threshold0, expected.threshold1)
    assert c.costes_converged == 1.0
    assert c.measures == tuple(MEASURES)
    if method == "bisection":  # the default
        assert coefficients(a, b, thresholds="costes") == c


def test_costes_not_converged_is_flagged_and_warned():
    a = np.tile(np.arange(1, 201, dtype=np.uint16), (20, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)  # also: too few pixels below
        c = coefficients(a, 2 * a, thresholds="costes")
    assert any("never reached 0" in str(w.message) for w in caught)
    assert c.costes_converged == 0.0
    assert math.isnan(coefficients(a, 2 * a, thresholds=(5, 5)).costes_converged)


def test_costes_method_is_checked():
    a, b = _costes_pair()
    with pytest.raises(ValueError, match=r"costes_method must be one of 'bisection'.*'jacop'"):
        coefficients(a, b, thresholds="costes", costes_method="ez")


# ------------------------------------------------------------------------------------------
# JACoP's thresholded overlap, k1, k2 (issue 15)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64, np.float32, np.float64])
def test_thresholded_overlap_is_overlap_of_the_pixels_above_both(dtype):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 200, (30, 40)).astype(dtype)
    b = rng.integers(0, 200, (30, 40)).astype(dtype)
    c = coefficients(a, b, thresholds=(50, 80.5))
    above = (a > 50) & (b > 80.5)
    plain = coefficients(a[above], b[above], measures="overlap")
    assert c.toverlap == pytest.approx(plain.overlap, rel=1e-12)
    assert c.tk1 == pytest.approx(plain.k1, rel=1e-12)
    assert c.tk2 == pytest.approx(plain.k2, rel=1e-12)
    assert c.toverlap**2 == pytest.approx(c.tk1 * c.tk2, rel=1e-12)


def test_thresholded_overlap_known_values_and_scale():
    a = np.array([0, 1, 2, 4], dtype=np.uint16)
    b = np.array([0, 3, 2, 8], dtype=np.uint16)
    c = coefficients(a, b, thresholds=(1, 1), measures="thresholded_overlap")
    # pixels (2, 2) and (4, 8): sum(ab) = 36, sum(a^2) = 20, sum(b^2) = 68
    assert c.tk1 == pytest.approx(36 / 20, rel=1e-15)
    assert c.tk2 == pytest.approx(36 / 68, rel=1e-15)
    assert c.toverlap == pytest.approx(36 / math.sqrt(20 * 68), rel=1e-15)
    assert math.isnan(c.overlap)  # not asked for
    big = coefficients(  # no overflow, no underflow
        a * 1e150, b * 1e-150, thresholds=(1e150, 1e-150), measures="thresholded_overlap"
    )
    assert big.tk1 == pytest.approx(36 / 20 * 1e-300, rel=1e-12)
    assert big.toverlap == pytest.approx(c.toverlap, rel=1e-12)


def test_thresholded_overlap_nothing_above_warns_nan():
    a = np.arange(10, dtype=np.uint8)
    with pytest.warns(ColocalizeWarning, match="toverlap, tk1, tk2"):
        c = coefficients(a, a, thresholds=(9, 9), measures="thresholded_overlap")
    assert math.isnan(c.toverlap)
    assert math.isnan(c.tk1)
    assert math.isnan(coefficients(a, a).toverlap)  # no thresholds: not computed


# ------------------------------------------------------------------------------------------
# the fused pass's thresholded overlap and TOS counts, the chunked numpy path (issue 14)
# ------------------------------------------------------------------------------------------

EVERY_DTYPE = [
    bool,
    np.uint8,
    np.int8,
    np.uint16,
    np.int16,
    np.uint32,
    np.int32,
    np.uint64,
    np.int64,
    np.float32,
    np.float64,
]


def _any_pair(rng, dtype, shape):
    """Random non-negative pairs over each dtype's range (64-bit: up to 2**40)."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        return _random_pair(rng, dtype, shape)
    if kind == "b":
        return rng.random(shape) < 0.5, rng.random(shape) < 0.6
    info = np.iinfo(dtype)
    low, high = 0, min(int(info.max), 2**40)
    a = rng.integers(low, high, shape, endpoint=True)
    b = (a // 2 + rng.integers(low // 2, high // 2, shape, endpoint=True)).clip(low, high)
    b[rng.random(shape) < 0.2] = 0
    return a.astype(dtype), b.astype(dtype)


def _direct_toverlap_and_tos(a, b, t0, t1):
    """toverlap, tk1, tk2 (exact integer or fsum sums) and TOS from the definitions."""
    from colocalize._tos import tos_scores

    a, b = a.ravel(), b.ravel()
    above0, above1 = a > t0, b > t1
    both = above0 & above1
    exact = a.dtype.kind in "iub"
    x = [int(v) if exact else float(v) for v in a[both]]
    y = [int(v) if exact else float(v) for v in b[both]]
    add = sum if exact else math.fsum
    sab = add(p * q for p, q in zip(x, y))
    saa, sbb = add(p * p for p in x), add(q * q for q in y)
    linear, log2, _ = tos_scores(a.size, int(above0.sum()), int(above1.sum()), int(both.sum()))
    overlap = (sab / math.sqrt(saa * sbb), sab / saa, sab / sbb) if saa and sbb else (math.nan,) * 3
    return (*overlap, linear, log2)


@pytest.mark.parametrize("dtype", EVERY_DTYPE)
@pytest.mark.parametrize("compiled", [True, False])
def test_thresholded_overlap_and_tos_equal_definitions(monkeypatch, dtype, compiled):
    from colocalize import _compiled

    if compiled:
        require_module("numba", "the 'fast' extra")
        monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)  # compiled even for small test images
        _compiled.kernels(1)
    else:
        monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    rng = np.random.default_rng(np.dtype(dtype).num)
    a, b = _any_pair(rng, dtype, (37, 41))
    levels = [np.mean, np.min, lambda x: np.quantile(x, 0.9), np.max]
    pairs = [
        (float(f(a.astype(float))), float(g(b.astype(float)))) for f, g in zip(levels, levels[::-1])
    ]
    for t0, t1 in [*pairs, (0.0, 0.0)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColocalizeWarning)
            c = coefficients(
                a, b, thresholds=(t0, t1), measures=("thresholded_overlap", "tos", "pearson")
            )
        expected = _direct_toverlap_and_tos(a, b, t0, t1)
        seen = (c.toverlap, c.tk1, c.tk2, c.tos_linear, c.tos_log2)
        assert seen == pytest.approx(expected, rel=1e-12, abs=1e-14, nan_ok=True), (t0, t1)


def test_fused_pass_serves_thresholded_overlap_and_tos_without_more_passes(monkeypatch):
    from colocalize import _coefficients, _compiled, _tos

    require_module("numba", "the 'fast' extra")
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
    _compiled.kernels(1)
    passes = []
    at_least = _coefficients.at_least

    def counted(*args, **kwargs):
        passes.append(1)
        return at_least(*args, **kwargs)

    monkeypatch.setattr(_coefficients, "at_least", counted)
    monkeypatch.setattr(_tos, "at_least", counted)
    a, b = _int_pair(np.random.default_rng(3), np.uint16, (64, 64))
    c = coefficients(a, b, thresholds=(1000, 2000), measures=("thresholded_overlap", "tos"))
    assert passes == []  # no numpy pass over the pixels beyond the fused one
    assert not math.isnan(c.toverlap)
    assert not math.isnan(c.tos_linear)


@pytest.mark.parametrize("method", ["bisection", "classic", "jacop", "ezcolocalization"])
def test_costes_big_endian_input_with_kernels_loaded(monkeypatch, method):
    from colocalize import _compiled, costes_threshold

    require_module("numba", "the 'fast' extra")
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)  # compiled even for small test images
    _compiled.kernels(1)
    a, b = _int_pair(np.random.default_rng(5), np.uint16, (60, 70))
    a, b = a // 64, b // 64  # few levels: the compiled per-level paths
    big0, big1 = a.astype(">u2"), b.astype(">u2")
    before = (big0.copy(), big1.copy())
    seen = costes_threshold(big0, big1, method=method)
    assert seen == costes_threshold(a, b, method=method)
    np.testing.assert_array_equal(big0, before[0])  # the caller's arrays are untouched
    assert big0.dtype == np.dtype(">u2")


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int64, np.uint64, np.float64])
def test_many_valued_channels_equal_the_per_value_tables(monkeypatch, dtype):
    """Channels with more distinct values than _MAX_TABLE are looked up per chunk, not through
    float64 tables per value (memory); wide integers without ranks are read pixel by pixel:
    both equal the per-value tables (the previous path)."""
    from colocalize import _coefficients

    monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    monkeypatch.setattr(_coefficients, "_MAX_TABLE", 1000)
    a, b = _any_pair(np.random.default_rng(11), dtype, (90, 110))
    thresholds = (float(np.mean(a)), float(np.quantile(b, 0.3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        lean = coefficients(a, b, thresholds=thresholds)
        no_ranks = coefficients(a, b, thresholds=thresholds, rank_coefficients=False)
        monkeypatch.setattr(_coefficients, "_MAX_TABLE", 1 << 40)
        tables = coefficients(a, b, thresholds=thresholds)
    for f in dataclasses.fields(tables):
        expected = getattr(tables, f.name)
        assert getattr(lean, f.name) == pytest.approx(expected, rel=1e-12, nan_ok=True), f.name
        if f.name not in ("spearman", "kendall_tau"):
            seen = getattr(no_ranks, f.name)
            assert seen == pytest.approx(expected, rel=1e-12, abs=1e-14, nan_ok=True), f.name


@pytest.mark.parametrize("dtype", [np.uint32, np.int64])
def test_table_recodes_wide_channels_per_pair(monkeypatch, dtype):
    """A table of three wide channels (a pair keeps no per-pixel codes after its joint cells,
    so each later pair codes its channels again) gives every pair's coefficients exactly."""
    from colocalize import _coefficients, coefficient_table

    monkeypatch.setattr(_coefficients, "_MAX_TABLE", 1000)
    rng = np.random.default_rng(5)
    image = rng.integers(0, 1 << 30, (3, 60, 70)).astype(dtype)
    image[2] = image[0] // 4 + image[1] // 2
    thresholds = [float(np.quantile(channel, 0.4)) for channel in image]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        table = coefficient_table(image, channel_axis=0, thresholds=thresholds)
        for row, (i, j) in enumerate([(0, 1), (0, 2), (1, 2)]):
            alone = coefficients(image[i], image[j], thresholds=(thresholds[i], thresholds[j]))
            for name in ALL_MEASURED:
                expected = getattr(alone, name)
                seen = float(table[name][row])
                assert seen == pytest.approx(expected, rel=1e-12, nan_ok=True), name
