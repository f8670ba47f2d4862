"""coefficient_table, bivariate histograms and the coefficients/demo command line."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from colocalize import (
    ColocalizeWarning,
    Image,
    bivariate_histogram,
    coefficient_table,
    coefficients,
    costes_threshold,
    triple_coefficients,
    write_image,
)
from colocalize._cli._main import main
from conftest import require_module, skip_or_fail


def _image(dtype=np.uint16, shape=(3, 24, 30), seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random(shape[1:])
    channels = [base * 1000, base * 600 + rng.random(shape[1:]) * 400, rng.random(shape[1:]) * 900]
    return np.stack(channels[: shape[0]]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_table_rows_equal_pairwise_calls(dtype):
    img = _image(dtype)
    mask = np.zeros(img.shape[1:], bool)
    mask[4:20, 3:25] = True
    t = (30, 60, 90)
    table = coefficient_table(img, channel_axis=0, mask=mask, thresholds=t)
    assert list(zip(table.channel0, table.channel1)) == [("C0", "C1"), ("C0", "C2"), ("C1", "C2")]
    for _, row in table.iterrows():
        i, j = int(row.channel0[1]), int(row.channel1[1])
        expected = coefficients(img[i], img[j], mask=mask, thresholds=(t[i], t[j]))
        for f in dataclasses.fields(expected):
            np.testing.assert_allclose(
                row[f.name], getattr(expected, f.name), atol=1e-12, equal_nan=True
            )
    assert table.attrs["measures"] == list(expected.measures)


def test_channel_axis_last_and_names_and_pairs():
    img = np.moveaxis(_image(), 0, -1)
    table = coefficient_table(
        img, channel_axis=-1, channel_names=["a", "b", "c"], pairs=[("c", "a"), (1, 2)]
    )
    assert list(zip(table.channel0, table.channel1)) == [("c", "a"), ("b", "c")]
    assert table.pearson.iloc[0] == pytest.approx(coefficients(img[..., 2], img[..., 0]).pearson)


def test_labels_give_one_row_per_object_and_pair():
    img = _image()
    labels = np.zeros(img.shape[1:], int)
    labels[:10, :10] = 1
    labels[12:, 15:] = 7
    table = coefficient_table(img, channel_axis=0, labels=labels)
    assert list(table.label) == [1, 1, 1, 7, 7, 7]
    row = table[(table.label == 7) & (table.channel0 == "C0") & (table.channel1 == "C2")].iloc[0]
    expected = coefficients(img[0], img[2], mask=labels == 7)
    assert row.pearson == pytest.approx(expected.pearson)
    assert row.kendall_tau == pytest.approx(expected.kendall_tau)
    assert row.n_pixels == expected.n_pixels


def test_triples_rows():
    img = _image()
    table = coefficient_table(img, channel_axis=0, triples=True, thresholds=(100, 200, 300))
    triples = table[table.channel2 != ""]
    assert len(triples) == 1
    expected = triple_coefficients(img[0], img[1], img[2], thresholds=(100, 200, 300))
    assert triples.triple_overlap.iloc[0] == pytest.approx(expected.overlap)
    assert triples.triple_m2.iloc[0] == pytest.approx(expected.m2)
    assert math.isnan(triples.pearson.iloc[0])


def test_image_object_supplies_axis_and_names():
    img = Image(data=_image(), axes="CYX", channel_names=("x", "y", "z"))
    table = coefficient_table(img)
    assert set(table.channel0) | set(table.channel1) == {"x", "y", "z"}


def test_costes_per_pair_and_per_object():
    img = _image(np.uint8)
    table = coefficient_table(img, channel_axis=0, thresholds="costes")
    expected = costes_threshold(img[0], img[1])
    assert table.threshold0.iloc[0] == expected.threshold0
    assert table.threshold1.iloc[0] == expected.threshold1


def test_empty_object_warns_and_table_continues():
    img = _image()
    mask = np.zeros(img.shape[1:], bool)
    mask[:5] = True
    labels = np.zeros(img.shape[1:], int)
    labels[:5, :5] = 1
    labels[10:, :] = 2  # entirely outside the mask: a NaN row and a warning, nothing raised
    with pytest.warns(ColocalizeWarning, match="no pixel"):
        table = coefficient_table(img, channel_axis=0, labels=labels, mask=mask)
    assert list(table.label) == [1, 1, 1, 2, 2, 2]
    assert table[table.label == 2].pearson.isna().all()
    assert (table[table.label == 2].n_pixels == 0).all()
    assert table[table.label == 1].pearson.notna().all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "channel_axis is required"),
        ({"channel_axis": 5}, ValueError, "out of range"),
        ({"channel_axis": 0, "channel_names": ["a"]}, ValueError, "1 names for 3 channels"),
        ({"channel_axis": 0, "pairs": [("a", "b")]}, ValueError, "pairs='a' is not a channel"),
        ({"channel_axis": 0, "pairs": [(0, 3)]}, ValueError, "index from -3 to 2 or one of"),
        ({"channel_axis": 0, "labels": np.ones((2, 2), int)}, ValueError, "labels has shape"),
        ({"channel_axis": 0, "labels": np.full((24, 30), 0.5)}, TypeError, "integer label"),
    ],
)
def test_table_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        coefficient_table(_image(), **kwargs)


def test_bivariate_histogram_counts_and_edges():
    a = np.array([0, 1, 1, 3, 3, 3], dtype=np.uint8)
    b = np.array([2, 2, 0, 1, 1, 3], dtype=np.uint8)
    h = bivariate_histogram(a, b)
    assert h.counts.shape == (4, 4)
    assert h.counts[3, 1] == 2
    assert h.n_pixels == 6
    assert np.isneginf(h.log_probability()[2, 2])
    f = bivariate_histogram(a.astype(float) * 10.5, b.astype(float), nbins=5)
    assert f.counts.shape == (5, 5)
    assert f.counts.sum() == 6
    assert f.edges0[0] == 0
    assert f.edges0[-1] == pytest.approx(31.5)
    with pytest.raises(ValueError, match="nbins"):
        bivariate_histogram(a, b, nbins=0)


def test_plot_bivariate_histogram_returns_axes():
    require_module("matplotlib")
    from matplotlib.figure import Figure

    from colocalize.plot import bivariate_histogram as plot

    ax = Figure().add_subplot()
    out = plot(bivariate_histogram(*_image(np.uint8)[:2]), ax, labels=("x", "y"), thresholds=(5, 9))
    assert out is ax
    assert ax.get_xlabel() == "x"


# --- command line -------------------------------------------------------------------------


@pytest.fixture
def tiff(tmp_path):
    path = tmp_path / "img.tif"
    write_image(
        path,
        _image(),
        axes="CYX",
        spacing=(0.2, 0.2),
        unit="um",
        channel_names=["red", "green", "blue"],
    )
    return path


def test_cli_coefficients_csv_matches_api(tiff, capsys, tmp_path):
    mask = np.zeros((24, 30), bool)
    mask[3:20, 2:28] = True
    write_image(tmp_path / "mask.tif", mask)
    assert (
        main(
            [
                "coefficients",
                str(tiff),
                "--mask",
                str(tmp_path / "mask.tif"),
                "--thresholds",
                "10",
                "20",
                "30",
                "--csv",
            ]
        )
        == 0
    )
    from io import StringIO

    table = pd.read_csv(StringIO(capsys.readouterr().out), keep_default_na=False, na_values=[""])
    expected = coefficient_table(
        _image(),
        channel_axis=0,
        mask=mask,
        thresholds=(10, 20, 30),
        channel_names=["red", "green", "blue"],
    )
    np.testing.assert_allclose(table.pearson, expected.pearson, atol=1e-12)
    np.testing.assert_allclose(table.tm1, expected.tm1, atol=1e-12)
    assert list(table.channel0) == ["red", "red", "green"]


def test_cli_coefficients_json_and_text(tiff, capsys):
    assert main(["coefficients", str(tiff), "--channels", "blue", "red", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["channel0"], r["channel1"]) for r in records] == [("blue", "red")]
    assert main(["coefficients", str(tiff), "--triples"]) == 0
    text = capsys.readouterr().out
    assert "pearson" in text
    assert "Triples" in text


def test_cli_errors_are_one_line(tiff, tmp_path, capsys):
    assert main(["coefficients", str(tmp_path / "missing.tif")]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["coefficients", str(tiff), "--thresholds", "1", "x"]) == 2
    assert "--thresholds" in capsys.readouterr().err
    # an unknown channel: a one-line error (an out-of-range index was an IndexError traceback)
    for bad in ("5", "bogus"):
        assert main(["coefficients", str(tiff), "--channels", bad, "0"]) == 2
        assert f"--channels={bad!r} is not a channel" in capsys.readouterr().err
    assert main(["coefficients", str(tiff), "--channels", "-1", "0", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("blue,red,")


def test_demo_writes_results(tmp_path, capsys):
    require_module("matplotlib")
    from colocalize import data

    try:
        data.neuron_4ch()
    except ModuleNotFoundError as exc:
        skip_or_fail(str(exc))
    out = tmp_path / "results"
    assert main(["demo", "--out", str(out)]) == 0
    table = pd.read_csv(out / "coefficients.csv", keep_default_na=False, na_values=[""])
    assert len(table) == 6 + 4
    assert len(list(out.glob("histogram_*.png"))) == 6
    assert (out / "cell_mask.tif").is_file()
    printed = capsys.readouterr().out
    assert "NCOA4" in printed
    assert "Triples" in printed
    pairs = table[table.channel2 == ""]
    assert (pairs.n_pixels > 10000).all()
    assert pairs.pearson.between(-1, 1).all()


def test_time_axis_gives_rows_per_frame():
    rng = np.random.default_rng(4)
    movie = rng.integers(0, 200, size=(4, 2, 16, 18), dtype=np.uint8)  # (T, C, Y, X)
    masks = rng.random((4, 16, 18)) > 0.3
    table = coefficient_table(movie, channel_axis=1, time_axis=0, mask=masks)
    assert list(table.frame) == [0, 1, 2, 3]
    for t in range(4):
        expected = coefficients(movie[t, 0], movie[t, 1], mask=masks[t])
        assert table.pearson.iloc[t] == pytest.approx(expected.pearson)
    pooled = coefficient_table(movie, channel_axis=1)
    assert pooled.n_pixels.iloc[0] == 4 * 16 * 18
    with pytest.raises(ValueError, match="must differ"):
        coefficient_table(movie, channel_axis=1, time_axis=1)


def test_cli_measures_subset_and_unknown_name(tiff, capsys):
    assert main(["coefficients", str(tiff), "--measures", "pearson", "manders", "--csv"]) == 0
    from io import StringIO

    table = pd.read_csv(StringIO(capsys.readouterr().out), keep_default_na=False, na_values=[""])
    expected = coefficient_table(_image(), channel_axis=0, measures=["pearson", "manders"])
    np.testing.assert_allclose(table.pearson, expected.pearson, atol=1e-12)
    np.testing.assert_allclose(table.m1, expected.m1, atol=1e-12)
    assert table.kendall_tau.isna().all()
    assert table.overlap.isna().all()
    assert main(["coefficients", str(tiff), "--measures", "pearson", "tau"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--measures got tau" in err
    assert "thresholded_manders" in err


# ------------------------------------------------------------------------------------------
# Costes' method and convergence in tables and the CLI (issue 15)
# ------------------------------------------------------------------------------------------


def _costes_image() -> np.ndarray:
    """Two channels whose Costes searches converge, and a proportional third that cannot."""
    rng = np.random.default_rng(15)
    a = rng.integers(0, 20, (64, 64))
    b = 19 - a + rng.integers(0, 3, (64, 64))
    signal = rng.integers(60, 200, (64, 64))
    spots = rng.random((64, 64)) < 0.2
    a = np.where(spots, signal, a)
    b = np.where(spots, signal // 2 + rng.integers(0, 5, (64, 64)), b)
    return np.stack([a, b]).astype(np.uint8)


@pytest.mark.parametrize("method", ["bisection", "classic", "jacop"])
def test_table_costes_method_and_converged_column(method):
    img = _costes_image()
    table = coefficient_table(img, channel_axis=0, thresholds="costes", costes_method=method)
    expected = coefficients(img[0], img[1], thresholds="costes", costes_method=method)
    row = table.iloc[0]
    assert (row["threshold0"], row["threshold1"]) == (expected.threshold0, expected.threshold1)
    assert row["costes_converged"] == 1.0
    assert math.isnan(coefficient_table(img, channel_axis=0).iloc[0]["costes_converged"])


def test_table_costes_not_converged_per_frame():
    ramp = np.tile(np.arange(1, 201, dtype=np.uint16), (20, 1))
    img = np.stack([np.stack([ramp, 2 * ramp])] * 2)  # (T, C, M, N)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)  # also: too few pixels below
        table = coefficient_table(img, channel_axis=1, time_axis=0, thresholds="costes")
    assert sum("never reached 0" in str(w.message) for w in caught) == 2
    assert table["costes_converged"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="costes_method"):
        coefficient_table(img, channel_axis=1, thresholds="costes", costes_method="x")


def test_cli_costes_method(tmp_path, capsys):
    from io import StringIO

    import tifffile

    img = _costes_image()
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, img, imagej=True, metadata={"axes": "CYX"})
    assert (
        main(
            [
                "coefficients",
                str(path),
                "--thresholds",
                "costes",
                "--costes-method",
                "jacop",
                "--csv",
            ]
        )
        == 0
    )
    table = pd.read_csv(StringIO(capsys.readouterr().out))
    expected = coefficients(img[0], img[1], thresholds="costes", costes_method="jacop")
    assert table["threshold0"].tolist() == [expected.threshold0]
    assert table["costes_converged"].tolist() == [1.0]
    with pytest.raises(SystemExit) as exit_info:
        main(["coefficients", str(path), "--thresholds", "costes", "--costes-method", "ez"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'ez'" in capsys.readouterr().err


def test_cli_costes_methods_match_the_core():
    from colocalize import _costes
    from colocalize._cli import _coefficients as _cli_coefficients

    assert _cli_coefficients.COSTES_METHODS == _costes.COSTES_METHODS
