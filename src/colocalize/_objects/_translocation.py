"""Nuclear/cytoplasmic translocation of a reporter over time, per cell."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from colocalize._channels import as_channels, as_labels, resolve_spacing
from colocalize._objects._labels import _iou_matrix, check_ring_distances, ring_mask
from colocalize._objects._segment import segment_nuclei
from colocalize._significance import _masked_pearson
from colocalize._validation import as_image, channel_index, warn_degenerate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["link_labels", "translocation"]


def link_labels(labels: object, *, min_iou: float = 0.1) -> np.ndarray:
    """Renumber per-frame label images so that one object keeps one number over time.

    Frame ``t``'s objects are paired with frame ``t - 1``'s by maximum total overlap
    (the Hungarian algorithm on the intersection-over-union matrix); a pair with IoU of at
    least ``min_iou`` continues the earlier object's number, every other object gets a new
    number (a track that starts). Numbers are never reused.

    Parameters
    ----------
    labels : (T, M, N[, P]) array_like of int
        One label image per frame along the first axis (0 is background).
    min_iou : float
        Smallest IoU that links two objects (default 0.1), in (0, 1].

    Returns
    -------
    ndarray of int64, the shape of ``labels``
        Track numbers 1..n.

    Examples
    --------
    >>> import numpy as np
    >>> from colocalize._objects._translocation import link_labels
    >>> frames = np.array([[[1, 1, 0, 2, 2]], [[0, 5, 5, 0, 0]], [[0, 7, 0, 0, 9]]])
    >>> link_labels(frames)[:, 0]
    array([[1, 1, 0, 2, 2],
           [0, 1, 1, 0, 0],
           [0, 1, 0, 0, 3]])
    """
    from scipy.optimize import linear_sum_assignment

    lab = as_labels(labels)
    if lab.ndim < 3:
        raise ValueError(f"labels must have a time axis first, (T, M, N), got shape {lab.shape}.")
    min_iou = _check_min_iou(min_iou)
    out = np.zeros(lab.shape, dtype=np.int64)
    next_id = 1
    previous: np.ndarray | None = None
    for t in range(lab.shape[0]):
        ids = np.unique(lab[t])
        ids = ids[ids > 0]
        lut = np.zeros(int(lab[t].max()) + 1, dtype=np.int64)
        if previous is not None and ids.size:
            prev_ids = np.unique(previous)
            prev_ids = prev_ids[prev_ids > 0]
            iou = _iou_matrix(previous, lab[t])
            if iou.size:
                rows, cols = linear_sum_assignment(iou, maximize=True)
                for r, c in zip(rows, cols, strict=True):
                    if iou[r, c] >= min_iou:
                        lut[ids[c]] = prev_ids[r]
        for i in ids:
            if lut[i] == 0:
                lut[i] = next_id
                next_id += 1
        out[t] = lut[lab[t]]
        previous = out[t]
    return out


def _check_min_iou(min_iou: float) -> float:
    value = float(min_iou)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou!r}; e.g. 0.1.")
    return value


def _split(
    image: Any, time_axis: int | None, channel_axis: int | None
) -> tuple[np.ndarray, tuple[float, ...] | None, list[str]]:
    """The pixels as (T, C, M, N[, P]), an Image's spatial spacing and the channel names."""
    ch = as_channels(image, channel_axis=channel_axis, time_axis=time_axis, require="TC")
    assert ch.time_axis is not None  # required
    arr = as_image(np.moveaxis(ch.data, 1 + ch.time_axis, 0), name="image", min_ndim=4)
    if arr.ndim > 5:
        raise ValueError(f"image must be (T, C, M, N[, P]), got {arr.ndim} axes.")
    return arr, ch.spacing, list(ch.names)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r of one cell's pixels (:func:`colocalize._significance._masked_pearson`);
    NaN when either channel is constant in the cell, as in :func:`colocalize.coefficients`
    (the centred sums of a constant float such as 0.1 are rounding noise, not 0)."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(_masked_pearson(a, b))


def translocation(
    image: Any,
    *,
    nucleus_channel: int | str,
    reporter_channel: int | str,
    time_axis: int | None = None,
    channel_axis: int | None = None,
    spacing: float | Sequence[float] | None = None,
    nuclei: object | None = None,
    inner: float | None = None,
    outer: float | None = None,
    min_iou: float = 0.1,
    segment_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Nuclear and cytoplasmic reporter intensity per cell and frame (a KTR readout).

    For every frame the nuclei are segmented in ``nucleus_channel`` with
    :func:`colocalize.segment_nuclei` (or taken from ``nuclei``), linked over time by overlap
    (:func:`link_labels`), and each gets a cytoplasm ring (:func:`colocalize.ring_mask`,
    distances ``inner`` to ``outer`` from the nuclear edge, never overlapping a neighbour).
    Kinase translocation reporters move out of the nucleus when their kinase is active, so the
    cytoplasmic-to-nuclear ratio ``C/N`` of the reporter's mean intensities is the activity
    readout (Regot et al. 2014, doi:10.1016/j.cell.2014.04.039).

    Parameters
    ----------
    image : array_like or colocalize.Image
        Time-lapse with channels, e.g. (T, C, M, N). A :class:`colocalize.Image` with axes
        ``"TCYX"`` or ``"TCZYX"`` brings its axes, channel names and spacing.
    nucleus_channel, reporter_channel : int or str
        Channel of the nuclear marker and of the reporter (index or name).
    time_axis, channel_axis : int, optional
        Required for arrays.
    spacing : float or sequence of float, optional
        Spatial pixel size (default: the Image's, else 1.0).
    nuclei : (T, M, N[, P]) array_like of int, optional
        Nuclear labels per frame, instead of segmenting.
    inner, outer : float, optional
        Ring distances in calibrated units; defaults one and five pixels (largest pixel size).
    min_iou : float
        Overlap needed to link a nucleus to the previous frame's (default 0.1).
    segment_options : mapping, optional
        Keyword arguments for :func:`colocalize.segment_nuclei`.

    Returns
    -------
    pandas.DataFrame
        One row per cell and frame: ``frame``, ``cell`` (track number), ``nuclear_area`` and
        ``cytoplasm_area`` (calibrated), ``nuclear_mean`` and ``cytoplasm_mean`` (reporter),
        ``ratio`` (= ``cytoplasm_mean / nuclear_mean``), ``pearson`` (Pearson's r of reporter
        against nuclear marker over the nucleus and its ring), ``centroid_y``, ``centroid_x``
        (and ``centroid_z``) of the nucleus. Cells without ring pixels, a zero nuclear mean or
        constant intensities get NaN in the affected fields with a
        :class:`~colocalize.ColocalizeWarning`; no nucleus in any frame gives an empty table
        with that warning.

    Raises
    ------
    ValueError
        Ring distances outside ``0 <= inner < outer`` (finite) or ``min_iou`` outside (0, 1],
        before any segmentation (also when ``nuclei`` has no object); ``segment_options`` that
        :func:`colocalize.segment_nuclei` refuses, before the first frame is segmented.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> yy, xx = np.mgrid[:40, :40]
    >>> disk = ((yy - 20) ** 2 + (xx - 20) ** 2) < 36
    >>> frames = []
    >>> for t in range(3):  # the reporter leaves the nucleus over time
    ...     reporter = np.where(disk, 100.0 - 30 * t, 0.0) + np.where(~disk, 20.0 + 30 * t, 0.0)
    ...     frames.append([np.where(disk, 200.0, 10.0) + yy * 0.1, reporter])
    >>> table = colocalize.translocation(
    ...     np.array(frames), nucleus_channel=0, reporter_channel=1, time_axis=0, channel_axis=1,
    ...     nuclei=np.array([disk.astype(int)] * 3))
    >>> table["ratio"].round(2).tolist()
    [0.2, 0.71, 2.0]
    """
    import pandas as pd
    from scipy import ndimage as ndi

    arr, img_spacing, names = _split(image, time_axis, channel_axis)
    n_t, n_c = arr.shape[:2]
    spatial = arr.shape[2:]
    nc = channel_index(nucleus_channel, n_c, names, name="nucleus_channel")
    rc = channel_index(reporter_channel, n_c, names, name="reporter_channel")
    sp = resolve_spacing(spacing if spacing is not None else img_spacing, len(spatial))
    pixel = max(sp)
    # checked before any segmentation, also when no frame has a nucleus
    inner, outer = check_ring_distances(
        pixel if inner is None else inner, 5 * pixel if outer is None else outer
    )
    _check_min_iou(min_iou)
    if nuclei is None:
        options = dict(segment_options or {})
        options.setdefault("spacing", sp)
        raw = np.stack([segment_nuclei(arr[t, nc], **options) for t in range(n_t)])
    else:
        raw = as_labels(nuclei, "nuclei")
        if raw.shape != (n_t, *spatial):
            raise ValueError(
                f"nuclei has shape {raw.shape} but the image has {n_t} frames of {spatial}; "
                f"pass one label image per frame, shape {(n_t, *spatial)}."
            )
    tracks = link_labels(raw, min_iou=min_iou)
    axes = "zyx"[3 - len(spatial) :]
    voxel = float(np.prod(sp))
    ones = np.ones(spatial)
    rows: list[dict[str, Any]] = []
    n_bad = 0
    for t in range(n_t):
        nuc = tracks[t]
        ids = np.unique(nuc)
        ids = ids[ids > 0]
        if ids.size == 0:
            continue
        ring = ring_mask(nuc, inner=inner, outer=outer, spacing=sp)
        rep = arr[t, rc].astype(np.float64)
        marker = arr[t, nc].astype(np.float64)
        n_area = np.asarray(ndi.sum_labels(ones, nuc, ids))
        r_area = np.asarray(ndi.sum_labels(ones, ring, ids))
        n_mean = np.asarray(ndi.mean(rep, nuc, ids))
        with np.errstate(invalid="ignore", divide="ignore"):
            r_sum = np.asarray(ndi.sum_labels(rep, ring, ids))
            r_mean = np.where(r_area > 0, r_sum / np.where(r_area > 0, r_area, 1), np.nan)
            ratio = np.where(n_mean != 0, r_mean / np.where(n_mean != 0, n_mean, 1), np.nan)
        centroid = np.asarray(ndi.center_of_mass(ones, nuc, ids)).reshape(ids.size, len(spatial))
        cell = np.where(ring > 0, ring, nuc)
        order = np.argsort(cell.ravel(), kind="stable")
        sorted_ids = cell.ravel()[order]
        starts = np.searchsorted(sorted_ids, ids, side="left")
        ends = np.searchsorted(sorted_ids, ids, side="right")
        for k, lab in enumerate(ids):
            where = order[starts[k] : ends[k]]
            r = _pearson(rep.ravel()[where], marker.ravel()[where])
            n_bad += int(not (math.isfinite(r) and math.isfinite(ratio[k])))
            row: dict[str, Any] = {
                "frame": t,
                "cell": int(lab),
                "nuclear_area": float(n_area[k]) * voxel,
                "cytoplasm_area": float(r_area[k]) * voxel,
                "nuclear_mean": float(n_mean[k]),
                "cytoplasm_mean": float(r_mean[k]),
                "ratio": float(ratio[k]),
                "pearson": r,
            }
            for j, ax in enumerate(axes):
                row[f"centroid_{ax}"] = float(centroid[k, j]) * sp[j]
            rows.append(row)
    if n_bad:
        warn_degenerate(
            f"translocation: {n_bad} cell-frame(s) have no cytoplasm ring pixels, a zero nuclear "
            f"mean or constant intensities; their ratio or pearson is NaN."
        )
    if not rows:
        warn_degenerate("translocation: no nuclei in any frame; the table is empty.")
    columns = [
        "frame",
        "cell",
        "nuclear_area",
        "cytoplasm_area",
        "nuclear_mean",
        "cytoplasm_mean",
        "ratio",
        "pearson",
        *[f"centroid_{ax}" for ax in axes],
    ]
    return pd.DataFrame(rows, columns=columns)
