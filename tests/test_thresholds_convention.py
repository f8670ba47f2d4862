"""Which pixels each thresholded field counts, per source of thresholds (docs/coefficients.md,
"Threshold comparisons"): a threshold copied from a peer selects the peer's pixels.

Known answers are computed here from boolean foregrounds with numpy; every image has pixels
exactly at its threshold, where ``>`` and ``>=`` differ.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

import colocalize
from _faults import assert_clean_error, run_cli
from colocalize import coefficients, triple_coefficients
from colocalize._coefficients import MEASURES

ALL = [*MEASURES, "tos"]
pytestmark = pytest.mark.filterwarnings("ignore::colocalize.ColocalizeWarning")


def _pair(dtype, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two correlated channels with a bright half, many pixels on each level."""
    rng = np.random.default_rng(seed)
    top = 200 if dtype == np.uint8 else 700
    a = rng.integers(0, top * 3 // 5, (40, 50))
    a[:, 25:] += top * 2 // 5
    b = np.clip(a + rng.integers(-top // 20, top // 20, a.shape), 0, None)
    return a.astype(dtype), b.astype(dtype)


def _level(x: np.ndarray) -> float:
    """A value of ``x`` near its median (pixels lie exactly on it)."""
    return float(np.sort(x, axis=None)[x.size // 2])


def _pearson(a: np.ndarray, b: np.ndarray, sel: np.ndarray) -> float:
    return float(np.corrcoef(a[sel].astype(float), b[sel].astype(float))[0, 1])


def _expected(a: np.ndarray, b: np.ndarray, fg0: np.ndarray, fg1: np.ndarray) -> dict:
    """Every thresholded field when the foregrounds are ``fg0`` and ``fg1`` in every field."""
    a64, b64 = a.astype(float), b.astype(float)
    both = fg0 & fg1
    x, y = a64[both], b64[both]
    n0, n1, n01, n = fg0.sum(), fg1.sum(), both.sum(), a.size
    expected_tos = (n01 * n / (n0 * n1) - 1) / (min(n0, n1) * n / (n0 * n1) - 1)
    return {
        "tm1": a64[fg1 & (b > 0)].sum() / a64.sum(),
        "tm2": b64[fg0 & (a > 0)].sum() / b64.sum(),
        "tm1_own": a64[both].sum() / a64[fg0].sum(),
        "tm2_own": b64[both].sum() / b64[fg1].sum(),
        "fraction_colocalized": both.mean(),
        "pearson_below": _pearson(a, b, ~fg0 | ~fg1),
        "pearson_above": _pearson(a, b, fg0 | fg1),
        "toverlap": (x * y).sum() / math.sqrt((x * x).sum() * (y * y).sum()),
        "tk1": (x * y).sum() / (x * x).sum(),
        "tos_linear": expected_tos,
    }


def _check(c, expected: dict) -> None:
    for key, value in expected.items():
        assert getattr(c, key) == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_imagej_method_counts_pixels_at_t_as_background(dtype):
    """thresholds='Otsu': ImageJ's foreground is x > t, and pixels equal to t are background in
    every field (before: tm1/tm2 and pearson_below counted them, Coloc 2's >= and <)."""
    a, b = _pair(dtype)
    t0, t1 = (colocalize.threshold(x, "Otsu") for x in (a, b))
    assert (a == t0).any()
    assert (b == t1).any()
    c = coefficients(a, b, thresholds="Otsu", measures=ALL)
    assert (c.threshold0, c.threshold1) == (t0, t1)
    _check(c, _expected(a, b, a > t0, b > t1))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_numbers_keep_each_peers_rule(dtype):
    """Numbers (the default "peers"): tm1/tm2 and pearson_below as Coloc 2 (>=, <), the
    others as JACoP and CellProfiler (>)."""
    a, b = _pair(np.uint16 if dtype == np.uint16 else np.uint8)
    a, b = a.astype(dtype), b.astype(dtype)
    t0, t1 = _level(a), _level(b)
    assert (a == t0).any()
    assert (b == t1).any()
    c = coefficients(a, b, thresholds=(t0, t1))
    a64, b64 = a.astype(float), b.astype(float)
    assert c.tm1 == pytest.approx(a64[(b >= t1) & (b > 0)].sum() / a64.sum(), rel=1e-12)
    assert c.tm2 == pytest.approx(b64[(a >= t0) & (a > 0)].sum() / b64.sum(), rel=1e-12)
    gt = _expected(a, b, a > t0, b > t1)
    for key in ("tm1_own", "tm2_own", "fraction_colocalized", "toverlap", "pearson_above"):
        assert getattr(c, key) == pytest.approx(gt[key], rel=1e-9), key
    below = _pearson(a, b, (a < t0) | (b < t1))
    assert c.pearson_below == pytest.approx(below, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("comparison", [">", ">="])
@pytest.mark.parametrize("ranked", [False, True])
def test_threshold_comparison_selects_one_foreground_in_every_field(dtype, comparison, ranked):
    """Every engine path (compiled 8/16-bit pass, joint-histogram cells, pixel by pixel)."""
    a, b = _pair(np.uint16 if dtype == np.uint16 else np.uint8, seed=1)
    a, b = a.astype(dtype), b.astype(dtype)
    t0, t1 = _level(a), _level(b)
    measures = ["tos", "pearson", "thresholded_manders", "thresholded_overlap"]
    c = coefficients(
        a,
        b,
        thresholds=(t0, t1),
        threshold_comparison=comparison,
        measures=[*measures, "spearman"] if ranked else measures,
    )
    assert (c.threshold0, c.threshold1) == (t0, t1)  # reported as given
    if comparison == ">":
        _check(c, _expected(a, b, a > t0, b > t1))
    else:
        _check(c, _expected(a, b, a >= t0, b >= t1))


def test_threshold_comparison_in_triples_and_tables():
    a, b = _pair(np.uint8, seed=2)
    c = np.roll(a, 3, axis=1)
    ts = tuple(_level(x) for x in (a, b, c))
    t = triple_coefficients(a, b, c, thresholds=ts, threshold_comparison=">=")
    fg = [x >= tx for x, tx in zip((a, b, c), ts)]
    assert t.fraction_colocalized == pytest.approx((fg[0] & fg[1] & fg[2]).mean())
    assert t.m0 == pytest.approx(a[fg[1] & fg[2]].sum() / a.sum(dtype=float))
    assert t.threshold0 == ts[0]
    table = colocalize.coefficient_table(
        np.stack([a, b]), channel_axis=0, thresholds=ts[:2], threshold_comparison=">="
    )
    pair = coefficients(a, b, thresholds=ts[:2], threshold_comparison=">=")
    assert table.loc[0, "tm1"] == pair.tm1
    assert table.loc[0, "pearson_below"] == pair.pearson_below


def test_costes_keeps_coloc2_rule_and_peer_costes_select_their_pixels():
    """Coloc 2's own Costes thresholds are compared as Coloc 2 does (tM1: b >= T); JACoP's and
    EzColocalization's select x > T in every field, as those plugins do."""
    a, b = _pair(np.uint8, seed=3)
    a64 = a.astype(float)
    c = coefficients(a, b, thresholds="costes", costes_method="classic")
    t1 = c.threshold1
    assert c.tm1 == pytest.approx(a64[(b >= t1) & (b > 0)].sum() / a64.sum(), rel=1e-12)
    j = coefficients(a, b, thresholds="costes", costes_method="jacop")
    assert j.tm1 == pytest.approx(a64[b > j.threshold1].sum() / a64.sum(), rel=1e-12)


@pytest.mark.parametrize("spelling", ["top25%", "Top 25", "TOP25.0%"])
def test_top_percent_thresholds(spelling):
    """EzColocalization's FT as thresholds: each channel's brightest 25% (Ez's rank rule), and
    every field counts exactly those pixels."""
    a, b = _pair(np.uint8, seed=4)
    t0, t1 = (colocalize.top_percent_threshold(x, 25) for x in (a, b))
    c = coefficients(a, b, thresholds=spelling, measures=ALL)
    assert (c.threshold0, c.threshold1) == (t0, t1)
    _check(c, _expected(a, b, a > t0, b > t1))
    ez = colocalize.threshold_overlap_score(a, b, percent=25)
    assert c.tos_linear == pytest.approx(ez.linear, rel=1e-12)


def test_top_percent_in_a_mask_ranks_the_masked_pixels():
    a, b = _pair(np.uint16, seed=5)
    mask = np.zeros(a.shape, bool)
    mask[5:30, 10:40] = True
    c = coefficients(a, b, mask=mask, thresholds="top10%")
    assert c.threshold0 == colocalize.top_percent_threshold(a, 10, mask=mask)
    t = triple_coefficients(a, b, a, thresholds="top10%")
    assert t.threshold1 == colocalize.top_percent_threshold(b, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": "top0%"}, r"thresholds='top0%' keeps 0% .* \(0, 100\]"),
        ({"thresholds": "top150%"}, r"keeps 150%"),
        ({"thresholds": "tops"}, r"Otsu.*Or 'costes', or 'top<x>%'"),
        ({"thresholds": "Otsu", "threshold_comparison": ">"}, r"applies to numeric thresholds"),
        ({"thresholds": (1, 2), "threshold_comparison": "=>"}, r"threshold_comparison must be"),
    ],
)
def test_bad_options_name_the_fix(kwargs, message):
    a, b = _pair(np.uint8)
    with pytest.raises(ValueError, match=message):
        coefficients(a, b, **kwargs)


def test_cli_top_percent_and_comparison(tmp_path: Path):
    a, b = _pair(np.uint8, seed=6)
    path = tmp_path / "pair.tif"
    tifffile.imwrite(path, np.stack([a, b]), imagej=True, metadata={"axes": "CYX"})
    before = path.read_bytes()
    run = run_cli("coefficients", path, "--thresholds", "top10%", "--csv")
    assert run.returncode == 0, run.stderr
    from io import StringIO

    row = pd.read_csv(StringIO(run.stdout)).iloc[0]
    assert row["threshold0"] == colocalize.top_percent_threshold(a, 10)
    assert row["tm1"] == pytest.approx(coefficients(a, b, thresholds="top10%").tm1)
    t0, t1 = _level(a), _level(b)
    args = ["coefficients", str(path), "--thresholds", str(t0), str(t1), "--csv"]
    run = run_cli(*args, "--threshold-comparison", ">=")
    assert run.returncode == 0, run.stderr
    row = pd.read_csv(StringIO(run.stdout)).iloc[0]
    want = coefficients(a, b, thresholds=(t0, t1), threshold_comparison=">=")
    assert row["tm1"] == pytest.approx(want.tm1)
    assert row["tm1_own"] == pytest.approx(want.tm1_own)
    report = tmp_path / "report.pdf"
    both = run_cli(*args, "--threshold-comparison", ">=", "--report", report)
    assert_clean_error(both, "for the table only")
    assert not report.exists()
    bad = run_cli("coefficients", path, "--thresholds", "top150%")
    assert_clean_error(bad, "keeps 150%")
    assert path.read_bytes() == before


def test_batch_top_percent_source_and_tos_summary(tmp_path: Path):
    """method='top10%' is a threshold source of batch; summary.csv has the TOS columns when
    measures asks for 'tos' (before: only coefficients.csv had them), and not otherwise."""
    root = tmp_path / "repo"
    (root / "ctl").mkdir(parents=True)
    for k in range(2):
        a, b = _pair(np.uint8, seed=10 + k)
        tifffile.imwrite(
            root / "ctl" / f"img{k}.tif", np.stack([a, b]), imagej=True, metadata={"axes": "CYX"}
        )
    result = colocalize.batch(
        root,
        pattern="{condition}/*.tif",
        out=tmp_path / "out",
        method=["top10%", "otsu"],
        measures=["pearson", "thresholded_manders", "tos"],
        workers=1,
    )
    table = result.read_coefficients()
    assert set(table["threshold_source"]) == {"top10%", "Otsu"}
    summary = result.read_summary()
    for column in ("tos_linear_mean", "tos_log2_mean", "tos_linear_sem", "tos_linear_n"):
        assert column in summary.columns
    top = table[table["threshold_source"] == "top10%"]
    assert summary.loc[summary["threshold_source"] == "top10%", "tos_linear_mean"].iloc[
        0
    ] == pytest.approx(top["tos_linear"].mean())
    plain = colocalize.batch(
        root, pattern="{condition}/*.tif", out=tmp_path / "plain", method="Otsu", workers=1
    )
    assert "tos_linear_mean" not in plain.read_summary().columns


def _handle(values: dict, a: np.ndarray, b: np.ndarray):
    from colocalize._image import Image
    from colocalize.imagej._catalog import commands
    from colocalize.imagej._contract import ImageData, Request

    found = commands()["coefficients"]
    request_values = {f.key: f.default for f in found.spec.fields if f.key} | values
    images = {
        "image_1": ImageData(Image(a, axes="YX", name="A")),
        "image_2": ImageData(Image(b, axes="YX", name="B")),
    }
    request = Request("coefficients", values=request_values, images=images, masks={})
    response = found.handler(request, lambda *args, **kwargs: None)
    return {t.title: pd.DataFrame(dict(t.columns)) for t in response.tables}, response


def test_imagej_dialog_top_percent():
    a, b = _pair(np.uint8, seed=7)
    values = {
        "image_1": "A",
        "image_2": "B",
        "threshold": "Top %",
        "top_percent": 20.0,
        "colocalized_pixel_mask": True,
    }
    tables, response = _handle(values, a, b)
    row = next(iter(tables.values())).iloc[0]
    want = coefficients(a, b, thresholds="top20%")
    assert row["threshold0"] == want.threshold0
    assert row["tm1"] == pytest.approx(want.tm1)
    assert row["Threshold method"] == "top20%"
    mask = np.asarray(response.images[0].image.data) != 0
    assert mask.sum() == round(want.fraction_colocalized * a.size)
    with pytest.raises(ValueError, match=r"top_percent=0 is not a percentage"):
        _handle(values | {"top_percent": 0.0}, a, b)


def test_imagej_dialog_manual_lower_bounds(tmp_path: Path):
    """Manual thresholds with manual_comparison '>=' are the lower bounds of ImageJ's Threshold
    dialog: every field and the colocalized pixel mask count x >= L."""
    a, b = _pair(np.uint16, seed=9)
    l0, l1 = _level(a), _level(b)
    values = {
        "image_1": "A",
        "image_2": "B",
        "threshold": "Manual",
        "threshold_1": l0,
        "threshold_2": l1,
        "manual_comparison": ">=",
        "colocalized_pixel_mask": True,
    }
    tables, response = _handle(values, a, b)
    row = next(iter(tables.values())).iloc[0]
    fg0, fg1 = a >= l0, b >= l1
    expected = _expected(a, b, fg0, fg1)
    for key in ("tm1", "tm2", "tm1_own", "fraction_colocalized", "pearson_below"):
        assert row[key] == pytest.approx(expected[key], rel=1e-9), key
    assert row["Threshold method"] == "Manual >="
    mask = np.asarray(response.images[0].image.data) != 0
    assert (mask == (fg0 & fg1)).all()
    with pytest.raises(ValueError, match=r"manual_comparison=>= is for the table only"):
        _handle(values | {"report": str(tmp_path / "report.pdf")}, a, b)
    assert not (tmp_path / "report.pdf").exists()
    tables, _ = _handle(values | {"manual_comparison": "peers"}, a, b)  # Coloc 2's rule
    row = next(iter(tables.values())).iloc[0]
    assert row["tm1_own"] == pytest.approx(_expected(a, b, a > l0, b > l1)["tm1_own"], rel=1e-9)


@pytest.fixture(scope="module")
def ij_classes(ij):
    return {
        "ByteProcessor": ij.JClass("ij.process.ByteProcessor"),
        "ShortProcessor": ij.JClass("ij.process.ShortProcessor"),
        "ImageProcessor": ij.JClass("ij.process.ImageProcessor"),
        "jpype": ij,
    }


def _imagej_threshold(ij_classes, image: np.ndarray, method: str) -> tuple[float, np.ndarray]:
    """ImageJ's ``setAutoThreshold(method dark)``: the lower bound its Threshold dialog shows
    and the pixels ``createMask`` selects."""
    jp = ij_classes["jpype"]
    h, w = image.shape
    if image.dtype == np.uint8:
        ip = ij_classes["ByteProcessor"](w, h, jp.JArray(jp.JByte)(image.ravel().view(np.int8)))
    else:
        pixels = jp.JArray(jp.JShort)(image.ravel().view(np.int16))
        ip = ij_classes["ShortProcessor"](w, h, pixels, None)
    ip.setAutoThreshold(method, True, ij_classes["ImageProcessor"].NO_LUT_UPDATE)
    lower = float(ip.getMinThreshold())
    selected = np.asarray(ip.createMask().getPixels(), dtype=np.int8).reshape(image.shape) != 0
    return lower, selected


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("method", ["Otsu", "Li", "Triangle"])
def test_thresholds_copied_from_imagej_select_its_pixels(ij_classes, dtype, method):
    """ImageJ's dialog lower bound L with threshold_comparison='>=', ImageJ's t = L - 1 with
    '>', and the method's name all count exactly ImageJ's pixels, in every field."""
    a, b = _pair(dtype, seed=8)
    (l0, fg0), (l1, fg1) = (_imagej_threshold(ij_classes, x, method) for x in (a, b))
    assert ((a >= l0) == fg0).all()
    assert ((b >= l1) == fg1).all()
    expected = _expected(a, b, fg0, fg1)
    by_name = coefficients(a, b, thresholds=method, measures=ALL)
    assert (by_name.threshold0, by_name.threshold1) == (l0 - 1, l1 - 1)  # ImageJ's t
    _check(by_name, expected)
    measures = ALL
    lower = coefficients(a, b, thresholds=(l0, l1), threshold_comparison=">=", measures=measures)
    _check(lower, expected)
    t = coefficients(a, b, thresholds=(l0 - 1, l1 - 1), threshold_comparison=">", measures=measures)
    _check(t, expected)


@pytest.mark.imagej_command
def test_macro_options_top_percent_and_manual_comparison(session):
    """The new dialog keys as a macro passes them (``threshold=[Top %]``, ``>=`` as a choice)
    through ImageJ itself."""
    from colocalize.imagej import from_results_table, get_table, to_imageplus

    a, b = _pair(np.uint16, seed=12)
    for data, title in ((a, "green"), (b, "red")):
        to_imageplus(data, title=title).show()
    macro = (
        'run("Coloc Coefficients...", "image_1=green image_2=red threshold=[Top %] '
        'top_percent=20"); return "finished";'
    )
    assert str(session.IJ.runMacro(macro)) == "finished"
    row = from_results_table(get_table("Colocalization coefficients")).iloc[-1]
    want = coefficients(a, b, thresholds="top20%")
    assert row["threshold0"] == want.threshold0
    assert row["tm1"] == pytest.approx(want.tm1, rel=1e-9)
    l0, l1 = _level(a), _level(b)
    macro = (
        f'run("Coloc Coefficients...", "image_1=green image_2=red threshold=Manual '
        f'threshold_1={l0:g} threshold_2={l1:g} manual_comparison=>="); return "finished";'
    )
    assert str(session.IJ.runMacro(macro)) == "finished"
    row = from_results_table(get_table("Colocalization coefficients")).iloc[-1]
    want = coefficients(a, b, thresholds=(l0, l1), threshold_comparison=">=")
    assert row["tm1"] == pytest.approx(want.tm1, rel=1e-9)
    assert row["tm1_own"] == pytest.approx(want.tm1_own, rel=1e-9)
