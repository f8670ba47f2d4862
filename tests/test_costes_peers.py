"""Costes' thresholds against the peers that compute them (issue 15).

JACoP: Bolte & Cordelières' plugin, github.com/fabricecordelieres/IJ-Plugin_JACoP at commit
291f24ce97afc7547e9cdb3aadc7c64ab9d62aac (JACoP 2.1.4, ``ImageColocalizer.CostesAutoThr``),
compiled against Debian's ImageJ 1.53t and run on each pair as image A / image B; the numbers
below are what it logged ("Costes' automatic threshold set to TA for imgA & TB for imgB").

EzColocalization: github.com/DrHanLim/EzColocalization at commit
c8abc7b3f10d0eb4dbd27aaea1a0d2d3b3b879ca (2020-12-23, the 1.1.x release), its
``ezcol.metric.CostesThreshold.getCostesThrd`` compiled against Debian's ImageJ 1.53t and run by
a small driver on each pair's pixels as Java floats, in Ez's order (a whole image row by row, a
cell mask column by column within each plane; a stack plane by plane); the numbers below are the
doubles it returned, printed with Java's ``Double.toString`` (which round-trips).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tifffile

import colocalize
from colocalize import ColocalizeWarning, costes_threshold

# JACoP's (threshold A, threshold B) on every channel pair of the bundled samples.
JACOP_NEURON = {
    (0, 1): (1455, 404),
    (0, 2): (1296, 613),
    (0, 3): (1302, 135),
    (1, 2): (401, 788),
    (1, 3): (401, 187),
    (2, 3): (610, 171),
}
JACOP_NEOCORTEX = {(0, 1): (49, 5661), (0, 2): (49, 8548), (1, 2): (65, 4537)}
# Coloc 2's test images: colocsample1b green/red, and the zero-correlation stacks (a negative
# least-squares slope: JACoP's loop is empty and it reports the channel maxima).
JACOP_COLOC2 = {
    ("colocsample1b-green.tif", "colocsample1b-red.tif"): (15, 10),
    ("greenZstack.tif", "redZstack.tif"): (232, 232),
}


def _jacop(a, b) -> colocalize.CostesResult:
    """method='jacop', whether or not it converged (the warning is tested in test_costes)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*never reached 0", ColocalizeWarning)
        return costes_threshold(a, b, method="jacop")


@pytest.mark.parametrize(("pair", "expected"), sorted(JACOP_NEURON.items()))
def test_jacop_neuron_4ch(pair, expected):
    sample = colocalize.data.neuron_4ch()
    res = _jacop(sample.channel(pair[0]), sample.channel(pair[1]))
    assert (res.threshold0, res.threshold1) == expected


@pytest.mark.parametrize(("pair", "expected"), sorted(JACOP_NEOCORTEX.items()))
def test_jacop_neocortex_3ch(pair, expected):
    sample = colocalize.data.neocortex_3ch()
    res = _jacop(sample.channel(pair[0]), sample.channel(pair[1]))
    assert (res.threshold0, res.threshold1) == expected


@pytest.mark.parametrize(("files", "expected"), sorted(JACOP_COLOC2.items()))
def test_jacop_coloc2_sample(coloc2_dir, files, expected):
    a = tifffile.imread(coloc2_dir / files[0])
    b = tifffile.imread(coloc2_dir / files[1])
    res = _jacop(a, b)
    assert (res.threshold0, res.threshold1) == expected


# JACoP's "Using thresholds" overlap, k1, k2 (``ImageColocalizer.Overlap(thrA, thrB)``: pixels
# with A > thrA AND B > thrB), as it logs them: truncated (not rounded) to 3 decimals.
JACOP_THRESHOLDED_OVERLAP = {
    ("neuron", 0, 1, 1455, 404): (0.78, 0.454, 1.34),
    ("neuron", 2, 3, 610, 171): (0.845, 0.245, 2.911),
    ("neocortex", 1, 2, 65, 4537): (0.808, 1.362, 0.48),
}


def _truncated(x: float) -> float:
    """JACoP's ``round(x, 3)``: ``(int)(x * 1000) / 1000``."""
    return int(x * 1000) / 1000


@pytest.mark.parametrize(("case", "expected"), sorted(JACOP_THRESHOLDED_OVERLAP.items()))
def test_jacop_thresholded_overlap_k1_k2(case, expected):
    name, i, j, t0, t1 = case
    sample = colocalize.data.neuron_4ch() if name == "neuron" else colocalize.data.neocortex_3ch()
    c = colocalize.coefficients(
        sample.channel(i), sample.channel(j), thresholds=(t0, t1), measures="thresholded_overlap"
    )
    assert tuple(map(_truncated, (c.toverlap, c.tk1, c.tk2))) == expected


def test_jacop_thresholded_overlap_coloc2_sample(coloc2_dir):
    a = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    b = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    c = colocalize.coefficients(a, b, thresholds=(15, 10), measures="thresholded_overlap")
    assert tuple(map(_truncated, (c.toverlap, c.tk1, c.tk2))) == (0.852, 0.649, 1.117)


# EzColocalization's (T_A, T_B): continuous, and negative where its least-squares line crosses
# zero inside the data (neuron c0/c1, c1/c2; neocortex c1/c2; the zero-correlation stacks).
EZ_NEURON = {
    (0, 1): (1298.0, -21.145672492133144),
    (0, 2): (1485.0, 783.7019576357698),
    (0, 3): (1560.0, 207.3652071314607),
    (1, 2): (-278.50220883807054, 645.0),
    (1, 3): (642.0, 203.5836204946509),
    (2, 3): (844.0, 205.303087817828),
}
EZ_NEOCORTEX = {
    (0, 1): (16544.0, 6479.031808571325),
    (0, 2): (16576.0, 10281.905778510614),
    (1, 2): (-5817.773431383084, 80.0),
}
# Coloc 2's sample: green/red without and with its mask (the file, non-zero inside), and the
# zero-correlation stacks (a negative slope: Ez's second branch).
EZ_COLOC2 = {
    ("colocsample1b-green.tif", "colocsample1b-red.tif", None): (8.0, 6.845905894710453),
    ("colocsample1b-green.tif", "colocsample1b-red.tif", "colocsample1b-mask.tif"): (
        63.0,
        53.960596072963085,
    ),
    ("greenZstack.tif", "redZstack.tif", None): (-205.83994052645656, 206.0),
}
# Ez's least-squares line on the Coloc 2 sample (its ``linreg``, float32 products).
EZ_COLOC2_LINE = (0.57419205366304, 2.2523694654061335)


def _ez(a, b, mask=None) -> colocalize.CostesResult:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*never reached 0", ColocalizeWarning)
        return costes_threshold(a, b, mask=mask, method="ezcolocalization")


@pytest.mark.parametrize(("pair", "expected"), sorted(EZ_NEURON.items()))
def test_ezcolocalization_neuron_4ch(pair, expected):
    sample = colocalize.data.neuron_4ch()
    res = _ez(sample.channel(pair[0]), sample.channel(pair[1]))
    assert (res.threshold0, res.threshold1) == expected


@pytest.mark.parametrize(("pair", "expected"), sorted(EZ_NEOCORTEX.items()))
def test_ezcolocalization_neocortex_3ch(pair, expected):
    sample = colocalize.data.neocortex_3ch()
    res = _ez(sample.channel(pair[0]), sample.channel(pair[1]))
    assert (res.threshold0, res.threshold1) == expected


@pytest.mark.parametrize(("files", "expected"), sorted(EZ_COLOC2.items(), key=str))
def test_ezcolocalization_coloc2_sample(coloc2_dir, files, expected):
    a = tifffile.imread(coloc2_dir / files[0])
    b = tifffile.imread(coloc2_dir / files[1])
    mask = None if files[2] is None else tifffile.imread(coloc2_dir / files[2])
    res = _ez(a, b, mask)
    assert (res.threshold0, res.threshold1) == expected
    assert res.step == 0.0


def test_ezcolocalization_line_coloc2_sample(coloc2_dir):
    a = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    b = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    res = _ez(a, b)
    assert (res.slope, res.intercept) == EZ_COLOC2_LINE


# Small pixel sets full of ties, where the pixel Ez reads its thresholds from depends on the
# order its unstable quicksort leaves equal values in (a stable sort gives the second value:
# (1, 9), (2, 2), (1, 3), (4, 6)). Pixels as (A; B) in Ez's input order, with its answer.
EZ_TIES = [
    ("1 2 2 6 0 0 4 1 6 4", "6 7 9 4 11 9 7 12 4 5", (2.0, 8.0)),  # slope -1, ties held
    ("0 2 1 2", "3 3 0 2", (float("nan"), 2.0)),  # slope exactly 0: (p - b) / 0
    ("3 2 1 6 6 2 7 3 7", "5 0 5 1 2 0 0 4 3", (-3.0, 4.0)),
    ("4 5 1 1 5 4 6 7 6 1 1 6 7 6 1 1", "8 6 9 9 4 4 5 0 4 9 9 4 6 3 9 9", (7.0, 3.0)),
]


@pytest.mark.parametrize(("a", "b", "expected"), EZ_TIES)
def test_ezcolocalization_tie_order(a, b, expected):
    x = np.array(a.split(), dtype=np.uint8)
    y = np.array(b.split(), dtype=np.uint8)
    res = _ez(x, y)
    np.testing.assert_array_equal((res.threshold0, res.threshold1), expected)


def test_ezcolocalization_reads_a_mask_column_by_column():
    """Ez reads a whole image row by row and a cell mask column by column: the same pixels in
    another order tie differently (Ez on these 2x5 pixels: (2, 8) whole, (1, 9) masked)."""
    x = np.array([[1, 2, 2, 6, 0], [0, 4, 1, 6, 4]], dtype=np.uint8)
    y = np.array([[6, 7, 9, 4, 11], [9, 7, 12, 4, 5]], dtype=np.uint8)
    whole = _ez(x, y)
    masked = _ez(x, y, np.ones(x.shape, bool))
    assert (whole.threshold0, whole.threshold1) == (2.0, 8.0)
    assert (masked.threshold0, masked.threshold1) == (1.0, 9.0)


# EzColocalization's M1/M2 ("MCC") with its Costes thresholds, as its BasicCalculator.getMCC
# returns them (pixels with A > T_A AND B > T_B): our tm1_own/tm2_own with Ez's thresholds.
EZ_MCC = {
    ("neuron", 0, 1): (1.0, 0.9976665737211258),
    ("neuron", 0, 3): (0.25595049797590924, 0.7019407630190259),
    ("neocortex", 0, 1): (0.5214487880361174, 0.0365264968301821),
}


@pytest.mark.parametrize(("case", "expected"), sorted(EZ_MCC.items()))
def test_ezcolocalization_thresholds_in_coefficients_give_ez_mcc(case, expected):
    """thresholds="costes", costes_method="ezcolocalization" uses Ez's thresholds as they are
    (also a negative T_B) and Ez's MCC is our tm1_own / tm2_own."""
    name, i, j = case
    sample = colocalize.data.neuron_4ch() if name == "neuron" else colocalize.data.neocortex_3ch()
    c = colocalize.coefficients(
        sample.channel(i),
        sample.channel(j),
        thresholds="costes",
        costes_method="ezcolocalization",
        measures="thresholded_manders",
    )
    np.testing.assert_allclose((c.tm1_own, c.tm2_own), expected, rtol=1e-12)
    ez = EZ_NEURON if name == "neuron" else EZ_NEOCORTEX
    assert (c.threshold0, c.threshold1) == ez[(i, j)]


def test_ezcolocalization_mcc_coloc2_sample(coloc2_dir):
    a = tifffile.imread(coloc2_dir / "colocsample1b-green.tif")
    b = tifffile.imread(coloc2_dir / "colocsample1b-red.tif")
    c = colocalize.coefficients(
        a, b, thresholds="costes", costes_method="ezcolocalization", measures="thresholded_manders"
    )
    assert (c.threshold0, c.threshold1) == (8.0, 6.845905894710453)
    np.testing.assert_allclose(
        (c.tm1_own, c.tm2_own), (0.766917582074732, 0.8184501467631392), rtol=1e-12
    )


def _tie_image():
    x = np.array([[1, 2, 2, 6, 0], [0, 4, 1, 6, 4]], dtype=np.uint8)
    y = np.array([[6, 7, 9, 4, 11], [9, 7, 12, 4, 5]], dtype=np.uint8)
    return np.stack([x, y])


def test_ezcolocalization_in_the_cli_and_batch(tmp_path, capsys):
    """--costes-method ezcolocalization in `coefficients` and `batch`: Ez's thresholds."""
    from io import StringIO

    import pandas as pd

    from colocalize._cli._main import main

    img = _tie_image()
    path = tmp_path / "data" / "two.tif"
    path.parent.mkdir()
    tifffile.imwrite(path, img, imagej=True, metadata={"axes": "CYX"})
    args = ["--thresholds", "costes", "--costes-method", "ezcolocalization", "--csv"]
    assert main(["coefficients", str(path), *args]) == 0
    row = pd.read_csv(StringIO(capsys.readouterr().out)).iloc[0]
    assert (row["threshold0"], row["threshold1"]) == (2.0, 8.0)
    out = tmp_path / "out"
    code = main(
        [
            "batch",
            str(tmp_path / "data"),
            "--pattern",
            "*.tif",
            "--out",
            str(out),
            "--method",
            "costes",
            "--costes-method",
            "ezcolocalization",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    row = pd.read_csv(out / "coefficients.csv").iloc[0]
    assert (row["threshold0"], row["threshold1"]) == (2.0, 8.0)


def test_ezcolocalization_in_the_imagej_coefficients_dialog():
    """The Coloc Coefficients dialog offers it (Costes_method) and its handler uses it."""
    from colocalize import Image
    from colocalize.imagej._catalog import commands
    from colocalize.imagej._contract import ImageData, Request

    found = commands()["coefficients"]
    field = next(f for f in found.spec.fields if f.key == "costes_method")
    assert "ezcolocalization" in field.choices
    img = _tie_image()
    values = {f.key: f.default for f in found.spec.fields if f.key} | {
        "image_1": "A",
        "image_2": "B",
        "threshold": "Costes",
        "costes_method": "ezcolocalization",
    }
    request = Request(
        "coefficients",
        values=values,
        images={
            "image_1": ImageData(Image(img[0], axes="YX", name="A")),
            "image_2": ImageData(Image(img[1], axes="YX", name="B")),
        },
    )
    with warnings.catch_warnings():  # 10 pixels: nothing above both thresholds
        warnings.simplefilter("ignore", ColocalizeWarning)
        response = found.handler(request, lambda *args, **kwargs: None)
    columns = dict(response.tables[0].columns)
    assert (columns["threshold0"][0], columns["threshold1"][0]) == (2.0, 8.0)
