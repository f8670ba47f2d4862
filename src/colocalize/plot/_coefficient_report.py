"""A report of one coefficient analysis, like Coloc 2's PDF: the images, the scatter plot, the
thresholds, every coefficient, the settings and the software that computed them."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._coefficients import (
    MEASURES,
    Coefficients,
    Thresholds,
    _computed,
    check_costes_method,
    check_images,
    is_costes,
    top_percent,
)
from colocalize._histogram import BivariateHistogram
from colocalize._output import check_output, write_atomic
from colocalize._selection import Saturated, select_pixels
from colocalize._validation import ColocalizeWarning, as_image, as_mask

__all__ = ["check_report_path", "coefficient_report", "draw_report", "result_of_row"]

_FORMATS = {".pdf": "pdf", ".png": "png"}
_PAGE = (8.27, 11.69)  # A4 portrait, inches: one PDF page, half of the PNG
_PNG_DPI = 100
_SHOWN = 1024  # larger images are shown binned to at most this many pixels per side
_NBINS = 256  # the scatter plot's bins per channel, as Coloc 2's 2D histogram

# What each coefficient field is (a = channel 1, b = channel 2; T1, T2 their thresholds).
_LABELS = {
    "pearson": "Pearson's r",
    "pearson_below": "Pearson's r below the thresholds (Coloc 2)",
    "pearson_above": "Pearson's r above the thresholds (Coloc 2)",
    "overlap": "Manders' overlap, sum(ab) / sqrt(sum(a²) sum(b²))",
    "k1": "k1 = sum(ab) / sum(a²)",
    "k2": "k2 = sum(ab) / sum(b²)",
    "m1": "Manders' M1: a where b > 0",
    "m2": "Manders' M2: b where a > 0",
    "tm1": "tM1 (Coloc 2): a where b >= T2, over all a",
    "tm2": "tM2 (Coloc 2): b where a >= T1, over all b",
    "tm1_own": "tM1 (JACoP): a where a > T1 and b > T2, over a > T1",
    "tm2_own": "tM2 (JACoP): b where a > T1 and b > T2, over b > T2",
    "toverlap": "overlap above both thresholds (JACoP)",
    "tk1": "k1 above both thresholds (JACoP)",
    "tk2": "k2 above both thresholds (JACoP)",
    "spearman": "Spearman's rho",
    "kendall_tau": "Kendall's tau-b",
    "icq": "Li's intensity correlation quotient",
    "fraction_colocalized": "fraction of pixels above both thresholds",
}


def check_report_path(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
    name: str = "path",
) -> tuple[Path, str]:
    """Check a report's file before any work: ``(path, "pdf" or "png")``.

    Raises
    ------
    ValueError
        The name ends neither in ``.pdf`` nor ``.png``, matplotlib is missing, or
        :func:`colocalize._output.check_output` refuses the file (an input, an existing file
        without ``overwrite``, a missing folder).
    """
    target = Path(path)
    kind = _FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{name} {str(target)!r}: a report is a PDF or a PNG file; end the file name with "
            f".pdf or .png (got {target.suffix or 'no extension'!r})"
        )
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            f"{name}: the report needs matplotlib: pip install 'colocalize[plot]' ({exc})"
        ) from exc
    return check_output(target, inputs=inputs, overwrite=overwrite, name=name), kind


def coefficient_report(
    image0: Any,
    image1: Any,
    *,
    path: str | os.PathLike[str],
    mask: Any = None,
    thresholds: Thresholds = None,
    costes_method: str = "bisection",
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
    measures: str | Sequence[str] | None = None,
    names: tuple[str, str] = ("image0", "image1"),
    channels: tuple[int, int] | None = None,
    mask_name: str | None = None,
    sources: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> Path:
    """Write a report of one coefficient analysis of two channels, like Coloc 2's PDF.

    The coefficients are computed with :func:`colocalize.coefficients` (same arguments), and
    the report shows, for a PDF on two A4 pages (a PNG has them side by side):

    1. each channel as an image (a 3D or longer image as its maximum projection over the
       leading axes, and an image larger than 1024 pixels a side binned by the maximum, as the
       captions say), with the mask's outline; the scatter plot (the bivariate histogram of
       :func:`colocalize.bivariate_histogram`, 256 bins per channel, log10 of the fraction of
       pixels per bin, as :func:`colocalize.plot.bivariate_histogram` draws it) with Costes'
       regression line (:func:`colocalize.costes_threshold` with ``costes_method``, the line
       Coloc 2 draws, whatever the thresholds) and both thresholds;
    2. the thresholds in the images' units and how they were found, every coefficient (those of
       measure groups not asked for say "not computed"), the settings (channel names and
       numbers, mask, threshold and Costes methods, measures, pixel selection), the input
       files, the versions of colocalize, numpy, matplotlib and Python, and the date.

    A PNG also carries the thresholds and coefficients as text in its metadata
    (``Description``), and a PDF the software in its ``Creator``.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P, ...])
        The two channels (finite, non-negative, same shape, at least 2D). Axis order is
        (..., y, x): leading axes (z, t) are projected for display.
    path : str or path-like
        The report file: ``.pdf`` or ``.png`` (chosen by the suffix). Never one of
        ``sources``; an existing file only with ``overwrite``.
    mask, thresholds, costes_method, exclude_zero_zero, saturated, measures
        As in :func:`colocalize.coefficients`.
    names : (str, str), optional
        The channels' names (titles, axis labels and tables).
    channels : (int, int), optional
        The channels' numbers in their images, counted from 1 as in ImageJ (shown in the
        settings).
    mask_name : str, optional
        What the mask is (a file, an ROI name), for the settings; default "none" without a
        mask, else "a mask".
    sources : sequence of path-like, optional
        The input files, listed in the report ("not known" when empty) and never written over.
    overwrite : bool, optional
        Replace an existing ``path`` that is not one of ``sources`` (default False).

    Returns
    -------
    Path
        The report file.

    Raises
    ------
    ValueError
        ``path`` does not end in ``.pdf`` or ``.png``, is one of ``sources``, exists (without
        ``overwrite``) or is in a missing folder, matplotlib is missing, or
        :func:`colocalize.coefficients` refuses the images or options. Checked before any
        computation where possible.

    Warns
    -----
    ColocalizeWarning
        As :func:`colocalize.coefficients` (the report is still written, with NaN).

    Notes
    -----
    Costes' search runs once more for the regression line (also when the thresholds are
    Costes'; its result is the same). Differences from Coloc 2's PDF: the scatter plot's axes
    are in the images' intensities (Coloc 2 draws bin indices, with y pointing down); there are
    no Li ICA or Costes randomisation plots (see :func:`colocalize.plot.ica_plot`,
    :func:`colocalize.costes_significance`).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 200, (32, 32)).astype(np.uint8)
    >>> b = (a // 2 + rng.integers(0, 50, a.shape)).astype(np.uint8)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = coefficient_report(a, b, path=folder / "report.pdf", thresholds=(60, 40),
    ...                           names=("red", "green"))
    >>> path.name, path.read_bytes()[:5]
    ('report.pdf', b'%PDF-')
    """
    from colocalize._coefficients import coefficients

    target, _ = check_report_path(path, inputs=sources, overwrite=overwrite)
    first, second = (str(n) for n in _pair(names, "names"))
    numbers = None if channels is None else _pair(channels, "channels")
    if numbers is not None and not all(isinstance(n, int) and n >= 1 for n in numbers):
        raise ValueError(f"channels must be two channel numbers counted from 1, got {channels!r}")
    arrays = [as_image(img, name=n, min_ndim=2) for img, n in ((image0, first), (image1, second))]
    result = coefficients(
        arrays[0],
        arrays[1],
        mask=mask,
        thresholds=thresholds,
        exclude_zero_zero=exclude_zero_zero,
        saturated=saturated,
        measures=measures,
        costes_method=costes_method,
    )
    return draw_report(
        target,
        check_images(arrays, [first, second]),
        result,
        mask=mask,
        thresholds=thresholds,
        costes_method=costes_method,
        exclude_zero_zero=exclude_zero_zero,
        saturated=saturated,
        names=(first, second),
        channels=numbers,
        mask_name=mask_name,
        sources=sources,
    )


def result_of_row(row: Mapping[str, Any], measures: Sequence[str]) -> Coefficients:
    """The :class:`Coefficients` of a pair row of :func:`colocalize.coefficient_table` (or
    :func:`colocalize._table.table_rows`) whose measure groups were ``measures``."""
    values = {f.name: row[f.name] for f in dataclasses.fields(Coefficients)}
    values["n_pixels"] = int(values["n_pixels"])
    return _computed(Coefficients(**values), tuple(measures))


def draw_report(
    target: Path,
    arrays: Sequence[np.ndarray],
    result: Coefficients,
    *,
    mask: Any,
    thresholds: Thresholds,
    costes_method: str,
    exclude_zero_zero: bool,
    saturated: Saturated,
    names: tuple[str, str],
    channels: tuple[int, int] | None,
    mask_name: str | None,
    sources: Sequence[str | os.PathLike[str]],
    scatter: tuple[BivariateHistogram, tuple[float, float]] | None = None,
) -> Path:
    """:func:`coefficient_report` of an analysis already made: ``target`` checked by
    :func:`check_report_path`, the two channels checked by
    :func:`colocalize._coefficients.check_images`, their ``result`` with the options that
    made it (the other arguments as in :func:`coefficient_report`, checked), and the scatter
    plot's bivariate histogram (256 bins of the selected pixels) and Costes' regression line
    when the caller has them already."""
    if scatter is None:
        scatter = _scatter_data(
            arrays,
            mask=mask,
            exclude_zero_zero=exclude_zero_zero,
            saturated=saturated,
            costes_method=costes_method,
        )
    settings = _Settings(
        names=names,
        channels=channels,
        dtype=str(arrays[0].dtype),
        shape=arrays[0].shape,
        method=_threshold_method(thresholds, costes_method, result),
        costes_method=costes_method,
        mask=mask_name if mask_name is not None else ("none" if mask is None else "a mask"),
        exclude_zero_zero=exclude_zero_zero,
        saturated=saturated,
        sources=tuple(str(s) for s in sources),
        versions=_versions(),
        date=datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
    )
    outline = None if mask is None else as_mask(mask, arrays[0].shape)
    histogram, line = scatter

    def draw(fig: Any, settings: _Settings) -> None:
        _draw_pictures(fig, arrays, outline, histogram, line, result, settings)

    if _FORMATS[target.suffix.lower()] == "pdf":
        write = _pdf_writer(draw, result, settings)
    else:
        write = _png_writer(draw, result, settings)
    write_atomic(target, writer=write)
    return target


def _scatter_data(
    arrays: Sequence[np.ndarray],
    *,
    mask: Any,
    exclude_zero_zero: bool,
    saturated: Saturated,
    costes_method: str,
) -> tuple[BivariateHistogram, tuple[float, float]]:
    """The scatter plot's bivariate histogram of the selected pixels and Costes' regression
    line, for a report whose caller has not made them."""
    from colocalize._costes import regression_line
    from colocalize._histogram import bivariate_histogram

    selection, _ = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    with warnings.catch_warnings():  # the analysis warned about this input already
        warnings.simplefilter("ignore", ColocalizeWarning)
        line = regression_line(
            arrays[0], arrays[1], mask=selection, method=check_costes_method(costes_method)
        )
        histogram = bivariate_histogram(arrays[0], arrays[1], nbins=_NBINS, mask=selection)
    return histogram, line


def _versions() -> tuple[tuple[str, str], ...]:
    """The versions a report names: colocalize, numpy, matplotlib and Python."""
    import matplotlib

    from colocalize._version import __version__

    return (
        ("colocalize", __version__),
        ("numpy", np.__version__),
        ("matplotlib", matplotlib.__version__),
        ("Python", platform.python_version()),
    )


def _title_and_creator(settings: _Settings) -> tuple[str, str]:
    first, second = settings.names
    return f"Colocalization of {first} and {second}", f"colocalize {settings.versions[0][1]}"


def _pdf_writer(
    draw: Callable[[Any, _Settings], None], result: Coefficients, settings: _Settings
) -> Callable[[Path], None]:
    """The PDF report's writer: page 1 the pictures (``draw``), page 2 the numbers."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pages = [Figure(figsize=_PAGE), Figure(figsize=_PAGE)]
    draw(pages[0], settings)
    _draw_numbers(pages[1], result, settings)
    title, creator = _title_and_creator(settings)

    def write(tmp: Path) -> None:
        metadata = {"Title": title, "Creator": creator, "Subject": "colocalization report"}
        with PdfPages(tmp, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)

    return write


def _png_writer(
    draw: Callable[[Any, _Settings], None], result: Coefficients, settings: _Settings
) -> Callable[[Path], None]:
    """The PNG report's writer: the pictures and the numbers side by side, the numbers also in
    the PNG's Description."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2 * _PAGE[0], _PAGE[1]))
    halves: Any = figure.subfigures(1, 2)
    draw(halves[0], settings)
    _draw_numbers(halves[1], result, settings)
    described = [
        ("threshold0", _threshold(result.threshold0)),
        ("threshold1", _threshold(result.threshold1)),
        ("threshold method", settings.method),
        *((label, value) for label, value, _ in _coefficient_rows(result)),
    ]
    text = "; ".join(f"{label} = {value}" for label, value in described)
    title, creator = _title_and_creator(settings)

    def write(tmp: Path) -> None:
        metadata = {"Title": title, "Software": creator, "Description": text}
        figure.savefig(tmp, format="png", dpi=_PNG_DPI, metadata=metadata)

    return write


@dataclass(frozen=True)
class _Settings:
    """What the report says about the analysis besides its numbers."""

    names: tuple[str, str]
    channels: tuple[int, int] | None
    dtype: str
    shape: tuple[int, ...]
    method: str
    costes_method: str
    mask: str
    exclude_zero_zero: bool
    saturated: Saturated
    sources: tuple[str, ...]
    versions: tuple[tuple[str, str], ...]
    date: str


def _pair(values: Any, name: str) -> tuple[Any, Any]:
    if isinstance(values, str) or len(values) != 2:
        raise ValueError(f"{name} must be two values (one per channel), got {values!r}")
    return values[0], values[1]


def _threshold_method(thresholds: Thresholds, costes_method: str, result: Coefficients) -> str:
    """How the thresholds were found, in words."""
    if thresholds is None:
        return "none (the thresholded coefficients are NaN)"
    if is_costes(thresholds):
        state = {1.0: "converged", 0.0: "did not converge"}.get(result.costes_converged, "")
        return f"Costes ({costes_method}){', ' + state if state else ''}"
    if top_percent(thresholds) is not None:
        return f"{thresholds} (the brightest pixels of each channel, EzColocalization's FT)"
    if isinstance(thresholds, str):
        return f"{thresholds} (ImageJ auto threshold of each channel)"
    return "manual"


def _number(value: float, digits: int = 4) -> str:
    """A value as the report prints it: NaN, whole numbers exactly, else ``digits`` decimals."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return f"{value:.{digits}f}"


def _threshold(value: float) -> str:
    return "none" if math.isnan(value) else f"{value:.6g}"


def _saturated(saturated: Saturated) -> str:
    """The ``saturated`` option in words."""
    if saturated is None or saturated is False:
        return "kept"
    if saturated is True:
        return "dropped (at the dtype maximum)"
    return f"dropped (at or above {saturated})"


def _coefficient_rows(result: Coefficients) -> list[tuple[str, str, str]]:
    """(field, value, what it is) for every coefficient; "not computed" for groups not asked."""
    rows = []
    for group, fields in MEASURES.items():
        for field in fields:
            value = getattr(result, field)
            shown = _number(value) if group in result.measures else "not computed"
            rows.append((field, shown, _LABELS[field]))
    rows.append(("n_pixels", str(result.n_pixels), "pixels used"))
    return rows


def _shown(image: np.ndarray) -> tuple[np.ndarray, str]:
    """The 2D picture of a channel (maximum projection, binned by the maximum when large) and
    a caption saying how it was made."""
    notes = []
    if image.ndim > 2:
        planes = int(np.prod(image.shape[:-2]))
        image = image.reshape(-1, *image.shape[-2:]).max(axis=0)
        notes.append(f"maximum projection of {planes} planes")
    factor = math.ceil(max(image.shape) / _SHOWN)
    if factor > 1:
        rows, cols = (math.ceil(s / factor) * factor for s in image.shape)
        padded = np.zeros((rows, cols), image.dtype)
        padded[: image.shape[0], : image.shape[1]] = image
        image = padded.reshape(rows // factor, factor, cols // factor, factor).max(axis=(1, 3))
        notes.append(f"binned {factor}x{factor} (maximum)")
    return image, ", ".join(notes)


def _draw_pictures(
    fig: Any,
    arrays: Sequence[np.ndarray],
    outline: np.ndarray | None,
    histogram: BivariateHistogram,
    line: tuple[float, float],
    result: Coefficients,
    settings: _Settings,
) -> None:
    """Page 1: both channels and the scatter plot."""
    from colocalize.plot._histogram import bivariate_histogram

    first, second = settings.names
    fig.suptitle(f"Colocalization of {first} and {second}", fontsize=12)
    grid = fig.add_gridspec(
        2,
        2,
        height_ratios=(1, 1.35),
        left=0.1,
        right=0.92,
        top=0.92,
        bottom=0.07,
        hspace=0.3,
        wspace=0.25,
    )
    flat = outline
    if outline is not None and outline.ndim > 2:
        flat = np.asarray(outline.reshape(-1, *outline.shape[-2:]).any(axis=0))
    size = "x".join(str(s) for s in reversed(settings.shape))
    for k, (image, name) in enumerate(zip(arrays, settings.names)):
        ax = fig.add_subplot(grid[0, k])
        picture, note = _shown(image)
        ax.imshow(picture, cmap="gray", interpolation="nearest")
        if flat is not None and flat.any() and not flat.all():
            factor = image.shape[-1] / picture.shape[-1]
            ax.contour(
                np.arange(flat.shape[1]) / factor,
                np.arange(flat.shape[0]) / factor,
                flat,
                levels=[0.5],
                colors="yellow",
                linewidths=0.6,
            )
        ax.set_title(f"Channel {k + 1}: {name}", fontsize=9)
        caption = f"{size}, {settings.dtype}" + (f"; {note}" if note else "")
        ax.set_xlabel(caption + ("\nyellow: the mask" if outline is not None else ""), fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[1, :])
    t0, t1 = result.threshold0, result.threshold1
    bivariate_histogram(
        histogram,
        ax,
        labels=(f"{first} (intensity)", f"{second} (intensity)"),
        thresholds=(t0, t1),
        regression=line,
    )
    caption = (
        f"red: Costes' regression ({settings.costes_method}), "
        f"{second} = {line[0]:.4g} {first} + {line[1]:.4g}"
        if math.isfinite(line[0]) and math.isfinite(line[1])
        else "no regression line (degenerate input)"
    )
    ax.set_title(
        f"Scatter plot: {histogram.n_pixels} pixels; green: thresholds "
        f"{_threshold(t0)}, {_threshold(t1)}\n{caption}",
        fontsize=8,
    )


def _draw_numbers(fig: Any, result: Coefficients, settings: _Settings) -> None:
    """Page 2: thresholds, coefficients, settings, software."""
    first, second = settings.names
    numbers = settings.channels
    channel = [f"channel {k + 1}: {name}" for k, name in enumerate(settings.names)]
    source = [
        name + (f" (channel {numbers[k]} of its image, counted from 1)" if numbers else "")
        for k, name in enumerate(settings.names)
    ]
    converged = {1.0: "yes", 0.0: "no"}.get(result.costes_converged, "")
    thresholds = [
        (channel[0], _threshold(result.threshold0), ""),
        (channel[1], _threshold(result.threshold1), ""),
        ("method", settings.method, ""),
    ]
    if converged:
        thresholds.append(("Costes converged", converged, ""))
    thresholds.append(("units", f"the images' intensities ({settings.dtype})", ""))
    sources = settings.sources or ("not known",)
    measures = ", ".join(result.measures) if len(result.measures) < len(MEASURES) else "all"
    setup = [
        ("channel 1", source[0], ""),
        ("channel 2", source[1], ""),
        ("image size", "x".join(str(s) for s in reversed(settings.shape)) + " (x, y, ...)", ""),
        ("mask / ROI", settings.mask, ""),
        ("threshold method", settings.method, ""),
        ("Costes method", f"{settings.costes_method} (also the regression line)", ""),
        ("measures asked", measures, ""),
        ("exclude zero-zero", "yes" if settings.exclude_zero_zero else "no", ""),
        ("saturated pixels", _saturated(settings.saturated), ""),
        *(
            (f"input file {k + 1}" if settings.sources else "input files", s, "")
            for k, s in enumerate(sources)
        ),
    ]
    software = [(name, version, "") for name, version in settings.versions]
    software.append(("date", settings.date, ""))
    blocks = [
        ("Thresholds", ("", "value", ""), thresholds, (0.38, 0.62, 0.0)),
        (
            "Coefficients",
            ("coefficient", "value", "what it is"),
            _coefficient_rows(result),
            (0.2, 0.17, 0.63),
        ),
        ("Settings", ("", "", ""), setup, (0.22, 0.78, 0.0)),
        ("Software", ("", "", ""), software, (0.22, 0.78, 0.0)),
    ]
    fig.suptitle(f"Colocalization of {first} and {second}: numbers", fontsize=12)
    heights = [len(rows) + 2 for _, _, rows, _ in blocks]
    axes = fig.subplots(
        len(blocks),
        1,
        gridspec_kw={
            "height_ratios": heights,
            "left": 0.06,
            "right": 0.96,
            "top": 0.93,
            "bottom": 0.03,
            "hspace": 0.25,
        },
    )
    for ax, (heading, header, rows, widths) in zip(axes, blocks):
        ax.set_axis_off()
        ax.set_title(heading, loc="left", fontsize=10, fontweight="bold")
        keep = [i for i, w in enumerate(widths) if w > 0]
        cells = [[row[i] for i in keep] for row in rows]
        table = ax.table(
            cellText=cells,
            colLabels=[header[i] for i in keep] if any(header) else None,
            colWidths=[widths[i] for i in keep],
            cellLoc="left",
            bbox=(0.0, 0.0, 1.0, 1.0),
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7.5)
        for cell in table.get_celld().values():
            cell.set_edgecolor("0.85")
            cell.set_linewidth(0.4)
