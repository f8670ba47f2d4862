"""Threshold overlap score and top-percent thresholds (issue 15), against EzColocalization.

EzColocalization: github.com/DrHanLim/EzColocalization at commit
c8abc7b3f10d0eb4dbd27aaea1a0d2d3b3b879ca (2020-12-23, the 1.1.x release), compiled against
Debian's ImageJ 1.53t; a small driver gave its ``BasicCalculator.prepCellData`` (the "Costes'"
and "FT" options) and ``getTOS`` each pair's pixels as one cell (a whole image row by row, the
Coloc 2 mask column by column) and printed TOS(linear), TOS(log2), which Ez rounds to 3
decimals (``BigDecimal`` HALF_UP), and how many pixels each FT kept.
"""

from __future__ import annotations

import math
import warnings
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import colocalize
from colocalize import (
    ColocalizeWarning,
    coefficients,
    threshold_overlap_score,
    top_percent_threshold,
)
from colocalize._tos import tos_scores


def _ez_round(x: float) -> float:
    """Ez's ``round(value, 3)``: the double's exact value, HALF_UP to 3 decimals."""
    if math.isnan(x):
        return x
    return float(Decimal(x).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


# (FT percent A, FT percent B): (TOS linear, TOS log2, pixels kept in A, pixels kept in B)
EZ_FT_COLOC2 = {
    (10, 10): (0.527, 0.753, 85103, 85638),
    (5, 20): (0.868, 0.924, 43136, 178033),
    (30, 30): (0.418, 0.526, 240889, 253357),
    (60, 70): (0.825, 0.765, 282359, 810498),  # the zeros tie: far fewer than 60% kept
    (90, 90): (0.743, 0.899, 812921, 810498),
    (1, 99): (math.nan, math.nan, 8693, 862752),  # every pixel of B kept: no score
}
EZ_FT_COLOC2_MASK = {
    (10, 10): (0.41, 0.661, 6204, 6263),
    (5, 20): (0.732, 0.838, 3110, 12540),
    (30, 30): (0.483, 0.587, 18679, 18582),
    (60, 70): (0.479, 0.53, 37409, 43505),
}
EZ_FT_OTHER = {
    ("neuron", 0, 2, 10, 10): (0.335, 0.593, 31183, 31154),
    ("neuron", 0, 2, 50, 50): (0.391, 0.392, 156683, 156522),
    ("neocortex", 0, 1, 10, 10): (-0.244, -0.111, 44711, 44771),
    ("neocortex", 0, 1, 25, 40): (-0.059, -0.049, 111915, 178899),
    ("zstack", 0, 1, 10, 10): (-0.058, -0.024, 3897, 4183),
    ("zstack", 0, 1, 50, 50): (0.004, 0.004, 20403, 20944),
}
# TOS with Ez's "Costes'" option (its own Costes thresholds, pixels > T_A and > T_B)
EZ_COSTES = {
    ("coloc2", 0, 1): (0.451, 0.611),
    ("coloc2-mask", 0, 1): (0.5, 0.498),
    ("neuron", 0, 2): (0.471, 0.551),
    ("neuron", 0, 3): (0.251, 0.273),
    ("neuron", 1, 3): (0.204, 0.318),
    ("neuron", 2, 3): (0.191, 0.28),
    ("neocortex", 0, 1): (0.302, 0.401),
    ("neocortex", 0, 2): (0.291, 0.409),
    ("neuron", 0, 1): (math.nan, math.nan),  # Ez's T_B = -21: every pixel of B is above
    ("zstack", 0, 1): (math.nan, math.nan),
}


def _pair(name: str, i: int, j: int, coloc2_dir):
    if name.startswith("coloc2"):
        a = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
        b = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
        mask = tifffile.imread(coloc2_dir / "colocsample1b-mask.tif") if "mask" in name else None
        return a, b, mask
    if name == "zstack":
        return (
            tifffile.imread(coloc2_dir / "greenZstack.tif"),
            tifffile.imread(coloc2_dir / "redZstack.tif"),
            None,
        )
    sample = colocalize.data.neuron_4ch() if name == "neuron" else colocalize.data.neocortex_3ch()
    return sample.channel(i), sample.channel(j), None


def _check(res, expected):
    linear, log2, *kept = expected
    np.testing.assert_array_equal((_ez_round(res.linear), _ez_round(res.log2)), (linear, log2))
    if kept:
        counts = (round(res.fraction0 * res.n_pixels), round(res.fraction1 * res.n_pixels))
        assert counts == tuple(kept)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        return func(*args, **kwargs)


@pytest.mark.parametrize(("percent", "expected"), sorted(EZ_FT_COLOC2.items()))
def test_ft_tos_coloc2_sample(coloc2_dir, percent, expected):
    a, b, _ = _pair("coloc2", 0, 1, coloc2_dir)
    _check(_quiet(threshold_overlap_score, a, b, percent=percent), expected)


@pytest.mark.parametrize(("percent", "expected"), sorted(EZ_FT_COLOC2_MASK.items()))
def test_ft_tos_coloc2_sample_masked(coloc2_dir, percent, expected):
    a, b, mask = _pair("coloc2-mask", 0, 1, coloc2_dir)
    _check(threshold_overlap_score(a, b, mask=mask, percent=percent), expected)


@pytest.mark.parametrize(("case", "expected"), sorted(EZ_FT_OTHER.items()))
def test_ft_tos_other_pairs(coloc2_dir, case, expected):
    name, i, j, pa, pb = case
    a, b, _ = _pair(name, i, j, coloc2_dir)
    _check(threshold_overlap_score(a, b, percent=(pa, pb)), expected)


@pytest.mark.parametrize(("case", "expected"), sorted(EZ_COSTES.items()))
def test_costes_tos_with_ez_thresholds(coloc2_dir, case, expected):
    a, b, mask = _pair(*case, coloc2_dir)
    res = _quiet(
        threshold_overlap_score,
        a,
        b,
        mask=mask,
        thresholds="costes",
        costes_method="ezcolocalization",
    )
    _check(res, expected)
    # the same from coefficients(measures="tos") with the same thresholds
    c = _quiet(
        coefficients,
        a,
        b,
        mask=mask,
        thresholds="costes",
        costes_method="ezcolocalization",
        measures="tos",
    )
    np.testing.assert_array_equal((c.tos_linear, c.tos_log2), (res.linear, res.log2))


# ------------------------------------------------------------------------------------------
# known answers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 50), (4, 20, 25)])
def test_identical_channels_score_1_and_disjoint_minus_1(dtype, shape):
    """Sheng et al.: complete overlap of the top pixels is 1, none (as little as their
    fractions allow) is -1, and independent channels are near 0."""
    rng = np.random.default_rng(1)
    a = rng.permutation(np.arange(math.prod(shape)) % 200).reshape(shape).astype(dtype)
    same = threshold_overlap_score(a, a)
    assert (same.linear, same.log2) == (1.0, 1.0)
    assert same.overlap_ratio == pytest.approx(1 / same.fraction0)
    reverse = (199 - a.astype(np.int64)).astype(dtype)
    apart = threshold_overlap_score(a, reverse)
    assert (apart.linear, apart.log2) == (-1.0, -1.0)
    assert apart.fraction_both == 0.0


def test_independent_channels_score_near_0():
    rng = np.random.default_rng(2)
    a, b = rng.random((2, 200, 200))
    chance = threshold_overlap_score(a, b)  # 4000 top pixels each, 400 shared by chance
    assert abs(chance.linear) < 0.1
    assert chance.overlap_ratio == pytest.approx(1, abs=0.1)


def test_tos_scores_formulas():
    # f0 = f1 = 0.1: PO max 10, min 0; half the top pixels shared: PO 5
    linear, log2, ratio = tos_scores(100, 10, 10, 5)
    assert ratio == pytest.approx(5.0)
    assert linear == pytest.approx((5 - 1) / (10 - 1))
    m = math.log(2) / math.log(9 / 1)
    k = (10 + 0 - 2) / (9 * 1)
    assert log2 == pytest.approx(m * math.log2(k * 4 + 1))
    # f0 + f1 > 1: PO_min = (f0 + f1 - 1) / (f0 f1) > 0
    linear, log2, ratio = tos_scores(10, 7, 6, 4)
    po_min, po_max = (0.7 + 0.6 - 1) / 0.42, 0.6 / 0.42
    assert ratio == pytest.approx(0.4 / 0.42)
    assert linear == pytest.approx((ratio - 1) / (1 - po_min))
    m = math.log(2) / math.log((po_max - 1) / (1 - po_min))
    k = (po_max + po_min - 2) / ((po_max - 1) * (1 - po_min))
    assert log2 == pytest.approx(m * math.log2(k * (ratio - 1) + 1))
    # the least overlap possible (3 of 10 shared): -1
    assert tos_scores(10, 7, 6, 3)[0] == pytest.approx(-1.0)
    # by chance exactly: 0; a channel entirely above: NaN
    assert tos_scores(100, 10, 10, 1)[:2] == pytest.approx((0.0, 0.0), abs=1e-12)
    assert tos_scores(64, 16, 16, 4)[:2] == (0.0, 0.0)  # exactly 1 in binary
    assert all(math.isnan(x) for x in tos_scores(100, 100, 10, 10)[:2])


@given(
    hnp.arrays(np.uint8, st.integers(4, 60), elements=st.integers(0, 6)),
    st.integers(1, 100),
)
def test_top_percent_threshold_is_ez_rank_rule(values, percent):
    """Ez keeps pixels whose mean tie rank (1 = brightest) is <= ceil(n percent / 100); the
    threshold selects exactly those with ``>``."""
    t = top_percent_threshold(values, percent)
    order = np.sort(values)[::-1]
    ranks = {v: np.mean(np.flatnonzero(order == v) + 1) for v in np.unique(values)}
    cutoff = math.ceil(values.size * percent / 100)
    kept = np.array([ranks[v] <= cutoff for v in values])
    np.testing.assert_array_equal(values > t, kept)


def test_top_percent_threshold_edges():
    image = np.array([[9, 8, 7, 7], [5, 4, 3, 1]])
    assert top_percent_threshold(image, 100) == -math.inf
    assert top_percent_threshold(np.full((3, 3), 4), 10) == 4.0  # one tie group: none kept
    with pytest.warns(ColocalizeWarning, match="the mask is empty"):  # NaN, not silently
        assert math.isnan(top_percent_threshold(image, 10, mask=np.zeros(image.shape, bool)))
    for bad in (0, -5, 101, float("nan"), "10"):
        with pytest.raises(ValueError, match="percent"):
            top_percent_threshold(image, bad)


def test_threshold_overlap_score_thresholds_and_errors():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 100, (30, 30))
    b = a + rng.integers(0, 20, (30, 30))
    given_t = threshold_overlap_score(a, b, thresholds=(80, 90))
    assert (given_t.threshold0, given_t.threshold1) == (80.0, 90.0)
    assert given_t.fraction0 == np.count_nonzero(a > 80) / a.size
    assert given_t.fraction_both == np.count_nonzero((a > 80) & (b > 90)) / a.size
    c = coefficients(a, b, thresholds=(80, 90), measures="tos")
    assert (c.tos_linear, c.tos_log2) == (given_t.linear, given_t.log2)
    for bad in ("otsu", (1, 2, 3), ("a", "b")):
        with pytest.raises(ValueError, match="thresholds"):
            threshold_overlap_score(a, b, thresholds=bad)
    with pytest.raises(ValueError, match="percent"):
        threshold_overlap_score(a, b, percent=(10, 20, 30))
    with pytest.raises(ValueError, match="costes_method"):
        threshold_overlap_score(a, b, thresholds="costes", costes_method="ez")
    with pytest.warns(ColocalizeWarning, match="NaN"):
        res = threshold_overlap_score(a, b, thresholds=(1000, 0))
    assert math.isnan(res.linear)
    with pytest.warns(ColocalizeWarning, match="NaN"):
        empty = threshold_overlap_score(a, b, mask=np.zeros(a.shape, bool))
    assert empty.n_pixels == 0


def test_inputs_are_not_modified():
    a = np.arange(100, dtype=np.uint16).reshape(10, 10)
    b = a[::-1].copy()
    before = a.copy(), b.copy()
    threshold_overlap_score(a, b, thresholds="costes")
    np.testing.assert_array_equal(a, before[0])
    np.testing.assert_array_equal(b, before[1])


def test_tos_in_the_cli_and_the_imagej_dialog(tmp_path, capsys):
    """`colocalize coefficients --measures tos` and the Coloc Coefficients dialog's TOS
    checkbox give coefficients(measures="tos")."""
    from io import StringIO

    import pandas as pd

    from colocalize._cli._main import main
    from colocalize.imagej._catalog import commands

    rng = np.random.default_rng(4)
    a = rng.integers(0, 200, (40, 40))
    img = np.stack([a, a // 2 + rng.integers(0, 40, a.shape)]).astype(np.uint8)
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, img, imagej=True, metadata={"axes": "CYX"})
    assert (
        main(["coefficients", str(path), "--thresholds", "150", "80", "--measures", "tos", "--csv"])
        == 0
    )
    row = pd.read_csv(StringIO(capsys.readouterr().out)).iloc[0]
    expected = threshold_overlap_score(img[0], img[1], thresholds=(150, 80))
    assert (row["tos_linear"], row["tos_log2"]) == pytest.approx((expected.linear, expected.log2))
    assert math.isnan(row["pearson"])
    fields = commands()["coefficients"].spec.fields
    assert any(f.kind == "checkbox" and f.label == "TOS" and f.key == "tos" for f in fields)


def test_tos_only_when_asked_for():
    """measures=None computes every group of MEASURES but not TOS (extra passes, and a NaN
    with a warning whenever a channel is entirely above its threshold, as in the plain
    ImageJ macro run of tests/test_imagej_plain.py)."""
    from colocalize._coefficients import MEASURES

    rng = np.random.default_rng(5)
    a = rng.integers(10, 100, (20, 20))
    b = a + rng.integers(0, 9, a.shape)
    c = coefficients(a, b, thresholds=(5, 50))  # every pixel of a is above 5: no TOS
    assert c.measures == tuple(MEASURES)
    assert math.isnan(c.tos_linear)
    assert math.isnan(c.tos_log2)
    with pytest.warns(ColocalizeWarning, match="tos_linear"):
        asked = coefficients(a, b, thresholds=(5, 50), measures=("pearson", "tos"))
    assert asked.measures == ("pearson", "tos")
    with pytest.raises(ValueError, match="tos"):
        coefficients(a, b, measures="top")


def test_tos_in_batch(tmp_path):
    """batch(measures=(..., "tos")) writes tos_linear and tos_log2 for each image."""
    import pandas as pd

    from colocalize._batch._synthetic import make_repository

    root = tmp_path / "data"
    make_repository(root, organelles=("er",), times=(5,), series=(1,), shape=(48, 48))
    result = colocalize.batch(
        root,
        pattern="{organelle}/{time}min/series{series}/*.tif",
        out=tmp_path / "out",
        method="costes",
        costes_method="ezcolocalization",
        measures=("pearson", "tos"),
        channels=("red", "green"),
        workers=1,
    )
    row = pd.read_csv(result.coefficients).iloc[0]
    image = colocalize.read_image(root / row["path"])
    expected = _quiet(
        threshold_overlap_score,
        image.channel(0),
        image.channel(1),
        thresholds="costes",
        costes_method="ezcolocalization",
    )
    assert (row["tos_linear"], row["tos_log2"]) == pytest.approx((expected.linear, expected.log2))
