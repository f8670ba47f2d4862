"""Bivariate-histogram (cytofluorogram) figures."""

from __future__ import annotations

from typing import Any

import numpy as np

from colocalize._histogram import BivariateHistogram

__all__ = ["bivariate_histogram"]


def bivariate_histogram(
    histogram: BivariateHistogram,
    ax: Any = None,
    *,
    labels: tuple[str, str] = ("channel 0", "channel 1"),
    thresholds: tuple[float, float] | None = None,
    regression: tuple[float, float] | None = None,
    cmap: str = "magma",
) -> Any:
    """Draw a joint histogram with log10-scaled probabilities.

    Parameters
    ----------
    histogram : BivariateHistogram
        From :func:`colocalize.bivariate_histogram`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).
    labels : (str, str)
        Axis labels (channel names).
    thresholds : (float, float), optional
        Threshold lines to draw (green, dashed), in the images' units (non-finite ones are left
        out).
    regression : (float, float), optional
        ``(slope, intercept)`` of a line ``image1 = slope * image0 + intercept`` to draw in
        red across the histogram, such as Costes' regression (:class:`colocalize.CostesResult`),
        as Coloc 2 draws it; left out when not finite.
    cmap : str
        Colour map for log10 probability.

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> a = np.arange(100, dtype=np.uint8).reshape(10, 10)
    >>> ax = bivariate_histogram(colocalize.bivariate_histogram(a, a))
    >>> ax.get_xlabel()
    'channel 0'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    logp = histogram.log_probability()
    shown = np.where(np.isfinite(logp), logp, np.nan)
    mesh = ax.pcolormesh(
        histogram.edges0, histogram.edges1, shown.T, cmap=cmap, shading="flat", rasterized=True
    )
    ax.figure.colorbar(mesh, ax=ax, label="log10 probability")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if thresholds is not None:
        if np.isfinite(thresholds[0]):
            ax.axvline(thresholds[0], color="tab:green", lw=1.0, ls="--")
        if np.isfinite(thresholds[1]):
            ax.axhline(thresholds[1], color="tab:green", lw=1.0, ls="--")
    if regression is not None and np.isfinite(regression).all():
        x = np.array([histogram.edges0[0], histogram.edges0[-1]])
        ax.plot(x, regression[0] * x + regression[1], color="red", lw=1.0)
        ax.set_xlim(histogram.edges0[0], histogram.edges0[-1])
        ax.set_ylim(histogram.edges1[0], histogram.edges1[-1])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
