"""Label images: grown regions, cytoplasm rings, per-object measurements, matching."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from colocalize._channels import as_channels, as_labels, is_image, resolve_spacing
from colocalize._objects._segment import equivalent_radius
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LabelMatch", "expand_labels", "match_labels", "measure_objects", "ring_mask"]


def expand_labels(
    labels: object,
    *,
    distance: float,
    spacing: float | Sequence[float] | None = None,
    mask: object | None = None,
) -> np.ndarray:
    """Grow every object by up to ``distance`` into the background without overlapping others.

    Each background pixel within ``distance`` (calibrated, Euclidean) of an object joins the
    nearest object, so neighbours meet half-way (a Voronoi split), as
    :func:`skimage.segmentation.expand_labels`; here with anisotropic ``spacing`` and an
    optional ``mask`` (e.g. a cell foreground) outside which nothing grows.

    Parameters
    ----------
    labels : (M, N[, P]) array_like of int
        Label image, 0 is background.
    distance : float
        Largest growth, in calibrated units (>= 0).
    spacing : float or sequence of float, optional
        Pixel size per axis (default 1.0).
    mask : array_like of bool, optional
        Growth is limited to ``mask``; the objects themselves are kept.

    Returns
    -------
    ndarray, the dtype and shape of ``labels``
        The grown label image (a new array).

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> labels = np.array([[1, 0, 0, 0, 0, 2]])
    >>> colocalize.expand_labels(labels, distance=2)
    array([[1, 1, 1, 2, 2, 2]])
    """
    from scipy import ndimage as ndi

    lab = as_labels(labels)
    distance = float(distance)
    if not (math.isfinite(distance) and distance >= 0):
        raise ValueError(f"distance must be a number >= 0 (calibrated units), got {distance!r}.")
    sp = resolve_spacing(spacing, lab.ndim)
    background = lab == 0
    if not background.all() and background.any():
        dist, nearest = ndi.distance_transform_edt(background, sampling=sp, return_indices=True)
        grow = background & (dist <= distance)
        if mask is not None:
            grow &= as_mask(mask, lab.shape)
        out = lab.copy()
        out[grow] = lab[tuple(idx[grow] for idx in nearest)]
        return out
    return lab.copy()


def check_ring_distances(inner: float, outer: float) -> tuple[float, float]:
    """``(inner, outer)`` as floats after checking ``0 <= inner < outer`` (both finite)."""
    inner, outer = float(inner), float(outer)
    if not (math.isfinite(inner) and math.isfinite(outer) and 0 <= inner < outer):
        raise ValueError(
            f"ring distances must satisfy 0 <= inner < outer, got inner={inner!r}, "
            f"outer={outer!r}; e.g. inner=1, outer=5 (calibrated units)."
        )
    return inner, outer


def ring_mask(
    labels: object,
    *,
    inner: float = 0.0,
    outer: float,
    spacing: float | Sequence[float] | None = None,
    mask: object | None = None,
) -> np.ndarray:
    """Per-object rings (e.g. cytoplasm around nuclei) that never overlap another object.

    Ring ``k`` is the set of background pixels whose nearest object is ``k`` and whose
    distance to it is in ``(inner, outer]`` (calibrated, Euclidean). Rings of neighbours meet
    half-way and never cover any object, so the nuclear and ring readouts of a cell never share
    a pixel. This is the cytoplasm ring of kinase-translocation-reporter analyses (a dilated
    nucleus minus the nucleus), with ``inner`` a gap that keeps the nuclear rim out.

    Parameters
    ----------
    labels : (M, N[, P]) array_like of int
        Objects (e.g. nuclei), 0 is background.
    inner, outer : float
        Ring distances from the object's edge, ``0 <= inner < outer``.
    spacing : float or sequence of float, optional
        Pixel size per axis (default 1.0).
    mask : array_like of bool, optional
        Rings are limited to ``mask`` (e.g. the cells' foreground).

    Returns
    -------
    ndarray, the dtype and shape of ``labels``
        Ring ``k`` has value ``k``; objects and everything else are 0.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> labels = np.zeros((1, 9), dtype=int)
    >>> labels[0, 4] = 3
    >>> colocalize.ring_mask(labels, inner=1, outer=3)
    array([[0, 3, 3, 0, 0, 0, 3, 3, 0]])
    """
    from scipy import ndimage as ndi

    lab = as_labels(labels)
    inner, outer = check_ring_distances(inner, outer)
    sp = resolve_spacing(spacing, lab.ndim)
    background = lab == 0
    out = np.zeros_like(lab)
    if background.all():
        warn_degenerate("ring_mask: labels has no object; every ring is empty.")
        return out
    if not background.any():
        return out
    dist, nearest = ndi.distance_transform_edt(background, sampling=sp, return_indices=True)
    ring = background & (dist > inner) & (dist <= outer)
    if mask is not None:
        ring &= as_mask(mask, lab.shape)
    out[ring] = lab[tuple(idx[ring] for idx in nearest)]
    return out


def _channels(
    image: Any,
    labels: np.ndarray,
    channel_axis: int | None,
    channel_names: Sequence[str] | None,
) -> tuple[list[np.ndarray], list[str]]:
    """The intensity channels of ``image`` (through :func:`colocalize._channels.as_channels`)
    and their names: "image" for one channel given without a channel axis or names."""
    if image is None:
        return [], []
    ch = as_channels(image, channel_axis=channel_axis, channel_names=channel_names)
    named = channel_axis is not None or channel_names is not None
    named |= is_image(image) and ("C" in image.axes or bool(image.channel_names))
    chans = list(as_image(ch.data, name="image"))
    for c in chans:
        check_same_shape([labels, c], ["labels", "image channel"])
    return chans, list(ch.names) if named else ["image"]


def measure_objects(
    labels: object,
    image: Any = None,
    *,
    spacing: float | Sequence[float] | None = None,
    channel_axis: int | None = None,
    channel_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Size, position and intensity of every object of a label image, as a table.

    Parameters
    ----------
    labels : (M, N[, P]) array_like of int
        Objects, 0 is background.
    image : array_like or colocalize.Image, optional
        Intensities: one channel of the labels' shape, or several along ``channel_axis`` (an
        :class:`colocalize.Image` brings its channel axis, names and, when ``spacing`` is not
        given, its spatial spacing).
    spacing : float or sequence of float, optional
        Pixel size per axis (z, y, x); default 1.0.
    channel_axis : int, optional
        The channel axis of ``image``.
    channel_names : sequence of str, optional
        Column-name suffixes of the channels (default ``C0, C1, ...``, or ``image`` for one).

    Returns
    -------
    pandas.DataFrame
        One row per object present, in label order: ``label``; ``area`` (2D) or ``volume``
        (3D), the pixel count times the pixel area or volume; ``centroid_z`` (3D),
        ``centroid_y``, ``centroid_x`` in calibrated units; ``equivalent_radius``
        (``sqrt(A/π)`` or ``cbrt(3V/4π)``); and for each channel ``mean_<name>``,
        ``integrated_<name>`` (sum of intensities) and the intensity-weighted centroid
        ``weighted_centroid_{z,y,x}_<name>`` (NaN, with a
        :class:`~colocalize.ColocalizeWarning`, for an object whose intensities sum to 0).

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> labels = np.zeros((4, 6), dtype=int)
    >>> labels[1:3, 1:3] = 1
    >>> labels[0:2, 4:6] = 2
    >>> table = colocalize.measure_objects(labels, np.ones((4, 6)) * 2, spacing=0.5)
    >>> table[["label", "area", "centroid_y", "mean_image", "integrated_image"]]
       label  area  centroid_y  mean_image  integrated_image
    0      1   1.0        0.75         2.0               8.0
    1      2   1.0        0.25         2.0               8.0
    """
    import pandas as pd
    from scipy import ndimage as ndi

    lab = as_labels(labels)
    if lab.ndim > 3:
        raise ValueError(f"labels must be 2D or 3D, got shape {lab.shape}.")
    if spacing is None and hasattr(image, "spatial_spacing"):
        spacing = image.spatial_spacing
    sp = resolve_spacing(spacing, lab.ndim)
    chans, names = _channels(image, lab, channel_axis, channel_names)
    counts = np.bincount(lab.ravel())
    index = np.flatnonzero(counts)
    index = index[index > 0]
    axes = "zyx"[3 - lab.ndim :]
    size = counts[index] * float(np.prod(sp))
    columns: dict[str, Any] = {"label": index.astype(np.int64)}
    columns["volume" if lab.ndim == 3 else "area"] = size
    if index.size:
        centroid = np.asarray(ndi.center_of_mass(np.ones(lab.shape), lab, index)).reshape(
            index.size, lab.ndim
        )
    else:
        centroid = np.zeros((0, lab.ndim))
    for k, ax in enumerate(axes):
        columns[f"centroid_{ax}"] = centroid[:, k] * sp[k]
    columns["equivalent_radius"] = equivalent_radius(size, lab.ndim)
    coords = np.indices(lab.shape, dtype=np.float64) if chans and index.size else None
    for name, chan in zip(names, chans, strict=True):
        values = chan.astype(np.float64)
        total = np.asarray(ndi.sum_labels(values, lab, index), dtype=np.float64)
        columns[f"mean_{name}"] = total / counts[index]
        columns[f"integrated_{name}"] = total
        zero = total == 0
        if zero.any():
            warn_degenerate(
                f"measure_objects: {int(zero.sum())} object(s) have zero total intensity in "
                f"channel {name!r}; their weighted centroid is NaN."
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, ax in enumerate(axes):
                if coords is None:
                    moment = np.zeros(0)
                else:
                    moment = np.asarray(ndi.sum_labels(values * coords[k], lab, index))
                columns[f"weighted_centroid_{ax}_{name}"] = np.where(
                    zero, np.nan, moment / np.where(zero, 1.0, total) * sp[k]
                )
    return pd.DataFrame(columns)


@dataclasses.dataclass(frozen=True)
class LabelMatch:
    """Object-level agreement of a segmentation with a reference at one IoU threshold.

    Attributes
    ----------
    threshold : float
        Matches need IoU > ``threshold``.
    n_true, n_pred, true_positives : int
        Reference objects, predicted objects, and matched pairs.
    precision, recall, f1 : float
        ``TP / n_pred``, ``TP / n_true`` and ``2 TP / (n_true + n_pred)`` (NaN when undefined).
    mean_iou : float
        Mean IoU of the matched pairs (NaN when none).
    """

    threshold: float
    n_true: int
    n_pred: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    mean_iou: float


def _iou_matrix(reference: np.ndarray, labels: np.ndarray) -> np.ndarray:
    true_ids = np.unique(reference)
    pred_ids = np.unique(labels)
    ti = np.searchsorted(true_ids, reference.ravel())
    pi = np.searchsorted(pred_ids, labels.ravel())
    inter = np.bincount(ti * pred_ids.size + pi, minlength=true_ids.size * pred_ids.size)
    inter = inter.reshape(true_ids.size, pred_ids.size).astype(np.float64)
    area_t = inter.sum(axis=1)
    area_p = inter.sum(axis=0)
    keep_t = true_ids > 0
    keep_p = pred_ids > 0
    inter = inter[np.ix_(keep_t, keep_p)]
    union = area_t[keep_t][:, None] + area_p[keep_p][None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_labels(reference: object, labels: object, *, threshold: float = 0.5) -> LabelMatch:
    """Match predicted objects to reference objects by intersection over union (IoU).

    Pairs are chosen by the Hungarian algorithm on the IoU matrix (maximum total IoU,
    :func:`scipy.optimize.linear_sum_assignment`); a pair counts when its IoU exceeds
    ``threshold``. For ``threshold >= 0.5`` a match is unique anyway (two objects cannot both
    overlap a third by more than half of their union), so this is the usual instance-
    segmentation F1 (e.g. Caicedo et al. 2019, doi:10.1038/s41592-019-0612-7).

    Parameters
    ----------
    reference, labels : (M, N[, P]) array_like of int
        Ground-truth and predicted label images of the same shape (0 is background).
    threshold : float
        IoU threshold in [0, 1) (default 0.5).

    Returns
    -------
    LabelMatch

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> truth = np.array([[1, 1, 0, 2, 2]])
    >>> pred = np.array([[1, 1, 0, 0, 3]])
    >>> m = colocalize.match_labels(truth, pred)
    >>> m.true_positives, m.f1, m.mean_iou
    (1, 0.5, 1.0)
    """
    from scipy.optimize import linear_sum_assignment

    ref = as_labels(reference, "reference")
    lab = as_labels(labels, "labels")
    check_same_shape([ref, lab], ["reference", "labels"])
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be an IoU in [0, 1), got {threshold!r}; e.g. 0.5.")
    iou = _iou_matrix(ref, lab)
    n_true, n_pred = iou.shape
    if iou.size:
        rows, cols = linear_sum_assignment(iou, maximize=True)
        matched = iou[rows, cols]
        matched = matched[matched > threshold]
    else:
        matched = np.zeros(0)
    tp = int(matched.size)
    nan = math.nan
    return LabelMatch(
        threshold=threshold,
        n_true=int(n_true),
        n_pred=int(n_pred),
        true_positives=tp,
        precision=tp / n_pred if n_pred else nan,
        recall=tp / n_true if n_true else nan,
        f1=2.0 * tp / (n_true + n_pred) if n_true + n_pred else nan,
        mean_iou=float(matched.mean()) if tp else nan,
    )
