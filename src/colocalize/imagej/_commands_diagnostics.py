"""ImageJ command for JACoP's two diagnostics: Van Steensel's CCF and Li's ICA.

"Coloc CCF and ICA..." shows the CCF plot (Pearson's r against the x shift, with the Gaussian
fit and its FWHM), r per shift as a table, Li's two ICA plots, and one results row (peak, dip,
fit, FWHM in pixels and calibrated units, ICQ). Registered by importing this module
(``_catalog`` does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from colocalize.imagej._commands import (
    _Channel,
    _decade_series,
    _mask,
    _mask_name,
    _two_channel_fields,
    _two_channels,
    _whole,
)
from colocalize.imagej._contract import Plot, Progress, Request, Response, Series, Table
from colocalize.imagej._spec import checkbox, command, mask, number

CCF_TABLE = "Van Steensel's CCF"
DIAGNOSTICS_TABLE = "CCF and ICA results"


@command(
    "diagnostics",
    "Coloc CCF and ICA...",
    *_two_channel_fields(),
    mask(),
    checkbox("CCF", True),
    number("Max_shift", 20, digits=0),
    checkbox("ICA", True),
    number("ICA_bins", 256, digits=0),
)
def diagnostics_command(request: Request, progress: Progress) -> Response:
    """Van Steensel's CCF (:func:`colocalize.van_steensel_ccf`, image 1 against image 2 shifted
    along x) and Li's ICA (:func:`colocalize.li_ica`) of two images or two channels of one, inside
    the mask: plots, r per shift and one results row."""
    import colocalize

    v = request.values
    if not (v["ccf"] or v["ica"]):
        raise ValueError("neither ccf nor ica is checked; check at least one of them")
    first, second = _two_channels(request)
    selected = _mask(request, "mask", first)
    row: dict[str, Any] = {
        "Image 1": first.name,
        "Image 2": second.name,
        "Mask": _mask_name(request, "mask"),
    }
    tables: list[Table] = []
    plots: list[Plot] = []
    if v["ccf"]:
        max_shift = _whole(request, "max_shift", 1, "a shift in pixels")
        progress("Coloc CCF and ICA: Van Steensel's CCF...")
        image = first.image
        ccf = colocalize.van_steensel_ccf(
            image.data,
            second.image.data,
            mask=selected,
            max_shift=max_shift,
            spacing=image.spacing[-1],
            unit=image.unit,
        )
        unit = ccf.unit
        tables.append(
            Table(
                CCF_TABLE,
                (
                    ("Image 1", (first.name,) * ccf.dx.size),
                    ("Image 2", (second.name,) * ccf.dx.size),
                    ("dx (pixels)", _floats(ccf.dx)),
                    (f"shift ({unit})", _floats(ccf.shift)),
                    ("r", _floats(ccf.r)),
                    ("Gaussian fit", _floats(ccf.fit)),
                    ("pairs", _floats(ccf.n_pairs)),
                ),
                mode="replace",
            )
        )
        row.update(
            {
                "r_max": ccf.r_max,
                "dx_max": ccf.dx_max,
                "shift_max": ccf.dx_max * ccf.pixel_size,
                "r_min": ccf.r_min,
                "dx_min": ccf.dx_min,
                "fit_a": ccf.fit_a,
                "fit_b": ccf.fit_b,
                "fit_c": ccf.fit_c,
                "fit_d": ccf.fit_d,
                "fwhm": ccf.fwhm,
                "fwhm_calibrated": ccf.fwhm_calibrated,
                "pixel_size": ccf.pixel_size,
                "unit": unit,
            }
        )
        plots.append(_ccf_plot(ccf, first, second))
    if v["ica"]:
        nbins = _whole(request, "ica_bins", 1, "a number of bins")
        progress("Coloc CCF and ICA: Li's ICA...")
        ica = colocalize.li_ica(first.image.data, second.image.data, mask=selected)
        row.update({"icq": ica.icq, "mean0": ica.mean0, "mean1": ica.mean1})
        row["n_pixels"] = float(ica.n_pixels)
        plots += _ica_plots(ica, first, second, nbins)
    tables.insert(0, Table.from_rows(DIAGNOSTICS_TABLE, row, results=True))
    return Response(tables=tuple(tables), plots=tuple(plots))


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in values.tolist())


def _ccf_plot(ccf: Any, first: _Channel, second: _Channel) -> Plot:
    """JACoP's CCF plot: r against dx in pixels (the calibration in the axis title), the fitted
    Gaussian and its FWHM at half height."""
    finite = np.isfinite(ccf.r)
    low = float(np.min(ccf.r[finite])) if finite.any() else -1.0
    high = float(np.max(ccf.r[finite])) if finite.any() else 1.0
    series = [  # r first: a macro's Plot.getValues reads the first data set
        Series("r (Pearson)", _floats(ccf.dx), _floats(ccf.r), "connected", "#000000"),
        Series("dx = 0", (0.0, 0.0), (low, high), "line", "#ff0000"),
    ]
    if math.isfinite(ccf.fwhm):
        a, b, c, d = ccf.fit_a, ccf.fit_b, ccf.fit_c, ccf.fit_d
        fine = np.linspace(float(ccf.dx[0]), float(ccf.dx[-1]), 20 * ccf.dx.size)
        curve = a + (b - a) * np.exp(-((fine - c) ** 2) / (2 * d * d))
        series.append(Series("Gaussian fit", _floats(fine), _floats(curve), "line", "#0000ff"))
        half = (a + b) / 2
        width = f"FWHM = {ccf.fwhm:.4g} pixels"
        if ccf.unit != "pixel":
            width += f" = {ccf.fwhm_calibrated:.4g} {ccf.unit}"
        series.append(
            Series(width, (c - ccf.fwhm / 2, c + ccf.fwhm / 2), (half, half), "line", "#0000ff", 2)
        )
    x_label = "dx (pixels)"
    if ccf.unit != "pixel":
        x_label = f"dx (pixels; 1 pixel = {ccf.pixel_size:.4g} {ccf.unit})"
    return Plot(
        f"Van Steensel's CCF of {first.name} and {second.name}",
        x_label,
        f"Pearson's r ({first.name} against shifted {second.name})",
        tuple(series),
    )


def _ica_plots(ica: Any, first: _Channel, second: _Channel, nbins: int) -> list[Plot]:
    """Li's two ICA plots: each channel's intensity against (A - mean A)(B - mean B), occupied
    bins of ``nbins`` x ``nbins`` as dots coloured by decade of their pixel count."""
    hist = ica.histograms(nbins=nbins)
    product = (hist.product_edges[:-1] + hist.product_edges[1:]) / 2
    x_label = f"({first.name} - mean)({second.name} - mean)"
    plots = []
    for channel, counts, edges in (
        (first, hist.counts0, hist.edges0),
        (second, hist.counts1, hist.edges1),
    ):
        centres = (edges[:-1] + edges[1:]) / 2
        series = _decade_series(counts, product, centres)
        y_range = (float(edges[0]), float(edges[-1]))
        series.append(Series(f"ICQ = {ica.icq:.4f}", (0.0, 0.0), y_range, "line", "#ff0000"))
        plots.append(
            Plot(
                f"Li's ICA of {channel.name}",
                x_label,
                f"{channel.name} (intensity, grey values)",
                tuple(series),
                limits=(float(hist.product_edges[0]), float(hist.product_edges[-1]), *y_range),
            )
        )
    return plots
