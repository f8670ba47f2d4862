"""Figure of Costes' significance test: the randomized Pearson's r and the observed r."""

from __future__ import annotations

import math
from typing import Any

from colocalize._significance import SignificanceResult

__all__ = ["significance_histogram"]


def significance_histogram(
    result: SignificanceResult,
    *,
    ax: Any = None,
    bins: int | str = "auto",
    color: str = "0.65",
    observed_color: str = "red",
) -> Any:
    """Draw the histogram of the randomized Pearson's r with the observed r as a vertical line.

    The bars are :meth:`SignificanceResult.histogram` (the finite values of
    ``result.randomized``); the legend gives the number of randomizations, the observed r and
    both p-values under the names the ImageJ table uses. An observed r far to the right of the
    bars means colocalization beyond what block-shuffled images give.

    Parameters
    ----------
    result : SignificanceResult
        From :func:`colocalize.costes_significance`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).
    bins : int or str, optional
        Number of bins or a :func:`numpy.histogram` rule (default ``"auto"``).
    color, observed_color : str, optional
        Matplotlib colours of the bars and of the observed-r line.

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> from scipy import ndimage
    >>> signal = ndimage.gaussian_filter(np.random.default_rng(1).random((64, 64)), 2)
    >>> result = colocalize.costes_significance(signal, signal + 0.01, n=50, rng=0)
    >>> ax = significance_histogram(result)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ("Pearson's r", 'Randomizations (count)')
    >>> bool(ax.lines[0].get_xdata()[0] == result.observed)
    True
    """
    import matplotlib.pyplot as plt

    if not isinstance(result, SignificanceResult):
        raise TypeError(
            f"result must be a SignificanceResult from colocalize.costes_significance, got "
            f"{type(result).__name__}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    counts, edges = result.histogram(bins)
    if counts.size:
        ax.stairs(
            counts,
            edges,
            fill=True,
            color=color,
            label=f"randomized r (n = {int(counts.sum())})",
        )
    if math.isfinite(result.observed):
        ax.axvline(
            result.observed,
            color=observed_color,
            lw=1.5,
            label=f"observed r = {result.observed:.4g}",
        )
    ax.set_xlabel("Pearson's r")
    ax.set_ylabel("Randomizations (count)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            title=(
                f"P(r_rand < r_obs) normal = {result.p_value:.4g}\n"
                f"p(r_rand >= r_obs) permutation = {result.p_value_empirical:.4g}"
            ),
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),  # above the axes: never over the bars
            alignment="left",
            fontsize="small",
            title_fontsize="small",
            frameon=False,
        )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
