"""Batch figures (colocalize.plot) and the HTML report of a finished batch."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import colocalize
import colocalize.plot as cplot
from colocalize._batch._histograms import condition_histograms
from colocalize._batch._synthetic import make_repository
from colocalize._cli._main import main

PATTERN = "{organelle}/{time}min/series{series}/*.tif"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("repo")
    make_repository(root, organelles=("er", "golgi"), times=(5, 30), series=(1, 2), shape=(32, 32))
    (root / "golgi" / "5min" / "series1" / "bad.tif").write_bytes(b"\x00" * 10)
    manual = root.parent / "manual.csv"
    rows = [
        f"{f.relative_to(root).as_posix()},{c},20"
        for f in sorted(root.rglob("image*.tif"))
        for c in ("red", "green", "blue")
    ]
    manual.write_text("image,channel,threshold\n" + "\n".join(rows) + "\n")
    out = tmp_path_factory.mktemp("out")
    return colocalize.batch(
        root, pattern=PATTERN, out=out, workers=1, thresholds=manual, method="Otsu"
    )


def test_condition_histograms_pool_every_selected_pixel(finished) -> None:
    cells = condition_histograms(finished.out, nbins=256)
    # 3 pairs x 4 conditions x 2 sources
    assert len(cells) == 24
    assert {c.threshold_source for c in cells} == {"manual", "Otsu"}
    cell = next(
        c
        for c in cells
        if (c.channel0, c.channel1, c.threshold_source) == ("red", "green", "Otsu")
        and c.condition == "organelle=er, time=5"
    )
    assert cell.n_images == 2
    # uint8: one bin per value; counts = pixels not zero in both and below 255 in both
    assert cell.histogram.edges0.size == 257
    total = 0
    for series in (1, 2):
        path = _root(finished) / f"er/5min/series{series}/image0.tif"
        image = colocalize.read_image(path)
        a, b = image.channel("red"), image.channel("green")
        total += int(np.sum(((a != 0) | (b != 0)) & (a < 255) & (b < 255)))
    assert cell.histogram.n_pixels == total
    # the manual cells hold background-corrected values: more zeros removed
    manual = next(
        c
        for c in cells
        if (c.channel0, c.channel1, c.threshold_source) == ("red", "green", "manual")
        and c.condition == "organelle=er, time=5"
    )
    assert manual.histogram.n_pixels < cell.histogram.n_pixels
    limited = condition_histograms(finished.out, nbins=32, max_images=1)
    assert all(c.n_images == 1 for c in limited)
    assert limited[0].histogram.counts.shape == (32, 32)


def _root(result) -> Path:
    import json

    return Path(json.loads(result.provenance.read_text())["parameters"]["root"])


def test_histogram_panel_layout(finished) -> None:
    fig = cplot.histogram_panel(finished.out, nbins=32)
    grid = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    panels = [ax for ax in grid if ax.collections]
    assert len(panels) == 3 * 4 * 2  # pairs x (conditions x sources)
    titles = [ax.get_title() for ax in panels if ax.get_title()]
    assert titles[0] == "organelle=er\ntime=5\nmanual"
    assert titles[1] == "organelle=er\ntime=5\nOtsu"  # manual and automated side by side
    # quick boxplots drawn on both margins of each panel
    assert all(len(ax.lines) == 8 for ax in panels)
    plt.close(fig)


def test_coefficient_strips_one_point_per_series(finished) -> None:
    table = finished.read_coefficients()
    fig, ax = plt.subplots()
    out = cplot.coefficient_strips(table, "pearson", threshold_source="Otsu", ax=ax)
    assert out is ax
    points = [line for line in ax.lines if line.get_marker() == "o"]
    n_points = sum(len(line.get_xdata()) for line in points)
    # 2 organelles (the strips) x 2 times (the groups) x 2 series (the points)
    assert n_points == 2 * 2 * 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "30"]
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="no rows for pair"):
        cplot.coefficient_strips(table, pair=("red", "cyan"))
    with pytest.raises(ValueError, match="not a column"):
        cplot.coefficient_strips(table, "nope")
    plt.close(fig)


def test_summary_table_figure(finished) -> None:
    summary = finished.read_summary()
    ax = cplot.summary_table(summary, coefficients=["pearson", "m1"])
    texts = [c.get_text().get_text() for c in ax.tables[0].get_celld().values()]
    assert "pearson" in texts
    mean, sem = summary["pearson_mean"].iloc[0], summary["pearson_sem"].iloc[0]
    assert f"{mean:.3f} ± {sem:.3f} (2)" in texts
    with pytest.raises(ValueError, match="no columns"):
        cplot.summary_table(summary, coefficients=["nope"])
    plt.close(ax.figure)


def test_report_is_self_contained(finished, tmp_path: Path) -> None:
    target = colocalize.write_report(finished.out, output=tmp_path / "r.html", nbins=32)
    text = target.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "bad.tif" in text  # the error is listed
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    # one strip figure per threshold source + the histogram panel
    assert len(images) == 2 + 1
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http" not in text.replace("http-equiv", "")


def test_cli_report(finished, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", str(finished.out), "--no-histograms"]) == 0
    assert (finished.out / "report.html").is_file()
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2  # not a batch folder
    assert "not a finished batch folder" in capsys.readouterr().err
