"""Figures of cross-correlation colocalization: the correlation profile and the time heat map."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from colocalize._ccc._correlation import CorrelationProfile, CrossCorrelation

__all__ = ["correlation_heatmap", "correlation_profile"]


def correlation_profile(result: CrossCorrelation | CorrelationProfile, ax: Any = None) -> Any:
    """Draw CCC's "Correlation of images" plot: original, subtracted and fitted profiles.

    As the plugin: markers only, "Original CC" blue, "Subtracted CC" green, "Gaussian Fit"
    magenta, x axis from 0 to ``max(mean + 5 sigma, 0.01)`` when a Gaussian was fitted.

    Parameters
    ----------
    result : CrossCorrelation or CorrelationProfile
        From :func:`colocalize.cross_correlation` or :func:`colocalize.cross_correlation_profile`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> img = np.arange(49.0).reshape(7, 7)
    >>> ax = correlation_profile(colocalize.cross_correlation_profile(img, img))
    >>> ax.get_xlabel()
    'Distance (pixel)'
    """
    import matplotlib.pyplot as plt

    profile = result.profile if isinstance(result, CrossCorrelation) else result
    if profile.original is not None and np.ndim(profile.original) != 1:
        raise ValueError(
            "result holds one profile per frame; plot one frame, e.g. "
            "correlation_profile(result) uses the best frame, or use correlation_heatmap."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    d = profile.distance
    if profile.original is not None:
        ax.plot(d, profile.original, "o", color="blue", ms=3, label="Original CC")
    if profile.subtracted is not None:
        ax.plot(d, profile.subtracted, "o", color="green", ms=3, label="Subtracted CC")
    fitted = profile.fit is not None and bool(np.isfinite(profile.fit).any())
    if fitted:
        assert profile.fit is not None
        ax.plot(d, profile.fit, "o", color="#ff00ff", ms=3, label="Gaussian Fit")
        if isinstance(result, CrossCorrelation) and result.fit_ok:
            ax.set_xlim(0, max(result.mean + 5 * result.sigma, 0.01))
    ax.set_xlabel(f"Distance ({profile.unit})")
    ax.set_ylabel("Cross correlation")
    ax.set_title("Correlation of images")
    ax.legend(loc="best", fontsize="small")
    return ax


def correlation_heatmap(result: CrossCorrelation, ax: Any = None, *, series: str = "subtracted"):
    """Draw a time series' correlation profiles as a heat map (frame x distance).

    The plugin's "Correlation over time" image has one channel per series; here one series is
    drawn at a time, with the true (non-uniform) distances on the y axis.

    Parameters
    ----------
    result : CrossCorrelation
        From :func:`colocalize.cross_correlation` with ``time_axis`` set.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).
    series : {"subtracted", "original", "fit"}
        Which profile to show.

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called).

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> from scipy import ndimage
    >>> rng = np.random.default_rng(0)
    >>> spots = (rng.random((3, 48, 48)) > 0.98) * 1000.0  # 3 frames of spots
    >>> a = ndimage.gaussian_filter(spots, (0, 1.5, 1.5))
    >>> res = colocalize.cross_correlation(a, a, time_axis=0)
    >>> correlation_heatmap(res).get_xlabel()
    'Frame'
    """
    import matplotlib.pyplot as plt

    if result.frames is None:
        raise ValueError(
            "result is not a time series; pass time_axis= to cross_correlation, or draw a "
            "single frame with correlation_profile."
        )
    if series not in ("subtracted", "original", "fit"):
        raise ValueError(f"series must be 'subtracted', 'original' or 'fit', got {series!r}.")
    profile = result.frames.profile
    values = getattr(profile, series)
    if values is None:
        raise ValueError(
            f"the {series} profile was not computed (confidence=False has no original one)."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    d = profile.distance
    edges = np.concatenate(
        [[d[0] - (d[1] - d[0]) / 2 if d.size > 1 else d[0] - 0.5], (d[1:] + d[:-1]) / 2]
    )
    edges = np.append(edges, d[-1] + (d[-1] - edges[-1]))
    frames = np.arange(values.shape[0] + 1) - 0.5
    mesh = ax.pcolormesh(frames, edges, np.asarray(values).T, shading="flat", rasterized=True)
    ax.figure.colorbar(mesh, ax=ax, label=f"{series} cross correlation")
    ax.set_xlabel("Frame")
    ax.set_ylabel(f"Distance ({profile.unit})")
    ax.invert_yaxis()  # distance 0 at the top, as the plugin's image
    best = result.best_frame
    if best is not None and math.isfinite(result.mean):
        ax.axvline(best, color="white", lw=0.8, ls="--")
    return ax
