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
        Threshold lines to draw, in the images' units.
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
        ax.axvline(thresholds[0], color="0.6", lw=0.8, ls="--")
        ax.axhline(thresholds[1], color="0.6", lw=0.8, ls="--")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
