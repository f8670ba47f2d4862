"""Costes' thresholds against the peers that compute them (issue 15).

JACoP: Bolte & Cordelières' plugin, github.com/fabricecordelieres/IJ-Plugin_JACoP at commit
291f24ce97afc7547e9cdb3aadc7c64ab9d62aac (JACoP 2.1.4, ``ImageColocalizer.CostesAutoThr``),
compiled against Debian's ImageJ 1.53t and run on each pair as image A / image B; the numbers
below are what it logged ("Costes' automatic threshold set to TA for imgA & TB for imgB").
"""

from __future__ import annotations

import warnings

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
