"""The report of one coefficient analysis (issue 13): ``colocalize.plot.coefficient_report``,
``colocalize coefficients --report`` and ``report=[path]`` of Coloc Coefficients.

The PDF's text is read from its content streams (inflated with zlib; matplotlib writes each
table cell and label as one text object), the PNG's size, metadata and colours with Pillow.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli
from colocalize import Image
from colocalize._coefficients import MEASURES
from colocalize.plot import coefficient_report
from colocalize.plot._coefficient_report import _LABELS
from test_imagej import _handle
from test_imagej_plain import app as app  # the fixture: a plain ImageJ with colocalize
from test_imagej_plain import launch, read_results

PNG_SIZE = (1654, 1169)  # two A4 pages side by side at 100 dpi


def _pair(seed: int = 0, shape: tuple[int, ...] = (64, 56)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    a = (base * 3000 + rng.random(shape) * 300).astype(np.uint16)
    b = (np.roll(base, 1, axis=-1) * 1500 + rng.random(shape) * 300).astype(np.uint16)
    return a, b


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes, escapes resolved."""
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i]
        if c == 0x5C:  # backslash
            nxt = literal[i + 1 : i + 4]
            octal = re.match(rb"[0-7]{1,3}", nxt)
            if octal:
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(nxt[:1], nxt[:1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


# Glyph names of the characters matplotlib's Type 3 fonts put in an extra font (codes from 0):
# ligatures (shaped text: "fi" in "file") and the minus sign.
_LIGATURES = {"fi": "fi", "fl": "fl", "ff": "ff", "ffi": "ffi", "ffl": "ffl", "minus": "\u2212"}


def _glyph(name: str) -> str:
    if name.startswith("uni"):
        char = chr(int(name[3:7], 16))
        return {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi"}.get(char, char)
    return _LIGATURES.get(name, "?")


def _fonts(objects: dict[int, bytes]) -> dict[bytes, dict[int, str] | None]:
    """Each font resource name: None for a font whose codes are Latin-1 (matplotlib's Type 3
    fonts of ordinary characters), else its codes' characters (from its /Differences)."""
    fonts: dict[bytes, dict[int, str] | None] = {}
    for body in objects.values():
        listed = re.findall(rb"/Font\s*<<(.*?)>>", body, flags=re.S)
        listed += [objects[int(n)] for n in re.findall(rb"/Font\s+(\d+)\s+0\s+R", body)]
        for resources in listed:
            for name, number in re.findall(rb"/(\w+)\s+(\d+)\s+0\s+R", resources):
                font = objects[int(number)]
                if re.search(rb"/FirstChar\s+0\b", font) is None:
                    fonts[name] = None
                    continue
                codes: dict[int, str] = {}
                differences = re.search(rb"/Differences\s*\[(.*?)\]", font, flags=re.S)
                code = 0
                for token in (differences.group(1) if differences else b"").split():
                    if token.startswith(b"/"):
                        codes[code] = _glyph(token[1:].decode())
                        code += 1
                    else:
                        code = int(token)
                fonts[name] = codes
    return fonts


def pdf_pages(path: Path) -> tuple[int, list[str]]:
    """The number of pages of a PDF and its text objects (one string per BT ... ET), in order.

    Written for matplotlib's PDFs with its default Type 3 fonts."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    objects = {
        int(n): body for n, body in re.findall(rb"(\d+) 0 obj\s*(.*?)endobj", data, flags=re.S)
    }
    pages = sum(1 for body in objects.values() if re.search(rb"/Type\s*/Page\b", body))
    fonts = _fonts(objects)
    texts = []
    for body in objects.values():
        found = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, flags=re.S)
        if found is None:
            continue
        try:
            stream = zlib.decompress(found.group(1))
        except zlib.error:
            stream = found.group(1)
        for block in re.findall(rb"\bBT\b(.*?)\bET\b", stream, flags=re.S):
            text, codes = [], None
            for font, literal in re.findall(
                rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)", block, flags=re.S
            ):
                if font:
                    codes = fonts.get(font)
                    continue
                raw = _unescape(literal)
                text.append(
                    raw.decode("latin-1")
                    if codes is None
                    else "".join(codes.get(c, "?") for c in raw)
                )
            texts.append("".join(text))
    return pages, texts


def _shown(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.4f}"


def assert_reports(texts: list[str], result: colocalize.Coefficients) -> None:
    """Every coefficient's row reads: field, its value (4 decimals), what it is."""
    for fields in MEASURES.values():
        for field in fields:
            where = texts.index(field)
            assert texts[where + 1] == _shown(getattr(result, field)), field
            assert texts[where + 2] == _LABELS[field]
    where = texts.index("n_pixels")
    assert texts[where + 1] == str(result.n_pixels)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


def test_public_name_and_a_label_for_every_coefficient():
    assert "coefficient_report" in colocalize.plot.__all__
    assert set(_LABELS) == {f for fields in MEASURES.values() for f in fields}


@pytest.mark.parametrize(
    ("thresholds", "method"),
    [
        ("costes", "Costes (bisection), converged"),
        ((1500, 800), "manual"),
        ("Otsu", "Otsu (ImageJ auto threshold of each channel)"),
        (None, "none (the thresholded coefficients are NaN)"),
    ],
)
def test_pdf_has_two_pages_with_every_coefficient_threshold_and_setting(
    tmp_path, thresholds, method
):
    a, b = _pair()
    mask = np.zeros(a.shape, bool)
    mask[8:50, 10:44] = True
    path = tmp_path / "report.pdf"
    written = coefficient_report(
        a,
        b,
        path=path,
        mask=mask,
        thresholds=thresholds,
        names=("A.tif", "B.tif"),
        channels=(1, 3),
        mask_name="cell 1",
        sources=[tmp_path / "A.tif"],
    )
    assert written == path
    pages, texts = pdf_pages(path)
    assert pages == 2
    result = colocalize.coefficients(a, b, mask=mask, thresholds=thresholds)
    assert_reports(texts, result)
    for k, value in enumerate((result.threshold0, result.threshold1)):
        row = texts.index(f"channel {k + 1}: {'AB'[k]}.tif")
        assert texts[row + 1] == ("none" if math.isnan(value) else f"{value:.6g}")
    assert texts[texts.index("method") + 1] == method
    assert texts[texts.index("mask / ROI") + 1] == "cell 1"
    assert texts[texts.index("channel 2") + 1] == "B.tif (channel 3 of its image, counted from 1)"
    assert texts[texts.index("input file 1") + 1] == str(tmp_path / "A.tif")
    assert texts[texts.index("colocalize") + 1] == colocalize.__version__
    assert texts[texts.index("numpy") + 1] == np.__version__
    assert {"A.tif (intensity)", "B.tif (intensity)"} <= set(texts)  # scatter plot axes
    scatter = next(t for t in texts if t.startswith("Scatter plot: "))
    assert scatter.startswith(f"Scatter plot: {result.n_pixels} pixels")


def test_measures_not_asked_say_so_and_the_rest_are_reported(tmp_path):
    a, b = _pair(seed=1)
    path = coefficient_report(a, b, path=tmp_path / "r.pdf", measures=("pearson", "manders"))
    _, texts = pdf_pages(path)
    result = colocalize.coefficients(a, b, measures=("pearson", "manders"))
    assert texts[texts.index("pearson") + 1] == _shown(result.pearson)
    assert texts[texts.index("m1") + 1] == _shown(result.m1)
    assert texts[texts.index("spearman") + 1] == "not computed"
    assert texts[texts.index("measures asked") + 1] == "pearson, manders"


@pytest.mark.parametrize(
    ("saturated", "shown"),
    [
        (None, "kept"),
        (True, "dropped (at the dtype maximum)"),
        (2000, "dropped (at or above 2000)"),
    ],
)
def test_the_pixel_selection_is_in_the_settings(tmp_path, saturated, shown):
    a, b = _pair(seed=1)
    path = coefficient_report(
        a, b, path=tmp_path / "r.pdf", saturated=saturated, exclude_zero_zero=True
    )
    _, texts = pdf_pages(path)
    assert texts[texts.index("saturated pixels") + 1] == shown
    assert texts[texts.index("exclude zero-zero") + 1] == "yes"
    result = colocalize.coefficients(a, b, saturated=saturated, exclude_zero_zero=True)
    assert_reports(texts, result)


def test_a_stack_is_shown_as_its_maximum_projection_and_says_so(tmp_path):
    a, b = _pair(seed=2, shape=(4, 40, 36))
    path = coefficient_report(a, b, path=tmp_path / "stack.pdf", thresholds=(1500, 800))
    _, texts = pdf_pages(path)
    captions = [t for t in texts if t.startswith("36x40x4, uint16")]
    assert captions == ["36x40x4, uint16; maximum projection of 4 planes"] * 2
    assert_reports(texts, colocalize.coefficients(a, b, thresholds=(1500, 800)))


def test_a_large_image_is_shown_binned_and_says_so(tmp_path):
    a, b = _pair(seed=3, shape=(12, 2100))
    path = coefficient_report(a, b, path=tmp_path / "wide.pdf")
    _, texts = pdf_pages(path)
    assert "2100x12, uint16; binned 3x3 (maximum)" in texts


def _colour_counts(path: Path) -> dict[str, int]:
    """Pixels of the left half (page 1) in pure red, green and yellow: the regression line, the
    thresholds, the mask's outline."""
    with PILImage.open(path) as png:
        rgb = np.asarray(png.convert("RGB")).astype(int)
    r, g, b = (rgb[:, : rgb.shape[1] // 2, k] for k in range(3))
    return {
        "red": int(((r > 220) & (g < 40) & (b < 40)).sum()),
        "green": int(((g > 130) & (r < 80) & (b < 80)).sum()),
        "yellow": int(((r > 220) & (g > 220) & (b < 40)).sum()),
    }


def test_png_has_the_size_metadata_and_drawn_lines(tmp_path):
    a, b = _pair(seed=4)
    mask = np.zeros(a.shape, bool)
    mask[8:50, 10:44] = True
    path = coefficient_report(
        a, b, path=tmp_path / "report.PNG", mask=mask, thresholds="costes", names=("A", "B")
    )
    with PILImage.open(path) as png:
        assert png.format == "PNG"
        assert png.size == PNG_SIZE
        text = dict(png.text)
    assert text["Software"] == f"colocalize {colocalize.__version__}"
    assert text["Title"] == "Colocalization of A and B"
    result = colocalize.coefficients(a, b, mask=mask, thresholds="costes")
    for field in ("pearson", "m1", "tm1", "spearman", "kendall_tau", "icq"):
        assert f"{field} = {_shown(getattr(result, field))};" in text["Description"]
    counts = _colour_counts(path)
    assert min(counts.values()) > 50, counts
    # the controls: no thresholds, no mask: no threshold lines, no outline
    bare = coefficient_report(a, b, path=tmp_path / "bare.png")
    counts = _colour_counts(bare)
    assert (counts["green"], counts["yellow"]) == (0, 0), counts
    assert counts["red"] > 50, counts


@pytest.mark.parametrize("name", ["report.txt", "report.tif", "report", "report.pdf.tmp"])
def test_a_path_that_is_neither_pdf_nor_png_is_refused_naming_it(tmp_path, name):
    a, b = _pair()
    with pytest.raises(ValueError, match=r"path '.*report.*'.*\.pdf or \.png"):
        coefficient_report(a, b, path=tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_never_over_an_input_nor_an_existing_file_without_overwrite(tmp_path):
    a, b = _pair()
    existing = tmp_path / "old.pdf"
    existing.write_bytes(b"not mine")
    with pytest.raises(ValueError, match="already exists"):
        coefficient_report(a, b, path=existing)
    assert existing.read_bytes() == b"not mine"
    coefficient_report(a, b, path=existing, overwrite=True)
    assert pdf_pages(existing)[0] == 2
    source = tmp_path / "cells.png"  # an input that happens to be a PNG
    source.write_bytes(b"pixels")
    with pytest.raises(ValueError, match="is also an input"):
        coefficient_report(a, b, path=source, sources=[source], overwrite=True)
    assert source.read_bytes() == b"pixels"
    with pytest.raises(ValueError, match="does not exist"):
        coefficient_report(a, b, path=tmp_path / "missing" / "r.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.png", "old.pdf"]  # no temporaries


def test_bad_images_write_nothing(tmp_path):
    a, b = _pair()
    with pytest.raises(ValueError, match="shape"):
        coefficient_report(a, b[:10], path=tmp_path / "r.pdf")
    with pytest.raises(ValueError, match="at least 2"):
        coefficient_report(a[0], b[0], path=tmp_path / "r.pdf")
    with pytest.raises(ValueError, match="names must be two"):
        coefficient_report(a, b, path=tmp_path / "r.pdf", names="AB")
    assert list(tmp_path.iterdir()) == []


def test_degenerate_input_warns_and_reports_nan(tmp_path):
    a, _ = _pair()
    flat = np.full(a.shape, 7, np.uint16)
    with pytest.warns(colocalize.ColocalizeWarning):
        path = coefficient_report(a, flat, path=tmp_path / "flat.pdf", thresholds="costes")
    _, texts = pdf_pages(path)
    assert texts[texts.index("pearson") + 1] == "NaN"
    assert "no regression line (degenerate input)" in " ".join(texts)


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def two(tmp_path) -> Path:
    a, b = _pair(seed=6)
    path = tmp_path / "two.tif"
    colocalize.write_image(path, Image(np.stack([a, b, a // 2]), axes="CYX"))
    return path


def test_cli_report_holds_the_printed_numbers(two, tmp_path):
    report = tmp_path / "two-report.pdf"
    with inputs_unchanged(two):
        done = run_cli(
            "coefficients", two, "--channels", "0", "2", "--thresholds", "costes", "--csv",
            "--report", report,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    printed = dict(zip(header.split(","), row.split(",")))
    _, texts = pdf_pages(report)
    for field in ("pearson", "m1", "m2", "tm1", "tm2", "spearman", "kendall_tau", "icq"):
        assert float(texts[texts.index(field) + 1]) == pytest.approx(
            float(printed[field]), abs=5e-5
        )
    assert texts[texts.index("channel 2") + 1] == "C2 (channel 3 of its image, counted from 1)"
    assert texts[texts.index("input file 1") + 1] == str(two)
    assert texts[texts.index("method") + 1].startswith("Costes (bisection)")


def test_cli_report_refuses_an_existing_file_unless_overwrite(two, tmp_path):
    report = tmp_path / "r.png"
    report.write_bytes(b"keep")
    done = run_cli("coefficients", two, "--channels", "0", "1", "--report", report)
    assert_clean_error(done, "--report", "already exists", "--overwrite")
    assert report.read_bytes() == b"keep"
    assert done.stdout == ""  # refused before any work
    done = run_cli("coefficients", two, "--channels", "0", "1", "--report", report, "--overwrite")
    assert done.returncode == 0, done.stderr
    with PILImage.open(report) as png:
        assert png.size == PNG_SIZE


@pytest.mark.parametrize(
    ("extra", "name", "mentions"),
    [
        ((), "r.pdf", ["--report", "3 channels", "--channels"]),
        (("--channels", "0", "1", "--labels", "two.tif"), "r.pdf", ["--report", "--labels"]),
        (("--channels", "0", "1"), "r.svg", ["--report", ".pdf or .png"]),
    ],
)
def test_cli_report_needs_a_pdf_or_png_of_one_channel_pair(two, tmp_path, extra, name, mentions):
    with inputs_unchanged(tmp_path):
        done = run_cli("coefficients", two, *extra, "--report", tmp_path / name, cwd=tmp_path)
        assert_clean_error(done, *mentions)


# --- ImageJ: report=[path] of Coloc Coefficients ------------------------------------------------


def test_imagej_report_is_written_and_its_path_logged(tmp_path):
    from colocalize.imagej._contract import RoiMask

    a, b = _pair(seed=7)
    cell = np.zeros(a.shape, bool)
    cell[5:60, 4:50] = True
    path = tmp_path / "A and B.pdf"
    tables, response = _handle(
        "coefficients",
        {"image_1": "A", "image_2": "B", "mask": "<Selection>", "report": str(path)},
        {"image_1": a, "image_2": b},
        {"mask": (RoiMask("cell 1", cell),)},
    )
    assert response.log == (f"report written to {path}",)
    row = tables["Colocalization coefficients"].iloc[0]
    pages, texts = pdf_pages(path)
    assert pages == 2
    assert_reports(texts, _quiet(colocalize.coefficients, a, b, mask=cell, thresholds="costes"))
    for field in ("pearson", "m1", "tm1", "tm2", "icq"):
        assert texts[texts.index(field) + 1] == _shown(row[field])
    assert texts[texts.index("mask / ROI") + 1] == "<Selection> cell 1"
    assert texts[texts.index("channel 1") + 1] == "A (channel 1 of its image, counted from 1)"
    assert texts[texts.index("input files") + 1] == "not known"


def test_imagej_without_report_writes_none(tmp_path):
    a, b = _pair(seed=7)
    _, response = _handle(
        "coefficients", {"image_1": "A", "image_2": "B"}, {"image_1": a, "image_2": b}
    )
    assert response.log == ()


@pytest.mark.parametrize(
    ("values", "name", "message"),
    [
        ({}, "exists.pdf", r"report=\[.*exists.pdf\] already exists; choose another file name"),
        ({}, "r.jpg", r"report '.*r.jpg': a report is a PDF or a PNG file"),
        ({}, "missing/r.pdf", r"the folder '.*missing' does not exist"),
        ({"mask": "<ROI Manager>"}, "r.pdf", r"report=\[.*\] describes one analysis of two"),
    ],
)
def test_imagej_report_refusals_come_before_any_work(tmp_path, values, name, message):
    from colocalize.imagej._contract import RoiMask

    a, b = _pair(seed=7)
    (tmp_path / "exists.pdf").write_bytes(b"mine")
    roi = RoiMask("cell", np.ones(a.shape, bool))
    with inputs_unchanged(tmp_path), pytest.raises(ValueError, match=message):
        _handle(
            "coefficients",
            {"image_1": "A", "image_2": "B", "report": str(tmp_path / name)} | values,
            {"image_1": a, "image_2": b},
            {"mask": (roi,)},
        )


@pytest.mark.gui
def test_imagej_plain_launch_macro_writes_the_report(app, tmp_path):
    a, b = _pair(seed=8)
    colocalize.write_image(tmp_path / "A.tif", Image(a, axes="YX"))
    colocalize.write_image(tmp_path / "B.tif", Image(b, axes="YX"))
    macro = r"""
dir = getArgument();
setBatchMode(true);
run("Set Measurements...", "decimal=9");
open(dir + "A.tif");
open(dir + "B.tif");
report = dir + "report.png";
options = "image_1=A.tif image_2=B.tif threshold=Costes report=[" + report + "]";
run("Coloc Coefficients...", options);
saveAs("Results", dir + "coefficients.csv");
print("all done");
"""
    done = launch(app, macro, tmp_path)
    out = done.stdout + done.stderr
    assert "all done" in done.stdout, out
    assert f"Coloc Coefficients: report written to {tmp_path / 'report.png'}" in done.stdout, out
    with PILImage.open(tmp_path / "report.png") as png:
        assert png.size == PNG_SIZE
        description = png.text["Description"]
    (row,) = read_results(tmp_path / "coefficients.csv")
    for field in ("pearson", "m1", "m2", "tm1", "tm2", "icq"):
        assert f"{field} = {_shown(float(row[field]))};" in description


class _Counted:
    """A function wrapped to count its calls."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch):
    """The report's date fixed (so two reports can be compared); a function that returns how
    many pair analyses, bivariate histograms and regression lines have been made since."""
    from datetime import datetime

    import colocalize._costes
    import colocalize._histogram
    import colocalize.imagej._commands
    import colocalize.plot._coefficient_report as report_module
    from colocalize._coefficients import _CoefficientEngine

    class _Now(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(report_module, "datetime", _Now)
    pairs = _Counted(_CoefficientEngine.pair)
    histograms = _Counted(colocalize._histogram.bivariate_histogram)
    lines = _Counted(colocalize._costes.regression_line)
    monkeypatch.setattr(_CoefficientEngine, "pair", lambda *a, **k: pairs(*a, **k))
    monkeypatch.setattr(colocalize, "bivariate_histogram", histograms)
    monkeypatch.setattr(colocalize._histogram, "bivariate_histogram", histograms)
    monkeypatch.setattr(colocalize._costes, "regression_line", lines)
    monkeypatch.setattr(colocalize.imagej._commands, "regression_line", lines)
    start = [0, 0, 0]

    def since() -> tuple[int, int, int]:
        now = (pairs.calls, histograms.calls, lines.calls)
        done = (now[0] - start[0], now[1] - start[1], now[2] - start[2])
        start[:] = now
        return done

    return since


def assert_same_report(got: Path, want: Path) -> None:
    if got.suffix == ".png":
        with PILImage.open(got) as mine, PILImage.open(want) as theirs:
            assert mine.text == theirs.text
            assert np.array_equal(np.asarray(mine), np.asarray(theirs))
    else:
        assert pdf_pages(got) == pdf_pages(want)


_SOME = ("pearson", "manders", "thresholded_manders", "icq")


@pytest.mark.parametrize("scatter_plot", [True, False])
@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_imagej_report_measures_once_and_shows_what_coefficient_report_shows(
    tmp_path, counted, suffix, scatter_plot
):
    """report= draws the table's row and the scatter plot's histogram and line: the pair is
    measured once, one histogram and one regression line are made (before: the report ran
    coefficients() and both again), and the file is the one coefficient_report writes."""
    from colocalize.imagej._contract import RoiMask

    a, b = _pair(seed=9)
    cell = np.zeros(a.shape, bool)
    cell[3:58, 6:51] = True
    expected = tmp_path / f"public{suffix}"
    _quiet(
        coefficient_report,
        a,
        b,
        path=expected,
        mask=cell,
        thresholds="costes",
        measures=_SOME,
        names=("A", "B"),
        channels=(1, 1),
        mask_name="<Selection> cell 1",
    )
    counted()
    path = tmp_path / f"bridge{suffix}"
    _, response = _handle(
        "coefficients",
        {"image_1": "A", "image_2": "B", "mask": "<Selection>", "report": str(path)}
        | {"scatter_plot": scatter_plot}
        | {group: group in _SOME for group in MEASURES},
        {"image_1": a, "image_2": b},
        {"mask": (RoiMask("cell 1", cell),)},
    )
    assert len(response.plots) == scatter_plot
    assert counted() == (1, 1, 1)
    assert_same_report(path, expected)


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_cli_report_measures_once_and_shows_what_coefficient_report_shows(
    two, tmp_path, counted, suffix
):
    """--report draws the table's row: the pair is measured once (before: twice), and the file
    is the one coefficient_report writes."""
    from colocalize._cli._main import main

    image = colocalize.read_image(two)
    mask = np.zeros(image.channel(0).shape, bool)
    mask[4:50, 2:40] = True
    colocalize.write_image(tmp_path / "mask.tif", Image(mask.astype(np.uint8), axes="YX"))
    expected = tmp_path / f"public{suffix}"
    _quiet(
        coefficient_report,
        image.channel(0),
        image.channel(2),
        path=expected,
        mask=mask,
        thresholds="costes",
        exclude_zero_zero=True,
        saturated=True,
        measures=("pearson", "icq"),
        names=("C0", "C2"),
        channels=(1, 3),
        mask_name=str(tmp_path / "mask.tif"),
        sources=(two, tmp_path / "mask.tif"),
    )
    counted()
    path = tmp_path / f"cli{suffix}"
    argv = ["coefficients", str(two), "--channels", "0", "2", "--thresholds", "costes"]
    argv += ["--mask", str(tmp_path / "mask.tif"), "--exclude-zero-zero", "--saturated"]
    assert main([*argv, "--measures", "pearson", "icq", "--report", str(path)]) == 0
    assert counted()[0] == 1
    assert_same_report(path, expected)
