"""Van Steensel's CCF: JACoP's numbers, synthetic known answers, symmetry, bad input."""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import colocalize
from colocalize import ColocalizeWarning, van_steensel_ccf

matplotlib.use("Agg")

FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))

# JACoP (fabricecordelieres/IJ-Plugin_JACoP, commit 291f24ce97afc7547e9cdb3aadc7c64ab9d62aac,
# ImageColocalizer.CCF) compiled against ImageJ 1.53t (Debian libij-java) and run headless on
# Coloc 2's colocsample1b green (A) and red (B), CCFx = 20. r per dx as read back from JACoP's
# plot (float32), the Gaussian fit from its log (ImageJ's CurveFitter, 5 significant digits).
JACOP_SAMPLE_R = [
    0.28825706243515015, 0.30093345046043396, 0.31555458903312683, 0.3317793905735016,
    0.34813353419303894, 0.3632773756980896, 0.3777007758617401, 0.39172807335853577,
    0.40812939405441284, 0.42451515793800354, 0.4421061873435974, 0.4613399803638458,
    0.4797841012477875, 0.4988987147808075, 0.519366979598999, 0.5420094728469849,
    0.569074809551239, 0.6021903157234192, 0.6505042314529419, 0.7159726619720459,
    0.7485172748565674, 0.6988024711608887, 0.639115571975708, 0.5950394868850708,
    0.5635003447532654, 0.5387360453605652, 0.51723712682724, 0.49839186668395996,
    0.4804757237434387, 0.46121537685394287, 0.444171667098999, 0.42764630913734436,
    0.41402631998062134, 0.40106913447380066, 0.38731643557548523, 0.37193763256073,
    0.3566506803035736, 0.3419932723045349, 0.3282791078090668, 0.31583890318870544,
    0.3038150668144226,
]  # fmt: skip
JACOP_SAMPLE_FIT = {"a": 0.32581, "b": 0.66005, "c": -0.00065778, "d": 6.58494, "fwhm": 15.506}

# The same JACoP run on jacop_pair() below (written as 16-bit TIFFs), CCFx = 10.
JACOP_PAIR_R = [
    -0.13571105897426605, -0.13299645483493805, -0.1272808462381363, -0.1163857951760292,
    -0.09636098891496658, -0.06141761317849159, -0.004662893246859312, 0.07989255338907242,
    0.19414621591567993, 0.3324507176876068, 0.4797072112560272, 0.6117029190063477,
    0.7046369314193726, 0.7379779815673828, 0.7036873698234558, 0.6092153191566467,
    0.4747388958930969, 0.32605329155921936, 0.18655459582805634, 0.07170537114143372,
    -0.012448519468307495,
]  # fmt: skip
JACOP_PAIR_FIT = {"a": -0.13474, "b": 0.73781, "c": 2.97548, "d": 3.56059, "fwhm": 8.384}


def jacop_pair() -> tuple[np.ndarray, np.ndarray]:
    """Gaussian spots (uint16); four of image0's five reappear in image1 moved 3 px along +x."""
    y, x = np.mgrid[0:48, 0:80].astype(np.float64)
    centres = [(10, 15), (30, 40), (20, 62), (40, 20), (8, 50)]
    a = sum(np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * 2.5**2)) for cy, cx in centres)
    b = sum(np.exp(-((y - cy) ** 2 + (x - cx - 3) ** 2) / (2 * 2.5**2)) for cy, cx in centres[:4])
    b = b + np.exp(-((y - 36) ** 2 + (x - 60) ** 2) / (2 * 3.0**2))
    return np.rint(1000 * a + 100).astype(np.uint16), np.rint(800 * b + 50).astype(np.uint16)


def brute_ccf(a, b, dx, mask=None):
    """r of a[..., x] against b[..., x + dx] by rolling b and dropping wrapped columns."""
    width = a.shape[-1]
    x = np.arange(width)
    valid = np.broadcast_to((x + dx >= 0) & (x + dx < width), a.shape)
    rolled = np.roll(b, -dx, axis=-1)
    if mask is not None:
        valid = valid & mask & np.roll(mask, -dx, axis=-1)
    u, v = a[valid].astype(float), rolled[valid].astype(float)
    if u.size < 2 or np.ptp(u) == 0 or np.ptp(v) == 0:
        return math.nan
    return float(np.corrcoef(u, v)[0, 1])


def smooth_random(shape, dtype, seed=0):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    sigma = (0,) * (len(shape) - 2) + (1.5, 1.5)
    field = ndimage.gaussian_filter(rng.random(shape), sigma)
    field = (field - field.min()) / np.ptp(field)
    if np.dtype(dtype).kind == "f":
        return (field * 1000).astype(dtype)
    if np.dtype(dtype).kind == "i":
        return np.rint(field * 200 - 100).astype(dtype)  # negative values are legal
    return np.rint(field * min(np.iinfo(dtype).max, 4000)).astype(dtype)


def test_jacop_coloc2_sample(coloc2_dir):
    green = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    red = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    res = van_steensel_ccf(green, red, max_shift=20)
    np.testing.assert_array_equal(res.dx, np.arange(-20, 21))
    np.testing.assert_allclose(res.r, JACOP_SAMPLE_R, rtol=0, atol=2e-7)  # float32 plot values
    assert (res.dx_max, res.dx_min) == (0.0, -20.0)
    assert res.fit_a == pytest.approx(JACOP_SAMPLE_FIT["a"], abs=5e-5)
    assert res.fit_b == pytest.approx(JACOP_SAMPLE_FIT["b"], abs=5e-5)
    assert res.fit_c == pytest.approx(JACOP_SAMPLE_FIT["c"], abs=2e-4)  # ~0: the simplex stops
    assert res.fit_d == pytest.approx(JACOP_SAMPLE_FIT["d"], rel=1e-4)
    assert res.fwhm == pytest.approx(JACOP_SAMPLE_FIT["fwhm"], abs=2e-3)


def test_jacop_synthetic_pair():
    a, b = jacop_pair()
    res = van_steensel_ccf(a, b, max_shift=10)
    np.testing.assert_allclose(res.r, JACOP_PAIR_R, rtol=0, atol=2e-7)
    assert (res.dx_max, res.dx_min) == (3.0, -10.0)
    for key in "abcd":
        assert getattr(res, f"fit_{key}") == pytest.approx(JACOP_PAIR_FIT[key], rel=1e-4, abs=1e-5)
    assert res.fwhm == pytest.approx(JACOP_PAIR_FIT["fwhm"], abs=1e-3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(24, 40), (3, 16, 40)])
def test_matches_brute_force_with_and_without_mask(dtype, shape):
    a = smooth_random(shape, dtype, seed=1)
    b = smooth_random(shape, dtype, seed=2)
    rng = np.random.default_rng(3)
    mask = rng.random(shape) > 0.3
    for m in (None, mask):
        res = van_steensel_ccf(a, b, mask=m, max_shift=7)
        expected = [brute_ccf(a, b, dx, m) for dx in range(-7, 8)]
        np.testing.assert_allclose(res.r, expected, rtol=1e-10, atol=1e-12)
        counts = [
            int(np.count_nonzero(
                np.broadcast_to((np.arange(40) + dx >= 0) & (np.arange(40) + dx < 40), shape)
                & (True if m is None else m & np.roll(m, -dx, axis=-1))
            ))
            for dx in range(-7, 8)
        ]  # fmt: skip
        assert res.n_pairs.tolist() == counts


@pytest.mark.parametrize("k", [-5, -1, 2, 6])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("ndim", [2, 3])
def test_shifted_copy_peaks_at_its_shift(k, dtype, ndim):
    """image1[..., x] = image0[..., x - k] (moved k px towards larger x): r(dx = +k) = 1."""
    shape = (2, 20, 48) if ndim == 3 else (20, 48)
    a = smooth_random(shape, dtype)
    b = np.full_like(a, 7)
    if k > 0:
        b[..., k:] = a[..., :-k]
    else:
        b[..., :k] = a[..., -k:]
    res = van_steensel_ccf(a, b, max_shift=8)
    assert res.dx_max == k
    assert res.r_max == pytest.approx(1.0, abs=1e-12)
    assert res.fit_c == pytest.approx(k, abs=0.5)


def test_gaussian_lines_give_their_fwhm():
    """Rows of Gaussian bumps (sigma s) against themselves: a Gaussian CCF of sigma s sqrt 2."""
    s = 2.0
    x = np.arange(200.0)
    image = np.array([np.exp(-((x - c) ** 2) / (2 * s * s)) for c in np.linspace(40, 160, 16)])
    res = van_steensel_ccf(image, image, max_shift=15, spacing=(1.0, 0.25), unit="um")
    assert res.fit_d == pytest.approx(s * math.sqrt(2), rel=5e-3)
    assert res.fwhm == pytest.approx(FWHM_PER_SIGMA * s * math.sqrt(2), rel=5e-3)
    assert res.fwhm_calibrated == pytest.approx(0.25 * res.fwhm, rel=1e-12)
    np.testing.assert_allclose(res.shift, 0.25 * res.dx)
    assert (res.pixel_size, res.unit) == (0.25, "um")
    assert res.fit_c == pytest.approx(0.0, abs=1e-6)
    assert res.r_max == pytest.approx(1.0, abs=1e-12)
    assert res.dx_max == 0.0
    np.testing.assert_allclose(res.fit, res.r, atol=0.02)


def test_results_are_python_floats_and_frozen():
    a, b = jacop_pair()
    res = van_steensel_ccf(a, b, max_shift=5)
    for name in ("r_max", "dx_max", "r_min", "dx_min", "fit_a", "fit_d", "fwhm", "pixel_size"):
        assert type(getattr(res, name)) is float, name
    with pytest.raises(AttributeError):
        res.r_max = 0.0  # type: ignore[misc]


@given(
    arrays(np.uint8, (5, 9), elements=st.integers(0, 6)),
    arrays(np.uint8, (5, 9), elements=st.integers(0, 6)),
    arrays(np.bool_, (5, 9)),
    st.integers(1, 8),
)
@settings(max_examples=60)
def test_swapping_images_mirrors_dx(a, b, mask, max_shift):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        forward = van_steensel_ccf(a, b, mask=mask, max_shift=max_shift)
        backward = van_steensel_ccf(b, a, mask=mask, max_shift=max_shift)
    np.testing.assert_allclose(backward.r, forward.r[::-1], rtol=1e-9, atol=1e-12)
    assert backward.n_pairs.tolist() == forward.n_pairs[::-1].tolist()
    assert np.all(np.isnan(forward.r) | ((forward.r >= -1 - 1e-12) & (forward.r <= 1 + 1e-12)))


def test_constant_image_is_nan_with_warning():
    a, _ = jacop_pair()
    with pytest.warns(ColocalizeWarning, match="constant"):
        res = van_steensel_ccf(a, np.full_like(a, 3), max_shift=4)
    assert np.isnan(res.r).all()
    assert all(math.isnan(v) for v in (res.r_max, res.dx_max, res.fit_d, res.fwhm))
    assert np.isnan(res.fit).all()


def test_empty_mask_is_nan_with_warning():
    a, b = jacop_pair()
    with pytest.warns(ColocalizeWarning):
        res = van_steensel_ccf(a, b, mask=np.zeros(a.shape, bool), max_shift=4)
    assert np.isnan(res.r).all()
    assert res.n_pairs.tolist() == [0] * 9


def test_partly_constant_overlap_gives_nan_for_those_shifts():
    """Only image0's first column varies; dx < 0 pairs image0's columns from -dx on only."""
    a = np.zeros((6, 10))
    a[:, 0] = np.arange(6)
    b = np.arange(60.0).reshape(6, 10)
    with pytest.warns(ColocalizeWarning) as record:
        res = van_steensel_ccf(a, b, max_shift=2)
    assert "r is NaN for dx = [-2, -1]:" in str(record[0].message)
    assert "at least 5 finite r values, got 3" in str(record[1].message)
    assert np.isnan(res.r[:2]).all()
    assert np.isfinite(res.r[2:]).all()


def test_too_few_points_for_the_fit_warns():
    a, b = jacop_pair()
    with pytest.warns(ColocalizeWarning, match="at least 5"):
        res = van_steensel_ccf(a, b, max_shift=1)
    assert np.isfinite(res.r).all()
    assert math.isnan(res.fwhm)


def test_failed_fit_is_nan_with_warning(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found")

    monkeypatch.setattr("scipy.optimize.curve_fit", fail)
    a, b = jacop_pair()
    with pytest.warns(ColocalizeWarning, match="did not converge"):
        res = van_steensel_ccf(a, b, max_shift=5)
    assert math.isnan(res.fit_a)
    assert math.isnan(res.fwhm_calibrated)
    assert np.isnan(res.fit).all()
    assert res.dx_max == 3.0  # the curve itself is still there


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, 80, "5", None])
def test_bad_max_shift_is_a_clear_error(bad):
    a, b = jacop_pair()
    with pytest.raises(ValueError, match=r"max_shift must be an integer from 1 to 79.*got"):
        van_steensel_ccf(a, b, max_shift=bad)


def test_other_bad_inputs_are_clear_errors():
    a, b = jacop_pair()
    with pytest.raises(ValueError, match="image1 has shape"):
        van_steensel_ccf(a, b[:, :-1])
    with pytest.raises(ValueError, match="at least 2 dimension"):
        van_steensel_ccf(a[0], b[0])
    with pytest.raises(ValueError, match="NaN"):
        van_steensel_ccf(np.where(a > 500, np.nan, 1.0), b)
    with pytest.raises(ValueError, match="spacing"):
        van_steensel_ccf(a, b, spacing=(1.0, -1.0))
    with pytest.raises(ValueError, match="mask has shape"):
        van_steensel_ccf(a, b, mask=np.ones((3, 3), bool))


def test_inputs_are_not_modified():
    a, b = jacop_pair()
    mask = a > 200
    copies = [a.copy(), b.copy(), mask.copy()]
    van_steensel_ccf(a, b, mask=mask, max_shift=6)
    for before, after in zip(copies, (a, b, mask)):
        np.testing.assert_array_equal(before, after)


def test_public_names():
    assert colocalize.van_steensel_ccf is van_steensel_ccf
    assert "VanSteenselCCF" in colocalize.__all__
    assert "van_steensel_ccf" in colocalize.__all__


def test_ccf_plot_draws_curve_fit_and_fwhm():
    import matplotlib.pyplot as plt

    from colocalize.plot import ccf_plot

    a, b = jacop_pair()
    res = van_steensel_ccf(a, b, max_shift=10, spacing=0.1, unit="µm")
    ax = ccf_plot(res)
    try:
        assert ax.get_xlabel() == "dx (µm)"
        assert ax.get_ylabel() == "Pearson's r"
        x, y = ax.lines[0].get_data()
        np.testing.assert_allclose(x, res.shift, atol=1e-12)
        np.testing.assert_allclose(y, res.r, atol=1e-12)  # r crosses 0
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(f"FWHM = {res.fwhm_calibrated:.4g} µm" in t for t in labels)
        with pytest.raises(TypeError, match="VanSteenselCCF"):
            ccf_plot(colocalize.li_ica(a, b))
    finally:
        plt.close("all")
