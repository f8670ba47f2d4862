"""Figures of the colocalization diagnostics: Van Steensel's CCF and Li's ICA plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from colocalize._ica import LiICA
from colocalize._vansteensel import VanSteenselCCF

__all__ = ["ccf_plot", "ica_plot"]


def ccf_plot(result: VanSteenselCCF, ax: Any = None) -> Any:
    """Draw Van Steensel's CCF: r against the shift, the fitted Gaussian and its FWHM.

    As JACoP's plot: r as circles joined by a line, a red line at dx = 0 and the Gaussian fit in
    blue; the FWHM is drawn as a bar at half height and written in the legend. The x axis is in
    the result's calibrated units (``result.shift``).

    Parameters
    ----------
    result : VanSteenselCCF
        From :func:`colocalize.van_steensel_ccf`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> x = np.arange(64.0)
    >>> image0 = np.tile(np.exp(-((x - 30) ** 2) / 18), (8, 1))
    >>> ax = ccf_plot(colocalize.van_steensel_ccf(image0, np.roll(image0, 4, axis=-1)))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('dx (pixel)', "Pearson's r")
    """
    import matplotlib.pyplot as plt

    if not isinstance(result, VanSteenselCCF):
        raise TypeError(
            f"result must be a VanSteenselCCF from colocalize.van_steensel_ccf, got "
            f"{type(result).__name__}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    scale = result.pixel_size
    x = result.shift
    ax.plot(x, result.r, "-o", color="black", ms=3, lw=0.8, label="CCF")
    ax.axvline(0.0, color="red", lw=0.8)
    if math.isfinite(result.fwhm):
        fine = np.linspace(float(result.dx[0]), float(result.dx[-1]), 20 * result.dx.size)
        a, b, c, d = result.fit_a, result.fit_b, result.fit_c, result.fit_d
        ax.plot(fine * scale, a + (b - a) * np.exp(-((fine - c) ** 2) / (2 * d * d)), color="blue")
        half = (a + b) / 2
        left, right = (c - result.fwhm / 2) * scale, (c + result.fwhm / 2) * scale
        ax.plot(
            [left, right],
            [half, half],
            "|-",
            color="blue",
            lw=1,
            label=f"Gaussian fit, FWHM = {result.fwhm_calibrated:.4g} {result.unit}",
        )
    ax.set_xlabel(f"dx ({result.unit})")
    ax.set_ylabel("Pearson's r")
    ax.set_title("Van Steensel's CCF")
    ax.legend(loc="best", fontsize="small")
    return ax


def ica_plot(result: LiICA, ax: Sequence[Any] | None = None, *, nbins: int = 256) -> Any:
    """Draw Li's two ICA plots: each channel's intensity against (a - ā)(b - b̄).

    As Coloc 2's Li histograms, the pixels are binned (``nbins`` x ``nbins``, log colour
    scale) so that millions of pixels draw fast; JACoP draws one dot per pixel. A red line marks
    a zero product; the ICQ is in the title.

    Parameters
    ----------
    result : LiICA
        From :func:`colocalize.li_ica`.
    ax : pair of matplotlib Axes, optional
        Where to draw image0's and image1's plot (a new figure with two panels when None).
    nbins : int, optional
        Bins along each axis.

    Returns
    -------
    tuple of two matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> a = np.arange(16.0).reshape(4, 4)
    >>> ax0, ax1 = ica_plot(colocalize.li_ica(a, a.T))
    >>> ax0.get_xlabel(), ax0.get_ylabel()
    ('(a - mean a)(b - mean b)', 'image0 intensity')
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if not isinstance(result, LiICA):
        raise TypeError(
            f"result must be a LiICA from colocalize.li_ica, got {type(result).__name__}."
        )
    if ax is None:
        _, pair = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
        axes = (pair[0], pair[1])
    else:
        if len(ax) != 2:
            raise ValueError(f"ax must be two matplotlib Axes (one per channel), got {len(ax)}.")
        axes = (ax[0], ax[1])
    hist = result.histograms(nbins=nbins)
    panels = ((hist.counts0, hist.edges0, "image0"), (hist.counts1, hist.edges1, "image1"))
    for axis, (counts, edges, name) in zip(axes, panels):
        shown = np.ma.masked_equal(counts.T, 0)
        if shown.count():
            axis.pcolormesh(
                hist.product_edges, edges, shown, norm=LogNorm(), shading="flat", rasterized=True
            )
        axis.axvline(0.0, color="red", lw=0.8)
        axis.set_xlabel("(a - mean a)(b - mean b)")
        axis.set_ylabel(f"{name} intensity")
        axis.set_title(f"Li's ICA, {name} (ICQ = {result.icq:.3f})")
    return axes
